#include "signer/cli/cli_hsm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_import.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_keyfile.h"
#include "hsm/hsm_sign.h"
#include "hsm/hsm_verify.h"
#include "signer/cli/cli_common.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"

enum {
	OPT_ALG = CLI_OPT_FIRST_FREE,
	OPT_BITS,
	OPT_LABEL,
	OPT_ZONE,
	OPT_FLAGS,
	OPT_TTL,
	OPT_FORCE,
	OPT_THREADS,
	OPT_SECONDS,
	OPT_KEY,
	OPT_IMPORT_MODE,
	OPT_SIZE,
};

/* Everything a subcommand may be given. */
typedef struct {
	cli_opts_t common;
	const char *alg;
	unsigned bits;
	const char *label;
	const char *zone;
	unsigned flags;
	unsigned ttl;
	bool force;
	unsigned threads;
	double seconds;
	const char *key;
	const char *token_name;
	const char *import_mode;
	unsigned size;
	int argc; /* positional arguments left */
	char **argv;
} hsm_args_t;

typedef struct {
	const char *name;
	int (*run)(hsm_args_t *a, hsm_ctx_t *ctx);
	const char *usage;
	const char *help;
	int positional; /* exact number of positional arguments */
} subcommand_t;

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || v > max) {
		return false;
	}
	*out = (unsigned)v;
	return true;
}

/* Token for a new key: --token-name, else the only token. */
static hsm_token_t *pick_token(hsm_ctx_t *ctx, const char *name)
{
	if (name != NULL) {
		hsm_token_t *t = hsm_ctx_token(ctx, name);
		if (t == NULL) {
			cli_error("no token named %s in the configuration", name);
		}
		return t;
	}
	if (hsm_ctx_count(ctx) != 1) {
		cli_error("several tokens are configured: choose one with --in NAME");
		return NULL;
	}
	return hsm_ctx_token_at(ctx, 0);
}

static const hsm_alg_t *pick_alg(const char *name)
{
	const hsm_alg_t *alg = hsm_alg_by_name(name);
	if (alg == NULL) {
		size_t n = 0;
		const hsm_alg_t *all = hsm_alg_all(&n);
		char list[256] = "";
		for (size_t i = 0; i < n; i++) {
			strncat(list, " ", sizeof(list) - strlen(list) - 1);
			strncat(list, all[i].name, sizeof(list) - strlen(list) - 1);
		}
		cli_error("unsupported algorithm %s (supported:%s)", name, list);
	}
	return alg;
}

static const char *keytype_name(const hsm_key_t *k)
{
	switch (k->keytype) {
	case HSM_KEYTYPE_RSA:
		return "RSA";
	case HSM_KEYTYPE_EC:
		return "EC";
	case HSM_KEYTYPE_EDDSA:
		return "EdDSA";
	}
	return "?";
}

static void print_key(const char *verb, const hsm_key_t *k)
{
	char hex[2 * HSM_KEY_ID_MAX + 1];
	hsm_key_id_hex(k, hex, sizeof(hex));
	printf("%s key id=%s label=%s alg=%s token=%s\n", verb, hex, k->label,
	       k->alg != NULL ? k->alg->name : "-", hsm_token_name(k->token));
}

/* --- tokens --- */

static void trimmed(char *dst, const CK_UTF8CHAR *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
	for (size_t i = len; i > 0 && dst[i - 1] == ' '; i--) {
		dst[i - 1] = '\0';
	}
}

