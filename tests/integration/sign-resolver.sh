#!/usr/bin/env bash
# Validation as an operator sees it (issue 3, section 5): NSD serves zones
# signed by `signer sign` on a loopback port, unbound validates them with the
# DS records signer printed as trust anchors, and dig asks unbound.
#
# The RFC 4035 appendix A zone, renamed to five zones under example.:
#   nsec.example.     NSEC, KSK+ZSK (ECDSAP256SHA256)
#   nsec3.example.    NSEC3, CSK (ED25519)
#   optout.example.   NSEC3 opt-out with salt and iterations, CSK (RSASHA256)
#   expired.example.  NSEC, signed as of 30 days ago with --validity 7d
#   corrupt.example.  NSEC, the zone's default CSK; the only RRSIG over
#                     ai.corrupt.example./A has one base64 character changed
# Expected: AD for existing names, wildcard answers, NXDOMAIN, NODATA (also at
# an empty non-terminal and at a wildcard), DS at a secure delegation and its
# absence at an insecure one, in nsec and nsec3; in optout the same except
# where the proof rests on an opt-out NSEC3 and unbound calls the answer
# insecure (NXDOMAIN, wildcards, no DS: AD not required, but the rcode must be
# right: not bogus); SERVFAIL for
# everything in expired (and unbound says why: EDE 7, signature expired);
# SERVFAIL for ai.corrupt.example./A and AD for its other names and types.
#
# Both servers run in the foreground from this script, on free ports of
# 127.0.0.1, with their configuration and state in the temporary directory,
# and are stopped on exit.
#
#   sign-resolver.sh SIGNER_BINARY [TESTDATA_DIR]
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-resolver "$@"
lib_require nsd nsd-checkconf unbound unbound-checkconf dig ldns-read-zone

failures=0
fail() {
	echo "FAIL: $1: $2" >&2
	failures=$((failures + 1))
}

src=$testdata/vectors/rfc4035-appendix-a/example.unsigned.zone
[[ -f $src ]] || die "$src is missing"

step "token, keys, zones"
lib_token resolver
nsec_ksk=$(lib_keygen ECDSAP256SHA256 r-nsec-ksk)
nsec_zsk=$(lib_keygen ECDSAP256SHA256 r-nsec-zsk)
nsec3_csk=$(lib_keygen ED25519 r-nsec3-csk)
optout_csk=$(lib_keygen RSASHA256 r-optout-csk)
expired_csk=$(lib_keygen ECDSAP256SHA256 r-expired-csk)

declare -A sign_args=(
	[nsec]="--ksk $nsec_ksk --zsk $nsec_zsk"
	[nsec3]="--csk $nsec3_csk --nsec3"
	[optout]="--csk $optout_csk --nsec3 --opt-out --iterations 5 --salt BEEF"
	[expired]="--csk $expired_csk --now $(($(date +%s) - 30 * 86400)) --validity 7d --jitter 0 --inception-offset 0"
	[corrupt]=""
)
zones=(nsec nsec3 optout expired corrupt)
mkdir "$tmp/nsd" "$tmp/unbound"
for z in "${zones[@]}"; do
	origin=$z.example.
	# Every name in the file is absolute and ends in "example.".
	sed -E "s/(^|[[:space:].])example\\./\\1$origin/g" "$src" >"$tmp/$z.zone"
	# shellcheck disable=SC2086 # sign_args are words
	lib_sign_ok "$tmp/$z" --zone "$origin" --in "$tmp/$z.zone" --out "$tmp/nsd/$origin"signed \
		${sign_args[$z]}
	lib_check_ds "$tmp/$z.ds" "$origin" >/dev/null
	ok "$origin signed ($(tail -1 "$tmp/$z.err"))"
done

# corrupt: one base64 character of the RRSIG over ai.corrupt.example./A.
signed=$tmp/nsd/corrupt.example.signed
lib_normalize "$signed" >"$tmp/corrupt.norm"
lines=$(awk '$1 == "ai.corrupt.example." && $4 == "RRSIG" && $5 == "A"' "$tmp/corrupt.norm" | wc -l)
((lines == 1)) || die "ai.corrupt.example./A has $lines RRSIGs, expected exactly one"
awk '$1 == "ai.corrupt.example." && $4 == "RRSIG" && $5 == "A" {
		sig = $NF
		c = substr(sig, 11, 1)
		$NF = substr(sig, 1, 10) (c == "A" ? "B" : "A") substr(sig, 12)
	}
	{ print }' "$tmp/corrupt.norm" >"$signed"
cmp -s "$tmp/corrupt.norm" "$signed" && die "failed to corrupt the RRSIG"
ok "corrupted the RRSIG over ai.corrupt.example./A: $({ diff "$tmp/corrupt.norm" "$signed" || true; } | lib_grep '^>' | cut -c1-100)..."

