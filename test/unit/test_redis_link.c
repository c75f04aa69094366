/* redis_link against a real redis-server started by the test on a free
 * 127.0.0.1 port: connect, subscribe, publish, then kill Redis and bring it
 * back, and check the link reconnects, resubscribes and delivers again. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "adapter/redis_link.h"
#include "check.h"
#include "sio/loop.h"

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_redis(int port) {
    pid_t pid = fork();
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        int devnull = open("/dev/null", 1);
        dup2(devnull, 1);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_redis(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

struct state {
    sio_loop *loop;
    int ups, downs, msgs;
    char last[64];
    int want_ups, want_msgs, want_downs;
    sio_timer guard;
};

static struct state st;

static void maybe_stop(void) {
    if ((st.want_ups && st.ups >= st.want_ups) || (st.want_msgs && st.msgs >= st.want_msgs) ||
        (st.want_downs && st.downs >= st.want_downs))
        sio_loop_stop(st.loop);
}

static void on_up(redis_link *l, void *ud) {
    st.ups++;
    maybe_stop();
}
static void on_down(redis_link *l, const char *why, void *ud) {
    st.downs++;
    maybe_stop();
}
static void on_message(redis_link *l, const char *pat, const char *ch, size_t chlen,
                       const uint8_t *d, size_t n, void *ud) {
    st.msgs++;
    snprintf(st.last, sizeof st.last, "%.*s", (int)n, (const char *)d);
    maybe_stop();
}

static void guard(sio_loop *loop, sio_timer *t) {
    sio_loop_stop(loop);
}

static void run_until(int ups, int msgs, int downs, unsigned ms) {
    st.want_ups = ups;
    st.want_msgs = msgs;
    st.want_downs = downs;
    sio_timer_start(st.loop, &st.guard, ms, guard);
    sio_loop_run(st.loop);
    sio_timer_stop(st.loop, &st.guard);
}

static void publish_once(redis_link *pub) {
    static const uint8_t b[] = {'h', 'i', 0, 0xff};
    redis_link_publish(pub, "sio#/#", 6, b, sizeof b);
}

int main(void) {
    redis_url u;
    CHECK(redis_url_parse("redis://127.0.0.1:6380/2", &u) == 0);
    CHECK(strcmp(u.host, "127.0.0.1") == 0 && u.port == 6380 && u.db == 2);
    CHECK(redis_url_parse("redis://localhost", &u) == 0 && u.port == 6379 && u.db == 0);
    CHECK(redis_url_parse("redis://h:0", &u) != 0);
    CHECK(redis_url_parse("redis://h:70000", &u) != 0);
    CHECK(redis_url_parse("redis://h:1x", &u) != 0);
    CHECK(redis_url_parse("redis://:1", &u) != 0);

    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        fprintf(stderr, "redis-server not installed: scripts/install-deps installs it\n");
        CHECK(0);
        return CHECK_DONE();
    }
    int port = free_port();
    st.loop = sio_loop_new();
    redis_url url = {"127.0.0.1", port, 0};
    /* Start the links before Redis: they must wait and connect later. */
    static const redis_link_cbs cbs = {on_up, on_down, on_message};
    redis_link *sub = redis_link_new(st.loop, &url, "sub", &cbs, NULL);
    redis_link *pub = redis_link_new(st.loop, &url, "pub", &cbs, NULL);
    redis_link_psubscribe(sub, "sio#/#*");
    run_until(0, 0, 2, 2000);
    CHECK(st.downs >= 2);
    CHECK(!redis_link_is_up(sub));
    CHECK(redis_link_publish(pub, "x", 1, (const uint8_t *)"y", 1) != 0);

    pid_t r = start_redis(port);
    run_until(2, 0, 0, 8000);
    CHECK(st.ups == 2);
    CHECK(redis_link_is_up(sub) && redis_link_is_up(pub));
    /* The subscription is issued asynchronously: publish until it lands. */
    for (int i = 0; i < 50 && st.msgs == 0; i++) {
        publish_once(pub);
        run_until(0, 1, 0, 100);
    }
    CHECK(st.msgs >= 1);
    CHECK(memcmp(st.last, "hi", 2) == 0);

    stop_redis(r);
    int downs = st.downs;
    run_until(0, 0, downs + 2, 3000);
    CHECK(st.downs >= downs + 2);
    r = start_redis(port);
    int ups = st.ups;
    run_until(ups + 2, 0, 0, 10000);
    CHECK(st.ups == ups + 2);
    int msgs = st.msgs;
    for (int i = 0; i < 50 && st.msgs == msgs; i++) {
        publish_once(pub);
        run_until(0, msgs + 1, 0, 100);
    }
    CHECK(st.msgs > msgs);

    redis_link_free(sub);
    redis_link_free(pub);
    stop_redis(r);
    sio_loop_free(st.loop);
    return CHECK_DONE();
}
