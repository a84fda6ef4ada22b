/*
 * Tests of hsm_data on a SoftHSM token: records read, written, replaced,
 * compared-and-set and deleted; refused inputs leave the token as it was;
 * duplicates (two nodes creating at once) resolve to the greatest value; the
 * object carries the attributes the header promises and is invisible to a
 * session that is not logged in; and a second process (another "node" with
 * its own SoftHSM instance on the same token directory) sees our writes and
 * we see its writes; processes racing to create one record leave one object,
 * whose writer knows it won.
 *
 * The second node is this binary run again: test_hsm_data --node PINFILE OP
 * LABEL [HEX...] (see node_main).
 */
#include "hsm/hsm_data.h"

#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_session.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

#define TOKEN_LABEL "data"

extern char **environ;

static hsm_ctx_t *ctx;
static hsm_token_t *token;
static char pin_path[512];

static const CK_BBOOL yes = CK_TRUE;

/* --- helpers --- */

static void write_ok(const char *label, const char *value)
{
	CU_ASSERT_EQUAL(hsm_data_write(token, label, (const uint8_t *)value, strlen(value), NULL),
	                HSM_OK);
}

/* Asserts the record holds value (NULL: absent). */
static void assert_value(const char *label, const char *value)
{
	uint8_t out[HSM_DATA_VALUE_MAX];
	size_t len = 0;
	bool found = false;
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL_FATAL(hsm_data_read(token, label, out, sizeof(out), &len, &found, &d),
	                      HSM_OK);
	CU_ASSERT_EQUAL(found, value != NULL);
	if (value != NULL && found) {
		CU_ASSERT_EQUAL(len, strlen(value));
		CU_ASSERT(len == strlen(value) && memcmp(out, value, len) == 0);
	}
}

static bool cas(const char *label, const char *expect, const char *value)
{
	bool swapped = !!expect; /* overwritten only on success */
	int ret =
	        hsm_data_cas(token, label, (const uint8_t *)expect, expect ? strlen(expect) : 0,
	                     expect == NULL, (const uint8_t *)value, strlen(value), &swapped, NULL);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	return swapped;
}

/* Raw access through a leased session: count, create, read attributes. */
typedef struct {
	const char *label;
	const char *value;
	const uint8_t *oid;
	size_t oid_len;
	size_t count;
	CK_BBOOL flags[3]; /* CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE */
	char app[32];
	size_t oid_read;
} raw_arg_t;

static CK_RV find_label(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, const char *label,
                        CK_OBJECT_HANDLE *objs, CK_ULONG cap, CK_ULONG *n)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_RV rv = fn->C_FindObjectsInit(h, t, 2);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = fn->C_FindObjects(h, objs, cap, n);
	fn->C_FindObjectsFinal(h);
	return rv;
}

static CK_RV count_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                      const char **func)
{
	(void)attempt;
	raw_arg_t *a = arg;
	CK_OBJECT_HANDLE objs[16];
	CK_ULONG n = 0;
	*func = "C_FindObjects";
	CK_RV rv = find_label(hsm_token_functions(hsm_session_token(s)), h, a->label, objs, 16, &n);
	a->count = n;
	return rv;
}

static size_t count_objects(const char *label)
{
	raw_arg_t a = {.label = label};
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token, &s, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_session_run(s, count_op, &a, NULL), HSM_OK);
	hsm_session_release(s);
	return a.count;
}

/* Creates an object as a racing node would (our application and label). */
static CK_RV create_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                       const char **func)
{
	(void)attempt;
	raw_arg_t *a = arg;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_TOKEN, (void *)&yes, sizeof(yes)},
	        {CKA_PRIVATE, (void *)&yes, sizeof(yes)},
	        {CKA_APPLICATION, (void *)HSM_DATA_APPLICATION, strlen(HSM_DATA_APPLICATION)},
	        {CKA_LABEL, (void *)a->label, strlen(a->label)},
	        {CKA_VALUE, (void *)a->value, strlen(a->value)},
	        {CKA_OBJECT_ID, (void *)a->oid, a->oid_len},
	};
	CK_OBJECT_HANDLE obj;
	*func = "C_CreateObject";
	return hsm_token_functions(hsm_session_token(s))
	        ->C_CreateObject(h, t, a->oid_len ? 7 : 6, &obj);
}

