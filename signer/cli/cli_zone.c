#include "signer/cli/cli_zone.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signer/cli/cli_common.h"
#include "signer/cli/cli_rpc.h"
#include "signer/rpc/rpc_frame.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"

/* Records per RecordChunk of a push. */
#define PUSH_CHUNK 1000
/* Room for one record in presentation form: RDATA up to 65535 octets, each
 * perhaps as \DDD, and the owner. */
#define RR_TEXT_MAX (4 * 65536 + DNAME_STR_MAXLEN + 64)

enum {
	OPT_KSK = CLI_RPC_OPT_FIRST_FREE,
	OPT_ZSK,
	OPT_CSK,
	OPT_KEY_TOKEN,
	OPT_POLICY,
	OPT_NSEC3,
	OPT_ITERATIONS,
	OPT_SALT,
	OPT_OPT_OUT,
	OPT_SERIAL,
	OPT_VALIDITY,
	OPT_REFRESH,
	OPT_JITTER,
	OPT_INCEPTION,
	OPT_DNSKEY_TTL,
	OPT_TEXT,
	OPT_FROM_SERIAL,
	OPT_TO_SERIAL,
	OPT_ADD,
	OPT_REMOVE,
	OPT_ADD_FILE,
	OPT_REMOVE_FILE,
	OPT_OUT,
	OPT_TEXT_FROM_SERVER,
};

/* A list of option values; room for every argument. */
typedef struct {
	const char **v;
	size_t n;
} strlist_t;

/* Everything a subcommand may be given. */
typedef struct {
	cli_rpc_opts_t rpc;
	strlist_t ksk, zsk, csk;
	const char *key_token;
	const char *policy;
	bool nsec3, nsec3_params;
	uint32_t iterations;
	uint8_t salt[255];
	size_t salt_len;
	bool opt_out;
	const char *serial;
	uint32_t validity, refresh, jitter, inception, dnskey_ttl;
	bool text;
	bool has_from, has_to;
	uint32_t from, to;
	strlist_t add, remove, add_file, remove_file;
	const char *out;
	bool text_from_server;
	int argc; /* positional arguments left */
	char **argv;
	char what[300]; /* "zone push example.com", for errors */
} zone_args_t;

typedef struct {
	const char *name;
	int (*run)(zone_args_t *a);
	const char *usage;
	const char *help;
	int min_args, max_args; /* positional arguments; max -1: any */
} subcommand_t;

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_salt(const char *s, uint8_t *salt, size_t *len)
{
	size_t n = strlen(s);
	if (strcmp(s, "-") == 0) {
		*len = 0;
		return true;
	}
	if (n % 2 != 0 || n / 2 > 255) {
		return false;
	}
	for (size_t i = 0; i < n; i += 2) {
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1])) {
			return false;
		}
		char b[3] = {s[i], s[i + 1], '\0'};
		salt[i / 2] = (uint8_t)strtoul(b, NULL, 16);
	}
	*len = n / 2;
	return true;
}

/* Reads a whole file into a new NUL-terminated buffer. Prints the error. */
static char *read_file(const char *what, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		cli_error("%s: %s: %s", what, path, strerror(errno));
		return NULL;
	}
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap + 1);
	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap) {
			break;
		}
		char *b = realloc(buf, cap * 2 + 1);
		if (b == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = b;
		cap *= 2;
	}
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (buf == NULL || err != 0) {
		cli_error("%s: %s: %s", what, path, buf == NULL ? "out of memory" : strerror(err));
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		cli_error("%s: %s: a NUL byte in the text: not a zone file", what, path);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void diag(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                 const char *msg)
{
	(void)ctx;
	const char *lv = level == ZONE_DIAG_ERROR ? "error" : "warning";
	if (line > 0) {
		fprintf(stderr, "signer: %s:%lu: %s: %s\n", file, line, lv, msg);
	} else {
		fprintf(stderr, "signer: %s: %s: %s\n", file, lv, msg);
	}
}

static int connect_rpc(zone_args_t *a, unsigned timeout, cli_rpc_t *r)
{
	return cli_rpc_connect(&a->rpc, timeout, a->what, r);
}

/* --- zone status --- */

static const char *role_name(int role)
{
	switch (role) {
	case SIGNER__V1__ZONE_KEY__ROLE__KSK:
		return "KSK";
	case SIGNER__V1__ZONE_KEY__ROLE__ZSK:
		return "ZSK";
	case SIGNER__V1__ZONE_KEY__ROLE__CSK:
		return "CSK";
	default:
		return "?";
	}
}

static void hex(const uint8_t *p, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	}
	buf[2 * n] = '\0';
}

static void json_config(cli_json_t *j, const Signer__V1__ZoneConfig *c)
{
	cli_json_obj(j, "config");
	cli_json_str(j, "name", c->name);
	cli_json_arr(j, "keys");
	for (size_t i = 0; i < c->n_keys; i++) {
		cli_json_obj(j, NULL);
		cli_json_str(j, "key", c->keys[i]->key);
		cli_json_str(j, "token", c->keys[i]->token);
		cli_json_str(j, "role", role_name(c->keys[i]->role));
		cli_json_close(j);
	}
	cli_json_close(j);
	if (c->nsec3 != NULL) {
		char salt[2 * 255 + 1];
		hex(c->nsec3->salt.data, c->nsec3->salt.len < 256 ? c->nsec3->salt.len : 255, salt);
		cli_json_obj(j, "nsec3");
		cli_json_uint(j, "iterations", c->nsec3->iterations);
		cli_json_str(j, "salt", salt);
		cli_json_bool(j, "opt_out", c->nsec3->opt_out);
		cli_json_close(j);
	}
	cli_json_str(j, "serial_policy", c->serial_policy);
	cli_json_uint(j, "validity", c->validity);
	cli_json_uint(j, "refresh", c->refresh);
	cli_json_uint(j, "jitter", c->jitter);
	cli_json_uint(j, "inception_offset", c->inception_offset);
	cli_json_uint(j, "dnskey_ttl", c->dnskey_ttl);
	cli_json_str(j, "policy", c->policy);
	cli_json_close(j);
}

