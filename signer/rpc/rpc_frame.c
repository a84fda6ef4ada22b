#include "signer/rpc/rpc_frame.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/rpc/rpc_error.h"
#include "signer/zone/dname.h"

int rpc_frame_header(const uint8_t hdr[RPC_FRAME_HEADER_LEN], size_t max, size_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
	             (uint32_t)hdr[3];
	if (n > max) {
		return RPC_ERR_TOO_LARGE;
	}
	*len = n;
	return RPC_OK;
}

void rpc_frame_put_header(uint8_t hdr[RPC_FRAME_HEADER_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

static int encode(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > UINT32_MAX) {
		return RPC_ERR_TOO_LARGE;
	}
	uint8_t *buf = malloc(RPC_FRAME_HEADER_LEN + n);
	if (buf == NULL) {
		return RPC_ERR_NOMEM;
	}
	rpc_frame_put_header(buf, (uint32_t)n);
	if (protobuf_c_message_pack(m, buf + RPC_FRAME_HEADER_LEN) != n) {
		free(buf); /* the message changed under us: a caller bug */
		return RPC_ERR_DECODE;
	}
	*out = buf;
	*len = RPC_FRAME_HEADER_LEN + n;
	return RPC_OK;
}

int rpc_frame_encode_request(const Signer__V1__Request *r, uint8_t **out, size_t *len)
{
	return encode(&r->base, out, len);
}

int rpc_frame_encode_response(const Signer__V1__Response *r, uint8_t **out, size_t *len)
{
	return encode(&r->base, out, len);
}

/* malloc/free, noting a failed allocation so that decoding can tell
 * out-of-memory from malformed input (protobuf-c returns NULL for both).
 * Messages are freed later with the default allocator: also malloc/free. */
static void *track_alloc(void *data, size_t size)
{
	void *p = malloc(size);
	if (p == NULL) {
		*(bool *)data = true;
	}
	return p;
}

static void track_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/* Whether m and its sub-messages hold only unknown fields with valid field
 * numbers (1..2^29-1). protobuf-c accepts a field number 0 written as a
 * non-minimal varint and keeps it, but then writes a message it refuses to
 * read back: such input is refused as malformed. */
static bool well_formed(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		if (m->unknown_fields[i].tag == 0 || m->unknown_fields[i].tag > 0x1fffffffu) {
			return false;
		}
	}
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
			continue;
		}
		const char *base = (const char *)m;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id) {
			continue; /* another member of the oneof is set */
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
			        *(ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t j = 0; j < n; j++) {
				if (v[j] != NULL && !well_formed(v[j])) {
					return false;
				}
			}
		} else {
			const ProtobufCMessage *sub =
			        *(ProtobufCMessage *const *)(base + f->offset);
			if (sub != NULL && !well_formed(sub)) {
				return false;
			}
		}
	}
	return true;
}

static int decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  ProtobufCMessage **out)
{
	static const uint8_t empty[1];
	bool nomem = false;
	ProtobufCAllocator a = {track_alloc, track_free, &nomem};
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, len, buf != NULL ? buf : empty);
	if (m == NULL) {
		return nomem ? RPC_ERR_NOMEM : RPC_ERR_DECODE;
	}
	if (!well_formed(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return RPC_ERR_DECODE;
	}
	*out = m;
	return RPC_OK;
}

int rpc_frame_decode_request(const uint8_t *buf, size_t len, Signer__V1__Request **out)
{
	ProtobufCMessage *m = NULL;
	int ret = decode(&signer__v1__request__descriptor, buf, len, &m);
	if (ret == RPC_OK) {
		*out = (Signer__V1__Request *)m;
	}
	return ret;
}

int rpc_frame_decode_response(const uint8_t *buf, size_t len, Signer__V1__Response **out)
{
	ProtobufCMessage *m = NULL;
	int ret = decode(&signer__v1__response__descriptor, buf, len, &m);
	if (ret == RPC_OK) {
		*out = (Signer__V1__Response *)m;
	}
	return ret;
}

/* --- rpc_frame_check_request --- */

__attribute__((format(printf, 3, 4))) static int refuse(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return RPC_ERR_INVALID;
}

/* Whether s (possibly NULL: empty) is at most max bytes long. */
static bool short_enough(const char *s, size_t max)
{
	return s == NULL || strnlen(s, max + 1) <= max;
}

