#include "signer/zone/zone_journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_crash.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

static char tmpdir[64];
static char path[128];

static const uint8_t *wire(const char *text)
{
	static uint8_t buf[8][DNAME_MAXLEN];
	static int k;
	uint8_t *out = buf[k++ % 8];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

/* A delta from -> to with n records each way (contents depend on from). */
static void make_delta(zone_delta_t *d, uint32_t from, uint32_t to, int n)
{
	zone_delta_init(d);
	d->from_serial = from;
	d->to_serial = to;
	uint8_t soa[64] = {0};
	soa[0] = 0;
	soa[1] = 0;
	soa[2] = (uint8_t)(from >> 24), soa[3] = (uint8_t)(from >> 16);
	soa[4] = (uint8_t)(from >> 8), soa[5] = (uint8_t)from;
	CU_ASSERT_EQUAL_FATAL(zone_delta_add(d, false, wire("example."), 6, 3600, soa, 22),
	                      ZONE_OK);
	soa[2] = (uint8_t)(to >> 24), soa[3] = (uint8_t)(to >> 16);
	soa[4] = (uint8_t)(to >> 8), soa[5] = (uint8_t)to;
	CU_ASSERT_EQUAL_FATAL(zone_delta_add(d, true, wire("example."), 6, 3600, soa, 22), ZONE_OK);
	for (int i = 0; i < n; i++) {
		uint8_t a[4] = {192, 0, (uint8_t)from, (uint8_t)i};
		char name[64];
		snprintf(name, sizeof(name), "h%d.example.", i);
		CU_ASSERT_EQUAL_FATAL(zone_delta_add(d, i % 2, wire(name), 1, 300 + from, a, 4),
		                      ZONE_OK);
	}
}

static bool delta_equal(const zone_delta_t *a, const zone_delta_t *b)
{
	if (a->from_serial != b->from_serial || a->to_serial != b->to_serial ||
	    a->nremoved != b->nremoved || a->nadded != b->nadded) {
		return false;
	}
	for (int l = 0; l < 2; l++) {
		const zone_rr_t *x = l ? a->added : a->removed, *y = l ? b->added : b->removed;
		size_t n = l ? a->nadded : a->nremoved;
		for (size_t i = 0; i < n; i++) {
			if (!dname_equal(x[i].owner, y[i].owner) || x[i].type != y[i].type ||
			    x[i].ttl != y[i].ttl || x[i].rdlen != y[i].rdlen ||
			    memcmp(x[i].rdata, y[i].rdata, x[i].rdlen) != 0) {
				return false;
			}
		}
	}
	return true;
}

static zone_journal_t *open_j(const zone_journal_limits_t *limits, size_t *dropped)
{
	zone_journal_t *j = NULL;
	size_t dummy;
	CU_ASSERT_EQUAL_FATAL(zone_journal_open(path, limits, &j, dropped ? dropped : &dummy),
	                      ZONE_OK);
	return j;
}

/* A fresh journal with entries 1->2 ... n->n+1 (time 1000 + from). */
static zone_journal_t *fresh(size_t n, const zone_journal_limits_t *limits)
{
	unlink(path);
	zone_journal_t *j = open_j(limits, NULL);
	for (uint32_t s = 1; s <= n; s++) {
		zone_delta_t d;
		make_delta(&d, s, s + 1, (int)s % 7);
		CU_ASSERT_EQUAL_FATAL(zone_journal_append(j, &d, s * 10, 1000 + s), ZONE_OK);
		zone_delta_deinit(&d);
	}
	return j;
}

/* Checks the journal holds exactly entries first->first+1 ... last->last+1. */
static void check_entries(zone_journal_t *j, uint32_t first, uint32_t last)
{
	CU_ASSERT_EQUAL_FATAL(zone_journal_count(j), last >= first ? last - first + 1 : 0);
	for (uint32_t s = first; s <= last; s++) {
		zone_delta_t want, got;
		uint32_t aux = 0;
		int64_t t = 0;
		make_delta(&want, s, s + 1, (int)s % 7);
		CU_ASSERT_EQUAL_FATAL(zone_journal_read(j, s - first, &got, &aux, &t), ZONE_OK);
		CU_ASSERT(delta_equal(&want, &got));
		CU_ASSERT_EQUAL(aux, s * 10);
		CU_ASSERT_EQUAL(t, 1000 + s);
		zone_delta_deinit(&want);
		zone_delta_deinit(&got);
	}
}

static off_t file_size(void)
{
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	return st.st_size;
}

static void test_zone_journal_append_read_and_reopen(void)
{
	zone_journal_t *j = fresh(0, NULL);
	uint32_t s;
	CU_ASSERT_FALSE(zone_journal_last_serial(j, &s));
	CU_ASSERT_FALSE(zone_journal_first_serial(j, &s));
	zone_journal_close(j);
	j = fresh(20, NULL);
	check_entries(j, 1, 20);
	CU_ASSERT(zone_journal_last_serial(j, &s) && s == 21);
	CU_ASSERT(zone_journal_first_serial(j, &s) && s == 1);
	size_t idx;
	CU_ASSERT(zone_journal_find(j, 7, &idx) && idx == 6);
	CU_ASSERT_FALSE(zone_journal_find(j, 99, &idx));
	CU_ASSERT_EQUAL(zone_journal_bytes(j), (uint64_t)file_size());
	zone_delta_t d;
	CU_ASSERT_EQUAL(zone_journal_read(j, 20, &d, NULL, NULL), ZONE_ERR_INVAL);
	zone_journal_close(j);
	size_t dropped = 99;
	j = open_j(NULL, &dropped);
	CU_ASSERT_EQUAL(dropped, 0);
	check_entries(j, 1, 20);
	zone_journal_close(j);
}

static void test_zone_journal_serial_wraps_and_refuses_a_gap(void)
{
	unlink(path);
	zone_journal_t *j = open_j(NULL, NULL);
	zone_delta_t d;
	make_delta(&d, 0xfffffffeu, 0xffffffffu, 1);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 0, 1), ZONE_OK); /* any start */
	zone_delta_deinit(&d);
	make_delta(&d, 0xffffffffu, 1, 1);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 0, 2), ZONE_OK);
	zone_delta_deinit(&d);
	uint64_t bytes = zone_journal_bytes(j);
	make_delta(&d, 5, 6, 1);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 0, 3), ZONE_ERR_JOURNAL_SERIAL);
	zone_delta_deinit(&d);
	CU_ASSERT_EQUAL(zone_journal_count(j), 2);
	CU_ASSERT_EQUAL(zone_journal_bytes(j), bytes);
	CU_ASSERT_EQUAL((uint64_t)file_size(), bytes);
	size_t idx;
	CU_ASSERT(zone_journal_find(j, 0xffffffffu, &idx) && idx == 1);
	uint32_t s;
	CU_ASSERT(zone_journal_last_serial(j, &s) && s == 1);
	zone_journal_close(j);
}

