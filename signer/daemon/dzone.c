#include "signer/daemon/dzone.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "signer/daemon/dzone_merge.h"
#include "signer/daemon/log.h"
#include "signer/nsec/nsec3.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_keyset.h"
#include "signer/sign/sign_zone.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_file.h"
#include "signer/zone/zone_serial.h"
#include "signer/zone/zone_snap.h"

#define DAY                      (24 * 3600)
#define DEFAULT_VALIDITY         (14 * DAY)
#define DEFAULT_REFRESH          (5 * DAY)
#define DEFAULT_JITTER           (12 * 3600)
#define DEFAULT_INCEPTION_OFFSET 3600
/* Retry of a failed pass: from 1 s, doubling, at most 5 minutes. */
#define RETRY_MIN 1
#define RETRY_MAX 300

struct dzone {
	const dzone_env_t *env;
	char *name; /* presentation form, trailing dot */
	uint8_t apex[DNAME_MAXLEN];
	char *dir;
	Signer__V1__ZoneConfig *cfg; /* immutable after creation */
	sign_zone_params_t params;   /* from cfg; timing.now set per pass */
	const kasp_policy_t *policy; /* NULL: the keys of cfg */

	pthread_mutex_t mu; /* guards the fields down to the next comment */
	dzone_version_t *cur;
	int64_t next_event; /* INT64_MAX: none */
	char last_error[512];
	int64_t last_error_at;
	uint64_t created, reused; /* last pass */
	bool signing;

	pthread_mutex_t jmu; /* guards journal (readers vs the pass) */
	zone_journal_t *journal;

	/* Pass thread only. */
	sign_keyset_t ks;
	bool ks_ready;
	uint32_t snap_serial; /* serial of the snapshot on disk */
	bool have_snap;
	uint64_t journal_at_snap; /* journal bytes when it was written */
	uint64_t snap_size;       /* bytes of the snapshot file */
	unsigned retry;           /* seconds of the next retry backoff */
	uint64_t keyset_digest;   /* of the key set cur was signed with (0: unknown) */
	uint32_t serial_floor;    /* after a restore: the next serial (0: none) */
};

static int64_t resign_time(const dzone_t *z, const dzone_version_t *v);
static void keep_journal(dzone_t *z, const dzone_version_t *v, int64_t now);

/* --- versions --- */

dzone_version_t *dzone_version_ref(dzone_version_t *v)
{
	if (v != NULL) {
		atomic_fetch_add(&v->refs, 1);
	}
	return v;
}

void dzone_version_unref(dzone_version_t *v)
{
	if (v != NULL && atomic_fetch_sub(&v->refs, 1) == 1) {
		zone_free(v->zone);
		free(v);
	}
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The SOA serial of a version (0 without SOA). */
static uint32_t soa_serial(const zone_t *z)
{
	const zone_rrset_t *soa = zone_apex_rrset(z, ZONE_TYPE_SOA);
	size_t pos = 0;
	zone_rdata_t rd;
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd)) {
		return 0;
	}
	size_t p = 0;
	for (int n = 0; n < 2; n++) {
		while (p < rd.len && rd.data[p] != 0) {
			p += 1u + rd.data[p];
		}
		p++;
	}
	return p + 4 <= rd.len ? rd32(rd.data + p) : 0;
}

static dzone_version_t *version_new(zone_t *z, uint32_t input_serial, int64_t published_at,
                                    int64_t now)
{
	dzone_version_t *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		return NULL;
	}
	atomic_init(&v->refs, 1);
	v->zone = z;
	v->serial = soa_serial(z);
	v->input_serial = input_serial;
	v->published_at = published_at;
	/* Counted per chunk of names, each kept in the chunk: a version made
	 * from the last one reads only the chunks that changed. */
	zone_seq_stats_t st = {.min_expiration = INT64_MAX};
	zone_seq_stats(&z->names, now, &st);
	zone_seq_stats(&z->nsec3, now, &st);
	v->records = st.records;
	v->wire_size = st.wire_size;
	v->earliest_expiration = st.min_expiration != INT64_MAX ? st.min_expiration : 0;
	return v;
}

/* --- changes --- */

dzone_change_t *dzone_change_new(dzone_change_kind_t kind)
{
	dzone_change_t *c = calloc(1, sizeof(*c));
	if (c != NULL) {
		c->kind = kind;
		zone_delta_init(&c->delta);
	}
	return c;
}

void dzone_change_free(dzone_change_t *c)
{
	if (c == NULL) {
		return;
	}
	zone_free(c->full);
	zone_delta_deinit(&c->delta);
	free(c->warnings);
	free(c);
}

/* --- configuration --- */

__attribute__((format(printf, 3, 4))) static Signer__V1__Status fail(char *err, size_t errlen,
                                                                     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SIGNER__V1__STATUS__BAD_REQUEST;
}

static Signer__V1__Status read_serial_policy(dzone_t *z, char *err, size_t errlen)
{
	const Signer__V1__ZoneConfig *c = z->cfg;
	z->params.serial = ZONE_SERIAL_INCREMENT;
	if (c->serial_policy != NULL && c->serial_policy[0] != '\0' &&
	    !zone_serial_policy_from_str(c->serial_policy, &z->params.serial)) {
		return fail(err, errlen, "unknown serial policy \"%s\"", c->serial_policy);
	}
	return SIGNER__V1__STATUS__OK;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Fills z->params from the zone's policy: keys, timing and denial come
 * from it, so the configuration gives none of them. */
static Signer__V1__Status read_policy(dzone_t *z, char *err, size_t errlen)
{
	const Signer__V1__ZoneConfig *c = z->cfg;
	sign_zone_params_t *p = &z->params;
	const kasp_policy_t *pol =
	        z->env->kasp != NULL ? dkasp_policy(z->env->kasp, c->policy) : NULL;
	if (pol == NULL) {
		return fail(err, errlen, "no policy named '%s' in the configuration", c->policy);
	}
	if (c->n_keys > 0 || c->nsec3 != NULL || c->validity || c->refresh || c->jitter ||
	    c->inception_offset || c->dnskey_ttl) {
		return fail(err, errlen,
		            "policy '%s' gives the keys, signature timing, DNSKEY TTL and denial: "
		            "give none of them with it",
		            pol->name);
	}
	p->timing.validity = pol->validity;
	p->timing.refresh = pol->refresh;
	p->timing.jitter = pol->jitter;
	p->timing.inception_offset = pol->inception_offset;
	if (sign_plan_timing_check(&p->timing) != SIGN_OK) {
		return fail(err, errlen, "policy '%s': signature timing refused by the signer",
		            pol->name);
	}
	p->dnskey_ttl = pol->dnskey_ttl;
	if (pol->nsec3) {
		p->nsec3 = true;
		p->nsec3_params.iterations = pol->nsec3_iterations;
		p->nsec3_params.opt_out = pol->nsec3_opt_out;
		size_t n = pol->nsec3_salt != NULL ? strlen(pol->nsec3_salt) / 2 : 0;
		for (size_t i = 0; i < n && i < sizeof(p->nsec3_params.salt); i++) {
			p->nsec3_params.salt[i] = (uint8_t)(hexval(pol->nsec3_salt[2 * i]) << 4 |
			                                    hexval(pol->nsec3_salt[2 * i + 1]));
		}
		p->nsec3_params.salt_len = (uint8_t)n;
	}
	z->policy = pol;
	return read_serial_policy(z, err, errlen);
}

/* Fills z->params from z->cfg, checking it. */
static Signer__V1__Status read_config(dzone_t *z, char *err, size_t errlen)
{
	const Signer__V1__ZoneConfig *c = z->cfg;
	sign_zone_params_t *p = &z->params;
	memset(p, 0, sizeof(*p));
	if (c->policy != NULL && c->policy[0] != '\0') {
		return read_policy(z, err, errlen);
	}
	p->timing.validity = c->validity ? c->validity : DEFAULT_VALIDITY;
	p->timing.refresh = c->refresh ? c->refresh : DEFAULT_REFRESH;
	p->timing.jitter = c->jitter ? c->jitter : DEFAULT_JITTER;
	p->timing.inception_offset =
	        c->inception_offset ? c->inception_offset : DEFAULT_INCEPTION_OFFSET;
	if (p->timing.validity > 0x7fffffffu || p->timing.jitter > p->timing.validity / 2) {
		return fail(err, errlen, "validity %u or jitter %u out of range",
		            p->timing.validity, p->timing.jitter);
	}
	if (sign_plan_timing_check(&p->timing) != SIGN_OK) {
		return fail(err, errlen,
		            "validity %us is not above inception offset %us + refresh %us",
		            p->timing.validity, p->timing.inception_offset, p->timing.refresh);
	}
	p->dnskey_ttl = c->dnskey_ttl;
	Signer__V1__Status sst = read_serial_policy(z, err, errlen);
	if (sst != SIGNER__V1__STATUS__OK) {
		return sst;
	}
	if (c->nsec3 != NULL) {
		p->nsec3 = true;
		if (c->nsec3->iterations > 500) {
			return fail(err, errlen, "NSEC3 iterations %u above 500 (RFC 9276: use 0)",
			            c->nsec3->iterations);
		}
		if (c->nsec3->salt.len > 255) {
			return fail(err, errlen, "NSEC3 salt longer than 255 octets");
		}
		p->nsec3_params.iterations = (uint16_t)c->nsec3->iterations;
		p->nsec3_params.salt_len = (uint8_t)c->nsec3->salt.len;
		if (c->nsec3->salt.len > 0) {
			memcpy(p->nsec3_params.salt, c->nsec3->salt.data, c->nsec3->salt.len);
		}
		p->nsec3_params.opt_out = c->nsec3->opt_out;
	}
	if (c->n_keys == 0) {
		return fail(err, errlen, "a zone needs keys (KSK and ZSK, or CSK)");
	}
	bool ksk = false, zsk = false, csk = false;
	for (size_t i = 0; i < c->n_keys; i++) {
		if (c->keys[i]->key == NULL || c->keys[i]->key[0] == '\0') {
			return fail(err, errlen, "key %zu has no name", i + 1);
		}
		if (c->keys[i]->token != NULL && c->keys[i]->token[0] != '\0' &&
		    hsm_ctx_token(z->env->hsm, c->keys[i]->token) == NULL) {
			return fail(err, errlen, "key %s: no token named %s in the configuration",
			            c->keys[i]->key, c->keys[i]->token);
		}
		switch (c->keys[i]->role) {
		case SIGNER__V1__ZONE_KEY__ROLE__KSK:
			ksk = true;
			break;
		case SIGNER__V1__ZONE_KEY__ROLE__ZSK:
			zsk = true;
			break;
		case SIGNER__V1__ZONE_KEY__ROLE__CSK:
			csk = true;
			break;
		default:
			return fail(err, errlen, "key %s: unknown role", c->keys[i]->key);
		}
	}
	if (!csk && !(ksk && zsk)) {
		return fail(err, errlen, "a zone needs a KSK and a ZSK, or a CSK");
	}
	return SIGNER__V1__STATUS__OK;
}

/* Directory name of a zone: its name without the trailing dot when made of
 * letters, digits, '-', '_' and '.', else "x" and the wire form in hex. */
static void dir_name(const uint8_t *apex, const char *name, char *out, size_t cap)
{
	size_t len = strlen(name);
	bool plain = len > 0 && len < cap && name[0] != '.';
	for (size_t i = 0; plain && i < len; i++) {
		char ch = name[i];
		plain = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		        ch == '_' || ch == '.';
	}
	if (strcmp(name, ".") == 0) {
		snprintf(out, cap, "root.");
		return;
	}
	if (plain) {
		snprintf(out, cap, "%.*s", (int)(len - 1), name);
		return;
	}
	size_t n = 0;
	out[n++] = 'x';
	for (size_t i = 0; i < dname_length(apex) && n + 3 < cap; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%02x", apex[i]);
	}
	out[n] = '\0';
}

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p != NULL) {
		snprintf(p, n, "%s/%s", a, b);
	}
	return p;
}

