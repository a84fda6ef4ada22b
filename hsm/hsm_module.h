/*
 * hsm_module: one loaded PKCS#11 module (dlopen + C_GetFunctionList +
 * C_Initialize with OS locking).
 *
 * A module already initialised by someone else in this process
 * (CKR_CRYPTOKI_ALREADY_INITIALIZED) is accepted, and then we never call
 * C_Finalize on it nor unload it. hsm_ctx loads each module path once and
 * shares it between the tokens that name it.
 *
 * Life cycle: hsm_module_load() -> hsm_module_functions() -> hsm_module_free().
 * The function list is immutable and thread-safe to use (the module was
 * initialised with CKF_OS_LOCKING_OK); load and free are not thread-safe.
 */
#ifndef HSM_HSM_MODULE_H
#define HSM_HSM_MODULE_H

#include <stdbool.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm_error.h"

typedef struct hsm_module hsm_module_t;

/* Loads and initialises the module at path. Returns HSM_OK, HSM_ERR_MODULE
 * (detail has dlerror() or the failing call), HSM_ERR_NOMEM. */
int hsm_module_load(const char *path, hsm_module_t **out, hsm_detail_t *detail);

/* The module's function list (borrowed for the module's life). */
CK_FUNCTION_LIST_PTR hsm_module_functions(const hsm_module_t *module);

/* The path the module was loaded from (borrowed). */
const char *hsm_module_path(const hsm_module_t *module);

/* True if we initialised it (and so will finalise it at free). */
bool hsm_module_owned(const hsm_module_t *module);

/* C_Finalize (only if we initialised it) and unload; NULL is a no-op. */
void hsm_module_free(hsm_module_t *module);

#endif
