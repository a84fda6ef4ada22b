#include "signer/daemon/daemon_rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "signer/daemon/log.h"
#include "signer/rpc/rpc_conn.h"
#include "signer/rpc/rpc_error.h"
#include "signer/rpc/rpc_frame.h"
#include "signer/rpc/rpc_listen.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_builder.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"

/* Answers a connection may be waiting for (pipelined changes). */
#define INFLIGHT_MAX 16384
/* Records per chunk of a fetch. */
#define FETCH_CHUNK 1000

typedef struct conn conn_t;

struct daemon_rpc {
	daemon_rpc_params_t p;
	rpc_listen_t *listen;
	pthread_t accept_thread;
	atomic_bool stop;

	pthread_mutex_t mu;  /* guards the fields down to the next comment */
	pthread_cond_t gone; /* a connection ended */
	const config_t *config;
	conn_t *conns; /* open connections, linked by next */
	size_t nconns;
};

/* A stream being received (push or update). */
typedef struct {
	bool active;
	bool failed; /* answered with an error: skip its frames until its end */
	bool update;
	uint64_t id;
	dzone_t *zone;
	zone_builder_t *builder; /* push of wire records */
	char *text;              /* push as text */
	size_t text_len, text_cap;
	dzone_change_t *change; /* update */
	uint64_t records;
	uint64_t max_records;
	char diag[1024];
	size_t ndiag;
} stream_t;

struct conn {
	daemon_rpc_t *r;
	rpc_conn_t *rpc;
	rpc_peer_t peer;
	char who[96]; /* for logs: "uid 1000" or "cert ab12..." */
	pthread_t thread;
	atomic_uint refs; /* the connection thread, each change in flight */

	pthread_mutex_t mu; /* guards inflight; held while a subscription starts */
	pthread_cond_t cond;
	unsigned inflight;

	uint64_t sub_handle; /* subscription, 0: none */
	uint64_t sub_id;
	char **sub_zones;
	size_t nsub_zones;
	bool sub_any; /* operator: every zone */
	stream_t stream;
	bool ignoring;      /* a refused stream: its frames are dropped... */
	uint64_t ignore_id; /* ...until its end */
	conn_t *next;
};

/* --- small helpers --- */

static void conn_unref(conn_t *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1) {
		return;
	}
	rpc_conn_free(c->rpc);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	for (size_t i = 0; i < c->nsub_zones; i++) {
		free(c->sub_zones[i]);
	}
	free(c->sub_zones);
	free(c);
}

static void send_response(conn_t *c, Signer__V1__Response *resp)
{
	int st = rpc_conn_send_response(c->rpc, resp);
	if (st != RPC_OK) {
		log_debug("client %s: send: %s", c->who, rpc_strerror(st));
		rpc_conn_shutdown(c->rpc);
	}
}

__attribute__((format(printf, 4, 5))) static void
reply(conn_t *c, uint64_t id, Signer__V1__Status status, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.status = status;
	resp.message = msg;
	send_response(c, &resp);
}

/* The client entry of this connection's identity in the current
 * configuration, copied out (role, zones) under the lock. */
typedef struct {
	bool known;
	config_role_t role;
	bool zone_ok; /* the zone asked about is the feeder's */
	uint64_t max_zone_records;
} authz_t;

static bool zone_in(const config_client_t *cl, const char *zone)
{
	size_t lz = strlen(zone);
	if (lz > 1 && zone[lz - 1] == '.') {
		lz--;
	}
	for (size_t i = 0; i < cl->nzones; i++) {
		size_t l = strlen(cl->zones[i]);
		if (l > 1 && cl->zones[i][l - 1] == '.') {
			l--;
		}
		if (l == lz && strncasecmp(cl->zones[i], zone, l) == 0) {
			return true;
		}
	}
	return false;
}

static const config_client_t *client_of(const config_t *cfg, const rpc_peer_t *peer)
{
	for (size_t i = 0; i < cfg->nclients; i++) {
		const config_client_t *cl = &cfg->clients[i];
		if (peer->kind == RPC_PEER_UNIX && cl->has_uid && cl->uid == peer->uid) {
			return cl;
		}
		if (peer->kind == RPC_PEER_TLS && !cl->has_uid && cl->cert_sha256 != NULL &&
		    strcasecmp(cl->cert_sha256, peer->cert_sha256) == 0) {
			return cl;
		}
	}
	return NULL;
}

static authz_t authorize(conn_t *c, const char *zone)
{
	authz_t a = {0};
	pthread_mutex_lock(&c->r->mu);
	const config_client_t *cl = client_of(c->r->config, &c->peer);
	if (cl != NULL) {
		a.known = true;
		a.role = cl->role;
		a.zone_ok = cl->role == CONFIG_ROLE_OPERATOR || (zone != NULL && zone_in(cl, zone));
		a.max_zone_records = cl->max_zone_records;
	}
	pthread_mutex_unlock(&c->r->mu);
	return a;
}

static bool need_operator(conn_t *c, uint64_t id, const char *what)
{
	authz_t a = authorize(c, NULL);
	if (a.known && a.role == CONFIG_ROLE_OPERATOR) {
		return true;
	}
	log_notice("client %s: %s refused: not an operator", c->who, what);
	reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED,
	      "%s: permission denied (operators only)", what);
	return false;
}

static bool need_zone(conn_t *c, uint64_t id, const char *zone, const char *what, authz_t *out)
{
	authz_t a = authorize(c, zone);
	if (a.known && a.zone_ok) {
		if (out != NULL) {
			*out = a;
		}
		return true;
	}
	log_notice("client %s: %s of zone %s refused", c->who, what, zone);
	reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED, "%s of zone %s: permission denied",
	      what, zone);
	return false;
}

/* --- zone administration --- */

static void do_zone_add(conn_t *c, uint64_t id, const Signer__V1__ZoneAdd *req)
{
	if (!need_operator(c, id, "zone add")) {
		return;
	}
	if (req->config == NULL) {
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST, "zone add without a configuration");
		return;
	}
	char err[512] = "";
	Signer__V1__ZoneStatus st;
	signer__v1__zone_status__init(&st);
	Signer__V1__Status ret = zonemgr_add(c->r->p.zones, req->config, &st, err, sizeof(err));
	if (ret != SIGNER__V1__STATUS__OK) {
		reply(c, id, ret, "zone add: %s", err);
		return;
	}
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.message = "zone added";
	resp.body_case = SIGNER__V1__RESPONSE__BODY_ZONE;
	resp.zone = &st;
	send_response(c, &resp);
	dzone_status_clear(&st);
}

static void do_zone_remove(conn_t *c, uint64_t id, const Signer__V1__ZoneRemove *req)
{
	if (!need_operator(c, id, "zone remove")) {
		return;
	}
	char err[512] = "";
	Signer__V1__Status ret = zonemgr_remove(c->r->p.zones, req->name, err, sizeof(err));
	if (ret != SIGNER__V1__STATUS__OK) {
		reply(c, id, ret, "zone remove: %s", err);
		return;
	}
	reply(c, id, SIGNER__V1__STATUS__OK, "zone %s removed%s%s", req->name, err[0] ? ": " : "",
	      err);
}

typedef struct {
	conn_t *c;
	int64_t now;
	Signer__V1__ZoneStatus **list;
	size_t n, cap;
} list_ctx_t;

