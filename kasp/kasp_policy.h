/*
 * kasp_policy: key and signing policies (KASP), read from YAML and checked
 * before any zone uses them.
 *
 * A policy says which keys a zone has (KSK + ZSK, or one CSK), where they
 * live, how long they last, how signatures, denial of existence and TTLs are
 * made, and how the parent is told and watched. In YAML (a file whose top
 * level is "policies:", included by signer.yaml, or one mapping handed to
 * kasp_policy_from_yaml()), every key optional except name:
 *
 *   policies:
 *     - name: default                # 1-63 of A-Z a-z 0-9 . _ -
 *       algorithm: ECDSAP256SHA256   # name or number: 8, 10, 13, 14, 15, 16
 *       keys:
 *         ksk: {lifetime: 0, token: ksk}   # 0 = unlimited (rolled on command)
 *         zsk: {lifetime: 90d, token: main}
 *         # csk: {lifetime: 0}       # one combined key instead of ksk + zsk
 *         # bits: 2048               # per role, RSA only: 2048, 3072 or 4096
 *         shared: false              # one key set for every zone of the policy
 *         ksk_roll: double_ksk       # or double_ds
 *         rfc5011: false             # new KSK waits add_hold_down; old is REVOKEd
 *         add_hold_down: 30d         #   (at least 30d, RFC 5011 section 2.4.1)
 *         remove_hold_down: 30d      #   the revoked KSK stays published this long
 *         require_backup: false      # a new key waits for the operator's backup
 *       signatures:
 *         validity: 30d              # inception to expiration, before jitter
 *         dnskey_validity: 0         # of the DNSKEY RRset's RRSIGs; 0 = validity
 *         refresh: 15d               # an RRSIG is replaced once it expires within this
 *         jitter: 12h
 *         inception_offset: 1h
 *       denial:
 *         type: nsec3                # or nsec
 *         iterations: 0              # at most 100 (RFC 9276 says 0)
 *         salt: ""                   # hex, "" or "-" for none; at most 255 octets
 *         opt_out: false
 *       zone:
 *         dnskey_ttl: 1h
 *         cds_ttl: 1h                # CDS and CDNSKEY
 *         max_ttl: 1d                # the largest TTL of zone data
 *         ttl_policy: refuse         # a zone with a larger TTL: refuse or cap
 *         propagation_delay: 5m      # until every secondary serves a new version
 *       parent:
 *         ds_ttl: 1d
 *         propagation_delay: 1h      # until every parent server serves a new DS
 *         agents: ["192.0.2.53", "2001:db8::53@5353"]   # "ip" or "ip@port" to poll
 *         poll_interval: 1h          # at least 1m
 *         cds: true                  # publish CDS and CDNSKEY
 *         cds_digests: [2]           # 2 (SHA-256) and/or 4 (SHA-384)
 *
 * Durations are seconds with an optional suffix s, m, h, d or w (as in
 * signer.yaml), at most 2^31 - 1 seconds. What a role under keys gives
 * overrides that role's defaults; giving ksk or zsk selects KSK + ZSK (the
 * other keeps its defaults), giving csk selects one CSK, and csk with ksk or
 * zsk is refused. RSA roles without bits get 2048. Unknown keys, keys
 * given twice and malformed values are refused with their line; then the
 * policy goes through kasp_policy_check() and a refusal carries the line of
 * the field it names (the policy's first line when the field kept its
 * default).
 *
 * Messages read "FILE:LINE: policy 'NAME': FIELD: reason" (FIELD is the YAML
 * path, e.g. signatures.refresh; "line LINE:" without a file, none without
 * YAML).
 *
 * Ownership: a kasp_policy_t is a value owning its strings (name, tokens,
 * salt, parental agents); kasp_policy_deinit() frees them. Functions that
 * take a const policy borrow it for the call.
 *
 * Threads: no function keeps state; a policy nobody writes may be read and
 * checked from any number of threads at once.
 */
#ifndef KASP_KASP_POLICY_H
#define KASP_KASP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "kasp/kasp_error.h"

/* The largest duration, TTL or lifetime a policy takes (RFC 2181 TTLs,
 * RRSIG serial arithmetic). */
#define KASP_POLICY_MAX_SECONDS 2147483647u

