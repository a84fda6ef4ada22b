/*
 * The key store: schema and pragmas, every field round trip, transactions
 * (rollback, close without commit, writes outside one), lookups by
 * algorithm + tag + public key, the tag collision check, zone removal,
 * online backup and error detail. Each test works on its own file in a
 * temporary directory.
 */
#include "kasp/kasp_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kasp/kasp_error.h"
#include "tests/support/testutil.h"

static char dir[64];

/* A fresh path in the temporary directory (static storage, reused after
 * four calls), with no file, -wal, -shm, -journal or .tmp there. */
static const char *fresh(const char *name)
{
	static char paths[4][192];
	static unsigned next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal", ".tmp"};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		char f[224];
		snprintf(f, sizeof(f), "%s%s", p, sfx[i]);
		unlink(f);
	}
	return p;
}

static kasp_db_t *open_ok(const char *path)
{
	char err[256] = "";
	kasp_db_t *db = NULL;
	int ret = kasp_db_open(path, &db, err, sizeof(err));
	if (ret != KASP_OK) {
		fprintf(stderr, "kasp_db_open: %s\n", err);
	}
	CU_ASSERT_EQUAL_FATAL(ret, KASP_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	return db;
}

/* Runs one SQL statement on path through a separate connection; returns the
 * first column of the first row as an integer (or text into buf). */
static int64_t raw_sql(const char *path, const char *sql, char *buf, size_t len)
{
	sqlite3 *s = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &s), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	int64_t v = -1;
	int rc = sqlite3_step(st);
	CU_ASSERT(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (buf != NULL) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

static const uint8_t pub_a[] = {1, 1, 3, 13, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x11};
static const uint8_t pub_b[] = {1, 1, 3, 13, 0x55, 0x66, 0x77, 0x88, 0x00, 0x22};
static const uint8_t pub_c[] = {1, 0, 3, 13, 0x01, 0x02};

static kasp_key_t make_key(unsigned role, uint16_t tag)
{
	kasp_key_t k = {.algorithm = 13, .tag = tag, .role = role, .goal = true};
	for (int r = 0; r < KASP_RECORDS; r++) {
		k.state[r] = KASP_HIDDEN;
	}
	if (!(role & KASP_ROLE_KSK)) {
		k.state[KASP_DS] = KASP_NA;
		k.state[KASP_KRRSIG] = KASP_NA;
	}
	if (!(role & KASP_ROLE_ZSK)) {
		k.state[KASP_ZRRSIG] = KASP_NA;
	}
	return k;
}

static kasp_db_key_info_t make_info(const char *locator, const uint8_t *pub, size_t len)
{
	return (kasp_db_key_info_t){.locator = (char *)locator,
	                            .token = (char *)"main",
	                            .pubkey = (uint8_t *)pub,
	                            .pubkey_len = len,
	                            .created = 1700000000};
}

static uint32_t add_key(kasp_db_t *db, const char *zone, kasp_key_t k, const char *locator,
                        const uint8_t *pub, size_t len)
{
	kasp_db_key_info_t info = make_info(locator, pub, len);
	uint32_t id = 0;
	CU_ASSERT_EQUAL_FATAL(kasp_db_key_add(db, zone, &k, &info, &id), KASP_OK);
	CU_ASSERT(id > 0);
	return id;
}

static void assert_key_equal(const kasp_key_t *a, const kasp_key_t *b)
{
	CU_ASSERT_EQUAL(a->id, b->id);
	CU_ASSERT_EQUAL(a->algorithm, b->algorithm);
	CU_ASSERT_EQUAL(a->tag, b->tag);
	CU_ASSERT_EQUAL(a->role, b->role);
	CU_ASSERT_EQUAL(a->goal, b->goal);
	for (int r = 0; r < KASP_RECORDS; r++) {
		CU_ASSERT_EQUAL(a->state[r], b->state[r]);
		CU_ASSERT_EQUAL(a->changed[r], b->changed[r]);
	}
	CU_ASSERT_EQUAL(a->published, b->published);
	CU_ASSERT_EQUAL(a->ds_seen, b->ds_seen);
	CU_ASSERT_EQUAL(a->ds_gone, b->ds_gone);
	CU_ASSERT_EQUAL(a->revoked, b->revoked);
}

/* The keys of zone into *k and *info (the caller's: kasp_db_keys_free);
 * returns how many. */
static size_t load(kasp_db_t *db, const char *zone, kasp_key_t **k, kasp_db_key_info_t **info)
{
	size_t n = 99;
	CU_ASSERT_EQUAL_FATAL(kasp_db_keys(db, zone, k, info, &n), KASP_OK);
	return n;
}

static void test_kasp_db_open_sets_wal_and_schema_version(void)
{
	const char *path = fresh("wal.db");
	kasp_db_t *db = open_ok(path);
	char mode[32] = "";
	raw_sql(path, "PRAGMA journal_mode", mode, sizeof(mode));
	CU_ASSERT_STRING_EQUAL(mode, "wal");
	CU_ASSERT_EQUAL(
	        raw_sql(path, "SELECT value FROM meta WHERE name = 'schema_version'", NULL, 0),
	        KASP_DB_SCHEMA);
	CU_ASSERT_STRING_EQUAL(kasp_db_error(db), "");
	kasp_db_close(db);
	/* A second open of the same file keeps what is there. */
	db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	kasp_db_close(db);
	db = open_ok(path);
	kasp_db_zone_t z = {0};
	bool found = false;
	CU_ASSERT_EQUAL(kasp_db_zone_get(db, "example.", &z, &found), KASP_OK);
	CU_ASSERT(found);
	kasp_db_zone_deinit(&z);
	kasp_db_close(db);
	kasp_db_close(NULL);
}

static void test_kasp_db_refuses_schema_from_the_future(void)
{
	const char *path = fresh("future.db");
	kasp_db_close(open_ok(path));
	raw_sql(path, "UPDATE meta SET value = 99 WHERE name = 'schema_version'", NULL, 0);
	char err[256] = "";
	kasp_db_t *sentinel = (kasp_db_t *)&err, *db = sentinel;
	CU_ASSERT_EQUAL(kasp_db_open(path, &db, err, sizeof(err)), KASP_ERR_DB_SCHEMA);
	CU_ASSERT_PTR_EQUAL(db, sentinel);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "schema_version 99 is newer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "knows version 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	/* Nothing changed. */
	CU_ASSERT_EQUAL(
	        raw_sql(path, "SELECT value FROM meta WHERE name = 'schema_version'", NULL, 0), 99);
	/* An unknown older version is refused too. */
	raw_sql(path, "UPDATE meta SET value = -3 WHERE name = 'schema_version'", NULL, 0);
	CU_ASSERT_EQUAL(kasp_db_open(path, &db, err, sizeof(err)), KASP_ERR_DB_SCHEMA);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is unknown"));
	CU_ASSERT_PTR_EQUAL(db, sentinel);
}

static void test_kasp_db_errors_carry_the_sqlite_message(void)
{
	/* Not a database. */
	const char *path = fresh("garbage.db");
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	for (int i = 0; i < 64; i++) {
		fputs("this is not an SQLite file at all. ", fp);
	}
	fclose(fp);
	char err[256] = "";
	kasp_db_t *db = NULL;
	CU_ASSERT_EQUAL(kasp_db_open(path, &db, err, sizeof(err)), KASP_ERR_DB);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "file is not a database"));
	/* A directory that does not exist. */
	CU_ASSERT_EQUAL(kasp_db_open("/nonexistent/dir/x.db", &db, err, sizeof(err)), KASP_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unable to open database file"));
	CU_ASSERT_EQUAL(kasp_db_open(NULL, &db, err, sizeof(err)), KASP_ERR_INVAL);

	/* A constraint: the same token and locator twice in a zone. */
	db = open_ok(fresh("constraint.db"));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "EXAMPLE.", "other"), KASP_ERR_DB_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "UNIQUE constraint failed: zones.name"));
	add_key(db, "example.", make_key(KASP_ROLE_CSK, 100), "0a0b", pub_a, sizeof(pub_a));
	kasp_key_t k = make_key(KASP_ROLE_ZSK, 200);
	kasp_db_key_info_t info = make_info("0a0b", pub_b, sizeof(pub_b));
	uint32_t id = 77;
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_DB_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "UNIQUE constraint failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "keys.locator"));
	/* One public key twice under one algorithm. */
	info = make_info("0c0d", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_DB_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "keys.pubkey"));
	CU_ASSERT_EQUAL(id, 77);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	kasp_db_close(db);

	for (int s = KASP_ERR_DB; s >= KASP_ERR_DB_BUSY; s--) {
		CU_ASSERT_STRING_NOT_EQUAL(kasp_strerror(s), "unknown kasp status");
	}
}

