#include "ws/handshake.h"

#include <string.h>
#include <strings.h>

#include "sio/status.h"
#include "ws/deflate.h"
#include "ws/frame.h"

/* A 16-byte nonce in base64 is 22 alphabet characters and "==". */
static int key_ok(const char *key) {
    if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0) return 0;
    for (int i = 0; i < 22; i++) {
        char c = key[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
        if (!ok) return 0;
    }
    return 1;
}

int ws_handshake_check(http_req *r, char accept[29]) {
    if (http_req_method(r) != HTTP_GET) return 0;
    const char *up = http_req_header(r, "Upgrade");
    const char *conn = http_req_header(r, "Connection");
    const char *ver = http_req_header(r, "Sec-WebSocket-Version");
    const char *key = http_req_header(r, "Sec-WebSocket-Key");
    if (!up || strcasecmp(up, "websocket") != 0 || !http_header_has_token(conn, "upgrade"))
        return 0;
    if (!ver || strcmp(ver, "13") != 0 || !key_ok(key)) return 0;
    return ws_accept_key(key, accept) == SIO_OK;
}

struct ext_search {
    char *resp;
    int found;
};

static void ext_header(const char *k, const char *v, void *ud) {
    struct ext_search *e = ud;
    if (!e->found && v && strcasecmp(k, "Sec-WebSocket-Extensions") == 0)
        e->found = ws_deflate_negotiate(v, e->resp, WS_DEFLATE_RESPONSE_MAX);
}

int ws_handshake_deflate(http_req *r, char *resp) {
    struct ext_search e = {resp, 0};
    http_req_each_header(r, ext_header, &e);
    return e.found;
}