static void test_zone_journal_torn_tail_is_dropped(void)
{
	zone_journal_t *j = fresh(5, NULL);
	zone_journal_close(j);
	off_t size = file_size();
	/* Cut inside the last record. */
	CU_ASSERT_EQUAL_FATAL(truncate(path, size - 3), 0);
	size_t dropped = 0;
	j = open_j(NULL, &dropped);
	CU_ASSERT(dropped > 0);
	check_entries(j, 1, 4);
	CU_ASSERT_EQUAL((uint64_t)file_size(), zone_journal_bytes(j));
	/* Appending goes on from there. */
	zone_delta_t d;
	make_delta(&d, 5, 6, 5 % 7);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 50, 1005), ZONE_OK);
	zone_delta_deinit(&d);
	zone_journal_close(j);
	/* Garbage after the last record. */
	FILE *f = fopen(path, "ab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("garbage after the end", f);
	fclose(f);
	j = open_j(NULL, &dropped);
	CU_ASSERT_EQUAL(dropped, strlen("garbage after the end"));
	check_entries(j, 1, 5);
	zone_journal_close(j);
}

static void test_zone_journal_corrupt_record_truncates_from_it(void)
{
	/* The third record starts where a journal of two ends. */
	zone_journal_t *j = fresh(2, NULL);
	uint64_t third = zone_journal_bytes(j);
	zone_journal_close(j);
	j = fresh(6, NULL);
	zone_journal_close(j);
	off_t size = file_size();
	/* One byte of its payload flipped: it and every later record go (they
	 * could not be applied without it). */
	FILE *f = fopen(path, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, (long)third + 20, SEEK_SET);
	int c = fgetc(f);
	fseek(f, (long)third + 20, SEEK_SET);
	fputc(c ^ 0x10, f);
	fclose(f);
	size_t dropped = 0;
	j = open_j(NULL, &dropped);
	CU_ASSERT_EQUAL(dropped, (size_t)(size - (off_t)third));
	check_entries(j, 1, 2);
	zone_journal_close(j);
	/* Not a journal at all: refused, left alone. */
	f = fopen(path, "wb");
	fputs("this is not a journal file", f);
	fclose(f);
	zone_journal_t *k = NULL;
	CU_ASSERT_EQUAL(zone_journal_open(path, NULL, &k, NULL), ZONE_ERR_CORRUPT);
	CU_ASSERT_EQUAL(file_size(), (off_t)strlen("this is not a journal file"));
}

