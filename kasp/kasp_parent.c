#include "kasp/kasp_parent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libknot/libknot.h>

#include "kasp/kasp_error.h"
#include "kasp/kasp_policy.h"

#define DEFAULT_TIMEOUT_MS 3000
#define QUERY_MAX          512
#define ANSWER_MAX         65535

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

/* Sets a->status and a one-line detail. */
static void fail(kasp_parent_answer_t *a, int status, const char *what)
{
	a->status = status;
	a->reachable = false;
	snprintf(a->detail, sizeof(a->detail), "%s: %s: %s", a->agent, what, kasp_strerror(status));
}

static int make_sockaddr(const char *agent, struct sockaddr_storage *ss, socklen_t *len)
{
	int family;
	uint8_t addr[16];
	uint16_t port;
	if (!kasp_policy_parse_agent(agent, &family, addr, &port)) {
		return KASP_ERR_PARENT_AGENT;
	}
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		*len = sizeof(*sin6);
	}
	return KASP_OK;
}

/* Builds the query ZONE/DS/IN with a random ID (no RD; EDNS with DO when
 * udp_size is not 0). Returns the packet or NULL (out of memory, bad name). */
static knot_pkt_t *build_query(const knot_dname_t *qname, uint16_t udp_size, uint16_t *id)
{
	knot_pkt_t *q = knot_pkt_new(NULL, QUERY_MAX, NULL);
	if (q == NULL) {
		return NULL;
	}
	uint16_t rid = 0;
	if (getrandom(&rid, sizeof(rid), 0) != (ssize_t)sizeof(rid)) {
		rid = (uint16_t)(now_ms() ^ getpid());
	}
	knot_wire_set_id(q->wire, rid);
	knot_wire_clear_rd(q->wire);
	if (knot_pkt_put_question(q, qname, KNOT_CLASS_IN, KNOT_RRTYPE_DS) != KNOT_EOK) {
		goto fail;
	}
	if (udp_size != 0) {
		knot_rrset_t opt;
		if (knot_edns_init(&opt, udp_size, 0, 0, NULL) != KNOT_EOK) {
			goto fail;
		}
		knot_edns_set_do(&opt);
		int r = knot_pkt_begin(q, KNOT_ADDITIONAL);
		if (r == KNOT_EOK) {
			r = knot_pkt_put(q, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_FREE);
		}
		if (r != KNOT_EOK) {
			knot_rrset_clear(&opt, NULL);
			goto fail;
		}
	}
	*id = rid;
	return q;
fail:
	knot_pkt_free(q);
	return NULL;
}

/* Parses an answer into a (rcode, AA, DS records). Returns KASP_OK,
 * KASP_ERR_PARENT_MALFORMED (not an answer to our question) or
 * KASP_ERR_NOMEM. *tc is set to the TC bit. */
static int parse_answer(kasp_parent_answer_t *a, uint8_t *wire, size_t len, uint16_t id,
                        const knot_dname_t *qname, bool *tc)
{
	if (len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_id(wire) != id ||
	    !knot_wire_get_qr(wire)) {
		return KASP_ERR_PARENT_MALFORMED;
	}
	*tc = knot_wire_get_tc(wire);
	knot_pkt_t *p = knot_pkt_new(wire, (uint16_t)len, NULL);
	if (p == NULL) {
		return KASP_ERR_NOMEM;
	}
	int ret = KASP_ERR_PARENT_MALFORMED;
	int r = knot_pkt_parse(p, 0);
	if (r != KNOT_EOK && r != KNOT_ETRAIL) {
		/* A truncated answer may end in the middle of a record: the
		 * question is enough to go on over TCP. */
		if (!*tc || knot_pkt_parse_question(p) != KNOT_EOK) {
			goto out;
		}
	}
	if (knot_pkt_qname(p) == NULL || !knot_dname_is_case_equal(knot_pkt_qname(p), qname) ||
	    knot_pkt_qtype(p) != KNOT_RRTYPE_DS || knot_pkt_qclass(p) != KNOT_CLASS_IN) {
		goto out;
	}
	a->rcode = knot_wire_get_rcode(wire);
	a->authoritative = knot_wire_get_aa(wire);
	if (*tc) {
		ret = KASP_OK;
		goto out;
	}
	const knot_pktsection_t *an = knot_pkt_section(p, KNOT_ANSWER);
	size_t n = 0;
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type == KNOT_RRTYPE_DS && knot_dname_is_case_equal(rr->owner, qname)) {
			n += rr->rrs.count;
		}
	}
	if (n > 0) {
		a->ds = calloc(n, sizeof(*a->ds));
		if (a->ds == NULL) {
			ret = KASP_ERR_NOMEM;
			goto out;
		}
	}
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type != KNOT_RRTYPE_DS || !knot_dname_is_case_equal(rr->owner, qname)) {
			continue;
		}
		for (uint16_t j = 0; j < rr->rrs.count; j++) {
			const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, j);
			if (rd->len < 4) {
				continue; /* libknot refuses these; never trust it blindly */
			}
			kasp_parent_ds_t *ds = &a->ds[a->nds];
			ds->key_tag = knot_ds_key_tag(rd);
			ds->algorithm = knot_ds_alg(rd);
			ds->digest_type = knot_ds_digest_type(rd);
			ds->digest_len = knot_ds_digest_len(rd);
			ds->digest = malloc(ds->digest_len > 0 ? ds->digest_len : 1);
			if (ds->digest == NULL) {
				ret = KASP_ERR_NOMEM;
				goto out;
			}
			memcpy(ds->digest, knot_ds_digest(rd), ds->digest_len);
			a->nds++;
		}
	}
	ret = KASP_OK;
