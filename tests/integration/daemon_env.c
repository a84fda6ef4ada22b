#include "tests/integration/daemon_env.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

double daemon_env_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static int decode(int wst)
{
	if (WIFEXITED(wst)) {
		return WEXITSTATUS(wst);
	}
	if (WIFSIGNALED(wst)) {
		return 128 + WTERMSIG(wst);
	}
	return -1;
}

int daemon_env_run(char *const argv[], const char *out)
{
	pid_t pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int wst;
	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	return decode(wst);
}

static void print_file(const char *path, unsigned max, const char *prefix)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		return;
	}
	char line[1024];
	unsigned n = 0;
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		fprintf(stderr, "%s%s", prefix, line);
		n++;
	}
	fclose(fp);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0) {
		return -1;
	}
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char b[32];
	FILE *fp = fopen("/dev/urandom", "r");
	if (fp == NULL || fread(b, 1, bytes, fp) != bytes) {
		for (size_t i = 0; i < bytes; i++) {
			b[i] = (unsigned char)rand();
		}
	}
	if (fp != NULL) {
		fclose(fp);
	}
	for (size_t i = 0; i < bytes; i++) {
		sprintf(out + 2 * i, "%02x", b[i]);
	}
}

int daemon_env_init(daemon_env_t *e, const char *name, const char *signerd, const char *signer,
                    const char *extra_yaml)
{
	memset(e, 0, sizeof(*e));
	e->signerd = signerd;
	e->signer = signer;
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0') {
		tmp = "/tmp";
	}
	snprintf(e->dir, sizeof(e->dir), "%s/signer-%s.XXXXXX", tmp, name);
	if (mkdtemp(e->dir) == NULL) {
		fprintf(stderr, "daemon_env: mkdtemp %s: %s\n", e->dir, strerror(errno));
		e->dir[0] = '\0';
		return -1;
	}
	char path[400], text[4096];
	snprintf(path, sizeof(path), "%s/tokens", e->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", e->dir);
	snprintf(text, sizeof(text),
	         "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = "
	         "ERROR\n",
	         e->dir);
	if (write_file(path, text, 0600) != 0) {
		fprintf(stderr, "daemon_env: cannot write %s\n", path);
		return -1;
	}
	setenv("SOFTHSM2_CONF", path, 1);
	char pin[17] = "", so[17] = "";
	random_hex(pin, 8);
	random_hex(so, 8);
	snprintf(e->token, sizeof(e->token), "%s", name);
	snprintf(e->pin, sizeof(e->pin), "%s/pin", e->dir);
	snprintf(text, sizeof(text), "%s\n", pin);
	if (write_file(e->pin, text, 0600) != 0) {
		fprintf(stderr, "daemon_env: cannot write %s\n", e->pin);
		return -1;
	}
	/* softhsm2-util takes PINs only as arguments: throwaway PINs of a test token. */
	char *init[] = {"softhsm2-util",
	                "--init-token",
	                "--free",
	                "--label",
	                e->token,
	                "--so-pin",
	                so,
	                "--pin",
	                pin,
	                NULL};
	snprintf(path, sizeof(path), "%s/softhsm-init.log", e->dir);
	if (daemon_env_run(init, path) != 0) {
		fprintf(stderr, "daemon_env: softhsm2-util --init-token failed:\n");
		print_file(path, 20, "    | ");
		return -1;
	}
	snprintf(e->sock, sizeof(e->sock), "%s/sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/signerd.log", e->dir);
	snprintf(e->yaml, sizeof(e->yaml), "%s/signer.yaml", e->dir);
	snprintf(text, sizeof(text),
	         "tokens:\n"
	         "  - name: main\n"
	         "    module: %s\n"
	         "    uri: \"pkcs11:token=%s\"\n"
	         "    pin_file: %s\n"
	         "server:\n"
	         "  socket: %s\n"
	         "  test_clock: true\n"
	         "clients:\n"
	         "  - uid: %u\n"
	         "    role: operator\n"
	         "    max_connections: 64\n"
	         "state_dir: %s/state\n"
	         "output_dir: %s/out\n"
	         "%s",
	         SOFTHSM_MODULE, e->token, e->pin, e->sock, (unsigned)getuid(), e->dir, e->dir,
	         extra_yaml ? extra_yaml : "");
	if (write_file(e->yaml, text, 0600) != 0) {
		fprintf(stderr, "daemon_env: cannot write %s\n", e->yaml);
		return -1;
	}
	return 0;
}

