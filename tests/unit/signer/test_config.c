#include "signer/daemon/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "tests/support/testutil.h"

static char dir[64];

static const char *write_config(const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/signer.yaml", dir);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void test_config_tokens_are_read(void)
{
	const char *path = write_config("tokens:\n"
	                                "  - name: main\n"
	                                "    module: /usr/lib/softhsm/libsofthsm2.so\n"
	                                "    uri: \"pkcs11:token=signer\"\n"
	                                "    pin_file: /etc/signer/pin\n"
	                                "    max_sessions: 8\n"
	                                "    combined_mechanisms: true\n"
	                                "    retry_budget: 30\n"
	                                "  - name: ksk\n"
	                                "    module: /opt/hsm/libcs_pkcs11.so\n"
	                                "    uri: \"pkcs11:token=ksk;serial=1234\"\n"
	                                "    pin_env: KSK_PIN\n");
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(config_load(path, &c, err, sizeof(err)), CONFIG_OK);
	CU_ASSERT_EQUAL(c->ntokens, 2);
	CU_ASSERT_STRING_EQUAL(c->tokens[0].name, "main");
	CU_ASSERT_STRING_EQUAL(c->tokens[0].uri, "pkcs11:token=signer");
	CU_ASSERT_STRING_EQUAL(c->tokens[0].pin_file, "/etc/signer/pin");
	CU_ASSERT_EQUAL(c->tokens[0].max_sessions, 8);
	CU_ASSERT(c->tokens[0].combined_mech);
	CU_ASSERT_EQUAL(c->tokens[0].retry_budget_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c->tokens[1].module, "/opt/hsm/libcs_pkcs11.so");
	CU_ASSERT_STRING_EQUAL(c->tokens[1].pin_env, "KSK_PIN");
	CU_ASSERT_PTR_NULL(c->tokens[1].pin_file);
	CU_ASSERT(!c->tokens[1].combined_mech);
	config_free(c);
	config_free(NULL);
}

/* Each bad file gets its status and "FILE:LINE: reason". */
static void assert_refused(const char *text, int status, const char *where)
{
	const char *path = write_config(text);
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), status);
	CU_ASSERT_PTR_NULL(c);
	if (strstr(err, where) == NULL) {
		fprintf(stderr, "expected '%s' in '%s'\n", where, err);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
}

static void test_config_bad_files(void)
{
	static const char head[] = "tokens:\n  - name: main\n    module: /m.so\n";
	char buf[512];
	assert_refused("tokens: [\n", CONFIG_ERR_SYNTAX, "signer.yaml:2:");
	assert_refused("- a\n- b\n", CONFIG_ERR_SYNTAX, "must be a mapping");
	assert_refused("tokenz: []\n", CONFIG_ERR_VALUE, "signer.yaml:1: unknown key 'tokenz'");
	assert_refused("tokens: {}\n", CONFIG_ERR_SYNTAX, "tokens must be a list");
	assert_refused("tokens: []\n", CONFIG_ERR_VALUE, "no tokens configured");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    pin: 1234\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "signer.yaml:5: a PIN is never written");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    colour: red\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "signer.yaml:5: unknown token key 'colour'");
	assert_refused(head, CONFIG_ERR_VALUE, "a token needs name, module and uri");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    max_sessions: -1\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "max_sessions must be a non-negative integer");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    combined_mechanisms: maybe\n",
	         head);
	assert_refused(buf, CONFIG_ERR_VALUE, "combined_mechanisms must be true or false");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    pin_file: /p\n    pin_env: P\n",
	         head);
	assert_refused(buf, CONFIG_ERR_VALUE, "give pin_file or pin_env, not both");
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(config_load("/nonexistent/signer.yaml", &c, err, sizeof(err)),
	                CONFIG_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
}

/* Four lines of tokens, so that the section under test starts on line 5. */
#define TOKENS "tokens:\n  - name: main\n    module: /m.so\n    uri: pkcs11:token=a\n"