static int run_tokens(hsm_args_t *a, hsm_ctx_t *ctx)
{
	(void)a;
	int ret = CLI_EXIT_OK;
	for (size_t i = 0; i < hsm_ctx_count(ctx); i++) {
		hsm_token_t *t = hsm_ctx_token_at(ctx, i);
		hsm_detail_t d = {0};
		int st = hsm_token_connect(t, &d);
		if (st != HSM_OK) {
			char what[300];
			snprintf(what, sizeof(what), "token %s", hsm_token_name(t));
			cli_hsm_error(what, st, &d);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		CK_TOKEN_INFO ti;
		hsm_token_info(t, &ti);
		char label[33], manuf[33], model[17], serial[17];
		trimmed(label, ti.label, 32);
		trimmed(manuf, ti.manufacturerID, 32);
		trimmed(model, ti.model, 16);
		trimmed(serial, ti.serialNumber, 16);
		printf("%s: label=\"%s\" manufacturer=\"%s\" model=\"%s\" serial=%s uri=%s\n",
		       hsm_token_name(t), label, manuf, model, serial, hsm_token_uri(t));
		size_t n = 0;
		const hsm_alg_t *all = hsm_alg_all(&n);
		printf("  algorithms:");
		for (size_t j = 0; j < n; j++) {
			CK_MECHANISM_TYPE sign =
			        hsm_token_combined(t) ? all[j].combined_mech : all[j].sign_mech;
			bool gen =
			        hsm_token_has_mechanism(t, all[j].gen_mech, CKF_GENERATE_KEY_PAIR);
			bool sig = hsm_token_has_mechanism(t, sign, CKF_SIGN);
			printf(" %s%s", all[j].name,
			       gen && sig ? "" : (sig ? "(sign only)" : "(missing)"));
		}
		printf("\n");
	}
	return ret;
}

/* --- keygen --- */

static int run_keygen(hsm_args_t *a, hsm_ctx_t *ctx)
{
	if (a->alg == NULL || a->label == NULL) {
		cli_error("keygen needs --alg and --label");
		return CLI_EXIT_USAGE;
	}
	const hsm_alg_t *alg = pick_alg(a->alg);
	hsm_token_t *t = alg != NULL ? pick_token(ctx, a->token_name) : NULL;
	if (t == NULL) {
		return CLI_EXIT_FAIL;
	}
	hsm_key_t key;
	hsm_detail_t d = {0};
	int st = hsm_key_generate(t, alg, a->bits, a->label, &key, &d);
	if (st != HSM_OK) {
		cli_hsm_error("keygen", st, &d);
		return CLI_EXIT_FAIL;
	}
	print_key("generated", &key);
	return CLI_EXIT_OK;
}

/* --- keys --- */

static int run_keys(hsm_args_t *a, hsm_ctx_t *ctx)
{
	printf("%-10s %-32s %-24s %-6s %5s %-9s %s\n", "TOKEN", "ID", "LABEL", "TYPE", "BITS",
	       "ORIGIN", "ALGORITHM");
	int ret = CLI_EXIT_OK;
	for (size_t i = 0; i < hsm_ctx_count(ctx); i++) {
		hsm_token_t *t = hsm_ctx_token_at(ctx, i);
		if (a->token_name != NULL && strcmp(a->token_name, hsm_token_name(t)) != 0) {
			continue;
		}
		hsm_key_t *keys = NULL;
		size_t n = 0;
		hsm_detail_t d = {0};
		int st = hsm_key_list(t, &keys, &n, &d);
		if (st != HSM_OK) {
			cli_hsm_error(hsm_token_name(t), st, &d);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			char hex[2 * HSM_KEY_ID_MAX + 1];
			hsm_key_id_hex(&keys[j], hex, sizeof(hex));
			printf("%-10s %-32s %-24s %-6s %5u %-9s %s\n", hsm_token_name(t), hex,
			       keys[j].label[0] ? keys[j].label : "-", keytype_name(&keys[j]),
			       keys[j].bits, keys[j].local ? "generated" : "imported",
			       keys[j].keytype == HSM_KEYTYPE_RSA ? "RSASHA256|RSASHA512"
			       : keys[j].alg != NULL              ? keys[j].alg->name
			                                          : "-");
		}
		free(keys);
	}
	return ret;
}

/* --- dnskey --- */

static void print_b64(const uint8_t *data, size_t len)
{
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (b64 != NULL) {
		EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
		fputs(b64, stdout);
		free(b64);
	}
}

static int run_dnskey(hsm_args_t *a, hsm_ctx_t *ctx)
{
	if (a->zone == NULL) {
		cli_error("dnskey needs --zone");
		return CLI_EXIT_USAGE;
	}
	uint8_t owner[256];
	size_t owner_len = 0;
	int zst = dname_from_str(a->zone, NULL, owner, sizeof(owner), &owner_len);
	if (zst != ZONE_OK) {
		cli_error("--zone %s is not a valid domain name: %s", a->zone, zone_strerror(zst));
		return CLI_EXIT_USAGE;
	}
	if (a->flags != 256 && a->flags != 257) {
		cli_error("--flags must be 256 (ZSK) or 257 (KSK/CSK)");
		return CLI_EXIT_USAGE;
	}
	const hsm_alg_t *alg = NULL;
	if (a->alg != NULL && (alg = pick_alg(a->alg)) == NULL) {
		return CLI_EXIT_FAIL;
	}
	hsm_key_t key;
	hsm_detail_t d = {0};
	int st = hsm_key_find(ctx, a->argv[0], &key, &d);
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX], rdata[HSM_DNSKEY_PUBKEY_MAX + 4];
	size_t pub_len = 0, rdata_len = 0;
	if (st == HSM_OK) {
		alg = alg != NULL ? alg : key.alg;
		st = hsm_key_dnskey_pubkey(&key, alg, pub, sizeof(pub), &pub_len, &d);
	}
	if (st == HSM_OK) {
		st = hsm_dnskey_rdata((uint16_t)a->flags, alg->number, pub, pub_len, rdata,
		                      sizeof(rdata), &rdata_len);
	}
	if (st != HSM_OK) {
		cli_hsm_error(a->argv[0], st, &d);
		return CLI_EXIT_FAIL;
	}
	const char *zone = a->zone;
	const char *dot = zone[strlen(zone) - 1] == '.' ? "" : ".";
	uint16_t tag = hsm_dnskey_keytag(rdata, rdata_len);
	printf("%s%s %u IN DNSKEY %u 3 %u ", zone, dot, a->ttl, a->flags, alg->number);
	print_b64(pub, pub_len);
	printf(" ; %s, %s, key tag %u\n", a->flags == 257 ? "KSK" : "ZSK", alg->name, tag);
	uint8_t types[] = {HSM_DS_SHA256, HSM_DS_SHA384};
	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t ds[HSM_DS_RDATA_MAX];
		size_t ds_len = 0;
		st = hsm_dnskey_ds(owner, owner_len, rdata, rdata_len, types[i], ds, sizeof(ds),
		                   &ds_len);
		if (st != HSM_OK) {
			cli_hsm_error("DS", st, NULL);
			return CLI_EXIT_FAIL;
		}
		printf("%s%s %u IN DS %u %u %u ", zone, dot, a->ttl, tag, alg->number, types[i]);
		for (size_t j = 4; j < ds_len; j++) {
			printf("%02X", ds[j]);
		}
		printf(" ; key tag %u\n", tag);
	}
	return CLI_EXIT_OK;
}

