#include "kasp/kasp_db.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kasp/kasp_error.h"

struct kasp_db {
	sqlite3 *sql;
	char err[512]; /* the last failure's detail */
};

static const char *const schema_v1[] = {
        "CREATE TABLE zones ("
        " name TEXT PRIMARY KEY COLLATE NOCASE,"
        " policy TEXT NOT NULL,"
        " last_acted INTEGER NOT NULL DEFAULT 0,"
        " clock_ack INTEGER NOT NULL DEFAULT 0,"
        " insecure INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE keys ("
        " id INTEGER PRIMARY KEY,"
        " zone TEXT NOT NULL COLLATE NOCASE REFERENCES zones(name) ON DELETE CASCADE,"
        " role INTEGER NOT NULL CHECK (role BETWEEN 1 AND 3),"
        " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
        " tag INTEGER NOT NULL CHECK (tag BETWEEN 0 AND 65535),"
        " locator TEXT NOT NULL,"
        " token TEXT NOT NULL,"
        " pubkey BLOB NOT NULL,"
        " created INTEGER NOT NULL,"
        " published INTEGER NOT NULL DEFAULT 0,"
        " removed INTEGER NOT NULL DEFAULT 0,"
        " purged INTEGER NOT NULL DEFAULT 0,"
        " ds_seen INTEGER NOT NULL DEFAULT 0,"
        " ds_gone INTEGER NOT NULL DEFAULT 0,"
        " revoked INTEGER NOT NULL DEFAULT 0,"
        " goal INTEGER NOT NULL,"
        " backup_confirmed INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (zone, token, locator),"
        " UNIQUE (zone, algorithm, pubkey))",
        "CREATE INDEX keys_zone_tag ON keys (zone, tag)",
        "CREATE TABLE key_states ("
        " key INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,"
        " record INTEGER NOT NULL CHECK (record BETWEEN 0 AND 3),"
        " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
        " changed INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (key, record)) WITHOUT ROWID",
        NULL,
};

static void set_err(kasp_db_t *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(kasp_db_t *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
}

/* Maps SQLite's result rc of what to a status and keeps its message. */
static int sql_fail(kasp_db_t *db, int rc, const char *what)
{
	set_err(db, "%s: %s", what, sqlite3_errmsg(db->sql));
	switch (rc) {
	case SQLITE_NOMEM:
		return KASP_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_BUSY_RECOVERY:
	case SQLITE_BUSY_SNAPSHOT:
	case SQLITE_BUSY_TIMEOUT:
	case SQLITE_LOCKED:
		return KASP_ERR_DB_BUSY;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return KASP_ERR_DB_EXISTS;
	default:
		return KASP_ERR_DB;
	}
}

static int exec(kasp_db_t *db, const char *sql)
{
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		return sql_fail(db, rc, sql);
	}
	return KASP_OK;
}

static int prepare(kasp_db_t *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db->sql, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return sql_fail(db, rc, sql);
	}
	return KASP_OK;
}

/* Steps a statement that returns no row. */
static int step_done(kasp_db_t *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		return sql_fail(db, rc, what);
	}
	return KASP_OK;
}

static int need_txn(kasp_db_t *db, const char *fn)
{
	if (sqlite3_get_autocommit(db->sql)) {
		set_err(db, "%s: not inside a transaction (kasp_db_begin)", fn);
		return KASP_ERR_DB_TXN;
	}
	return KASP_OK;
}

static bool key_valid(const kasp_key_t *k)
{
	if (k->role < KASP_ROLE_KSK || k->role > KASP_ROLE_CSK) {
		return false;
	}
	for (int r = 0; r < KASP_RECORDS; r++) {
		if ((int)k->state[r] < KASP_NA || (int)k->state[r] > KASP_UNRETENTIVE) {
			return false;
		}
	}
	return true;
}

