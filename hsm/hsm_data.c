#include "hsm/hsm_data.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "hsm/hsm_session.h"

/* CKA_OBJECT_ID of our objects: OID 2.25.U.GEN.NONCE, where 2.25.U (X.667,
 * U the UUID 115ed2da-e23a-4d30-a7e7-597a29bbd5b6) names the type "signer
 * record", GEN is the object's generation (1 + the greatest generation listed
 * when it was made) and NONCE a 63-bit random number. Content bytes of 2.25.U: */
static const uint8_t oid_type[] = {0x69, 0xa2, 0xde, 0xe9, 0xb6, 0xdc, 0xa3, 0xd2, 0xb4, 0xe1,
                                   0xa7, 0xf3, 0xd6, 0xaf, 0xa2, 0xcd, 0xef, 0xab, 0x36};
#define OID_MAX (2 + sizeof(oid_type) + 10 + 9)

static const CK_BBOOL yes = CK_TRUE;
static const CK_OBJECT_CLASS data_class = CKO_DATA;

/* One object of a record, with what the record order compares. */
typedef struct {
	CK_OBJECT_HANDLE handle;
	uint8_t *value;
	size_t len;
	uint64_t gen;   /* 0 for an object without our CKA_OBJECT_ID */
	uint64_t nonce; /* 0 likewise */
	bool ours;      /* has our CKA_OBJECT_ID format */
} obj_t;

/* The objects of one label, as last listed. */
typedef struct {
	obj_t *objs;
	size_t n;
} objset_t;

static void set_clear(objset_t *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->objs[i].value);
	}
	free(set->objs);
	set->objs = NULL;
	set->n = 0;
}

static bool label_ok(const char *label, hsm_detail_t *d)
{
	if (label == NULL || label[0] == '\0' || strlen(label) >= HSM_DATA_LABEL_MAX) {
		hsm_detail_text(d, "a data object label of 1 to %d bytes is required",
		                HSM_DATA_LABEL_MAX - 1);
		return false;
	}
	return true;
}

static bool value_ok(const uint8_t *value, size_t len, const char *what, hsm_detail_t *d, int *ret)
{
	if (len > HSM_DATA_VALUE_MAX) {
		hsm_detail_text(d, "%s of %zu bytes; a data object holds at most %d", what, len,
		                HSM_DATA_VALUE_MAX);
		*ret = HSM_ERR_DATA_TOO_BIG;
		return false;
	}
	if (value == NULL && len > 0) {
		hsm_detail_text(d, "%s is NULL", what);
		*ret = HSM_ERR_INVAL;
		return false;
	}
	return true;
}

/* Appends v as one OID arc (base 128, most significant group first). */
static size_t put_arc(uint8_t *out, uint64_t v)
{
	uint8_t groups[10];
	size_t n = 0;
	do {
		groups[n++] = (uint8_t)(v & 0x7f);
		v >>= 7;
	} while (v != 0);
	for (size_t i = 0; i < n; i++) {
		out[i] = (uint8_t)(groups[n - 1 - i] | (i + 1 < n ? 0x80 : 0x00));
	}
	return n;
}

