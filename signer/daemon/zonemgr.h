/*
 * zonemgr: the zones of signerd and the threads that sign them.
 *
 * Zones live in a table by name. Each has a queue of changes (bounded: a
 * feeder that sends faster than the HSM signs waits in zonemgr_submit, which
 * stops it reading its socket). Zones with work (queued changes, or
 * signatures due, or a failed pass to retry) wait in one FIFO; `passes`
 * threads ("pass/N") take zones from it, one pass per zone at a time, all
 * queued changes of a zone in one pass (coalesced into one serial). A zone
 * with more work goes back to the end of the FIFO, so a small zone is never
 * stuck behind a large one while a pass thread is free. The scheduler
 * thread ("sched") puts zones in the FIFO when their next event comes
 * (signatures due for refresh, or a retry), and raises the expiry alarms.
 * The notifier thread ("notify") writes each published serial to the output
 * directory, runs the notify command and sends the subscribers' events, so
 * that slow consumers never hold up signing.
 *
 * Life cycle: zonemgr_new() (loads the zones kept in the state directory:
 * they are served at once, before any HSM call) -> zonemgr_start() ->
 * any thread: zonemgr_* calls -> zonemgr_stop() (queued changes answered
 * SHUTTING_DOWN, the running passes finish, snapshots written) ->
 * zonemgr_free(). All functions but new/start/stop/free are thread-safe.
 */
#ifndef SIGNER_DAEMON_ZONEMGR_H
#define SIGNER_DAEMON_ZONEMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/config.h"
#include "signer/daemon/dclock.h"
#include "signer/daemon/dzone.h"

#include "signer.pb-c.h"

typedef struct zonemgr zonemgr_t;

/* Borrowed for the manager's life. */
typedef struct {
	const config_t *config;
	hsm_ctx_t *hsm;
	dclock_t *clock;
	dkasp_t *kasp;   /* the key manager of zones with a policy */
	dfence_t *fence; /* active/standby (NULL: a single node) */
} zonemgr_params_t;

/* Loads every zone under <state_dir>/zones. A zone whose state cannot be
 * read is logged and left out (its files stay). Returns 0, or -1 with err. */
int zonemgr_new(const zonemgr_params_t *p, zonemgr_t **out, char *err, size_t errlen);
int zonemgr_start(zonemgr_t *m, char *err, size_t errlen);
void zonemgr_stop(zonemgr_t *m);
void zonemgr_free(zonemgr_t *m);

/* Adds a zone (ALREADY_EXISTS if there is one by that name). */
Signer__V1__Status zonemgr_add(zonemgr_t *m, const Signer__V1__ZoneConfig *cfg,
                               Signer__V1__ZoneStatus *st, char *err, size_t errlen);
/* Removes a zone and its state; queued changes are answered NOT_FOUND. */
Signer__V1__Status zonemgr_remove(zonemgr_t *m, const char *name, char *err, size_t errlen);

/* A reference to the zone named name (presentation form, any case, trailing
 * dot optional), or NULL. Release with zonemgr_release. */
dzone_t *zonemgr_get(zonemgr_t *m, const char *name);
void zonemgr_release(zonemgr_t *m, dzone_t *z);

/* Calls fn for every zone (references held during the call). */
void zonemgr_each(zonemgr_t *m, void (*fn)(void *ctx, dzone_t *z), void *ctx);
size_t zonemgr_count(zonemgr_t *m);

/* Queues change for z. Blocks while the zone's queue is full (back-pressure)
 * unless stopping. Returns OK (the done callback will run), or
 * SHUTTING_DOWN / NOT_FOUND (zone removed) and the change stays the
 * caller's. */
Signer__V1__Status zonemgr_submit(zonemgr_t *m, dzone_t *z, dzone_change_t *change);

/* Subscribers of zone-published events. fn runs on the notifier thread;
 * zones NULL: every zone. Returns a handle for zonemgr_unsubscribe, 0 on
 * failure. After unsubscribe returns, fn is not running and never runs. */
typedef void (*zonemgr_event_fn)(void *ctx, const char *zone, uint32_t serial, uint32_t previous,
                                 int64_t published_at);
uint64_t zonemgr_subscribe(zonemgr_t *m, zonemgr_event_fn fn, void *ctx);
void zonemgr_unsubscribe(zonemgr_t *m, uint64_t handle);

/* Writes a backup of every zone (dzone_backup) and of the key store into
 * dir, a directory this call creates (it must not exist), with a manifest
 * (BACKUP): the zones first, then the key store, so that the key states
 * are never older than the versions saved. *manifest (malloc'ed) gets the
 * manifest's text. Returns 0 or -1 with err. */
int zonemgr_backup(zonemgr_t *m, const char *dir, char **manifest, char *err, size_t errlen);

/* Ships the state to cluster.ship_dir (a backup named state-EPOCH-SEQ,
 * LATEST naming it, SEQ in the fencing record). final: this node steps
 * down first (dfence_step_down) and its running passes end before the
 * ship: the last state it signed is the one shipped. *name gets the
 * backup's name. Returns 0 or -1 with err. */
int zonemgr_ship(zonemgr_t *m, bool final, char *name, size_t namelen, char *err, size_t errlen);

/* The file in the state directory that marks a restored state. */
#define ZONEMGR_RESTORED "RESTORED"

/* Wakes the scheduler (after the clock moved). */
void zonemgr_kick(zonemgr_t *m);

/* The worst alarm of all zones, and whether any zone has an error. */
Signer__V1__Alarm zonemgr_alarm(zonemgr_t *m, bool *any_error);

#endif
