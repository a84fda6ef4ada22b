/*
 * log: signerd's log lines, to stderr (systemd style: "<level> message", the
 * journal adds the time) or to syslog. Libraries never log; the daemon logs
 * at the point of decision. Zone-scoped lines start with "zone NAME: ".
 *
 * Life cycle: log_open() once in main before any thread starts; after that
 * the settings are read-only and every function is thread-safe (one write(2)
 * or syslog(3) call per line). Never pass a PIN or key material.
 */
#ifndef SIGNER_DAEMON_LOG_H
#define SIGNER_DAEMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

/* Sets where lines go and the most verbose level written (LOG_ERR..LOG_DEBUG).
 * Not thread-safe: call before threads start. */
void log_open(bool use_syslog, int level);

/* Closes syslog if it was opened. */
void log_close(void);

/* True if lines of level are written (to skip building costly messages). */
bool log_enabled(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A line about zone (presentation form, borrowed for the call). */
void log_zone(int level, const char *zone, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
