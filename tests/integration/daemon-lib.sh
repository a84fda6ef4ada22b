# Shared shell functions of the signerd integration tests (daemon-*.sh):
# a signerd of our own, driven through the `signer` CLI. Source it after
# lib.sh's neighbour, then call daemon_init first:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
#   daemon_init daemon-example "$@"  # SIGNER SIGNERD [TESTDATA [P11FAULT]]
#
# daemon_init runs lib_init (so $signer, $testdata, $tmp and the traps of
# lib.sh exist) and sets: $signerd, $p11fault (libp11fault.so), $conf (the
# signer.yaml every command uses), $sock (the Unix socket), $state, $outdir,
# $daemon_log (signerd's stderr, appended to by every start), $uid (ours).
# It registers a cleanup that kills a signerd still running at exit.
#
# Configuration (daemon_write_config): a token "main" ($token of lib_token,
# module $daemon_module, default SoftHSM) and these hooks, each YAML text
# (already indented) inserted as is:
#   daemon_cfg_token    more keys of the token (e.g. "    retry_budget: 2")
#   daemon_cfg_server   more keys under server: (e.g. "  test_clock: true")
#   daemon_cfg_clients  the whole clients list (default: our uid, operator)
#   daemon_cfg_extra    more top-level keys (notify_command, journal, ...)
#
# signerd runs in the background (daemon_start), its pid in $daemon_pid;
# daemon_stop stops it with SIGTERM and requires exit status 0.
# shellcheck shell=bash
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# daemon_init NAME SIGNER SIGNERD [TESTDATA [P11FAULT]]
daemon_init() {
	local name=$1
	signerd=${3:?usage: $name.sh SIGNER_BINARY SIGNERD_BINARY [TESTDATA_DIR [P11FAULT_MODULE]]}
	[[ -z ${5:-} ]] || SIGNER_TEST_P11FAULT=$5
	lib_init "$name" "$2" "${4:-}"
	[[ -x $signerd ]] || die "signerd binary $signerd is missing"
	[[ $signerd == /* ]] || signerd=$PWD/$signerd
	lib_require python3 ldns-verify-zone ldns-read-zone
	p11fault=$(lib_p11fault)
	uid=$(id -u)
	conf=$tmp/signer.yaml
	sock=$tmp/run/signerd.sock
	state=$tmp/state
	outdir=$tmp/out
	daemon_log=$tmp/signerd.log
	daemon_module=$softhsm
	daemon_cfg_token=""
	daemon_cfg_server=""
	daemon_cfg_clients="  - uid: $uid
    role: operator"
	daemon_cfg_extra=""
	daemon_pid=""
	daemon_log_mark=0
	cli_conn=(-c "$conf")
	check_failures=()
	mkdir -p "$tmp/run"
	: >"$daemon_log"
	lib_at_exit daemon_cleanup
	daemon_write_rpcwire
}

# daemon_write_rpcwire: $tmp/py/rpcwire.py, hand-made frames of
# proto/signer.proto for python3 (standard library only); daemon_py runs
# python with it importable.
daemon_write_rpcwire() {
	mkdir -p "$tmp/py"
	cat >"$tmp/py/rpcwire.py" <<'EOF'
"""Frames of signer.proto by hand: 4-byte big-endian length + protobuf."""
import socket
import struct

# Request fields (signer.v1.Request)
ID, ZONE_LIST, ZONE_STATUS, PUSH_BEGIN, CHUNK, END, FETCH = 1, 12, 13, 14, 16, 17, 18
STATUS = {0: "OK", 1: "INTERNAL", 2: "BAD_REQUEST", 3: "NOT_FOUND", 4: "ALREADY_EXISTS",
          5: "PERMISSION_DENIED", 6: "SERIAL_MISMATCH", 7: "INVALID_ZONE",
          8: "UNAVAILABLE", 9: "TOO_LARGE", 10: "TIMEOUT", 11: "SIGNING_FAILED",
          12: "SHUTTING_DOWN"}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3 | 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def request(rid, op, body=b""):
    """A Request with id rid and the sub-message body in oneof field op."""
    return f_varint(ID, rid) + f_bytes(op, body)


def frame(msg):
    return struct.pack(">I", len(msg)) + msg


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def read_frame(s):
    """The next frame's message, or None at the end of the connection."""
    try:
        hdr = recv_exact(s, 4)
        if hdr is None:
            return None
        return recv_exact(s, struct.unpack(">I", hdr)[0])
    except (ConnectionResetError, BrokenPipeError):
        return None


def _varint_at(b, i):
    n, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def parse(msg):
    """Field number -> list of values (int for varints, bytes otherwise)."""
    fields, i = {}, 0
    while i < len(msg):
        k, i = _varint_at(msg, i)
        field, wt = k >> 3, k & 7
        if wt == 0:
            v, i = _varint_at(msg, i)
        elif wt == 2:
            n, i = _varint_at(msg, i)
            v, i = msg[i:i + n], i + n
        elif wt == 1:
            v, i = msg[i:i + 8], i + 8
        elif wt == 5:
            v, i = msg[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        fields.setdefault(field, []).append(v)
    return fields


def response(msg):
    """(id, status name, message, more, fields) of a Response."""
    f = parse(msg)
    return (f.get(1, [0])[0], STATUS.get(f.get(2, [0])[0], "?"),
            f.get(3, [b""])[0].decode(errors="replace"), bool(f.get(4, [0])[0]), f)
EOF
}

# daemon_py ARGS...: python3 with rpcwire importable.
daemon_py() {
	PYTHONPATH=$tmp/py python3 "$@"
}

# daemon_write_config: writes the configuration $conf from $token,
# $pin_file, $daemon_module and the daemon_cfg_* hooks.
daemon_write_config() {
	local file=$conf
	{
		printf 'tokens:\n  - name: main\n    module: %s\n' "$daemon_module"
		printf '    uri: "pkcs11:token=%s"\n    pin_file: %s\n' "$token" "$pin_file"
		[[ -z $daemon_cfg_token ]] || printf '%s\n' "$daemon_cfg_token"
		printf 'server:\n  socket: %s\n' "$sock"
		[[ -z $daemon_cfg_server ]] || printf '%s\n' "$daemon_cfg_server"
		printf 'clients:\n%s\n' "$daemon_cfg_clients"
		printf 'state_dir: %s\noutput_dir: %s\n' "$state" "$outdir"
		[[ -z $daemon_cfg_extra ]] || printf '%s\n' "$daemon_cfg_extra"
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# check_fail MESSAGE: a failed check that does not stop the script (the
# checks after it still run); daemon_finish then fails the test.
check_fail() {
	echo "$LIB_NAME: FAIL: $*" >&2
	check_failures+=("$1")
}

# daemon_finish: the end of a test: stops signerd (exit status 0 required)
# and fails if any check_fail happened.
daemon_finish() {
	[[ -z $daemon_pid ]] || daemon_stop
	if ((${#check_failures[@]} > 0)); then
		local f
		for f in "${check_failures[@]}"; do
			echo "$LIB_NAME: FAIL: ${f%%:*}" >&2
		done
		die "${#check_failures[@]} check(s) failed"
	fi
	ok "all checks passed"
}

# daemon_log_tail [N]: the last N (default 25) lines of the log, indented,
# for failure messages.
daemon_log_tail() {
	tail -n "${1:-25}" "$daemon_log" | lib_indent
}

# daemon_start [VAR=VALUE...]: starts signerd -c $conf in the background with
# these extra environment variables, stderr appended to $daemon_log; waits
# until it serves (daemon_wait_socket).
daemon_start() {
	[[ -z $daemon_pid ]] || die "daemon_start: signerd $daemon_pid is still running"
	daemon_log_mark=$(wc -l <"$daemon_log")
	echo "--- start $(date -u +%FT%TZ) $*" >>"$daemon_log"
	daemon_log_mark=$((daemon_log_mark + 1))
	env "$@" "$signerd" -c "$conf" 2>>"$daemon_log" </dev/null &
	daemon_pid=$!
	daemon_wait_socket 30
}

# daemon_wait_socket [SECONDS]: waits until signerd logged "signerd started"
# (listeners open, zones loaded) and its socket accepts; dies if signerd
# exits first or after SECONDS (default 30).
daemon_wait_socket() {
	local limit=$((SECONDS + ${1:-30}))
	while ((SECONDS < limit)); do
		if ! kill -0 "$daemon_pid" 2>/dev/null; then
			local rc=0
			wait "$daemon_pid" || rc=$?
			daemon_pid=""
			die "signerd exited (status $rc) before serving:$(daemon_log_tail)"
		fi
		if daemon_log_since -q 'signerd started' && [[ -S $sock ]] &&
			python3 - "$sock" <<-'EOF' 2>/dev/null; then
				import socket, sys
				s = socket.socket(socket.AF_UNIX)
				s.connect(sys.argv[1])
			EOF
			return 0
		fi
		sleep 0.1
	done
	die "signerd did not serve on $sock within ${1:-30} s:$(daemon_log_tail)"
}

# daemon_start_fails VAR=VALUE...: starts signerd expecting it to refuse to
# start: it must exit non-zero within 20 s. Sets $daemon_fail_rc and
# $daemon_fail_log (what it printed).
daemon_start_fails() {
	daemon_fail_log=$tmp/start-fail.log
	daemon_fail_rc=0
	env "$@" timeout 20 "$signerd" -c "$conf" >"$daemon_fail_log" 2>&1 </dev/null ||
		daemon_fail_rc=$?
	((daemon_fail_rc != 0)) ||
		die "signerd started with a configuration it must refuse:$(lib_indent <"$conf")"
	((daemon_fail_rc != 124)) ||
		die "signerd kept running with a configuration it must refuse:$(lib_indent <"$conf")"
	cat "$daemon_fail_log" >>"$daemon_log"
}

# daemon_stop: SIGTERM, waits (at most 60 s), requires exit status 0 and
# the "signerd stopped" line.
daemon_stop() {
	[[ -n $daemon_pid ]] || die "daemon_stop: no signerd running"
	local pid=$daemon_pid rc=0 i
	kill -TERM "$pid" || die "daemon_stop: signerd $pid is gone:$(daemon_log_tail)"
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		daemon_pid=""
		die "signerd did not stop within 60 s of SIGTERM (killed):$(daemon_log_tail)"
	fi
	wait "$pid" || rc=$?
	daemon_pid=""
	((rc == 0)) || die "signerd exited with status $rc after SIGTERM:$(daemon_log_tail)"
	daemon_log_since -q 'signerd stopped' ||
		die "signerd exited without its 'signerd stopped' line:$(daemon_log_tail)"
}

# daemon_kill: SIGKILL (a crash), and waits.
daemon_kill() {
	[[ -n $daemon_pid ]] || return 0
	kill -KILL "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=""
}

# daemon_alive: dies unless signerd still runs.
daemon_alive() {
	if [[ -z $daemon_pid ]] || ! kill -0 "$daemon_pid" 2>/dev/null; then
		die "signerd is no longer running:$(daemon_log_tail)"
	fi
}

daemon_cleanup() {
	if [[ -n ${daemon_pid:-} ]]; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
		daemon_pid=""
	fi
}

# daemon_hup: SIGHUP, then waits (at most 10 s) for a new "configuration
# reloaded" or "reload refused" line; prints which.
daemon_hup() {
	local before i
	before=$(grep -c -e 'configuration reloaded' -e 'reload refused' "$daemon_log" || true)
	kill -HUP "$daemon_pid"
	for ((i = 0; i < 100; i++)); do
		if (($(grep -c -e 'configuration reloaded' -e 'reload refused' "$daemon_log" || true) > before)); then
			grep -e 'configuration reloaded' -e 'reload refused' "$daemon_log" | tail -1
			return 0
		fi
		sleep 0.1
	done
	die "no reload line within 10 s of SIGHUP:$(daemon_log_tail)"
}

# daemon_log_grep ARGS...: grep over the whole log.
daemon_log_grep() {
	grep "$@" "$daemon_log"
}

# daemon_log_since ARGS...: grep over the log since the latest start.
daemon_log_since() {
	tail -n +"$((daemon_log_mark + 1))" "$daemon_log" | grep "$@"
}

# daemon_log_wait SECONDS PATTERN: waits for an extended regex in the log
# since the latest start; dies after SECONDS.
daemon_log_wait() {
	local limit=$((SECONDS + $1))
	while ((SECONDS <= limit)); do
		daemon_log_since -qE "$2" && return 0
		sleep 0.2
	done
	die "no log line matching '$2' within $1 s:$(daemon_log_tail)"
}

# cli ARGS...: `signer ARGS` with the connection options $cli_conn (default
# -c $conf; --server unix:$sock while $conf is broken) and a time limit; its stdout goes
# to stdout, stderr to $tmp/cli.err. Sets $cli_rc. Returns 0.
cli() {
	cli_rc=0
	timeout 60 "$signer" "$@" "${cli_conn[@]}" 2>"$tmp/cli.err" || cli_rc=$?
}

# cli_ok ARGS...: cli; dies unless it exited 0. Prints its stdout.
cli_ok() {
	local out
	out=$(cli "$@"; exit "$cli_rc") || die "signer $* exited $?:$(lib_indent <"$tmp/cli.err")$(daemon_log_tail 8)"
	[[ -z $out ]] || printf '%s\n' "$out"
}

# cli_fails STATUS ARGS...: runs `signer ARGS` (as cli); dies unless it
# failed with exit status 1 and STATUS (e.g. PERMISSION_DENIED) in its
# error message. The message is in $cli_msg.
cli_fails() {
	local want=$1
	shift
	local rc=0
	timeout 60 "$signer" "$@" "${cli_conn[@]}" >"$tmp/cli.out" 2>"$tmp/cli.err" || rc=$?
	cli_msg=$(cat "$tmp/cli.err")
	((rc == 1)) || die "signer $* exited $rc, expected 1 with $want:$(lib_indent <"$tmp/cli.err")"
	grep -q -- "$want" "$tmp/cli.err" ||
		die "signer $* failed without $want:$(lib_indent <"$tmp/cli.err")"
}

# json_get JSON EXPR: evaluates a Python expression over the parsed JSON
# (named j) and prints the result (true/false for booleans).
json_get() {
	python3 -c '
import json, sys
j = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2" ||
		die "cannot read '$2' from JSON:$(lib_indent <<<"$1")"
}

# zone_serial ZONE: the published serial of ZONE (zone status --json).
zone_serial() {
	local js
	js=$(cli_ok zone status "$1" --json)
	json_get "$js" 'j["serial"]'
}

# zone_field ZONE KEY: one field of `signer zone status ZONE --json`.
zone_field() {
	local js
	js=$(cli_ok zone status "$1" --json)
	json_get "$js" "j[\"$2\"]"
}

# pull ZONE FILE [ARGS...]: `signer zone pull ZONE --out FILE`.
pull() {
	local zone=$1 file=$2
	shift 2
	cli_ok zone pull "$zone" --out "$file" "$@" >/dev/null
	[[ -s $file ]] || die "zone pull $zone wrote nothing to $file"
}

# verify_zone ZONE FILE [LDNS_ARGS...]: ldns-verify-zone (with LDNS_ARGS,
# e.g. -t +864000) and, without LDNS_ARGS, BIND's dnssec-verify accept FILE
# (-z as well when the zone's only key is a CSK: dnssec-verify then needs it
# to sign everything).
verify_zone() {
	local zone=$1 file=$2
	shift 2
	ldns-verify-zone "$@" "$file" >"$tmp/verify.out" 2>&1 ||
		die "ldns-verify-zone $* rejects zone $zone ($file):$(lib_indent <"$tmp/verify.out")"
	if (($# == 0)) && command -v dnssec-verify >/dev/null; then
		local z=()
		# Only flags-257 DNSKEYs: a CSK zone; dnssec-verify wants -z then.
		if ! awk '$4 == "DNSKEY" && $5 == 256 { f = 1 } END { exit !f }' \
			<(ldns-read-zone -c "$file" 2>/dev/null); then
			z=(-z)
		fi
		dnssec-verify "${z[@]}" -o "$zone" "$file" >"$tmp/verify.out" 2>&1 ||
			die "dnssec-verify ${z[*]} -o $zone rejects $file:$(lib_indent <"$tmp/verify.out")"
	fi
}

# zone_soa_serial FILE: the SOA serial in a zone file.
zone_soa_serial() {
	ldns-read-zone -c "$1" 2>/dev/null | awk '$4 == "SOA" { print $7; exit }'
}

# zone_digest FILE: the zone's records, normalized and sorted (to compare
# two pulls).
zone_digest() {
	ldns-read-zone -c "$1" 2>/dev/null | sort | md5sum | cut -d' ' -f1
}

# keygen LABEL: a P-256 key in the token (lib_keygen); prints its CKA_ID.
keygen() {
	lib_keygen ECDSAP256SHA256 "$1"
}