static void json_status(cli_json_t *j, const Signer__V1__ZoneStatus *st)
{
	cli_json_str(j, "zone", st->config != NULL ? st->config->name : "");
	cli_json_bool(j, "published", st->published);
	cli_json_uint(j, "serial", st->serial);
	cli_json_uint(j, "input_serial", st->input_serial);
	cli_json_time(j, "published_at", st->published_at);
	cli_json_time(j, "earliest_expiration", st->earliest_expiration);
	cli_json_time(j, "next_event", st->next_event);
	cli_json_str(j, "last_error", st->last_error);
	cli_json_time(j, "last_error_at", st->last_error_at);
	cli_json_str(j, "alarm", cli_rpc_alarm_name(st->alarm));
	cli_json_uint(j, "records", st->records);
	cli_json_uint(j, "signatures_created", st->signatures_created);
	cli_json_uint(j, "signatures_reused", st->signatures_reused);
	cli_json_uint(j, "journal_entries", st->journal_entries);
	cli_json_uint(j, "journal_first_serial", st->journal_first_serial);
	cli_json_bool(j, "signing", st->signing);
	if (st->config != NULL) {
		json_config(j, st->config);
	}
	if (st->config != NULL && st->config->policy[0] != '\0') {
		cli_json_str(j, "kasp_blocked", st->kasp_blocked);
		cli_json_str(j, "parent_poll", st->parent_poll);
		cli_json_time(j, "kasp_next", st->kasp_next);
		cli_json_arr(j, "key_states");
		for (size_t i = 0; i < st->n_keys; i++) {
			const Signer__V1__KeyState *k = st->keys[i];
			cli_json_obj(j, NULL);
			cli_json_uint(j, "key_tag", k->key_tag);
			cli_json_uint(j, "algorithm", k->algorithm);
			cli_json_str(j, "role", k->role);
			cli_json_str(j, "token", k->token);
			cli_json_str(j, "id", k->id);
			cli_json_bool(j, "goal", k->goal);
			cli_json_str(j, "ds", k->ds);
			cli_json_str(j, "dnskey", k->dnskey);
			cli_json_str(j, "krrsig", k->krrsig);
			cli_json_str(j, "zrrsig", k->zrrsig);
			cli_json_time(j, "created", k->created);
			cli_json_time(j, "published", k->published);
			cli_json_time(j, "ds_seen", k->ds_seen);
			cli_json_time(j, "ds_gone", k->ds_gone);
			cli_json_time(j, "removed", k->removed);
			cli_json_time(j, "purged", k->purged);
			cli_json_close(j);
		}
		cli_json_close(j);
	}
}

/* A duration of the configuration; 0 is the daemon's default. */
static void dur(char *buf, size_t len, uint32_t v, const char *dflt)
{
	if (v == 0) {
		snprintf(buf, len, "default (%s)", dflt);
	} else {
		cli_rpc_duration_str(v, buf, len);
	}
}

static void print_policy_keys(const Signer__V1__ZoneStatus *st);

static void print_status(const Signer__V1__ZoneStatus *st, bool json)
{
	if (json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		json_status(&j, st);
		cli_json_end(&j);
		return;
	}
	const Signer__V1__ZoneConfig *c = st->config;
	char t1[32], t2[32], t3[32];
	printf("zone:                %s\n", c != NULL ? c->name : "?");
	if (st->published) {
		cli_rpc_time_str(st->published_at, t1, sizeof(t1));
		printf("published:           serial %u (input serial %u) at %s\n", st->serial,
		       st->input_serial, t1);
	} else {
		printf("published:           no (waiting for the zone's records: signer zone "
		       "push)\n");
	}
	cli_rpc_time_str(st->earliest_expiration, t1, sizeof(t1));
	cli_rpc_time_str(st->next_event, t2, sizeof(t2));
	printf("earliest expiration: %s\n", t1);
	printf("next event:          %s%s\n", t2, st->signing ? " (signing now)" : "");
	printf("alarm:               %s\n", cli_rpc_alarm_name(st->alarm));
	if (st->last_error[0] != '\0') {
		cli_rpc_time_str(st->last_error_at, t3, sizeof(t3));
		printf("last error:          at %s: %s\n", t3, st->last_error);
	} else {
		printf("last error:          none\n");
	}
	printf("records:             %llu\n", (unsigned long long)st->records);
	printf("signatures:          %llu created, %llu reused (last pass)\n",
	       (unsigned long long)st->signatures_created,
	       (unsigned long long)st->signatures_reused);
	if (st->journal_entries > 0) {
		printf("journal:             %u entries, from serial %u\n", st->journal_entries,
		       st->journal_first_serial);
	} else {
		printf("journal:             empty\n");
	}
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->n_keys; i++) {
		const Signer__V1__ZoneKey *k = c->keys[i];
		printf("%-21s%s %s%s%s\n", i == 0 ? "keys:" : "", role_name(k->role), k->key,
		       k->token[0] ? " in token " : "", k->token);
	}
	printf("serial policy:       %s\n", c->serial_policy[0] ? c->serial_policy : "default");
	if (c->policy[0] != '\0') {
		/* Keys, denial, timing and the DNSKEY TTL: the policy's. */
		print_policy_keys(st);
		return;
	}
	if (c->nsec3 != NULL) {
		char salt[2 * 255 + 1];
		hex(c->nsec3->salt.data, c->nsec3->salt.len < 256 ? c->nsec3->salt.len : 255, salt);
		printf("denial:              NSEC3, %u iterations, salt %s%s\n",
		       c->nsec3->iterations, salt[0] ? salt : "-",
		       c->nsec3->opt_out ? ", opt-out" : "");
	} else {
		printf("denial:              NSEC\n");
	}
	char v[48], r[48], jt[48], io[48];
	dur(v, sizeof(v), c->validity, "14d");
	dur(r, sizeof(r), c->refresh, "5d");
	dur(jt, sizeof(jt), c->jitter, "12h");
	dur(io, sizeof(io), c->inception_offset, "1h");
	printf("validity:            %s\n", v);
	printf("refresh:             %s\n", r);
	printf("jitter:              %s\n", jt);
	printf("inception offset:    %s\n", io);
	if (c->dnskey_ttl != 0) {
		printf("DNSKEY TTL:          %u\n", c->dnskey_ttl);
	} else {
		printf("DNSKEY TTL:          the SOA's TTL\n");
	}
}

/* A policy zone's keys and what its key manager waits for. */
static void print_policy_keys(const Signer__V1__ZoneStatus *st)
{
	char t1[32];
	printf("policy:              %s (keys, denial and timing)\n", st->config->policy);
	size_t shown = 0;
	for (size_t i = 0; i < st->n_keys; i++) {
		const Signer__V1__KeyState *k = st->keys[i];
		if (k->purged != 0) {
			continue;
		}
		printf("%-21s%s %u alg %u %s: DS %s, DNSKEY %s, KRRSIG %s, ZRRSIG %s%s\n",
		       shown++ == 0 ? "key states:" : "", k->role, k->key_tag, k->algorithm,
		       k->goal ? "in" : "out", k->ds, k->dnskey, k->krrsig, k->zrrsig,
		       k->removed ? " (left the key set)" : "");
	}
	cli_rpc_time_str(st->kasp_next, t1, sizeof(t1));
	printf("key manager next:    %s\n", t1);
	printf("rollover waits for:  %s\n", st->kasp_blocked[0] ? st->kasp_blocked : "nothing");
	if (st->parent_poll[0] != '\0') {
		printf("last parent poll:    %s\n", st->parent_poll);
	}
}

