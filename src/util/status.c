#include "sio/status.h"

const char *sio_status_str(int status) {
    switch (status) {
    case SIO_OK:
        return "ok";
    case SIO_ENOMEM:
        return "out of memory";
    case SIO_EPARSE:
        return "parse error";
    case SIO_ETOOBIG:
        return "too large";
    case SIO_EINVAL:
        return "invalid argument";
    case SIO_ESTATE:
        return "invalid state";
    case SIO_EIO:
        return "I/O error";
    case SIO_ECLOSED:
        return "closed";
    case SIO_ELIMIT:
        return "limit reached";
    }
    return "unknown error";
}