static void test_kasp_db_zone_round_trip(void)
{
	kasp_db_t *db = open_ok(fresh("zones.db"));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "b.example.", "pol-b"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "a.example.", "pol-a"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "c.example.", ""), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "a.example.", 1700000123), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_set_clock_ack(db, "a.example.", true), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "nope.", 1), KASP_ERR_DB_MISSING);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "no zone nope."));
	CU_ASSERT_EQUAL(kasp_db_zone_set_clock_ack(db, "nope.", true), KASP_ERR_DB_MISSING);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);

	kasp_db_zone_t z = {0};
	bool found = false;
	CU_ASSERT_EQUAL(kasp_db_zone_get(db, "A.Example.", &z, &found), KASP_OK);
	CU_ASSERT_FATAL(found);
	CU_ASSERT_STRING_EQUAL(z.name, "a.example.");
	CU_ASSERT_STRING_EQUAL(z.policy, "pol-a");
	CU_ASSERT_EQUAL(z.last_acted, 1700000123);
	CU_ASSERT(z.clock_ack);
	kasp_db_zone_deinit(&z);
	CU_ASSERT_PTR_NULL(z.name);

	kasp_db_zone_t untouched = {.last_acted = 5};
	found = true;
	CU_ASSERT_EQUAL(kasp_db_zone_get(db, "nope.", &untouched, &found), KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(untouched.last_acted, 5);

	kasp_db_zone_t *zs = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL(kasp_db_zones(db, &zs, &n), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(zs[0].name, "a.example.");
	CU_ASSERT_STRING_EQUAL(zs[1].name, "b.example.");
	CU_ASSERT_STRING_EQUAL(zs[1].policy, "pol-b");
	CU_ASSERT_EQUAL(zs[1].last_acted, 0);
	CU_ASSERT(!zs[1].clock_ack);
	kasp_db_zones_free(zs, n);
	kasp_db_zones_free(NULL, 0);

	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_remove(db, "b.example."), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_remove(db, "b.example."), KASP_ERR_DB_MISSING);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zones(db, &zs, &n), KASP_OK);
	CU_ASSERT_EQUAL(n, 1);
	kasp_db_zones_free(zs, n);
	kasp_db_close(db);
}

