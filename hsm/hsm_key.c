#include "hsm/hsm_key.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <p11-kit/uri.h>

#include "hsm/hsm_dnskey.h"

static const CK_BBOOL yes = CK_TRUE;
static const CK_BBOOL no = CK_FALSE;

void hsm_key_id_hex(const hsm_key_t *key, char *out, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < key->id_len && n + 3 <= len; i++) {
		n += (size_t)snprintf(out + n, len - n, "%02x", key->id[i]);
	}
	if (len > 0) {
		out[n < len ? n : len - 1] = '\0';
	}
}

/* Reads a variable-length attribute into a malloc'ed buffer. */
static CK_RV get_attr(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                      CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK) {
		return rv;
	}
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
	a.pValue = malloc(a.ulValueLen + 1);
	if (a.pValue == NULL) {
		return CKR_HOST_MEMORY;
	}
	rv = fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

/* The algorithm table entry whose curve has these DER parameters. */
static const hsm_alg_t *alg_by_params(const uint8_t *params, size_t len)
{
	size_t n = 0;
	const hsm_alg_t *all = hsm_alg_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (all[i].ec_params != NULL && all[i].ec_params_len == len &&
		    memcmp(all[i].ec_params, params, len) == 0) {
			return &all[i];
		}
	}
	/* SoftHSM also accepts the printable curve name for Ed25519/Ed448. */
	if (len >= 2 && params[0] == 0x13 && params[1] == len - 2) {
		if (len - 2 == 12 && memcmp(params + 2, "edwards25519", 12) == 0) {
			return hsm_alg_by_number(HSM_ALG_ED25519);
		}
		if (len - 2 == 10 && memcmp(params + 2, "edwards448", 10) == 0) {
			return hsm_alg_by_number(HSM_ALG_ED448);
		}
	}
	return NULL;
}

/* Finds all objects of class cls matching an optional id and label. */
static CK_RV find_objects(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                          const uint8_t *id, size_t id_len, const char *label,
                          CK_OBJECT_HANDLE **out, size_t *count)
{
	CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_ULONG n = 1;
	if (id != NULL) {
		tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
	}
	if (label != NULL) {
		tmpl[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
	}
	CK_RV rv = fn->C_FindObjectsInit(h, tmpl, n);
	if (rv != CKR_OK) {
		return rv;
	}
	CK_OBJECT_HANDLE *objs = NULL;
	size_t total = 0, cap = 0;
	for (;;) {
		if (total == cap) {
			cap = cap ? cap * 2 : 16;
			CK_OBJECT_HANDLE *tmp = realloc(objs, cap * sizeof(*objs));
			if (tmp == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			objs = tmp;
		}
		CK_ULONG got = 0;
		rv = fn->C_FindObjects(h, objs + total, (CK_ULONG)(cap - total), &got);
		if (rv != CKR_OK || got == 0) {
			break;
		}
		total += got;
	}
	fn->C_FindObjectsFinal(h);
	if (rv != CKR_OK) {
		free(objs);
		return rv;
	}
	*out = objs;
	*count = total;
	return CKR_OK;
}

CK_RV hsm_key_describe(hsm_session_t *session, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                       hsm_key_t *key)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(session));
	CK_KEY_TYPE kt = 0;
	CK_BBOOL local = CK_FALSE;
	CK_ATTRIBUTE fixed[] = {
	        {CKA_KEY_TYPE, &kt, sizeof(kt)},
	        {CKA_LOCAL, &local, sizeof(local)},
	};
	CK_RV rv = fn->C_GetAttributeValue(h, obj, fixed, 2);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID) {
		return rv;
	}
	memset(key, 0, sizeof(*key));
	key->token = hsm_session_token(session);
	key->local = local == CK_TRUE;
	uint8_t *val = NULL;
	size_t len = 0;
	if (get_attr(fn, h, obj, CKA_ID, &val, &len) == CKR_OK) {
		key->id_len = len < HSM_KEY_ID_MAX ? len : HSM_KEY_ID_MAX;
		memcpy(key->id, val, key->id_len);
		free(val);
	}
	if (get_attr(fn, h, obj, CKA_LABEL, &val, &len) == CKR_OK) {
		len = len < HSM_KEY_LABEL_MAX - 1 ? len : HSM_KEY_LABEL_MAX - 1;
		memcpy(key->label, val, len);
		key->label[len] = '\0';
		free(val);
	}
	if (kt == CKK_RSA) {
		key->keytype = HSM_KEYTYPE_RSA;
		if (get_attr(fn, h, obj, CKA_MODULUS, &val, &len) == CKR_OK) {
			size_t skip = 0;
			while (skip < len && val[skip] == 0) {
				skip++;
			}
			key->bits = (unsigned)(len - skip) * 8;
			free(val);
		}
		key->alg = hsm_alg_by_number(HSM_ALG_RSASHA256);
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
		key->keytype = kt == CKK_EC ? HSM_KEYTYPE_EC : HSM_KEYTYPE_EDDSA;
		if (get_attr(fn, h, obj, CKA_EC_PARAMS, &val, &len) == CKR_OK) {
			key->alg = alg_by_params(val, len);
			free(val);
		}
		key->bits = key->alg != NULL ? key->alg->default_bits : 0;
	} else {
		key->keytype = HSM_KEYTYPE_RSA;
		key->alg = NULL; /* not a DNSSEC key type */
	}
	CK_OBJECT_HANDLE *pubs = NULL;
	size_t npub = 0;
	if (find_objects(fn, h, CKO_PUBLIC_KEY, key->id, key->id_len, NULL, &pubs, &npub) ==
	    CKR_OK) {
		key->has_public = npub > 0;
		free(pubs);
	}
	return CKR_OK;
}

