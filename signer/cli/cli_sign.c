#include "signer/cli/cli_sign.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsm/hsm_key.h"
#include "signer/cli/cli_common.h"
#include "signer/daemon/config.h"
#include "signer/nsec/nsec3.h"
#include "signer/nsec/nsec_error.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_keyset.h"
#include "signer/sign/sign_zone.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_serial.h"
#include "signer/zone/zone_write.h"

#define MAX_KEYS 8

enum {
	OPT_ZONE = CLI_OPT_FIRST_FREE,
	OPT_IN,
	OPT_OUT,
	OPT_NSEC3,
	OPT_ITERATIONS,
	OPT_SALT,
	OPT_OPT_OUT,
	OPT_KSK,
	OPT_ZSK,
	OPT_CSK,
	OPT_ALGORITHM,
	OPT_VALIDITY,
	OPT_REFRESH,
	OPT_JITTER,
	OPT_INCEPTION,
	OPT_SERIAL,
	OPT_THREADS,
	OPT_NOW,
	OPT_PUBLISH,
	OPT_NO_VERIFY,
	OPT_DNSKEY_TTL,
	OPT_QUIET,
};

static const char usage_text[] =
        "usage: signer sign [options] --zone NAME --in FILE --out FILE\n"
        "Signs a zone file with keys in the HSM; writes the signed zone atomically and\n"
        "prints the DS records of its KSK/CSK.\n"
        "  --zone NAME             the zone's apex\n"
        "  --in FILE, --out FILE   unsigned input, signed output (never half written)\n"
        "  --ksk KEY --zsk KEY     KSK and ZSK (CKA_ID hex, label or PKCS#11 URI; repeatable)\n"
        "  --csk KEY               a combined signing key instead\n"
        "                          (none given: the zone's CSK, labelled after the zone,\n"
        "                          created the first time)\n"
        "  --algorithm ALG         algorithm of a new CSK, or of RSA keys (default\n"
        "                          ECDSAP256SHA256)\n"
        "  --nsec3                 NSEC3 instead of NSEC; --iterations N (default 0),\n"
        "                          --salt HEX (default none), --opt-out\n"
        "  --validity D --refresh D --jitter D --inception-offset D\n"
        "                          durations: 14d, 5d, 12h, 1h by default (s m h d w)\n"
        "  --serial POLICY         keep (default), increment, unixtime, datecounter\n"
        "  --now TIME              sign as of TIME (UNIX seconds or YYYYMMDDHHMMSS)\n"
        "  --dnskey-ttl D          TTL of the DNSKEY RRset (default: the SOA's TTL)\n"
        "  --threads N             HSM sessions (default: from the token's latency)\n"
        "  --publish-dnskey FILE   also publish these DNSKEYs (multi-signer, migration)\n"
        "  --no-verify             skip the cryptographic check of new signatures\n"
        "                          (benchmarks only; coverage and chain are still checked)\n"
        "  -q, --quiet             no progress bar\n";

typedef struct {
	cli_opts_t common;
	const char *zone, *in, *out, *publish;
	const char *ksk[MAX_KEYS], *zsk[MAX_KEYS], *csk[MAX_KEYS];
	size_t nksk, nzsk, ncsk;
	const char *algorithm;
	sign_zone_params_t params;
	bool quiet;
	bool tty;
	double t_start;
	size_t records; /* RRs loaded, for the progress line */
} sign_args_t;

/* Durations: a number with an optional unit s, m, h, d or w. */
static bool parse_duration(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!config_parse_duration(s, 0x7fffffffu, &v)) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* UNIX seconds, or YYYYMMDDHHMMSS (UTC). */
static bool parse_time(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return false;
		}
	}
	if (n == 14) {
		struct tm tm = {0};
		if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		           &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
			return false;
		}
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
		    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
			return false;
		}
		*out = (int64_t)timegm(&tm);
		return true;
	}
	if (n == 0 || n > 12) {
		return false;
	}
	*out = (int64_t)strtoll(s, NULL, 10);
	return true;
}

static bool parse_salt(const char *s, nsec3_params_t *p)
{
	size_t n = strlen(s);
	if (strcmp(s, "-") == 0) {
		p->salt_len = 0;
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
		p->salt[i / 2] = (uint8_t)strtoul(b, NULL, 16);
	}
	p->salt_len = (uint8_t)(n / 2);
	return true;
}