int daemon_env_keygen(daemon_env_t *e, const char *alg, const char *label)
{
	char tok[128], out[400];
	snprintf(tok, sizeof(tok), "pkcs11:token=%s", e->token);
	snprintf(out, sizeof(out), "%s/keygen-%s.log", e->dir, label);
	char *argv[] = {(char *)e->signer, "hsm",     "keygen",      "--module", SOFTHSM_MODULE,
	                "--token",         tok,       "--pin-file",  e->pin,     "--alg",
	                (char *)alg,       "--label", (char *)label, NULL};
	int st = daemon_env_run(argv, out);
	if (st != 0) {
		fprintf(stderr, "daemon_env: signer hsm keygen %s %s exited %d:\n", alg, label, st);
		print_file(out, 20, "    | ");
		return -1;
	}
	return 0;
}

static bool socket_accepts(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		return false;
	}
	memcpy(sa.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int daemon_env_start(daemon_env_t *e, const char *crash_at, unsigned timeout_s)
{
	if (e->pid != 0) {
		fprintf(stderr, "daemon_env: signerd already running\n");
		return -1;
	}
	int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "daemon_env: %s: %s\n", e->log, strerror(errno));
		return -1;
	}
	dprintf(fd, "=== test: start %u%s%s\n", e->starts + 1, crash_at ? " SIGNER_CRASH_AT=" : "",
	        crash_at ? crash_at : "");
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (crash_at != NULL) {
			setenv("SIGNER_CRASH_AT", crash_at, 1);
		} else {
			unsetenv("SIGNER_CRASH_AT");
		}
		execl(e->signerd, e->signerd, "-c", e->yaml, (char *)NULL);
		_exit(127);
	}
	close(fd);
	e->pid = pid;
	e->starts++;
	double t0 = daemon_env_now_ms();
	while (daemon_env_now_ms() - t0 < timeout_s * 1000.0) {
		int wst;
		if (waitpid(pid, &wst, WNOHANG) == pid) {
			e->pid = 0;
			fprintf(stderr,
			        "daemon_env: signerd exited (status %d) before accepting:\n",
			        decode(wst));
			daemon_env_log_tail(e, 20);
			return -1;
		}
		if (socket_accepts(e->sock)) {
			return 0;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "daemon_env: signerd's socket did not accept within %u s\n", timeout_s);
	daemon_env_log_tail(e, 20);
	daemon_env_kill(e);
	return -1;
}

int daemon_env_wait(daemon_env_t *e, unsigned timeout_ms)
{
	pid_t pid = e->pid;
	if (pid == 0) {
		return -1;
	}
	double t0 = daemon_env_now_ms();
	for (;;) {
		int wst;
		pid_t r = waitpid(pid, &wst, WNOHANG);
		if (r == pid) {
			e->pid = 0;
			return decode(wst);
		}
		if (r < 0 && errno != EINTR) {
			e->pid = 0;
			return -1;
		}
		if (daemon_env_now_ms() - t0 >= timeout_ms) {
			return -1;
		}
		sleep_ms(5);
	}
}

int daemon_env_stop(daemon_env_t *e)
{
	if (e->pid == 0) {
		return -1;
	}
	kill(e->pid, SIGTERM);
	int st = daemon_env_wait(e, 120000);
	if (st < 0 && e->pid != 0) {
		fprintf(stderr,
		        "daemon_env: signerd did not stop within 120 s of SIGTERM: killed\n");
		return daemon_env_kill(e);
	}
	return st;
}

