/*
 * dkasp: signerd's key manager, the KASP enforcer at work. For each zone
 * added with a policy (ZoneConfig.policy) it keeps the zone's keys and their
 * record states in the key store (kasp_db, <state_dir>/kasp.db), and at each
 * of the zone's passes:
 *
 *   1. asks the parental agents for the DS when a key waits for it (two
 *      agreeing polls a poll interval apart are evidence, kasp_parent), and
 *      takes the operator's word (ds-seen, ds-gone) as evidence too;
 *   2. runs the planner (kasp_plan) with the store's states and now;
 *   3. carries out its decisions at once: generates a key in the policy's
 *      token (non-extractable, kept only if its key tag and, for a KSK or
 *      CSK, the tag it has with the REVOKE bit collide with no key of the
 *      zone; shared-key policies take the newest key of the policy instead),
 *      retires keys, takes keys out of the key set, purges keys from their
 *      token once no zone refers to them (logged);
 *   4. hands the pass the key set the proposed record states call for (and
 *      the CDS/CDNSKEY RRsets for the parent);
 * and once the zone version is durably published, records the proposed
 * states with the publication time (dkasp_published): a transition is
 * recorded when published, never when planned. A pass that fails records
 * nothing; the next one plans again.
 *
 * Clock: the enforcer keeps, per zone, the difference between the wall and
 * the monotonic clock at its last run (dclock_skew); a wall clock that moved
 * more than KASP_PLAN_MAX_JUMP ahead of the monotonic one is a jump and
 * nothing is done until an operator acknowledges it (dkasp_command
 * CLOCK_ACK; one acknowledgement covers one jump). The reference is taken
 * when the zone is loaded: a restart cannot tell a jump from downtime, and
 * trusts the clock.
 *
 * Threads: one dkasp_t per daemon (main owns it), shared by the pass
 * threads and the RPC threads; every function is thread-safe (one mutex
 * over the store and the per-zone state; the HSM and parent calls are made
 * under it, which serialises key generation and polls). A dkasp_pass_t
 * belongs to the pass that filled it.
 */
#ifndef SIGNER_DAEMON_DKASP_H
#define SIGNER_DAEMON_DKASP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_ctx.h"
#include "kasp/kasp_export.h"
#include "kasp/kasp_key.h"
#include "kasp/kasp_policy.h"
#include "signer/daemon/config.h"
#include "signer/daemon/dclock.h"
#include "signer/sign/sign_keyset.h"

#include "signer.pb-c.h"

typedef struct dkasp dkasp_t;

/* Borrowed for the enforcer's life. */
typedef struct {
	const config_t *config; /* policies, state_dir */
	hsm_ctx_t *hsm;
	dclock_t *clock;
	unsigned test_tag_collisions; /* testing: the first N keys generated count as
	                               * colliding (SIGNER_TEST_KEYTAG_COLLISIONS) */
	bool test_keygen_fails;       /* testing: key generation fails
	                               * (SIGNER_TEST_KEYGEN_FAIL) */
} dkasp_params_t;

/* Opens the key store. Returns 0 or -1 with err. */
int dkasp_open(const dkasp_params_t *p, dkasp_t **out, char *err, size_t errlen);
/* Closes; NULL is a no-op. No other call may run. */
void dkasp_close(dkasp_t *k);

/* The policy named name: one of the configuration's, or the built-in
 * "default" (kasp_policy_defaults) when the configuration has none of
 * that name. NULL if none. Borrowed for the enforcer's life. */
const kasp_policy_t *dkasp_policy(const dkasp_t *k, const char *name);

/* Registers zone (presentation form, trailing dot) under policy: a new
 * zone gets its row in the store; a zone already there (a restart) keeps
 * its keys, and its policy is updated (a new policy's needs are met by
 * rollovers). Returns 0 or -1 with err. */
int dkasp_zone_add(dkasp_t *k, const char *zone, const char *policy, char *err, size_t errlen);

/* Removes zone from the store: its keys leave their tokens (logged; a key
 * another zone still uses stays). Returns 0 or -1 with err. */
int dkasp_zone_remove(dkasp_t *k, const char *zone, char *err, size_t errlen);

/* What a pass signs with. */
typedef struct {
	const sign_keyset_t *ks; /* the zone's, kept between passes (pass thread only) */
	bool cds;                /* set the apex CDS and CDNSKEY to these */
	kasp_export_rrset_t cds_rr, cdnskey_rr; /* (empty: none) */
	uint32_t cds_ttl;
	bool record;      /* states to record once published: publish even unchanged */
	kasp_key_t *keys; /* the proposed states (record) */
	size_t nkeys;
	int64_t next; /* when to run again (INT64_MAX: nothing pending) */
} dkasp_pass_t;

/* Prepares the pass of zone (apex in wire form) at now: evidence, planner,
 * decisions, the key set. *out (zeroed by the caller) is released with
 * dkasp_pass_deinit. Returns 0, or -1 with err (the zone keeps its
 * published version; *out->next says when to try again). */
int dkasp_prepare(dkasp_t *k, const char *zone, const uint8_t *apex, int64_t now, dkasp_pass_t *out,
                  char *err, size_t errlen);

/* Records the proposed states of pass, published at when. 0 or -1 with
 * err (logged by the caller; the states are planned again next pass). */
int dkasp_published(dkasp_t *k, const char *zone, const dkasp_pass_t *pass, int64_t when, char *err,
                    size_t errlen);

void dkasp_pass_deinit(dkasp_pass_t *pass);

/* Drops the zone's cached key set (after an HSM failure: the token may
 * have changed); the next dkasp_prepare looks the keys up again. */
void dkasp_forget_keys(dkasp_t *k, const char *zone);

/* The zone's next enforcement event (INT64_MAX: none known). */
int64_t dkasp_next_event(dkasp_t *k, const char *zone);

/* Operator commands on zone at now; key is a key tag or a CKA_ID in hex
 * (DS_SEEN, DS_GONE, BACKUP_DONE) or a token key's CKA_ID, label or URI
 * (IMPORT: the key joins the zone in use, its DNSKEY and signatures
 * omnipresent, its DS too if ds_at_parent); role "ksk", "zsk", "csk" or
 * "all" (ROLL, IMPORT). Returns a status with the reason (or, on success,
 * what was done; may be empty) in err. */
Signer__V1__Status dkasp_command(dkasp_t *k, const char *zone, Signer__V1__KeyCommand__Op op,
                                 const char *key, const char *role, bool ds_at_parent, int64_t now,
                                 char *err, size_t errlen);

/* Fills the enforcer's part of st (key states, what blocks, the last
 * poll; strings malloc'ed, freed by dzone_status_clear). */
void dkasp_status(dkasp_t *k, const char *zone, Signer__V1__ZoneStatus *st);

/* The DS set the parent should have (format DS) or a trust anchor, as
 * text (malloc'ed into *out). sha384 adds SHA-384 digests. Returns a
 * status with err. */
Signer__V1__Status dkasp_export(dkasp_t *k, const char *zone, kasp_export_format_t format,
                                bool anchor, bool sha384, char **out, char *err, size_t errlen);

/* Writes a consistent copy of the key store to path (kasp_db_backup).
 * Returns 0 or -1 with err. */
int dkasp_backup(dkasp_t *k, const char *path, char *err, size_t errlen);

/* After a restore: every DS evidence is forgotten (the parents are polled
 * again, or the operator tells again) for keys whose DS is in transit.
 * Returns 0 or -1 with err. */
int dkasp_after_restore(dkasp_t *k, char *err, size_t errlen);

#endif