static void list_one(void *ctx, dzone_t *z)
{
	list_ctx_t *l = ctx;
	authz_t a = authorize(l->c, dzone_name(z));
	if (!a.known || !a.zone_ok) {
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		Signer__V1__ZoneStatus **p = realloc(l->list, cap * sizeof(*p));
		if (p == NULL) {
			return;
		}
		l->list = p;
		l->cap = cap;
	}
	Signer__V1__ZoneStatus *st = malloc(sizeof(*st));
	if (st == NULL) {
		return;
	}
	dzone_status(z, l->now, st);
	l->list[l->n++] = st;
}

static void do_zone_list(conn_t *c, uint64_t id)
{
	authz_t a = authorize(c, NULL);
	if (!a.known) {
		reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED, "zone list: permission denied");
		return;
	}
	list_ctx_t l = {.c = c, .now = dclock_now(c->r->p.clock)};
	zonemgr_each(c->r->p.zones, list_one, &l);
	Signer__V1__ZoneListResult res = SIGNER__V1__ZONE_LIST_RESULT__INIT;
	res.zones = l.list;
	res.n_zones = l.n;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_ZONES;
	resp.zones = &res;
	send_response(c, &resp);
	for (size_t i = 0; i < l.n; i++) {
		dzone_status_clear(l.list[i]);
		free(l.list[i]);
	}
	free(l.list);
}

static void do_zone_status(conn_t *c, uint64_t id, const char *name)
{
	if (!need_zone(c, id, name, "status", NULL)) {
		return;
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, name);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", name);
		return;
	}
	Signer__V1__ZoneStatus st;
	dzone_status(z, dclock_now(c->r->p.clock), &st);
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_ZONE;
	resp.zone = &st;
	send_response(c, &resp);
	dzone_status_clear(&st);
	zonemgr_release(c->r->p.zones, z);
}

/* --- streams: push and update --- */

static void stream_reset(conn_t *c)
{
	stream_t *s = &c->stream;
	zone_builder_free(s->builder);
	free(s->text);
	dzone_change_free(s->change);
	if (s->zone != NULL) {
		zonemgr_release(c->r->p.zones, s->zone);
	}
	memset(s, 0, sizeof(*s));
}

static void stream_diag(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                        const char *msg)
{
	stream_t *s = ctx;
	if (level != ZONE_DIAG_ERROR) {
		return;
	}
	if (s->ndiag++ < 10) {
		size_t len = strlen(s->diag);
		snprintf(s->diag + len, sizeof(s->diag) - len, "%s%s:%lu: %s", len ? "\n" : "",
		         file, line, msg);
	}
}

/* Answers the stream's request with an error; its later frames are skipped. */
__attribute__((format(printf, 3, 4))) static void stream_fail(conn_t *c, Signer__V1__Status st,
                                                              const char *fmt, ...)
{
	stream_t *s = &c->stream;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(c, s->id, st, "%s", msg);
	uint64_t id = s->id;
	stream_reset(c);
	s->active = true;
	s->failed = true;
	s->id = id;
}

/* A refused begin: the stream's chunks and end are dropped, not answered. */
static bool refuse_stream(conn_t *c, uint64_t id)
{
	c->ignoring = true;
	c->ignore_id = id;
	return false;
}

static bool stream_begin(conn_t *c, uint64_t id, const char *zone, bool update)
{
	if (c->stream.active) {
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST,
		      "a stream (id %llu) is still open on this connection",
		      (unsigned long long)c->stream.id);
		return refuse_stream(c, id);
	}
	authz_t a;
	if (!need_zone(c, id, zone, update ? "update" : "push", &a)) {
		return refuse_stream(c, id);
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, zone);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", zone);
		return refuse_stream(c, id);
	}
	stream_t *s = &c->stream;
	memset(s, 0, sizeof(*s));
	s->active = true;
	s->update = update;
	s->id = id;
	s->zone = z;
	s->max_records = a.max_zone_records ? a.max_zone_records : UINT64_MAX;
	return true;
}

static void do_push_begin(conn_t *c, uint64_t id, const Signer__V1__PushBegin *req)
{
	if (!stream_begin(c, id, req->zone, false)) {
		return;
	}
	stream_t *s = &c->stream;
	if (zone_builder_new(dzone_apex(s->zone), ZONE_BUILDER_ZONE, "push", stream_diag, s,
	                     &s->builder) != ZONE_OK) {
		stream_fail(c, SIGNER__V1__STATUS__INTERNAL, "out of memory");
	}
}

static void do_update_begin(conn_t *c, uint64_t id, const Signer__V1__UpdateBegin *req)
{
	if (!stream_begin(c, id, req->zone, true)) {
		return;
	}
	stream_t *s = &c->stream;
	s->change = dzone_change_new(DZONE_CHANGE_DELTA);
	if (s->change == NULL) {
		stream_fail(c, SIGNER__V1__STATUS__INTERNAL, "out of memory");
		return;
	}
	s->change->from_serial = req->from_serial;
	s->change->to_serial = req->to_serial;
}

static int add_wire(stream_t *s, const Signer__V1__Record *rr, bool added, size_t index)
{
	const char *list = added ? "added" : "removed";
	size_t olen = 0;
	if (rr->owner.len == 0 || rr->owner.len > DNAME_MAXLEN ||
	    (olen = dname_length(rr->owner.data)) == 0 || olen != rr->owner.len) {
		stream_diag(s, ZONE_DIAG_ERROR, list, (unsigned long)index, "malformed owner name");
		return ZONE_ERR_SYNTAX;
	}
	if (rr->type == 0 || rr->type > 0xffff || rr->rdata.len > 0xffff) {
		stream_diag(s, ZONE_DIAG_ERROR, list, (unsigned long)index,
		            "bad type or RDATA length");
		return ZONE_ERR_SYNTAX;
	}
	if (!dname_is_subdomain(rr->owner.data, dzone_apex(s->zone))) {
		char o[DNAME_STR_MAXLEN], msg[DNAME_STR_MAXLEN + 64];
		dname_to_str(rr->owner.data, o, sizeof(o));
		snprintf(msg, sizeof(msg), "%s is outside the zone", o);
		stream_diag(s, ZONE_DIAG_ERROR, list, (unsigned long)index, msg);
		return ZONE_ERR_OUT_OF_ZONE;
	}
	if (s->builder != NULL) {
		return zone_builder_add(s->builder, rr->owner.data, (uint16_t)rr->type, 1, rr->ttl,
		                        rr->rdata.data, rr->rdata.len, "push",
		                        (unsigned long)index);
	}
	return zone_delta_add(&s->change->delta, added, rr->owner.data, (uint16_t)rr->type, rr->ttl,
	                      rr->rdata.data, (uint16_t)rr->rdata.len);
}

static bool text_append(stream_t *s, const char *text)
{
	size_t n = strlen(text);
	if (s->text_len + n + 2 > s->text_cap) {
		size_t cap = (s->text_len + n + 2) * 2;
		char *t = realloc(s->text, cap);
		if (t == NULL) {
			return false;
		}
		s->text = t;
		s->text_cap = cap;
	}
	memcpy(s->text + s->text_len, text, n);
	s->text_len += n;
	if (n > 0 && text[n - 1] != '\n') {
		s->text[s->text_len++] = '\n';
	}
	s->text[s->text_len] = '\0';
	return true;
}