void daemon_env_kill_nowait(daemon_env_t *e)
{
	pid_t pid = e->pid;
	if (pid != 0) {
		kill(pid, SIGKILL);
	}
}

int daemon_env_kill(daemon_env_t *e)
{
	if (e->pid == 0) {
		return -1;
	}
	kill(e->pid, SIGKILL);
	int wst;
	pid_t pid = e->pid;
	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR) {
			e->pid = 0;
			return -1;
		}
	}
	e->pid = 0;
	return decode(wst);
}

void daemon_env_log_tail(const daemon_env_t *e, unsigned lines)
{
	FILE *fp = fopen(e->log, "r");
	if (fp == NULL) {
		return;
	}
	char **ring = calloc(lines, sizeof(char *));
	char buf[2048];
	unsigned n = 0;
	while (ring != NULL && fgets(buf, sizeof(buf), fp) != NULL) {
		free(ring[n % lines]);
		ring[n % lines] = strdup(buf);
		n++;
	}
	fclose(fp);
	fprintf(stderr, "  --- last lines of %s ---\n", e->log);
	for (unsigned i = n > lines ? n - lines : 0; ring != NULL && i < n; i++) {
		fprintf(stderr, "    | %s", ring[i % lines] ? ring[i % lines] : "\n");
	}
	for (unsigned i = 0; ring != NULL && i < lines; i++) {
		free(ring[i]);
	}
	free(ring);
}

unsigned daemon_env_log_count(const daemon_env_t *e, const char *s)
{
	FILE *fp = fopen(e->log, "r");
	if (fp == NULL) {
		return 0;
	}
	char buf[4096];
	unsigned n = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		n += strstr(buf, s) != NULL;
	}
	fclose(fp);
	return n;
}

int daemon_env_verify(const daemon_env_t *e, const char *zone, const dclient_lines_t *lines,
                      bool bind, const char *name)
{
	char path[400], out[400];
	snprintf(path, sizeof(path), "%s/%s.zone", e->dir, name);
	snprintf(out, sizeof(out), "%s/%s.verify", e->dir, name);
	if (dclient_lines_write(lines, path) != 0) {
		fprintf(stderr, "daemon_env: cannot write %s\n", path);
		return -1;
	}
	char *ldns[] = {"ldns-verify-zone", path, NULL};
	int st = daemon_env_run(ldns, out);
	if (st != 0) {
		fprintf(stderr, "FAIL: ldns-verify-zone %s (zone %s) exited %d:\n", path, zone, st);
		print_file(out, 30, "    | ");
		return -1;
	}
	if (bind) {
		char *bv[] = {"dnssec-verify", "-o", (char *)zone, path, NULL};
		st = daemon_env_run(bv, out);
		if (st != 0) {
			fprintf(stderr, "FAIL: dnssec-verify -o %s %s exited %d:\n", zone, path,
			        st);
			print_file(out, 30, "    | ");
			return -1;
		}
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void daemon_env_cleanup(daemon_env_t *e, bool keep)
{
	if (e->pid != 0) {
		daemon_env_kill(e);
	}
	if (e->dir[0] == '\0') {
		return;
	}
	const char *k = getenv("SIGNER_TEST_KEEP");
	if (keep || (k != NULL && strcmp(k, "1") == 0)) {
		fprintf(stderr, "daemon_env: kept %s\n", e->dir);
		return;
	}
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void daemon_env_buf_add(daemon_env_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL) {
			fprintf(stderr, "FAIL: out of memory\n");
			exit(1);
		}
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void daemon_env_buf_reset(daemon_env_buf_t *b)
{
	b->len = 0;
	if (b->s != NULL) {
		b->s[0] = '\0';
	}
}

const char *daemon_env_buf_str(const daemon_env_buf_t *b)
{
	return b->s != NULL ? b->s : "";
}

void daemon_env_buf_free(daemon_env_buf_t *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