static void create_raw(const char *label, const char *value, const uint8_t *oid, size_t oid_len)
{
	raw_arg_t a = {.label = label, .value = value, .oid = oid, .oid_len = oid_len};
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token, &s, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_session_run(s, create_op, &a, NULL), HSM_OK);
	hsm_session_release(s);
}

static CK_RV attr_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                     const char **func)
{
	(void)attempt;
	raw_arg_t *a = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	CK_OBJECT_HANDLE obj;
	CK_ULONG n = 0;
	*func = "C_FindObjects";
	CK_RV rv = find_label(fn, h, a->label, &obj, 1, &n);
	if (rv != CKR_OK || n == 0) {
		return rv != CKR_OK ? rv : HSM_SESSION_RV_NO_KEY;
	}
	uint8_t oid[64];
	CK_ATTRIBUTE t[] = {
	        {CKA_TOKEN, &a->flags[0], sizeof(CK_BBOOL)},
	        {CKA_PRIVATE, &a->flags[1], sizeof(CK_BBOOL)},
	        {CKA_MODIFIABLE, &a->flags[2], sizeof(CK_BBOOL)},
	        {CKA_APPLICATION, a->app, sizeof(a->app) - 1},
	        {CKA_OBJECT_ID, oid, sizeof(oid)},
	};
	*func = "C_GetAttributeValue";
	rv = fn->C_GetAttributeValue(h, obj, t, 5);
	a->app[t[3].ulValueLen < sizeof(a->app) ? t[3].ulValueLen : 0] = '\0';
	a->oid_read = t[4].ulValueLen;
	return rv;
}

/* Starts this binary as a second node; returns its pid. */
static pid_t spawn_node(const char *op, const char *label, const char *hex1, const char *hex2)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CU_ASSERT_FATAL(n > 0);
	self[n] = '\0';
	char *argv[] = {self,          "--node",     pin_path,     (char *)op,
	                (char *)label, (char *)hex1, (char *)hex2, NULL};
	pid_t pid;
	CU_ASSERT_EQUAL_FATAL(posix_spawn(&pid, self, NULL, NULL, argv, environ), 0);
	return pid;
}

/* Runs this binary as a second node: returns its exit status (-1 if it did
 * not exit normally). */
static int run_node(const char *op, const char *label, const char *hex1, const char *hex2)
{
	pid_t pid = spawn_node(op, label, hex1, hex2);
	int status = 0;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* --- cases --- */

static void test_hsm_data_read_absent_is_not_found(void)
{
	uint8_t out[8] = {0xaa};
	size_t len = 77;
	bool found = true;
	CU_ASSERT_EQUAL(hsm_data_read(token, "absent", out, sizeof(out), &len, &found, NULL),
	                HSM_OK);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_EQUAL(len, 77); /* untouched */
	CU_ASSERT_EQUAL(out[0], 0xaa);
}

static void test_hsm_data_write_then_read(void)
{
	write_ok("wr", "epoch-1");
	assert_value("wr", "epoch-1");
	CU_ASSERT_EQUAL(count_objects("wr"), 1);
	/* Empty values are values. */
	write_ok("wr-empty", "");
	assert_value("wr-empty", "");
	/* The largest value. */
	uint8_t big[HSM_DATA_VALUE_MAX], out[HSM_DATA_VALUE_MAX];
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 31 + 7);
	}
	CU_ASSERT_EQUAL(hsm_data_write(token, "wr-big", big, sizeof(big), NULL), HSM_OK);
	size_t len = 0;
	bool found = false;
	CU_ASSERT_EQUAL(hsm_data_read(token, "wr-big", out, sizeof(out), &len, &found, NULL),
	                HSM_OK);
	CU_ASSERT(found && len == sizeof(big) && memcmp(out, big, len) == 0);
}

