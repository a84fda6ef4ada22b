/*
 * signerd: the signing daemon. Runs in the foreground (systemd style),
 * logs to stderr or syslog, serves the RPC of proto/signer.proto on a Unix
 * socket (and TLS if configured), signs zones on its pass threads and keeps
 * their signatures fresh.
 *
 * Signals: SIGTERM/SIGINT stop (running passes finish or publish nothing,
 * queued changes are answered SHUTTING_DOWN, snapshots written); SIGHUP
 * reloads the configuration (clients and limits; a configuration that does
 * not load is refused and the old one keeps running). The process-wide
 * state lives here in main and nowhere else.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/config.h"
#include "signer/daemon/daemon_rpc.h"
#include "signer/daemon/dclock.h"
#include "signer/daemon/dkasp.h"
#include "signer/daemon/log.h"
#include "signer/daemon/zonemgr.h"

static void usage(FILE *f)
{
	fputs("usage: signerd -c signer.yaml [--syslog] [--debug]\n"
	      "\n"
	      "The DNSSEC signing daemon: zones come in and go out over the RPC socket\n"
	      "named in the configuration (server.socket); keys stay in the PKCS#11 tokens\n"
	      "of its tokens section. Runs in the foreground; SIGTERM stops, SIGHUP\n"
	      "reloads the configuration.\n"
	      "\n"
	      "  -c, --config FILE  configuration (signer.yaml)\n"
	      "      --syslog       log to syslog rather than stderr\n"
	      "      --debug        log debug lines\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      print the version\n",
	      f);
}

/* Warns about settings a reload cannot change. */
static void reload_warnings(const config_t *old, const config_t *new)
{
	if (strcmp(old->server.socket, new->server.socket) != 0 ||
	    (old->server.tls_listen == NULL) != (new->server.tls_listen == NULL) ||
	    (old->server.tls_listen != NULL &&
	     strcmp(old->server.tls_listen, new->server.tls_listen) != 0)) {
		log_warn("reload: listening sockets change only at restart");
	}
	if (strcmp(old->state_dir, new->state_dir) != 0 || old->ntokens != new->ntokens) {
		log_warn("reload: state_dir and tokens change only at restart");
	}
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool use_syslog = false, debug = false;
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'}, {"syslog", no_argument, NULL, 's'},
	        {"debug", no_argument, NULL, 'd'},        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			use_syslog = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("signerd 0.1.0");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	char err[1024];
	config_t *config = NULL;
	if (config_load(config_path, &config, err, sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "signerd: %s\n", err);
		return 1;
	}
	log_open(use_syslog || config->log_syslog, debug ? LOG_DEBUG : config->log_level);

	/* Each zone keeps its journal open, and the PKCS#11 module needs files
	 * of its own: the soft limit on open files goes up to the hard one. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		log_info("open files: up to %llu (one per zone, and the token's)",
		         (unsigned long long)rl.rlim_cur);
	}

	/* Signals go to the main thread only: block them before threads start. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ret = 1;
	hsm_ctx_t *hsm = NULL;
	zonemgr_t *zones = NULL;
	dkasp_t *kasp = NULL;
	dfence_t *fence = NULL;
	daemon_rpc_t *rpc = NULL;
	config_t **old_configs = NULL;
	size_t nold = 0;
	dclock_t clock;
	dclock_init(&clock);
	hsm_detail_t detail;
	memset(&detail, 0, sizeof(detail));
	int st = hsm_ctx_new(config->tokens, config->ntokens, &hsm, &detail);
	if (st != HSM_OK) {
		char buf[256];
		log_err("tokens: %s", hsm_detail_format(st, &detail, buf, sizeof(buf)));
		goto done;
	}
	/* Test hooks (ci tests only): forced key-tag collisions, refused key
	 * generation. */
	const char *collide = getenv("SIGNER_TEST_KEYTAG_COLLISIONS");
	dkasp_params_t kp = {.config = config,
	                     .hsm = hsm,
	                     .clock = &clock,
	                     .test_tag_collisions = collide ? (unsigned)atoi(collide) : 0,
	                     .test_keygen_fails = getenv("SIGNER_TEST_KEYGEN_FAIL") != NULL};
	if (dkasp_open(&kp, &kasp, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto done;
	}
	if (dfence_open(hsm, config, &fence, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto done;
	}
	if (fence != NULL) {
		dfence_value_t fv = dfence_value(fence);
		char why[256];
		bool active = dfence_may_sign(fence, why, sizeof(why));
		log_notice("cluster node %s: %s (epoch %llu held by %s)", config->cluster_node,
		           active ? "active" : "standby, not signing", (unsigned long long)fv.epoch,
		           fv.node);
	}
	zonemgr_params_t zp = {
	        .config = config, .hsm = hsm, .clock = &clock, .kasp = kasp, .fence = fence};
	if (zonemgr_new(&zp, &zones, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto done;
	}
	daemon_rpc_params_t rp = {.config = config,
	                          .zones = zones,
	                          .hsm = hsm,
	                          .clock = &clock,
	                          .kasp = kasp,
	                          .started_at = dclock_now(&clock)};
	/* The listeners first: binding the socket changes the process umask for
	 * a moment, before any other thread writes files. */
	if (daemon_rpc_start(&rp, &rpc, err, sizeof(err)) != 0 ||
	    zonemgr_start(zones, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto done;
	}
	log_notice("signerd started: %zu zones, socket %s%s%s", zonemgr_count(zones),
	           config->server.socket, config->server.tls_listen ? ", TLS on " : "",
	           config->server.tls_listen ? config->server.tls_listen : "");
	const config_t *current = config;
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0) {
			continue;
		}
		if (sig == SIGHUP) {
			config_t *next = NULL;
			if (config_load(config_path, &next, err, sizeof(err)) != CONFIG_OK) {
				log_err("reload refused, the running configuration stays: %s", err);
				continue;
			}
			config_t **o = realloc(old_configs, (nold + 1) * sizeof(*o));
			if (o == NULL) {
				config_free(next);
				log_err("reload: out of memory");
				continue;
			}
			old_configs = o;
			old_configs[nold++] = next;
			reload_warnings(current, next);
			daemon_rpc_set_config(rpc, next);
			current = next;
			log_notice("configuration reloaded");
			continue;
		}
		log_notice("signal %d: stopping", sig);
		break;
	}
	ret = 0;
done:
	if (zones != NULL) {
		zonemgr_stop(zones);
	}
	daemon_rpc_stop(rpc);
	zonemgr_free(zones);
	dkasp_close(kasp);
	dfence_close(fence);
	hsm_ctx_free(hsm);
	for (size_t i = 0; i < nold; i++) {
		config_free(old_configs[i]);
	}
	free(old_configs);
	config_free(config);
	if (ret == 0) {
		log_notice("signerd stopped");
	}
	log_close();
	return ret;
}