/* --- add, remove, list, status --- */

static bool serial_policy_ok(const char *s)
{
	static const char *const ok[] = {"keep", "increment", "unixtime", "datecounter"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strcmp(s, ok[i]) == 0) {
			return true;
		}
	}
	return false;
}

static int run_add(zone_args_t *a)
{
	if (a->policy != NULL &&
	    (a->csk.n > 0 || a->ksk.n > 0 || a->zsk.n > 0 || a->nsec3 || a->validity ||
	     a->refresh || a->jitter || a->inception || a->dnskey_ttl)) {
		cli_error("%s: --policy gives the keys, timing and denial: no --ksk, --zsk, --csk, "
		          "--nsec3 or timing option with it",
		          a->what);
		return CLI_EXIT_USAGE;
	}
	if (a->policy != NULL) {
		/* keys, denial and timing: the policy's */
	} else if (a->csk.n > 0 && (a->ksk.n > 0 || a->zsk.n > 0)) {
		cli_error("%s: give --ksk and --zsk, or --csk, not both", a->what);
		return CLI_EXIT_USAGE;
	}
	if (a->policy == NULL && a->csk.n == 0 && (a->ksk.n == 0 || a->zsk.n == 0)) {
		cli_error("%s: the zone needs keys: --ksk KEY --zsk KEY, or --csk KEY (or --policy "
		          "NAME)",
		          a->what);
		return CLI_EXIT_USAGE;
	}
	if (a->nsec3_params && !a->nsec3) {
		cli_error("%s: --iterations, --salt and --opt-out go with --nsec3", a->what);
		return CLI_EXIT_USAGE;
	}
	if (a->serial != NULL && !serial_policy_ok(a->serial)) {
		cli_error("%s: --serial %s: keep, increment, unixtime or datecounter", a->what,
		          a->serial);
		return CLI_EXIT_USAGE;
	}
	size_t nkeys = a->ksk.n + a->zsk.n + a->csk.n;
	if (nkeys > RPC_FRAME_MAX_ZONE_KEYS) {
		cli_error("%s: at most %d keys", a->what, RPC_FRAME_MAX_ZONE_KEYS);
		return CLI_EXIT_USAGE;
	}
	Signer__V1__ZoneKey *keys = calloc(nkeys, sizeof(*keys));
	Signer__V1__ZoneKey **kp = calloc(nkeys, sizeof(*kp));
	if (keys == NULL || kp == NULL) {
		free(keys);
		free(kp);
		cli_error("%s: out of memory", a->what);
		return CLI_EXIT_FAIL;
	}
	const strlist_t *lists[] = {&a->ksk, &a->zsk, &a->csk};
	const Signer__V1__ZoneKey__Role roles[] = {SIGNER__V1__ZONE_KEY__ROLE__KSK,
	                                           SIGNER__V1__ZONE_KEY__ROLE__ZSK,
	                                           SIGNER__V1__ZONE_KEY__ROLE__CSK};
	size_t n = 0;
	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < lists[l]->n; i++, n++) {
			signer__v1__zone_key__init(&keys[n]);
			keys[n].key = (char *)lists[l]->v[i];
			keys[n].token = (char *)(a->key_token != NULL ? a->key_token : "");
			keys[n].role = roles[l];
			kp[n] = &keys[n];
		}
	}
	Signer__V1__Nsec3 nsec3 = SIGNER__V1__NSEC3__INIT;
	nsec3.iterations = a->iterations;
	nsec3.salt.data = a->salt;
	nsec3.salt.len = a->salt_len;
	nsec3.opt_out = a->opt_out;
	Signer__V1__ZoneConfig zc = SIGNER__V1__ZONE_CONFIG__INIT;
	zc.name = a->argv[0];
	zc.keys = kp;
	zc.n_keys = nkeys;
	zc.nsec3 = a->nsec3 ? &nsec3 : NULL;
	zc.serial_policy = (char *)(a->serial != NULL ? a->serial : "");
	zc.validity = a->validity;
	zc.refresh = a->refresh;
	zc.jitter = a->jitter;
	zc.inception_offset = a->inception;
	zc.dnskey_ttl = a->dnskey_ttl;
	zc.policy = (char *)(a->policy != NULL ? a->policy : "");
	Signer__V1__ZoneAdd add = SIGNER__V1__ZONE_ADD__INIT;
	add.config = &zc;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_ZONE_ADD;
	req.zone_add = &add;

	int ret = CLI_EXIT_FAIL;
	cli_rpc_t r;
	Signer__V1__Response *resp = NULL;
	ret = connect_rpc(a, CLI_RPC_TIMEOUT_CHANGE, &r);
	if (ret != CLI_EXIT_OK) {
		goto done;
	}
	ret = CLI_EXIT_FAIL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		goto done;
	}
	if (resp->body_case == SIGNER__V1__RESPONSE__BODY_ZONE) {
		print_status(resp->zone, a->rpc.json);
	} else if (!a->rpc.json) {
		printf("%s\n", resp->message);
	}
	ret = CLI_EXIT_OK;
done:
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	free(keys);
	free(kp);
	return ret;
}

