#!/usr/bin/env bash
# Active/standby (issue 5 section 4): two signerd nodes, A and B, share one
# SoftHSM token directory (the keys and the fencing record) and a ship
# directory. A takes epoch 1, signs a zone under a policy and ships its state
# every second. `signer master transfer` hands over to B in order (A stops
# signing and ships its final state, B restores it and takes epoch 2); B
# signs the same zone with the same keys (no key generated), serial past A's;
# A, still running, refuses to sign (fenced). Then B dies, `signer master
# seize` promotes A again (epoch 3) from B's last shipped state; B returns
# and is fenced: it neither signs nor generates keys. The zone validates
# (ldns-verify-zone, dnssec-verify) across every handover.
#
#   daemon-master.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
# shellcheck disable=SC2119 # daemon_start's environment arguments are optional
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-master "$@"
lib_require dnssec-verify

zone=ha.example.
ship=$tmp/ship

step "node A: a policy zone, the fencing record, state shipped"
lib_token master
daemon_cfg_extra="cluster: {node: node-a, ship_dir: $ship, ship_interval: 1}"
daemon_write_config
confa=$conf
# Node B: same token, its own socket, state and output.
confb=$tmp/signer-b.yaml
sockb=$tmp/run/signerd-b.sock
sed -e "s|$sock|$sockb|; s|^state_dir: .*|state_dir: $tmp/state-b|; s|^output_dir: .*|output_dir: $tmp/out-b|" \
	-e "s|node: node-a|node: node-b|" "$confa" >"$confb"
logb=$tmp/signerd-b.log
: >"$logb"
pidb=""
nlogb=0
start_b() { # a fresh log per start (the old one kept as .N)
	[[ ! -s $logb ]] || mv "$logb" "$logb.$((++nlogb))"
	"$signerd" -c "$confb" 2>>"$logb" </dev/null &
	pidb=$!
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "signerd started" "$logb" && [[ -S $sockb ]] && return 0
		kill -0 "$pidb" 2>/dev/null || die "signerd B exited:$(tail -20 "$logb" | lib_indent)"
		sleep 0.1
	done
	die "signerd B did not start:$(tail -20 "$logb" | lib_indent)"
}
stop_b() {
	[[ -n $pidb ]] || return 0
	kill -TERM "$pidb" 2>/dev/null || true
	wait "$pidb" 2>/dev/null || true
	pidb=""
}
lib_at_exit stop_b
clib() { # signer ARGS on node B; stdout; dies on failure
	timeout 60 "$signer" "$@" -c "$confb" 2>"$tmp/cli-b.err" ||
		die "signer $* (node B) failed:$(lib_indent <"$tmp/cli-b.err")$(tail -10 "$logb" | lib_indent)"
}

daemon_start
daemon_log_since -q "cluster node node-a: active (epoch 1 held by node-a)" || die "A is not active"
cat >"$tmp/ha.zone" <<EOF
\$ORIGIN $zone
\$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 259200 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
EOF
cli_ok zone add "$zone" --policy default >/dev/null
cli_ok zone push "$zone" "$tmp/ha.zone" >/dev/null
keys_a=$(cli_ok zone status "$zone" --json | python3 -c 'import json,sys; print(sorted(k["id"] for k in json.load(sys.stdin)["key_states"]))')
serial_a=$(zone_serial "$zone")
for ((i = 0; i < 50; i++)); do
	[[ -s $ship/LATEST ]] && break
	sleep 0.1
done
[[ -s $ship/LATEST ]] || die "A shipped nothing:$(daemon_log_tail)"
grep -q "epoch 1 held by node-a" <<<"$(cli_ok master status -c "$confa")" || die "status"
ok "A signs serial $serial_a with keys $keys_a; shipped $(cat "$ship/LATEST")"

step "B started while A holds the epoch: a standby, it signs nothing"
mkdir -p "$tmp/state-b"
start_b
grep -q "cluster node node-b: standby, not signing (epoch 1 held by node-a)" "$logb" ||
	die "B: $(tail -5 "$logb")"
stop_b
ok "B stands by"