/* Writes data to dir/name crash-safely (zone_file.h: temporary file, fsync,
 * rename, fsync of the directory). */
static int write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char *path = path_join(dir, name), *tmp = NULL;
	int fd = -1;
	int ret = path == NULL ? -ENOMEM : zone_file_temp(path, &tmp, &fd);
	if (ret == 0) {
		ret = zone_file_write_all(fd, data, len);
	}
	if (ret == 0 && fsync(fd) != 0) {
		ret = -errno;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (ret == 0 && rename(tmp, path) != 0) {
		ret = -errno;
	}
	if (ret != 0 && tmp != NULL) {
		unlink(tmp);
	}
	if (ret == 0) {
		ret = zone_file_sync_dir(path);
	}
	free(path);
	free(tmp);
	return ret;
}

static dzone_t *zone_alloc(const dzone_env_t *env)
{
	dzone_t *z = calloc(1, sizeof(*z));
	if (z == NULL) {
		return NULL;
	}
	z->env = env;
	pthread_mutex_init(&z->mu, NULL);
	pthread_mutex_init(&z->jmu, NULL);
	z->next_event = INT64_MAX;
	z->retry = RETRY_MIN;
	sign_keyset_init(&z->ks);
	return z;
}

/* Sets name, apex and params from z->cfg. */
static Signer__V1__Status zone_setup(dzone_t *z, char *err, size_t errlen)
{
	const char *name = z->cfg->name;
	size_t len = 0;
	if (name == NULL || dname_from_str(name, NULL, z->apex, sizeof(z->apex), &len) != 0) {
		return fail(err, errlen, "bad zone name \"%s\"", name != NULL ? name : "");
	}
	dname_to_lower(z->apex);
	char text[DNAME_STR_MAXLEN];
	dname_to_str(z->apex, text, sizeof(text));
	z->name = strdup(text);
	if (z->name == NULL) {
		snprintf(err, errlen, "out of memory");
		return SIGNER__V1__STATUS__INTERNAL;
	}
	/* The stored configuration names the zone canonically. */
	free(z->cfg->name);
	z->cfg->name = strdup(text);
	if (z->cfg->name == NULL) {
		snprintf(err, errlen, "out of memory");
		return SIGNER__V1__STATUS__INTERNAL;
	}
	return read_config(z, err, errlen);
}