/* --- generation --- */

typedef struct {
	const hsm_alg_t *alg;
	unsigned bits;
	const char *label;
	uint8_t id[HSM_KEY_ID_LEN];
	CK_OBJECT_HANDLE priv;
} gen_arg_t;

/* Looks for the pair a lost reply may have created; removes a half pair. */
static CK_RV gen_lookup(hsm_session_t *s, CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h,
                        gen_arg_t *g, bool *done)
{
	CK_OBJECT_HANDLE *priv = NULL, *pub = NULL;
	size_t npriv = 0, npub = 0;
	/* Logged in before and after both searches, with no login redone in
	 * between: otherwise a private key may have been invisible, and a half
	 * pair must not be removed on that evidence. */
	uint64_t epoch = hsm_token_epoch(hsm_session_token(s));
	CK_RV rv = hsm_session_trust_empty(s, h, epoch);
	if (rv == CKR_OK) {
		rv = find_objects(fn, h, CKO_PRIVATE_KEY, g->id, sizeof(g->id), NULL, &priv,
		                  &npriv);
	}
	if (rv == CKR_OK) {
		rv = find_objects(fn, h, CKO_PUBLIC_KEY, g->id, sizeof(g->id), NULL, &pub, &npub);
	}
	if (rv == CKR_OK) {
		rv = hsm_session_trust_empty(s, h, epoch);
	}
	if (rv == CKR_OK && npriv == 1 && npub == 1) {
		g->priv = priv[0];
		*done = true;
	} else if (rv == CKR_OK) {
		for (size_t i = 0; i < npriv; i++) {
			fn->C_DestroyObject(h, priv[i]);
		}
		for (size_t i = 0; i < npub; i++) {
			fn->C_DestroyObject(h, pub[i]);
		}
	}
	free(priv);
	free(pub);
	return rv;
}

