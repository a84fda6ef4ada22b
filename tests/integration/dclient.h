/*
 * dclient: a small synchronous client of signerd for the integration tests,
 * over rpc_client (a Unix socket). Each call sends one request (or one
 * stream: begin, chunks, end) and reads its answer; records come back as
 * canonical text lines (zone_write_rr_str of the wire records, no newline),
 * sorted with strcmp, so that record sets compare with dclient_lines_equal.
 *
 * Life cycle: dclient_connect() -> calls -> dclient_free(). Calls return 0
 * when an answer was read (its status in the result) and -1 when the
 * transport failed or the daemon answered out of protocol (a response with
 * another id, a stream without its header): the reason is in
 * dclient_error(). After -1 the connection is unusable.
 *
 * Pipelining: dclient_update_send() sends a whole update stream without
 * reading; dclient_recv_result() reads the next answer (in order).
 *
 * Threading: one client per thread; distinct clients are independent.
 */
#ifndef TESTS_INTEGRATION_DCLIENT_H
#define TESTS_INTEGRATION_DCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dclient dclient_t;

/* A set of record lines (malloc'ed strings, owned). */
typedef struct {
	char **v;
	size_t n, cap;
} dclient_lines_t;

/* The answer to a request. status is a Signer__V1__Status value. */
typedef struct {
	int status;
	uint64_t id;
	uint32_t serial;       /* push/update: the signed serial published */
	uint32_t input_serial; /* push/update: the input serial */
	bool coalesced;        /* published with other changes */
	char message[2048];
} dclient_result_t;

/* One delta of a delta fetch: from -> to, removed and added lines. */
typedef struct {
	uint32_t from, to;
	dclient_lines_t removed, added;
} dclient_delta_t;

/* The answer to a fetch: the whole zone in all (delta false) or the chain
 * of deltas (delta true), sorted lines in both. */
typedef struct {
	dclient_result_t res;
	bool delta;
	uint32_t serial; /* from the header: the serial the client ends at */
	dclient_lines_t all;
	dclient_delta_t *deltas;
	size_t ndeltas;
} dclient_fetch_t;

/* The zone status fields the tests use. */
typedef struct {
	dclient_result_t res;
	bool published, signing;
	uint32_t serial, input_serial;
	uint64_t records;
	uint32_t journal_entries, journal_first_serial;
	char last_error[512];
} dclient_status_t;

/* Connects to the socket at path (timeout_ms for each later wait; 0: none).
 * Returns 0 with *out, or -1 (reason printed on stderr). */
int dclient_connect(const char *path, unsigned timeout_ms, dclient_t **out);
void dclient_free(dclient_t *c);
/* The reason of the last -1 (static in c). */
const char *dclient_error(const dclient_t *c);

/* Zone add with a KSK and a ZSK named by label (first token), NSEC or NSEC3
 * (no salt, 0 iterations). */
int dclient_zone_add(dclient_t *c, const char *zone, const char *ksk, const char *zsk, bool nsec3,
                     dclient_result_t *res);
/* Whole-zone push of master-file text (origin = zone), in chunks of whole
 * lines of at most chunk_bytes (0: 256 KiB). */
int dclient_push_text(dclient_t *c, const char *zone, const char *text, size_t chunk_bytes,
                      dclient_result_t *res);
/* Incremental change from -> to, removed and added as master-file lines
 * (either may be NULL or empty). */
int dclient_update_text(dclient_t *c, const char *zone, uint32_t from, uint32_t to,
                        const char *removed, const char *added, dclient_result_t *res);
/* Pipelined: sends the update stream, returns its id in *id; the answer is
 * read later with dclient_recv_result(). */
int dclient_update_send(dclient_t *c, const char *zone, uint32_t from, uint32_t to,
                        const char *removed, const char *added, uint64_t *id);
/* Reads the next answer to a push/update; it must carry expect_id. */
int dclient_recv_result(dclient_t *c, uint64_t expect_id, dclient_result_t *res);
/* Sends PushBegin and one chunk of text, no end (to truncate a stream). */
int dclient_push_partial(dclient_t *c, const char *zone, const char *text);
/* Fetch in wire form: the whole zone (has_from false) or the deltas from
 * from_serial. f is overwritten; free with dclient_fetch_free. */
