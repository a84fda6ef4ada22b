#include "tests/integration/dclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/rpc/rpc_client.h"
#include "signer/rpc/rpc_conn.h"
#include "signer/rpc/rpc_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"

#define RR_TEXT_MAX (256 * 1024)

struct dclient {
	rpc_conn_t *rpc;
	uint64_t next_id;
	char err[512];
	char *rrbuf; /* RR_TEXT_MAX bytes for zone_write_rr_str */
};

__attribute__((format(printf, 2, 3))) static int fail(dclient_t *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

const char *dclient_status_name(int status)
{
	static const char *names[] = {"OK",
	                              "INTERNAL",
	                              "BAD_REQUEST",
	                              "NOT_FOUND",
	                              "ALREADY_EXISTS",
	                              "PERMISSION_DENIED",
	                              "SERIAL_MISMATCH",
	                              "INVALID_ZONE",
	                              "UNAVAILABLE",
	                              "TOO_LARGE",
	                              "TIMEOUT",
	                              "SIGNING_FAILED",
	                              "SHUTTING_DOWN"};
	if (status >= 0 && (size_t)status < sizeof(names) / sizeof(names[0])) {
		return names[status];
	}
	return "?";
}

int dclient_connect(const char *path, unsigned timeout_ms, dclient_t **out)
{
	dclient_t *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->rrbuf = malloc(RR_TEXT_MAX)) == NULL) {
		free(c);
		return -1;
	}
	rpc_client_config_t cfg = {.server = path, .timeout_ms = timeout_ms};
	char err[256];
	int st = rpc_client_connect(&cfg, &c->rpc, err, sizeof(err));
	if (st != RPC_OK) {
		fprintf(stderr, "dclient: connect %s: %s\n", path, err);
		free(c->rrbuf);
		free(c);
		return -1;
	}
	c->next_id = 1;
	*out = c;
	return 0;
}

void dclient_free(dclient_t *c)
{
	if (c == NULL) {
		return;
	}
	rpc_conn_free(c->rpc);
	free(c->rrbuf);
	free(c);
}

const char *dclient_error(const dclient_t *c)
{
	return c->err;
}

static int send_req(dclient_t *c, Signer__V1__Request *q)
{
	int st = rpc_conn_send_request(c->rpc, q);
	if (st != RPC_OK) {
		return fail(c, "send request %llu: %s", (unsigned long long)q->id,
		            rpc_strerror(st));
	}
	return 0;
}

/* Reads one response, which must carry id. */
static int recv_resp(dclient_t *c, uint64_t id, Signer__V1__Response **out)
{
	Signer__V1__Response *r = NULL;
	int st = rpc_conn_recv_response(c->rpc, 64u << 20, &r);
	if (st != RPC_OK) {
		return fail(c, "reading the answer to request %llu: %s", (unsigned long long)id,
		            rpc_strerror(st));
	}
	if (r->id != id) {
		fail(c,
		     "protocol: expected an answer to request %llu, got one to %llu (status %s, "
		     "message \"%s\")",
		     (unsigned long long)id, (unsigned long long)r->id,
		     dclient_status_name(r->status), r->message);
		signer__v1__response__free_unpacked(r, NULL);
		return -1;
	}
	*out = r;
	return 0;
}

static void fill_result(const Signer__V1__Response *r, dclient_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->status = r->status;
	res->id = r->id;
	snprintf(res->message, sizeof(res->message), "%s", r->message ? r->message : "");
	if (r->body_case == SIGNER__V1__RESPONSE__BODY_UPDATE && r->update != NULL) {
		res->serial = r->update->serial;
		res->input_serial = r->update->input_serial;
		res->coalesced = r->update->coalesced;
	}
}