# --- NSD ----------------------------------------------------------------------
step "NSD"
nsd_port=$(lib_free_port)
{
	printf 'server:\n'
	printf '\tip-address: 127.0.0.1\n\tport: %s\n\tdo-ip6: no\n' "$nsd_port"
	printf '\tusername: ""\n\tchroot: ""\n\tzonesdir: "%s"\n' "$tmp/nsd"
	printf '\tpidfile: "%s"\n\txfrdfile: "%s"\n' "$tmp/nsd/nsd.pid" "$tmp/nsd/xfrd.state"
	printf '\tzonelistfile: "%s"\n\txfrdir: "%s"\n' "$tmp/nsd/zone.list" "$tmp/nsd"
	printf '\tdatabase: ""\n\tlogfile: "%s"\n' "$tmp/nsd/nsd.log"
	printf '\tserver-count: 1\n\tverbosity: 1\n'
	printf 'remote-control:\n\tcontrol-enable: no\n'
	for z in "${zones[@]}"; do
		printf 'zone:\n\tname: "%s.example."\n\tzonefile: "%s.example.signed"\n' "$z" "$z"
	done
} >"$tmp/nsd/nsd.conf"
nsd-checkconf "$tmp/nsd/nsd.conf" || die "nsd-checkconf rejects $tmp/nsd/nsd.conf"
# Under timeout(1), so that they end even if this script is killed with
# SIGKILL (and so skips its EXIT trap); timeout passes our TERM on.
lifetime=${SIGNER_TEST_SERVER_LIFETIME:-280}
timeout "$lifetime" nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/stdout" 2>&1 &
nsd_pid=$!
lib_at_exit "kill $nsd_pid 2>/dev/null; wait $nsd_pid 2>/dev/null"

