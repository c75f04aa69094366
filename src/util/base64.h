/* Base64, the one codec of the project: standard with padding for Engine.IO
 * polling payloads, URL-safe unpadded for JWTs and random ids. */
#ifndef SIO_UTIL_BASE64_H
#define SIO_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum {
    B64_URL = 1,    /* encode: '-' '_' and no padding */
    B64_STRICT = 2, /* decode: URL-safe alphabet only, no '=', canonical
                       trailing bits (JWT); otherwise lenient as Node's
                       Buffer.from(s, "base64"): both alphabets, optional '=' */
};

/* Characters b64_encode writes for n bytes (no NUL). */
size_t b64_encoded_len(size_t n, int flags);
/* Write b64_encoded_len(n, flags) characters to out (no NUL). */
void b64_encode(const uint8_t *in, size_t n, char *out, int flags);
/* Decode n characters; out must hold n / 4 * 3 + 2 bytes. SIO_OK, or
 * SIO_EPARSE for input that is not base64 under flags. */
int b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len, int flags);

#endif
