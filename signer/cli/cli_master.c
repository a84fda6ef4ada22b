#include "signer/cli/cli_master.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_data.h"
#include "signer/cli/cli_common.h"
#include "signer/cli/cli_rpc.h"
#include "signer/cli/cli_state.h"
#include "signer/daemon/config.h"
#include "signer/daemon/dfence.h"

enum {
	OPT_TO = CLI_RPC_OPT_FIRST_FREE,
	OPT_FORCE,
	OPT_SERIAL_BUMP,
};

static const char usage_text[] =
        "usage: signer master status -c signer.yaml\n"
        "       signer master seize -c signer.yaml [--force] [--serial-bump N]\n"
        "       signer master transfer -c ACTIVE.yaml --to STANDBY.yaml [--serial-bump N]\n"
        "\n"
        "Active/standby nodes (signer.yaml cluster:) share the keys' tokens; a fencing\n"
        "record in the token names the node that signs (its epoch) and the last state\n"
        "it shipped to cluster.ship_dir.\n"
        "status: prints the record.\n"
        "seize: promotes this node (its signerd stopped) when the active is gone: the\n"
        "  last shipped state is restored here (refused if it is older than the last\n"
        "  the active recorded, unless --force), then the epoch goes up and names this\n"
        "  node. A returning old active reads the record before its next pass and\n"
        "  refuses to sign or to generate keys. Then start signerd here.\n"
        "transfer: hands over in order: the active stops signing and ships its final\n"
        "  state, the standby (its signerd stopped) takes it and the epoch (as seize).\n"
        "  Then start the standby's signerd and stop the old one.\n";

static int usage_error(const char *msg)
{
	cli_error("master: %s", msg);
	fputs(usage_text, stderr);
	return CLI_EXIT_USAGE;
}

/* Reads the fencing record of cfg's cluster: 0, -1 (printed). */
static int read_fence(hsm_ctx_t *hsm, const config_t *cfg, dfence_value_t *v, char *raw,
                      size_t rawcap, bool *found)
{
	hsm_token_t *t = dfence_token(hsm, cfg);
	if (t == NULL) {
		cli_error("master: no fence token in the configuration");
		return -1;
	}
	uint8_t buf[HSM_DATA_VALUE_MAX];
	size_t len = 0;
	hsm_detail_t d = {0};
	int st = hsm_data_read(t, DFENCE_LABEL, buf, sizeof(buf), &len, found, &d);
	if (st != HSM_OK) {
		cli_hsm_error("reading the fencing record", st, &d);
		return -1;
	}
	memset(v, 0, sizeof(*v));
	if (*found && !dfence_parse(buf, len, v)) {
		cli_error("master: the fencing record '%s' is not one of ours", DFENCE_LABEL);
		return -1;
	}
	size_t n = *found && len < rawcap ? len : 0;
	memcpy(raw, buf, n);
	raw[n] = '\0';
	return 0;
}

static int open_config(const char *path, hsm_ctx_t **hsm, void **cfg)
{
	cli_opts_t o = {.config = path};
	if (!cli_open(&o, hsm, cfg)) {
		return -1;
	}
	if (((config_t *)*cfg)->cluster_node == NULL) {
		cli_error("master: %s has no cluster: section", path);
		cli_close(*hsm, *cfg);
		return -1;
	}
	return 0;
}

static int run_status(const char *config)
{
	hsm_ctx_t *hsm = NULL;
	void *vcfg = NULL;
	if (open_config(config, &hsm, &vcfg) != 0) {
		return CLI_EXIT_FAIL;
	}
	const config_t *cfg = vcfg;
	dfence_value_t v;
	char raw[256];
	bool found = false;
	int ret = read_fence(hsm, cfg, &v, raw, sizeof(raw), &found) == 0 ? CLI_EXIT_OK
	                                                                  : CLI_EXIT_FAIL;
	if (ret == CLI_EXIT_OK && !found) {
		printf("no fencing record yet: the first signerd to start takes epoch 1\n");
	} else if (ret == CLI_EXIT_OK) {
		printf("epoch %" PRIu64 " held by %s (this node: %s), last state shipped %" PRIu64
		       "\n",
		       v.epoch, v.node, cfg->cluster_node, v.state);
	}
	cli_close(hsm, vcfg);
	return ret;
}

