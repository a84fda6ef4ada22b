#include "hsm/hsm_module.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct hsm_module {
	char *path;
	void *dl;
	CK_FUNCTION_LIST_PTR fn;
	bool owned; /* we called C_Initialize successfully */
};

int hsm_module_load(const char *path, hsm_module_t **out, hsm_detail_t *detail)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		hsm_detail_text(detail, "module %s does not exist", path);
		return HSM_ERR_MODULE;
	}
	hsm_module_t *m = calloc(1, sizeof(*m));
	if (m == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return HSM_ERR_NOMEM;
	}
	int ret = HSM_ERR_MODULE;
	/* RTLD_NODELETE: a module's memory outlives dlclose, so that leak
	 * reports inside it (SoftHSM has some) still name the module. */
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (m->dl == NULL) {
		hsm_detail_text(detail, "module %s: %s", path, dlerror());
		goto fail;
	}
	/* dlsym returns an object pointer; POSIX guarantees it converts. */
	void *sym = dlsym(m->dl, "C_GetFunctionList");
	CK_C_GetFunctionList gfl = NULL;
	memcpy(&gfl, &sym, sizeof(gfl));
	if (gfl == NULL) {
		hsm_detail_text(detail, "module %s has no C_GetFunctionList", path);
		goto fail;
	}
	CK_RV rv = gfl(&m->fn);
	if (rv != CKR_OK || m->fn == NULL) {
		hsm_detail_ckr(detail, "C_GetFunctionList", rv);
		goto fail;
	}
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	rv = m->fn->C_Initialize(&args);
	if (rv == CKR_OK) {
		m->owned = true;
	} else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		hsm_detail_ckr(detail, "C_Initialize", rv);
		goto fail;
	}
	*out = m;
	return HSM_OK;
fail:
	if (m->dl != NULL) {
		dlclose(m->dl);
	}
	free(m->path);
	free(m);
	return ret;
}

CK_FUNCTION_LIST_PTR hsm_module_functions(const hsm_module_t *module)
{
	return module->fn;
}

const char *hsm_module_path(const hsm_module_t *module)
{
	return module->path;
}

bool hsm_module_owned(const hsm_module_t *module)
{
	return module->owned;
}

void hsm_module_free(hsm_module_t *module)
{
	if (module == NULL) {
		return;
	}
	/* Someone else initialised it: they own its life; keep it loaded. */
	if (module->owned) {
		module->fn->C_Finalize(NULL);
		dlclose(module->dl);
	}
	free(module->path);
	free(module);
}