static config_t *load_ok(const char *text)
{
	const char *path = write_config(text);
	config_t *c = NULL;
	char err[256] = "";
	int ret = config_load(path, &c, err, sizeof(err));
	if (ret != CONFIG_OK) {
		fprintf(stderr, "unexpected refusal: %s\n", err);
	}
	CU_ASSERT_EQUAL(ret, CONFIG_OK);
	return c;
}

/* Refused with CONFIG_ERR_VALUE and "signer.yaml:LINE: reason" (where). */
static void refuse(const char *text, const char *where)
{
	assert_refused(text, CONFIG_ERR_VALUE, where);
}

static char *in_dir(const char *name)
{
	static char buf[4][192];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void test_config_defaults(void)
{
	config_t *c = load_ok(TOKENS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->server.socket, in_dir("signerd.sock"));
	CU_ASSERT_EQUAL(c->server.socket_mode, 0660);
	CU_ASSERT_PTR_NULL(c->server.socket_owner);
	CU_ASSERT_PTR_NULL(c->server.socket_group);
	CU_ASSERT_PTR_NULL(c->server.tls_listen);
	CU_ASSERT_PTR_NULL(c->server.tls_cert);
	CU_ASSERT_PTR_NULL(c->server.tls_key);
	CU_ASSERT_PTR_NULL(c->server.tls_ca);
	CU_ASSERT_EQUAL(c->server.max_frame, 16u << 20);
	CU_ASSERT_EQUAL(c->server.request_timeout, 30);
	CU_ASSERT_EQUAL(c->server.max_connections, 64);
	CU_ASSERT(!c->server.test_clock);
	CU_ASSERT_EQUAL(c->nclients, 0);
	CU_ASSERT_STRING_EQUAL(c->state_dir, in_dir("state"));
	CU_ASSERT_PTR_NULL(c->output_dir);
	CU_ASSERT_PTR_NULL(c->notify_command);
	CU_ASSERT_EQUAL(c->journal_max_entries, 1000);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 64ull << 20);
	CU_ASSERT_EQUAL(c->journal_max_age, 604800);
	CU_ASSERT_EQUAL(c->passes, 2);
	CU_ASSERT_EQUAL(c->threads, 0);
	CU_ASSERT(!c->log_syslog);
	CU_ASSERT_EQUAL(c->log_level, LOG_INFO);
	CU_ASSERT_PTR_NULL(c->client_server);
	CU_ASSERT_PTR_NULL(c->client_tls_cert);
	CU_ASSERT_PTR_NULL(c->client_tls_key);
	CU_ASSERT_PTR_NULL(c->client_tls_ca);
	config_free(c);
}

