#!/usr/bin/env bash
# The key manager at work in signerd (issue 5): a zone added with a policy
# gets its keys generated in the token, published, submitted to the parent
# (CDS/CDNSKEY, `signer key ds`) once the DNSKEY RRset has propagated, and
# rolled: a ZSK pre-publication rollover and a double-KSK rollover on the
# operator's command, the parent's DS taken on the operator's word
# (`signer key ds-seen` / `ds-gone`), time moved with the test clock. At
# every step the pulled zone passes ldns-verify-zone and dnssec-verify, each
# record state is asserted, and the old keys leave the zone and then the
# token (purge, logged). Also: a policy refused at start (file:line), a zone
# add naming no policy, keys given with a policy, key-tag collisions forced
# by the test hook, an HSM that refuses key generation (the zone keeps
# signing with its keys; status says why), trust anchors.
#
#   daemon-kasp.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
# shellcheck disable=SC2119 # daemon_start's environment arguments are optional
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-kasp "$@"
lib_require dnssec-verify

zone=kasp.example.
DNSKEY_TTL=300
PROP=60
DS_TTL=600

policy_yaml() {
	cat <<EOF
policies:
  - name: trust5011
    algorithm: ECDSAP256SHA256
    keys: {ksk: {lifetime: 0}, zsk: {lifetime: 0}, rfc5011: true, add_hold_down: 30d, remove_hold_down: 30d}
    signatures: {validity: 14d, refresh: 5d, jitter: 12h, inception_offset: 1h}
    denial: {type: nsec}
    zone: {dnskey_ttl: $DNSKEY_TTL, cds_ttl: $DNSKEY_TTL, max_ttl: 300, propagation_delay: $PROP}
    parent: {ds_ttl: $DS_TTL, propagation_delay: $PROP, poll_interval: 60, cds: true}
  - name: capped
    zone: {max_ttl: 300, ttl_policy: cap}
  - name: fast
    algorithm: ECDSAP256SHA256
    keys:
      ksk: {lifetime: 0}
      zsk: {lifetime: 0}
    signatures: {validity: 14d, refresh: 5d, jitter: 12h, inception_offset: 1h}
    denial: {type: nsec}
    zone: {dnskey_ttl: $DNSKEY_TTL, cds_ttl: $DNSKEY_TTL, max_ttl: 300, propagation_delay: $PROP}
    parent: {ds_ttl: $DS_TTL, propagation_delay: $PROP, poll_interval: 60, cds: true}
$1
EOF
}

step "a policy the signer refuses stops signerd at start, with its line"
lib_token kasp
daemon_cfg_server="  test_clock: true"
daemon_cfg_extra="$(policy_yaml "  - name: bad
    signatures: {validity: 2d, refresh: 5d}")"
daemon_write_config
daemon_start_fails
grep -qE "signer.yaml:[0-9]+: policy 'bad': signatures" "$daemon_fail_log" ||
	die "no file:line reason:$(lib_indent <"$daemon_fail_log")"
ok "refused: $(grep -oE "signer.yaml:[0-9]+: policy 'bad'.*" "$daemon_fail_log" | head -1)"

step "signerd with policy 'fast'; zone add refusals"
daemon_cfg_extra="$(policy_yaml "")"
daemon_write_config
daemon_start
cli_fails "no policy named 'nosuch'" zone add other.example. --policy nosuch
cli zone add other.example. --policy fast --csk 00
((cli_rc == 2)) && grep -q "no --ksk" "$tmp/cli.err" || die "keys with --policy: $(cat "$tmp/cli.err")"
ok "an unknown policy and keys given with a policy are refused"

cat >"$tmp/kasp.zone" <<EOF
\$ORIGIN $zone
\$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 259200 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
EOF