/* Reads meta's schema_version into *version (0 if absent). */
static int schema_version(kasp_db_t *db, int64_t *version)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(db, "SELECT value FROM meta WHERE name = 'schema_version'", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		*version = 0;
	} else {
		ret = sql_fail(db, rc, "reading schema_version");
	}
	sqlite3_finalize(st);
	return ret;
}

/* Creates the tables of a new file, or checks the version of an old one, in
 * one transaction. */
static int setup_schema(kasp_db_t *db)
{
	int ret = exec(db, "BEGIN IMMEDIATE");
	if (ret != KASP_OK) {
		return ret;
	}
	ret = exec(db, "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)");
	if (ret != KASP_OK) {
		goto fail;
	}
	int64_t version = 0;
	ret = schema_version(db, &version);
	if (ret != KASP_OK) {
		goto fail;
	}
	if (version == 0) {
		for (size_t i = 0; schema_v1[i] != NULL; i++) {
			ret = exec(db, schema_v1[i]);
			if (ret != KASP_OK) {
				goto fail;
			}
		}
		char sql[128];
		snprintf(sql, sizeof(sql),
		         "INSERT INTO meta (name, value) VALUES ('schema_version', %d)",
		         KASP_DB_SCHEMA);
		ret = exec(db, sql);
		if (ret != KASP_OK) {
			goto fail;
		}
	} else if (version != KASP_DB_SCHEMA) {
		set_err(db, "schema_version %" PRId64 " %s: this signer knows version %d only%s",
		        version, version > KASP_DB_SCHEMA ? "is newer" : "is unknown",
		        KASP_DB_SCHEMA,
		        version > KASP_DB_SCHEMA ? " (a newer signer wrote the store; upgrade)"
		                                 : "");
		ret = KASP_ERR_DB_SCHEMA;
		goto fail;
	}
	return exec(db, "COMMIT");
fail:
	sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Sets the connection's pragmas: WAL must hold (memory or read-only files
 * cannot have it). */
static int setup_pragmas(kasp_db_t *db)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(db, "PRAGMA journal_mode = WAL", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = sql_fail(db, rc, "PRAGMA journal_mode = WAL");
	} else {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			set_err(db, "journal_mode WAL refused (the mode is %s)",
			        mode != NULL ? mode : "unknown");
			ret = KASP_ERR_DB;
		}
	}
	sqlite3_finalize(st);
	if (ret != KASP_OK) {
		return ret;
	}
	ret = exec(db, "PRAGMA synchronous = FULL");
	if (ret == KASP_OK) {
		ret = exec(db, "PRAGMA foreign_keys = ON");
	}
	return ret;
}

int kasp_db_open(const char *path, kasp_db_t **out, char *err, size_t errlen)
{
	if (path == NULL || out == NULL) {
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "kasp_db_open: NULL argument");
		}
		return KASP_ERR_INVAL;
	}
	kasp_db_t *db = calloc(1, sizeof(*db));
	if (db == NULL) {
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "%s: out of memory", path);
		}
		return KASP_ERR_NOMEM;
	}
	int ret;
	int rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		if (db->sql != NULL) {
			ret = sql_fail(db, rc, "open");
		} else {
			set_err(db, "open: out of memory");
			ret = KASP_ERR_NOMEM;
		}
		goto fail;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, KASP_DB_BUSY_MS);
	ret = setup_pragmas(db);
	if (ret == KASP_OK) {
		ret = setup_schema(db);
	}
	if (ret != KASP_OK) {
		goto fail;
	}
	*out = db;
	return KASP_OK;
fail:
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s: %s", path, db->err);
	}
	sqlite3_close_v2(db->sql);
	free(db);
	return ret;
}