/* The most CDS digest types a policy lists (SHA-256 and SHA-384). */
#define KASP_POLICY_MAX_DIGESTS 2

typedef enum {
	KASP_POLICY_KSK = 0,
	KASP_POLICY_ZSK = 1,
	KASP_POLICY_CSK = 2,
} kasp_policy_role_t;

#define KASP_POLICY_ROLES 3

typedef enum {
	KASP_POLICY_TTL_REFUSE = 0, /* a zone with a TTL above max_zone_ttl is refused */
	KASP_POLICY_TTL_CAP = 1,    /* such TTLs are lowered to max_zone_ttl */
} kasp_policy_ttl_t;

typedef enum {
	KASP_POLICY_DOUBLE_KSK = 0, /* new KSK in the DNSKEY RRset first, then the DS swap */
	KASP_POLICY_DOUBLE_DS = 1,  /* new DS at the parent first, then the DNSKEY swap */
} kasp_policy_ksk_roll_t;

/* One role's keys. */
typedef struct {
	uint16_t bits;     /* RSA modulus bits (2048, 3072, 4096); 0 for other algorithms */
	uint32_t lifetime; /* seconds a key is used before its successor takes over;
	                    * 0 = unlimited (rolled only on command) */
	char *token;       /* token name in signer.yaml; NULL = the first token */
} kasp_policy_key_t;

typedef struct {
	char *name;        /* NULL only before a name is given (kasp_policy_defaults) */
	uint8_t algorithm; /* DNSSEC algorithm number */

	/* Keys: key[KASP_POLICY_CSK] when csk, else key[KSK] and key[ZSK]; the
	 * entries of the roles not in use are ignored (kasp_policy_key()). */
	bool csk;
	kasp_policy_key_t key[KASP_POLICY_ROLES];
	bool shared_keys; /* the zones of the policy share one key set */
	kasp_policy_ksk_roll_t ksk_roll;
	bool rfc5011;              /* RFC 5011: hold-down before use, REVOKE before removal */
	uint32_t add_hold_down;    /* seconds a new KSK is published before it signs */
	uint32_t remove_hold_down; /* seconds a revoked KSK stays published */
	bool require_backup;       /* a new key is not used until its backup is confirmed */

	/* Signatures, relative seconds (signer/sign/sign_plan.h's timing). */
	uint32_t validity;         /* inception to expiration, before jitter */
	uint32_t dnskey_validity;  /* for the DNSKEY RRset; 0 = validity */
	uint32_t refresh;          /* an RRSIG is replaced once it expires within this */
	uint32_t jitter;           /* at most this much added to an expiration */
	uint32_t inception_offset; /* inception = signing time - this */

	/* Denial of existence. */
	bool nsec3;                /* false: NSEC */
	uint16_t nsec3_iterations; /* extra iterations */
	char *nsec3_salt;          /* lowercase hex; NULL = no salt */
	bool nsec3_opt_out;

	/* The zone, seconds. */
	uint32_t dnskey_ttl;
	uint32_t cds_ttl;      /* CDS and CDNSKEY */
	uint32_t max_zone_ttl; /* the largest TTL of zone data */
	kasp_policy_ttl_t ttl_policy;
	uint32_t zone_propagation_delay; /* until every secondary serves a new version */

	/* The parent, seconds. */
	uint32_t parent_ds_ttl;
	uint32_t parent_propagation_delay; /* until every parent server serves a new DS */
	char **parental_agents;            /* "ip" or "ip@port", polled for the DS */
	size_t nparental_agents;
	uint32_t poll_interval;
	bool cds_publish;
	uint8_t cds_digests[KASP_POLICY_MAX_DIGESTS]; /* DS digest types: 2, 4 */
	size_t ncds_digests;
} kasp_policy_t;

/* The phases of one rollover of a role, relative seconds (RFC 7583), and
 * their sum: see kasp_policy_rollover(). */
typedef struct {
	int64_t ipub;  /* the new key (or DS) published until it may be used */
	int64_t iswap; /* the switch: DS swap and/or old signatures replaced */
	int64_t iret;  /* the old key (or DS) withdrawn until it is gone from caches */
	int64_t dsgn;  /* validity - refresh + jitter: until every old signature is replaced */
	int64_t total; /* ipub + iswap + iret */
} kasp_policy_rollover_t;

