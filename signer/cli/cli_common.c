#include "signer/cli/cli_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/daemon/config.h"

bool cli_common_option(cli_opts_t *opts, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
		opts->config = arg;
		return true;
	case CLI_OPT_MODULE:
		opts->module = arg;
		return true;
	case CLI_OPT_TOKEN:
		opts->token = arg;
		return true;
	case CLI_OPT_PIN_FILE:
		opts->pin_file = arg;
		return true;
	default:
		return false;
	}
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("signer: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_hsm_error(const char *what, int status, const hsm_detail_t *detail)
{
	char buf[512];
	hsm_detail_format(status, detail, buf, sizeof(buf));
	cli_error("%s: %s", what, buf);
}

bool cli_open(const cli_opts_t *opts, hsm_ctx_t **ctx, void **config)
{
	config_t *cfg = NULL;
	hsm_token_config_t one = {0};
	const hsm_token_config_t *tokens = &one;
	size_t ntokens = 1;
	*config = NULL;
	if (opts->module != NULL || opts->token != NULL) {
		if (opts->config != NULL) {
			cli_error("give -c or --module/--token, not both");
			return false;
		}
		if (opts->module == NULL || opts->token == NULL) {
			cli_error("--module and --token go together");
			return false;
		}
		one.name = "default";
		one.module = opts->module;
		one.uri = opts->token;
		one.pin_file = opts->pin_file;
	} else {
		const char *path = opts->config;
		if (path == NULL) {
			path = getenv("SIGNER_CONFIG");
		}
		if (path == NULL) {
			cli_error("no tokens: give -c signer.yaml or --module and --token");
			return false;
		}
		char err[512];
		int ret = config_load(path, &cfg, err, sizeof(err));
		if (ret != CONFIG_OK) {
			cli_error("%s", err);
			return false;
		}
		tokens = cfg->tokens;
		ntokens = cfg->ntokens;
		if (opts->pin_file != NULL) {
			/* --pin-file overrides the file's PIN source for every token. */
			for (size_t i = 0; i < ntokens; i++) {
				cfg->tokens[i].pin_file = opts->pin_file;
				cfg->tokens[i].pin_env = NULL;
			}
		}
	}
	hsm_detail_t d = {0};
	int ret = hsm_ctx_new(tokens, ntokens, ctx, &d);
	if (ret != HSM_OK) {
		cli_hsm_error("opening tokens", ret, &d);
		config_free(cfg);
		return false;
	}
	*config = cfg;
	return true;
}

void cli_close(hsm_ctx_t *ctx, void *config)
{
	hsm_ctx_free(ctx);
	config_free(config);
}

/* The string at offset off of entry i of g's table. */
static const char *entry_str(const cli_group_t *g, size_t i, size_t off)
{
	const char *entry = (const char *)g->table + i * g->size;
	const char *str;
	memcpy(&str, entry + off, sizeof(str));
	return str;
}

void cli_group_usage(const cli_group_t *g, FILE *fp)
{
	fprintf(fp, "usage: signer %s COMMAND [options]\ncommands:\n", g->group);
	for (size_t i = 0; i < g->count; i++) {
		fprintf(fp, "  %s\n", entry_str(g, i, g->usage_off));
	}
	fprintf(fp, "common options:\n%s", g->common_help);
}

bool cli_group_find(const cli_group_t *g, int argc, char **argv, size_t *index, int *exit)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_group_usage(g, argc < 2 ? stderr : stdout);
		*exit = argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
		return false;
	}
	for (size_t i = 0; i < g->count; i++) {
		if (strcmp(argv[1], entry_str(g, i, g->name_off)) == 0) {
			*index = i;
			return true;
		}
	}
	cli_error("unknown command '%s %s' (see signer %s --help)", g->group, argv[1], g->group);
	*exit = CLI_EXIT_USAGE;
	return false;
}
