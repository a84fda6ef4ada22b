/*
 * cli_rpc: what the `signer` subcommands that talk to signerd share (zone,
 * key, status, clock): the connection options (-c signer.yaml, or --server
 * with --tls-cert/--tls-key/--tls-ca), --timeout and --json; connecting;
 * sending a request and reading its responses; reporting the daemon's errors
 * as "signer: WHAT: STATUS: message"; a one-line JSON writer; and the pure
 * helpers these commands need (durations, clock offsets, UTC times, splitting
 * master-file text into chunks).
 *
 * These commands never open the HSM: they only talk to the daemon. A
 * connection (cli_rpc_t) lives in caller storage: cli_rpc_connect() ->
 * cli_rpc_call()/send/recv -> cli_rpc_close(). Used by the CLI's single
 * thread only.
 */
#ifndef SIGNER_CLI_CLI_RPC_H
#define SIGNER_CLI_CLI_RPC_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "signer.pb-c.h"
#include "signer/rpc/rpc_conn.h"

/* Time limit of each wait for the daemon, in seconds, unless --timeout: a
 * change (push, update, add) is answered only once it is signed and durably
 * published; anything else answers at once. */
#define CLI_RPC_TIMEOUT_CHANGE 600
#define CLI_RPC_TIMEOUT_QUERY  60

/* Largest text chunk sent in one RecordChunk, in bytes. */
#define CLI_RPC_TEXT_CHUNK (256 * 1024)

/* Long-option values of the connection options; subcommands number theirs
 * from CLI_RPC_OPT_FIRST_FREE. */
enum {
	CLI_RPC_OPT_SERVER = 1100,
	CLI_RPC_OPT_TLS_CERT,
	CLI_RPC_OPT_TLS_KEY,
	CLI_RPC_OPT_TLS_CA,
	CLI_RPC_OPT_TIMEOUT,
	CLI_RPC_OPT_JSON,
	CLI_RPC_OPT_FIRST_FREE,
};

/* The connection options, for getopt_long tables ("c:h" in the short string). */
#define CLI_RPC_OPTIONS                                                                            \
	{"config", required_argument, NULL, 'c'},                                                  \
	        {"server", required_argument, NULL, CLI_RPC_OPT_SERVER},                           \
	        {"tls-cert", required_argument, NULL, CLI_RPC_OPT_TLS_CERT},                       \
	        {"tls-key", required_argument, NULL, CLI_RPC_OPT_TLS_KEY},                         \
	        {"tls-ca", required_argument, NULL, CLI_RPC_OPT_TLS_CA},                           \
	        {"timeout", required_argument, NULL, CLI_RPC_OPT_TIMEOUT},                         \
	        {"json", no_argument, NULL, CLI_RPC_OPT_JSON},                                     \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

#define CLI_RPC_HELP                                                                               \
	"  -c, --config FILE      signer.yaml: its client: section, else server.socket\n"          \
	"                         (default $SIGNER_CONFIG)\n"                                      \
	"      --server ADDR      unix:/path/signerd.sock or tls:host:port (instead of -c)\n"      \
	"      --tls-cert FILE    client certificate (PEM) for tls:\n"                             \
	"      --tls-key FILE     its private key\n"                                               \
	"      --tls-ca FILE      CA certificates the daemon's certificate must verify to\n"       \
	"      --timeout D        longest wait for the daemon (s m h d w; default 600 for\n"       \
	"                         changes, 60 otherwise, none for watch)\n"                        \
	"      --json             machine output: one JSON object per line on stdout\n"            \
	"  -h, --help             this help\n"

typedef struct {
	const char *config; /* -c */
	const char *server;
	const char *tls_cert, *tls_key, *tls_ca;
	bool has_timeout;
	uint32_t timeout; /* seconds, 0: no limit; used if has_timeout */
	bool json;
} cli_rpc_opts_t;

/* Handles a connection option: returns true if opt was one; *ok is set to
 * false if its value is refused. */
bool cli_rpc_option(cli_rpc_opts_t *opts, int opt, const char *arg, bool *ok);

/* One connection to the daemon. what names the command in error reports
 * ("zone push example.com"). */
typedef struct {
	rpc_conn_t *conn;
	uint64_t next_id;
	char what[320];
	bool json;
} cli_rpc_t;

/* Connects as the options say (--server, else -c/$SIGNER_CONFIG's client:
 * section or server.socket), with each later wait bounded by --timeout or
 * default_timeout seconds (0: none). Prints the error and returns
 * CLI_EXIT_FAIL (no daemon, refused) or CLI_EXIT_USAGE (no address given);
 * CLI_EXIT_OK with r set. Ignores SIGPIPE for the process. */
int cli_rpc_connect(const cli_rpc_opts_t *opts, unsigned default_timeout, const char *what,
                    cli_rpc_t *r);

