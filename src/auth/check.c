#include <string.h>
#include <time.h>

#include "auth/jwt.h"
#include "sio/auth.h"

int sio_jwt_check(const sio_jwt_auth *cfg, const char *token, cJSON **claims) {
    if (!claims) return SIO_EINVAL;
    *claims = NULL;
    if (!token || !cfg) return SIO_EINVAL;
    return sio_jwt_verify(token, strlen(token), cfg->secret, cfg->secret_len, (int64_t)time(NULL),
                          cfg->skew_s, cfg->allow_no_exp ? SIO_JWT_ALLOW_NO_EXP : 0, claims);
}
