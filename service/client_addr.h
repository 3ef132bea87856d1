/* client_addr.h — who a request comes from: the peer's address, or, when the peer is a
 * reverse proxy the operator trusts, the address that proxy says it forwarded for.
 *
 * DESIGN: behind a proxy (TLS terminated by nginx, a cache), every request's peer is the
 * proxy, so the failed-token throttle would block all operators at once for one client's
 * bad tokens, and the access log would name only the proxy. The operator lists the proxies
 * (`trusted_proxies`: addresses or CIDR ranges); for a request from one of them, the
 * X-Forwarded-For list is read from the right, skipping the trusted proxies that appended to
 * it, and the first address that is not one is the client (nginx's real_ip_recursive). The
 * entries to its left are whatever the client sent, so they are never believed. A peer that
 * is not trusted is the client, whatever it sends. Addresses compare as IPv6, with IPv4 as
 * ::ffff:a.b.c.d. */
#ifndef CM_CLIENT_ADDR_H
#define CM_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct cm_net {
    unsigned char addr[16]; /* IPv6; IPv4 mapped */
    int prefix;             /* bits of addr that must match, 0..128 */
} cm_net;

typedef struct cm_trusted_proxies {
    cm_net *nets; /* malloc'd, owned */
    size_t n;
} cm_trusted_proxies;

/* Adds "ADDRESS" or "ADDRESS/PREFIX" (IPv4 or IPv6). false when it is neither, or memory is short. */
bool cm_trusted_proxies_add(cm_trusted_proxies *t, const char *spec);
void cm_trusted_proxies_release(cm_trusted_proxies *t);

/* Writes the client's address as text into out (n bytes; "-" when there is none): the peer's,
 * or for a trusted peer the one forwarded_for (the X-Forwarded-For value, or NULL) names. */
void cm_client_addr(const struct sockaddr *peer, const char *forwarded_for, const cm_trusted_proxies *t, char *out,
                    size_t n);

#endif
