/*
 * kasp_plan: the rollover planner, a pure function
 *
 *     (policy, key states, now) -> (actions, next event time)
 *
 * with the clock passed in. The daemon carries the actions out (generates a
 * key in its token, publishes a zone version, submits or withdraws a DS),
 * records each new state once it is published, and calls the planner again
 * at the next event time or when something changed (a DS seen at the
 * parent, an operator's command).
 *
 * The planner moves each record of each key one step toward the key's goal
 * (hidden -> rumoured -> omnipresent for a key being introduced,
 * omnipresent -> unretentive -> hidden for one being retired) when
 *   - its timing allows: a rumoured or unretentive record settles only once
 *     every cache may have seen the change: DNSKEY and KRRSIG after the
 *     DNSKEY TTL plus the zone's propagation delay; ZRRSIG after the
 *     maximum zone TTL plus propagation delay, plus sign_delay (the time
 *     until every old signature is replaced) when another key of the
 *     algorithm signs the zone; DS only on evidence from the parent (seen,
 *     or seen gone) and then the parent's DS TTL plus its propagation
 *     delay, never on a timer alone;
 *   - the key's own order allows it: a DS only for a published DNSKEY
 *     (double-KSK) or before it (double-DS); a ZSK signs only once
 *     published, except for a new algorithm, whose signatures come first
 *     and whose DNSKEYs follow once they are everywhere (RFC 6781 4.1.4); a
 *     DNSKEY leaves only once its signatures are gone, except for the last
 *     keys of an algorithm, whose DNSKEYs leave before their signatures;
 *   - and the three chain-of-trust rules hold after the step (or did not
 *     hold before it: the initial signing): (1) a DS is always at the
 *     parent, (2) it always leads to a DNSKEY that signs the DNSKEY RRset,
 *     (3) the zone's data is always signed by a DNSKEY every cache has, and
 *     by one of each algorithm a cache may hold a DS of (a validator
 *     hardened against downgrades wants that algorithm), each rule with the
 *     swap patterns of Mekking's rollover model.
 *
 * RFC 5011 mode (rfc5011; double-KSK only: double_ds is then ignored, and
 * the policy refuses the pair) changes two steps of a KSK or CSK rollover:
 *   - add hold-down: a KSK introduced while another KSK has a DS out (a
 *     rollover, not the initial signing) has its DNSKEY published (its
 *     KRRSIG with it: an extra signature by a key no validator trusts yet is
 *     harmless) but its DS is not submitted, so that it does not take over
 *     the chain and the old KSK is not retired, until add_hold_down has
 *     passed since its DNSKEY became omnipresent: every validator has seen
 *     it that long (RFC 5011 2.4.1; the policy's Ikey + Ihold);
 *   - revocation: a retiring KSK or CSK whose DNSKEY is published, once its
 *     DS is gone (and its data signatures, unless its algorithm leaves), is
 *     revoked (KASP_ACT_REVOKE: published with the REVOKE bit, still signing
 *     the DNSKEY RRset itself, RFC 5011 2.1) and its DNSKEY withdrawn only
 *     remove_hold_down after that revocation was published. The rules count
 *     a revoked key in no chain: a validator uses it for nothing else.
 * require_backup: a key to be introduced whose backup the operator has not
 * confirmed (input backup_confirmed) moves no record out of hidden; its
 * predecessor stays in service, as the rules keep it while it is hidden.
 *
 * Rollovers start when a key's lifetime (from its first publication) comes
 * within the DNSKEY TTL plus propagation delay of its end, on an operator's
 * command, or when the policy's algorithm or key roles change; a successor
 * is generated and the old key retired, and the rules keep the old one in
 * place until the successor has taken over.
 *
 * Thread-safety: no state; kasp_plan_t belongs to its caller.
 */
#ifndef KASP_KASP_PLAN_H
#define KASP_KASP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kasp/kasp_key.h"
#include "kasp/kasp_policy.h"

