#!/usr/bin/env bash
# Bad input to signerd: raw frames on its socket (garbage, a 2^31-byte
# header, a header above server.max_frame, a truncated frame, an
# undecodable message, a push abandoned in the middle) and bad requests
# through the CLI (records outside the zone and bad RDATA in a text push,
# removal of a missing record, a wrong from-serial, an unknown zone, a zone
# above the client's max_zone_records). Each is refused with its status
# and logged; signerd keeps serving, and the zone's serial and records stay
# as they were.
#
#   daemon-bad-input.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
# shellcheck disable=SC2119 # daemon_start's environment arguments are optional
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-bad-input "$@"

zone=bad.example.
MAX_RECORDS=50

step "token, key, signerd (max_frame 1M, max_zone_records $MAX_RECORDS), a zone"
lib_token badinput
csk=$(keygen bad-csk)
daemon_cfg_server="  max_frame: 1M
  request_timeout: 5"
daemon_cfg_clients="  - uid: $uid
    role: operator
    max_zone_records: $MAX_RECORDS"
daemon_write_config
daemon_start
cat >"$tmp/good.zone" <<EOF
\$ORIGIN $zone
\$TTL 300
@ IN SOA ns1 hostmaster 10 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
txt IN TXT "hello"
EOF
cli_ok zone add "$zone" --csk "$csk" >/dev/null
cli_ok zone push "$zone" "$tmp/good.zone" >/dev/null
pull "$zone" "$tmp/ref.zone"
verify_zone "$zone" "$tmp/ref.zone"
ref_serial=$(zone_serial "$zone")
ref_input=$(zone_field "$zone" input_serial)
ok "$zone at serial $ref_serial (input serial $ref_input)"

# unchanged WHAT: the zone's serial and records are as before WHAT, and
# signerd still serves.
unchanged() {
	daemon_alive
	local s
	s=$(zone_serial "$zone")
	[[ $s == "$ref_serial" ]] || die "$* changed the serial: $ref_serial -> $s"
	cli_ok zone pull "$zone" --out "$tmp/now.zone" >/dev/null
	[[ $(zone_digest "$tmp/now.zone") == "$(zone_digest "$tmp/ref.zone")" ]] ||
		die "$* changed the zone's records"
	[[ $(zone_field "$zone" input_serial) == "$ref_input" ]] || die "$* changed the input serial"
}

step "raw frames on the socket"
# raw CASE: runs one case as its own python process; prints its pid (the
# peer pid signerd logs). The server must close the connection itself
# (except for "truncated", where we close it).
raw() {
	daemon_py - "$sock" "$1" <<-'EOF'
		import os, struct, sys, time, rpcwire
		path, case = sys.argv[1], sys.argv[2]
		print(os.getpid(), flush=True)
		s = rpcwire.connect(path, timeout=15)
		if case == "garbage":
		    s.sendall(os.urandom(4096))
		elif case == "huge":
		    s.sendall(struct.pack(">I", 1 << 31) + b"x" * 64)
		elif case == "over-max":
		    s.sendall(struct.pack(">I", (1 << 20) + 1) + b"x" * 64)
		elif case == "truncated":
		    s.sendall(struct.pack(">I", 100) + b"\x08\x01" + b"z" * 8)
		    time.sleep(0.3)
		    s.close()
		    sys.exit(0)
		elif case == "undecodable":
		    s.sendall(rpcwire.frame(b"\xff" * 40))
		t0 = time.time()
		try:
		    while True:
		        data = s.recv(65536)
		        if not data:
		            break
		except (ConnectionResetError, BrokenPipeError):
		    pass
		except OSError as e:
		    sys.exit("%s: no close from signerd within 15 s (%s)" % (case, e))
		print("%s: closed by signerd after %.1f s" % (case, time.time() - t0), file=sys.stderr)
	EOF
}
declare -A why=(
	[garbage]='frame larger than the maximum|malformed message|connection closed inside a frame'
	[huge]='frame larger than the maximum'
	[over-max]='frame larger than the maximum'
	[truncated]='connection closed inside a frame'
	[undecodable]='malformed message'
)
for c in garbage huge over-max truncated undecodable; do
	pid=$(raw "$c" 2>"$tmp/raw.err") || die "raw frame case '$c': $(cat "$tmp/raw.err")"
	pid=$(head -1 <<<"$pid")
	daemon_log_wait 10 "client uid $uid pid $pid: connection closed: (${why[$c]})"
	line=$(daemon_log_since -E "client uid $uid pid $pid: " | tail -1)
	daemon_alive
	cli_ok zone list >/dev/null
	ok "$c: refused and logged (${line#*: }); signerd serves"
