/* sio_status: every code the library returns has its own number and its own
 * description, and a value that is no code gets the generic one. */
#include <limits.h>
#include <string.h>

#include "check.h"
#include "sio/status.h"

#define AS_CODE(name, value, text) name,
#define AS_TEXT(name, value, text) text,
static const int codes[] = {SIO_STATUS_MAP(AS_CODE)};
static const char *const texts[] = {SIO_STATUS_MAP(AS_TEXT)};
#define N_CODES (sizeof codes / sizeof *codes)

static void test_every_code(void) {
    CHECK(N_CODES >= 18); /* the 9 core codes, SIO_ETIMEDOUT, the 8 SIO_EJWT_* */
    for (size_t i = 0; i < N_CODES; i++) {
        const char *s = sio_strerror(codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(s && strcmp(s, texts[i]) == 0);
        CHECK(s && strcmp(s, "unknown error") != 0);
        CHECK(codes[i] <= 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[i] != codes[j]);
            CHECK(s && strcmp(s, sio_strerror(codes[j])) != 0);
        }
    }
}

static void test_named_codes(void) {
    /* The numbers are ABI: these stay what they were. */
    CHECK(SIO_OK == 0 && SIO_ENOMEM == -1 && SIO_ELIMIT == -8);
    CHECK(SIO_ETIMEDOUT == -100);
    CHECK(SIO_EJWT_MALFORMED == -200 && SIO_EJWT_NOEXP == -207);
    CHECK(strcmp(sio_strerror(SIO_OK), "ok") == 0);
    CHECK(strcmp(sio_strerror(SIO_ENOMEM), "out of memory") == 0);
    CHECK(strstr(sio_strerror(SIO_EJWT_EXPIRED), "expired") != NULL);
}

static void test_unknown(void) {
    const int unknown[] = {1, -9, -99, -101, -199, -208, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        for (size_t j = 0; j < N_CODES; j++)
            CHECK(unknown[i] != codes[j]);
        CHECK(strcmp(sio_strerror(unknown[i]), "unknown error") == 0);
    }
}

int main(void) {
    test_every_code();
    test_named_codes();
    test_unknown();
    return CHECK_DONE();
}