/* Sends q (id assigned) and reads a one-response answer into res. */
static int call(dclient_t *c, Signer__V1__Request *q, dclient_result_t *res,
                Signer__V1__Response **keep)
{
	q->id = c->next_id++;
	if (send_req(c, q) != 0) {
		return -1;
	}
	Signer__V1__Response *r = NULL;
	if (recv_resp(c, q->id, &r) != 0) {
		return -1;
	}
	if (r->more) {
		fail(c, "protocol: answer to request %llu has more = true",
		     (unsigned long long)q->id);
		signer__v1__response__free_unpacked(r, NULL);
		return -1;
	}
	fill_result(r, res);
	if (keep != NULL) {
		*keep = r;
	} else {
		signer__v1__response__free_unpacked(r, NULL);
	}
	return 0;
}

int dclient_zone_add(dclient_t *c, const char *zone, const char *ksk, const char *zsk, bool nsec3,
                     dclient_result_t *res)
{
	Signer__V1__ZoneKey k1 = SIGNER__V1__ZONE_KEY__INIT, k2 = SIGNER__V1__ZONE_KEY__INIT;
	k1.key = (char *)ksk;
	k1.role = SIGNER__V1__ZONE_KEY__ROLE__KSK;
	k2.key = (char *)zsk;
	k2.role = SIGNER__V1__ZONE_KEY__ROLE__ZSK;
	Signer__V1__ZoneKey *keys[] = {&k1, &k2};
	Signer__V1__Nsec3 n3 = SIGNER__V1__NSEC3__INIT;
	Signer__V1__ZoneConfig zc = SIGNER__V1__ZONE_CONFIG__INIT;
	zc.name = (char *)zone;
	zc.keys = keys;
	zc.n_keys = 2;
	if (nsec3) {
		zc.nsec3 = &n3;
	}
	Signer__V1__ZoneAdd za = SIGNER__V1__ZONE_ADD__INIT;
	za.config = &zc;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_ADD;
	q.zone_add = &za;
	return call(c, &q, res, NULL);
}

static int send_chunk(dclient_t *c, uint64_t id, Signer__V1__RecordChunk *ch)
{
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = id;
	q.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	q.chunk = ch;
	return send_req(c, &q);
}

static int send_end(dclient_t *c, uint64_t id)
{
	Signer__V1__StreamEnd se = SIGNER__V1__STREAM_END__INIT;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = id;
	q.op_case = SIGNER__V1__REQUEST__OP_END;
	q.end = &se;
	return send_req(c, &q);
}

static int send_push_begin(dclient_t *c, const char *zone, uint64_t *id)
{
	Signer__V1__PushBegin pb = SIGNER__V1__PUSH_BEGIN__INIT;
	pb.zone = (char *)zone;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = *id = c->next_id++;
	q.op_case = SIGNER__V1__REQUEST__OP_PUSH_BEGIN;
	q.push_begin = &pb;
	return send_req(c, &q);
}

/* Sends text in chunks of whole lines of at most max bytes. */
static int send_text_chunks(dclient_t *c, uint64_t id, const char *text, size_t max)
{
	size_t len = strlen(text), off = 0;
	char *buf = malloc(max + 1);
	if (buf == NULL) {
		return fail(c, "out of memory");
	}
	int ret = 0;
	while (off < len && ret == 0) {
		size_t n = len - off;
		if (n > max) {
			n = max;
			while (n > 0 && text[off + n - 1] != '\n') {
				n--;
			}
			if (n == 0) {
				n = max; /* a line longer than max: send it cut (caller's problem) */
			}
		}
		memcpy(buf, text + off, n);
		buf[n] = '\0';
		Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
		ch.text = buf;
		ret = send_chunk(c, id, &ch);
		off += n;
	}
	free(buf);
	return ret;
}

int dclient_push_text(dclient_t *c, const char *zone, const char *text, size_t chunk_bytes,
                      dclient_result_t *res)
{
	uint64_t id;
	if (send_push_begin(c, zone, &id) != 0 ||
	    send_text_chunks(c, id, text, chunk_bytes ? chunk_bytes : 256 * 1024) != 0 ||
	    send_end(c, id) != 0) {
		return -1;
	}
	return dclient_recv_result(c, id, res);
}

