/* sio_version(): the library's version at run time, which may differ from
 * the SIO_VERSION_* a program was compiled with (a newer libsio.so.N). */
#include "sio/version.h"

const char *sio_version(void) {
    return SIO_VERSION_STRING;
}
