#include "hsm/hsm_token.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/uri.h>

#include "hsm/hsm_module.h"
#include "hsm/hsm_pin.h"

#define DEFAULT_BUDGET_MS 60000
#define BACKOFF_MIN_MS    10
#define BACKOFF_MAX_MS    1000

struct hsm_token {
	/* Immutable after hsm_token_new. */
	char *name;
	char *uri_text;
	P11KitUri *uri;
	hsm_module_t *module; /* borrowed from hsm_ctx */
	CK_FUNCTION_LIST_PTR fn;
	hsm_pin_t *pin;
	unsigned max_sessions;
	bool combined;
	unsigned budget_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Guarded by lock. */
	hsm_token_state_t state;
	bool busy;            /* one thread is connecting or recovering */
	bool pin_refused;     /* a PIN error was seen: never log in again */
	int pin_status;       /* the PIN error's status */
	uint64_t recover_gen; /* incremented when a recovery attempt ends */
	int recover_status;   /* result of the last attempt */
	hsm_detail_t recover_detail;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE anchor; /* holds the login; used only by the recovering thread */
	bool anchor_open;
	bool info_valid;
	CK_TOKEN_INFO info;
	unsigned leased; /* sessions leased (for max_sessions) */
	int last_status;
	hsm_detail_t last_detail;

	/* Read without the lock. */
	_Atomic uint64_t epoch;      /* logins and reconnects */
	_Atomic uint64_t conn_epoch; /* reconnects */
	_Atomic uint64_t n_retries, n_reopens, n_relogins, n_reconnects, n_failures, n_sessions;
};

uint64_t hsm_token_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

hsm_rv_class_t hsm_token_classify(CK_RV rv)
{
	switch (rv) {
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
		return HSM_RV_KEY;
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_ERROR:
	case CKR_OPERATION_ACTIVE:
	case CKR_OPERATION_NOT_INITIALIZED:
		return HSM_RV_SESSION;
	case CKR_USER_NOT_LOGGED_IN:
		return HSM_RV_LOGIN;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SLOT_ID_INVALID:
		return HSM_RV_DEVICE;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LOCKED:
	case CKR_PIN_EXPIRED:
		return HSM_RV_PIN;
	default:
		return HSM_RV_FATAL;
	}
}

int hsm_token_pin_status(CK_RV rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return HSM_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return HSM_ERR_PIN_LOCKED;
	case CKR_PIN_EXPIRED:
		return HSM_ERR_PIN_EXPIRED;
	default:
		return HSM_ERR_CKR;
	}
}

int hsm_token_new(const hsm_token_config_t *config, hsm_module_t *module, hsm_pin_t *pin,
                  hsm_token_t **out, hsm_detail_t *detail)
{
	P11KitUri *uri = p11_kit_uri_new();
	if (uri == NULL) {
		return HSM_ERR_NOMEM;
	}
	int r = p11_kit_uri_parse(config->uri, P11_KIT_URI_FOR_TOKEN, uri);
	if (r != P11_KIT_URI_OK) {
		hsm_detail_text(detail, "token %s: malformed PKCS#11 URI %s: %s", config->name,
		                config->uri, p11_kit_uri_message(r));
		p11_kit_uri_free(uri);
		return HSM_ERR_URI;
	}
	if (p11_kit_uri_get_pin_value(uri) != NULL || p11_kit_uri_get_pin_source(uri) != NULL) {
		hsm_detail_text(detail,
		                "token %s: a PKCS#11 URI must not contain a PIN; use pin_file",
		                config->name);
		p11_kit_uri_free(uri);
		return HSM_ERR_URI_PIN;
	}
	hsm_token_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		p11_kit_uri_free(uri);
		return HSM_ERR_NOMEM;
	}
	t->name = strdup(config->name);
	t->uri_text = strdup(config->uri);
	if (t->name == NULL || t->uri_text == NULL) {
		free(t->name);
		free(t->uri_text);
		free(t);
		p11_kit_uri_free(uri);
		return HSM_ERR_NOMEM;
	}
	t->uri = uri;
	t->module = module;
	t->fn = hsm_module_functions(module);
	t->pin = pin;
	t->max_sessions = config->max_sessions;
	t->combined = config->combined_mech;
	t->budget_ms = config->retry_budget_ms ? config->retry_budget_ms : DEFAULT_BUDGET_MS;
	t->state = HSM_TOKEN_DISCONNECTED;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	*out = t;
	return HSM_OK;
}