static void do_chunk(conn_t *c, uint64_t id, const Signer__V1__RecordChunk *ch)
{
	stream_t *s = &c->stream;
	if (!s->active || s->id != id) {
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST, "a chunk outside any stream");
		return;
	}
	if (s->failed) {
		return;
	}
	size_t n = ch->n_records + ch->n_removed + ch->n_added;
	s->records += n;
	if (s->records > s->max_records) {
		stream_fail(c, SIGNER__V1__STATUS__TOO_LARGE,
		            "more than %llu records: refused, nothing changed",
		            (unsigned long long)s->max_records);
		return;
	}
	int ret = ZONE_OK;
	if (!s->update) {
		if (ch->n_removed > 0 || ch->n_added > 0 || ch->removed_text[0] ||
		    ch->added_text[0]) {
			stream_fail(c, SIGNER__V1__STATUS__BAD_REQUEST,
			            "a push carries records, not removed/added");
			return;
		}
		for (size_t i = 0; i < ch->n_records && ret == ZONE_OK; i++) {
			ret = add_wire(s, ch->records[i], true, (size_t)(s->records - n + i + 1));
		}
		if (ret == ZONE_OK && ch->text[0] != '\0' && !text_append(s, ch->text)) {
			ret = ZONE_ERR_NOMEM;
		}
		if (ret == ZONE_OK && zone_builder_stopped(s->builder)) {
			ret = zone_builder_status(s->builder);
		}
	} else {
		if (ch->n_records > 0 || ch->text[0]) {
			stream_fail(c, SIGNER__V1__STATUS__BAD_REQUEST,
			            "an update carries removed and added records");
			return;
		}
		for (size_t i = 0; i < ch->n_removed && ret == ZONE_OK; i++) {
			ret = add_wire(s, ch->removed[i], false, s->change->delta.nremoved + 1);
		}
		for (size_t i = 0; i < ch->n_added && ret == ZONE_OK; i++) {
			ret = add_wire(s, ch->added[i], true, s->change->delta.nadded + 1);
		}
		if (ret == ZONE_OK && ch->removed_text[0] != '\0') {
			ret = zone_load_records(ch->removed_text, strlen(ch->removed_text),
			                        "removed", dzone_apex(s->zone), 3600, false,
			                        stream_diag, s, &s->change->delta);
		}
		if (ret == ZONE_OK && ch->added_text[0] != '\0') {
			ret = zone_load_records(ch->added_text, strlen(ch->added_text), "added",
			                        dzone_apex(s->zone), 3600, true, stream_diag, s,
			                        &s->change->delta);
		}
	}
	if (ret == ZONE_OK && s->update &&
	    s->change->delta.nremoved + s->change->delta.nadded > s->max_records) {
		stream_fail(c, SIGNER__V1__STATUS__TOO_LARGE,
		            "more than %llu records: refused, nothing changed",
		            (unsigned long long)s->max_records);
		return;
	}
	if (ret != ZONE_OK) {
		stream_fail(c,
		            ret == ZONE_ERR_NOMEM ? SIGNER__V1__STATUS__INTERNAL
		                                  : SIGNER__V1__STATUS__INVALID_ZONE,
		            "records refused, nothing changed: %s%s%s", zone_strerror(ret),
		            s->diag[0] ? "\n" : "", s->diag);
	}
}

/* Records (RRs) in an unsigned version. */
static uint64_t zone_records(const zone_t *z)
{
	uint64_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_node_t *node = zone_entry(z, i)->node;
		for (size_t k = 0; k < node->nslots; k++) {
			n += node->slots[k].data->count;
		}
	}
	return n;
}

/* Runs when the change is published or refused (on a pass thread). */
static void change_done(void *ctx, dzone_change_t *change, const dzone_result_t *res)
{
	conn_t *c = ctx;
	uint64_t id = change->id;
	Signer__V1__UpdateResult ur = SIGNER__V1__UPDATE_RESULT__INIT;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.status = res->status;
	char msg[1200];
	if (res->status == SIGNER__V1__STATUS__OK) {
		ur.serial = res->serial;
		ur.input_serial = res->input_serial;
		ur.signatures_created = res->created;
		ur.signatures_reused = res->reused;
		ur.coalesced = res->coalesced;
		resp.body_case = SIGNER__V1__RESPONSE__BODY_UPDATE;
		resp.update = &ur;
		snprintf(msg, sizeof(msg), "published serial %u%s%s", res->serial,
		         change->warnings ? "; " : "", change->warnings ? change->warnings : "");
	} else {
		snprintf(msg, sizeof(msg), "%s", res->message);
	}
	resp.message = msg;
	send_response(c, &resp);
	dzone_change_free(change);
	pthread_mutex_lock(&c->mu);
	c->inflight--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	conn_unref(c);
}

static void do_end(conn_t *c, uint64_t id)
{
	stream_t *s = &c->stream;
	if (!s->active || s->id != id) {
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST, "an end outside any stream");
		return;
	}
	if (s->failed) {
		stream_reset(c);
		return;
	}
	dzone_change_t *change = NULL;
	if (!s->update) {
		zone_t *zone = NULL;
		int ret = ZONE_OK;
		if (s->text != NULL) {
			/* Text and wire records are not mixed: text wins only alone. */
			if (zone_builder_count(s->builder) > 0) {
				stream_fail(c, SIGNER__V1__STATUS__BAD_REQUEST,
				            "a push is either records or text, not both");
				stream_reset(c);
				return;
			}
			ret = zone_load_text(s->text, s->text_len, "push", dzone_apex(s->zone),
			                     3600, stream_diag, s, &zone);
			uint64_t n = ret == ZONE_OK ? zone_records(zone) : 0;
			if (n > s->max_records) {
				zone_free(zone);
				stream_fail(
				        c, SIGNER__V1__STATUS__TOO_LARGE,
				        "%llu records, more than %llu: refused, nothing changed",
				        (unsigned long long)n, (unsigned long long)s->max_records);
				stream_reset(c);
				return;
			}
		} else {
			ret = zone_builder_finish(s->builder, &zone);
		}
		if (ret != ZONE_OK) {
			stream_fail(c,
			            ret == ZONE_ERR_NOMEM ? SIGNER__V1__STATUS__INTERNAL
			                                  : SIGNER__V1__STATUS__INVALID_ZONE,
			            "zone refused, nothing changed: %s%s%s", zone_strerror(ret),
			            s->diag[0] ? "\n" : "", s->diag);
			stream_reset(c);
			return;
		}
		change = dzone_change_new(DZONE_CHANGE_FULL);
		if (change == NULL) {
			zone_free(zone);
		} else {
			change->full = zone;
		}
	} else {
		change = s->change;
		s->change = NULL;
	}
	if (change == NULL) {
		reply(c, id, SIGNER__V1__STATUS__INTERNAL, "out of memory");
		stream_reset(c);
		return;
	}
	dzone_t *z = s->zone;
	change->done = change_done;
	change->ctx = c;
	change->id = id;
	/* At most INFLIGHT_MAX answers pending: then this client waits. */
	pthread_mutex_lock(&c->mu);
	while (c->inflight >= INFLIGHT_MAX && !atomic_load(&c->r->stop)) {
		pthread_cond_wait(&c->cond, &c->mu);
	}
	c->inflight++;
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_add(&c->refs, 1);
	Signer__V1__Status st = zonemgr_submit(c->r->p.zones, z, change);
	if (st != SIGNER__V1__STATUS__OK) {
		pthread_mutex_lock(&c->mu);
		c->inflight--;
		pthread_mutex_unlock(&c->mu);
		atomic_fetch_sub(&c->refs, 1);
		dzone_change_free(change);
		reply(c, id, st,
		      st == SIGNER__V1__STATUS__NOT_FOUND ? "the zone was removed"
		                                          : "the signer is stopping");
	}
	stream_reset(c);
}

