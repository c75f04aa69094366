/* Minimal unit-test helpers: each test binary prints one line per failed check
 * and exits non-zero when any check failed (ctest reads the exit code). */
#ifndef SIO_TEST_CHECK_H
#define SIO_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(got, gotlen, want)                                                               \
    do {                                                                                           \
        check_count++;                                                                             \
        size_t wl_ = strlen(want);                                                                 \
        if ((size_t)(gotlen) != wl_ || memcmp((got), (want), wl_) != 0) {                          \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: got \"%.*s\", want \"%s\"\n", __FILE__, __LINE__,              \
                    (int)(gotlen), (const char *)(got), (want));                                   \
        }                                                                                          \
    } while (0)

#define CHECK_DONE()                                                                               \
    (fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), check_failures ? 1 : 0)

#endif