/* What the planner needs of a policy (kasp_plan_policy_from). Seconds. */
typedef struct {
	uint8_t algorithm;     /* the algorithm wanted */
	bool csk;              /* one CSK rather than a KSK and a ZSK */
	uint32_t ksk_lifetime; /* KSK or CSK; 0: unlimited */
	uint32_t zsk_lifetime; /* 0: unlimited */
	bool double_ds;        /* KSK/CSK rollover method: double-DS, else double-KSK */
	bool insecure;         /* go (or stay) insecure: every key retired, DS first */
	uint32_t dnskey_ttl;
	uint32_t max_zone_ttl;
	uint32_t zone_propagation_delay;
	uint32_t ds_ttl;                   /* the parent's */
	uint32_t parent_propagation_delay; /* from the parent's primary to its secondaries */
	uint32_t poll_interval;            /* parental agents polled at this interval */
	uint32_t sign_delay;       /* validity - refresh + jitter: every old signature replaced */
	uint32_t purge_after;      /* a key left the key set this long before it leaves the token */
	bool rfc5011;              /* RFC 5011: add hold-down, REVOKE before removal (above) */
	uint32_t add_hold_down;    /* a new KSK's DNSKEY omnipresent this long before its DS */
	uint32_t remove_hold_down; /* a revoked KSK published this long before withdrawal */
	bool require_backup;       /* a new key waits for its backup to be confirmed */
} kasp_plan_policy_t;

/* What the planner needs of policy p (borrowed for the call); a hidden key
 * leaves the token 14 days after it left the key set. */
void kasp_plan_policy_from(const kasp_policy_t *p, kasp_plan_policy_t *out);

typedef struct {
	int64_t now;            /* UNIX seconds */
	int64_t last_acted;     /* when the enforcer last acted (0: never) */
	bool clock_ack;         /* an operator accepted the clock's jump forward */
	unsigned roll;          /* KASP_ROLE_* to roll now (an operator's command) */
	const int64_t *removed; /* per key: when it left the key set (0: in it); may be NULL */
	const int64_t *backup_confirmed; /* per key: when an operator confirmed its backup (0:
	                                  * not yet); NULL: every key's is */
} kasp_plan_input_t;

typedef enum {
	KASP_ACT_GENERATE, /* a new key of role and algorithm: goal true, records hidden
	                    * (NA where its role has none) */
	KASP_ACT_RETIRE,   /* key's goal becomes false */
	KASP_ACT_SET,      /* key's record to state: publish it, then record the time */
	KASP_ACT_REMOVE,   /* key out of the zone's key set: every record hidden */
	KASP_ACT_PURGE,    /* key out of the token: purge_after passed since REMOVE */
	KASP_ACT_REVOKE,   /* RFC 5011: publish key's DNSKEY with the REVOKE bit (flags |
	                    * 0x0080, a new tag), still self-signed; then record the time
	                    * (kasp_key_t.revoked) */
} kasp_action_kind_t;

typedef struct {
	kasp_action_kind_t kind;
	uint32_t key; /* kasp_key_t.id; GENERATE: 0 */
	unsigned role;
	uint8_t algorithm;
	kasp_record_t record; /* SET */
	kasp_state_t state;   /* SET */
} kasp_action_t;

typedef struct {
	kasp_action_t *actions;
	size_t n, cap;
	int64_t next;      /* when to plan again; INT64_MAX: nothing pending */
	char blocked[512]; /* what pending steps wait for ("" if nothing), for status */
	bool clock_jump;   /* nothing done: the clock jumped more than an hour ahead */
} kasp_plan_t;

/* The clock jump the planner refuses to act on without an acknowledgement. */
#define KASP_PLAN_MAX_JUMP 3600

/* Plans for the n keys of one zone (borrowed for the call). *out (start it
 * zeroed; its previous actions are dropped) gets the actions in the order
 * to carry them out, the next event time and what blocks progress. Returns
 * KASP_OK or KASP_ERR_NOMEM. */
int kasp_plan(const kasp_plan_policy_t *p, const kasp_key_t *keys, size_t n,
              const kasp_plan_input_t *in, kasp_plan_t *out);

/* Frees the actions; *out is zeroed. */
void kasp_plan_deinit(kasp_plan_t *out);

/* The chain-of-trust rules over n keys (tests, audits): true if rule (1, 2
 * or 3) holds with these states, insecure as in kasp_plan_policy_t. A
 * revoked key's DNSKEY and signatures count in no chain. */
bool kasp_plan_rule(int rule, const kasp_key_t *keys, size_t n, bool insecure);

#endif
