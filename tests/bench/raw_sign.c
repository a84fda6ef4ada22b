/*
 * bench_raw_sign: the raw Cryptoki ceiling for tests/bench/hsm-speed.
 *
 * The smallest loop a signer could run against a PKCS#11 module: the module is
 * dlopen'ed and initialised with OS locking, the token is found by label, the
 * key handle is found once by label, every thread opens one session (logged in
 * once, before the clock starts) and then loops C_SignInit + C_Sign over a
 * fixed buffer with nothing else in the loop. The buffer is what the signer
 * hands the token: a 32-byte digest for CKM_ECDSA and CKM_EDDSA, the SHA-256
 * DigestInfo followed by a 32-byte digest for CKM_RSA_PKCS.
 *
 *   bench_raw_sign --module PATH --token LABEL --key-label L --threads N
 *                  --seconds S [--mech ecdsa|eddsa|rsa] [--pin-file FILE]
 *
 * The PIN comes from --pin-file (one trailing newline stripped) or from the
 * environment variable SIGNER_PIN, which is unset as soon as it is read.
 * Without --mech the mechanism follows the key type. Last line of output:
 *   raw: threads=N seconds=S signatures=K rate=R/s
 * A benchmark, not a test: it does not depend on hsm/ so that it measures the
 * module and nothing of ours.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS 1024
#define PIN_MAX     256

enum mech { MECH_AUTO, MECH_ECDSA, MECH_EDDSA, MECH_RSA };

/* DER prefix of DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1). */
static const uint8_t sha256_digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                             0x01, 0x05, 0x00, 0x04, 0x20};

/* Shared by all threads; written by main before the threads start, except
 * the atomics. */
struct bench {
	CK_FUNCTION_LIST_PTR p11;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM_TYPE mechanism;
	uint8_t data[sizeof(sha256_digest_info) + 32];
	CK_ULONG data_len;
	pthread_mutex_t lock; /* guards go */
	pthread_cond_t start; /* signalled when go is set */
	bool go;              /* all threads exist: the clock starts */
	atomic_bool stop;     /* set by main when the time is up, or by a failing thread */
	atomic_bool failed;   /* set by a thread that hit an error */
};

/* One per thread; the thread writes it, main reads it after join. */
struct worker {
	struct bench *bench;
	CK_SESSION_HANDLE session; /* opened and logged in by main */
	pthread_t thread;
	uint64_t signatures;
	double end; /* monotonic seconds when the loop ended */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: bench_raw_sign --module PATH --token LABEL --key-label L\n"
	            "                      --threads N --seconds S [--mech ecdsa|eddsa|rsa]\n"
	            "                      [--pin-file FILE]   (or the PIN in env SIGNER_PIN)\n");
}

static void fail_rv(const char *what, CK_RV rv)
{
	fprintf(stderr, "bench_raw_sign: %s failed: CK_RV 0x%08lx\n", what, (unsigned long)rv);
}

/* Reads the PIN into pin (NUL-terminated); returns false with a message. */
static bool read_pin(const char *pin_file, char *pin, size_t size)
{
	if (pin_file) {
		FILE *fp = fopen(pin_file, "r");
		if (!fp) {
			fprintf(stderr, "bench_raw_sign: PIN file %s: %s\n", pin_file,
			        strerror(errno));
			return false;
		}
		size_t n = fread(pin, 1, size - 1, fp);
		fclose(fp);
		pin[n] = '\0';
		if (n > 0 && pin[n - 1] == '\n') {
			pin[n - 1] = '\0';
		}
		return true;
	}
	const char *env = getenv("SIGNER_PIN");
	if (!env) {
		fprintf(stderr, "bench_raw_sign: no PIN: use --pin-file or SIGNER_PIN\n");
		return false;
	}
	if (strlen(env) >= size) {
		fprintf(stderr, "bench_raw_sign: SIGNER_PIN too long\n");
		return false;
	}
	strcpy(pin, env);
	unsetenv("SIGNER_PIN");
	return true;
}

/* Finds the slot whose token label is label (blank-padded in CK_TOKEN_INFO). */
static bool find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *out)
{
	CK_ULONG count = 0;
	CK_SLOT_ID *slots = NULL;
	bool found = false;
	CK_RV rv = p11->C_GetSlotList(CK_TRUE, NULL, &count);
	if (rv != CKR_OK) {
		fail_rv("C_GetSlotList", rv);
		return false;
	}
	slots = calloc(count ? count : 1, sizeof(*slots));
	if (!slots) {
		return false;
	}
	rv = p11->C_GetSlotList(CK_TRUE, slots, &count);
	if (rv != CKR_OK) {
		fail_rv("C_GetSlotList", rv);
		goto done;
	}
	size_t len = strlen(label);
	for (CK_ULONG i = 0; i < count && !found; i++) {
		CK_TOKEN_INFO info;
		if (p11->C_GetTokenInfo(slots[i], &info) != CKR_OK) {
			continue;
		}
		if (len > sizeof(info.label) || memcmp(info.label, label, len) != 0) {
			continue;
		}
		bool padded = true;
		for (size_t j = len; j < sizeof(info.label); j++) {
			padded = padded && info.label[j] == ' ';
		}
		if (padded) {
			*out = slots[i];
			found = true;
		}
	}
	if (!found) {
		fprintf(stderr, "bench_raw_sign: no token labelled \"%s\"\n", label);
	}
done:
	free(slots);
	return found;
}

