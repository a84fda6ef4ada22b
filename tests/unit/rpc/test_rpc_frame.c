/*
 * Tests of rpc_frame: encoding and decoding of requests and responses, the
 * frame header's maximum, malformed and unknown input, and every bound of
 * rpc_frame_check_request().
 */
#include "signer/rpc/rpc_frame.h"

#include <stdlib.h>
#include <string.h>

#include "signer/rpc/rpc_error.h"
#include "tests/support/testutil.h"

static uint8_t owner_www[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
static uint8_t rdata_a[] = {192, 0, 2, 1};

/* Every message of the op, with its fields set; storage for sub-messages. */
typedef struct {
	Signer__V1__Request req;
	Signer__V1__ZoneAdd zone_add;
	Signer__V1__ZoneConfig config;
	Signer__V1__ZoneKey key, *keys[1];
	Signer__V1__Nsec3 nsec3;
	Signer__V1__ZoneRemove zone_remove;
	Signer__V1__ZoneList zone_list;
	Signer__V1__ZoneStatusRequest zone_status;
	Signer__V1__PushBegin push_begin;
	Signer__V1__UpdateBegin update_begin;
	Signer__V1__RecordChunk chunk;
	Signer__V1__Record rec, *recs[1];
	Signer__V1__StreamEnd end;
	Signer__V1__FetchZone fetch;
	Signer__V1__KeyList key_list;
	Signer__V1__KeyDs key_ds;
	Signer__V1__DaemonStatusRequest daemon_status;
	Signer__V1__Subscribe subscribe;
	char *zones[2];
	Signer__V1__ClockSet clock_set;
} req_store_t;

/* Fills s with a valid request of operation op. */
static Signer__V1__Request *make_request(req_store_t *s, Signer__V1__Request__OpCase op)
{
	memset(s, 0, sizeof(*s));
	signer__v1__request__init(&s->req);
	s->req.id = 0x123456789abcULL;
	s->req.op_case = op;
	switch (op) {
	case SIGNER__V1__REQUEST__OP_ZONE_ADD:
		signer__v1__zone_add__init(&s->zone_add);
		signer__v1__zone_config__init(&s->config);
		signer__v1__zone_key__init(&s->key);
		signer__v1__nsec3__init(&s->nsec3);
		s->key.key = "0a1b2c";
		s->key.token = "signer";
		s->key.role = SIGNER__V1__ZONE_KEY__ROLE__CSK;
		s->keys[0] = &s->key;
		s->nsec3.iterations = 0;
		s->nsec3.salt.data = rdata_a;
		s->nsec3.salt.len = sizeof(rdata_a);
		s->config.name = "example.";
		s->config.n_keys = 1;
		s->config.keys = s->keys;
		s->config.nsec3 = &s->nsec3;
		s->config.serial_policy = "unixtime";
		s->config.validity = 86400 * 14;
		s->zone_add.config = &s->config;
		s->req.zone_add = &s->zone_add;
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_REMOVE:
		signer__v1__zone_remove__init(&s->zone_remove);
		s->zone_remove.name = "example.";
		s->req.zone_remove = &s->zone_remove;
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_LIST:
		signer__v1__zone_list__init(&s->zone_list);
		s->req.zone_list = &s->zone_list;
		break;
	case SIGNER__V1__REQUEST__OP_ZONE_STATUS:
		signer__v1__zone_status_request__init(&s->zone_status);
		s->zone_status.name = "example";
		s->req.zone_status = &s->zone_status;
		break;
	case SIGNER__V1__REQUEST__OP_PUSH_BEGIN:
		signer__v1__push_begin__init(&s->push_begin);
		s->push_begin.zone = "example.";
		s->req.push_begin = &s->push_begin;
		break;
	case SIGNER__V1__REQUEST__OP_UPDATE_BEGIN:
		signer__v1__update_begin__init(&s->update_begin);
		s->update_begin.zone = "example.";
		s->update_begin.from_serial = 1;
		s->update_begin.to_serial = 2;
		s->req.update_begin = &s->update_begin;
		break;
	case SIGNER__V1__REQUEST__OP_CHUNK:
		signer__v1__record_chunk__init(&s->chunk);
		signer__v1__record__init(&s->rec);
		s->rec.owner.data = owner_www;
		s->rec.owner.len = sizeof(owner_www);
		s->rec.type = 1;
		s->rec.ttl = 3600;
		s->rec.rdata.data = rdata_a;
		s->rec.rdata.len = sizeof(rdata_a);
		s->recs[0] = &s->rec;
		s->chunk.n_records = 1;
		s->chunk.records = s->recs;
		s->chunk.text = "mail 3600 IN A 192.0.2.2\n";
		s->req.chunk = &s->chunk;
		break;
	case SIGNER__V1__REQUEST__OP_END:
		signer__v1__stream_end__init(&s->end);
		s->req.end = &s->end;
		break;
	case SIGNER__V1__REQUEST__OP_FETCH:
		signer__v1__fetch_zone__init(&s->fetch);
		s->fetch.zone = "example.";
		s->fetch.has_from_serial = 1;
		s->fetch.from_serial = 7;
		s->fetch.format = SIGNER__V1__FETCH_ZONE__FORMAT__TEXT;
		s->req.fetch = &s->fetch;
		break;
	case SIGNER__V1__REQUEST__OP_KEY_LIST:
		signer__v1__key_list__init(&s->key_list);
		s->req.key_list = &s->key_list;
		break;
	case SIGNER__V1__REQUEST__OP_KEY_DS:
		signer__v1__key_ds__init(&s->key_ds);
		s->key_ds.zone = "example.";
		s->key_ds.sha384 = 1;
		s->req.key_ds = &s->key_ds;
		break;
	case SIGNER__V1__REQUEST__OP_DAEMON_STATUS:
		signer__v1__daemon_status_request__init(&s->daemon_status);
		s->req.daemon_status = &s->daemon_status;
		break;
	case SIGNER__V1__REQUEST__OP_SUBSCRIBE:
		signer__v1__subscribe__init(&s->subscribe);
		s->zones[0] = "example.";
		s->zones[1] = "example.org.";
		s->subscribe.n_zones = 2;
		s->subscribe.zones = s->zones;
		s->req.subscribe = &s->subscribe;
		break;
	case SIGNER__V1__REQUEST__OP_CLOCK_SET:
		signer__v1__clock_set__init(&s->clock_set);
		s->clock_set.offset = -86400;
		s->req.clock_set = &s->clock_set;
		break;
	default:
		break;
	}
	return &s->req;
}

static const Signer__V1__Request__OpCase all_ops[] = {
        SIGNER__V1__REQUEST__OP_ZONE_ADD,   SIGNER__V1__REQUEST__OP_ZONE_REMOVE,
        SIGNER__V1__REQUEST__OP_ZONE_LIST,  SIGNER__V1__REQUEST__OP_ZONE_STATUS,
        SIGNER__V1__REQUEST__OP_PUSH_BEGIN, SIGNER__V1__REQUEST__OP_UPDATE_BEGIN,
        SIGNER__V1__REQUEST__OP_CHUNK,      SIGNER__V1__REQUEST__OP_END,
        SIGNER__V1__REQUEST__OP_FETCH,      SIGNER__V1__REQUEST__OP_KEY_LIST,
        SIGNER__V1__REQUEST__OP_KEY_DS,     SIGNER__V1__REQUEST__OP_DAEMON_STATUS,
        SIGNER__V1__REQUEST__OP_SUBSCRIBE,  SIGNER__V1__REQUEST__OP_CLOCK_SET,
};
#define NOPS (sizeof(all_ops) / sizeof(all_ops[0]))

static void test_rpc_frame_request_round_trip_every_op(void)
{
	for (size_t i = 0; i < NOPS; i++) {
		req_store_t s;
		Signer__V1__Request *r = make_request(&s, all_ops[i]);
		char err[200] = "";
		CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
		uint8_t *frame = NULL, *again = NULL;
		size_t len = 0, len2 = 0, body = 0;
		CU_ASSERT_EQUAL_FATAL(rpc_frame_encode_request(r, &frame, &len), RPC_OK);
		CU_ASSERT_EQUAL(rpc_frame_header(frame, RPC_FRAME_DEFAULT_MAX, &body), RPC_OK);
		CU_ASSERT_EQUAL(body + RPC_FRAME_HEADER_LEN, len);
		Signer__V1__Request *d = NULL;
		CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_request(frame + 4, body, &d), RPC_OK);
		CU_ASSERT_EQUAL(d->id, r->id);
		CU_ASSERT_EQUAL(d->op_case, all_ops[i]);
		CU_ASSERT_EQUAL(rpc_frame_check_request(d, err, sizeof(err)), RPC_OK);
		CU_ASSERT_EQUAL_FATAL(rpc_frame_encode_request(d, &again, &len2), RPC_OK);
		CU_ASSERT(len2 == len && memcmp(frame, again, len) == 0);
		if (all_ops[i] == SIGNER__V1__REQUEST__OP_CHUNK) {
			CU_ASSERT_EQUAL_FATAL(d->chunk->n_records, 1);
			CU_ASSERT(d->chunk->records[0]->owner.len == sizeof(owner_www));
			CU_ASSERT(memcmp(d->chunk->records[0]->rdata.data, rdata_a, 4) == 0);
			CU_ASSERT_STRING_EQUAL(d->chunk->text, s.chunk.text);
		}
		if (all_ops[i] == SIGNER__V1__REQUEST__OP_ZONE_ADD) {
			CU_ASSERT_STRING_EQUAL(d->zone_add->config->keys[0]->key, "0a1b2c");
			CU_ASSERT_EQUAL(d->zone_add->config->keys[0]->role,
			                SIGNER__V1__ZONE_KEY__ROLE__CSK);
		}
		signer__v1__request__free_unpacked(d, NULL);
		free(frame);
		free(again);
	}
}