static CK_RV gen_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                    const char **func)
{
	gen_arg_t *g = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	if (attempt > 0) {
		bool done = false;
		*func = "C_FindObjects";
		CK_RV rv = gen_lookup(s, fn, h, g, &done);
		if (rv != CKR_OK || done) {
			return rv;
		}
	}
	CK_ULONG bits = g->bits;
	CK_BYTE e[] = {0x01, 0x00, 0x01};
	CK_ULONG label_len = strlen(g->label);
	CK_ATTRIBUTE pub[8] = {
	        {CKA_TOKEN, (void *)&yes, sizeof(yes)},  {CKA_PRIVATE, (void *)&no, sizeof(no)},
	        {CKA_VERIFY, (void *)&yes, sizeof(yes)}, {CKA_ENCRYPT, (void *)&no, sizeof(no)},
	        {CKA_ID, g->id, sizeof(g->id)},          {CKA_LABEL, (void *)g->label, label_len},
	};
	CK_ULONG npub = 6;
	if (g->alg->keytype == HSM_KEYTYPE_RSA) {
		pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e, sizeof(e)};
	} else {
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)g->alg->ec_params,
		                             g->alg->ec_params_len};
	}
	CK_ATTRIBUTE priv[] = {
	        {CKA_TOKEN, (void *)&yes, sizeof(yes)},
	        {CKA_PRIVATE, (void *)&yes, sizeof(yes)},
	        {CKA_SENSITIVE, (void *)&yes, sizeof(yes)},
	        {CKA_EXTRACTABLE, (void *)&no, sizeof(no)},
	        {CKA_SIGN, (void *)&yes, sizeof(yes)},
	        {CKA_DECRYPT, (void *)&no, sizeof(no)},
	        {CKA_UNWRAP, (void *)&no, sizeof(no)},
	        {CKA_DERIVE, (void *)&no, sizeof(no)},
	        {CKA_ID, g->id, sizeof(g->id)},
	        {CKA_LABEL, (void *)g->label, label_len},
	};
	CK_MECHANISM mech = {g->alg->gen_mech, NULL, 0};
	CK_OBJECT_HANDLE hpub, hpriv;
	*func = "C_GenerateKeyPair";
	CK_RV rv = fn->C_GenerateKeyPair(h, &mech, pub, npub, priv, sizeof(priv) / sizeof(priv[0]),
	                                 &hpub, &hpriv);
	if (rv == CKR_OK) {
		g->priv = hpriv;
	}
	return rv;
}

static const char *mech_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		return "CKM_RSA_PKCS_KEY_PAIR_GEN";
	case CKM_RSA_PKCS:
		return "CKM_RSA_PKCS";
	case CKM_SHA256_RSA_PKCS:
		return "CKM_SHA256_RSA_PKCS";
	case CKM_SHA512_RSA_PKCS:
		return "CKM_SHA512_RSA_PKCS";
	case CKM_EC_KEY_PAIR_GEN:
		return "CKM_EC_KEY_PAIR_GEN";
	case CKM_ECDSA:
		return "CKM_ECDSA";
	case CKM_ECDSA_SHA256:
		return "CKM_ECDSA_SHA256";
	case CKM_ECDSA_SHA384:
		return "CKM_ECDSA_SHA384";
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		return "CKM_EC_EDWARDS_KEY_PAIR_GEN";
	case CKM_EDDSA:
		return "CKM_EDDSA";
	default:
		return "mechanism";
	}
}

