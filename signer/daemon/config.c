#include "signer/daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <yaml.h>

const char *config_strerror(int status)
{
	switch (status) {
	case CONFIG_OK:
		return "success";
	case CONFIG_ERR_NOMEM:
		return "out of memory";
	case CONFIG_ERR_IO:
		return "configuration file cannot be read";
	case CONFIG_ERR_SYNTAX:
		return "configuration syntax error";
	case CONFIG_ERR_VALUE:
		return "configuration value refused";
	default:
		return "unknown config status";
	}
}

/* A loaded configuration: the public value and every block it points to
 * (strings, arrays), all freed by config_free(). The YAML document is gone
 * once config_load() returns. */
struct config_doc {
	config_t config;
	void **owned;
	size_t nowned, owned_cap;
};

typedef struct {
	const char *path;
	char *dir; /* absolute directory of the file, without a trailing slash */
	yaml_document_t *doc;
	struct config_doc *cd;
	char *err;
	size_t errlen;
} loader_t;

__attribute__((format(printf, 4, 5))) static int fail(loader_t *l, const yaml_node_t *node,
                                                      int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%lu: %s", l->path,
	         node != NULL ? (unsigned long)node->start_mark.line + 1 : 0ul, msg);
	return status;
}

static int nomem(loader_t *l, const yaml_node_t *node)
{
	return fail(l, node, CONFIG_ERR_NOMEM, "%s", "out of memory");
}

static unsigned long line_of(const yaml_node_t *node)
{
	return (unsigned long)node->start_mark.line + 1;
}

/* Hands p to the configuration (freed by config_free); on failure frees p.
 * Returns p, or NULL if p was NULL or could not be recorded. */
static void *keep(loader_t *l, void *p)
{
	struct config_doc *cd = l->cd;
	if (p == NULL) {
		return NULL;
	}
	if (cd->nowned == cd->owned_cap) {
		size_t cap = cd->owned_cap != 0 ? cd->owned_cap * 2 : 32;
		void **n = realloc(cd->owned, cap * sizeof(*n));
		if (n == NULL) {
			free(p);
			return NULL;
		}
		cd->owned = n;
		cd->owned_cap = cap;
	}
	cd->owned[cd->nowned++] = p;
	return p;
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Checks that node is a mapping whose keys are strings, each given once. */
static int check_mapping(loader_t *l, yaml_node_t *node, const char *what)
{
	if (node->type != YAML_MAPPING_NODE) {
		return fail(l, node, CONFIG_ERR_SYNTAX, "%s must be a mapping", what);
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		const char *key = scalar(k);
		if (key == NULL) {
			return fail(l, k, CONFIG_ERR_SYNTAX, "%s", "keys must be strings");
		}
		for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *prev = yaml_document_get_node(l->doc, q->key);
			if (strcmp(scalar(prev), key) == 0) {
				return fail(l, k, CONFIG_ERR_VALUE,
				            "'%s' given twice (first on line %lu)", key,
				            line_of(prev));
			}
		}
	}
	return CONFIG_OK;
}

/* Numbers: decimal digits and at most one unit letter. */
typedef struct {
	char suffix;
	uint64_t factor;
} unit_t;

static const unit_t no_units[] = {{0, 0}};
static const unit_t size_units[] = {
        {'K', 1ull << 10}, {'M', 1ull << 20}, {'G', 1ull << 30}, {0, 0}};
static const unit_t time_units[] = {{'s', 1},     {'m', 60},     {'h', 3600},
                                    {'d', 86400}, {'w', 604800}, {0, 0}};

/* Parses digits followed by an optional suffix from units (a multiplier);
 * false for anything else, a sign, or a value above UINT64_MAX. */
static bool parse_scaled(const char *s, const unit_t *units, uint64_t *out)
{
	if (s == NULL || !isdigit((unsigned char)*s)) {
		return false;
	}
	uint64_t n = 0;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10) {
			return false;
		}
		n = n * 10 + d;
	}
	uint64_t factor = 1;
	if (*s != '\0') {
		const unit_t *u = units;
		while (u->suffix != 0 && u->suffix != *s) {
			u++;
		}
		if (u->suffix == 0 || s[1] != '\0') {
			return false;
		}
		factor = u->factor;
	}
	if (n > UINT64_MAX / factor) {
		return false;
	}
	*out = n * factor;
	return true;
}

bool config_parse_duration(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!parse_scaled(s, time_units, &v) || v > max) {
		return false;
	}
	*out = v;
	return true;
}

/* Reads a number in [min, max] with the given units (no_units, size_units
 * for bytes, time_units for seconds); the refusal names the range. */
