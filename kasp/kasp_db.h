/*
 * kasp_db: the enforcer's store of zones and key states, one SQLite file.
 *
 * The file is opened in WAL mode with synchronous=FULL (a committed change
 * survives a power cut), foreign keys enforced and a busy timeout of
 * KASP_DB_BUSY_MS, so that a reader (status, backup) and the daemon share
 * it. Its `meta` table holds schema_version; kasp_db_open() creates the
 * tables of a new file and refuses a file whose version is newer than
 * KASP_DB_SCHEMA (a newer signer wrote it) without changing it.
 *
 * Schema (version 1):
 *
 *   meta(name TEXT PRIMARY KEY, value INTEGER)        -- 'schema_version'
 *   zones(name TEXT PRIMARY KEY COLLATE NOCASE, policy TEXT,
 *         last_acted INTEGER, clock_ack INTEGER, insecure INTEGER)
 *   keys(id INTEGER PRIMARY KEY, zone -> zones(name) ON DELETE CASCADE,
 *        role, algorithm, tag, locator TEXT (CKA_ID, hex), token TEXT,
 *        pubkey BLOB (DNSKEY RDATA), created, published, removed, purged,
 *        ds_seen, ds_gone, revoked (RFC 5011: its DNSKEY first published with the
 *        REVOKE bit), goal, backup_confirmed,
 *        UNIQUE(zone, token, locator), UNIQUE(zone, algorithm, pubkey))
 *   key_states(key -> keys(id) ON DELETE CASCADE, record 0..3, state 0..4,
 *              changed, PRIMARY KEY(key, record))
 *
 * Times are absolute UNIX seconds, 0 meaning "not yet". Zone names are
 * compared ASCII case-insensitively; the caller passes them in one form
 * (absolute, trailing dot).
 *
 * Transactions: every write function must run between kasp_db_begin()
 * (BEGIN IMMEDIATE: the writer's lock is taken at once) and
 * kasp_db_commit(); outside one it fails with KASP_ERR_DB_TXN and writes
 * nothing. A rollback, a failed commit, kasp_db_close() without a commit or
 * a crash leaves the store as it was at the previous commit. A key state is
 * saved (and committed) once the zone version carrying it is published,
 * not when the planner proposes it. Reads run inside or outside a
 * transaction; each read function is one statement, a consistent snapshot.
 *
 * Errors: functions return KASP_OK, KASP_ERR_INVAL (NULL or an out-of-range
 * field), KASP_ERR_NOMEM, or a KASP_ERR_DB* status; the detail of the last
 * failure (with SQLite's message where SQLite failed) is kasp_db_error().
 * "Not found" is an answer (a bool), except for a write naming a zone or
 * key the store lacks (KASP_ERR_DB_MISSING). Out-params are written only on
 * success.
 *
 * Ownership: a kasp_db_t belongs to its opener and is freed by
 * kasp_db_close(). Arguments are borrowed for the call; arrays and strings
 * returned are the caller's, freed with the matching *_free().
 *
 * Thread-safety: a kasp_db_t is used by one thread at a time (the caller
 * serialises). Several handles, in threads or processes, may open one file:
 * BEGIN IMMEDIATE serialises their writers, and a writer waits up to
 * KASP_DB_BUSY_MS for another's lock before KASP_ERR_DB_BUSY.
 */
#ifndef KASP_KASP_DB_H
#define KASP_KASP_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kasp/kasp_key.h"

/* The schema version this code reads and writes. */
#define KASP_DB_SCHEMA 1

/* How long a statement waits for another connection's lock (milliseconds). */
#define KASP_DB_BUSY_MS 5000

typedef struct kasp_db kasp_db_t;

/* A zone's row. Strings are heap copies owned by the holder. */
typedef struct {
	char *name;
	char *policy;       /* the policy's name */
	int64_t last_acted; /* when the enforcer last acted on the zone (0: never) */
	bool clock_ack;     /* an operator accepted a clock jump forward */
	bool insecure;      /* an operator asked the zone to go (or stay) insecure */
} kasp_db_zone_t;

/* What the store keeps of a key besides kasp_key_t. kasp_db_key_add()
 * borrows locator, token, pubkey and created (the rest is ignored: a new
 * key is neither removed, purged nor backed up); kasp_db_keys() fills
 * every field with heap copies. */
typedef struct {
	char *locator;            /* the PKCS#11 CKA_ID, hex, non-empty */
	char *token;              /* the token's label, non-empty */
	uint8_t *pubkey;          /* the DNSKEY RDATA (flags, protocol, algorithm, key) */
	size_t pubkey_len;        /* > 0 */
	int64_t created;          /* generated in the token */
	int64_t removed;          /* left the zone's key set (0: in it) */
	int64_t purged;           /* destroyed in the token (0: still there) */
	int64_t backup_confirmed; /* an operator confirmed its backup (0: not yet) */
} kasp_db_key_info_t;

/* Opens (creating if need be) the store at path: WAL, synchronous=FULL,
 * foreign keys, busy timeout; creates the tables of a new file. Returns
 * KASP_ERR_DB_SCHEMA for a schema newer than KASP_DB_SCHEMA (or one of no
 * version known), KASP_ERR_DB (not a database, cannot be opened, WAL
 * refused), KASP_ERR_DB_BUSY, KASP_ERR_NOMEM; err gets the detail
 * (SQLite's message, the versions found and known). *out is the caller's
 * (kasp_db_close). */
int kasp_db_open(const char *path, kasp_db_t **out, char *err, size_t errlen);

/* Rolls back an open transaction and closes the file. NULL: no-op. */
void kasp_db_close(kasp_db_t *db);

/* The detail of the last failure on db ("" if none yet), SQLite's message
 * included where SQLite failed; owned by db, valid until the next call on
 * db. */