void hsm_token_free(hsm_token_t *token)
{
	if (token == NULL) {
		return;
	}
	if (token->anchor_open) {
		token->fn->C_Logout(token->anchor);
		token->fn->C_CloseSession(token->anchor);
	}
	pthread_cond_destroy(&token->cond);
	pthread_mutex_destroy(&token->lock);
	p11_kit_uri_free(token->uri);
	hsm_pin_free(token->pin);
	free(token->uri_text);
	free(token->name);
	free(token);
}

/* Finds the one slot whose token matches the URI. Cryptoki calls, no lock. */
static int find_slot(hsm_token_t *t, CK_SLOT_ID *slot, CK_TOKEN_INFO *info, hsm_detail_t *d)
{
	CK_ULONG n = 0;
	CK_RV rv = t->fn->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv != CKR_OK) {
		hsm_detail_ckr(d, "C_GetSlotList", rv);
		return HSM_ERR_CKR;
	}
	CK_SLOT_ID *slots = calloc(n + 1, sizeof(*slots));
	if (slots == NULL) {
		return HSM_ERR_NOMEM;
	}
	rv = t->fn->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		free(slots);
		hsm_detail_ckr(d, "C_GetSlotList", rv);
		return HSM_ERR_CKR;
	}
	int found = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (t->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			continue;
		}
		if (p11_kit_uri_match_token_info(t->uri, &ti) == 1) {
			if (found++ == 0) {
				*slot = slots[i];
				*info = ti;
			}
		}
	}
	free(slots);
	if (found == 0) {
		hsm_detail_text(d, "token %s: no token matches %s", t->name, t->uri_text);
		return HSM_ERR_NO_TOKEN;
	}
	if (found > 1) {
		hsm_detail_text(d, "token %s: %d tokens match %s; add serial= to the URI", t->name,
		                found, t->uri_text);
		return HSM_ERR_MANY_TOKENS;
	}
	return HSM_OK;
}

/* Records a failed call of the token's connect or login, naming the token. */
static void token_ckr(hsm_token_t *t, hsm_detail_t *d, const char *func, CK_RV rv)
{
	hsm_detail_ckr(d, func, rv);
	if (d != NULL) {
		snprintf(d->text, sizeof(d->text), "token %s", t->name);
	}
}