static void test_hsm_data_object_attributes(void)
{
	write_ok("attrs", "x");
	raw_arg_t a = {.label = "attrs"};
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token, &s, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_session_run(s, attr_op, &a, NULL), HSM_OK);
	hsm_session_release(s);
	CU_ASSERT_EQUAL(a.flags[0], CK_TRUE);
	CU_ASSERT_EQUAL(a.flags[1], CK_TRUE);
	CU_ASSERT_EQUAL(a.flags[2], CK_TRUE);
	CU_ASSERT_STRING_EQUAL(a.app, "signer");
	CU_ASSERT(a.oid_read > 3); /* 06 len 69 ... (2.25.N) */
}

static void test_hsm_data_replace_keeps_one_object(void)
{
	write_ok("rep", "first");
	write_ok("rep", "second, longer");
	assert_value("rep", "second, longer");
	write_ok("rep", "3");
	assert_value("rep", "3");
	CU_ASSERT_EQUAL(count_objects("rep"), 1);
}

static void test_hsm_data_too_big_refused(void)
{
	uint8_t big[HSM_DATA_VALUE_MAX + 1];
	memset(big, 'b', sizeof(big));
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_data_write(token, "big", big, sizeof(big), &d), HSM_ERR_DATA_TOO_BIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "1025"));
	assert_value("big", NULL);
	write_ok("big", "small");
	CU_ASSERT_EQUAL(hsm_data_write(token, "big", big, sizeof(big), NULL), HSM_ERR_DATA_TOO_BIG);
	bool swapped = false;
	CU_ASSERT_EQUAL(hsm_data_cas(token, "big", (const uint8_t *)"small", 5, false, big,
	                             sizeof(big), &swapped, NULL),
	                HSM_ERR_DATA_TOO_BIG);
	CU_ASSERT_EQUAL(hsm_data_cas(token, "big", big, sizeof(big), false, (const uint8_t *)"x", 1,
	                             &swapped, NULL),
	                HSM_ERR_DATA_TOO_BIG);
	CU_ASSERT_FALSE(swapped);
	assert_value("big", "small");
	CU_ASSERT_STRING_EQUAL(hsm_strerror(HSM_ERR_DATA_TOO_BIG),
	                       "data object value too big (at most 1024 bytes)");
}

static void test_hsm_data_bad_arguments_refused(void)
{
	char long_label[HSM_DATA_LABEL_MAX + 1];
	memset(long_label, 'l', sizeof(long_label) - 1);
	long_label[HSM_DATA_LABEL_MAX] = '\0';
	uint8_t out[8];
	size_t len = 0;
	bool found = false, swapped = false;
	CU_ASSERT_EQUAL(hsm_data_write(token, "", (const uint8_t *)"v", 1, NULL), HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_data_write(token, NULL, (const uint8_t *)"v", 1, NULL), HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_data_write(token, long_label, (const uint8_t *)"v", 1, NULL),
	                HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_data_write(token, "bad", NULL, 1, NULL), HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_data_read(token, "", out, sizeof(out), &len, &found, NULL),
	                HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_data_delete(token, long_label, NULL), HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(
	        hsm_data_cas(token, "bad", NULL, 3, false, (const uint8_t *)"v", 1, &swapped, NULL),
	        HSM_ERR_INVAL);
	/* 127 bytes is the longest label. */
	long_label[HSM_DATA_LABEL_MAX - 1] = '\0';
	write_ok(long_label, "long");
	assert_value(long_label, "long");
	assert_value("bad", NULL);
}

static void test_hsm_data_read_small_buffer_refused(void)
{
	write_ok("buf", "12345678");
	uint8_t out[4] = {0};
	size_t len = 99;
	bool found = false;
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_data_read(token, "buf", out, sizeof(out), &len, &found, &d),
	                HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(len, 99);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "8 bytes"));
}