static void test_rpc_frame_response_round_trip_every_body(void)
{
	Signer__V1__ZoneConfig config = SIGNER__V1__ZONE_CONFIG__INIT;
	Signer__V1__ZoneStatus zone = SIGNER__V1__ZONE_STATUS__INIT;
	Signer__V1__ZoneStatus *zonev[1] = {&zone};
	Signer__V1__ZoneListResult zones = SIGNER__V1__ZONE_LIST_RESULT__INIT;
	Signer__V1__UpdateResult update = SIGNER__V1__UPDATE_RESULT__INIT;
	Signer__V1__FetchHeader fh = SIGNER__V1__FETCH_HEADER__INIT;
	Signer__V1__RecordChunk chunk = SIGNER__V1__RECORD_CHUNK__INIT;
	Signer__V1__Record rec = SIGNER__V1__RECORD__INIT;
	Signer__V1__Record *recv[1] = {&rec};
	Signer__V1__KeyInfo key = SIGNER__V1__KEY_INFO__INIT;
	Signer__V1__KeyInfo *keyv[1] = {&key};
	Signer__V1__KeyListResult keys = SIGNER__V1__KEY_LIST_RESULT__INIT;
	Signer__V1__DsRecord ds = SIGNER__V1__DS_RECORD__INIT;
	Signer__V1__DsRecord *dsv[1] = {&ds};
	Signer__V1__DsResult dsr = SIGNER__V1__DS_RESULT__INIT;
	Signer__V1__TokenStatus tok = SIGNER__V1__TOKEN_STATUS__INIT;
	Signer__V1__TokenStatus *tokv[1] = {&tok};
	Signer__V1__DaemonStatus daemon = SIGNER__V1__DAEMON_STATUS__INIT;
	Signer__V1__Published pub = SIGNER__V1__PUBLISHED__INIT;

	config.name = "example.";
	zone.config = &config;
	zone.serial = 2024010101;
	zone.last_error = "";
	zones.n_zones = 1;
	zones.zones = zonev;
	update.serial = 5;
	update.coalesced = 1;
	fh.delta = 1;
	fh.records = 12;
	rec.owner.data = owner_www;
	rec.owner.len = sizeof(owner_www);
	rec.type = 1;
	rec.rdata.data = rdata_a;
	rec.rdata.len = sizeof(rdata_a);
	chunk.n_added = 1;
	chunk.added = recv;
	key.id = "0a1b";
	key.key_tag = 12345;
	keys.n_keys = 1;
	keys.keys = keyv;
	ds.key_tag = 12345;
	ds.digest.data = rdata_a;
	ds.digest.len = 4;
	ds.text = "example. IN DS 12345 13 2 C0000201";
	dsr.n_ds = 1;
	dsr.ds = dsv;
	tok.name = "signer";
	tok.state = "up";
	daemon.version = "0.1.0";
	daemon.n_tokens = 1;
	daemon.tokens = tokv;
	daemon.healthy = 1;
	pub.zone = "example.";
	pub.serial = 9;

	struct {
		Signer__V1__Response__BodyCase body;
		void *msg;
	} bodies[] = {
	        {SIGNER__V1__RESPONSE__BODY__NOT_SET, NULL},
	        {SIGNER__V1__RESPONSE__BODY_ZONE, &zone},
	        {SIGNER__V1__RESPONSE__BODY_ZONES, &zones},
	        {SIGNER__V1__RESPONSE__BODY_UPDATE, &update},
	        {SIGNER__V1__RESPONSE__BODY_FETCH_HEADER, &fh},
	        {SIGNER__V1__RESPONSE__BODY_CHUNK, &chunk},
	        {SIGNER__V1__RESPONSE__BODY_KEYS, &keys},
	        {SIGNER__V1__RESPONSE__BODY_DS, &dsr},
	        {SIGNER__V1__RESPONSE__BODY_DAEMON, &daemon},
	        {SIGNER__V1__RESPONSE__BODY_PUBLISHED, &pub},
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		Signer__V1__Response r = SIGNER__V1__RESPONSE__INIT;
		r.id = 42 + i;
		r.status = i == 0 ? SIGNER__V1__STATUS__NOT_FOUND : SIGNER__V1__STATUS__OK;
		r.message = i == 0 ? "zone example. not found" : "";
		r.more = i == 5;
		r.body_case = bodies[i].body;
		r.zone = bodies[i].msg; /* the union: any member */
		uint8_t *frame = NULL, *again = NULL;
		size_t len = 0, len2 = 0;
		CU_ASSERT_EQUAL_FATAL(rpc_frame_encode_response(&r, &frame, &len), RPC_OK);
		Signer__V1__Response *d = NULL;
		CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_response(frame + 4, len - 4, &d), RPC_OK);
		CU_ASSERT_EQUAL(d->id, 42 + i);
		CU_ASSERT_EQUAL(d->body_case, bodies[i].body);
		CU_ASSERT_EQUAL(d->status, r.status);
		CU_ASSERT_STRING_EQUAL(d->message, r.message);
		CU_ASSERT_EQUAL(!!d->more, i == 5);
		CU_ASSERT_EQUAL_FATAL(rpc_frame_encode_response(d, &again, &len2), RPC_OK);
		CU_ASSERT(len2 == len && memcmp(frame, again, len) == 0);
		if (bodies[i].body == SIGNER__V1__RESPONSE__BODY_DAEMON) {
			CU_ASSERT_STRING_EQUAL(d->daemon->tokens[0]->state, "up");
		}
		signer__v1__response__free_unpacked(d, NULL);
		free(frame);
		free(again);
	}
}