static void test_config_everything_is_read(void)
{
	config_t *c = load_ok(TOKENS "server:\n"
	                             "  socket: /run/signer/signerd.sock\n"
	                             "  socket_mode: \"0640\"\n"
	                             "  socket_owner: signer\n"
	                             "  socket_group: dns\n"
	                             "  tls_listen: \"127.0.0.1:5300\"\n"
	                             "  tls_cert: /etc/signer/server.pem\n"
	                             "  tls_key: /etc/signer/server.key\n"
	                             "  tls_ca: /etc/signer/clients-ca.pem\n"
	                             "  max_frame: 1048576\n"
	                             "  request_timeout: 10\n"
	                             "  max_connections: 32\n"
	                             "  test_clock: true\n"
	                             "state_dir: /var/lib/signer\n"
	                             "output_dir: /var/lib/signer/out\n"
	                             "notify_command: \"nsd-control reload %z # %f %s 100%%\"\n"
	                             "journal: {max_entries: 50, max_bytes: 8192, max_age: 3600}\n"
	                             "signing: {passes: 64, threads: 256}\n"
	                             "log: {syslog: true, level: debug}\n"
	                             "client:\n"
	                             "  server: \"tls:signer.example:5300\"\n"
	                             "  tls_cert: /etc/signer/client.pem\n"
	                             "  tls_key: /etc/signer/client.key\n"
	                             "  tls_ca: /etc/signer/server-ca.pem\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->server.socket, "/run/signer/signerd.sock");
	CU_ASSERT_EQUAL(c->server.socket_mode, 0640);
	CU_ASSERT_STRING_EQUAL(c->server.socket_owner, "signer");
	CU_ASSERT_STRING_EQUAL(c->server.socket_group, "dns");
	CU_ASSERT_STRING_EQUAL(c->server.tls_listen, "127.0.0.1:5300");
	CU_ASSERT_STRING_EQUAL(c->server.tls_cert, "/etc/signer/server.pem");
	CU_ASSERT_STRING_EQUAL(c->server.tls_key, "/etc/signer/server.key");
	CU_ASSERT_STRING_EQUAL(c->server.tls_ca, "/etc/signer/clients-ca.pem");
	CU_ASSERT_EQUAL(c->server.max_frame, 1048576);
	CU_ASSERT_EQUAL(c->server.request_timeout, 10);
	CU_ASSERT_EQUAL(c->server.max_connections, 32);
	CU_ASSERT(c->server.test_clock);
	CU_ASSERT_STRING_EQUAL(c->state_dir, "/var/lib/signer");
	CU_ASSERT_STRING_EQUAL(c->output_dir, "/var/lib/signer/out");
	CU_ASSERT_STRING_EQUAL(c->notify_command, "nsd-control reload %z # %f %s 100%%");
	CU_ASSERT_EQUAL(c->journal_max_entries, 50);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 8192);
	CU_ASSERT_EQUAL(c->journal_max_age, 3600);
	CU_ASSERT_EQUAL(c->passes, 64);
	CU_ASSERT_EQUAL(c->threads, 256);
	CU_ASSERT(c->log_syslog);
	CU_ASSERT_EQUAL(c->log_level, LOG_DEBUG);
	CU_ASSERT_STRING_EQUAL(c->client_server, "tls:signer.example:5300");
	CU_ASSERT_STRING_EQUAL(c->client_tls_cert, "/etc/signer/client.pem");
	CU_ASSERT_STRING_EQUAL(c->client_tls_key, "/etc/signer/client.key");
	CU_ASSERT_STRING_EQUAL(c->client_tls_ca, "/etc/signer/server-ca.pem");
	config_free(c);
}

static void test_config_relative_paths_follow_the_file(void)
{
	config_t *c = load_ok("tokens:\n"
	                      "  - name: main\n"
	                      "    module: /m.so\n"
	                      "    uri: pkcs11:token=a\n"
	                      "    pin_file: pin\n"
	                      "server:\n"
	                      "  socket: run/s.sock\n"
	                      "  tls_listen: \"[::1]:5300\"\n"
	                      "  tls_cert: ./server.pem\n"
	                      "  tls_key: tls/server.key\n"
	                      "  tls_ca: /abs/ca.pem\n"
	                      "state_dir: .\n"
	                      "output_dir: out\n"
	                      "client:\n"
	                      "  server: unix:run/s.sock\n"
	                      "  tls_cert: client.pem\n"
	                      "  tls_key: /abs/client.key\n"
	                      "  tls_ca: ca/server.pem\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->tokens[0].pin_file, in_dir("pin"));
	CU_ASSERT_STRING_EQUAL(c->server.socket, in_dir("run/s.sock"));
	CU_ASSERT_STRING_EQUAL(c->server.tls_cert, in_dir("server.pem"));
	CU_ASSERT_STRING_EQUAL(c->server.tls_key, in_dir("tls/server.key"));
	CU_ASSERT_STRING_EQUAL(c->server.tls_ca, "/abs/ca.pem");
	CU_ASSERT_STRING_EQUAL(c->state_dir, dir);
	CU_ASSERT_STRING_EQUAL(c->output_dir, in_dir("out"));
	char unix_server[256];
	snprintf(unix_server, sizeof(unix_server), "unix:%s", in_dir("run/s.sock"));
	CU_ASSERT_STRING_EQUAL(c->client_server, unix_server);
	CU_ASSERT_STRING_EQUAL(c->client_tls_cert, in_dir("client.pem"));
	CU_ASSERT_STRING_EQUAL(c->client_tls_key, "/abs/client.key");
	CU_ASSERT_STRING_EQUAL(c->client_tls_ca, in_dir("ca/server.pem"));
	config_free(c);

	/* A relative configuration path: the working directory goes in front. */
	char cwd[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir("/tmp"), 0);
	char rel[128];
	snprintf(rel, sizeof(rel), "%s/signer.yaml", dir + strlen("/tmp/"));
	write_config(TOKENS);
	char err[256] = "";
	c = NULL;
	CU_ASSERT_EQUAL(config_load(rel, &c, err, sizeof(err)), CONFIG_OK);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->server.socket, in_dir("signerd.sock"));
	CU_ASSERT_STRING_EQUAL(c->state_dir, in_dir("state"));
	config_free(c);
}