static void test_hsm_data_cas_swaps_on_match(void)
{
	CU_ASSERT_TRUE(cas("cas", NULL, "e1|A")); /* absent, as expected */
	assert_value("cas", "e1|A");
	CU_ASSERT_TRUE(cas("cas", "e1|A", "e2|B"));
	assert_value("cas", "e2|B");
	CU_ASSERT_TRUE(cas("cas", "e2|B", "e2|B")); /* same value: still a success */
	CU_ASSERT_EQUAL(count_objects("cas"), 1);
}

static void test_hsm_data_cas_refuses_on_mismatch(void)
{
	write_ok("casx", "e5|A");
	CU_ASSERT_FALSE(cas("casx", "e4|A", "e6|B")); /* wrong expectation */
	assert_value("casx", "e5|A");
	CU_ASSERT_FALSE(cas("casx", "e5|", "e6|B")); /* a prefix is not equal */
	CU_ASSERT_FALSE(cas("casx", NULL, "e6|B"));  /* expected absent, present */
	assert_value("casx", "e5|A");
	CU_ASSERT_FALSE(cas("casx-none", "e1|A", "e2|A")); /* expected a value, absent */
	assert_value("casx-none", NULL);
	CU_ASSERT_EQUAL(count_objects("casx"), 1);
}

static void test_hsm_data_delete(void)
{
	write_ok("del", "v");
	CU_ASSERT_EQUAL(hsm_data_delete(token, "del", NULL), HSM_OK);
	assert_value("del", NULL);
	CU_ASSERT_EQUAL(count_objects("del"), 0);
	CU_ASSERT_EQUAL(hsm_data_delete(token, "del", NULL), HSM_OK); /* absent: fine */
	/* Deleted records can be made again, by CAS too. */
	CU_ASSERT_TRUE(cas("del", NULL, "again"));
	assert_value("del", "again");
}

static void test_hsm_data_duplicates_keep_greatest(void)
{
	/* Objects of the label without our generation (another writer, or
	 * two nodes' creations seen as equals): readers take the greatest
	 * value, a failed CAS removes nothing, the next write removes all. */
	static const uint8_t foreign_oid[] = {0x06, 0x02, 0x69, 0x01}; /* 2.25.1 */
	create_raw("dup", "0007|A", NULL, 0);
	create_raw("dup", "0007|B", foreign_oid, sizeof(foreign_oid));
	create_raw("dup", "0006|C", NULL, 0);
	CU_ASSERT_EQUAL(count_objects("dup"), 3);
	assert_value("dup", "0007|B");
	CU_ASSERT_EQUAL(count_objects("dup"), 3);        /* reading removes nothing */
	CU_ASSERT_FALSE(cas("dup", "0007|A", "0008|A")); /* A lost the race */
	CU_ASSERT_EQUAL(count_objects("dup"), 3);
	CU_ASSERT_TRUE(cas("dup", "0007|B", "0008|B"));
	CU_ASSERT_EQUAL(count_objects("dup"), 1);
	assert_value("dup", "0008|B");

	/* Ours rank above theirs whatever the values: a later write wins. */
	write_ok("dup2", "0001");
	create_raw("dup2", "9999", NULL, 0);
	assert_value("dup2", "0001");
	write_ok("dup2", "0002");
	CU_ASSERT_EQUAL(count_objects("dup2"), 1);
	assert_value("dup2", "0002");

	/* Exact copies (a writer without unique ids) are not destroyed by
	 * each other; our write outranks and removes them all. */
	create_raw("dup3", "copy", NULL, 0);
	create_raw("dup3", "copy", NULL, 0);
	create_raw("dup3", "cop", NULL, 0); /* shorter: less */
	assert_value("dup3", "copy");
	write_ok("dup3", "cop");
	CU_ASSERT_EQUAL(count_objects("dup3"), 1);
	assert_value("dup3", "cop");
	CU_ASSERT_EQUAL(hsm_data_delete(token, "dup3", NULL), HSM_OK);
	CU_ASSERT_EQUAL(count_objects("dup3"), 0);
}

