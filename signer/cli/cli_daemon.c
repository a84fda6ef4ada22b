#include "signer/cli/cli_daemon.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "signer/cli/cli_common.h"
#include "signer/cli/cli_rpc.h"

static const char status_usage[] = "signer status";
static const char status_help[] =
        "Prints signerd's status: version, clock, start time, zones, clients, worst alarm,\n"
        "health and each token's state and counters. Exit status 0 if healthy, 3 if not\n"
        "(a zone alarm or error, a token not up), 1 if signerd cannot be asked.\n";
static const char clock_usage[] = "signer clock set|jump OFFSET";
static const char clock_help[] =
        "Testing only (server.test_clock: true): runs signerd's clock OFFSET from the real\n"
        "time: seconds, or with a unit s m h d w, with an optional sign (+3d, -90m, 0).\n"
        "set moves all of signerd's time (time passed); jump moves only its wall clock,\n"
        "as a system clock that jumped would (the key manager then waits for\n"
        "signer key clock-ack).\n";

/* Parses the connection options; positional arguments go to *rest, inside
 * *vec (a new array the caller frees, even on failure). A number with a sign
 * ("-3d") is an argument, not an option. Returns -1 to go on, else the exit
 * status. */
static int parse(int argc, char **argv, const char *usage, const char *help, cli_rpc_opts_t *o,
                 char ***vec, char ***rest, int *nrest)
{
	static const struct option longopts[] = {
	        CLI_RPC_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	/* Signed numbers move behind a "--" so that getopt leaves them alone. */
	char **v = calloc((size_t)argc + 2, sizeof(*v));
	*vec = v;
	if (v == NULL) {
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	int n = 0;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (i == 0 || !(s[0] == '-' && s[1] >= '0' && s[1] <= '9')) {
			v[n++] = argv[i];
		}
	}
	if (n < argc) {
		v[n++] = "--";
		for (int i = 1; i < argc; i++) {
			if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9') {
				v[n++] = argv[i];
			}
		}
	}
	int opt;
	optind = 1;
	while ((opt = getopt_long(n, v, "c:h", longopts, NULL)) != -1) {
		bool ok = true;
		if (opt == 'h') {
			printf("usage: %s\n%scommon options:\n%s", usage, help, CLI_RPC_HELP);
			return CLI_EXIT_OK;
		}
		if (!cli_rpc_option(o, opt, optarg, &ok)) {
			ok = false;
		}
		if (!ok) {
			if (opt == '?' || optarg == NULL) {
				fprintf(stderr, "usage: %s\n", usage);
			} else {
				cli_error("bad value '%s'", optarg);
			}
			return CLI_EXIT_USAGE;
		}
	}
	*rest = v + optind;
	*nrest = n - optind;
	return -1;
}