/* Writes the defaults into *p (overwriting it; allocates nothing, so
 * kasp_policy_deinit() is optional): ECDSAP256SHA256, KSK (unlimited) +
 * ZSK (90d) in the first token, validity 30d, refresh 15d, jitter 12h,
 * inception offset 1h, NSEC3 with 0 iterations and no salt, DNSKEY and CDS
 * TTL 1h, max zone TTL 1d (refuse), zone propagation 5m, parent DS TTL 1d and
 * propagation 1h, no parental agents, poll 1h, CDS/CDNSKEY published with
 * SHA-256, double-KSK, no RFC 5011 (hold-downs 30d), no backup required,
 * keys per zone. The name is NULL. Thread-safe. */
void kasp_policy_defaults(kasp_policy_t *p);

/* Frees the strings *p owns and zeroes it; NULL is a no-op. */
void kasp_policy_deinit(kasp_policy_t *p);

/* Deinitialises policies[0..n) and frees the array (kasp_policies_load_file's
 * result); NULL is a no-op. */
void kasp_policies_free(kasp_policy_t *policies, size_t n);

/* Reads one policy from node, a mapping of doc (both borrowed; libyaml's
 * document API takes them non-const), starting from the defaults, and
 * checks it (kasp_policy_check). On success *out is a policy the caller
 * owns (kasp_policy_deinit). On failure *out is untouched and err (errlen
 * bytes) says "line N: policy 'NAME': FIELD: reason"; returns
 * KASP_ERR_SYNTAX (not a mapping, a list expected), KASP_ERR_VALUE,
 * KASP_ERR_DUPLICATE (a key given twice), KASP_ERR_TIMING or KASP_ERR_NOMEM. */
int kasp_policy_from_yaml(yaml_document_t *doc, yaml_node_t *node, kasp_policy_t *out, char *err,
                          size_t errlen);

/* Reads the file at path, whose top level is a mapping with one key,
 * "policies", a list of policies (kasp_policy_from_yaml each). On success
 * *out is an array of *n policies in file order (NULL if none), owned by the
 * caller (kasp_policies_free). On failure *out and *n are untouched, err
 * says "PATH:LINE: ..." ("PATH: reason" if unreadable); returns the
 * statuses of kasp_policy_from_yaml, KASP_ERR_IO, or KASP_ERR_DUPLICATE for
 * two policies of one name. Thread-safe (reads only the file). */
int kasp_policies_load_file(const char *path, kasp_policy_t **out, size_t *n, char *err,
                            size_t errlen);

/* Checks what does not depend on a zone. KASP_ERR_VALUE: an unsupported
 * algorithm; RSA bits not 2048, 3072 or 4096 (what the token generates), or
 * bits for another algorithm; NSEC3 iterations above 100 (RFC 9276 section
 * 3.2: validators may treat more as insecure); a salt that is not hex or
 * longer than 255 octets; a parental agent that is not "ip" or "ip@port"
 * (port 1..65535); CDS digests other than 2 and 4, repeated, or none while
 * CDS is published; a poll interval under 1m; RFC 5011 with double-DS (the
 * new KSK must be published beside the old one for the hold-down) or an add
 * hold-down under 30d; an empty or malformed name (NULL is allowed);
 * durations above KASP_POLICY_MAX_SECONDS. KASP_ERR_TIMING: effective
 * validity (validity - inception_offset - jitter, the least time a new RRSIG
 * lasts; also for dnskey_validity) not above refresh; inception_offset +
 * validity + jitter not below 2^31; refresh not above the largest TTL
 * (max_zone_ttl, dnskey_ttl, cds_ttl) plus zone_propagation_delay (an RRSIG
 * kept until refresh could expire in a cache); a key lifetime (nonzero)
 * shorter than its role's rollover (kasp_policy_rollover_time). err gets
 * "policy 'NAME': FIELD: reason". Pure; thread-safe. */
int kasp_policy_check(const kasp_policy_t *p, char *err, size_t errlen);

