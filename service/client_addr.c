/* client_addr.c — see client_addr.h. */
#include "client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layers/buf.h"

static void map_v4(const void *v4, unsigned char out[16]) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static bool is_mapped_v4(const unsigned char a[16]) {
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

/* An address in text (no prefix, no port) into a[16]. */
static bool parse_addr(const char *s, unsigned char a[16]) {
    struct in_addr v4;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        map_v4(&v4, a);
        return true;
    }
    return inet_pton(AF_INET6, s, a) == 1;
}

bool cm_trusted_proxies_add(cm_trusted_proxies *t, const char *spec) {
    char text[64];
    const char *slash = strchr(spec, '/');
    size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
    if (len == 0 || len >= sizeof text) return false;
    memcpy(text, spec, len);
    text[len] = '\0';
    cm_net net;
    if (!parse_addr(text, net.addr)) return false;
    bool v4 = strchr(text, ':') == NULL;
    int max = v4 ? 32 : 128;
    net.prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || p < 0 || p > max) return false;
        net.prefix = (int)p;
    }
    if (v4) net.prefix += 96;
    cm_net *grown = realloc(t->nets, (t->n + 1) * sizeof *grown);
    if (!grown) return false;
    t->nets = grown;
    t->nets[t->n++] = net;
    return true;
}

void cm_trusted_proxies_release(cm_trusted_proxies *t) {
    free(t->nets);
    t->nets = NULL;
    t->n = 0;
}

static bool in_net(const cm_net *net, const unsigned char a[16]) {
    int full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->addr, a, (size_t)full) != 0) return false;
    if (!rest) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (a[full] & mask);
}

static bool trusted(const cm_trusted_proxies *t, const unsigned char a[16]) {
    for (size_t i = 0; i < t->n; i++)
        if (in_net(&t->nets[i], a)) return true;
    return false;
}

static void format_addr(const unsigned char a[16], char *out, size_t n) {
    if (is_mapped_v4(a)) {
        /* By hand: glibc's inet_ntop formats with sprintf, which is slow in this process
         * (layers/buf.h), and this runs for every request. */
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; i < 4; i++) {
            if (i) cm_text_append(out, n, &used, ".");
            cm_text_append_int(out, n, &used, a[12 + i]);
        }
    } else if (!inet_ntop(AF_INET6, a, out, (socklen_t)n)) {
        snprintf(out, n, "-");
    }
}

/* One X-Forwarded-For entry, [begin, end) trimmed, into a[16]: "a.b.c.d", "a.b.c.d:port",
 * an IPv6 address, or "[v6]" / "[v6]:port". */
static bool parse_entry(const char *begin, const char *end, unsigned char a[16]) {
    while (begin < end && (*begin == ' ' || *begin == '\t')) begin++;
    while (end > begin && (end[-1] == ' ' || end[-1] == '\t')) end--;
    char text[64];
    if (begin < end && *begin == '[') {
        const char *close = memchr(begin, ']', (size_t)(end - begin));
        if (!close) return false;
        begin++;
        end = close;
    } else if (memchr(begin, '.', (size_t)(end - begin))) {
        const char *colon = memchr(begin, ':', (size_t)(end - begin));
        if (colon) end = colon; /* IPv4 with a port */
    }
    size_t len = (size_t)(end - begin);
    if (len == 0 || len >= sizeof text) return false;
    memcpy(text, begin, len);
    text[len] = '\0';
    return parse_addr(text, a);
}

void cm_client_addr(const struct sockaddr *peer, const char *forwarded_for, const cm_trusted_proxies *t, char *out,
                    size_t n) {
    unsigned char a[16];
    if (!peer) {
        snprintf(out, n, "-");
        return;
    }
    if (peer->sa_family == AF_INET)
        map_v4(&((const struct sockaddr_in *)peer)->sin_addr, a);
    else if (peer->sa_family == AF_INET6)
        memcpy(a, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
    else {
        snprintf(out, n, "-");
        return;
    }
    if (t && t->n && forwarded_for && trusted(t, a)) {
        /* From the right: each trusted proxy appended the address it got the request from. */
        const char *end = forwarded_for + strlen(forwarded_for);
        while (end > forwarded_for) {
            const char *begin = end;
            while (begin > forwarded_for && begin[-1] != ',') begin--;
            unsigned char entry[16];
            if (!parse_entry(begin, end, entry)) break; /* the nearest proxy's view stands */
            memcpy(a, entry, 16);
            if (!trusted(t, a)) break;
            end = begin > forwarded_for ? begin - 1 : begin;
        }
    }
    format_addr(a, out, n);
}