static void diag(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                 const char *msg)
{
	(void)ctx;
	if (line > 0) {
		fprintf(stderr, "signer: %s:%lu: %s: %s\n", file, line,
		        level == ZONE_DIAG_ERROR ? "error" : "warning", msg);
	} else {
		fprintf(stderr, "signer: %s: %s: %s\n", file,
		        level == ZONE_DIAG_ERROR ? "error" : "warning", msg);
	}
}

static void sign_report(void *ctx, sign_zone_level_t level, const char *msg)
{
	sign_args_t *a = ctx;
	if (a->tty && !a->quiet) {
		fputs("\r\033[K", stderr);
	}
	fprintf(stderr, "signer: %s%s\n",
	        level == SIGN_ZONE_ERROR ? "" : (level == SIGN_ZONE_WARNING ? "warning: " : ""),
	        msg);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	sign_args_t *a = ctx;
	if (!a->tty || a->quiet || total == 0) {
		return;
	}
	double el = mono_s() - a->t_start;
	int width = 30, fill = (int)((double)width * (double)done / (double)total);
	char bar[32];
	for (int i = 0; i < width; i++) {
		bar[i] = i < fill ? '#' : '.';
	}
	bar[width] = '\0';
	fprintf(stderr, "\r\033[K%zu records loaded; signing [%s] %llu/%llu signatures, %.0f/s",
	        a->records, bar, (unsigned long long)done, (unsigned long long)total,
	        el > 0 ? (double)done / el : 0.0);
	fflush(stderr);
}

/* Resolves the keys named on the command line into ks. */
static int add_keys(sign_args_t *a, hsm_ctx_t *ctx, const char *const *specs, size_t n,
                    sign_role_t role, const hsm_alg_t *alg, sign_keyset_t *ks)
{
	for (size_t i = 0; i < n; i++) {
		hsm_key_t key;
		hsm_detail_t d = {0};
		int st = hsm_key_find(ctx, specs[i], &key, &d);
		if (st == HSM_OK) {
			st = sign_keyset_add(ks, &key, alg, role, true, true, false, false, &d);
		}
		if (st != HSM_OK) {
			cli_hsm_error(specs[i], st, &d);
			return CLI_EXIT_FAIL;
		}
	}
	(void)a;
	return CLI_EXIT_OK;
}

/* The zone's own CSK: labelled after the zone; created the first time. */
static int zone_csk(sign_args_t *a, hsm_ctx_t *ctx, const char *label, const hsm_alg_t *alg,
                    sign_keyset_t *ks)
{
	hsm_key_t *keys = NULL;
	size_t n = 0;
	hsm_detail_t d = {0};
	int st = hsm_key_find_all(ctx, label, &keys, &n, &d);
	if (st != HSM_OK) {
		cli_hsm_error(label, st, &d);
		return CLI_EXIT_FAIL;
	}
	hsm_key_t key;
	if (n > 1) {
		free(keys);
		cli_error("%zu keys are labelled %s: name the key with --csk", n, label);
		return CLI_EXIT_FAIL;
	}
	if (n == 1) {
		key = keys[0];
		free(keys);
	} else {
		free(keys);
		if (hsm_ctx_count(ctx) != 1) {
			cli_error("several tokens: name the keys with --ksk/--zsk or --csk");
			return CLI_EXIT_FAIL;
		}
		st = hsm_key_generate(hsm_ctx_token_at(ctx, 0), alg, 0, label, &key, &d);
		if (st != HSM_OK) {
			cli_hsm_error("generating the zone's CSK", st, &d);
			return CLI_EXIT_FAIL;
		}
		char hex[2 * HSM_KEY_ID_MAX + 1];
		hsm_key_id_hex(&key, hex, sizeof(hex));
		fprintf(stderr, "signer: created CSK id=%s label=%s alg=%s token=%s\n", hex, label,
		        alg->name, hsm_token_name(key.token));
	}
	st = sign_keyset_add(ks, &key, key.keytype == HSM_KEYTYPE_RSA ? alg : NULL, SIGN_ROLE_CSK,
	                     true, true, false, false, &d);
	if (st != HSM_OK) {
		cli_hsm_error(label, st, &d);
		return CLI_EXIT_FAIL;
	}
	(void)a;
	return CLI_EXIT_OK;
}

