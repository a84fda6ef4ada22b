/*
 * daemon_rpc: signerd's side of the RPC (proto/signer.proto): the accept
 * thread ("rpc"), one thread per connection ("conn"), who may do what, and
 * every request's handling on top of zonemgr.
 *
 * Authorization: a connection's identity is its Unix peer uid (SO_PEERCRED)
 * or the SHA-256 of its TLS client key; the `clients` of the configuration
 * map identities to a role: operator (everything) or feeder (push, update,
 * fetch, status and DS of its own zones). Anyone else, and a feeder outside
 * its zones, gets PERMISSION_DENIED. Limits: connections per identity and
 * in all, records per pushed zone, the time a client may take between the
 * frames of a stream (server.request_timeout).
 *
 * Changes are answered when their serial is durably published (or refused);
 * a client may pipeline requests: answers carry the request's id and come in
 * the order their work completes.
 *
 * Life cycle: daemon_rpc_start() opens the sockets and starts accepting ->
 * daemon_rpc_set_config() on reload (any thread) -> daemon_rpc_stop() closes
 * the listeners and every connection and joins the threads.
 */
#ifndef SIGNER_DAEMON_DAEMON_RPC_H
#define SIGNER_DAEMON_DAEMON_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/config.h"
#include "signer/daemon/dclock.h"
#include "signer/daemon/zonemgr.h"

typedef struct daemon_rpc daemon_rpc_t;

/* Borrowed for the server's life (config until replaced). */
typedef struct {
	const config_t *config;
	zonemgr_t *zones;
	hsm_ctx_t *hsm;
	dclock_t *clock;
	dkasp_t *kasp;      /* the key manager (key commands, exports) */
	int64_t started_at; /* UNIX seconds */
} daemon_rpc_params_t;

/* Opens the listeners and starts the accept thread. Returns 0 or -1 with
 * the reason in err. */
int daemon_rpc_start(const daemon_rpc_params_t *p, daemon_rpc_t **out, char *err, size_t errlen);

/* Replaces the clients and limits (a reloaded configuration, borrowed until
 * the next call or stop). Listeners are not reopened. Thread-safe. */
void daemon_rpc_set_config(daemon_rpc_t *r, const config_t *config);

/* Stops accepting, shuts every connection down, waits for their threads,
 * frees. NULL is a no-op. */
void daemon_rpc_stop(daemon_rpc_t *r);

#endif
