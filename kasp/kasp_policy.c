#include "kasp/kasp_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "hsm/hsm_alg.h"

#define DAY 86400u

/* Durations, TTLs and flags that are plain fields: their YAML group and key,
 * the field's name in messages, and where it is in the policy. */
typedef enum {
	F_DUR,
	F_BOOL,
} ftype_t;

typedef struct {
	const char *group;
	const char *key;
	const char *field;
	ftype_t type;
	size_t offset;
} field_t;

#define DUR(g, k, m)                                                                               \
	{                                                                                          \
		g, k, g "." k, F_DUR, offsetof(kasp_policy_t, m)                                   \
	}
#define FLAG(g, k, m)                                                                              \
	{                                                                                          \
		g, k, g "." k, F_BOOL, offsetof(kasp_policy_t, m)                                  \
	}

static const field_t fields[] = {
        DUR("keys", "add_hold_down", add_hold_down),
        DUR("keys", "remove_hold_down", remove_hold_down),
        FLAG("keys", "shared", shared_keys),
        FLAG("keys", "rfc5011", rfc5011),
        FLAG("keys", "require_backup", require_backup),
        DUR("signatures", "validity", validity),
        DUR("signatures", "dnskey_validity", dnskey_validity),
        DUR("signatures", "refresh", refresh),
        DUR("signatures", "jitter", jitter),
        DUR("signatures", "inception_offset", inception_offset),
        FLAG("denial", "opt_out", nsec3_opt_out),
        DUR("zone", "dnskey_ttl", dnskey_ttl),
        DUR("zone", "cds_ttl", cds_ttl),
        DUR("zone", "max_ttl", max_zone_ttl),
        DUR("zone", "propagation_delay", zone_propagation_delay),
        DUR("parent", "ds_ttl", parent_ds_ttl),
        DUR("parent", "propagation_delay", parent_propagation_delay),
        DUR("parent", "poll_interval", poll_interval),
        FLAG("parent", "cds", cds_publish),
        {NULL, NULL, NULL, F_DUR, 0},
};

/* The YAML names of the roles and of their fields. */
static const char *const role_key[KASP_POLICY_ROLES] = {"ksk", "zsk", "csk"};
static const char *const role_bits[KASP_POLICY_ROLES] = {"keys.ksk.bits", "keys.zsk.bits",
                                                         "keys.csk.bits"};
static const char *const role_lifetime[KASP_POLICY_ROLES] = {
        "keys.ksk.lifetime", "keys.zsk.lifetime", "keys.csk.lifetime"};
static const char *const role_token[KASP_POLICY_ROLES] = {"keys.ksk.token", "keys.zsk.token",
                                                          "keys.csk.token"};
static const char *const role_group[KASP_POLICY_ROLES] = {"keys.ksk", "keys.zsk", "keys.csk"};

static uint32_t *dur_at(kasp_policy_t *p, const field_t *f)
{
	return (uint32_t *)(void *)((char *)p + f->offset);
}

static uint32_t dur_of(const kasp_policy_t *p, const field_t *f)
{
	return *(const uint32_t *)(const void *)((const char *)p + f->offset);
}

static bool *flag_at(kasp_policy_t *p, const field_t *f)
{
	return (bool *)(void *)((char *)p + f->offset);
}

void kasp_policy_defaults(kasp_policy_t *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = HSM_ALG_ECDSAP256SHA256;
	p->csk = false;
	p->key[KASP_POLICY_KSK].lifetime = 0;
	p->key[KASP_POLICY_ZSK].lifetime = 90 * DAY;
	p->key[KASP_POLICY_CSK].lifetime = 0;
	p->shared_keys = false;
	p->ksk_roll = KASP_POLICY_DOUBLE_KSK;
	p->rfc5011 = false;
	p->add_hold_down = 30 * DAY;
	p->remove_hold_down = 30 * DAY;
	p->require_backup = false;
	p->validity = 30 * DAY;
	p->dnskey_validity = 0;
	p->refresh = 15 * DAY;
	p->jitter = 12 * 3600;
	p->inception_offset = 3600;
	p->nsec3 = true;
	p->nsec3_iterations = 0;
	p->nsec3_salt = NULL;
	p->nsec3_opt_out = false;
	p->dnskey_ttl = 3600;
	p->cds_ttl = 3600;
	p->max_zone_ttl = DAY;
	p->ttl_policy = KASP_POLICY_TTL_REFUSE;
	p->zone_propagation_delay = 300;
	p->parent_ds_ttl = DAY;
	p->parent_propagation_delay = 3600;
	p->poll_interval = 3600;
	p->cds_publish = true;
	p->cds_digests[0] = 2;
	p->ncds_digests = 1;
}

void kasp_policy_deinit(kasp_policy_t *p)
{
	if (p == NULL) {
		return;
	}
	free(p->name);
	for (size_t i = 0; i < KASP_POLICY_ROLES; i++) {
		free(p->key[i].token);
	}
	free(p->nsec3_salt);
	for (size_t i = 0; i < p->nparental_agents; i++) {
		free(p->parental_agents[i]);
	}
	free(p->parental_agents);
	memset(p, 0, sizeof(*p));
}

void kasp_policies_free(kasp_policy_t *policies, size_t n)
{
	if (policies == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		kasp_policy_deinit(&policies[i]);
	}
	free(policies);
}

const char *kasp_policy_role_str(kasp_policy_role_t role)
{
	switch (role) {
	case KASP_POLICY_KSK:
		return "KSK";
	case KASP_POLICY_ZSK:
		return "ZSK";
	case KASP_POLICY_CSK:
		return "CSK";
	}
	return "?";
}

const char *kasp_policy_ksk_roll_str(kasp_policy_ksk_roll_t roll)
{
	switch (roll) {
	case KASP_POLICY_DOUBLE_KSK:
		return "double_ksk";
	case KASP_POLICY_DOUBLE_DS:
		return "double_ds";
	}
	return "?";
}

const char *kasp_policy_ttl_str(kasp_policy_ttl_t ttl)
{
	switch (ttl) {
	case KASP_POLICY_TTL_REFUSE:
		return "refuse";
	case KASP_POLICY_TTL_CAP:
		return "cap";
	}
	return "?";
}

