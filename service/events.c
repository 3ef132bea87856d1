/* events.c — the change log, Server-Sent Events streams and their heartbeat.
 * See events.h for the design. */
#define _GNU_SOURCE /* pthread_setname_np, POLLRDHUP */
#include "../layers/clock.h"
#include "../layers/change_json.h"
#include "events.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "response.h"

#define STREAM_BLOCK 1024
#define MAX_FILTER 16
#define RELEASE_SCAN_MS 200

typedef struct event {
    int64_t seq;
    const char *collection; /* the layer definition's id: lives as long as the server */
    char *payload;          /* the change object (JSON, one line) */
    size_t len;
} event;

typedef struct subscriber subscriber;
struct subscriber {
    cm_events *hub;
    struct MHD_Connection *conn;
    int64_t next_seq;
    const char *filter[MAX_FILTER];
    int n_filter;
    bool greeted;
    bool reset;        /* send a reset event next */
    bool suspended;    /* guarded by hub->lock */
    bool hung_up;      /* found closed by its client while parked, and no longer counted; hub->lock */
    int64_t last_write_ms;
    char *pending;     /* rest of a frame larger than one block */
    size_t pending_len, pending_off;
    subscriber *prev, *next; /* the suspended list, guarded by hub->lock */
};

struct cm_events {
    cm_events_config cfg;
    pthread_mutex_t lock;
    event *ring;
    size_t count, head; /* head: where the next event goes */
    int64_t last_seq;
    subscriber *idle;
    atomic_int streams;
    int64_t last_release_scan_ms; /* release_hung_up_locked */
    bool stopping;
    pthread_t heartbeat;
    pthread_cond_t tick;
};

/* Takes a parked (suspended) subscriber off the list; the caller resumes or frees it.
 * Caller holds ev->lock. */
static void unpark_locked(cm_events *ev, subscriber *s) {
    if (s->prev) s->prev->next = s->next;
    else ev->idle = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->suspended = false;
}

/* Resumes every suspended subscriber. Caller holds hub->lock. */
static void wake_all(cm_events *ev) {
    while (ev->idle) {
        subscriber *s = ev->idle;
        unpark_locked(ev, s);
        MHD_resume_connection(s->conn);
    }
}

void cm_events_publish(void *cls, const cm_change *changes, size_t n) {
    cm_events *ev = cls;
    pthread_mutex_lock(&ev->lock);
    for (size_t i = 0; i < n; i++) {
        const cm_change *c = &changes[i];
        size_t len;
        cm_buf b;
        cm_buf_init(&b, (size_t)1 << 30);
        cm_change_json_append(&b, c->seq, c->layer->id, c->action, c->id, c->version, c->json, c->json_len);
        char *payload = cm_buf_steal(&b, &len);
        if (!payload) continue;
        event *slot = &ev->ring[ev->head];
        if (ev->count == ev->cfg.log_length) free(slot->payload); /* the oldest rolls off */
        else ev->count++;
        *slot = (event){c->seq, c->layer->id, payload, len};
        ev->head = (ev->head + 1) % ev->cfg.log_length;
        ev->last_seq = c->seq;
    }
    wake_all(ev);
    pthread_mutex_unlock(&ev->lock);
}

/* A parked stream whose client has gone is otherwise found only when something is next
 * written to it (a heartbeat away), and until then it holds a place under max_streams: after
 * a reload, a reconnecting network or a closed tab, that can refuse residents' live maps.
 * So at the cap, the parked streams' sockets are asked, in one poll, whether their clients
 * hung up (a stream's client sends nothing after its request, so end of input means it
 * left). Those that did stop counting at once and are resumed, to be ended and closed. At
 * most every RELEASE_SCAN_MS: refused requests at a cap of real streams must not each pay
 * for a scan of all of them. Caller holds ev->lock. Returns how many were released. */
static int release_hung_up_locked(cm_events *ev) {
    int64_t now = cm_clock_monotonic_ms();
    if (now - ev->last_release_scan_ms < RELEASE_SCAN_MS) return 0;
    ev->last_release_scan_ms = now;
    size_t n = 0;
    for (const subscriber *s = ev->idle; s; s = s->next) n++;
    struct pollfd *fds = n ? calloc(n, sizeof *fds) : NULL;
    subscriber **parked = n ? calloc(n, sizeof *parked) : NULL;
    int released = 0;
    if (fds && parked) {
        size_t k = 0;
        for (subscriber *s = ev->idle; s; s = s->next) {
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
            fds[k] = (struct pollfd){ci ? ci->connect_fd : -1, POLLRDHUP, 0}; /* poll skips fd -1 */
            parked[k++] = s;
        }
        if (poll(fds, (nfds_t)n, 0) > 0) {
            for (size_t i = 0; i < n; i++) {
                if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) continue;
                subscriber *s = parked[i];
                unpark_locked(ev, s);
                s->hung_up = true;
                atomic_fetch_sub(&ev->streams, 1);
                MHD_resume_connection(s->conn);
                released++;
            }
        }
    }
    free(fds);
    free(parked);
    return released;
}