/* --- fetch --- */

typedef struct {
	conn_t *c;
	uint64_t id;
	bool text;
	Signer__V1__Record *recs;
	Signer__V1__Record **ptrs;
	size_t n;
	char *tbuf;
	size_t tlen, tcap;
	uint32_t from, to;
	bool removed; /* records go to the removed list (deltas) */
	int err;
} fetch_t;

static int fetch_flush(fetch_t *f, bool delta)
{
	if (f->n == 0 && f->tlen == 0) {
		return 0;
	}
	Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = f->id;
	resp.more = true;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_CHUNK;
	resp.chunk = &ch;
	if (f->text) {
		if (!delta) {
			ch.text = f->tbuf;
		} else if (f->removed) {
			ch.removed_text = f->tbuf;
		} else {
			ch.added_text = f->tbuf;
		}
	} else if (!delta) {
		ch.records = f->ptrs;
		ch.n_records = f->n;
	} else if (f->removed) {
		ch.removed = f->ptrs;
		ch.n_removed = f->n;
	} else {
		ch.added = f->ptrs;
		ch.n_added = f->n;
	}
	ch.from_serial = f->from;
	ch.to_serial = f->to;
	int st = rpc_conn_send_response(f->c->rpc, &resp);
	f->n = 0;
	f->tlen = 0;
	if (f->tbuf != NULL) {
		f->tbuf[0] = '\0';
	}
	if (st != RPC_OK) {
		f->err = st;
		return -1;
	}
	return 0;
}

static int fetch_rr(fetch_t *f, bool delta, const uint8_t *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rdata, size_t rdlen)
{
	if (f->text) {
		if (f->tcap - f->tlen < 70000 + DNAME_STR_MAXLEN) {
			size_t cap = f->tcap ? f->tcap * 2 : 256 * 1024;
			char *t = realloc(f->tbuf, cap);
			if (t == NULL) {
				return -1;
			}
			f->tbuf = t;
			f->tcap = cap;
		}
		size_t len = 0;
		if (zone_write_rr_str(owner, type, ttl, rdata, rdlen, f->tbuf + f->tlen,
		                      f->tcap - f->tlen, &len) != ZONE_OK) {
			return -1;
		}
		f->tlen += len;
	} else {
		Signer__V1__Record *r = &f->recs[f->n];
		signer__v1__record__init(r);
		/* Borrowed: the chunk is sent before the version is released. */
		r->owner.data = (uint8_t *)owner;
		r->owner.len = dname_length(owner);
		r->type = type;
		r->ttl = ttl;
		r->rdata.data = (uint8_t *)rdata;
		r->rdata.len = rdlen;
		f->ptrs[f->n] = r;
		f->n++;
	}
	if (f->n >= FETCH_CHUNK || f->tlen >= 128 * 1024) {
		return fetch_flush(f, delta);
	}
	return 0;
}

static int fetch_rrset(fetch_t *f, const uint8_t *owner, const zone_rrset_t *r)
{
	size_t pos = 0;
	zone_rdata_t rd;
	while (r != NULL && zone_rrset_next(r, &pos, &rd)) {
		if (fetch_rr(f, false, owner, r->type, r->ttl, rd.data, rd.len) != 0) {
			return -1;
		}
	}
	return 0;
}

static int fetch_node(fetch_t *f, const zone_node_t *n, bool apex_first)
{
	/* The SOA comes first (AXFR order); fetch_zone sends it itself. */
	for (size_t s = 0; s < n->nslots; s++) {
		if (apex_first && n->slots[s].data->type == ZONE_TYPE_SOA) {
			if (fetch_rrset(f, n->owner, n->slots[s].sigs) != 0) {
				return -1;
			}
			continue;
		}
		if (fetch_rrset(f, n->owner, n->slots[s].data) != 0 ||
		    fetch_rrset(f, n->owner, n->slots[s].sigs) != 0) {
			return -1;
		}
	}
	return 0;
}

static int delta_rrs(fetch_t *f, const zone_rr_t *rrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fetch_rr(f, true, rrs[i].owner, rrs[i].type, rrs[i].ttl, rrs[i].rdata,
		             rrs[i].rdlen) != 0) {
			return -1;
		}
	}
	return fetch_flush(f, true);
}

static int fetch_delta(void *ctx, const zone_delta_t *d)
{
	fetch_t *f = ctx;
	f->from = d->from_serial;
	f->to = d->to_serial;
	f->removed = true;
	if (delta_rrs(f, d->removed, d->nremoved) != 0) {
		return -1;
	}
	f->removed = false;
	return delta_rrs(f, d->added, d->nadded);
}

static void do_fetch(conn_t *c, uint64_t id, const Signer__V1__FetchZone *req)
{
	if (!need_zone(c, id, req->zone, "fetch", NULL)) {
		return;
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, req->zone);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", req->zone);
		return;
	}
	dzone_version_t *v = dzone_current(z);
	fetch_t f = {.c = c, .id = id, .text = req->format == SIGNER__V1__FETCH_ZONE__FORMAT__TEXT};
	f.recs = calloc(FETCH_CHUNK, sizeof(*f.recs));
	f.ptrs = calloc(FETCH_CHUNK, sizeof(*f.ptrs));
	Signer__V1__FetchHeader hdr = SIGNER__V1__FETCH_HEADER__INIT;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.more = true;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_FETCH_HEADER;
	resp.fetch_header = &hdr;
	if (v == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "zone %s has no signed version yet",
		      req->zone);
		goto done;
	}
	if (f.recs == NULL || f.ptrs == NULL) {
		reply(c, id, SIGNER__V1__STATUS__INTERNAL, "out of memory");
		goto done;
	}
	hdr.serial = v->serial;
	int fn_ret = 0;
	if (req->has_from_serial) {
		hdr.delta = true;
		hdr.from_serial = req->from_serial;
		if (req->from_serial == v->serial) {
			send_response(c, &resp);
			reply(c, id, SIGNER__V1__STATUS__OK, "serial %u is current: no change",
			      v->serial);
			goto done;
		}
		/* The header goes first; a journal that does not reach back is
		 * known only once we look, so look before sending anything. */
		bool found = dzone_read_deltas(z, req->from_serial, NULL, NULL, &fn_ret);
		if (!found) {
			reply(c, id, SIGNER__V1__STATUS__NOT_FOUND,
			      "the journal of %s does not reach back to serial %u: fetch the whole "
			      "zone",
			      dzone_name(z), req->from_serial);
			goto done;
		}
		send_response(c, &resp);
		found = dzone_read_deltas(z, req->from_serial, fetch_delta, &f, &fn_ret);
		if (!found || fn_ret != 0 || f.err != 0) {
			reply(c, id, SIGNER__V1__STATUS__INTERNAL, "delta of %s: %s", dzone_name(z),
			      f.err ? rpc_strerror(f.err) : "journal changed while reading");
			goto done;
		}
		reply(c, id, SIGNER__V1__STATUS__OK, "delta %u -> %u", req->from_serial, v->serial);
		goto done;
	}
	hdr.records = v->records;
	send_response(c, &resp);
	const zone_t *zone = v->zone;
	int ret = 0;
	/* SOA first, its signatures after the apex's other RRsets. */
	const zone_rrset_t *soa = zone_apex_rrset(zone, ZONE_TYPE_SOA);
	ret = fetch_rrset(&f, zone->apex, soa);
	for (size_t i = 0; ret == 0 && i < zone->count; i++) {
		ret = fetch_node(&f, zone_entry(zone, i)->node, i == 0);
	}
	for (size_t i = 0; ret == 0 && i < zone->nsec3_count; i++) {
		ret = fetch_node(&f, zone_nsec3_node(zone, i), false);
	}
	if (ret == 0) {
		ret = fetch_flush(&f, false);
	}
	if (ret != 0) {
		if (f.err == 0) {
			reply(c, id, SIGNER__V1__STATUS__INTERNAL, "fetch of %s failed",
			      dzone_name(z));
		}
		goto done;
	}
	reply(c, id, SIGNER__V1__STATUS__OK, "serial %u, %llu records", v->serial,
	      (unsigned long long)v->records);
