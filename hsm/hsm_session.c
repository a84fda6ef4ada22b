#include "hsm/hsm_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

typedef struct {
	CK_OBJECT_CLASS cls;
	uint8_t id[HSM_KEY_ID_MAX];
	size_t id_len;
	CK_OBJECT_HANDLE handle;
} cached_key_t;

struct hsm_session {
	hsm_token_t *token;
	CK_FUNCTION_LIST_PTR fn;
	CK_SESSION_HANDLE handle;
	bool open;
	uint64_t conn_epoch; /* the token's connection epoch when opened */
	cached_key_t *keys;
	size_t nkeys, cap;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static void close_handle(hsm_session_t *s)
{
	if (s->open) {
		hsm_token_close_session(s->token, s->handle);
		s->open = false;
	}
	s->nkeys = 0;
}

/* Opens the session handle if it is closed or stale. */
static CK_RV ensure_open(hsm_session_t *s, const char **func)
{
	uint64_t epoch = hsm_token_conn_epoch(s->token);
	if (s->open && s->conn_epoch == epoch) {
		return CKR_OK;
	}
	if (s->open) {
		/* Opened before a reconnect: the module dropped it already, and
		 * its handle number may belong to a live session now, so it is
		 * not closed again; only counted. */
		s->open = false;
		s->nkeys = 0;
		hsm_token_forget_session(s->token);
	}
	CK_RV rv = CKR_OK;
	if (hsm_token_open_session(s->token, &s->handle, &rv) != HSM_OK) {
		*func = "C_OpenSession";
		return rv;
	}
	s->open = true;
	s->conn_epoch = epoch;
	return CKR_OK;
}

/* True if the token's login is being redone or was redone since epoch (the
 * recovering thread sets the token RECOVERING before its C_Login and bumps
 * the epoch after it). */
static bool relogged(hsm_token_t *t, uint64_t epoch)
{
	hsm_token_stats_t st;
	hsm_token_stats(t, &st);
	return st.state != HSM_TOKEN_UP || hsm_token_epoch(t) != epoch;
}

/* True if the session's login was lost, or lost and redone, since epoch: a
 * call that fails meanwhile may say anything (SoftHSM's C_SignInit says
 * CKR_GENERAL_ERROR when the key can no longer be decrypted). */
static bool login_lost(hsm_session_t *s, uint64_t epoch)
{
	CK_SESSION_INFO si;
	if (!s->open || s->fn->C_GetSessionInfo(s->handle, &si) != CKR_OK) {
		return false;
	}
	if (si.state != CKS_RW_USER_FUNCTIONS && si.state != CKS_RO_USER_FUNCTIONS) {
		return true;
	}
	return relogged(s->token, epoch);
}

CK_RV hsm_session_trust_empty(hsm_session_t *s, CK_SESSION_HANDLE h, uint64_t epoch)
{
	CK_SESSION_INFO si;
	CK_RV rv = s->fn->C_GetSessionInfo(h, &si);
	if (rv != CKR_OK) {
		return rv;
	}
	if (si.state != CKS_RW_USER_FUNCTIONS && si.state != CKS_RO_USER_FUNCTIONS) {
		return CKR_USER_NOT_LOGGED_IN;
	}
	/* Logged in now, but the login may have been lost during the search
	 * and redone since by another thread. */
	return relogged(s->token, epoch) ? CKR_USER_NOT_LOGGED_IN : CKR_OK;
}

int hsm_session_acquire(hsm_token_t *token, hsm_session_t **out, hsm_detail_t *detail)
{
	int ret = hsm_token_connect(token, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	hsm_session_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return HSM_ERR_NOMEM;
	}
	s->token = token;
	s->fn = hsm_token_functions(token);
	hsm_token_lease_begin(token);
	*out = s;
	return HSM_OK;
}

void hsm_session_release(hsm_session_t *session)
{
	if (session == NULL) {
		return;
	}
	close_handle(session);
	hsm_token_lease_end(session->token);
	free(session->keys);
	free(session);
}

hsm_token_t *hsm_session_token(const hsm_session_t *session)
{
	return session->token;
}

void hsm_session_forget_keys(hsm_session_t *session)
{
	session->nkeys = 0;
}

CK_RV hsm_session_find(hsm_session_t *s, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                       const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, bool *found)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		cached_key_t *k = &s->keys[i];
		if (k->cls == cls && k->id_len == id_len && memcmp(k->id, id, id_len) == 0) {
			*out = k->handle;
			*found = true;
			return CKR_OK;
		}
	}
	CK_ATTRIBUTE tmpl[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_ID, (void *)id, id_len},
	};
	uint64_t epoch = hsm_token_epoch(s->token);
	CK_RV rv = s->fn->C_FindObjectsInit(h, tmpl, 2);
	if (rv != CKR_OK) {
		return rv;
	}
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	rv = s->fn->C_FindObjects(h, objs, 2, &n);
	s->fn->C_FindObjectsFinal(h);
	if (rv != CKR_OK) {
		return rv;
	}
	*found = n > 0;
	if (n == 0) {
		return hsm_session_trust_empty(s, h, epoch);
	}
	*out = objs[0];
	if (id_len <= HSM_KEY_ID_MAX) {
		if (s->nkeys == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 4;
			cached_key_t *keys = realloc(s->keys, cap * sizeof(*keys));
			if (keys == NULL) {
				return CKR_OK; /* not cached: found again next time */
			}
			s->keys = keys;
			s->cap = cap;
		}
		cached_key_t *k = &s->keys[s->nkeys++];
		k->cls = cls;
		memcpy(k->id, id, id_len);
		k->id_len = id_len;
		k->handle = objs[0];
	}
	return CKR_OK;
}

