/*
 * dclock: the daemon's wall clock, UNIX seconds. Real time plus an offset
 * that tests move (ClockSet, allowed only with server.test_clock) to travel
 * in time: signatures near expiry, a week with the HSM down.
 *
 * Owned by main; every function is thread-safe (one atomic).
 */
#ifndef SIGNER_DAEMON_DCLOCK_H
#define SIGNER_DAEMON_DCLOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
	atomic_int_least64_t offset; /* seconds added to the real time */
	atomic_int_least64_t jump;   /* seconds added to the wall clock only (a test's
	                              * simulated system clock jump) */
} dclock_t;

void dclock_init(dclock_t *c);
/* Now, absolute UNIX seconds. */
int64_t dclock_now(const dclock_t *c);
/* Sets the offset from the real time (seconds). */
void dclock_set_offset(dclock_t *c, int64_t offset);
int64_t dclock_offset(const dclock_t *c);

/* The wall clock minus the monotonic clock (the offset cancels out, the
 * jump stays): it moves only when the wall clock jumps. The key manager
 * compares it between its runs to tell time that passed from a clock that
 * jumped. */
int64_t dclock_skew(const dclock_t *c);

/* Sets the simulated jump (seconds added to dclock_now only). */
void dclock_set_jump(dclock_t *c, int64_t jump);

#endif
