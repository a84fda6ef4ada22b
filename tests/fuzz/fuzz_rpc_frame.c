/*
 * fuzz_rpc_frame: libFuzzer target for RPC framing and decoding. The input
 * bytes are a stream as a server reads it: frames (4-byte big-endian length,
 * then the body) split with rpc_frame_header() against a 1 MiB maximum; the
 * stream ends at a frame above it or at a truncated one, as a connection
 * would. Each body is decoded as a Request and checked with
 * rpc_frame_check_request(), and decoded as a Response. A message that
 * decodes is encoded again, and that encoding must decode, give the same
 * check result, and encode to the same bytes (a stable round trip), or the
 * target aborts.
 *
 * Built with clang and -fsanitize=fuzzer,address (tests/fuzz/CMakeLists.txt).
 * With FUZZ_RPC_FRAME_MAIN defined it has its own main, which runs the files
 * named on the command line through the target once each (any compiler), or
 * with "--write-seeds DIR" writes the seed inputs of tests/fuzz/rpc-seeds/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/rpc/rpc_error.h"
#include "signer/rpc/rpc_frame.h"

#define FUZZ_MAX_FRAME (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int ret)
{
	fprintf(stderr, "fuzz_rpc_frame: %s (%s)\n", what, rpc_strerror(ret));
	abort();
}

/* Encoded frames must carry their own length in the header. */
static void check_header(const uint8_t *frame, size_t len)
{
	size_t body = 0;
	if (len < RPC_FRAME_HEADER_LEN || rpc_frame_header(frame, SIZE_MAX, &body) != RPC_OK ||
	    body != len - RPC_FRAME_HEADER_LEN) {
		fail("encoded frame header does not match its length", 0);
	}
}

static void request_round_trip(const uint8_t *body, size_t len)
{
	Signer__V1__Request *r = NULL, *again = NULL;
	if (rpc_frame_decode_request(body, len, &r) != RPC_OK) {
		return;
	}
	char err[256] = "", err2[256] = "";
	int check = rpc_frame_check_request(r, err, sizeof(err));
	if (check != RPC_OK && (check != RPC_ERR_INVALID || err[0] == '\0')) {
		fail("check_request: not OK nor INVALID with a reason", check);
	}
	uint8_t *e1 = NULL, *e2 = NULL;
	size_t l1 = 0, l2 = 0;
	int ret = rpc_frame_encode_request(r, &e1, &l1);
	if (ret != RPC_OK) {
		fail("decoded request does not encode", ret);
	}
	check_header(e1, l1);
	ret = rpc_frame_decode_request(e1 + RPC_FRAME_HEADER_LEN, l1 - RPC_FRAME_HEADER_LEN,
	                               &again);
	if (ret != RPC_OK) {
		fail("encoded request does not decode", ret);
	}
	if (rpc_frame_check_request(again, err2, sizeof(err2)) != check || strcmp(err, err2) != 0) {
		fail("check_request differs after a round trip", check);
	}
	ret = rpc_frame_encode_request(again, &e2, &l2);
	if (ret != RPC_OK || l1 != l2 || memcmp(e1, e2, l1) != 0) {
		fail("request round trip is not stable", ret);
	}
	free(e2);
	free(e1);
	signer__v1__request__free_unpacked(again, NULL);
	signer__v1__request__free_unpacked(r, NULL);
}

