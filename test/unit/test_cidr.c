/* The address-list matcher behind --metrics-allow: parsing (IPv4, IPv6,
 * prefixes, refusals) and matching, IPv4-mapped IPv6 included. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/status.h"
#include "util/cidr.h"

static int match(const char *spec, const char *addr) {
    cidr_list l;
    if (cidr_list_parse(&l, spec) != SIO_OK) return -1;
    int m = cidr_list_match(&l, addr);
    cidr_list_free(&l);
    return m;
}

static void test_default_loopback(void) {
    const char *dflt = "127.0.0.0/8,::1";
    CHECK(match(dflt, "127.0.0.1") == 1);
    CHECK(match(dflt, "127.255.255.254") == 1);
    CHECK(match(dflt, "::1") == 1);
    CHECK(match(dflt, "::ffff:127.0.0.1") == 1); /* dual-stack socket, IPv4 peer */
    CHECK(match(dflt, "0:0:0:0:0:0:0:1") == 1);
    CHECK(match(dflt, "128.0.0.1") == 0);
    CHECK(match(dflt, "126.255.255.255") == 0);
    CHECK(match(dflt, "203.0.113.7") == 0);
    CHECK(match(dflt, "::2") == 0);
    CHECK(match(dflt, "::") == 0);
    CHECK(match(dflt, "::127.0.0.1") == 0); /* IPv4-compatible, not mapped */
    CHECK(match(dflt, "2001:db8::1") == 0);
}

static void test_prefixes(void) {
    CHECK(match("203.0.113.0/24", "203.0.113.7") == 1);
    CHECK(match("203.0.113.0/24", "203.0.113.255") == 1);
    CHECK(match("203.0.113.0/24", "203.0.112.7") == 0);
    CHECK(match("203.0.113.0/24", "203.0.114.0") == 0);
    /* Host bits after the prefix are ignored. */
    CHECK(match("203.0.113.99/24", "203.0.113.7") == 1);
    /* Prefixes that do not fall on a byte boundary. */
    CHECK(match("10.0.0.0/13", "10.7.255.255") == 1);
    CHECK(match("10.0.0.0/13", "10.8.0.0") == 0);
    CHECK(match("192.168.1.128/25", "192.168.1.129") == 1);
    CHECK(match("192.168.1.128/25", "192.168.1.127") == 0);
    CHECK(match("0.0.0.0/0", "8.8.8.8") == 1);
    CHECK(match("0.0.0.0/0", "::ffff:8.8.8.8") == 1);
    CHECK(match("0.0.0.0/0", "2001:db8::1") == 0); /* /0 of IPv4 is every IPv4 address only */
    CHECK(match("10.1.2.3/32", "10.1.2.3") == 1);
    CHECK(match("10.1.2.3/32", "10.1.2.4") == 0);
    CHECK(match("10.1.2.3", "10.1.2.3") == 1);
    /* IPv6. */
    CHECK(match("2001:db8::/32", "2001:db8:ffff::1") == 1);
    CHECK(match("2001:db8::/32", "2001:db9::1") == 0);
    CHECK(match("2001:db8:abcd::/47", "2001:db8:abcd:1::") == 1);
    CHECK(match("2001:db8:abcd::/47", "2001:db8:abce::") == 0);
    CHECK(match("fe80::1/128", "fe80::1") == 1);
    CHECK(match("fe80::1/128", "fe80::2") == 0);
    CHECK(match("::/0", "2001:db8::1") == 1);
    CHECK(match("::ffff:10.0.0.0/104", "10.9.9.9") == 1); /* mapped form as a rule */
    /* Several entries, spaces around them. */
    CHECK(match(" 10.0.0.0/8 , 192.168.0.0/16,\t::1 ", "192.168.3.4") == 1);
    CHECK(match(" 10.0.0.0/8 , 192.168.0.0/16,\t::1 ", "::1") == 1);
    CHECK(match(" 10.0.0.0/8 , 192.168.0.0/16,\t::1 ", "172.16.0.1") == 0);
}

static void test_bad_lists(void) {
    const char *bad[] = {
        "",
        " ",
        ",",
        "127.0.0.1,",
        ",::1",
        "a,,b",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0/8",
        "10.0.0.0/8x",
        "localhost",
        "1.2.3.4.5",
        "::1/1/2",
        "10.0.0.0/0008",
        "[::1]",
        "127.0.0.1:80",
        "fe80::1%eth0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cidr_list l = {(cidr_rule *)&l, 99};
        int rc = cidr_list_parse(&l, bad[i]);
        if (rc != SIO_EINVAL) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK(rc == SIO_EINVAL);
        CHECK(l.rules == NULL && l.n == 0);
    }
    cidr_list l;
    CHECK(cidr_list_parse(&l, NULL) == SIO_EINVAL);
}

static void test_bad_addresses(void) {
    cidr_list l;
    CHECK(cidr_list_parse(&l, "0.0.0.0/0,::/0") == SIO_OK);
    CHECK(l.n == 2);
    /* What an X-Forwarded-For may hold that is no address: never allowed. */
    const char *bad[] = {"",
                         "unknown",
                         "127.0.0.1:8080",
                         "[::1]",
                         " 127.0.0.1",
                         "127.0.0.1 ",
                         "127.1",
                         "0x7f.0.0.1",
                         "::1%lo",
                         "1.2.3.4,5.6.7.8",
                         "::ffff:127.0.0.1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(cidr_list_match(&l, bad[i]) == 0);
    CHECK(cidr_list_match(&l, NULL) == 0);
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    CHECK(cidr_list_match(&l, longer) == 0);
    CHECK(cidr_list_match(NULL, "127.0.0.1") == 0);
    cidr_list_free(&l);
    cidr_list_free(&l); /* twice is fine */
    CHECK(cidr_list_match(&l, "127.0.0.1") == 0);
}

int main(void) {
    test_default_loopback();
    test_prefixes();
    test_bad_lists();
    test_bad_addresses();
    return CHECK_DONE();
}
