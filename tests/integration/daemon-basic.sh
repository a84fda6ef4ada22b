#!/usr/bin/env bash
# signerd as an operator drives it with the `signer` CLI: zones added
# (KSK+ZSK with NSEC; a CSK with NSEC3), test-data zones pushed, pulled and
# checked by ldns-verify-zone and BIND's dnssec-verify, the output_dir file
# and notify_command, an incremental update and its delta, status, key list
# and DS records (against ldns-key2ds and dnssec-dsfromkey), a restart that
# serves the stored serial without signing, a restart with the HSM down
# (served anyway; unhealthy; an update succeeds once the HSM is back),
# SIGHUP with a broken configuration and with a new client, zone removal.
#
#   daemon-basic.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-basic "$@"
lib_require dnssec-verify dnssec-dsfromkey ldns-key2ds

step "token, keys, configuration, signerd"
lib_token basic
ksk=$(keygen basic-ksk)
zsk=$(keygen basic-zsk)
csk=$(keygen basic-csk)
notify_log=$tmp/notify.log
: >"$notify_log"
# shellcheck disable=SC2016 # $1 and $2 are the script's
printf '#!/bin/sh\necho "$1 $2" >>"%s"\n' "$notify_log" >"$tmp/notify.sh"
chmod 700 "$tmp/notify.sh"
daemon_cfg_extra="notify_command: \"$tmp/notify.sh %z %s\""
daemon_write_config
daemon_start
ok "signerd $daemon_pid serves $sock"

# Two test-data zones (zones/README.md): delegations under an NSEC chain
# with KSK+ZSK; empty non-terminals under NSEC3 with a CSK.
declare -A src=(
	[example.]=$testdata/zones/own-delegations.zone
	[miek.nl.]=$testdata/zones/nsd_bug052_ent.zone
)
zones=(example. miek.nl.)

step "zone add"
cli_ok zone add example. --ksk "$ksk" --zsk "$zsk" >"$tmp/add1.out"
grep -q 'published:.*no' "$tmp/add1.out" ||
	die "zone add example. does not say it awaits records:$(lib_indent <"$tmp/add1.out")"
cli_ok zone add miek.nl. --csk "$csk" --nsec3 --json >"$tmp/add2.json"
python3 -m json.tool "$tmp/add2.json" >/dev/null || die "zone add --json is not JSON"
[[ $(json_get "$(cat "$tmp/add2.json")" 'j["config"]["nsec3"]["iterations"]') == 0 ]] ||
	die "miek.nl. was not added with NSEC3:$(lib_indent <"$tmp/add2.json")"
cli_fails ALREADY_EXISTS zone add example. --csk "$csk"
cli_ok zone list >"$tmp/list.out"
for z in "${zones[@]}"; do
	grep -q "^$z " "$tmp/list.out" || die "zone list lacks $z:$(lib_indent <"$tmp/list.out")"
done
ok "example. (KSK+ZSK, NSEC) and miek.nl. (CSK, NSEC3) added"

step "zone push, pull, verify, output_dir, notify_command"
declare -A serial
for z in "${zones[@]}"; do
	out=$(cli_ok zone push "$z" "${src[$z]}")
	[[ $out =~ published\ serial\ ([0-9]+) ]] || die "zone push $z printed: $out"
	serial[$z]=${BASH_REMATCH[1]}
	s=$(zone_serial "$z")
	[[ $s == "${serial[$z]}" ]] || die "zone push $z said serial ${serial[$z]}, status says $s"
	pull "$z" "$tmp/$z.pull"
	[[ $(zone_soa_serial "$tmp/$z.pull") == "$s" ]] ||
		die "pulled $z has SOA serial $(zone_soa_serial "$tmp/$z.pull"), status says $s"
	verify_zone "$z" "$tmp/$z.pull"
	# The output file of that serial (written by the notify thread, then
	# the command runs): wait for the command's line.
	for ((i = 0; i < 100; i++)); do
		grep -qx "$z $s" "$notify_log" && break
		sleep 0.1
	done
	grep -qx "$z $s" "$notify_log" ||
		die "notify_command did not report '$z $s':$(lib_indent <"$notify_log")"
	f=$outdir/${z}zone
	[[ -f $f ]] || die "no output file $f for $z"
	[[ $(zone_soa_serial "$f") == "$s" ]] || die "$f is not at serial $s"
	verify_zone "$z" "$f"
	[[ $(zone_digest "$f") == "$(zone_digest "$tmp/$z.pull")" ]] ||
		die "$f differs from what zone pull $z gives"
	ok "$z: serial $s published, pulled and output file verified, notified"