static void test_rpc_frame_header_above_max_is_too_large(void)
{
	uint8_t hdr[4];
	size_t len = 77;
	rpc_frame_put_header(hdr, 1001);
	CU_ASSERT(hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0x03 && hdr[3] == 0xe9);
	CU_ASSERT_EQUAL(rpc_frame_header(hdr, 1000, &len), RPC_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(len, 77);
	CU_ASSERT_EQUAL(rpc_frame_header(hdr, 1001, &len), RPC_OK);
	CU_ASSERT_EQUAL(len, 1001);
	rpc_frame_put_header(hdr, 0xffffffffu);
	CU_ASSERT_EQUAL(rpc_frame_header(hdr, RPC_FRAME_DEFAULT_MAX, &len), RPC_ERR_TOO_LARGE);
	rpc_frame_put_header(hdr, RPC_FRAME_DEFAULT_MAX + 1);
	CU_ASSERT_EQUAL(rpc_frame_header(hdr, RPC_FRAME_DEFAULT_MAX, &len), RPC_ERR_TOO_LARGE);
	rpc_frame_put_header(hdr, 0);
	CU_ASSERT_EQUAL(rpc_frame_header(hdr, 0, &len), RPC_OK);
	CU_ASSERT_EQUAL(len, 0);
}

static void test_rpc_frame_empty_frame_is_empty_request(void)
{
	Signer__V1__Request *d = NULL;
	char err[100];
	CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_request(NULL, 0, &d), RPC_OK);
	CU_ASSERT_EQUAL(d->id, 0);
	CU_ASSERT_EQUAL(d->op_case, SIGNER__V1__REQUEST__OP__NOT_SET);
	CU_ASSERT_EQUAL(rpc_frame_check_request(d, err, sizeof(err)), RPC_ERR_INVALID);
	signer__v1__request__free_unpacked(d, NULL);
}

