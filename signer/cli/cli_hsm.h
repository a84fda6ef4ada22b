/*
 * cli_hsm: `signer hsm ...`: tokens, keygen, keys, dnskey, delete, import,
 * speed. Single-threaded except `speed`, which runs its own workers.
 */
#ifndef SIGNER_CLI_CLI_HSM_H
#define SIGNER_CLI_CLI_HSM_H

#include <stdio.h>

/* Runs `signer hsm` with argv[0] = "hsm"; returns the exit status. */
int cli_hsm_main(int argc, char **argv);

/* Prints the usage of `signer hsm` to fp. */
void cli_hsm_usage(FILE *fp);

#endif