done:
	free(f.recs);
	free(f.ptrs);
	free(f.tbuf);
	dzone_version_unref(v);
	zonemgr_release(c->r->p.zones, z);
}

/* --- keys --- */

typedef struct {
	const char *token;
	const char *id;
	const char *label;
	char **zones;
	size_t nzones;
} key_use_t;

typedef struct {
	const char *zone;
	key_use_t *use;
} key_zone_ctx_t;

static void key_in_zone(void *ctx, const Signer__V1__ZoneKey *k)
{
	key_zone_ctx_t *kz = ctx;
	key_use_t *u = kz->use;
	if (k->token != NULL && k->token[0] != '\0' && strcmp(k->token, u->token) != 0) {
		return;
	}
	if (strcasecmp(k->key, u->id) != 0 && strcmp(k->key, u->label) != 0) {
		return;
	}
	static const char *roles[] = {"KSK", "ZSK", "CSK"};
	char buf[DNAME_STR_MAXLEN + 8];
	snprintf(buf, sizeof(buf), "%s/%s", kz->zone, roles[k->role <= 2 ? k->role : 2]);
	char **z = realloc(u->zones, (u->nzones + 1) * sizeof(*z));
	if (z != NULL) {
		u->zones = z;
		u->zones[u->nzones] = strdup(buf);
		if (u->zones[u->nzones] != NULL) {
			u->nzones++;
		}
	}
}

static void key_zone(void *ctx, dzone_t *z)
{
	key_zone_ctx_t kz = {dzone_name(z), ctx};
	dzone_keys(z, key_in_zone, &kz);
}

static void do_key_list(conn_t *c, uint64_t id)
{
	if (!need_operator(c, id, "key list")) {
		return;
	}
	hsm_ctx_t *hsm = c->r->p.hsm;
	Signer__V1__KeyInfo **list = NULL;
	size_t n = 0;
	char err[300] = "";
	for (size_t t = 0; t < hsm_ctx_count(hsm); t++) {
		hsm_token_t *token = hsm_ctx_token_at(hsm, t);
		hsm_key_t *keys = NULL;
		size_t count = 0;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int st = hsm_key_list(token, &keys, &count, &d);
		if (st != HSM_OK) {
			char buf[200];
			snprintf(err, sizeof(err), "token %s: %s", hsm_token_name(token),
			         hsm_detail_format(st, &d, buf, sizeof(buf)));
			continue;
		}
		Signer__V1__KeyInfo **grown = realloc(list, (n + count + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(keys);
			continue;
		}
		list = grown;
		for (size_t i = 0; i < count; i++) {
			Signer__V1__KeyInfo *k = calloc(1, sizeof(*k));
			if (k == NULL) {
				continue;
			}
			signer__v1__key_info__init(k);
			char idhex[2 * HSM_KEY_ID_MAX + 1];
			hsm_key_id_hex(&keys[i], idhex, sizeof(idhex));
			k->token = strdup(hsm_token_name(token));
			k->id = strdup(idhex);
			k->label = strdup(keys[i].label);
			k->local = keys[i].local;
			const hsm_alg_t *alg = keys[i].alg;
			uint8_t pub[HSM_DNSKEY_PUBKEY_MAX], rd[HSM_DNSKEY_PUBKEY_MAX + 4];
			size_t plen = 0, rlen = 0;
			if (alg != NULL && hsm_key_dnskey_pubkey(&keys[i], alg, pub, sizeof(pub),
			                                         &plen, &d) == HSM_OK) {
				k->algorithm = alg->number;
				if (hsm_dnskey_rdata(256, alg->number, pub, plen, rd, sizeof(rd),
				                     &rlen) == HSM_OK) {
					k->key_tag = hsm_dnskey_keytag(rd, rlen);
				}
				if (hsm_dnskey_rdata(257, alg->number, pub, plen, rd, sizeof(rd),
				                     &rlen) == HSM_OK) {
					k->ksk_tag = hsm_dnskey_keytag(rd, rlen);
				}
			}
			key_use_t u = {k->token, k->id, k->label, NULL, 0};
			zonemgr_each(c->r->p.zones, key_zone, &u);
			k->zones = u.zones;
			k->n_zones = u.nzones;
			list[n++] = k;
		}
		free(keys);
	}
	Signer__V1__KeyListResult res = SIGNER__V1__KEY_LIST_RESULT__INIT;
	res.keys = list;
	res.n_keys = n;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.message = err;
	resp.status = err[0] && n == 0 ? SIGNER__V1__STATUS__UNAVAILABLE : SIGNER__V1__STATUS__OK;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_KEYS;
	resp.keys = &res;
	send_response(c, &resp);
	for (size_t i = 0; i < n; i++) {
		signer__v1__key_info__free_unpacked(list[i], NULL);
	}
	free(list);
}

/* The DS records of a zone with a policy: the keys whose DS should be at
 * the parent now (the key manager's "zone. TTL IN DS tag alg type HEX"
 * lines, as records). */
static int policy_ds(conn_t *c, const char *zone, bool sha384, Signer__V1__DsRecord ***out,
                     size_t *n, char *err, size_t errlen)
{
	char *text = NULL;
	if (dkasp_export(c->r->p.kasp, zone, KASP_EXPORT_DS, false, sha384, &text, err, errlen) !=
	    SIGNER__V1__STATUS__OK) {
		return -1;
	}
	size_t lines = 0;
	for (const char *p = text; *p; p++) {
		lines += *p == '\n';
	}
	Signer__V1__DsRecord **list = calloc(lines + 1, sizeof(*list));
	size_t count = 0;
	char *save = NULL;
	for (char *line = list != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned tag, alg, type;
		int off = 0;
		if (sscanf(line, "%*s %*u IN DS %u %u %u %n", &tag, &alg, &type, &off) != 3 ||
		    off == 0) {
			continue;
		}
		const char *hex = line + off;
		size_t dlen = strlen(hex) / 2;
		Signer__V1__DsRecord *r = malloc(sizeof(*r));
		uint8_t *dig = malloc(dlen + 1);
		char *t = strdup(line);
		if (r == NULL || dig == NULL || t == NULL) {
			free(r);
			free(dig);
			free(t);
			break;
		}
		for (size_t i = 0; i < dlen; i++) {
			unsigned b = 0;
			sscanf(hex + 2 * i, "%2x", &b);
			dig[i] = (uint8_t)b;
		}
		signer__v1__ds_record__init(r);
		r->key_tag = tag;
		r->algorithm = alg;
		r->digest_type = type;
		r->digest.data = dig;
		r->digest.len = dlen;
		r->text = t;
		list[count++] = r;
	}
	free(text);
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = list;
	*n = count;
	return 0;
}

static void do_key_ds(conn_t *c, uint64_t id, const Signer__V1__KeyDs *req)
{
	if (!need_zone(c, id, req->zone, "DS", NULL)) {
		return;
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, req->zone);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", req->zone);
		return;
	}
	Signer__V1__DsRecord **ds = NULL;
	size_t n = 0;
	char err[512];
	int ret = dzone_policy(z) != NULL
	                  ? policy_ds(c, dzone_name(z), req->sha384, &ds, &n, err, sizeof(err))
	                  : dzone_ds(z, req->sha384, &ds, &n, err, sizeof(err));
	if (ret != 0) {
		reply(c, id, SIGNER__V1__STATUS__UNAVAILABLE, "DS of %s: %s", dzone_name(z), err);
	} else {
		Signer__V1__DsResult res = SIGNER__V1__DS_RESULT__INIT;
		res.ds = ds;
		res.n_ds = n;
		Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
		resp.id = id;
		resp.body_case = SIGNER__V1__RESPONSE__BODY_DS;
		resp.ds = &res;
		send_response(c, &resp);
		for (size_t i = 0; i < n; i++) {
			signer__v1__ds_record__free_unpacked(ds[i], NULL);
		}
		free(ds);
	}
	zonemgr_release(c->r->p.zones, z);
}

