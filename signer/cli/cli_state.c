#include "signer/cli/cli_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hsm/hsm_key.h"
#include "hsm/hsm_token.h"
#include "kasp/kasp_db.h"
#include "kasp/kasp_error.h"
#include "signer/cli/cli_common.h"
#include "signer/cli/cli_rpc.h"
#include "signer/daemon/config.h"

/* The marker signerd reads at start (zonemgr.h ZONEMGR_RESTORED). */
#define RESTORED_MARKER "RESTORED"
#define DEFAULT_BUMP    65536u

enum {
	OPT_SERIAL_BUMP = CLI_RPC_OPT_FIRST_FREE,
	OPT_FORCE,
};

static const char usage_text[] =
        "usage: signer state backup DIR [-c signer.yaml]\n"
        "       signer state restore DIR -c signer.yaml [--serial-bump N] [--force]\n"
        "\n"
        "backup: signerd writes a consistent copy of its state into DIR, a new\n"
        "directory on its host: every zone's configuration and published version,\n"
        "then the key store (key states are never older than the versions saved).\n"
        "\n"
        "restore: with signerd stopped, replaces the state directory of signer.yaml\n"
        "by the backup (the old state is moved to STATE/replaced-TIME). Every key\n"
        "the backup names must be in its token (else refused, unless --force). At\n"
        "its next start signerd publishes each zone at once with its serial moved\n"
        "on by N (default 65536), past whatever the lost state published after the\n"
        "backup, and gathers the parents' DS evidence again.\n";

static int fail_usage(const char *msg)
{
	cli_error("state: %s", msg);
	fputs(usage_text, stderr);
	return CLI_EXIT_USAGE;
}

static int run_backup(cli_rpc_opts_t *rpc, const char *dir)
{
	char abs[4096];
	if (dir[0] != '/') {
		char cwd[2048];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			cli_error("state backup: %s", strerror(errno));
			return CLI_EXIT_FAIL;
		}
		snprintf(abs, sizeof(abs), "%s/%s", cwd, dir);
	} else {
		snprintf(abs, sizeof(abs), "%s", dir);
	}
	Signer__V1__StateBackup sb = SIGNER__V1__STATE_BACKUP__INIT;
	sb.dir = abs;
	Signer__V1__Request req = SIGNER__V1__REQUEST__INIT;
	req.op_case = SIGNER__V1__REQUEST__OP_STATE_BACKUP;
	req.state_backup = &sb;
	Signer__V1__Response *resp = NULL;
	int ret = cli_rpc_once(rpc, CLI_RPC_TIMEOUT_CHANGE, "state backup", &req, &resp);
	if (ret != CLI_EXIT_OK) {
		return ret;
	}
	if (resp->body_case == SIGNER__V1__RESPONSE__BODY_TEXT) {
		fputs(resp->text, stdout);
	}
	signer__v1__response__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

/* Whether a signerd answers on the configuration's socket. */
static bool daemon_running(const config_t *cfg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(cfg->server.socket) >= sizeof(sa.sun_path)) {
		return false;
	}
	strcpy(sa.sun_path, cfg->server.socket);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0) {
		close(fd);
	}
	return up;
}

/* Copies file from to to (created 0600, synced). */
static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY);
	if (in < 0) {
		return -errno;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ret = out < 0 ? -errno : 0;
	char buf[65536];
	ssize_t n;
	while (ret == 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			ret = -EIO;
		}
	}
	if (ret == 0 && fsync(out) != 0) {
		ret = -errno;
	}
	close(in);
	if (out >= 0) {
		close(out);
	}
	return ret;
}