/* --- delete --- */

static int run_delete(hsm_args_t *a, hsm_ctx_t *ctx)
{
	hsm_key_t key;
	hsm_detail_t d = {0};
	int st = hsm_key_find(ctx, a->argv[0], &key, &d);
	if (st == HSM_OK) {
		/* No key state exists yet (the KASP brings it): once it does, a key
		 * that a zone uses is refused here unless --force. */
		st = hsm_key_delete(&key, &d);
	}
	if (st != HSM_OK) {
		cli_hsm_error(a->argv[0], st, &d);
		return CLI_EXIT_FAIL;
	}
	print_key("deleted", &key);
	return CLI_EXIT_OK;
}

/* --- import --- */

static int run_import(hsm_args_t *a, hsm_ctx_t *ctx)
{
	if (a->label == NULL) {
		cli_error("import needs --label");
		return CLI_EXIT_USAGE;
	}
	const hsm_alg_t *alg = NULL;
	if (a->alg != NULL && (alg = pick_alg(a->alg)) == NULL) {
		return CLI_EXIT_FAIL;
	}
	hsm_import_mode_t mode = HSM_IMPORT_AUTO;
	if (a->import_mode != NULL) {
		if (strcmp(a->import_mode, "create") == 0) {
			mode = HSM_IMPORT_CREATE;
		} else if (strcmp(a->import_mode, "unwrap") == 0) {
			mode = HSM_IMPORT_UNWRAP;
		} else if (strcmp(a->import_mode, "auto") != 0) {
			cli_error("--mode must be auto, create or unwrap");
			return CLI_EXIT_USAGE;
		}
	}
	hsm_token_t *t = pick_token(ctx, a->token_name);
	if (t == NULL) {
		return CLI_EXIT_FAIL;
	}
	EVP_PKEY *pkey = NULL;
	const hsm_alg_t *file_alg = NULL;
	hsm_detail_t d = {0};
	int st = hsm_keyfile_read(a->argv[0], alg, &pkey, &file_alg, &d);
	if (st != HSM_OK) {
		cli_hsm_error(a->argv[0], st, &d);
		return CLI_EXIT_FAIL;
	}
	hsm_key_t key;
	st = hsm_import(t, file_alg, pkey, a->label, mode, &key, &d);
	EVP_PKEY_free(pkey);
	if (st != HSM_OK) {
		cli_hsm_error("import", st, &d);
		return CLI_EXIT_FAIL;
	}
	print_key("imported", &key);
	return CLI_EXIT_OK;
}

