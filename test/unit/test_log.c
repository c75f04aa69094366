/* include/sio/log.h: the handler gets each enabled line (level, message, no
 * time stamp), the level filters, NULL restores the default, long lines are
 * cut, and the library's own lines (log_info) take the same way. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/log.h"
#include "util/log.h"

struct seen {
    int n;
    sio_log_level level;
    char msg[1100];
    void *ud;
};

static void capture(sio_log_level level, const char *message, void *ud) {
    struct seen *s = ud;
    s->n++;
    s->level = level;
    s->ud = ud;
    snprintf(s->msg, sizeof s->msg, "%s", message);
}

int main(void) {
    struct seen s;
    memset(&s, 0, sizeof s);
    sio_log_set_handler(capture, &s);
    sio_log_set_level(SIO_LOG_INFO);

    sio_log(SIO_LOG_WARN, "room %s is %d long", "lobby", 5);
    CHECK(s.n == 1 && s.level == SIO_LOG_WARN && s.ud == &s);
    CHECK(strcmp(s.msg, "room lobby is 5 long") == 0);

    sio_log(SIO_LOG_DEBUG, "not at info");
    CHECK(s.n == 1);
    CHECK(!sio_log_enabled(SIO_LOG_DEBUG) && sio_log_enabled(SIO_LOG_ERROR));

    log_info("from the library: %d", 7); /* the internal macros, same way */
    CHECK(s.n == 2 && s.level == SIO_LOG_INFO && strcmp(s.msg, "from the library: 7") == 0);

    sio_log_set_level(SIO_LOG_OFF);
    sio_log(SIO_LOG_ERROR, "off means nothing");
    CHECK(s.n == 2 && !sio_log_enabled(SIO_LOG_ERROR) && !sio_log_enabled(SIO_LOG_OFF));

    sio_log_set_level(SIO_LOG_DEBUG);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sio_log(SIO_LOG_DEBUG, "%s", big);
    CHECK(s.n == 3 && strlen(s.msg) == 999);

    CHECK(sio_log_parse_level("warn") == SIO_LOG_WARN && sio_log_parse_level("off") == SIO_LOG_OFF);
    CHECK(sio_log_parse_level("loud") == -1 && sio_log_parse_level(NULL) == -1);

    /* Back to the default (stderr): the handler hears nothing more. */
    sio_log_set_handler(NULL, NULL);
    sio_log_set_level(SIO_LOG_ERROR);
    sio_log(SIO_LOG_ERROR, "test_log: this line on stderr is expected");
    CHECK(s.n == 3);
    return CHECK_DONE();
}