/* C_Login on the anchor session; CKR_USER_ALREADY_LOGGED_IN is success. */
static CK_RV login(hsm_token_t *t, CK_SESSION_HANDLE anchor)
{
	size_t len = 0;
	const uint8_t *pin = hsm_pin_data(t->pin, &len);
	CK_RV rv = t->fn->C_Login(anchor, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
	return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

/* Attempt results, for the recovering thread. */
typedef struct {
	int status;
	bool pin;       /* status is a PIN error: never again */
	bool reconnect; /* the slot changed: sessions are stale */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE anchor;
	bool anchor_open;
	CK_TOKEN_INFO info;
} attempt_t;

/* One connect attempt: slot, anchor session, login. */
static void try_connect(hsm_token_t *t, CK_SESSION_HANDLE old_anchor, bool old_open,
                        CK_SLOT_ID old_slot, bool had_slot, attempt_t *a, hsm_detail_t *d)
{
	if (old_open) {
		t->fn->C_CloseSession(old_anchor);
	}
	if (had_slot) {
		/* The device went away: every session on it is dead. */
		t->fn->C_CloseAllSessions(old_slot);
	}
	a->reconnect = true;
	a->status = find_slot(t, &a->slot, &a->info, d);
	if (a->status != HSM_OK) {
		return;
	}
	CK_RV rv = t->fn->C_OpenSession(a->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	                                &a->anchor);
	if (rv != CKR_OK) {
		token_ckr(t, d, "C_OpenSession", rv);
		a->status = HSM_ERR_CKR;
		return;
	}
	rv = login(t, a->anchor);
	if (rv != CKR_OK) {
		t->fn->C_CloseSession(a->anchor);
		token_ckr(t, d, "C_Login", rv);
		a->pin = hsm_token_classify(rv) == HSM_RV_PIN;
		a->status = a->pin ? hsm_token_pin_status(rv) : HSM_ERR_CKR;
		return;
	}
	a->anchor_open = true;
	a->status = HSM_OK;
}

/* One re-login attempt on the existing anchor (reopened if it died). */
static void try_relogin(hsm_token_t *t, CK_SESSION_HANDLE anchor, CK_SLOT_ID slot, attempt_t *a,
                        hsm_detail_t *d)
{
	a->slot = slot;
	a->anchor = anchor;
	a->anchor_open = true;
	CK_RV rv = login(t, anchor);
	if (hsm_token_classify(rv) == HSM_RV_SESSION) {
		t->fn->C_CloseSession(anchor);
		a->anchor_open = false;
		rv = t->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                          &a->anchor);
		if (rv == CKR_OK) {
			a->anchor_open = true;
			rv = login(t, a->anchor);
		}
	}
	if (rv == CKR_OK) {
		a->status = HSM_OK;
		return;
	}
	token_ckr(t, d, "C_Login", rv);
	a->pin = hsm_token_classify(rv) == HSM_RV_PIN;
	a->status = a->pin ? hsm_token_pin_status(rv) : HSM_ERR_CKR;
	if (hsm_token_classify(rv) == HSM_RV_DEVICE) {
		a->status = HSM_ERR_NO_TOKEN;
	}
}

static bool retryable(int status, bool first_connect)
{
	if (status == HSM_ERR_NOMEM || status == HSM_ERR_MANY_TOKENS) {
		return false;
	}
	/* A token that is not there at first connect is a configuration error,
	 * reported at once; after a removal it is waited for. */
	if (status == HSM_ERR_NO_TOKEN) {
		return !first_connect;
	}
	return status == HSM_ERR_CKR;
}

/* The recovering thread's work: attempts with backoff until the deadline. */
static int recover_work(hsm_token_t *t, hsm_rv_class_t cls, bool first, uint64_t deadline,
                        hsm_detail_t *d)
{
	pthread_mutex_lock(&t->lock);
	CK_SESSION_HANDLE anchor = t->anchor;
	bool anchor_open = t->anchor_open;
	CK_SLOT_ID slot = t->slot;
	bool had_slot = t->state != HSM_TOKEN_DISCONNECTED;
	pthread_mutex_unlock(&t->lock);

	unsigned backoff = BACKOFF_MIN_MS;
	attempt_t a;
	for (;;) {
		memset(&a, 0, sizeof(a));
		if (cls == HSM_RV_LOGIN && anchor_open) {
			try_relogin(t, anchor, slot, &a, d);
			if (a.status == HSM_ERR_NO_TOKEN) {
				cls = HSM_RV_DEVICE; /* the device went away meanwhile */
			}
		} else {
			try_connect(t, anchor, anchor_open, slot, had_slot, &a, d);
		}
		anchor = a.anchor;
		anchor_open = a.anchor_open;
		if (a.status == HSM_OK || a.pin || !retryable(a.status, first)) {
			break;
		}
		if (hsm_token_now_ms() + backoff > deadline) {
			break;
		}
		atomic_fetch_add_explicit(&t->n_retries, 1, memory_order_relaxed);
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		had_slot = had_slot || a.reconnect;
	}

	pthread_mutex_lock(&t->lock);
	t->anchor = a.anchor;
	t->anchor_open = a.anchor_open;
	if (a.status == HSM_OK) {
		if (a.reconnect) {
			t->slot = a.slot;
			t->info = a.info;
			t->info_valid = true;
			if (had_slot) {
				atomic_fetch_add(&t->n_reconnects, 1);
			}
			atomic_fetch_add(&t->conn_epoch, 1);
		} else {
			atomic_fetch_add(&t->n_relogins, 1);
		}
		atomic_fetch_add(&t->epoch, 1);
		t->state = HSM_TOKEN_UP;
	} else {
		t->state = first ? HSM_TOKEN_DISCONNECTED : HSM_TOKEN_DOWN;
		if (a.pin) {
			t->pin_refused = true;
			t->pin_status = a.status;
		}
		if (!first && a.status != HSM_OK && retryable(a.status, false)) {
			a.status = HSM_ERR_BUDGET;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return a.status;
}

/* Waits for or performs a recovery. fresh() says whether the state the
 * caller saw failing has been fixed by someone since. */
static int recover(hsm_token_t *t, hsm_rv_class_t cls, uint64_t seen_epoch, bool connect_only,
                   uint64_t deadline, hsm_detail_t *d)
{
	pthread_mutex_lock(&t->lock);
	uint64_t gen_at_entry = t->recover_gen;
	for (;;) {
		if (t->pin_refused) {
			int st = t->pin_status;
			if (d != NULL) {
				*d = t->recover_detail;
			}
			pthread_mutex_unlock(&t->lock);
			return st;
		}
		bool up = t->state == HSM_TOKEN_UP;
		if (up && (connect_only || atomic_load(&t->epoch) != seen_epoch)) {
			pthread_mutex_unlock(&t->lock);
			return HSM_OK;
		}
		if (!t->busy) {
			if (t->recover_gen != gen_at_entry && t->recover_status != HSM_OK) {
				/* We waited on an attempt that failed: share its result
				 * rather than start another full budget. */
				int st = t->recover_status;
				if (d != NULL) {
					*d = t->recover_detail;
				}
				pthread_mutex_unlock(&t->lock);
				return st;
			}
			break;
		}
		pthread_cond_wait(&t->cond, &t->lock);
	}
	bool first = t->state == HSM_TOKEN_DISCONNECTED;
	t->busy = true;
	t->state = first ? HSM_TOKEN_DISCONNECTED : HSM_TOKEN_RECOVERING;
	pthread_mutex_unlock(&t->lock);

	hsm_detail_t local = {0};
	int st = recover_work(t, first ? HSM_RV_DEVICE : cls, first, deadline, &local);

	pthread_mutex_lock(&t->lock);
	t->busy = false;
	t->recover_gen++;
	t->recover_status = st;
	t->recover_detail = local;
	if (st != HSM_OK) {
		t->last_status = st;
		t->last_detail = local;
	}
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (d != NULL && st != HSM_OK) {
		*d = local;
	}
	return st;
}

int hsm_token_connect(hsm_token_t *token, hsm_detail_t *detail)
{
	uint64_t deadline = hsm_token_now_ms() + token->budget_ms;
	return recover(token, HSM_RV_DEVICE, 0, true, deadline, detail);
}

int hsm_token_recover(hsm_token_t *token, hsm_rv_class_t cls, uint64_t seen_epoch,
                      uint64_t deadline_ms, hsm_detail_t *detail)
{
	return recover(token, cls, seen_epoch, false, deadline_ms, detail);
}

uint64_t hsm_token_epoch(const hsm_token_t *token)
{
	return atomic_load(&((hsm_token_t *)token)->epoch);
}

uint64_t hsm_token_conn_epoch(const hsm_token_t *token)
{
	return atomic_load(&((hsm_token_t *)token)->conn_epoch);
}

int hsm_token_open_session(hsm_token_t *token, CK_SESSION_HANDLE *out, CK_RV *rv)
{
	pthread_mutex_lock(&token->lock);
	CK_SLOT_ID slot = token->slot;
	pthread_mutex_unlock(&token->lock);
	*rv = token->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, out);
	if (*rv != CKR_OK) {
		return HSM_ERR_CKR;
	}
	atomic_fetch_add(&token->n_sessions, 1);
	return HSM_OK;
}

void hsm_token_close_session(hsm_token_t *token, CK_SESSION_HANDLE handle)
{
	token->fn->C_CloseSession(handle);
	atomic_fetch_sub(&token->n_sessions, 1);
}

void hsm_token_forget_session(hsm_token_t *token)
{
	atomic_fetch_sub(&token->n_sessions, 1);
}

void hsm_token_lease_begin(hsm_token_t *token)
{
	pthread_mutex_lock(&token->lock);
	while (token->max_sessions != 0 && token->leased >= token->max_sessions) {
		pthread_cond_wait(&token->cond, &token->lock);
	}
	token->leased++;
	pthread_mutex_unlock(&token->lock);
}

void hsm_token_lease_end(hsm_token_t *token)
{
	pthread_mutex_lock(&token->lock);
	token->leased--;
	pthread_cond_broadcast(&token->cond);
	pthread_mutex_unlock(&token->lock);
}

const char *hsm_token_name(const hsm_token_t *token)
{
	return token->name;
}

const char *hsm_token_uri(const hsm_token_t *token)
{
	return token->uri_text;
}

CK_FUNCTION_LIST_PTR hsm_token_functions(const hsm_token_t *token)
{
	return token->fn;
}

bool hsm_token_combined(const hsm_token_t *token)
{
	return token->combined;
}

unsigned hsm_token_budget_ms(const hsm_token_t *token)
{
	return token->budget_ms;
}

int hsm_token_info(hsm_token_t *token, CK_TOKEN_INFO *out)
{
	pthread_mutex_lock(&token->lock);
	int ret = token->info_valid ? HSM_OK : HSM_ERR_INVAL;
	if (token->info_valid) {
		*out = token->info;
	}
	pthread_mutex_unlock(&token->lock);
	return ret;
}

bool hsm_token_has_mechanism(hsm_token_t *token, CK_MECHANISM_TYPE mech, CK_FLAGS flags)
{
	pthread_mutex_lock(&token->lock);
	CK_SLOT_ID slot = token->slot;
	pthread_mutex_unlock(&token->lock);
	CK_MECHANISM_INFO mi;
	if (token->fn->C_GetMechanismInfo(slot, mech, &mi) != CKR_OK) {
		return false;
	}
	return (mi.flags & flags) == flags;
}

void hsm_token_count_retry(hsm_token_t *token)
{
	atomic_fetch_add_explicit(&token->n_retries, 1, memory_order_relaxed);
}

void hsm_token_count_reopen(hsm_token_t *token)
{
	atomic_fetch_add_explicit(&token->n_reopens, 1, memory_order_relaxed);
}

void hsm_token_count_failure(hsm_token_t *token, int status, const hsm_detail_t *detail)
{
	atomic_fetch_add_explicit(&token->n_failures, 1, memory_order_relaxed);
	pthread_mutex_lock(&token->lock);
	token->last_status = status;
	if (detail != NULL) {
		token->last_detail = *detail;
	}
	pthread_mutex_unlock(&token->lock);
}

void hsm_token_stats(hsm_token_t *token, hsm_token_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&token->lock);
	out->state = token->state;
	out->last_status = token->last_status;
	out->last_detail = token->last_detail;
	pthread_mutex_unlock(&token->lock);
	out->retries = atomic_load(&token->n_retries);
	out->reopens = atomic_load(&token->n_reopens);
	out->relogins = atomic_load(&token->n_relogins);
	out->reconnects = atomic_load(&token->n_reconnects);
	out->failures = atomic_load(&token->n_failures);
	out->sessions = atomic_load(&token->n_sessions);
}