step "transfer A -> B: A steps down and ships, B restores and takes epoch 2"
out=$(cli_ok master transfer -c "$confa" --to "$confb")
grep -q "the active stepped down and shipped state-1-" <<<"$out" || die "transfer: $out"
grep -q "node node-b holds epoch 2 (was node-a's)" <<<"$out" || die "transfer: $out"
start_b
grep -q "cluster node node-b: active (epoch 2 held by node-b)" "$logb" || die "B not active"
for ((i = 0; i < 100; i++)); do
	s=$(timeout 10 "$signer" zone status "$zone" --json -c "$confb" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])' 2>/dev/null || true)
	[[ -n $s && $s != "$serial_a" && $s != 0 ]] && break
	sleep 0.1
done
serial_b=$s
((serial_b >= serial_a + 65536)) || die "B's serial $serial_b is not past A's $serial_a"
keys_b=$(clib zone status "$zone" --json | python3 -c 'import json,sys; print(sorted(k["id"] for k in json.load(sys.stdin)["key_states"]))')
[[ $keys_b == "$keys_a" ]] || die "keys differ: A $keys_a, B $keys_b"
if grep -q "generated in token" "$logb"; then
	die "B generated a key"
fi
sed 's/ 1 7200 3600/ 2 7200 3600/; s/^www IN A .*/www IN A 192.0.2.81/' "$tmp/ha.zone" >"$tmp/ha2.zone"
clib zone push "$zone" "$tmp/ha2.zone" >/dev/null
clib zone pull "$zone" --out "$tmp/b.zone" --text >/dev/null
verify_zone "$zone" "$tmp/b.zone"
grep -q "192.0.2.81" "$tmp/b.zone" || die "B did not sign the change"
ok "B signs serial $serial_b with the same keys; the zone validates"

step "A, still running, is fenced"
cli_fails "not signing: this node (node-a) stepped down" zone push "$zone" "$tmp/ha2.zone"
ok "A refuses: $cli_msg"

step "B dies; seize promotes A from B's last shipped state (epoch 3)"
for ((i = 0; i < 50; i++)); do
	grep -q "^state-2-" "$ship/LATEST" && break
	sleep 0.1
done
grep -q "^state-2-" "$ship/LATEST" || die "B shipped nothing: $(cat "$ship/LATEST")"
sleep 1.5 # a ship after B's last push
kill -KILL "$pidb"
wait "$pidb" 2>/dev/null || true
pidb=""
cli master seize -c "$confa"
((cli_rc == 1)) && grep -q "signerd answers" "$tmp/cli.err" || die "seize with A running"
daemon_stop
out=$(cli_ok master seize -c "$confa")
grep -q "node node-a holds epoch 3 (was node-b's)" <<<"$out" || die "seize: $out"
daemon_start
daemon_log_since -q "cluster node node-a: active (epoch 3 held by node-a)" || die "A not active"
for ((i = 0; i < 100; i++)); do
	s=$(zone_serial "$zone")
	((s >= serial_b + 65536)) && break
	sleep 0.1
done
((s >= serial_b + 65536)) || die "A's serial $s not past B's $serial_b"
pull "$zone" "$tmp/a.zone" --text
verify_zone "$zone" "$tmp/a.zone"
grep -q "192.0.2.81" "$tmp/a.zone" || die "A lost B's change"
ok "A active again at serial $s with B's change; the zone validates"

step "the returning old active (B) is fenced: no signing, no key generation"
start_b
grep -q "cluster node node-b: standby, not signing (epoch 3 held by node-a)" "$logb" ||
	die "B: $(tail -5 "$logb")"
timeout 60 "$signer" key roll "$zone" zsk -c "$confb" >/dev/null 2>&1 || true
sed 's/ 2 7200 3600/ 3 7200 3600/' "$tmp/ha2.zone" >"$tmp/ha3.zone"
rc=0
timeout 60 "$signer" zone push "$zone" "$tmp/ha3.zone" -c "$confb" >/dev/null 2>"$tmp/cli-b.err" || rc=$?
((rc == 1)) && grep -q "fenced: node node-a holds epoch 3" "$tmp/cli-b.err" ||
	die "B signed while fenced: $(cat "$tmp/cli-b.err")"
sleep 1
if grep -q "generated in token" "$logb"; then
	die "fenced B generated a key"
fi
stop_b
ok "B refuses: $(head -1 "$tmp/cli-b.err")"

daemon_stop
daemon_finish
