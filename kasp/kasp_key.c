#include "kasp/kasp_key.h"

const char *kasp_state_name(kasp_state_t s)
{
	switch (s) {
	case KASP_HIDDEN:
		return "hidden";
	case KASP_RUMOURED:
		return "rumoured";
	case KASP_OMNIPRESENT:
		return "omnipresent";
	case KASP_UNRETENTIVE:
		return "unretentive";
	default:
		return "NA";
	}
}

const char *kasp_record_name(kasp_record_t r)
{
	static const char *const names[KASP_RECORDS] = {"DS", "DNSKEY", "KRRSIG", "ZRRSIG"};
	return r < KASP_RECORDS ? names[r] : "?";
}

const char *kasp_role_name(unsigned role)
{
	return role == KASP_ROLE_CSK   ? "CSK"
	       : role == KASP_ROLE_KSK ? "KSK"
	       : role == KASP_ROLE_ZSK ? "ZSK"
	                               : "?";
}
