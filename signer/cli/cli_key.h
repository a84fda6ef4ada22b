/*
 * cli_key: `signer key ...`: the keys signerd sees in its tokens (list) and
 * the DS records of a zone's KSKs/CSKs (ds), asked of the daemon over its
 * RPC. Never opens the HSM. Runs in the CLI's single thread.
 */
#ifndef SIGNER_CLI_CLI_KEY_H
#define SIGNER_CLI_CLI_KEY_H

#include <stdio.h>

/* Runs `signer key` with argv[0] = "key"; returns the exit status. */
int cli_key_main(int argc, char **argv);

/* Prints the usage of `signer key` to fp. */
void cli_key_usage(FILE *fp);

#endif
