/* sio-bench: a load generator that speaks Engine.IO v4 / Socket.IO v5 itself
 * over raw TCP (WebSocket with masked client frames, or HTTP/1.1 keep-alive
 * long-polling), driven by one epoll loop per thread.
 *
 * Self-contained: it uses nothing from the server's sources, so that it can
 * measure any server (sio-server, the Node.js reference) the same way. */
#ifndef SIO_BENCH_H
#define SIO_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct bbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
} bbuf;

void bb_reserve(bbuf *b, size_t extra);
void bb_append(bbuf *b, const void *p, size_t n);
void bb_puts(bbuf *b, const char *s);
void bb_printf(bbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bb_consume(bbuf *b, size_t n);
void bb_free(bbuf *b);

/* ---- time, randomness, histograms, /proc ---------------------------------- */

uint64_t now_ns(void);        /* CLOCK_MONOTONIC */
uint64_t proc_cpu_ns(void);   /* this process, all threads */
uint64_t xrand(uint64_t *st); /* xorshift64* */
void *xcalloc(size_t n, size_t size);

/* Log-linear latency histogram (ns), ~3 % precision, mergeable. */
#define HIST_SUB     32
#define HIST_BUCKETS (64 + 58 * HIST_SUB)
typedef struct hist {
    uint64_t n;
    uint64_t max;
    uint64_t sum;
    uint64_t b[HIST_BUCKETS];
} hist;

void hist_add(hist *h, uint64_t v);
void hist_merge(hist *into, const hist *from);
uint64_t hist_pct(const hist *h, double pct); /* value (ns) at percentile 0..100 */

/* Server figures read from /proc/PID. Return -1 when unavailable. */
long proc_rss_kib(int pid);
long proc_hwm_kib(int pid);        /* VmHWM: peak RSS of the process so far */
long long proc_cpu_ticks(int pid); /* utime + stime, /proc/PID/stat */
long long proc_sched_ns(int pid);  /* sum of /proc/PID/task/ * /schedstat run time */
long proc_fd_count(int pid);       /* open file descriptors */
bool proc_alive(int pid);

/* Base64 (standard alphabet, padded) of n bytes into out (4*ceil(n/3)+1). */
void b64_encode(const uint8_t *in, size_t n, char *out);

/* ---- configuration --------------------------------------------------------- */

enum scenario { SC_IDLE, SC_ECHO, SC_POLL_ECHO, SC_FANOUT, SC_CONNECT_RATE };
enum phase { PH_SETUP, PH_OPEN, PH_RUN, PH_DRAIN, PH_CLOSE, PH_QUIT };

typedef struct config {
    enum scenario scenario;
    const char *scenario_name;
    const char *url;
    uint32_t addr;  /* IPv4, network order, always in 127.0.0.0/8 */
    uint16_t port;  /* host order */
    char host[96];  /* Host header value */
    char path[256]; /* Engine.IO path, ends with '/' */
    int server_pid; /* 0: no server figures */
    int threads;
    uint32_t sessions;           /* idle: N; echo/poll-echo: clients; fanout: receivers */
    uint32_t messages;           /* fanout: M */
    uint32_t payload;            /* fanout payload object size (bytes) */
    uint32_t echo_bytes;         /* echo / poll-echo: length of the echoed string */
    const char *accept_encoding; /* poll GETs send it; coded answers are decoded */
    uint32_t concurrency;        /* handshakes in flight (idle, fanout, echo) / sessions in flight
                                    (connect-rate) */
    double duration;             /* echo / connect-rate measured window (s) */
    double warmup;               /* before the measured window (s) */
    double settle;               /* idle: wait before reading RSS (s) */
    double hold;                 /* idle: hold all sessions this long (s) */
    double timeout;              /* bound on each waiting phase (s) */
    double rate;                 /* fanout: sender messages per second (0: back to back) */
    double poll_share;           /* fanout: share of receivers on long-polling (0..1) */
    bool upgrade;                /* connect-rate: start on long-polling, upgrade to WebSocket */
    bool sio;                    /* Socket.IO CONNECT after the Engine.IO handshake */
    const char *join;            /* room to join (idle), NULL: none */
    const char *room;            /* fanout room */
    uint32_t cookie_bytes;       /* extra Cookie header of this size on every request */
    char *cookie_hdr;            /* "Cookie: bench=aaa...\r\n" or "" */
    uint32_t prewarm;            /* idle: sessions opened and closed before the baseline */
    uint32_t sources;            /* source addresses 127.0.0.1..N (ephemeral port space) */
    bool quiet;
    bool deflate; /* offer permessage-deflate, as npm ws and browsers do */
} config;

/* ---- connections and sessions ---------------------------------------------- */

enum conn_state {
    CS_IDLE,       /* no socket (lazy HTTP connection) */
    CS_CONNECTING, /* TCP connect in progress */
    CS_HANDSHAKE,  /* WebSocket: upgrade request sent, waiting for 101 */
    CS_OPEN,       /* WebSocket frames / HTTP keep-alive */
    CS_CLOSING,    /* WebSocket close sent, waiting for EOF */
};

struct session;

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t is_http;  /* long-polling connection */
    uint8_t is_post;  /* the session's POST connection (else GET) */
    uint8_t epout;    /* EPOLLOUT armed */
    uint8_t busy;     /* HTTP: a request is in flight */
    uint8_t got_resp; /* HTTP: response bytes seen for the request in flight */
    uint8_t close_after;
    uint8_t frag_text; /* WebSocket: the fragmented message is text */
    uint8_t frag_z;    /* WebSocket: the fragmented message is compressed */
    uint8_t z_keep;    /* permessage-deflate with context takeover: own inflater */
    void *inf;         /* that inflater (a z_stream), made at the first use */
    uint32_t served;   /* HTTP responses received on this socket */
    struct session *s;
    bbuf in;  /* unparsed input carried between reads */
    bbuf out; /* unsent output */
    bbuf req; /* HTTP: the request in flight (resent once if a keep-alive socket died) */
} conn;