static void test_config_socket_mode_is_octal_and_private(void)
{
	static const struct {
		const char *text;
		unsigned mode;
	} ok[] = {{"\"0660\"", 0660}, {"0660", 0660}, {"600", 0600}, {"0770", 0770}, {"0", 0}};
	char buf[512];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), TOKENS "server:\n  socket_mode: %s\n", ok[i].text);
		config_t *c = load_ok(buf);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->server.socket_mode, ok[i].mode);
		config_free(c);
	}
	refuse(TOKENS "server:\n  socket_mode: \"0666\"\n",
	       "signer.yaml:6: socket_mode 0666 gives access to others");
	refuse(TOKENS "server:\n  socket_mode: 0661\n",
	       "signer.yaml:6: socket_mode 0661 gives access to others");
	refuse(TOKENS "server:\n  socket_mode: \"04660\"\n",
	       "signer.yaml:6: socket_mode 4660 has bits above 0777");
	refuse(TOKENS "server:\n  socket_mode: \"0680\"\n",
	       "signer.yaml:6: socket_mode must be an octal mode");
	refuse(TOKENS "server:\n  socket_mode: rw-rw----\n",
	       "signer.yaml:6: socket_mode must be an octal mode");
	refuse(TOKENS "server:\n  socket_mode: \"\"\n",
	       "signer.yaml:6: socket_mode must be an octal mode");
}

static void test_config_tls_listen_needs_cert_key_and_ca(void)
{
	refuse(TOKENS "server:\n  tls_listen: \"127.0.0.1:5300\"\n",
	       "signer.yaml:6: tls_listen needs tls_cert, tls_key and tls_ca (missing: tls_cert "
	       "tls_key tls_ca): no unauthenticated TCP");
	refuse(TOKENS "server:\n  tls_cert: c.pem\n  tls_listen: \"127.0.0.1:5300\"\n"
	              "  tls_ca: ca.pem\n",
	       "signer.yaml:7: tls_listen needs tls_cert, tls_key and tls_ca (missing: tls_key)");
	refuse(TOKENS "server:\n  tls_listen: \"127.0.0.1:5300\"\n  tls_cert: c.pem\n"
	              "  tls_key: k.pem\n",
	       "signer.yaml:6: tls_listen needs tls_cert, tls_key and tls_ca (missing: tls_ca)");
	static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", ":53",        "::1:53",
	                                  "[]:53",     "host:0",     "host:65536", "host:http"};
	char buf[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf),
		         TOKENS "server:\n  tls_cert: c\n  tls_key: k\n  tls_ca: a\n"
		                "  tls_listen: \"%s\"\n",
		         bad[i]);
		refuse(buf, "signer.yaml:9: tls_listen must be \"host:port\"");
	}
	/* Certificates without tls_listen are harmless and kept. */
	config_t *c = load_ok(TOKENS "server:\n  tls_cert: c.pem\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NULL(c->server.tls_listen);
	CU_ASSERT_STRING_EQUAL(c->server.tls_cert, in_dir("c.pem"));
	config_free(c);
}