done
grep -v -x -e "example. ${serial[example.]}" -e "miek.nl. ${serial[miek.nl.]}" "$notify_log" |
	grep -q . && die "notify_command ran for something else:$(lib_indent <"$notify_log")"

step "zone update and the delta it pulls"
z=example.
old=${serial[$z]}
cp "$tmp/$z.pull" "$tmp/$z.before"
in_serial=$(zone_field "$z" input_serial)
out=$(cli_ok zone update "$z" --from-serial "$in_serial" --to-serial $((in_serial + 1)) \
	--add 'mail 300 IN A 192.0.2.25' --remove 'www 3600 IN A 192.0.2.80')
[[ $out =~ published\ serial\ ([0-9]+) ]] || die "zone update printed: $out"
new=${BASH_REMATCH[1]}
((new != old)) || die "zone update published the old serial $old"
[[ $(zone_field "$z" input_serial) == $((in_serial + 1)) ]] ||
	die "input serial is not $((in_serial + 1)) after the update"
pull "$z" "$tmp/$z.after"
verify_zone "$z" "$tmp/$z.after"
cli_ok zone pull "$z" --from-serial "$old" >"$tmp/delta"
grep -qx ";; delta $old -> $new" "$tmp/delta" ||
	die "the delta lacks ';; delta $old -> $new':$(lib_indent <"$tmp/delta")"
# The delta is exactly the difference of the two whole zones.
grep -v '^;' "$tmp/$z.before" | sort >"$tmp/b.sorted"
grep -v '^;' "$tmp/$z.after" | sort >"$tmp/a.sorted"
comm -23 "$tmp/b.sorted" "$tmp/a.sorted" >"$tmp/want.removed"
comm -13 "$tmp/b.sorted" "$tmp/a.sorted" >"$tmp/want.added"
sed -n 's/^-//p' "$tmp/delta" | sort >"$tmp/got.removed"
sed -n 's/^+//p' "$tmp/delta" | sort >"$tmp/got.added"
diff "$tmp/want.removed" "$tmp/got.removed" >"$tmp/d.diff" ||
	die "removed half of the delta is not old zone - new zone:$(lib_indent <"$tmp/d.diff")"
diff "$tmp/want.added" "$tmp/got.added" >"$tmp/d.diff" ||
	die "added half of the delta is not new zone - old zone:$(lib_indent <"$tmp/d.diff")"
others=$(grep -v -e '^;; delta ' -e '^[-+]' "$tmp/delta" || true)
[[ -z $others ]] || die "the delta has other lines:$(lib_indent <<<"$others")"
# And it holds what the change means: the record, its signature, the
# chain's changes, the SOA.
has() { # has SIGN OWNER TYPE [RDATA-REGEX]
	awk -v op="$1" -v o="$2" -v t="$3" -v r="${4:-}" '
		substr($0, 1, 1) == op { $0 = substr($0, 2)
			if (tolower($1) == o && $4 == t && (r == "" || $5 ~ r)) f = 1 }
		END { exit !f }' "$tmp/delta"
}
has + mail.example. A || die "delta lacks +mail A"
has + mail.example. RRSIG '^A$' || die "delta lacks the RRSIG of mail A"
has + mail.example. NSEC || die "delta lacks the NSEC of mail"
has - www.example. A || die "delta lacks -www A"
has - www.example. RRSIG '^A$' || die "delta lacks -RRSIG of www A"
has - www.example. NSEC || die "delta lacks -NSEC of www (the name is gone)"
has - example. SOA || die "delta lacks -SOA"
has + example. SOA || die "delta lacks +SOA"
ok "serial $old -> $new: +mail, -www and their RRSIG/NSEC changes, exactly"
cli_ok zone pull "$z" --from-serial "$new" >"$tmp/delta2"
[[ ! -s $tmp/delta2 ]] || die "pull --from-serial of the current serial is not empty"
serial[$z]=$new

step "status, key list, key ds"
cli status >"$tmp/status.out"
((cli_rc == 0)) || die "signer status exited $cli_rc (expected 0, healthy):$(lib_indent <"$tmp/status.out")"
cli_ok status --json >"$tmp/status.json"
python3 -m json.tool "$tmp/status.json" >/dev/null || die "status --json is not JSON"
js=$(cat "$tmp/status.json")
[[ $(json_get "$js" 'j["healthy"]') == true && $(json_get "$js" 'j["zones"]') == 2 ]] ||
	die "status --json: not healthy with 2 zones:$(lib_indent <"$tmp/status.json")"
