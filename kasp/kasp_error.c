#include "kasp/kasp_error.h"

#include <string.h>

#include "hsm/hsm_error.h"

const char *kasp_strerror(int status)
{
	switch (status) {
	case KASP_OK:
		return "success";
	case KASP_ERR_NOMEM:
		return "out of memory";
	case KASP_ERR_INVAL:
		return "invalid argument";
	case KASP_ERR_IO:
		return "policy file cannot be read";
	case KASP_ERR_SYNTAX:
		return "policy syntax error";
	case KASP_ERR_VALUE:
		return "policy value refused";
	case KASP_ERR_DUPLICATE:
		return "policy or key given twice";
	case KASP_ERR_TIMING:
		return "policy timing could let signatures expire or break a rollover";
	case KASP_ERR_ZONE:
		return "zone does not fit its policy";
	default:
		break;
	}
	if (status <= -1000 && status > -1100) {
		return hsm_strerror(status);
	}
	if (status < 0 && status > -1000) {
		return strerror(-status);
	}
	return "unknown kasp status";
}