const kasp_policy_key_t *kasp_policy_key(const kasp_policy_t *p, kasp_policy_role_t role)
{
	if (p == NULL || (unsigned)role >= KASP_POLICY_ROLES ||
	    p->csk != (role == KASP_POLICY_CSK)) {
		return NULL;
	}
	return &p->key[role];
}

/* Digits only, no sign, at most max; false for anything else. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	if (s == NULL || !isdigit((unsigned char)*s)) {
		return false;
	}
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max) {
			return false;
		}
	}
	if (*s != '\0') {
		return false;
	}
	*out = n;
	return true;
}

/* A duration as signer.yaml writes them: digits and at most one unit s, m,
 * h, d or w; at most KASP_POLICY_MAX_SECONDS. */
static bool parse_duration(const char *s, uint32_t *out)
{
	static const struct {
		char suffix;
		uint64_t factor;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char digits[24];
	size_t len = s != NULL ? strlen(s) : 0;
	uint64_t factor = 1;
	if (len == 0 || len >= sizeof(digits)) {
		return false;
	}
	memcpy(digits, s, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (digits[len - 1] == units[i].suffix) {
			factor = units[i].factor;
			digits[len - 1] = '\0';
			break;
		}
	}
	uint64_t n = 0;
	if (!parse_uint(digits, KASP_POLICY_MAX_SECONDS, &n) ||
	    n > KASP_POLICY_MAX_SECONDS / factor) {
		return false;
	}
	*out = (uint32_t)(n * factor);
	return true;
}

/* Writes seconds as days, hours, minutes and seconds ("29d11h", "0s"): the
 * form messages give durations in. */
static const char *fmt_dur(char *buf, size_t len, int64_t s)
{
	static const struct {
		char suffix;
		int64_t factor;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	size_t used = 0;
	if (s <= 0) {
		snprintf(buf, len, "%" PRId64 "s", s);
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < len; i++) {
		if (s >= units[i].factor) {
			int w = snprintf(buf + used, len - used, "%" PRId64 "%c",
			                 s / units[i].factor, units[i].suffix);
			used += w > 0 ? (size_t)w : 0;
			s %= units[i].factor;
		}
	}
	return buf;
}

/* Up to six durations in one message. */
typedef struct {
	char b[6][32];
} durs_t;

#define D(d, i, v) fmt_dur((d)->b[i], sizeof((d)->b[i]), (int64_t)(v))

bool kasp_policy_parse_agent(const char *s, int *family, uint8_t addr[16], uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];
	uint64_t n = 53;
	if (s == NULL) {
		return false;
	}
	const char *at = strchr(s, '@');
	size_t hostlen = at != NULL ? (size_t)(at - s) : strlen(s);
	if (hostlen == 0 || hostlen >= sizeof(host)) {
		return false;
	}
	if (at != NULL && (!parse_uint(at + 1, 65535, &n) || n == 0)) {
		return false;
	}
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	int fam = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(fam, host, a) != 1) {
		return false;
	}
	*family = fam;
	memcpy(addr, a, fam == AF_INET6 ? 16 : 4);
	*port = (uint16_t)n;
	return true;
}

int kasp_policy_rollover(const kasp_policy_t *p, kasp_policy_role_t role,
                         kasp_policy_rollover_t *out)
{
	if (kasp_policy_key(p, role) == NULL || out == NULL) {
		return KASP_ERR_INVAL;
	}
	kasp_policy_rollover_t r = {0, 0, 0, 0, 0};
	int64_t dsgn = (int64_t)p->validity - p->refresh + p->jitter;
	r.dsgn = dsgn > 0 ? dsgn : 0;
	int64_t ikey = (int64_t)p->zone_propagation_delay + p->dnskey_ttl;
	int64_t isig = r.dsgn + p->zone_propagation_delay + p->max_zone_ttl;
	int64_t ids = (int64_t)p->poll_interval + p->parent_propagation_delay + p->parent_ds_ttl;
	int64_t ihold = p->rfc5011 ? p->add_hold_down : 0;
	int64_t irev = p->rfc5011 ? p->remove_hold_down : 0;
	bool double_ds = p->ksk_roll == KASP_POLICY_DOUBLE_DS;
	switch (role) {
	case KASP_POLICY_ZSK:
		r.ipub = ikey;
		r.iswap = 0;
		r.iret = isig;
		break;
	case KASP_POLICY_KSK:
		r.ipub = double_ds ? ids : ikey + ihold;
		r.iswap = double_ds ? ikey : ids;
		r.iret = double_ds ? ids : ikey + irev;
		break;
	case KASP_POLICY_CSK:
		if (double_ds) {
			r.ipub = ids > ikey ? ids : ikey;
			r.iswap = isig;
			r.iret = r.ipub;
		} else {
			r.ipub = ikey + ihold;
			r.iswap = ids > isig ? ids : isig;
			r.iret = ikey + irev;
		}
		break;
	}
	r.total = r.ipub + r.iswap + r.iret;
	*out = r;
	return KASP_OK;
}

int64_t kasp_policy_rollover_time(const kasp_policy_t *p, kasp_policy_role_t role)
{
	kasp_policy_rollover_t r;
	if (kasp_policy_rollover(p, role, &r) != KASP_OK) {
		return -1;
	}
	return r.total;
}

/* A refusal of the checks: the field it names and why. */
typedef struct {
	const char *field;
	char msg[384];
} why_t;

__attribute__((format(printf, 4, 5))) static int refuse(why_t *w, int status, const char *field,
                                                        const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	w->field = field;
	return status;
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);
	return len >= 1 && len <= 63 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	               len;
}

static uint32_t largest_ttl(const kasp_policy_t *p)
{
	uint32_t t = p->max_zone_ttl;
	t = p->dnskey_ttl > t ? p->dnskey_ttl : t;
	return p->cds_ttl > t ? p->cds_ttl : t;
}

static const char *largest_ttl_field(const kasp_policy_t *p)
{
	uint32_t t = largest_ttl(p);
	return t == p->max_zone_ttl ? "zone.max_ttl"
	       : t == p->dnskey_ttl ? "zone.dnskey_ttl"
	                            : "zone.cds_ttl";
}