static void test_rpc_frame_garbage_is_decode_error(void)
{
	static const uint8_t bad_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t short_field[] = {0x82, 0x01, 0x05, 'a'}; /* zone_add, 5 of 1 */
	static const uint8_t bad_wire_type[] = {0x0f, 0x00};          /* wire type 7 */
	static const uint8_t text[] = "GET / HTTP/1.1\r\n\r\n";
	static const uint8_t bad_owner[] = {0x82, 0x01, 0x02, 0x0a, 0x05}; /* config cut */
	static const uint8_t field_zero[] = {0x80, 0x00, 0x01}; /* field 0 as a 2-byte varint */
	const struct {
		const uint8_t *p;
		size_t n;
	} cases[] = {
	        {bad_varint, sizeof(bad_varint)},       {short_field, sizeof(short_field)},
	        {bad_wire_type, sizeof(bad_wire_type)}, {text, sizeof(text) - 1},
	        {bad_owner, sizeof(bad_owner)},         {field_zero, sizeof(field_zero)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Signer__V1__Request *d = (Signer__V1__Request *)&cases[0];
		Signer__V1__Response *rd = (Signer__V1__Response *)&cases[0];
		CU_ASSERT_EQUAL(rpc_frame_decode_request(cases[i].p, cases[i].n, &d),
		                RPC_ERR_DECODE);
		CU_ASSERT(d == (Signer__V1__Request *)&cases[0]); /* untouched */
		CU_ASSERT_EQUAL(rpc_frame_decode_response(cases[i].p, cases[i].n, &rd),
		                RPC_ERR_DECODE);
		CU_ASSERT(rd == (Signer__V1__Response *)&cases[0]);
	}
}

static void test_rpc_frame_field_number_zero_is_decode_error(void)
{
	/* inside clock_set: field 0 written as a non-minimal varint, which
	 * protobuf-c would keep and then write back unreadable (found by the
	 * fuzzer) */
	static const uint8_t nested[] = {0x08, 0x06, 0xba, 0x01, 0x03, 0x80, 0x00, 0x01};
	Signer__V1__Request *d = NULL;
	CU_ASSERT_EQUAL(rpc_frame_decode_request(nested, sizeof(nested), &d), RPC_ERR_DECODE);
	CU_ASSERT(d == NULL);
	static const uint8_t ok[] = {0x08, 0x06, 0xba, 0x01, 0x03, 0x80, 0x01, 0x01};
	CU_ASSERT_EQUAL(rpc_frame_decode_request(ok, sizeof(ok), &d), RPC_OK); /* field 16 */
	signer__v1__request__free_unpacked(d, NULL);
}

static void test_rpc_frame_unknown_op_decodes_not_set_and_is_refused(void)
{
	/* id = 7, then field 99 (length-delimited, tag 0x31a) holding 2 bytes */
	static const uint8_t frame[] = {0x08, 0x07, 0x9a, 0x06, 0x02, 0x08, 0x01};
	Signer__V1__Request *d = NULL;
	char err[100] = "";
	CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_request(frame, sizeof(frame), &d), RPC_OK);
	CU_ASSERT_EQUAL(d->id, 7);
	CU_ASSERT_EQUAL(d->op_case, SIGNER__V1__REQUEST__OP__NOT_SET);
	CU_ASSERT_EQUAL(rpc_frame_check_request(d, err, sizeof(err)), RPC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err, "unknown operation");
	signer__v1__request__free_unpacked(d, NULL);
}