offset=0
jump=0 # signer clock jump (lost at a restart)
# advance SECONDS [wait]: moves the daemon's clock on; with wait, waits
# until signerd has nothing due (no pass running, its next event after its
# clock).
advance() {
	offset=$((offset + $1))
	cli_ok clock set "$offset" >/dev/null
	[[ ${2:-} == wait ]] || return 0
	local i now js
	for ((i = 0; i < 200; i++)); do
		sleep 0.1
		now=$(json_get "$(cli status --json)" 'j["now"]')
		js=$(cli_ok zone status "$zone" --json)
		if [[ $(json_get "$js" 'j["signing"]') == false &&
			$(json_get "$js" 'j["next_event"]') > $now ]]; then
			return 0
		fi
	done
	die "signerd still busy 20 s after the clock moved:$(daemon_log_tail)"
}
# states: one line per key not purged: "ROLE TAG goal DS DNSKEY KRRSIG ZRRSIG".
states() {
	local js
	js=$(cli_ok zone status "$zone" --json)
	python3 -c '
import json, sys
for k in json.loads(sys.argv[1])["key_states"]:
    if k["purged"] is None or k["purged"] in ("", 0, "0"):
        print(k["role"], k["key_tag"], "in" if k["goal"] else "out", k["ds"], k["dnskey"], k["krrsig"], k["zrrsig"])
' "$js"
}
# expect ROLE TAG "DS DNSKEY KRRSIG ZRRSIG" [goal]
expect() {
	local line
	line=$(states | awk -v r="$1" -v t="$2" '$1 == r && $2 == t')
	[[ -n $line ]] || die "no $1 $2 in the key states:$(states | lib_indent)"
	local got
	got=$(awk '{ print $4, $5, $6, $7 }' <<<"$line")
	[[ $got == "$3" ]] || die "$1 $2: states '$got', expected '$3':$(states | lib_indent)$(daemon_log_tail)"
}
# check_zone: pulls the zone; ldns-verify-zone accepts it at the daemon's
# time (and dnssec-verify at the real time).
check_zone() {
	pull "$zone" "$tmp/pulled.zone" --text
	ldns-verify-zone -t "+$((offset + jump))" "$tmp/pulled.zone" >"$tmp/verify.out" 2>&1 ||
		die "ldns-verify-zone rejects the zone at +$offset s:$(lib_indent <"$tmp/verify.out")"
	# dnssec-verify has no validation time of its own (and libfaketime
	# deadlocks it): only while the clock is the real one.
	if ((offset == 0)); then
		dnssec-verify -o "$zone" "$tmp/pulled.zone" >"$tmp/verify.out" 2>&1 ||
			die "dnssec-verify rejects the zone:$(lib_indent <"$tmp/verify.out")"
	fi
}
tag_of() { # ROLE [N]: the tag of the Nth key of ROLE (1 = oldest)
	states | awk -v r="$1" '$1 == r { print $2 }' | sed -n "${2:-1}p"
}

step "zone data the policy refuses: a TTL above max_ttl, an SOA EXPIRE beyond refresh"
cli_ok zone add "$zone" --policy fast >/dev/null
sed 's/^www IN A/www 301 IN A/' "$tmp/kasp.zone" >"$tmp/ttl.zone"
cli_fails "www.kasp.example. type 1: TTL 301 above the maximum zone TTL 300 of policy 'fast'" \
	zone push "$zone" "$tmp/ttl.zone"
sed 's/ 259200 300$/ 1209600 300/' "$tmp/kasp.zone" >"$tmp/expire.zone"
cli_fails "SOA EXPIRE 1209600" zone push "$zone" "$tmp/expire.zone"
[[ $(zone_field "$zone" published) == false ]] || die "a refused zone was published"
ok "refused with the owner, type and policy field; nothing published"

step "initial signing: keys generated in the token, DNSKEYs published, DS not yet"
cli_ok zone push "$zone" "$tmp/kasp.zone" >/dev/null
ksk=$(tag_of KSK)
zsk=$(tag_of ZSK)
[[ -n $ksk && -n $zsk ]] || die "no KSK or ZSK generated:$(states | lib_indent)$(daemon_log_tail)"
expect KSK "$ksk" "hidden rumoured rumoured NA"
expect ZSK "$zsk" "NA rumoured NA rumoured"
check_zone
grep -q "DNSKEY" "$tmp/pulled.zone" || die "no DNSKEY published"
if grep -qE "IN[[:space:]]+CDS" "$tmp/pulled.zone"; then
	die "CDS published before the DNSKEY RRset propagated"
fi
cli_fails "no KSK or CSK" key ds "$zone"
daemon_log_grep "KSK $ksk (ECDSAP256SHA256, id [0-9a-f]*) generated in token main" ||
	die "key generation not logged"
