/*
 * config: signer.yaml, the configuration shared by signerd and the signer
 * CLI (libyaml):
 *
 *   tokens:
 *     - name: main
 *       module: /usr/lib/softhsm/libsofthsm2.so
 *       uri: "pkcs11:token=signer"
 *       pin_file: /etc/signer/pin      # or pin_env: SIGNER_PIN
 *       max_sessions: 0                # optional, 0 = no limit
 *       combined_mechanisms: false     # optional, hash-and-sign mechanisms
 *       retry_budget: 60               # optional, seconds (or 1m...)
 *
 *   server:                          # signerd's RPC endpoints and limits
 *     socket: /run/signer/signerd.sock # Unix socket (default signerd.sock)
 *     socket_mode: "0660"            # octal; never a bit for others, nothing above 0777
 *     socket_owner: signer           # optional user and group of the socket
 *     socket_group: dns
 *     tls_listen: "127.0.0.1:5300"   # optional TCP ("[::1]:5300" for IPv6) with TLS 1.3
 *     tls_cert: server.pem           #   and client certificates: all three files are
 *     tls_key: server.key            #   required with tls_listen
 *     tls_ca: clients-ca.pem         # issuer of accepted client certificates
 *     max_frame: 16M                 # bytes, 4K..1G, checked before reading a frame
 *     request_timeout: 30            # seconds a client may take per request, 1..1d
 *     max_connections: 64            # in all, 1..65535
 *     test_clock: false              # testing: clients may move the clock
 *   clients:                         # who may do what (anything else: denied)
 *     - uid: 1000                    # Unix peer (SO_PEERCRED; a user name is looked
 *                                    # up when loading), or
 *       cert_sha256: "ab12..."       # SHA-256 of the TLS client key (SPKI DER), 64 hex
 *       role: feeder                 # feeder (its zones only) or operator (no zones)
 *       zones: [example.com]         # feeder: required, stored lowercase with final dot
 *       max_connections: 4           # optional, default 8
 *       max_zone_records: 2000000    # optional, records per pushed zone (default 10^7)
 *   state_dir: /var/lib/signer       # zones, signed state, journals (default state)
 *   output_dir: /var/lib/signer/out  # optional: each published serial as a zone file
 *   notify_command: "nsd-control reload %z"   # optional, %z zone, %f file, %s serial, %%
 *   journal: {max_entries: 1000, max_bytes: 64M, max_age: 7d}   # the defaults
 *   signing: {passes: 2, threads: 0} # zones signed at once (1..64); workers per pass
 *                                    # (0..256, 0: auto)
 *   log: {syslog: false, level: info} # err, warning, notice, info or debug
 *   policies:                        # KASP policies, inline (kasp/kasp_policy.h);
 *     - name: default                #   a zone added with --policy NAME gets its keys,
 *       algorithm: ECDSAP256SHA256   #   timing and rollovers from it
 *   policy_file: kasp.yaml           # or/and a file whose top level is "policies:"
 *   cluster:                         # active/standby (signer master; dfence.h)
 *     node: signer-a                 # this node's name
 *     fence_token: main              # the token both nodes see (default: the first)
 *     ship_dir: /srv/signer-ship     # the active ships its state here; the standby
 *     ship_interval: 60              #   restores it when it takes over (0: only then)
 *   client:                          # the signer CLI's way to signerd
 *     server: "unix:/run/signer/signerd.sock"   # or "tls:host:port" (needs all three
 *     tls_cert: client.pem                      #   tls_ files)
 *     tls_key: client.key
 *     tls_ca: server-ca.pem
 *
 * Relative paths (socket, tls_*, pin_file, state_dir, output_dir, a unix:
 * client server) are taken from the configuration file's directory and
 * stored absolute; the defaults are signerd.sock and state there. Sizes are
 * bytes with an optional suffix K, M or G (powers of 1024); durations are
 * seconds with an optional suffix s, m, h, d or w.
 *
 * Unknown keys are refused with their line, so a typo never goes unnoticed.
 * Life cycle: config_load() -> read the fields -> config_free(). A loaded
 * configuration is immutable and may be read from any thread.
 */