/* Copies the zone directories of from/zones into to/zones. */
static int copy_zones(const char *from, const char *to)
{
	char src[4096], dst[4096];
	snprintf(src, sizeof(src), "%s/zones", from);
	snprintf(dst, sizeof(dst), "%s/zones", to);
	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		return -errno;
	}
	DIR *d = opendir(src);
	if (d == NULL) {
		return errno == ENOENT ? 0 : -errno;
	}
	struct dirent *de;
	int ret = 0;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		char zs[4096 + 256], zd[4096 + 256], fs[8192], fd[8192];
		snprintf(zs, sizeof(zs), "%s/%s", src, de->d_name);
		snprintf(zd, sizeof(zd), "%s/%s", dst, de->d_name);
		if (mkdir(zd, 0700) != 0) {
			ret = -errno;
			break;
		}
		static const char *const files[] = {"config.pb", "signed.snap"};
		for (size_t i = 0; i < 2 && ret == 0; i++) {
			snprintf(fs, sizeof(fs), "%s/%s", zs, files[i]);
			snprintf(fd, sizeof(fd), "%s/%s", zd, files[i]);
			if (access(fs, R_OK) == 0) {
				ret = copy_file(fs, fd);
			}
		}
	}
	closedir(d);
	return ret;
}

/* Every key the backup's store names (not purged) must be in its token:
 * prints each missing one; returns how many are missing, -1 on error. */
static int check_keys(const char *db_path, hsm_ctx_t *hsm)
{
	kasp_db_t *db = NULL;
	char err[512];
	if (kasp_db_open(db_path, &db, err, sizeof(err)) != KASP_OK) {
		cli_error("state restore: %s: %s", db_path, err);
		return -1;
	}
	kasp_db_zone_t *zones = NULL;
	size_t nzones = 0;
	int missing = 0, checked = 0;
	if (kasp_db_zones(db, &zones, &nzones) != KASP_OK) {
		cli_error("state restore: %s: %s", db_path, kasp_db_error(db));
		kasp_db_close(db);
		return -1;
	}
	for (size_t i = 0; i < nzones; i++) {
		kasp_key_t *keys = NULL;
		kasp_db_key_info_t *info = NULL;
		size_t n = 0;
		if (kasp_db_keys(db, zones[i].name, &keys, &info, &n) != KASP_OK) {
			missing = -1;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			if (info[j].purged != 0) {
				continue;
			}
			hsm_key_t *found = NULL;
			size_t nf = 0;
			hsm_detail_t d = {0};
			int st = hsm_key_find_all(hsm, info[j].locator, &found, &nf, &d);
			bool got = false;
			for (size_t f = 0; st == HSM_OK && f < nf; f++) {
				got = got ||
				      strcmp(hsm_token_name(found[f].token), info[j].token) == 0;
			}
			free(found);
			checked++;
			if (!got) {
				char buf[256];
				cli_error("state restore: %s %s %u (id %s) is not in token %s%s%s",
				          zones[i].name, kasp_role_name(keys[j].role), keys[j].tag,
				          info[j].locator, info[j].token, st != HSM_OK ? ": " : "",
				          st != HSM_OK ? hsm_detail_format(st, &d, buf, sizeof(buf))
				                       : "");
				missing++;
			}
		}
		kasp_db_keys_free(keys, info, n);
	}
	kasp_db_zones_free(zones, nzones);
	kasp_db_close(db);
	if (missing >= 0) {
		printf("keys checked in their tokens: %d, missing: %d\n", checked, missing);
	}
	return missing;
}

bool cli_state_daemon_running(const config_t *cfg)
{
	return daemon_running(cfg);
}

