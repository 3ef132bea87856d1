/* index_builder.c — see index_builder.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "index_builder.h"

#include <pthread.h>
#include <stdlib.h>

#include "sched_hint.h"

/* One layer's build: asked for (snap set), running (snap set, running), or done (ready set,
 * snap NULL). Slots are never removed, so a slot's position stays valid across unlocks. */
typedef struct {
    const cm_layer *layer;
    cm_snapshot *snap;
    bool running;
    cm_index_base *ready;
} build_slot;

struct cm_index_builder {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    build_slot *slots;
    size_t n_slots, cap_slots;
};

/* The slot asked for and not yet running, or -1. Under the lock. */
static ssize_t next_job(const cm_index_builder *b) {
    for (size_t i = 0; i < b->n_slots; i++)
        if (b->slots[i].snap && !b->slots[i].running) return (ssize_t)i;
    return -1;
}

static void *builder_main(void *arg) {
    cm_index_builder *b = arg;
    pthread_setname_np(pthread_self(), "cm-index"); /* for top -H, perf and gdb */
    cm_sched_prefer_throughput(5);                   /* as the persistence worker: readers first */
    pthread_mutex_lock(&b->lock);
    for (;;) {
        ssize_t job = next_job(b);
        if (b->stopping) break;
        if (job < 0) {
            pthread_cond_wait(&b->wake, &b->lock);
            continue;
        }
        cm_snapshot *snap = b->slots[job].snap;
        b->slots[job].running = true;
        pthread_mutex_unlock(&b->lock);
        cm_index_base *built = cm_index_base_build(snap); /* NULL when out of memory: asked again later */
        cm_snapshot_unref(snap);
        pthread_mutex_lock(&b->lock);
        b->slots[job].snap = NULL;
        b->slots[job].running = false;
        b->slots[job].ready = built;
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

cm_index_builder *cm_index_builder_start(void) {
    cm_index_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    if (pthread_create(&b->thread, NULL, builder_main, b) != 0) {
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->wake);
        free(b);
        return NULL;
    }
    return b;
}

/* layer's slot, made when missing; NULL when out of memory. Under the lock. */
static build_slot *slot_of(cm_index_builder *b, const cm_layer *layer) {
    for (size_t i = 0; i < b->n_slots; i++)
        if (b->slots[i].layer == layer) return &b->slots[i];
    if (b->n_slots == b->cap_slots) {
        size_t cap = b->cap_slots ? 2 * b->cap_slots : 8;
        build_slot *v = realloc(b->slots, cap * sizeof *v);
        if (!v) return NULL;
        b->slots = v;
        b->cap_slots = cap;
    }
    b->slots[b->n_slots] = (build_slot){.layer = layer};
    return &b->slots[b->n_slots++];
}

bool cm_index_builder_request(cm_index_builder *b, const cm_layer *layer, cm_snapshot *s) {
    pthread_mutex_lock(&b->lock);
    build_slot *slot = b->stopping ? NULL : slot_of(b, layer);
    bool asked = slot && !slot->snap && !slot->ready;
    if (asked) {
        slot->snap = cm_snapshot_ref(s);
        pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->lock);
    return asked;
}

cm_index_base *cm_index_builder_take(cm_index_builder *b, const cm_layer *layer) {
    cm_index_base *ready = NULL;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n_slots; i++) {
        if (b->slots[i].layer != layer) continue;
        ready = b->slots[i].ready;
        b->slots[i].ready = NULL;
        break;
    }
    pthread_mutex_unlock(&b->lock);
    return ready;
}

void cm_index_builder_stop(cm_index_builder *b) {
    if (!b) return;
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    for (size_t i = 0; i < b->n_slots; i++) {
        cm_snapshot_unref(b->slots[i].snap);
        cm_index_base_release(b->slots[i].ready);
    }
    free(b->slots);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    free(b);
}