static void test_kasp_db_key_round_trip_of_every_field(void)
{
	const char *path = fresh("keys.db");
	kasp_db_t *db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	kasp_key_t k = {.id = 999, /* ignored */
	                .algorithm = 15,
	                .tag = 65535,
	                .role = KASP_ROLE_KSK,
	                .goal = true,
	                .state = {KASP_RUMOURED, KASP_OMNIPRESENT, KASP_UNRETENTIVE, KASP_NA},
	                .changed = {1700000001, 1700000002, 1700000003, 0},
	                .published = 1600000000,
	                .ds_seen = 1700000100,
	                .ds_gone = 0,
	                .revoked = 1650000000};
	kasp_db_key_info_t in = {.locator = (char *)"00ff10ab",
	                         .token = (char *)"ksk-token",
	                         .pubkey = (uint8_t *)pub_a,
	                         .pubkey_len = sizeof(pub_a),
	                         .created = -5, /* times are plain int64 */
	                         .removed = 42, /* ignored on add */
	                         .purged = 43,
	                         .backup_confirmed = 44};
	uint32_t id = 0;
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &in, &id), KASP_OK);
	CU_ASSERT_EQUAL(id, 1);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	kasp_db_close(db);
	db = open_ok(path);

	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	CU_ASSERT_EQUAL_FATAL(load(db, "example.", &keys, &info), 1);
	k.id = id;
	assert_key_equal(&keys[0], &k);
	CU_ASSERT_STRING_EQUAL(info[0].locator, "00ff10ab");
	CU_ASSERT_STRING_EQUAL(info[0].token, "ksk-token");
	CU_ASSERT_EQUAL_FATAL(info[0].pubkey_len, sizeof(pub_a));
	CU_ASSERT(memcmp(info[0].pubkey, pub_a, sizeof(pub_a)) == 0);
	CU_ASSERT_EQUAL(info[0].created, -5);
	CU_ASSERT_EQUAL(info[0].removed, 0);
	CU_ASSERT_EQUAL(info[0].purged, 0);
	CU_ASSERT_EQUAL(info[0].backup_confirmed, 0);
	kasp_db_keys_free(keys, info, 1);

	/* Save: every saved field changes; role, algorithm and tag stay. */
	k.goal = false;
	k.state[KASP_DS] = KASP_HIDDEN;
	k.state[KASP_DNSKEY] = KASP_UNRETENTIVE;
	k.state[KASP_KRRSIG] = KASP_HIDDEN;
	k.changed[KASP_DS] = INT64_MAX;
	k.changed[KASP_DNSKEY] = 1800000000;
	k.changed[KASP_KRRSIG] = 1800000001;
	k.changed[KASP_ZRRSIG] = INT64_MIN;
	k.published = 1600000001;
	k.ds_seen = 1700000101;
	k.ds_gone = 1800000002;
	k.revoked = 1800000003; /* RFC 5011: published with the REVOKE bit */
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_save(db, &k), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_removed(db, id, 1800000010), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, id, 1900000000), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_backup_confirmed(db, id, 1700000050), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	kasp_db_close(db);
	db = open_ok(path);
	CU_ASSERT_EQUAL_FATAL(load(db, "example.", &keys, &info), 1);
	assert_key_equal(&keys[0], &k);
	CU_ASSERT_EQUAL(keys[0].role, KASP_ROLE_KSK);
	CU_ASSERT_EQUAL(keys[0].algorithm, 15);
	CU_ASSERT_EQUAL(info[0].removed, 1800000010);
	CU_ASSERT_EQUAL(info[0].purged, 1900000000);
	CU_ASSERT_EQUAL(info[0].backup_confirmed, 1700000050);
	CU_ASSERT_EQUAL(info[0].created, -5);
	kasp_db_keys_free(keys, info, 1);

	/* Several keys come back by id; another zone's keys are not mixed in. */
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "other.", "default"), KASP_OK);
	uint32_t id2 =
	        add_key(db, "example.", make_key(KASP_ROLE_ZSK, 7), "01", pub_b, sizeof(pub_b));
	uint32_t id3 =
	        add_key(db, "other.", make_key(KASP_ROLE_CSK, 8), "02", pub_c, sizeof(pub_c));
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(load(db, "example.", &keys, &info), 2);
	CU_ASSERT_EQUAL(keys[0].id, id);
	CU_ASSERT_EQUAL(keys[1].id, id2);
	kasp_key_t want = make_key(KASP_ROLE_ZSK, 7);
	want.id = id2;
	assert_key_equal(&keys[1], &want);
	kasp_db_keys_free(keys, info, 2);
	CU_ASSERT_EQUAL_FATAL(load(db, "other.", &keys, &info), 1);
	CU_ASSERT_EQUAL(keys[0].id, id3);
	kasp_db_keys_free(keys, info, 1);
	CU_ASSERT_EQUAL(load(db, "none.", &keys, &info), 0);
	CU_ASSERT_PTR_NULL(keys);
	CU_ASSERT_PTR_NULL(info);
	kasp_db_keys_free(NULL, NULL, 0);
	kasp_db_close(db);
}

