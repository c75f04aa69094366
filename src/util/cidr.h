/* Address lists: "127.0.0.0/8,::1,10.1.2.3" parsed once, then client
 * addresses (text, as http_req_remote_addr gives them) tested against them.
 * Sans-I/O: parsing and matching are pure functions of their arguments.
 *
 * Every address is kept as 16 bytes: IPv4 as its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d, prefix + 96), so that "127.0.0.1" and "::ffff:127.0.0.1"
 * (what a dual-stack socket reports for an IPv4 peer) match the same rules. */
#ifndef SIO_UTIL_CIDR_H
#define SIO_UTIL_CIDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct cidr_rule {
    uint8_t net[16]; /* host bits cleared */
    uint8_t bits;    /* prefix length in the 128-bit form, 0..128 */
} cidr_rule;

typedef struct cidr_list {
    cidr_rule *rules;
    size_t n;
} cidr_list;

/* Parse a comma-separated list of addresses or CIDR blocks (IPv4 or IPv6,
 * spaces around entries ignored; host bits after the prefix are allowed and
 * ignored). SIO_OK with *out filled (free it with cidr_list_free); SIO_EINVAL
 * for an empty list or any entry that does not parse, SIO_ENOMEM; on error
 * *out is empty. */
int cidr_list_parse(cidr_list *out, const char *spec);
/* 1 when addr (a textual IPv4 or IPv6 address) is inside one of the rules;
 * 0 otherwise, also for NULL, "" or anything that is not an address (a
 * bogus X-Forwarded-For entry is never allowed). */
int cidr_list_match(const cidr_list *l, const char *addr);
void cidr_list_free(cidr_list *l);

#endif