int hsm_key_generate(hsm_token_t *token, const hsm_alg_t *alg, unsigned bits, const char *label,
                     hsm_key_t *out, hsm_detail_t *detail)
{
	if (alg == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	if (label == NULL || strlen(label) >= HSM_KEY_LABEL_MAX) {
		hsm_detail_text(detail, "a label of at most %d bytes is required",
		                HSM_KEY_LABEL_MAX - 1);
		return HSM_ERR_INVAL;
	}
	if (alg->keytype == HSM_KEYTYPE_RSA) {
		bits = bits ? bits : alg->default_bits;
		if (!hsm_alg_rsa_bits_ok(bits)) {
			hsm_detail_text(detail,
			                "RSA keys are generated with 2048, 3072 or 4096 "
			                "bits, not %u",
			                bits);
			return HSM_ERR_KEY_TYPE;
		}
	} else {
		bits = alg->default_bits;
	}
	int ret = hsm_token_connect(token, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	CK_MECHANISM_TYPE sign = hsm_token_combined(token) ? alg->combined_mech : alg->sign_mech;
	if (!hsm_token_has_mechanism(token, alg->gen_mech, CKF_GENERATE_KEY_PAIR) ||
	    !hsm_token_has_mechanism(token, sign, CKF_SIGN)) {
		CK_MECHANISM_TYPE missing =
		        hsm_token_has_mechanism(token, alg->gen_mech, CKF_GENERATE_KEY_PAIR)
		                ? sign
		                : alg->gen_mech;
		hsm_detail_text(detail, "token %s lacks %s, needed for %s", hsm_token_name(token),
		                mech_name(missing), alg->name);
		return HSM_ERR_MECHANISM;
	}
	gen_arg_t g = {.alg = alg, .bits = bits, .label = label};
	if (RAND_bytes(g.id, sizeof(g.id)) != 1) {
		return HSM_ERR_CRYPTO;
	}
	hsm_session_t *s = NULL;
	ret = hsm_session_acquire(token, &s, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	ret = hsm_session_run(s, gen_op, &g, detail);
	if (ret == HSM_OK) {
		hsm_key_t key;
		memset(&key, 0, sizeof(key));
		key.token = token;
		key.keytype = alg->keytype;
		key.bits = bits;
		key.alg = alg;
		key.local = true;
		key.has_public = true;
		memcpy(key.id, g.id, sizeof(g.id));
		key.id_len = sizeof(g.id);
		snprintf(key.label, sizeof(key.label), "%s", label);
		*out = key;
	}
	hsm_session_release(s);
	return ret;
}

/* --- listing and lookup --- */

typedef struct {
	const uint8_t *id; /* NULL: any */
	size_t id_len;
	const char *label; /* NULL: any */
	hsm_key_t *keys;
	size_t count;
} list_arg_t;

static CK_RV list_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                     const char **func)
{
	(void)attempt;
	list_arg_t *l = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	free(l->keys);
	l->keys = NULL;
	l->count = 0;
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	*func = "C_FindObjects";
	uint64_t epoch = hsm_token_epoch(hsm_session_token(s));
	CK_RV rv = find_objects(fn, h, CKO_PRIVATE_KEY, l->id, l->id_len, l->label, &objs, &n);
	if (rv != CKR_OK) {
		return rv;
	}
	if (n == 0) {
		/* Private keys are invisible without a login: say so. */
		*func = "C_GetSessionInfo";
		free(objs);
		return hsm_session_trust_empty(s, h, epoch);
	}
	l->keys = calloc(n, sizeof(*l->keys));
	if (l->keys == NULL) {
		free(objs);
		return CKR_HOST_MEMORY;
	}
	*func = "C_GetAttributeValue";
	for (size_t i = 0; i < n; i++) {
		rv = hsm_key_describe(s, h, objs[i], &l->keys[l->count]);
		if (rv == CKR_OK) {
			l->count++;
		} else if (rv != CKR_OBJECT_HANDLE_INVALID) {
			break; /* a vanished object is skipped; anything else retries */
		}
		rv = CKR_OK;
	}
	free(objs);
	return rv;
}

static int list_keys(hsm_token_t *token, list_arg_t *l, hsm_detail_t *detail)
{
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(token, &s, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	ret = hsm_session_run(s, list_op, l, detail);
	hsm_session_release(s);
	if (ret != HSM_OK) {
		free(l->keys);
		l->keys = NULL;
		l->count = 0;
	}
	return ret;
}

int hsm_key_list(hsm_token_t *token, hsm_key_t **keys, size_t *count, hsm_detail_t *detail)
{
	list_arg_t l = {0};
	int ret = list_keys(token, &l, detail);
	if (ret == HSM_OK) {
		*keys = l.keys;
		*count = l.count;
	}
	return ret;
}

static bool parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 > cap) {
		return false;
	}
	for (size_t i = 0; i < n; i += 2) {
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1])) {
			return false;
		}
		char b[3] = {s[i], s[i + 1], '\0'};
		out[i / 2] = (uint8_t)strtoul(b, NULL, 16);
	}
	*len = n / 2;
	return true;
}

static int append(hsm_key_t **all, size_t *count, const hsm_key_t *more, size_t n)
{
	if (n == 0) {
		return HSM_OK;
	}
	hsm_key_t *tmp = realloc(*all, (*count + n) * sizeof(**all));
	if (tmp == NULL) {
		return HSM_ERR_NOMEM;
	}
	memcpy(tmp + *count, more, n * sizeof(*more));
	*all = tmp;
	*count += n;
	return HSM_OK;
}