static int64_t oldest_locked(const cm_events *ev) {
    return ev->count ? ev->ring[(ev->head + ev->cfg.log_length - ev->count) % ev->cfg.log_length].seq : ev->last_seq + 1;
}

int64_t cm_events_last_seq(cm_events *ev) {
    pthread_mutex_lock(&ev->lock);
    int64_t v = ev->last_seq;
    pthread_mutex_unlock(&ev->lock);
    return v;
}

int64_t cm_events_oldest_seq(cm_events *ev) {
    pthread_mutex_lock(&ev->lock);
    int64_t v = oldest_locked(ev);
    pthread_mutex_unlock(&ev->lock);
    return v;
}

/* Position in the ring of the first event with seq >= want, or count when none. Sequence
 * numbers in the ring increase, so a binary search finds it. */
static size_t index_from(const cm_events *ev, int64_t want) {
    size_t lo = 0, hi = ev->count, base = (ev->head + ev->cfg.log_length - ev->count) % ev->cfg.log_length;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev->ring[(base + mid) % ev->cfg.log_length].seq < want) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static const event *at(const cm_events *ev, size_t i) {
    return &ev->ring[((ev->head + ev->cfg.log_length - ev->count) % ev->cfg.log_length + i) % ev->cfg.log_length];
}

bool cm_events_changes_since(cm_events *ev, const char *collection, int64_t since, int limit, cm_buf *out, int *count,
                             int64_t *last) {
    pthread_mutex_lock(&ev->lock);
    *count = 0;
    *last = since;
    /* The log holds every change after `since` only if its oldest event is since + 1 or
     * earlier, or nothing happened after since at all. */
    bool covered = since >= ev->last_seq || oldest_locked(ev) <= since + 1;
    if (covered) {
        for (size_t i = index_from(ev, since + 1); i < ev->count && *count < limit; i++) {
            const event *e = at(ev, i);
            *last = e->seq;
            if (strcmp(e->collection, collection) != 0) continue;
            if (*count) cm_buf_append_char(out, ',');
            cm_buf_append(out, e->payload, e->len);
            (*count)++;
        }
    }
    pthread_mutex_unlock(&ev->lock);
    return covered;
}

static bool wanted(const subscriber *s, const char *collection) {
    if (!s->n_filter) return true;
    for (int i = 0; i < s->n_filter; i++)
        if (strcmp(s->filter[i], collection) == 0) return true;
    return false;
}

/* Copies a frame into buf if it fits, else keeps the rest in s->pending. */
static size_t put_frame(subscriber *s, char *buf, size_t max, size_t used, const event *e) {
    /* Per subscriber and event, so without printf (slow in this process, buf.h). */
    char head[64];
    size_t head_len = 0;
    cm_text_append(head, sizeof head, &head_len, "id: ");
    cm_text_append_int(head, sizeof head, &head_len, e->seq);
    cm_text_append(head, sizeof head, &head_len, "\nevent: change\ndata: ");
    int hn = (int)head_len;
    size_t frame = (size_t)hn + e->len + 2;
    if (used + frame <= max) {
        memcpy(buf + used, head, (size_t)hn);
        memcpy(buf + used + hn, e->payload, e->len);
        memcpy(buf + used + hn + e->len, "\n\n", 2);
        return frame;
    }
    if (used > 0) return 0; /* send what we have; this frame goes next time */
    s->pending = malloc(frame);
    if (!s->pending) return 0;
    memcpy(s->pending, head, (size_t)hn);
    memcpy(s->pending + hn, e->payload, e->len);
    memcpy(s->pending + hn + e->len, "\n\n", 2);
    s->pending_len = frame;
    s->pending_off = max;
    memcpy(buf, s->pending, max);
    return max;
}

/* A phone that drops off the network sends no FIN: its stream's heartbeats pile up unacknowledged,
 * and by default TCP keeps retrying for about 15 minutes before it gives up, the stream holding
 * its place under max_streams all the while. Unacknowledged data older than two heartbeats
 * (and at least 30 s) now fails the socket, so the next heartbeat finds the stream gone. */
