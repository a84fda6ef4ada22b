#!/usr/bin/env bash
# `signer sign --publish-dnskey FILE` (issue 3, section 1): DNSKEYs of another
# signer (multi-signer, migration) are published as given, beside our own,
# and the zone still validates; a file that holds anything but DNSKEYs is
# refused with its line and nothing is written; the foreign key is never
# asked to sign (it is not in the token).
#
#   sign-publish-dnskey.sh SIGNER_BINARY [TESTDATA_DIR]
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-publish-dnskey "$@"
lib_require dnssec-keygen ldns-verify-zone dnssec-verify

step "token, our CSK, and another signer's key (BIND software key)"
lib_token publish
csk=$(lib_keygen ECDSAP256SHA256 publish-csk)
(cd "$tmp" && dnssec-keygen -q -a ECDSAP256SHA256 -n ZONE example. >"$tmp/foreign.name")
foreign=$tmp/$(cat "$tmp/foreign.name").key
foreign_key=$(awk '$0 !~ /^;/ { for (i = 1; i <= NF; i++) if ($i == "DNSKEY") { k = ""; for (j = i + 4; j <= NF; j++) k = k $j; print k } }' "$foreign")
[[ -n $foreign_key ]] || die "dnssec-keygen made no DNSKEY in $foreign"

step "sign with --publish-dnskey"
lib_sign_ok "$tmp/pub" --zone example. --in "$testdata/zones/own-delegations.zone" \
	--out "$tmp/pub.signed" --csk "$csk" --publish-dnskey "$foreign"
awk '$4 == "DNSKEY" { k = ""; for (j = 8; j <= NF; j++) k = k $j; print k }' "$tmp/pub.signed" |
	grep -qxF "$foreign_key" ||
	die "the foreign DNSKEY is not in the signed zone"
n=$(awk '$4 == "DNSKEY"' "$tmp/pub.signed" | wc -l)
((n == 2)) || die "expected 2 DNSKEYs (ours and the foreign one), found $n"
ok "the DNSKEY RRset holds our CSK and the foreign ZSK"
lib_check_ds "$tmp/pub.ds" example. >/dev/null
ldns-verify-zone -k "$tmp/pub.ds.1" "$tmp/pub.signed" >"$tmp/ldns.out" 2>&1 ||
	die "ldns-verify-zone refused it:$(lib_indent <"$tmp/ldns.out")"
dnssec-verify -z -o example. "$tmp/pub.signed" >"$tmp/bind.out" 2>&1 ||
	die "dnssec-verify refused it:$(lib_indent <"$tmp/bind.out")"
ok "ldns-verify-zone (anchored at our DS) and dnssec-verify accept it"
sigs=$(awk '$4 == "RRSIG" && $5 == "DNSKEY"' "$tmp/pub.signed" | wc -l)
((sigs == 1)) || die "the DNSKEY RRset has $sigs RRSIGs; only our CSK signs"
ok "only our key signs (1 RRSIG over the DNSKEY RRset)"

step "a file with other records is refused, nothing written"
printf 'example. 3600 IN DNSKEY 256 3 13 %s\nexample. 3600 IN A 192.0.2.1\n' "$foreign_key" \
	>"$tmp/bad.keys"
lib_sign "$tmp/bad" --zone example. --in "$testdata/zones/own-delegations.zone" \
	--out "$tmp/bad.signed" --csk "$csk" --publish-dnskey "$tmp/bad.keys"
((sign_rc == 1)) || die "exit status $sign_rc, expected 1:$(lib_indent <"$tmp/bad.err")"
grep -q "bad.keys:2" "$tmp/bad.err" || die "the error does not name bad.keys:2:$(lib_indent <"$tmp/bad.err")"
[[ ! -e $tmp/bad.signed ]] || die "--out was written"
ok "refused: $(head -1 "$tmp/bad.err")"
echo "sign-publish-dnskey: all checks passed"