static int get_scaled(loader_t *l, yaml_node_t *v, const char *key, const unit_t *units,
                      uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	if (parse_scaled(scalar(v), units, &n) && n >= min && n <= max) {
		*out = n;
		return CONFIG_OK;
	}
	if (units == size_units) {
		return fail(l, v, CONFIG_ERR_VALUE,
		            "%s must be a size from %" PRIu64 " to %" PRIu64
		            " bytes (suffixes K, M, G)",
		            key, min, max);
	}
	if (units == time_units) {
		return fail(l, v, CONFIG_ERR_VALUE,
		            "%s must be a duration from %" PRIu64 " to %" PRIu64
		            " seconds (suffixes s, m, h, d, w)",
		            key, min, max);
	}
	if (min == 0) {
		return fail(l, v, CONFIG_ERR_VALUE,
		            "%s must be a non-negative integer up to %" PRIu64, key, max);
	}
	return fail(l, v, CONFIG_ERR_VALUE, "%s must be an integer from %" PRIu64 " to %" PRIu64,
	            key, min, max);
}

static int get_uint(loader_t *l, yaml_node_t *v, const char *key, unsigned min, unsigned max,
                    unsigned *out)
{
	uint64_t n = 0;
	int ret = get_scaled(l, v, key, no_units, min, max, &n);
	if (ret == CONFIG_OK) {
		*out = (unsigned)n;
	}
	return ret;
}

static int get_string(loader_t *l, yaml_node_t *v, const char *key, const char **out)
{
	const char *s = scalar(v);
	if (s == NULL || *s == '\0') {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be a non-empty string", key);
	}
	char *copy = keep(l, strdup(s));
	if (copy == NULL) {
		return nomem(l, v);
	}
	*out = copy;
	return CONFIG_OK;
}

/* Same as get_string for the config's own (non-const) fields. */
static int get_owned(loader_t *l, yaml_node_t *v, const char *key, char **out)
{
	const char *s = NULL;
	int ret = get_string(l, v, key, &s);
	if (ret == CONFIG_OK) {
		*out = (char *)s;
	}
	return ret;
}

/* Returns prefix + path, with a relative path joined to the file's
 * directory ("./" in front dropped); NULL when out of memory. */
static char *resolve(loader_t *l, const char *prefix, const char *path)
{
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
	}
	size_t len = strlen(prefix) + strlen(l->dir) + strlen(path) + 2;
	char *s = malloc(len);
	if (s == NULL) {
		return NULL;
	}
	if (path[0] == '/') {
		snprintf(s, len, "%s%s", prefix, path);
	} else if (path[0] == '\0' || strcmp(path, ".") == 0) {
		snprintf(s, len, "%s%s", prefix, l->dir);
	} else {
		snprintf(s, len, "%s%s%s%s", prefix, l->dir, strcmp(l->dir, "/") == 0 ? "" : "/",
		         path);
	}
	return keep(l, s);
}

/* A file or directory name; a relative one is taken from the file's directory. */
static int get_path(loader_t *l, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);
	if (s == NULL || *s == '\0') {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be a non-empty path", key);
	}
	char *p = resolve(l, "", s);
	if (p == NULL) {
		return nomem(l, v);
	}
	*out = p;
	return CONFIG_OK;
}

static int get_bool(loader_t *l, yaml_node_t *v, const char *key, bool *out)
{
	const char *s = scalar(v);
	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)) {
		*out = true;
	} else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)) {
		*out = false;
	} else {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be true or false", key);
	}
	return CONFIG_OK;
}

/* "host:port" with a port 1..65535; an IPv6 host is written in brackets. */
static bool valid_host_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s) {
		return false;
	}
	size_t hostlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hostlen < 3 || colon[-1] != ']') {
			return false;
		}
	} else if (memchr(s, ':', hostlen) != NULL) {
		return false;
	}
	uint64_t port = 0;
	return parse_scaled(colon + 1, no_units, &port) && port >= 1 && port <= 65535;
}

