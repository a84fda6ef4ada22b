#include "signer/daemon/zonemgr.h"

#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signer/daemon/log.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_write.h"

/* Changes a zone may have queued before feeders wait. */
#define QUEUE_MAX 65536
/* Changes taken into one pass (one serial). */
#define PASS_MAX 65536

typedef struct entry {
	dzone_t *zone;
	unsigned refs;           /* zonemgr_get references + 1 while in the table */
	bool removed;            /* out of the table; freed with the last reference */
	bool ready;              /* in the FIFO */
	bool busy;               /* a pass thread has it */
	bool due;                /* the scheduler found its next event passed */
	Signer__V1__Alarm alarm; /* last alarm logged */
	dzone_change_t *head, *tail;
	size_t queued;
	struct entry *next_ready;
	struct entry *next_gone;
} entry_t;

typedef struct sub {
	uint64_t handle;
	zonemgr_event_fn fn;
	void *ctx;
	struct sub *next;
} sub_t;

typedef struct event {
	char *zone;
	uint32_t serial, previous;
	int64_t published_at;
	dzone_version_t *version; /* for the output file */
	struct event *next;
} event_t;

struct zonemgr {
	zonemgr_params_t p;
	dzone_env_t env;
	atomic_bool stop;

	pthread_mutex_t mu;   /* guards the fields down to the next comment */
	pthread_cond_t work;  /* the FIFO got a zone, or stop */
	pthread_cond_t space; /* a queue has room again */
	pthread_cond_t sched; /* wakes the scheduler */
	entry_t **entries;
	size_t count, cap;
	entry_t *gone; /* removed entries still referenced, linked by next_gone */
	entry_t *ready_head, *ready_tail;
	bool kicked;
	int64_t sched_next; /* when the scheduler wakes next (daemon time) */

	pthread_mutex_t nmu; /* guards the fields down to the next comment */
	pthread_cond_t ncond;
	event_t *events, *events_tail;
	sub_t *subs;
	uint64_t next_handle;
	bool notifying; /* the notifier runs a callback now */

	pthread_mutex_t ship_mu; /* one ship at a time (the thread, a step-down) */
	pthread_cond_t ship_cond;
	bool ship_started;
	pthread_t ship_thread;

	pthread_t *pass_threads;
	size_t npass;
	pthread_t sched_thread, notify_thread, probe_thread;
	bool started;
	atomic_bool probe_done; /* the probe thread (detached) has finished */
};

/* --- table --- */

static bool name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.') {
		la--;
	}
	if (lb > 1 && b[lb - 1] == '.') {
		lb--;
	}
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* With m->mu held. */
static entry_t *find(zonemgr_t *m, const char *name)
{
	for (size_t i = 0; i < m->count; i++) {
		if (name_eq(dzone_name(m->entries[i]->zone), name)) {
			return m->entries[i];
		}
	}
	return NULL;
}

/* With m->mu held: the entry of z, in the table or (any) among the removed. */
static entry_t *entry_of(zonemgr_t *m, const dzone_t *z, bool any)
{
	for (size_t i = 0; i < m->count; i++) {
		if (m->entries[i]->zone == z) {
			return m->entries[i];
		}
	}
	for (entry_t *e = m->gone; any && e != NULL; e = e->next_gone) {
		if (e->zone == z) {
			return e;
		}
	}
	return NULL;
}

static int table_add(zonemgr_t *m, dzone_t *z)
{
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		entry_t **e = realloc(m->entries, cap * sizeof(*e));
		if (e == NULL) {
			return -1;
		}
		m->entries = e;
		m->cap = cap;
	}
	entry_t *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		return -1;
	}
	e->zone = z;
	e->refs = 1;
	m->entries[m->count++] = e;
	return 0;
}

static void entry_free(entry_t *e)
{
	dzone_free(e->zone);
	free(e);
}

/* With m->mu held. A removed entry stays on the gone list until its last
 * reference goes, so that zonemgr_release still finds it. */
static void unref(zonemgr_t *m, entry_t *e)
{
	if (--e->refs > 0) {
		return;
	}
	for (entry_t **p = &m->gone; *p != NULL; p = &(*p)->next_gone) {
		if (*p == e) {
			*p = e->next_gone;
			break;
		}
	}
	entry_free(e);
}

/* With m->mu held: puts e at the end of the FIFO. */
static void make_ready(zonemgr_t *m, entry_t *e)
{
	if (e->ready || e->busy || e->removed) {
		return;
	}
	e->ready = true;
	e->refs++;
	e->next_ready = NULL;
	if (m->ready_tail != NULL) {
		m->ready_tail->next_ready = e;
	} else {
		m->ready_head = e;
	}
	m->ready_tail = e;
	pthread_cond_signal(&m->work);
}

