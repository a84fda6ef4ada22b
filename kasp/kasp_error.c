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
	case KASP_ERR_PARENT_NAME:
		return "zone name is not a domain name";
	case KASP_ERR_PARENT_AGENT:
		return "parental agent is not \"ip\" or \"ip@port\"";
	case KASP_ERR_PARENT_TIMEOUT:
		return "no answer from the parental agent within the timeout";
	case KASP_ERR_PARENT_MALFORMED:
		return "malformed or mismatched answer from the parental agent";
	case KASP_ERR_PARENT_TRUNCATED:
		return "truncated answer from the parental agent over TCP";
	case KASP_ERR_EXPORT_NAME:
		return "invalid zone name";
	case KASP_ERR_EXPORT_DIGEST:
		return "DS digest types empty, unknown or repeated";
	case KASP_ERR_EXPORT_DNSKEY:
		return "DNSKEY RDATA malformed or not the key's";
	case KASP_ERR_DB:
		return "key store (SQLite) failure";
	case KASP_ERR_DB_SCHEMA:
		return "key store schema newer than this signer, or unknown";
	case KASP_ERR_DB_TXN:
		return "key store write outside a transaction, or transaction begun twice";
	case KASP_ERR_DB_EXISTS:
		return "zone or key already in the key store";
	case KASP_ERR_DB_MISSING:
		return "no such zone or key in the key store";
	case KASP_ERR_DB_KEYS:
		return "zone still has keys not purged from their token";
	case KASP_ERR_DB_BUSY:
		return "key store locked by another connection";
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
