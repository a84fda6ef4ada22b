#include "signer/nsec/nsec_error.h"

#include <string.h>

#include "signer/zone/zone_error.h"

const char *nsec_strerror(int status)
{
	switch (status) {
	case NSEC_OK:
		return "success";
	case NSEC_ERR_NOMEM:
		return "out of memory";
	case NSEC_ERR_INVAL:
		return "invalid argument";
	case NSEC_ERR_NO_SOA:
		return "no usable SOA at the zone apex";
	case NSEC_ERR_ITERATIONS:
		return "too many NSEC3 iterations";
	case NSEC_ERR_COLLISION:
		return "NSEC3 hash collision";
	case NSEC_ERR_NAME_TOO_LONG:
		return "hashed owner name longer than 255 octets";
	case NSEC_ERR_BITMAP:
		return "malformed type bitmap";
	case NSEC_ERR_BUFFER:
		return "buffer too small";
	case NSEC_ERR_CRYPTO:
		return "SHA-1 digest failed";
	case NSEC_ERR_TOO_BIG:
		return "record too big";
	default:
		break;
	}
	if (status <= -1200 && status > -1300) {
		return zone_strerror(status);
	}
	if (status < 0 && status > -1000) {
		return strerror(-status);
	}
	return "unknown nsec status";
}