int dclient_fetch(dclient_t *c, const char *zone, bool has_from, uint32_t from, dclient_fetch_t *f);
void dclient_fetch_free(dclient_fetch_t *f);
int dclient_status(dclient_t *c, const char *zone, dclient_status_t *st);
int dclient_daemon_ok(dclient_t *c, dclient_result_t *res);
int dclient_clock_set(dclient_t *c, int64_t offset, dclient_result_t *res);

/* --- line sets --- */
void dclient_lines_init(dclient_lines_t *l);
void dclient_lines_free(dclient_lines_t *l);
int dclient_lines_add(dclient_lines_t *l, const char *s);
void dclient_lines_sort(dclient_lines_t *l);
int dclient_lines_copy(dclient_lines_t *dst, const dclient_lines_t *src);
/* Index of s in sorted l, or -1. */
long dclient_lines_find(const dclient_lines_t *l, const char *s);
/* Prints at most max differences of two sorted sets on stderr ("-" only in
 * a, "+" only in b); returns the number of differences. */
size_t dclient_lines_diff(const dclient_lines_t *a, const dclient_lines_t *b, const char *what,
                          size_t max);
/* Applies d to the sorted set s in place: every removed line must be in s
 * and every added line not (each violation printed, counted in the return). */
size_t dclient_lines_apply(dclient_lines_t *s, const dclient_delta_t *d);
/* FNV-1a 64 of the sorted lines. */
uint64_t dclient_lines_hash(const dclient_lines_t *l);
/* The record type of a line (fourth field), into buf. */
const char *dclient_line_type(const char *line, char *buf, size_t cap);
/* Writes the lines to a file, one per line. 0 or -1. */
int dclient_lines_write(const dclient_lines_t *l, const char *path);

/* Canonical form of one master-file record line (origin zone), as the
 * fetch gives it, in a malloc'ed string; NULL if it does not parse. */
char *dclient_canon(const char *zone, const char *line);

/* Canonical forms of every record of text (master-file lines, origin
 * zone) added to out (unsorted). 0, or -1 if the text does not parse. */
int dclient_canon_all(const char *zone, const char *text, dclient_lines_t *out);

const char *dclient_status_name(int status);

/* --- zones with a policy (the key manager) --- */

/* One key of a zone with a policy, as its zone status shows it. States:
 * "hidden", "rumoured", "omnipresent", "unretentive", "NA". Times are
 * absolute UNIX seconds (0: not yet). */
typedef struct {
	uint32_t tag, algorithm;
	char role[8]; /* KSK, ZSK, CSK */
	char id[160]; /* CKA_ID, hex */
	bool goal;    /* being introduced (true) or retired */
	char ds[16], dnskey[16], krrsig[16], zrrsig[16];
	int64_t created, published, ds_seen, ds_gone, removed, purged;
} dclient_key_state_t;

/* The zone status with the key manager's part. keys is malloc'ed (free
 * with dclient_kasp_status_free). */
typedef struct {
	dclient_result_t res;
	bool published, signing;
	uint32_t serial;
	int64_t published_at; /* absolute UNIX seconds, daemon clock */
	int64_t next_event;   /* absolute; 0: none */
	int64_t kasp_next;    /* absolute; 0: none */
	char kasp_blocked[512], parent_poll[512], last_error[512];
	dclient_key_state_t *keys;
	size_t nkeys;
} dclient_kasp_status_t;

/* Zone add under the KASP policy named policy (keys, timing and denial come
 * from it). */
int dclient_zone_add_policy(dclient_t *c, const char *zone, const char *policy,
                            dclient_result_t *res);
/* Zone status with key states; st is overwritten (release with
 * dclient_kasp_status_free, also after -1). */
int dclient_kasp_status(dclient_t *c, const char *zone, dclient_kasp_status_t *st);
void dclient_kasp_status_free(dclient_kasp_status_t *st);
/* The daemon's clock (DaemonStatus.now, absolute UNIX seconds) in *now. */
int dclient_daemon_now(dclient_t *c, int64_t *now, dclient_result_t *res);

#endif