static int check_zone_name(const char *what, const char *name, char *err, size_t errlen)
{
	uint8_t wire[DNAME_MAXLEN];
	if (name == NULL || name[0] == '\0') {
		return refuse(err, errlen, "%s: empty zone name", what);
	}
	if (!short_enough(name, DNAME_STR_MAXLEN)) {
		return refuse(err, errlen, "%s: zone name too long", what);
	}
	if (dname_from_str(name, NULL, wire, sizeof(wire), NULL) != 0) {
		return refuse(err, errlen, "%s: bad zone name \"%.80s\"", what, name);
	}
	return RPC_OK;
}

/* Whether p holds exactly one uncompressed wire name (RFC 1035 3.1). */
static bool wire_name_ok(const uint8_t *p, size_t len)
{
	if (p == NULL || len == 0 || len > DNAME_MAXLEN) {
		return false;
	}
	for (size_t i = 0; i < len; i += 1 + (size_t)p[i]) {
		if (p[i] == 0) {
			return i + 1 == len;
		}
		if (p[i] > DNAME_LABEL_MAXLEN) {
			return false;
		}
	}
	return false;
}

/* Types that are not data: 0, OPT, TKEY, TSIG and the query types. */
static bool meta_type(uint32_t type)
{
	return type == 0 || type == 41 || (type >= 249 && type <= 255);
}

static int check_records(const char *what, Signer__V1__Record *const *recs, size_t n, char *err,
                         size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const Signer__V1__Record *rec = recs[i];
		if (rec == NULL) {
			return refuse(err, errlen, "chunk %s %zu: missing", what, i);
		}
		if (!wire_name_ok(rec->owner.data, rec->owner.len)) {
			return refuse(err, errlen, "chunk %s %zu: bad owner name", what, i);
		}
		if (rec->type > 65535 || meta_type(rec->type)) {
			return refuse(err, errlen, "chunk %s %zu: type %u not allowed", what, i,
			              (unsigned)rec->type);
		}
		if (rec->ttl > 0x7fffffffu) {
			return refuse(err, errlen, "chunk %s %zu: TTL %u above 2^31-1", what, i,
			              (unsigned)rec->ttl);
		}
		if (rec->rdata.len > 65535) {
			return refuse(err, errlen, "chunk %s %zu: RDATA of %zu bytes above 65535",
			              what, i, rec->rdata.len);
		}
	}
	return RPC_OK;
}

static bool nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static int check_chunk(const Signer__V1__RecordChunk *c, char *err, size_t errlen)
{
	const size_t max = RPC_FRAME_MAX_CHUNK_RECORDS; /* each subtraction below stays >= 0 */
	if (c->n_records > max || c->n_removed > max - c->n_records ||
	    c->n_added > max - c->n_records - c->n_removed) {
		return refuse(err, errlen, "chunk: more than %d records",
		              RPC_FRAME_MAX_CHUNK_RECORDS);
	}
	bool push = c->n_records > 0 || nonempty(c->text);
	bool update = c->n_removed > 0 || c->n_added > 0 || nonempty(c->removed_text) ||
	              nonempty(c->added_text);
	if (push && update) {
		return refuse(err, errlen, "chunk: both zone records and update records");
	}
	if (!short_enough(c->text, RPC_FRAME_MAX_TEXT) ||
	    !short_enough(c->removed_text, RPC_FRAME_MAX_TEXT) ||
	    !short_enough(c->added_text, RPC_FRAME_MAX_TEXT)) {
		return refuse(err, errlen, "chunk: text longer than %u bytes", RPC_FRAME_MAX_TEXT);
	}
	int ret = check_records("record", c->records, c->n_records, err, errlen);
	if (ret == RPC_OK) {
		ret = check_records("removed record", c->removed, c->n_removed, err, errlen);
	}
	if (ret == RPC_OK) {
		ret = check_records("added record", c->added, c->n_added, err, errlen);
	}
	return ret;
}

