/* A minimal Socket.IO chat server on libsio's public API: each "message" a
 * client sends goes to every client, acknowledged when asked. Any
 * socket.io-client 4.x connects: io("http://127.0.0.1:3000").
 *   usage: chat [PORT]   (default 3000; 0: a free port, printed on stdout)
 * The runtime (<sio/runtime.h>) does the rest: SIGINT / SIGTERM shut down
 * gracefully (clients are told, then the loop drains), GET /healthz and
 * GET /metrics (from loopback) answer. */
#include <stdio.h>
#include <stdlib.h>

#include <sio/runtime.h>
#include <sio/sio.h>
#include <sio/version.h>

static void on_message(sio_socket *s, const char *event, cJSON *args, int64_t ack_id, void *ud) {
    sio_broadcast(sio_socket_nsp(s), NULL, "message", args); /* sender included */
    if (ack_id >= 0) sio_ack(s, ack_id, NULL);
}

static void on_connection(sio_socket *s, void *ud) {
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(sio_socket_id(s)));
    sio_emit(s, "welcome", args); /* emits only read their arguments */
    cJSON_Delete(args);
}

/* The runtime's hooks: say goodbye, then wait until nobody is left. */
static void bye(void *io) {
    sio_server_shutdown((sio_server *)io);
}
static size_t still_open(void *io) {
    return sio_server_connections((sio_server *)io);
}

int main(int argc, char **argv) {
    sio_loop *loop = sio_loop_new();
    sio_http_options http;
    sio_http_options_init(&http);
    http.host = "127.0.0.1";
    http.port = argc > 1 ? atoi(argv[1]) : 3000;
    int err;
    sio_http *listener = loop ? sio_http_new(loop, &http, &err) : NULL;
    if (!listener) {
        fprintf(stderr, "chat: cannot listen: %s\n", loop ? sio_strerror(err) : "no loop");
        return 1;
    }
    eio_options eio;
    eio_options_init(&eio);
    sio_server *io = sio_server_new(loop, listener, &eio, NULL, &err);
    sio_runtime_options ro;
    sio_runtime_options_init(&ro);
    ro.on_shutdown = bye;
    ro.sessions = still_open;
    ro.ud = io;
    sio_runtime *rt = io ? sio_runtime_new(loop, listener, &ro, &err) : NULL;
    if (!rt) {
        fprintf(stderr, "chat: %s\n", sio_strerror(err));
        return 1;
    }
    sio_namespace *nsp = sio_of(io, "/");
    sio_on_connection(nsp, on_connection, NULL);
    sio_on(nsp, "message", on_message, NULL);

    printf("chat (libsio %s) listening on http://127.0.0.1:%d%s\n", sio_version(),
           sio_http_port(listener), eio.path);
    fflush(stdout);
    int rc = sio_runtime_run(rt);
    sio_server_free(io);
    sio_runtime_free(rt);
    sio_http_free(listener);
    sio_loop_free(loop);
    return rc == SIO_OK ? 0 : 1;
}
