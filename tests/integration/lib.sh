# Shared shell functions of the `signer sign` integration tests (sign-*.sh).
# Source it, then call lib_init first:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   lib_init sign-example "$@"        # SIGNER_BINARY [TESTDATA_DIR]
#
# lib_init sets: $signer (the binary under test), $testdata, $tmp (a private
# temporary directory removed on exit, kept when SIGNER_TEST_KEEP=1), the ERR
# and EXIT traps, and umask 077. Cleanup actions
# registered with lib_at_exit (stopping servers we started, by PID) run in
# reverse order before $tmp is removed.
#
# Environment: SIGNER_TEST_SOFTHSM (SoftHSM module, default
# /usr/lib/softhsm/libsofthsm2.so), SIGNER_TEST_P11FAULT (libp11fault.so; else
# found next to the signer's build tree), SIGNER_TEST_KEEP=1 (keep $tmp),
# SIGNER_TEST_TIMEOUT (seconds one `signer sign` may take, default 300).
# shellcheck shell=bash

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
	echo "$LIB_NAME: FAIL: $*" >&2
	exit 1
}
step() {
	echo "== $*"
}
ok() {
	echo "ok: $*"
}
note() {
	echo "note: $*"
}

# lib_init NAME SIGNER_BINARY [TESTDATA_DIR]
lib_init() {
	LIB_NAME=$1
	shift
	signer=${1:?usage: $LIB_NAME.sh SIGNER_BINARY [TESTDATA_DIR]}
	testdata=${2:-${SIGNER_TESTDATA:-$LIB_DIR/../../../shared/testdata}}
	softhsm=${SIGNER_TEST_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}
	sign_timeout=${SIGNER_TEST_TIMEOUT:-300}
	# Any command that fails unexpectedly names itself.
	trap 'echo "$LIB_NAME: FAIL: line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR
	[[ -x $signer ]] || die "signer binary $signer is missing"
	[[ $signer == /* ]] || signer=$PWD/$signer
	[[ -d $testdata ]] || die "test data directory $testdata is missing"
	testdata=$(cd "$testdata" && pwd)
	[[ -f $softhsm ]] || die "SoftHSM module $softhsm is missing"
	lib_require softhsm2-util timeout od awk sed sort
	LIB_EXIT_HOOKS=()
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-$LIB_NAME.XXXXXX")
	trap lib_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	umask 077
	unset SIGNER_PIN
	LIB_START=$SECONDS
	"$signer" sign --help >/dev/null 2>&1 ||
		die "'$signer sign --help' fails: this build has no 'signer sign' command"
}

lib_exit() {
	local rc=$? i
	trap - ERR
	for ((i = ${#LIB_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${LIB_EXIT_HOOKS[i]}" || true
	done
	if [[ ${SIGNER_TEST_KEEP:-0} == 1 ]]; then
		echo "$LIB_NAME: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	echo "$LIB_NAME: $((SECONDS - LIB_START)) s, exit status $rc"
	exit "$rc"
}

# lib_at_exit COMMAND: run COMMAND (a string for eval) when the script exits.
lib_at_exit() {
	LIB_EXIT_HOOKS+=("$1")
}

# lib_require TOOL...: each must be on PATH.
lib_require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t is not installed (ci/install-deps)"
	done
}

# lib_random_hex N: N random bytes in hex.
lib_random_hex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# lib_token LABEL: a SoftHSM token of our own in $tmp, with a throwaway PIN.
# Sets SOFTHSM2_CONF (exported), $token, $pin_file and the array $token_args
# (--module --token --pin-file) that every signer command takes.
lib_token() {
	token=$1
	mkdir -p "$tmp/tokens"
	export SOFTHSM2_CONF=$tmp/softhsm2.conf
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$tmp/tokens" >"$SOFTHSM2_CONF"
	local pin
	pin=$(lib_random_hex 8)
	# softhsm2-util only takes PINs as arguments: throwaway PINs of a test token.
	softhsm2-util --init-token --free --label "$token" --so-pin "$(lib_random_hex 8)" \
		--pin "$pin" >/dev/null || die "softhsm2-util --init-token --label $token failed"
	pin_file=$tmp/pin
	printf '%s\n' "$pin" >"$pin_file"
	token_args=(--module "$softhsm" --token "pkcs11:token=$token" --pin-file "$pin_file")
}

# lib_keygen ALG LABEL: generates a key pair in the token with `signer hsm
# keygen`; prints its CKA_ID (lower-case hex).
lib_keygen() {
	local alg=$1 label=$2 out
	local args=(hsm keygen "${token_args[@]}" --alg "$alg" --label "$label")
	[[ $alg != RSA* ]] || args+=(--bits 2048)
	out=$("$signer" "${args[@]}") || die "signer ${args[*]} failed"
	[[ $out =~ generated\ key\ id=([0-9a-fA-F]+)\ label=([^ ]+) ]] ||
		die "unexpected keygen output: $out"
	printf '%s\n' "${BASH_REMATCH[1],,}"
}

# lib_uri_id HEX: the id as a PKCS#11 URI attribute value (%xx%yy...).
lib_uri_id() {
	# shellcheck disable=SC2001 # a regex with a back-reference
	sed 's/../%&/g' <<<"$1"
}

# lib_sign PREFIX ARGS...: runs `signer sign` with the token flags and ARGS,
# bounded by $sign_timeout. stdout goes to PREFIX.ds, stderr to PREFIX.err.
# Sets $sign_rc (the exit status; 124 = timed out); returns 0.
lib_sign() {
	local prefix=$1
	shift
	sign_rc=0
	timeout "$sign_timeout" "$signer" sign "${token_args[@]}" "$@" \
		>"$prefix.ds" 2>"$prefix.err" || sign_rc=$?
}

# lib_sign_ok PREFIX ARGS...: lib_sign; dies unless it succeeded.
lib_sign_ok() {
	local prefix=$1
	lib_sign "$@"
	((sign_rc == 0)) || die "signer sign ${*:2} exited $sign_rc:$(lib_indent <"$prefix.err")"
}

# lib_indent: stdin, each line prefixed with a newline and "    | " (for
# failure messages), at most 20 lines.
lib_indent() {
	head -20 | awk '{ printf "\n    | %s", $0 }'
}

# lib_grep ARGS...: grep that succeeds when nothing matches (for building
# messages inside $(...) under set -e and the ERR trap).
lib_grep() {
	grep "$@" || true
}

# lib_ds_lines FILE: the DS records in FILE (signer's stdout) as
# "owner TTL IN DS tag alg digesttype HEX", comments removed, one per line.
lib_ds_lines() {
	awk '{
		sub(/;.*/, "")
		for (i = 2; i <= 4 && i <= NF; i++)
			if ($i == "DS") { print; break }
	}' "$1"
}

