/*
 * hsm_pin: a token PIN held in memory that is locked (mlock), excluded from
 * core dumps (MADV_DONTDUMP) and wiped when freed.
 *
 * A PIN comes from a file (refused if group or others may read it; one
 * trailing newline stripped) or from an environment variable, which is unset
 * right after reading so child processes never inherit it. The PIN is never
 * logged and never put on a command line.
 *
 * Life cycle: hsm_pin_from_*() -> hsm_pin_data() any number of times ->
 * hsm_pin_free(). A PIN is immutable once made: hsm_pin_data() is thread-safe.
 * hsm_pin_from_env() touches the process environment: call it before threads
 * start.
 */
#ifndef HSM_HSM_PIN_H
#define HSM_HSM_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_error.h"

#define HSM_PIN_MAX 256

typedef struct hsm_pin hsm_pin_t;

/* Reads the PIN in path. Returns HSM_OK, HSM_ERR_PIN_FILE (mode too open,
 * empty, too long, not a regular file; detail says which), -errno. */
int hsm_pin_from_file(const char *path, hsm_pin_t **out, hsm_detail_t *detail);

/* Reads the PIN in environment variable var and unsets it. Returns HSM_OK,
 * HSM_ERR_PIN_MISSING (unset or empty), HSM_ERR_PIN_FILE (too long). */
int hsm_pin_from_env(const char *var, hsm_pin_t **out, hsm_detail_t *detail);

/* Copies a PIN (for a second token sharing one environment variable). */
int hsm_pin_copy(const hsm_pin_t *pin, hsm_pin_t **out);

/* The PIN bytes (not NUL-terminated) and their length; borrowed. */
const uint8_t *hsm_pin_data(const hsm_pin_t *pin, size_t *len);

/* Wipes and frees; NULL is a no-op. */
void hsm_pin_free(hsm_pin_t *pin);

#endif