static int load_token(loader_t *l, yaml_node_t *node, hsm_token_config_t *t)
{
	int ret = check_mapping(l, node, "a token");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "name") == 0) {
			ret = get_string(l, v, key, &t->name);
		} else if (strcmp(key, "module") == 0) {
			ret = get_string(l, v, key, &t->module);
		} else if (strcmp(key, "uri") == 0) {
			ret = get_string(l, v, key, &t->uri);
		} else if (strcmp(key, "pin_file") == 0) {
			char *path = NULL;
			ret = get_path(l, v, key, &path);
			t->pin_file = path;
		} else if (strcmp(key, "pin_env") == 0) {
			ret = get_string(l, v, key, &t->pin_env);
		} else if (strcmp(key, "pin") == 0) {
			ret = fail(l, k, CONFIG_ERR_VALUE, "%s",
			           "a PIN is never written in the configuration: use pin_file or "
			           "pin_env");
		} else if (strcmp(key, "max_sessions") == 0) {
			ret = get_uint(l, v, key, 0, 4096, &t->max_sessions);
		} else if (strcmp(key, "combined_mechanisms") == 0) {
			ret = get_bool(l, v, key, &t->combined_mech);
		} else if (strcmp(key, "retry_budget") == 0) {
			uint64_t s = 0;
			ret = get_scaled(l, v, key, time_units, 0, 86400, &s);
			t->retry_budget_ms = (unsigned)s * 1000;
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown token key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && (t->name == NULL || t->module == NULL || t->uri == NULL)) {
		ret = fail(l, node, CONFIG_ERR_VALUE, "%s", "a token needs name, module and uri");
	}
	if (ret == CONFIG_OK && t->pin_file != NULL && t->pin_env != NULL) {
		ret = fail(l, node, CONFIG_ERR_VALUE, "%s", "give pin_file or pin_env, not both");
	}
	return ret;
}

static int load_tokens(loader_t *l, yaml_node_t *v)
{
	config_t *c = &l->cd->config;
	if (v->type != YAML_SEQUENCE_NODE) {
		return fail(l, v, CONFIG_ERR_SYNTAX, "%s", "tokens must be a list");
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	c->tokens = keep(l, calloc(n + 1, sizeof(*c->tokens)));
	if (c->tokens == NULL) {
		return nomem(l, v);
	}
	int ret = CONFIG_OK;
	for (size_t i = 0; i < n && ret == CONFIG_OK; i++) {
		yaml_node_t *item = yaml_document_get_node(l->doc, v->data.sequence.items.start[i]);
		ret = load_token(l, item, &c->tokens[i]);
		c->ntokens++;
	}
	return ret;
}

/* socket_mode: the scalar's text read as octal ("0660", 0660 or 660). */
static int get_mode(loader_t *l, yaml_node_t *v, const char *key, unsigned *out)
{
	const char *s = scalar(v);
	if (s == NULL || *s == '\0' || strspn(s, "01234567") != strlen(s) || strlen(s) > 6) {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be an octal mode such as \"0660\"",
		            key);
	}
	unsigned mode = (unsigned)strtoul(s, NULL, 8);
	if (mode > 0777) {
		return fail(l, v, CONFIG_ERR_VALUE,
		            "%s %04o has bits above 0777 (setuid, setgid or sticky)", key, mode);
	}
	if ((mode & 07) != 0) {
		return fail(l, v, CONFIG_ERR_VALUE,
		            "%s %04o gives access to others: the socket must not be "
		            "world-accessible",
		            key, mode);
	}
	*out = mode;
	return CONFIG_OK;
}

static int load_server(loader_t *l, yaml_node_t *node)
{
	config_server_t *s = &l->cd->config.server;
	yaml_node_t *listen = NULL;
	int ret = check_mapping(l, node, "server");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		uint64_t n = 0;
		if (strcmp(key, "socket") == 0) {
			ret = get_path(l, v, key, &s->socket);
		} else if (strcmp(key, "socket_mode") == 0) {
			ret = get_mode(l, v, key, &s->socket_mode);
		} else if (strcmp(key, "socket_owner") == 0) {
			ret = get_owned(l, v, key, &s->socket_owner);
		} else if (strcmp(key, "socket_group") == 0) {
			ret = get_owned(l, v, key, &s->socket_group);
		} else if (strcmp(key, "tls_listen") == 0) {
			ret = get_owned(l, v, key, &s->tls_listen);
			if (ret == CONFIG_OK && !valid_host_port(s->tls_listen)) {
				ret = fail(l, v, CONFIG_ERR_VALUE,
				           "tls_listen must be \"host:port\" (\"[addr]:port\" for "
				           "IPv6)");
			}
			listen = k;
		} else if (strcmp(key, "tls_cert") == 0) {
			ret = get_path(l, v, key, &s->tls_cert);
		} else if (strcmp(key, "tls_key") == 0) {
			ret = get_path(l, v, key, &s->tls_key);
		} else if (strcmp(key, "tls_ca") == 0) {
			ret = get_path(l, v, key, &s->tls_ca);
		} else if (strcmp(key, "max_frame") == 0) {
			ret = get_scaled(l, v, key, size_units, 4ull << 10, 1ull << 30, &n);
			s->max_frame = (size_t)n;
		} else if (strcmp(key, "request_timeout") == 0) {
			ret = get_scaled(l, v, key, time_units, 1, 86400, &n);
			s->request_timeout = (unsigned)n;
		} else if (strcmp(key, "max_connections") == 0) {
			ret = get_uint(l, v, key, 1, 65535, &s->max_connections);
		} else if (strcmp(key, "test_clock") == 0) {
			ret = get_bool(l, v, key, &s->test_clock);
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown server key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && listen != NULL &&
	    (s->tls_cert == NULL || s->tls_key == NULL || s->tls_ca == NULL)) {
		ret = fail(l, listen, CONFIG_ERR_VALUE,
		           "tls_listen needs tls_cert, tls_key and tls_ca (missing:%s%s%s): no "
		           "unauthenticated TCP",
		           s->tls_cert == NULL ? " tls_cert" : "",
		           s->tls_key == NULL ? " tls_key" : "",
		           s->tls_ca == NULL ? " tls_ca" : "");
	}
	return ret;
}