static int run_remove(zone_args_t *a)
{
	Signer__V1__ZoneRemove rm = SIGNER__V1__ZONE_REMOVE__INIT;
	rm.name = a->argv[0];
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_ZONE_REMOVE;
	req.zone_remove = &rm;
	cli_rpc_t r;
	int ret = connect_rpc(a, CLI_RPC_TIMEOUT_CHANGE, &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (cli_rpc_call(&r, &req, &resp)) {
		if (a->rpc.json) {
			cli_json_t j;
			cli_json_begin(&j, stdout);
			cli_json_str(&j, "zone", a->argv[0]);
			cli_json_bool(&j, "removed", true);
			cli_json_str(&j, "message", resp->message);
			cli_json_end(&j);
		} else {
			printf("%s\n", resp->message);
		}
	} else {
		ret = CLI_EXIT_FAIL;
	}
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return ret;
}

/* First line of s, at most len - 1 bytes, into buf. */
static const char *first_line(const char *s, char *buf, size_t len)
{
	size_t n = strcspn(s, "\n");
	snprintf(buf, len, "%.*s%s", (int)n, s, s[n] ? " ..." : "");
	return buf;
}

static int run_list(zone_args_t *a)
{
	Signer__V1__ZoneList zl = SIGNER__V1__ZONE_LIST__INIT;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_ZONE_LIST;
	req.zone_list = &zl;
	cli_rpc_t r;
	int ret = connect_rpc(a, CLI_RPC_TIMEOUT_QUERY, &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		cli_rpc_close(&r);
		return CLI_EXIT_FAIL;
	}
	size_t n = resp->body_case == SIGNER__V1__RESPONSE__BODY_ZONES ? resp->zones->n_zones : 0;
	Signer__V1__ZoneStatus **zs = n > 0 ? resp->zones->zones : NULL;
	if (a->rpc.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_arr(&j, "zones");
		for (size_t i = 0; i < n; i++) {
			cli_json_obj(&j, NULL);
			json_status(&j, zs[i]);
			cli_json_close(&j);
		}
		cli_json_end(&j);
	} else {
		int w = 4;
		for (size_t i = 0; i < n; i++) {
			int l = zs[i]->config != NULL ? (int)strlen(zs[i]->config->name) : 1;
			w = l > w ? l : w;
		}
		printf("%-*s  %-10s  %-20s  %-20s  %-20s  %-8s  %s\n", w, "ZONE", "SERIAL",
		       "PUBLISHED AT", "EARLIEST EXPIRATION", "NEXT EVENT", "ALARM", "LAST ERROR");
		for (size_t i = 0; i < n; i++) {
			const Signer__V1__ZoneStatus *st = zs[i];
			char serial[16], t1[32], t2[32], t3[32], err[160];
			snprintf(serial, sizeof(serial), "%u", st->serial);
			cli_rpc_time_str(st->published_at, t1, sizeof(t1));
			cli_rpc_time_str(st->earliest_expiration, t2, sizeof(t2));
			cli_rpc_time_str(st->next_event, t3, sizeof(t3));
			printf("%-*s  %-10s  %-20s  %-20s  %-20s  %-8s  %s\n", w,
			       st->config != NULL ? st->config->name : "?",
			       st->published ? serial : "-", t1, t2, t3,
			       cli_rpc_alarm_name(st->alarm),
			       st->last_error[0] ? first_line(st->last_error, err, sizeof(err))
			                         : "-");
		}
	}
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return CLI_EXIT_OK;
}

static int run_status(zone_args_t *a)
{
	Signer__V1__ZoneStatusRequest zs = SIGNER__V1__ZONE_STATUS_REQUEST__INIT;
	zs.name = a->argv[0];
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_ZONE_STATUS;
	req.zone_status = &zs;
	cli_rpc_t r;
	int ret = connect_rpc(a, CLI_RPC_TIMEOUT_QUERY, &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		ret = CLI_EXIT_FAIL;
	} else if (resp->body_case != SIGNER__V1__RESPONSE__BODY_ZONE) {
		cli_error("%s: signerd sent no zone status", a->what);
		ret = CLI_EXIT_FAIL;
	} else {
		print_status(resp->zone, a->rpc.json);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return ret;
}

/* --- push and update --- */

/* Reads the answer to a push or an update (stream id) and prints it. */
static int change_result(zone_args_t *a, cli_rpc_t *r, uint64_t id)
{
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_recv(r, id, &resp)) {
		return CLI_EXIT_FAIL;
	}
	int ret = CLI_EXIT_OK;
	if (resp->status != SIGNER__V1__STATUS__OK) {
		cli_rpc_status_error(r, resp);
		ret = CLI_EXIT_FAIL;
	} else if (resp->body_case != SIGNER__V1__RESPONSE__BODY_UPDATE) {
		cli_error("%s: signerd sent no result: %s", a->what, resp->message);
		ret = CLI_EXIT_FAIL;
	} else if (a->rpc.json) {
		const Signer__V1__UpdateResult *u = resp->update;
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "zone", a->argv[0]);
		cli_json_uint(&j, "serial", u->serial);
		cli_json_uint(&j, "input_serial", u->input_serial);
		cli_json_uint(&j, "signatures_created", u->signatures_created);
		cli_json_uint(&j, "signatures_reused", u->signatures_reused);
		cli_json_bool(&j, "coalesced", u->coalesced);
		cli_json_str(&j, "message", resp->message);
		cli_json_end(&j);
	} else {
		const Signer__V1__UpdateResult *u = resp->update;
		printf("zone %s: published serial %u (%llu signatures made, %llu reused)%s\n",
		       a->argv[0], u->serial, (unsigned long long)u->signatures_created,
		       (unsigned long long)u->signatures_reused,
		       u->coalesced ? ", together with other changes" : "");
		/* "published serial N; warnings" */
		const char *w = strchr(resp->message, ';');
		if (w != NULL) {
			w++;
			w += strspn(w, " ");
			fprintf(stderr, "signer: %s: warning: %s\n", a->what, w);
		}
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return ret;
}

typedef struct {
	cli_rpc_t *r;
	uint64_t id;
	Signer__V1__Record recs[PUSH_CHUNK];
	Signer__V1__Record *ptrs[PUSH_CHUNK];
	size_t n;
	uint64_t sent;
	bool failed;
} push_t;

static bool push_flush(push_t *p)
{
	if (p->n == 0 || p->failed) {
		return !p->failed;
	}
	Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
	ch.records = p->ptrs;
	ch.n_records = p->n;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.id = p->id;
	req.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
	req.chunk = &ch;
	p->sent += p->n;
	p->n = 0;
	p->failed = !cli_rpc_send_stream(p->r, &req);
	return !p->failed;
}

static bool push_rrset(push_t *p, const uint8_t *owner, const zone_rrset_t *rrset)
{
	size_t pos = 0;
	zone_rdata_t rd;
	while (rrset != NULL && zone_rrset_next(rrset, &pos, &rd)) {
		Signer__V1__Record *rec = &p->recs[p->n];
		signer__v1__record__init(rec);
		rec->owner.data = (uint8_t *)owner;
		rec->owner.len = dname_length(owner);
		rec->type = rrset->type;
		rec->ttl = rrset->ttl;
		rec->rdata.data = (uint8_t *)rd.data;
		rec->rdata.len = rd.len;
		p->ptrs[p->n++] = rec;
		if (p->n == PUSH_CHUNK && !push_flush(p)) {
			return false;
		}
	}
	return true;
}

static bool push_node(push_t *p, const zone_node_t *node)
{
	for (size_t s = 0; s < node->nslots; s++) {
		if (!push_rrset(p, node->owner, node->slots[s].data) ||
		    !push_rrset(p, node->owner, node->slots[s].sigs)) {
			return false;
		}
	}
	return true;
}

static bool send_end(cli_rpc_t *r, uint64_t id)
{
	Signer__V1__StreamEnd end = SIGNER__V1__STREAM_END__INIT;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.id = id;
	req.op_case = SIGNER__V1__REQUEST__OP_END;
	req.end = &end;
	return cli_rpc_send_stream(r, &req);
}

/* Sends text (len bytes, NUL-terminated buffer) as text chunks of a push
 * (field 0) or as removed_text (1) or added_text (2) of an update. The
 * buffer is changed during the call and restored. */
static bool send_text(cli_rpc_t *r, uint64_t id, char *text, size_t len, int field)
{
	size_t off = 0;
	while (off < len) {
		size_t n = cli_rpc_text_chunk(text + off, len - off, CLI_RPC_TEXT_CHUNK);
		char save = text[off + n];
		text[off + n] = '\0';
		Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
		if (field == 0) {
			ch.text = text + off;
		} else if (field == 1) {
			ch.removed_text = text + off;
		} else {
			ch.added_text = text + off;
		}
		Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
		req.id = id;
		req.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
		req.chunk = &ch;
		bool ok = cli_rpc_send_stream(r, &req);
		text[off + n] = save;
		if (!ok) {
			return false;
		}
		off += n;
	}
	return true;
}

static int run_push(zone_args_t *a)
{
	const char *zone = a->argv[0], *path = a->argv[1];
	uint8_t apex[DNAME_MAXLEN];
	int st = dname_from_str(zone, NULL, apex, sizeof(apex), NULL);
	if (st != ZONE_OK) {
		cli_error("%s: bad zone name: %s", a->what, zone_strerror(st));
		return CLI_EXIT_USAGE;
	}
	dname_to_lower(apex);
	zone_t *z = NULL;
	char *text = NULL;
	size_t text_len = 0;
	if (a->text) {
		text = read_file(a->what, path, &text_len);
		if (text == NULL) {
			return CLI_EXIT_FAIL;
		}
	} else {
		/* Load first: a bad zone fails before anything is sent. */
		st = zone_load(path, apex, 3600, diag, NULL, &z);
		if (st != ZONE_OK) {
			cli_error("%s: %s: %s; nothing sent", a->what, path, zone_strerror(st));
			return CLI_EXIT_FAIL;
		}
	}
	cli_rpc_t r;
	push_t *p = NULL;
	int ret = connect_rpc(a, CLI_RPC_TIMEOUT_CHANGE, &r);
	if (ret != CLI_EXIT_OK) {
		goto done;
	}
	ret = CLI_EXIT_FAIL;
	uint64_t id = cli_rpc_id(&r);
	Signer__V1__PushBegin pb = SIGNER__V1__PUSH_BEGIN__INIT;
	pb.zone = (char *)zone;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.id = id;
	req.op_case = SIGNER__V1__REQUEST__OP_PUSH_BEGIN;
	req.push_begin = &pb;
	if (!cli_rpc_send_stream(&r, &req)) {
		goto done;
	}
	if (a->text) {
		if (!send_text(&r, id, text, text_len, 0)) {
			goto done;
		}
	} else {
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			cli_error("%s: out of memory", a->what);
			goto done;
		}
		p->r = &r;
		p->id = id;
		bool ok = true;
		for (size_t i = 0; ok && i < z->count; i++) {
			ok = push_node(p, zone_entry(z, i)->node);
		}
		for (size_t i = 0; ok && i < z->nsec3_count; i++) {
			ok = push_node(p, zone_nsec3_node(z, i));
		}
		if (!ok || !push_flush(p)) {
			goto done;
		}
	}
	if (!send_end(&r, id)) {
		goto done;
	}
	ret = change_result(a, &r, id);
done:
	free(p);
	cli_rpc_close(&r);
	free(text);
	zone_free(z);
	return ret;
}

