/*
 * dzone: one zone served by signerd: its configuration, the published signed
 * version, the journal of signed deltas, its status, and the signing pass
 * that turns queued changes (a whole zone, incremental changes, or nothing
 * but time) into the next published serial.
 *
 * On disk, under DIR = <state_dir>/zones/<name>/:
 *   config.pb    the zone's ZoneConfig (protobuf), written when added
 *   signed.snap  a snapshot of a published version (zone_snap.h)
 *   journal      the signed deltas since (and before) it (zone_journal.h)
 * A serial is published only once it is durable: the first version by its
 * snapshot, every later one by its delta appended (and fdatasync'ed) to the
 * journal; the snapshot is renewed when the journal has grown past it. A
 * restart loads the snapshot and replays the journal: the last published
 * version comes back without a signature made.
 *
 * Threads: the signing pass (dzone_pass) runs on one thread at a time per
 * zone (zonemgr sees to it); readers (status, fetch, journal reads) use
 * dzone_current()/dzone_status()/dzone_read_delta() from any thread. The
 * published version is reference counted (dzone_version_t): a reader keeps
 * the version it took even after a newer one is published.
 */
#ifndef SIGNER_DAEMON_DZONE_H
#define SIGNER_DAEMON_DZONE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/dfence.h"
#include "signer/daemon/dkasp.h"
#include "signer/zone/zone.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_journal.h"

#include "signer.pb-c.h"

/* A published version: the zone and what it was published as. */
typedef struct {
	atomic_uint refs;
	zone_t *zone;
	uint32_t serial;             /* SOA serial */
	uint32_t input_serial;       /* the front-end's serial it carries */
	int64_t published_at;        /* UNIX seconds */
	uint64_t records;            /* RRs, signatures included */
	uint64_t wire_size;          /* bytes of its RRs in uncompressed wire form */
	int64_t earliest_expiration; /* UNIX seconds; 0: no signature */
} dzone_version_t;

dzone_version_t *dzone_version_ref(dzone_version_t *v);
/* Drops a reference; frees the zone with the last one. NULL is a no-op. */
void dzone_version_unref(dzone_version_t *v);

typedef enum {
	DZONE_CHANGE_FULL,  /* replace the zone by full */
	DZONE_CHANGE_DELTA, /* apply delta (unsigned data) */
} dzone_change_kind_t;

/* The outcome of a change, handed to its done callback. */
typedef struct {
	Signer__V1__Status status;
	char message[1024];
	uint32_t serial; /* published serial (status OK) */
	uint32_t input_serial;
	uint64_t created, reused;
	bool coalesced; /* published together with other changes */
} dzone_result_t;

/* A change queued for a zone. The done callback runs exactly once, on the
 * pass thread (or the thread dropping the queue), after which the change is
 * the callback's to free (dzone_change_free). */
typedef struct dzone_change {
	dzone_change_kind_t kind;
	zone_t *full;       /* FULL: unsigned zone, owned */
	zone_delta_t delta; /* DELTA: removed and added records */
	uint32_t from_serial, to_serial;
	char *warnings; /* loader warnings to pass on (may be NULL), owned */
	void (*done)(void *ctx, struct dzone_change *change, const dzone_result_t *result);
	void *ctx;
	uint64_t id;               /* the caller's (the request id) */
	struct dzone_change *next; /* queue link (zonemgr) */
} dzone_change_t;

/* A new change of kind (full NULL, delta empty); NULL on out of memory. */
dzone_change_t *dzone_change_new(dzone_change_kind_t kind);
void dzone_change_free(dzone_change_t *c);

/* Everything a zone needs from the daemon, borrowed for the zone's life. */
typedef struct {
	hsm_ctx_t *hsm;
	const char *state_dir;
	zone_journal_limits_t journal_limits;
	unsigned threads;      /* pipeline workers per pass (0: from latency) */
	dkasp_t *kasp;         /* the key manager of zones with a policy */
	dfence_t *fence;       /* active/standby: may this node sign (NULL: always) */
	uint32_t restore_bump; /* a restored state (signer state restore): the first
	                        * serial published is the snapshot's plus this */
} dzone_env_t;

typedef struct dzone dzone_t;

/* Creates a zone from cfg (validated and copied) and writes its
 * configuration durably under the state directory. Returns a status
 * (SIGNER__V1__STATUS__OK, BAD_REQUEST, ALREADY_EXISTS, INTERNAL) with the
 * reason in err. */