static int check_keys(const kasp_policy_t *p, const hsm_alg_t *alg, why_t *w)
{
	for (int r = 0; r < KASP_POLICY_ROLES; r++) {
		const kasp_policy_key_t *k = kasp_policy_key(p, (kasp_policy_role_t)r);
		if (k == NULL) {
			continue;
		}
		if (alg->keytype == HSM_KEYTYPE_RSA && !hsm_alg_rsa_bits_ok(k->bits)) {
			return refuse(w, KASP_ERR_VALUE, role_bits[r],
			              "%u: %s keys are 2048, 3072 or 4096 bits", k->bits,
			              alg->name);
		}
		if (alg->keytype != HSM_KEYTYPE_RSA && k->bits != 0) {
			return refuse(w, KASP_ERR_VALUE, role_bits[r],
			              "%u: bits apply to RSA only (%s keys have a fixed size)",
			              k->bits, alg->name);
		}
		if (k->lifetime > KASP_POLICY_MAX_SECONDS) {
			return refuse(w, KASP_ERR_VALUE, role_lifetime[r],
			              "%" PRIu32 " seconds is above 2^31 - 1", k->lifetime);
		}
		if (k->token != NULL && (k->token[0] == '\0' || strlen(k->token) > 255)) {
			return refuse(w, KASP_ERR_VALUE, role_token[r],
			              "a token name is 1 to 255 characters");
		}
	}
	return KASP_OK;
}

/* Effective validity and the 2^31 limit of one validity (field). */
static int check_validity(const kasp_policy_t *p, const char *field, uint32_t validity, why_t *w)
{
	durs_t d;
	int64_t eff = (int64_t)validity - p->inception_offset - p->jitter;
	if (eff <= (int64_t)p->refresh) {
		return refuse(w, KASP_ERR_TIMING, field,
		              "the effective validity (%s - inception_offset %s - jitter %s = %s) "
		              "must be above signatures.refresh %s: a new RRSIG could be due for "
		              "replacement when made, and expire",
		              D(&d, 0, validity), D(&d, 1, p->inception_offset),
		              D(&d, 2, p->jitter), D(&d, 3, eff), D(&d, 4, p->refresh));
	}
	if ((int64_t)p->inception_offset + validity + p->jitter >= (int64_t)1 << 31) {
		return refuse(w, KASP_ERR_TIMING, field,
		              "inception_offset + validity + jitter must stay below 2^31 seconds "
		              "(RRSIG serial arithmetic)");
	}
	return KASP_OK;
}

static int check_signatures(const kasp_policy_t *p, why_t *w)
{
	durs_t d;
	int ret = check_validity(p, "signatures.validity", p->validity, w);
	if (ret == KASP_OK && p->dnskey_validity != 0) {
		ret = check_validity(p, "signatures.dnskey_validity", p->dnskey_validity, w);
	}
	if (ret != KASP_OK) {
		return ret;
	}
	int64_t need = (int64_t)largest_ttl(p) + p->zone_propagation_delay;
	if ((int64_t)p->refresh < need) {
		return refuse(w, KASP_ERR_TIMING, "signatures.refresh",
		              "%s is below the largest TTL %s (%s) + zone.propagation_delay %s: an "
		              "RRSIG kept until it expires within refresh could expire in a cache",
		              D(&d, 0, p->refresh), D(&d, 1, largest_ttl(p)), largest_ttl_field(p),
		              D(&d, 2, p->zone_propagation_delay));
	}
	return KASP_OK;
}

static int check_denial(const kasp_policy_t *p, why_t *w)
{
	if (!p->nsec3) {
		return KASP_OK;
	}
	if (p->nsec3_iterations > 100) {
		return refuse(w, KASP_ERR_VALUE, "denial.iterations",
		              "%u is above 100: validators may treat the zone as insecure "
		              "(RFC 9276 asks for 0)",
		              p->nsec3_iterations);
	}
	const char *s = p->nsec3_salt;
	if (s != NULL) {
		size_t len = strlen(s);
		if (len == 0 || len % 2 != 0 || strspn(s, "0123456789abcdefABCDEF") != len) {
			return refuse(
			        w, KASP_ERR_VALUE, "denial.salt",
			        "must be an even number of hex digits (\"\" or \"-\" for none)");
		}
		if (len > 510) {
			return refuse(w, KASP_ERR_VALUE, "denial.salt",
			              "%zu octets is longer than 255 (RFC 9276 asks for none)",
			              len / 2);
		}
	}
	return KASP_OK;
}

static int check_parent(const kasp_policy_t *p, why_t *w)
{
	durs_t d;
	for (size_t i = 0; i < p->nparental_agents; i++) {
		int family = 0;
		uint8_t addr[16];
		uint16_t port = 0;
		if (!kasp_policy_parse_agent(p->parental_agents[i], &family, addr, &port)) {
			return refuse(w, KASP_ERR_VALUE, "parent.agents",
			              "'%.64s' is not \"ip\" or \"ip@port\" (port 1..65535)",
			              p->parental_agents[i] != NULL ? p->parental_agents[i] : "");
		}
	}
	if (p->poll_interval < 60) {
		return refuse(w, KASP_ERR_VALUE, "parent.poll_interval",
		              "%s is below 1m: the parent's servers would be polled too often",
		              D(&d, 0, p->poll_interval));
	}
	if (p->ncds_digests > KASP_POLICY_MAX_DIGESTS) {
		return refuse(w, KASP_ERR_VALUE, "parent.cds_digests", "at most %d digest types",
		              KASP_POLICY_MAX_DIGESTS);
	}
	for (size_t i = 0; i < p->ncds_digests; i++) {
		uint8_t t = p->cds_digests[i];
		if (t != 2 && t != 4) {
			return refuse(w, KASP_ERR_VALUE, "parent.cds_digests",
			              "%u: digest types are 2 (SHA-256) and 4 (SHA-384)", t);
		}
		for (size_t j = 0; j < i; j++) {
			if (p->cds_digests[j] == t) {
				return refuse(w, KASP_ERR_VALUE, "parent.cds_digests",
				              "%u listed twice", t);
			}
		}
	}
	if (p->cds_publish && p->ncds_digests == 0) {
		return refuse(w, KASP_ERR_VALUE, "parent.cds_digests",
		              "CDS is published (parent.cds) but no digest type is listed");
	}
	return KASP_OK;
}

