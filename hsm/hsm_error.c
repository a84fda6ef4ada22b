#include "hsm/hsm_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *hsm_strerror(int status)
{
	switch (status) {
	case HSM_OK:
		return "success";
	case HSM_ERR_NOMEM:
		return "out of memory";
	case HSM_ERR_INVAL:
		return "invalid argument";
	case HSM_ERR_MODULE:
		return "PKCS#11 module cannot be loaded";
	case HSM_ERR_CKR:
		return "PKCS#11 call failed";
	case HSM_ERR_URI:
		return "malformed PKCS#11 URI";
	case HSM_ERR_URI_PIN:
		return "PKCS#11 URI must not contain a PIN (use a PIN file)";
	case HSM_ERR_NO_TOKEN:
		return "no token matches the PKCS#11 URI";
	case HSM_ERR_MANY_TOKENS:
		return "several tokens match the PKCS#11 URI";
	case HSM_ERR_PIN_FILE:
		return "PIN file refused";
	case HSM_ERR_PIN_MISSING:
		return "no PIN: set a PIN file or SIGNER_PIN";
	case HSM_ERR_PIN_INCORRECT:
		return "PIN incorrect (CKR_PIN_INCORRECT, not retried)";
	case HSM_ERR_PIN_LOCKED:
		return "PIN locked (CKR_PIN_LOCKED, not retried)";
	case HSM_ERR_PIN_EXPIRED:
		return "PIN expired (CKR_PIN_EXPIRED, not retried)";
	case HSM_ERR_ALGORITHM:
		return "unsupported algorithm";
	case HSM_ERR_MECHANISM:
		return "token lacks a mechanism for this algorithm";
	case HSM_ERR_NO_KEY:
		return "no key matches";
	case HSM_ERR_MANY_KEYS:
		return "several keys match";
	case HSM_ERR_KEY_TYPE:
		return "key type or size not usable for DNSSEC";
	case HSM_ERR_BUDGET:
		return "HSM retry budget exhausted";
	case HSM_ERR_KEYFILE:
		return "private key file unreadable or malformed";
	case HSM_ERR_DNSKEY:
		return "malformed DNSKEY public key";
	case HSM_ERR_VERIFY:
		return "signature does not verify";
	case HSM_ERR_CRYPTO:
		return "OpenSSL failure";
	case HSM_ERR_CONFIG:
		return "token configuration refused";
	case HSM_ERR_SIGN_DATA:
		return "token refuses to sign this data";
	case HSM_ERR_BUFFER:
		return "buffer too small";
	case HSM_ERR_DATA_TOO_BIG:
		return "data object value too big (at most 1024 bytes)";
	default:
		break;
	}
	if (status < 0 && status > -1000) {
		return strerror(-status);
	}
	return "unknown hsm status";
}

#define RV(x)                                                                                      \
	{                                                                                          \
		x, #x                                                                              \
	}
