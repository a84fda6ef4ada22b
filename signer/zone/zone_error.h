/*
 * zone_error: status codes of the zone library (signer/zone/).
 *
 * Every function of the library that can fail returns a zone_status_t
 * (ZONE_OK = 0, failures negative in -1200..-1299, or -errno for system
 * failures). The library never logs: the caller decides what to print.
 * Later modules of the library add their codes here, in this range.
 *
 * Thread-safety: zone_strerror() reads static text only; safe anywhere (for
 * -errno values it returns strerror()'s text, as hsm_strerror() does).
 */
#ifndef SIGNER_ZONE_ZONE_ERROR_H
#define SIGNER_ZONE_ZONE_ERROR_H

typedef enum {
	ZONE_OK = 0,
	ZONE_ERR_NOMEM = -1200,       /* out of memory */
	ZONE_ERR_NAME_SYNTAX = -1201, /* bad escape, empty label, empty name, "@" without origin */
	ZONE_ERR_LABEL_TOO_LONG = -1202, /* a label longer than 63 octets */
	ZONE_ERR_NAME_TOO_LONG = -1203,  /* a name longer than 255 octets in wire form */
	ZONE_ERR_BUFFER = -1204,         /* output buffer too small */
	ZONE_ERR_RRSET_TOO_BIG = -1205,  /* more RRs or bytes than one RRset can hold */
	ZONE_ERR_RDATA = -1206,          /* malformed RDATA for its type */
	ZONE_ERR_DUPLICATE_TYPE = -1207, /* two RRsets of one type at one name */
	ZONE_ERR_INVAL = -1208,          /* invalid argument */
	ZONE_ERR_DUPLICATE_NAME = -1209, /* two nodes for one name */
	ZONE_ERR_OUT_OF_ZONE = -1210,    /* a name outside the zone */
	/* Zone input (zone_builder, zone_load, zone_generate): -1230.. */
	ZONE_ERR_SYNTAX = -1230,        /* zone file syntax error */
	ZONE_ERR_UNKNOWN_TYPE = -1231,  /* unknown RR type mnemonic */
	ZONE_ERR_TTL = -1232,           /* bad TTL, or above 2^31 - 1 (RFC 2181 section 8) */
	ZONE_ERR_CLASS = -1233,         /* class other than IN */
	ZONE_ERR_NO_SOA = -1234,        /* no SOA record at the apex */
	ZONE_ERR_DUPLICATE_SOA = -1235, /* more than one SOA record */
	ZONE_ERR_SOA_NOT_APEX = -1236,  /* SOA record below the apex */
	ZONE_ERR_NO_APEX_NS = -1237,    /* no NS RRset at the apex */
	ZONE_ERR_CNAME = -1238,         /* CNAME beside other data */
	ZONE_ERR_SINGLETON = -1239,     /* more than one CNAME or DNAME record at a name */
	ZONE_ERR_INCLUDE = -1240,    /* $INCLUDE file unreadable, nested too deep, or not allowed */
	ZONE_ERR_GENERATE = -1241,   /* malformed $GENERATE directive */
	ZONE_ERR_NOT_DNSKEY = -1242, /* a DNSKEY file holds no DNSKEY, or other records */
	/* Versions, deltas, snapshots, journal (zone_diff, zone_snap, zone_journal). */
	ZONE_ERR_NO_SUCH_RR = -1243,     /* a delta removes a record the zone does not have */
	ZONE_ERR_CORRUPT = -1244,        /* snapshot or journal fails its checks */
	ZONE_ERR_JOURNAL_SERIAL = -1245, /* delta does not start at the journal's last serial */
	ZONE_ERR_ORPHAN_RRSIG = -1246,   /* RRSIGs left over a type the name does not have */
} zone_status_t;

/* Static text for a status (also for -errno values). */
const char *zone_strerror(int status);

#endif