int hsm_key_find_all(hsm_ctx_t *ctx, const char *spec, hsm_key_t **keys, size_t *count,
                     hsm_detail_t *detail)
{
	uint8_t id[HSM_KEY_ID_MAX];
	size_t id_len = 0;
	char *label = NULL;
	P11KitUri *uri = NULL;
	bool is_hex = false;
	int ret = HSM_OK;
	if (strncmp(spec, "pkcs11:", 7) == 0) {
		uri = p11_kit_uri_new();
		if (uri == NULL) {
			return HSM_ERR_NOMEM;
		}
		int r = p11_kit_uri_parse(spec, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri);
		if (r != P11_KIT_URI_OK) {
			hsm_detail_text(detail, "malformed PKCS#11 URI %s: %s", spec,
			                p11_kit_uri_message(r));
			p11_kit_uri_free(uri);
			return HSM_ERR_URI;
		}
		if (p11_kit_uri_get_pin_value(uri) != NULL) {
			hsm_detail_text(detail, "a PKCS#11 URI must not contain a PIN");
			p11_kit_uri_free(uri);
			return HSM_ERR_URI_PIN;
		}
		CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_ID);
		if (a != NULL) {
			id_len = a->ulValueLen < HSM_KEY_ID_MAX ? a->ulValueLen : HSM_KEY_ID_MAX;
			memcpy(id, a->pValue, id_len);
		}
		a = p11_kit_uri_get_attribute(uri, CKA_LABEL);
		if (a != NULL) {
			label = strndup(a->pValue, a->ulValueLen);
			if (label == NULL) {
				p11_kit_uri_free(uri);
				return HSM_ERR_NOMEM;
			}
		}
		if (id_len == 0 && label == NULL) {
			hsm_detail_text(detail, "%s names no key: add id= or object=", spec);
			p11_kit_uri_free(uri);
			return HSM_ERR_URI;
		}
	} else {
		is_hex = parse_hex(spec, id, sizeof(id), &id_len);
	}
	hsm_key_t *all = NULL;
	size_t total = 0;
	for (size_t i = 0; i < hsm_ctx_count(ctx) && ret == HSM_OK; i++) {
		hsm_token_t *t = hsm_ctx_token_at(ctx, i);
		if (uri != NULL) {
			CK_TOKEN_INFO ti;
			ret = hsm_token_connect(t, detail);
			if (ret != HSM_OK || hsm_token_info(t, &ti) != HSM_OK) {
				break;
			}
			if (p11_kit_uri_match_token_info(uri, &ti) != 1) {
				continue;
			}
		}
		list_arg_t l = {0};
		if (uri != NULL) {
			l.id = id_len ? id : NULL;
			l.id_len = id_len;
			l.label = label;
		} else if (is_hex) {
			l.id = id;
			l.id_len = id_len;
		} else {
			l.label = spec;
		}
		ret = list_keys(t, &l, detail);
		if (ret == HSM_OK && l.count == 0 && is_hex) {
			/* A label that happens to look like hex. */
			l.id = NULL;
			l.id_len = 0;
			l.label = spec;
			ret = list_keys(t, &l, detail);
		}
		if (ret == HSM_OK) {
			ret = append(&all, &total, l.keys, l.count);
		}
		free(l.keys);
	}
	free(label);
	p11_kit_uri_free(uri);
	if (ret != HSM_OK) {
		free(all);
		return ret;
	}
	*keys = all;
	*count = total;
	return HSM_OK;
}

int hsm_key_find(hsm_ctx_t *ctx, const char *spec, hsm_key_t *out, hsm_detail_t *detail)
{
	hsm_key_t *keys = NULL;
	size_t n = 0;
	int ret = hsm_key_find_all(ctx, spec, &keys, &n, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	if (n == 0) {
		hsm_detail_text(detail, "no key matches %s", spec);
		ret = HSM_ERR_NO_KEY;
	} else if (n > 1) {
		hsm_detail_text(detail, "several keys match %s (%zu); name one by its id", spec, n);
		ret = HSM_ERR_MANY_KEYS;
	} else {
		*out = keys[0];
	}
	free(keys);
	return ret;
}

/* --- deletion --- */

static CK_RV delete_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                       const char **func)
{
	const hsm_key_t *key = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	size_t destroyed = 0;
	for (size_t c = 0; c < 2; c++) {
		CK_OBJECT_HANDLE *objs = NULL;
		size_t n = 0;
		*func = "C_FindObjects";
		CK_RV rv = find_objects(fn, h, classes[c], key->id, key->id_len, NULL, &objs, &n);
		if (rv != CKR_OK) {
			return rv;
		}
		for (size_t i = 0; i < n; i++) {
			*func = "C_DestroyObject";
			rv = fn->C_DestroyObject(h, objs[i]);
			if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID) {
				free(objs);
				return rv;
			}
			destroyed++;
		}
		free(objs);
	}
	/* Nothing left on a retry means the first attempt did the work. */
	return destroyed > 0 || attempt > 0 ? CKR_OK : HSM_SESSION_RV_NO_KEY;
}