/* --- events and output --- */

static void queue_event(zonemgr_t *m, dzone_t *z, uint32_t previous)
{
	dzone_version_t *v = dzone_current(z);
	if (v == NULL) {
		return;
	}
	event_t *ev = calloc(1, sizeof(*ev));
	if (ev == NULL || (ev->zone = strdup(dzone_name(z))) == NULL) {
		free(ev);
		dzone_version_unref(v);
		return;
	}
	ev->serial = v->serial;
	ev->previous = previous;
	ev->published_at = v->published_at;
	ev->version = v;
	pthread_mutex_lock(&m->nmu);
	/* Only the newest version of a zone needs its file written. */
	for (event_t *o = m->events; o != NULL; o = o->next) {
		if (o->version != NULL && strcmp(o->zone, ev->zone) == 0) {
			dzone_version_unref(o->version);
			o->version = NULL;
		}
	}
	if (m->events_tail != NULL) {
		m->events_tail->next = ev;
	} else {
		m->events = ev;
	}
	m->events_tail = ev;
	pthread_cond_signal(&m->ncond);
	pthread_mutex_unlock(&m->nmu);
}

/* Runs the notify command with %z, %f, %s replaced; no shell. */
static void run_notify(const char *cmd, const char *zone, const char *file, uint32_t serial)
{
	char serial_s[16];
	snprintf(serial_s, sizeof(serial_s), "%u", serial);
	char *copy = strdup(cmd);
	if (copy == NULL) {
		return;
	}
	char *argv[64];
	size_t argc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, " \t", &save); tok != NULL && argc < 63;
	     tok = strtok_r(NULL, " \t", &save)) {
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	/* Substitutions become whole arguments or parts of them. */
	char *built[64] = {0};
	for (size_t i = 0; i < argc; i++) {
		char buf[4096];
		size_t n = 0;
		for (const char *p = argv[i]; *p != '\0' && n + 1 < sizeof(buf); p++) {
			const char *sub = NULL;
			if (p[0] == '%' && p[1] == 'z') {
				sub = zone;
			} else if (p[0] == '%' && p[1] == 'f') {
				sub = file;
			} else if (p[0] == '%' && p[1] == 's') {
				sub = serial_s;
			} else if (p[0] == '%' && p[1] == '%') {
				sub = "%";
			}
			if (sub != NULL) {
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", sub);
				if (n >= sizeof(buf)) {
					n = sizeof(buf) - 1;
				}
				p++;
			} else {
				buf[n++] = *p;
			}
		}
		buf[n] = '\0';
		built[i] = strdup(buf);
	}
	pid_t pid = argc > 0 ? fork() : -1;
	if (pid == 0) {
		execvp(built[0], built);
		_exit(127);
	}
	if (pid > 0) {
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			log_zone(LOG_WARNING, zone, "notify command failed (status %d)",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
	}
	for (size_t i = 0; i < argc; i++) {
		free(built[i]);
	}
	free(copy);
}

static void write_output(zonemgr_t *m, const event_t *ev)
{
	const config_t *cfg = m->p.config;
	char path[4096];
	path[0] = '\0';
	if (cfg->output_dir != NULL && ev->version != NULL) {
		const char *name = ev->zone;
		size_t len = strlen(name);
		if (strcmp(name, ".") == 0) {
			snprintf(path, sizeof(path), "%s/root.zone", cfg->output_dir);
		} else {
			snprintf(path, sizeof(path), "%s/%.*szone", cfg->output_dir, (int)len,
			         name);
		}
		if (strchr(name, '/') != NULL) {
			log_zone(LOG_WARNING, name, "no output file for a name with '/'");
			return;
		}
		mkdir(cfg->output_dir, 0755);
		int st = zone_write_file(ev->version->zone, path);
		if (st != ZONE_OK) {
			log_zone(LOG_ERR, name, "writing %s: %s", path, zone_strerror(st));
			return;
		}
	}
	if (cfg->notify_command != NULL && ev->version != NULL) {
		run_notify(cfg->notify_command, ev->zone, path, ev->serial);
	}
}

static void *notify_main(void *arg)
{
	zonemgr_t *m = arg;
	pthread_setname_np(pthread_self(), "notify");
	pthread_mutex_lock(&m->nmu);
	for (;;) {
		while (m->events == NULL && !atomic_load(&m->stop)) {
			pthread_cond_wait(&m->ncond, &m->nmu);
		}
		event_t *ev = m->events;
		if (ev == NULL) {
			break;
		}
		m->events = ev->next;
		if (m->events == NULL) {
			m->events_tail = NULL;
		}
		m->notifying = true;
		pthread_mutex_unlock(&m->nmu);
		write_output(m, ev);
		pthread_mutex_lock(&m->nmu);
		for (sub_t *s = m->subs; s != NULL; s = s->next) {
			s->fn(s->ctx, ev->zone, ev->serial, ev->previous, ev->published_at);
		}
		m->notifying = false;
		pthread_cond_broadcast(&m->ncond);
		dzone_version_unref(ev->version);
		free(ev->zone);
		free(ev);
	}
	/* Unsent events at shutdown: files still written (the last state). */
	while (m->events != NULL) {
		event_t *ev = m->events;
		m->events = ev->next;
		pthread_mutex_unlock(&m->nmu);
		write_output(m, ev);
		pthread_mutex_lock(&m->nmu);
		dzone_version_unref(ev->version);
		free(ev->zone);
		free(ev);
	}
	m->events_tail = NULL;
	pthread_mutex_unlock(&m->nmu);
	return NULL;
}

uint64_t zonemgr_subscribe(zonemgr_t *m, zonemgr_event_fn fn, void *ctx)
{
	sub_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return 0;
	}
	s->fn = fn;
	s->ctx = ctx;
	pthread_mutex_lock(&m->nmu);
	s->handle = ++m->next_handle;
	s->next = m->subs;
	m->subs = s;
	pthread_mutex_unlock(&m->nmu);
	return s->handle;
}