/* An operator's command to a zone's key manager. */
static void do_key_command(conn_t *c, uint64_t id, const Signer__V1__KeyCommand *req)
{
	if (!need_operator(c, id, "key command")) {
		return;
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, req->zone);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", req->zone);
		return;
	}
	char err[512] = "";
	int64_t now = dclock_now(c->r->p.clock);
	Signer__V1__Status st =
	        dzone_policy(z) == NULL
	                ? (snprintf(err, sizeof(err),
	                            "%s has no policy: it signs with the keys it was added with",
	                            dzone_name(z)),
	                   SIGNER__V1__STATUS__BAD_REQUEST)
	                : dkasp_command(c->r->p.kasp, dzone_name(z), req->op, req->key, req->role,
	                                req->ds_at_parent, now, err, sizeof(err));
	if (st == SIGNER__V1__STATUS__OK) {
		dzone_wake(z, now);
		zonemgr_kick(c->r->p.zones);
		reply(c, id, st, "%s: %s", dzone_name(z), err[0] ? err : "done");
	} else {
		reply(c, id, st, "%s", err);
	}
	zonemgr_release(c->r->p.zones, z);
}

/* The DS set for the parent, or a trust anchor, as text. */
static void do_key_export(conn_t *c, uint64_t id, const Signer__V1__KeyExport *req)
{
	if (!need_zone(c, id, req->zone, "key export", NULL)) {
		return;
	}
	dzone_t *z = zonemgr_get(c->r->p.zones, req->zone);
	if (z == NULL) {
		reply(c, id, SIGNER__V1__STATUS__NOT_FOUND, "no zone %s", req->zone);
		return;
	}
	kasp_export_format_t fmt = KASP_EXPORT_DS;
	bool anchor = true;
	switch (req->format) {
	case SIGNER__V1__KEY_EXPORT__FORMAT__UNBOUND:
		fmt = KASP_EXPORT_UNBOUND;
		break;
	case SIGNER__V1__KEY_EXPORT__FORMAT__BIND:
		fmt = KASP_EXPORT_BIND;
		break;
	case SIGNER__V1__KEY_EXPORT__FORMAT__DNSKEY:
		fmt = KASP_EXPORT_DNSKEY;
		break;
	case SIGNER__V1__KEY_EXPORT__FORMAT__ANCHOR_DS:
		break;
	default:
		anchor = false;
		break;
	}
	char err[512] = "";
	char *text = NULL;
	Signer__V1__Status st = SIGNER__V1__STATUS__BAD_REQUEST;
	if (dzone_policy(z) == NULL) {
		snprintf(err, sizeof(err), "%s has no policy: use signer key ds", dzone_name(z));
	} else {
		st = dkasp_export(c->r->p.kasp, dzone_name(z), fmt, anchor, req->sha384, &text, err,
		                  sizeof(err));
	}
	if (st == SIGNER__V1__STATUS__OK) {
		Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
		resp.id = id;
		resp.body_case = SIGNER__V1__RESPONSE__BODY_TEXT;
		resp.text = text;
		send_response(c, &resp);
	} else {
		reply(c, id, st, "%s", err);
	}
	free(text);
	zonemgr_release(c->r->p.zones, z);
}

/* A backup of the state into a new directory on this host. */
static void do_state_backup(conn_t *c, uint64_t id, const Signer__V1__StateBackup *req)
{
	if (!need_operator(c, id, "state backup")) {
		return;
	}
	char err[512] = "";
	char *manifest = NULL;
	if (zonemgr_backup(c->r->p.zones, req->dir, &manifest, err, sizeof(err)) != 0) {
		reply(c, id, SIGNER__V1__STATUS__INTERNAL, "state backup: %s", err);
		return;
	}
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_TEXT;
	resp.text = manifest;
	send_response(c, &resp);
	free(manifest);
}

/* A transfer: this node stops signing and ships its final state. */
static void do_master_step_down(conn_t *c, uint64_t id)
{
	if (!need_operator(c, id, "master step-down")) {
		return;
	}
	char err[512] = "", name[128] = "";
	if (zonemgr_ship(c->r->p.zones, true, name, sizeof(name), err, sizeof(err)) != 0) {
		reply(c, id, SIGNER__V1__STATUS__UNAVAILABLE, "master step-down: %s", err);
		return;
	}
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_TEXT;
	resp.text = name;
	send_response(c, &resp);
}

/* --- daemon status, subscriptions, clock --- */

static void do_daemon_status(conn_t *c, uint64_t id)
{
	if (!authorize(c, NULL).known) {
		reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED, "status: permission denied");
		return;
	}
	hsm_ctx_t *hsm = c->r->p.hsm;
	size_t nt = hsm_ctx_count(hsm);
	Signer__V1__TokenStatus *ts = calloc(nt + 1, sizeof(*ts));
	Signer__V1__TokenStatus **tp = calloc(nt + 1, sizeof(*tp));
	if (ts == NULL || tp == NULL) {
		free(ts);
		free(tp);
		reply(c, id, SIGNER__V1__STATUS__INTERNAL, "out of memory");
		return;
	}
	bool tokens_up = true;
	for (size_t i = 0; i < nt; i++) {
		hsm_token_t *t = hsm_ctx_token_at(hsm, i);
		hsm_token_stats_t s;
		hsm_token_stats(t, &s);
		signer__v1__token_status__init(&ts[i]);
		ts[i].name = (char *)hsm_token_name(t);
		bool up = false;
		ts[i].state = (char *)dzone_token_state(&s, &up);
		ts[i].reconnects = s.reconnects;
		ts[i].retries = s.retries;
		ts[i].failures = s.failures;
		tp[i] = &ts[i];
		tokens_up = tokens_up && up;
	}
	bool any_error = false;
	Signer__V1__DaemonStatus ds = SIGNER__V1__DAEMON_STATUS__INIT;
	ds.version = "signerd 0.1.0";
	ds.now = dclock_now(c->r->p.clock);
	ds.started_at = c->r->p.started_at;
	ds.tokens = tp;
	ds.n_tokens = nt;
	ds.zones = (uint32_t)zonemgr_count(c->r->p.zones);
	pthread_mutex_lock(&c->r->mu);
	ds.clients = (uint32_t)c->r->nconns;
	pthread_mutex_unlock(&c->r->mu);
	ds.alarm = zonemgr_alarm(c->r->p.zones, &any_error);
	ds.healthy = ds.alarm == SIGNER__V1__ALARM__NONE && !any_error && tokens_up;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_DAEMON;
	resp.daemon = &ds;
	send_response(c, &resp);
	free(ts);
	free(tp);
}