static int check_rollovers(const kasp_policy_t *p, why_t *w)
{
	durs_t d;
	if (p->ksk_roll != KASP_POLICY_DOUBLE_KSK && p->ksk_roll != KASP_POLICY_DOUBLE_DS) {
		return refuse(w, KASP_ERR_VALUE, "keys.ksk_roll",
		              "must be double_ksk or double_ds");
	}
	if (p->rfc5011 && p->ksk_roll == KASP_POLICY_DOUBLE_DS) {
		return refuse(w, KASP_ERR_VALUE, "keys.rfc5011",
		              "RFC 5011 needs keys.ksk_roll double_ksk: the new KSK must be "
		              "published beside the old one for the add hold-down");
	}
	if (p->rfc5011 && p->add_hold_down < 30 * DAY) {
		return refuse(w, KASP_ERR_VALUE, "keys.add_hold_down",
		              "%s is below 30d, the hold-down of RFC 5011 validators (section "
		              "2.4.1)",
		              D(&d, 0, p->add_hold_down));
	}
	for (int r = 0; r < KASP_POLICY_ROLES; r++) {
		const kasp_policy_key_t *k = kasp_policy_key(p, (kasp_policy_role_t)r);
		kasp_policy_rollover_t ro;
		if (k == NULL || k->lifetime == 0 ||
		    kasp_policy_rollover(p, (kasp_policy_role_t)r, &ro) != KASP_OK ||
		    (int64_t)k->lifetime >= ro.total) {
			continue;
		}
		return refuse(w, KASP_ERR_TIMING, role_lifetime[r],
		              "%s is shorter than a %s rollover, %s (publish %s, switch %s, "
		              "retire %s): the next rollover would start before this one ends",
		              D(&d, 0, k->lifetime), kasp_policy_role_str((kasp_policy_role_t)r),
		              D(&d, 1, ro.total), D(&d, 2, ro.ipub), D(&d, 3, ro.iswap),
		              D(&d, 4, ro.iret));
	}
	return KASP_OK;
}

static int check(const kasp_policy_t *p, why_t *w)
{
	if (p->name != NULL && !valid_name(p->name)) {
		return refuse(w, KASP_ERR_VALUE, "name",
		              "a policy name is 1 to 63 of A-Z a-z 0-9 . _ -");
	}
	const hsm_alg_t *alg = hsm_alg_by_number(p->algorithm);
	if (alg == NULL) {
		return refuse(w, KASP_ERR_VALUE, "algorithm",
		              "%u is not supported (8 RSASHA256, 10 RSASHA512, 13 ECDSAP256SHA256, "
		              "14 ECDSAP384SHA384, 15 ED25519, 16 ED448)",
		              p->algorithm);
	}
	for (const field_t *f = fields; f->group != NULL; f++) {
		if (f->type == F_DUR && dur_of(p, f) > KASP_POLICY_MAX_SECONDS) {
			return refuse(w, KASP_ERR_VALUE, f->field,
			              "%" PRIu32 " seconds is above 2^31 - 1", dur_of(p, f));
		}
	}
	if (p->ttl_policy != KASP_POLICY_TTL_REFUSE && p->ttl_policy != KASP_POLICY_TTL_CAP) {
		return refuse(w, KASP_ERR_VALUE, "zone.ttl_policy", "must be refuse or cap");
	}
	int ret = check_keys(p, alg, w);
	if (ret == KASP_OK) {
		ret = check_signatures(p, w);
	}
	if (ret == KASP_OK) {
		ret = check_denial(p, w);
	}
	if (ret == KASP_OK) {
		ret = check_parent(p, w);
	}
	if (ret == KASP_OK) {
		ret = check_rollovers(p, w);
	}
	return ret;
}

/* Writes "PREFIXpolicy 'NAME': FIELD: msg" ("policy (unnamed)" without a
 * name, no "FIELD: " without a field) into err, if any. */
static void write_refusal(char *err, size_t errlen, const char *prefix, const char *name,
                          const char *field, const char *msg)
{
	char who[80];
	if (err == NULL || errlen == 0) {
		return;
	}
	if (name != NULL) {
		snprintf(who, sizeof(who), "'%.64s'", name);
	} else {
		snprintf(who, sizeof(who), "(unnamed)");
	}
	snprintf(err, errlen, "%spolicy %s: %s%s%s", prefix, who, field != NULL ? field : "",
	         field != NULL ? ": " : "", msg);
}

int kasp_policy_check(const kasp_policy_t *p, char *err, size_t errlen)
{
	why_t w = {NULL, ""};
	if (p == NULL) {
		write_refusal(err, errlen, "", NULL, NULL, "no policy");
		return KASP_ERR_INVAL;
	}
	int ret = check(p, &w);
	if (ret != KASP_OK) {
		write_refusal(err, errlen, "", p->name, w.field, w.msg);
	}
	return ret;
}

int kasp_policy_check_zone(const kasp_policy_t *p, uint32_t soa_expire, uint32_t zone_max_ttl,
                           char *err, size_t errlen)
{
	why_t w = {NULL, ""};
	durs_t d;
	int ret = KASP_OK;
	if (p == NULL) {
		write_refusal(err, errlen, "", NULL, NULL, "no policy");
		return KASP_ERR_INVAL;
	}
	int64_t ttl = largest_ttl(p);
	if (p->ttl_policy == KASP_POLICY_TTL_REFUSE && zone_max_ttl > p->max_zone_ttl) {
		ret = refuse(&w, KASP_ERR_ZONE, "zone.max_ttl",
		             "the zone has a TTL of %s, above %s (zone.ttl_policy refuse): lower "
		             "the zone's TTLs, raise zone.max_ttl or set zone.ttl_policy cap",
		             D(&d, 0, zone_max_ttl), D(&d, 1, p->max_zone_ttl));
	} else if ((int64_t)p->refresh < (int64_t)soa_expire + ttl) {
		ret = refuse(
		        &w, KASP_ERR_ZONE, "signatures.refresh",
		        "%s is below the zone's SOA EXPIRE %s + the largest TTL %s (%s) = %s: "
		        "a secondary cut off from the signer serves the zone until EXPIRE "
		        "and resolvers cache it for the TTL; raise signatures.refresh or lower "
		        "the SOA EXPIRE",
		        D(&d, 0, p->refresh), D(&d, 1, soa_expire), D(&d, 2, ttl),
		        largest_ttl_field(p), D(&d, 3, (int64_t)soa_expire + ttl));
	}
	if (ret != KASP_OK) {
		write_refusal(err, errlen, "", p->name, w.field, w.msg);
	}
	return ret;
}

