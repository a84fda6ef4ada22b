/*
 * kasp_error: status codes of the KASP library (kasp/): policies now; the
 * rollover planner, key states and their store later.
 *
 * Every function of the library that can fail returns a kasp_status_t
 * (KASP_OK = 0, failures negative in -1100..-1199), a status of the hsm
 * library passed through where it failed (-1000..-1099), or -errno for
 * system failures. Where the operator needs the cause (the policy, the field,
 * the file and line), functions also take an err buffer. The library never
 * logs: the caller decides what to print.
 *
 * Blocks of the range: -1100..-1119 shared and policy codes (kasp_policy);
 * later modules add their codes here from -1120 (planner and key states),
 * and -1160 (store), so that a status names the module that failed.
 *
 * Thread-safety: kasp_strerror() reads static text only; safe anywhere (for
 * -errno values it returns strerror()'s text, as hsm_strerror() does).
 */
#ifndef KASP_KASP_ERROR_H
#define KASP_KASP_ERROR_H

typedef enum {
	KASP_OK = 0,
	KASP_ERR_NOMEM = -1100,     /* out of memory */
	KASP_ERR_INVAL = -1101,     /* invalid argument (NULL, or a role the policy has not) */
	KASP_ERR_IO = -1102,        /* a policy file cannot be read */
	KASP_ERR_SYNTAX = -1103,    /* not YAML, or not the expected shape (mapping, list) */
	KASP_ERR_VALUE = -1104,     /* a key or value refused: unknown key, bad duration,
	                             * unsupported algorithm, key size, address, digest */
	KASP_ERR_DUPLICATE = -1105, /* two policies of one name, or a key given twice */
	KASP_ERR_TIMING = -1106,    /* timing that could let signatures expire or break a
	                             * rollover: validity, refresh, key lifetime */
	KASP_ERR_ZONE = -1107,      /* a zone does not fit the policy: its TTLs, SOA EXPIRE */
	/* kasp_parent (-1140..-1149): polling the parental agents */
	KASP_ERR_PARENT_NAME = -1140,      /* the zone is not a domain name */
	KASP_ERR_PARENT_AGENT = -1141,     /* an agent is not "ip" or "ip@port" */
	KASP_ERR_PARENT_TIMEOUT = -1142,   /* no answer from an agent within the timeout */
	KASP_ERR_PARENT_MALFORMED = -1143, /* an answer libknot cannot parse, or one
	                                    * that does not answer the question */
	KASP_ERR_PARENT_TRUNCATED = -1144, /* the TCP answer is truncated too, or the
	                                    * connection closed before a whole answer */
	/* kasp_export: -1150..-1159 */
	KASP_ERR_EXPORT_NAME = -1150,   /* a zone name that is not a valid domain name */
	KASP_ERR_EXPORT_DIGEST = -1151, /* DS digest types empty, unknown or given twice */
	KASP_ERR_EXPORT_DNSKEY = -1152, /* DNSKEY RDATA malformed, revoked, or not the key's
	                                 * (algorithm, tag) */
	/* -1160..: the store (kasp_db); kasp_db_error() gives the detail */
	KASP_ERR_DB = -1160,         /* SQLite failed (not a database, I/O, constraint) */
	KASP_ERR_DB_SCHEMA = -1161,  /* the store's schema is newer than this code, or unknown */
	KASP_ERR_DB_TXN = -1162,     /* a write outside a transaction, or one begun twice */
	KASP_ERR_DB_EXISTS = -1163,  /* the zone or key is in the store already */
	KASP_ERR_DB_MISSING = -1164, /* a write names a zone or key the store has not */
	KASP_ERR_DB_KEYS = -1165,    /* the zone still has keys not purged from their token */
	KASP_ERR_DB_BUSY = -1166,    /* another connection held the store's lock too long */
} kasp_status_t;

/* Static text for a status (also for hsm statuses and -errno values). */
const char *kasp_strerror(int status);

#endif
