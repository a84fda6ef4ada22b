#!/usr/bin/env bash
# `signer sign` output against independent validators (issue 3, sections 4-5):
#  (a) every zone of testdata/zones/ (origin from its README.md) signed with
#      ECDSAP256SHA256, ED25519 and RSASHA256 keys in the token, in NSEC, NSEC3
#      and NSEC3 opt-out modes, with KSK+ZSK and with a CSK: ldns-verify-zone
#      accepts each signed zone anchored at every DS record signer printed, and
#      BIND's dnssec-verify accepts it (except nsd_svcb.success-cases.zone,
#      whose dohpath BIND cannot parse); keys named by CKA_ID, label and URI;
#  (b) the RFC 4035 appendix A zone signs and validates (NSEC, NSEC3);
#  (c) with no key flags signer creates a CSK labelled after the zone once
#      (ECDSAP256SHA256, or --algorithm) and reuses it the next time;
#  (d) --now T --inception-offset 0 --jitter 0 --validity 7d gives every RRSIG
#      inception T and expiration T+7d exactly (T as UNIX seconds and as
#      YYYYMMDDHHMMSS), and the zone validates at that time (and not today);
#  (e) a signing that fails writes nothing: --out is not created, an existing
#      --out is left untouched, no temporary file is left beside it;
#  (f) an RRset whose members have different TTLs is published and signed
#      with the lowest (own-ttl-mismatch.zone).
#
#   sign-validators.sh SIGNER_BINARY [TESTDATA_DIR]
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-validators "$@"
lib_require ldns-verify-zone ldns-read-zone dnssec-verify date md5sum

algs=(ECDSAP256SHA256 ED25519 RSASHA256)
modes=(nsec nsec3 optout)
layouts=(kskzsk csk)
# NSEC3 opt-out also exercises a salt and iterations above RFC 9276's 0.
declare -A mode_args=(
	[nsec]=""
	[nsec3]="--nsec3"
	[optout]="--nsec3 --opt-out --iterations 5 --salt 0A1B2C3D"
)

failures=0
# fail WHAT MESSAGE: records a failure of one case and goes on.
fail() {
	echo "FAIL: $1: $2" >&2
	failures=$((failures + 1))
}

# verify_zone NAME SIGNED ORIGIN DSFILE [LAYOUT [BIND]]: ldns-verify-zone
# anchored at each DS record in DSFILE (split by lib_check_ds), then
# dnssec-verify unless BIND=0; with LAYOUT csk, dnssec-verify -z (a CSK has
# the SEP flag: without -z BIND wants a ZSK as well, "Missing ZSK for
# algorithm"). Records failures with the validators' own words; returns 1 on
# any.
verify_zone() {
	local name=$1 signed=$2 origin=$3 dsfile=$4 layout=${5:-csk} bind=${6:-1} n ds rc=0
	local zopt=()
	[[ $layout != csk ]] || zopt=(-z)
	if ! n=$(lib_check_ds "$dsfile" "$origin" 2>"$tmp/ds.err"); then
		fail "$name" "DS output: $(cat "$tmp/ds.err")"
		return 1
	fi
	for ((ds = 1; ds <= n; ds++)); do
		if ! ldns-verify-zone -k "$dsfile.$ds" "$signed" >"$tmp/verify.log" 2>&1; then
			fail "$name" "ldns-verify-zone -k <$(cat "$dsfile.$ds")>:$(lib_grep -v '^Checking\|^Zone is verified' "$tmp/verify.log" | lib_indent)"
			rc=1
			break
		fi
	done
	if ((bind)); then
		if ! dnssec-verify "${zopt[@]}" -o "$origin" "$signed" >"$tmp/verify.log" 2>&1; then
			fail "$name" "dnssec-verify ${zopt[*]:+${zopt[*]} }-o $origin:$(lib_indent <"$tmp/verify.log")"
			rc=1
		fi
	fi
	return $rc
}

# --- keys: KSK, ZSK and CSK per algorithm, named three ways ----------------
step "token and keys"
lib_token validators
declare -A key_ref
for alg in "${algs[@]}"; do
	for role in ksk zsk csk; do
		label=v-$alg-$role
		id=$(lib_keygen "$alg" "$label")
		case $alg in
		ECDSAP256SHA256) key_ref[$alg-$role]=$id ;;
		ED25519) key_ref[$alg-$role]=$label ;;
		*) key_ref[$alg-$role]="pkcs11:token=$token;object=$label;id=$(lib_uri_id "$id")" ;;
		esac
	done
done
ok "9 keys: ECDSAP256SHA256 by CKA_ID, ED25519 by label, RSASHA256 by PKCS#11 URI"

