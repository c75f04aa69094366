#include "util/id.h"

#include <openssl/rand.h>
#include <stdint.h>

#include "sio/status.h"

int sio_random_id(char out[SIO_RANDOM_ID_LEN + 1]) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[15];
    if (RAND_bytes(raw, sizeof raw) != 1) return SIO_EIO;
    for (int i = 0, o = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    out[SIO_RANDOM_ID_LEN] = 0;
    return SIO_OK;
}
