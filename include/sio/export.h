/* What libsio exports, and C linkage for C++ programs.
 *
 * The library is built with -fvisibility=hidden: only what is marked leaves
 * libsio.so. SIO_API marks one public declaration (default visibility while
 * the library is built, nothing for its users). Until every declaration
 * carries it, each public header wraps its declarations in
 * SIO_BEGIN_DECLS / SIO_END_DECLS, which give them default visibility while
 * the library is built (a visibility pragma) and C linkage under C++; the
 * linker version script (src/libsio.map) keeps anything else that is not
 * sio_* or eio_* out of the dynamic symbol table. */
#ifndef SIO_EXPORT_H
#define SIO_EXPORT_H

#if defined(SIO_BUILDING) && defined(__GNUC__)
#define SIO_API                __attribute__((visibility("default")))
#define SIO_VISIBILITY_DEFAULT _Pragma("GCC visibility push(default)")
#define SIO_VISIBILITY_POP     _Pragma("GCC visibility pop")
#else
#define SIO_API
#define SIO_VISIBILITY_DEFAULT
#define SIO_VISIBILITY_POP
#endif

#ifdef __cplusplus
#define SIO_BEGIN_DECLS                                                                            \
    extern "C" {                                                                                   \
    SIO_VISIBILITY_DEFAULT
#define SIO_END_DECLS                                                                              \
    SIO_VISIBILITY_POP                                                                             \
    }
#else
#define SIO_BEGIN_DECLS SIO_VISIBILITY_DEFAULT
#define SIO_END_DECLS   SIO_VISIBILITY_POP
#endif

#endif