static void limit_unacknowledged_time(struct MHD_Connection *conn, int heartbeat_ms) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    unsigned int ms = heartbeat_ms > 15000 ? 2u * (unsigned)heartbeat_ms : 30000u;
    if (ci && ci->connect_fd >= 0) (void)setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    subscriber *s = cls;
    cm_events *ev = s->hub;
    if (s->pending) {
        size_t n = s->pending_len - s->pending_off < max ? s->pending_len - s->pending_off : max;
        memcpy(buf, s->pending + s->pending_off, n);
        s->pending_off += n;
        if (s->pending_off == s->pending_len) {
            free(s->pending);
            s->pending = NULL;
        }
        s->last_write_ms = cm_clock_monotonic_ms();
        return (ssize_t)n;
    }
    pthread_mutex_lock(&ev->lock);
    if (s->hung_up) {
        pthread_mutex_unlock(&ev->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR; /* close at once: nobody reads the end */
    }
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t used = 0;
    if (!s->greeted) {
        used = (size_t)snprintf(buf, max, "retry: 3000\n: connected, last event %" PRId64 "\n\n", ev->last_seq);
        s->greeted = true;
    }
    int64_t oldest = oldest_locked(ev);
    if (s->reset || s->next_seq < oldest) {
        /* Events this subscriber had not read are gone from the log: it must reload. */
        int n = snprintf(buf + used, max - used,
                         "id: %" PRId64 "\nevent: reset\ndata: {\"reason\":\"the client fell behind the event log; reload the "
                         "layers\",\"last_seq\":%" PRId64 "}\n\n",
                         ev->last_seq, ev->last_seq);
        used += (size_t)n;
        s->reset = false;
        s->next_seq = ev->last_seq + 1;
    }
    for (size_t i = index_from(ev, s->next_seq); i < ev->count; i++) {
        const event *e = at(ev, i);
        if (!wanted(s, e->collection)) {
            s->next_seq = e->seq + 1;
            continue;
        }
        size_t n = put_frame(s, buf, max, used, e);
        if (n == 0) break;
        used += n;
        s->next_seq = e->seq + 1;
        if (s->pending) break;
    }
    int64_t now = cm_clock_monotonic_ms();
    /* Woken by a tick (or anything else) after half a heartbeat of silence: say something,
     * so a stream is never silent much longer than heartbeat_s (proxies' idle timeouts). */
    if (used == 0 && now - s->last_write_ms >= ev->cfg.heartbeat_ms / 2) {
        used = (size_t)snprintf(buf, max, ": heartbeat\n\n");
    }
    if (used == 0) {
        /* Nothing to say: park until a publish or the heartbeat wakes us. */
        s->suspended = true;
        s->prev = NULL;
        s->next = ev->idle;
        if (ev->idle) ev->idle->prev = s;
        ev->idle = s;
        MHD_suspend_connection(s->conn);
        pthread_mutex_unlock(&ev->lock);
        return 0;
    }
    pthread_mutex_unlock(&ev->lock);
    s->last_write_ms = now;
    return (ssize_t)used;
}

static void free_stream(void *cls) {
    subscriber *s = cls;
    cm_events *ev = s->hub;
    pthread_mutex_lock(&ev->lock);
    if (s->suspended) unpark_locked(ev, s);
    bool counted = !s->hung_up;
    pthread_mutex_unlock(&ev->lock);
    if (counted) atomic_fetch_sub(&ev->streams, 1);
    free(s->pending);
    free(s);
}

static void *heartbeat_main(void *arg) {
    cm_events *ev = arg;
    pthread_setname_np(pthread_self(), "cm-heartbeat");
    pthread_mutex_lock(&ev->lock);
    while (!ev->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (int64_t)ev->cfg.heartbeat_ms * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&ev->tick, &ev->lock, &ts);
        wake_all(ev); /* idle streams write a heartbeat comment; dead ones are found and closed */
    }
    pthread_mutex_unlock(&ev->lock);
    return NULL;
}

cm_status cm_events_create(const cm_events_config *cfg, cm_events **out, cm_error *err) {
    *out = NULL;
    cm_events *ev = calloc(1, sizeof *ev);
    if (!ev || !(ev->ring = calloc(cfg->log_length ? cfg->log_length : 1, sizeof *ev->ring))) {
        free(ev);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    ev->cfg = *cfg;
    if (ev->cfg.log_length == 0) ev->cfg.log_length = 1;
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->tick, NULL);
    atomic_init(&ev->streams, 0);
    if (pthread_create(&ev->heartbeat, NULL, heartbeat_main, ev) != 0) {
        free(ev->ring);
        free(ev);
        return cm_error_set(err, CM_ERR_INTERNAL, NULL, "cannot start the heartbeat thread");
    }
    *out = ev;
    return CM_OK;
}