static void response_round_trip(const uint8_t *body, size_t len)
{
	Signer__V1__Response *r = NULL, *again = NULL;
	if (rpc_frame_decode_response(body, len, &r) != RPC_OK) {
		return;
	}
	uint8_t *e1 = NULL, *e2 = NULL;
	size_t l1 = 0, l2 = 0;
	int ret = rpc_frame_encode_response(r, &e1, &l1);
	if (ret != RPC_OK) {
		fail("decoded response does not encode", ret);
	}
	check_header(e1, l1);
	ret = rpc_frame_decode_response(e1 + RPC_FRAME_HEADER_LEN, l1 - RPC_FRAME_HEADER_LEN,
	                                &again);
	if (ret != RPC_OK) {
		fail("encoded response does not decode", ret);
	}
	ret = rpc_frame_encode_response(again, &e2, &l2);
	if (ret != RPC_OK || l1 != l2 || memcmp(e1, e2, l1) != 0) {
		fail("response round trip is not stable", ret);
	}
	free(e2);
	free(e1);
	signer__v1__response__free_unpacked(again, NULL);
	signer__v1__response__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (size - off >= RPC_FRAME_HEADER_LEN) {
		size_t len = 0;
		if (rpc_frame_header(data + off, FUZZ_MAX_FRAME, &len) != RPC_OK) {
			return 0; /* a server closes the connection here */
		}
		off += RPC_FRAME_HEADER_LEN;
		if (len > size - off) {
			return 0; /* truncated */
		}
		request_round_trip(data + off, len);
		response_round_trip(data + off, len);
		off += len;
	}
	return 0;
}

#ifdef FUZZ_RPC_FRAME_MAIN
static uint8_t owner[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
static uint8_t rdata[] = {192, 0, 2, 1};

/* Appends r's frame to the file dir/name. */
static int put_request(const char *dir, const char *name, const Signer__V1__Request *r)
{
	char path[4096];
	uint8_t *frame = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "ab");
	if (f == NULL || rpc_frame_encode_request(r, &frame, &len) != RPC_OK ||
	    fwrite(frame, 1, len, f) != len) {
		perror(path);
		return 1;
	}
	free(frame);
	return fclose(f) != 0;
}

/* Writes the seed inputs into dir: one frame per operation, a whole push
 * stream, a response, an unknown operation and an empty frame. */