/* Appends s and a newline (unless s ends with one) to *buf. */
static bool append(char **buf, size_t *len, const char *s, size_t n)
{
	char *b = realloc(*buf, *len + n + 2);
	if (b == NULL) {
		return false;
	}
	memcpy(b + *len, s, n);
	*len += n;
	if (n > 0 && s[n - 1] != '\n') {
		b[(*len)++] = '\n';
	}
	b[*len] = '\0';
	*buf = b;
	return true;
}

/* The records of --add/--remove and --add-file/--remove-file as one text. */
static bool gather(zone_args_t *a, const strlist_t *lines, const strlist_t *files, char **out,
                   size_t *outlen)
{
	char *buf = NULL;
	size_t len = 0;
	for (size_t i = 0; i < lines->n; i++) {
		if (!append(&buf, &len, lines->v[i], strlen(lines->v[i]))) {
			goto nomem;
		}
	}
	for (size_t i = 0; i < files->n; i++) {
		size_t n = 0;
		char *t = read_file(a->what, files->v[i], &n);
		if (t == NULL) {
			free(buf);
			return false;
		}
		bool ok = append(&buf, &len, t, n);
		free(t);
		if (!ok) {
			goto nomem;
		}
	}
	*out = buf;
	*outlen = len;
	return true;
nomem:
	free(buf);
	cli_error("%s: out of memory", a->what);
	return false;
}

static int run_update(zone_args_t *a)
{
	if (!a->has_from || !a->has_to) {
		cli_error("%s: needs --from-serial N and --to-serial M", a->what);
		return CLI_EXIT_USAGE;
	}
	char *removed = NULL, *added = NULL;
	size_t rlen = 0, alen = 0;
	if (!gather(a, &a->remove, &a->remove_file, &removed, &rlen) ||
	    !gather(a, &a->add, &a->add_file, &added, &alen)) {
		free(removed);
		return CLI_EXIT_FAIL;
	}
	cli_rpc_t r;
	int ret = connect_rpc(a, CLI_RPC_TIMEOUT_CHANGE, &r);
	if (ret != CLI_EXIT_OK) {
		goto done;
	}
	ret = CLI_EXIT_FAIL;
	uint64_t id = cli_rpc_id(&r);
	Signer__V1__UpdateBegin ub = SIGNER__V1__UPDATE_BEGIN__INIT;
	ub.zone = a->argv[0];
	ub.from_serial = a->from;
	ub.to_serial = a->to;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.id = id;
	req.op_case = SIGNER__V1__REQUEST__OP_UPDATE_BEGIN;
	req.update_begin = &ub;
	if (!cli_rpc_send_stream(&r, &req)) {
		goto done;
	}
	if (rlen + alen <= CLI_RPC_TEXT_CHUNK && rlen + alen > 0) {
		/* The usual small change: one chunk with both halves. */
		Signer__V1__RecordChunk ch = SIGNER__V1__RECORD_CHUNK__INIT;
		ch.removed_text = removed != NULL ? removed : "";
		ch.added_text = added != NULL ? added : "";
		req.op_case = SIGNER__V1__REQUEST__OP_CHUNK;
		req.chunk = &ch;
		if (!cli_rpc_send_stream(&r, &req)) {
			goto done;
		}
	} else if ((rlen > 0 && !send_text(&r, id, removed, rlen, 1)) ||
	           (alen > 0 && !send_text(&r, id, added, alen, 2))) {
		goto done;
	}
	if (!send_end(&r, id)) {
		goto done;
	}
	ret = change_result(a, &r, id);
done:
	cli_rpc_close(&r);
	free(removed);
	free(added);
	return ret;
}

/* --- pull --- */

