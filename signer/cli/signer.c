/*
 * signer: the operator's command-line tool. One binary with subcommands;
 * `signer hsm ...` (tokens and keys) and `signer sign` (a zone file).
 */
#include <stdio.h>
#include <string.h>

#include "signer/cli/cli_common.h"
#include "signer/cli/cli_hsm.h"
#include "signer/cli/cli_sign.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: signer COMMAND ...\n"
	            "commands:\n"
	            "  hsm      tokens and keys (signer hsm --help)\n");
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
	cli_error("unknown command '%s' (see signer --help)", argv[1]);
	return CLI_EXIT_USAGE;
}
