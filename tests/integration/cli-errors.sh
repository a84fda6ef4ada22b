#!/usr/bin/env bash
# Bad input to `signer hsm ...`: each case must give one line on stderr that
# starts with "signer: " and names the problem, a non-zero exit status, no
# crash (status < 128, no sanitizer report), and change nothing in the token.
#
#   cli-errors.sh SIGNER_BINARY [TESTDATA_DIR]
#
# Makes its own SoftHSM token in a temporary directory (SOFTHSM2_CONF) with a
# throwaway PIN, and removes it on exit.
set -Eeuo pipefail
# Any command that fails unexpectedly names itself.
trap 'echo "cli-errors: FAIL: line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR

signer=${1:?usage: cli-errors.sh SIGNER_BINARY [TESTDATA_DIR]}
module=${SIGNER_TEST_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}

die() {
	echo "cli-errors: FAIL: $*" >&2
	exit 1
}

[[ -x $signer ]] || die "signer binary $signer is missing"
[[ -f $module ]] || die "SoftHSM module $module is missing"
for tool in softhsm2-util pkcs11-tool; do
	command -v "$tool" >/dev/null || die "$tool is not installed (ci/install-deps)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-cli-errors.XXXXXX")
cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- a token of our own ---------------------------------------------------
mkdir -m 0700 "$tmp/tokens"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$tmp/tokens" >"$SOFTHSM2_CONF"
token=errors
pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# softhsm2-util only takes PINs as arguments: throwaway PINs of a test token.
softhsm2-util --init-token --free --label "$token" --so-pin "$(od -An -N8 -tx1 /dev/urandom |
	tr -d ' \n')" --pin "$pin" >/dev/null || die "softhsm2-util --init-token failed"
unset SIGNER_PIN

umask 077
printf '%s\n' "$pin" >"$tmp/pin"
printf '%s\n' "not-the-pin" >"$tmp/wrong-pin"
printf '%s\n' "$pin" >"$tmp/open-pin"
chmod 0644 "$tmp/open-pin"

token_args=(--module "$module" --token "pkcs11:token=$token" --pin-file "$tmp/pin")

# pkcs11-tool reads the PIN from the environment, not from its command line.
export CLI_ERRORS_PIN=$pin
p11tool() {
	pkcs11-tool --module "$module" --token-label "$token" --login --pin env:CLI_ERRORS_PIN "$@"
}

# Number of objects in the token (private ones included).
object_count() {
	p11tool --list-objects 2>/dev/null | grep -c 'Object;' || true
}

failures=0
cases=0

# run NAME -- ARGS...: runs the signer, leaves $out, $err, $rc.
run() {
	out=$("$signer" "$@" 2>"$tmp/stderr") && rc=0 || rc=$?
	err=$(cat "$tmp/stderr")
}

fail_case() {
	echo "FAIL: $1: $2" >&2
	echo "  command: signer ${*:3}" >&2
	echo "  exit status: $rc" >&2
	echo "  stderr:" >&2
	printf '%s\n' "$err" | sed 's/^/    | /' >&2
	failures=$((failures + 1))
}