static void test_rpc_frame_unknown_fields_are_ignored(void)
{
	/* id = 3, field 50 varint 9, zone_list (field 12, empty), field 51 bytes
	 * "xy"; then push_begin (field 14) holding zone "a." and field 9 = 5 */
	static const uint8_t frame[] = {0x08, 0x03, 0x90, 0x03, 0x09, 0x62,
	                                0x00, 0x9a, 0x03, 0x02, 'x',  'y'};
	static const uint8_t push[] = {0x72, 0x06, 0x0a, 0x02, 'a', '.', 0x48, 0x05};
	Signer__V1__Request *d = NULL;
	char err[100] = "";
	CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_request(frame, sizeof(frame), &d), RPC_OK);
	CU_ASSERT_EQUAL(d->id, 3);
	CU_ASSERT_EQUAL(d->op_case, SIGNER__V1__REQUEST__OP_ZONE_LIST);
	CU_ASSERT_EQUAL(rpc_frame_check_request(d, err, sizeof(err)), RPC_OK);
	signer__v1__request__free_unpacked(d, NULL);
	CU_ASSERT_EQUAL_FATAL(rpc_frame_decode_request(push, sizeof(push), &d), RPC_OK);
	CU_ASSERT_EQUAL(d->op_case, SIGNER__V1__REQUEST__OP_PUSH_BEGIN);
	CU_ASSERT_STRING_EQUAL(d->push_begin->zone, "a.");
	CU_ASSERT_EQUAL(rpc_frame_check_request(d, err, sizeof(err)), RPC_OK);
	signer__v1__request__free_unpacked(d, NULL);
}