/* --- speed --- */

typedef struct {
	hsm_token_t *token;
	const hsm_key_t *key;
	const hsm_alg_t *alg;
	size_t size;
	double seconds;
	atomic_bool *go;
	uint64_t count;
	int status;
	hsm_detail_t detail;
} speed_worker_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *speed_worker(void *arg)
{
	speed_worker_t *w = arg;
	hsm_session_t *s = NULL;
	w->status = hsm_session_acquire(w->token, &s, &w->detail);
	if (w->status != HSM_OK) {
		return NULL;
	}
	uint8_t data[4096], sig[HSM_SIG_MAX];
	RAND_bytes(data, (int)w->size);
	size_t sig_len = 0;
	/* Warm up: find the key handle once before the clock starts. */
	w->status =
	        hsm_sign(s, w->key, w->alg, data, w->size, sig, sizeof(sig), &sig_len, &w->detail);
	while (w->status == HSM_OK && !atomic_load(w->go)) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	double end = now_s() + w->seconds;
	while (w->status == HSM_OK && now_s() < end) {
		data[0]++;
		w->status = hsm_sign(s, w->key, w->alg, data, w->size, sig, sizeof(sig), &sig_len,
		                     &w->detail);
		if (w->status == HSM_OK) {
			w->count++;
		}
	}
	hsm_session_release(s);
	return NULL;
}

