/*
 * cli_sign: `signer sign`: one-shot signing of a zone file with keys in the
 * HSM (load, sign, verify, write atomically, print the DS records).
 * Runs in the CLI's thread; the signing pipeline runs its own workers.
 */
#ifndef SIGNER_CLI_CLI_SIGN_H
#define SIGNER_CLI_CLI_SIGN_H

/* Runs `signer sign` with argv[0] = "sign"; returns the exit status. */
int cli_sign_main(int argc, char **argv);

#endif
