/*
 * bench_daemon: the client side of tests/bench/daemon. Talks to a running
 * signerd over its Unix socket and prints one "key value" line per figure.
 *
 *   bench_daemon add SOCK ZONE KSK ZSK     adds ZONE signed by the keys labelled
 *   bench_daemon push SOCK ZONE FILE       push FILE as text; prints seconds
 *   bench_daemon latency SOCK ZONE N       N one-record changes, one at a time:
 *                                          send -> published -> signed delta
 *                                          received; prints median and p99 ms
 *   bench_daemon throughput SOCK ZONE N    N one-record changes pipelined;
 *                                          prints changes/s and serials made
 *   bench_daemon ready SOCK ZONE SECONDS   waits until ZONE is served; prints
 *                                          seconds from the call
 *   bench_daemon wire SOCK ZONE            fetches the zone; prints its RRs'
 *                                          uncompressed wire size
 *   bench_daemon parse FILE ORIGIN         zone_load of FILE; prints seconds
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signer/rpc/rpc_client.h"
#include "signer/rpc/rpc_conn.h"
#include "signer/rpc/rpc_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_load.h"

#define MAX_FRAME (64u << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_daemon: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static rpc_conn_t *connect_to(const char *sock, bool quiet)
{
	char server[4200], err[256];
	snprintf(server, sizeof(server), "unix:%s", sock);
	rpc_client_config_t cfg = {.server = server, .timeout_ms = 3600 * 1000};
	rpc_conn_t *c = NULL;
	if (rpc_client_connect(&cfg, &c, err, sizeof(err)) != RPC_OK) {
		if (quiet) {
			return NULL;
		}
		die("%s", err);
	}
	return c;
}

static void send_req(rpc_conn_t *c, Signer__V1__Request *q)
{
	int st = rpc_conn_send_request(c, q);
	if (st != RPC_OK) {
		die("send: %s", rpc_strerror(st));
	}
}

static Signer__V1__Response *recv_resp(rpc_conn_t *c)
{
	Signer__V1__Response *r = NULL;
	int st = rpc_conn_recv_response(c, MAX_FRAME, &r);
	if (st != RPC_OK) {
		die("receive: %s", rpc_strerror(st));
	}
	return r;
}

static Signer__V1__Response *expect_ok(rpc_conn_t *c)
{
	Signer__V1__Response *r = recv_resp(c);
	if (r->status != SIGNER__V1__STATUS__OK) {
		die("request failed: %s", r->message);
	}
	return r;
}

static bool zone_status(rpc_conn_t *c, const char *zone, Signer__V1__ZoneStatus *out)
{
	Signer__V1__ZoneStatusRequest zs = SIGNER__V1__ZONE_STATUS_REQUEST__INIT;
	zs.name = (char *)zone;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = 1;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_STATUS;
	q.zone_status = &zs;
	send_req(c, &q);
	Signer__V1__Response *r = recv_resp(c);
	bool ok = r->status == SIGNER__V1__STATUS__OK && r->zone != NULL;
	if (ok) {
		out->published = r->zone->published;
		out->serial = r->zone->serial;
		out->input_serial = r->zone->input_serial;
	}
	signer__v1__response__free_unpacked(r, NULL);
	return ok;
}

static void add(const char *sock, const char *zone, const char *ksk, const char *zsk)
{
	rpc_conn_t *c = connect_to(sock, false);
	Signer__V1__ZoneKey k1 = SIGNER__V1__ZONE_KEY__INIT, k2 = SIGNER__V1__ZONE_KEY__INIT;
	k1.key = (char *)ksk;
	k1.role = SIGNER__V1__ZONE_KEY__ROLE__KSK;
	k2.key = (char *)zsk;
	k2.role = SIGNER__V1__ZONE_KEY__ROLE__ZSK;
	Signer__V1__ZoneKey *keys[] = {&k1, &k2};
	Signer__V1__ZoneConfig zc = SIGNER__V1__ZONE_CONFIG__INIT;
	zc.name = (char *)zone;
	zc.keys = keys;
	zc.n_keys = 2;
	Signer__V1__ZoneAdd za = SIGNER__V1__ZONE_ADD__INIT;
	za.config = &zc;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = 1;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_ADD;
	q.zone_add = &za;
	send_req(c, &q);
	signer__v1__response__free_unpacked(expect_ok(c), NULL);
	rpc_conn_free(c);
}

static void push(const char *sock, const char *zone, const char *file)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		die("%s: cannot open", file);
	}
	rpc_conn_t *c = connect_to(sock, false);
	double t0 = now_s();
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	Signer__V1__PushBegin pb = SIGNER__V1__PUSH_BEGIN__INIT;
	pb.zone = (char *)zone;
	q.id = 7;
	q.op_case = SIGNER__V1__REQUEST__OP_PUSH_BEGIN;
	q.push_begin = &pb;
	send_req(c, &q);
	size_t cap = 1u << 20;
	char *buf = malloc(cap + 1), line[65536];
	size_t len = 0;
	Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	q.chunk = &ch;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		if (len + n > cap) {
			buf[len] = '\0';
			ch.text = buf;
			send_req(c, &q);
			len = 0;
		}
		memcpy(buf + len, line, n);
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	ch.text = buf;
	send_req(c, &q);
	Signer__V1__StreamEnd se = SIGNER__V1__STREAM_END__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_END;
	q.end = &se;
	send_req(c, &q);
	Signer__V1__Response *r = expect_ok(c);
	printf("push_seconds %.3f\n", now_s() - t0);
	printf("push_serial %u\n", r->update != NULL ? r->update->serial : 0);
	signer__v1__response__free_unpacked(r, NULL);
	free(buf);
	rpc_conn_free(c);
}

static void send_change(rpc_conn_t *c, uint64_t id, const char *zone, uint32_t from,
                        const char *added)
{
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	Signer__V1__UpdateBegin ub = SIGNER__V1__UPDATE_BEGIN__INIT;
	ub.zone = (char *)zone;
	ub.from_serial = from;
	ub.to_serial = from + 1;
	q.id = id;
	q.op_case = SIGNER__V1__REQUEST__OP_UPDATE_BEGIN;
	q.update_begin = &ub;
	send_req(c, &q);
	Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
	ch.added_text = (char *)added;
	q.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	q.chunk = &ch;
	send_req(c, &q);
	Signer__V1__StreamEnd se = SIGNER__V1__STREAM_END__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_END;
	q.end = &se;
	send_req(c, &q);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void latency(const char *sock, const char *zone, int n)
{
	rpc_conn_t *c = connect_to(sock, false);
	Signer__V1__ZoneStatus st;
	if (!zone_status(c, zone, &st) || !st.published) {
		die("zone %s is not published", zone);
	}
	uint32_t input = st.input_serial, serial = st.serial;
	double *lat = calloc((size_t)n, sizeof(*lat));
	srand(4242);
	for (int i = 0; i < n; i++) {
		char rr[128];
		snprintf(rr, sizeof(rr), "lat-%d-%d TXT \"change %d\"\n", rand(), i, i);
		double t0 = now_s();
		send_change(c, (uint64_t)i + 100, zone, input, rr);
		Signer__V1__Response *r = expect_ok(c);
		uint32_t next = r->update->serial;
		signer__v1__response__free_unpacked(r, NULL);
		/* The signed delta. */
		Signer__V1__FetchZone fz = SIGNER__V1__FETCH_ZONE__INIT;
		fz.zone = (char *)zone;
		fz.has_from_serial = true;
		fz.from_serial = serial;
		Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
		q.id = 99;
		q.op_case = SIGNER__V1__REQUEST__OP_FETCH;
		q.fetch = &fz;
		send_req(c, &q);
		size_t records = 0;
		for (;;) {
			r = expect_ok(c);
			bool more = r->more;
			if (r->body_case == SIGNER__V1__RESPONSE__BODY_CHUNK) {
				records += r->chunk->n_added + r->chunk->n_removed;
			}
			signer__v1__response__free_unpacked(r, NULL);
			if (!more) {
				break;
			}
		}
		lat[i] = (now_s() - t0) * 1000.0;
		if (records == 0) {
			die("empty delta for %s", zone);
		}
		input++;
		serial = next;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("latency_median_ms %.3f\n", lat[n / 2]);
	printf("latency_p99_ms %.3f\n", lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	free(lat);
	rpc_conn_free(c);
}