/* ---- YAML ------------------------------------------------------------------ */

typedef struct {
	const char *field;
	unsigned long line;
} mark_t;

typedef struct {
	yaml_document_t *doc;
	const char *path;   /* NULL: "line N: " */
	const char *name;   /* the policy's name (in the document), NULL until known */
	unsigned long line; /* the policy's first line */
	mark_t marks[64];   /* the line of each field given */
	size_t nmarks;
	char *err;
	size_t errlen;
} ctx_t;

static unsigned long line_of(const yaml_node_t *node)
{
	return node != NULL ? (unsigned long)node->start_mark.line + 1 : 0ul;
}

static void write_at(ctx_t *c, unsigned long line, const char *field, const char *msg)
{
	char prefix[320];
	if (c->path != NULL) {
		snprintf(prefix, sizeof(prefix), "%s:%lu: ", c->path, line);
	} else {
		snprintf(prefix, sizeof(prefix), "line %lu: ", line);
	}
	write_refusal(c->err, c->errlen, prefix, c->name, field, msg);
}

__attribute__((format(printf, 5, 6))) static int fail(ctx_t *c, const yaml_node_t *node, int status,
                                                      const char *field, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	write_at(c, node != NULL ? line_of(node) : c->line, field, msg);
	return status;
}

static void mark(ctx_t *c, const char *field, const yaml_node_t *node)
{
	if (c->nmarks < sizeof(c->marks) / sizeof(c->marks[0])) {
		c->marks[c->nmarks].field = field;
		c->marks[c->nmarks].line = line_of(node);
		c->nmarks++;
	}
}

static unsigned long marked_line(const ctx_t *c, const char *field)
{
	for (size_t i = 0; field != NULL && i < c->nmarks; i++) {
		if (strcmp(c->marks[i].field, field) == 0) {
			return c->marks[i].line;
		}
	}
	return c->line;
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Checks that node is a mapping whose keys are strings, each given once. */
static int check_mapping(ctx_t *c, yaml_node_t *node, const char *field)
{
	if (node == NULL || node->type != YAML_MAPPING_NODE) {
		return fail(c, node, KASP_ERR_SYNTAX, field, "must be a mapping");
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const char *key = scalar(k);
		if (key == NULL) {
			return fail(c, k, KASP_ERR_SYNTAX, field, "mapping keys must be strings");
		}
		for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *prev = yaml_document_get_node(c->doc, q->key);
			if (strcmp(scalar(prev), key) == 0) {
				return fail(c, k, KASP_ERR_DUPLICATE, field,
				            "'%s' given twice (first on line %lu)", key,
				            line_of(prev));
			}
		}
	}
	return KASP_OK;
}

static int get_duration(ctx_t *c, yaml_node_t *v, const char *field, uint32_t *out)
{
	if (!parse_duration(scalar(v), out)) {
		return fail(c, v, KASP_ERR_VALUE, field,
		            "'%.64s' is not a duration (seconds, or digits with s, m, h, d or w; "
		            "at most 2^31 - 1 seconds)",
		            scalar(v) != NULL ? scalar(v) : "(not a scalar)");
	}
	mark(c, field, v);
	return KASP_OK;
}

static int get_bool(ctx_t *c, yaml_node_t *v, const char *field, bool *out)
{
	const char *s = scalar(v);
	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)) {
		*out = true;
	} else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)) {
		*out = false;
	} else {
		return fail(c, v, KASP_ERR_VALUE, field, "must be true or false");
	}
	mark(c, field, v);
	return KASP_OK;
}

static int get_uint(ctx_t *c, yaml_node_t *v, const char *field, uint64_t max, uint64_t *out)
{
	if (!parse_uint(scalar(v), max, out)) {
		return fail(c, v, KASP_ERR_VALUE, field, "must be an integer from 0 to %" PRIu64,
		            max);
	}
	mark(c, field, v);
	return KASP_OK;
}

/* Replaces *out with a copy of the scalar (non-empty). */
static int get_string(ctx_t *c, yaml_node_t *v, const char *field, char **out)
{
	const char *s = scalar(v);
	if (s == NULL || *s == '\0') {
		return fail(c, v, KASP_ERR_VALUE, field, "must be a non-empty string");
	}
	char *copy = strdup(s);
	if (copy == NULL) {
		return fail(c, v, KASP_ERR_NOMEM, field, "out of memory");
	}
	free(*out);
	*out = copy;
	mark(c, field, v);
	return KASP_OK;
}

/* The plain fields of group (fields[]); KASP_ERR_VALUE "unknown key" when
 * key is none of them. */
static int get_field(ctx_t *c, kasp_policy_t *p, const char *group, yaml_node_t *k, yaml_node_t *v)
{
	const char *key = scalar(k);
	for (const field_t *f = fields; f->group != NULL; f++) {
		if (strcmp(f->group, group) == 0 && strcmp(f->key, key) == 0) {
			return f->type == F_DUR ? get_duration(c, v, f->field, dur_at(p, f))
			                        : get_bool(c, v, f->field, flag_at(p, f));
		}
	}
	return fail(c, k, KASP_ERR_VALUE, group, "unknown key '%s'", key);
}

/* Iterates over the pairs of a checked mapping. */
#define FOR_PAIRS(c, node, k, v)                                                                   \
	for (yaml_node_pair_t *pair_ = (node)->data.mapping.pairs.start;                           \
	     pair_ < (node)->data.mapping.pairs.top &&                                             \
	     ((k) = yaml_document_get_node((c)->doc, pair_->key),                                  \
	     (v) = yaml_document_get_node((c)->doc, pair_->value), 1);                             \
	     pair_++)

