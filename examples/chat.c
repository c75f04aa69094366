/* A minimal Socket.IO chat server on libsio's public API (<sio/sio.h>): each
 * "message" a client sends goes to every client, acknowledged when asked.
 * Any socket.io-client 4.x connects: io("http://127.0.0.1:3000").
 *   usage: chat [PORT]   (default 3000; 0: a free port, printed on stdout)
 * Stops on SIGINT / SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

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

static void on_signal(sio_loop *loop, sio_io *io, uint32_t events) {
    sio_loop_stop(loop);
}

int main(int argc, char **argv) {
    sio_loop *loop = sio_loop_new();
    if (!loop) return 1;
    sio_http_options http;
    sio_http_options_init(&http);
    http.host = "127.0.0.1";
    http.port = argc > 1 ? atoi(argv[1]) : 3000;
    int err;
    sio_http *listener = sio_http_new(loop, &http, &err);
    if (!listener) {
        fprintf(stderr, "chat: cannot listen: %s\n", sio_strerror(err));
        return 1;
    }
    eio_options eio;
    eio_options_init(&eio);
    sio_options opts;
    sio_options_init(&opts);
    sio_server *io = sio_server_new(loop, listener, &eio, &opts, &err);
    if (!io) {
        fprintf(stderr, "chat: %s\n", sio_strerror(err));
        return 1;
    }
    sio_namespace *nsp = sio_of(io, "/");
    sio_on_connection(nsp, on_connection, NULL);
    sio_on(nsp, "message", on_message, NULL);

    /* Signals through the loop: a signalfd watched like any descriptor. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sio_io sig = {signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), 0, on_signal};
    if (sig.fd < 0 || sio_loop_add(loop, &sig, EPOLLIN)) return 1;

    printf("chat (libsio %s) listening on http://127.0.0.1:%d%s\n", sio_version(),
           sio_http_port(listener), eio.path);
    fflush(stdout);
    int rc = sio_loop_run(loop);
    sio_loop_del(loop, &sig);
    close(sig.fd);
    sio_server_free(io);
    sio_http_free(listener);
    sio_loop_free(loop);
    return rc == SIO_OK ? 0 : 1;
}
