#include "signer/cli/cli_key.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_alg.h"
#include "signer/cli/cli_common.h"
#include "signer/cli/cli_rpc.h"

enum {
	OPT_SHA384 = CLI_RPC_OPT_FIRST_FREE,
	OPT_FORMAT,
	OPT_ROLE,
	OPT_DS_AT_PARENT,
};

typedef struct {
	cli_rpc_opts_t rpc;
	bool sha384;
	const char *format;
	const char *role;
	bool ds_at_parent;
	int argc; /* positional arguments left */
	char **argv;
	char what[300];
} key_args_t;

static void json_strings(cli_json_t *j, const char *key, char **v, size_t n)
{
	cli_json_arr(j, key);
	for (size_t i = 0; i < n; i++) {
		cli_json_str(j, NULL, v[i]);
	}
	cli_json_close(j);
}

static int run_list(key_args_t *a)
{
	Signer__V1__KeyList kl = SIGNER__V1__KEY_LIST__INIT;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_KEY_LIST;
	req.key_list = &kl;
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(&a->rpc, CLI_RPC_TIMEOUT_QUERY, a->what, &req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	/* Some tokens listed, some not: the message names the failing one. */
	if (resp->message[0] != '\0') {
		cli_error("%s: warning: %s", a->what, resp->message);
	}
	size_t n = resp->body_case == SIGNER__V1__RESPONSE__BODY_KEYS ? resp->keys->n_keys : 0;
	Signer__V1__KeyInfo **keys = n > 0 ? resp->keys->keys : NULL;
	if (a->rpc.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_arr(&j, "keys");
		for (size_t i = 0; i < n; i++) {
			const Signer__V1__KeyInfo *k = keys[i];
			const hsm_alg_t *alg = hsm_alg_by_number(k->algorithm);
			cli_json_obj(&j, NULL);
			cli_json_str(&j, "token", k->token);
			cli_json_str(&j, "id", k->id);
			cli_json_str(&j, "label", k->label);
			cli_json_uint(&j, "algorithm", k->algorithm);
			cli_json_str(&j, "algorithm_name", alg != NULL ? alg->name : "");
			cli_json_uint(&j, "key_tag", k->key_tag);
			cli_json_uint(&j, "ksk_tag", k->ksk_tag);
			cli_json_bool(&j, "local", k->local);
			json_strings(&j, "zones", k->zones, k->n_zones);
			cli_json_close(&j);
		}
		cli_json_end(&j);
	} else {
		int wt = 5, wi = 2, wl = 5;
		for (size_t i = 0; i < n; i++) {
			int l = (int)strlen(keys[i]->token);
			wt = l > wt ? l : wt;
			l = (int)strlen(keys[i]->id);
			wi = l > wi ? l : wi;
			l = (int)strlen(keys[i]->label);
			wl = l > wl ? l : wl;
		}
		printf("%-*s  %-*s  %-*s  %-16s  %5s  %7s  %-5s  %s\n", wt, "TOKEN", wi, "ID", wl,
		       "LABEL", "ALGORITHM", "TAG", "KSK TAG", "LOCAL", "ZONES");
		for (size_t i = 0; i < n; i++) {
			const Signer__V1__KeyInfo *k = keys[i];
			const hsm_alg_t *alg = hsm_alg_by_number(k->algorithm);
			char algname[32];
			if (alg != NULL) {
				snprintf(algname, sizeof(algname), "%s", alg->name);
			} else if (k->algorithm != 0) {
				snprintf(algname, sizeof(algname), "%u", k->algorithm);
			} else {
				snprintf(algname, sizeof(algname), "-");
			}
			printf("%-*s  %-*s  %-*s  %-16s  %5u  %7u  %-5s  ", wt, k->token, wi, k->id,
			       wl, k->label[0] ? k->label : "-", algname, k->key_tag, k->ksk_tag,
			       k->local ? "yes" : "no");
			for (size_t z = 0; z < k->n_zones; z++) {
				printf("%s%s", z > 0 ? "," : "", k->zones[z]);
			}
			printf("%s\n", k->n_zones == 0 ? "-" : "");
		}
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int run_ds(key_args_t *a)
{
	Signer__V1__KeyDs kd = SIGNER__V1__KEY_DS__INIT;
	kd.zone = a->argv[0];
	kd.sha384 = a->sha384;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_KEY_DS;
	req.key_ds = &kd;
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(&a->rpc, CLI_RPC_TIMEOUT_QUERY, a->what, &req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	size_t n = resp->body_case == SIGNER__V1__RESPONSE__BODY_DS ? resp->ds->n_ds : 0;
	for (size_t i = 0; i < n; i++) {
		const Signer__V1__DsRecord *d = resp->ds->ds[i];
		if (!a->rpc.json) {
			printf("%s\n", d->text);
			continue;
		}
		char digest[2 * 64 + 1] = "";
		for (size_t k = 0; k < d->digest.len && k < 64; k++) {
			snprintf(digest + 2 * k, 3, "%02X", d->digest.data[k]);
		}
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "zone", a->argv[0]);
		cli_json_uint(&j, "key_tag", d->key_tag);
		cli_json_uint(&j, "algorithm", d->algorithm);
		cli_json_uint(&j, "digest_type", d->digest_type);
		cli_json_str(&j, "digest", digest);
		cli_json_str(&j, "text", d->text);
		cli_json_end(&j);
	}
	if (n == 0) {
		cli_error("%s: the zone has no KSK or CSK to make a DS of", a->what);
		ret = CLI_EXIT_FAIL;
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return ret;
}

/* One request to signerd whose answer is a status and a message (key
 * commands). */
static int call_simple(key_args_t *a, Signer__V1__Request *req)
{
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(&a->rpc, CLI_RPC_TIMEOUT_QUERY, a->what, req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	if (a->rpc.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "message", resp->message);
		cli_json_end(&j);
	} else {
		printf("%s\n", resp->message);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int key_command(key_args_t *a, Signer__V1__KeyCommand__Op op, const char *key,
                       const char *role)
{
	Signer__V1__KeyCommand kc = SIGNER__V1__KEY_COMMAND__INIT;
	kc.zone = a->argv[0];
	kc.op = op;
	kc.ds_at_parent = a->ds_at_parent;
	kc.key = (char *)(key != NULL ? key : "");
	kc.role = (char *)(role != NULL ? role : "");
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_KEY_COMMAND;
	req.key_command = &kc;
	return call_simple(a, &req);
}

static int run_ds_seen(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__DS_SEEN, a->argv[1], NULL);
}

static int run_ds_gone(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__DS_GONE, a->argv[1], NULL);
}

static int run_backup_done(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__BACKUP_DONE, a->argv[1], NULL);
}

static int run_import(key_args_t *a)
{
	if (a->role == NULL) {
		cli_error("%s: --role ksk|zsk|csk is required", a->what);
		return CLI_EXIT_USAGE;
	}
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__IMPORT, a->argv[1], a->role);
}

static int run_roll(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__ROLL, NULL, a->argv[1]);
}

static int run_go_insecure(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__GO_INSECURE, NULL, NULL);
}