static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
        RV(CKR_OK),
        RV(CKR_CANCEL),
        RV(CKR_HOST_MEMORY),
        RV(CKR_SLOT_ID_INVALID),
        RV(CKR_GENERAL_ERROR),
        RV(CKR_FUNCTION_FAILED),
        RV(CKR_ARGUMENTS_BAD),
        RV(CKR_NO_EVENT),
        RV(CKR_NEED_TO_CREATE_THREADS),
        RV(CKR_CANT_LOCK),
        RV(CKR_ATTRIBUTE_READ_ONLY),
        RV(CKR_ATTRIBUTE_SENSITIVE),
        RV(CKR_ATTRIBUTE_TYPE_INVALID),
        RV(CKR_ATTRIBUTE_VALUE_INVALID),
        RV(CKR_ACTION_PROHIBITED),
        RV(CKR_DATA_INVALID),
        RV(CKR_DATA_LEN_RANGE),
        RV(CKR_DEVICE_ERROR),
        RV(CKR_DEVICE_MEMORY),
        RV(CKR_DEVICE_REMOVED),
        RV(CKR_ENCRYPTED_DATA_INVALID),
        RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
        RV(CKR_FUNCTION_CANCELED),
        RV(CKR_FUNCTION_NOT_PARALLEL),
        RV(CKR_FUNCTION_NOT_SUPPORTED),
        RV(CKR_KEY_HANDLE_INVALID),
        RV(CKR_KEY_SIZE_RANGE),
        RV(CKR_KEY_TYPE_INCONSISTENT),
        RV(CKR_KEY_NOT_NEEDED),
        RV(CKR_KEY_CHANGED),
        RV(CKR_KEY_NEEDED),
        RV(CKR_KEY_INDIGESTIBLE),
        RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
        RV(CKR_KEY_NOT_WRAPPABLE),
        RV(CKR_KEY_UNEXTRACTABLE),
        RV(CKR_MECHANISM_INVALID),
        RV(CKR_MECHANISM_PARAM_INVALID),
        RV(CKR_OBJECT_HANDLE_INVALID),
        RV(CKR_OPERATION_ACTIVE),
        RV(CKR_OPERATION_NOT_INITIALIZED),
        RV(CKR_PIN_INCORRECT),
        RV(CKR_PIN_INVALID),
        RV(CKR_PIN_LEN_RANGE),
        RV(CKR_PIN_EXPIRED),
        RV(CKR_PIN_LOCKED),
        RV(CKR_SESSION_CLOSED),
        RV(CKR_SESSION_COUNT),
        RV(CKR_SESSION_HANDLE_INVALID),
        RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
        RV(CKR_SESSION_READ_ONLY),
        RV(CKR_SESSION_EXISTS),
        RV(CKR_SESSION_READ_ONLY_EXISTS),
        RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
        RV(CKR_SIGNATURE_INVALID),
        RV(CKR_SIGNATURE_LEN_RANGE),
        RV(CKR_TEMPLATE_INCOMPLETE),
        RV(CKR_TEMPLATE_INCONSISTENT),
        RV(CKR_TOKEN_NOT_PRESENT),
        RV(CKR_TOKEN_NOT_RECOGNIZED),
        RV(CKR_TOKEN_WRITE_PROTECTED),
        RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
        RV(CKR_UNWRAPPING_KEY_SIZE_RANGE),
        RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
        RV(CKR_USER_ALREADY_LOGGED_IN),
        RV(CKR_USER_NOT_LOGGED_IN),
        RV(CKR_USER_PIN_NOT_INITIALIZED),
        RV(CKR_USER_TYPE_INVALID),
        RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
        RV(CKR_USER_TOO_MANY_TYPES),
        RV(CKR_WRAPPED_KEY_INVALID),
        RV(CKR_WRAPPED_KEY_LEN_RANGE),
        RV(CKR_WRAPPING_KEY_HANDLE_INVALID),
        RV(CKR_WRAPPING_KEY_SIZE_RANGE),
        RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
        RV(CKR_RANDOM_SEED_NOT_SUPPORTED),
        RV(CKR_RANDOM_NO_RNG),
        RV(CKR_DOMAIN_PARAMS_INVALID),
        RV(CKR_CURVE_NOT_SUPPORTED),
        RV(CKR_BUFFER_TOO_SMALL),
        RV(CKR_SAVED_STATE_INVALID),
        RV(CKR_INFORMATION_SENSITIVE),
        RV(CKR_STATE_UNSAVEABLE),
        RV(CKR_CRYPTOKI_NOT_INITIALIZED),
        RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
        RV(CKR_MUTEX_BAD),
        RV(CKR_MUTEX_NOT_LOCKED),
        RV(CKR_FUNCTION_REJECTED),
};
#undef RV

const char *hsm_rv_name(CK_RV rv)
{
	for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (rv_names[i].rv == rv) {
			return rv_names[i].name;
		}
	}
	return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED" : "CKR_UNKNOWN";
}

char *hsm_detail_format(int status, const hsm_detail_t *detail, char *buf, size_t len)
{
	if (len == 0) {
		return buf;
	}
	if (detail != NULL && detail->func != NULL) {
		if (detail->text[0] != '\0') {
			snprintf(buf, len, "%s: %s failed: %s (0x%lx)", detail->text, detail->func,
			         hsm_rv_name(detail->rv), (unsigned long)detail->rv);
		} else {
			snprintf(buf, len, "%s failed: %s (0x%lx)", detail->func,
			         hsm_rv_name(detail->rv), (unsigned long)detail->rv);
		}
	} else if (detail != NULL && detail->text[0] != '\0') {
		snprintf(buf, len, "%s", detail->text); /* texts say what failed */
	} else {
		snprintf(buf, len, "%s", hsm_strerror(status));
	}
	return buf;
}

void hsm_detail_ckr(hsm_detail_t *detail, const char *func, CK_RV rv)
{
	if (detail != NULL) {
		detail->func = func;
		detail->rv = rv;
		detail->text[0] = '\0';
	}
}

void hsm_detail_text(hsm_detail_t *detail, const char *fmt, ...)
{
	if (detail == NULL) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail->text, sizeof(detail->text), fmt, ap);
	va_end(ap);
	detail->func = NULL;
	detail->rv = 0;
}