/* Finds the one private key labelled label and its key type. */
static bool find_key(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, const char *label,
                     CK_OBJECT_HANDLE *key, CK_KEY_TYPE *type)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv = p11->C_FindObjectsInit(session, tmpl, 2);
	if (rv != CKR_OK) {
		fail_rv("C_FindObjectsInit", rv);
		return false;
	}
	rv = p11->C_FindObjects(session, found, 2, &n);
	p11->C_FindObjectsFinal(session);
	if (rv != CKR_OK) {
		fail_rv("C_FindObjects", rv);
		return false;
	}
	if (n != 1) {
		fprintf(stderr, "bench_raw_sign: %s private key labelled \"%s\"\n",
		        n == 0 ? "no" : "more than one", label);
		return false;
	}
	CK_ATTRIBUTE attr = {CKA_KEY_TYPE, type, sizeof(*type)};
	rv = p11->C_GetAttributeValue(session, found[0], &attr, 1);
	if (rv != CKR_OK) {
		fail_rv("C_GetAttributeValue(CKA_KEY_TYPE)", rv);
		return false;
	}
	*key = found[0];
	return true;
}

static bool open_session(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, const char *pin,
                         CK_SESSION_HANDLE *out)
{
	CK_SESSION_HANDLE session;
	CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
	if (rv != CKR_OK) {
		fail_rv("C_OpenSession", rv);
		return false;
	}
	rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fail_rv("C_Login", rv);
		p11->C_CloseSession(session);
		return false;
	}
	*out = session;
	return true;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->bench;
	CK_FUNCTION_LIST_PTR p11 = b->p11;
	CK_SESSION_HANDLE session = w->session;
	CK_MECHANISM mech = {b->mechanism, NULL, 0};
	uint8_t sig[1024];
	uint64_t count = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->go) {
		pthread_cond_wait(&b->start, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);

	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		CK_ULONG sig_len = sizeof(sig);
		CK_RV rv = p11->C_SignInit(session, &mech, b->key);
		if (rv == CKR_OK) {
			rv = p11->C_Sign(session, b->data, b->data_len, sig, &sig_len);
		}
		if (rv != CKR_OK) {
			fail_rv("C_SignInit/C_Sign", rv);
			atomic_store(&b->failed, true);
			atomic_store(&b->stop, true);
			break;
		}
		count++;
	}
	w->end = now_seconds();
	w->signatures = count;
	return NULL;
}