ok "KSK $ksk and ZSK $zsk generated and published; no DS submitted yet"

step "after the DNSKEY TTL + propagation: omnipresent, DS submitted (CDS, signer key ds)"
advance $((DNSKEY_TTL + PROP + 5)) wait
expect KSK "$ksk" "rumoured omnipresent omnipresent NA"
expect ZSK "$zsk" "NA omnipresent NA omnipresent"
check_zone
grep -qE "IN[[:space:]]+CDS[[:space:]]+$ksk " "$tmp/pulled.zone" || die "no CDS for KSK $ksk"
grep -qE "IN[[:space:]]+CDNSKEY[[:space:]]+257 " "$tmp/pulled.zone" || die "no CDNSKEY"
ds=$(cli_ok key ds "$zone")
grep -q " DS $ksk 13 2 " <<<"$ds" || die "signer key ds: $ds"
blocked=$(zone_field "$zone" kasp_blocked)
[[ $blocked == *"waiting for its DS to be seen published"* ]] ||
	die "status does not say the DS is awaited: '$blocked'"
ok "CDS/CDNSKEY published; waiting: $blocked"

step "the parent never shows the DS: the rollover waits (no timer)"
advance $((3 * DS_TTL)) wait || true
expect KSK "$ksk" "rumoured omnipresent omnipresent NA"
ok "still rumoured after 3 DS TTLs without evidence"

step "ds-seen: the DS TTL + parent propagation later, DS omnipresent"
cli_fails "is a ZSK" key ds-seen "$zone" "$zsk"
cli_ok key ds-seen "$zone" "$ksk" >/dev/null
advance 10 wait
expect KSK "$ksk" "rumoured omnipresent omnipresent NA"
advance $((DS_TTL + PROP + 5)) wait
expect KSK "$ksk" "omnipresent omnipresent omnipresent NA"
check_zone
ok "KSK $ksk: a full chain of trust"

step "trust anchors"
cli_ok key trust-anchor "$zone" >"$tmp/ta.unbound"
grep -qE "^$zone[[:space:]]+IN[[:space:]]+DS[[:space:]]+$ksk 13 2 " "$tmp/ta.unbound" ||
	die "unbound anchor: $(cat "$tmp/ta.unbound")"
cli_ok key trust-anchor "$zone" --format bind >"$tmp/ta.bind"
grep -q "static-ds $ksk 13 2" "$tmp/ta.bind" || die "bind anchor: $(cat "$tmp/ta.bind")"
cli_ok key trust-anchor "$zone" --format dnskey >"$tmp/ta.dnskey"
grep -qE "DNSKEY[[:space:]]+257 3 13 " "$tmp/ta.dnskey" || die "dnskey anchor"
cli key trust-anchor "$zone" --format nosuch
((cli_rc == 2)) && grep -q -- "--format must be" "$tmp/cli.err" || die "bad --format accepted"
ok "unbound, bind and dnskey anchors name KSK $ksk"

step "ZSK rollover (pre-publication) on command"
cli_ok key roll "$zone" zsk >/dev/null
advance 1 wait
zsk2=$(states | awk -v o="$zsk" '$1 == "ZSK" && $2 != o { print $2 }')
[[ -n $zsk2 ]] || die "no successor ZSK:$(states | lib_indent)"
expect ZSK "$zsk2" "NA rumoured NA hidden"
expect ZSK "$zsk" "NA omnipresent NA omnipresent"
check_zone
advance $((DNSKEY_TTL + PROP + 5)) wait
expect ZSK "$zsk2" "NA omnipresent NA rumoured"
expect ZSK "$zsk" "NA omnipresent NA unretentive"
check_zone
# The old ZSK's signatures go lazily: validity - refresh + jitter (9.5 d)
# plus the maximum TTL and propagation.
advance $((10 * 86400)) wait
expect ZSK "$zsk2" "NA omnipresent NA omnipresent"
check_zone
advance $((DNSKEY_TTL + PROP + 5)) wait
advance $((DNSKEY_TTL + PROP + 5)) wait
line=$(states | awk -v t="$zsk" '$1 == "ZSK" && $2 == t')
[[ $line == *"hidden hidden"* || $line == *"NA hidden NA hidden"* ]] ||
	die "old ZSK $zsk not gone: $line"
