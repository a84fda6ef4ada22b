/*
 * dname: domain names in uncompressed wire form (RFC 1035 3.1).
 *
 * A name is a sequence of labels, each a length octet (1..63) followed by that
 * many octets, ended by the root label (a zero octet); at most 255 octets in
 * all. Every name is absolute. Octets are compared ASCII case-insensitively
 * (RFC 4343); other octets, including those above 0x7f, compare exactly.
 *
 * There is no name object: a name is a plain octet buffer owned by whoever
 * holds it (a zone version's arena, the stack). Every function here borrows
 * its arguments for the call and keeps no pointer, except dname_parent(),
 * which returns a pointer into its argument. Apart from dname_from_str(),
 * every function expects a valid wire name (as dname_from_str() or the zone
 * loader make them) and does not check it again.
 *
 * Thread-safety: no state; functions are safe to call concurrently, as long as
 * no thread writes a name (dname_to_lower()) that another is reading.
 */
#ifndef SIGNER_ZONE_DNAME_H
#define SIGNER_ZONE_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name in wire form, in octets, root label included. */
#define DNAME_MAXLEN 255
/* Longest label, in octets, length octet excluded. */
#define DNAME_LABEL_MAXLEN 63
/* Most labels a name can have, root excluded (127 one-octet labels). */
#define DNAME_MAXLABELS 127
/* Buffer size that holds any name in presentation form, NUL included: at most
 * 1004 characters (three 63-octet labels and one of 61, every octet as \DDD). */
#define DNAME_STR_MAXLEN 1005

/* Converts a name in presentation form (one token of a zone file) to wire form
 * in out (cap octets; DNAME_MAXLEN always suffices) and sets *len (if non-NULL)
 * to its length. "\DDD" (three decimal digits, at most 255) and "\X" (X taken
 * literally) are escapes; any other character is taken as it is. "." is the
 * root; "@" alone is origin; a name without a trailing dot is relative and
 * gets origin (a wire name) appended, or is taken as absolute if origin is
 * NULL. Returns ZONE_ERR_NAME_SYNTAX (bad or truncated escape, empty label,
 * empty text, "@" with a NULL origin), ZONE_ERR_LABEL_TOO_LONG,
 * ZONE_ERR_NAME_TOO_LONG (also after appending origin) or ZONE_ERR_BUFFER;
 * out and *len are written only on success. */
int dname_from_str(const char *text, const uint8_t *origin, uint8_t *out, size_t cap, size_t *len);

/* Writes name in presentation form, always absolute ("example.com.", "." for
 * the root), NUL-terminated, into out (cap bytes; DNAME_STR_MAXLEN always
 * suffices). Case is preserved. The octets . \ " ; ( ) @ $ are written as
 * "\X"; octets outside 0x21..0x7e (space, control, 8-bit) as "\DDD", so the
 * text reads back with dname_from_str() to the same name, even as a zone file
 * token. Returns ZONE_ERR_BUFFER (out unchanged) if cap is too small. */
int dname_to_str(const uint8_t *name, char *out, size_t cap);

/* Length of name in octets, root label included (1 for the root). */
size_t dname_length(const uint8_t *name);

/* Number of labels of name, root excluded (0 for the root). */
int dname_labels(const uint8_t *name);

/* Whether the first label of name is "*" (RFC 4592). */
bool dname_is_wildcard(const uint8_t *name);

/* The Labels field of an RRSIG over name (RFC 4034 3.1.3): its labels, the
 * root and a leading "*" not counted. */
int dname_rrsig_labels(const uint8_t *name);

/* Lowercases the ASCII letters A-Z of name in place; other octets unchanged. */
void dname_to_lower(uint8_t *name);

/* Whether a and b are the same name, ASCII case-insensitively. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* Orders a and b canonically (RFC 4034 6.1): label by label from the root,
 * each label as an octet string with A-Z lowercased, a label that is a prefix
 * of the other first, a name that runs out of labels first. Returns a
 * negative value, 0 (equal, case aside) or a positive value. Allocates
 * nothing; usable as a qsort() comparator through a wrapper. */
int dname_canonical_cmp(const uint8_t *a, const uint8_t *b);

/* Whether name is parent or below it, on label boundaries, case-insensitively
 * ("www.Example." is under "example.", "bexample." is not; every name is under
 * the root). */
bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent);

/* The name one label up ("example." for "www.example."): a pointer into name.
 * NULL for the root. */
const uint8_t *dname_parent(const uint8_t *name);

/* A 32-bit hash of name, case-insensitive (FNV-1a over the lowercased wire
 * form): names that dname_equal() calls equal hash alike. Not keyed: do not
 * use it where an attacker choosing names could flood one bucket. */
uint32_t dname_hash(const uint8_t *name);

#endif