static void on_published(void *ctx, const char *zone, uint32_t serial, uint32_t previous,
                         int64_t published_at)
{
	conn_t *c = ctx;
	bool wanted = c->sub_any;
	for (size_t i = 0; !wanted && i < c->nsub_zones; i++) {
		size_t l = strlen(c->sub_zones[i]);
		if (l > 1 && c->sub_zones[i][l - 1] == '.') {
			l--;
		}
		size_t lz = strlen(zone) - 1;
		wanted = l == lz && strncasecmp(c->sub_zones[i], zone, l) == 0;
	}
	if (!wanted || !authorize(c, zone).zone_ok) {
		return;
	}
	/* After the "subscribed" answer (do_subscribe holds mu until it is out). */
	pthread_mutex_lock(&c->mu);
	pthread_mutex_unlock(&c->mu);
	Signer__V1__Published ev = SIGNER__V1__PUBLISHED__INIT;
	ev.zone = (char *)zone;
	ev.serial = serial;
	ev.previous_serial = previous;
	ev.published_at = published_at;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = c->sub_id;
	resp.more = true;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_PUBLISHED;
	resp.published = &ev;
	send_response(c, &resp);
}

static void do_subscribe(conn_t *c, uint64_t id, const Signer__V1__Subscribe *req)
{
	authz_t a = authorize(c, NULL);
	if (!a.known) {
		reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED, "subscribe: permission denied");
		return;
	}
	if (c->sub_handle != 0) {
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST,
		      "already subscribed on this connection");
		return;
	}
	for (size_t i = 0; i < req->n_zones; i++) {
		if (!need_zone(c, id, req->zones[i], "subscribe", NULL)) {
			return;
		}
	}
	c->sub_zones = calloc(req->n_zones + 1, sizeof(char *));
	for (size_t i = 0; c->sub_zones != NULL && i < req->n_zones; i++) {
		c->sub_zones[i] = strdup(req->zones[i]);
		c->nsub_zones = i + 1;
	}
	c->sub_any = req->n_zones == 0;
	c->sub_id = id;
	/* The first response says the subscription is on; events follow. The
	 * subscription starts first, so that no event published meanwhile is
	 * lost; its events wait for the answer (mu). */
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = id;
	resp.more = true;
	resp.message = "subscribed";
	pthread_mutex_lock(&c->mu);
	c->sub_handle = zonemgr_subscribe(c->r->p.zones, on_published, c);
	send_response(c, &resp);
	pthread_mutex_unlock(&c->mu);
}

static void do_clock_set(conn_t *c, uint64_t id, const Signer__V1__ClockSet *req)
{
	if (!need_operator(c, id, "clock set")) {
		return;
	}
	pthread_mutex_lock(&c->r->mu);
	bool allowed = c->r->config->server.test_clock;
	pthread_mutex_unlock(&c->r->mu);
	if (!allowed) {
		reply(c, id, SIGNER__V1__STATUS__PERMISSION_DENIED,
		      "clock set: only with server.test_clock in the configuration");
		return;
	}
	if (req->jump) {
		dclock_set_jump(c->r->p.clock, req->offset);
	} else {
		dclock_set_offset(c->r->p.clock, req->offset);
	}
	log_warn("clock moved by %lld s from the real time (testing%s)", (long long)req->offset,
	         req->jump ? ", as a system clock jump" : "");
	zonemgr_kick(c->r->p.zones);
	reply(c, id, SIGNER__V1__STATUS__OK, "clock offset %lld s", (long long)req->offset);
}

/* --- connections --- */

static void handle(conn_t *c, const Signer__V1__Request *req)
{
	uint64_t id = req->id;
	/* Frames of a refused or failed stream are read and dropped until its
	 * end. */
	if (c->ignoring && req->id == c->ignore_id &&
	    (req->op_case == SIGNER__V1__REQUEST__OP_CHUNK ||
	     req->op_case == SIGNER__V1__REQUEST__OP_END)) {
		c->ignoring = req->op_case != SIGNER__V1__REQUEST__OP_END;
		return;
	}
	if (c->stream.active && c->stream.failed && req->id == c->stream.id) {
		if (req->op_case == SIGNER__V1__REQUEST__OP_END) {
			stream_reset(c);
		}
		return;
	}
	switch (req->op_case) {
	case SIGNER__V1__REQUEST__OP_ZONE_ADD:
		do_zone_add(c, id, req->zone_add);
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_REMOVE:
		do_zone_remove(c, id, req->zone_remove);
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_LIST:
		do_zone_list(c, id);
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_STATUS:
		do_zone_status(c, id, req->zone_status->name);
		break;
	case SIGNER__V1__REQUEST__OP_PUSH_BEGIN:
		do_push_begin(c, id, req->push_begin);
		break;
	case SIGNER__V1__REQUEST__OP_UPDATE_BEGIN:
		do_update_begin(c, id, req->update_begin);
		break;
	case SIGNER__V1__REQUEST__OP_CHUNK:
		do_chunk(c, id, req->chunk);
		break;
	case SIGNER__V1__REQUEST__OP_END:
		do_end(c, id);
		break;
	case SIGNER__V1__REQUEST__OP_FETCH:
		do_fetch(c, id, req->fetch);
		break;
	case SIGNER__V1__REQUEST__OP_KEY_LIST:
		do_key_list(c, id);
		break;
	case SIGNER__V1__REQUEST__OP_KEY_DS:
		do_key_ds(c, id, req->key_ds);
		break;
	case SIGNER__V1__REQUEST__OP_DAEMON_STATUS:
		do_daemon_status(c, id);
		break;
	case SIGNER__V1__REQUEST__OP_SUBSCRIBE:
		do_subscribe(c, id, req->subscribe);
		break;
	case SIGNER__V1__REQUEST__OP_CLOCK_SET:
		do_clock_set(c, id, req->clock_set);
		break;
	case SIGNER__V1__REQUEST__OP_KEY_COMMAND:
		do_key_command(c, id, req->key_command);
		break;
	case SIGNER__V1__REQUEST__OP_KEY_EXPORT:
		do_key_export(c, id, req->key_export);
		break;
	case SIGNER__V1__REQUEST__OP_STATE_BACKUP:
		do_state_backup(c, id, req->state_backup);
		break;
	case SIGNER__V1__REQUEST__OP_MASTER_STEP_DOWN:
		do_master_step_down(c, id);
		break;
	default:
		reply(c, id, SIGNER__V1__STATUS__BAD_REQUEST, "unknown operation");
		break;
	}
}