/* Asserts that check_request refuses r with a message containing want. */
static void refused(const Signer__V1__Request *r, const char *want)
{
	char err[200] = "";
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_ERR_INVALID);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", err, want);
		CU_FAIL("message");
	}
}

static void test_rpc_frame_check_refuses_each_bound(void)
{
	req_store_t s;
	Signer__V1__Request *r;
	char long_name[300], long_key[RPC_FRAME_MAX_KEY + 2];
	memset(long_name, 'a', sizeof(long_name));
	for (int i = 63; i < 299; i += 64) {
		long_name[i] = '.';
	}
	long_name[299] = '\0';
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';

	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.req.op_case = (Signer__V1__Request__OpCase)99;
	refused(r, "unknown operation");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_REMOVE);
	s.req.zone_remove = NULL;
	refused(r, "operation without its body");

	/* zone names */
	static const char *bad_names[] = {"", "a..b.", "@", "a\\", "a\\300."};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		r = make_request(&s, SIGNER__V1__REQUEST__OP_PUSH_BEGIN);
		s.push_begin.zone = (char *)bad_names[i];
		refused(r, "push_begin");
	}
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_STATUS);
	s.zone_status.name = long_name;
	refused(r, "zone_status: bad zone name");
	char long_label[70];
	memset(long_label, 'x', 64);
	strcpy(long_label + 64, ".");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_UPDATE_BEGIN);
	s.update_begin.zone = long_label;
	refused(r, "update_begin: bad zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_FETCH);
	s.fetch.zone = "";
	refused(r, "fetch: empty zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_FETCH);
	s.fetch.format = (Signer__V1__FetchZone__Format)5;
	refused(r, "fetch: unknown format 5");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_KEY_DS);
	s.key_ds.zone = "..";
	refused(r, "key_ds: bad zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_REMOVE);
	s.zone_remove.name = "";
	refused(r, "zone_remove: empty zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_SUBSCRIBE);
	s.zones[1] = "a..";
	refused(r, "subscribe: bad zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_SUBSCRIBE);
	s.subscribe.n_zones = RPC_FRAME_MAX_SUBSCRIBE_ZONES + 1;
	refused(r, "subscribe: more than");

	/* zone_add */
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.zone_add.config = NULL;
	refused(r, "zone_add: missing config");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.config.name = "bad..";
	refused(r, "zone_add: bad zone name");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.key.key = long_key;
	refused(r, "zone_add key 0: key or token longer than 1024 bytes");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.key.token = long_key;
	refused(r, "key or token longer");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.key.key = "";
	refused(r, "zone_add key 0: empty key reference");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.key.role = (Signer__V1__ZoneKey__Role)3;
	refused(r, "unknown role 3");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.config.n_keys = RPC_FRAME_MAX_ZONE_KEYS + 1;
	refused(r, "zone_add: more than 256 keys");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.nsec3.iterations = 65536;
	refused(r, "NSEC3 iterations 65536");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.nsec3.salt.len = 256;
	refused(r, "NSEC3 salt");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.config.serial_policy = "random";
	refused(r, "unknown serial policy \"random\"");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_ZONE_ADD);
	s.config.policy = long_key;
	refused(r, "policy name longer");

	/* chunks */
	static uint8_t compressed[] = {3, 'w', 'w', 'w', 0xc0, 0x0c};
	static uint8_t no_root[] = {3, 'w', 'w', 'w'};
	static uint8_t trailing[] = {0, 0};
	static uint8_t label64[66] = {64};
	uint8_t long_owner[258];
	for (size_t i = 0; i < 256; i += 2) {
		long_owner[i] = 1;
		long_owner[i + 1] = 'a';
	}
	long_owner[256] = 0;
	const struct {
		uint8_t *p;
		size_t n;
	} owners[] = {
	        {compressed, sizeof(compressed)},
	        {no_root, sizeof(no_root)},
	        {trailing, sizeof(trailing)},
	        {label64, sizeof(label64)},
	        {long_owner, 257},
	        {NULL, 0},
	};
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
		s.rec.owner.data = owners[i].p;
		s.rec.owner.len = owners[i].n;
		refused(r, "chunk record 0: bad owner name");
	}
	static const uint32_t meta[] = {0, 41, 249, 250, 251, 252, 253, 254, 255, 65536};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
		s.rec.type = meta[i];
		refused(r, "not allowed");
	}
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	s.rec.type = 65535; /* a private type is data */
	char err[200];
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
	s.rec.type = 248;
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	s.rec.ttl = 0x80000000u;
	refused(r, "TTL 2147483648");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	s.rec.rdata.len = 65536;
	refused(r, "RDATA of 65536 bytes");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	s.chunk.removed = s.recs;
	s.chunk.n_removed = 1;
	refused(r, "chunk: both zone records and update records");
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	s.chunk.n_records = 0;
	s.chunk.text = "";
	s.chunk.added = s.recs;
	s.chunk.n_added = 1;
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
	s.rec.type = 255;
	refused(r, "chunk added record 0: type 255 not allowed");
	s.rec.type = 1;
	s.chunk.removed = s.recs;
	s.chunk.n_removed = 1;
	s.rec.ttl = 0xffffffffu;
	refused(r, "chunk removed record 0: TTL");

	Signer__V1__Record **many = calloc(RPC_FRAME_MAX_CHUNK_RECORDS + 1, sizeof(*many));
	CU_ASSERT_FATAL(many != NULL);
	r = make_request(&s, SIGNER__V1__REQUEST__OP_CHUNK);
	for (size_t i = 0; i <= RPC_FRAME_MAX_CHUNK_RECORDS; i++) {
		many[i] = &s.rec;
	}
	s.chunk.records = many;
	s.chunk.n_records = RPC_FRAME_MAX_CHUNK_RECORDS;
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
	s.chunk.n_records = RPC_FRAME_MAX_CHUNK_RECORDS + 1;
	refused(r, "chunk: more than 8192 records");
	s.chunk.n_records = 0;
	s.chunk.text = "";
	s.chunk.removed = many;
	s.chunk.added = many;
	s.chunk.n_removed = RPC_FRAME_MAX_CHUNK_RECORDS / 2;
	s.chunk.n_added = RPC_FRAME_MAX_CHUNK_RECORDS / 2 + 1;
	refused(r, "chunk: more than 8192 records");
	s.chunk.n_removed = SIZE_MAX; /* no overflow in the sum */
	s.chunk.n_added = 2;
	refused(r, "chunk: more than 8192 records");
	free(many);

	r = make_request(&s, SIGNER__V1__REQUEST__OP_CLOCK_SET);
	s.clock_set.offset = RPC_FRAME_MAX_CLOCK_OFFSET + 1;
	refused(r, "clock_set: offset");
	s.clock_set.offset = -RPC_FRAME_MAX_CLOCK_OFFSET - 1;
	refused(r, "clock_set: offset");
	s.clock_set.offset = -RPC_FRAME_MAX_CLOCK_OFFSET;
	CU_ASSERT_EQUAL(rpc_frame_check_request(r, err, sizeof(err)), RPC_OK);
}