/* Reads one minimal OID arc of at most 64 bits at *p (< end). */
static bool get_arc(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	if (*p < end && **p == 0x80) {
		return false; /* not minimal */
	}
	while (*p < end) {
		uint8_t b = *(*p)++;
		if (x > (UINT64_MAX >> 7)) {
			return false;
		}
		x = (x << 7) | (b & 0x7f);
		if ((b & 0x80) == 0) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* The DER of 2.25.U.gen.nonce into oid (OID_MAX bytes); returns its length. */
static size_t make_oid(uint8_t *oid, uint64_t gen, uint64_t nonce)
{
	size_t n = 2;
	memcpy(oid + n, oid_type, sizeof(oid_type));
	n += sizeof(oid_type);
	n += put_arc(oid + n, gen);
	n += put_arc(oid + n, nonce);
	oid[0] = 0x06;
	oid[1] = (uint8_t)(n - 2);
	return n;
}

/* Parses our CKA_OBJECT_ID into o->gen and o->nonce (o->ours), or leaves
 * them 0 for anything else. */
static void parse_oid(obj_t *o, const uint8_t *oid, size_t len)
{
	const uint8_t *p = oid + 2, *end = oid + len;
	uint64_t gen = 0, nonce = 0;
	if (len < 2 + sizeof(oid_type) || oid[0] != 0x06 || oid[1] != len - 2 ||
	    memcmp(p, oid_type, sizeof(oid_type)) != 0) {
		return;
	}
	p += sizeof(oid_type);
	if (get_arc(&p, end, &gen) && get_arc(&p, end, &nonce) && p == end) {
		o->gen = gen;
		o->nonce = nonce;
		o->ours = true;
	}
}

/* Reads a variable-length attribute into a malloc'ed buffer (an absent
 * attribute is an empty one). */
static CK_RV get_attr(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                      CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
		a.ulValueLen = 0;
		rv = CKR_OK;
	}
	if (rv != CKR_OK) {
		return rv;
	}
	a.pValue = malloc(a.ulValueLen + 1);
	if (a.pValue == NULL) {
		return CKR_HOST_MEMORY;
	}
	if (a.ulValueLen > 0) {
		rv = fn->C_GetAttributeValue(h, obj, &a, 1);
		if (rv != CKR_OK) {
			free(a.pValue);
			return rv;
		}
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

/* Lists the record's objects with their values into set (cleared first). An
 * object that vanishes while read (another node removed it) is skipped. An
 * empty answer is trusted only while logged in (CKR_USER_NOT_LOGGED_IN). */
static CK_RV list_record(hsm_session_t *s, CK_SESSION_HANDLE h, const char *label, objset_t *set,
                         const char **func)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	set_clear(set);
	CK_ATTRIBUTE tmpl[] = {
	        {CKA_CLASS, (void *)&data_class, sizeof(data_class)},
	        {CKA_TOKEN, (void *)&yes, sizeof(yes)},
	        {CKA_APPLICATION, (void *)HSM_DATA_APPLICATION, strlen(HSM_DATA_APPLICATION)},
	        {CKA_LABEL, (void *)label, strlen(label)},
	};
	uint64_t epoch = hsm_token_epoch(hsm_session_token(s));
	*func = "C_FindObjectsInit";
	CK_RV rv = fn->C_FindObjectsInit(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]));
	if (rv != CKR_OK) {
		return rv;
	}
	CK_OBJECT_HANDLE *handles = NULL;
	size_t total = 0, cap = 0;
	*func = "C_FindObjects";
	for (;;) {
		if (total == cap) {
			cap = cap ? cap * 2 : 4;
			CK_OBJECT_HANDLE *tmp = realloc(handles, cap * sizeof(*handles));
			if (tmp == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			handles = tmp;
		}
		CK_ULONG got = 0;
		rv = fn->C_FindObjects(h, handles + total, (CK_ULONG)(cap - total), &got);
		if (rv != CKR_OK || got == 0) {
			break;
		}
		total += got;
	}
	fn->C_FindObjectsFinal(h);
	if (rv == CKR_OK && total > 0) {
		set->objs = calloc(total, sizeof(*set->objs));
		rv = set->objs == NULL ? CKR_HOST_MEMORY : CKR_OK;
	}
	*func = "C_GetAttributeValue";
	for (size_t i = 0; rv == CKR_OK && i < total; i++) {
		obj_t *o = &set->objs[set->n];
		uint8_t *oid = NULL;
		size_t oid_len = 0;
		o->handle = handles[i];
		rv = get_attr(fn, h, o->handle, CKA_OBJECT_ID, &oid, &oid_len);
		if (rv == CKR_OK) {
			parse_oid(o, oid, oid_len);
			free(oid);
			rv = get_attr(fn, h, o->handle, CKA_VALUE, &o->value, &o->len);
		}
		if (rv == CKR_OK) {
			set->n++;
		} else if (rv == CKR_OBJECT_HANDLE_INVALID) {
			memset(o, 0, sizeof(*o));
			rv = CKR_OK;
		}
	}
	free(handles);
	if (rv == CKR_OK && set->n == 0) {
		*func = "C_GetSessionInfo";
		rv = hsm_session_trust_empty(s, h, epoch);
	}
	if (rv != CKR_OK) {
		set_clear(set);
	}
	return rv;
}

/* The record order: generation, value length, value bytes, nonce
 * (-1/0/1). */
static int obj_cmp(const obj_t *a, const obj_t *b)
{
	if (a->gen != b->gen) {
		return a->gen < b->gen ? -1 : 1;
	}
	if (a->len != b->len) {
		return a->len < b->len ? -1 : 1;
	}
	int c = a->len > 0 ? memcmp(a->value, b->value, a->len) : 0;
	if (c != 0) {
		return c < 0 ? -1 : 1;
	}
	if (a->nonce != b->nonce) {
		return a->nonce < b->nonce ? -1 : 1;
	}
	return 0;
}

/* The greatest object of set, NULL if empty. */
static const obj_t *greatest(const objset_t *set)
{
	const obj_t *best = NULL;
	for (size_t i = 0; i < set->n; i++) {
		if (best == NULL || obj_cmp(&set->objs[i], best) > 0) {
			best = &set->objs[i];
		}
	}
	return best;
}

/* The object of set with our nonce, NULL if none. */
static const obj_t *find_nonce(const objset_t *set, uint64_t nonce)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->objs[i].ours && set->objs[i].nonce == nonce) {
			return &set->objs[i];
		}
	}
	return NULL;
}