cli_ok key list >"$tmp/keys.out"
check_key() { # check_key ID ZONE/ROLE
	awk -v id="$1" -v zr="$2" 'index(tolower($0), id) && index($0, zr) { f = 1 } END { exit !f }' \
		"$tmp/keys.out" || die "key list does not show key $1 with $2:$(lib_indent <"$tmp/keys.out")"
}
check_key "$ksk" example./KSK
check_key "$zsk" example./ZSK
check_key "$csk" miek.nl./CSK
cli_ok key list --json | python3 -m json.tool >/dev/null || die "key list --json is not JSON"
# DS lines: "owner TTL IN DS tag alg type HEX" (TTL and case aside).
ds_norm() {
	awk '{ sub(/;.*/, "") } NF { for (i = 1; i <= NF; i++) if ($i == "DS") {
		d = ""; for (k = i + 4; k <= NF; k++) d = d $k
		print tolower($1), $(i + 1), $(i + 2), $(i + 3), toupper(d) } }' | sort -u
}
for z in "${zones[@]}"; do
	cli_ok key ds "$z" | ds_norm >"$tmp/ds.signer"
	[[ -s $tmp/ds.signer ]] || die "key ds $z printed no DS"
	awk '$4 == "DNSKEY" && $5 == 257' <(ldns-read-zone -c "$tmp/$z.pull") >"$tmp/ksk.key"
	[[ -s $tmp/ksk.key ]] || die "no DNSKEY with flags 257 in pulled $z"
	(cd "$tmp" && ldns-key2ds -n -2 ksk.key) | ds_norm >"$tmp/ds.ldns"
	dnssec-dsfromkey -2 -f "$tmp/ksk.key" "$z" | ds_norm >"$tmp/ds.bind"
	awk '$4 == 2' "$tmp/ds.signer" >"$tmp/ds.signer2"
	diff "$tmp/ds.ldns" "$tmp/ds.signer2" >"$tmp/ds.diff" ||
		die "key ds $z (SHA-256) differs from ldns-key2ds:$(lib_indent <"$tmp/ds.diff")"
	diff "$tmp/ds.bind" "$tmp/ds.signer2" >"$tmp/ds.diff" ||
		die "key ds $z (SHA-256) differs from dnssec-dsfromkey:$(lib_indent <"$tmp/ds.diff")"
	ok "$z: key ds = ldns-key2ds = dnssec-dsfromkey ($(wc -l <"$tmp/ds.signer2") SHA-256 DS)"
done

step "restart: the stored serial is served at once, without signing"
for z in "${zones[@]}"; do
	pull "$z" "$tmp/$z.pre"
done
daemon_stop
daemon_start
for z in "${zones[@]}"; do
	s=$(zone_serial "$z")
	[[ $s == "${serial[$z]}" ]] || die "after restart $z serves serial $s, not ${serial[$z]}"
	pull "$z" "$tmp/$z.post"
	[[ $(zone_digest "$tmp/$z.post") == "$(zone_digest "$tmp/$z.pre")" ]] ||
		die "after restart $z serves other records than before"
done
if daemon_log_since -q 'signatures made'; then
	die "signerd signed after a restart with nothing due:$(daemon_log_since 'signatures made' | lib_indent)"
fi
ok "restart: serials ${serial[*]} served as before, no signing"

step "restart with the HSM down (p11fault, P11FAULT_DOWN_FILE exists)"
daemon_stop
down=$tmp/hsm-down
touch "$down"
daemon_module=$p11fault
daemon_cfg_token="    retry_budget: 2"
daemon_write_config
daemon_start P11FAULT_MODULE="$softhsm" P11FAULT_DOWN_FILE="$down"
for z in "${zones[@]}"; do
	[[ $(zone_serial "$z") == "${serial[$z]}" ]] || die "with the HSM down $z is not at ${serial[$z]}"
	pull "$z" "$tmp/$z.down"
	verify_zone "$z" "$tmp/$z.down"
done
ok "zones served and verified with the HSM down"
# A key list makes signerd try the token (and fail): from then on it knows.
cli_fails UNAVAILABLE key list
cli status --json >"$tmp/status.json"
js=$(cat "$tmp/status.json")
tok_state=$(json_get "$js" 'j["tokens"][0]["state"]')
[[ $tok_state != up ]] || die "status says the token is up while it is down"
# Known to fail (see the report): a token never reached stays "not
# connected", which status counts as healthy.
if ((cli_rc != 3)) || [[ $(json_get "$js" 'j["healthy"]') != false ]]; then
	check_fail "signer status exited $cli_rc (expected 3, unhealthy) after signerd failed to reach the token (state '$tok_state'):$(lib_indent <"$tmp/status.json")"