static int run_speed(hsm_args_t *a, hsm_ctx_t *ctx)
{
	if (a->alg == NULL && a->key == NULL) {
		cli_error("speed needs --alg (a temporary key) or --key");
		return CLI_EXIT_USAGE;
	}
	if (a->threads == 0 || a->threads > 1024 || a->seconds <= 0 || a->size == 0 ||
	    a->size > 4096) {
		cli_error("--threads 1..1024, --seconds > 0, --size 1..4096");
		return CLI_EXIT_USAGE;
	}
	const hsm_alg_t *alg = a->alg != NULL ? pick_alg(a->alg) : NULL;
	if (a->alg != NULL && alg == NULL) {
		return CLI_EXIT_FAIL;
	}
	hsm_key_t key;
	hsm_detail_t d = {0};
	bool temporary = a->key == NULL;
	int st;
	if (temporary) {
		hsm_token_t *t = pick_token(ctx, a->token_name);
		if (t == NULL) {
			return CLI_EXIT_FAIL;
		}
		char label[64];
		unsigned char r[4];
		RAND_bytes(r, sizeof(r));
		snprintf(label, sizeof(label), "signer-speed-%02x%02x%02x%02x", r[0], r[1], r[2],
		         r[3]);
		st = hsm_key_generate(t, alg, a->bits, label, &key, &d);
	} else {
		st = hsm_key_find(ctx, a->key, &key, &d);
		alg = alg != NULL ? alg : key.alg;
	}
	if (st != HSM_OK) {
		cli_hsm_error("speed", st, &d);
		return CLI_EXIT_FAIL;
	}
	if (alg == NULL) {
		cli_error("key %s is not a DNSSEC key type", a->key);
		return CLI_EXIT_FAIL;
	}
	speed_worker_t *w = calloc(a->threads, sizeof(*w));
	pthread_t *tids = calloc(a->threads, sizeof(*tids));
	atomic_bool go = false;
	int ret = CLI_EXIT_OK;
	unsigned started = 0;
	if (w == NULL || tids == NULL) {
		cli_error("out of memory");
		ret = CLI_EXIT_FAIL;
		goto done;
	}
	for (unsigned i = 0; i < a->threads; i++) {
		w[i] = (speed_worker_t){.token = key.token,
		                        .key = &key,
		                        .alg = alg,
		                        .size = a->size,
		                        .seconds = a->seconds,
		                        .go = &go};
		if (pthread_create(&tids[i], NULL, speed_worker, &w[i]) != 0) {
			cli_error("cannot start thread %u", i);
			ret = CLI_EXIT_FAIL;
			break;
		}
		started++;
	}
	double t0 = now_s();
	atomic_store(&go, true);
	uint64_t total = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		total += w[i].count;
		if (w[i].status != HSM_OK) {
			cli_hsm_error("sign", w[i].status, &w[i].detail);
			ret = CLI_EXIT_FAIL;
		}
	}
	double elapsed = now_s() - t0;
	hsm_token_stats_t stats;
	hsm_token_stats(key.token, &stats);
	printf("speed: alg=%s threads=%u seconds=%.2f signatures=%llu rate=%.1f/s "
	       "retries=%llu reopens=%llu relogins=%llu reconnects=%llu\n",
	       alg->name, a->threads, elapsed, (unsigned long long)total,
	       elapsed > 0 ? (double)total / elapsed : 0.0, (unsigned long long)stats.retries,
	       (unsigned long long)stats.reopens, (unsigned long long)stats.relogins,
	       (unsigned long long)stats.reconnects);
done:
	if (temporary) {
		hsm_key_delete(&key, NULL);
	}
	free(w);
	free(tids);
	return ret;
}

/* --- dispatch --- */

static const subcommand_t subcommands[] = {
        {"tokens", run_tokens, "signer hsm tokens [options]",
         "Lists the configured tokens and the DNSSEC algorithms each can generate and sign.\n", 0},
        {"keygen", run_keygen,
         "signer hsm keygen --alg ALG [--bits N] --label NAME [--in TOKEN] [options]",
         "Generates a key pair inside the token (sensitive, not extractable, sign only).\n"
         "  --alg ALG      RSASHA256 RSASHA512 ECDSAP256SHA256 ECDSAP384SHA384 ED25519 ED448\n"
         "  --bits N       RSA modulus size: 2048 (default), 3072 or 4096\n"
         "  --label NAME   CKA_LABEL of the key\n"
         "  --in TOKEN     token name from the configuration (when several)\n",
         0},
        {"keys", run_keys, "signer hsm keys [--in TOKEN] [options]",
         "Lists the private keys: token, CKA_ID, label, type, size, generated or imported.\n", 0},
        {"dnskey", run_dnskey,
         "signer hsm dnskey --zone NAME [--flags 256|257] [--alg ALG] [--ttl N] KEY [options]",
         "Prints the key's DNSKEY record and its DS records (SHA-256, SHA-384).\n"
         "  KEY is a CKA_ID in hex, a label, or a PKCS#11 URI.\n"
         "  --flags 257 (default, KSK/CSK) or 256 (ZSK); --ttl N (default 3600)\n"
         "  --alg RSASHA512 for an RSA key used with algorithm 10\n",
         1},
        {"delete", run_delete, "signer hsm delete [--force] KEY [options]",
         "Deletes a key (private and public objects). A label matching several keys is\n"
         "refused: name the key by its id.\n",
         1},
        {"import", run_import,
         "signer hsm import [--alg ALG] --label NAME [--in TOKEN] [--mode auto|create|unwrap] FILE",
         "Imports a private key (PKCS#8 PEM or BIND private-key file) into the token as a\n"
         "sensitive, non-extractable key, marked imported. --mode unwrap forces C_UnwrapKey.\n",
         1},
        {"speed", run_speed,
         "signer hsm speed (--alg ALG [--bits N] | --key KEY) [--threads N] [--seconds S] "
         "[--size BYTES]",
         "Signs for S seconds (default 5) with N threads (default 1), one session each, and\n"
         "prints the rate. Without --key, a temporary key is generated and deleted.\n",
         0},
};

