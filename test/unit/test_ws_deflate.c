/* permessage-deflate negotiation (ws/deflate.c): which offers are accepted
 * and the response sent back. */
#include <string.h>

#include "check.h"
#include "ws/deflate.h"

#define BASE "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

static int accepts(const char *offers, const char *want) {
    char resp[WS_DEFLATE_RESPONSE_MAX];
    memset(resp, 'x', sizeof resp);
    int r = ws_deflate_negotiate(offers, resp, sizeof resp);
    if (!want) {
        if (r) fprintf(stderr, "  \"%s\" accepted: \"%s\"\n", offers, resp);
        return r == 0;
    }
    if (!r || strcmp(resp, want) != 0) {
        fprintf(stderr, "  \"%s\": %d \"%s\", want \"%s\"\n", offers, r, r ? resp : "", want);
        return 0;
    }
    return 1;
}

int main(void) {
    /* What the clients send: npm ws, Chromium, Firefox, Safari. */
    CHECK(accepts("permessage-deflate; client_max_window_bits", BASE));
    CHECK(accepts("permessage-deflate", BASE));
    CHECK(accepts("permessage-deflate;client_max_window_bits=15", BASE));
    CHECK(accepts("permessage-deflate; client_max_window_bits=10", BASE));
    CHECK(accepts("permessage-deflate; client_no_context_takeover; server_no_context_takeover",
                  BASE));
    CHECK(accepts("PerMessage-Deflate", BASE));
    /* server_max_window_bits: 15 is accepted and echoed, less is declined. */
    CHECK(accepts("permessage-deflate; server_max_window_bits=15",
                  BASE "; server_max_window_bits=15"));
    CHECK(accepts("permessage-deflate; server_max_window_bits=10", NULL));
    CHECK(accepts("permessage-deflate; server_max_window_bits=10, permessage-deflate", BASE));
    CHECK(accepts("permessage-deflate; server_max_window_bits", NULL));
    /* Quoted values are unescaped first. */
    CHECK(accepts("permessage-deflate; client_max_window_bits=\"12\"", BASE));
    CHECK(accepts("permessage-deflate; server_max_window_bits=\"1\\5\"",
                  BASE "; server_max_window_bits=15"));
    CHECK(accepts("permessage-deflate; client_max_window_bits=\"123456789012345\"", NULL));
    /* Invalid values, repeated or unknown parameters: that offer is declined,
     * a later one may still be taken. */
    CHECK(accepts("permessage-deflate; client_max_window_bits=7", NULL));
    CHECK(accepts("permessage-deflate; client_max_window_bits=16", NULL));
    CHECK(accepts("permessage-deflate; client_max_window_bits=010", NULL));
    CHECK(accepts("permessage-deflate; server_no_context_takeover=1", NULL));
    CHECK(accepts("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                  NULL));
    CHECK(accepts("permessage-deflate; mystery", NULL));
    CHECK(accepts("permessage-deflate; mystery, permessage-deflate; client_max_window_bits", BASE));
    /* Other extensions are skipped, with their parameters. */
    CHECK(accepts("x-webkit-deflate-frame", NULL));
    CHECK(accepts("foo; a=1; b=\"x,y\", permessage-deflate", BASE));
    CHECK(accepts("  ,  permessage-deflate  ;  client_max_window_bits  , ", BASE));
    /* A value that does not parse ends the search. */
    CHECK(accepts("permessage-deflate; client_max_window_bits=\"15", NULL));
    CHECK(accepts("foo bar, permessage-deflate", NULL));
    CHECK(accepts("permessage-deflate; =15", NULL));
    CHECK(accepts("", NULL));
    CHECK(accepts(NULL, NULL));
    /* Too small a buffer is never written past. */
    char small[8] = "";
    CHECK(ws_deflate_negotiate("permessage-deflate", small, sizeof small) == 0);
    CHECK(strlen(BASE "; server_max_window_bits=15") < WS_DEFLATE_RESPONSE_MAX);
    return CHECK_DONE();
}
