/* index_builder.h — builds layers' spatial indexes on a thread of its own.
 *
 * DESIGN: a commit that grows a layer's overlay past cm_snapshot_wants_index asks for an
 * index over its new snapshot and goes on; a later commit of that layer takes the finished
 * index and rebases its new snapshot on it (cm_snapshot_rebase) before publishing. The
 * persistence worker thus never waits for an R-tree build (133 ms at 366,000 features
 * under load, during which every queued write waited). One request per layer at a time:
 * a layer that is asked again while its build runs is asked only after that build was
 * taken. Keyed by the layer, whose line of snapshots must outlive the builder.
 *
 * OWNERSHIP: a request takes a reference to the snapshot, held until its build ends; a
 * taken index comes with one reference, for the caller. Stopping releases what was not
 * taken.
 *
 * THREAD SAFETY: request and take may be called from any thread (the persistence worker
 * does both); the build itself runs on the builder's thread, at the priority of batch
 * work. */
#ifndef CM_INDEX_BUILDER_H
#define CM_INDEX_BUILDER_H

#include <stdbool.h>

#include "layer.h"

typedef struct cm_index_builder cm_index_builder;

/* Starts the thread. NULL when out of memory or no thread could be made: callers then
 * leave rebuilds to the derives (see cm_snapshot_derive). */
cm_index_builder *cm_index_builder_start(void);

/* Asks for an index over s, on behalf of layer. false (nothing taken) when one for layer
 * is already asked for or waiting to be taken, or when out of memory. */
bool cm_index_builder_request(cm_index_builder *b, const cm_layer *layer, cm_snapshot *s);

/* The index built for layer, if one is ready (one reference, the caller's), else NULL. */
cm_index_base *cm_index_builder_take(cm_index_builder *b, const cm_layer *layer);

/* Waits for the build in progress to end, stops the thread and releases what was asked
 * for and not taken. Accepts NULL. */
void cm_index_builder_stop(cm_index_builder *b);

#endif