static Signer__V1__ZoneConfig *config_copy(const Signer__V1__ZoneConfig *cfg)
{
	size_t len = signer__v1__zone_config__get_packed_size(cfg);
	uint8_t *buf = malloc(len + 1);
	if (buf == NULL) {
		return NULL;
	}
	signer__v1__zone_config__pack(cfg, buf);
	Signer__V1__ZoneConfig *copy = signer__v1__zone_config__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

static int open_journal(dzone_t *z, char *err, size_t errlen)
{
	char *path = path_join(z->dir, "journal");
	if (path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Trims go down to 3/4 of each limit, so that a journal at its limit is
	 * not snapshotted at every publication (make_durable). */
	const zone_journal_limits_t *lim = &z->env->journal_limits;
	zone_journal_limits_t low = {
	        .max_entries = lim->max_entries > 0 ? (lim->max_entries * 3 + 3) / 4 : 0,
	        .max_bytes = lim->max_bytes > 0 ? (lim->max_bytes * 3 + 3) / 4 : 0,
	        .max_age = lim->max_age,
	};
	size_t dropped = 0;
	int ret = zone_journal_open(path, &low, &z->journal, &dropped);
	free(path);
	if (ret != ZONE_OK) {
		snprintf(err, errlen, "journal: %s", zone_strerror(ret));
		return -1;
	}
	if (dropped > 0) {
		log_zone(LOG_WARNING, z->name,
		         "journal: dropped %zu bytes of an unfinished write (never acknowledged)",
		         dropped);
	}
	return 0;
}

static int find_key(dzone_t *z, const Signer__V1__ZoneKey *k, hsm_key_t *out, hsm_detail_t *d);

/* Every key must be in its token, once: a zone is not added with a key that
 * is missing or ambiguous. A token that cannot be reached now is no reason to
 * refuse (the zone signs once it is back). */
static Signer__V1__Status check_keys(dzone_t *z, char *err, size_t errlen)
{
	for (size_t i = 0; i < z->cfg->n_keys; i++) {
		hsm_key_t key;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int ret = find_key(z, z->cfg->keys[i], &key, &d);
		if (ret == HSM_ERR_NO_KEY || ret == HSM_ERR_MANY_KEYS || ret == HSM_ERR_URI) {
			char buf[256];
			return fail(err, errlen, "key %s: %s", z->cfg->keys[i]->key,
			            hsm_detail_format(ret, &d, buf, sizeof(buf)));
		}
		if (ret != HSM_OK) {
			char buf[256];
			log_zone(LOG_WARNING, z->name, "key %s not checked: %s",
			         z->cfg->keys[i]->key,
			         hsm_detail_format(ret, &d, buf, sizeof(buf)));
		}
	}
	return SIGNER__V1__STATUS__OK;
}

Signer__V1__Status dzone_create(const dzone_env_t *env, const Signer__V1__ZoneConfig *cfg,
                                dzone_t **out, char *err, size_t errlen)
{
	dzone_t *z = zone_alloc(env);
	if (z == NULL || (z->cfg = config_copy(cfg)) == NULL) {
		dzone_free(z);
		snprintf(err, errlen, "out of memory");
		return SIGNER__V1__STATUS__INTERNAL;
	}
	Signer__V1__Status st = zone_setup(z, err, errlen);
	if (st == SIGNER__V1__STATUS__OK && z->policy == NULL) {
		st = check_keys(z, err, errlen);
	} else if (st == SIGNER__V1__STATUS__OK &&
	           dkasp_zone_add(env->kasp, z->name, z->policy->name, err, errlen) != 0) {
		st = SIGNER__V1__STATUS__INTERNAL;
	}
	if (st != SIGNER__V1__STATUS__OK) {
		dzone_free(z);
		return st;
	}
	char dn[2 * DNAME_MAXLEN + 8], *zones = path_join(env->state_dir, "zones");
	dir_name(z->apex, z->name, dn, sizeof(dn));
	z->dir = zones != NULL ? path_join(zones, dn) : NULL;
	if (z->dir == NULL) {
		free(zones);
		dzone_free(z);
		snprintf(err, errlen, "out of memory");
		return SIGNER__V1__STATUS__INTERNAL;
	}
	mkdir(env->state_dir, 0700);
	mkdir(zones, 0700);
	if (mkdir(z->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", z->dir, strerror(errno));
		free(zones);
		dzone_free(z);
		return SIGNER__V1__STATUS__INTERNAL;
	}
	/* Leftovers of a zone removed before are dropped. */
	char *p = path_join(z->dir, "signed.snap");
	if (p != NULL) {
		unlink(p);
		free(p);
	}
	p = path_join(z->dir, "journal");
	if (p != NULL) {
		unlink(p);
		free(p);
	}
	size_t len = signer__v1__zone_config__get_packed_size(z->cfg);
	uint8_t *buf = malloc(len + 1);
	int ret = buf == NULL ? -ENOMEM : 0;
	if (ret == 0) {
		signer__v1__zone_config__pack(z->cfg, buf);
		ret = write_file(z->dir, "config.pb", buf, len);
	}
	free(buf);
	if (ret == 0) {
		ret = zone_file_sync_dir(z->dir); /* the zone's entry in zones/ */
	}
	free(zones);
	if (ret != 0) {
		snprintf(err, errlen, "%s: %s", z->dir, strerror(-ret));
		dzone_free(z);
		return SIGNER__V1__STATUS__INTERNAL;
	}
	if (open_journal(z, err, errlen) != 0) {
		dzone_free(z);
		return SIGNER__V1__STATUS__INTERNAL;
	}
	*out = z;
	return SIGNER__V1__STATUS__OK;
}

/* Loads the snapshot and replays the journal after it. */
static int load_state(dzone_t *z, int64_t now, char *err, size_t errlen)
{
	char *path = path_join(z->dir, "signed.snap");
	if (path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		free(path);
		/* Added but never published: the journal must be empty. */
		return zone_journal_count(z->journal) > 0 ? (zone_journal_reset(z->journal), 0) : 0;
	}
	zone_t *zone = NULL;
	zone_snap_meta_t meta;
	memset(&meta, 0, sizeof(meta));
	int ret = zone_snap_load(path, &zone, &meta);
	free(path);
	if (ret != ZONE_OK) {
		snprintf(err, errlen, "signed.snap: %s", zone_strerror(ret));
		return -1;
	}
	free((void *)meta.extra);
	z->have_snap = true;
	z->snap_serial = meta.serial;
	z->snap_size = (uint64_t)st.st_size;
	uint32_t input_serial = meta.input_serial;
	int64_t published_at = meta.published_at;
	size_t idx = 0;
	if (zone_journal_find(z->journal, meta.serial, &idx)) {
		size_t count = zone_journal_count(z->journal);
		for (; idx < count; idx++) {
			zone_delta_t d;
			zone_delta_init(&d);
			uint32_t aux = 0;
			int64_t t = 0;
			ret = zone_journal_read(z->journal, idx, &d, &aux, &t);
			zone_t *next = NULL;
			if (ret == ZONE_OK) {
				ret = zone_delta_apply(zone, &d, ZONE_APPLY_SIGNED, NULL, NULL,
				                       &next);
			}
			zone_delta_deinit(&d);
			if (ret != ZONE_OK) {
				snprintf(err, errlen, "journal entry %zu: %s", idx + 1,
				         zone_strerror(ret));
				zone_free(zone);
				return -1;
			}
			zone_free(zone);
			zone = next;
			input_serial = aux;
			published_at = t;
		}
	}
	uint32_t last = 0;
	if (zone_journal_last_serial(z->journal, &last) && last != soa_serial(zone)) {
		/* The journal belongs to an older snapshot (a crash between
		 * writing a new snapshot and emptying the journal). */
		log_zone(LOG_NOTICE, z->name, "journal ends at serial %u, zone at %u: emptied",
		         last, soa_serial(zone));
		zone_journal_reset(z->journal);
	}
	z->journal_at_snap = zone_journal_bytes(z->journal);
	dzone_version_t *v = version_new(zone, input_serial, published_at, now);
	if (v == NULL) {
		zone_free(zone);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	z->cur = v;
	/* Signatures that came back from disk are refreshed on schedule (at
	 * once if they are due). */
	z->next_event = resign_time(z, v);
	return 0;
}

/* Removes temporary files a crash left behind (never renamed into place:
 * nothing was published from them). */
static void remove_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".tmp") == NULL) {
			continue;
		}
		char *p = path_join(dir, e->d_name);
		if (p != NULL) {
			unlink(p);
			free(p);
		}
	}
	closedir(d);
}

int dzone_open(const dzone_env_t *env, const char *dir, dzone_t **out, char *err, size_t errlen)
{
	remove_leftovers(dir);
	dzone_t *z = zone_alloc(env);
	if (z == NULL || (z->dir = strdup(dir)) == NULL) {
		dzone_free(z);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char *path = path_join(dir, "config.pb");
	size_t len = 0;
	uint8_t *buf = NULL;
	if (path == NULL || zone_file_read_all(path, &buf, &len) != 0) {
		buf = NULL;
	}
	free(path);
	if (buf == NULL) {
		snprintf(err, errlen, "%s/config.pb: cannot be read", dir);
		dzone_free(z);
		return -1;
	}
	z->cfg = signer__v1__zone_config__unpack(NULL, len, buf);
	free(buf);
	if (z->cfg == NULL) {
		snprintf(err, errlen, "%s/config.pb: not a zone configuration", dir);
		dzone_free(z);
		return -1;
	}
	if (zone_setup(z, err, errlen) != SIGNER__V1__STATUS__OK ||
	    (z->policy != NULL &&
	     dkasp_zone_add(env->kasp, z->name, z->policy->name, err, errlen) != 0) ||
	    open_journal(z, err, errlen) != 0) {
		dzone_free(z);
		return -1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (load_state(z, ts.tv_sec, err, errlen) != 0) {
		dzone_free(z);
		return -1;
	}
	if (z->cur != NULL) {
		/* A crash between a publication and its trim left it long. */
		keep_journal(z, z->cur, ts.tv_sec);
	}
	if (z->cur != NULL && env->restore_bump > 0) {
		/* Restored from a backup: the old node may have published
		 * serials after it; the next one goes past them, at once. */
		z->serial_floor = z->cur->serial + env->restore_bump;
		if (z->serial_floor == 0) {
			z->serial_floor = 1;
		}
		z->next_event = 0;
		log_zone(LOG_NOTICE, z->name, "restored at serial %u: the next serial is %u",
		         z->cur->serial, z->serial_floor);
	}
	*out = z;
	return 0;
}

static int rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		char *p = path_join(dir, e->d_name);
		if (p != NULL) {
			unlink(p);
			free(p);
		}
	}
	closedir(d);
	return rmdir(dir) == 0 ? 0 : -errno;
}

int dzone_destroy_state(dzone_t *z)
{
	if (z->policy != NULL) {
		char err[256];
		if (dkasp_zone_remove(z->env->kasp, z->name, err, sizeof(err)) != 0) {
			log_zone(LOG_ERR, z->name, "removing its keys: %s", err);
		}
	}
	/* config.pb first: a crash half-way leaves no zone behind. */
	char *p = path_join(z->dir, "config.pb");
	if (p != NULL) {
		unlink(p);
		zone_file_sync_dir(p);
		free(p);
	}
	pthread_mutex_lock(&z->jmu);
	zone_journal_close(z->journal);
	z->journal = NULL;
	pthread_mutex_unlock(&z->jmu);
	return rm_rf(z->dir);
}

void dzone_free(dzone_t *z)
{
	if (z == NULL) {
		return;
	}
	dzone_version_unref(z->cur);
	zone_journal_close(z->journal);
	sign_keyset_deinit(&z->ks);
	if (z->cfg != NULL) {
		signer__v1__zone_config__free_unpacked(z->cfg, NULL);
	}
	pthread_mutex_destroy(&z->mu);
	pthread_mutex_destroy(&z->jmu);
	free(z->name);
	free(z->dir);
	free(z);
}

const char *dzone_name(const dzone_t *z)
{
	return z->name;
}

const uint8_t *dzone_apex(const dzone_t *z)
{
	return z->apex;
}

dzone_version_t *dzone_current(dzone_t *z)
{
	pthread_mutex_lock(&z->mu);
	dzone_version_t *v = dzone_version_ref(z->cur);
	pthread_mutex_unlock(&z->mu);
	return v;
}