# lib_check_ds FILE ZONE: FILE (signer's stdout) holds only DS records of ZONE,
# at least one with digest type 2 (SHA-256). Splits them into FILE.N, one file
# per DS record, for ldns-verify-zone -k. Prints the number of DS records.
lib_check_ds() {
	local file=$1 zone=$2 n=0 line
	local others
	others=$(grep -v -e '^[[:space:]]*$' -e '^[[:space:]]*;' "$file" |
		awk '{ sub(/;.*/, ""); d = 0; for (i = 2; i <= 4 && i <= NF; i++) if ($i == "DS") d = 1; if (!d) print }' || true)
	[[ -z $others ]] || die "signer sign printed more than DS records on stdout:$(lib_indent <<<"$others")"
	rm -f "$file".[0-9]*
	while read -r line; do
		n=$((n + 1))
		[[ ${line,,} == "${zone,,} "* ]] || die "DS record for another owner than $zone: $line"
		[[ $line =~ ^[^[:space:]]+[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+DS[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9A-Fa-f]+$ ]] ||
			die "DS line not in the form 'zone. TTL IN DS tag alg digesttype HEX': $line"
		printf '%s\n' "$line" >"$file.$n"
	done < <(lib_ds_lines "$file")
	((n > 0)) || die "signer sign printed no DS record for $zone:$(lib_indent <"$file")"
	lib_ds_lines "$file" | awk '$(NF - 1) == 2' | grep -q . ||
		die "signer sign printed no SHA-256 (digest type 2) DS:$(lib_indent <"$file")"
	echo "$n"
}

# lib_zone_origins: "FILE ORIGIN" for each zone of testdata/zones/README.md's
# table (the first word of its origin column).
lib_zone_origins() {
	awk -F'|' '
		/^\| *[^ ]+\.zone[ |]/ {
			f = $2; o = $3
			sub(/^ +/, "", f); sub(/ .*/, "", f)
			sub(/^ +/, "", o); sub(/ .*/, "", o)
			print f, o
		}' "$testdata/zones/README.md"
}

# lib_normalize FILE: the zone in FILE, one RR per line, names lower-cased,
# RRSIG times as YYYYMMDDHHMMSS (ldns-read-zone -c).
lib_normalize() {
	ldns-read-zone -c "$1" 2>/dev/null
}

# lib_free_port: a port that no TCP or UDP socket on this machine uses (read
# from /proc/net, so no iproute2 needed).
lib_free_port() {
	local port i used
	used=$(cat /proc/net/tcp /proc/net/udp /proc/net/tcp6 /proc/net/udp6 2>/dev/null |
		awk 'NR > 0 && $2 ~ /:/ { split($2, a, ":"); print a[2] }' | sort -u)
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! grep -qix "$(printf '%04X' "$port")" <<<"$used"; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

# lib_p11fault: path of libp11fault.so (SIGNER_TEST_P11FAULT, else looked for
# in the build tree that holds the signer binary).
lib_p11fault() {
	local f=${SIGNER_TEST_P11FAULT:-} dir
	if [[ -z $f ]]; then
		dir=$(dirname "$signer")
		while [[ $dir != / && ! -f $dir/CMakeCache.txt ]]; do
			dir=$(dirname "$dir")
		done
		[[ -f $dir/CMakeCache.txt ]] || die "no CMake build tree above $signer"
		f=$(find "$dir" -name libp11fault.so -type f 2>/dev/null | head -1)
	fi
	[[ -n $f && -f $f ]] ||
		die "libp11fault.so not found (set SIGNER_TEST_P11FAULT or build tests/support)"
	echo "$f"
}

# lib_snapshot DIR: a listing of DIR (names, sizes, mtimes, checksums), to
# show that a failed command changed nothing there.
lib_snapshot() {
	(cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec md5sum {} + | sort)
}
