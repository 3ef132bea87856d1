/* events.h — live change events: a bounded in-memory log of committed changes, streamed to
 * subscribers as Server-Sent Events (GET /api/events) and read by polling clients
 * (GET /api/collections/{id}/changes).
 *
 * DESIGN: subscribers do not own a thread or a queue. Each one is a position in the shared
 * log; libmicrohttpd pulls its bytes through a content-reader callback, and a subscriber
 * with nothing to send is a *suspended* connection, resumed when the writer publishes or
 * the heartbeat ticks. A subscriber that stops reading only falls behind in the log; if
 * the log rolls past it, it receives a `reset` event telling it to reload. The writer never
 * waits for a subscriber.
 *
 * THREAD SAFETY: cm_events_publish runs on the persistence worker; readers run on server
 * threads; the heartbeat on its own thread. One mutex guards the log and the list of
 * suspended subscribers; it is held across MHD_suspend_connection so a publish cannot slip
 * between "nothing to send" and "suspended". */
#ifndef CM_EVENTS_H
#define CM_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../layers/buf.h"
#include "../layers/writer.h"

typedef struct cm_events cm_events;

typedef struct cm_events_config {
    size_t log_length; /* events kept for Last-Event-ID resumption */
    int max_streams;   /* concurrent /api/events streams; more get 503 (after hung-up ones are released) */
    int heartbeat_ms;
} cm_events_config;

cm_status cm_events_create(const cm_events_config *cfg, cm_events **out, cm_error *err);
/* Ends every stream and frees. Call after the server has stopped. Accepts NULL. */
void cm_events_destroy(cm_events *ev);
/* Ends the streams (they finish their current write and close). */
void cm_events_shutdown(cm_events *ev);

/* A cm_change_listener: appends committed changes to the log and wakes subscribers. */
void cm_events_publish(void *ev, const cm_change *changes, size_t n);

/* Sequence number of the newest event (0 when none) and of the oldest one kept. */
int64_t cm_events_last_seq(cm_events *ev);
int64_t cm_events_oldest_seq(cm_events *ev);

struct cm_request;
struct cm_response;
/* GET /api/events. */
void handle_events_get(struct cm_request *req, struct cm_response *resp);
/* Appends to out, comma-separated, the change objects of `collection` with seq > since, up
 * to limit (*count of them), if the log still holds every change after since; false when
 * the log has rolled past since (the caller reads the audit log instead). *last is the
 * seq of the last change looked at (since, when none). */
bool cm_events_changes_since(cm_events *ev, const char *collection, int64_t since, int limit, cm_buf *out, int *count,
                             int64_t *last);

#endif