# expect_error NAME STATUSES SUBSTRING [SUBSTRING...] -- ARGS...
# STATUSES is a list of allowed exit statuses, e.g. "1" or "1 2".
# The token must hold the same number of objects before and after.
expect_error() {
	local name=$1 statuses=$2
	shift 2
	local subs=()
	while (($#)) && [[ $1 != -- ]]; do
		subs+=("$1")
		shift
	done
	shift
	cases=$((cases + 1))
	local before after
	before=$(object_count)
	run "$@"
	after=$(object_count)

	if ((rc == 0)); then
		fail_case "$name" "exit status 0, expected failure" "$@"
		return
	fi
	if ((rc >= 128)); then
		fail_case "$name" "crashed (exit status $rc)" "$@"
		return
	fi
	if [[ " $statuses " != *" $rc "* ]]; then
		fail_case "$name" "exit status $rc, expected one of: $statuses" "$@"
		return
	fi
	local lines
	lines=$(printf '%s' "$err" | grep -c '' || true)
	if ((lines != 1)); then
		fail_case "$name" "$lines lines on stderr, expected exactly one" "$@"
		return
	fi
	if [[ $err != "signer: "* ]]; then
		fail_case "$name" "stderr does not start with 'signer: '" "$@"
		return
	fi
	local s
	for s in "${subs[@]}"; do
		if [[ $err != *"$s"* ]]; then
			fail_case "$name" "stderr lacks \"$s\"" "$@"
			return
		fi
	done
	if [[ $err == *"$pin"* ]]; then
		fail_case "$name" "the PIN appears in the error message" "$@"
		return
	fi
	if [[ $before != "$after" ]]; then
		fail_case "$name" "the token changed: $before objects before, $after after" "$@"
		return
	fi
	echo "ok: $name: $err"
}

# expect_ok NAME -- ARGS...
expect_ok() {
	local name=$1
	shift 2
	cases=$((cases + 1))
	run "$@"
	if ((rc != 0)); then
		fail_case "$name" "exit status $rc, expected 0" "$@"
		return
	fi
	echo "ok: $name"
}

# --- the setup works: so every failure below is the case's own ------------
expect_ok "keys with a good PIN file" -- hsm keys "${token_args[@]}"
expect_ok "tokens with a good PIN file" -- hsm tokens "${token_args[@]}"
SIGNER_PIN=$pin expect_ok "keys with SIGNER_PIN" -- hsm keys --module "$module" \
	--token "pkcs11:token=$token"

# Two keys with the same label, made by another PKCS#11 consumer.
p11tool --keypairgen --key-type EC:prime256v1 --id 01aa --label dup-label >/dev/null 2>&1 ||
	die "pkcs11-tool --keypairgen failed"
p11tool --keypairgen --key-type EC:prime256v1 --id 02aa --label dup-label >/dev/null 2>&1 ||
	die "pkcs11-tool --keypairgen failed"

# --- bad input ------------------------------------------------------------
expect_error "missing module file" "1" "$tmp/no-such-module.so" "does not exist" -- \
	hsm keys --module "$tmp/no-such-module.so" --token "pkcs11:token=$token" \
	--pin-file "$tmp/pin"

expect_error "not a PKCS#11 module" "1" "$SOFTHSM2_CONF" -- \
	hsm keys --module "$SOFTHSM2_CONF" --token "pkcs11:token=$token" --pin-file "$tmp/pin"

expect_error "unknown token" "1" "no token matches" "pkcs11:token=no-such-token" -- \
	hsm keys --module "$module" --token "pkcs11:token=no-such-token" --pin-file "$tmp/pin"

expect_error "wrong PIN" "1" "CKR_PIN_INCORRECT" -- \
	hsm keys --module "$module" --token "pkcs11:token=$token" --pin-file "$tmp/wrong-pin"

expect_error "PIN file readable by others" "1" "PIN file" "$tmp/open-pin" -- \
	hsm keys --module "$module" --token "pkcs11:token=$token" --pin-file "$tmp/open-pin"

expect_error "missing PIN file" "1" "PIN file" "$tmp/no-such-pin" -- \
	hsm keys --module "$module" --token "pkcs11:token=$token" --pin-file "$tmp/no-such-pin"

expect_error "PIN inside the URI" "1 2" "must not contain a PIN" -- \
	hsm keys --module "$module" --token "pkcs11:token=$token?pin-value=$pin" \
	--pin-file "$tmp/pin"

expect_error "bad URI" "1 2" "notauri" "PKCS#11 URI" -- \
	hsm keys --module "$module" --token "notauri" --pin-file "$tmp/pin"

expect_error "unsupported algorithm" "1 2" "unsupported algorithm" "RSAMD5" -- \
	hsm keygen "${token_args[@]}" --alg RSAMD5 --label md5-key

expect_error "unknown algorithm name" "1 2" "unsupported algorithm" "NOSUCHALG" -- \
	hsm keygen "${token_args[@]}" --alg NOSUCHALG --label nosuch-key

expect_error "dnskey of an unknown label" "1" "no key matches" "no-such-key" -- \
	hsm dnskey "${token_args[@]}" --zone example. no-such-key

expect_error "dnskey of an unknown id" "1" "no key matches" -- \
	hsm dnskey "${token_args[@]}" --zone example. 00112233445566778899aabbccddeeff

expect_error "delete of an unknown key" "1" "no key matches" "no-such-key" -- \
	hsm delete "${token_args[@]}" no-such-key

expect_error "delete of a label that matches two keys" "1" "dup-label" "several keys match" -- \
	hsm delete "${token_args[@]}" dup-label

expect_error "unknown subcommand" "2" -- hsm no-such-command "${token_args[@]}"

# --- --help everywhere ----------------------------------------------------
for cmd in "" "hsm" "hsm tokens" "hsm keygen" "hsm keys" "hsm dnskey" "hsm delete" \
	"hsm import" "hsm speed"; do
	# shellcheck disable=SC2086 # word splitting of cmd is intended
	expect_ok "signer${cmd:+ $cmd} --help" -- $cmd --help
	if ((rc == 0)) && [[ -z $out ]]; then
		echo "FAIL: signer${cmd:+ $cmd} --help printed nothing on stdout" >&2
		failures=$((failures + 1))
	fi
done

echo "cli-errors: $((cases - failures)) of $cases cases passed"
if ((failures)); then
	exit 1
fi