static void test_kasp_db_refuses_bad_keys_and_missing_rows(void)
{
	kasp_db_t *db = open_ok(fresh("bad.db"));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	uint32_t id = 77;
	kasp_key_t k = make_key(0, 1);
	kasp_db_key_info_t info = make_info("01", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_INVAL);
	k = make_key(KASP_ROLE_CSK, 1);
	k.state[KASP_DS] = (kasp_state_t)9;
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_INVAL);
	k = make_key(KASP_ROLE_CSK, 1);
	info.pubkey_len = 0;
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_INVAL);
	info = make_info("", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &k, &info, &id), KASP_ERR_INVAL);
	info = make_info("01", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "nope.", &k, &info, &id), KASP_ERR_DB_MISSING);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "no zone nope."));
	CU_ASSERT_EQUAL(id, 77);

	k.id = 12345;
	CU_ASSERT_EQUAL(kasp_db_key_save(db, &k), KASP_ERR_DB_MISSING);
	CU_ASSERT_EQUAL(kasp_db_key_set_removed(db, 12345, 1), KASP_ERR_DB_MISSING);
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, 12345, 1), KASP_ERR_DB_MISSING);
	CU_ASSERT_EQUAL(kasp_db_key_set_backup_confirmed(db, 12345, 1), KASP_ERR_DB_MISSING);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "no key 12345"));
	id = add_key(db, "example.", k, "01", pub_a, sizeof(pub_a));
	k.id = id;
	k.state[KASP_ZRRSIG] = (kasp_state_t)5;
	CU_ASSERT_EQUAL(kasp_db_key_save(db, &k), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);

	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *in = NULL;
	CU_ASSERT_EQUAL_FATAL(load(db, "example.", &keys, &in), 1);
	CU_ASSERT_EQUAL(keys[0].state[KASP_ZRRSIG], KASP_HIDDEN);
	kasp_db_keys_free(keys, in, 1);
	kasp_db_close(db);
}

