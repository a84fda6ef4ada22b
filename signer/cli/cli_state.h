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

/* Runs `signer state` with argv[0] = "state"; returns the exit status. */
int cli_state_main(int argc, char **argv);

#endif
