// chat.c compiled as C++: the public headers declare C functions (extern "C")
// and compile cleanly as C++; this file only checks that a C++ program links
// against libsio (include/sio/export.h).
#include "chat.c"