int cli_daemon_status_main(int argc, char **argv)
{
	cli_rpc_opts_t o = {0};
	char **vec = NULL, **rest = NULL;
	int nrest = 0;
	int ret = parse(argc, argv, status_usage, status_help, &o, &vec, &rest, &nrest);
	free(vec); /* no argument wanted: rest is not read */
	if (ret >= 0) {
		return ret;
	}
	if (nrest != 0) {
		cli_error("status takes no argument (usage: %s)", status_usage);
		return CLI_EXIT_USAGE;
	}
	Signer__V1__DaemonStatusRequest ds = SIGNER__V1__DAEMON_STATUS_REQUEST__INIT;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_DAEMON_STATUS;
	req.daemon_status = &ds;
	cli_rpc_t r;
	ret = cli_rpc_connect(&o, CLI_RPC_TIMEOUT_QUERY, "status", &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		cli_rpc_close(&r);
		return CLI_EXIT_FAIL;
	}
	if (resp->body_case != SIGNER__V1__RESPONSE__BODY_DAEMON) {
		cli_error("status: signerd sent no status");
		signer__v1__response__free_unpacked(resp, NULL);
		cli_rpc_close(&r);
		return CLI_EXIT_FAIL;
	}
	const Signer__V1__DaemonStatus *d = resp->daemon;
	if (o.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "version", d->version);
		cli_json_time(&j, "now", d->now);
		cli_json_time(&j, "started_at", d->started_at);
		cli_json_uint(&j, "zones", d->zones);
		cli_json_uint(&j, "clients", d->clients);
		cli_json_str(&j, "alarm", cli_rpc_alarm_name(d->alarm));
		cli_json_bool(&j, "healthy", d->healthy);
		cli_json_arr(&j, "tokens");
		for (size_t i = 0; i < d->n_tokens; i++) {
			const Signer__V1__TokenStatus *t = d->tokens[i];
			cli_json_obj(&j, NULL);
			cli_json_str(&j, "name", t->name);
			cli_json_str(&j, "state", t->state);
			cli_json_uint(&j, "reconnects", t->reconnects);
			cli_json_uint(&j, "retries", t->retries);
			cli_json_uint(&j, "failures", t->failures);
			cli_json_close(&j);
		}
		cli_json_end(&j);
	} else {
		char now[32], started[32];
		cli_rpc_time_str(d->now, now, sizeof(now));
		cli_rpc_time_str(d->started_at, started, sizeof(started));
		printf("version:  %s\n", d->version);
		printf("now:      %s (the daemon's clock)\n", now);
		printf("started:  %s\n", started);
		printf("zones:    %u\n", d->zones);
		printf("clients:  %u\n", d->clients);
		printf("alarm:    %s\n", cli_rpc_alarm_name(d->alarm));
		printf("healthy:  %s\n", d->healthy ? "yes" : "no");
		printf("tokens:\n");
		int w = 4;
		for (size_t i = 0; i < d->n_tokens; i++) {
			int l = (int)strlen(d->tokens[i]->name);
			w = l > w ? l : w;
		}
		for (size_t i = 0; i < d->n_tokens; i++) {
			const Signer__V1__TokenStatus *t = d->tokens[i];
			printf("  %-*s  %-13s  reconnects %llu  retries %llu  failures %llu\n", w,
			       t->name, t->state, (unsigned long long)t->reconnects,
			       (unsigned long long)t->retries, (unsigned long long)t->failures);
		}
	}
	ret = d->healthy ? CLI_EXIT_OK : CLI_EXIT_UNHEALTHY;
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return ret;
}

int cli_daemon_clock_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: %s\n%scommon options:\n%s", clock_usage,
		        clock_help, CLI_RPC_HELP);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	bool jump = strcmp(argv[1], "jump") == 0;
	if (strcmp(argv[1], "set") != 0 && !jump) {
		cli_error("unknown command 'clock %s' (see signer clock --help)", argv[1]);
		return CLI_EXIT_USAGE;
	}
	cli_rpc_opts_t o = {0};
	char **vec = NULL, **rest = NULL;
	int nrest = 0;
	int ret = parse(argc - 1, argv + 1, clock_usage, clock_help, &o, &vec, &rest, &nrest);
	int64_t offset = 0;
	if (ret < 0 && nrest != 1) {
		cli_error("clock set takes 1 argument (usage: %s)", clock_usage);
		ret = CLI_EXIT_USAGE;
	} else if (ret < 0 && !cli_rpc_parse_offset(rest[0], &offset)) {
		cli_error("clock set: bad offset '%s' (seconds, or with a unit s m h d w)",
		          rest[0]);
		ret = CLI_EXIT_USAGE;
	}
	free(vec);
	if (ret >= 0) {
		return ret;
	}
	Signer__V1__ClockSet cs = SIGNER__V1__CLOCK_SET__INIT;
	cs.offset = offset;
	cs.jump = jump;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_CLOCK_SET;
	req.clock_set = &cs;
	cli_rpc_t r;
	ret = cli_rpc_connect(&o, CLI_RPC_TIMEOUT_QUERY, "clock set", &r);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	Signer__V1__Response *resp = NULL;
	if (!cli_rpc_call(&r, &req, &resp)) {
		cli_rpc_close(&r);
		return CLI_EXIT_FAIL;
	}
	if (o.json) {
		cli_json_t j;
		cli_json_begin(&j, stdout);
		cli_json_int(&j, "offset", offset);
		cli_json_str(&j, "message", resp->message);
		cli_json_end(&j);
	} else {
		printf("%s\n", resp->message);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	cli_rpc_close(&r);
	return CLI_EXIT_OK;
}