/* uid: a number, or a user name looked up in the user database. */
static int get_uid(loader_t *l, yaml_node_t *v, uint32_t *out)
{
	const char *s = scalar(v);
	uint64_t n = 0;
	if (s == NULL || *s == '\0') {
		return fail(l, v, CONFIG_ERR_VALUE, "%s", "uid must be a number or a user name");
	}
	if (isdigit((unsigned char)*s)) {
		int ret = get_scaled(l, v, "uid", no_units, 0, UINT32_MAX - 1, &n);
		if (ret == CONFIG_OK) {
			*out = (uint32_t)n;
		}
		return ret;
	}
	struct passwd pw, *found = NULL;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t buflen = size > 0 ? (size_t)size : 16384;
	char *buf = NULL;
	int rc;
	do {
		char *b = realloc(buf, buflen);
		if (b == NULL) {
			free(buf);
			return nomem(l, v);
		}
		buf = b;
		rc = getpwnam_r(s, &pw, buf, buflen, &found);
		buflen *= 2;
	} while (rc == ERANGE && buflen <= (1u << 20));
	if (found != NULL) {
		*out = (uint32_t)pw.pw_uid;
	}
	free(buf);
	if (found == NULL) {
		return fail(l, v, CONFIG_ERR_VALUE, "uid: unknown user '%s'%s%s", s,
		            rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
	}
	return CONFIG_OK;
}

static int get_cert_sha256(loader_t *l, yaml_node_t *v, char **out)
{
	const char *s = scalar(v);
	if (s == NULL || strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64) {
		return fail(
		        l, v, CONFIG_ERR_VALUE, "%s",
		        "cert_sha256 must be 64 hexadecimal digits (SHA-256 of the key's SPKI)");
	}
	char *hex = keep(l, strdup(s));
	if (hex == NULL) {
		return nomem(l, v);
	}
	for (char *c = hex; *c != '\0'; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	*out = hex;
	return CONFIG_OK;
}

/* A zone name, lowercased, with a trailing dot. NULL (and a refusal in
 * *ret) if it is not a name. */
static char *zone_name(loader_t *l, yaml_node_t *v, int *ret)
{
	const char *s = scalar(v);
	size_t len = s != NULL ? strlen(s) : 0;
	bool ok = len > 0 && len <= 254;
	if (ok && strcmp(s, ".") != 0) {
		size_t label = 0;
		for (size_t i = 0; i < len && ok; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '.') {
				ok = label > 0;
				label = 0;
			} else {
				ok = isgraph(c) && ++label <= 63;
			}
		}
		ok = ok && (s[len - 1] == '.' || len <= 253);
	}
	if (!ok) {
		*ret = fail(l, v, CONFIG_ERR_VALUE, "'%s' is not a zone name", s != NULL ? s : "?");
		return NULL;
	}
	bool dot = s[len - 1] == '.';
	char *name = keep(l, malloc(len + 2));
	if (name == NULL) {
		*ret = nomem(l, v);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		name[i] = (char)tolower((unsigned char)s[i]);
	}
	name[len] = '.';
	name[dot ? len : len + 1] = '\0';
	return name;
}

static int load_zones(loader_t *l, yaml_node_t *v, config_client_t *c)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		return fail(l, v, CONFIG_ERR_SYNTAX, "%s", "zones must be a list of zone names");
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	c->zones = keep(l, calloc(n + 1, sizeof(*c->zones)));
	if (c->zones == NULL) {
		return nomem(l, v);
	}
	int ret = CONFIG_OK;
	for (size_t i = 0; i < n && ret == CONFIG_OK; i++) {
		yaml_node_t *item = yaml_document_get_node(l->doc, v->data.sequence.items.start[i]);
		char *name = zone_name(l, item, &ret);
		for (size_t j = 0; name != NULL && j < c->nzones; j++) {
			if (strcmp(c->zones[j], name) == 0) {
				return fail(l, item, CONFIG_ERR_VALUE, "zone %s listed twice",
				            name);
			}
		}
		if (name != NULL) {
			c->zones[c->nzones++] = name;
		}
	}
	return ret;
}