void kasp_db_close(kasp_db_t *db)
{
	if (db == NULL) {
		return;
	}
	if (!sqlite3_get_autocommit(db->sql)) {
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_close_v2(db->sql);
	free(db);
}

const char *kasp_db_error(const kasp_db_t *db)
{
	return db != NULL ? db->err : "";
}

int kasp_db_begin(kasp_db_t *db)
{
	if (db == NULL) {
		return KASP_ERR_INVAL;
	}
	if (!sqlite3_get_autocommit(db->sql)) {
		set_err(db, "kasp_db_begin: a transaction is open already");
		return KASP_ERR_DB_TXN;
	}
	return exec(db, "BEGIN IMMEDIATE");
}

int kasp_db_commit(kasp_db_t *db)
{
	if (db == NULL) {
		return KASP_ERR_INVAL;
	}
	if (sqlite3_get_autocommit(db->sql)) {
		set_err(db, "kasp_db_commit: no transaction open");
		return KASP_ERR_DB_TXN;
	}
	int ret = exec(db, "COMMIT");
	if (ret != KASP_OK && !sqlite3_get_autocommit(db->sql)) {
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	}
	return ret;
}

int kasp_db_rollback(kasp_db_t *db)
{
	if (db == NULL) {
		return KASP_ERR_INVAL;
	}
	if (sqlite3_get_autocommit(db->sql)) {
		return KASP_OK;
	}
	return exec(db, "ROLLBACK");
}

/* Zones */

/* *exists: zone name is in the store. */
static int zone_exists(kasp_db_t *db, const char *name, bool *exists)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(db, "SELECT 1 FROM zones WHERE name = ?1", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*exists = rc == SQLITE_ROW;
	} else {
		ret = sql_fail(db, rc, "looking up the zone");
	}
	sqlite3_finalize(st);
	return ret;
}

int kasp_db_zone_add(kasp_db_t *db, const char *name, const char *policy)
{
	if (db == NULL || name == NULL || policy == NULL || *name == '\0' || *policy == '\0') {
		return KASP_ERR_INVAL;
	}
	int ret = need_txn(db, "kasp_db_zone_add");
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_stmt *st = NULL;
	ret = prepare(db, "INSERT INTO zones (name, policy) VALUES (?1, ?2)", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, policy, -1, SQLITE_STATIC);
	ret = step_done(db, st, "adding the zone");
	sqlite3_finalize(st);
	return ret;
}

