/* Status codes returned by every fallible function of the library.
 * Errors are values: nothing a peer sends makes the library exit or abort. */
#ifndef SIO_STATUS_H
#define SIO_STATUS_H

#include "sio/export.h"

SIO_BEGIN_DECLS

typedef enum sio_status {
    SIO_OK = 0,
    SIO_ENOMEM = -1,  /* allocation failed */
    SIO_EPARSE = -2,  /* malformed input */
    SIO_ETOOBIG = -3, /* input or output exceeds a configured limit */
    SIO_EINVAL = -4,  /* bad argument from the caller */
    SIO_ESTATE = -5,  /* operation not valid in the current state */
    SIO_EIO = -6,     /* a system call failed */
    SIO_ECLOSED = -7, /* the session or socket is gone */
    SIO_ELIMIT = -8,  /* a configured count is reached (e.g. rooms per socket) */
} sio_status;

/* Short English description of a status, for logs. */
const char *sio_status_str(int status);

SIO_END_DECLS

#endif
