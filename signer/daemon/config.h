/*
 * config: signer.yaml, the configuration shared by signerd and the signer
 * CLI (libyaml). Today it names the tokens:
 *
 *   tokens:
 *     - name: main
 *       module: /usr/lib/softhsm/libsofthsm2.so
 *       uri: "pkcs11:token=signer"
 *       pin_file: /etc/signer/pin      # or pin_env: SIGNER_PIN
 *       max_sessions: 0                # optional, 0 = no limit
 *       combined_mechanisms: false     # optional, hash-and-sign mechanisms
 *       retry_budget: 60               # optional, seconds
 *
 * Unknown keys are refused with their line, so a typo never goes unnoticed.
 * Life cycle: config_load() -> read the fields -> config_free(). A loaded
 * configuration is immutable and may be read from any thread.
 */
#ifndef SIGNER_DAEMON_CONFIG_H
#define SIGNER_DAEMON_CONFIG_H

#include <stddef.h>

#include "hsm/hsm_token.h"

typedef enum {
	CONFIG_OK = 0,
	CONFIG_ERR_NOMEM = -1600,
	CONFIG_ERR_IO = -1601,     /* file cannot be read */
	CONFIG_ERR_SYNTAX = -1602, /* not YAML, or not the expected shape */
	CONFIG_ERR_VALUE = -1603,  /* a key or value is refused */
} config_status_t;

typedef struct {
	hsm_token_config_t *tokens; /* strings owned by the config */
	size_t ntokens;
} config_t;

/* Loads path. On failure returns the status and writes "FILE:LINE: reason"
 * into err (errlen bytes). The caller owns *out (config_free). */
int config_load(const char *path, config_t **out, char *err, size_t errlen);

/* Frees a configuration; NULL is a no-op. */
void config_free(config_t *config);

/* Static text for a status. */
const char *config_strerror(int status);

#endif
