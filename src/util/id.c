#include "util/id.h"

#include <openssl/rand.h>
#include <stdint.h>

#include "sio/status.h"
#include "util/base64.h"

int sio_random_id(char out[SIO_RANDOM_ID_LEN + 1]) {
    uint8_t raw[SIO_RANDOM_ID_LEN / 4 * 3];
    if (RAND_bytes(raw, sizeof raw) != 1) return SIO_EIO;
    b64_encode(raw, sizeof raw, out, B64_URL);
    out[SIO_RANDOM_ID_LEN] = 0;
    return SIO_OK;
}