/* Whether no object of the record has this handle any more. */
static bool object_gone(hsm_session_t *s, CK_SESSION_HANDLE h, const char *label,
                        CK_OBJECT_HANDLE handle)
{
	objset_t now = {0};
	const char *func;
	bool gone = list_record(s, h, label, &now, &func) == CKR_OK;
	for (size_t i = 0; gone && i < now.n; i++) {
		gone = now.objs[i].handle != handle;
	}
	set_clear(&now);
	return gone;
}

/* Destroys an object of the record; one another node destroyed first counts
 * as destroyed. SoftHSM tells the second of two processes destroying the same
 * object CKR_FUNCTION_FAILED, not CKR_OBJECT_HANDLE_INVALID, hence the
 * second look. */
static CK_RV destroy(hsm_session_t *s, CK_SESSION_HANDLE h, const char *label,
                     CK_OBJECT_HANDLE handle, const char **func)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	*func = "C_DestroyObject";
	CK_RV rv = fn->C_DestroyObject(h, handle);
	if (rv == CKR_OBJECT_HANDLE_INVALID || (rv != CKR_OK && object_gone(s, h, label, handle))) {
		rv = CKR_OK;
	}
	return rv;
}

/* Destroys every object below the greatest; the set keeps the survivors
 * (the greatest, and exact copies of it, which only a writer without our
 * CKA_OBJECT_ID makes: destroying one of two copies, raced by another node
 * destroying the other, could leave none). Thus a record's older objects, and
 * the losers of a simultaneous creation, go. */
static CK_RV resolve(hsm_session_t *s, CK_SESSION_HANDLE h, const char *label, objset_t *set,
                     const char **func)
{
	if (set->n < 2) {
		return CKR_OK;
	}
	const obj_t *g = greatest(set);
	obj_t best = *g;
	size_t kept = 0;
	CK_RV rv = CKR_OK;
	for (size_t i = 0; i < set->n; i++) {
		obj_t *o = &set->objs[i];
		if (rv == CKR_OK && obj_cmp(o, &best) < 0) {
			rv = destroy(s, h, label, o->handle, func);
			if (rv == CKR_OK) {
				free(o->value);
				continue;
			}
		}
		set->objs[kept++] = *o;
	}
	set->n = kept;
	return rv;
}