static int load_role(ctx_t *c, kasp_policy_t *p, int role, yaml_node_t *node)
{
	kasp_policy_key_t *key = &p->key[role];
	yaml_node_t *k = NULL, *v = NULL;
	const char *group = role_group[role];
	int ret = check_mapping(c, node, group);
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		const char *name = scalar(k);
		uint64_t n = 0;
		if (strcmp(name, "bits") == 0) {
			ret = get_uint(c, v, role_bits[role], 65535, &n);
			key->bits = (uint16_t)n;
		} else if (strcmp(name, "lifetime") == 0) {
			ret = get_duration(c, v, role_lifetime[role], &key->lifetime);
		} else if (strcmp(name, "token") == 0) {
			ret = get_string(c, v, role_token[role], &key->token);
		} else {
			ret = fail(c, k, KASP_ERR_VALUE, group, "unknown key '%s'", name);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	return KASP_OK;
}

static int load_keys(ctx_t *c, kasp_policy_t *p, yaml_node_t *node)
{
	yaml_node_t *k = NULL, *v = NULL;
	yaml_node_t *given[KASP_POLICY_ROLES] = {NULL, NULL, NULL};
	int ret = check_mapping(c, node, "keys");
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		const char *key = scalar(k);
		int role = -1;
		for (int r = 0; r < KASP_POLICY_ROLES; r++) {
			role = strcmp(key, role_key[r]) == 0 ? r : role;
		}
		if (role >= 0) {
			given[role] = k;
			ret = load_role(c, p, role, v);
		} else if (strcmp(key, "ksk_roll") == 0) {
			const char *s = scalar(v);
			if (s != NULL && strcmp(s, "double_ksk") == 0) {
				p->ksk_roll = KASP_POLICY_DOUBLE_KSK;
			} else if (s != NULL && strcmp(s, "double_ds") == 0) {
				p->ksk_roll = KASP_POLICY_DOUBLE_DS;
			} else {
				ret = fail(c, v, KASP_ERR_VALUE, "keys.ksk_roll",
				           "must be double_ksk or double_ds");
			}
			mark(c, "keys.ksk_roll", v);
		} else {
			ret = get_field(c, p, "keys", k, v);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	yaml_node_t *split =
	        given[KASP_POLICY_KSK] != NULL ? given[KASP_POLICY_KSK] : given[KASP_POLICY_ZSK];
	if (given[KASP_POLICY_CSK] != NULL && split != NULL) {
		return fail(c, given[KASP_POLICY_CSK], KASP_ERR_VALUE, "keys.csk",
		            "give csk or ksk + zsk, not both");
	}
	if (given[KASP_POLICY_CSK] != NULL) {
		p->csk = true;
	} else if (split != NULL) {
		p->csk = false;
	}
	return KASP_OK;
}

static int load_denial(ctx_t *c, kasp_policy_t *p, yaml_node_t *node)
{
	yaml_node_t *k = NULL, *v = NULL;
	yaml_node_t *nsec3_only = NULL, *type = NULL;
	int ret = check_mapping(c, node, "denial");
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		const char *key = scalar(k);
		uint64_t n = 0;
		if (strcmp(key, "type") == 0) {
			const char *s = scalar(v);
			type = v;
			if (s != NULL && (strcmp(s, "nsec") == 0 || strcmp(s, "nsec3") == 0)) {
				p->nsec3 = strcmp(s, "nsec3") == 0;
				mark(c, "denial.type", v);
			} else {
				ret = fail(c, v, KASP_ERR_VALUE, "denial.type",
				           "must be nsec or nsec3");
			}
		} else if (strcmp(key, "iterations") == 0) {
			nsec3_only = k;
			ret = get_uint(c, v, "denial.iterations", 65535, &n);
			p->nsec3_iterations = (uint16_t)n;
		} else if (strcmp(key, "salt") == 0) {
			const char *s = scalar(v);
			nsec3_only = k;
			if (s == NULL) {
				ret = fail(c, v, KASP_ERR_VALUE, "denial.salt",
				           "must be hex digits, \"\" or \"-\"");
			} else if (*s == '\0' || strcmp(s, "-") == 0) {
				free(p->nsec3_salt);
				p->nsec3_salt = NULL;
				mark(c, "denial.salt", v);
			} else if ((ret = get_string(c, v, "denial.salt", &p->nsec3_salt)) ==
			           KASP_OK) {
				for (char *q = p->nsec3_salt; *q != '\0'; q++) {
					*q = (char)tolower((unsigned char)*q);
				}
			}
		} else if (strcmp(key, "opt_out") == 0) {
			nsec3_only = k;
			ret = get_field(c, p, "denial", k, v);
		} else {
			ret = get_field(c, p, "denial", k, v);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	if (type != NULL && !p->nsec3 && nsec3_only != NULL) {
		return fail(c, nsec3_only, KASP_ERR_VALUE, "denial",
		            "'%s' applies to NSEC3 only, and denial.type is nsec",
		            scalar(nsec3_only));
	}
	return KASP_OK;
}

static int load_zone(ctx_t *c, kasp_policy_t *p, yaml_node_t *node)
{
	yaml_node_t *k = NULL, *v = NULL;
	int ret = check_mapping(c, node, "zone");
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		if (strcmp(scalar(k), "ttl_policy") == 0) {
			const char *s = scalar(v);
			if (s != NULL && strcmp(s, "refuse") == 0) {
				p->ttl_policy = KASP_POLICY_TTL_REFUSE;
			} else if (s != NULL && strcmp(s, "cap") == 0) {
				p->ttl_policy = KASP_POLICY_TTL_CAP;
			} else {
				ret = fail(c, v, KASP_ERR_VALUE, "zone.ttl_policy",
				           "must be refuse or cap");
			}
			mark(c, "zone.ttl_policy", v);
		} else {
			ret = get_field(c, p, "zone", k, v);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	return KASP_OK;
}

static int load_agents(ctx_t *c, kasp_policy_t *p, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		return fail(c, v, KASP_ERR_SYNTAX, "parent.agents",
		            "must be a list of \"ip\" or \"ip@port\"");
	}
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	char **agents = calloc(n + 1, sizeof(*agents));
	if (agents == NULL) {
		return fail(c, v, KASP_ERR_NOMEM, "parent.agents", "out of memory");
	}
	for (size_t i = 0; i < p->nparental_agents; i++) {
		free(p->parental_agents[i]);
	}
	free(p->parental_agents);
	p->parental_agents = agents;
	p->nparental_agents = 0;
	mark(c, "parent.agents", v);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, items[i]);
		const char *s = scalar(item);
		int family = 0;
		uint8_t addr[16];
		uint16_t port = 0;
		if (!kasp_policy_parse_agent(s, &family, addr, &port)) {
			return fail(c, item, KASP_ERR_VALUE, "parent.agents",
			            "'%.64s' is not \"ip\" or \"ip@port\" (port 1..65535)",
			            s != NULL ? s : "(not a scalar)");
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(agents[j], s) == 0) {
				return fail(c, item, KASP_ERR_VALUE, "parent.agents",
				            "'%s' listed twice", s);
			}
		}
		agents[i] = strdup(s);
		if (agents[i] == NULL) {
			return fail(c, item, KASP_ERR_NOMEM, "parent.agents", "out of memory");
		}
		p->nparental_agents++;
	}
	return KASP_OK;
}

