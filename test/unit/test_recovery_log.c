/* The recovery log, sans-I/O: offsets numbered from 1 and appended last,
 * replay after an offset selected by the session's rooms (Node's
 * shouldIncludePacket), restore consumes the session, expiry by window and
 * age, the byte bound (a wrapped log gives no session back, never a partial
 * replay), unknown pids and offsets. */
#include <stdlib.h>
#include <string.h>

#include "adapter/recovery_log.h"
#include "check.h"
#include "sio/json.h"

static const char *const ALL_ROOMS[] = {"sid1", "r", NULL};

static cJSON *args1(int v) {
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
    return a;
}

static const char *append_to(rlog *l, const char *room, int v, uint64_t now) {
    const char *rooms[] = {room, NULL};
    cJSON *a = args1(v);
    const rlog_entry *e = rlog_append(l, NULL, "ev", a, room ? rooms : NULL, NULL, now);
    cJSON_Delete(a);
    return e ? rlog_offset(e) : NULL;
}

/* The numbers of the replayed packets, as "2,3". */
static void numbers(const cJSON *missed, char *out, size_t cap) {
    out[0] = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, missed) {
        char one[32];
        snprintf(one, sizeof one, "%s%d", out[0] ? "," : "", cJSON_GetArrayItem(m, 1)->valueint);
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static void test_replay(void) {
    rlog l;
    rlog_init(&l, 10000, 0, 0);
    const char *o1 = append_to(&l, "r", 1, 100);
    CHECK(o1 && strcmp(o1, "1") == 0);
    append_to(&l, "r", 2, 110);
    append_to(&l, "other", 3, 120); /* not the session's */
    append_to(&l, NULL, 4, 130);    /* to everyone */
    append_to(&l, "sid1", 5, 140);  /* direct */
    {
        /* except: a broadcast from the session's own socket */
        const char *ex[] = {"sid1", NULL};
        cJSON *a = args1(6);
        CHECK(rlog_append(&l, NULL, "ev", a, NULL, ex, 150) != NULL);
        cJSON_Delete(a);
    }
    CHECK(rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 200) == 0);
    CHECK(rlog_session_count(&l) == 1);
    rlog_session *s;
    cJSON *missed;
    CHECK(rlog_restore(&l, "pid1", "1", 300, &s, &missed) == RLOG_RECOVERED);
    char got[64];
    numbers(missed, got, sizeof got);
    CHECK(strcmp(got, "2,4,5") == 0);
    /* each replayed packet ends with its own offset */
    CHECK(strcmp(cJSON_GetArrayItem(cJSON_GetArrayItem(missed, 0), 2)->valuestring, "2") == 0);
    CHECK(s && strcmp(s->sid, "sid1") == 0 && strcmp(s->rooms[1], "r") == 0);
    rlog_session_free(s);
    cJSON_Delete(missed);
    /* consumed */
    CHECK(rlog_session_count(&l) == 0);
    CHECK(rlog_restore(&l, "pid1", "1", 300, &s, &missed) == RLOG_NO_SESSION);
    /* the last offset: nothing missed, still recovered */
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 300);
    CHECK(rlog_restore(&l, "pid1", "6", 300, &s, &missed) == RLOG_RECOVERED);
    CHECK(cJSON_GetArraySize(missed) == 0);
    rlog_session_free(s);
    cJSON_Delete(missed);
    /* unknown offsets: past the end, garbage, empty */
    const char *bad[] = {"7", "0", "x1", "", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 300);
        CHECK(rlog_restore(&l, "pid1", bad[i], 300, &s, &missed) == RLOG_OFFSET_LOST);
        CHECK(!s && !missed);
    }
    rlog_free(&l);
}

static void test_expiry(void) {
    rlog l;
    rlog_init(&l, 1000, 0, 0);
    append_to(&l, "r", 1, 0);
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 500);
    rlog_session *s;
    cJSON *missed;
    CHECK(rlog_restore(&l, "pid1", "1", 1600, &s, &missed) == RLOG_EXPIRED);
    /* expire() drops sessions past the window and packets past the age */
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 500);
    rlog_persist(&l, "sid2", "pid2", ALL_ROOMS, NULL, 900);
    CHECK(rlog_expire(&l, 1001) == 1501); /* the first session's end */
    CHECK(l.len == 0);                    /* the packet of t=0 is past the age */
    CHECK(rlog_expire(&l, 1600) == 1901);
    CHECK(rlog_session_count(&l) == 1);
    CHECK(rlog_expire(&l, 2000) == 0);
    CHECK(rlog_session_count(&l) == 0);
    /* a replaced session (same pid) counts once */
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 3000);
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 3100);
    CHECK(rlog_session_count(&l) == 1);
    rlog_free(&l);
}

static void test_bytes(void) {
    rlog l;
    rlog_init(&l, 100000, 2000, 0);
    append_to(&l, "r", 1, 0);
    size_t one = l.bytes;
    CHECK(one > 0 && one < 2000);
    for (int i = 2; i <= 100; i++)
        append_to(&l, "r", i, 0);
    CHECK(l.bytes <= 2000);
    CHECK(l.len == 2000 / one);
    CHECK(l.next_seq == 101);
    rlog_session *s;
    cJSON *missed;
    /* offset 1 fell out: no session back, no partial replay */
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 0);
    CHECK(rlog_restore(&l, "pid1", "1", 0, &s, &missed) == RLOG_OFFSET_LOST);
    /* the oldest kept one still works */
    char first[24];
    snprintf(first, sizeof first, "%llu", (unsigned long long)l.v[l.head].seq);
    rlog_persist(&l, "sid1", "pid1", ALL_ROOMS, NULL, 0);
    CHECK(rlog_restore(&l, "pid1", first, 0, &s, &missed) == RLOG_RECOVERED);
    CHECK((size_t)cJSON_GetArraySize(missed) == l.len - 1);
    rlog_session_free(s);
    cJSON_Delete(missed);
    /* data with binary nodes is counted and copied */
    cJSON *d = cJSON_CreateArray();
    cJSON_AddItemToArray(d, cJSON_CreateString("bin"));
    cJSON_AddItemToArray(d, sio_json_binary("\0\1\2", 3));
    const rlog_entry *e = rlog_append(&l, d, NULL, NULL, NULL, NULL, 0);
    CHECK(e && sio_json_is_binary(cJSON_GetArrayItem(e->data, 1)));
    cJSON_Delete(d);
    rlog_free(&l);
}

int main(void) {
    test_replay();
    test_expiry();
    test_bytes();
    return CHECK_DONE();
}