static int write_seeds(const char *dir)
{
	int bad = 0;
	Signer__V1__Request r = SIGNER__V1__REQUEST__INIT;
	Signer__V1__ZoneKey key = SIGNER__V1__ZONE_KEY__INIT, *keys[1] = {&key};
	Signer__V1__Nsec3 nsec3 = SIGNER__V1__NSEC3__INIT;
	Signer__V1__ZoneConfig config = SIGNER__V1__ZONE_CONFIG__INIT;
	Signer__V1__ZoneAdd add = SIGNER__V1__ZONE_ADD__INIT;
	key.key = "0a1b2c";
	key.role = SIGNER__V1__ZONE_KEY__ROLE__CSK;
	config.name = "example.";
	config.n_keys = 1;
	config.keys = keys;
	config.nsec3 = &nsec3;
	config.serial_policy = "unixtime";
	add.config = &config;
	r.id = 1;
	r.op_case = SIGNER__V1__REQUEST__OP_ZONE_ADD;
	r.zone_add = &add;
	bad |= put_request(dir, "zone-add.bin", &r);

	Signer__V1__PushBegin push = SIGNER__V1__PUSH_BEGIN__INIT;
	push.zone = "example.";
	r.id = 2;
	r.op_case = SIGNER__V1__REQUEST__OP_PUSH_BEGIN;
	r.push_begin = &push;
	bad |= put_request(dir, "push-stream.bin", &r);
	Signer__V1__Record rec = SIGNER__V1__RECORD__INIT, *recs[1] = {&rec};
	rec.owner.data = owner;
	rec.owner.len = sizeof(owner);
	rec.type = 1;
	rec.ttl = 3600;
	rec.rdata.data = rdata;
	rec.rdata.len = sizeof(rdata);
	Signer__V1__RecordChunk chunk = SIGNER__V1__RECORD_CHUNK__INIT;
	chunk.n_records = 1;
	chunk.records = recs;
	chunk.text = "mail 3600 IN A 192.0.2.2\n";
	r.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	r.chunk = &chunk;
	bad |= put_request(dir, "push-stream.bin", &r);
	Signer__V1__StreamEnd end = SIGNER__V1__STREAM_END__INIT;
	r.op_case = SIGNER__V1__REQUEST__OP_END;
	r.end = &end;
	bad |= put_request(dir, "push-stream.bin", &r);

	Signer__V1__UpdateBegin upd = SIGNER__V1__UPDATE_BEGIN__INIT;
	upd.zone = "example.";
	upd.from_serial = 1;
	upd.to_serial = 2;
	r.id = 3;
	r.op_case = SIGNER__V1__REQUEST__OP_UPDATE_BEGIN;
	r.update_begin = &upd;
	bad |= put_request(dir, "update-stream.bin", &r);
	Signer__V1__RecordChunk delta = SIGNER__V1__RECORD_CHUNK__INIT;
	delta.n_removed = 1;
	delta.removed = recs;
	delta.added_text = "www 3600 IN A 192.0.2.9\n";
	r.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	r.chunk = &delta;
	bad |= put_request(dir, "update-stream.bin", &r);

	Signer__V1__FetchZone fetch = SIGNER__V1__FETCH_ZONE__INIT;
	fetch.zone = "example.";
	fetch.has_from_serial = 1;
	fetch.from_serial = 7;
	r.id = 4;
	r.op_case = SIGNER__V1__REQUEST__OP_FETCH;
	r.fetch = &fetch;
	bad |= put_request(dir, "fetch.bin", &r);

	char *zones[] = {"example.", "example.org."};
	Signer__V1__Subscribe sub = SIGNER__V1__SUBSCRIBE__INIT;
	sub.n_zones = 2;
	sub.zones = zones;
	r.id = 5;
	r.op_case = SIGNER__V1__REQUEST__OP_SUBSCRIBE;
	r.subscribe = &sub;
	bad |= put_request(dir, "subscribe.bin", &r);

	Signer__V1__KeyDs ds = SIGNER__V1__KEY_DS__INIT;
	ds.zone = "example.";
	ds.sha384 = 1;
	r.id = 6;
	r.op_case = SIGNER__V1__REQUEST__OP_KEY_DS;
	r.key_ds = &ds;
	bad |= put_request(dir, "control.bin", &r);
	Signer__V1__ClockSet clock = SIGNER__V1__CLOCK_SET__INIT;
	clock.offset = -86400;
	r.op_case = SIGNER__V1__REQUEST__OP_CLOCK_SET;
	r.clock_set = &clock;
	bad |= put_request(dir, "control.bin", &r);
	Signer__V1__ZoneRemove rm = SIGNER__V1__ZONE_REMOVE__INIT;
	rm.name = "example.";
	r.op_case = SIGNER__V1__REQUEST__OP_ZONE_REMOVE;
	r.zone_remove = &rm;
	bad |= put_request(dir, "control.bin", &r);

	/* raw frames: an unknown operation (field 99), an empty frame, a
	 * response carrying a published event */
	static const uint8_t raw[] = {0,    0,    0,    7,    0x08, 0x07, 0x9a, 0x06,
	                              0x02, 0x08, 0x01, 0,    0,    0,    0,    0,
	                              0,    0,    13,   0x08, 0x09, 0x20, 0x01, 0x92,
	                              0x01, 0x06, 0x0a, 0x02, 'a',  '.',  0x10, 0x05};
	char path[4096];
	snprintf(path, sizeof(path), "%s/raw.bin", dir);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(raw, 1, sizeof(raw), f) != sizeof(raw) || fclose(f) != 0) {
		perror(path);
		bad = 1;
	}
	return bad;
}

/* Runs each file named on the command line through the target. */
int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
		return write_seeds(argv[2]);
	}
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0;
		for (;;) {
			if (len == cap) {
				cap = cap ? cap * 2 : 65536;
				uint8_t *p = realloc(buf, cap);
				if (p == NULL) {
					return 1;
				}
				buf = p;
			}
			size_t n = fread(buf + len, 1, cap - len, f);
			if (n == 0) {
				break;
			}
			len += n;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
	}
	return 0;
}
#endif
