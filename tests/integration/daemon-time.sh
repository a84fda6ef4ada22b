#!/usr/bin/env bash
# Time travel (server.test_clock: true, `signer clock set`): signerd keeps
# signatures fresh on its own. A zone with the default timing (validity 14d,
# refresh 5d, jitter 12h) is re-signed when the clock moves 10 days on; then,
# with the HSM down (p11fault, P11FAULT_DOWN_FILE), the clock moves on day
# by day: the zone's alarm turns WARNING (earliest expiration within
# refresh/2) and CRITICAL (within refresh/4) before anything expires, the log
# says so, status is unhealthy; once the HSM is back the zone is re-signed,
# the alarm clears and nothing served is expired.
#
#   daemon-time.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
# shellcheck disable=SC2119 # daemon_start's environment arguments are optional
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-time "$@"

DAY=86400
REFRESH=$((5 * DAY))
zone=time.example.

step "token, key, signerd with a test clock"
lib_token time
csk=$(keygen time-csk)
daemon_cfg_server="  test_clock: true"
daemon_write_config
daemon_start
cat >"$tmp/time.zone" <<EOF
\$ORIGIN $zone
\$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
mail IN MX 10 www
EOF
cli_ok zone add "$zone" --csk "$csk" >/dev/null
cli_ok zone push "$zone" "$tmp/time.zone" >/dev/null
serial0=$(zone_serial "$zone")
ok "$zone published serial $serial0"