# --- (a) the matrix ---------------------------------------------------------
mapfile -t zones < <(lib_zone_origins)
((${#zones[@]} > 0)) || die "no zones listed in $testdata/zones/README.md"
total=$((${#algs[@]} * ${#modes[@]} * ${#layouts[@]} * ${#zones[@]}))
step "(a) ${#algs[@]} algorithms x ${#modes[@]} modes x ${#layouts[@]} layouts x ${#zones[@]} zones = $total signed zones"
mkdir "$tmp/out"
combos=0 passed=0 skipped_bind=0
for entry in "${zones[@]}"; do
	read -r file origin <<<"$entry"
	src=$testdata/zones/$file
	[[ -f $src ]] || die "$src (listed in zones/README.md) is missing"
	bind=1
	if [[ $file == nsd_svcb.success-cases.zone ]]; then
		bind=0
		note "$file: dnssec-verify skipped (BIND 9.18 cannot parse its dohpath); ldns-verify-zone only"
	fi
	zone_ok=0
	for alg in "${algs[@]}"; do
		for mode in "${modes[@]}"; do
			for layout in "${layouts[@]}"; do
				combos=$((combos + 1))
				name="$file $alg $mode $layout"
				pfx=$tmp/out/${file%.zone}-$alg-$mode-$layout
				if [[ $layout == csk ]]; then
					keys=(--csk "${key_ref[$alg-csk]}")
				else
					keys=(--ksk "${key_ref[$alg-ksk]}" --zsk "${key_ref[$alg-zsk]}")
				fi
				# shellcheck disable=SC2086 # mode_args are words
				lib_sign "$pfx" --zone "$origin" --in "$src" --out "$pfx.signed" \
					"${keys[@]}" ${mode_args[$mode]}
				if ((sign_rc != 0)); then
					fail "$name" "signer sign exited $sign_rc:$(lib_indent <"$pfx.err")"
					continue
				fi
				[[ -s $pfx.signed ]] || { fail "$name" "signer sign exited 0 but wrote no $pfx.signed"; continue; }
				if verify_zone "$name" "$pfx.signed" "$origin" "$pfx.ds" "$layout" "$bind"; then
					passed=$((passed + 1))
					zone_ok=$((zone_ok + 1))
					((bind)) || skipped_bind=$((skipped_bind + 1))
				fi
			done
		done
	done
	echo "$file ($origin): $zone_ok of $((${#algs[@]} * ${#modes[@]} * ${#layouts[@]})) combinations validate"
done
ok "(a) $passed of $combos combinations accepted by ldns-verify-zone (anchored at each printed DS)" \
	"and dnssec-verify ($skipped_bind without dnssec-verify)"
# One summary line as the signer printed it, for the log.
echo "signer's summary line (last combination): $(tail -1 "$pfx.err")"

# Negative controls: the validators must reject what is wrong, or the above
# proves nothing.
first=$tmp/out/${zones[0]%% *}
first=${first%.zone}-ECDSAP256SHA256-nsec-csk
if [[ -s $first.signed ]]; then
	origin=${zones[0]#* }
	echo "$origin 3600 IN DS 1 13 2 $(printf '0%.0s' {1..64})" >"$tmp/bogus.ds"
	! ldns-verify-zone -k "$tmp/bogus.ds" "$first.signed" >/dev/null 2>&1 ||
		die "ldns-verify-zone accepts a zone under a bogus DS: the anchor checks are void"
	# Drop one RRSIG line that is not over DNSKEY.
	lib_normalize "$first.signed" | awk '!d && $4 == "RRSIG" && $5 != "DNSKEY" { d = 1; next } 1' \
		>"$tmp/stripped.zone"
	! ldns-verify-zone "$tmp/stripped.zone" >/dev/null 2>&1 ||
		die "ldns-verify-zone accepts a zone with an RRSIG removed"
	! dnssec-verify -o "$origin" "$tmp/stripped.zone" >/dev/null 2>&1 ||
		die "dnssec-verify accepts a zone with an RRSIG removed"
	ok "negative controls: a bogus DS anchor and a missing RRSIG are rejected"
fi

# --- (b) RFC 4035 appendix A ------------------------------------------------
step "(b) RFC 4035 appendix A zone"
src=$testdata/vectors/rfc4035-appendix-a/example.unsigned.zone
[[ -f $src ]] || die "$src is missing"
for mode in nsec nsec3; do
	pfx=$tmp/rfc4035-$mode
	# shellcheck disable=SC2086
	lib_sign "$pfx" --zone example. --in "$src" --out "$pfx.signed" \
		--ksk "${key_ref[ECDSAP256SHA256-ksk]}" --zsk "${key_ref[ECDSAP256SHA256-zsk]}" \
		${mode_args[$mode]}
	if ((sign_rc != 0)); then
		fail "rfc4035 $mode" "signer sign exited $sign_rc:$(lib_indent <"$pfx.err")"
	elif verify_zone "rfc4035 $mode" "$pfx.signed" example. "$pfx.ds" kskzsk; then
		ok "(b) RFC 4035 appendix A, $mode: ldns-verify-zone and dnssec-verify accept it"
	fi
done

# --- (c) the default CSK labelled after the zone ----------------------------
step "(c) no key flags: a CSK labelled after the zone, made once"
keys_before=$("$signer" hsm keys "${token_args[@]}") || die "signer hsm keys failed"
src=$testdata/zones/own-delegations.zone
pfx=$tmp/default1
lib_sign_ok "$pfx" --zone example. --in "$src" --out "$pfx.signed"
keys_after=$("$signer" hsm keys "${token_args[@]}") || die "signer hsm keys failed"
new=$({ diff <(sort <<<"$keys_before") <(sort <<<"$keys_after") || true; } | sed -n 's/^> //p')
[[ $(lib_grep -c . <<<"$new") == 1 ]] ||
	die "signing without keys should add exactly one key to the token; added:$(lib_indent <<<"$new")"
grep -qiw -e 'example' -e 'example\.' <<<"$new" || die "the new key is not labelled after the zone: $new"
grep -qw ECDSAP256SHA256 <<<"$new" || die "the new key is not ECDSAP256SHA256: $new"
grep -Eqi "(created|generated|creating|generating) (a |the |new )?(CSK|KSK|ZSK|key)" "$pfx.err" ||
	die "signer sign did not say that it created the zone's key:$(lib_indent <"$pfx.err")"
verify_zone "default CSK" "$pfx.signed" example. "$pfx.ds" || true
pfx=$tmp/default2
lib_sign_ok "$pfx" --zone example. --in "$src" --out "$pfx.signed"
keys_again=$("$signer" hsm keys "${token_args[@]}") || die "signer hsm keys failed"
[[ $keys_again == "$keys_after" ]] || die "the second signing changed the token's keys"
cmp -s <(lib_ds_lines "$tmp/default1.ds") <(lib_ds_lines "$tmp/default2.ds") ||
	die "the second signing printed other DS records than the first"
! grep -Eqi "(created|generated|creating|generating) (a |the |new )?(CSK|KSK|ZSK|key)" "$pfx.err" ||
	die "the second signing says it created a key:$(lib_indent <"$pfx.err")"
ok "(c) created once: $new; reused the second time (same DS)"
pfx=$tmp/default-ed
lib_sign_ok "$pfx" --zone miek.nl. --in "$testdata/zones/nsd_bug052_ent.zone" \
	--out "$pfx.signed" --algorithm ED25519
new=$("$signer" hsm keys "${token_args[@]}" | grep -i 'miek') || die "no key labelled after miek.nl."
grep -qw ED25519 <<<"$new" || die "--algorithm ED25519: the zone's new key is not ED25519: $new"
lib_ds_lines "$pfx.ds" | awk '$6 != 15 { exit 1 }' || die "DS of --algorithm ED25519 is not algorithm 15"
verify_zone "default CSK ED25519" "$pfx.signed" miek.nl. "$pfx.ds" &&
	ok "(c) --algorithm ED25519: $new"

# --- (d) --now and exact RRSIG times ----------------------------------------
step "(d) --now T --inception-offset 0 --jitter 0 --validity 7d"
now=1700000000 # 2023-11-14 22:13:20 UTC
want_inc=$(date -u -d "@$now" +%Y%m%d%H%M%S)
want_exp=$(date -u -d "@$((now + 7 * 86400))" +%Y%m%d%H%M%S)
src=$testdata/vectors/rfc4035-appendix-a/example.unsigned.zone
for form in "$now" "$want_inc"; do
	pfx=$tmp/now-$form
	lib_sign_ok "$pfx" --zone example. --in "$src" --out "$pfx.signed" \
		--csk "${key_ref[ECDSAP256SHA256-csk]}" --nsec3 \
		--now "$form" --inception-offset 0 --jitter 0 --validity 7d
	# RRSIG: owner ttl class RRSIG covered alg labels ottl expiration inception ...
	bad=$(lib_normalize "$pfx.signed" | awk -v i="$want_inc" -v e="$want_exp" \
		'$4 == "RRSIG" { n++; if ($9 != e || $10 != i) print } END { if (!n) print "no RRSIG at all" }')
	[[ -z $bad ]] ||
		die "--now $form: RRSIGs without inception $want_inc / expiration $want_exp:$(lib_indent <<<"$bad")"
	n=$(lib_normalize "$pfx.signed" | awk '$4 == "RRSIG"' | wc -l)
	ok "(d) --now $form: all $n RRSIGs have inception $want_inc and expiration $want_exp"
	lib_check_ds "$pfx.ds" example. >/dev/null
	ldns-verify-zone -t "$(date -u -d "@$((now + 3600))" +%Y%m%d%H%M%S)" -k "$pfx.ds.1" \
		"$pfx.signed" >"$tmp/verify.log" 2>&1 ||
		die "ldns-verify-zone at T+1h rejects the zone signed with --now $form:$(lib_indent <"$tmp/verify.log")"
	! ldns-verify-zone -k "$pfx.ds.1" "$pfx.signed" >/dev/null 2>&1 ||
		die "ldns-verify-zone accepts the zone signed for $want_inc..$want_exp today"
	ok "(d) ldns-verify-zone accepts it at T+1h and rejects it today (expired)"
done
cmp -s <(lib_normalize "$tmp/now-$now.signed" | grep -v RRSIG) \
	<(lib_normalize "$tmp/now-$want_inc.signed" | grep -v RRSIG) ||
	die "--now $now and --now $want_inc give different zones"

# --- (e) a failed signing writes nothing -----------------------------------
step "(e) failed signings leave --out alone"
src=$testdata/zones/own-delegations.zone
mkdir "$tmp/e"
printf 'wrong-pin\n' >"$tmp/wrong-pin"
# fail_case NAME ARGS...: signing with ARGS must fail, and both a new and an
# existing --out must come out as they went in (and nothing else appear).
fail_case() {
	local name=$1 before after out
	shift
	rm -f "$tmp/e/new.signed"
	printf 'previous content\n' >"$tmp/e/old.signed"
	before=$(lib_snapshot "$tmp/e")
	for out in "$tmp/e/new.signed" "$tmp/e/old.signed"; do
		lib_sign "$tmp/e-case" --out "$out" "$@"
		((sign_rc != 0 && sign_rc < 124)) ||
			die "$name: signer sign exited $sign_rc, expected a failure:$(lib_indent <"$tmp/e-case.err")"
	done
	after=$(lib_snapshot "$tmp/e")
	[[ $before == "$after" ]] ||
		die "$name: the output directory changed:$(diff <(echo "$before") <(echo "$after") | lib_indent)"
	ok "(e) $name: exit $sign_rc, nothing written: $(head -1 "$tmp/e-case.err")"
}
csk=(--csk "${key_ref[ECDSAP256SHA256-csk]}")
fail_case "unknown key" --zone example. --in "$src" --csk 00112233445566778899aabbccddeeff
fail_case "missing input file" --zone example. --in "$tmp/no-such.zone" "${csk[@]}"
fail_case "zone does not match the file" --zone example.org. --in "$src" "${csk[@]}"
fail_case "bad zone file" --zone example. --in "$testdata/bad-zones/bad-rdata-a.zone" "${csk[@]}"
fail_case "NSEC3 iterations above 50" --zone example. --in "$src" "${csk[@]}" --nsec3 --iterations 51
saved=("${token_args[@]}")
token_args=(--module "$softhsm" --token "pkcs11:token=$token" --pin-file "$tmp/wrong-pin")
fail_case "wrong PIN" --zone example. --in "$src" "${csk[@]}"
token_args=("${saved[@]}")

# --- (f) RRsets with members of different TTLs ------------------------------
step "(f) own-ttl-mismatch.zone: one TTL per RRset, the lowest, in the records and the RRSIG"
signed=$tmp/out/own-ttl-mismatch-ECDSAP256SHA256-nsec-csk.signed
if [[ -s $signed ]]; then
	# owner TTL IN TYPE ... / owner TTL IN RRSIG covered alg labels origttl ...
	got=$(lib_normalize "$signed" | awk '
		($1 == "multi.example." || $1 == "txt.example.") && ($4 == "A" || $4 == "TXT") { t[$1 " " $4 " ttl " $2] = 1 }
		($1 == "multi.example." || $1 == "txt.example.") && $4 == "RRSIG" && ($5 == "A" || $5 == "TXT") { t[$1 " " $5 " rrsig-ttl " $2 " original " $8] = 1 }
		END { for (k in t) print k }' | LC_ALL=C sort | tr '\n' ';')
	want="multi.example. A rrsig-ttl 300 original 300;multi.example. A ttl 300;txt.example. TXT rrsig-ttl 60 original 60;txt.example. TXT ttl 60;"
	[[ $got == "$want" ]] || die "(f) TTLs in own-ttl-mismatch: got '$got', expected '$want'"
	ok "(f) multi.example./A at TTL 300 and txt.example./TXT at 60, RRSIG original TTL alike"
else
	fail "(f)" "no signed own-ttl-mismatch.zone from (a)"
fi

echo "sign-validators: $combos combinations signed ($passed validated), $failures failure(s)"
((failures == 0)) || die "$failures failure(s), listed above"
echo "sign-validators: all checks passed"