static Signer__V1__Alarm alarm_at(const dzone_t *z, int64_t earliest, int64_t now)
{
	if (earliest == 0) {
		return SIGNER__V1__ALARM__NONE;
	}
	int64_t left = earliest - now;
	uint32_t refresh = z->params.timing.refresh;
	if (left < (int64_t)refresh / 4) {
		return SIGNER__V1__ALARM__CRITICAL;
	}
	if (left < (int64_t)refresh / 2) {
		return SIGNER__V1__ALARM__WARNING;
	}
	return SIGNER__V1__ALARM__NONE;
}

Signer__V1__Alarm dzone_alarm(dzone_t *z, int64_t now)
{
	pthread_mutex_lock(&z->mu);
	int64_t e = z->cur != NULL ? z->cur->earliest_expiration : 0;
	pthread_mutex_unlock(&z->mu);
	return alarm_at(z, e, now);
}

void dzone_wake(dzone_t *z, int64_t when)
{
	pthread_mutex_lock(&z->mu);
	if (when < z->next_event) {
		z->next_event = when;
	}
	pthread_mutex_unlock(&z->mu);
}

const kasp_policy_t *dzone_policy(const dzone_t *z)
{
	return z->policy;
}

int64_t dzone_next_event(dzone_t *z)
{
	pthread_mutex_lock(&z->mu);
	int64_t t = z->next_event;
	pthread_mutex_unlock(&z->mu);
	return t;
}

const char *dzone_token_state(const hsm_token_stats_t *s, bool *up)
{
	switch (s->state) {
	case HSM_TOKEN_UP:
		*up = true;
		return "up";
	case HSM_TOKEN_RECOVERING:
		*up = false;
		return "reconnecting";
	case HSM_TOKEN_DOWN:
		*up = false;
		return "down";
	default:
		/* Never reached yet: fine until a first connection failed. */
		*up = s->last_status == HSM_OK;
		return *up ? "not connected yet" : "down";
	}
}

/* The tokens of the zone's keys (every token when a key names none). */
static void status_tokens(const dzone_t *z, Signer__V1__ZoneStatus *st)
{
	hsm_ctx_t *hsm = z->env->hsm;
	size_t nt = hsm_ctx_count(hsm);
	st->tokens = calloc(nt + 1, sizeof(*st->tokens));
	if (st->tokens == NULL) {
		return;
	}
	for (size_t i = 0; i < nt; i++) {
		hsm_token_t *t = hsm_ctx_token_at(hsm, i);
		bool used = false;
		for (size_t k = 0; k < z->cfg->n_keys && !used; k++) {
			const char *name = z->cfg->keys[k]->token;
			used = name == NULL || name[0] == '\0' ||
			       strcmp(name, hsm_token_name(t)) == 0;
		}
		Signer__V1__TokenStatus *ts = used ? malloc(sizeof(*ts)) : NULL;
		if (ts == NULL) {
			continue;
		}
		signer__v1__token_status__init(ts);
		hsm_token_stats_t s;
		hsm_token_stats(t, &s);
		ts->name = (char *)hsm_token_name(t);
		bool up = false;
		ts->state = (char *)dzone_token_state(&s, &up);
		ts->reconnects = s.reconnects;
		ts->retries = s.retries;
		ts->failures = s.failures;
		st->tokens[st->n_tokens++] = ts;
	}
}

void dzone_status(dzone_t *z, int64_t now, Signer__V1__ZoneStatus *st)
{
	signer__v1__zone_status__init(st);
	st->config = config_copy(z->cfg);
	status_tokens(z, st);
	if (z->policy != NULL) {
		dkasp_status(z->env->kasp, z->name, st);
	}
	pthread_mutex_lock(&z->mu);
	if (z->cur != NULL) {
		st->published = true;
		st->serial = z->cur->serial;
		st->input_serial = z->cur->input_serial;
		st->published_at = z->cur->published_at;
		st->earliest_expiration = z->cur->earliest_expiration;
		st->records = z->cur->records;
	}
	st->next_event = z->next_event == INT64_MAX ? 0 : z->next_event;
	st->last_error = strdup(z->last_error);
	st->last_error_at = z->last_error_at;
	st->signatures_created = z->created;
	st->signatures_reused = z->reused;
	st->signing = z->signing;
	int64_t e = st->earliest_expiration;
	pthread_mutex_unlock(&z->mu);
	st->alarm = alarm_at(z, e, now);
	pthread_mutex_lock(&z->jmu);
	if (z->journal != NULL) {
		st->journal_entries = (uint32_t)zone_journal_count(z->journal);
		zone_journal_first_serial(z->journal, &st->journal_first_serial);
	}
	pthread_mutex_unlock(&z->jmu);
}

void dzone_status_clear(Signer__V1__ZoneStatus *st)
{
	if (st->config != NULL) {
		signer__v1__zone_config__free_unpacked(st->config, NULL);
	}
	free(st->last_error);
	/* Token names and states are static or the context's: not freed. */
	for (size_t i = 0; i < st->n_tokens; i++) {
		free(st->tokens[i]);
	}
	free(st->tokens);
	st->tokens = NULL;
	st->n_tokens = 0;
	st->config = NULL;
	st->last_error = NULL;
	for (size_t i = 0; i < st->n_keys; i++) {
		signer__v1__key_state__free_unpacked(st->keys[i], NULL);
	}
	free(st->keys);
	st->keys = NULL;
	st->n_keys = 0;
	/* Set by dkasp_status (malloc'ed) or still protobuf-c's empty string. */
	if (st->kasp_blocked != protobuf_c_empty_string) {
		free(st->kasp_blocked);
	}
	if (st->parent_poll != protobuf_c_empty_string) {
		free(st->parent_poll);
	}
	st->kasp_blocked = NULL;
	st->parent_poll = NULL;
}

bool dzone_read_deltas(dzone_t *z, uint32_t from_serial,
                       int (*fn)(void *ctx, const zone_delta_t *d), void *ctx, int *fn_ret)
{
	*fn_ret = 0;
	pthread_mutex_lock(&z->jmu);
	size_t idx = 0;
	bool found = z->journal != NULL && zone_journal_find(z->journal, from_serial, &idx);
	size_t count = found && fn != NULL ? zone_journal_count(z->journal) : 0;
	for (; found && idx < count && *fn_ret == 0; idx++) {
		zone_delta_t d;
		zone_delta_init(&d);
		uint32_t aux = 0;
		int64_t t = 0;
		int ret = zone_journal_read(z->journal, idx, &d, &aux, &t);
		*fn_ret = ret != ZONE_OK ? ret : fn(ctx, &d);
		zone_delta_deinit(&d);
	}
	pthread_mutex_unlock(&z->jmu);
	return found;
}

