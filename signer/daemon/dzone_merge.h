/*
 * dzone_merge: a run of incremental changes of one zone merged into their
 * net effect, so that a pass applies a queue of changes with one
 * zone_delta_apply (which walks the whole version) rather than one per
 * change: the difference between tens and thousands of changes per second
 * on a large zone.
 *
 * The changes are followed in order, record by record, against the version
 * and what the earlier changes of the run did: each removal must find its
 * record, the from-serials must chain. The net delta then says, per RRset
 * touched, which records go, which come and the TTL of the last record added
 * (IXFR's rule). Zone-wide checks (CNAME beside other data, the apex...) are
 * left to zone_delta_apply over the net delta: a run that fails them as a
 * whole is applied change by change by the caller, which finds the culprit.
 *
 * Pure: borrows everything for the call; no state; thread-safe.
 */
#ifndef SIGNER_DAEMON_DZONE_MERGE_H
#define SIGNER_DAEMON_DZONE_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "signer/daemon/dzone.h"
#include "signer/zone/zone.h"
#include "signer/zone/zone_diff.h"

/* Merges the leading changes of list (linked by next) that can be followed
 * record by record against z, whose input serial is input_serial: sets
 * *taken to how many (0 if the first cannot be taken), *last_serial to the
 * to-serial of the last taken, and *out (empty on entry, zone_delta_init)
 * to their net effect, SOA included (the last SOA given, or the zone's with
 * the last to-serial). Stops before the first change of another kind, with
 * a from-serial out of step, a record outside the zone or of a DNSSEC type,
 * malformed RDATA, or a removal of a record that is not there: the caller
 * applies that one alone (and gets its exact error). Returns ZONE_OK or
 * ZONE_ERR_NOMEM (then *out is to be deinit'ed). */
int dzone_merge(const zone_t *z, const dzone_change_t *list, uint32_t input_serial, size_t *taken,
                uint32_t *last_serial, zone_delta_t *out);

#endif
