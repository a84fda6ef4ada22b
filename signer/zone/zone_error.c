#include "signer/zone/zone_error.h"

#include <string.h>

const char *zone_strerror(int status)
{
	switch (status) {
	case ZONE_OK:
		return "success";
	case ZONE_ERR_NOMEM:
		return "out of memory";
	case ZONE_ERR_NAME_SYNTAX:
		return "malformed domain name";
	case ZONE_ERR_LABEL_TOO_LONG:
		return "label longer than 63 octets";
	case ZONE_ERR_NAME_TOO_LONG:
		return "domain name longer than 255 octets";
	case ZONE_ERR_BUFFER:
		return "buffer too small";
	case ZONE_ERR_RRSET_TOO_BIG:
		return "RRset too big";
	case ZONE_ERR_RDATA:
		return "malformed RDATA";
	case ZONE_ERR_DUPLICATE_TYPE:
		return "two RRsets of one type at one name";
	case ZONE_ERR_INVAL:
		return "invalid argument";
	case ZONE_ERR_DUPLICATE_NAME:
		return "two nodes for one name";
	case ZONE_ERR_OUT_OF_ZONE:
		return "name outside the zone";
	case ZONE_ERR_SYNTAX:
		return "zone file syntax error";
	case ZONE_ERR_UNKNOWN_TYPE:
		return "unknown RR type";
	case ZONE_ERR_TTL:
		return "bad TTL";
	case ZONE_ERR_CLASS:
		return "class other than IN";
	case ZONE_ERR_NO_SOA:
		return "no SOA record at the apex";
	case ZONE_ERR_DUPLICATE_SOA:
		return "more than one SOA record";
	case ZONE_ERR_SOA_NOT_APEX:
		return "SOA record not at the apex";
	case ZONE_ERR_NO_APEX_NS:
		return "no NS records at the apex";
	case ZONE_ERR_CNAME:
		return "CNAME and other data at one name";
	case ZONE_ERR_SINGLETON:
		return "more than one CNAME or DNAME record at one name";
	case ZONE_ERR_INCLUDE:
		return "$INCLUDE failed";
	case ZONE_ERR_GENERATE:
		return "malformed $GENERATE directive";
	case ZONE_ERR_NOT_DNSKEY:
		return "not a file of DNSKEY records at the apex";
	case ZONE_ERR_NO_SUCH_RR:
		return "no such record to remove";
	case ZONE_ERR_CORRUPT:
		return "corrupt snapshot or journal";
	case ZONE_ERR_JOURNAL_SERIAL:
		return "delta does not follow the journal's last serial";
	case ZONE_ERR_ORPHAN_RRSIG:
		return "RRSIG over a type the name does not have";
	default:
		break;
	}
	if (status < 0 && status > -1000) {
		return strerror(-status);
	}
	return "unknown zone status";
}