check_zone
if grep -qE "DNSKEY[[:space:]]+256 .*" "$tmp/pulled.zone" &&
	[[ $(grep -cE "IN[[:space:]]+DNSKEY[[:space:]]+256 " "$tmp/pulled.zone") != 1 ]]; then
	die "more than one ZSK DNSKEY left"
fi
daemon_log_grep "ZSK $zsk left the key set" || die "removal of ZSK $zsk not logged"
ok "ZSK $zsk -> $zsk2, the old one withdrawn and out of the key set"

step "purge: 14 days after it left the key set, the old ZSK leaves the token"
advance $((15 * 86400)) wait
daemon_log_grep "key $zsk (ZSK ECDSAP256SHA256, id [0-9a-f]*) purged from token main" ||
	die "purge of $zsk not logged:$(daemon_log_tail)"
check_zone
ok "ZSK $zsk purged (logged)"

step "state backup (restored at the end)"
cli_ok state backup "$tmp/backup" >"$tmp/backup.out"
grep -q "^zone $zone serial [0-9]* policy fast" "$tmp/backup.out" || die "manifest: $(cat "$tmp/backup.out")"
[[ -s $tmp/backup/kasp.db && -s $tmp/backup/BACKUP ]] || die "backup incomplete"
backup_states=$(states)
backup_serial=$(zone_serial "$zone")
cli_fails "a new directory" state backup "$tmp/backup"
ok "backup at serial $backup_serial"

step "KSK rollover (double-KSK) on command, parent evidence by the operator"
cli_ok key roll "$zone" ksk >/dev/null
advance 1 wait
ksk2=$(states | awk -v o="$ksk" '$1 == "KSK" && $2 != o { print $2 }')
[[ -n $ksk2 ]] || die "no successor KSK"
expect KSK "$ksk2" "hidden rumoured rumoured NA"
check_zone
advance $((DNSKEY_TTL + PROP + 5)) wait
expect KSK "$ksk2" "rumoured omnipresent omnipresent NA"
expect KSK "$ksk" "unretentive omnipresent omnipresent NA"
ds=$(cli_ok key ds "$zone")
grep -q " DS $ksk2 13 2 " <<<"$ds" || die "new DS not listed: $ds"
check_zone
grep -qE "IN[[:space:]]+CDS[[:space:]]+$ksk2 " "$tmp/pulled.zone" || die "no CDS for $ksk2"
if grep -qE "IN[[:space:]]+CDS[[:space:]]+$ksk " "$tmp/pulled.zone"; then
	die "old KSK's CDS still published"
fi
cli_ok key ds-seen "$zone" "$ksk2" >/dev/null
cli_ok key ds-gone "$zone" "$ksk" >/dev/null
advance $((DS_TTL + PROP + 5)) wait
expect KSK "$ksk2" "omnipresent omnipresent omnipresent NA"
check_zone
advance $((DNSKEY_TTL + PROP + 5)) wait
advance $((DNSKEY_TTL + PROP + 5)) wait
line=$(states | awk -v t="$ksk" '$1 == "KSK" && $2 == t')
[[ -z $line || $line == *"hidden hidden hidden"* ]] || die "old KSK $ksk not gone: $line"
check_zone
ok "KSK $ksk -> $ksk2 with the DS swap at the parent"

step "a policy that caps TTLs lowers them"
cli_ok zone add capped.example. --policy capped >/dev/null
sed "s/kasp.example./capped.example./; s/^www IN A/www 7200 IN A/" "$tmp/kasp.zone" >"$tmp/capped.zone"
cli_ok zone push capped.example. "$tmp/capped.zone" >/dev/null
pull capped.example. "$tmp/capped.pulled" --text
grep -qE "^www.capped.example.[[:space:]]+300[[:space:]]+IN[[:space:]]+A" "$tmp/capped.pulled" ||
	die "TTL not capped:$(grep www "$tmp/capped.pulled" | lib_indent)"
daemon_log_grep -q "1 RRsets had a TTL above 300 (policy 'capped'): lowered" || die "cap not logged"
ok "www 7200 served as 300"

