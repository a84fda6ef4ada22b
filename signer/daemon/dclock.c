#include "signer/daemon/dclock.h"

#include <time.h>

void dclock_init(dclock_t *c)
{
	atomic_init(&c->offset, 0);
	atomic_init(&c->jump, 0);
}

int64_t dclock_now(const dclock_t *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + atomic_load(&c->offset) + atomic_load(&c->jump);
}

void dclock_set_offset(dclock_t *c, int64_t offset)
{
	atomic_store(&c->offset, offset);
}

int64_t dclock_offset(const dclock_t *c)
{
	return atomic_load(&c->offset);
}

void dclock_set_jump(dclock_t *c, int64_t jump)
{
	atomic_store(&c->jump, jump);
}

int64_t dclock_skew(const dclock_t *c)
{
	struct timespec wall, mono;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	/* The offset is in both clocks: it cancels out; the jump stays. */
	return (int64_t)wall.tv_sec - (int64_t)mono.tv_sec + atomic_load(&c->jump);
}
