/* The chat of chat.c on several nodes: with the Redis adapter as
 * sio_options.adapter every broadcast and room reaches the clients of every
 * node connected to the same Redis (sio-server nodes and Node.js socket.io
 * servers with @socket.io/redis-adapter alike). Public API only (<sio/sio.h>,
 * <sio/redis.h>).
 *   usage: chat_redis PORT REDIS_URL     e.g. chat_redis 3001 redis://127.0.0.1:6379
 * Events: "message" TEXT to everyone; "join" ROOM; "to" ROOM TEXT, a "message"
 * to that room; "who", acknowledged with the number of sockets on all nodes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <sio/redis.h>
#include <sio/sio.h>

static void ack_ok(sio_socket *s, int64_t ack_id) {
    if (ack_id < 0) return;
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString("ok"));
    sio_ack(s, ack_id, args);
    cJSON_Delete(args);
}

static void on_message(sio_socket *s, const char *event, cJSON *args, int64_t ack_id, void *ud) {
    sio_broadcast(sio_socket_nsp(s), NULL, "message", args); /* every node */
    ack_ok(s, ack_id);
}

static void on_join(sio_socket *s, const char *event, cJSON *args, int64_t ack_id, void *ud) {
    const char *room = cJSON_GetStringValue(cJSON_GetArrayItem(args, 0));
    if (room) sio_join(s, room);
    ack_ok(s, ack_id);
}

static void on_to(sio_socket *s, const char *event, cJSON *args, int64_t ack_id, void *ud) {
    const char *room = cJSON_GetStringValue(cJSON_GetArrayItem(args, 0));
    if (room) {
        const char *rooms[] = {room, NULL};
        sio_target t = {rooms, NULL, 0, 0};
        cJSON *text = cJSON_CreateArray();
        cJSON_AddItemToArray(text, cJSON_Duplicate(cJSON_GetArrayItem(args, 1), 1));
        sio_broadcast(sio_socket_nsp(s), &t, "message", text);
        cJSON_Delete(text);
    }
    ack_ok(s, ack_id);
}

/* "who": a cluster-wide fetchSockets; the count goes back as a "who" event to
 * the asker's own room (its id), wherever it is by then. */
static void on_sockets(sio_namespace *nsp, int status, cJSON *sockets, void *ud) {
    char *id = ud;
    const char *rooms[] = {id, NULL};
    sio_target t = {rooms, NULL, 0, 1};
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateNumber(cJSON_GetArraySize(sockets)));
    sio_broadcast(nsp, &t, "who", args);
    cJSON_Delete(args);
    free(id);
}

static void on_who(sio_socket *s, const char *event, cJSON *args, int64_t ack_id, void *ud) {
    char *id = strdup(sio_socket_id(s));
    if (id && sio_fetch_sockets(sio_socket_nsp(s), NULL, on_sockets, id) != SIO_OK) free(id);
}

static void on_signal(sio_loop *loop, sio_io *io, uint32_t events) {
    sio_loop_stop(loop);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: chat_redis PORT REDIS_URL\n");
        return 2;
    }
    sio_loop *loop = sio_loop_new();
    if (!loop) return 1;
    sio_http_options http;
    sio_http_options_init(&http);
    http.host = "127.0.0.1";
    http.port = atoi(argv[1]);
    int err;
    sio_http *listener = sio_http_new(loop, &http, &err);
    if (!listener) {
        fprintf(stderr, "chat_redis: cannot listen: %s\n", sio_strerror(err));
        return 1;
    }
    eio_options eio;
    eio_options_init(&eio);
    sio_options opts;
    sio_options_init(&opts);
    /* The whole difference with a single node: the adapter. */
    sio_redis_options redis_opts = {argv[2], NULL};
    sio_adapter_factory redis;
    if (sio_redis_adapter(&redis, &redis_opts) != SIO_OK) {
        fprintf(stderr, "chat_redis: invalid Redis URL %s\n", argv[2]);
        return 2;
    }
    opts.adapter = &redis;
    sio_server *io = sio_server_new(loop, listener, &eio, &opts, &err);
    if (!io) {
        fprintf(stderr, "chat_redis: %s\n", sio_strerror(err));
        return 1;
    }
    sio_namespace *nsp = sio_of(io, "/");
    sio_on(nsp, "message", on_message, NULL);
    sio_on(nsp, "join", on_join, NULL);
    sio_on(nsp, "to", on_to, NULL);
    sio_on(nsp, "who", on_who, NULL);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sio_io sig = {signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), 0, on_signal};
    if (sig.fd < 0 || sio_loop_add(loop, &sig, EPOLLIN)) return 1;

    printf("chat_redis listening on http://127.0.0.1:%d%s, Redis %s\n", sio_http_port(listener),
           eio.path, argv[2]);
    fflush(stdout);
    int rc = sio_loop_run(loop);
    sio_loop_del(loop, &sig);
    close(sig.fd);
    sio_server_free(io);
    sio_http_free(listener);
    sio_loop_free(loop);
    return rc == SIO_OK ? 0 : 1;
}
