/* The JWT connect middleware, on the public API only: the claims it finds
 * are kept by the socket (sio_socket_set_claims). */
#include "sio/auth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwt.h"
#include "sio/status.h"
#include "util/log.h"

const char *sio_jwt_subject(const sio_socket *s) {
    const cJSON *c = sio_socket_claims(s);
    const cJSON *sub = c ? cJSON_GetObjectItemCaseSensitive(c, "sub") : NULL;
    return cJSON_IsString(sub) ? sub->valuestring : NULL;
}

static int64_t now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int sio_jwt_middleware(sio_socket *s, const cJSON *auth, void *ud) {
    const sio_jwt_auth *cfg = ud;
    /* An auth payload that has a "token" member decides, even when it is
     * not a string; the query parameter is only the fallback. */
    const cJSON *t = cJSON_IsObject(auth) ? cJSON_GetObjectItemCaseSensitive(auth, "token") : NULL;
    const char *token =
        t ? (cJSON_IsString(t) ? t->valuestring : NULL) : sio_socket_query(s, "token");
    cJSON *claims = NULL;
    int rc;
    if (!cfg)
        rc = SIO_EINVAL;
    else if (!token)
        rc = SIO_EJWT_MALFORMED;
    else
        rc = sio_jwt_verify(token, strlen(token), cfg->secret, cfg->secret_len, now_s(),
                            cfg->skew_s, cfg->allow_no_exp ? SIO_JWT_ALLOW_NO_EXP : 0, &claims);
    if (rc == SIO_OK) {
        rc = sio_socket_set_claims(s, claims);
        if (rc == SIO_OK) return SIO_MW_NEXT;
        sio_refuse(s, "server error", NULL);
        return SIO_MW_REFUSE;
    }
    log_info("auth: socket %s from %s refused: %s", sio_socket_id(s), sio_socket_address(s),
             token ? sio_strerror(rc) : "no token");
    sio_socket_forget_claims(s); /* a refused socket holds no claims */
    sio_refuse(s, "unauthorized", NULL);
    return SIO_MW_REFUSE;
}