static void test_zone_journal_trim_by_count_bytes_and_age(void)
{
	zone_journal_limits_t lim = {.max_entries = 5};
	zone_journal_t *j = fresh(10, &lim);
	/* Entries from 4 on are protected: only 1..3 may go. */
	CU_ASSERT_EQUAL(zone_journal_trim(j, 2000, 4), ZONE_OK);
	check_entries(j, 4, 10);
	/* The snapshot is at the newest serial: the limit applies fully. */
	CU_ASSERT_EQUAL(zone_journal_trim(j, 2000, 11), ZONE_OK);
	check_entries(j, 6, 10);
	CU_ASSERT_EQUAL(zone_journal_bytes(j), (uint64_t)file_size());
	zone_journal_close(j);
	j = open_j(&lim, NULL);
	check_entries(j, 6, 10);
	/* Appends go on after a trim. */
	zone_delta_t d;
	make_delta(&d, 11, 12, 11 % 7);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 110, 1011), ZONE_OK);
	zone_delta_deinit(&d);
	check_entries(j, 6, 11);
	/* A serial the journal does not have: nothing dropped. */
	CU_ASSERT_EQUAL(zone_journal_trim(j, 2000, 77), ZONE_OK);
	check_entries(j, 6, 11);
	zone_journal_close(j);

	/* Bytes. */
	j = fresh(3, NULL);
	uint64_t three = zone_journal_bytes(j);
	zone_journal_close(j);
	/* Records 4..10 take (ten - three) bytes; allow exactly that. */
	j = fresh(10, NULL);
	uint64_t ten = zone_journal_bytes(j);
	zone_journal_close(j);
	lim = (zone_journal_limits_t){.max_bytes = ten - three + 16};
	j = open_j(&lim, NULL);
	CU_ASSERT_EQUAL(zone_journal_trim(j, 2000, 11), ZONE_OK);
	check_entries(j, 4, 10);
	CU_ASSERT(zone_journal_bytes(j) <= lim.max_bytes);
	zone_journal_close(j);

	/* Age: times are 1000 + from; at now 1100 with max_age 93, entries
	 * older than 1007 go. */
	lim = (zone_journal_limits_t){.max_age = 93};
	j = fresh(10, &lim);
	CU_ASSERT_EQUAL(zone_journal_trim(j, 1100, 11), ZONE_OK);
	check_entries(j, 7, 10);
	/* Never past keep_from_serial, however old. */
	CU_ASSERT_EQUAL(zone_journal_trim(j, 999999, 9), ZONE_OK);
	check_entries(j, 9, 10);
	CU_ASSERT_EQUAL(zone_journal_reset(j), ZONE_OK);
	CU_ASSERT_EQUAL(zone_journal_count(j), 0);
	make_delta(&d, 500, 501, 1);
	CU_ASSERT_EQUAL(zone_journal_append(j, &d, 0, 1), ZONE_OK); /* any serial after reset */
	zone_delta_deinit(&d);
	zone_journal_close(j);
	j = open_j(NULL, NULL);
	CU_ASSERT_EQUAL(zone_journal_count(j), 1);
	zone_journal_close(j);
}