#ifndef SIGNER_DAEMON_CONFIG_H
#define SIGNER_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_token.h"
#include "kasp/kasp_policy.h"

typedef enum {
	CONFIG_OK = 0,
	CONFIG_ERR_NOMEM = -1600,
	CONFIG_ERR_IO = -1601,     /* file cannot be read */
	CONFIG_ERR_SYNTAX = -1602, /* not YAML, or not the expected shape */
	CONFIG_ERR_VALUE = -1603,  /* a key or value is refused */
} config_status_t;

typedef enum {
	CONFIG_ROLE_FEEDER,
	CONFIG_ROLE_OPERATOR,
} config_role_t;

typedef struct {
	bool has_uid; /* identity: a Unix uid, or a certificate key hash */
	uint32_t uid;
	char *cert_sha256; /* lowercase hex, 64 digits; NULL if has_uid */
	config_role_t role;
	char **zones; /* feeder: the zones it may push, update and fetch */
	size_t nzones;
	unsigned max_connections;
	uint64_t max_zone_records;
} config_client_t;

typedef struct {
	char *socket;                      /* absolute; never NULL after loading */
	unsigned socket_mode;              /* permission bits; no bit for others allowed */
	char *socket_owner, *socket_group; /* NULL: the daemon's */
	char *tls_listen;                  /* "host:port", NULL: no TCP */
	char *tls_cert, *tls_key, *tls_ca;
	size_t max_frame;         /* bytes */
	unsigned request_timeout; /* seconds */
	unsigned max_connections;
	bool test_clock;
} config_server_t;

typedef struct {
	hsm_token_config_t *tokens; /* strings owned by the config */
	size_t ntokens;
	config_server_t server;
	config_client_t *clients;
	size_t nclients;
	char *state_dir;      /* absolute; never NULL after loading */
	char *output_dir;     /* absolute; NULL: no zone files */
	char *notify_command; /* NULL: none */
	unsigned journal_max_entries;
	uint64_t journal_max_bytes;
	uint32_t journal_max_age; /* seconds */
	unsigned passes;          /* zones signed at once */
	unsigned threads;         /* workers per pass, 0: from the token's latency */
	bool log_syslog;
	int log_level;                  /* syslog priority: LOG_ERR..LOG_DEBUG */
	char *cluster_node;             /* NULL: a single node, no fencing */
	char *cluster_fence_token;      /* NULL: the first token */
	char *cluster_ship_dir;         /* where the active ships its state */
	uint32_t cluster_ship_interval; /* seconds; 0: only at a transfer */
	kasp_policy_t *policies;        /* KASP policies (kasp_policy.h), in file order */
	size_t npolicies;
	char *client_server; /* CLI: "unix:PATH" or "tls:HOST:PORT"; NULL: unix:server.socket */
	char *client_tls_cert, *client_tls_key, *client_tls_ca;
} config_t;

/* Loads path. On failure returns the status and writes "FILE:LINE: reason"
 * ("FILE: reason" if unreadable) into err (errlen bytes). The caller owns
 * *out (config_free). Reads the working directory and the user database;
 * call it before threads that change either. */
int config_load(const char *path, config_t **out, char *err, size_t errlen);

/* Parses a duration as the configuration writes them: digits and at most
 * one unit s, m, h, d or w (no sign, no space), at most max seconds; true
 * and *out (seconds) or false. Pure; the CLI uses it too. */
bool config_parse_duration(const char *s, uint64_t max, uint64_t *out);

/* Frees a configuration; NULL is a no-op. */
void config_free(config_t *config);

/* Static text for a status. */
const char *config_strerror(int status);

#endif