static bool same(const obj_t *o, const uint8_t *value, size_t len)
{
	return o != NULL && o->len == len && (len == 0 || memcmp(o->value, value, len) == 0);
}

/* --- read --- */

typedef struct {
	const char *label;
	objset_t set;
} read_arg_t;

static CK_RV read_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                     const char **func)
{
	(void)attempt;
	read_arg_t *r = arg;
	return list_record(s, h, r->label, &r->set, func);
}

int hsm_data_read(hsm_token_t *token, const char *label, uint8_t *out, size_t cap, size_t *len,
                  bool *found, hsm_detail_t *d)
{
	if (!label_ok(label, d)) {
		return HSM_ERR_INVAL;
	}
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(token, &s, d);
	if (ret != HSM_OK) {
		return ret;
	}
	read_arg_t r = {.label = label};
	ret = hsm_session_run(s, read_op, &r, d);
	hsm_session_release(s);
	/* Readers take what a writer would keep; they remove nothing. */
	const obj_t *o = ret == HSM_OK ? greatest(&r.set) : NULL;
	if (o != NULL && o->len > cap) {
		hsm_detail_text(d, "data object %s holds %zu bytes; the buffer has %zu", label,
		                o->len, cap);
		ret = HSM_ERR_BUFFER;
	} else if (o != NULL) {
		if (o->len > 0) {
			memcpy(out, o->value, o->len);
		}
		*len = o->len;
		*found = true;
	} else if (ret == HSM_OK) {
		*found = false;
	}
	set_clear(&r.set);
	return ret;
}

/* --- write and compare-and-set --- */

typedef struct {
	const char *label;
	const uint8_t *value;
	size_t len;
	uint64_t nonce; /* of the object we create, the same on retries */
	/* compare-and-set only */
	const uint8_t *expect;
	size_t expect_len;
	bool expect_absent;
	bool swapped; /* the result */
	objset_t set;
} write_arg_t;

/* Creates our object one generation above the listed ones. */
static CK_RV create_object(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, const write_arg_t *w,
                           const char **func)
{
	const obj_t *g = greatest(&w->set);
	uint8_t oid[OID_MAX];
	size_t oid_len = make_oid(oid, g != NULL ? g->gen + 1 : 1, w->nonce);
	CK_ATTRIBUTE tmpl[] = {
	        {CKA_CLASS, (void *)&data_class, sizeof(data_class)},
	        {CKA_TOKEN, (void *)&yes, sizeof(yes)},
	        {CKA_PRIVATE, (void *)&yes, sizeof(yes)},
	        {CKA_MODIFIABLE, (void *)&yes, sizeof(yes)},
	        {CKA_APPLICATION, (void *)HSM_DATA_APPLICATION, strlen(HSM_DATA_APPLICATION)},
	        {CKA_LABEL, (void *)w->label, strlen(w->label)},
	        {CKA_OBJECT_ID, oid, oid_len},
	        {CKA_VALUE, (void *)w->value, w->len},
	};
	CK_OBJECT_HANDLE obj;
	*func = "C_CreateObject";
	return fn->C_CreateObject(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &obj);
}

/* Lists the record; unless an earlier attempt's object is there (its reply
 * was lost), creates ours above it; lists again and removes what is below
 * the greatest. Leaves the survivors in w->set. */
static CK_RV write_record(hsm_session_t *s, CK_SESSION_HANDLE h, write_arg_t *w, bool listed,
                          const char **func)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	CK_RV rv = listed ? CKR_OK : list_record(s, h, w->label, &w->set, func);
	if (rv == CKR_OK && find_nonce(&w->set, w->nonce) == NULL) {
		rv = create_object(fn, h, w, func);
	}
	if (rv == CKR_OK) {
		rv = list_record(s, h, w->label, &w->set, func);
	}
	if (rv == CKR_OK) {
		rv = resolve(s, h, w->label, &w->set, func);
	}
	return rv;
}

