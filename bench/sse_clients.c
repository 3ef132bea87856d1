/* sse_clients.c — live-update load client for the crisismap benchmark (bench/live.sh).
 *
 * One process, one epoll thread for the subscribers, one writer thread:
 *   1. opens N connections to GET /api/events (non-blocking sockets, at most --batch connections in
 *      flight during the ramp-up, so the server's listen backlog is not overrun); a subscriber counts as
 *      connected when it got HTTP 200, text/event-stream, and the greeting comment
 *      ": connected, last event N";
 *   2. waits --settle-ms with everything idle, then reads the server's VmRSS (--server-pid);
 *   3. the writer thread POSTs W features one after another on one keep-alive connection (blocking
 *      socket), each waiting for its 201, and records CLOCK_MONOTONIC when the whole 201 response was
 *      read (the ack) and the feature id of the response body;
 *   4. meanwhile the epoll thread de-chunks and parses the SSE frames of every subscriber and records,
 *      per event (seq) and per subscriber, the CLOCK_MONOTONIC time of the read() that completed the
 *      frame (table: events x subscribers of int64, ~9 MB for 100 x 10,000);
 *   5. when every subscriber has every event, or --drain-s after the last ack, it prints
 *      latency = receive time - ack time of the write whose feature id the event carries, over all
 *      subscribers x writes (p50/p99/max), missing/duplicate/out-of-order deliveries, and one
 *      machine-readable line LIVEJSON {...};
 *   6. with --hold S it then prints HOLDING and keeps every subscriber connected (still reading:
 *      heartbeats, unexpected events, closes) until SIGTERM/SIGINT or S seconds, and prints HOLDJSON {...}.
 *
 * A latency can be negative: the server may send the event before the writer thread has read the
 * 201 (both happen after the commit). They are counted ("early") and kept in the percentiles.
 *
 * Loopback only (the host must be 127.0.0.1). Build: cc -O2 -Wall -pthread -o sse_clients sse_clients.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP 256   /* first bytes of an SSE line kept: enough for "data: {"seq":..,"collection":..,"id":N," */
#define HDR_CAP 4096
#define RBUF 65536

enum { C_FREE, C_CONNECTING, C_HEADERS, C_BODY, C_CLOSED };
enum { CH_SIZE, CH_EXT, CH_DATA, CH_CRLF, CH_END, CH_IDENTITY };
enum { EV_NONE, EV_CHANGE, EV_RESET, EV_OTHER };
enum { PH_RAMP, PH_IDLE, PH_BURST, PH_HOLD, PH_N };

typedef struct conn {
    int fd;
    uint8_t st, ch, greeted, ev_type;
    uint8_t ev_has_data, chunked;
    uint16_t hlen, llen;
    uint32_t chunk_left;
    char *hbuf;
    int64_t t_open;
    int64_t ev_id, ev_seq, ev_fid;
    int64_t last_seq;
    int64_t last_rx;   /* time of the last read() that returned bytes */
    int64_t max_gap;   /* longest silence of this subscriber that ended in the hold phase (or was still open at its end) */
    char line[LINE_CAP];
} conn;

/* ---------------------------------------------------------------- options and global state */
static const char *o_host = "127.0.0.1";
static int o_port, o_n = 1000, o_writes = 100, o_batch = 256, o_settle_ms = 1000, o_server_pid;
static double o_connect_s = 120, o_conn_timeout_s = 15, o_drain_s = 20, o_hold_s = 0, o_heartbeat_s = 15;
static const char *o_token_file, *o_collections, *o_label = "";

static conn *C;
static int ep;
static volatile sig_atomic_t g_stop;
static int phase = PH_RAMP;

static int64_t base_seq = -1;          /* "last event N" of the first greeting */
static int rows;                       /* event rows recorded: seq base+1 .. base+rows */
static int64_t *recv_ns;               /* rows x N receive times, 0 = not received */
static int64_t *row_fid;               /* feature id carried by the event of that row */
static int *row_cnt;

/* counters */
static long n_opened, n_greeted, n_failed, n_connect_err, n_timeout, n_bad_status, n_not_sse, n_proto_err;
static long status_cnt[600];
static long closed_in[PH_N];           /* greeted subscribers closed by the server, per phase */
static long heartbeats_in[PH_N], resets, unexpected, dups, out_of_order, id_mismatch, greet_mismatch, fid_mismatch;
static long delivered;                 /* recorded (first) deliveries in rows */
static long frames_other;
static int64_t max_greet_seq = -1;