static int load_digests(ctx_t *c, kasp_policy_t *p, yaml_node_t *v)
{
	static const struct {
		const char *name;
		uint8_t type;
	} names[] = {{"2", 2},      {"4", 4},       {"SHA-256", 2},
	             {"SHA256", 2}, {"SHA-384", 4}, {"SHA384", 4}};
	if (v->type != YAML_SEQUENCE_NODE) {
		return fail(c, v, KASP_ERR_SYNTAX, "parent.cds_digests",
		            "must be a list of digest types (2, 4)");
	}
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	p->ncds_digests = 0;
	mark(c, "parent.cds_digests", v);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, items[i]);
		const char *s = scalar(item);
		uint8_t type = 0;
		for (size_t j = 0; s != NULL && j < sizeof(names) / sizeof(names[0]); j++) {
			type = strcasecmp(s, names[j].name) == 0 ? names[j].type : type;
		}
		if (type == 0) {
			return fail(c, item, KASP_ERR_VALUE, "parent.cds_digests",
			            "'%.32s': digest types are 2 (SHA-256) and 4 (SHA-384)",
			            s != NULL ? s : "(not a scalar)");
		}
		for (size_t j = 0; j < p->ncds_digests; j++) {
			if (p->cds_digests[j] == type) {
				return fail(c, item, KASP_ERR_VALUE, "parent.cds_digests",
				            "%u listed twice", type);
			}
		}
		p->cds_digests[p->ncds_digests++] = type;
	}
	return KASP_OK;
}

static int load_parent(ctx_t *c, kasp_policy_t *p, yaml_node_t *node)
{
	yaml_node_t *k = NULL, *v = NULL;
	int ret = check_mapping(c, node, "parent");
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		const char *key = scalar(k);
		if (strcmp(key, "agents") == 0) {
			ret = load_agents(c, p, v);
		} else if (strcmp(key, "cds_digests") == 0) {
			ret = load_digests(c, p, v);
		} else {
			ret = get_field(c, p, "parent", k, v);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	return KASP_OK;
}

/* A group of plain fields only (signatures). */
static int load_group(ctx_t *c, kasp_policy_t *p, const char *group, yaml_node_t *node)
{
	yaml_node_t *k = NULL, *v = NULL;
	int ret = check_mapping(c, node, group);
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		ret = get_field(c, p, group, k, v);
		if (ret != KASP_OK) {
			return ret;
		}
	}
	return KASP_OK;
}

static int get_algorithm(ctx_t *c, yaml_node_t *v, uint8_t *out)
{
	const char *s = scalar(v);
	uint64_t n = 0;
	if (s != NULL && isdigit((unsigned char)*s)) {
		if (!parse_uint(s, 255, &n)) {
			return fail(c, v, KASP_ERR_VALUE, "algorithm",
			            "must be an algorithm number (0..255) or name");
		}
		*out = (uint8_t)n;
	} else {
		const hsm_alg_t *alg = hsm_alg_by_name(s);
		if (alg == NULL) {
			return fail(c, v, KASP_ERR_VALUE, "algorithm",
			            "unknown algorithm '%.32s' (RSASHA256, RSASHA512, "
			            "ECDSAP256SHA256, ECDSAP384SHA384, ED25519, ED448)",
			            s != NULL ? s : "(not a scalar)");
		}
		*out = alg->number;
	}
	mark(c, "algorithm", v);
	return KASP_OK;
}

