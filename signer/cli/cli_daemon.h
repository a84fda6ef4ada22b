/*
 * cli_daemon: the daemon-wide commands of `signer`, asked of signerd over its
 * RPC: `signer status` (version, clock, tokens, health: exit status 3 when not
 * healthy, for monitoring) and `signer clock set` (testing: moves the
 * daemon's clock). Never opens the HSM. Runs in the CLI's single thread.
 */
#ifndef SIGNER_CLI_CLI_DAEMON_H
#define SIGNER_CLI_CLI_DAEMON_H

/* Exit status of `signer status` when the daemon answers but is not healthy. */
#define CLI_EXIT_UNHEALTHY 3

/* Runs `signer status` with argv[0] = "status"; returns the exit status. */
int cli_daemon_status_main(int argc, char **argv);

/* Runs `signer clock` with argv[0] = "clock" (only `clock set OFFSET`). */
int cli_daemon_clock_main(int argc, char **argv);

#endif