int dclient_push_partial(dclient_t *c, const char *zone, const char *text)
{
	uint64_t id;
	if (send_push_begin(c, zone, &id) != 0 || send_text_chunks(c, id, text, 64 * 1024) != 0) {
		return -1;
	}
	return 0;
}

int dclient_update_send(dclient_t *c, const char *zone, uint32_t from, uint32_t to,
                        const char *removed, const char *added, uint64_t *id)
{
	Signer__V1__UpdateBegin ub = SIGNER__V1__UPDATE_BEGIN__INIT;
	ub.zone = (char *)zone;
	ub.from_serial = from;
	ub.to_serial = to;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = *id = c->next_id++;
	q.op_case = SIGNER__V1__REQUEST__OP_UPDATE_BEGIN;
	q.update_begin = &ub;
	if (send_req(c, &q) != 0) {
		return -1;
	}
	Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
	ch.removed_text = (char *)(removed ? removed : "");
	ch.added_text = (char *)(added ? added : "");
	if (send_chunk(c, *id, &ch) != 0) {
		return -1;
	}
	return send_end(c, *id);
}

int dclient_recv_result(dclient_t *c, uint64_t expect_id, dclient_result_t *res)
{
	Signer__V1__Response *r = NULL;
	if (recv_resp(c, expect_id, &r) != 0) {
		return -1;
	}
	if (r->more) {
		signer__v1__response__free_unpacked(r, NULL);
		return fail(c, "protocol: answer to stream %llu has more = true",
		            (unsigned long long)expect_id);
	}
	fill_result(r, res);
	signer__v1__response__free_unpacked(r, NULL);
	return 0;
}

int dclient_update_text(dclient_t *c, const char *zone, uint32_t from, uint32_t to,
                        const char *removed, const char *added, dclient_result_t *res)
{
	uint64_t id;
	if (dclient_update_send(c, zone, from, to, removed, added, &id) != 0) {
		return -1;
	}
	return dclient_recv_result(c, id, res);
}

/* --- fetch --- */

static int add_records(dclient_t *c, dclient_lines_t *l, Signer__V1__Record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Signer__V1__Record *r = recs[i];
		size_t len = 0;
		if (r->owner.len == 0 || dname_length(r->owner.data) != r->owner.len ||
		    r->type > 0xffff) {
			return fail(c, "fetch: a malformed record (owner length %zu, type %u)",
			            r->owner.len, r->type);
		}
		int st = zone_write_rr_str(r->owner.data, (uint16_t)r->type, r->ttl, r->rdata.data,
		                           r->rdata.len, c->rrbuf, RR_TEXT_MAX, &len);
		if (st != ZONE_OK) {
			return fail(c, "fetch: zone_write_rr_str: %s", zone_strerror(st));
		}
		if (len > 0 && c->rrbuf[len - 1] == '\n') {
			c->rrbuf[--len] = '\0';
		}
		if (dclient_lines_add(l, c->rrbuf) != 0) {
			return fail(c, "out of memory");
		}
	}
	return 0;
}

void dclient_fetch_free(dclient_fetch_t *f)
{
	dclient_lines_free(&f->all);
	for (size_t i = 0; i < f->ndeltas; i++) {
		dclient_lines_free(&f->deltas[i].removed);
		dclient_lines_free(&f->deltas[i].added);
	}
	free(f->deltas);
	memset(f, 0, sizeof(*f));
}