static void print_ds(const zone_t *z, const sign_keyset_t *ks, uint32_t ttl)
{
	char owner[DNAME_STR_MAXLEN];
	dname_to_str(z->apex, owner, sizeof(owner));
	for (size_t i = 0; i < ks->count; i++) {
		const sign_key_t *k = &ks->keys[i];
		if (k->key.token == NULL || k->role == SIGN_ROLE_ZSK) {
			continue;
		}
		const uint8_t types[] = {HSM_DS_SHA256, HSM_DS_SHA384};
		for (size_t t = 0; t < sizeof(types); t++) {
			uint8_t ds[HSM_DS_RDATA_MAX];
			size_t len = 0;
			if (hsm_dnskey_ds(z->apex, z->apex_len, k->dnskey, k->dnskey_len, types[t],
			                  ds, sizeof(ds), &len) != HSM_OK) {
				continue;
			}
			printf("%s %u IN DS %u %u %u ", owner, ttl, k->tag, k->alg->number,
			       types[t]);
			for (size_t j = 4; j < len; j++) {
				printf("%02X", ds[j]);
			}
			printf(" ; %s key tag %u\n", k->role == SIGN_ROLE_CSK ? "CSK" : "KSK",
			       k->tag);
		}
	}
}

static const char *status_text(int st)
{
	if (st <= -1200 && st > -1300) {
		return zone_strerror(st);
	}
	if (st <= -1300 && st > -1400) {
		return nsec_strerror(st);
	}
	if (st <= -1400 && st > -1500) {
		return sign_strerror(st);
	}
	return hsm_strerror(st);
}

static int run(sign_args_t *a)
{
	uint8_t apex[DNAME_MAXLEN];
	size_t apex_len = 0;
	int st = dname_from_str(a->zone, NULL, apex, sizeof(apex), &apex_len);
	if (st != ZONE_OK) {
		cli_error("--zone %s: %s", a->zone, zone_strerror(st));
		return CLI_EXIT_USAGE;
	}
	dname_to_lower(apex);
	const hsm_alg_t *alg = hsm_alg_by_name(a->algorithm ? a->algorithm : "ECDSAP256SHA256");
	if (alg == NULL) {
		cli_error("unsupported algorithm %s", a->algorithm);
		return CLI_EXIT_USAGE;
	}
	if (a->ncsk > 0 && (a->nksk > 0 || a->nzsk > 0)) {
		cli_error("give --ksk/--zsk or --csk, not both");
		return CLI_EXIT_USAGE;
	}
	if ((a->nksk > 0) != (a->nzsk > 0)) {
		cli_error("--ksk and --zsk go together");
		return CLI_EXIT_USAGE;
	}
	if (a->params.nsec3 && a->params.nsec3_params.iterations > NSEC3_MAX_ITERATIONS) {
		cli_error("--iterations %u is above %u (RFC 9276): refused",
		          a->params.nsec3_params.iterations, NSEC3_MAX_ITERATIONS);
		return CLI_EXIT_USAGE;
	}
	if (a->params.nsec3 &&
	    (a->params.nsec3_params.iterations > 0 || a->params.nsec3_params.salt_len > 0)) {
		fprintf(stderr, "signer: warning: RFC 9276 recommends NSEC3 with 0 iterations "
		                "and no salt\n");
	}

	/* Load first: a bad zone fails before any HSM work. */
	double t0 = mono_s();
	zone_t *z = NULL;
	st = zone_load(a->in, apex, 3600, diag, NULL, &z);
	if (st != ZONE_OK) {
		cli_error("%s: %s; nothing written", a->in, zone_strerror(st));
		return CLI_EXIT_FAIL;
	}
	zone_rrset_t *foreign = NULL;
	if (a->publish != NULL) {
		st = zone_load_dnskeys(a->publish, apex, 3600, diag, NULL, &foreign);
		if (st != ZONE_OK) {
			cli_error("%s: %s; nothing written", a->publish, zone_strerror(st));
			zone_free(z);
			return CLI_EXIT_FAIL;
		}
	}
	double t_load = mono_s() - t0;
	for (size_t i = 0; i < z->count; i++) {
		for (size_t k = 0; k < zone_entry(z, i)->node->nslots; k++) {
			a->records += zone_entry(z, i)->node->slots[k].data->count;
		}
	}

	hsm_ctx_t *ctx = NULL;
	void *config = NULL;
	sign_keyset_t ks;
	sign_keyset_init(&ks);
	zone_t *signed_zone = NULL;
	int ret = CLI_EXIT_FAIL;
	if (!cli_open(&a->common, &ctx, &config)) {
		goto done;
	}
	if (a->ncsk > 0) {
		ret = add_keys(a, ctx, a->csk, a->ncsk, SIGN_ROLE_CSK, a->algorithm ? alg : NULL,
		               &ks);
	} else if (a->nksk > 0) {
		ret = add_keys(a, ctx, a->ksk, a->nksk, SIGN_ROLE_KSK, a->algorithm ? alg : NULL,
		               &ks);
		if (ret == CLI_EXIT_OK) {
			ret = add_keys(a, ctx, a->zsk, a->nzsk, SIGN_ROLE_ZSK,
			               a->algorithm ? alg : NULL, &ks);
		}
	} else {
		char label[DNAME_STR_MAXLEN];
		dname_to_str(apex, label, sizeof(label));
		size_t l = strlen(label);
		if (l > 1 && label[l - 1] == '.') {
			label[l - 1] = '\0';
		}
		ret = zone_csk(a, ctx, label, alg, &ks);
	}
	size_t pos = 0;
	zone_rdata_t rd;
	while (ret == CLI_EXIT_OK && foreign != NULL && zone_rrset_next(foreign, &pos, &rd)) {
		hsm_detail_t d = {0};
		st = sign_keyset_add_dnskey(&ks, rd.data, rd.len, &d);
		if (st != HSM_OK) {
			cli_hsm_error(a->publish, st, &d);
			ret = CLI_EXIT_FAIL;
		}
	}
	if (ret != CLI_EXIT_OK) {
		goto done;
	}
	a->params.report = sign_report;
	a->params.progress = progress;
	a->params.ctx = a;
	a->t_start = mono_s();
	sign_zone_stats_t stats;
	st = sign_zone(z, NULL, &ks, &a->params, &signed_zone, &stats);
	if (a->tty && !a->quiet) {
		fputs("\r\033[K", stderr);
	}
	if (st != SIGN_OK) {
		cli_error("signing %s failed: %s; nothing written", a->zone, status_text(st));
		ret = CLI_EXIT_FAIL;
		goto done;
	}
	double t1 = mono_s();
	st = zone_write_file(signed_zone, a->out);
	if (st != ZONE_OK) {
		cli_error("%s: %s; nothing written", a->out, zone_strerror(st));
		ret = CLI_EXIT_FAIL;
		goto done;
	}
	double t_write = mono_s() - t1;
	const zone_rrset_t *soa = zone_apex_rrset(signed_zone, ZONE_TYPE_SOA);
	print_ds(signed_zone, &ks, soa != NULL ? soa->ttl : 3600);
	double total = t_load + stats.t_chain + stats.t_sign + stats.t_verify + t_write;
	hsm_token_stats_t hs, sum = {0};
	for (size_t i = 0; i < hsm_ctx_count(ctx); i++) {
		hsm_token_stats(hsm_ctx_token_at(ctx, i), &hs);
		sum.retries += hs.retries;
		sum.reopens += hs.reopens;
		sum.relogins += hs.relogins;
		sum.reconnects += hs.reconnects;
	}
	fprintf(stderr,
	        "signer: signed %s serial %u: %zu RRsets, %zu signatures created, %zu reused, "
	        "%zu verified, %u sessions, %.0f signatures/s; load %.2fs chain %.2fs sign %.2fs "
	        "verify %.2fs write %.2fs total %.2fs\n",
	        a->zone, stats.serial, stats.rrsets, stats.created, stats.reused, stats.verified,
	        stats.workers, stats.t_sign > 0 ? (double)stats.created / stats.t_sign : 0.0,
	        t_load, stats.t_chain, stats.t_sign, stats.t_verify, t_write, total);
	ret = CLI_EXIT_OK;
done:
	zone_free(signed_zone);
	sign_keyset_deinit(&ks);
	if (ctx != NULL) {
		cli_close(ctx, config);
	}
	zone_rrset_unref(foreign);
	zone_free(z);
	return ret;
}

