/*
 * cli_state: `signer state backup DIR` (signerd writes a consistent copy of
 * its key store and zones into a new directory, over its RPC) and `signer
 * state restore DIR` (offline, signerd stopped: checks every key of the
 * backup is in its token, moves the state directory's content aside, copies
 * the backup in and leaves the marker that makes signerd move every serial
 * on at its next start). Runs in the CLI's single thread.
 */
#ifndef SIGNER_CLI_CLI_STATE_H
#define SIGNER_CLI_CLI_STATE_H

#include <stdbool.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/config.h"

/* Runs `signer state` with argv[0] = "state"; returns the exit status. */
int cli_state_main(int argc, char **argv);

/* Restores backup dir into cfg's state directory (see above; hsm and cfg
 * borrowed): the exit status, errors printed. `signer master` uses it. */
int cli_state_restore(hsm_ctx_t *hsm, const config_t *cfg, const char *dir, unsigned long bump,
                      bool force);

/* Whether a signerd answers on cfg's socket. */
bool cli_state_daemon_running(const config_t *cfg);

#endif