static int load_client(loader_t *l, yaml_node_t *node, config_client_t *c)
{
	yaml_node_t *zones = NULL;
	bool has_role = false;
	c->max_connections = 8;
	c->max_zone_records = 10000000;
	int ret = check_mapping(l, node, "a client");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "uid") == 0) {
			ret = get_uid(l, v, &c->uid);
			c->has_uid = true;
		} else if (strcmp(key, "cert_sha256") == 0) {
			ret = get_cert_sha256(l, v, &c->cert_sha256);
		} else if (strcmp(key, "role") == 0) {
			const char *r = scalar(v);
			has_role = true;
			if (r != NULL && strcmp(r, "feeder") == 0) {
				c->role = CONFIG_ROLE_FEEDER;
			} else if (r != NULL && strcmp(r, "operator") == 0) {
				c->role = CONFIG_ROLE_OPERATOR;
			} else {
				ret = fail(l, v, CONFIG_ERR_VALUE, "%s",
				           "role must be feeder or operator");
			}
		} else if (strcmp(key, "zones") == 0) {
			ret = load_zones(l, v, c);
			zones = k;
		} else if (strcmp(key, "max_connections") == 0) {
			ret = get_uint(l, v, key, 1, 65535, &c->max_connections);
		} else if (strcmp(key, "max_zone_records") == 0) {
			ret = get_scaled(l, v, key, no_units, 1, 1000000000, &c->max_zone_records);
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown client key '%s'", key);
		}
	}
	if (ret != CONFIG_OK) {
		return ret;
	}
	if (c->has_uid == (c->cert_sha256 != NULL)) {
		return fail(l, node, CONFIG_ERR_VALUE, "%s",
		            "a client needs exactly one of uid and cert_sha256");
	}
	if (!has_role) {
		return fail(l, node, CONFIG_ERR_VALUE, "%s", "a client needs a role");
	}
	if (c->role == CONFIG_ROLE_FEEDER && c->nzones == 0) {
		return fail(l, zones != NULL ? zones : node, CONFIG_ERR_VALUE, "%s",
		            "a feeder needs a non-empty zones list");
	}
	if (c->role == CONFIG_ROLE_OPERATOR && zones != NULL) {
		return fail(l, zones, CONFIG_ERR_VALUE, "%s",
		            "an operator may act on every zone: remove zones");
	}
	return CONFIG_OK;
}

static int load_clients(loader_t *l, yaml_node_t *v)
{
	config_t *c = &l->cd->config;
	if (v->type != YAML_SEQUENCE_NODE) {
		return fail(l, v, CONFIG_ERR_SYNTAX, "%s", "clients must be a list");
	}
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	c->clients = keep(l, calloc(n + 1, sizeof(*c->clients)));
	if (c->clients == NULL) {
		return nomem(l, v);
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = yaml_document_get_node(l->doc, items[i]);
		config_client_t *cl = &c->clients[i];
		int ret = load_client(l, item, cl);
		if (ret != CONFIG_OK) {
			return ret;
		}
		c->nclients++;
		for (size_t j = 0; j < i; j++) {
			const config_client_t *o = &c->clients[j];
			yaml_node_t *first = yaml_document_get_node(l->doc, items[j]);
			if (cl->has_uid && o->has_uid && cl->uid == o->uid) {
				return fail(l, item, CONFIG_ERR_VALUE,
				            "client uid %" PRIu32 " is already listed on line %lu",
				            cl->uid, line_of(first));
			}
			if (!cl->has_uid && !o->has_uid &&
			    strcmp(cl->cert_sha256, o->cert_sha256) == 0) {
				return fail(
				        l, item, CONFIG_ERR_VALUE,
				        "client cert_sha256 %.16s... is already listed on line %lu",
				        cl->cert_sha256, line_of(first));
			}
		}
	}
	return CONFIG_OK;
}

