#include "signer/cli/cli_rpc.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/cli/cli_common.h"
#include "signer/daemon/config.h"
#include "signer/rpc/rpc_client.h"
#include "signer/rpc/rpc_error.h"
#include "signer/rpc/rpc_frame.h"

/* Largest response frame accepted, in bytes (a zone list of many zones). */
#define MAX_RESPONSE (256u << 20)

/* Digits with an optional unit s m h d w, at most max seconds. */
static bool parse_seconds(const char *s, uint64_t max, uint64_t *out)
{
	return config_parse_duration(s, max, out);
}

bool cli_rpc_parse_duration(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!parse_seconds(s, 0x7fffffffu, &v)) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool cli_rpc_parse_offset(const char *s, int64_t *out)
{
	bool neg = false;
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		s++;
	}
	uint64_t v = 0;
	if (!parse_seconds(s, (uint64_t)RPC_FRAME_MAX_CLOCK_OFFSET, &v)) {
		return false;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

void cli_rpc_duration_str(uint32_t seconds, char *buf, size_t len)
{
	static const struct {
		uint32_t n;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	for (size_t i = 0; seconds != 0 && i < sizeof(units) / sizeof(units[0]); i++) {
		if (seconds % units[i].n == 0) {
			snprintf(buf, len, "%u%c", seconds / units[i].n, units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%us", seconds);
}

void cli_rpc_time_str(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, len, "%s", t == 0 ? "-" : "?");
	}
}

size_t cli_rpc_text_chunk(const char *text, size_t len, size_t max)
{
	if (len <= max) {
		return len;
	}
	size_t last = 0; /* the latest split point within max */
	int depth = 0;
	bool quoted = false, comment = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '\n') {
			/* A quote or a comment never runs past the end of a line. */
			comment = false;
			quoted = false;
			if (depth == 0) {
				if (i + 1 > max) {
					return last > 0 ? last : i + 1;
				}
				last = i + 1;
			}
			continue;
		}
		if (comment) {
			continue;
		}
		if (c == '\\' && i + 1 < len && text[i + 1] != '\n') {
			i++; /* an escaped character is never special */
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == ';') {
			comment = true;
		} else if (!quoted && c == '(') {
			depth++;
		} else if (!quoted && c == ')' && depth > 0) {
			depth--;
		}
	}
	return last > 0 ? last : len;
}

/* --- JSON --- */

/* Bytes of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	if (c < 0x80) {
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
	} else {
		return 0;
	}
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80) {
			return 0;
		}
	}
	/* Overlong forms, surrogates, above U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)) {
		return 0;
	}
	return n;
}

void cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	fputc('"', f);
	while (*p != '\0') {
		unsigned char c = *p;
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20) {
				fprintf(f, "\\u%04x", c);
			} else if (c < 0x80) {
				fputc(c, f);
			} else {
				size_t n = utf8_len(p);
				if (n == 0) {
					fputs("\\ufffd", f);
				} else {
					fwrite(p, 1, n, f);
					p += n - 1;
				}
			}
			break;
		}
		p++;
	}
	fputc('"', f);
}

static void member(cli_json_t *j, const char *key)
{
	if (!j->first[j->depth]) {
		fputc(',', j->f);
	}
	j->first[j->depth] = false;
	if (key != NULL) {
		cli_json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void open_nested(cli_json_t *j, const char *key, char open, char close)
{
	member(j, key);
	fputc(open, j->f);
	if (j->depth + 1 < (int)(sizeof(j->first) / sizeof(j->first[0]))) {
		j->depth++;
		j->first[j->depth] = true;
		j->close[j->depth] = close;
	}
}

void cli_json_begin(cli_json_t *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	fputc('{', f);
	j->depth = 1;
	j->first[1] = true;
	j->close[1] = '}';
}

void cli_json_close(cli_json_t *j)
{
	if (j->depth > 0) {
		fputc(j->close[j->depth], j->f);
		j->depth--;
	}
}

void cli_json_end(cli_json_t *j)
{
	while (j->depth > 0) {
		cli_json_close(j);
	}
	fputc('\n', j->f);
	fflush(j->f);
}

void cli_json_obj(cli_json_t *j, const char *key)
{
	open_nested(j, key, '{', '}');
}

void cli_json_arr(cli_json_t *j, const char *key)
{
	open_nested(j, key, '[', ']');
}

void cli_json_str(cli_json_t *j, const char *key, const char *val)
{
	member(j, key);
	cli_json_string(j->f, val);
}

void cli_json_uint(cli_json_t *j, const char *key, uint64_t val)
{
	member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void cli_json_int(cli_json_t *j, const char *key, int64_t val)
{
	member(j, key);
	fprintf(j->f, "%lld", (long long)val);
}

void cli_json_bool(cli_json_t *j, const char *key, bool val)
{
	member(j, key);
	fputs(val ? "true" : "false", j->f);
}

void cli_json_time(cli_json_t *j, const char *key, int64_t t)
{
	if (t == 0) {
		member(j, key);
		fputs("null", j->f);
		return;
	}
	char buf[32];
	cli_rpc_time_str(t, buf, sizeof(buf));
	cli_json_str(j, key, buf);
}

/* --- options and connections --- */

bool cli_rpc_option(cli_rpc_opts_t *opts, int opt, const char *arg, bool *ok)
{
	switch (opt) {
	case 'c':
		opts->config = arg;
		return true;
	case CLI_RPC_OPT_SERVER:
		opts->server = arg;
		return true;
	case CLI_RPC_OPT_TLS_CERT:
		opts->tls_cert = arg;
		return true;
	case CLI_RPC_OPT_TLS_KEY:
		opts->tls_key = arg;
		return true;
	case CLI_RPC_OPT_TLS_CA:
		opts->tls_ca = arg;
		return true;
	case CLI_RPC_OPT_TIMEOUT:
		opts->has_timeout = true;
		*ok = cli_rpc_parse_duration(arg, &opts->timeout);
		return true;
	case CLI_RPC_OPT_JSON:
		opts->json = true;
		return true;
	default:
		return false;
	}
}

const char *cli_rpc_status_name(int status)
{
	const ProtobufCEnumValue *v =
	        protobuf_c_enum_descriptor_get_value(&signer__v1__status__descriptor, status);
	return v != NULL ? v->name : "UNKNOWN_STATUS";
}

const char *cli_rpc_alarm_name(int alarm)
{
	switch (alarm) {
	case SIGNER__V1__ALARM__NONE:
		return "none";
	case SIGNER__V1__ALARM__WARNING:
		return "warning";
	case SIGNER__V1__ALARM__CRITICAL:
		return "critical";
	default:
		return "unknown";
	}
}

int cli_rpc_connect(const cli_rpc_opts_t *opts, unsigned default_timeout, const char *what,
                    cli_rpc_t *r)
{
	memset(r, 0, sizeof(*r));
	r->next_id = 1;
	r->json = opts->json;
	snprintf(r->what, sizeof(r->what), "%s", what);
	/* A vanished TLS peer must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	config_t *cfg = NULL;
	char server[PATH_MAX + 8];
	char err[512];
	rpc_client_config_t cc = {
	        .server = opts->server,
	        .tls_cert = opts->tls_cert,
	        .tls_key = opts->tls_key,
	        .tls_ca = opts->tls_ca,
	};
	if (opts->server == NULL) {
		const char *path = opts->config;
		if (path == NULL) {
			path = getenv("SIGNER_CONFIG");
		}
		if (path == NULL) {
			cli_error("%s: no daemon to ask: give -c signer.yaml or --server ADDR",
			          what);
			return CLI_EXIT_USAGE;
		}
		int ret = config_load(path, &cfg, err, sizeof(err));
		if (ret != CONFIG_OK) {
			cli_error("%s", err);
			return CLI_EXIT_FAIL;
		}
		if (cfg->client_server != NULL) {
			cc.server = cfg->client_server;
		} else {
			snprintf(server, sizeof(server), "unix:%s", cfg->server.socket);
			cc.server = server;
		}
		/* Options override the file's files. */
		cc.tls_cert = opts->tls_cert != NULL ? opts->tls_cert : cfg->client_tls_cert;
		cc.tls_key = opts->tls_key != NULL ? opts->tls_key : cfg->client_tls_key;
		cc.tls_ca = opts->tls_ca != NULL ? opts->tls_ca : cfg->client_tls_ca;
	}
	uint32_t t = opts->has_timeout ? opts->timeout : default_timeout;
	cc.timeout_ms = t > UINT_MAX / 1000u ? UINT_MAX : t * 1000u;
	int st = rpc_client_connect(&cc, &r->conn, err, sizeof(err));
	if (st != RPC_OK) {
		cli_error("%s: cannot reach signerd at %s: %s", what, cc.server, err);
		config_free(cfg);
		return CLI_EXIT_FAIL;
	}
	config_free(cfg);
	return CLI_EXIT_OK;
}