int kasp_db_zone_remove(kasp_db_t *db, const char *name)
{
	if (db == NULL || name == NULL) {
		return KASP_ERR_INVAL;
	}
	int ret = need_txn(db, "kasp_db_zone_remove");
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_stmt *st = NULL;
	ret = prepare(db, "SELECT count(*) FROM keys WHERE zone = ?1 AND purged = 0", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int64_t left = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW) {
		ret = sql_fail(db, rc, "counting the zone's keys");
	}
	sqlite3_finalize(st);
	if (ret != KASP_OK) {
		return ret;
	}
	if (left > 0) {
		set_err(db, "zone %s: %" PRId64 " key(s) not purged from their token", name, left);
		return KASP_ERR_DB_KEYS;
	}
	ret = prepare(db, "DELETE FROM zones WHERE name = ?1", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	ret = step_done(db, st, "removing the zone");
	sqlite3_finalize(st);
	if (ret == KASP_OK && sqlite3_changes(db->sql) == 0) {
		set_err(db, "no zone %s", name);
		ret = KASP_ERR_DB_MISSING;
	}
	return ret;
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return strdup(s != NULL ? (const char *)s : "");
}

/* Fills z from a row (name, policy, last_acted, clock_ack, insecure). */
static int zone_from_row(sqlite3_stmt *st, kasp_db_zone_t *z)
{
	z->name = column_strdup(st, 0);
	z->policy = column_strdup(st, 1);
	z->last_acted = sqlite3_column_int64(st, 2);
	z->clock_ack = sqlite3_column_int64(st, 3) != 0;
	z->insecure = sqlite3_column_int64(st, 4) != 0;
	if (z->name == NULL || z->policy == NULL) {
		kasp_db_zone_deinit(z);
		return KASP_ERR_NOMEM;
	}
	return KASP_OK;
}

int kasp_db_zone_get(kasp_db_t *db, const char *name, kasp_db_zone_t *out, bool *found)
{
	if (db == NULL || name == NULL || out == NULL || found == NULL) {
		return KASP_ERR_INVAL;
	}
	sqlite3_stmt *st = NULL;
	int ret = prepare(
	        db,
	        "SELECT name, policy, last_acted, clock_ack, insecure FROM zones WHERE name = ?1",
	        &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		kasp_db_zone_t z = {0};
		ret = zone_from_row(st, &z);
		if (ret == KASP_OK) {
			*out = z;
			*found = true;
		}
	} else if (rc == SQLITE_DONE) {
		*found = false;
	} else {
		ret = sql_fail(db, rc, "reading the zone");
	}
	sqlite3_finalize(st);
	return ret;
}

void kasp_db_zone_deinit(kasp_db_zone_t *z)
{
	if (z == NULL) {
		return;
	}
	free(z->name);
	free(z->policy);
	memset(z, 0, sizeof(*z));
}

int kasp_db_zones(kasp_db_t *db, kasp_db_zone_t **zones, size_t *n)
{
	if (db == NULL || zones == NULL || n == NULL) {
		return KASP_ERR_INVAL;
	}
	sqlite3_stmt *st = NULL;
	int ret = prepare(
	        db, "SELECT name, policy, last_acted, clock_ack, insecure FROM zones ORDER BY name",
	        &st);
	if (ret != KASP_OK) {
		return ret;
	}
	kasp_db_zone_t *v = NULL;
	size_t count = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			kasp_db_zone_t *nv = realloc(v, ncap * sizeof(*v));
			if (nv == NULL) {
				ret = KASP_ERR_NOMEM;
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		ret = zone_from_row(st, &v[count]);
		if (ret != KASP_OK) {
			goto fail;
		}
		count++;
	}
	if (rc != SQLITE_DONE) {
		ret = sql_fail(db, rc, "listing the zones");
		goto fail;
	}
	sqlite3_finalize(st);
	*zones = v;
	*n = count;
	return KASP_OK;
fail:
	sqlite3_finalize(st);
	kasp_db_zones_free(v, count);
	return ret;
}

void kasp_db_zones_free(kasp_db_zone_t *zones, size_t n)
{
	if (zones == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		kasp_db_zone_deinit(&zones[i]);
	}
	free(zones);
}

/* UPDATE zones SET column = value WHERE name = zone (column is ours). */
static int zone_set(kasp_db_t *db, const char *fn, const char *zone, const char *column,
                    int64_t value)
{
	if (db == NULL || zone == NULL) {
		return KASP_ERR_INVAL;
	}
	int ret = need_txn(db, fn);
	if (ret != KASP_OK) {
		return ret;
	}
	char sql[96];
	snprintf(sql, sizeof(sql), "UPDATE zones SET %s = ?1 WHERE name = ?2", column);
	sqlite3_stmt *st = NULL;
	ret = prepare(db, sql, &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_int64(st, 1, value);
	sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
	ret = step_done(db, st, fn);
	sqlite3_finalize(st);
	if (ret == KASP_OK && sqlite3_changes(db->sql) == 0) {
		set_err(db, "%s: no zone %s", fn, zone);
		ret = KASP_ERR_DB_MISSING;
	}
	return ret;
}

int kasp_db_zone_set_last_acted(kasp_db_t *db, const char *name, int64_t when)
{
	return zone_set(db, "kasp_db_zone_set_last_acted", name, "last_acted", when);
}

int kasp_db_zone_set_clock_ack(kasp_db_t *db, const char *name, bool ack)
{
	return zone_set(db, "kasp_db_zone_set_clock_ack", name, "clock_ack", ack ? 1 : 0);
}

int kasp_db_zone_set_insecure(kasp_db_t *db, const char *name, bool insecure)
{
	return zone_set(db, "kasp_db_zone_set_insecure", name, "insecure", insecure ? 1 : 0);
}

/* Keys */

/* Writes the four key_states rows of k under id. */
static int save_states(kasp_db_t *db, uint32_t id, const kasp_key_t *k)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(
	        db,
	        "INSERT INTO key_states (key, record, state, changed) VALUES (?1, ?2, ?3, ?4)"
	        " ON CONFLICT (key, record) DO UPDATE SET state = excluded.state,"
	        " changed = excluded.changed",
	        &st);
	if (ret != KASP_OK) {
		return ret;
	}
	for (int r = 0; r < KASP_RECORDS && ret == KASP_OK; r++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, r);
		sqlite3_bind_int(st, 3, (int)k->state[r]);
		sqlite3_bind_int64(st, 4, k->changed[r]);
		ret = step_done(db, st, "saving the key's states");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

int kasp_db_key_add(kasp_db_t *db, const char *zone, const kasp_key_t *k,
                    const kasp_db_key_info_t *info, uint32_t *id_out)
{
	if (db == NULL || zone == NULL || k == NULL || info == NULL || id_out == NULL) {
		return KASP_ERR_INVAL;
	}
	if (!key_valid(k) || info->locator == NULL || *info->locator == '\0' ||
	    info->token == NULL || *info->token == '\0' || info->pubkey == NULL ||
	    info->pubkey_len == 0 || info->pubkey_len > INT32_MAX) {
		set_err(db, "kasp_db_key_add: role, state, locator, token or public key invalid");
		return KASP_ERR_INVAL;
	}
	int ret = need_txn(db, "kasp_db_key_add");
	if (ret != KASP_OK) {
		return ret;
	}
	bool exists = false;
	ret = zone_exists(db, zone, &exists);
	if (ret != KASP_OK) {
		return ret;
	}
	if (!exists) {
		set_err(db, "kasp_db_key_add: no zone %s", zone);
		return KASP_ERR_DB_MISSING;
	}
	sqlite3_stmt *st = NULL;
	ret = prepare(db,
	              "INSERT INTO keys (zone, role, algorithm, tag, locator, token, pubkey,"
	              " created, published, ds_seen, ds_gone, goal, revoked)"
	              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	              &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)k->role);
	sqlite3_bind_int(st, 3, k->algorithm);
	sqlite3_bind_int(st, 4, k->tag);
	sqlite3_bind_text(st, 5, info->locator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, info->token, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, info->pubkey, (int)info->pubkey_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, info->created);
	sqlite3_bind_int64(st, 9, k->published);
	sqlite3_bind_int64(st, 10, k->ds_seen);
	sqlite3_bind_int64(st, 11, k->ds_gone);
	sqlite3_bind_int(st, 12, k->goal ? 1 : 0);
	sqlite3_bind_int64(st, 13, k->revoked);
	ret = step_done(db, st, "adding the key");
	sqlite3_finalize(st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_int64 rowid = sqlite3_last_insert_rowid(db->sql);
	if (rowid <= 0 || rowid > UINT32_MAX) {
		set_err(db, "kasp_db_key_add: key id %lld out of range", (long long)rowid);
		return KASP_ERR_DB;
	}
	ret = save_states(db, (uint32_t)rowid, k);
	if (ret != KASP_OK) {
		return ret;
	}
	*id_out = (uint32_t)rowid;
	return KASP_OK;
}

void kasp_db_keys_free(kasp_key_t *keys, kasp_db_key_info_t *info, size_t n)
{
	if (info != NULL) {
		for (size_t i = 0; i < n; i++) {
			free(info[i].locator);
			free(info[i].token);
			free(info[i].pubkey);
		}
	}
	free(info);
	free(keys);
}

/* Fills a key and its info from a row of the keys query (columns 0..15). */
static int key_from_row(sqlite3_stmt *st, kasp_key_t *k, kasp_db_key_info_t *info)
{
	memset(k, 0, sizeof(*k));
	memset(info, 0, sizeof(*info));
	k->id = (uint32_t)sqlite3_column_int64(st, 0);
	k->role = (unsigned)sqlite3_column_int(st, 1);
	k->algorithm = (uint8_t)sqlite3_column_int(st, 2);
	k->tag = (uint16_t)sqlite3_column_int(st, 3);
	info->locator = column_strdup(st, 4);
	info->token = column_strdup(st, 5);
	int len = sqlite3_column_bytes(st, 6);
	const void *blob = sqlite3_column_blob(st, 6);
	info->pubkey = malloc(len > 0 ? (size_t)len : 1);
	if (info->pubkey != NULL && len > 0) {
		memcpy(info->pubkey, blob, (size_t)len);
	}
	info->pubkey_len = len > 0 ? (size_t)len : 0;
	info->created = sqlite3_column_int64(st, 7);
	k->published = sqlite3_column_int64(st, 8);
	info->removed = sqlite3_column_int64(st, 9);
	info->purged = sqlite3_column_int64(st, 10);
	k->ds_seen = sqlite3_column_int64(st, 11);
	k->ds_gone = sqlite3_column_int64(st, 12);
	k->goal = sqlite3_column_int(st, 13) != 0;
	info->backup_confirmed = sqlite3_column_int64(st, 14);
	k->revoked = sqlite3_column_int64(st, 15);
	if (info->locator == NULL || info->token == NULL || info->pubkey == NULL) {
		return KASP_ERR_NOMEM;
	}
	return KASP_OK;
}

int kasp_db_keys(kasp_db_t *db, const char *zone, kasp_key_t **keys, kasp_db_key_info_t **info,
                 size_t *n)
{
	if (db == NULL || zone == NULL || keys == NULL || info == NULL || n == NULL) {
		return KASP_ERR_INVAL;
	}
	/* One statement, one snapshot: each key comes with up to four state
	 * rows (record, state, changed in columns 16..18). */
	sqlite3_stmt *st = NULL;
	int ret = prepare(db,
	                  "SELECT k.id, k.role, k.algorithm, k.tag, k.locator, k.token, k.pubkey,"
	                  " k.created, k.published, k.removed, k.purged, k.ds_seen, k.ds_gone,"
	                  " k.goal, k.backup_confirmed, k.revoked, s.record, s.state, s.changed"
	                  " FROM keys k LEFT JOIN key_states s ON s.key = k.id"
	                  " WHERE k.zone = ?1 ORDER BY k.id, s.record",
	                  &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	kasp_key_t *kv = NULL;
	kasp_db_key_info_t *iv = NULL;
	size_t count = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
		if (count == 0 || kv[count - 1].id != id) {
			if (count == cap) {
				size_t ncap = cap ? 2 * cap : 8;
				kasp_key_t *nk = realloc(kv, ncap * sizeof(*kv));
				if (nk == NULL) {
					ret = KASP_ERR_NOMEM;
					goto fail;
				}
				kv = nk;
				kasp_db_key_info_t *ni = realloc(iv, ncap * sizeof(*iv));
				if (ni == NULL) {
					ret = KASP_ERR_NOMEM;
					goto fail;
				}
				iv = ni;
				cap = ncap;
			}
			ret = key_from_row(st, &kv[count], &iv[count]);
			count++; /* freed with the others even when incomplete */
			if (ret != KASP_OK) {
				goto fail;
			}
		}
		if (sqlite3_column_type(st, 16) != SQLITE_NULL) {
			int r = sqlite3_column_int(st, 16);
			if (r >= 0 && r < KASP_RECORDS) {
				kv[count - 1].state[r] = (kasp_state_t)sqlite3_column_int(st, 17);
				kv[count - 1].changed[r] = sqlite3_column_int64(st, 18);
			}
		}
	}
	if (rc != SQLITE_DONE) {
		ret = sql_fail(db, rc, "reading the keys");
		goto fail;
	}
	sqlite3_finalize(st);
	if (count == 0) {
		free(kv);
		free(iv);
		kv = NULL;
		iv = NULL;
	}
	*keys = kv;
	*info = iv;
	*n = count;
	return KASP_OK;
fail:
	sqlite3_finalize(st);
	kasp_db_keys_free(kv, iv, count);
	return ret;
}

int kasp_db_key_save(kasp_db_t *db, const kasp_key_t *k)
{
	if (db == NULL || k == NULL) {
		return KASP_ERR_INVAL;
	}
	for (int r = 0; r < KASP_RECORDS; r++) {
		if ((int)k->state[r] < KASP_NA || (int)k->state[r] > KASP_UNRETENTIVE) {
			set_err(db, "kasp_db_key_save: key %" PRIu32 ": state %d out of range",
			        k->id, (int)k->state[r]);
			return KASP_ERR_INVAL;
		}
	}
	int ret = need_txn(db, "kasp_db_key_save");
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_stmt *st = NULL;
	ret = prepare(db,
	              "UPDATE keys SET goal = ?2, published = ?3, ds_seen = ?4, ds_gone = ?5,"
	              " revoked = ?6 WHERE id = ?1",
	              &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_int64(st, 1, k->id);
	sqlite3_bind_int(st, 2, k->goal ? 1 : 0);
	sqlite3_bind_int64(st, 3, k->published);
	sqlite3_bind_int64(st, 4, k->ds_seen);
	sqlite3_bind_int64(st, 5, k->ds_gone);
	sqlite3_bind_int64(st, 6, k->revoked);
	ret = step_done(db, st, "saving the key");
	sqlite3_finalize(st);
	if (ret != KASP_OK) {
		return ret;
	}
	if (sqlite3_changes(db->sql) == 0) {
		set_err(db, "kasp_db_key_save: no key %" PRIu32, k->id);
		return KASP_ERR_DB_MISSING;
	}
	return save_states(db, k->id, k);
}

/* UPDATE keys SET column = when WHERE id = id (column is ours). */
static int key_set(kasp_db_t *db, const char *fn, uint32_t id, const char *column, int64_t when)
{
	if (db == NULL) {
		return KASP_ERR_INVAL;
	}
	int ret = need_txn(db, fn);
	if (ret != KASP_OK) {
		return ret;
	}
	char sql[96];
	snprintf(sql, sizeof(sql), "UPDATE keys SET %s = ?1 WHERE id = ?2", column);
	sqlite3_stmt *st = NULL;
	ret = prepare(db, sql, &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_int64(st, 2, id);
	ret = step_done(db, st, fn);
	sqlite3_finalize(st);
	if (ret == KASP_OK && sqlite3_changes(db->sql) == 0) {
		set_err(db, "%s: no key %" PRIu32, fn, id);
		ret = KASP_ERR_DB_MISSING;
	}
	return ret;
}

int kasp_db_key_set_removed(kasp_db_t *db, uint32_t id, int64_t when)
{
	return key_set(db, "kasp_db_key_set_removed", id, "removed", when);
}

int kasp_db_key_set_purged(kasp_db_t *db, uint32_t id, int64_t when)
{
	return key_set(db, "kasp_db_key_set_purged", id, "purged", when);
}

int kasp_db_key_set_backup_confirmed(kasp_db_t *db, uint32_t id, int64_t when)
{
	return key_set(db, "kasp_db_key_set_backup_confirmed", id, "backup_confirmed", when);
}

int kasp_db_key_find(kasp_db_t *db, const char *zone, uint8_t algorithm, uint16_t tag,
                     const uint8_t *pubkey, size_t len, uint32_t *id, bool *found)
{
	if (db == NULL || zone == NULL || pubkey == NULL || len == 0 || len > INT32_MAX ||
	    id == NULL || found == NULL) {
		return KASP_ERR_INVAL;
	}
	sqlite3_stmt *st = NULL;
	int ret = prepare(db,
	                  "SELECT id FROM keys WHERE zone = ?1 AND algorithm = ?2 AND tag = ?3"
	                  " AND pubkey = ?4",
	                  &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, algorithm);
	sqlite3_bind_int(st, 3, tag);
	sqlite3_bind_blob(st, 4, pubkey, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = (uint32_t)sqlite3_column_int64(st, 0);
		*found = true;
	} else if (rc == SQLITE_DONE) {
		*found = false;
	} else {
		ret = sql_fail(db, rc, "looking up the key");
	}
	sqlite3_finalize(st);
	return ret;
}

int kasp_db_tag_in_use(kasp_db_t *db, const char *zone, uint16_t tag, bool *in_use)
{
	if (db == NULL || zone == NULL || in_use == NULL) {
		return KASP_ERR_INVAL;
	}
	sqlite3_stmt *st = NULL;
	int ret =
	        prepare(db, "SELECT 1 FROM keys WHERE zone = ?1 AND tag = ?2 AND purged = 0", &st);
	if (ret != KASP_OK) {
		return ret;
	}
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, tag);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*in_use = rc == SQLITE_ROW;
	} else {
		ret = sql_fail(db, rc, "looking up the tag");
	}
	sqlite3_finalize(st);
	return ret;
}

/* Backup */

/* fsyncs the directory holding path, so that a rename in it is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL   ? strdup(".")
	            : slash == path ? strdup("/")
	                            : strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		return KASP_ERR_NOMEM;
	}
	int ret = KASP_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		ret = -errno;
	}
	if (fd >= 0) {
		close(fd);
	}
	free(dir);
	return ret;
}

int kasp_db_backup(kasp_db_t *db, const char *path)
{
	if (db == NULL || path == NULL || *path == '\0') {
		return KASP_ERR_INVAL;
	}
	if (!sqlite3_get_autocommit(db->sql)) {
		set_err(db, "kasp_db_backup: inside a transaction (its changes are not committed)");
		return KASP_ERR_DB_TXN;
	}
	size_t len = strlen(path);
	char *tmp = malloc(len + 5);
	if (tmp == NULL) {
		return KASP_ERR_NOMEM;
	}
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp", 5);
	unlink(tmp);

	int ret = KASP_OK;
	sqlite3 *dst = NULL;
	int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		set_err(db, "backup: %s: %s", tmp,
		        dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		ret = dst != NULL ? KASP_ERR_DB : KASP_ERR_NOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(dst, KASP_DB_BUSY_MS);
	sqlite3_exec(dst, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", db->sql, "main");
	if (b == NULL) {
		set_err(db, "backup: %s: %s", tmp, sqlite3_errmsg(dst));
		ret = KASP_ERR_DB;
		goto fail;
	}
	/* Every page in one step: one read transaction on the source, hence a
	 * snapshot of its last commit. */
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		set_err(db, "backup: %s: %s", tmp, sqlite3_errstr(rc));
		ret = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? KASP_ERR_DB_BUSY : KASP_ERR_DB;
		goto fail;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		set_err(db, "backup: %s: closing: %s", tmp, sqlite3_errstr(rc));
		ret = KASP_ERR_DB;
		goto fail;
	}
	/* A WAL or shared-memory file left beside an older file of that name
	 * would be applied to the new one when it is opened. */
	static const char *const sides[] = {"-wal", "-shm"};
	for (size_t i = 0; i < 2; i++) {
		char side[PATH_MAX];
		if (snprintf(side, sizeof(side), "%s%s", path, sides[i]) < (int)sizeof(side) &&
		    unlink(side) != 0 && errno != ENOENT) {
			ret = -errno;
			set_err(db, "backup: removing %s: %s", side, strerror(errno));
			goto fail;
		}
	}
	if (rename(tmp, path) != 0) {
		ret = -errno;
		set_err(db, "backup: rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	ret = sync_dir(path);
	if (ret != KASP_OK) {
		set_err(db, "backup: syncing the directory of %s: %s", path, kasp_strerror(ret));
	}
	free(tmp);
	return ret;
fail:
	sqlite3_close(dst);
	unlink(tmp);
	free(tmp);
	return ret;
}