step "migration: keys another signer made, imported in use, start no rollover"
mksk=$(keygen migrate-ksk)
mzsk=$(keygen migrate-zsk)
mz=migrate.example.
cli_ok zone add $mz --policy fast >/dev/null
cli_ok key import $mz "$mksk" --role ksk --ds-at-parent >/dev/null
cli_ok key import $mz "$mzsk" --role zsk >/dev/null
cli_fails "collides with a key of $mz" key import $mz "$mzsk" --role zsk
cli key import $mz "$mzsk"
((cli_rc == 2)) || die "import without --role accepted"
sed "s/kasp.example./$mz/" "$tmp/kasp.zone" >"$tmp/migrate.zone"
cli_ok zone push $mz "$tmp/migrate.zone" >/dev/null
mstates() {
	cli_ok zone status $mz --json | python3 -c '
import json, sys
for k in json.load(sys.stdin)["key_states"]:
    print(k["role"], k["key_tag"], k["id"], k["ds"], k["dnskey"], k["krrsig"], k["zrrsig"])'
}
grep -q "^KSK [0-9]* $mksk omnipresent omnipresent omnipresent NA$" <<<"$(mstates)" || die "KSK:$(mstates | lib_indent)"
grep -q "^ZSK [0-9]* $mzsk NA omnipresent NA omnipresent$" <<<"$(mstates)" || die "ZSK:$(mstates | lib_indent)"
advance $((DNSKEY_TTL + PROP + 5)) wait
advance $((DS_TTL + PROP + 5)) wait
(($(mstates | wc -l) == 2)) || die "keys generated for $mz:$(mstates | lib_indent)"
if daemon_log_grep -q "zone $mz: .* generated in token"; then
	die "a key was generated for the migrated zone"
fi
pull $mz "$tmp/migrate.pulled" --text
ldns-verify-zone -t "+$((offset + jump))" "$tmp/migrate.pulled" >"$tmp/verify.out" 2>&1 ||
	die "migrated zone: $(cat "$tmp/verify.out")"
n=$(grep -cE "IN[[:space:]]+DNSKEY[[:space:]]" "$tmp/migrate.pulled")
((n == 2)) || die "$n DNSKEYs in the migrated zone"
ok "imported KSK and ZSK signing, DNSKEY RRset of 2, no key generated, no rollover"

step "restart: the key states and keys come back"
before=$(states)
daemon_stop
daemon_start
[[ $(states) == "$before" ]] || die "states changed over a restart"
check_zone
ok "same states after a restart"

step "key-tag collisions (test hook): discarded keys, a unique tag kept"
daemon_stop
daemon_start SIGNER_TEST_KEYTAG_COLLISIONS=2
cli_ok key roll "$zone" zsk >/dev/null
advance 1 wait
n=$(daemon_log_since -c "collides with a key tag of the zone (test hook)" || true)
((n == 2)) || die "$n collisions logged, expected 2"
zsk3=$(states | awk -v a="$zsk" -v b="$zsk2" '$1 == "ZSK" && $2 != a && $2 != b { print $2 }')
[[ -n $zsk3 ]] || die "no ZSK after the collisions"
check_zone
ok "2 generated keys discarded, ZSK $zsk3 kept"

step "an HSM that refuses key generation: the zone keeps signing, status says why"
daemon_stop
daemon_start SIGNER_TEST_KEYGEN_FAIL=1
cli_ok key roll "$zone" ksk >/dev/null
advance 1
sleep 1
blocked=$(zone_field "$zone" kasp_blocked)
[[ $blocked == *"generation in token main refused"* ]] || die "status: '$blocked'"
serial=$(zone_serial "$zone")
cat >>"$tmp/kasp.zone" <<EOF
new IN A 192.0.2.99
EOF
sed -i 's/ 1 7200 3600/ 3 7200 3600/' "$tmp/kasp.zone"
cli_ok zone push "$zone" "$tmp/kasp.zone" >/dev/null
[[ $(zone_serial "$zone") != "$serial" ]] || die "zone not signed while keys cannot be made"
check_zone
ok "still signing with KSK $ksk2; status: $blocked"