done
unchanged "raw frames"
ok "after the raw frames: signerd alive, $zone unchanged"

step "a push abandoned in the middle; other clients are served meanwhile"
daemon_py - "$sock" "$zone" >"$tmp/half.pid" 2>"$tmp/half.err" <<'EOF' &
import os, sys, time, rpcwire
from rpcwire import f_bytes, frame, request
path, zone = sys.argv[1], sys.argv[2]
print(os.getpid(), flush=True)
s = rpcwire.connect(path)
s.sendall(frame(request(7, rpcwire.PUSH_BEGIN, f_bytes(1, zone))))
text = "$ORIGIN %s\n@ 300 IN SOA ns1 hostmaster 99 1 1 1 1\n@ 300 IN NS ns1\nevil 300 IN A 192.0.2.66\n" % zone
s.sendall(frame(request(7, rpcwire.CHUNK, f_bytes(2, text))))
time.sleep(3)
s.close()
EOF
half=$!
for ((i = 0; i < 50; i++)); do
	[[ -s $tmp/half.pid ]] && break
	sleep 0.1
done
half_pid=$(head -1 "$tmp/half.pid")
[[ -n $half_pid ]] || die "the half-push client did not start: $(cat "$tmp/half.err")"
sleep 0.5
# While that stream is open: others are served.
unchanged "an open push stream"
cli_ok status >/dev/null
wait "$half" || die "the half-push client failed: $(cat "$tmp/half.err")"
daemon_log_wait 10 "client uid $uid pid $half_pid: disconnected in the middle of a stream: dropped, nothing changed"
unchanged "an abandoned push"
if grep -q evil "$tmp/now.zone"; then die "the abandoned push's records are served"; fi
ok "abandoned push dropped and logged; $zone unchanged; others served meanwhile"

step "a push that stalls longer than request_timeout (5 s) is answered TIMEOUT and dropped"
daemon_py - "$sock" "$zone" >"$tmp/stall.out" 2>&1 <<'EOF' || die "stalled push: $(cat "$tmp/stall.out")"
import sys, time, rpcwire
from rpcwire import f_bytes, frame, request
path, zone = sys.argv[1], sys.argv[2]
s = rpcwire.connect(path, timeout=20.0)
s.sendall(frame(request(9, rpcwire.PUSH_BEGIN, f_bytes(1, zone))))
text = "$ORIGIN %s\n@ 300 IN SOA ns1 hostmaster 98 1 1 1 1\n@ 300 IN NS ns1\nstalled 300 IN A 192.0.2.67\n" % zone
s.sendall(frame(request(9, rpcwire.CHUNK, f_bytes(2, text))))
t0 = time.time()
msg = rpcwire.read_frame(s)
waited = time.time() - t0
if msg is None:
    sys.exit("no answer before the connection closed")
rid, status, text, more, _ = rpcwire.response(msg)
if rid != 9 or status != "TIMEOUT" or waited < 4:
    sys.exit("expected TIMEOUT for request 9 after about 5 s, got %s %s after %.1f s: %s" % (rid, status, waited, text))
if rpcwire.read_frame(s) is not None:
    sys.exit("the connection stayed open after the timeout")
print("TIMEOUT after %.1f s: %s" % (waited, text))
EOF
daemon_log_grep "stream 9 timed out" >/dev/null || die "the stream timeout is not logged"
unchanged "a stalled push"
if grep -q stalled "$tmp/now.zone"; then die "the stalled push's records are served"; fi
ok "$(cat "$tmp/stall.out"); $zone unchanged"