fi
# A change is refused (UNAVAILABLE), nothing changes.
in_serial=$(zone_field example. input_serial)
cli_fails UNAVAILABLE zone update example. --from-serial "$in_serial" --to-serial $((in_serial + 1)) \
	--add 'down 300 IN TXT "hsm down"'
[[ $(zone_serial example.) == "${serial[example.]}" ]] || die "a refused update changed the serial"
pull example. "$tmp/example.down2"
[[ $(zone_digest "$tmp/example.down2") == "$(zone_digest "$tmp/example..down")" ]] ||
	die "a refused update changed the served zone"
cli status >/dev/null
((cli_rc == 3)) || die "signer status exited $cli_rc with the HSM down and a failed change (expected 3)"
ok "HSM down: key list and update UNAVAILABLE, status exit 3, healthy false, token '$tok_state'"
rm -f "$down"
# The zone's pass retries with a backoff; our update is a new change.
for ((i = 0; i < 20; i++)); do
	cli zone update example. --from-serial "$in_serial" --to-serial $((in_serial + 1)) \
		--add 'down 300 IN TXT "hsm back"' >"$tmp/upd.out"
	((cli_rc == 0)) && break
	grep -q UNAVAILABLE "$tmp/cli.err" || die "update after the HSM came back:$(lib_indent <"$tmp/cli.err")"
	sleep 1
done
((cli_rc == 0)) || die "no update succeeded within 20 s of the HSM coming back:$(lib_indent <"$tmp/cli.err")"
serial[example.]=$(zone_serial example.)
pull example. "$tmp/example.back"
verify_zone example. "$tmp/example.back"
grep -q '"hsm back"' "$tmp/example.back" || die "the update after the HSM came back is not in the zone"
ok "HSM back: update published serial ${serial[example.]}"

step "SIGHUP: a broken configuration is refused, a new client takes effect"
cp "$conf" "$tmp/good.yaml"
sed -i 's/^server:$/&\n  socket_mode: "0666"/' "$conf"
line=$(daemon_hup)
[[ $line == *"reload refused"*socket_mode* ]] || die "a broken configuration was not refused: $line"
daemon_alive
# The CLI cannot read that file either: name the socket instead.
cli_conn=(--server "unix:$sock")
cli_ok zone list >/dev/null
pull example. "$tmp/example.hup"
cli_ok zone add hup.example. --csk "$csk" >/dev/null
cli_ok zone remove hup.example. >/dev/null
cli_conn=(-c "$conf")
ok "refused, still serving with the old configuration (we are still operator): $line"
# A config without us as operator but as the feeder of miek.nl.: takes
# effect at once (zone add is no longer ours, a pull of miek.nl. is).
daemon_cfg_clients="  - uid: $uid
    role: feeder
    zones: [miek.nl]"
daemon_write_config
line=$(daemon_hup)
[[ $line == *"configuration reloaded"* ]] || die "reload: $line"
cli_fails PERMISSION_DENIED zone remove example.
cli_fails PERMISSION_DENIED zone pull example.
pull miek.nl. "$tmp/miek.feeder"
ok "reloaded: we are now a feeder of miek.nl. only"
cp "$tmp/good.yaml" "$conf"
line=$(daemon_hup)
[[ $line == *"configuration reloaded"* ]] || die "reload: $line"

step "zone remove"
ls "$state/zones" >"$tmp/zdirs.before"
cli_ok zone remove example. >/dev/null
cli_ok zone list >"$tmp/list.out"
if grep -q '^example\. ' "$tmp/list.out"; then
	die "example. still listed after zone remove:$(lib_indent <"$tmp/list.out")"
fi
grep -q '^miek\.nl\. ' "$tmp/list.out" || die "zone remove took miek.nl. too"
ls "$state/zones" >"$tmp/zdirs.after"
gone=$(comm -23 "$tmp/zdirs.before" "$tmp/zdirs.after")
if (($(wc -l <"$tmp/zdirs.before") != 2)) || [[ -z $gone ]] || (($(wc -l <"$tmp/zdirs.after") != 1)); then
	die "the state directory of example. was not removed:$(lib_indent <"$tmp/zdirs.after")"
fi
cli_fails NOT_FOUND zone pull example.
cli_fails NOT_FOUND zone status example.
ok "example. removed: not listed, state dir $gone gone, pull NOT_FOUND"
daemon_finish