out:
	knot_pkt_free(p);
	return ret;
}

static int open_socket(const struct sockaddr_storage *ss, socklen_t sslen, int type,
                       int64_t deadline)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (const struct sockaddr *)ss, sslen) != 0) {
		if (errno != EINPROGRESS) {
			int e = -errno;
			close(fd);
			return e;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r;
		do {
			r = poll(&pfd, 1, remaining_ms(deadline));
		} while (r < 0 && errno == EINTR);
		int soerr = 0;
		socklen_t l = sizeof(soerr);
		if (r == 0) {
			close(fd);
			return KASP_ERR_PARENT_TIMEOUT;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) != 0 || soerr != 0) {
			int e = r < 0 ? -errno : soerr != 0 ? -soerr : -errno;
			close(fd);
			return e;
		}
	}
	return fd;
}

/* Waits until fd is readable (or writable) or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	for (;;) {
		int r = poll(&pfd, 1, remaining_ms(deadline));
		if (r > 0) {
			return KASP_OK;
		}
		if (r == 0) {
			return KASP_ERR_PARENT_TIMEOUT;
		}
		if (errno != EINTR) {
			return -errno;
		}
	}
}

/* UDP exchange: sends q, resends at a third of the time left, keeps the first
 * reply that answers q. Returns KASP_OK with *tc, or why not. */
static int ask_udp(kasp_parent_answer_t *a, const struct sockaddr_storage *ss, socklen_t sslen,
                   const knot_pkt_t *q, uint16_t id, const knot_dname_t *qname, uint8_t *buf,
                   int64_t deadline, bool *tc, const char **what)
{
	*what = "udp";
	int fd = open_socket(ss, sslen, SOCK_DGRAM, deadline);
	if (fd < 0) {
		return fd;
	}
	int ret = KASP_ERR_PARENT_TIMEOUT;
	int64_t start = now_ms();
	int64_t resend = start;
	int64_t step = (deadline - start) / 3;
	for (;;) {
		if (now_ms() >= resend) {
			if (send(fd, q->wire, q->size, 0) < 0) {
				ret = -errno;
				goto out;
			}
			resend = now_ms() + (step > 0 ? step : 1);
		}
		int64_t until = resend < deadline ? resend : deadline;
		int r = wait_fd(fd, POLLIN, until);
		if (r == KASP_ERR_PARENT_TIMEOUT) {
			if (now_ms() >= deadline) {
				ret = r;
				goto out;
			}
			continue;
		}
		if (r != KASP_OK) {
			ret = r;
			goto out;
		}
		ssize_t n = recv(fd, buf, ANSWER_MAX, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			ret = -errno; /* e.g. ECONNREFUSED: ICMP port unreachable */
			goto out;
		}
		r = parse_answer(a, buf, (size_t)n, id, qname, tc);
		if (r == KASP_ERR_PARENT_MALFORMED) {
			ret = r; /* remembered; a matching answer may still come */
			continue;
		}
		ret = r;
		goto out;
	}
out:
	close(fd);
	return ret;
}

static int io_all(int fd, uint8_t *p, size_t len, bool writing, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		int r = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
		if (r != KASP_OK) {
			return r;
		}
		ssize_t n = writing ? send(fd, p + done, len - done, MSG_NOSIGNAL)
		                    : recv(fd, p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			return KASP_ERR_PARENT_TRUNCATED;
		}
		done += (size_t)n;
	}
	return KASP_OK;
}