/* Closes the connection (r may be zeroed: no-op). */
void cli_rpc_close(cli_rpc_t *r);

/* A new request id, for a request or a stream. */
uint64_t cli_rpc_id(cli_rpc_t *r);

/* Sends req (borrowed; its id is the caller's). Prints the error and
 * returns false on failure. */
bool cli_rpc_send(cli_rpc_t *r, const Signer__V1__Request *req);

/* Sends one frame of a stream (push, update). On failure, reads what the
 * daemon may have answered before closing (a refusal of the stream) and
 * prints that, else the transport error; returns false. */
bool cli_rpc_send_stream(cli_rpc_t *r, const Signer__V1__Request *req);

/* Reads the next response to id into *out (free with
 * signer__v1__response__free_unpacked). Prints the error and returns false
 * if reading fails or the daemon answers another id (a refusal of the whole
 * connection, id 0, is reported with its status). The status is not
 * checked. */
bool cli_rpc_recv(cli_rpc_t *r, uint64_t id, Signer__V1__Response **out);

/* Gives req a new id, sends it and reads its answer into *out. Returns
 * false (error printed, *out NULL) on a transport failure or a status other
 * than OK. */
bool cli_rpc_call(cli_rpc_t *r, Signer__V1__Request *req, Signer__V1__Response **out);

/* One request on a connection of its own: connects (as cli_rpc_connect),
 * calls (as cli_rpc_call) and closes. CLI_EXIT_OK with *out (free with
 * signer__v1__response__free_unpacked), else the exit status (printed). */
int cli_rpc_once(const cli_rpc_opts_t *opts, unsigned default_timeout, const char *what,
                 Signer__V1__Request *req, Signer__V1__Response **out);

/* Prints "signer: WHAT: STATUS: message" for an answer that is not OK. */
void cli_rpc_status_error(const cli_rpc_t *r, const Signer__V1__Response *resp);

/* Name of a status ("INVALID_ZONE"), or "status N". Static text, or buf. */
const char *cli_rpc_status_name(int status);

/* Name of an alarm level ("none", "warning", "critical"). Static text. */
const char *cli_rpc_alarm_name(int alarm);

/* --- pure helpers (tested in tests/unit/signer/test_cli_rpc.c) --- */

/* A duration: digits with an optional unit s, m, h, d or w, at most
 * 2^31 - 1 seconds. Returns false (out unchanged) otherwise. */
bool cli_rpc_parse_duration(const char *s, uint32_t *out);

/* A clock offset: an optional sign, then a duration as above (at most
 * RPC_FRAME_MAX_CLOCK_OFFSET seconds either way), in seconds. */
bool cli_rpc_parse_offset(const char *s, int64_t *out);

/* Writes seconds in the largest exact unit of d, h, m ("14d", "90m", "45s",
 * "0s") into buf. */
void cli_rpc_duration_str(uint32_t seconds, char *buf, size_t len);

/* Writes UNIX seconds as UTC ISO 8601 ("2026-01-02T03:04:05Z") into buf;
 * 0 is "-". buf needs 32 bytes. */
void cli_rpc_time_str(int64_t t, char *buf, size_t len);

/* Length of the first chunk of text (len bytes) to send: at most max bytes,
 * ending just after a newline outside parentheses, quotes and comments, so
 * that every chunk holds whole records. If no such newline comes within max
 * bytes, the chunk runs to the first one after (or to the end). Returns len
 * when the rest fits. */
size_t cli_rpc_text_chunk(const char *text, size_t len, size_t max);

/* Writes s as a JSON string (quoted; ", \ and control characters escaped,
 * invalid UTF-8 replaced by U+FFFD) to f. */
void cli_json_string(FILE *f, const char *s);

/* A JSON object written on one line: cli_json_begin() -> fields, nested
 * objects and arrays -> cli_json_end() (newline, flush). Keys are NULL for
 * the members of an array. */
typedef struct {
	FILE *f;
	int depth;
	bool first[16]; /* per depth: no member written yet */
	char close[16]; /* per depth: '}' or ']' */
} cli_json_t;

void cli_json_begin(cli_json_t *j, FILE *f);
void cli_json_end(cli_json_t *j);
void cli_json_obj(cli_json_t *j, const char *key);
void cli_json_arr(cli_json_t *j, const char *key);
void cli_json_close(cli_json_t *j); /* closes the innermost object or array */
void cli_json_str(cli_json_t *j, const char *key, const char *val);
void cli_json_uint(cli_json_t *j, const char *key, uint64_t val);
void cli_json_int(cli_json_t *j, const char *key, int64_t val);
void cli_json_bool(cli_json_t *j, const char *key, bool val);
/* UNIX seconds as an ISO 8601 string; 0 as null. */
void cli_json_time(cli_json_t *j, const char *key, int64_t t);

#endif