static dclient_delta_t *delta_for(dclient_fetch_t *f, uint32_t from, uint32_t to, bool removed)
{
	dclient_delta_t *d = f->ndeltas ? &f->deltas[f->ndeltas - 1] : NULL;
	if (d != NULL && d->from == from && d->to == to && !(removed && d->added.n > 0)) {
		return d;
	}
	dclient_delta_t *p = realloc(f->deltas, (f->ndeltas + 1) * sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	f->deltas = p;
	d = &p[f->ndeltas++];
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	return d;
}

int dclient_fetch(dclient_t *c, const char *zone, bool has_from, uint32_t from, dclient_fetch_t *f)
{
	memset(f, 0, sizeof(*f));
	Signer__V1__FetchZone fz = SIGNER__V1__FETCH_ZONE__INIT;
	fz.zone = (char *)zone;
	fz.has_from_serial = has_from;
	fz.from_serial = from;
	fz.format = SIGNER__V1__FETCH_ZONE__FORMAT__WIRE;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.id = c->next_id++;
	q.op_case = SIGNER__V1__REQUEST__OP_FETCH;
	q.fetch = &fz;
	if (send_req(c, &q) != 0) {
		return -1;
	}
	bool header = false;
	for (;;) {
		Signer__V1__Response *r = NULL;
		if (recv_resp(c, q.id, &r) != 0) {
			dclient_fetch_free(f);
			return -1;
		}
		int ret = 0;
		if (!r->more) {
			fill_result(r, &f->res);
			if (r->status == 0 && !header) {
				ret = fail(c, "protocol: fetch %llu ended OK without a header",
				           (unsigned long long)q.id);
			}
			signer__v1__response__free_unpacked(r, NULL);
			if (ret != 0) {
				dclient_fetch_free(f);
				return -1;
			}
			break;
		}
		if (r->body_case == SIGNER__V1__RESPONSE__BODY_FETCH_HEADER) {
			if (header) {
				ret = fail(c, "protocol: two fetch headers");
			}
			header = true;
			f->delta = r->fetch_header->delta;
			f->serial = r->fetch_header->serial;
		} else if (r->body_case == SIGNER__V1__RESPONSE__BODY_CHUNK && header) {
			Signer__V1__RecordChunk *ch = r->chunk;
			ret = add_records(c, &f->all, ch->records, ch->n_records);
			if (ret == 0 && ch->n_removed > 0) {
				dclient_delta_t *d =
				        delta_for(f, ch->from_serial, ch->to_serial, true);
				ret = d ? add_records(c, &d->removed, ch->removed, ch->n_removed)
				        : fail(c, "out of memory");
			}
			if (ret == 0 && ch->n_added > 0) {
				dclient_delta_t *d =
				        delta_for(f, ch->from_serial, ch->to_serial, false);
				ret = d ? add_records(c, &d->added, ch->added, ch->n_added)
				        : fail(c, "out of memory");
			}
			if (ret == 0 && (ch->text[0] || ch->removed_text[0] || ch->added_text[0])) {
				ret = fail(c, "protocol: text in a WIRE fetch");
			}
		} else {
			ret = fail(c, "protocol: fetch response with body %d (header %d)",
			           (int)r->body_case, header);
		}
		signer__v1__response__free_unpacked(r, NULL);
		if (ret != 0) {
			dclient_fetch_free(f);
			return -1;
		}
	}
	dclient_lines_sort(&f->all);
	for (size_t i = 0; i < f->ndeltas; i++) {
		dclient_lines_sort(&f->deltas[i].removed);
		dclient_lines_sort(&f->deltas[i].added);
	}
	return 0;
}

int dclient_status(dclient_t *c, const char *zone, dclient_status_t *st)
{
	memset(st, 0, sizeof(*st));
	Signer__V1__ZoneStatusRequest zs = SIGNER__V1__ZONE_STATUS_REQUEST__INIT;
	zs.name = (char *)zone;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_STATUS;
	q.zone_status = &zs;
	Signer__V1__Response *r = NULL;
	if (call(c, &q, &st->res, &r) != 0) {
		return -1;
	}
	if (r->body_case == SIGNER__V1__RESPONSE__BODY_ZONE && r->zone != NULL) {
		st->published = r->zone->published;
		st->signing = r->zone->signing;
		st->serial = r->zone->serial;
		st->input_serial = r->zone->input_serial;
		st->records = r->zone->records;
		st->journal_entries = r->zone->journal_entries;
		st->journal_first_serial = r->zone->journal_first_serial;
		snprintf(st->last_error, sizeof(st->last_error), "%s",
		         r->zone->last_error ? r->zone->last_error : "");
	} else if (r->status == 0) {
		signer__v1__response__free_unpacked(r, NULL);
		return fail(c, "protocol: zone status OK without a ZoneStatus");
	}
	signer__v1__response__free_unpacked(r, NULL);
	return 0;
}

int dclient_daemon_ok(dclient_t *c, dclient_result_t *res)
{
	Signer__V1__DaemonStatusRequest d = SIGNER__V1__DAEMON_STATUS_REQUEST__INIT;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_DAEMON_STATUS;
	q.daemon_status = &d;
	return call(c, &q, res, NULL);
}

int dclient_clock_set(dclient_t *c, int64_t offset, dclient_result_t *res)
{
	Signer__V1__ClockSet cs = SIGNER__V1__CLOCK_SET__INIT;
	cs.offset = offset;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_CLOCK_SET;
	q.clock_set = &cs;
	return call(c, &q, res, NULL);
}

/* --- line sets --- */

void dclient_lines_init(dclient_lines_t *l)
{
	memset(l, 0, sizeof(*l));
}

void dclient_lines_free(dclient_lines_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int push_owned(dclient_lines_t *l, char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

int dclient_lines_add(dclient_lines_t *l, const char *s)
{
	char *d = strdup(s);
	if (d == NULL || push_owned(l, d) != 0) {
		free(d);
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dclient_lines_sort(dclient_lines_t *l)
{
	if (l->n > 1) {
		qsort(l->v, l->n, sizeof(char *), cmp_str);
	}
}

int dclient_lines_copy(dclient_lines_t *dst, const dclient_lines_t *src)
{
	dclient_lines_init(dst);
	for (size_t i = 0; i < src->n; i++) {
		if (dclient_lines_add(dst, src->v[i]) != 0) {
			dclient_lines_free(dst);
			return -1;
		}
	}
	return 0;
}

long dclient_lines_find(const dclient_lines_t *l, const char *s)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid], s);
		if (c == 0) {
			return (long)mid;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return -1;
}

size_t dclient_lines_diff(const dclient_lines_t *a, const dclient_lines_t *b, const char *what,
                          size_t max)
{
	size_t i = 0, j = 0, n = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (n < max) {
			fprintf(stderr, "    %s: %c %s\n", what, c < 0 ? '-' : '+',
			        c < 0 ? a->v[i] : b->v[j]);
		}
		n++;
		if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	if (n > max) {
		fprintf(stderr, "    %s: ... %zu differences in all\n", what, n);
	}
	return n;
}

size_t dclient_lines_apply(dclient_lines_t *s, const dclient_delta_t *d)
{
	size_t bad = 0;
	for (size_t i = 0; i < d->removed.n; i++) {
		long k = dclient_lines_find(s, d->removed.v[i]);
		if (k < 0) {
			if (bad++ < 5) {
				fprintf(stderr, "    delta %u->%u removes a record not there: %s\n",
				        d->from, d->to, d->removed.v[i]);
			}
			continue;
		}
		free(s->v[k]);
		memmove(&s->v[k], &s->v[k + 1], (s->n - (size_t)k - 1) * sizeof(char *));
		s->n--;
	}
	for (size_t i = 0; i < d->added.n; i++) {
		if (dclient_lines_find(s, d->added.v[i]) >= 0) {
			if (bad++ < 5) {
				fprintf(stderr,
				        "    delta %u->%u adds a record already there: %s\n",
				        d->from, d->to, d->added.v[i]);
			}
			continue;
		}
		if (dclient_lines_add(s, d->added.v[i]) != 0) {
			bad++;
		}
	}
	dclient_lines_sort(s);
	return bad;
}

uint64_t dclient_lines_hash(const dclient_lines_t *l)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < l->n; i++) {
		for (const unsigned char *p = (const unsigned char *)l->v[i]; *p; p++) {
			h = (h ^ *p) * 1099511628211ull;
		}
		h = (h ^ '\n') * 1099511628211ull;
	}
	return h;
}

const char *dclient_line_type(const char *line, char *buf, size_t cap)
{
	const char *p = line;
	for (int f = 0; f < 3; f++) {
		while (*p && *p != ' ' && *p != '\t') {
			p++;
		}
		while (*p == ' ' || *p == '\t') {
			p++;
		}
	}
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != '\t' && n + 1 < cap) {
		n++;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

int dclient_lines_write(const dclient_lines_t *l, const char *path)
{
	FILE *fp = fopen(path, "w");
	if (fp == NULL) {
		return -1;
	}
	for (size_t i = 0; i < l->n; i++) {
		fputs(l->v[i], fp);
		fputc('\n', fp);
	}
	return fclose(fp) == 0 ? 0 : -1;
}

static void quiet(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                  const char *msg)
{
	(void)ctx;
	(void)level;
	(void)file;
	(void)line;
	(void)msg;
}

char *dclient_canon(const char *zone, const char *line)
{
	uint8_t apex[DNAME_MAXLEN];
	if (dname_from_str(zone, NULL, apex, sizeof(apex), NULL) != ZONE_OK) {
		return NULL;
	}
	zone_delta_t d;
	zone_delta_init(&d);
	char *out = NULL;
	if (zone_load_records(line, strlen(line), "canon", apex, 3600, true, quiet, NULL, &d) ==
	            ZONE_OK &&
	    d.nadded == 1) {
		char *buf = malloc(RR_TEXT_MAX);
		size_t len = 0;
		if (buf != NULL &&
		    zone_write_rr_str(d.added[0].owner, d.added[0].type, d.added[0].ttl,
		                      d.added[0].rdata, d.added[0].rdlen, buf, RR_TEXT_MAX,
		                      &len) == ZONE_OK) {
			if (len > 0 && buf[len - 1] == '\n') {
				buf[--len] = '\0';
			}
			out = strdup(buf);
		}
		free(buf);
	}
	zone_delta_deinit(&d);
	return out;
}

int dclient_canon_all(const char *zone, const char *text, dclient_lines_t *out)
{
	uint8_t apex[DNAME_MAXLEN];
	if (dname_from_str(zone, NULL, apex, sizeof(apex), NULL) != ZONE_OK) {
		return -1;
	}
	zone_delta_t d;
	zone_delta_init(&d);
	char *buf = malloc(RR_TEXT_MAX);
	int ret = buf != NULL && zone_load_records(text, strlen(text), "canon", apex, 3600, true,
	                                           quiet, NULL, &d) == ZONE_OK
	                  ? 0
	                  : -1;
	for (size_t i = 0; ret == 0 && i < d.nadded; i++) {
		size_t len = 0;
		if (zone_write_rr_str(d.added[i].owner, d.added[i].type, d.added[i].ttl,
		                      d.added[i].rdata, d.added[i].rdlen, buf, RR_TEXT_MAX,
		                      &len) != ZONE_OK) {
			ret = -1;
			break;
		}
		if (len > 0 && buf[len - 1] == '\n') {
			buf[--len] = '\0';
		}
		ret = dclient_lines_add(out, buf);
	}
	free(buf);
	zone_delta_deinit(&d);
	return ret;
}

/* --- zones with a policy --- */

int dclient_zone_add_policy(dclient_t *c, const char *zone, const char *policy,
                            dclient_result_t *res)
{
	Signer__V1__ZoneConfig zc = SIGNER__V1__ZONE_CONFIG__INIT;
	zc.name = (char *)zone;
	zc.policy = (char *)policy;
	Signer__V1__ZoneAdd za = SIGNER__V1__ZONE_ADD__INIT;
	za.config = &zc;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_ADD;
	q.zone_add = &za;
	return call(c, &q, res, NULL);
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

int dclient_kasp_status(dclient_t *c, const char *zone, dclient_kasp_status_t *st)
{
	memset(st, 0, sizeof(*st));
	Signer__V1__ZoneStatusRequest zs = SIGNER__V1__ZONE_STATUS_REQUEST__INIT;
	zs.name = (char *)zone;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_ZONE_STATUS;
	q.zone_status = &zs;
	Signer__V1__Response *r = NULL;
	if (call(c, &q, &st->res, &r) != 0) {
		return -1;
	}
	int ret = 0;
	const Signer__V1__ZoneStatus *z =
	        r->body_case == SIGNER__V1__RESPONSE__BODY_ZONE ? r->zone : NULL;
	if (z != NULL) {
		st->published = z->published;
		st->signing = z->signing;
		st->serial = z->serial;
		st->published_at = z->published_at;
		st->next_event = z->next_event;
		st->kasp_next = z->kasp_next;
		copy_str(st->kasp_blocked, sizeof(st->kasp_blocked), z->kasp_blocked);
		copy_str(st->parent_poll, sizeof(st->parent_poll), z->parent_poll);
		copy_str(st->last_error, sizeof(st->last_error), z->last_error);
		st->keys = calloc(z->n_keys + 1, sizeof(*st->keys));
		if (st->keys == NULL) {
			ret = fail(c, "out of memory");
		}
		for (size_t i = 0; ret == 0 && i < z->n_keys; i++) {
			const Signer__V1__KeyState *k = z->keys[i];
			dclient_key_state_t *o = &st->keys[st->nkeys++];
			o->tag = k->key_tag;
			o->algorithm = k->algorithm;
			copy_str(o->role, sizeof(o->role), k->role);
			copy_str(o->id, sizeof(o->id), k->id);
			o->goal = k->goal;
			copy_str(o->ds, sizeof(o->ds), k->ds);
			copy_str(o->dnskey, sizeof(o->dnskey), k->dnskey);
			copy_str(o->krrsig, sizeof(o->krrsig), k->krrsig);
			copy_str(o->zrrsig, sizeof(o->zrrsig), k->zrrsig);
			o->created = k->created;
			o->published = k->published;
			o->ds_seen = k->ds_seen;
			o->ds_gone = k->ds_gone;
			o->removed = k->removed;
			o->purged = k->purged;
		}
	} else if (r->status == 0) {
		ret = fail(c, "protocol: zone status OK without a ZoneStatus");
	}
	signer__v1__response__free_unpacked(r, NULL);
	return ret;
}

void dclient_kasp_status_free(dclient_kasp_status_t *st)
{
	free(st->keys);
	st->keys = NULL;
	st->nkeys = 0;
}

int dclient_daemon_now(dclient_t *c, int64_t *now, dclient_result_t *res)
{
	Signer__V1__DaemonStatusRequest d = SIGNER__V1__DAEMON_STATUS_REQUEST__INIT;
	Signer__V1__Request q = SIGNER__V1__REQUEST__INIT;
	q.op_case = SIGNER__V1__REQUEST__OP_DAEMON_STATUS;
	q.daemon_status = &d;
	Signer__V1__Response *r = NULL;
	if (call(c, &q, res, &r) != 0) {
		return -1;
	}
	int ret = 0;
	if (r->body_case == SIGNER__V1__RESPONSE__BODY_DAEMON && r->daemon != NULL) {
		*now = r->daemon->now;
	} else if (r->status == 0) {
		ret = fail(c, "protocol: daemon status OK without a DaemonStatus");
	}
	signer__v1__response__free_unpacked(r, NULL);
	return ret;
}