void zonemgr_unsubscribe(zonemgr_t *m, uint64_t handle)
{
	pthread_mutex_lock(&m->nmu);
	/* Callbacks run with nmu held: once we hold it, none is running. */
	for (sub_t **p = &m->subs; *p != NULL; p = &(*p)->next) {
		if ((*p)->handle == handle) {
			sub_t *s = *p;
			*p = s->next;
			free(s);
			break;
		}
	}
	pthread_mutex_unlock(&m->nmu);
}

/* --- passes --- */

static void check_alarm(entry_t *e, int64_t now);

static void *pass_main(void *arg)
{
	zonemgr_t *m = arg;
	static atomic_uint seq;
	char name[16];
	snprintf(name, sizeof(name), "pass/%u", atomic_fetch_add(&seq, 1));
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (m->ready_head == NULL && !atomic_load(&m->stop)) {
			pthread_cond_wait(&m->work, &m->mu);
		}
		if (atomic_load(&m->stop)) {
			break;
		}
		entry_t *e = m->ready_head;
		m->ready_head = e->next_ready;
		if (m->ready_head == NULL) {
			m->ready_tail = NULL;
		}
		e->ready = false;
		if (e->removed) {
			unref(m, e);
			continue;
		}
		e->busy = true;
		e->due = false;
		/* Take up to PASS_MAX changes. */
		dzone_change_t *list = e->head, *last = NULL;
		size_t n = 0;
		for (dzone_change_t *c = e->head; c != NULL && n < PASS_MAX; c = c->next) {
			last = c;
			n++;
		}
		if (last != NULL) {
			e->head = last->next;
			last->next = NULL;
			if (e->head == NULL) {
				e->tail = NULL;
			}
			e->queued -= n;
			pthread_cond_broadcast(&m->space);
		} else {
			list = NULL;
		}
		pthread_mutex_unlock(&m->mu);

		dzone_version_t *before = dzone_current(e->zone);
		uint32_t previous = before != NULL ? before->serial : 0;
		dzone_version_unref(before);
		bool retry = false;
		int64_t now = dclock_now(m->p.clock);
		if (dzone_pass(e->zone, list, now, &m->stop, &retry)) {
			queue_event(m, e->zone, previous);
		}

		pthread_mutex_lock(&m->mu);
		e->busy = false;
		/* This zone only: due again at once, or sooner than the scheduler
		 * looks next (a scan of every zone at each pass's end would cost
		 * zones x passes). */
		int64_t t = dzone_next_event(e->zone);
		int64_t after = dclock_now(m->p.clock);
		check_alarm(e, after); /* its alarm, at once rather than at the next scan */
		if (!e->removed && (e->head != NULL || t <= after)) {
			make_ready(m, e);
		} else if (t < m->sched_next) {
			pthread_cond_signal(&m->sched);
		}
		unref(m, e); /* the FIFO's reference */
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* --- scheduler --- */

static void check_alarm(entry_t *e, int64_t now)
{
	Signer__V1__Alarm a = dzone_alarm(e->zone, now);
	if (a == e->alarm) {
		return;
	}
	dzone_version_t *v = dzone_current(e->zone);
	int64_t left = v != NULL ? v->earliest_expiration - now : 0;
	dzone_version_unref(v);
	if (a == SIGNER__V1__ALARM__CRITICAL) {
		log_zone(LOG_CRIT, dzone_name(e->zone),
		         "CRITICAL: the earliest signature expires in %lld s and could not be "
		         "refreshed",
		         (long long)left);
	} else if (a == SIGNER__V1__ALARM__WARNING) {
		log_zone(LOG_WARNING, dzone_name(e->zone),
		         "WARNING: the earliest signature expires in %lld s and could not be "
		         "refreshed yet",
		         (long long)left);
	} else {
		log_zone(LOG_NOTICE, dzone_name(e->zone), "signature expiry alarm cleared");
	}
	e->alarm = a;
}

static void *sched_main(void *arg)
{
	zonemgr_t *m = arg;
	pthread_setname_np(pthread_self(), "sched");
	pthread_mutex_lock(&m->mu);
	while (!atomic_load(&m->stop)) {
		int64_t now = dclock_now(m->p.clock);
		int64_t next = now + 60; /* alarms are checked at least each minute */
		for (size_t i = 0; i < m->count; i++) {
			entry_t *e = m->entries[i];
			check_alarm(e, now);
			int64_t t = dzone_next_event(e->zone);
			if (t <= now) {
				if (!e->busy) {
					make_ready(m, e);
				}
			} else if (t < next) {
				next = t;
			}
		}
		m->kicked = false;
		m->sched_next = next;
		/* Sleep in real time, at most until the next event in daemon time
		 * (a clock change kicks us, a pass that ends sooner signals). */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wait = next - now;
		if (wait < 1) {
			wait = 1;
		}
		ts.tv_sec += (time_t)wait;
		while (!m->kicked && !atomic_load(&m->stop)) {
			if (pthread_cond_timedwait(&m->sched, &m->mu, &ts) == ETIMEDOUT) {
				break;
			}
			/* A pass ended with its zone's next event sooner. */
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

void zonemgr_kick(zonemgr_t *m)
{
	pthread_mutex_lock(&m->mu);
	m->kicked = true;
	pthread_cond_signal(&m->sched);
	pthread_mutex_unlock(&m->mu);
}

/* --- the HSM at start --- */

/* Connects every token once at start ("probe"), so that status tells an
 * unreachable HSM at once rather than at the first signature; the zones are
 * served meanwhile, and the passes retry on their own schedule. */
static void *probe_main(void *arg)
{
	zonemgr_t *m = arg;
	pthread_setname_np(pthread_self(), "probe");
	for (size_t i = 0; i < hsm_ctx_count(m->p.hsm) && !atomic_load(&m->stop); i++) {
		hsm_token_t *t = hsm_ctx_token_at(m->p.hsm, i);
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int st = hsm_token_connect(t, &d);
		if (st == HSM_OK) {
			log_info("token %s: up", hsm_token_name(t));
		} else {
			char buf[256];
			log_err("token %s: cannot connect (zones are served; signing waits): %s",
			        hsm_token_name(t), hsm_detail_format(st, &d, buf, sizeof(buf)));
		}
	}
	atomic_store(&m->probe_done, true);
	return NULL;
}

/* --- public --- */

int zonemgr_new(const zonemgr_params_t *p, zonemgr_t **out, char *err, size_t errlen)
{
	zonemgr_t *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->p = *p;
	m->env.hsm = p->hsm;
	m->env.state_dir = p->config->state_dir;
	m->env.journal_limits.max_entries = p->config->journal_max_entries;
	m->env.journal_limits.max_bytes = p->config->journal_max_bytes;
	m->env.journal_limits.max_age = p->config->journal_max_age;
	m->env.threads = p->config->threads;
	m->env.kasp = p->kasp;
	m->env.fence = p->fence;
	atomic_init(&m->stop, false);
	atomic_init(&m->probe_done, false);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->work, NULL);
	pthread_cond_init(&m->space, NULL);
	pthread_cond_init(&m->sched, NULL);
	pthread_mutex_init(&m->nmu, NULL);
	pthread_cond_init(&m->ncond, NULL);
	pthread_mutex_init(&m->ship_mu, NULL);
	pthread_cond_init(&m->ship_cond, NULL);
	if (mkdir(p->config->state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "state directory %s: %s", p->config->state_dir,
		         strerror(errno));
		zonemgr_free(m);
		return -1;
	}
	char zones[4096], marker[4096 + 16];
	snprintf(marker, sizeof(marker), "%s/" ZONEMGR_RESTORED, p->config->state_dir);
	FILE *mf = fopen(marker, "r");
	if (mf != NULL) {
		unsigned long bump = 0;
		if (fscanf(mf, "serial_bump %lu", &bump) != 1 || bump == 0 || bump >= 1ul << 31) {
			bump = 1ul << 16;
		}
		fclose(mf);
		m->env.restore_bump = (uint32_t)bump;
		log_notice("state restored from a backup: every zone's serial jumps by %lu", bump);
	}
	snprintf(zones, sizeof(zones), "%s/zones", p->config->state_dir);
	mkdir(zones, 0700);
	DIR *d = opendir(zones);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", zones, strerror(errno));
		zonemgr_free(m);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		char dir[4096 + 256], zerr[512];
		snprintf(dir, sizeof(dir), "%s/%s", zones, de->d_name);
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			continue;
		}
		dzone_t *z = NULL;
		if (dzone_open(&m->env, dir, &z, zerr, sizeof(zerr)) != 0) {
			log_err("zone state in %s not loaded: %s", dir, zerr);
			continue;
		}
		if (table_add(m, z) != 0) {
			dzone_free(z);
			continue;
		}
		dzone_version_t *v = dzone_current(z);
		if (v != NULL) {
			log_zone(LOG_INFO, dzone_name(z),
			         "serving serial %u (%llu records) from %s", v->serial,
			         (unsigned long long)v->records, dir);
		} else {
			log_zone(LOG_INFO, dzone_name(z), "loaded, nothing published yet");
		}
		dzone_version_unref(v);
	}
	closedir(d);
	if (m->env.restore_bump > 0) {
		char kerr[512];
		if (p->kasp != NULL && dkasp_after_restore(p->kasp, kerr, sizeof(kerr)) != 0) {
			snprintf(err, errlen, "after the restore: %s", kerr);
			zonemgr_free(m);
			return -1;
		}
		/* The zones carry their floors now; a restart does not bump again. */
		unlink(marker);
	}
	*out = m;
	return 0;
}

typedef struct {
	const char *dir;
	FILE *manifest;
	int ret;
	char *err;
	size_t errlen;
} backup_ctx_t;

static void backup_zone(void *ctx, dzone_t *z)
{
	backup_ctx_t *b = ctx;
	if (b->ret != 0) {
		return;
	}
	b->ret = dzone_backup(z, b->dir, b->err, b->errlen);
	dzone_version_t *v = dzone_current(z);
	fprintf(b->manifest, "zone %s serial %u%s%s\n", dzone_name(z), v != NULL ? v->serial : 0,
	        dzone_policy(z) != NULL ? " policy " : "",
	        dzone_policy(z) != NULL ? dzone_policy(z)->name : "");
	dzone_version_unref(v);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Ships the state (ship_mu held): ship_dir/state-EPOCH-SEQ, then LATEST
 * names it, then the fencing record says SEQ. The two before the newest
 * stay; older ones go. */
static int ship_locked(zonemgr_t *m, char *name, size_t namelen, char *err, size_t errlen)
{
	const config_t *c = m->p.config;
	dfence_value_t v = dfence_value(m->p.fence);
	uint64_t seq = v.state + 1;
	snprintf(name, namelen, "state-%" PRIu64 "-%" PRIu64, v.epoch, seq);
	char dir[4096 + 96], tmp[4096 + 32], latest[4096 + 32];
	mkdir(c->cluster_ship_dir, 0700);
	snprintf(dir, sizeof(dir), "%s/%s", c->cluster_ship_dir, name);
	char *manifest = NULL;
	if (zonemgr_backup(m, dir, &manifest, err, errlen) != 0) {
		return -1;
	}
	free(manifest);
	snprintf(tmp, sizeof(tmp), "%s/" DFENCE_LATEST ".tmp", c->cluster_ship_dir);
	snprintf(latest, sizeof(latest), "%s/" DFENCE_LATEST, c->cluster_ship_dir);
	FILE *f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%s\n", name) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
	    rename(tmp, latest) != 0) {
		snprintf(err, errlen, "%s: %s", latest, strerror(errno));
		if (f != NULL) {
			fclose(f);
		}
		return -1;
	}
	fclose(f);
	if (dfence_note_shipped(m->p.fence, seq, err, errlen) != 0) {
		return -1;
	}
	if (seq > 3) {
		/* The ship three before goes (best effort). */
		char old[4096 + 96];
		snprintf(old, sizeof(old), "%s/state-%" PRIu64 "-%" PRIu64, c->cluster_ship_dir,
		         v.epoch, seq - 3);
		nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	return 0;
}

int zonemgr_ship(zonemgr_t *m, bool final, char *name, size_t namelen, char *err, size_t errlen)
{
	if (m->p.fence == NULL) {
		snprintf(err, errlen, "no cluster: in the configuration");
		return -1;
	}
	pthread_mutex_lock(&m->ship_mu);
	if (final) {
		dfence_step_down(m->p.fence);
		/* Passes that began before the step-down finish first. */
		for (int i = 0; i < 600; i++) {
			bool busy = false;
			pthread_mutex_lock(&m->mu);
			for (size_t j = 0; j < m->count; j++) {
				busy = busy || m->entries[j]->busy;
			}
			pthread_mutex_unlock(&m->mu);
			if (!busy) {
				break;
			}
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	int ret = ship_locked(m, name, namelen, err, errlen);
	pthread_mutex_unlock(&m->ship_mu);
	if (ret == 0) {
		log_notice("state shipped to %s/%s%s", m->p.config->cluster_ship_dir, name,
		           final ? " (final: this node stepped down)" : "");
	}
	return ret;
}

static void *ship_main(void *arg)
{
	zonemgr_t *m = arg;
	pthread_setname_np(pthread_self(), "ship");
	unsigned interval = m->p.config->cluster_ship_interval;
	pthread_mutex_lock(&m->ship_mu);
	while (!atomic_load(&m->stop)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += interval;
		pthread_cond_timedwait(&m->ship_cond, &m->ship_mu, &ts);
		char why[256], name[128], err[512];
		if (atomic_load(&m->stop) || !dfence_may_sign(m->p.fence, why, sizeof(why))) {
			continue;
		}
		if (ship_locked(m, name, sizeof(name), err, sizeof(err)) != 0) {
			log_err("state not shipped: %s", err);
		}
	}
	pthread_mutex_unlock(&m->ship_mu);
	return NULL;
}

int zonemgr_backup(zonemgr_t *m, const char *dir, char **manifest, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s (a backup goes into a new directory)", dir,
		         strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);
	if (mf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int64_t now = dclock_now(m->p.clock);
	fprintf(mf, "signerd state backup\ntaken %lld\n", (long long)now);
	backup_ctx_t b = {dir, mf, 0, err, errlen};
	zonemgr_each(m, backup_zone, &b);
	char path[4096 + 32];
	snprintf(path, sizeof(path), "%s/kasp.db", dir);
	if (b.ret == 0 && m->p.kasp != NULL) {
		b.ret = dkasp_backup(m->p.kasp, path, err, errlen);
	}
	fclose(mf);
	if (b.ret == 0) {
		snprintf(path, sizeof(path), "%s/BACKUP", dir);
		FILE *f = fopen(path, "w");
		if (f == NULL || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			b.ret = -1;
		}
		if (f != NULL) {
			fclose(f);
		}
	}
	if (b.ret != 0) {
		free(text);
		return -1;
	}
	log_notice("state backed up to %s", dir);
	*manifest = text;
	return 0;
}

int zonemgr_start(zonemgr_t *m, char *err, size_t errlen)
{
	size_t n = m->p.config->passes ? m->p.config->passes : 2;
	m->pass_threads = calloc(n, sizeof(*m->pass_threads));
	if (m->pass_threads == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&m->pass_threads[i], NULL, pass_main, m) != 0) {
			snprintf(err, errlen, "cannot start pass threads");
			zonemgr_stop(m);
			return -1;
		}
		m->npass++;
	}
	if (pthread_create(&m->sched_thread, NULL, sched_main, m) != 0 ||
	    pthread_create(&m->notify_thread, NULL, notify_main, m) != 0 ||
	    pthread_create(&m->probe_thread, NULL, probe_main, m) != 0 ||
	    pthread_detach(m->probe_thread) != 0) {
		snprintf(err, errlen, "cannot start threads");
		zonemgr_stop(m);
		return -1;
	}
	m->started = true;
	if (m->p.fence != NULL && m->p.config->cluster_ship_interval > 0) {
		if (pthread_create(&m->ship_thread, NULL, ship_main, m) != 0) {
			snprintf(err, errlen, "cannot start the ship thread");
			return -1;
		}
		m->ship_started = true;
	}
	return 0;
}

/* With m->mu held: takes e's queue (answer it with answer() after
 * unlocking: done callbacks do I/O). */
static dzone_change_t *take_queue(entry_t *e)
{
	dzone_change_t *c = e->head;
	e->head = e->tail = NULL;
	e->queued = 0;
	return c;
}

static void answer(dzone_change_t *c, Signer__V1__Status status, const char *msg)
{
	dzone_result_t r;
	memset(&r, 0, sizeof(r));
	r.status = status;
	snprintf(r.message, sizeof(r.message), "%s", msg);
	while (c != NULL) {
		dzone_change_t *next = c->next;
		c->next = NULL;
		c->done(c->ctx, c, &r);
		c = next;
	}
}

void zonemgr_stop(zonemgr_t *m)
{
	if (m->ship_started) {
		pthread_mutex_lock(&m->ship_mu);
		atomic_store(&m->stop, true);
		pthread_cond_broadcast(&m->ship_cond);
		pthread_mutex_unlock(&m->ship_mu);
		pthread_join(m->ship_thread, NULL);
		m->ship_started = false;
	}
	pthread_mutex_lock(&m->mu);
	atomic_store(&m->stop, true);
	pthread_cond_broadcast(&m->work);
	pthread_cond_broadcast(&m->space);
	pthread_cond_broadcast(&m->sched);
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < m->npass; i++) {
		pthread_join(m->pass_threads[i], NULL);
	}
	m->npass = 0;
	if (m->started) {
		pthread_join(m->sched_thread, NULL);
		pthread_mutex_lock(&m->nmu);
		pthread_cond_broadcast(&m->ncond);
		pthread_mutex_unlock(&m->nmu);
		pthread_join(m->notify_thread, NULL);
		/* The probe is detached (a process that exits early leaves no
		 * unjoined thread behind); it uses the tokens: wait for it. */
		while (!atomic_load(&m->probe_done)) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		m->started = false;
	}
	pthread_mutex_lock(&m->mu);
	while (m->ready_head != NULL) {
		entry_t *e = m->ready_head;
		m->ready_head = e->next_ready;
		e->ready = false;
		unref(m, e);
	}
	m->ready_tail = NULL;
	dzone_change_t *all = NULL;
	for (size_t i = 0; i < m->count; i++) {
		dzone_change_t *q = take_queue(m->entries[i]);
		while (q != NULL) {
			dzone_change_t *next = q->next;
			q->next = all;
			all = q;
			q = next;
		}
	}
	pthread_cond_broadcast(&m->space);
	pthread_mutex_unlock(&m->mu);
	answer(all, SIGNER__V1__STATUS__SHUTTING_DOWN, "the signer is stopping: nothing changed");
	for (size_t i = 0; i < m->count; i++) {
		int st = dzone_checkpoint(m->entries[i]->zone);
		if (st != ZONE_OK) {
			log_zone(LOG_WARNING, dzone_name(m->entries[i]->zone), "snapshot: %s",
			         zone_strerror(st));
		}
	}
}

void zonemgr_free(zonemgr_t *m)
{
	if (m == NULL) {
		return;
	}
	for (size_t i = 0; i < m->count; i++) {
		unref(m, m->entries[i]);
	}
	free(m->entries);
	free(m->pass_threads);
	while (m->subs != NULL) {
		sub_t *s = m->subs;
		m->subs = s->next;
		free(s);
	}
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->work);
	pthread_cond_destroy(&m->space);
	pthread_cond_destroy(&m->sched);
	pthread_mutex_destroy(&m->nmu);
	pthread_cond_destroy(&m->ncond);
	free(m);
}

