#include "signer/daemon/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set once by log_open() before threads start, read-only after. */
static bool log_syslog;
static int log_level = LOG_INFO;

void log_open(bool use_syslog, int level)
{
	log_syslog = use_syslog;
	log_level = level;
	if (use_syslog) {
		openlog("signerd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void log_close(void)
{
	if (log_syslog) {
		closelog();
	}
}

bool log_enabled(int level)
{
	return level <= log_level;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "critical";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

__attribute__((format(printf, 3, 0))) static void emit(int level, const char *prefix,
                                                       const char *fmt, va_list ap)
{
	char line[2048];
	int n = 0;
	if (!log_syslog) {
		n = snprintf(line, sizeof(line), "%s: ", level_name(level));
	}
	if (prefix != NULL) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", prefix);
	}
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One line, whatever the message holds. */
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = ' ';
		}
	}
	if (log_syslog) {
		syslog(level, "%s", line);
		return;
	}
	size_t len = strlen(line);
	if (len + 1 < sizeof(line)) {
		line[len++] = '\n';
	} else {
		line[len - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	if (!log_enabled(level)) {
		return;
	}
	emit(level, NULL, fmt, ap);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_zone(int level, const char *zone, const char *fmt, ...)
{
	if (!log_enabled(level)) {
		return;
	}
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "zone %s: ", zone);
	va_list ap;
	va_start(ap, fmt);
	emit(level, prefix, fmt, ap);
	va_end(ap);
}