static void test_config_sizes_and_durations_take_suffixes(void)
{
	config_t *c = load_ok(TOKENS "server: {max_frame: 4K, request_timeout: 2m}\n"
	                             "journal: {max_entries: 1, max_bytes: 3G, max_age: 2w}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->server.max_frame, 4096);
	CU_ASSERT_EQUAL(c->server.request_timeout, 120);
	CU_ASSERT_EQUAL(c->journal_max_entries, 1);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 3ull << 30);
	CU_ASSERT_EQUAL(c->journal_max_age, 2 * 604800);
	config_free(c);
	c = load_ok(TOKENS "server: {max_frame: 1G, request_timeout: 1d}\n"
	                   "journal: {max_bytes: 640M, max_age: 90s}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->server.max_frame, 1u << 30);
	CU_ASSERT_EQUAL(c->server.request_timeout, 86400);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 640ull << 20);
	CU_ASSERT_EQUAL(c->journal_max_age, 90);
	config_free(c);
	c = load_ok(TOKENS "journal: {max_age: 3h}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->journal_max_age, 10800);
	config_free(c);

	static const char frame[] = "signer.yaml:6: max_frame must be a size from 4096 to "
	                            "1073741824 bytes (suffixes K, M, G)";
	refuse(TOKENS "server:\n  max_frame: 4095\n", frame);
	refuse(TOKENS "server:\n  max_frame: 2G\n", frame);
	refuse(TOKENS "server:\n  max_frame: 16m\n", frame); /* m is minutes */
	refuse(TOKENS "server:\n  max_frame: 16 M\n", frame);
	refuse(TOKENS "server:\n  max_frame: 16MB\n", frame);
	refuse(TOKENS "server:\n  max_frame: -4K\n", frame);
	refuse(TOKENS "server:\n  max_frame: 99999999999999999999\n", frame);
	refuse(TOKENS "server:\n  max_frame: 99999999999G\n", frame);
	static const char timeout[] = "signer.yaml:6: request_timeout must be a duration from 1 "
	                              "to 86400 seconds (suffixes s, m, h, d, w)";
	refuse(TOKENS "server:\n  request_timeout: 0\n", timeout);
	refuse(TOKENS "server:\n  request_timeout: 2d\n", timeout);
	refuse(TOKENS "server:\n  request_timeout: 30M\n", timeout);
	refuse(TOKENS "journal:\n  max_bytes: 1K\n",
	       "signer.yaml:6: max_bytes must be a size from 4096 to");
	refuse(TOKENS "journal:\n  max_age: 0\n",
	       "signer.yaml:6: max_age must be a duration from 1 to 4294967295 seconds");
	refuse(TOKENS "journal:\n  max_age: 10000w\n", "signer.yaml:6: max_age must be a duration");
	refuse(TOKENS "journal:\n  max_entries: 0\n",
	       "signer.yaml:6: max_entries must be an integer from 1 to");
	refuse(TOKENS "journal:\n  max_entries: 1K\n",
	       "signer.yaml:6: max_entries must be an integer from 1 to");
	refuse(TOKENS "journal:\n  size: 1\n", "signer.yaml:6: unknown journal key 'size'");
	refuse(TOKENS "server:\n  max_connections: 0\n",
	       "signer.yaml:6: max_connections must be an integer from 1 to 65535");
}

static void test_config_signing_passes_and_threads(void)
{
	config_t *c = load_ok(TOKENS "signing: {passes: 1, threads: 8}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->passes, 1);
	CU_ASSERT_EQUAL(c->threads, 8);
	config_free(c);
	refuse(TOKENS "signing:\n  passes: 0\n",
	       "signer.yaml:6: passes must be an integer from 1 to 64");
	refuse(TOKENS "signing:\n  passes: 65\n",
	       "signer.yaml:6: passes must be an integer from 1 to 64");
	refuse(TOKENS "signing:\n  threads: 257\n",
	       "signer.yaml:6: threads must be a non-negative integer up to 256");
	refuse(TOKENS "signing:\n  threads: auto\n",
	       "signer.yaml:6: threads must be a non-negative integer up to 256");
	refuse(TOKENS "signing:\n  workers: 2\n", "signer.yaml:6: unknown signing key 'workers'");
}

static void test_config_log_levels(void)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"err", LOG_ERR},
	              {"warning", LOG_WARNING},
	              {"notice", LOG_NOTICE},
	              {"info", LOG_INFO},
	              {"debug", LOG_DEBUG}};
	char buf[512];
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(buf, sizeof(buf), TOKENS "log: {level: %s}\n", levels[i].name);
		config_t *c = load_ok(buf);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->log_level, levels[i].level);
		config_free(c);
	}
	refuse(TOKENS "log:\n  level: warn\n",
	       "signer.yaml:6: level must be err, warning, notice, info or debug");
	refuse(TOKENS "log:\n  syslog: sometimes\n", "signer.yaml:6: syslog must be true or false");
	refuse(TOKENS "log:\n  file: /var/log/x\n", "signer.yaml:6: unknown log key 'file'");
	assert_refused(TOKENS "log: info\n", CONFIG_ERR_SYNTAX,
	               "signer.yaml:5: log must be a mapping");
}