Signer__V1__Status zonemgr_add(zonemgr_t *m, const Signer__V1__ZoneConfig *cfg,
                               Signer__V1__ZoneStatus *st, char *err, size_t errlen)
{
	pthread_mutex_lock(&m->mu);
	if (cfg->name != NULL && find(m, cfg->name) != NULL) {
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "zone %s exists", cfg->name);
		return SIGNER__V1__STATUS__ALREADY_EXISTS;
	}
	dzone_t *z = NULL;
	Signer__V1__Status ret = dzone_create(&m->env, cfg, &z, err, errlen);
	if (ret == SIGNER__V1__STATUS__OK && table_add(m, z) != 0) {
		dzone_destroy_state(z);
		dzone_free(z);
		snprintf(err, errlen, "out of memory");
		ret = SIGNER__V1__STATUS__INTERNAL;
	}
	pthread_mutex_unlock(&m->mu);
	if (ret == SIGNER__V1__STATUS__OK) {
		log_zone(LOG_NOTICE, dzone_name(z), "added");
		if (st != NULL) {
			dzone_status(z, dclock_now(m->p.clock), st);
		}
	}
	return ret;
}

Signer__V1__Status zonemgr_remove(zonemgr_t *m, const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&m->mu);
	entry_t *e = find(m, name);
	if (e == NULL) {
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "no zone %s", name);
		return SIGNER__V1__STATUS__NOT_FOUND;
	}
	/* Wait for a running pass to end. */
	while (e->busy) {
		pthread_mutex_unlock(&m->mu);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&m->mu);
	}
	e->removed = true;
	for (size_t i = 0; i < m->count; i++) {
		if (m->entries[i] == e) {
			m->entries[i] = m->entries[--m->count];
			break;
		}
	}
	e->next_gone = m->gone;
	m->gone = e;
	dzone_change_t *q = take_queue(e);
	pthread_cond_broadcast(&m->space);
	e->busy = true; /* no pass takes it while its files go */
	pthread_mutex_unlock(&m->mu);
	answer(q, SIGNER__V1__STATUS__NOT_FOUND, "the zone was removed");
	int ret = dzone_destroy_state(e->zone);
	log_zone(LOG_NOTICE, dzone_name(e->zone), "removed");
	pthread_mutex_lock(&m->mu);
	unref(m, e);
	pthread_mutex_unlock(&m->mu);
	if (ret != 0) {
		snprintf(err, errlen, "zone removed, but its state directory: %s", strerror(-ret));
	}
	return SIGNER__V1__STATUS__OK;
}