# wait_for PID PORT QNAME STATUS: until the server at PORT answers QNAME SOA
# with an rcode matching STATUS (at most 10 s); fails if the process exits.
wait_for() {
	local pid=$1 port=$2 qname=$3 status=$4 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if dig +time=1 +tries=1 @127.0.0.1 -p "$port" "$qname" SOA 2>/dev/null |
			grep -Eq "status: ($status)"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
wait_for "$nsd_pid" "$nsd_port" nsec.example. NOERROR ||
	die "NSD did not come up on 127.0.0.1@$nsd_port:$(cat "$tmp/nsd/nsd.log" "$tmp/nsd/stdout" 2>/dev/null | lib_indent)"
for z in "${zones[@]}"; do
	dig +norec +time=2 +tries=1 @127.0.0.1 -p "$nsd_port" "$z.example." SOA | grep -q 'flags: qr aa' ||
		die "NSD does not serve $z.example.:$(lib_indent <"$tmp/nsd/nsd.log")"
done
ok "NSD (pid $nsd_pid) serves ${#zones[@]} zones on 127.0.0.1@$nsd_port"

# --- unbound ------------------------------------------------------------------
step "unbound"
unbound_port=$(lib_free_port)
while ((unbound_port == nsd_port)); do
	unbound_port=$(lib_free_port)
done
{
	printf 'server:\n'
	printf '\tinterface: 127.0.0.1\n\tport: %s\n\tdo-ip6: no\n' "$unbound_port"
	printf '\tdo-daemonize: no\n\tuse-syslog: no\n\tlogfile: "%s"\n' "$tmp/unbound/unbound.log"
	printf '\tchroot: ""\n\tusername: ""\n\tdirectory: "%s"\n' "$tmp/unbound"
	printf '\tpidfile: "%s"\n' "$tmp/unbound/unbound.pid"
	printf '\tnum-threads: 1\n\tverbosity: 1\n\tval-log-level: 2\n\tede: yes\n'
	printf '\tdo-not-query-localhost: no\n\tmodule-config: "validator iterator"\n'
	for z in "${zones[@]}"; do
		# SHA-256 DS, comment removed.
		ds=$(lib_ds_lines "$tmp/$z.ds" | awk '$(NF - 1) == 2 { $1 = $1; print; exit }')
		printf '\ttrust-anchor: "%s"\n' "$ds"
	done
	printf 'remote-control:\n\tcontrol-enable: no\n'
	for z in "${zones[@]}"; do
		printf 'stub-zone:\n\tname: "%s.example."\n\tstub-addr: 127.0.0.1@%s\n' "$z" "$nsd_port"
	done
} >"$tmp/unbound/unbound.conf"
unbound-checkconf "$tmp/unbound/unbound.conf" >/dev/null ||
	die "unbound-checkconf rejects $tmp/unbound/unbound.conf"
timeout "$lifetime" unbound -d -c "$tmp/unbound/unbound.conf" >"$tmp/unbound/stdout" 2>&1 &
unbound_pid=$!
lib_at_exit "kill $unbound_pid 2>/dev/null; wait $unbound_pid 2>/dev/null"
# Any answer will do: whether it validates is what the queries below check.
wait_for "$unbound_pid" "$unbound_port" nsec.example. '[A-Z]+' ||
	die "unbound did not come up on 127.0.0.1@$unbound_port:$(cat "$tmp/unbound/unbound.log" "$tmp/unbound/stdout" 2>/dev/null | lib_indent)"
ok "unbound (pid $unbound_pid) on 127.0.0.1@$unbound_port, trust anchors: ${zones[*]}"

# --- queries ------------------------------------------------------------------
# expect WHAT QNAME QTYPE STATUS AD ANSWER [EDE]: asks unbound. STATUS is the
# rcode; AD and ANSWER are yes, no or any; EDE an extended error code that
# must appear.
expect() {
	local what=$1 qname=$2 qtype=$3 status=$4 ad=$5 answer=$6 ede=${7:-}
	local out got_status got_ad=no got_answer=no problem=''
	out=$(dig +dnssec +time=5 +tries=1 @127.0.0.1 -p "$unbound_port" "$qname" "$qtype" 2>&1) || true
	got_status=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out")
	grep -q '^;; flags:[^;]* ad[ ;]' <<<"$out" && got_ad=yes
	[[ $(sed -n 's/.*ANSWER: \([0-9]*\).*/\1/p' <<<"$out") =~ ^[1-9] ]] && got_answer=yes
	if [[ $got_status != "$status" ]]; then
		problem="status ${got_status:-none}, expected $status"
	elif [[ $ad != any && $got_ad != "$ad" ]]; then
		problem="AD flag: $got_ad, expected $ad"
	elif [[ $answer != any && $got_answer != "$answer" ]]; then
		problem="answer: $got_answer, expected $answer"
	elif [[ -n $ede ]] && ! grep -q "EDE: $ede\b" <<<"$out"; then
		problem="no EDE $ede in the answer"
	fi
	if [[ -n $problem ]]; then
		fail "$what ($qname $qtype)" "$problem$(lib_grep -E 'status:|flags:|EDE|IN' <<<"$out" | lib_indent)$(lib_grep -i -F "validation failure <$qname" "$tmp/unbound/unbound.log" | tail -3 | lib_indent)"
	else
		ok "$what: $qname $qtype: $got_status, AD $got_ad$(lib_grep -o 'EDE: [^;]*' <<<"$out" | head -1 | sed 's/^/, /')"
	fi
}

for z in nsec nsec3 optout; do
	step "$z.example."
	o=$z.example.
	nx=NXDOMAIN nxad=yes
	if [[ $z == optout ]]; then
		# Proofs that rest on an NSEC3 covering the next closer name (name
		# error, wildcard answer, wildcard NODATA, no DS at an insecure
		# delegation) meet the opt-out flag: unbound calls them insecure
		# (no AD). They must still not be bogus.
		nxad=any
	fi
	expect "$z existing A" "ai.$o" A NOERROR yes yes
	expect "$z existing AAAA" "ai.$o" AAAA NOERROR yes yes
	expect "$z apex DNSKEY" "$o" DNSKEY NOERROR yes yes
	expect "$z apex MX" "$o" MX NOERROR yes yes
	expect "$z wildcard answer" "anything.w.$o" MX NOERROR "$nxad" yes
	expect "$z NXDOMAIN" "nosuch.$o" A "$nx" "$nxad" no
	expect "$z NXDOMAIN below an existing name" "deeper.ai.$o" A "$nx" "$nxad" no
	expect "$z NODATA" "ai.$o" TXT NOERROR yes no
	expect "$z NODATA at an empty non-terminal" "y.w.$o" A NOERROR yes no
	expect "$z NODATA at a wildcard" "anything.w.$o" A NOERROR "$nxad" no
	expect "$z DS at a secure delegation" "a.$o" DS NOERROR yes yes
	expect "$z no DS at an insecure delegation" "b.$o" DS NOERROR "$nxad" no
done

step "expired.example.: signatures expired 23 days ago"
expect "expired existing" "ai.expired.example." A SERVFAIL no no 7
expect "expired NXDOMAIN" "nosuch.expired.example." A SERVFAIL no no
expect "expired apex" "expired.example." SOA SERVFAIL no no

step "corrupt.example.: the RRSIG over ai.corrupt.example./A is corrupted"
expect "corrupt RRset" "ai.corrupt.example." A SERVFAIL no no
expect "corrupt: other type at the name" "ai.corrupt.example." AAAA NOERROR yes yes
expect "corrupt: other name" "ns1.corrupt.example." A NOERROR yes yes
expect "corrupt: NXDOMAIN" "nosuch.corrupt.example." A NXDOMAIN yes no
expect "corrupt: NODATA" "ai.corrupt.example." TXT NOERROR yes no

echo "unbound's validation failures (val-log-level 2):"
grep -i 'validation failure' "$tmp/unbound/unbound.log" | sed 's/^/    /' | head -20 || true

((failures == 0)) || die "$failures answer(s) not as expected, listed above"
echo "sign-resolver: all checks passed"
