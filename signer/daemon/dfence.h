/*
 * dfence: which node of an active/standby pair may sign (signer.yaml
 * cluster:). A small record in a token both nodes see (hsm_data, label
 * DFENCE_LABEL) says "epoch=N node=NAME state=SEQ": the node holding the
 * current epoch is the active one, SEQ names the last state it shipped to
 * the shared ship directory. A node signs, and generates keys, only while
 * the record names it: `signer master seize` (or transfer) on the other node
 * raises the epoch, and a returning old active reads the record before its
 * next pass and stops. Without cluster: in the configuration there is no
 * record and every check passes.
 *
 * The value functions are pure (the CLI uses them too). A dfence_t belongs
 * to signerd's main; its functions are thread-safe (a mutex over the cached
 * record; the token is read at most once a second).
 */
#ifndef SIGNER_DAEMON_DFENCE_H
#define SIGNER_DAEMON_DFENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_ctx.h"
#include "signer/daemon/config.h"

#define DFENCE_LABEL "signer-fence"

/* The shipped state's directory under ship_dir is "state-EPOCH-SEQ"; the
 * file LATEST there names the newest. */
#define DFENCE_LATEST "LATEST"

typedef struct {
	uint64_t epoch;
	char node[64];
	uint64_t state; /* SEQ of the last state shipped (0: none yet) */
} dfence_value_t;

/* Parses "epoch=N node=NAME state=SEQ". True on success. Pure. */
bool dfence_parse(const uint8_t *v, size_t len, dfence_value_t *out);
/* Formats v; returns the length written (< cap), 0 if it does not fit. */
size_t dfence_format(const dfence_value_t *v, char *out, size_t cap);

/* The token holding the record (cluster.fence_token or the first token). */
hsm_token_t *dfence_token(hsm_ctx_t *hsm, const config_t *config);

typedef struct dfence dfence_t;

/* Reads the record (claims epoch 1 for this node when there is none).
 * *out is NULL without cluster:. Returns 0 or -1 with err. */
int dfence_open(hsm_ctx_t *hsm, const config_t *config, dfence_t **out, char *err, size_t errlen);
void dfence_close(dfence_t *f);

/* Whether this node may sign now (true without a fence): the record names
 * it and it did not step down. Otherwise why says who holds the epoch. */
bool dfence_may_sign(dfence_t *f, char *why, size_t len);

/* This node stops signing for good (a transfer): no pass after this call
 * signs, whatever the record says. */
void dfence_step_down(dfence_t *f);

/* The record as last read. */
dfence_value_t dfence_value(dfence_t *f);

/* Records that state seq was shipped (the record keeps epoch and node).
 * Returns 0 or -1 with err (another node took the epoch meanwhile). */
int dfence_note_shipped(dfence_t *f, uint64_t seq, char *err, size_t errlen);

#endif
