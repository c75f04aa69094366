/* Compressed variants of static files, made once and kept in memory: a file
 * is compressed the first time a client asks for it in a coding, and its
 * variant is served from here until the file changes (the key is its path,
 * size, modification time and inode: any of them changed, the variant is
 * made again). Memory is bounded: at most ZCACHE_MAX_BYTES of compressed
 * bytes in at most ZCACHE_MAX_ENTRIES variants, the least recently used
 * dropped first; a file over ZCACHE_MAX_FILE is never compressed (the loop
 * would stall on it), nor one that does not shrink (remembered, so it is
 * not tried again). */
#ifndef SIO_HTTP_ZCACHE_H
#define SIO_HTTP_ZCACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "util/segq.h"
#include "util/zcodec.h"

#define ZCACHE_MAX_BYTES   (8u << 20)
#define ZCACHE_MAX_ENTRIES 256
#define ZCACHE_MAX_FILE    (2u << 20)

typedef struct http_zcache http_zcache;

/* Files smaller than threshold (> 0) are not worth compressing: the users
 * of the cache check http_zcache_threshold. NULL when out of memory. */
http_zcache *http_zcache_new(size_t threshold);
size_t http_zcache_threshold(const http_zcache *c);
void http_zcache_free(http_zcache *c);

/* The file open at fd (st: its fstat; path: its name, the key) in coding
 * (ZC_GZIP or ZC_DEFLATE), compressed with z on a miss: a reference for the
 * caller (it stays valid when the cache drops it), or NULL when the file is
 * to be sent as it is (too big, does not shrink, unreadable, no memory).
 * fd's file offset is not used. */
sbuf_shared *http_zcache_get(http_zcache *c, zcodec *z, const char *path, const struct stat *st,
                             int fd, int coding);

#endif