/* writer */
typedef struct wres { int64_t t_send, t_ack, fid; int status; } wres;
static wres *W;
static atomic_int writes_done;         /* writes finished (any status) */
static atomic_int writer_finished;
static char *token;
static char writer_err[512];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("sse_clients: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---------------------------------------------------------------- /proc of the server */
static long proc_kb(const char *key) {
    if (!o_server_pid) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", o_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') { v = atol(line + kl + 1); break; }
    fclose(f);
    return v;
}

static long proc_fds(void) {
    if (!o_server_pid) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", o_server_pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static double proc_cpu_s(void) { /* utime + stime of the whole server process */
    if (!o_server_pid) return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", o_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* busy jiffies (all CPUs, everything but idle and iowait) and the total, from /proc/stat */
static void host_ticks(unsigned long long *busy, unsigned long long *total) {
    unsigned long long v[10] = {0};
    *busy = *total = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int k = 0; k < 8; k++) *total += v[k];
        *busy = *total - v[3] - v[4];
    }
    fclose(f);
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---------------------------------------------------------------- subscribers */
static struct sockaddr_in server_addr(void) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)o_port);
    if (inet_pton(AF_INET, o_host, &a.sin_addr) != 1) die("bad host %s", o_host);
    return a;
}

static void conn_close(int i, int failed_before_greeting) {
    conn *c = &C[i];
    if (c->st == C_FREE || c->st == C_CLOSED) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->hbuf);
    c->hbuf = NULL;
    if (c->greeted) closed_in[phase]++;
    else if (failed_before_greeting) n_failed++;
    c->st = C_CLOSED;
}

static void conn_open(int i) {
    conn *c = &C[i];
    memset(c, 0, sizeof *c);
    c->last_seq = -1;
    c->t_open = now_ns();
    n_opened++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->st = C_CLOSED;
        n_failed++;
        n_connect_err++;
        if (n_connect_err <= 3) fprintf(stderr, "sse_clients: socket(): %s\n", strerror(errno));
        return;
    }
    struct sockaddr_in a = server_addr();
    c->fd = fd;
    c->st = C_CONNECTING;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        if (n_connect_err++ < 3) fprintf(stderr, "sse_clients: connect(): %s\n", strerror(errno));
        close(fd);
        c->st = C_CLOSED;
        n_failed++;
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
}

static void record(int i, int64_t t) {
    conn *c = &C[i];
    if (c->ev_id != c->ev_seq) id_mismatch++;
    if (c->ev_seq <= c->last_seq) out_of_order++;
    c->last_seq = c->ev_seq;
    int64_t row = c->ev_seq - base_seq - 1;
    if (base_seq < 0 || row < 0 || row >= rows) {
        unexpected++;
        return;
    }
    int64_t *slot = &recv_ns[row * (int64_t)o_n + i];
    if (*slot) {
        dups++;
        return;
    }
    *slot = t;
    if (row_cnt[row]++ == 0) row_fid[row] = c->ev_fid;
    else if (row_fid[row] != c->ev_fid) fid_mismatch++;
    delivered++;
}

static int64_t num_after(const char *s, size_t n, const char *key) {
    size_t kl = strlen(key);
    for (size_t k = 0; k + kl <= n; k++)
        if (memcmp(s + k, key, kl) == 0) {
            const char *p = s + k + kl;
            while (p < s + n && *p == ' ') p++;
            if (p >= s + n || !isdigit((unsigned char)*p)) return -1;
            int64_t v = 0;
            while (p < s + n && isdigit((unsigned char)*p)) v = v * 10 + (*p++ - '0');
            return v;
        }
    return -1;
}

/* One complete SSE line (without its '\n'), at most LINE_CAP bytes of it kept. */
static void sse_line(int i, int64_t t) {
    conn *c = &C[i];
    size_t n = c->llen;
    const char *l = c->line;
    if (n && l[n - 1] == '\r') n--;
    if (n == 0) { /* dispatch */
        if (c->ev_type == EV_CHANGE && c->ev_has_data) record(i, t);
        else if (c->ev_type == EV_RESET) resets++;
        else if (c->ev_type == EV_OTHER || (c->ev_type == EV_CHANGE && !c->ev_has_data)) frames_other++;
        c->ev_type = EV_NONE;
        c->ev_has_data = 0;
        c->ev_id = c->ev_seq = c->ev_fid = -1;
        return;
    }
    if (l[0] == ':') {
        static const char G[] = ": connected, last event ";
        if (n >= sizeof G - 1 && memcmp(l, G, sizeof G - 1) == 0) {
            int64_t v = 0;
            for (size_t k = sizeof G - 1; k < n && isdigit((unsigned char)l[k]); k++) v = v * 10 + (l[k] - '0');
            if (!c->greeted) {
                c->greeted = 1;
                n_greeted++;
                free(c->hbuf);
                c->hbuf = NULL;
                if (base_seq < 0) base_seq = v;
                else if (v != base_seq) greet_mismatch++;
                if (v > max_greet_seq) max_greet_seq = v;
                c->last_seq = v;
            }
        } else if (n >= 11 && memcmp(l, ": heartbeat", 11) == 0) {
            heartbeats_in[phase]++;
        }
        return;
    }
    if (n > 4 && memcmp(l, "id: ", 4) == 0) {
        c->ev_id = num_after(l, n, "id:");
        if (c->ev_type == EV_NONE) c->ev_type = EV_OTHER;
    } else if (n >= 6 && memcmp(l, "event:", 6) == 0) {
        const char *v = l + 6;
        size_t vn = n - 6;
        if (vn && *v == ' ') v++, vn--;
        c->ev_type = (vn == 6 && memcmp(v, "change", 6) == 0) ? EV_CHANGE : (vn == 5 && memcmp(v, "reset", 5) == 0) ? EV_RESET : EV_OTHER;
    } else if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        c->ev_seq = num_after(l, n, "{\"seq\":");
        c->ev_fid = num_after(l, n, ",\"id\":");
        c->ev_has_data = c->ev_seq >= 0;
    }
}