int hsm_session_run(hsm_session_t *s, hsm_session_op_t op, void *arg, hsm_detail_t *detail)
{
	hsm_token_t *t = s->token;
	uint64_t deadline = hsm_token_now_ms() + hsm_token_budget_ms(t);
	unsigned backoff = BACKOFF_MIN_MS;
	hsm_detail_t last = {0};
	for (unsigned attempt = 0;; attempt++) {
		const char *func = "C_OpenSession";
		uint64_t epoch = hsm_token_epoch(t);
		CK_RV rv = ensure_open(s, &func);
		if (rv == CKR_OK) {
			rv = op(s, s->handle, arg, attempt, &func);
			if (rv == CKR_OK) {
				return HSM_OK;
			}
		}
		hsm_detail_ckr(&last, func, rv);
		hsm_rv_class_t cls = hsm_token_classify(rv);
		if (cls == HSM_RV_FATAL && rv != HSM_SESSION_RV_NO_KEY && login_lost(s, epoch)) {
			cls = HSM_RV_LOGIN;
		}
		int ret = HSM_OK;
		bool wait = true;
		switch (cls) {
		case HSM_RV_FATAL:
			ret = rv == CKR_DATA_LEN_RANGE ? HSM_ERR_SIGN_DATA : HSM_ERR_CKR;
			if (rv == HSM_SESSION_RV_NO_KEY) {
				ret = HSM_ERR_NO_KEY;
				hsm_detail_text(&last, "no key with this CKA_ID in token %s",
				                hsm_token_name(t));
			}
			break;
		case HSM_RV_PIN:
			ret = hsm_token_pin_status(rv);
			break;
		case HSM_RV_KEY:
			/* Stale handle: find the key again by CKA_ID (at once the
			 * first time). */
			hsm_session_forget_keys(s);
			wait = attempt > 0;
			break;
		case HSM_RV_SESSION:
			close_handle(s);
			hsm_token_count_reopen(t);
			wait = attempt > 0;
			break;
		case HSM_RV_LOGIN:
		case HSM_RV_DEVICE:
			if (cls == HSM_RV_DEVICE) {
				close_handle(s);
			}
			ret = hsm_token_recover(t, cls, epoch, deadline, &last);
			wait = false;
			break;
		}
		if (ret == HSM_OK && hsm_token_now_ms() + (wait ? backoff : 0) > deadline) {
			ret = HSM_ERR_BUDGET;
		}
		if (ret == HSM_OK && attempt > 1000000) {
			ret = HSM_ERR_BUDGET; /* cannot happen within a budget; a guard */
		}
		if (ret != HSM_OK) {
			if (detail != NULL) {
				*detail = last;
			}
			hsm_token_count_failure(t, ret, &last);
			return ret;
		}
		hsm_token_count_retry(t);
		if (wait) {
			sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
	}
}