# epoch ISO-TIME: UNIX seconds of a time the CLI's JSON gives.
epoch() {
	python3 -c 'import sys, calendar, time
print(calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")))' "$1"
}
daemon_now() {
	local js
	js=$(cli status --json; true)
	epoch "$(json_get "$js" 'j["now"]')"
}
# status_json: `signer zone status $zone --json` into $zs; sets $earliest,
# $alarm, $zserial, $last_error.
status_json() {
	zs=$(cli_ok zone status "$zone" --json)
	earliest=$(epoch "$(json_get "$zs" 'j["earliest_expiration"]')")
	alarm=$(json_get "$zs" 'j["alarm"]')
	zserial=$(json_get "$zs" 'j["serial"]')
	last_error=$(json_get "$zs" 'j["last_error"]')
}
# wait_serial_change OLD SECONDS: waits for a published serial other than
# OLD; prints it.
wait_serial_change() {
	local i s
	for ((i = 0; i < $2 * 5; i++)); do
		s=$(zone_serial "$zone")
		if [[ $s != "$1" ]]; then
			echo "$s"
			return 0
		fi
		sleep 0.2
	done
	die "serial still $1 after $2 s:$(daemon_log_tail)"
}
# check_fresh FILE NOW: no RRSIG in FILE has expired at NOW (UNIX seconds)
# or starts after it; ldns-verify-zone accepts FILE at that time.
check_fresh() {
	local file=$1 now=$2
	lib_normalize "$file" >"$file.norm"
	python3 - "$file.norm" "$now" <<-'EOF' || die "stale or future signatures in $file at $now"
		import calendar, sys, time
		now = int(sys.argv[2])
		n = bad = 0
		for line in open(sys.argv[1]):
		    f = line.split()
		    if len(f) > 10 and f[3] == "RRSIG":
		        n += 1
		        exp = calendar.timegm(time.strptime(f[8], "%Y%m%d%H%M%S"))
		        inc = calendar.timegm(time.strptime(f[9], "%Y%m%d%H%M%S"))
		        if exp <= now or inc > now:
		            bad += 1
		            print("RRSIG not valid at", now, ":", line.strip(), file=sys.stderr)
		if n == 0 or bad:
		    sys.exit(1)
	EOF
	local d
	d=$(date -u -d "@$now" +%Y%m%d%H%M%S)
	ldns-verify-zone -t "$d" "$file" >"$tmp/verify.out" 2>&1 ||
		die "ldns-verify-zone -t $d rejects $file:$(lib_indent <"$tmp/verify.out")"
}

step "clock +10d: signerd re-signs on its own"
status_json
e0=$earliest
now=$(daemon_now)
# Defaults: expiration = now - inception offset (1h) + validity (14d) + up
# to jitter (12h).
((e0 >= now + 14 * DAY - 3600 - 60 && e0 <= now + 14 * DAY + 11 * 3600)) ||
	die "earliest expiration $e0 is not 14d-1h..14d+11h after $now (validity 14d, inception offset 1h, jitter 12h)"
"$signer" zone watch "$zone" -c "$conf" >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
lib_at_exit "kill $watch_pid 2>/dev/null || true"
for ((i = 0; i < 50; i++)); do
	grep -q subscribed "$tmp/watch.err" && break
	sleep 0.1
done
cli_ok clock set +10d >/dev/null
serial1=$(wait_serial_change "$serial0" 20)
for ((i = 0; i < 50; i++)); do
	grep -q "$zone published serial $serial1 (previous $serial0)" "$tmp/watch.out" && break
	sleep 0.1
done
grep -q "$zone published serial $serial1 (previous $serial0)" "$tmp/watch.out" ||
	die "zone watch did not report serial $serial1:$(lib_indent <"$tmp/watch.out")"
kill "$watch_pid"
wait "$watch_pid" 2>/dev/null || true
now=$(daemon_now)
((now >= $(date +%s) + 10 * DAY - 60)) || die "the daemon's clock is not 10 days ahead: $now"
pull "$zone" "$tmp/t10.zone"
check_fresh "$tmp/t10.zone" "$now"
status_json
((earliest > now + REFRESH)) || die "after the re-signing the earliest expiration $earliest is within refresh of $now"
[[ $alarm == none ]] || die "alarm $alarm after re-signing"
e1=$earliest
ok "serial $serial0 -> $serial1 at +10d (watch saw it); valid at the daemon's time, earliest expiration in $(((e1 - now) / 3600)) h"

step "HSM down, the clock moves on day by day"
daemon_stop
down=$tmp/hsm-down
touch "$down"
daemon_module=$p11fault
daemon_cfg_token="    retry_budget: 2"
daemon_write_config
daemon_start P11FAULT_MODULE="$softhsm" P11FAULT_DOWN_FILE="$down"
# The clock offset lives in the daemon: set it again.
cli_ok clock set +10d >/dev/null
[[ $(zone_serial "$zone") == "$serial1" ]] || die "restart did not serve serial $serial1"
start=$(date +%s)
saw_warning=0
saw_critical=0
offset=$((10 * DAY))
for ((d = 11; d <= 30; d++)); do
	offset=$((d * DAY))
	last=0
	# Never past the expiration: the last step is 6 hours before it.
	if ((start + offset >= e1 - 6 * 3600)); then
		offset=$((e1 - 6 * 3600 - start))
		last=1
	fi
	cli_ok clock set "+$offset" >/dev/null
	status_json
	now=$(daemon_now)
	left=$((earliest - now))
	((earliest == e1)) || die "the zone was re-signed with the HSM down (earliest $e1 -> $earliest)"
	[[ $zserial == "$serial1" ]] || die "serial changed with the HSM down"
	want=none
	((left < REFRESH / 2)) && want=warning
	((left < REFRESH / 4)) && want=critical
	[[ $alarm == "$want" ]] ||
		die "at +$((offset / 3600)) h ($left s before the earliest expiration) the alarm is $alarm, expected $want"
	((left > 0)) || die "the earliest expiration passed before the alarm turned critical"
	[[ $alarm == warning ]] && saw_warning=1
	[[ $alarm == critical ]] && saw_critical=1
	note "+$((offset / 3600)) h: ${left} s left, alarm $alarm${last_error:+, last error: ${last_error:0:60}}"
	((last == 0)) || break
done
((saw_warning && saw_critical)) || die "the alarm did not pass through warning and critical"
daemon_log_wait 10 "WARNING: the earliest signature expires in [0-9]+ s and could not be refreshed"
daemon_log_wait 10 "CRITICAL: the earliest signature expires in [0-9]+ s and could not be refreshed"
warn_line=$(grep -n 'WARNING: the earliest' "$daemon_log" | head -1 | cut -d: -f1)
crit_line=$(grep -n 'CRITICAL: the earliest' "$daemon_log" | head -1 | cut -d: -f1)
((warn_line < crit_line)) || die "the CRITICAL line came before the WARNING line"
[[ -n $last_error ]] || die "no last_error on the zone while the HSM is down"
cli status --json >"$tmp/status.json"
((cli_rc == 3)) || die "signer status exited $cli_rc with a critical zone (expected 3):$(lib_indent <"$tmp/status.json")"
[[ $(json_get "$(cat "$tmp/status.json")" 'j["alarm"]') == critical ]] ||
	die "signer status does not show the critical alarm:$(lib_indent <"$tmp/status.json")"
pull "$zone" "$tmp/down.zone"
check_fresh "$tmp/down.zone" "$now"
ok "warning then critical before the expiration, logged; status exit 3; still served and valid"

step "HSM back: re-signed, alarm cleared"
rm -f "$down"
# The failed passes retry with a backoff (1 s doubling up to 300 s, in
# the daemon's time): move the clock 301 s on so the next retry is due now
# rather than up to 5 minutes later.
offset=$((offset + 301))
cli_ok clock set "+$offset" >/dev/null
serial2=$(wait_serial_change "$serial1" 20)
status_json
now=$(daemon_now)
[[ $alarm == none ]] || die "alarm still $alarm after re-signing"
[[ -z $last_error ]] || die "last_error still set after re-signing: $last_error"
((earliest > now + REFRESH)) || die "after the HSM came back the earliest expiration $earliest is within refresh of $now"
pull "$zone" "$tmp/back.zone"
check_fresh "$tmp/back.zone" "$now"
daemon_log_wait 10 "signature expiry alarm cleared"
cli status >/dev/null
((cli_rc == 0)) || die "signer status exited $cli_rc after recovery (expected 0, healthy)"
ok "serial $serial1 -> $serial2 once the HSM was back; alarm none; nothing served is expired"
daemon_finish