enum sess_state {
    SS_FREE,
    SS_EIO_WAIT,  /* Engine.IO open packet */
    SS_SIO_WAIT,  /* Socket.IO CONNECT ack */
    SS_JOIN_WAIT, /* join ack */
    SS_READY,
    SS_CLOSING, /* connect-rate: goodbye sent */
    SS_DEAD,
};

typedef struct session {
    struct worker *w;
    uint32_t idx; /* global index (receivers 0..R-1, sender R) */
    uint8_t state;
    uint8_t polling;
    uint8_t sender;       /* fanout sender */
    uint8_t waiting;      /* echo: an ack is outstanding */
    uint8_t counted;      /* connect-rate: CONNECT ack counted */
    conn c;               /* WebSocket, or long-polling GET */
    uint8_t upgrading;    /* --upgrade: WebSocket probe under way */
    uint8_t upgraded;     /* --upgrade: "5" sent, the WebSocket is the transport */
    uint8_t want_upgrade; /* --upgrade: "3probe" seen, waiting for the held GET */
    conn *post;           /* long-polling POST connection */
    conn *up;             /* --upgrade: the WebSocket probe, then the transport */
    bbuf pq;              /* long-polling: packets waiting for a POST */
    char sid[32];
    uint32_t next_id;
    uint32_t ack_id;   /* the ack we are waiting for */
    uint32_t seq;      /* echo sequence / fanout sent count */
    uint64_t t_start;  /* when the session (or current request) started */
    uint64_t deadline; /* connect-rate close deadline */
    uint8_t *seen;     /* fanout receiver: bitmap of received sequence numbers */
    uint32_t got;
} session;

/* Single-writer counters read by the controller thread. */
typedef _Atomic uint64_t counter;
#define CNT_ADD(c, v)                                                                              \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (v),            \
                          memory_order_relaxed)
#define CNT_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)

typedef struct counters {
    counter established; /* sessions that reached READY (ever) */
    counter failed;      /* sessions that failed before READY */
    counter dropped;     /* READY sessions closed by the server or the network */
    counter live;        /* sessions READY now */
    counter acks;        /* echo acks */
    counter deliveries;  /* fanout messages received (unique) */
    counter dups;        /* fanout duplicates */
    counter sent;        /* fanout messages sent */
    counter completed;   /* connect-rate: CONNECT acks */
    counter errors;      /* protocol errors and wrong answers */
    counter pings;       /* Engine.IO pings answered */
    counter reconnects;  /* HTTP: the server closed a keep-alive socket */
    counter retries;     /* HTTP: a request resent on a fresh socket */
    counter coded;       /* HTTP: GET answers that came gzip/deflate-coded */
    counter wire_bytes;  /* HTTP: GET answer bodies as received */
    counter body_bytes;  /* HTTP: the same, decoded */
    counter resets;      /* connect-rate: the server did not close within 1 s */
    counter last_recv;   /* fanout: time (ns) of the latest delivery */
    counter first_send;  /* fanout: time (ns) of the first message sent */
} counters;

typedef struct worker {
    int id;
    int ep;
    pthread_t th;
    struct bench *b;
    session *sess; /* this worker's sessions */
    uint32_t nsess;
    uint32_t next_open; /* next session to open (OPEN phase) */
    uint32_t opening;   /* sessions between connect and READY */
    int seen_phase;
    uint8_t *rbuf; /* recv scratch */
    size_t rcap;
    bbuf wtmp; /* frame building */
    bbuf etmp; /* echo messages */
    bbuf ztmp; /* HTTP: a de-chunked / inflated body */
    void *inf; /* permessage-deflate without context takeover: one inflater, reset per message */
    bbuf zout; /* an inflated message */
    uint64_t rng;
    hist lat; /* echo RTT / fanout latency / connect-rate handshake time */
    counters k;
    char last_error[160];
    uint64_t last_sweep;
} worker;

typedef struct bench {
    config cfg;
    worker *w;
    int nw;
    _Atomic int phase;
    _Atomic int measuring;
    uint32_t total; /* sessions overall (fanout: receivers + sender) */
    session *sender;
} bench;

/* net.c */
int worker_init(bench *b, worker *w, int id);
void worker_free(worker *w);
void worker_iterate(worker *w, int timeout_ms);
void *worker_thread(void *arg);
void session_close(session *s, bool drop_ok);
int prewarm_session(worker *w);
void worker_error(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* scenarios.c */
int run_scenario(bench *b);

#endif
