/*
 * cli_zone: `signer zone ...`: the zones of a running signerd, over its RPC
 * (add, remove, list, status, push, update, pull, watch). Never opens the
 * HSM. Runs in the CLI's single thread.
 */
#ifndef SIGNER_CLI_CLI_ZONE_H
#define SIGNER_CLI_CLI_ZONE_H

#include <stdio.h>

/* Runs `signer zone` with argv[0] = "zone"; returns the exit status. */
int cli_zone_main(int argc, char **argv);

/* Prints the usage of `signer zone` to fp. */
void cli_zone_usage(FILE *fp);

#endif