/* TCP exchange with the 2-octet length prefix (RFC 1035 4.2.2). */
static int ask_tcp(kasp_parent_answer_t *a, const struct sockaddr_storage *ss, socklen_t sslen,
                   const knot_pkt_t *q, uint16_t id, const knot_dname_t *qname, uint8_t *buf,
                   int64_t deadline, const char **what)
{
	*what = "tcp";
	int fd = open_socket(ss, sslen, SOCK_STREAM, deadline);
	if (fd < 0) {
		return fd;
	}
	uint8_t out[2 + QUERY_MAX];
	knot_wire_write_u16(out, (uint16_t)q->size);
	memcpy(out + 2, q->wire, q->size);
	int ret = io_all(fd, out, 2 + q->size, true, deadline);
	uint8_t lenbuf[2];
	if (ret == KASP_OK) {
		ret = io_all(fd, lenbuf, 2, false, deadline);
	}
	size_t len = 0;
	if (ret == KASP_OK) {
		len = knot_wire_read_u16(lenbuf);
		ret = io_all(fd, buf, len, false, deadline);
	}
	if (ret == KASP_OK) {
		bool tc = false;
		ret = parse_answer(a, buf, len, id, qname, &tc);
		if (ret == KASP_OK && tc) {
			ret = KASP_ERR_PARENT_TRUNCATED;
		}
	}
	close(fd);
	return ret;
}

static void clear_ds(kasp_parent_answer_t *a)
{
	for (size_t i = 0; i < a->nds; i++) {
		free(a->ds[i].digest);
	}
	free(a->ds);
	a->ds = NULL;
	a->nds = 0;
}

/* Asks one agent; the outcome is in a (status, detail). Returns KASP_OK or
 * KASP_ERR_NOMEM (the only failure that ends the poll). */
static int ask_agent(kasp_parent_answer_t *a, const knot_dname_t *qname,
                     const kasp_parent_opts_t *o, uint8_t *buf)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int r = make_sockaddr(a->agent, &ss, &sslen);
	if (r != KASP_OK) {
		fail(a, r, "address");
		return KASP_OK;
	}
	int64_t deadline = now_ms() + o->timeout_ms;
	uint16_t id = 0;
	knot_pkt_t *q = build_query(qname, o->udp_size, &id);
	if (q == NULL) {
		return KASP_ERR_NOMEM;
	}
	const char *what = "udp";
	bool tc = false;
	r = ask_udp(a, &ss, sslen, q, id, qname, buf, deadline, &tc, &what);
	if (r == KASP_OK && tc) {
		clear_ds(a);
		r = ask_tcp(a, &ss, sslen, q, id, qname, buf, deadline, &what);
		a->via_tcp = true;
	}
	knot_pkt_free(q);
	if (r == KASP_ERR_NOMEM) {
		return r;
	}
	if (r != KASP_OK) {
		clear_ds(a);
		a->rcode = 0;
		a->authoritative = false;
		fail(a, r, what);
		return KASP_OK;
	}
	a->status = KASP_OK;
	a->reachable = true;
	a->detail[0] = '\0';
	return KASP_OK;
}

int kasp_parent_poll(const char *const *agents, size_t nagents, const char *zone,
                     const kasp_parent_opts_t *opts, kasp_parent_result_t *out)
{
	if (agents == NULL || nagents == 0 || zone == NULL || out == NULL) {
		return KASP_ERR_INVAL;
	}
	for (size_t i = 0; i < nagents; i++) {
		if (agents[i] == NULL) {
			return KASP_ERR_INVAL;
		}
	}
	kasp_parent_opts_t o = KASP_PARENT_OPTS_DEFAULT;
	if (opts != NULL) {
		o = *opts;
		if (o.timeout_ms == 0) {
			o.timeout_ms = DEFAULT_TIMEOUT_MS;
		}
	}
	knot_dname_storage_t qname;
	if (zone[0] == '\0' || knot_dname_from_str(qname, zone, sizeof(qname)) == NULL) {
		return KASP_ERR_PARENT_NAME;
	}
	knot_dname_to_lower(qname);

	kasp_parent_result_t r = {0};
	int ret = KASP_ERR_NOMEM;
	uint8_t *buf = malloc(ANSWER_MAX);
	r.answers = calloc(nagents, sizeof(*r.answers));
	if (buf == NULL || r.answers == NULL) {
		goto fail;
	}
	r.nanswers = nagents;
	for (size_t i = 0; i < nagents; i++) {
		r.answers[i].agent = strdup(agents[i]);
		if (r.answers[i].agent == NULL) {
			goto fail;
		}
	}
	for (size_t i = 0; i < nagents; i++) {
		ret = ask_agent(&r.answers[i], qname, &o, buf);
		if (ret != KASP_OK) {
			goto fail;
		}
	}
	free(buf);
	*out = r;
	return KASP_OK;
fail:
	free(buf);
	kasp_parent_result_deinit(&r);
	return ret;
}