dzone_t *zonemgr_get(zonemgr_t *m, const char *name)
{
	pthread_mutex_lock(&m->mu);
	entry_t *e = find(m, name);
	if (e != NULL) {
		e->refs++;
	}
	pthread_mutex_unlock(&m->mu);
	return e != NULL ? e->zone : NULL;
}

void zonemgr_release(zonemgr_t *m, dzone_t *z)
{
	if (z == NULL) {
		return;
	}
	pthread_mutex_lock(&m->mu);
	entry_t *e = entry_of(m, z, true);
	if (e != NULL) {
		unref(m, e);
	}
	pthread_mutex_unlock(&m->mu);
}

void zonemgr_each(zonemgr_t *m, void (*fn)(void *ctx, dzone_t *z), void *ctx)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->count;
	entry_t **copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy != NULL && i < n; i++) {
		copy[i] = m->entries[i];
		copy[i]->refs++;
	}
	pthread_mutex_unlock(&m->mu);
	if (copy == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fn(ctx, copy[i]->zone);
	}
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < n; i++) {
		unref(m, copy[i]);
	}
	pthread_mutex_unlock(&m->mu);
	free(copy);
}

size_t zonemgr_count(zonemgr_t *m)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->count;
	pthread_mutex_unlock(&m->mu);
	return n;
}

