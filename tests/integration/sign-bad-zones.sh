#!/usr/bin/env bash
# `signer sign` on the malformed zones of testdata/bad-zones/ (issue 3,
# sections 1 and 5): each must make signer exit 1 (not a crash, not a usage
# error, not a timeout) with an error line on stderr that names the file, the
# line and the reason its README gives (every line on stderr starts with
# "signer: "; at most 10 lines: signer may report several errors of one file
# and a summary line); nothing on stdout (no DS); --out is not created, an
# existing --out is left untouched, and no temporary file is left in --out's
# directory.
#
#   sign-bad-zones.sh SIGNER_BINARY [TESTDATA_DIR]
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-bad-zones "$@"
lib_require md5sum

# file | origin | line(s) the error must name ("-" = none required) |
# reason: an extended regular expression (case-insensitive) the error line,
# with the file's name taken out, must match; after the README's "problem"
# column. Where libzscanner's own
# message does not say what is wrong (e.g. "invalid number" for an MX without
# exchange, "unsupported record type" for a CH record, "file open error"
# without the file), the regex asks for words that do.
expectations='
bad-syntax-paren.zone        | example.            | 7   | paren|\(|multi-?line|unclosed|unbalanced
bad-syntax-type.zone         | example.            | 7   | AXYZ|(record|rr) type
bad-rdata-a.zone             | example.            | 7   | IPv4|192\.0\.2\.300
bad-rdata-aaaa.zone          | example.            | 7   | IPv6|2001:db8::1::2
bad-rdata-mx.zone            | example.            | 7   | exchange|missing|incomplete|too short|end of (line|record|input)
bad-missing-soa.zone         | example.            | -   | SOA
bad-cname-and-other.zone     | example.            | 7 8 | CNAME
bad-out-of-zone.zone         | example.            | 7   | out.of.zone|outside|not (in|within|under|below)|www\.example\.net
bad-ttl.zone                 | example.            | 7   | TTL|4294967296
bad-label-64.zone            | example.            | 7   | label
bad-include-missing.zone     | example.            | 7   | does-not-exist\.zone
bad-class.zone               | example.            | 7   | class
nsd_bug107_bad_hex_3597.zone | interop3597.rfc.se. | 10  | hex
'

step "token and key"
lib_token badzones
csk=$(lib_keygen ECDSAP256SHA256 bad-zones-csk)

# Every file in bad-zones/ has an expectation, and the other way round.
listed=$(awk -F'|' 'NF > 1 { gsub(/ /, "", $1); print $1 }' <<<"$expectations" | sort)
present=$(find "$testdata/bad-zones" -maxdepth 1 -name '*.zone' -printf '%f\n' | sort)
[[ $listed == "$present" ]] ||
	die "bad-zones/ and this script's table differ:$(diff <(echo "$listed") <(echo "$present") | lib_indent)"

# A control: the same command on a good zone succeeds, so every failure below
# is the input's own.
step "control: a good zone signs with the same options"
lib_sign_ok "$tmp/control" --zone example. --in "$testdata/zones/own-delegations.zone" \
	--out "$tmp/control.signed" --csk "$csk"
ok "own-delegations.zone signs: $(tail -1 "$tmp/control.err")"

step "bad zones"
mkdir "$tmp/out"
failures=0 cases=0
fail() {
	echo "FAIL: $1: $2" >&2
	failures=$((failures + 1))
}
# error_line ERRORS FILE REASON LINE...: prints the first line of ERRORS that
# names FILE and one of the LINEs ("FILE:N" or "FILE ... line N"; "-": any or
# none) and, with FILE's name taken out, matches REASON (case-insensitive).
error_line() {
	local errors=$1 file=$2 reason=$3 line l
	shift 3
	while IFS= read -r line; do
		[[ $line == *"$file"* ]] || continue
		grep -Eiq -e "$reason" <<<"${line//$file/FILE}" || continue
		for l in "$@"; do
			if [[ $l == - ]] || grep -Eq -e "$file:$l([^0-9]|$)" -e "$file.*[Ll]ine $l([^0-9]|$)" <<<"$line"; then
				printf '%s\n' "$line"
				return 0
			fi
		done
	done <<<"$errors"
	return 1
}
while IFS='|' read -r file origin lines reason; do
	file=${file// /}
	[[ -n $file ]] || continue
	origin=${origin// /}
	read -r -a lines <<<"$lines"
	reason=$(sed 's/^ *//; s/ *$//' <<<"$reason")
	src=$testdata/bad-zones/$file
	cases=$((cases + 1))

	# First with a new --out, then with an existing one.
	rm -f "$tmp/out/new.signed"
	printf 'previous signed zone\n' >"$tmp/out/old.signed"
	before=$(lib_snapshot "$tmp/out")
	problem=''
	for out in "$tmp/out/new.signed" "$tmp/out/old.signed"; do
		lib_sign "$tmp/case" --zone "$origin" --in "$src" --out "$out" --csk "$csk"
		err=$(cat "$tmp/case.err")
		nlines=$(grep -c '' <<<"$err" || true)
		[[ -n $err ]] || nlines=0
		if ((sign_rc == 0)); then
			problem="exit status 0"
		elif ((sign_rc == 124)); then
			problem="timed out after $sign_timeout s"
		elif ((sign_rc >= 128)); then
			problem="crashed (exit status $sign_rc)"
		elif ((sign_rc != 1)); then
			problem="exit status $sign_rc, expected 1 (2 is for usage errors)"
		elif ((nlines == 0 || nlines > 10)); then
			problem="$nlines lines on stderr, expected an error line (and at most 10 lines)"
		elif lib_grep -v '^signer: ' <<<"$err" | grep -q .; then
			problem="lines on stderr that do not start with 'signer: '"
		elif ! hit=$(error_line "$err" "$file" "$reason" "${lines[@]}"); then
			problem="no error line names $file, line ${lines[*]// / or } ('$file:N') and the reason (/$reason/)"
		elif [[ -s $tmp/case.ds ]]; then
			problem="something on stdout: $(head -3 "$tmp/case.ds")"
		fi
		[[ -z $problem ]] || break
	done
	after=$(lib_snapshot "$tmp/out")
	if [[ -z $problem && $before != "$after" ]]; then
		problem="the output directory changed:$(diff <(echo "$before") <(echo "$after") | lib_indent)"
	fi
	if [[ -n $problem ]]; then
		fail "$file" "$problem"
		echo "  command: signer sign --zone $origin --in $src --out $out --csk $csk" >&2
		echo "  exit status: $sign_rc; stderr:$(lib_indent <"$tmp/case.err")" >&2
	else
		ok "$file: $hit$( ((nlines == 1)) || echo " (+$((nlines - 1)) more line(s))")"
	fi
done <<<"$expectations"

echo "sign-bad-zones: $((cases - failures)) of $cases bad zones refused as expected"
((failures == 0)) || die "$failures bad zone(s) not refused as expected, listed above"
echo "sign-bad-zones: all checks passed"