void kasp_parent_result_deinit(kasp_parent_result_t *r)
{
	if (r == NULL) {
		return;
	}
	for (size_t i = 0; i < r->nanswers; i++) {
		clear_ds(&r->answers[i]);
		free(r->answers[i].agent);
	}
	free(r->answers);
	r->answers = NULL;
	r->nanswers = 0;
}

static bool usable(const kasp_parent_answer_t *a)
{
	return a->status == KASP_OK && a->reachable && a->authoritative &&
	       (a->rcode == KNOT_RCODE_NOERROR || a->rcode == KNOT_RCODE_NXDOMAIN);
}

static bool has_ds(const kasp_parent_answer_t *a, uint16_t key_tag, uint8_t algorithm,
                   uint8_t digest_type, const uint8_t *digest, size_t digest_len)
{
	for (size_t i = 0; i < a->nds; i++) {
		const kasp_parent_ds_t *d = &a->ds[i];
		if (d->key_tag == key_tag && d->algorithm == algorithm &&
		    d->digest_type == digest_type && d->digest_len == digest_len &&
		    (digest_len == 0 || memcmp(d->digest, digest, digest_len) == 0)) {
			return true;
		}
	}
	return false;
}

kasp_parent_ds_state_t kasp_parent_ds_state(const kasp_parent_result_t *r, uint16_t key_tag,
                                            uint8_t algorithm, uint8_t digest_type,
                                            const uint8_t *digest, size_t digest_len)
{
	if (r == NULL || r->nanswers == 0 || (digest == NULL && digest_len > 0)) {
		return KASP_PARENT_DS_UNKNOWN;
	}
	size_t with = 0;
	for (size_t i = 0; i < r->nanswers; i++) {
		const kasp_parent_answer_t *a = &r->answers[i];
		if (!usable(a)) {
			return KASP_PARENT_DS_UNKNOWN;
		}
		if (has_ds(a, key_tag, algorithm, digest_type, digest, digest_len)) {
			with++;
		}
	}
	if (with == r->nanswers) {
		return KASP_PARENT_DS_PRESENT;
	}
	return with == 0 ? KASP_PARENT_DS_ABSENT : KASP_PARENT_DS_MIXED;
}

const char *kasp_parent_ds_state_str(kasp_parent_ds_state_t s)
{
	switch (s) {
	case KASP_PARENT_DS_PRESENT:
		return "present";
	case KASP_PARENT_DS_ABSENT:
		return "absent";
	case KASP_PARENT_DS_MIXED:
		return "mixed";
	case KASP_PARENT_DS_UNKNOWN:
	default:
		return "unknown";
	}
}

void kasp_parent_evidence_init(kasp_parent_evidence_t *ev, int64_t poll_interval)
{
	memset(ev, 0, sizeof(*ev));
	ev->poll_interval = poll_interval > 0 ? poll_interval : 0;
	ev->state = KASP_PARENT_DS_UNKNOWN;
}

kasp_parent_ds_state_t kasp_parent_evidence_add(kasp_parent_evidence_t *ev,
                                                kasp_parent_ds_state_t state, int64_t now)
{
	bool decisive = state == KASP_PARENT_DS_PRESENT || state == KASP_PARENT_DS_ABSENT;
	bool polled = ev->polls > 0;
	if (!decisive || !polled || state != ev->state || now < ev->last_poll) {
		/* A new run (or no run at all): the evidence starts over. */
		ev->state = state;
		ev->run_start = now;
		ev->established = false;
		ev->established_at = 0;
	} else if (!ev->established && now - ev->run_start >= ev->poll_interval) {
		ev->established = true;
		ev->established_at = now;
	}
	ev->last_poll = now;
	ev->polls++;
	return kasp_parent_evidence_state(ev, NULL);
}

kasp_parent_ds_state_t kasp_parent_evidence_state(const kasp_parent_evidence_t *ev, int64_t *since)
{
	if (ev == NULL || !ev->established) {
		return KASP_PARENT_DS_UNKNOWN;
	}
	if (since != NULL) {
		*since = ev->established_at;
	}
	return ev->state;
}