/* Node processes race to create one record with CAS (expected absent). Two
 * may be told they won (the documented window), and SoftHSM 2.6 does not
 * always show one process's new object to another that wrote at the same
 * time (its token generation counter races), so two objects may stay until
 * the next write. What must hold: the value every reader gets was written by
 * a node told it won, and the next write leaves one object. */
static void test_hsm_data_cas_race_between_processes(void)
{
	enum { NODES = 4, ROUNDS = 8 };
	size_t both = 0, stayed = 0;
	for (int round = 0; round < ROUNDS; round++) {
		char label[32], hex[NODES][16];
		snprintf(label, sizeof(label), "race-%d", round);
		pid_t pids[NODES];
		for (int i = 0; i < NODES; i++) {
			snprintf(hex[i], sizeof(hex[i]), "0001%02x", i);
			pids[i] = spawn_node("cas-absent", label, hex[i], NULL);
		}
		int won[NODES], winners = 0;
		for (int i = 0; i < NODES; i++) {
			int status = 0;
			CU_ASSERT_EQUAL_FATAL(waitpid(pids[i], &status, 0), pids[i]);
			CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
			won[i] = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			winners += won[i];
		}
		CU_ASSERT(winners >= 1);
		both += winners > 1;
		size_t n = count_objects(label);
		CU_ASSERT(n >= 1 && n <= (size_t)winners);
		stayed += n > 1;
		uint8_t out[16];
		size_t len = 0;
		bool found = false;
		CU_ASSERT_EQUAL(hsm_data_read(token, label, out, sizeof(out), &len, &found, NULL),
		                HSM_OK);
		CU_ASSERT_FATAL(found && len == 3 && out[0] == 0 && out[1] == 1 && out[2] < NODES);
		CU_ASSERT(won[out[2]]); /* the value read is a winner's */
		bool swapped = false;
		CU_ASSERT_EQUAL(hsm_data_cas(token, label, out, len, false,
		                             (const uint8_t *)"\x00\x02", 2, &swapped, NULL),
		                HSM_OK);
		CU_ASSERT_TRUE(swapped);
		CU_ASSERT_EQUAL(count_objects(label), 1);
	}
	printf("(%d rounds: %zu told two nodes they won, %zu left two objects) ", ROUNDS, both,
	       stayed);
}

static void test_hsm_data_two_nodes_see_each_other(void)
{
	/* The other node writes; we read. */
	CU_ASSERT_EQUAL(run_node("write", "fence", "00000001", NULL), 0);
	uint8_t out[16];
	size_t len = 0;
	bool found = false;
	CU_ASSERT_EQUAL(hsm_data_read(token, "fence", out, sizeof(out), &len, &found, NULL),
	                HSM_OK);
	CU_ASSERT(found && len == 4 && memcmp(out, "\x00\x00\x00\x01", 4) == 0);
	/* We move the epoch on; the other node sees it, and its CAS from the
	 * old epoch fails while one from the new epoch succeeds. */
	bool swapped = false;
	CU_ASSERT_EQUAL(hsm_data_cas(token, "fence", (const uint8_t *)"\x00\x00\x00\x01", 4, false,
	                             (const uint8_t *)"\x00\x00\x00\x02", 4, &swapped, NULL),
	                HSM_OK);
	CU_ASSERT_TRUE(swapped);
	CU_ASSERT_EQUAL(run_node("expect", "fence", "00000002", NULL), 0);
	CU_ASSERT_EQUAL(run_node("cas", "fence", "00000001", "000000ff"), 1);
	CU_ASSERT_EQUAL(run_node("cas", "fence", "00000002", "00000003"), 0);
	CU_ASSERT_EQUAL(hsm_data_read(token, "fence", out, sizeof(out), &len, &found, NULL),
	                HSM_OK);
	CU_ASSERT(found && len == 4 && memcmp(out, "\x00\x00\x00\x03", 4) == 0);
	/* Deletion is seen too. */
	CU_ASSERT_EQUAL(run_node("delete", "fence", NULL, NULL), 0);
	assert_value("fence", NULL);
	CU_ASSERT_EQUAL(run_node("expect", "fence", "", NULL), 2);
}

