/* Unit tests for service/client_addr.c: trusted proxy ranges and X-Forwarded-For. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../service/client_addr.h"
#include "check.h"

static struct sockaddr_storage peer4(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage peer6(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in->sin6_addr);
    return ss;
}

static const char *who(struct sockaddr_storage peer, const char *xff, const cm_trusted_proxies *t) {
    static char out[48];
    cm_client_addr((const struct sockaddr *)&peer, xff, t, out, sizeof out);
    return out;
}

int main(void) {
    cm_trusted_proxies none = {0}, t = {0};
    /* What the configuration accepts. */
    CHECK(cm_trusted_proxies_add(&t, "127.0.0.1"));
    CHECK(cm_trusted_proxies_add(&t, "10.0.0.0/8"));
    CHECK(cm_trusted_proxies_add(&t, "fd00::/8"));
    CHECK(cm_trusted_proxies_add(&t, "172.16.5.4/32"));
    CHECK(!cm_trusted_proxies_add(&t, "10.0.0.0/33"));
    CHECK(!cm_trusted_proxies_add(&t, "::1/129"));
    CHECK(!cm_trusted_proxies_add(&t, "10.0.0.0/"));
    CHECK(!cm_trusted_proxies_add(&t, "example.org"));
    CHECK(!cm_trusted_proxies_add(&t, ""));
    CHECK(!cm_trusted_proxies_add(&t, "/8"));
    CHECK(t.n == 4);

    /* No trusted proxies, or a peer that is not one: the peer, whatever it sends. */
    CHECK_STR(who(peer4("203.0.113.9"), "198.51.100.1", &none), "203.0.113.9");
    CHECK_STR(who(peer4("203.0.113.9"), "198.51.100.1", &t), "203.0.113.9");
    CHECK_STR(who(peer4("127.0.0.1"), "198.51.100.1", &none), "127.0.0.1");
    CHECK_STR(who(peer6("2001:db8::5"), NULL, &t), "2001:db8::5");

    /* A trusted peer: the rightmost address that is not a trusted proxy. */
    CHECK_STR(who(peer4("127.0.0.1"), "198.51.100.1", &t), "198.51.100.1");
    CHECK_STR(who(peer4("127.0.0.1"), " 198.51.100.1 , 10.1.2.3", &t), "198.51.100.1");
    /* What the client put on the left itself is not believed. */
    CHECK_STR(who(peer4("127.0.0.1"), "1.1.1.1, 198.51.100.1, 10.1.2.3", &t), "198.51.100.1");
    /* 10.0.0.0/8 is trusted, 11.0.0.1 is not. */
    CHECK_STR(who(peer4("10.200.0.1"), "11.0.0.1", &t), "11.0.0.1");
    /* Every entry a trusted proxy: the leftmost. */
    CHECK_STR(who(peer4("127.0.0.1"), "10.0.0.7, 10.0.0.8", &t), "10.0.0.7");
    /* Ports and IPv6 forms. */
    CHECK_STR(who(peer4("127.0.0.1"), "198.51.100.1:4711", &t), "198.51.100.1");
    CHECK_STR(who(peer4("127.0.0.1"), "[2001:db8::7]:4711", &t), "2001:db8::7");
    CHECK_STR(who(peer4("127.0.0.1"), "2001:db8::8", &t), "2001:db8::8");
    CHECK_STR(who(peer6("fd00::1"), "2001:db8::9", &t), "2001:db8::9");
    /* Rubbish ends the walk at the nearest address that made sense. */
    CHECK_STR(who(peer4("127.0.0.1"), "unknown", &t), "127.0.0.1");
    CHECK_STR(who(peer4("127.0.0.1"), "198.51.100.1, junk, 10.1.2.3", &t), "10.1.2.3");
    CHECK_STR(who(peer4("127.0.0.1"), "", &t), "127.0.0.1");
    CHECK_STR(who(peer4("127.0.0.1"), ",,", &t), "127.0.0.1");
    /* A prefix that is not a whole byte. */
    cm_trusted_proxies odd = {0};
    CHECK(cm_trusted_proxies_add(&odd, "192.168.4.0/22"));
    CHECK_STR(who(peer4("192.168.7.255"), "198.51.100.2", &odd), "198.51.100.2");
    CHECK_STR(who(peer4("192.168.8.0"), "198.51.100.2", &odd), "192.168.8.0");
    /* No peer at all. */
    char out[48];
    cm_client_addr(NULL, "198.51.100.1", &t, out, sizeof out);
    CHECK_STR(out, "-");

    cm_trusted_proxies_release(&t);
    cm_trusted_proxies_release(&odd);
    CHECK(t.nets == NULL && t.n == 0);
    return check_report("test_client_addr");
}