static void sse_feed(int i, const char *p, size_t n, int64_t t) {
    conn *c = &C[i];
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (c->llen < LINE_CAP) {
            size_t k = take < (size_t)(LINE_CAP - c->llen) ? take : (size_t)(LINE_CAP - c->llen);
            memcpy(c->line + c->llen, p, k);
            c->llen += (uint16_t)k;
        }
        if (!nl) return;
        sse_line(i, t);
        c->llen = 0;
        p = nl + 1;
        n -= take + 1;
    }
}

/* De-chunks body bytes into the SSE parser. Returns -1 on a protocol error, 1 at the end of the stream. */
static int body_feed(int i, const char *p, size_t n, int64_t t) {
    conn *c = &C[i];
    while (n) {
        switch (c->ch) {
        case CH_IDENTITY: sse_feed(i, p, n, t); return 0;
        case CH_SIZE: {
            char ch = *p++;
            n--;
            if (isxdigit((unsigned char)ch)) {
                if (c->chunk_left > (1u << 27)) return -1;
                c->chunk_left = c->chunk_left * 16 + (uint32_t)(isdigit((unsigned char)ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
            } else if (ch == '\n') {
                c->ch = c->chunk_left ? CH_DATA : CH_END;
                if (c->ch == CH_END) return 1;
            } else if (ch == ';' || ch == ' ' || ch == '\t') c->ch = CH_EXT;
            else if (ch != '\r') return -1;
            break;
        }
        case CH_EXT: {
            const char *nl = memchr(p, '\n', n);
            if (!nl) return 0;
            n -= (size_t)(nl + 1 - p);
            p = nl + 1;
            c->ch = c->chunk_left ? CH_DATA : CH_END;
            if (c->ch == CH_END) return 1;
            break;
        }
        case CH_DATA: {
            size_t k = n < c->chunk_left ? n : c->chunk_left;
            sse_feed(i, p, k, t);
            p += k;
            n -= k;
            c->chunk_left -= (uint32_t)k;
            if (!c->chunk_left) c->ch = CH_CRLF;
            break;
        }
        case CH_CRLF:
            if (*p == '\n') c->ch = CH_SIZE, c->chunk_left = 0;
            else if (*p != '\r') return -1;
            p++, n--;
            break;
        case CH_END: return 1;
        }
    }
    return 0;
}

/* Response headers: returns bytes of body start offset, 0 if incomplete, -1 on error (closed). */
static int headers_feed(int i, const char *p, size_t n, int64_t t) {
    conn *c = &C[i];
    size_t room = HDR_CAP - 1 - c->hlen;
    size_t k = n < room ? n : room;
    memcpy(c->hbuf + c->hlen, p, k);
    size_t old = c->hlen;
    c->hlen += (uint16_t)k;
    c->hbuf[c->hlen] = 0;
    char *end = strstr(c->hbuf, "\r\n\r\n");
    if (!end) {
        if (c->hlen >= HDR_CAP - 1) { n_proto_err++; conn_close(i, 1); return -1; }
        return 0;
    }
    size_t hdr_len = (size_t)(end + 4 - c->hbuf);
    int status = 0;
    if (sscanf(c->hbuf, "HTTP/1.%*d %d", &status) != 1) status = 0;
    if (status != 200) {
        if (status > 0 && status < 600) status_cnt[status]++;
        n_bad_status++;
        if (n_bad_status <= 3) fprintf(stderr, "sse_clients: subscriber got: %.*s\n", (int)(strchr(c->hbuf, '\r') - c->hbuf), c->hbuf);
        conn_close(i, 1);
        return -1;
    }
    *end = 0;
    int sse = 0;
    c->chunked = 0;
    for (char *line = strstr(c->hbuf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "content-type:", 13) == 0 && strcasestr(h, "text/event-stream")) sse = 1;
        if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strcasestr(h, "chunked")) c->chunked = 1;
    }
    if (!sse) { n_not_sse++; conn_close(i, 1); return -1; }
    status_cnt[200]++;
    c->st = C_BODY;
    c->ch = c->chunked ? CH_SIZE : CH_IDENTITY;
    size_t body_off = hdr_len - old; /* offset of the body in p */
    if (body_off < n) {
        int r = body_feed(i, p + body_off, n - body_off, t);
        if (r != 0) { if (r < 0) n_proto_err++; conn_close(i, 1); return -1; }
    }
    return 1;
}