static int check_zone_config(const Signer__V1__ZoneConfig *zc, char *err, size_t errlen)
{
	static const char *const policies[] = {"", "keep", "increment", "unixtime", "datecounter"};
	if (zc == NULL) {
		return refuse(err, errlen, "zone_add: missing config");
	}
	int ret = check_zone_name("zone_add", zc->name, err, errlen);
	if (ret != RPC_OK) {
		return ret;
	}
	if (zc->n_keys > RPC_FRAME_MAX_ZONE_KEYS) {
		return refuse(err, errlen, "zone_add: more than %d keys", RPC_FRAME_MAX_ZONE_KEYS);
	}
	for (size_t i = 0; i < zc->n_keys; i++) {
		const Signer__V1__ZoneKey *k = zc->keys[i];
		if (k == NULL || !nonempty(k->key)) {
			return refuse(err, errlen, "zone_add key %zu: empty key reference", i);
		}
		if (!short_enough(k->key, RPC_FRAME_MAX_KEY) ||
		    !short_enough(k->token, RPC_FRAME_MAX_KEY)) {
			return refuse(err, errlen,
			              "zone_add key %zu: key or token longer than %d bytes", i,
			              RPC_FRAME_MAX_KEY);
		}
		if ((int)k->role < SIGNER__V1__ZONE_KEY__ROLE__KSK ||
		    (int)k->role > SIGNER__V1__ZONE_KEY__ROLE__CSK) {
			return refuse(err, errlen, "zone_add key %zu: unknown role %d", i,
			              (int)k->role);
		}
	}
	if (zc->nsec3 != NULL) {
		if (zc->nsec3->iterations > 65535) {
			return refuse(err, errlen, "zone_add: NSEC3 iterations %u above 65535",
			              (unsigned)zc->nsec3->iterations);
		}
		if (zc->nsec3->salt.len > 255) {
			return refuse(err, errlen, "zone_add: NSEC3 salt longer than 255 bytes");
		}
	}
	const char *sp = zc->serial_policy != NULL ? zc->serial_policy : "";
	bool known = false;
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		known = known || strcmp(sp, policies[i]) == 0;
	}
	if (!known) {
		return refuse(err, errlen, "zone_add: unknown serial policy \"%.40s\"", sp);
	}
	if (!short_enough(zc->policy, RPC_FRAME_MAX_KEY)) {
		return refuse(err, errlen, "zone_add: policy name longer than %d bytes",
		              RPC_FRAME_MAX_KEY);
	}
	return RPC_OK;
}

/* The body of each operation; NULL when op_case is NOT_SET or unknown. */
static const void *op_body(const Signer__V1__Request *r)
{
	switch (r->op_case) {
	case SIGNER__V1__REQUEST__OP_ZONE_ADD:
		return r->zone_add;
	case SIGNER__V1__REQUEST__OP_ZONE_REMOVE:
		return r->zone_remove;
	case SIGNER__V1__REQUEST__OP_ZONE_LIST:
		return r->zone_list;
	case SIGNER__V1__REQUEST__OP_ZONE_STATUS:
		return r->zone_status;
	case SIGNER__V1__REQUEST__OP_PUSH_BEGIN:
		return r->push_begin;
	case SIGNER__V1__REQUEST__OP_UPDATE_BEGIN:
		return r->update_begin;
	case SIGNER__V1__REQUEST__OP_CHUNK:
		return r->chunk;
	case SIGNER__V1__REQUEST__OP_END:
		return r->end;
	case SIGNER__V1__REQUEST__OP_FETCH:
		return r->fetch;
	case SIGNER__V1__REQUEST__OP_KEY_LIST:
		return r->key_list;
	case SIGNER__V1__REQUEST__OP_KEY_DS:
		return r->key_ds;
	case SIGNER__V1__REQUEST__OP_DAEMON_STATUS:
		return r->daemon_status;
	case SIGNER__V1__REQUEST__OP_SUBSCRIBE:
		return r->subscribe;
	case SIGNER__V1__REQUEST__OP_CLOCK_SET:
		return r->clock_set;
	case SIGNER__V1__REQUEST__OP_KEY_COMMAND:
		return r->key_command;
	case SIGNER__V1__REQUEST__OP_KEY_EXPORT:
		return r->key_export;
	case SIGNER__V1__REQUEST__OP_STATE_BACKUP:
		return r->state_backup;
	case SIGNER__V1__REQUEST__OP_MASTER_STEP_DOWN:
		return r->master_step_down;
	default:
		return NULL;
	}
}

