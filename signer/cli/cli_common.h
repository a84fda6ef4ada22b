/*
 * cli_common: what every `signer` subcommand shares: the token options
 * (-c FILE, or --module/--token/--pin-file for one token), opening the
 * hsm_ctx from them, and one-line error reports on stderr.
 *
 * Used by the CLI's single thread only.
 */
#ifndef SIGNER_CLI_CLI_COMMON_H
#define SIGNER_CLI_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_error.h"

/* Exit statuses. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/* Long-option values of the common options (above any short option). */
enum {
	CLI_OPT_MODULE = 1000,
	CLI_OPT_TOKEN,
	CLI_OPT_PIN_FILE,
	CLI_OPT_FIRST_FREE, /* subcommands number their options from here */
};

/* The common options, for getopt_long tables ("c:" in the short string). */
#define CLI_COMMON_OPTIONS                                                                         \
	{"config", required_argument, NULL, 'c'},                                                  \
	        {"module", required_argument, NULL, CLI_OPT_MODULE},                               \
	        {"token", required_argument, NULL, CLI_OPT_TOKEN},                                 \
	        {"pin-file", required_argument, NULL, CLI_OPT_PIN_FILE},                           \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

#define CLI_COMMON_HELP                                                                            \
	"  -c, --config FILE      signer.yaml naming the tokens\n"                                 \
	"      --module PATH      PKCS#11 module (one token, instead of -c)\n"                     \
	"      --token URI        RFC 7512 token URI, e.g. pkcs11:token=signer\n"                  \
	"      --pin-file FILE    user PIN file (mode 0600); else $SIGNER_PIN\n"                   \
	"  -h, --help             this help\n"

typedef struct {
	const char *config; /* -c */
	const char *module;
	const char *token;
	const char *pin_file;
} cli_opts_t;

/* Handles a common option; returns true if opt was one. */
bool cli_common_option(cli_opts_t *opts, int opt, const char *arg);

/* Opens the tokens named by the options (not connected yet). Prints the
 * error and returns false on failure. The caller frees *ctx and *config
 * (via cli_close). */
bool cli_open(const cli_opts_t *opts, hsm_ctx_t **ctx, void **config);
void cli_close(hsm_ctx_t *ctx, void *config);

/* Prints "signer: WHAT: detail" for a failed hsm call. */
void cli_hsm_error(const char *what, int status, const hsm_detail_t *detail);

/* Prints "signer: " and a formatted message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A command group (`signer hsm|zone|key COMMAND`): its subcommand table seen
 * through the size of an entry and the offsets of its name and usage
 * strings, so that each file keeps its own table type (CLI_GROUP). */
typedef struct {
	const char *group; /* "zone" */
	const void *table;
	size_t count, size, name_off, usage_off;
	const char *common_help; /* the group's common options */
} cli_group_t;

/* The group of table (an array of type, with const char * members name and
 * usage). */
#define CLI_GROUP(group, table, type, help)                                                        \
	{                                                                                          \
		(group), (table), sizeof(table) / sizeof((table)[0]), sizeof(type),                \
		        offsetof(type, name), offsetof(type, usage), (help)                        \
	}

/* Prints the group's usage: every subcommand's usage line, then the common
 * options. */
void cli_group_usage(const cli_group_t *g, FILE *fp);

/* Finds the subcommand argv[1]: true and *index, or false with *exit set
 * (usage printed for no command or --help, an error for an unknown one). */
bool cli_group_find(const cli_group_t *g, int argc, char **argv, size_t *index, int *exit);

#endif
