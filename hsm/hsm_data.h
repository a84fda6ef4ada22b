/*
 * hsm_data: small named records kept in a token, such as the fencing epoch of
 * active/standby signers that share one token (both nodes see the record; a
 * returning old active finds it moved on and stops).
 *
 * A record is one CKO_DATA object: CKA_TOKEN, CKA_PRIVATE (visible only after
 * login), CKA_MODIFIABLE, CKA_APPLICATION "signer", CKA_LABEL the record's
 * name, CKA_VALUE the caller's bytes (at most HSM_DATA_VALUE_MAX), and
 * CKA_OBJECT_ID the OID 2.25.U.GEN.NONCE: 2.25.U (X.667, a fixed UUID) names
 * the type, GEN is the object's generation, NONCE is random per write.
 *
 * Replacing. PKCS#11 does not let a data object's CKA_VALUE be changed
 * (SoftHSM answers C_SetAttributeValue with CKR_ATTRIBUTE_READ_ONLY), so a
 * write creates a new object one generation above the greatest it listed,
 * then destroys the objects below it. The record is never absent during a
 * write; a crash between the two steps leaves an older object that the next
 * write removes and that readers ignore.
 *
 * Duplicates. PKCS#11 cannot create an object only if none exists, so two
 * nodes writing at once may leave two objects of one generation. Every write
 * keeps the greatest by (generation, value length, value bytes, nonce) and
 * destroys the rest; readers take the greatest. That order uses only what
 * every node sees (object handles are per process and cannot be compared
 * across nodes; creation time is not an attribute), so all nodes keep the
 * same object whichever of them cleans up. Between simultaneous writers the
 * greater value wins: encode values so that the later state compares greater
 * (a fencing epoch as fixed-width big-endian first, then the writer's
 * identity). Objects of the label made by another writer (no generation)
 * rank below ours; exact copies among them are left, not destroyed.
 *
 * Compare-and-set is as safe as the token allows, not atomic: see
 * hsm_data_cas().
 *
 * Labels and values are borrowed for the call. Each call leases a control
 * session (retried through hsm_session_run; a lost login is redone, and an
 * absent record is believed only while logged in). All functions are
 * thread-safe; the token itself is the only shared state.
 */
#ifndef HSM_HSM_DATA_H
#define HSM_HSM_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_error.h"
#include "hsm/hsm_token.h"

#define HSM_DATA_VALUE_MAX   1024     /* bytes of CKA_VALUE we write */
#define HSM_DATA_LABEL_MAX   128      /* label buffer size: at most 127 bytes */
#define HSM_DATA_APPLICATION "signer" /* CKA_APPLICATION of our records */

/* Reads record label into out (cap bytes), its length into *len, and sets
 * *found; an absent record is *found false (len untouched). Returns HSM_OK,
 * HSM_ERR_INVAL (label empty or too long), HSM_ERR_BUFFER (detail says the
 * size needed), or the cause. */
int hsm_data_read(hsm_token_t *token, const char *label, uint8_t *out, size_t cap, size_t *len,
                  bool *found, hsm_detail_t *d);

/* Creates record label or replaces its value (a new generation, older and
 * duplicate objects removed, as above). Last writer wins; between two
 * simultaneous writers, the greater value.
 * len may be 0. Returns HSM_OK, HSM_ERR_INVAL, HSM_ERR_DATA_TOO_BIG (len >
 * HSM_DATA_VALUE_MAX; nothing written), or the cause. */
int hsm_data_write(hsm_token_t *token, const char *label, const uint8_t *value, size_t len,
                   hsm_detail_t *d);

/* Compare-and-set: writes value only if the record's value equals expect
 * (expect_absent false) or the record is absent (expect_absent true; expect
 * ignored). *swapped says whether our object is the record's greatest after
 * the write, read back from the token (found by its nonce, not its value); a
 * mismatch is *swapped false, not an error, and writes nothing. Steps: read,
 * compare, create (generation + 1), read back, remove the objects below the
 * greatest (ours too if we lost). A retry after a lost reply finds our object
 * by its nonce and does not compare again.
 *
 * Limits (PKCS#11 has no transactions): writers A and B that both read the
 * old value before either creates both pass the compare and create objects
 * of the same generation; the greater value survives. A writer that reads
 * back after both creations learns the truth; but if A reads back before B
 * creates, A is told *swapped true, and then B too if B's value is greater,
 * and A's object is destroyed. The window is B's time between its read and
 * its create (microseconds on SoftHSM, a round trip on a network HSM,
 * unbounded if B's process is paused there). So a fencing caller must put its
 * identity in the value, re-read the record before each act it fences
 * (signing, key generation), and after seizing wait longer than any node's
 * re-read interval before acting.
 *
 * Returns HSM_OK, HSM_ERR_INVAL, HSM_ERR_DATA_TOO_BIG (value or expect), or
 * the cause (then the write may or may not have happened: read to know). */
int hsm_data_cas(hsm_token_t *token, const char *label, const uint8_t *expect, size_t expect_len,
                 bool expect_absent, const uint8_t *value, size_t len, bool *swapped,
                 hsm_detail_t *d);

/* Destroys record label (every object of that label); deleting an absent
 * record is HSM_OK. Returns HSM_OK, HSM_ERR_INVAL, or the cause. */
int hsm_data_delete(hsm_token_t *token, const char *label, hsm_detail_t *d);

#endif