static void test_rpc_frame_strerror_names_every_status(void)
{
	for (int s = RPC_ERR_PEER; s <= RPC_ERR_NOMEM; s++) {
		CU_ASSERT(strcmp(rpc_strerror(s), "unknown rpc status") != 0);
	}
	CU_ASSERT_STRING_EQUAL(rpc_strerror(RPC_OK), "success");
	CU_ASSERT_STRING_EQUAL(rpc_strerror(-1600), "unknown rpc status");
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_rpc_frame_request_round_trip_every_op",
	         test_rpc_frame_request_round_trip_every_op},
	        {"test_rpc_frame_response_round_trip_every_body",
	         test_rpc_frame_response_round_trip_every_body},
	        {"test_rpc_frame_header_above_max_is_too_large",
	         test_rpc_frame_header_above_max_is_too_large},
	        {"test_rpc_frame_empty_frame_is_empty_request",
	         test_rpc_frame_empty_frame_is_empty_request},
	        {"test_rpc_frame_garbage_is_decode_error", test_rpc_frame_garbage_is_decode_error},
	        {"test_rpc_frame_field_number_zero_is_decode_error",
	         test_rpc_frame_field_number_zero_is_decode_error},
	        {"test_rpc_frame_unknown_op_decodes_not_set_and_is_refused",
	         test_rpc_frame_unknown_op_decodes_not_set_and_is_refused},
	        {"test_rpc_frame_unknown_fields_are_ignored",
	         test_rpc_frame_unknown_fields_are_ignored},
	        {"test_rpc_frame_check_refuses_each_bound",
	         test_rpc_frame_check_refuses_each_bound},
	        {"test_rpc_frame_strerror_names_every_status",
	         test_rpc_frame_strerror_names_every_status},
	        {NULL, NULL},
	};
	return testutil_run("rpc_frame", cases);
}
