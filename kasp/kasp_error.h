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
} kasp_status_t;

/* Static text for a status (also for hsm statuses and -errno values). */
const char *kasp_strerror(int status);

#endif