static void test_config_clients_are_read(void)
{
	config_t *c = load_ok(
	        TOKENS "clients:\n"
	               "  - uid: 1000\n"
	               "    role: feeder\n"
	               "    zones: [Example.COM, example.net., .]\n"
	               "    max_connections: 4\n"
	               "    max_zone_records: 2000000\n"
	               "  - cert_sha256: "
	               "\"AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12\"\n"
	               "    role: operator\n"
	               "  - uid: root\n"
	               "    role: operator\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->nclients, 3);
	const config_client_t *f = &c->clients[0];
	CU_ASSERT(f->has_uid);
	CU_ASSERT_EQUAL(f->uid, 1000);
	CU_ASSERT_PTR_NULL(f->cert_sha256);
	CU_ASSERT_EQUAL(f->role, CONFIG_ROLE_FEEDER);
	CU_ASSERT_EQUAL_FATAL(f->nzones, 3);
	CU_ASSERT_STRING_EQUAL(f->zones[0], "example.com.");
	CU_ASSERT_STRING_EQUAL(f->zones[1], "example.net.");
	CU_ASSERT_STRING_EQUAL(f->zones[2], ".");
	CU_ASSERT_EQUAL(f->max_connections, 4);
	CU_ASSERT_EQUAL(f->max_zone_records, 2000000);
	const config_client_t *o = &c->clients[1];
	CU_ASSERT(!o->has_uid);
	CU_ASSERT_STRING_EQUAL(o->cert_sha256,
	                       "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12");
	CU_ASSERT_EQUAL(o->role, CONFIG_ROLE_OPERATOR);
	CU_ASSERT_EQUAL(o->nzones, 0);
	CU_ASSERT_EQUAL(o->max_connections, 8);
	CU_ASSERT_EQUAL(o->max_zone_records, 10000000);
	CU_ASSERT(c->clients[2].has_uid);
	CU_ASSERT_EQUAL(c->clients[2].uid, 0); /* root, from the user database */
	config_free(c);
}

static void test_config_client_identity_is_one_uid_or_one_hash(void)
{
	static const char hash[] =
	        "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
	char buf[768];
	snprintf(buf, sizeof(buf),
	         TOKENS "clients:\n  - uid: 1000\n    cert_sha256: \"%s\"\n    role: operator\n",
	         hash);
	refuse(buf, "signer.yaml:6: a client needs exactly one of uid and cert_sha256");
	refuse(TOKENS "clients:\n  - role: operator\n",
	       "signer.yaml:6: a client needs exactly one of uid and cert_sha256");
	refuse(TOKENS "clients:\n  - uid: no-such-user-here\n    role: operator\n",
	       "signer.yaml:6: uid: unknown user 'no-such-user-here'");
	refuse(TOKENS "clients:\n  - uid: 4294967295\n    role: operator\n",
	       "signer.yaml:6: uid must be a non-negative integer up to 4294967294");
	refuse(TOKENS "clients:\n  - uid: -1\n    role: operator\n",
	       "signer.yaml:6: uid: unknown user '-1'");
	refuse(TOKENS "clients:\n  - cert_sha256: ab12\n    role: operator\n",
	       "signer.yaml:6: cert_sha256 must be 64 hexadecimal digits");
	snprintf(buf, sizeof(buf), TOKENS "clients:\n  - cert_sha256: \"%.63sg\"\n", hash);
	refuse(buf, "signer.yaml:6: cert_sha256 must be 64 hexadecimal digits");
	/* The same identity twice, even written differently. */
	refuse(TOKENS "clients:\n  - uid: 0\n    role: operator\n"
	              "  - uid: root\n    role: feeder\n    zones: [a]\n",
	       "signer.yaml:8: client uid 0 is already listed on line 6");
	snprintf(buf, sizeof(buf),
	         TOKENS "clients:\n  - cert_sha256: \"%s\"\n    role: operator\n"
	                "  - cert_sha256: \"AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12"
	                "CD34EF56AB12\"\n    role: operator\n",
	         hash);
	refuse(buf, "signer.yaml:8: client cert_sha256 ab12cd34ef56ab12... is already listed on "
	            "line 6");
}

static void test_config_client_roles_and_zones(void)
{
	refuse(TOKENS "clients:\n  - uid: 1000\n", "signer.yaml:6: a client needs a role");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: admin\n",
	       "signer.yaml:7: role must be feeder or operator");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n",
	       "signer.yaml:6: a feeder needs a non-empty zones list");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: []\n",
	       "signer.yaml:8: a feeder needs a non-empty zones list");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: operator\n    zones: [a.example]\n",
	       "signer.yaml:8: an operator may act on every zone: remove zones");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: operator\n    zones: []\n",
	       "signer.yaml:8: an operator may act on every zone: remove zones");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: [a..example]\n",
	       "signer.yaml:8: 'a..example' is not a zone name");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: [\"a example\"]\n",
	       "signer.yaml:8: 'a example' is not a zone name");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: [a.example, "
	              "A.Example.]\n",
	       "signer.yaml:8: zone a.example. listed twice");
	char label[80], buf[512];
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(buf, sizeof(buf),
	         TOKENS "clients:\n  - uid: 1\n    role: feeder\n    zones: [%s]\n", label);
	refuse(buf, "is not a zone name");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: [a]\n    "
	              "max_connections: 0\n",
	       "signer.yaml:9: max_connections must be an integer from 1 to 65535");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zones: [a]\n    "
	              "max_zone_records: 0\n",
	       "signer.yaml:9: max_zone_records must be an integer from 1 to 1000000000");
	refuse(TOKENS "clients:\n  - uid: 1000\n    role: feeder\n    zone: [a]\n",
	       "signer.yaml:8: unknown client key 'zone'");
	assert_refused(TOKENS "clients:\n  uid: 1000\n", CONFIG_ERR_SYNTAX,
	               "signer.yaml:6: clients must be a list");
	assert_refused(TOKENS "clients:\n  - uid: 1\n    role: feeder\n    zones: a\n",
	               CONFIG_ERR_SYNTAX, "signer.yaml:8: zones must be a list of zone names");
}