Signer__V1__Status zonemgr_submit(zonemgr_t *m, dzone_t *z, dzone_change_t *change)
{
	pthread_mutex_lock(&m->mu);
	for (;;) {
		entry_t *e = entry_of(m, z, false);
		if (atomic_load(&m->stop)) {
			pthread_mutex_unlock(&m->mu);
			return SIGNER__V1__STATUS__SHUTTING_DOWN;
		}
		if (e == NULL || e->removed) {
			pthread_mutex_unlock(&m->mu);
			return SIGNER__V1__STATUS__NOT_FOUND;
		}
		if (e->queued < QUEUE_MAX) {
			change->next = NULL;
			if (e->tail != NULL) {
				e->tail->next = change;
			} else {
				e->head = change;
			}
			e->tail = change;
			e->queued++;
			make_ready(m, e);
			pthread_mutex_unlock(&m->mu);
			return SIGNER__V1__STATUS__OK;
		}
		pthread_cond_wait(&m->space, &m->mu);
	}
}

typedef struct {
	zonemgr_t *m;
	int64_t now;
	Signer__V1__Alarm worst;
	bool error;
} alarm_ctx_t;

static void alarm_one(void *ctx, dzone_t *z)
{
	alarm_ctx_t *a = ctx;
	Signer__V1__Alarm al = dzone_alarm(z, a->now);
	if (al > a->worst) {
		a->worst = al;
	}
	Signer__V1__ZoneStatus st;
	dzone_status(z, a->now, &st);
	if (st.last_error != NULL && st.last_error[0] != '\0') {
		a->error = true;
	}
	dzone_status_clear(&st);
}

Signer__V1__Alarm zonemgr_alarm(zonemgr_t *m, bool *any_error)
{
	alarm_ctx_t a = {m, dclock_now(m->p.clock), SIGNER__V1__ALARM__NONE, false};
	zonemgr_each(m, alarm_one, &a);
	*any_error = a.error;
	return a.worst;
}