/* In a child: crash at point during op (0 append 11->12, 1 trim to 6..10,
 * 2 reset) on a journal of 1..10; then reopen and check the state is the one
 * before or after. Returns 0 before, 1 after. */
static int crash_op(const char *point, int op)
{
	zone_journal_limits_t lim = {.max_entries = 5};
	zone_journal_t *j = fresh(10, &lim);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setenv("SIGNER_CRASH_AT", point, 1);
		zone_delta_t d;
		make_delta(&d, 11, 12, 11 % 7);
		if (op == 0) {
			zone_journal_append(j, &d, 110, 1011);
		} else if (op == 1) {
			zone_journal_trim(j, 2000, 11);
		} else {
			zone_journal_reset(j);
		}
		_exit(0);
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == ZONE_CRASH_STATUS);
	zone_journal_close(j);
	size_t dropped = 0;
	j = open_j(NULL, &dropped);
	size_t n = zone_journal_count(j);
	int after = -1;
	if (op == 0) {
		after = n == 11;
		check_entries(j, 1, after ? 11 : 10);
	} else if (op == 1) {
		after = n == 5;
		check_entries(j, after ? 6 : 1, 10);
	} else {
		after = n == 0;
		if (!after) {
			check_entries(j, 1, 10);
		}
	}
	CU_ASSERT_EQUAL(dropped, 0);
	zone_journal_close(j);
	return after;
}

static void test_zone_journal_crash_leaves_before_or_after(void)
{
	/* Crashes end the process, not the machine: written data is in the
	 * page cache, so an append that wrote its record is there after. */
	CU_ASSERT_EQUAL(crash_op("journal-written", 0), 1);
	CU_ASSERT_EQUAL(crash_op("journal-synced", 0), 1);
	CU_ASSERT_EQUAL(crash_op("trim-written", 1), 0);
	CU_ASSERT_EQUAL(crash_op("trim-renamed", 1), 1);
	CU_ASSERT_EQUAL(crash_op("trim-written", 2), 0);
	CU_ASSERT_EQUAL(crash_op("trim-renamed", 2), 1);
	/* The second append of a run crashes: the first stays. */
	zone_journal_t *j = fresh(10, NULL);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("SIGNER_CRASH_AT", "journal-synced:2", 1);
		for (uint32_t s = 11; s < 14; s++) {
			zone_delta_t d;
			make_delta(&d, s, s + 1, (int)s % 7);
			zone_journal_append(j, &d, s * 10, 1000 + s);
		}
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == ZONE_CRASH_STATUS);
	zone_journal_close(j);
	j = open_j(NULL, NULL);
	check_entries(j, 1, 12);
	zone_journal_close(j);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -f %s/j.journal.tmp.*", tmpdir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_journal_append_read_and_reopen", test_zone_journal_append_read_and_reopen},
	        {"zone_journal_serial_wraps_and_refuses_a_gap",
	         test_zone_journal_serial_wraps_and_refuses_a_gap},
	        {"zone_journal_torn_tail_is_dropped", test_zone_journal_torn_tail_is_dropped},
	        {"zone_journal_corrupt_record_truncates_from_it",
	         test_zone_journal_corrupt_record_truncates_from_it},
	        {"zone_journal_trim_by_count_bytes_and_age",
	         test_zone_journal_trim_by_count_bytes_and_age},
	        {"zone_journal_crash_leaves_before_or_after",
	         test_zone_journal_crash_leaves_before_or_after},
	        {NULL, NULL},
	};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zone_journal.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/j.journal", tmpdir);
	int failed = testutil_run("zone_journal", cases);
	unlink(path);
	rmdir(tmpdir);
	return failed;
}