static void test_kasp_db_writes_need_a_transaction(void)
{
	const char *path = fresh("txn.db");
	kasp_db_t *db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	kasp_key_t k = make_key(KASP_ROLE_CSK, 5);
	k.id = add_key(db, "example.", k, "01", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_rollback(db), KASP_OK);

	kasp_key_t changed = k;
	changed.state[KASP_DNSKEY] = KASP_RUMOURED;
	kasp_db_key_info_t info = make_info("02", pub_b, sizeof(pub_b));
	uint32_t id = 77;
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "other.", "default"), KASP_ERR_DB_TXN);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "not inside a transaction"));
	CU_ASSERT_EQUAL(kasp_db_zone_remove(db, "example."), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "example.", 9), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_zone_set_clock_ack(db, "example.", true), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_key_add(db, "example.", &changed, &info, &id), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(id, 77);
	CU_ASSERT_EQUAL(kasp_db_key_save(db, &changed), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_key_set_removed(db, k.id, 9), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, k.id, 9), KASP_ERR_DB_TXN);
	CU_ASSERT_EQUAL(kasp_db_key_set_backup_confirmed(db, k.id, 9), KASP_ERR_DB_TXN);
	kasp_db_close(db);

	/* Nothing changed. */
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT count(*) FROM zones", NULL, 0), 1);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT count(*) FROM keys", NULL, 0), 1);
	CU_ASSERT_EQUAL(raw_sql(path,
	                        "SELECT removed + purged + backup_confirmed + ds_seen FROM keys",
	                        NULL, 0),
	                0);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT state FROM key_states WHERE record = 1", NULL, 0),
	                KASP_HIDDEN);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT last_acted + clock_ack FROM zones", NULL, 0), 0);
}

/* The one key of example., the zone example. (*z is the caller's) and the
 * number of zones. */
static void snapshot(kasp_db_t *db, kasp_key_t *k, kasp_db_zone_t *z, size_t *nzones)
{
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	CU_ASSERT_EQUAL_FATAL(load(db, "example.", &keys, &info), 1);
	*k = keys[0];
	kasp_db_keys_free(keys, info, 1);
	bool found = false;
	CU_ASSERT_EQUAL(kasp_db_zone_get(db, "example.", z, &found), KASP_OK);
	CU_ASSERT_FATAL(found);
	kasp_db_zone_t *zs = NULL;
	CU_ASSERT_EQUAL(kasp_db_zones(db, &zs, nzones), KASP_OK);
	kasp_db_zones_free(zs, *nzones);
}