Signer__V1__Status dzone_create(const dzone_env_t *env, const Signer__V1__ZoneConfig *cfg,
                                dzone_t **out, char *err, size_t errlen);

/* Opens the zone kept in directory dir (under state_dir/zones): its
 * configuration, snapshot and journal. Returns 0 or -1 with the reason in
 * err. */
int dzone_open(const dzone_env_t *env, const char *dir, dzone_t **out, char *err, size_t errlen);

/* Removes the zone's state from disk (the object stays until dzone_free). */
int dzone_destroy_state(dzone_t *z);

/* Frees; the caller makes sure no pass runs. NULL is a no-op. */
void dzone_free(dzone_t *z);

/* Name in presentation form with the trailing dot, and wire form. */
const char *dzone_name(const dzone_t *z);
const uint8_t *dzone_apex(const dzone_t *z);

/* The published version (a reference: dzone_version_unref), or NULL if
 * nothing was published yet. Thread-safe. */
dzone_version_t *dzone_current(dzone_t *z);

/* A token's state for status ("up", "reconnecting", "down", "not connected
 * yet") and whether it counts as up (a token never tried counts as up until
 * a first connection fails). Static text. Thread-safe. */
const char *dzone_token_state(const hsm_token_stats_t *s, bool *up);

/* Fills st (zeroed by the caller; strings malloc'ed, freed by
 * dzone_status_clear) with the zone's state at now. Thread-safe. */
void dzone_status(dzone_t *z, int64_t now, Signer__V1__ZoneStatus *st);
void dzone_status_clear(Signer__V1__ZoneStatus *st);

/* Alarm level of the earliest signature expiration at now. Thread-safe. */
Signer__V1__Alarm dzone_alarm(dzone_t *z, int64_t now);

/* When the next pass is due (UNIX seconds; INT64_MAX: none). Thread-safe. */
int64_t dzone_next_event(dzone_t *z);

/* Makes the next pass due at when (an operator's key command). Thread-safe. */
void dzone_wake(dzone_t *z, int64_t when);

/* The zone's policy, or NULL for a zone signed with the keys it was added
 * with. Borrowed for the zone's life. */
const kasp_policy_t *dzone_policy(const dzone_t *z);

/* Calls fn for each delta of the journal from from_serial to the current
 * serial, oldest first (fn NULL: only looks). Returns true if the journal
 * reaches back to from_serial (fn may still fail: its non-zero return stops and is
 * returned in *fn_ret). Thread-safe (holds the journal lock). */
bool dzone_read_deltas(dzone_t *z, uint32_t from_serial,
                       int (*fn)(void *ctx, const zone_delta_t *d), void *ctx, int *fn_ret);

/* One signing pass at now: applies changes (a list linked by next, in
 * order; may be NULL) to the published version, signs (reusing what is
 * still valid), verifies, publishes durably, and calls every change's done
 * callback. With no change, re-signs only if signatures are due. Returns
 * true if a serial was published. Sets *retry when the pass failed for a
 * reason that may pass (the HSM): zonemgr calls it again later. One thread
 * at a time per zone. */
bool dzone_pass(dzone_t *z, dzone_change_t *changes, int64_t now, volatile atomic_bool *stop,
                bool *retry);

/* Writes a snapshot of the published version (at shutdown, so that a
 * restart replays nothing). Same thread rules as dzone_pass. */
int dzone_checkpoint(dzone_t *z);

/* Writes the zone's configuration and published version (a snapshot)
 * under dir/zones/NAME/ (dir exists), as the state directory keeps them.
 * Returns 0 or -1 with err. Thread-safe. */
int dzone_backup(dzone_t *z, const char *dir, char *err, size_t errlen);

/* The keys of the zone for key list: calls fn for each (token name, key
 * spec, role). Thread-safe. */
void dzone_keys(dzone_t *z, void (*fn)(void *ctx, const Signer__V1__ZoneKey *k), void *ctx);

/* DS records of the zone's KSK/CSK keys (SHA-256, and SHA-384 if sha384),
 * appended to out (malloc'ed messages, caller frees with
 * signer__v1__ds_record__free_unpacked). Returns 0 or -1 with err. */
int dzone_ds(dzone_t *z, bool sha384, Signer__V1__DsRecord ***out, size_t *n, char *err,
             size_t errlen);

#endif