static CK_RV write_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                      const char **func)
{
	(void)attempt;
	return write_record(s, h, arg, false, func);
}

static CK_RV cas_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                    const char **func)
{
	(void)attempt;
	write_arg_t *w = arg;
	w->swapped = false;
	CK_RV rv = list_record(s, h, w->label, &w->set, func);
	if (rv != CKR_OK) {
		return rv;
	}
	/* Our object from an attempt whose reply was lost: compared already. */
	if (find_nonce(&w->set, w->nonce) == NULL) {
		const obj_t *cur = greatest(&w->set);
		bool match = w->expect_absent ? cur == NULL : same(cur, w->expect, w->expect_len);
		if (!match) {
			return CKR_OK;
		}
	}
	/* Write, read back: ours must be the greatest (a writer that read the
	 * same value and created at the same generation may have won). */
	rv = write_record(s, h, w, true, func);
	if (rv == CKR_OK) {
		const obj_t *g = greatest(&w->set);
		w->swapped = g != NULL && g->ours && g->nonce == w->nonce;
	}
	return rv;
}

static int run_write(hsm_token_t *token, write_arg_t *w, hsm_session_op_t op, hsm_detail_t *d)
{
	if (RAND_bytes((unsigned char *)&w->nonce, sizeof(w->nonce)) != 1) {
		return HSM_ERR_CRYPTO;
	}
	w->nonce &= UINT64_MAX >> 1;
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(token, &s, d);
	if (ret != HSM_OK) {
		return ret;
	}
	ret = hsm_session_run(s, op, w, d);
	hsm_session_release(s);
	set_clear(&w->set);
	return ret;
}

int hsm_data_write(hsm_token_t *token, const char *label, const uint8_t *value, size_t len,
                   hsm_detail_t *d)
{
	int ret = HSM_ERR_INVAL;
	if (!label_ok(label, d) || !value_ok(value, len, "value", d, &ret)) {
		return ret;
	}
	write_arg_t w = {.label = label, .value = value, .len = len};
	return run_write(token, &w, write_op, d);
}

int hsm_data_cas(hsm_token_t *token, const char *label, const uint8_t *expect, size_t expect_len,
                 bool expect_absent, const uint8_t *value, size_t len, bool *swapped,
                 hsm_detail_t *d)
{
	int ret = HSM_ERR_INVAL;
	if (!label_ok(label, d) || !value_ok(value, len, "value", d, &ret) ||
	    (!expect_absent && !value_ok(expect, expect_len, "expected value", d, &ret))) {
		return ret;
	}
	write_arg_t w = {
	        .label = label,
	        .value = value,
	        .len = len,
	        .expect = expect,
	        .expect_len = expect_len,
	        .expect_absent = expect_absent,
	};
	ret = run_write(token, &w, cas_op, d);
	if (ret == HSM_OK) {
		*swapped = w.swapped;
	}
	return ret;
}

/* --- delete --- */

static CK_RV delete_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                       const char **func)
{
	(void)attempt;
	read_arg_t *r = arg;
	CK_RV rv = list_record(s, h, r->label, &r->set, func);
	for (size_t i = 0; rv == CKR_OK && i < r->set.n; i++) {
		rv = destroy(s, h, r->label, r->set.objs[i].handle, func);
	}
	return rv;
}

int hsm_data_delete(hsm_token_t *token, const char *label, hsm_detail_t *d)
{
	if (!label_ok(label, d)) {
		return HSM_ERR_INVAL;
	}
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(token, &s, d);
	if (ret != HSM_OK) {
		return ret;
	}
	read_arg_t r = {.label = label};
	ret = hsm_session_run(s, delete_op, &r, d);
	hsm_session_release(s);
	set_clear(&r.set);
	return ret;
}