/* Checks a zone against the policy: KASP_ERR_ZONE when the zone's largest
 * data TTL (zone_max_ttl, seconds) is above max_zone_ttl under ttl_policy
 * refuse (under cap the loader lowers it), or when refresh is below
 * soa_expire (seconds) plus the largest TTL the policy allows (max_zone_ttl,
 * dnskey_ttl, cds_ttl): a secondary cut off from the signer serves the zone
 * until EXPIRE and resolvers cache what it served that long, so every RRSIG
 * must outlive both. The policy's bound is used rather than zone_max_ttl,
 * since a lowered TTL counts only once the old one has run out. err gets
 * "policy 'NAME': FIELD: reason". Pure; thread-safe. */
int kasp_policy_check_zone(const kasp_policy_t *p, uint32_t soa_expire, uint32_t zone_max_ttl,
                           char *err, size_t errlen);

/* The keys of role, or NULL when the policy does not use the role (KSK and
 * ZSK under a CSK policy, CSK otherwise). Borrowed from p. */
const kasp_policy_key_t *kasp_policy_key(const kasp_policy_t *p, kasp_policy_role_t role);

/* The phases of one rollover of role, in relative seconds, after RFC 7583
 * (the safety margins are 0). With Dprp = zone_propagation_delay, TTLkey =
 * dnskey_ttl, TTLsig = max_zone_ttl, Dsgn = validity - refresh + jitter (at
 * least 0; lazy re-signing replaces an old RRSIG only when it expires within
 * refresh, so the last one the old key made is gone after Dsgn; the
 * inception offset is left out, which only lengthens Dsgn):
 *
 *   Ikey = Dprp + TTLkey                  a DNSKEY RRset change reaches every cache
 *   Isig = Dsgn + Dprp + TTLsig           the old key's data RRSIGs are gone
 *   Ids  = poll_interval + parent_propagation_delay + parent_ds_ttl
 *                                         a DS change is seen (two polls a poll
 *                                         interval apart) and reaches every cache
 *   Ihold, Irev = add_hold_down, remove_hold_down with rfc5011, else 0
 *
 *   ZSK (pre-publication, RFC 7583 3.2.1):  ipub = Ikey           iswap = 0
 *                                           iret = Isig
 *   KSK double-KSK (3.3.1):  ipub = Ikey + Ihold   iswap = Ids   iret = Ikey + Irev
 *   KSK double-DS (3.3.2):   ipub = Ids            iswap = Ikey  iret = Ids
 *   CSK double-KSK:  ipub = Ikey + Ihold       iswap = max(Ids, Isig)  iret = Ikey + Irev
 *   CSK double-DS:   ipub = max(Ids, Ikey)     iswap = Isig            iret = max(Ids, Ikey)
 *
 * A KSK or CSK rollover ends when the old DNSKEY (or DS) has left every
 * cache, so that the next one starts from a clean state; a ZSK's ends at its
 * removal (RFC 7583: Lzsk >= Ipub + Iret). For a CSK the DNSKEY swap and the
 * signature swap run at once: the longer decides. KASP_ERR_INVAL when p
 * does not use role; else KASP_OK and *out. Pure; thread-safe. */
int kasp_policy_rollover(const kasp_policy_t *p, kasp_policy_role_t role,
                         kasp_policy_rollover_t *out);

/* The total of kasp_policy_rollover() in seconds, or -1 when p does not use
 * role. A key whose lifetime is shorter would need its successor before its
 * own rollover is over. Pure; thread-safe. */
int64_t kasp_policy_rollover_time(const kasp_policy_t *p, kasp_policy_role_t role);

/* Parses a parental agent, "ip" or "ip@port" (IPv4 or IPv6 text as
 * inet_pton takes it, port 1..65535, default 53): true with *family
 * (AF_INET, AF_INET6), addr (4 or 16 octets written) and *port, or false
 * (nothing written). Pure; thread-safe. */
bool kasp_policy_parse_agent(const char *s, int *family, uint8_t addr[16], uint16_t *port);

/* Static text: "KSK", "ZSK", "CSK"; "double_ksk", "double_ds"; "refuse",
 * "cap" (the YAML spelling). */
const char *kasp_policy_role_str(kasp_policy_role_t role);
const char *kasp_policy_ksk_roll_str(kasp_policy_ksk_roll_t roll);
const char *kasp_policy_ttl_str(kasp_policy_ttl_t ttl);

#endif