static int load_journal(loader_t *l, yaml_node_t *node)
{
	config_t *c = &l->cd->config;
	int ret = check_mapping(l, node, "journal");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		uint64_t n = 0;
		if (strcmp(key, "max_entries") == 0) {
			ret = get_uint(l, v, key, 1, 100000000, &c->journal_max_entries);
		} else if (strcmp(key, "max_bytes") == 0) {
			ret = get_scaled(l, v, key, size_units, 4ull << 10, 1ull << 40,
			                 &c->journal_max_bytes);
		} else if (strcmp(key, "max_age") == 0) {
			ret = get_scaled(l, v, key, time_units, 1, UINT32_MAX, &n);
			c->journal_max_age = (uint32_t)n;
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown journal key '%s'", key);
		}
	}
	return ret;
}

/* cluster: active/standby with a fencing epoch in a token (dfence.h). */
static int load_cluster(loader_t *l, yaml_node_t *node)
{
	config_t *c = &l->cd->config;
	int ret = check_mapping(l, node, "cluster");
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     ret == CONFIG_OK && p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		uint64_t n = 0;
		if (strcmp(key, "node") == 0) {
			ret = get_owned(l, v, key, &c->cluster_node);
			for (const char *s = c->cluster_node; ret == CONFIG_OK && *s; s++) {
				if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
				    *s != '.') {
					ret = fail(l, v, CONFIG_ERR_VALUE,
					           "node: letters, digits, '-', '_' and '.' only");
				}
			}
		} else if (strcmp(key, "fence_token") == 0) {
			ret = get_owned(l, v, key, &c->cluster_fence_token);
		} else if (strcmp(key, "ship_dir") == 0) {
			ret = get_path(l, v, key, &c->cluster_ship_dir);
		} else if (strcmp(key, "ship_interval") == 0) {
			ret = get_scaled(l, v, key, time_units, 0, 86400, &n);
			c->cluster_ship_interval = (uint32_t)n;
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown cluster key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && (c->cluster_node == NULL || c->cluster_ship_dir == NULL)) {
		ret = fail(l, node, CONFIG_ERR_VALUE, "%s", "cluster needs node and ship_dir");
	}
	return ret;
}

static int load_signing(loader_t *l, yaml_node_t *node)
{
	config_t *c = &l->cd->config;
	int ret = check_mapping(l, node, "signing");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "passes") == 0) {
			ret = get_uint(l, v, key, 1, 64, &c->passes);
		} else if (strcmp(key, "threads") == 0) {
			ret = get_uint(l, v, key, 0, 256, &c->threads);
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown signing key '%s'", key);
		}
	}
	return ret;
}

static int load_log(loader_t *l, yaml_node_t *node)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"err", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	              {"info", LOG_INFO}, {"debug", LOG_DEBUG},     {NULL, 0}};
	config_t *c = &l->cd->config;
	int ret = check_mapping(l, node, "log");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "syslog") == 0) {
			ret = get_bool(l, v, key, &c->log_syslog);
		} else if (strcmp(key, "level") == 0) {
			const char *s = scalar(v);
			size_t i = 0;
			while (levels[i].name != NULL &&
			       (s == NULL || strcmp(s, levels[i].name) != 0)) {
				i++;
			}
			if (levels[i].name == NULL) {
				ret = fail(l, v, CONFIG_ERR_VALUE, "%s",
				           "level must be err, warning, notice, info or debug");
			} else {
				c->log_level = levels[i].level;
			}
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown log key '%s'", key);
		}
	}
	return ret;
}

/* notify_command: only %z, %f, %s and %% are expanded; any other % is a typo. */
static int get_command(loader_t *l, yaml_node_t *v, const char *key, char **out)
{
	int ret = get_owned(l, v, key, out);
	for (const char *s = ret == CONFIG_OK ? *out : ""; *s != '\0'; s++) {
		if (*s == '%' && (s[1] == '\0' || strchr("zfs%", s[1]) == NULL)) {
			return fail(l, v, CONFIG_ERR_VALUE,
			            "%s: unknown escape '%%%.1s' (use %%z, %%f, %%s or %%%%)", key,
			            s + 1);
		}
		s += *s == '%';
	}
	return ret;
}