/* Changes the key, the zone and adds a zone and a key, uncommitted. */
static void change_everything(kasp_db_t *db, kasp_key_t k)
{
	CU_ASSERT_EQUAL_FATAL(kasp_db_begin(db), KASP_OK);
	k.state[KASP_DNSKEY] = KASP_OMNIPRESENT;
	k.changed[KASP_DNSKEY] = 1700009999;
	k.published = 1700009999;
	CU_ASSERT_EQUAL(kasp_db_key_save(db, &k), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_removed(db, k.id, 5), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "example.", 1700009999), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "new.", "default"), KASP_OK);
	add_key(db, "new.", make_key(KASP_ROLE_CSK, 3), "03", pub_c, sizeof(pub_c));
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	CU_ASSERT_EQUAL(load(db, "example.", &keys, &info), 1);
	CU_ASSERT_EQUAL(keys[0].state[KASP_DNSKEY], KASP_OMNIPRESENT); /* seen inside */
	kasp_db_keys_free(keys, info, 1);
}

static void test_kasp_db_rollback_and_unclean_close_keep_the_last_commit(void)
{
	const char *path = fresh("rollback.db");
	kasp_db_t *db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "example.", 1700000000), KASP_OK);
	kasp_key_t k = make_key(KASP_ROLE_CSK, 11);
	k.state[KASP_DNSKEY] = KASP_RUMOURED;
	k.changed[KASP_DNSKEY] = 1700000000;
	k.id = add_key(db, "example.", k, "01", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);

	kasp_key_t before, after;
	kasp_db_zone_t zb = {0}, za = {0};
	size_t nb = 0, na = 0;
	snapshot(db, &before, &zb, &nb);
	CU_ASSERT_EQUAL(nb, 1);
	assert_key_equal(&before, &k);

	/* Rollback. */
	change_everything(db, k);
	CU_ASSERT_EQUAL(kasp_db_rollback(db), KASP_OK);
	snapshot(db, &after, &za, &na);
	assert_key_equal(&after, &before);
	CU_ASSERT_EQUAL(za.last_acted, zb.last_acted);
	CU_ASSERT_EQUAL(na, nb);
	kasp_db_zone_deinit(&za);

	/* Closed without a commit (a crash between begin and commit). */
	change_everything(db, k);
	kasp_db_close(db);
	db = open_ok(path);
	snapshot(db, &after, &za, &na);
	assert_key_equal(&after, &before);
	CU_ASSERT_EQUAL(za.last_acted, zb.last_acted);
	CU_ASSERT_EQUAL(na, nb);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT count(*) FROM key_states", NULL, 0), 4);
	kasp_db_zone_deinit(&za);
	kasp_db_zone_deinit(&zb);
	kasp_db_close(db);
}

static void test_kasp_db_find_by_algorithm_tag_and_public_key(void)
{
	kasp_db_t *db = open_ok(fresh("find.db"));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "other.", "default"), KASP_OK);
	/* Two keys with one tag, told apart by their public keys. */
	uint32_t a =
	        add_key(db, "example.", make_key(KASP_ROLE_KSK, 4242), "0a", pub_a, sizeof(pub_a));
	uint32_t b =
	        add_key(db, "example.", make_key(KASP_ROLE_ZSK, 4242), "0b", pub_b, sizeof(pub_b));
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_NOT_EQUAL(a, b);

	uint32_t id = 0;
	bool found = false;
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 13, 4242, pub_a, sizeof(pub_a), &id, &found),
	        KASP_OK);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(id, a);
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 13, 4242, pub_b, sizeof(pub_b), &id, &found),
	        KASP_OK);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(id, b);

	/* Any one of the three wrong: not found, id untouched. */
	id = 77;
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 8, 4242, pub_a, sizeof(pub_a), &id, &found),
	        KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 13, 4243, pub_a, sizeof(pub_a), &id, &found),
	        KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 13, 4242, pub_c, sizeof(pub_c), &id, &found),
	        KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(
	        kasp_db_key_find(db, "example.", 13, 4242, pub_a, sizeof(pub_a) - 1, &id, &found),
	        KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(kasp_db_key_find(db, "other.", 13, 4242, pub_a, sizeof(pub_a), &id, &found),
	                KASP_OK);
	CU_ASSERT(!found);
	CU_ASSERT_EQUAL(id, 77);
	CU_ASSERT_EQUAL(kasp_db_key_find(db, "example.", 13, 4242, NULL, 0, &id, &found),
	                KASP_ERR_INVAL);
	kasp_db_close(db);
}