static int run_go_secure(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__GO_SECURE, NULL, NULL);
}

static int run_clock_ack(key_args_t *a)
{
	return key_command(a, SIGNER__V1__KEY_COMMAND__OP__CLOCK_ACK, NULL, NULL);
}

static int run_trust_anchor(key_args_t *a)
{
	static const struct {
		const char *name;
		Signer__V1__KeyExport__Format format;
	} formats[] = {{"unbound", SIGNER__V1__KEY_EXPORT__FORMAT__UNBOUND},
	               {"bind", SIGNER__V1__KEY_EXPORT__FORMAT__BIND},
	               {"ds", SIGNER__V1__KEY_EXPORT__FORMAT__ANCHOR_DS},
	               {"dnskey", SIGNER__V1__KEY_EXPORT__FORMAT__DNSKEY}};
	Signer__V1__KeyExport ke = SIGNER__V1__KEY_EXPORT__INIT;
	ke.zone = a->argv[0];
	ke.sha384 = a->sha384;
	ke.format = SIGNER__V1__KEY_EXPORT__FORMAT__UNBOUND;
	bool known = a->format == NULL;
	for (size_t i = 0; !known && i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (strcmp(a->format, formats[i].name) == 0) {
			ke.format = formats[i].format;
			known = true;
		}
	}
	if (!known) {
		cli_error("%s: --format must be unbound, bind, ds or dnskey, not '%s'", a->what,
		          a->format);
		return CLI_EXIT_USAGE;
	}
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_KEY_EXPORT;
	req.key_export = &ke;
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(&a->rpc, CLI_RPC_TIMEOUT_QUERY, a->what, &req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	const char *text = resp->body_case == SIGNER__V1__RESPONSE__BODY_TEXT ? resp->text : "";
	if (text[0] == '\0') {
		cli_error("%s: no key of the zone is published yet", a->what);
		ret = CLI_EXIT_FAIL;
	} else if (a->rpc.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "zone", a->argv[0]);
		cli_json_str(&j, "trust_anchor", text);
		cli_json_end(&j);
	} else {
		fputs(text, stdout);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return ret;
}

typedef struct {
	const char *name;
	int (*run)(key_args_t *a);
	const char *usage;
	const char *help;
	int positional;
} subcommand_t;

static const subcommand_t subcommands[] = {
        {"list", run_list, "signer key list",
         "Lists the keys in signerd's tokens: token, CKA_ID, label, algorithm, key tag\n"
         "(as a ZSK, flags 256), KSK tag (flags 257), whether generated in the token, and\n"
         "the zones using each key (zone/role).\n",
         0},
        {"ds", run_ds, "signer key ds ZONE [--sha384]",
         "Prints the DS records of the zone's KSKs and CSKs (SHA-256; --sha384 adds\n"
         "SHA-384), one per line, for the parent zone. For a zone with a policy: the\n"
         "DS records the parent should have now (keys whose DS is submitted or in place).\n",
         1},
        {"ds-seen", run_ds_seen, "signer key ds-seen ZONE KEY",
         "Tells the key manager that KEY's DS (KEY: key tag or CKA_ID) is now at every\n"
         "server of the parent: the evidence a rollover waits for when no parental agent\n"
         "is polled. The DS TTL and the parent's propagation delay count from now.\n",
         2},
        {"ds-gone", run_ds_gone, "signer key ds-gone ZONE KEY",
         "Tells the key manager that KEY's DS is gone from every server of the parent.\n", 2},
        {"roll", run_roll, "signer key roll ZONE ksk|zsk|csk|all",
         "Starts a rollover of the role's key now (an emergency rollover): a successor\n"
         "is generated and takes over as safely as a scheduled rollover.\n",
         2},
        {"go-insecure", run_go_insecure, "signer key go-insecure ZONE",
         "Takes the zone out of DNSSEC safely: CDS/CDNSKEY delete records (RFC 8078)\n"
         "are published, the DS removal is awaited (parental agents or ds-gone) and\n"
         "waited out, then the DNSKEYs and signatures go and the zone is served\n"
         "unsigned.\n",
         1},
        {"go-secure", run_go_secure, "signer key go-secure ZONE",
         "Undoes go-insecure: keys are made and introduced as for a new zone.\n", 1},
        {"clock-ack", run_clock_ack, "signer key clock-ack ZONE",
         "Accepts a jump of the clock forward: the key manager acts on nothing after a\n"
         "jump of more than an hour until an operator runs this.\n",
         1},
        {"backup-done", run_backup_done, "signer key backup-done ZONE KEY",
         "Confirms that KEY has been backed up from its HSM (policy require_backup: a\n"
         "new key is not used before).\n",
         2},
        {"import", run_import, "signer key import ZONE KEY --role ksk|zsk|csk [--ds-at-parent]",
         "Takes KEY (CKA_ID, label or PKCS#11 URI of a key in signerd's tokens, e.g. one\n"
         "another signer made, or a BIND key imported with signer hsm import) into the\n"
         "zone as a key in use: its DNSKEY and signatures count as everywhere, and its DS\n"
         "as at the parent with --ds-at-parent. Import before the zone's first push: a\n"
         "zone migrating from another signer keeps its DNSKEY RRset, and keys that fit\n"
         "the policy start no rollover.\n",
         2},
        {"trust-anchor", run_trust_anchor,
         "signer key trust-anchor ZONE [--format unbound|bind|ds|dnskey] [--sha384]",
         "Prints a trust anchor for the zone's published KSKs/CSKs: unbound (default;\n"
         "for trust-anchor-file), bind (trust-anchors clause), ds or dnskey lines.\n",
         1},
};

static const cli_group_t group = CLI_GROUP("key", subcommands, subcommand_t, CLI_RPC_HELP);

void cli_key_usage(FILE *fp)
{
	cli_group_usage(&group, fp);
}

int cli_key_main(int argc, char **argv)
{
	size_t index = 0;
	int exit_code = CLI_EXIT_OK;
	if (!cli_group_find(&group, argc, argv, &index, &exit_code)) {
		return exit_code;
	}
	const subcommand_t *sub = &subcommands[index];
	static const struct option longopts[] = {
	        {"sha384", no_argument, NULL, OPT_SHA384},
	        {"format", required_argument, NULL, OPT_FORMAT},
	        {"role", required_argument, NULL, OPT_ROLE},
	        {"ds-at-parent", no_argument, NULL, OPT_DS_AT_PARENT},
	        CLI_RPC_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	key_args_t a;
	memset(&a, 0, sizeof(a));
	int opt;
	optind = 1;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'h':
			printf("usage: %s\n%scommon options:\n%s", sub->usage, sub->help,
			       CLI_RPC_HELP);
			return CLI_EXIT_OK;
		case OPT_SHA384:
			a.sha384 = true;
			break;
		case OPT_FORMAT:
			a.format = optarg;
			break;
		case OPT_ROLE:
			a.role = optarg;
			break;
		case OPT_DS_AT_PARENT:
			a.ds_at_parent = true;
			break;
		default:
			if (!cli_rpc_option(&a.rpc, opt, optarg, &ok)) {
				ok = false;
			}
			break;
		}
		if (!ok) {
			if (opt == '?' || optarg == NULL) {
				fprintf(stderr, "usage: %s\n", sub->usage);
			} else {
				cli_error("bad value '%s' for an option of key %s", optarg,
				          sub->name);
			}
			return CLI_EXIT_USAGE;
		}
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	if (a.argc != sub->positional) {
		cli_error("key %s takes %d argument%s (usage: %s)", sub->name, sub->positional,
		          sub->positional == 1 ? "" : "s", sub->usage);
		return CLI_EXIT_USAGE;
	}
	snprintf(a.what, sizeof(a.what), "key %s%s%.256s", sub->name, a.argc > 0 ? " " : "",
	         a.argc > 0 ? a.argv[0] : "");
	return sub->run(&a);
}