typedef struct {
	zone_args_t *a;
	FILE *f;
	char *tmp; /* --out: the temporary file, renamed at the end */
	char *rr;  /* RR_TEXT_MAX bytes for one record */
	char *js;  /* --json: RR_TEXT_MAX bytes to cut a line into fields */
	bool delta;
	uint32_t from, to; /* the delta being written */
	bool header;       /* its ";; delta" line is out */
	uint64_t records;
} pull_t;

/* One record line (len bytes, without the newline); op is '-', '+' or 0. */
static void pull_line(pull_t *p, char op, const char *line, size_t len)
{
	p->records++;
	if (!p->a->rpc.json) {
		if (op != 0) {
			fputc(op, p->f);
		}
		fwrite(line, 1, len, p->f);
		fputc('\n', p->f);
		return;
	}
	/* owner TTL class type RDATA, separated by tabs or spaces. */
	char *buf = p->js;
	if (len >= RR_TEXT_MAX) {
		len = RR_TEXT_MAX - 1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	char *field[4] = {"", "", "", ""};
	char *s = buf;
	for (int i = 0; i < 4; i++) {
		s += strspn(s, " \t");
		field[i] = s;
		s += strcspn(s, " \t");
		if (*s != '\0') {
			*s++ = '\0';
		}
	}
	s += strspn(s, " \t");
	cli_json_t j;
	cli_json_begin(&j, p->f);
	if (p->delta) {
		cli_json_str(&j, "op", op == '-' ? "remove" : "add");
		cli_json_uint(&j, "from_serial", p->from);
		cli_json_uint(&j, "to_serial", p->to);
	}
	cli_json_str(&j, "owner", field[0]);
	cli_json_uint(&j, "ttl", strtoul(field[1], NULL, 10));
	cli_json_str(&j, "class", field[2]);
	cli_json_str(&j, "type", field[3]);
	cli_json_str(&j, "rdata", s);
	cli_json_end(&j);
}

/* Each line of text, prefixed by op. */
static void pull_text(pull_t *p, char op, const char *text)
{
	while (*text != '\0') {
		size_t n = strcspn(text, "\n");
		if (n > 0) {
			pull_line(p, op, text, n);
		}
		text += n + (text[n] == '\n');
	}
}

static bool pull_records(pull_t *p, char op, Signer__V1__Record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Signer__V1__Record *rec = recs[i];
		size_t len = 0;
		int st = ZONE_ERR_SYNTAX;
		if (rec->owner.len > 0 && rec->owner.len <= DNAME_MAXLEN &&
		    dname_length(rec->owner.data) == rec->owner.len && rec->type <= 0xffff) {
			st = zone_write_rr_str(rec->owner.data, (uint16_t)rec->type, rec->ttl,
			                       rec->rdata.data, rec->rdata.len, p->rr, RR_TEXT_MAX,
			                       &len);
		}
		if (st != ZONE_OK) {
			cli_error("%s: a record from signerd cannot be written: %s", p->a->what,
			          zone_strerror(st));
			return false;
		}
		pull_line(p, op, p->rr, len > 0 && p->rr[len - 1] == '\n' ? len - 1 : len);
	}
	return true;
}

static bool pull_chunk(pull_t *p, const Signer__V1__RecordChunk *ch)
{
	if (!p->delta) {
		pull_text(p, 0, ch->text);
		return pull_records(p, 0, ch->records, ch->n_records);
	}
	if (!p->header || ch->from_serial != p->from || ch->to_serial != p->to) {
		p->from = ch->from_serial;
		p->to = ch->to_serial;
		p->header = true;
		if (!p->a->rpc.json) {
			fprintf(p->f, ";; delta %u -> %u\n", p->from, p->to);
		}
	}
	pull_text(p, '-', ch->removed_text);
	if (!pull_records(p, '-', ch->removed, ch->n_removed)) {
		return false;
	}
	pull_text(p, '+', ch->added_text);
	return pull_records(p, '+', ch->added, ch->n_added);
}

/* Opens --out as a temporary file next to it, or stdout. */
static bool pull_open(pull_t *p)
{
	if (p->a->out == NULL || strcmp(p->a->out, "-") == 0) {
		p->f = stdout;
		return true;
	}
	size_t n = strlen(p->a->out) + 16;
	p->tmp = malloc(n);
	if (p->tmp == NULL) {
		cli_error("%s: out of memory", p->a->what);
		return false;
	}
	snprintf(p->tmp, n, "%s.tmpXXXXXX", p->a->out);
	int fd = mkstemp(p->tmp);
	if (fd < 0) {
		cli_error("%s: %s: %s", p->a->what, p->tmp, strerror(errno));
		free(p->tmp);
		p->tmp = NULL;
		return false;
	}
	/* Zone files are public: the mode a new zone_write_file() file gets. */
	if (fchmod(fd, 0644) != 0 || (p->f = fdopen(fd, "w")) == NULL) {
		cli_error("%s: %s: %s", p->a->what, p->tmp, strerror(errno));
		close(fd);
		unlink(p->tmp);
		free(p->tmp);
		p->tmp = NULL;
		return false;
	}
	return true;
}

/* Finishes the output: flushes stdout, or syncs and renames the temporary
 * file into place (ok) or removes it. */
static bool pull_close(pull_t *p, bool ok)
{
	if (p->f == NULL) {
		return ok;
	}
	if (p->tmp == NULL) {
		if (fflush(p->f) != 0 && ok) {
			if (errno != EPIPE) {
				cli_error("%s: writing: %s", p->a->what, strerror(errno));
			}
			ok = false;
		}
		return ok;
	}
	if (ok && (fflush(p->f) != 0 || fsync(fileno(p->f)) != 0)) {
		cli_error("%s: %s: %s", p->a->what, p->tmp, strerror(errno));
		ok = false;
	}
	if (fclose(p->f) != 0 && ok) {
		cli_error("%s: %s: %s", p->a->what, p->tmp, strerror(errno));
		ok = false;
	}
	if (ok && rename(p->tmp, p->a->out) != 0) {
		cli_error("%s: %s: %s", p->a->what, p->a->out, strerror(errno));
		ok = false;
	}
	if (!ok) {
		unlink(p->tmp);
	}
	free(p->tmp);
	return ok;
}

