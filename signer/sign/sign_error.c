#include "signer/sign/sign_error.h"

#include "hsm/hsm_error.h"
#include "signer/nsec/nsec_error.h"

const char *sign_strerror(int status)
{
	switch (status) {
	case SIGN_OK:
		return "success";
	case SIGN_ERR_NOMEM:
		return "out of memory";
	case SIGN_ERR_INVAL:
		return "invalid argument";
	case SIGN_ERR_BUFFER:
		return "buffer too small";
	case SIGN_ERR_RRSIG:
		return "malformed RRSIG";
	case SIGN_ERR_TIMING:
		return "signature validity must exceed refresh plus inception offset";
	case SIGN_ERR_ALGORITHM_GAP:
		return "an algorithm of the DNSKEY RRset has no key to sign this RRset";
	case SIGN_ERR_VERIFY:
		return "verification of the signed zone failed";
	case SIGN_ERR_CRYPTO:
		return "OpenSSL failure";
	case SIGN_ERR_WHOLE:
		return "the change needs a whole signing pass";
	default:
		break;
	}
	if (status < 0 && status > -1100) {
		return hsm_strerror(status); /* and strerror()'s text for -errno */
	}
	if (status <= -1200 && status > -1400) {
		return nsec_strerror(status); /* zone statuses too */
	}
	return "unknown sign status";
}
