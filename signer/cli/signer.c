/*
 * signer: the operator's command-line tool. One binary with subcommands;
 * `signer hsm ...` (tokens and keys) and `signer sign` (a zone file) work on
 * the HSM directly; `signer zone ...`, `key ...`, `status` and `clock` ask a
 * running signerd.
 */
#include <stdio.h>
#include <string.h>

#include "signer/cli/cli_common.h"
#include "signer/cli/cli_daemon.h"
#include "signer/cli/cli_hsm.h"
#include "signer/cli/cli_key.h"
#include "signer/cli/cli_sign.h"
#include "signer/cli/cli_master.h"
#include "signer/cli/cli_state.h"
#include "signer/cli/cli_zone.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: signer COMMAND ...\n"
	            "commands:\n"
	            "  hsm      tokens and keys (signer hsm --help)\n"
	            "  sign     sign a zone file once (signer sign --help)\n"
	            "  zone     zones of signerd: add, push, update, pull, watch... (signer zone "
	            "--help)\n"
	            "  key      keys, DS records, trust anchors, rollovers (signer key --help)\n"
	            "  state    back up and restore signerd's state (signer state --help)\n"
	            "  master   active/standby handover: status, seize, transfer\n"
	            "  status   signerd's health (exit status 3 if not healthy)\n"
	            "  clock    testing: move signerd's clock (signer clock --help)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "hsm") == 0) {
		return cli_hsm_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "sign") == 0) {
		return cli_sign_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "zone") == 0) {
		return cli_zone_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "key") == 0) {
		return cli_key_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "status") == 0) {
		return cli_daemon_status_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "master") == 0) {
		return cli_master_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "state") == 0) {
		return cli_state_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "clock") == 0) {
		return cli_daemon_clock_main(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s' (see signer --help)", argv[1]);
	return CLI_EXIT_USAGE;
}
