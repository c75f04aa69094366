#include "sio/status.h"

const char *sio_strerror(int status) {
    switch (status) {
#define SIO_STATUS_CASE_(name, value, text)                                                        \
    case name:                                                                                     \
        return text;
        SIO_STATUS_MAP(SIO_STATUS_CASE_)
#undef SIO_STATUS_CASE_
    }
    return "unknown error";
}
