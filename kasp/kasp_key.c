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

static bool out(kasp_state_t s)
{
	return s == KASP_RUMOURED || s == KASP_OMNIPRESENT;
}

kasp_key_use_t kasp_key_use(const kasp_key_t *k)
{
	/* Data signatures do not follow the DNSKEY: an algorithm rollover signs
	 * before it publishes, and keeps old signatures after withdrawing. */
	return (kasp_key_use_t){
	        .published = out(k->state[KASP_DNSKEY]),
	        .signs_keyset = out(k->state[KASP_KRRSIG]),
	        .signs_data = out(k->state[KASP_ZRRSIG]),
	        .retained = k->state[KASP_ZRRSIG] == KASP_UNRETENTIVE,
	        .revoked = k->revoked > 0 && out(k->state[KASP_DNSKEY]),
	};
}