static const cli_group_t group = CLI_GROUP("hsm", subcommands, subcommand_t, CLI_COMMON_HELP);

void cli_hsm_usage(FILE *fp)
{
	cli_group_usage(&group, fp);
}

int cli_hsm_main(int argc, char **argv)
{
	size_t index = 0;
	int exit_code = CLI_EXIT_OK;
	if (!cli_group_find(&group, argc, argv, &index, &exit_code)) {
		return exit_code;
	}
	const subcommand_t *sub = &subcommands[index];
	static const struct option longopts[] = {
	        {"alg", required_argument, NULL, OPT_ALG},
	        {"bits", required_argument, NULL, OPT_BITS},
	        {"label", required_argument, NULL, OPT_LABEL},
	        {"zone", required_argument, NULL, OPT_ZONE},
	        {"flags", required_argument, NULL, OPT_FLAGS},
	        {"ttl", required_argument, NULL, OPT_TTL},
	        {"force", no_argument, NULL, OPT_FORCE},
	        {"threads", required_argument, NULL, OPT_THREADS},
	        {"seconds", required_argument, NULL, OPT_SECONDS},
	        {"key", required_argument, NULL, OPT_KEY},
	        {"in", required_argument, NULL, 'i'},
	        {"mode", required_argument, NULL, OPT_IMPORT_MODE},
	        {"size", required_argument, NULL, OPT_SIZE},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	hsm_args_t a = {.flags = 257, .ttl = 3600, .threads = 1, .seconds = 5, .size = 128};
	int opt;
	optind = 1;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:hi:", longopts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'h':
			printf("usage: %s\n%scommon options:\n%s", sub->usage, sub->help,
			       CLI_COMMON_HELP);
			return CLI_EXIT_OK;
		case OPT_ALG:
			a.alg = optarg;
			break;
		case OPT_BITS:
			ok = parse_uint(optarg, 16384, &a.bits);
			break;
		case OPT_LABEL:
			a.label = optarg;
			break;
		case OPT_ZONE:
			a.zone = optarg;
			break;
		case OPT_FLAGS:
			ok = parse_uint(optarg, 65535, &a.flags);
			break;
		case OPT_TTL:
			ok = parse_uint(optarg, 2147483647u, &a.ttl);
			break;
		case OPT_FORCE:
			a.force = true;
			break;
		case OPT_THREADS:
			ok = parse_uint(optarg, 1024, &a.threads);
			break;
		case OPT_SECONDS: {
			char *end = NULL;
			a.seconds = strtod(optarg, &end);
			ok = *end == '\0' && a.seconds > 0;
			break;
		}
		case OPT_KEY:
			a.key = optarg;
			break;
		case 'i':
			a.token_name = optarg;
			break;
		case OPT_IMPORT_MODE:
			a.import_mode = optarg;
			break;
		case OPT_SIZE:
			ok = parse_uint(optarg, 4096, &a.size);
			break;
		default:
			ok = cli_common_option(&a.common, opt, optarg);
			break;
		}
		if (!ok) {
			if (opt == '?') {
				fprintf(stderr, "usage: %s\n", sub->usage);
			} else {
				cli_error("bad value '%s' for an option of hsm %s", optarg,
				          sub->name);
			}
			return CLI_EXIT_USAGE;
		}
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	if (a.argc != sub->positional) {
		cli_error("hsm %s takes %d argument%s (usage: %s)", sub->name, sub->positional,
		          sub->positional == 1 ? "" : "s", sub->usage);
		return CLI_EXIT_USAGE;
	}
	hsm_ctx_t *ctx = NULL;
	void *config = NULL;
	if (!cli_open(&a.common, &ctx, &config)) {
		return CLI_EXIT_FAIL;
	}
	int ret = sub->run(&a, ctx);
	cli_close(ctx, config);
	return ret;
}