static void test_hsm_data_private_without_login(void)
{
	write_ok("secret", "hidden");
	/* SoftHSM's login belongs to the process: the other process looks
	 * without logging in, then logged in. */
	CU_ASSERT_EQUAL(run_node("peek", "secret", NULL, NULL), 0);
}

/* --- the second node --- */

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s) / 2;
	if (n > cap) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			return -1;
		}
		out[i] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

/* Looks for the label without logging in (must find nothing), then logged in
 * (must find it): exit 0 when both hold. */
static int node_peek(const char *label)
{
	void *dl = dlopen(testutil_softhsm_path(), RTLD_NOW);
	if (dl == NULL) {
		return 10;
	}
	void *sym = dlsym(dl, "C_GetFunctionList");
	CK_C_GetFunctionList gfl = NULL;
	memcpy(&gfl, &sym, sizeof(gfl));
	CK_FUNCTION_LIST_PTR fn = NULL;
	if (gfl == NULL || gfl(&fn) != CKR_OK || fn->C_Initialize(NULL) != CKR_OK) {
		return 11;
	}
	int ret = 12;
	CK_SLOT_ID slots[8];
	CK_ULONG ns = 8;
	CK_SESSION_HANDLE h = 0;
	if (fn->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK) {
		goto out;
	}
	for (CK_ULONG i = 0; i < ns; i++) {
		CK_TOKEN_INFO ti;
		if (fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    memcmp(ti.label, TOKEN_LABEL, strlen(TOKEN_LABEL)) != 0 ||
		    ti.label[strlen(TOKEN_LABEL)] != ' ') {
			continue;
		}
		if (fn->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                      &h) != CKR_OK) {
			goto out;
		}
		CK_OBJECT_HANDLE obj;
		CK_ULONG before = 9, after = 9;
		if (find_label(fn, h, label, &obj, 1, &before) != CKR_OK ||
		    fn->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4) != CKR_OK ||
		    find_label(fn, h, label, &obj, 1, &after) != CKR_OK) {
			goto out;
		}
		ret = before == 0 && after == 1 ? 0 : 1;
		fn->C_Logout(h);
		break;
	}
out:
	fn->C_Finalize(NULL);
	return ret;
}

/* argv: --node PINFILE OP LABEL [HEX [HEX]]. Exit: 0 done (cas: swapped;
 * expect: equal), 1 not swapped or not equal, 2 absent, 3 hsm failure. */