int dzone_backup(dzone_t *z, const char *dir, char *err, size_t errlen)
{
	const char *base = strrchr(z->dir, '/');
	base = base != NULL ? base + 1 : z->dir;
	size_t len = strlen(dir) + strlen(base) + 16;
	char *zdir = malloc(len);
	if (zdir == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(zdir, len, "%s/zones", dir);
	mkdir(zdir, 0700);
	snprintf(zdir, len, "%s/zones/%s", dir, base);
	int ret = mkdir(zdir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
	size_t clen = signer__v1__zone_config__get_packed_size(z->cfg);
	uint8_t *buf = ret == 0 ? malloc(clen + 1) : NULL;
	if (ret == 0 && buf == NULL) {
		ret = -ENOMEM;
	}
	if (ret == 0) {
		signer__v1__zone_config__pack(z->cfg, buf);
		ret = write_file(zdir, "config.pb", buf, clen);
	}
	free(buf);
	dzone_version_t *v = dzone_current(z);
	if (ret == 0 && v != NULL) {
		char *path = path_join(zdir, "signed.snap");
		zone_snap_meta_t meta = {.serial = v->serial,
		                         .input_serial = v->input_serial,
		                         .published_at = v->published_at};
		int st = path != NULL ? zone_snap_save(path, v->zone, &meta) : ZONE_ERR_NOMEM;
		free(path);
		if (st != ZONE_OK) {
			snprintf(err, errlen, "%s/signed.snap: %s", zdir, zone_strerror(st));
			ret = -1;
		}
	} else if (ret != 0) {
		snprintf(err, errlen, "%s: %s", zdir, strerror(-ret));
		ret = -1;
	}
	dzone_version_unref(v);
	free(zdir);
	return ret;
}

void dzone_keys(dzone_t *z, void (*fn)(void *ctx, const Signer__V1__ZoneKey *k), void *ctx)
{
	for (size_t i = 0; i < z->cfg->n_keys; i++) {
		fn(ctx, z->cfg->keys[i]);
	}
}

/* --- the key set --- */

static sign_role_t role_of(Signer__V1__ZoneKey__Role r)
{
	switch (r) {
	case SIGNER__V1__ZONE_KEY__ROLE__KSK:
		return SIGN_ROLE_KSK;
	case SIGNER__V1__ZONE_KEY__ROLE__ZSK:
		return SIGN_ROLE_ZSK;
	default:
		return SIGN_ROLE_CSK;
	}
}

/* Finds one key by spec, in the named token if any. */
static int find_key(dzone_t *z, const Signer__V1__ZoneKey *k, hsm_key_t *out, hsm_detail_t *d)
{
	if (k->token == NULL || k->token[0] == '\0') {
		return hsm_key_find(z->env->hsm, k->key, out, d);
	}
	hsm_key_t *keys = NULL;
	size_t n = 0, found = 0;
	int ret = hsm_key_find_all(z->env->hsm, k->key, &keys, &n, d);
	hsm_token_t *token = hsm_ctx_token(z->env->hsm, k->token);
	for (size_t i = 0; ret == HSM_OK && i < n; i++) {
		if (keys[i].token == token) {
			*out = keys[i];
			found++;
		}
	}
	free(keys);
	if (ret == HSM_OK && found != 1) {
		ret = found == 0 ? HSM_ERR_NO_KEY : HSM_ERR_MANY_KEYS;
		snprintf(d->text, sizeof(d->text), "key %s in token %s", k->key, k->token);
	}
	return ret;
}

static int build_keyset(dzone_t *z, char *err, size_t errlen)
{
	if (z->ks_ready) {
		return 0;
	}
	sign_keyset_deinit(&z->ks);
	sign_keyset_init(&z->ks);
	for (size_t i = 0; i < z->cfg->n_keys; i++) {
		const Signer__V1__ZoneKey *k = z->cfg->keys[i];
		hsm_key_t key;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int ret = find_key(z, k, &key, &d);
		if (ret == HSM_OK) {
			ret = sign_keyset_add(&z->ks, &key, NULL, role_of(k->role), true, true,
			                      false, false, &d);
		}
		if (ret != HSM_OK) {
			char buf[256];
			snprintf(err, errlen, "key %s: %s", k->key,
			         hsm_detail_format(ret, &d, buf, sizeof(buf)));
			sign_keyset_deinit(&z->ks);
			sign_keyset_init(&z->ks);
			return -1;
		}
	}
	z->ks_ready = true;
	return 0;
}

int dzone_ds(dzone_t *z, bool sha384, Signer__V1__DsRecord ***out, size_t *n, char *err,
             size_t errlen)
{
	/* Key lookups only: a private key set so that passes are not disturbed. */
	sign_keyset_t ks;
	sign_keyset_init(&ks);
	int ret = 0;
	for (size_t i = 0; i < z->cfg->n_keys && ret == 0; i++) {
		const Signer__V1__ZoneKey *k = z->cfg->keys[i];
		if (k->role == SIGNER__V1__ZONE_KEY__ROLE__ZSK) {
			continue;
		}
		hsm_key_t key;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int st = find_key(z, k, &key, &d);
		if (st == HSM_OK) {
			st = sign_keyset_add(&ks, &key, NULL, role_of(k->role), true, true, false,
			                     false, &d);
		}
		if (st != HSM_OK) {
			char buf[256];
			snprintf(err, errlen, "key %s: %s", k->key,
			         hsm_detail_format(st, &d, buf, sizeof(buf)));
			ret = -1;
		}
	}
	*out = NULL;
	*n = 0;
	Signer__V1__DsRecord **list = calloc(ks.count * 2 + 1, sizeof(*list));
	if (ret == 0 && list == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = -1;
	}
	size_t count = 0;
	uint8_t digests[] = {HSM_DS_SHA256, HSM_DS_SHA384};
	for (size_t i = 0; ret == 0 && i < ks.count; i++) {
		const sign_key_t *k = &ks.keys[i];
		for (size_t t = 0; t < (sha384 ? 2u : 1u); t++) {
			uint8_t ds[HSM_DS_RDATA_MAX];
			size_t len = 0;
			if (hsm_dnskey_ds(z->apex, dname_length(z->apex), k->dnskey, k->dnskey_len,
			                  digests[t], ds, sizeof(ds), &len) != HSM_OK) {
				continue;
			}
			Signer__V1__DsRecord *r = malloc(sizeof(*r));
			char *text = malloc(DNAME_STR_MAXLEN + 2 * len + 64);
			uint8_t *dig = malloc(len);
			if (r == NULL || text == NULL || dig == NULL) {
				free(r);
				free(text);
				free(dig);
				snprintf(err, errlen, "out of memory");
				ret = -1;
				break;
			}
			signer__v1__ds_record__init(r);
			r->key_tag = k->tag;
			r->algorithm = k->alg->number;
			r->digest_type = digests[t];
			memcpy(dig, ds + 4, len - 4);
			r->digest.data = dig;
			r->digest.len = len - 4;
			int off = snprintf(text, DNAME_STR_MAXLEN + 64, "%s IN DS %u %u %u ",
			                   z->name, k->tag, k->alg->number, digests[t]);
			for (size_t j = 4; j < len; j++) {
				off += sprintf(text + off, "%02X", ds[j]);
			}
			r->text = text;
			list[count++] = r;
		}
	}
	sign_keyset_deinit(&ks);
	if (ret != 0) {
		for (size_t i = 0; i < count; i++) {
			signer__v1__ds_record__free_unpacked(list[i], NULL);
		}
		free(list);
		return -1;
	}
	*out = list;
	*n = count;
	return 0;
}

/* --- the pass --- */

typedef struct {
	char *buf;
	size_t len, cap;
	size_t lines;
} msgbuf_t;

static void msg_add(msgbuf_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_add(msgbuf_t *m, const char *fmt, ...)
{
	if (m->lines >= 20) {
		m->lines++;
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	size_t need = m->len + (size_t)n + 2;
	if (need > m->cap) {
		size_t cap = need * 2;
		char *b = realloc(m->buf, cap);
		if (b == NULL) {
			return;
		}
		m->buf = b;
		m->cap = cap;
	}
	if (m->len > 0) {
		m->buf[m->len++] = '\n';
	}
	memcpy(m->buf + m->len, line, (size_t)n + 1);
	m->len += (size_t)n;
	m->lines++;
}

static void diag(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                 const char *msg)
{
	msgbuf_t *m = ctx;
	if (level == ZONE_DIAG_ERROR) {
		msg_add(m, "%s:%lu: %s", file, line, msg);
	}
}

static void sign_report(void *ctx, sign_zone_level_t level, const char *msg)
{
	dzone_t *z = ctx;
	log_zone(level == SIGN_ZONE_INFO ? LOG_INFO
	                                 : (level == SIGN_ZONE_WARNING ? LOG_WARNING : LOG_ERR),
	         z->name, "%s", msg);
}

static void finish(dzone_change_t *c, const dzone_result_t *r)
{
	c->next = NULL;
	c->done(c->ctx, c, r);
}

static void finish_all(dzone_change_t *list, const dzone_result_t *r)
{
	while (list != NULL) {
		dzone_change_t *next = list->next;
		finish(list, r);
		list = next;
	}
}

static void set_error(dzone_t *z, int64_t now, const char *msg)
{
	pthread_mutex_lock(&z->mu);
	snprintf(z->last_error, sizeof(z->last_error), "%s", msg);
	z->last_error_at = now;
	pthread_mutex_unlock(&z->mu);
}

/* Rewrites the SOA of a front-end's change: the SOA it removes is the
 * input's (our signed SOA has another serial), the one it adds replaces ours. */
static int prepare_delta(const zone_t *work, dzone_change_t *c, zone_delta_t *out, msgbuf_t *m)
{
	zone_delta_init(out);
	const zone_rrset_t *soa = zone_apex_rrset(work, ZONE_TYPE_SOA);
	bool soa_added = false;
	int ret = ZONE_OK;
	for (size_t i = 0; i < c->delta.nremoved && ret == ZONE_OK; i++) {
		const zone_rr_t *rr = &c->delta.removed[i];
		if (rr->type == ZONE_TYPE_SOA) {
			continue;
		}
		ret = zone_delta_add(out, false, rr->owner, rr->type, rr->ttl, rr->rdata,
		                     rr->rdlen);
	}
	for (size_t i = 0; i < c->delta.nadded && ret == ZONE_OK; i++) {
		const zone_rr_t *rr = &c->delta.added[i];
		if (rr->type == ZONE_TYPE_SOA) {
			if (!dname_equal(rr->owner, work->apex) || soa_added) {
				msg_add(m, "added:%zu: SOA not at the apex, or more than one",
				        i + 1);
				return ZONE_ERR_SOA_NOT_APEX;
			}
			/* Our SOA out, theirs in. */
			size_t pos = 0;
			zone_rdata_t rd;
			if (soa != NULL && zone_rrset_next(soa, &pos, &rd)) {
				ret = zone_delta_add(out, false, work->apex, ZONE_TYPE_SOA,
				                     soa->ttl, rd.data, rd.len);
			}
			soa_added = true;
		}
		if (ret == ZONE_OK) {
			ret = zone_delta_add(out, true, rr->owner, rr->type, rr->ttl, rr->rdata,
			                     rr->rdlen);
		}
	}
	if (ret == ZONE_OK && !soa_added && soa != NULL) {
		/* The new input serial goes into our SOA (serial policy keep). */
		size_t pos = 0;
		zone_rdata_t rd;
		if (zone_rrset_next(soa, &pos, &rd) && rd.len >= 20 && rd.len <= 1024) {
			uint8_t copy[1024];
			memcpy(copy, rd.data, rd.len);
			size_t off = rd.len - 20;
			copy[off] = (uint8_t)(c->to_serial >> 24);
			copy[off + 1] = (uint8_t)(c->to_serial >> 16);
			copy[off + 2] = (uint8_t)(c->to_serial >> 8);
			copy[off + 3] = (uint8_t)c->to_serial;
			ret = zone_delta_add(out, false, work->apex, ZONE_TYPE_SOA, soa->ttl,
			                     rd.data, rd.len);
			if (ret == ZONE_OK) {
				ret = zone_delta_add(out, true, work->apex, ZONE_TYPE_SOA, soa->ttl,
				                     copy, rd.len);
			}
		}
	}
	return ret;
}

/* Applies one change to *work (replacing it); fills r on failure. */
/* Checks the TTLs of the names of next a change brought (every name for a
 * whole zone: c NULL) against the policy's max_zone_ttl: refused, or capped
 * into a new *next (ttl_policy cap); and the SOA EXPIRE against refresh
 * (kasp_policy_check_zone). Returns false with r filled when refused. */
static bool policy_ttls(dzone_t *z, const dzone_change_t *c, zone_t **next, dzone_result_t *r)
{
	const kasp_policy_t *pol = z->policy;
	zone_delta_t cap;
	zone_delta_init(&cap);
	size_t capped = 0;
	size_t n = c == NULL ? (*next)->count : c->delta.nadded;
	int ret = ZONE_OK;
	for (size_t i = 0; i < n && ret == ZONE_OK; i++) {
		size_t idx = i;
		if (c != NULL && !zone_find(*next, c->delta.added[i].owner, &idx)) {
			continue;
		}
		const zone_node_t *node = zone_entry(*next, idx)->node;
		for (size_t t = 0; t < node->nslots && ret == ZONE_OK; t++) {
			const zone_rrset_t *rs = node->slots[t].data;
			if (rs == NULL || zone_type_signer_made(rs->type) ||
			    rs->ttl <= pol->max_zone_ttl) {
				continue;
			}
			char owner[DNAME_STR_MAXLEN];
			dname_to_str(node->owner, owner, sizeof(owner));
			if (pol->ttl_policy == KASP_POLICY_TTL_REFUSE) {
				r->status = SIGNER__V1__STATUS__INVALID_ZONE;
				snprintf(r->message, sizeof(r->message),
				         "change refused, nothing applied: %.600s type %u: TTL %u "
				         "above the "
				         "maximum zone TTL %u of policy '%s' (zone.max_ttl; "
				         "zone.ttl_policy: cap lowers it instead)",
				         owner, rs->type, rs->ttl, pol->max_zone_ttl, pol->name);
				zone_delta_deinit(&cap);
				return false;
			}
			size_t pos = 0;
			zone_rdata_t rd;
			while (ret == ZONE_OK && zone_rrset_next(rs, &pos, &rd)) {
				ret = zone_delta_add(&cap, false, node->owner, rs->type, rs->ttl,
				                     rd.data, rd.len);
				if (ret == ZONE_OK) {
					ret = zone_delta_add(&cap, true, node->owner, rs->type,
					                     pol->max_zone_ttl, rd.data, rd.len);
				}
			}
			capped++;
		}
	}
	zone_t *lowered = NULL;
	if (ret == ZONE_OK && capped > 0) {
		ret = zone_delta_apply(*next, &cap, ZONE_APPLY_UNSIGNED, NULL, NULL, &lowered);
	}
	zone_delta_deinit(&cap);
	if (ret != ZONE_OK) {
		r->status = SIGNER__V1__STATUS__INTERNAL;
		snprintf(r->message, sizeof(r->message), "capping TTLs: %s", zone_strerror(ret));
		return false;
	}
	if (lowered != NULL) {
		log_zone(LOG_NOTICE, z->name,
		         "%zu RRsets had a TTL above %u (policy '%s'): lowered", capped,
		         pol->max_zone_ttl, pol->name);
		zone_free(*next);
		*next = lowered;
	}
	/* SOA EXPIRE: a secondary cut off serves the zone that long. */
	const zone_rrset_t *soa = zone_apex_rrset(*next, ZONE_TYPE_SOA);
	size_t pos = 0;
	zone_rdata_t rd;
	if (soa != NULL && zone_rrset_next(soa, &pos, &rd)) {
		size_t p = 0;
		for (int k = 0; k < 2; k++) {
			while (p < rd.len && rd.data[p] != 0) {
				p += 1u + rd.data[p];
			}
			p++;
		}
		char err[512];
		if (p + 20 <= rd.len && kasp_policy_check_zone(pol, rd32(rd.data + p + 12), 0, err,
		                                               sizeof(err)) != KASP_OK) {
			r->status = SIGNER__V1__STATUS__INVALID_ZONE;
			snprintf(r->message, sizeof(r->message),
			         "change refused, nothing applied: SOA EXPIRE %u: %.400s",
			         rd32(rd.data + p + 12), err);
			return false;
		}
	}
	return true;
}

static bool apply_change(dzone_t *z, dzone_change_t *c, zone_t **work, bool *work_owned,
                         uint32_t *input_serial, dzone_result_t *r)
{
	msgbuf_t m = {0};
	zone_t *next = NULL;
	uint32_t before = *input_serial;
	if (c->kind == DZONE_CHANGE_FULL) {
		next = c->full;
		c->full = NULL;
		*input_serial = soa_serial(next);
	} else {
		if (*work == NULL) {
			r->status = SIGNER__V1__STATUS__NOT_FOUND;
			snprintf(r->message, sizeof(r->message),
			         "zone %s has no data yet: push the whole zone first", z->name);
			return false;
		}
		if (c->from_serial != *input_serial) {
			r->status = SIGNER__V1__STATUS__SERIAL_MISMATCH;
			snprintf(r->message, sizeof(r->message),
			         "from-serial %u does not match the zone's serial %u",
			         c->from_serial, *input_serial);
			return false;
		}
		zone_delta_t d;
		int ret = prepare_delta(*work, c, &d, &m);
		if (ret == ZONE_OK) {
			ret = zone_delta_apply(*work, &d, ZONE_APPLY_UNSIGNED, diag, &m, &next);
		}
		zone_delta_deinit(&d);
		if (ret != ZONE_OK) {
			r->status = ret == ZONE_ERR_NOMEM ? SIGNER__V1__STATUS__INTERNAL
			                                  : SIGNER__V1__STATUS__INVALID_ZONE;
			if (m.lines > 20) {
				msg_add(&m, "(and %zu more)", m.lines - 20);
			}
			snprintf(r->message, sizeof(r->message),
			         "change refused, nothing applied: %s%s%s", zone_strerror(ret),
			         m.len > 0 ? "\n" : "", m.len > 0 ? m.buf : "");
			free(m.buf);
			return false;
		}
		*input_serial = c->to_serial;
	}
	free(m.buf);
	if (z->policy != NULL &&
	    !policy_ttls(z, c->kind == DZONE_CHANGE_FULL ? NULL : c, &next, r)) {
		zone_free(next);
		*input_serial = before;
		return false;
	}
	if (*work_owned) {
		zone_free(*work);
	}
	*work = next;
	*work_owned = true;
	return true;
}

typedef enum {
	MERGE_NONE,    /* no run of two changes here */
	MERGE_DONE,    /* applied: *taken changes */
	MERGE_REFUSED, /* the net effect was refused as a whole */
} merge_t;

/* Applies the leading run of incremental changes of list as one net delta
 * (dzone_merge.h). After MERGE_REFUSED the caller applies the changes one
 * by one, which finds the culprit and gives its exact error. */
static merge_t merge_run(dzone_t *z, dzone_change_t *list, zone_t **work, bool *work_owned,
                         uint32_t *input_serial, size_t *taken)
{
	zone_delta_t net;
	zone_delta_init(&net);
	uint32_t serial = 0;
	zone_t *next = NULL;
	int ret = dzone_merge(*work, list, *input_serial, taken, &serial, &net);
	if (ret != ZONE_OK || *taken < 2) {
		zone_delta_deinit(&net);
		*taken = 0;
		return ret == ZONE_OK ? MERGE_NONE : MERGE_REFUSED;
	}
	ret = zone_delta_apply(*work, &net, ZONE_APPLY_UNSIGNED, NULL, NULL, &next);
	zone_delta_deinit(&net);
	if (ret != ZONE_OK) {
		log_zone(LOG_INFO, z->name,
		         "%zu queued changes refused together (%s): applied one by one", *taken,
		         zone_strerror(ret));
		*taken = 0;
		return MERGE_REFUSED;
	}
	if (*work_owned) {
		zone_free(*work);
	}
	*work = next;
	*work_owned = true;
	*input_serial = serial;
	return MERGE_DONE;
}

static char *snap_path(const dzone_t *z)
{
	return path_join(z->dir, "signed.snap");
}

static int write_snapshot(dzone_t *z, const dzone_version_t *v)
{
	char *path = snap_path(z);
	if (path == NULL) {
		return ZONE_ERR_NOMEM;
	}
	zone_snap_meta_t meta = {.serial = v->serial,
	                         .input_serial = v->input_serial,
	                         .published_at = v->published_at};
	int ret = zone_snap_save(path, v->zone, &meta);
	struct stat st;
	if (ret == ZONE_OK && stat(path, &st) == 0) {
		z->snap_size = (uint64_t)st.st_size;
	}
	free(path);
	if (ret == ZONE_OK) {
		z->have_snap = true;
		z->snap_serial = v->serial;
	}
	return ret;
}

/* Journal retention after a publication (and at start): a new snapshot
 * once the journal since the last one outweighs it, so that a restart
 * replays little, or once the journal is over a limit (it can only shrink
 * down to the last snapshot); then the trim. A failure here loses nothing. */
static void keep_journal(dzone_t *z, const dzone_version_t *v, int64_t now)
{
	const zone_journal_limits_t *lim = &z->env->journal_limits;
	pthread_mutex_lock(&z->jmu);
	uint64_t grown = zone_journal_bytes(z->journal) - z->journal_at_snap;
	size_t count = zone_journal_count(z->journal);
	int64_t oldest = 0;
	bool over = (lim->max_entries > 0 && count > lim->max_entries) ||
	            (lim->max_bytes > 0 && zone_journal_bytes(z->journal) > lim->max_bytes) ||
	            (lim->max_age > 0 && zone_journal_entry(z->journal, 0, NULL, NULL, &oldest) &&
	             oldest < now - lim->max_age);
	pthread_mutex_unlock(&z->jmu);
	if (over || grown > z->snap_size / 2 + (1u << 20)) {
		int st = write_snapshot(z, v);
		if (st == ZONE_OK) {
			pthread_mutex_lock(&z->jmu);
			z->journal_at_snap = zone_journal_bytes(z->journal);
			pthread_mutex_unlock(&z->jmu);
		} else {
			log_zone(LOG_WARNING, z->name, "snapshot: %s", zone_strerror(st));
		}
	}
	pthread_mutex_lock(&z->jmu);
	int st = zone_journal_trim(z->journal, now, z->snap_serial);
	pthread_mutex_unlock(&z->jmu);
	if (st != ZONE_OK) {
		log_zone(LOG_WARNING, z->name, "journal trim: %s", zone_strerror(st));
	}
}

/* Makes v durable: its delta from the published version in the journal, or
 * a new snapshot. */
static int make_durable(dzone_t *z, const dzone_version_t *old, const dzone_version_t *v,
                        int64_t now)
{
	int ret = ZONE_OK;
	if (old == NULL) {
		ret = write_snapshot(z, v);
		if (ret == ZONE_OK) {
			pthread_mutex_lock(&z->jmu);
			ret = zone_journal_reset(z->journal);
			z->journal_at_snap = 0;
			pthread_mutex_unlock(&z->jmu);
		}
		return ret;
	}
	zone_delta_t d;
	zone_delta_init(&d);
	ret = zone_diff(old->zone, v->zone, &d);
	uint64_t size = ret == ZONE_OK ? zone_delta_wire_size(&d) : 0;
	const zone_journal_limits_t *lim = &z->env->journal_limits;
	bool too_big = lim->max_bytes > 0 && size > lim->max_bytes / 2;
	if (ret == ZONE_OK && !too_big) {
		pthread_mutex_lock(&z->jmu);
		ret = zone_journal_append(z->journal, &d, v->input_serial, now);
		if (ret == ZONE_ERR_JOURNAL_SERIAL) {
			/* Out of step (should not happen): start again from a snapshot. */
			too_big = true;
			ret = ZONE_OK;
		}
		pthread_mutex_unlock(&z->jmu);
	}
	zone_delta_deinit(&d);
	if (ret != ZONE_OK) {
		return ret;
	}
	if (too_big) {
		ret = write_snapshot(z, v);
		if (ret == ZONE_OK) {
			pthread_mutex_lock(&z->jmu);
			ret = zone_journal_reset(z->journal);
			z->journal_at_snap = 0;
			pthread_mutex_unlock(&z->jmu);
		}
		return ret;
	}
	keep_journal(z, v, now);
	return ZONE_OK;
}

int dzone_checkpoint(dzone_t *z)
{
	dzone_version_t *v = dzone_current(z);
	int ret = ZONE_OK;
	if (v != NULL && (!z->have_snap || z->snap_serial != v->serial)) {
		ret = write_snapshot(z, v);
		if (ret == ZONE_OK) {
			pthread_mutex_lock(&z->jmu);
			z->journal_at_snap = zone_journal_bytes(z->journal);
			pthread_mutex_unlock(&z->jmu);
		}
	}
	dzone_version_unref(v);
	return ret;
}

/* When the next pass is due for version v: the earliest expiration minus
 * refresh. */
static int64_t resign_time(const dzone_t *z, const dzone_version_t *v)
{
	if (v == NULL || v->earliest_expiration == 0) {
		return INT64_MAX;
	}
	return v->earliest_expiration - (int64_t)z->params.timing.refresh;
}

static bool hsm_failure(int st)
{
	return st <= -1000 && st > -1100;
}

/* Whether rrset (may be NULL) holds exactly want's RDATA with ttl. */
static bool rrset_is(const zone_rrset_t *rrset, const kasp_export_rrset_t *want, uint32_t ttl)
{
	size_t have = rrset != NULL ? rrset->count : 0;
	if (have != want->n || (have > 0 && rrset->ttl != ttl)) {
		return false;
	}
	for (size_t i = 0; i < want->n; i++) {
		size_t pos = 0;
		zone_rdata_t rd;
		bool found = false;
		while (!found && zone_rrset_next(rrset, &pos, &rd)) {
			found = rd.len == want->rr[i].len &&
			        memcmp(rd.data, want->rr[i].data, rd.len) == 0;
		}
		if (!found) {
			return false;
		}
	}
	return true;
}

/* Sets the apex CDS and CDNSKEY RRsets of *work to the key manager's. */
static int set_cds(dzone_t *z, const dkasp_pass_t *kp, zone_t **work, bool *work_owned)
{
	static const uint16_t types[2] = {ZONE_TYPE_CDS, ZONE_TYPE_CDNSKEY};
	const kasp_export_rrset_t *want[2] = {&kp->cds_rr, &kp->cdnskey_rr};
	zone_delta_t d;
	zone_delta_init(&d);
	bool same = true;
	int ret = ZONE_OK;
	for (int t = 0; t < 2 && ret == ZONE_OK; t++) {
		const zone_rrset_t *have = zone_apex_rrset(*work, types[t]);
		if (rrset_is(have, want[t], kp->cds_ttl)) {
			continue;
		}
		same = false;
		size_t pos = 0;
		zone_rdata_t rd;
		while (ret == ZONE_OK && have != NULL && zone_rrset_next(have, &pos, &rd)) {
			ret = zone_delta_add(&d, false, z->apex, types[t], have->ttl, rd.data,
			                     rd.len);
		}
		for (size_t i = 0; ret == ZONE_OK && i < want[t]->n; i++) {
			ret = zone_delta_add(&d, true, z->apex, types[t], kp->cds_ttl,
			                     want[t]->rr[i].data, (uint16_t)want[t]->rr[i].len);
		}
	}
	zone_t *next = NULL;
	if (ret == ZONE_OK && !same) {
		ret = zone_delta_apply(*work, &d, ZONE_APPLY_UNSIGNED | ZONE_APPLY_CDS, NULL, NULL,
		                       &next);
	}
	zone_delta_deinit(&d);
	if (ret == ZONE_OK && next != NULL) {
		if (*work_owned) {
			zone_free(*work);
		}
		*work = next;
		*work_owned = true;
	}
	return ret;
}

bool dzone_pass(dzone_t *z, dzone_change_t *changes, int64_t now, volatile atomic_bool *stop,
                bool *retry)
{
	*retry = false;
	char why[256];
	if (!dfence_may_sign(z->env->fence, why, sizeof(why))) {
		/* Another node is the active one: nothing signed, no key made. */
		dzone_result_t fr;
		memset(&fr, 0, sizeof(fr));
		fr.status = SIGNER__V1__STATUS__UNAVAILABLE;
		char msg[320];
		snprintf(msg, sizeof(msg), "not signing: %s", why);
		snprintf(fr.message, sizeof(fr.message), "%s", msg);
		for (dzone_change_t *c = changes, *next; c != NULL; c = next) {
			next = c->next;
			finish(c, &fr);
		}
		set_error(z, now, msg);
		pthread_mutex_lock(&z->mu);
		z->next_event = now + 5;
		pthread_mutex_unlock(&z->mu);
		return false;
	}
	dzone_version_t *cur = dzone_current(z);
	pthread_mutex_lock(&z->mu);
	z->signing = true;
	pthread_mutex_unlock(&z->mu);

	zone_t *work = cur != NULL ? cur->zone : NULL;
	bool work_owned = false;
	uint32_t input_serial = cur != NULL ? cur->input_serial : 0;
	dzone_change_t *applied = NULL, **tail = &applied;
	size_t napplied = 0;
	bool published = false;
	dzone_result_t r;
	bool merging = true; /* until a run is refused as a whole */
	dkasp_pass_t kp;
	memset(&kp, 0, sizeof(kp));
	bool kasp_failed = false;
	int64_t kasp_next = INT64_MAX;
	for (dzone_change_t *c = changes, *next; c != NULL; c = next) {
		next = c->next;
		memset(&r, 0, sizeof(r));
		/* A run of incremental changes: one apply of their net effect. */
		size_t taken = 0;
		merge_t mr = MERGE_NONE;
		if (merging && c->kind == DZONE_CHANGE_DELTA && next != NULL && work != NULL) {
			mr = merge_run(z, c, &work, &work_owned, &input_serial, &taken);
			merging = mr != MERGE_REFUSED;
		}
		if (mr == MERGE_DONE) {
			for (size_t i = 0; i < taken; i++) {
				next = c->next;
				c->next = NULL;
				*tail = c;
				tail = &c->next;
				napplied++;
				c = next;
			}
			next = c;
			continue;
		}
		if (apply_change(z, c, &work, &work_owned, &input_serial, &r)) {
			c->next = NULL;
			*tail = c;
			tail = &c->next;
			napplied++;
		} else {
			log_zone(LOG_NOTICE, z->name, "change refused: %s", r.message);
			finish(c, &r);
		}
	}
	bool due = cur != NULL && (resign_time(z, cur) <= now || z->serial_floor != 0);
	char err[512];
	if (z->policy != NULL && (cur != NULL || napplied > 0) && !atomic_load(stop)) {
		/* The key manager first: what it records needs a publication. */
		if (dkasp_prepare(z->env->kasp, z->name, z->apex, now, &kp, err, sizeof(err)) !=
		    0) {
			kasp_failed = true;
		} else {
			kasp_next = kp.next;
			due = due || kp.record;
			if (kp.cds && (work != NULL) &&
			    set_cds(z, &kp, &work, &work_owned) != ZONE_OK) {
				snprintf(err, sizeof(err), "cannot set CDS/CDNSKEY");
				kasp_failed = true;
			}
		}
	}
	if (napplied == 0 && !due && !kasp_failed) {
		goto done;
	}
	memset(&r, 0, sizeof(r));
	if (atomic_load(stop)) {
		r.status = SIGNER__V1__STATUS__SHUTTING_DOWN;
		snprintf(r.message, sizeof(r.message), "the signer is stopping: nothing changed");
		finish_all(applied, &r);
		goto done;
	}
	const sign_keyset_t *ks = &z->ks;
	if (z->policy != NULL && !kasp_failed) {
		ks = kp.ks;
	}
	if (kasp_failed || (z->policy == NULL && build_keyset(z, err, sizeof(err)) != 0)) {
		log_zone(LOG_ERR, z->name, "cannot sign: %s", err);
		set_error(z, now, err);
		r.status = SIGNER__V1__STATUS__UNAVAILABLE;
		snprintf(r.message, sizeof(r.message), "cannot sign, nothing changed: %s", err);
		finish_all(applied, &r);
		*retry = true;
		goto done;
	}
	sign_zone_params_t params = z->params;
	params.timing.now = now;
	params.have_previous_serial = cur != NULL;
	params.previous_serial = cur != NULL ? cur->serial : 0;
	if (cur != NULL && z->serial_floor != 0) {
		params.previous_serial = z->serial_floor - 1;
	}
	params.threads = z->env->threads;
	params.verify_crypto = true;
	params.prev_keyset_digest = z->keyset_digest;
	params.report = sign_report;
	params.ctx = z;
	zone_t *signed_zone = NULL;
	sign_zone_stats_t stats;
	int st = SIGN_ERR_WHOLE;
	if (cur != NULL) {
		/* Only the change and the signatures due for refresh are signed. */
		st = sign_zone_update(work, cur->zone, ks, &params, &signed_zone, &stats);
	}
	if (st == SIGN_ERR_WHOLE) {
		st = sign_zone(work, cur != NULL ? cur->zone : NULL, ks, &params, &signed_zone,
		               &stats);
	}
	if (st != SIGN_OK) {
		bool hsm = hsm_failure(st);
		snprintf(err, sizeof(err), "signing failed, nothing published: %s",
		         hsm ? hsm_strerror(st) : sign_strerror(st));
		log_zone(LOG_ERR, z->name, "%s", err);
		set_error(z, now, err);
		r.status =
		        hsm ? SIGNER__V1__STATUS__UNAVAILABLE : SIGNER__V1__STATUS__SIGNING_FAILED;
		snprintf(r.message, sizeof(r.message), "%s", err);
		finish_all(applied, &r);
		if (hsm) {
			/* Keys are looked up again: the token may have changed. */
			z->ks_ready = false;
			if (z->policy != NULL) {
				dkasp_forget_keys(z->env->kasp, z->name);
			}
		}
		*retry = hsm || napplied == 0;
		goto done;
	}
	dzone_version_t *v = version_new(signed_zone, input_serial, now, now);
	if (v == NULL) {
		zone_free(signed_zone);
		r.status = SIGNER__V1__STATUS__INTERNAL;
		snprintf(r.message, sizeof(r.message), "out of memory");
		finish_all(applied, &r);
		*retry = true;
		goto done;
	}
	st = make_durable(z, cur, v, now);
	if (st != ZONE_OK) {
		snprintf(err, sizeof(err), "cannot store serial %u, nothing published: %s",
		         v->serial, zone_strerror(st));
		log_zone(LOG_ERR, z->name, "%s", err);
		set_error(z, now, err);
		dzone_version_unref(v);
		r.status = SIGNER__V1__STATUS__INTERNAL;
		snprintf(r.message, sizeof(r.message), "%s", err);
		finish_all(applied, &r);
		*retry = true;
		goto done;
	}
	pthread_mutex_lock(&z->mu);
	dzone_version_t *old = z->cur;
	z->cur = dzone_version_ref(v);
	z->last_error[0] = '\0';
	z->last_error_at = 0;
	z->created = stats.created;
	z->reused = stats.reused;
	pthread_mutex_unlock(&z->mu);
	dzone_version_unref(old);
	published = true;
	z->retry = RETRY_MIN;
	z->keyset_digest = stats.keyset_digest;
	z->serial_floor = 0;
	if (z->policy != NULL &&
	    dkasp_published(z->env->kasp, z->name, &kp, v->published_at, err, sizeof(err)) != 0) {
		/* Planned again at the next pass, which publishes again. */
		log_zone(LOG_ERR, z->name, "key states not recorded: %s", err);
		kasp_next = now + RETRY_MIN;
	}
	log_zone(LOG_INFO, z->name,
	         "published serial %u: %zu changes, %zu signatures made, %zu reused, "
	         "%s, sign %.3f s, verify %.3f s",
	         v->serial, napplied, stats.created, stats.reused,
	         stats.incremental ? "incremental" : "whole pass", stats.t_chain + stats.t_sign,
	         stats.t_verify);
	r.status = SIGNER__V1__STATUS__OK;
	r.serial = v->serial;
	r.input_serial = input_serial;
	r.created = stats.created;
	r.reused = stats.reused;
	r.coalesced = napplied > 1;
	finish_all(applied, &r);
	dzone_version_unref(v);
done:
	if (work_owned) {
		zone_free(work);
	}
	dzone_version_unref(cur);
	cur = dzone_current(z);
	pthread_mutex_lock(&z->mu);
	z->signing = false;
	if (*retry) {
		z->next_event = now + z->retry;
		z->retry = z->retry * 2 > RETRY_MAX ? RETRY_MAX : z->retry * 2;
	} else {
		z->next_event = resign_time(z, cur);
	}
	if (kasp_next < z->next_event) {
		z->next_event = kasp_next;
	}
	pthread_mutex_unlock(&z->mu);
	dzone_version_unref(cur);
	dkasp_pass_deinit(&kp);
	return published;
}