int hsm_key_delete(const hsm_key_t *key, hsm_detail_t *detail)
{
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(key->token, &s, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	ret = hsm_session_run(s, delete_op, (void *)key, detail);
	hsm_session_release(s);
	return ret;
}

/* --- public key --- */

typedef struct {
	const hsm_key_t *key;
	uint8_t *modulus, *exponent, *point, *params;
	size_t modulus_len, exponent_len, point_len, params_len;
} pub_arg_t;

static void pub_clear(pub_arg_t *p)
{
	free(p->modulus);
	free(p->exponent);
	free(p->point);
	free(p->params);
	p->modulus = p->exponent = p->point = p->params = NULL;
}

static CK_RV pub_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                    const char **func)
{
	(void)attempt;
	pub_arg_t *p = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	pub_clear(p);
	CK_OBJECT_HANDLE obj;
	bool found = false;
	*func = "C_FindObjects";
	CK_RV rv = hsm_session_find(s, h, CKO_PUBLIC_KEY, p->key->id, p->key->id_len, &obj, &found);
	if (rv == CKR_OK && !found && p->key->keytype == HSM_KEYTYPE_RSA) {
		/* An imported RSA private key without a public object still
		 * shows its modulus and public exponent. */
		rv = hsm_session_find(s, h, CKO_PRIVATE_KEY, p->key->id, p->key->id_len, &obj,
		                      &found);
	}
	if (rv != CKR_OK) {
		return rv;
	}
	if (!found) {
		return HSM_SESSION_RV_NO_KEY;
	}
	*func = "C_GetAttributeValue";
	if (p->key->keytype == HSM_KEYTYPE_RSA) {
		rv = get_attr(fn, h, obj, CKA_MODULUS, &p->modulus, &p->modulus_len);
		if (rv == CKR_OK) {
			rv = get_attr(fn, h, obj, CKA_PUBLIC_EXPONENT, &p->exponent,
			              &p->exponent_len);
		}
	} else {
		rv = get_attr(fn, h, obj, CKA_EC_POINT, &p->point, &p->point_len);
		if (rv == CKR_OK) {
			rv = get_attr(fn, h, obj, CKA_EC_PARAMS, &p->params, &p->params_len);
		}
	}
	return rv;
}

int hsm_key_dnskey_pubkey(const hsm_key_t *key, const hsm_alg_t *alg, uint8_t *out, size_t cap,
                          size_t *len, hsm_detail_t *detail)
{
	alg = alg != NULL ? alg : key->alg;
	if (alg == NULL || alg->keytype != key->keytype ||
	    (key->alg != NULL && alg->keytype != HSM_KEYTYPE_RSA && alg != key->alg)) {
		hsm_detail_text(detail, "the key's type does not fit algorithm %s",
		                alg != NULL ? alg->name : "(none)");
		return HSM_ERR_ALGORITHM;
	}
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(key->token, &s, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	pub_arg_t p = {.key = key};
	ret = hsm_session_run(s, pub_op, &p, detail);
	hsm_session_release(s);
	if (ret == HSM_OK && p.params != NULL && alg_by_params(p.params, p.params_len) != alg) {
		hsm_detail_text(detail, "the key's curve does not fit algorithm %s", alg->name);
		ret = HSM_ERR_ALGORITHM;
	}
	if (ret == HSM_OK) {
		hsm_pubkey_t pub = {
		        .alg = alg,
		        .modulus = p.modulus,
		        .modulus_len = p.modulus_len,
		        .exponent = p.exponent,
		        .exponent_len = p.exponent_len,
		        .ec_point = p.point,
		        .ec_point_len = p.point_len,
		};
		ret = hsm_dnskey_pubkey(&pub, out, cap, len);
	}
	pub_clear(&p);
	return ret;
}