int cli_sign_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"zone", required_argument, NULL, OPT_ZONE},
	        {"in", required_argument, NULL, OPT_IN},
	        {"out", required_argument, NULL, OPT_OUT},
	        {"nsec3", no_argument, NULL, OPT_NSEC3},
	        {"iterations", required_argument, NULL, OPT_ITERATIONS},
	        {"salt", required_argument, NULL, OPT_SALT},
	        {"opt-out", no_argument, NULL, OPT_OPT_OUT},
	        {"ksk", required_argument, NULL, OPT_KSK},
	        {"zsk", required_argument, NULL, OPT_ZSK},
	        {"csk", required_argument, NULL, OPT_CSK},
	        {"algorithm", required_argument, NULL, OPT_ALGORITHM},
	        {"validity", required_argument, NULL, OPT_VALIDITY},
	        {"refresh", required_argument, NULL, OPT_REFRESH},
	        {"jitter", required_argument, NULL, OPT_JITTER},
	        {"inception-offset", required_argument, NULL, OPT_INCEPTION},
	        {"serial", required_argument, NULL, OPT_SERIAL},
	        {"threads", required_argument, NULL, OPT_THREADS},
	        {"now", required_argument, NULL, OPT_NOW},
	        {"publish-dnskey", required_argument, NULL, OPT_PUBLISH},
	        {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
	        {"dnskey-ttl", required_argument, NULL, OPT_DNSKEY_TTL},
	        {"quiet", no_argument, NULL, 'q'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	sign_args_t a;
	memset(&a, 0, sizeof(a));
	a.params.timing = (sign_plan_timing_t){.now = (int64_t)time(NULL),
	                                       .inception_offset = 3600,
	                                       .validity = 14 * 86400,
	                                       .refresh = 5 * 86400,
	                                       .jitter = 12 * 3600};
	a.params.serial = ZONE_SERIAL_KEEP;
	a.params.verify_crypto = true;
	a.tty = isatty(STDERR_FILENO) == 1;
	bool explicit_nsec3_params = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:hq", longopts, NULL)) != -1) {
		bool ok = true;
		uint32_t v = 0;
		switch (opt) {
		case 'h':
			printf("%scommon options:\n%s", usage_text, CLI_COMMON_HELP);
			return CLI_EXIT_OK;
		case 'q':
			a.quiet = true;
			break;
		case OPT_ZONE:
			a.zone = optarg;
			break;
		case OPT_IN:
			a.in = optarg;
			break;
		case OPT_OUT:
			a.out = optarg;
			break;
		case OPT_NSEC3:
			a.params.nsec3 = true;
			break;
		case OPT_ITERATIONS:
			ok = parse_duration(optarg, &v) &&
			     strspn(optarg, "0123456789") == strlen(optarg) && v <= 65535;
			a.params.nsec3_params.iterations = (uint16_t)v;
			explicit_nsec3_params = true;
			break;
		case OPT_SALT:
			ok = parse_salt(optarg, &a.params.nsec3_params);
			explicit_nsec3_params = true;
			break;
		case OPT_OPT_OUT:
			a.params.nsec3_params.opt_out = true;
			explicit_nsec3_params = true;
			break;
		case OPT_KSK:
			ok = a.nksk < MAX_KEYS;
			a.ksk[a.nksk++ % MAX_KEYS] = optarg;
			break;
		case OPT_ZSK:
			ok = a.nzsk < MAX_KEYS;
			a.zsk[a.nzsk++ % MAX_KEYS] = optarg;
			break;
		case OPT_CSK:
			ok = a.ncsk < MAX_KEYS;
			a.csk[a.ncsk++ % MAX_KEYS] = optarg;
			break;
		case OPT_ALGORITHM:
			a.algorithm = optarg;
			break;
		case OPT_VALIDITY:
			ok = parse_duration(optarg, &a.params.timing.validity);
			break;
		case OPT_REFRESH:
			ok = parse_duration(optarg, &a.params.timing.refresh);
			break;
		case OPT_JITTER:
			ok = parse_duration(optarg, &a.params.timing.jitter);
			break;
		case OPT_INCEPTION:
			ok = parse_duration(optarg, &a.params.timing.inception_offset);
			break;
		case OPT_DNSKEY_TTL:
			ok = parse_duration(optarg, &a.params.dnskey_ttl);
			break;
		case OPT_SERIAL:
			ok = zone_serial_policy_from_str(optarg, &a.params.serial);
			break;
		case OPT_THREADS:
			ok = parse_duration(optarg, &v) && v >= 1 && v <= 256 &&
			     strspn(optarg, "0123456789") == strlen(optarg);
			a.params.threads = v;
			break;
		case OPT_NOW:
			ok = parse_time(optarg, &a.params.timing.now);
			break;
		case OPT_PUBLISH:
			a.publish = optarg;
			break;
		case OPT_NO_VERIFY:
			a.params.verify_crypto = false;
			break;
		default:
			ok = cli_common_option(&a.common, opt, optarg);
			break;
		}
		if (!ok) {
			if (opt != '?') {
				cli_error("bad value '%s'", optarg != NULL ? optarg : "");
			}
			fprintf(stderr, "usage: signer sign --zone NAME --in FILE --out FILE "
			                "[options] (signer sign --help)\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (a.zone == NULL || a.in == NULL || a.out == NULL) {
		cli_error("sign needs --zone, --in and --out (signer sign --help)");
		return CLI_EXIT_USAGE;
	}
	if (explicit_nsec3_params && !a.params.nsec3) {
		cli_error("--iterations, --salt and --opt-out go with --nsec3");
		return CLI_EXIT_USAGE;
	}
	return run(&a);
}