static int load_cli(loader_t *l, yaml_node_t *node)
{
	config_t *c = &l->cd->config;
	yaml_node_t *server = NULL;
	int ret = check_mapping(l, node, "client");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "server") == 0) {
			const char *s = scalar(v);
			server = k;
			if (s != NULL && strncmp(s, "unix:", 5) == 0 && s[5] != '\0') {
				c->client_server = resolve(l, "unix:", s + 5);
				ret = c->client_server != NULL ? CONFIG_OK : nomem(l, v);
			} else if (s != NULL && strncmp(s, "tls:", 4) == 0 &&
			           valid_host_port(s + 4)) {
				ret = get_owned(l, v, key, &c->client_server);
			} else {
				ret = fail(l, v, CONFIG_ERR_VALUE, "%s",
				           "server must be \"unix:PATH\" or \"tls:HOST:PORT\"");
			}
		} else if (strcmp(key, "tls_cert") == 0) {
			ret = get_path(l, v, key, &c->client_tls_cert);
		} else if (strcmp(key, "tls_key") == 0) {
			ret = get_path(l, v, key, &c->client_tls_key);
		} else if (strcmp(key, "tls_ca") == 0) {
			ret = get_path(l, v, key, &c->client_tls_ca);
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown client key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && c->client_server != NULL &&
	    strncmp(c->client_server, "tls:", 4) == 0 &&
	    (c->client_tls_cert == NULL || c->client_tls_key == NULL || c->client_tls_ca == NULL)) {
		ret = fail(l, server, CONFIG_ERR_VALUE,
		           "a tls: server needs tls_cert, tls_key and tls_ca (missing:%s%s%s)",
		           c->client_tls_cert == NULL ? " tls_cert" : "",
		           c->client_tls_key == NULL ? " tls_key" : "",
		           c->client_tls_ca == NULL ? " tls_ca" : "");
	}
	return ret;
}

/* Adds policy *p (moved: *p is zeroed) to the configuration; refuses a
 * second policy of one name. */
static int add_policy(loader_t *l, yaml_node_t *node, kasp_policy_t *p)
{
	struct config_doc *cd = l->cd;
	config_t *c = &cd->config;
	for (size_t i = 0; i < c->npolicies; i++) {
		if (strcmp(c->policies[i].name, p->name) == 0) {
			int ret = fail(l, node, CONFIG_ERR_VALUE, "policy '%s' defined twice",
			               p->name);
			kasp_policy_deinit(p);
			return ret;
		}
	}
	kasp_policy_t *v = realloc(c->policies, (c->npolicies + 1) * sizeof(*v));
	if (v == NULL) {
		kasp_policy_deinit(p);
		return nomem(l, node);
	}
	c->policies = v;
	c->policies[c->npolicies++] = *p;
	memset(p, 0, sizeof(*p));
	return CONFIG_OK;
}

/* policies: a list of KASP policies (kasp_policy.h), inline. */
static int load_policies(loader_t *l, yaml_node_t *node)
{
	if (node->type != YAML_SEQUENCE_NODE) {
		return fail(l, node, CONFIG_ERR_SYNTAX, "%s", "policies must be a list");
	}
	int ret = CONFIG_OK;
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top && ret == CONFIG_OK; it++) {
		yaml_node_t *item = yaml_document_get_node(l->doc, *it);
		kasp_policy_t p;
		char msg[512];
		if (kasp_policy_from_yaml(l->doc, item, &p, msg, sizeof(msg)) != KASP_OK) {
			/* "line N: ..." from kasp_policy: the file goes in front. */
			const char *rest = strncmp(msg, "line ", 5) == 0 ? msg + 5 : NULL;
			if (rest != NULL) {
				snprintf(l->err, l->errlen, "%s:%s", l->path, rest);
			} else {
				snprintf(l->err, l->errlen, "%s:%lu: %s", l->path, line_of(item),
				         msg);
			}
			return CONFIG_ERR_VALUE;
		}
		if (p.name == NULL) {
			kasp_policy_deinit(&p);
			return fail(l, item, CONFIG_ERR_VALUE, "%s", "a policy needs a name");
		}
		ret = add_policy(l, item, &p);
	}
	return ret;
}

/* policy_file: a file whose top level is "policies:" (kasp_policy.h). */
static int load_policy_file(loader_t *l, yaml_node_t *node)
{
	char *path = NULL;
	int ret = get_path(l, node, "policy_file", &path);
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char msg[512];
	if (ret == CONFIG_OK &&
	    kasp_policies_load_file(path, &ps, &n, msg, sizeof(msg)) != KASP_OK) {
		return fail(l, node, CONFIG_ERR_VALUE, "policy_file: %s", msg);
	}
	for (size_t i = 0; i < n && ret == CONFIG_OK; i++) {
		ret = add_policy(l, node, &ps[i]);
	}
	kasp_policies_free(ps, n);
	return ret;
}