void cm_events_shutdown(cm_events *ev) {
    if (!ev) return;
    pthread_mutex_lock(&ev->lock);
    bool join = !ev->stopping;
    ev->stopping = true;
    wake_all(ev);
    pthread_cond_signal(&ev->tick);
    pthread_mutex_unlock(&ev->lock);
    if (join) pthread_join(ev->heartbeat, NULL);
}

void cm_events_destroy(cm_events *ev) {
    if (!ev) return;
    cm_events_shutdown(ev);
    for (size_t i = 0; i < ev->count; i++) free((void *)at(ev, i)->payload);
    free(ev->ring);
    pthread_mutex_destroy(&ev->lock);
    pthread_cond_destroy(&ev->tick);
    free(ev);
}

void handle_events_get(cm_request *req, cm_response *resp) {
    cm_events *ev = req->srv->events;
    subscriber *s = calloc(1, sizeof *s);
    if (!s) {
        cm_response_error(resp, CM_ERR_NOMEM, NULL, NULL);
        return;
    }
    for (size_t i = 0; i < req->n_args; i++) {
        const char *k = req->args[i].key, *v = req->args[i].value;
        if (strcmp(k, "collections") == 0) {
            for (const char *p = v; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                char id[64];
                snprintf(id, sizeof id, "%.*s", (int)(len < 63 ? len : 63), p);
                cm_layer *l = cm_store_find(req->srv->store, id);
                if (!l || s->n_filter == MAX_FILTER) {
                    free(s);
                    cm_response_error(resp, CM_ERR_BAD_PARAMETER, "collections", "no collection \"%.60s\"", id);
                    return;
                }
                s->filter[s->n_filter++] = l->def->id;
                p = comma ? comma + 1 : p + len;
            }
        } else if (strcmp(k, "f") != 0) {
            free(s);
            cm_response_error(resp, CM_ERR_UNKNOWN_PARAMETER, k, "events take collections=a,b (and Last-Event-ID)");
            return;
        }
    }
    const char *last_id = cm_request_header(req, "Last-Event-ID");
    long resume = -1;
    if (last_id && *last_id && !cm_query_parse_long(last_id, 0, 1L << 62, &resume)) {
        free(s);
        cm_response_error(resp, CM_ERR_BAD_PARAMETER, "Last-Event-ID", "Last-Event-ID must be an event id (a number)");
        return;
    }
    bool admitted = atomic_fetch_add(&ev->streams, 1) < ev->cfg.max_streams;
    if (!admitted) {
        atomic_fetch_sub(&ev->streams, 1);
        pthread_mutex_lock(&ev->lock);
        int released = release_hung_up_locked(ev);
        pthread_mutex_unlock(&ev->lock);
        if (released)
            fprintf(stderr, "crisismap: %d event streams closed by their clients released at the cap\n", released);
        admitted = released && atomic_fetch_add(&ev->streams, 1) < ev->cfg.max_streams;
        if (released && !admitted) atomic_fetch_sub(&ev->streams, 1);
    }
    if (!admitted) {
        free(s);
        fprintf(stderr, "crisismap: event stream refused: %d streams open (max_streams)\n", ev->cfg.max_streams);
        cm_response_error(resp, CM_ERR_UNAVAILABLE, NULL, "too many live streams; retry shortly, or poll /changes");
        resp->retry_after_s = 5;
        return;
    }
    s->hub = ev;
    s->conn = req->conn;
    s->last_write_ms = cm_clock_monotonic_ms();
    limit_unacknowledged_time(s->conn, ev->cfg.heartbeat_ms);
    pthread_mutex_lock(&ev->lock);
    if (resume >= 0) {
        s->next_seq = resume + 1;
        if (resume > ev->last_seq) s->reset = true; /* an id from another store or history */
    } else {
        s->next_seq = ev->last_seq + 1;
    }
    pthread_mutex_unlock(&ev->lock);
    struct MHD_Response *mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, s, free_stream);
    if (!mr) {
        free_stream(s);
        cm_response_error(resp, CM_ERR_NOMEM, NULL, NULL);
        return;
    }
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(mr, "X-Accel-Buffering", "no");
    resp->prepared = mr;
}