step "a clock jump of 2 h: the key manager does nothing until an operator acknowledges it"
daemon_stop
daemon_start
advance 0 wait
before=$(states)
cli_ok clock jump 2h >/dev/null
jump=7200
cli_ok key roll "$zone" zsk >/dev/null
sleep 1
advance 0 wait
blocked=$(zone_field "$zone" kasp_blocked)
[[ $blocked == *"the clock jumped"*"until an operator acknowledges it"* ]] || die "status: '$blocked'"
[[ $(states) == "$before" ]] || die "keys changed after a clock jump:$(states | lib_indent)"
daemon_log_since -q "the clock jumped" || die "jump not logged"
cli_ok key clock-ack "$zone" >/dev/null
sleep 1
advance 0 wait
[[ $(states) != "$before" ]] || die "the rollover did not start after clock-ack"
check_zone
ok "held at '$blocked'; after clock-ack the ZSK rollover started"

step "restore the old backup: same keys and states, serial past the last published"
last_serial=$(zone_serial "$zone")
cli state restore "$tmp/backup" -c "$conf"
((cli_rc == 1)) && grep -q "signerd answers" "$tmp/cli.err" || die "restore while signerd runs"
daemon_stop
jump=0
cli_ok state restore "$tmp/backup" -c "$conf" >"$tmp/restore.out"
grep -q "keys checked in their tokens: [1-9][0-9]*, missing: 0" "$tmp/restore.out" ||
	die "restore: $(cat "$tmp/restore.out")"
daemon_start
advance 0 wait
[[ $(states) == "$backup_states" ]] ||
	die "states after restore:$(states | lib_indent) expected:$(lib_indent <<<"$backup_states")"
restored=$(zone_serial "$zone")
python3 -c 'import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if 0 < (a - b) % 2**32 < 2**31 else 1)' \
	"$restored" "$last_serial" || die "serial $restored not past $last_serial"
floor=$((backup_serial + 65536))
((restored >= floor && restored < floor + 10)) || die "serial $restored, expected $floor or just after"
check_zone
daemon_log_grep -q "restored at serial $backup_serial: the next serial is $floor" ||
	die "restore not logged"
ok "restored: serial $backup_serial -> $restored (last published before: $last_serial)"

step "going insecure: CDS delete, the DS removal awaited, then the zone unsigned"
iz=insecure.example.
sed "s/kasp.example./$iz/" "$tmp/kasp.zone" >"$tmp/insecure.zone"
cli_ok zone add $iz --policy fast >/dev/null
cli_ok zone push $iz "$tmp/insecure.zone" >/dev/null
istates() {
	cli_ok zone status $iz --json | python3 -c '
import json, sys
for k in json.load(sys.stdin)["key_states"]:
    if not k["removed"]:
        print(k["role"], k["key_tag"], k["ds"], k["dnskey"], k["krrsig"], k["zrrsig"])'
}
advance $((DNSKEY_TTL + PROP + 5)) wait
iksk=$(istates | awk '$1 == "KSK" { print $2 }')
cli_ok key ds-seen $iz "$iksk" >/dev/null
advance $((DS_TTL + PROP + 5)) wait
grep -q "^KSK $iksk omnipresent omnipresent omnipresent NA$" <<<"$(istates)" || die "not secure:$(istates | lib_indent)"
cli_ok key go-insecure $iz >/dev/null
advance 1 wait
grep -q "^KSK $iksk unretentive omnipresent omnipresent NA$" <<<"$(istates)" || die "DS not withdrawn:$(istates | lib_indent)"
pull $iz "$tmp/insecure.pulled" --text
grep -qE "IN[[:space:]]+CDS[[:space:]]+0 0 0 00" "$tmp/insecure.pulled" || die "no CDS delete"
grep -qE "IN[[:space:]]+CDNSKEY[[:space:]]+0 3 0 AA==" "$tmp/insecure.pulled" || die "no CDNSKEY delete"
ldns-verify-zone -t "+$((offset + jump))" "$tmp/insecure.pulled" >"$tmp/verify.out" 2>&1 ||
	die "zone going insecure: $(cat "$tmp/verify.out")"
advance $((3 * DS_TTL)) wait
grep -q "^KSK $iksk unretentive omnipresent" <<<"$(istates)" || die "DNSKEY withdrawn before the DS was seen gone"
cli_ok key ds-gone $iz "$iksk" >/dev/null
advance $((DS_TTL + PROP + 5)) wait
pull $iz "$tmp/insecure.pulled" --text
if grep -qE "IN[[:space:]]+(DNSKEY|RRSIG|NSEC|NSEC3|NSEC3PARAM|CDS|CDNSKEY)[[:space:]]" "$tmp/insecure.pulled"; then
	die "DNSSEC records left:$(grep -E "DNSKEY|RRSIG|NSEC|CDS" "$tmp/insecure.pulled" | head -5 | lib_indent)"