/* Promotes cfg's node: restore of the latest shipped state, then the epoch. */
static int seize(hsm_ctx_t *hsm, const config_t *cfg, bool force, unsigned long bump)
{
	if (cli_state_daemon_running(cfg)) {
		cli_error("master seize: signerd answers on %s: stop it first", cfg->server.socket);
		return CLI_EXIT_FAIL;
	}
	dfence_value_t v;
	char raw[256];
	bool found = false;
	if (read_fence(hsm, cfg, &v, raw, sizeof(raw), &found) != 0) {
		return CLI_EXIT_FAIL;
	}
	char path[4096 + 32], name[256] = "";
	snprintf(path, sizeof(path), "%s/" DFENCE_LATEST, cfg->cluster_ship_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL || fscanf(f, "%255s", name) != 1) {
		cli_error("master seize: %s: no shipped state", path);
		if (f != NULL) {
			fclose(f);
		}
		return CLI_EXIT_FAIL;
	}
	fclose(f);
	unsigned long long epoch = 0, seq = 0;
	if (sscanf(name, "state-%llu-%llu", &epoch, &seq) != 2) {
		cli_error("master seize: %s names '%s', not a shipped state", path, name);
		return CLI_EXIT_FAIL;
	}
	if (found && seq < v.state && !force) {
		cli_error("master seize: the shipped state %s is older than the last the active "
		          "recorded (%" PRIu64 "): refused (--force takes it anyway)",
		          name, v.state);
		return CLI_EXIT_FAIL;
	}
	if (found && strcmp(v.node, cfg->cluster_node) == 0) {
		printf("this node (%s) already holds epoch %" PRIu64 "\n", v.node, v.epoch);
		return CLI_EXIT_OK;
	}
	char dir[4096 + 300];
	snprintf(dir, sizeof(dir), "%s/%s", cfg->cluster_ship_dir, name);
	int ret = cli_state_restore(hsm, cfg, dir, bump, force);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	dfence_value_t nv = {.epoch = v.epoch + 1, .state = seq};
	snprintf(nv.node, sizeof(nv.node), "%s", cfg->cluster_node);
	char text[256];
	size_t len = dfence_format(&nv, text, sizeof(text));
	bool swapped = false;
	hsm_detail_t d = {0};
	int st = hsm_data_cas(dfence_token(hsm, cfg), DFENCE_LABEL, (const uint8_t *)raw,
	                      strlen(raw), !found, (const uint8_t *)text, len, &swapped, &d);
	if (st != HSM_OK) {
		cli_hsm_error("writing the fencing record", st, &d);
		return CLI_EXIT_FAIL;
	}
	if (!swapped) {
		cli_error("master seize: another node changed the fencing record meanwhile: run "
		          "signer master status and try again");
		return CLI_EXIT_FAIL;
	}
	printf("node %s holds epoch %" PRIu64 " (was %s's); state %s restored: start signerd "
	       "here\n",
	       nv.node, nv.epoch, found ? v.node : "nobody", name);
	return CLI_EXIT_OK;
}

static int run_seize(const char *config, bool force, unsigned long bump)
{
	hsm_ctx_t *hsm = NULL;
	void *vcfg = NULL;
	if (open_config(config, &hsm, &vcfg) != 0) {
		return CLI_EXIT_FAIL;
	}
	int ret = seize(hsm, vcfg, force, bump);
	cli_close(hsm, vcfg);
	return ret;
}

static int run_transfer(cli_rpc_opts_t *rpc, const char *to, unsigned long bump)
{
	Signer__V1__MasterStepDown sd = SIGNER__V1__MASTER_STEP_DOWN__INIT;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_MASTER_STEP_DOWN;
	req.master_step_down = &sd;
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(rpc, CLI_RPC_TIMEOUT_CHANGE, "master transfer", &req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	printf("the active stepped down and shipped %s\n",
	       resp->body_case == SIGNER__V1__RESPONSE__BODY_TEXT ? resp->text : "?");
	signer__v1__response__free_unpacked(resp, NULL);
	return run_seize(to, false, bump);
}

int cli_master_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	const char *cmd = argv[1];
	static const struct option longopts[] = {
	        {"to", required_argument, NULL, OPT_TO},
	        {"force", no_argument, NULL, OPT_FORCE},
	        {"serial-bump", required_argument, NULL, OPT_SERIAL_BUMP},
	        CLI_RPC_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	cli_rpc_opts_t rpc;
	memset(&rpc, 0, sizeof(rpc));
	const char *config = NULL, *to = NULL;
	bool force = false;
	unsigned long bump = 65536;
	int opt;
	optind = 1;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		bool ok = true;
		char *end = NULL;
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_SERIAL_BUMP:
			bump = strtoul(optarg, &end, 10);
			ok = end != optarg && *end == '\0' && bump > 0 && bump < (1ul << 31);
			break;
		default:
			if (opt == 'c') {
				config = optarg;
			}
			ok = cli_rpc_option(&rpc, opt, optarg, &ok) && ok;
			break;
		}
		if (!ok) {
			return usage_error("bad option");
		}
	}
	if (optind != argc) {
		return usage_error("no positional arguments expected");
	}
	if (config == NULL) {
		config = getenv("SIGNER_CONFIG");
	}
	if (config == NULL) {
		return usage_error("-c signer.yaml is required");
	}
	if (strcmp(cmd, "status") == 0) {
		return run_status(config);
	}
	if (strcmp(cmd, "seize") == 0) {
		return run_seize(config, force, bump);
	}
	if (strcmp(cmd, "transfer") == 0) {
		if (to == NULL) {
			return usage_error("transfer needs --to STANDBY.yaml");
		}
		return run_transfer(&rpc, to, bump);
	}
	return usage_error("unknown command (status, seize or transfer)");
}
