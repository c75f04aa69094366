/* Unguessable identifiers: 20 URL-safe characters from 120 bits of
 * OpenSSL's CSPRNG, for Engine.IO session ids and Socket.IO socket ids. */
#ifndef SIO_UTIL_ID_H
#define SIO_UTIL_ID_H

#define SIO_RANDOM_ID_LEN 20

/* Write a NUL-terminated id; SIO_OK or SIO_EIO when the CSPRNG fails. */
int sio_random_id(char out[SIO_RANDOM_ID_LEN + 1]);

#endif