fi
grep -qE "^www.$iz[[:space:]]+300[[:space:]]+IN[[:space:]]+A" "$tmp/insecure.pulled" || die "data lost"
advance $((DNSKEY_TTL + PROP + 5)) wait
advance $((DNSKEY_TTL + PROP + 5)) wait
[[ -z $(istates) ]] || die "keys left in the key set:$(istates | lib_indent)"
ok "DS withdrawn and awaited, then every key: $iz served unsigned"

step "RFC 5011: the new KSK waits the add hold-down; the old one is published REVOKEd, self-signed"
rz=rfc5011.example.
sed "s/kasp.example./$rz/" "$tmp/kasp.zone" >"$tmp/rfc5011.zone"
cli_ok zone add $rz --policy trust5011 >/dev/null
cli_ok zone push $rz "$tmp/rfc5011.zone" >/dev/null
rstates() {
	cli_ok zone status $rz --json | python3 -c '
import json, sys
for k in json.load(sys.stdin)["key_states"]:
    if not k["removed"] and k["role"] == "KSK":
        print(k["role"], k["key_tag"], k["ds"], k["dnskey"], k["krrsig"], k["zrrsig"])'
}
advance $((DNSKEY_TTL + PROP + 5)) wait
rk1=$(rstates | awk '{ print $2 }')
cli_ok key ds-seen $rz "$rk1" >/dev/null
advance $((DS_TTL + PROP + 5)) wait
cli_ok key roll $rz ksk >/dev/null
advance 1 wait
rk2=$(rstates | awk -v o="$rk1" '$2 != o { print $2 }')
[[ -n $rk2 ]] || die "no new KSK:$(rstates | lib_indent)"
advance $((DNSKEY_TTL + PROP + 5)) wait
advance $((10 * 86400)) wait
grep -q "^KSK $rk2 hidden omnipresent omnipresent NA$" <<<"$(rstates)" ||
	die "new KSK's DS submitted before the hold-down:$(rstates | lib_indent)"
[[ $(zone_field $rz kasp_blocked) == *"hold-down"* ]] || die "status: $(zone_field $rz kasp_blocked)"
advance $((21 * 86400)) wait
grep -q "^KSK $rk2 rumoured omnipresent" <<<"$(rstates)" || die "after the hold-down:$(rstates | lib_indent)"
cli_ok key ds-seen $rz "$rk2" >/dev/null
cli_ok key ds-gone $rz "$rk1" >/dev/null
advance $((DS_TTL + PROP + 5)) wait
advance 1 wait
pull $rz "$tmp/rfc5011.pulled" --text
grep -qE "IN[[:space:]]+DNSKEY[[:space:]]+385 3 13 " "$tmp/rfc5011.pulled" ||
	die "no REVOKEd DNSKEY:$(rstates | lib_indent)$(daemon_log_tail 10)"
rtag=$(ldns-read-zone "$tmp/rfc5011.pulled" 2>/dev/null | awk '$4 == "DNSKEY" && $5 == 385' | ldns-key2ds -n -f /dev/stdin 2>/dev/null | awk '{ print $5 }' || true)
ldns-verify-zone -t "+$((offset + jump))" "$tmp/rfc5011.pulled" >"$tmp/verify.out" 2>&1 ||
	die "zone with a revoked KSK: $(cat "$tmp/verify.out")"
daemon_log_grep -q "key $rk1 published with the REVOKE bit" || die "revocation not logged"
advance $((30 * 86400 + DNSKEY_TTL + PROP + 5)) wait
advance $((DNSKEY_TTL + PROP + 5)) wait
pull $rz "$tmp/rfc5011.pulled" --text
if grep -qE "IN[[:space:]]+DNSKEY[[:space:]]+385 " "$tmp/rfc5011.pulled"; then
	die "the revoked KSK stayed after the remove hold-down"
fi
ok "KSK $rk1 -> $rk2: DS after 30 d hold-down; $rk1 REVOKEd (tag ${rtag:-?}) for 30 d, then gone"

daemon_stop
daemon_finish