int cli_state_restore(hsm_ctx_t *hsm, const config_t *cfg, const char *dir, unsigned long bump,
                      bool force)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/BACKUP", dir);
	if (access(path, R_OK) != 0) {
		cli_error("state restore: %s: no BACKUP manifest: not a signerd backup", dir);
		return CLI_EXIT_FAIL;
	}
	int ret = CLI_EXIT_FAIL;
	if (daemon_running(cfg)) {
		cli_error("state restore: signerd answers on %s: stop it first",
		          cfg->server.socket);
		goto done;
	}
	char db[4096 + 16];
	snprintf(db, sizeof(db), "%s/kasp.db", dir);
	if (access(db, R_OK) == 0) {
		int missing = check_keys(db, hsm);
		if (missing < 0 || (missing > 0 && !force)) {
			if (missing > 0) {
				cli_error(
				        "state restore: refused: %d keys missing (--force restores "
				        "anyway; their zones cannot sign)",
				        missing);
			}
			goto done;
		}
	}
	/* The old state aside, the backup in. */
	const char *state = cfg->state_dir;
	mkdir(state, 0700);
	char aside[4096 + 64];
	snprintf(aside, sizeof(aside), "%s/replaced-%" PRId64, state, (int64_t)time(NULL));
	if (mkdir(aside, 0700) != 0) {
		cli_error("state restore: %s: %s", aside, strerror(errno));
		goto done;
	}
	static const char *const moved[] = {"zones", "kasp.db", "kasp.db-wal", "kasp.db-shm"};
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		char from[4096 + 32], to[8192];
		snprintf(from, sizeof(from), "%s/%s", state, moved[i]);
		snprintf(to, sizeof(to), "%s/%s", aside, moved[i]);
		if (rename(from, to) != 0 && errno != ENOENT) {
			cli_error("state restore: moving %s aside: %s", from, strerror(errno));
			goto done;
		}
	}
	char to[4096 + 16];
	snprintf(to, sizeof(to), "%s/kasp.db", state);
	int st = copy_zones(dir, state);
	if (st == 0 && access(db, R_OK) == 0) {
		st = copy_file(db, to);
	}
	char marker[4096 + 16];
	snprintf(marker, sizeof(marker), "%s/" RESTORED_MARKER, state);
	FILE *f = st == 0 ? fopen(marker, "w") : NULL;
	if (st == 0 && (f == NULL || fprintf(f, "serial_bump %lu\n", bump) < 0 || fflush(f) != 0 ||
	                fsync(fileno(f)) != 0)) {
		st = -errno;
	}
	if (f != NULL) {
		fclose(f);
	}
	if (st != 0) {
		cli_error("state restore: %s: %s (the previous state is in %s)", state,
		          strerror(-st), aside);
		goto done;
	}
	printf("restored %s into %s (previous state in %s); serials move on by %lu at the next "
	       "start\n",
	       dir, state, aside, bump);
	ret = CLI_EXIT_OK;
done:
	return ret;
}

static int run_restore(cli_opts_t *o, const char *dir, unsigned long bump, bool force)
{
	hsm_ctx_t *hsm = NULL;
	void *vcfg = NULL;
	if (!cli_open(o, &hsm, &vcfg)) {
		return CLI_EXIT_FAIL;
	}
	int ret = CLI_EXIT_FAIL;
	if (vcfg == NULL) {
		cli_error("state restore: needs -c signer.yaml (its state directory)");
	} else {
		ret = cli_state_restore(hsm, vcfg, dir, bump, force);
	}
	cli_close(hsm, vcfg);
	return ret;
}

int cli_state_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	bool backup = strcmp(argv[1], "backup") == 0;
	if (!backup && strcmp(argv[1], "restore") != 0) {
		return fail_usage("unknown command (backup or restore)");
	}
	static const struct option longopts[] = {
	        {"serial-bump", required_argument, NULL, OPT_SERIAL_BUMP},
	        {"force", no_argument, NULL, OPT_FORCE},
	        CLI_RPC_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	cli_rpc_opts_t rpc;
	memset(&rpc, 0, sizeof(rpc));
	cli_opts_t o = {0};
	unsigned long bump = DEFAULT_BUMP;
	bool force = false;
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
		case OPT_SERIAL_BUMP:
			bump = strtoul(optarg, &end, 10);
			ok = end != optarg && *end == '\0' && bump > 0 && bump < (1ul << 31);
			break;
		case OPT_FORCE:
			force = true;
			break;
		default:
			if (opt == 'c') {
				o.config = optarg;
			}
			ok = cli_rpc_option(&rpc, opt, optarg, &ok) && ok;
			break;
		}
		if (!ok) {
			return fail_usage("bad option");
		}
	}
	if (argc - optind != 1) {
		return fail_usage("one directory expected");
	}
	const char *dir = argv[optind];
	return backup ? run_backup(&rpc, dir) : run_restore(&o, dir, bump, force);
}