static int node_main(int argc, char **argv)
{
	if (argc < 5) {
		return 4;
	}
	const char *op = argv[3], *label = argv[4];
	if (strcmp(op, "peek") == 0) {
		return node_peek(label);
	}
	char uri[64];
	snprintf(uri, sizeof(uri), "pkcs11:token=%s", TOKEN_LABEL);
	hsm_token_config_t c = {
	        .name = "main",
	        .module = testutil_softhsm_path(),
	        .uri = uri,
	        .pin_file = argv[2],
	};
	hsm_ctx_t *node = NULL;
	hsm_detail_t d = {0};
	hsm_token_t *t = NULL;
	/* SoftHSM 2.6 may misread a token whose files another process is
	 * writing at its C_Initialize ("no token matches", or C_Login says
	 * CKR_USER_PIN_NOT_INITIALIZED); what it read stays until C_Finalize,
	 * so a new context is tried. */
	for (int tries = 0; t == NULL; tries++) {
		if (hsm_ctx_new(&c, 1, &node, &d) != HSM_OK) {
			fprintf(stderr, "node ctx failed\n");
			return 3;
		}
		t = hsm_ctx_token(node, "main");
		int r = hsm_token_connect(t, &d);
		bool misread = r == HSM_ERR_NO_TOKEN ||
		               (r == HSM_ERR_CKR && d.rv == CKR_USER_PIN_NOT_INITIALIZED);
		if (misread && tries < 50) {
			fprintf(stderr, "node %s: token misread, trying again\n", op);
			hsm_ctx_free(node);
			node = NULL;
			t = NULL;
			usleep(20000);
		} else if (r != HSM_OK) {
			char buf[256];
			fprintf(stderr, "node connect: %s\n",
			        hsm_detail_format(r, &d, buf, sizeof(buf)));
			hsm_ctx_free(node);
			return 3;
		}
	}
	uint8_t a[HSM_DATA_VALUE_MAX], b[HSM_DATA_VALUE_MAX], out[HSM_DATA_VALUE_MAX];
	size_t alen = 0, blen = 0, len = 0;
	bool found = false, swapped = false;
	int ret = 4;
	if (argc > 5 && unhex(argv[5], a, sizeof(a), &alen) != 0) {
		goto out;
	}
	if (argc > 6 && unhex(argv[6], b, sizeof(b), &blen) != 0) {
		goto out;
	}
	ret = 3;
	if (strcmp(op, "write") == 0) {
		ret = hsm_data_write(t, label, a, alen, &d) == HSM_OK ? 0 : 3;
	} else if (strcmp(op, "delete") == 0) {
		ret = hsm_data_delete(t, label, &d) == HSM_OK ? 0 : 3;
	} else if (strcmp(op, "expect") == 0) {
		if (hsm_data_read(t, label, out, sizeof(out), &len, &found, &d) == HSM_OK) {
			ret = !found ? 2 : len == alen && memcmp(out, a, len) == 0 ? 0 : 1;
		}
	} else if (strcmp(op, "cas-absent") == 0) {
		if (hsm_data_cas(t, label, NULL, 0, true, a, alen, &swapped, &d) == HSM_OK) {
			ret = swapped ? 0 : 1;
		}
	} else if (strcmp(op, "cas") == 0) {
		if (hsm_data_cas(t, label, a, alen, false, b, blen, &swapped, &d) == HSM_OK) {
			ret = swapped ? 0 : 1;
		}
	}
out:
	if (ret == 3) {
		char buf[256];
		fprintf(stderr, "node %s: %s\n", op, hsm_detail_format(ret, &d, buf, sizeof(buf)));
	}
	hsm_ctx_free(node);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--node") == 0) {
		return node_main(argc, argv);
	}
	static const char *const labels[] = {TOKEN_LABEL};
	testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx(TOKEN_LABEL, NULL, 0);
	token = hsm_ctx_token(ctx, "main");
	snprintf(pin_path, sizeof(pin_path), "%s", testutil_pin_file("pin", "1234"));
	static const testutil_case_t cases[] = {
	        {"test_hsm_data_read_absent_is_not_found", test_hsm_data_read_absent_is_not_found},
	        {"test_hsm_data_write_then_read", test_hsm_data_write_then_read},
	        {"test_hsm_data_object_attributes", test_hsm_data_object_attributes},
	        {"test_hsm_data_replace_keeps_one_object", test_hsm_data_replace_keeps_one_object},
	        {"test_hsm_data_too_big_refused", test_hsm_data_too_big_refused},
	        {"test_hsm_data_bad_arguments_refused", test_hsm_data_bad_arguments_refused},
	        {"test_hsm_data_read_small_buffer_refused",
	         test_hsm_data_read_small_buffer_refused},
	        {"test_hsm_data_cas_swaps_on_match", test_hsm_data_cas_swaps_on_match},
	        {"test_hsm_data_cas_refuses_on_mismatch", test_hsm_data_cas_refuses_on_mismatch},
	        {"test_hsm_data_delete", test_hsm_data_delete},
	        {"test_hsm_data_duplicates_keep_greatest", test_hsm_data_duplicates_keep_greatest},
	        {"test_hsm_data_cas_race_between_processes",
	         test_hsm_data_cas_race_between_processes},
	        {"test_hsm_data_two_nodes_see_each_other", test_hsm_data_two_nodes_see_each_other},
	        {"test_hsm_data_private_without_login", test_hsm_data_private_without_login},
	        {NULL, NULL},
	};
	int failed = testutil_run("hsm_data", cases);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
