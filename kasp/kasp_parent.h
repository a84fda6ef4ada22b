/*
 * kasp_parent: evidence from the parent for a rollover step: polls the
 * parental agents for a zone's DS RRset and judges whether a given DS is
 * present at all of them, absent at all, or neither.
 *
 * kasp_parent_poll() asks every agent ("ip" or "ip@port", IPv4 or IPv6,
 * default port 53) for ZONE/DS/IN over UDP, and again over TCP (2-octet
 * length prefix) when the UDP answer is truncated. All DNS encoding and
 * decoding goes through libknot's packet API. Agents are asked one after the
 * other, each within timeout_ms, so a poll takes at most nagents * timeout_ms.
 * The answers are kept per agent: reachable or why not, RCODE, AA, and the DS
 * records of the answer section.
 *
 * One poll is not evidence. The rule of issue 5: a DS counts as seen (or as
 * gone) only when two polls at least a poll interval apart both find it
 * present (or absent) at every agent, with no other result between them;
 * then the caller still waits the parent's DS TTL plus its propagation delay.
 * kasp_parent_ds_state() judges one poll; kasp_parent_evidence_t combines
 * successive judgements with their times.
 *
 * Life cycle and ownership: kasp_parent_result_t is caller storage filled by
 * kasp_parent_poll() (the answers it allocates are the caller's, released by
 * kasp_parent_result_deinit()). The agent strings and zone name are borrowed
 * for the call. kasp_parent_evidence_t is a plain value.
 *
 * Threading: no global state. kasp_parent_poll() blocks (sockets, poll(2));
 * calls on distinct results may run in parallel. The other functions are
 * pure and thread-safe on distinct (or unshared const) arguments. The module
 * never logs: answers carry a status and a one-line detail for the operator.
 */
#ifndef KASP_KASP_PARENT_H
#define KASP_KASP_PARENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One DS record as an agent returned it. */
typedef struct {
	uint16_t key_tag;
	uint8_t algorithm;
	uint8_t digest_type;
	uint16_t digest_len;
	uint8_t *digest; /* digest_len octets, owned by the result */
} kasp_parent_ds_t;

/* What one parental agent answered. */
typedef struct {
	char *agent;          /* copy of the agent string as given */
	int status;           /* KASP_OK when an answer was parsed; else why not:
	                       * KASP_ERR_PARENT_*, or -errno of a socket call */
	char detail[160];     /* one line for the operator ("" when status is OK) */
	bool reachable;       /* an answer came back (status OK) */
	bool via_tcp;         /* the answer came over TCP (the UDP one was truncated) */
	bool authoritative;   /* AA set in the answer */
	uint8_t rcode;        /* header RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED) */
	kasp_parent_ds_t *ds; /* DS records of the answer section owned by the zone */
	size_t nds;
} kasp_parent_answer_t;

/* The result of one poll: one answer per agent, in the order given. */
typedef struct {
	kasp_parent_answer_t *answers;
	size_t nanswers;
} kasp_parent_result_t;

/* Query options. */
typedef struct {
	uint32_t timeout_ms; /* per agent, UDP and TCP together; 0 = 3000 */
	uint16_t udp_size;   /* EDNS UDP payload size with the DO bit; 0 = no EDNS
	                      * (answers above 512 octets then come over TCP) */
} kasp_parent_opts_t;

/* Defaults: timeout 3000 ms, EDNS with 1232 octets and DO. */
#define KASP_PARENT_OPTS_DEFAULT ((kasp_parent_opts_t){.timeout_ms = 3000, .udp_size = 1232})

/* Polls every agent for zone's DS RRset (zone in presentation form, "child.
 * example." or without the final dot). Returns KASP_OK with *out filled (an
 * agent that failed is an answer with its status, not a failure of the
 * call), KASP_ERR_INVAL (NULL argument, no agents), KASP_ERR_PARENT_NAME
 * (zone not a domain name) or KASP_ERR_NOMEM; *out is written only on
 * success. opts may be NULL (defaults). Blocks; thread-safe. */
int kasp_parent_poll(const char *const *agents, size_t nagents, const char *zone,
                     const kasp_parent_opts_t *opts, kasp_parent_result_t *out);

/* Frees what kasp_parent_poll() allocated in r and zeroes it; NULL is a no-op. */
void kasp_parent_result_deinit(kasp_parent_result_t *r);

/* A DS judged against one poll. */
typedef enum {
	KASP_PARENT_DS_UNKNOWN = 0, /* some agent gave no usable answer (unreachable,
	                             * not authoritative, RCODE other than NOERROR or
	                             * NXDOMAIN), or no agents */
	KASP_PARENT_DS_PRESENT,     /* every agent has it */
	KASP_PARENT_DS_ABSENT,      /* no agent has it */
	KASP_PARENT_DS_MIXED,       /* some agents have it, others not */
} kasp_parent_ds_state_t;

/* Whether the DS (key tag, algorithm, digest type and the exact digest) is
 * at every agent of r. UNKNOWN wins over MIXED: an agent without a usable
 * answer says nothing. A usable answer is reachable, AA, and NOERROR or
 * NXDOMAIN. One poll is not evidence: combine two a poll interval apart
 * (kasp_parent_evidence_t). Pure; thread-safe. */
kasp_parent_ds_state_t kasp_parent_ds_state(const kasp_parent_result_t *r, uint16_t key_tag,
                                            uint8_t algorithm, uint8_t digest_type,
                                            const uint8_t *digest, size_t digest_len);

/* Static text: "unknown", "present", "absent", "mixed". */
const char *kasp_parent_ds_state_str(kasp_parent_ds_state_t s);

/* Successive judgements of one DS, with their times. Plain value; fields are
 * read-only for the caller (use the functions). Times are absolute, in
 * seconds (UNIX time as the caller's clock gives it); the interval is
 * relative, in seconds. */
typedef struct {
	int64_t poll_interval;        /* seconds between the two consistent polls, >= 0 */
	kasp_parent_ds_state_t state; /* of the current run of equal polls */
	int64_t run_start;            /* time of the first poll of the run */
	int64_t last_poll;            /* time of the last poll (when polls > 0) */
	uint64_t polls;               /* polls added since init */
	bool established;             /* the run spans two polls >= poll_interval apart */
	int64_t established_at;       /* time of the poll that established it */
} kasp_parent_evidence_t;

/* Starts a tracker with no polls. */
void kasp_parent_evidence_init(kasp_parent_evidence_t *ev, int64_t poll_interval);

/* Adds the judgement of a poll made at now. A state other than the run's (or
 * UNKNOWN or MIXED, or a clock that went back) starts a new run at now: the
 * evidence is reset. Returns the established state after the poll: PRESENT
 * or ABSENT once a later poll of the run is at least poll_interval after its
 * first one, else UNKNOWN. Pure; not thread-safe on one ev. */
kasp_parent_ds_state_t kasp_parent_evidence_add(kasp_parent_evidence_t *ev,
                                                kasp_parent_ds_state_t state, int64_t now);

/* The established state (PRESENT or ABSENT) or UNKNOWN; if since is not NULL
 * and the state is established, *since is the time of the poll that
 * established it (the parent's DS TTL plus propagation delay count from
 * there). Pure; thread-safe on an unshared ev. */
kasp_parent_ds_state_t kasp_parent_evidence_state(const kasp_parent_evidence_t *ev, int64_t *since);

#endif
