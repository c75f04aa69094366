/* Status codes: every fallible function of the library returns one of these
 * (SIO_OK, 0, or a negative sio_status), and sio_strerror describes each.
 * Errors are values: nothing a peer sends makes the library exit or abort.
 *
 * SIO_STATUS_MAP lists every code once (name, value, description), as libuv's
 * UV_ERRNO_MAP does: the enum and sio_strerror are both made from it, so a
 * code cannot be added without its description. Values are stable (they are
 * part of the ABI): a new code takes a new number, none is reused. */
#ifndef SIO_STATUS_H
#define SIO_STATUS_H

#include "sio/export.h"

SIO_BEGIN_DECLS

#define SIO_STATUS_MAP(XX)                                                                         \
    XX(SIO_OK, 0, "ok")                                                                            \
    XX(SIO_ENOMEM, -1, "out of memory")    /* allocation failed */                                 \
    XX(SIO_EPARSE, -2, "parse error")      /* malformed input */                                   \
    XX(SIO_ETOOBIG, -3, "too large")       /* input or output exceeds a configured limit */        \
    XX(SIO_EINVAL, -4, "invalid argument") /* bad argument from the caller */                      \
    XX(SIO_ESTATE, -5, "invalid state")    /* operation not valid in the current state */          \
    XX(SIO_EIO, -6, "I/O error")           /* a system call failed */                              \
    XX(SIO_ECLOSED, -7, "closed")          /* the session or socket is gone */                     \
    XX(SIO_ELIMIT, -8, "limit reached")    /* a configured count is reached (rooms) */             \
    XX(SIO_ETIMEDOUT, -100, "timed out")   /* an ack or cluster answer came too late */            \
    /* Why a JSON Web Token was refused (sio_jwt_check, sio_jwt_middleware). */                    \
    XX(SIO_EJWT_MALFORMED, -200, "malformed token")  /* not 3 base64url parts, not JSON objects */ \
    XX(SIO_EJWT_ALG, -201, "algorithm not HS256")    /* alg missing or not "HS256", or crit */     \
    XX(SIO_EJWT_SIG, -202, "bad signature")          /* signature does not match */                \
    XX(SIO_EJWT_EXPIRED, -203, "token expired")      /* exp <= now - skew */                       \
    XX(SIO_EJWT_NOTYET, -204, "token not yet valid") /* nbf > now + skew */                        \
    XX(SIO_EJWT_CLAIMS, -205, "bad claims") /* exp/nbf/iat not numbers, sub not a string, twice */ \
    XX(SIO_EJWT_TOOBIG, -206, "token too long")                   /* longer than 8 KiB */          \
    XX(SIO_EJWT_NOEXP, -207, "token without exp (never expires)") /* and allow_no_exp is 0 */

#define SIO_STATUS_ENUM_(name, value, text) name = value,
typedef enum sio_status { SIO_STATUS_MAP(SIO_STATUS_ENUM_) } sio_status;
#undef SIO_STATUS_ENUM_

/* Short English description of any status the library returns, for logs
 * ("unknown error" for a value that is not one). Never NULL; the string is
 * static. */
const char *sio_strerror(int status);

SIO_END_DECLS

#endif