/* Reads node into *p (which holds the defaults and owns what is read). */
static int load_policy(ctx_t *c, yaml_node_t *node, kasp_policy_t *p)
{
	yaml_node_t *k = NULL, *v = NULL;
	c->line = line_of(node);
	c->name = NULL;
	c->nmarks = 0;
	if (node == NULL || node->type != YAML_MAPPING_NODE) {
		return fail(c, node, KASP_ERR_SYNTAX, NULL, "a policy must be a mapping");
	}
	/* The name first, so that every message names the policy. */
	FOR_PAIRS(c, node, k, v)
	{
		if (scalar(k) != NULL && strcmp(scalar(k), "name") == 0 && scalar(v) != NULL &&
		    valid_name(scalar(v))) {
			c->name = scalar(v);
		}
	}
	int ret = check_mapping(c, node, NULL);
	if (ret != KASP_OK) {
		return ret;
	}
	FOR_PAIRS(c, node, k, v)
	{
		const char *key = scalar(k);
		if (strcmp(key, "name") == 0) {
			ret = get_string(c, v, "name", &p->name);
			if (ret == KASP_OK && !valid_name(p->name)) {
				ret = fail(c, v, KASP_ERR_VALUE, "name",
				           "'%.64s': a policy name is 1 to 63 of A-Z a-z 0-9 . _ -",
				           p->name);
			}
		} else if (strcmp(key, "algorithm") == 0) {
			ret = get_algorithm(c, v, &p->algorithm);
		} else if (strcmp(key, "keys") == 0) {
			ret = load_keys(c, p, v);
		} else if (strcmp(key, "signatures") == 0) {
			ret = load_group(c, p, "signatures", v);
		} else if (strcmp(key, "denial") == 0) {
			ret = load_denial(c, p, v);
		} else if (strcmp(key, "zone") == 0) {
			ret = load_zone(c, p, v);
		} else if (strcmp(key, "parent") == 0) {
			ret = load_parent(c, p, v);
		} else {
			ret = fail(c, k, KASP_ERR_VALUE, NULL, "unknown key '%s'", key);
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	if (p->name == NULL) {
		return fail(c, node, KASP_ERR_VALUE, "name", "a policy needs a name");
	}
	/* RSA keys without bits take the algorithm's default size. */
	const hsm_alg_t *alg = hsm_alg_by_number(p->algorithm);
	for (int r = 0; alg != NULL && alg->keytype == HSM_KEYTYPE_RSA && r < KASP_POLICY_ROLES;
	     r++) {
		if (p->key[r].bits == 0) {
			p->key[r].bits = (uint16_t)alg->default_bits;
		}
	}
	why_t w = {NULL, ""};
	ret = check(p, &w);
	if (ret != KASP_OK) {
		write_at(c, marked_line(c, w.field), w.field, w.msg);
	}
	return ret;
}

/* Reads a policy into *out (written only on success). */
static int policy_from(ctx_t *c, yaml_node_t *node, kasp_policy_t *out)
{
	kasp_policy_t p;
	kasp_policy_defaults(&p);
	int ret = load_policy(c, node, &p);
	if (ret != KASP_OK) {
		kasp_policy_deinit(&p);
		return ret;
	}
	*out = p;
	return KASP_OK;
}

int kasp_policy_from_yaml(yaml_document_t *doc, yaml_node_t *node, kasp_policy_t *out, char *err,
                          size_t errlen)
{
	ctx_t c;
	memset(&c, 0, sizeof(c));
	c.doc = doc;
	c.err = err;
	c.errlen = errlen;
	if (doc == NULL || out == NULL) {
		return fail(&c, node, KASP_ERR_INVAL, NULL, "no document or no policy to fill");
	}
	return policy_from(&c, node, out);
}

__attribute__((format(printf, 3, 4))) static void say(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
	va_list ap;
	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int load_list(ctx_t *c, yaml_node_t *list, kasp_policy_t **out, size_t *nout)
{
	if (list->type != YAML_SEQUENCE_NODE) {
		say(c->err, c->errlen, "%s:%lu: policies must be a list", c->path, line_of(list));
		return KASP_ERR_SYNTAX;
	}
	yaml_node_item_t *items = list->data.sequence.items.start;
	size_t n = (size_t)(list->data.sequence.items.top - items);
	/* Entries not read stay zeroed, which kasp_policies_free() takes. */
	kasp_policy_t *policies = n != 0 ? calloc(n, sizeof(*policies)) : NULL;
	int ret = KASP_OK;
	if (n != 0 && policies == NULL) {
		say(c->err, c->errlen, "%s:%lu: out of memory", c->path, line_of(list));
		return KASP_ERR_NOMEM;
	}
	for (size_t i = 0; i < n && ret == KASP_OK; i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, items[i]);
		ret = policy_from(c, item, &policies[i]);
		for (size_t j = 0; ret == KASP_OK && j < i; j++) {
			if (strcmp(policies[j].name, policies[i].name) == 0) {
				yaml_node_t *first = yaml_document_get_node(c->doc, items[j]);
				c->name = policies[i].name;
				ret = fail(c, item, KASP_ERR_DUPLICATE, "name",
				           "a policy of this name is already on line %lu",
				           line_of(first));
			}
		}
	}
	if (ret != KASP_OK) {
		kasp_policies_free(policies, n);
		return ret;
	}
	*out = policies;
	*nout = n;
	return KASP_OK;
}

int kasp_policies_load_file(const char *path, kasp_policy_t **out, size_t *n, char *err,
                            size_t errlen)
{
	ctx_t c;
	yaml_document_t doc;
	yaml_parser_t parser;
	bool have_doc = false;
	int ret = KASP_OK;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.doc = &doc;
	c.err = err;
	c.errlen = errlen;
	if (path == NULL || out == NULL || n == NULL) {
		c.path = "";
		return fail(&c, NULL, KASP_ERR_INVAL, NULL, "no path or no result to fill");
	}
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		int e = errno;
		say(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOMEM ? KASP_ERR_NOMEM : KASP_ERR_IO;
	}
	if (yaml_parser_initialize(&parser) == 0) {
		fclose(fp);
		return fail(&c, NULL, KASP_ERR_NOMEM, NULL, "out of memory");
	}
	yaml_parser_set_input_file(&parser, fp);
	have_doc = yaml_parser_load(&parser, &doc) != 0;
	if (!have_doc) {
		say(err, errlen, "%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "YAML syntax error");
		ret = parser.error == YAML_MEMORY_ERROR ? KASP_ERR_NOMEM : KASP_ERR_SYNTAX;
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	if (ret != KASP_OK) {
		return ret;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *list = NULL;
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		say(err, errlen, "%s:%lu: a policy file is a mapping with policies:", path,
		    root != NULL ? line_of(root) : 1ul);
		ret = KASP_ERR_SYNTAX;
		goto done;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		const char *key = scalar(k);
		if (key != NULL && strcmp(key, "policies") == 0 && list == NULL) {
			list = yaml_document_get_node(&doc, p->value);
		} else if (key != NULL && strcmp(key, "policies") == 0) {
			say(err, errlen, "%s:%lu: 'policies' given twice", path, line_of(k));
			ret = KASP_ERR_DUPLICATE;
			goto done;
		} else {
			say(err, errlen, "%s:%lu: unknown key '%s' (a policy file holds policies:)",
			    path, line_of(k), key != NULL ? key : "(not a string)");
			ret = KASP_ERR_VALUE;
			goto done;
		}
	}
	if (list == NULL) {
		say(err, errlen, "%s:%lu: no policies: list", path, line_of(root));
		ret = KASP_ERR_SYNTAX;
		goto done;
	}
	ret = load_list(&c, list, out, n);
done:
	yaml_document_delete(&doc);
	return ret;
}