void cli_rpc_close(cli_rpc_t *r)
{
	rpc_conn_free(r->conn);
	r->conn = NULL;
}

uint64_t cli_rpc_id(cli_rpc_t *r)
{
	return r->next_id++;
}

/* Prints a transport failure of a read or send. */
static void transport_error(const cli_rpc_t *r, const char *verb, int st)
{
	int e = errno;
	char reason[256] = "";
	if (st == RPC_ERR_TLS) {
		rpc_conn_last_error(r->conn, reason, sizeof(reason));
	}
	switch (st) {
	case RPC_ERR_TIMEOUT:
		cli_error("%s: no answer from signerd in time (--timeout); a change may still be "
		          "published: check signer zone status",
		          r->what);
		break;
	case RPC_ERR_CLOSED:
	case RPC_ERR_TRUNCATED:
		cli_error("%s: signerd closed the connection", r->what);
		break;
	case RPC_ERR_IO:
		cli_error("%s: %s: %s", r->what, verb, strerror(e));
		break;
	default:
		cli_error("%s: %s: %s%s%s", r->what, verb, rpc_strerror(st), reason[0] ? ": " : "",
		          reason);
		break;
	}
}

bool cli_rpc_send(cli_rpc_t *r, const Signer__V1__Request *req)
{
	int st = rpc_conn_send_request(r->conn, req);
	if (st == RPC_OK) {
		return true;
	}
	/* The daemon may have refused this request or the connection itself
	 * (id 0: too many connections) and closed it: its answer, when it came,
	 * says why better than a broken pipe. */
	Signer__V1__Response *resp = NULL;
	rpc_conn_set_timeout(r->conn, 2000);
	if (rpc_conn_recv_response(r->conn, MAX_RESPONSE, &resp) == RPC_OK &&
	    (resp->id == req->id || resp->id == 0) && resp->status != SIGNER__V1__STATUS__OK) {
		cli_rpc_status_error(r, resp);
	} else {
		transport_error(r, "sending", st);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return false;
}

bool cli_rpc_send_stream(cli_rpc_t *r, const Signer__V1__Request *req)
{
	return cli_rpc_send(r, req);
}

bool cli_rpc_recv(cli_rpc_t *r, uint64_t id, Signer__V1__Response **out)
{
	Signer__V1__Response *resp = NULL;
	int st = rpc_conn_recv_response(r->conn, MAX_RESPONSE, &resp);
	if (st != RPC_OK) {
		transport_error(r, "reading", st);
		return false;
	}
	if (resp->id != id) {
		if (resp->id == 0 && resp->status != SIGNER__V1__STATUS__OK) {
			cli_rpc_status_error(r, resp); /* the connection was refused */
		} else {
			cli_error("%s: signerd answered request %llu, expected %llu", r->what,
			          (unsigned long long)resp->id, (unsigned long long)id);
		}
		signer__v1__response__free_unpacked(resp, NULL);
		return false;
	}
	*out = resp;
	return true;
}

bool cli_rpc_call(cli_rpc_t *r, Signer__V1__Request *req, Signer__V1__Response **out)
{
	*out = NULL;
	req->id = cli_rpc_id(r);
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_send(r, req) || !cli_rpc_recv(r, req->id, &resp)) {
		return false;
	}
	if (resp->status != SIGNER__V1__STATUS__OK) {
		cli_rpc_status_error(r, resp);
		signer__v1__response__free_unpacked(resp, NULL);
		return false;
	}
	*out = resp;
	return true;
}

void cli_rpc_status_error(const cli_rpc_t *r, const Signer__V1__Response *resp)
{
	const char *msg = resp->message != NULL ? resp->message : "";
	cli_error("%s: %s%s%s", r->what, cli_rpc_status_name(resp->status), msg[0] ? ": " : "",
	          msg);
}

int cli_rpc_once(const cli_rpc_opts_t *opts, unsigned default_timeout, const char *what,
                 Signer__V1__Request *req, Signer__V1__Response **out)
{
	cli_rpc_t r;
	int ret = cli_rpc_connect(opts, default_timeout, what, &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	ret = cli_rpc_call(&r, req, out) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	cli_rpc_close(&r);
	return ret;
}
