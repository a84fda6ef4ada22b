/*
 * zone_crash: named crash points for crash-safety tests of the zone
 * library's files (zone_snap, zone_journal).
 *
 * zone_crash_point(name) ends the process at once with _exit(86) when the
 * environment variable SIGNER_CRASH_AT is "name" (the first time the point is
 * reached) or "name:N" (the Nth time in this process). Without the variable
 * it does nothing but a getenv(). Tests set the variable in a forked child,
 * run an operation, and check the files the child left behind.
 *
 * Points: snap-written, snap-synced, snap-renamed (zone_snap_save);
 * journal-written, journal-synced (zone_journal_append); trim-written,
 * trim-renamed (zone_journal_trim, zone_journal_reset).
 *
 * For tests only. The count of each point reached is kept per process in a
 * small table guarded by nothing: the points are reached from one thread.
 */
#ifndef SIGNER_ZONE_ZONE_CRASH_H
#define SIGNER_ZONE_ZONE_CRASH_H

/* Exit status of a process ended at a crash point. */
#define ZONE_CRASH_STATUS 86

/* Ends the process with _exit(ZONE_CRASH_STATUS) if SIGNER_CRASH_AT names
 * this point (and, with ":N", this is the Nth time it is reached). Reads the
 * environment on each call. */
void zone_crash_point(const char *name);

#endif