static int run_pull(zone_args_t *a)
{
	Signer__V1__FetchZone fz = SIGNER__V1__FETCH_ZONE__INIT;
	fz.zone = a->argv[0];
	fz.has_from_serial = a->has_from;
	fz.from_serial = a->from;
	fz.format = a->text_from_server ? SIGNER__V1__FETCH_ZONE__FORMAT__TEXT
	                                : SIGNER__V1__FETCH_ZONE__FORMAT__WIRE;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_FETCH;
	req.fetch = &fz;
	pull_t p = {.a = a, .delta = a->has_from};
	p.rr = malloc(RR_TEXT_MAX);
	p.js = a->rpc.json ? malloc(RR_TEXT_MAX) : NULL;
	cli_rpc_t r = {0};
	int ret = CLI_EXIT_FAIL;
	Signer__V1__Response *resp = NULL;
	if (p.rr == NULL || (a->rpc.json && p.js == NULL)) {
		cli_error("%s: out of memory", a->what);
		goto done;
	}
	ret = connect_rpc(a, CLI_RPC_TIMEOUT_QUERY, &r);
	if (ret != CLI_EXIT_OK) {
		goto done;
	}
	ret = CLI_EXIT_FAIL;
	bool ok = false;
	/* NOT_FOUND for a delta: the journal does not reach back; the message
	 * says to fetch the whole zone. */
	if (!cli_rpc_call(&r, &req, &resp)) {
		goto done;
	}
	if (resp->body_case != SIGNER__V1__RESPONSE__BODY_FETCH_HEADER || !resp->more) {
		cli_error("%s: signerd sent no fetch header: %s", a->what, resp->message);
		goto done;
	}
	uint32_t serial = resp->fetch_header->serial;
	if (!pull_open(&p)) {
		goto done;
	}
	ok = true;
	while (ok && resp->more) {
		signer__v1__response__free_unpacked(resp, NULL);
		resp = NULL;
		if (!cli_rpc_recv(&r, req.id, &resp)) {
			ok = false;
		} else if (resp->status != SIGNER__V1__STATUS__OK) {
			cli_rpc_status_error(&r, resp);
			ok = false;
		} else if (resp->body_case == SIGNER__V1__RESPONSE__BODY_CHUNK) {
			ok = pull_chunk(&p, resp->chunk);
		}
		if (ok && ferror(p.f)) {
			/* A reader that stopped early (| head) is not worth a message. */
			if (errno != EPIPE || p.tmp != NULL) {
				cli_error("%s: writing: %s", a->what, strerror(errno));
			}
			ok = false;
		}
	}
	ok = pull_close(&p, ok);
	if (ok) {
		ret = CLI_EXIT_OK;
		if (p.delta && p.records == 0 && !a->rpc.json) {
			fprintf(stderr, "signer: %s: serial %u is current: no change\n", a->what,
			        serial);
		}
	}
done:
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	free(p.rr);
	free(p.js);
	return ret;
}

/* --- watch --- */

static int run_watch(zone_args_t *a)
{
	Signer__V1__Subscribe sub = SIGNER__V1__SUBSCRIBE__INIT;
	sub.zones = a->argv;
	sub.n_zones = (size_t)a->argc;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_SUBSCRIBE;
	req.subscribe = &sub;
	cli_rpc_t r;
	/* Events may be hours apart: no time limit unless --timeout. */
	int ret = connect_rpc(a, 0, &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		cli_rpc_close(&r);
		return CLI_EXIT_FAIL;
	}
	fprintf(stderr, "signer: %s: subscribed\n", a->what);
	ret = CLI_EXIT_OK;
	while (resp->more) {
		signer__v1__response__free_unpacked(resp, NULL);
		resp = NULL;
		if (!cli_rpc_recv(&r, req.id, &resp)) {
			ret = CLI_EXIT_FAIL;
			break;
		}
		if (resp->status != SIGNER__V1__STATUS__OK) {
			cli_rpc_status_error(&r, resp);
			ret = CLI_EXIT_FAIL;
			break;
		}
		if (resp->body_case != SIGNER__V1__RESPONSE__BODY_PUBLISHED) {
			continue;
		}
		const Signer__V1__Published *ev = resp->published;
		if (a->rpc.json) {
			cli_json_t j;
			cli_json_begin(&j, stdout);
			cli_json_str(&j, "zone", ev->zone);
			cli_json_uint(&j, "serial", ev->serial);
			cli_json_uint(&j, "previous_serial", ev->previous_serial);
			cli_json_time(&j, "published_at", ev->published_at);
			cli_json_end(&j);
		} else {
			char t[32];
			cli_rpc_time_str(ev->published_at, t, sizeof(t));
			printf("%s published serial %u (previous %u) at %s\n", ev->zone, ev->serial,
			       ev->previous_serial, t);
			fflush(stdout);
		}
	}
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return ret;
}

/* --- dispatch --- */

static const subcommand_t subcommands[] = {
        {"add", run_add,
         "signer zone add ZONE --policy NAME\n"
         "       signer zone add ZONE (--ksk KEY --zsk KEY | --csk KEY) [--key-token TOKEN]\n"
         "           [--nsec3 [--iterations N] [--salt HEX] [--opt-out]]\n"
         "           [--serial keep|increment|unixtime|datecounter] [--validity D]\n"
         "           [--refresh D] [--jitter D] [--inception-offset D] [--dnskey-ttl D]",
         "Adds a zone to signerd and prints its status. KEY is a CKA_ID (hex), label or\n"
         "PKCS#11 URI in the token named by --key-token (default: the first token);\n"
         "--ksk, --zsk and --csk may be repeated. Durations take s m h d w suffixes;\n"
         "unset ones take signerd's defaults (validity 14d, refresh 5d, jitter 12h,\n"
         "inception offset 1h, DNSKEY TTL: the SOA's; serial policy increment).\n"
         "With --policy (a policy of signer.yaml, or \"default\"), signerd generates the\n"
         "keys in the token and rolls them; timing and denial are the policy's\n"
         "(--serial may still be given).\n",
         1, 1},
        {"remove", run_remove, "signer zone remove ZONE",
         "Removes a zone from signerd (its published files stay).\n", 1, 1},
        {"list", run_list, "signer zone list",
         "Lists the zones: serial, publication time, earliest signature expiration, next\n"
         "re-signing, alarm and last error (times in UTC).\n",
         0, 0},
        {"status", run_status, "signer zone status ZONE",
         "Prints everything signerd knows about a zone.\n", 1, 1},
        {"push", run_push, "signer zone push ZONE FILE [--text]",
         "Replaces the zone's records with FILE's and waits until the zone is signed and\n"
         "published. FILE is read here first (errors name file:line; nothing is sent);\n"
         "--text sends FILE's text as it is, for signerd to read ($INCLUDE refused).\n",
         2, 2},
        {"update", run_update,
         "signer zone update ZONE --from-serial N --to-serial M [--add RR]... [--remove RR]...\n"
         "           [--add-file FILE]... [--remove-file FILE]...",
         "Changes some records (as an IXFR would) and waits until the change is signed\n"
         "and published. The zone's input must be at serial N; M is the new input serial.\n"
         "RR is a record in zone file form ('www 300 IN A 192.0.2.1'; relative names are\n"
         "in the zone).\n",
         1, 1},
        {"pull", run_pull,
         "signer zone pull ZONE [--from-serial N] [--out FILE] [--text-from-server]",
         "Writes the signed zone as a zone file to stdout, or atomically to FILE. With\n"
         "--from-serial, writes the changes since serial N instead: for each change a line\n"
         "';; delta FROM -> TO', then '-' and the removed records, '+' and the added ones.\n"
         "--text-from-server lets signerd write the records (default: written here).\n",
         1, 1},
        {"watch", run_watch, "signer zone watch [ZONE...]",
         "Prints a line each time one of the zones (default: all) publishes a serial,\n"
         "until interrupted.\n",
         0, -1},
};