static void on_event(uint32_t i, uint32_t events) {
    static char buf[RBUF];
    conn *c = &C[i];
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            if (n_connect_err++ < 3) fprintf(stderr, "sse_clients: connect: %s\n", strerror(err ? err : ECONNRESET));
            conn_close(i, 1);
            return;
        }
        char req[512];
        int n = snprintf(req, sizeof req, "GET /api/events%s%s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
                         o_collections ? "?collections=" : "", o_collections ? o_collections : "", o_host, o_port);
        if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            n_connect_err++;
            conn_close(i, 1);
            return;
        }
        c->hbuf = malloc(HDR_CAP);
        if (!c->hbuf) die("out of memory");
        c->st = C_HEADERS;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    for (int loops = 0; loops < 4 && (c->st == C_HEADERS || c->st == C_BODY); loops++) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        int64_t t = now_ns();
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(i, 1);
            return;
        }
        if (r < 0) return;
        if (phase == PH_HOLD && c->last_rx && t - c->last_rx > c->max_gap) c->max_gap = t - c->last_rx;
        c->last_rx = t;
        if (c->st == C_HEADERS) {
            if (headers_feed((int)i, buf, (size_t)r, t) < 0) return;
        } else {
            int e = body_feed((int)i, buf, (size_t)r, t);
            if (e) { if (e < 0) n_proto_err++; conn_close(i, 1); return; }
        }
        if ((size_t)r < sizeof buf) return;
    }
}

static void poll_once(int timeout_ms) {
    static struct epoll_event evs[1024];
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    for (int k = 0; k < n; k++) on_event(evs[k].data.u32, evs[k].events);
}

static long alive_greeted(void) {
    long a = 0;
    for (int i = 0; i < o_n; i++) a += C[i].greeted && C[i].st == C_BODY;
    return a;
}

/* ---------------------------------------------------------------- writer (blocking socket) */
static int writer_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = server_addr();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
    return fd;
}

static void *writer_main(void *arg) {
    (void)arg;
    int fd = -1;
    static char resp[1 << 16];
    for (int i = 0; i < o_writes && !g_stop; i++) {
        wres *w = &W[i];
        w->status = -1;
        w->fid = -1;
        if (fd < 0 && (fd = writer_connect()) < 0) {
            if (!writer_err[0]) snprintf(writer_err, sizeof writer_err, "write %d: connect: %s", i, strerror(errno));
            atomic_fetch_add(&writes_done, 1);
            continue;
        }
        char body[512], req[2048];
        int bn = snprintf(body, sizeof body,
                          "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.5f,%.5f]},"
                          "\"properties\":{\"kind\":\"water\",\"name\":\"live %s%d\"}}",
                          7.41 + (i % 50) * 0.0004, 43.725 + (i / 50) * 0.002, o_label, i);
        int rn = snprintf(req, sizeof req,
                          "POST /api/collections/services/items HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: application/geo+json\r\nContent-Length: %d\r\n\r\n%s",
                          o_host, o_port, token, bn, body);
        w->t_send = now_ns();
        if (send(fd, req, (size_t)rn, MSG_NOSIGNAL) != rn) {
            if (!writer_err[0]) snprintf(writer_err, sizeof writer_err, "write %d: send: %s", i, strerror(errno));
            close(fd), fd = -1;
            atomic_fetch_add(&writes_done, 1);
            continue;
        }
        size_t got = 0, need = 0;
        int close_after = 0;
        char *hend = NULL;
        for (;;) {
            ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
            if (r <= 0) break;
            got += (size_t)r;
            resp[got] = 0;
            if (!hend && (hend = strstr(resp, "\r\n\r\n"))) {
                size_t hl = (size_t)(hend + 4 - resp);
                char *cl = strcasestr(resp, "\r\nContent-Length:");
                need = hl + (cl && cl < hend ? strtoul(cl + 17, NULL, 10) : 0);
                char *cn = strcasestr(resp, "\r\nConnection: close");
                close_after = cn && cn < hend;
            }
            if (hend && got >= need) break;
            if (got >= sizeof resp - 1) break;
        }
        w->t_ack = now_ns();
        if (!hend || got < need) {
            if (!writer_err[0]) snprintf(writer_err, sizeof writer_err, "write %d: incomplete response (%zu bytes): %s", i, got, strerror(errno));
            close(fd), fd = -1;
            atomic_fetch_add(&writes_done, 1);
            continue;
        }
        sscanf(resp, "HTTP/1.%*d %d", &w->status);
        w->fid = num_after(hend, got - (size_t)(hend - resp), "\"id\":");
        if (w->status != 201 && !writer_err[0])
            snprintf(writer_err, sizeof writer_err, "write %d: status %d: %.300s", i, w->status, hend + 4);
        if (close_after) close(fd), fd = -1;
        atomic_fetch_add(&writes_done, 1);
    }
    if (fd >= 0) close(fd);
    atomic_store(&writer_finished, 1);
    return NULL;
}

