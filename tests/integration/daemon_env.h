/*
 * daemon_env: the fixture of the signerd integration tests: a fresh
 * temporary directory (mkdtemp under $TMPDIR or /tmp) holding a SoftHSM
 * token of its own (softhsm2.conf, the PIN in a 0600 file), keys made with
 * `signer hsm keygen`, a signer.yaml (server.socket, state_dir, output_dir,
 * the current uid as operator, server.test_clock: true, plus the caller's
 * extra YAML), and signerd run as a child process with its stderr appended
 * to signerd.log. Restarts keep the state directory.
 *
 * Life cycle: daemon_env_init() -> keygen, start/stop/kill... ->
 * daemon_env_cleanup() (kills a running daemon, removes the directory it
 * made unless SIGNER_TEST_KEEP=1). Sets SOFTHSM2_CONF in this process.
 *
 * Threading: one thread drives a fixture; daemon_env_kill() may come from
 * another thread than the one that waits (it only sends the signal).
 */
#ifndef TESTS_INTEGRATION_DAEMON_ENV_H
#define TESTS_INTEGRATION_DAEMON_ENV_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "tests/integration/dclient.h"

typedef struct {
	char dir[256];
	char sock[320], log[320], yaml[320], pin[320];
	char token[64];
	const char *signerd, *signer;
	volatile pid_t pid; /* 0: not running */
	unsigned starts;
} daemon_env_t;

/* Makes the directory, token and configuration. extra_yaml (may be NULL)
 * is appended to signer.yaml as it is. Returns 0 or -1 (printed). */
int daemon_env_init(daemon_env_t *e, const char *name, const char *signerd, const char *signer,
                    const char *extra_yaml);
/* Generates a key pair labelled label with `signer hsm keygen`. 0 or -1. */
int daemon_env_keygen(daemon_env_t *e, const char *alg, const char *label);
/* Starts signerd (SIGNER_CRASH_AT=crash_at in its environment if not NULL)
 * and waits until its socket accepts (at most timeout_s seconds). 0 or -1
 * (printed, with the log's tail). */
int daemon_env_start(daemon_env_t *e, const char *crash_at, unsigned timeout_s);
/* SIGTERM, then waits (at most 120 s, then SIGKILL). Returns the exit
 * status (as from waitpid, decoded: 0..255 exit code, 128+signal). */
int daemon_env_stop(daemon_env_t *e);
/* SIGKILL, no wait (safe from another thread). */
void daemon_env_kill_nowait(daemon_env_t *e);
/* SIGKILL and reap. */
int daemon_env_kill(daemon_env_t *e);
/* Waits for the daemon to exit by itself, at most timeout_ms; returns the
 * decoded status, or -1 if it still runs. */
int daemon_env_wait(daemon_env_t *e, unsigned timeout_ms);
/* Prints the last lines of signerd.log on stderr. */
void daemon_env_log_tail(const daemon_env_t *e, unsigned lines);
/* Counts lines of signerd.log containing s. */
unsigned daemon_env_log_count(const daemon_env_t *e, const char *s);
/* Writes lines to DIR/name.zone, runs ldns-verify-zone on it and, if bind,
 * dnssec-verify -o zone. Returns 0, or -1 with the validators' words
 * printed. */
int daemon_env_verify(const daemon_env_t *e, const char *zone, const dclient_lines_t *lines,
                      bool bind, const char *name);
/* Runs argv (NULL-terminated), stdout and stderr to out (a path; NULL:
 * /dev/null). Returns the decoded exit status, or -1. */
int daemon_env_run(char *const argv[], const char *out);
/* Stops the daemon and removes the directory (unless SIGNER_TEST_KEEP=1,
 * or keep). */
void daemon_env_cleanup(daemon_env_t *e, bool keep);

/* Monotonic milliseconds. */
double daemon_env_now_ms(void);

/* A failed check: counts it in *counter (an atomic_int, so that threads may
 * check) and prints the line and the message; the test goes on. */
#define DAEMON_ENV_CHECK(counter, cond, ...)                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			atomic_fetch_add((counter), 1);                                            \
			fprintf(stderr, "FAIL (line %d): ", __LINE__);                             \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* A growing string (zone text being built); out of memory ends the test. */
typedef struct {
	char *s;
	size_t len, cap;
} daemon_env_buf_t;

void daemon_env_buf_add(daemon_env_buf_t *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void daemon_env_buf_reset(daemon_env_buf_t *b);
/* The text so far ("" when empty); borrowed until the next change. */
const char *daemon_env_buf_str(const daemon_env_buf_t *b);
void daemon_env_buf_free(daemon_env_buf_t *b);

#endif
