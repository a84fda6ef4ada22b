/*
 * zone_generate: BIND's $GENERATE directive, which libzscanner lacks:
 *
 *   $GENERATE start-stop[/step] lhs [ttl] [class] type rhs
 *
 * makes one record per value from start to stop (0 <= start <= stop <=
 * 2^31-1, step >= 1): lhs and rhs with each "$" replaced by the value, or
 * "${offset[,width[,base]]}" by value + offset written in base d (decimal), o
 * (octal), x or X (hex), n or N (nibbles: hex digits in reverse order, one
 * label each, as in ip6.arpa), zero-padded to width characters (labels and
 * dots counted for nibbles). "\$" and "$$" stand for a literal "$"; other
 * backslash escapes pass through. ttl and class (IN only) may come in either
 * order. rhs is the rest of the line up to a comment: it may hold several
 * fields (e.g. "10 mail$" for MX); quotes are kept as they are.
 *
 * The directive is parsed once (zone_generate_parse) into an object that
 * writes the zone file text of its i-th record (zone_generate_line), which
 * the loader feeds to libzscanner: the records are checked like any others.
 * An object is immutable after parsing: safe to read from several threads.
 */
#ifndef SIGNER_ZONE_ZONE_GENERATE_H
#define SIGNER_ZONE_ZONE_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most records one directive may make. */
#define ZONE_GENERATE_MAX_RECORDS 1000000u

typedef struct zone_generate zone_generate_t;

/* Parses the arguments of a $GENERATE directive: text (len bytes, not
 * necessarily NUL-terminated, borrowed) is what follows "$GENERATE" on its
 * line, up to the newline; a ";" comment may end it. Returns ZONE_OK with
 * *out (zone_generate_free), ZONE_ERR_GENERATE (with the reason in why, why_cap
 * bytes, NUL-terminated, if why is non-NULL), ZONE_ERR_CLASS (a class other
 * than IN) or ZONE_ERR_NOMEM. */
int zone_generate_parse(const char *text, size_t len, zone_generate_t **out, char *why,
                        size_t why_cap);

/* Number of records the directive makes (at least 1). */
size_t zone_generate_count(const zone_generate_t *g);

/* The value of the i-th record (start + i * step). */
uint32_t zone_generate_value(const zone_generate_t *g, size_t i);

/* Longest line zone_generate_line() can write, NUL included. */
size_t zone_generate_line_max(const zone_generate_t *g);

/* Writes the i-th record (i < count) as one zone file line ending in "\n",
 * NUL-terminated, into buf (cap bytes; zone_generate_line_max() suffice) and
 * sets *len (if non-NULL) to its length without the NUL. Returns ZONE_OK or
 * ZONE_ERR_BUFFER. */
int zone_generate_line(const zone_generate_t *g, size_t i, char *buf, size_t cap, size_t *len);

/* Frees; NULL is a no-op. */
void zone_generate_free(zone_generate_t *g);

/* Token helpers shared with the loader. Whether the n bytes at t are a TTL
 * as zone files write it (a number, or numbers with units s m h d w, as
 * "1h30m"), at most 2^32 - 1 seconds. */
bool zone_generate_is_ttl(const char *t, size_t n);

/* Whether the n bytes at t are a class mnemonic (IN CH CS HS NONE ANY, or
 * CLASSnnn), any case. */
bool zone_generate_is_class(const char *t, size_t n);

#endif