int rpc_frame_check_request(const Signer__V1__Request *r, char *err, size_t errlen)
{
	switch (r->op_case) {
	case SIGNER__V1__REQUEST__OP_ZONE_ADD:
	case SIGNER__V1__REQUEST__OP_ZONE_REMOVE:
	case SIGNER__V1__REQUEST__OP_ZONE_LIST:
	case SIGNER__V1__REQUEST__OP_ZONE_STATUS:
	case SIGNER__V1__REQUEST__OP_PUSH_BEGIN:
	case SIGNER__V1__REQUEST__OP_UPDATE_BEGIN:
	case SIGNER__V1__REQUEST__OP_CHUNK:
	case SIGNER__V1__REQUEST__OP_END:
	case SIGNER__V1__REQUEST__OP_FETCH:
	case SIGNER__V1__REQUEST__OP_KEY_LIST:
	case SIGNER__V1__REQUEST__OP_KEY_DS:
	case SIGNER__V1__REQUEST__OP_DAEMON_STATUS:
	case SIGNER__V1__REQUEST__OP_SUBSCRIBE:
	case SIGNER__V1__REQUEST__OP_CLOCK_SET:
	case SIGNER__V1__REQUEST__OP_KEY_COMMAND:
	case SIGNER__V1__REQUEST__OP_KEY_EXPORT:
	case SIGNER__V1__REQUEST__OP_STATE_BACKUP:
	case SIGNER__V1__REQUEST__OP_MASTER_STEP_DOWN:
		break;
	default:
		return refuse(err, errlen, "unknown operation");
	}
	if (op_body(r) == NULL) {
		return refuse(err, errlen, "operation without its body");
	}
	switch (r->op_case) {
	case SIGNER__V1__REQUEST__OP_ZONE_ADD:
		return check_zone_config(r->zone_add->config, err, errlen);
	case SIGNER__V1__REQUEST__OP_ZONE_REMOVE:
		return check_zone_name("zone_remove", r->zone_remove->name, err, errlen);
	case SIGNER__V1__REQUEST__OP_ZONE_STATUS:
		return check_zone_name("zone_status", r->zone_status->name, err, errlen);
	case SIGNER__V1__REQUEST__OP_PUSH_BEGIN:
		return check_zone_name("push_begin", r->push_begin->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_UPDATE_BEGIN:
		return check_zone_name("update_begin", r->update_begin->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_CHUNK:
		return check_chunk(r->chunk, err, errlen);
	case SIGNER__V1__REQUEST__OP_FETCH:
		if ((int)r->fetch->format != SIGNER__V1__FETCH_ZONE__FORMAT__WIRE &&
		    (int)r->fetch->format != SIGNER__V1__FETCH_ZONE__FORMAT__TEXT) {
			return refuse(err, errlen, "fetch: unknown format %d",
			              (int)r->fetch->format);
		}
		return check_zone_name("fetch", r->fetch->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_KEY_DS:
		return check_zone_name("key_ds", r->key_ds->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_SUBSCRIBE:
		if (r->subscribe->n_zones > RPC_FRAME_MAX_SUBSCRIBE_ZONES) {
			return refuse(err, errlen, "subscribe: more than %d zones",
			              RPC_FRAME_MAX_SUBSCRIBE_ZONES);
		}
		for (size_t i = 0; i < r->subscribe->n_zones; i++) {
			int ret = check_zone_name("subscribe", r->subscribe->zones[i], err, errlen);
			if (ret != RPC_OK) {
				return ret;
			}
		}
		return RPC_OK;
	case SIGNER__V1__REQUEST__OP_CLOCK_SET:
		if (r->clock_set->offset > RPC_FRAME_MAX_CLOCK_OFFSET ||
		    r->clock_set->offset < -RPC_FRAME_MAX_CLOCK_OFFSET) {
			return refuse(err, errlen, "clock_set: offset beyond 2^32 seconds");
		}
		return RPC_OK;
	case SIGNER__V1__REQUEST__OP_KEY_COMMAND:
		if ((int)r->key_command->op < SIGNER__V1__KEY_COMMAND__OP__DS_SEEN ||
		    (int)r->key_command->op > SIGNER__V1__KEY_COMMAND__OP__GO_SECURE) {
			return refuse(err, errlen, "key_command: unknown op %d",
			              (int)r->key_command->op);
		}
		if (!short_enough(r->key_command->key, RPC_FRAME_MAX_KEY) ||
		    !short_enough(r->key_command->role, RPC_FRAME_MAX_KEY)) {
			return refuse(err, errlen, "key_command: key or role longer than %d bytes",
			              RPC_FRAME_MAX_KEY);
		}
		return check_zone_name("key_command", r->key_command->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_KEY_EXPORT:
		if ((int)r->key_export->format < SIGNER__V1__KEY_EXPORT__FORMAT__DS ||
		    (int)r->key_export->format > SIGNER__V1__KEY_EXPORT__FORMAT__ANCHOR_DS) {
			return refuse(err, errlen, "key_export: unknown format %d",
			              (int)r->key_export->format);
		}
		return check_zone_name("key_export", r->key_export->zone, err, errlen);
	case SIGNER__V1__REQUEST__OP_STATE_BACKUP:
		if (r->state_backup->dir == NULL || r->state_backup->dir[0] != '/' ||
		    !short_enough(r->state_backup->dir, 4096)) {
			return refuse(err, errlen, "state_backup: dir must be an absolute path");
		}
		return RPC_OK;
	default:
		return RPC_OK; /* no fields to check */
	}
}