static const cli_group_t group = CLI_GROUP("zone", subcommands, subcommand_t, CLI_RPC_HELP);

void cli_zone_usage(FILE *fp)
{
	cli_group_usage(&group, fp);
}

int cli_zone_main(int argc, char **argv)
{
	size_t index = 0;
	int exit_code = CLI_EXIT_OK;
	if (!cli_group_find(&group, argc, argv, &index, &exit_code)) {
		return exit_code;
	}
	const subcommand_t *sub = &subcommands[index];
	static const struct option longopts[] = {
	        {"ksk", required_argument, NULL, OPT_KSK},
	        {"zsk", required_argument, NULL, OPT_ZSK},
	        {"csk", required_argument, NULL, OPT_CSK},
	        {"key-token", required_argument, NULL, OPT_KEY_TOKEN},
	        {"policy", required_argument, NULL, OPT_POLICY},
	        {"nsec3", no_argument, NULL, OPT_NSEC3},
	        {"iterations", required_argument, NULL, OPT_ITERATIONS},
	        {"salt", required_argument, NULL, OPT_SALT},
	        {"opt-out", no_argument, NULL, OPT_OPT_OUT},
	        {"serial", required_argument, NULL, OPT_SERIAL},
	        {"validity", required_argument, NULL, OPT_VALIDITY},
	        {"refresh", required_argument, NULL, OPT_REFRESH},
	        {"jitter", required_argument, NULL, OPT_JITTER},
	        {"inception-offset", required_argument, NULL, OPT_INCEPTION},
	        {"dnskey-ttl", required_argument, NULL, OPT_DNSKEY_TTL},
	        {"text", no_argument, NULL, OPT_TEXT},
	        {"from-serial", required_argument, NULL, OPT_FROM_SERIAL},
	        {"to-serial", required_argument, NULL, OPT_TO_SERIAL},
	        {"add", required_argument, NULL, OPT_ADD},
	        {"remove", required_argument, NULL, OPT_REMOVE},
	        {"add-file", required_argument, NULL, OPT_ADD_FILE},
	        {"remove-file", required_argument, NULL, OPT_REMOVE_FILE},
	        {"out", required_argument, NULL, OPT_OUT},
	        {"text-from-server", no_argument, NULL, OPT_TEXT_FROM_SERVER},
	        CLI_RPC_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	zone_args_t a;
	memset(&a, 0, sizeof(a));
	/* Every list has room for every argument. */
	const char **room = calloc((size_t)argc * 7 + 7, sizeof(*room));
	if (room == NULL) {
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	strlist_t *lists[] = {&a.ksk,    &a.zsk,      &a.csk,        &a.add,
	                      &a.remove, &a.add_file, &a.remove_file};
	for (size_t i = 0; i < 7; i++) {
		lists[i]->v = room + i * ((size_t)argc + 1);
	}
	int ret = CLI_EXIT_USAGE;
	int opt;
	optind = 1;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		bool ok = true;
		strlist_t *l = NULL;
		switch (opt) {
		case 'h':
			printf("usage: %s\n%scommon options:\n%s", sub->usage, sub->help,
			       CLI_RPC_HELP);
			ret = CLI_EXIT_OK;
			goto done;
		case OPT_KSK:
			l = &a.ksk;
			break;
		case OPT_ZSK:
			l = &a.zsk;
			break;
		case OPT_CSK:
			l = &a.csk;
			break;
		case OPT_ADD:
			l = &a.add;
			break;
		case OPT_REMOVE:
			l = &a.remove;
			break;
		case OPT_ADD_FILE:
			l = &a.add_file;
			break;
		case OPT_REMOVE_FILE:
			l = &a.remove_file;
			break;
		case OPT_POLICY:
			a.policy = optarg;
			break;
		case OPT_KEY_TOKEN:
			a.key_token = optarg;
			break;
		case OPT_NSEC3:
			a.nsec3 = true;
			break;
		case OPT_ITERATIONS:
			ok = parse_u32(optarg, 65535, &a.iterations);
			a.nsec3_params = true;
			break;
		case OPT_SALT:
			ok = parse_salt(optarg, a.salt, &a.salt_len);
			a.nsec3_params = true;
			break;
		case OPT_OPT_OUT:
			a.opt_out = true;
			a.nsec3_params = true;
			break;
		case OPT_SERIAL:
			a.serial = optarg;
			break;
		case OPT_VALIDITY:
			ok = cli_rpc_parse_duration(optarg, &a.validity);
			break;
		case OPT_REFRESH:
			ok = cli_rpc_parse_duration(optarg, &a.refresh);
			break;
		case OPT_JITTER:
			ok = cli_rpc_parse_duration(optarg, &a.jitter);
			break;
		case OPT_INCEPTION:
			ok = cli_rpc_parse_duration(optarg, &a.inception);
			break;
		case OPT_DNSKEY_TTL:
			ok = cli_rpc_parse_duration(optarg, &a.dnskey_ttl);
			break;
		case OPT_TEXT:
			a.text = true;
			break;
		case OPT_FROM_SERIAL:
			ok = parse_u32(optarg, UINT32_MAX, &a.from);
			a.has_from = true;
			break;
		case OPT_TO_SERIAL:
			ok = parse_u32(optarg, UINT32_MAX, &a.to);
			a.has_to = true;
			break;
		case OPT_OUT:
			a.out = optarg;
			break;
		case OPT_TEXT_FROM_SERVER:
			a.text_from_server = true;
			break;
		default:
			if (!cli_rpc_option(&a.rpc, opt, optarg, &ok)) {
				ok = false;
			}
			break;
		}
		if (l != NULL) {
			l->v[l->n++] = optarg;
		}
		if (!ok) {
			if (opt == '?' || optarg == NULL) {
				fprintf(stderr, "usage: %s\n", sub->usage);
			} else {
				cli_error("bad value '%s' for an option of zone %s", optarg,
				          sub->name);
			}
			goto done;
		}
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	if (a.argc < sub->min_args || (sub->max_args >= 0 && a.argc > sub->max_args)) {
		cli_error("zone %s takes %s%d argument%s (usage: %s)", sub->name,
		          sub->max_args < 0 ? "at least " : "", sub->min_args,
		          sub->min_args == 1 ? "" : "s", sub->usage);
		goto done;
	}
	snprintf(a.what, sizeof(a.what), "zone %s%s%.256s", sub->name, a.argc > 0 ? " " : "",
	         a.argc > 0 ? a.argv[0] : "");
	ret = sub->run(&a);
done:
	free(room);
	return ret;
}