static void test_kasp_db_tag_in_use_until_purged(void)
{
	kasp_db_t *db = open_ok(fresh("tag.db"));
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "other.", "default"), KASP_OK);
	uint32_t id =
	        add_key(db, "example.", make_key(KASP_ROLE_CSK, 300), "01", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	bool used = false;
	CU_ASSERT_EQUAL(kasp_db_tag_in_use(db, "example.", 300, &used), KASP_OK);
	CU_ASSERT(used);
	CU_ASSERT_EQUAL(kasp_db_tag_in_use(db, "example.", 301, &used), KASP_OK);
	CU_ASSERT(!used);
	CU_ASSERT_EQUAL(kasp_db_tag_in_use(db, "other.", 300, &used), KASP_OK);
	CU_ASSERT(!used);
	/* Removed from the key set but still in the token: still in use. */
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_removed(db, id, 1700000000), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_tag_in_use(db, "example.", 300, &used), KASP_OK);
	CU_ASSERT(used);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, id, 1701209600), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_tag_in_use(db, "example.", 300, &used), KASP_OK);
	CU_ASSERT(!used);
	kasp_db_close(db);
}

static void test_kasp_db_zone_removal_refused_until_keys_purged(void)
{
	const char *path = fresh("remove.db");
	kasp_db_t *db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "other.", "default"), KASP_OK);
	uint32_t a =
	        add_key(db, "example.", make_key(KASP_ROLE_KSK, 1), "01", pub_a, sizeof(pub_a));
	uint32_t b =
	        add_key(db, "example.", make_key(KASP_ROLE_ZSK, 2), "02", pub_b, sizeof(pub_b));
	add_key(db, "other.", make_key(KASP_ROLE_CSK, 3), "03", pub_c, sizeof(pub_c));
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, a, 1700000000), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_remove(db, "example."), KASP_ERR_DB_KEYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "1 key(s) not purged"));
	CU_ASSERT_EQUAL(kasp_db_key_set_purged(db, b, 1700000000), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_remove(db, "example."), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);

	/* The zone's keys and their states went with it (cascade); other.'s stay. */
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	CU_ASSERT_EQUAL(load(db, "example.", &keys, &info), 0);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT count(*) FROM keys", NULL, 0), 1);
	CU_ASSERT_EQUAL(raw_sql(path, "SELECT count(*) FROM key_states", NULL, 0), 4);
	CU_ASSERT_EQUAL(raw_sql(path, "PRAGMA foreign_key_check", NULL, 0), -1); /* no rows */
	bool found = true;
	uint32_t id = 0;
	CU_ASSERT_EQUAL(kasp_db_key_find(db, "example.", 13, 1, pub_a, sizeof(pub_a), &id, &found),
	                KASP_OK);
	CU_ASSERT(!found);
	kasp_db_close(db);
}