step "bad requests through the CLI"
# A text push that signerd parses: a record outside the zone (line 5) and
# bad RDATA (line 6).
cat >"$tmp/bad.zone" <<EOF
\$ORIGIN $zone
\$TTL 300
@ IN SOA ns1 hostmaster 11 7200 3600 1209600 300
@ IN NS ns1
www.other.example. IN A 192.0.2.1
www IN A 192.0.2.300
EOF
cli_fails INVALID_ZONE zone push "$zone" "$tmp/bad.zone" --text
grep -q 'push:5:' "$tmp/cli.err" || die "INVALID_ZONE without line 5 (outside the zone):$(lib_indent <"$tmp/cli.err")"
grep -q 'push:6:' "$tmp/cli.err" || die "INVALID_ZONE without line 6 (bad RDATA):$(lib_indent <"$tmp/cli.err")"
unchanged "a text push with bad records"
ok "text push: INVALID_ZONE naming lines 5 and 6"

cli_fails INVALID_ZONE zone update "$zone" --from-serial "$ref_input" --to-serial $((ref_input + 1)) \
	--remove 'nothere 300 IN A 192.0.2.9'
msg=$cli_msg
unchanged "an update removing a missing record"
ok "update removing a missing record: ${msg#signer: }"

cli_fails SERIAL_MISMATCH zone update "$zone" --from-serial $((ref_input + 5)) --to-serial $((ref_input + 6)) \
	--add 'new 300 IN A 192.0.2.9'
unchanged "an update with a wrong from-serial"
ok "wrong from-serial: SERIAL_MISMATCH"

cli_fails INVALID_ZONE zone update "$zone" --from-serial "$ref_input" --to-serial $((ref_input + 1)) \
	--add 'www.other.example. 300 IN A 192.0.2.9'
unchanged "an update adding a record outside the zone"
ok "update adding a record outside the zone: INVALID_ZONE"

cli_fails NOT_FOUND zone push nope.example. "$tmp/good.zone" --text
cli_fails NOT_FOUND zone pull nope.example.
cli_fails NOT_FOUND zone status nope.example.
cli_fails NOT_FOUND zone update nope.example. --from-serial 1 --to-serial 2 --add 'a 300 IN A 192.0.2.1'
cli_fails NOT_FOUND zone remove nope.example.
cli_fails NOT_FOUND key ds nope.example.
unchanged "requests for an unknown zone"
ok "unknown zone: NOT_FOUND for push, pull, status, update, remove, key ds"

{
	cat "$tmp/good.zone"
	for ((i = 0; i < MAX_RECORDS + 10; i++)); do
		echo "h$i IN A 192.0.2.$((i % 250 + 1))"
	done
} >"$tmp/big.zone"
cli_fails TOO_LARGE zone push "$zone" "$tmp/big.zone"
unchanged "a push above max_zone_records"
ok "push of $((MAX_RECORDS + 15)) records (max_zone_records $MAX_RECORDS): TOO_LARGE"
# The same as text (signerd reads the records itself): the limit holds too.
cli zone push "$zone" "$tmp/big.zone" --text >/dev/null
if ((cli_rc == 1)) && grep -q TOO_LARGE "$tmp/cli.err"; then
	unchanged "a text push above max_zone_records"
	ok "text push of $((MAX_RECORDS + 15)) records: TOO_LARGE"
else
	check_fail "a text push of $((MAX_RECORDS + 15)) records (max_zone_records $MAX_RECORDS) exited $cli_rc, expected TOO_LARGE; serial now $(zone_serial "$zone"), $(zone_field "$zone" records) records published:$(lib_indent <"$tmp/cli.err")$(daemon_log_since 'published serial' | tail -1 | lib_indent)"
	ref_input=$(zone_field "$zone" input_serial)
fi

# And the zone still takes a good change.
out=$(cli_ok zone update "$zone" --from-serial "$ref_input" --to-serial $((ref_input + 1)) \
	--add 'new 300 IN A 192.0.2.9')
[[ $out == *"published serial"* ]] || die "a good update after the bad ones: $out"
pull "$zone" "$tmp/after.zone"
verify_zone "$zone" "$tmp/after.zone"
ok "a good update is published after all that"
daemon_finish
