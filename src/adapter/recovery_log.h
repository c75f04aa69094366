/* The node-local state of connection state recovery, sans-I/O (time comes in
 * as now_ms): a log of the numbered packets (a ring, bounded by bytes and
 * age) and the sessions of sockets that lost their connection (kept for the
 * window, in the order they were kept, which is also their expiry order).
 * Offsets are the log's sequence numbers in decimal; a restore replays the
 * packets after the client's offset that the session's rooms select, or
 * nothing at all when that offset is no longer (or never was) in the log:
 * never a partial replay. Used by the in-memory adapter (adapter/memory.c). */
#ifndef SIO_ADAPTER_RECOVERY_LOG_H
#define SIO_ADAPTER_RECOVERY_LOG_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "util/map.h"

typedef struct rlog_entry {
    uint64_t seq;
    uint64_t at_ms;
    size_t bytes;  /* what this entry holds in memory, counted in rlog.bytes */
    cJSON *data;   /* [event, ...args, offset] */
    char **rooms;  /* NULL-terminated; NULL: every socket */
    char **except; /* NULL-terminated or NULL */
} rlog_entry;

typedef struct rlog_session {
    char *sid, *pid;
    char **rooms; /* NULL-terminated, its own id first */
    cJSON *data;  /* NULL when none */
    uint64_t at_ms;
    struct rlog_session *prev, *next; /* in keeping order */
} rlog_session;

typedef struct rlog {
    rlog_entry *v; /* ring of cap entries from head */
    size_t cap, head, len;
    uint64_t next_seq; /* the next packet's number (from 1) */
    size_t bytes;
    size_t max_bytes;    /* 0: no byte bound */
    uint64_t max_age_ms; /* packets older are dropped */
    uint64_t window_ms;  /* sessions older are dropped */
    smap sessions;       /* pid -> rlog_session */
    rlog_session *oldest, *newest;
} rlog;

enum rlog_result { RLOG_RECOVERED, RLOG_NO_SESSION, RLOG_EXPIRED, RLOG_OFFSET_LOST };

/* max_age_ms 0: the window. */
void rlog_init(rlog *l, uint64_t window_ms, size_t max_bytes, uint64_t max_age_ms);
void rlog_free(rlog *l);

/* Log a packet: its data (the full [event, ...args] array, or event + args)
 * is copied with the new offset appended, with its target (rooms/except:
 * NULL-terminated or NULL). The oldest packets make room first (one packet
 * bigger than max_bytes is still kept, alone). Returns the logged entry
 * (valid until the next call on l), NULL when out of memory (nothing
 * logged, no number used). */
const rlog_entry *rlog_append(rlog *l, const cJSON *data, const char *event, const cJSON *args,
                              const char *const *rooms, const char *const *except, uint64_t now_ms);
/* The entry's offset as it goes on the wire (its last data item). */
const char *rlog_offset(const rlog_entry *e);

/* Keep a session (copied; a session with the same pid is replaced). 0, or
 * -1 when out of memory (nothing kept). */
int rlog_persist(rlog *l, const char *sid, const char *pid, const char *const *rooms,
                 const cJSON *data, uint64_t now_ms);
/* Take the session of pid and the packets it missed after offset. Any
 * result consumes the session. RLOG_RECOVERED: *out is the caller's
 * (rlog_session_free) and *missed a new array of copies (maybe empty). Out
 * of memory gives RLOG_NO_SESSION. */
enum rlog_result rlog_restore(rlog *l, const char *pid, const char *offset, uint64_t now_ms,
                              rlog_session **out, cJSON **missed);
void rlog_session_free(rlog_session *s);

/* Drop expired sessions and packets. Returns the time of the next expiry
 * (0: nothing left to expire). */
uint64_t rlog_expire(rlog *l, uint64_t now_ms);

size_t rlog_session_count(const rlog *l);

#endif