static void test_kasp_db_backup_is_a_snapshot_of_the_last_commit(void)
{
	const char *path = fresh("live.db");
	const char *copy = fresh("backup.db");
	kasp_db_t *db = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(db), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(db, "example.", "default"), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_set_last_acted(db, "example.", 1700000500), KASP_OK);
	kasp_key_t k = make_key(KASP_ROLE_CSK, 900);
	k.state[KASP_DS] = KASP_RUMOURED;
	k.changed[KASP_DS] = 1700000400;
	k.ds_seen = 1700000450;
	k.id = add_key(db, "example.", k, "beef", pub_a, sizeof(pub_a));
	CU_ASSERT_EQUAL(kasp_db_key_set_backup_confirmed(db, k.id, 1700000460), KASP_OK);
	/* Inside a transaction: refused, nothing written. */
	CU_ASSERT_EQUAL(kasp_db_backup(db, copy), KASP_ERR_DB_TXN);
	CU_ASSERT_NOT_EQUAL(access(copy, F_OK), 0);
	CU_ASSERT_EQUAL(kasp_db_commit(db), KASP_OK);

	/* Another connection (the daemon) holds an uncommitted change. */
	kasp_db_t *daemon = open_ok(path);
	CU_ASSERT_EQUAL(kasp_db_begin(daemon), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_zone_add(daemon, "uncommitted.", "default"), KASP_OK);

	CU_ASSERT_EQUAL(kasp_db_backup(db, copy), KASP_OK);
	CU_ASSERT_EQUAL(kasp_db_rollback(daemon), KASP_OK);
	kasp_db_close(daemon);
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", copy);
	CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
	/* A second backup replaces the first, and a WAL file left beside the
	 * old one (a reader that crashed) is not applied to it. */
	char wal[256];
	snprintf(wal, sizeof(wal), "%s-wal", copy);
	FILE *fp = fopen(wal, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("stale", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(kasp_db_backup(db, copy), KASP_OK);
	CU_ASSERT_NOT_EQUAL(access(wal, F_OK), 0);
	CU_ASSERT_EQUAL(kasp_db_backup(db, "/nonexistent/dir/b.db"), KASP_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(kasp_db_error(db), "unable to open database file"));

	kasp_db_t *b = open_ok(copy);
	kasp_db_zone_t *zs = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL(kasp_db_zones(b, &zs, &n), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(zs[0].name, "example.");
	CU_ASSERT_STRING_EQUAL(zs[0].policy, "default");
	CU_ASSERT_EQUAL(zs[0].last_acted, 1700000500);
	kasp_db_zones_free(zs, n);
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	CU_ASSERT_EQUAL_FATAL(load(b, "example.", &keys, &info), 1);
	assert_key_equal(&keys[0], &k);
	CU_ASSERT_STRING_EQUAL(info[0].locator, "beef");
	CU_ASSERT_STRING_EQUAL(info[0].token, "main");
	CU_ASSERT_EQUAL(info[0].pubkey_len, sizeof(pub_a));
	CU_ASSERT_EQUAL(info[0].created, 1700000000);
	CU_ASSERT_EQUAL(info[0].backup_confirmed, 1700000460);
	kasp_db_keys_free(keys, info, 1);
	kasp_db_close(b);
	kasp_db_close(db);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_kasp_db.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_kasp_db_open_sets_wal_and_schema_version",
	         test_kasp_db_open_sets_wal_and_schema_version},
	        {"test_kasp_db_refuses_schema_from_the_future",
	         test_kasp_db_refuses_schema_from_the_future},
	        {"test_kasp_db_errors_carry_the_sqlite_message",
	         test_kasp_db_errors_carry_the_sqlite_message},
	        {"test_kasp_db_zone_round_trip", test_kasp_db_zone_round_trip},
	        {"test_kasp_db_key_round_trip_of_every_field",
	         test_kasp_db_key_round_trip_of_every_field},
	        {"test_kasp_db_refuses_bad_keys_and_missing_rows",
	         test_kasp_db_refuses_bad_keys_and_missing_rows},
	        {"test_kasp_db_writes_need_a_transaction", test_kasp_db_writes_need_a_transaction},
	        {"test_kasp_db_rollback_and_unclean_close_keep_the_last_commit",
	         test_kasp_db_rollback_and_unclean_close_keep_the_last_commit},
	        {"test_kasp_db_find_by_algorithm_tag_and_public_key",
	         test_kasp_db_find_by_algorithm_tag_and_public_key},
	        {"test_kasp_db_tag_in_use_until_purged", test_kasp_db_tag_in_use_until_purged},
	        {"test_kasp_db_zone_removal_refused_until_keys_purged",
	         test_kasp_db_zone_removal_refused_until_keys_purged},
	        {"test_kasp_db_backup_is_a_snapshot_of_the_last_commit",
	         test_kasp_db_backup_is_a_snapshot_of_the_last_commit},
	        {NULL, NULL},
	};
	int failed = testutil_run("kasp_db", cases);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "could not remove %s\n", dir);
	}
	return failed;
}