static int load_root(loader_t *l, yaml_node_t *root)
{
	config_t *c = &l->cd->config;
	int ret = check_mapping(l, root, "the configuration");
	if (ret != CONFIG_OK) {
		return ret;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (strcmp(key, "tokens") == 0) {
			ret = load_tokens(l, v);
		} else if (strcmp(key, "server") == 0) {
			ret = load_server(l, v);
		} else if (strcmp(key, "clients") == 0) {
			ret = load_clients(l, v);
		} else if (strcmp(key, "state_dir") == 0) {
			ret = get_path(l, v, key, &c->state_dir);
		} else if (strcmp(key, "output_dir") == 0) {
			ret = get_path(l, v, key, &c->output_dir);
		} else if (strcmp(key, "notify_command") == 0) {
			ret = get_command(l, v, key, &c->notify_command);
		} else if (strcmp(key, "journal") == 0) {
			ret = load_journal(l, v);
		} else if (strcmp(key, "signing") == 0) {
			ret = load_signing(l, v);
		} else if (strcmp(key, "log") == 0) {
			ret = load_log(l, v);
		} else if (strcmp(key, "client") == 0) {
			ret = load_cli(l, v);
		} else if (strcmp(key, "policies") == 0) {
			ret = load_policies(l, v);
		} else if (strcmp(key, "policy_file") == 0) {
			ret = load_policy_file(l, v);
		} else if (strcmp(key, "cluster") == 0) {
			ret = load_cluster(l, v);
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && c->ntokens == 0) {
		ret = fail(l, root, CONFIG_ERR_VALUE, "%s", "no tokens configured");
	}
	if (ret == CONFIG_OK && c->server.socket == NULL) {
		c->server.socket = resolve(l, "", "signerd.sock");
		ret = c->server.socket != NULL ? CONFIG_OK : nomem(l, root);
	}
	if (ret == CONFIG_OK && c->state_dir == NULL) {
		c->state_dir = resolve(l, "", "state");
		ret = c->state_dir != NULL ? CONFIG_OK : nomem(l, root);
	}
	return ret;
}

/* The absolute directory of path (the working directory joined in front of
 * a relative one); NULL on failure with errno set. */
static char *config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	char cwd[4096] = "";
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		return NULL;
	}
	size_t len = strlen(cwd) + dirlen + 2;
	char *dir = malloc(len);
	if (dir == NULL) {
		return NULL;
	}
	if (path[0] == '/') {
		snprintf(dir, len, "%.*s", (int)dirlen, path);
	} else if (dirlen == 0) {
		snprintf(dir, len, "%s", cwd);
	} else {
		snprintf(dir, len, "%s%s%.*s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", (int)dirlen,
		         path);
	}
	return dir;
}

int config_load(const char *path, config_t **out, char *err, size_t errlen)
{
	int ret = CONFIG_OK;
	struct config_doc *cd = NULL;
	yaml_document_t doc;
	bool have_doc = false;
	loader_t l = {path, NULL, &doc, NULL, err, errlen};
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CONFIG_ERR_IO;
	}
	l.dir = config_dir(path);
	if (l.dir == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ret = errno == ENOMEM ? CONFIG_ERR_NOMEM : CONFIG_ERR_IO;
		goto done;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		ret = CONFIG_ERR_NOMEM;
		goto done;
	}
	l.cd = cd;
	cd->config.server.socket_mode = 0660;
	cd->config.server.max_frame = 16u << 20;
	cd->config.server.request_timeout = 30;
	cd->config.server.max_connections = 64;
	cd->config.journal_max_entries = 1000;
	cd->config.journal_max_bytes = 64ull << 20;
	cd->config.journal_max_age = 7 * 86400;
	cd->config.passes = 2;
	cd->config.threads = 0;
	cd->config.log_level = LOG_INFO;
	cd->config.cluster_ship_interval = 60;

	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	have_doc = yaml_parser_load(&parser, &doc) != 0;
	if (!have_doc) {
		snprintf(err, errlen, "%s:%lu: %s", path,
		         (unsigned long)parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "YAML syntax error");
		ret = CONFIG_ERR_SYNTAX;
	}
	yaml_parser_delete(&parser);
	if (ret != CONFIG_OK) {
		goto done;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		ret = fail(&l, root, CONFIG_ERR_SYNTAX, "%s",
		           "the configuration must be a mapping");
		goto done;
	}
	ret = load_root(&l, root);
done:
	if (have_doc) {
		yaml_document_delete(&doc);
	}
	free(l.dir);
	fclose(fp);
	if (ret != CONFIG_OK) {
		config_free(cd != NULL ? &cd->config : NULL);
		return ret;
	}
	*out = &cd->config;
	return CONFIG_OK;
}

void config_free(config_t *config)
{
	if (config == NULL) {
		return;
	}
	struct config_doc *cd = (struct config_doc *)config;
	kasp_policies_free(config->policies, config->npolicies);
	for (size_t i = 0; i < cd->nowned; i++) {
		free(cd->owned[i]);
	}
	free(cd->owned);
	free(cd);
}