static bool parse_mech(const char *s, enum mech *out)
{
	if (strcmp(s, "ecdsa") == 0) {
		*out = MECH_ECDSA;
	} else if (strcmp(s, "eddsa") == 0) {
		*out = MECH_EDDSA;
	} else if (strcmp(s, "rsa") == 0) {
		*out = MECH_RSA;
	} else {
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"module", required_argument, NULL, 'm'},
	        {"token", required_argument, NULL, 't'},
	        {"key-label", required_argument, NULL, 'k'},
	        {"threads", required_argument, NULL, 'n'},
	        {"seconds", required_argument, NULL, 's'},
	        {"mech", required_argument, NULL, 'x'},
	        {"pin-file", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *module = NULL, *token = NULL, *key_label = NULL, *pin_file = NULL;
	long threads = 1;
	double seconds = 3;
	enum mech mech = MECH_AUTO;
	char pin[PIN_MAX];
	int opt;
	int status = 1;
	void *dl = NULL;
	struct bench *b = NULL;
	struct worker *workers = NULL;
	CK_SESSION_HANDLE *sessions = NULL;
	long opened = 0;
	long started = 0;
	bool initialized = false;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end = NULL;
		switch (opt) {
		case 'm':
			module = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'k':
			key_label = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'n':
			threads = strtol(optarg, &end, 10);
			if (*end != '\0' || threads < 1 || threads > MAX_THREADS) {
				fprintf(stderr, "bench_raw_sign: --threads: 1..%d\n", MAX_THREADS);
				return 2;
			}
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end != '\0' || !(seconds > 0)) {
				fprintf(stderr, "bench_raw_sign: --seconds: a positive number\n");
				return 2;
			}
			break;
		case 'x':
			if (!parse_mech(optarg, &mech)) {
				fprintf(stderr, "bench_raw_sign: --mech: ecdsa, eddsa or rsa\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !module || !token || !key_label) {
		usage(stderr);
		return 2;
	}
	if (!read_pin(pin_file, pin, sizeof(pin))) {
		return 1;
	}

	b = calloc(1, sizeof(*b));
	workers = calloc((size_t)threads, sizeof(*workers));
	sessions = calloc((size_t)threads, sizeof(*sessions));
	if (!b || !workers || !sessions) {
		fprintf(stderr, "bench_raw_sign: out of memory\n");
		goto done;
	}

	dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "bench_raw_sign: %s\n", dlerror());
		goto done;
	}
	void *sym = dlsym(dl, "C_GetFunctionList");
	if (!sym) {
		fprintf(stderr, "bench_raw_sign: %s: no C_GetFunctionList\n", module);
		goto done;
	}
	CK_C_GetFunctionList get_function_list;
	memcpy(&get_function_list, &sym, sizeof(get_function_list));
	CK_RV rv = get_function_list(&b->p11);
	if (rv != CKR_OK) {
		fail_rv("C_GetFunctionList", rv);
		goto done;
	}
	CK_C_INITIALIZE_ARGS init_args;
	memset(&init_args, 0, sizeof(init_args));
	init_args.flags = CKF_OS_LOCKING_OK;
	rv = b->p11->C_Initialize(&init_args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		fail_rv("C_Initialize", rv);
		goto done;
	}
	initialized = rv == CKR_OK;

	if (!find_slot(b->p11, token, &b->slot)) {
		goto done;
	}
	/* One session per thread, each logged in once (the login belongs to the
	 * token, so the later ones answer CKR_USER_ALREADY_LOGGED_IN). */
	for (; opened < threads; opened++) {
		if (!open_session(b->p11, b->slot, pin, &sessions[opened])) {
			goto done;
		}
	}
	CK_KEY_TYPE key_type;
	if (!find_key(b->p11, sessions[0], key_label, &b->key, &key_type)) {
		goto done;
	}
	if (mech == MECH_AUTO) {
		mech = key_type == CKK_RSA          ? MECH_RSA
		       : key_type == CKK_EC_EDWARDS ? MECH_EDDSA
		                                    : MECH_ECDSA;
	}
	memset(b->data, 0x5a, sizeof(b->data));
	switch (mech) {
	case MECH_RSA:
		b->mechanism = CKM_RSA_PKCS;
		memcpy(b->data, sha256_digest_info, sizeof(sha256_digest_info));
		b->data_len = sizeof(sha256_digest_info) + 32;
		break;
	case MECH_EDDSA:
		b->mechanism = CKM_EDDSA;
		b->data_len = 32;
		break;
	default:
		b->mechanism = CKM_ECDSA;
		b->data_len = 32;
		break;
	}

	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->start, NULL);
	atomic_init(&b->stop, false);
	atomic_init(&b->failed, false);
	for (; started < threads; started++) {
		workers[started].bench = b;
		workers[started].session = sessions[started];
		if (pthread_create(&workers[started].thread, NULL, run, &workers[started]) != 0) {
			fprintf(stderr, "bench_raw_sign: pthread_create failed\n");
			atomic_store(&b->failed, true);
			atomic_store(&b->stop, true);
			break;
		}
	}
	pthread_mutex_lock(&b->lock);
	b->go = true;
	pthread_cond_broadcast(&b->start);
	pthread_mutex_unlock(&b->lock);
	double start = now_seconds();
	/* Sleep in slices so that a failing thread ends the run early. */
	for (double left = seconds; left > 0 && !atomic_load(&b->stop);
	     left = start + seconds - now_seconds()) {
		double slice = left < 0.05 ? left : 0.05;
		struct timespec nap = {0, (long)(slice * 1e9)};
		nanosleep(&nap, NULL);
	}
	atomic_store(&b->stop, true);

	uint64_t total = 0;
	double end = start;
	for (long i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		total += workers[i].signatures;
		if (workers[i].end > end) {
			end = workers[i].end;
		}
	}
	pthread_cond_destroy(&b->start);
	pthread_mutex_destroy(&b->lock);
	if (atomic_load(&b->failed)) {
		goto done;
	}
	double elapsed = end - start;
	printf("raw: threads=%ld seconds=%.2f signatures=%" PRIu64 " rate=%.1f/s\n", threads,
	       elapsed, total, elapsed > 0 ? (double)total / elapsed : 0.0);
	status = 0;

done:
	for (long i = opened - 1; i >= 0; i--) {
		b->p11->C_CloseSession(sessions[i]);
	}
	if (initialized) {
		b->p11->C_Finalize(NULL);
	}
	/* The module stays loaded: some modules keep threads that outlive
	 * C_Finalize, and the process ends here anyway. */
	(void)dl;
	explicit_bzero(pin, sizeof(pin));
	free(sessions);
	free(workers);
	free(b);
	return status;
}