static void *conn_main(void *arg)
{
	conn_t *c = arg;
	daemon_rpc_t *r = c->r;
	pthread_setname_np(pthread_self(), "conn");
	pthread_mutex_lock(&r->mu);
	size_t max_frame = r->config->server.max_frame;
	uint64_t timeout_ms = (uint64_t)r->config->server.request_timeout * 1000u;
	pthread_mutex_unlock(&r->mu);
	/* Reads and sends wait at most request_timeout for the peer: a stream
	 * that stalls is dropped, a client that does not read its answers is
	 * cut off. An idle connection just reads again (daemon_rpc_stop shuts
	 * it down to end it). */
	rpc_conn_set_timeout(c->rpc, (unsigned)timeout_ms);
	while (!atomic_load(&r->stop)) {
		Signer__V1__Request *req = NULL;
		int st = rpc_conn_recv_request(c->rpc, max_frame, &req);
		if (st == RPC_ERR_TIMEOUT) {
			/* No byte for request_timeout: a stream in progress is dropped. */
			if (c->stream.active) {
				log_notice("client %s: stream %llu timed out", c->who,
				           (unsigned long long)c->stream.id);
				if (!c->stream.failed) {
					reply(c, c->stream.id, SIGNER__V1__STATUS__TIMEOUT,
					      "no data for %llu s: stream dropped, nothing changed",
					      (unsigned long long)(timeout_ms / 1000));
				}
				break;
			}
			continue;
		}
		if (st != RPC_OK) {
			if (st != RPC_ERR_CLOSED) {
				log_notice("client %s: connection closed: %s", c->who,
				           rpc_strerror(st));
			}
			break;
		}
		char err[256];
		if (rpc_frame_check_request(req, err, sizeof(err)) != RPC_OK) {
			reply(c, req->id, SIGNER__V1__STATUS__BAD_REQUEST, "%s", err);
			/* A refused part of a stream spoils the stream. */
			if (c->stream.active && req->id == c->stream.id && !c->stream.failed) {
				uint64_t sid = c->stream.id;
				stream_reset(c);
				c->stream.active = true;
				c->stream.failed = true;
				c->stream.id = sid;
			}
		} else {
			handle(c, req);
		}
		signer__v1__request__free_unpacked(req, NULL);
	}
	if (c->stream.active && !c->stream.failed) {
		log_notice("client %s: disconnected in the middle of a stream: dropped, nothing "
		           "changed",
		           c->who);
	}
	stream_reset(c);
	if (c->sub_handle != 0) {
		zonemgr_unsubscribe(r->p.zones, c->sub_handle);
		c->sub_handle = 0;
	}
	rpc_conn_shutdown(c->rpc);
	pthread_mutex_lock(&r->mu);
	for (conn_t **p = &r->conns; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	r->nconns--;
	pthread_cond_broadcast(&r->gone);
	pthread_mutex_unlock(&r->mu);
	pthread_detach(pthread_self());
	conn_unref(c);
	return NULL;
}

static bool same_identity(const rpc_peer_t *a, const rpc_peer_t *b)
{
	if (a->kind != b->kind) {
		return false;
	}
	return a->kind == RPC_PEER_UNIX ? a->uid == b->uid
	                                : strcmp(a->cert_sha256, b->cert_sha256) == 0;
}

/* Refuses a connection over a limit with one response, then closes it. */
static void refuse(rpc_conn_t *rc, Signer__V1__Status st, const char *msg)
{
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.status = st;
	resp.message = (char *)msg;
	rpc_conn_set_timeout(rc, 1000);
	rpc_conn_send_response(rc, &resp);
	rpc_conn_free(rc);
}

static void *accept_main(void *arg)
{
	daemon_rpc_t *r = arg;
	pthread_setname_np(pthread_self(), "rpc");
	while (!atomic_load(&r->stop)) {
		rpc_conn_t *rc = NULL;
		char err[256];
		int st = rpc_listen_accept(r->listen, &rc, err, sizeof(err));
		if (st == RPC_ERR_CLOSED) {
			break;
		}
		if (st != RPC_OK) {
			log_notice("connection refused: %s", err);
			continue;
		}
		conn_t *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			rpc_conn_free(rc);
			continue;
		}
		c->r = r;
		c->rpc = rc;
		atomic_init(&c->refs, 1);
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cond, NULL);
		rpc_conn_peer(rc, &c->peer);
		if (c->peer.kind == RPC_PEER_UNIX) {
			snprintf(c->who, sizeof(c->who), "uid %u pid %d", c->peer.uid, c->peer.pid);
		} else {
			snprintf(c->who, sizeof(c->who), "%s cert %.16s", c->peer.addr,
			         c->peer.cert_sha256);
		}
		pthread_mutex_lock(&r->mu);
		const config_client_t *cl = client_of(r->config, &c->peer);
		size_t same = 0;
		for (conn_t *o = r->conns; o != NULL; o = o->next) {
			same += same_identity(&o->peer, &c->peer);
		}
		const char *why = NULL;
		if (r->nconns >= r->config->server.max_connections) {
			why = "too many connections";
		} else if (cl != NULL && same >= cl->max_connections) {
			why = "too many connections for this client";
		}
		if (why == NULL) {
			c->next = r->conns;
			r->conns = c;
			r->nconns++;
		}
		pthread_mutex_unlock(&r->mu);
		if (why != NULL) {
			log_notice("client %s: %s", c->who, why);
			c->rpc = NULL;
			refuse(rc, SIGNER__V1__STATUS__TOO_LARGE, why);
			conn_unref(c);
			continue;
		}
		if (cl == NULL) {
			log_notice("client %s: unknown identity: every request will be denied",
			           c->who);
		} else {
			log_debug("client %s connected", c->who);
		}
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			pthread_mutex_lock(&r->mu);
			r->conns = c->next;
			r->nconns--;
			pthread_mutex_unlock(&r->mu);
			conn_unref(c);
		}
	}
	return NULL;
}

int daemon_rpc_start(const daemon_rpc_params_t *p, daemon_rpc_t **out, char *err, size_t errlen)
{
	daemon_rpc_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->p = *p;
	r->config = p->config;
	atomic_init(&r->stop, false);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->gone, NULL);
	const config_server_t *s = &p->config->server;
	rpc_listen_config_t lc = {
	        .socket_path = s->socket,
	        .socket_mode = s->socket_mode,
	        .socket_owner = s->socket_owner,
	        .socket_group = s->socket_group,
	        .tls_listen = s->tls_listen,
	        .tls_cert = s->tls_cert,
	        .tls_key = s->tls_key,
	        .tls_ca = s->tls_ca,
	};
	if (rpc_listen_open(&lc, &r->listen, err, errlen) != RPC_OK) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->gone);
		free(r);
		return -1;
	}
	if (pthread_create(&r->accept_thread, NULL, accept_main, r) != 0) {
		snprintf(err, errlen, "cannot start the accept thread");
		rpc_listen_free(r->listen);
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void daemon_rpc_set_config(daemon_rpc_t *r, const config_t *config)
{
	pthread_mutex_lock(&r->mu);
	r->config = config;
	pthread_mutex_unlock(&r->mu);
}

void daemon_rpc_stop(daemon_rpc_t *r)
{
	if (r == NULL) {
		return;
	}
	atomic_store(&r->stop, true);
	rpc_listen_stop(r->listen);
	pthread_join(r->accept_thread, NULL);
	pthread_mutex_lock(&r->mu);
	for (conn_t *c = r->conns; c != NULL; c = c->next) {
		rpc_conn_shutdown(c->rpc);
		pthread_mutex_lock(&c->mu);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->mu);
	}
	while (r->nconns > 0) {
		pthread_cond_wait(&r->gone, &r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	rpc_listen_free(r->listen);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->gone);
	free(r);
}