static void test_config_strings_and_commands(void)
{
	refuse(TOKENS "notify_command: \"reload %x\"\n",
	       "signer.yaml:5: notify_command: unknown escape '%x'");
	refuse(TOKENS "notify_command: \"reload 100%\"\n",
	       "signer.yaml:5: notify_command: unknown escape '%'");
	refuse(TOKENS "notify_command: \"\"\n",
	       "signer.yaml:5: notify_command must be a non-empty");
	refuse(TOKENS "output_dir:\n", "signer.yaml:5: output_dir must be a non-empty path");
	refuse(TOKENS "state_dir: [a]\n", "signer.yaml:5: state_dir must be a non-empty path");
	refuse(TOKENS "server:\n  socket_owner: \"\"\n",
	       "signer.yaml:6: socket_owner must be a non-empty string");
	refuse(TOKENS "server:\n  test_clock: 1\n",
	       "signer.yaml:6: test_clock must be true or false");
}

static void test_config_cli_client_section(void)
{
	refuse(TOKENS "client:\n  server: \"tcp:host:5300\"\n",
	       "signer.yaml:6: server must be \"unix:PATH\" or \"tls:HOST:PORT\"");
	refuse(TOKENS "client:\n  server: \"unix:\"\n",
	       "signer.yaml:6: server must be \"unix:PATH\" or \"tls:HOST:PORT\"");
	refuse(TOKENS "client:\n  server: \"tls:host\"\n",
	       "signer.yaml:6: server must be \"unix:PATH\" or \"tls:HOST:PORT\"");
	refuse(TOKENS "client:\n  server: \"tls:host:5300\"\n  tls_cert: c.pem\n",
	       "signer.yaml:6: a tls: server needs tls_cert, tls_key and tls_ca (missing: tls_key "
	       "tls_ca)");
	refuse(TOKENS "client:\n  socket: /x\n", "signer.yaml:6: unknown client key 'socket'");
	config_t *c = load_ok(TOKENS "client: {server: \"unix:/run/signer/signerd.sock\"}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->client_server, "unix:/run/signer/signerd.sock");
	config_free(c);
}

static void test_config_unknown_and_repeated_keys(void)
{
	refuse(TOKENS "server:\n  sokcet: /x\n", "signer.yaml:6: unknown server key 'sokcet'");
	refuse(TOKENS "statedir: /x\n", "signer.yaml:5: unknown key 'statedir'");
	refuse(TOKENS "server:\n  socket: /a\n  socket: /b\n",
	       "signer.yaml:7: 'socket' given twice (first on line 6)");
	refuse(TOKENS "state_dir: /a\nstate_dir: /b\n",
	       "signer.yaml:6: 'state_dir' given twice (first on line 5)");
	refuse(TOKENS "tokens:\n  - name: b\n    module: /m.so\n    uri: pkcs11:token=b\n",
	       "signer.yaml:5: 'tokens' given twice (first on line 1)");
	assert_refused(TOKENS "server: /x\n", CONFIG_ERR_SYNTAX,
	               "signer.yaml:5: server must be a mapping");
	assert_refused(TOKENS "journal: [1]\n", CONFIG_ERR_SYNTAX,
	               "signer.yaml:5: journal must be a mapping");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_config_tokens_are_read", test_config_tokens_are_read},
	        {"test_config_bad_files", test_config_bad_files},
	        {"test_config_defaults", test_config_defaults},
	        {"test_config_everything_is_read", test_config_everything_is_read},
	        {"test_config_relative_paths_follow_the_file",
	         test_config_relative_paths_follow_the_file},
	        {"test_config_socket_mode_is_octal_and_private",
	         test_config_socket_mode_is_octal_and_private},
	        {"test_config_tls_listen_needs_cert_key_and_ca",
	         test_config_tls_listen_needs_cert_key_and_ca},
	        {"test_config_sizes_and_durations_take_suffixes",
	         test_config_sizes_and_durations_take_suffixes},
	        {"test_config_signing_passes_and_threads", test_config_signing_passes_and_threads},
	        {"test_config_log_levels", test_config_log_levels},
	        {"test_config_clients_are_read", test_config_clients_are_read},
	        {"test_config_client_identity_is_one_uid_or_one_hash",
	         test_config_client_identity_is_one_uid_or_one_hash},
	        {"test_config_client_roles_and_zones", test_config_client_roles_and_zones},
	        {"test_config_strings_and_commands", test_config_strings_and_commands},
	        {"test_config_cli_client_section", test_config_cli_client_section},
	        {"test_config_unknown_and_repeated_keys", test_config_unknown_and_repeated_keys},
	        {NULL, NULL},
	};
	int failed = testutil_run("config", cases);
	char path[128];
	snprintf(path, sizeof(path), "%s/signer.yaml", dir);
	unlink(path);
	rmdir(dir);
	return failed;
}