/* ---------------------------------------------------------------- statistics */
static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}
static double pct_ms(const int64_t *v, size_t n, double p) { /* nearest-rank percentile, ns -> ms */
    if (!n) return -1;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return (double)v[k - 1] / 1e6;
}

static void usage(void) {
    fprintf(stderr,
            "usage: sse_clients -p PORT [-n SUBSCRIBERS] [-w WRITES] [-T TOKEN_FILE] [--server-pid PID]\n"
            "         [--batch 256] [--settle-ms 1000] [--connect-s 120] [--conn-timeout-s 15] [--drain-s 20]\n"
            "         [--hold S] [--heartbeat-s 15] [--collections services] [--label TEXT]\n"
            "  -n 0: no subscribers, only the write burst (POST round-trips). -w 0: no writes (needs no token).\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("-p")) o_port = atoi(v);
        else if (ARG("-h")) o_host = v;
        else if (ARG("-n")) o_n = atoi(v);
        else if (ARG("-w")) o_writes = atoi(v);
        else if (ARG("-T")) o_token_file = v;
        else if (ARG("--server-pid")) o_server_pid = atoi(v);
        else if (ARG("--batch")) o_batch = atoi(v);
        else if (ARG("--settle-ms")) o_settle_ms = atoi(v);
        else if (ARG("--connect-s")) o_connect_s = atof(v);
        else if (ARG("--conn-timeout-s")) o_conn_timeout_s = atof(v);
        else if (ARG("--drain-s")) o_drain_s = atof(v);
        else if (ARG("--hold")) o_hold_s = atof(v);
        else if (ARG("--heartbeat-s")) o_heartbeat_s = atof(v);
        else if (ARG("--collections")) o_collections = v;
        else if (ARG("--label")) o_label = v;
        else usage();
#undef ARG
    }
    if (o_port <= 0 || o_n < 0 || o_writes < 0 || o_batch <= 0) usage();
    if (strcmp(o_host, "127.0.0.1") != 0) die("refusing a non-loopback host %s", o_host);
    if (o_writes > 0) {
        if (!o_token_file) die("-T TOKEN_FILE is needed for writes");
        FILE *f = fopen(o_token_file, "r");
        if (!f) die("%s: %s", o_token_file, strerror(errno));
        static char tb[512];
        if (!fgets(tb, sizeof tb, f)) die("%s: empty", o_token_file);
        fclose(f);
        tb[strcspn(tb, "\r\n")] = 0;
        token = tb;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < o_n + 64)
        die("RLIMIT_NOFILE is %ld, need at least %d for %d subscribers (ulimit -n)", (long)rl.rlim_cur, o_n + 64, o_n);

    C = calloc((size_t)(o_n ? o_n : 1), sizeof *C);
    rows = o_writes + 16;
    recv_ns = calloc((size_t)rows * (size_t)(o_n ? o_n : 1), sizeof *recv_ns);
    row_fid = calloc((size_t)rows, sizeof *row_fid);
    row_cnt = calloc((size_t)rows, sizeof *row_cnt);
    W = calloc((size_t)(o_writes ? o_writes : 1), sizeof *W);
    if (!C || !recv_ns || !row_fid || !row_cnt || !W) die("out of memory");
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1: %s", strerror(errno));

    /* ------------------------------------------------ 1. ramp-up */
    long rss0 = proc_kb("VmRSS"), fds0 = proc_fds();
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(o_connect_s * 1e9);
    int next = 0;
    while (n_greeted + n_failed < o_n && now_ns() < deadline && !g_stop) {
        while (next < o_n && n_opened - n_greeted - n_failed < o_batch) conn_open(next++);
        poll_once(20);
        int64_t now = now_ns(), lim = (int64_t)(o_conn_timeout_s * 1e9);
        static int64_t last_scan;
        if (now - last_scan > 200000000) { /* per-connection timeout: no greeting within conn-timeout-s */
            last_scan = now;
            for (int i = 0; i < next; i++)
                if (!C[i].greeted && (C[i].st == C_CONNECTING || C[i].st == C_HEADERS || C[i].st == C_BODY) && now - C[i].t_open > lim) {
                    n_timeout++;
                    conn_close(i, 1);
                }
        }
    }
    for (int i = 0; i < o_n; i++) /* the global deadline passed: the rest count as timeouts */
        if (!C[i].greeted && C[i].st != C_CLOSED) {
            if (C[i].st != C_FREE) n_timeout++, conn_close(i, 1);
            else n_failed++, n_timeout++, C[i].st = C_CLOSED;
        }
    double ramp_s = (double)(now_ns() - t0) / 1e9;
    if (g_stop) die("interrupted during the ramp-up");
    printf("subscribers: %d requested, %ld connected (HTTP 200 + greeting) in %.2f s, %ld failed "
           "(connect errors %ld, non-200 %ld, not SSE %ld, protocol errors %ld, timeouts %ld)\n",
           o_n, n_greeted, ramp_s, n_failed, n_connect_err, n_bad_status, n_not_sse, n_proto_err, n_timeout);
    for (int s = 100; s < 600; s++)
        if (s != 200 && status_cnt[s]) printf("  HTTP %d: %ld subscribers\n", s, status_cnt[s]);
    if (greet_mismatch) printf("  NOTE: %ld greetings named another last event than the first (%" PRId64 "): events during the ramp-up\n",
                               greet_mismatch, base_seq);
    fflush(stdout);

    /* ------------------------------------------------ 2. idle, memory */
    phase = PH_IDLE;
    int64_t t_idle_end = now_ns() + (int64_t)o_settle_ms * 1000000;
    while (now_ns() < t_idle_end && !g_stop) poll_once(50);
    long rss1 = proc_kb("VmRSS"), fds1 = proc_fds();
    if (base_seq < 0) base_seq = max_greet_seq; /* no subscriber: rows unused */
    if (o_n && n_greeted)
        printf("server VmRSS: %ld KiB before, %ld KiB with %ld subscribers connected and idle: %.2f KiB per subscriber; server fds %ld -> %ld\n",
               rss0, rss1, n_greeted, (double)(rss1 - rss0) / (double)n_greeted, fds0, fds1);
    fflush(stdout);

    /* ------------------------------------------------ 3. write burst, deliveries */
    phase = PH_BURST;
    long alive_before = alive_greeted();
    double srv_cpu0 = proc_cpu_s(), cli_cpu0 = self_cpu_s();
    unsigned long long hb0, ht0, hb1, ht1;
    host_ticks(&hb0, &ht0);
    int64_t tb0 = now_ns();
    pthread_t wt;
    if (o_writes > 0 && pthread_create(&wt, NULL, writer_main, NULL) != 0) die("pthread_create failed");
    if (o_writes == 0) atomic_store(&writer_finished, 1);
    int64_t drain_deadline = 0;
    for (;;) {
        poll_once(20);
        if (g_stop) break;
        if (atomic_load(&writer_finished)) {
            if (!drain_deadline) drain_deadline = now_ns() + (int64_t)(o_drain_s * 1e9);
            long ok = 0;
            for (int k = 0; k < o_writes; k++) ok += W[k].status == 201;
            if (delivered >= ok * alive_greeted() || now_ns() > drain_deadline) break;
        }
    }
    int64_t tb1 = now_ns();
    if (o_writes > 0) pthread_join(wt, NULL);
    double srv_cpu = proc_cpu_s() - srv_cpu0, cli_cpu = self_cpu_s() - cli_cpu0;
    host_ticks(&hb1, &ht1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double host_busy = ht1 > ht0 ? (double)(hb1 - hb0) / (double)(ht1 - ht0) * (double)ncpu : -1;
    double srv_cores = tb1 > tb0 ? srv_cpu / ((double)(tb1 - tb0) / 1e9) : 0, cli_cores = tb1 > tb0 ? cli_cpu / ((double)(tb1 - tb0) / 1e9) : 0;
    long rss2 = proc_kb("VmRSS");
    long alive_after = alive_greeted();

    /* match events to writes by feature id */
    int n_ok = 0;
    int64_t *rt = malloc(sizeof(int64_t) * (size_t)(o_writes ? o_writes : 1));
    int64_t *lat = malloc(sizeof(int64_t) * ((size_t)o_writes * (size_t)(o_n ? o_n : 1) + 1));
    int64_t *lat_s = malloc(sizeof(int64_t) * ((size_t)o_writes * (size_t)(o_n ? o_n : 1) + 1));
    int64_t *last_lat = malloc(sizeof(int64_t) * (size_t)(o_writes ? o_writes : 1));
    if (!rt || !lat || !lat_s || !last_lat) die("out of memory");
    size_t nl = 0, n_last = 0;
    long missing = 0, early = 0, unmatched_writes = 0;
    int64_t first_ack = 0, last_ack = 0;
    for (int k = 0; k < o_writes; k++) {
        wres *w = &W[k];
        if (w->status != 201) continue;
        rt[n_ok++] = w->t_ack - w->t_send;
        if (!first_ack) first_ack = w->t_ack;
        last_ack = w->t_ack;
        int row = -1;
        for (int r = 0; r < rows; r++)
            if (row_cnt[r] && row_fid[r] == w->fid) { row = r; break; }
        if (row < 0) {
            unmatched_writes += o_n ? 1 : 0;
            missing += n_greeted;
            continue;
        }
        int64_t mx = INT64_MIN;
        for (int i = 0; i < o_n; i++) {
            if (!C[i].greeted) continue;
            int64_t t = recv_ns[(int64_t)row * o_n + i];
            if (!t) { missing++; continue; }
            int64_t d = t - w->t_ack;
            if (d < 0) early++;
            lat_s[nl] = t - w->t_send;
            lat[nl++] = d;
            if (d > mx) mx = d;
        }
        if (mx != INT64_MIN) last_lat[n_last++] = mx;
    }
    qsort(rt, (size_t)n_ok, sizeof *rt, cmp64);
    qsort(lat, nl, sizeof *lat, cmp64);
    qsort(lat_s, nl, sizeof *lat_s, cmp64);
    qsort(last_lat, n_last, sizeof *last_lat, cmp64);
    long expected = (long)n_ok * n_greeted;
    double burst_s = first_ack && last_ack ? (double)(last_ack - W[0].t_send) / 1e9 : 0;

    printf("writes: %d sent, %d answered 201 in %.2f s (%.0f/s); POST round-trip ms p50 %.2f p99 %.2f max %.2f%s%s\n",
           o_writes, n_ok, burst_s, burst_s > 0 ? n_ok / burst_s : 0, pct_ms(rt, (size_t)n_ok, 50), pct_ms(rt, (size_t)n_ok, 99),
           pct_ms(rt, (size_t)n_ok, 100), writer_err[0] ? "\n  writer error: " : "", writer_err);
    if (o_n) {
        printf("deliveries: %ld expected (%d writes x %ld subscribers), %zu received, %ld missing; duplicates %ld, "
               "out of order %ld, resets %ld, unexpected events %ld, id/seq mismatches %ld, fid mismatches %ld, "
               "writes with no event at all %ld\n",
               expected, n_ok, n_greeted, nl, missing, dups, out_of_order, resets, unexpected, id_mismatch, fid_mismatch, unmatched_writes);
        printf("subscribers closed by the server: ramp %ld, idle %ld, burst %ld (alive %ld before the burst, %ld after)\n",
               closed_in[PH_RAMP], closed_in[PH_IDLE], closed_in[PH_BURST], alive_before, alive_after);
        printf("latency receive - ack (ms), %zu deliveries: min %.2f p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f; "
               "received before the ack: %ld\n",
               nl, nl ? (double)lat[0] / 1e6 : -1, pct_ms(lat, nl, 50), pct_ms(lat, nl, 90), pct_ms(lat, nl, 99), pct_ms(lat, nl, 99.9),
               pct_ms(lat, nl, 100), early);
        printf("latency receive - POST sent (ms, includes the commit): p50 %.2f p99 %.2f max %.2f\n", pct_ms(lat_s, nl, 50),
               pct_ms(lat_s, nl, 99), pct_ms(lat_s, nl, 100));
        printf("per write, last subscriber served after the ack (ms): p50 %.2f p99 %.2f max %.2f\n", pct_ms(last_lat, n_last, 50),
               pct_ms(last_lat, n_last, 99), pct_ms(last_lat, n_last, 100));
        printf("server VmRSS after the burst: %ld KiB (%+.2f KiB per subscriber vs before connecting)\n", rss2,
               n_greeted ? (double)(rss2 - rss0) / (double)n_greeted : 0.0);
    }
    printf("burst window %.2f s: server CPU %.2f s, this client CPU %.2f s; whole host busy %.2f of %ld cores "
           "(other = %.2f cores: anything else running on the box)\n",
           (double)(tb1 - tb0) / 1e9, srv_cpu, cli_cpu, host_busy, ncpu, host_busy - srv_cores - cli_cores);
    printf("LIVEJSON {\"subscribers\":%d,\"connected\":%ld,\"failed\":%ld,\"connect_errors\":%ld,\"non200\":%ld,\"timeouts\":%ld,"
           "\"status_503\":%ld,\"ramp_s\":%.3f,\"rss_before_kb\":%ld,\"rss_connected_kb\":%ld,\"rss_after_burst_kb\":%ld,"
           "\"fds_before\":%ld,\"fds_connected\":%ld,"
           "\"writes\":%d,\"writes_ok\":%d,\"burst_s\":%.3f,\"post_p50_ms\":%.3f,\"post_p99_ms\":%.3f,\"post_max_ms\":%.3f,"
           "\"expected\":%ld,\"received\":%zu,\"missing\":%ld,\"duplicates\":%ld,\"out_of_order\":%ld,\"resets\":%ld,\"unexpected\":%ld,"
           "\"early\":%ld,\"lat_min_ms\":%.3f,\"lat_p50_ms\":%.3f,\"lat_p90_ms\":%.3f,\"lat_p99_ms\":%.3f,\"lat_p999_ms\":%.3f,\"lat_max_ms\":%.3f,"
           "\"send_p50_ms\":%.3f,\"send_p99_ms\":%.3f,\"send_max_ms\":%.3f,\"last_sub_p50_ms\":%.3f,\"last_sub_max_ms\":%.3f,\"closed_ramp\":%ld,\"closed_idle\":%ld,\"closed_burst\":%ld,"
           "\"srv_cpu_burst_s\":%.2f,\"client_cpu_burst_s\":%.2f,\"burst_window_s\":%.3f,\"host_busy_cores\":%.2f,\"writer_error\":\"%s\"}\n",
           o_n, n_greeted, n_failed, n_connect_err, n_bad_status, n_timeout, status_cnt[503], ramp_s, rss0, rss1, rss2, fds0, fds1,
           o_writes, n_ok, burst_s, pct_ms(rt, (size_t)n_ok, 50), pct_ms(rt, (size_t)n_ok, 99), pct_ms(rt, (size_t)n_ok, 100),
           expected, nl, missing, dups, out_of_order, resets, unexpected, early, nl ? (double)lat[0] / 1e6 : -1, pct_ms(lat, nl, 50),
           pct_ms(lat, nl, 90), pct_ms(lat, nl, 99), pct_ms(lat, nl, 99.9), pct_ms(lat, nl, 100), pct_ms(lat_s, nl, 50), pct_ms(lat_s, nl, 99), pct_ms(lat_s, nl, 100), pct_ms(last_lat, n_last, 50),
           pct_ms(last_lat, n_last, 100), closed_in[PH_RAMP], closed_in[PH_IDLE], closed_in[PH_BURST], srv_cpu, cli_cpu, (double)(tb1 - tb0) / 1e9, host_busy,
           writer_err[0] ? "see log" : "");
    fflush(stdout);

    /* ------------------------------------------------ 4. hold the subscribers (reads are measured meanwhile) */
    if (o_hold_s > 0 && !g_stop) {
        phase = PH_HOLD;
        long unexpected0 = unexpected, resets0 = resets, other0 = frames_other;
        printf("HOLDING %ld subscribers (until SIGTERM or %.0f s)\n", alive_greeted(), o_hold_s);
        fflush(stdout);
        int64_t th0 = now_ns(), hold_end = th0 + (int64_t)(o_hold_s * 1e9);
        while (!g_stop && now_ns() < hold_end) poll_once(200);
        /* silences: the longest time a subscriber received no byte at all (heartbeats included) */
        int64_t th1 = now_ns(), gmax = 0, lim = (int64_t)((o_heartbeat_s + 1) * 1e9);
        long over = 0, alive = 0;
        for (int i = 0; i < o_n; i++) {
            conn *c = &C[i];
            if (!c->greeted || c->st != C_BODY) continue;
            alive++;
            int64_t g = c->max_gap > th1 - c->last_rx ? c->max_gap : th1 - c->last_rx;
            if (g > gmax) gmax = g;
            if (g > lim) over++;
        }
        printf("silence during the hold (%.1f s): longest %.1f s without a byte; %ld of %ld subscribers went more than "
               "heartbeat_s + 1 = %.0f s without one\n", (double)(th1 - th0) / 1e9, (double)gmax / 1e9, over, alive, o_heartbeat_s + 1);
        printf("HOLDJSON {\"max_silence_s\":%.2f,\"silent_over_hb\":%ld,\"hold_s\":%.1f,\"alive_end\":%ld,\"closed_hold\":%ld,\"heartbeats\":%ld,\"events\":%ld,\"resets\":%ld,\"other_frames\":%ld,"
               "\"rss_end_kb\":%ld,\"fds_end\":%ld}\n",
               (double)gmax / 1e9, over, (double)(now_ns() - th0) / 1e9, alive_greeted(), closed_in[PH_HOLD], heartbeats_in[PH_HOLD], unexpected - unexpected0,
               resets - resets0, frames_other - other0, proc_kb("VmRSS"), proc_fds());
        fflush(stdout);
    }
    /* exit closes every socket */
    return (n_ok == o_writes && missing == 0 && n_greeted == o_n) ? 0 : 1;
}