const char *kasp_db_error(const kasp_db_t *db);

/* BEGIN IMMEDIATE. KASP_ERR_DB_TXN if one is already open, KASP_ERR_DB_BUSY
 * if another connection held the write lock for KASP_DB_BUSY_MS. */
int kasp_db_begin(kasp_db_t *db);

/* COMMIT: the changes are durable on return. KASP_ERR_DB_TXN without a
 * transaction; if the commit fails, the transaction is rolled back. */
int kasp_db_commit(kasp_db_t *db);

/* ROLLBACK: the store is as at the last commit. Without a transaction, a
 * no-op returning KASP_OK (cleanup paths call it unconditionally). */
int kasp_db_rollback(kasp_db_t *db);

/* Zones (writes inside a transaction). */

/* Adds zone name under policy (non-empty); last_acted 0, clock_ack false.
 * KASP_ERR_DB_EXISTS if the zone is there already. */
int kasp_db_zone_add(kasp_db_t *db, const char *name, const char *policy);

/* Removes zone name with its purged keys. Refused (KASP_ERR_DB_KEYS) while
 * a key of the zone is not purged, so that no key left in a token is
 * forgotten; KASP_ERR_DB_MISSING if no such zone. */
int kasp_db_zone_remove(kasp_db_t *db, const char *name);

/* Reads zone name into *out (the caller's; kasp_db_zone_deinit) and sets
 * *found; *out is untouched when not found. */
int kasp_db_zone_get(kasp_db_t *db, const char *name, kasp_db_zone_t *out, bool *found);

/* Frees the strings of z and zeroes it. NULL: no-op. */
void kasp_db_zone_deinit(kasp_db_zone_t *z);

/* Every zone, by name, into *zones (the caller's; kasp_db_zones_free) and
 * *n (NULL and 0 for none). */
int kasp_db_zones(kasp_db_t *db, kasp_db_zone_t **zones, size_t *n);

/* Frees n zones from kasp_db_zones(). NULL: no-op. */
void kasp_db_zones_free(kasp_db_zone_t *zones, size_t n);

/* Sets when the enforcer last acted on the zone (absolute seconds).
 * KASP_ERR_DB_MISSING if no such zone. */
int kasp_db_zone_set_last_acted(kasp_db_t *db, const char *name, int64_t when);

/* Sets whether an operator accepted a clock jump. KASP_ERR_DB_MISSING if
 * no such zone. */
int kasp_db_zone_set_clock_ack(kasp_db_t *db, const char *name, bool ack);

/* Sets whether the zone is to go (or stay) insecure. KASP_ERR_DB_MISSING if
 * no such zone. */
int kasp_db_zone_set_insecure(kasp_db_t *db, const char *name, bool insecure);

/* Keys (writes inside a transaction). */

/* Adds key k (k->id ignored) with info to zone and sets *id_out to the id
 * the store gave it (then use it as kasp_key_t.id). KASP_ERR_DB_MISSING if
 * no such zone; KASP_ERR_DB_EXISTS if the zone has a key of this token and
 * locator, or of this algorithm and public key; KASP_ERR_INVAL for a role,
 * state or info out of range. */
int kasp_db_key_add(kasp_db_t *db, const char *zone, const kasp_key_t *k,
                    const kasp_db_key_info_t *info, uint32_t *id_out);

/* Every key of zone, by id, into *keys and *info (parallel arrays, the
 * caller's; kasp_db_keys_free) and *n (NULL and 0 for none or no zone).
 * Purged keys are included (info says so). */
int kasp_db_keys(kasp_db_t *db, const char *zone, kasp_key_t **keys, kasp_db_key_info_t **info,
                 size_t *n);

/* Frees what kasp_db_keys() returned. NULL: no-op. */
void kasp_db_keys_free(kasp_key_t *keys, kasp_db_key_info_t *info, size_t n);

/* Saves what changes of key k->id: goal, state[] and changed[], published,
 * ds_seen, ds_gone, revoked (role, algorithm and tag are fixed at add and not
 * compared). KASP_ERR_DB_MISSING if no such key; KASP_ERR_INVAL for a state
 * out of range. */
int kasp_db_key_save(kasp_db_t *db, const kasp_key_t *k);

/* Records when key id left the zone's key set, was destroyed in its token,
 * or had its backup confirmed (absolute seconds; 0 clears).
 * KASP_ERR_DB_MISSING if no such key. */
int kasp_db_key_set_removed(kasp_db_t *db, uint32_t id, int64_t when);
int kasp_db_key_set_purged(kasp_db_t *db, uint32_t id, int64_t when);
int kasp_db_key_set_backup_confirmed(kasp_db_t *db, uint32_t id, int64_t when);

/* Looks a key of zone up by algorithm, tag and public key (DNSKEY RDATA,
 * len bytes) all three, never by tag alone: *found, and *id when found. */
int kasp_db_key_find(kasp_db_t *db, const char *zone, uint8_t algorithm, uint16_t tag,
                     const uint8_t *pubkey, size_t len, uint32_t *id, bool *found);

/* *in_use: a key of zone not yet purged has this tag (the key-tag collision
 * check before a new key is taken; the caller also checks the tag the key
 * has with the REVOKE bit set). */
int kasp_db_tag_in_use(kasp_db_t *db, const char *zone, uint16_t tag, bool *in_use);

/* Backup */

/* Writes a consistent snapshot of the committed store to path (replaced
 * whole: written beside it as path.tmp, synced, then renamed) with SQLite's
 * online backup API; other connections keep reading and writing meanwhile.
 * KASP_ERR_DB_TXN inside a transaction of db (its uncommitted changes would
 * be copied). */
int kasp_db_backup(kasp_db_t *db, const char *path);

#endif