static void throughput(const char *sock, const char *zone, int n)
{
	rpc_conn_t *c = connect_to(sock, false);
	Signer__V1__ZoneStatus st;
	if (!zone_status(c, zone, &st) || !st.published) {
		die("zone %s is not published", zone);
	}
	uint32_t input = st.input_serial, first = st.serial;
	double t0 = now_s();
	uint32_t last = first;
	int sent = 0, got = 0, coalesced = 0, serials = 0;
	/* Keep up to 16000 changes in flight (the daemon takes 16384 per connection). */
	while (got < n) {
		while (sent < n && sent - got < 16000) {
			char rr[128];
			snprintf(rr, sizeof(rr), "tp-%d TXT \"throughput %d\"\n", sent, sent);
			send_change(c, (uint64_t)sent + 1000000, zone, input + (uint32_t)sent, rr);
			sent++;
		}
		Signer__V1__Response *r = expect_ok(c);
		if (r->update->serial != last) {
			serials++;
		}
		last = r->update->serial;
		coalesced += r->update->coalesced;
		signer__v1__response__free_unpacked(r, NULL);
		got++;
	}
	double t = now_s() - t0;
	printf("throughput_changes_per_s %.1f\n", n / t);
	printf("throughput_serials %d\n", serials);
	printf("throughput_coalesced %d\n", coalesced);
	rpc_conn_free(c);
}

