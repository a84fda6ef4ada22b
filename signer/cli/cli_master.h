/*
 * cli_master: `signer master status|seize|transfer`: the active/standby
 * handover of signerd nodes that share their tokens (signer.yaml cluster:).
 * The fencing record is read and written in the token (hsm_data, dfence.h
 * values); seize restores the last shipped state with cli_state_restore;
 * transfer asks the active signerd over its RPC to step down first. Runs in
 * the CLI's single thread.
 */
#ifndef SIGNER_CLI_CLI_MASTER_H
#define SIGNER_CLI_CLI_MASTER_H

/* Runs `signer master` with argv[0] = "master"; returns the exit status. */
int cli_master_main(int argc, char **argv);

#endif