static void ready(const char *sock, const char *zone, double limit)
{
	double t0 = now_s();
	while (now_s() - t0 < limit) {
		rpc_conn_t *c = connect_to(sock, true);
		if (c != NULL) {
			Signer__V1__ZoneStatus st;
			bool ok = zone_status(c, zone, &st) && st.published;
			rpc_conn_free(c);
			if (ok) {
				printf("ready_seconds %.3f\n", now_s() - t0);
				return;
			}
		}
		usleep(2000);
	}
	die("zone %s not served in time", zone);
}

static void wire(const char *sock, const char *zone)
{
	rpc_conn_t *c = connect_to(sock, false);
	Signer__V1__FetchZone fz = SIGNER__V1__FETCH_ZONE__INIT;
	fz.zone = (char *)zone;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = 5;
	q.op_case = SIGNER__V1__REQUEST__OP_FETCH;
	q.fetch = &fz;
	send_req(c, &q);
	uint64_t bytes = 0, records = 0;
	for (;;) {
		Signer__V1__Response *r = expect_ok(c);
		bool more = r->more;
		for (size_t i = 0;
		     r->body_case == SIGNER__V1__RESPONSE__BODY_CHUNK && i < r->chunk->n_records;
		     i++) {
			const Signer__V1__Record *rr = r->chunk->records[i];
			bytes += rr->owner.len + 10 + rr->rdata.len;
			records++;
		}
		signer__v1__response__free_unpacked(r, NULL);
		if (!more) {
			break;
		}
	}
	printf("wire_bytes %llu\n", (unsigned long long)bytes);
	printf("wire_records %llu\n", (unsigned long long)records);
	rpc_conn_free(c);
}

static void parse(const char *file, const char *origin)
{
	uint8_t apex[DNAME_MAXLEN];
	size_t len = 0;
	if (dname_from_str(origin, NULL, apex, sizeof(apex), &len) != 0) {
		die("bad origin %s", origin);
	}
	double t0 = now_s();
	zone_t *z = NULL;
	if (zone_load(file, apex, 3600, NULL, NULL, &z) != 0) {
		die("%s does not load", file);
	}
	printf("parse_seconds %.3f\n", now_s() - t0);
	zone_free(z);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "add") == 0) {
		add(argv[2], argv[3], argv[4], argv[5]);
	} else if (argc == 5 && strcmp(argv[1], "push") == 0) {
		push(argv[2], argv[3], argv[4]);
	} else if (argc == 5 && strcmp(argv[1], "latency") == 0) {
		latency(argv[2], argv[3], atoi(argv[4]));
	} else if (argc == 5 && strcmp(argv[1], "throughput") == 0) {
		throughput(argv[2], argv[3], atoi(argv[4]));
	} else if (argc == 5 && strcmp(argv[1], "ready") == 0) {
		ready(argv[2], argv[3], atof(argv[4]));
	} else if (argc == 4 && strcmp(argv[1], "wire") == 0) {
		wire(argv[2], argv[3]);
	} else if (argc == 4 && strcmp(argv[1], "parse") == 0) {
		parse(argv[2], argv[3]);
	} else {
		fprintf(stderr,
		        "usage: see the comment at the top of tests/bench/bench_daemon.c\n");
		return 2;
	}
	return 0;
}
