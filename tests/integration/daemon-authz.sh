#!/usr/bin/env bash
# Who may talk to signerd: the Unix socket's mode and owner, socket_mode
# 0666 refused at start, an unknown uid (another user, and a configuration
# without our uid) denied everything, a feeder limited to its zone (after a
# SIGHUP that makes us one), TLS with client certificates (the configured
# key is a feeder, no certificate and another CA's certificate refused,
# tls_listen without tls_ca refused at start), and a client's
# max_connections.
#
#   daemon-authz.sh SIGNER SIGNERD [TESTDATA_DIR [P11FAULT_MODULE]]
# shellcheck disable=SC2119 # daemon_start's environment arguments are optional
set -Eeuo pipefail
# shellcheck source=tests/integration/daemon-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon-lib.sh"
daemon_init daemon-authz "$@"
lib_require openssl setpriv stat

step "token, keys, two zones"
lib_token authz
csk_a=$(keygen authz-a)
csk_b=$(keygen authz-b)
zone_file() { # zone_file ORIGIN FILE
	cat >"$2" <<-EOF
		\$ORIGIN $1
		\$TTL 300
		@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
		@ IN NS ns1
		ns1 IN A 192.0.2.1
		www IN A 192.0.2.80
	EOF
}
zone_file a.example. "$tmp/a.zone"
zone_file b.example. "$tmp/b.zone"
chmod 0644 "$tmp/a.zone" "$tmp/b.zone" # the other user pushes them too
# Another user reaches the socket through its group (nogroup): the
# directories on the way are traversable (not listable), the socket 0660.
other_user=nobody
other_group=$(id -gn "$other_user")
chmod 0711 "$tmp" "$tmp/run"
daemon_cfg_server="  socket_group: $other_group
  socket_mode: \"0660\""
daemon_write_config
daemon_start
mode=$(stat -c '%a %U %G' "$sock")
[[ $mode == "660 $(id -un) $other_group" ]] ||
	die "socket $sock is '$mode', expected '660 $(id -un) $other_group'"
ok "socket mode 0660, owner $(id -un), group $other_group"
cli_ok zone add a.example. --csk "$csk_a" >/dev/null
cli_ok zone add b.example. --csk "$csk_b" >/dev/null
cli_ok zone push a.example. "$tmp/a.zone" >/dev/null
cli_ok zone push b.example. "$tmp/b.zone" >/dev/null
pull a.example. "$tmp/a.pull"
pull b.example. "$tmp/b.pull"
ok "a.example. and b.example. published"

# denied_everything: every command (as the CLI runs now) is
# PERMISSION_DENIED; zone list, status included.
denied_everything() {
	local z c
	cli_fails PERMISSION_DENIED zone list
	cli_fails PERMISSION_DENIED status
	cli_fails PERMISSION_DENIED zone add c.example. --csk "$csk_a"
	cli_fails PERMISSION_DENIED zone remove a.example.
	cli_fails PERMISSION_DENIED key list
	cli_fails PERMISSION_DENIED clock set +1d
	cli_fails PERMISSION_DENIED zone watch
	for z in a.example. b.example.; do
		c=${z%%.*}
		cli_fails PERMISSION_DENIED zone status "$z"
		cli_fails PERMISSION_DENIED zone pull "$z"
		cli_fails PERMISSION_DENIED zone push "$z" "$tmp/$c.zone"
		cli_fails PERMISSION_DENIED zone push "$z" "$tmp/$c.zone" --text
		cli_fails PERMISSION_DENIED zone update "$z" --from-serial 1 --to-serial 2 \
			--add 'x 300 IN A 192.0.2.7'
		cli_fails PERMISSION_DENIED key ds "$z"
	done
}

# unchanged: both zones still serve what they served.
unchanged() {
	local c
	for c in a b; do
		cli_ok zone pull "$c.example." --out "$tmp/$c.now" >/dev/null
		[[ $(zone_digest "$tmp/$c.now") == "$(zone_digest "$tmp/$c.pull")" ]] ||
			die "$c.example. changed $*"
	done
}

step "an unknown uid ($other_user) is denied everything"
# The CLI as that user: setpriv keeps the environment; it cannot read our
# configuration, so it names the socket.
real_signer=$signer
# cli_fails and cli call "$signer": a wrapper script runs it as the other
# user.
cat >"$tmp/signer-as-other" <<EOF
#!/bin/sh
exec setpriv --reuid=$other_user --regid=$other_group --clear-groups "$real_signer" "\$@"
EOF
chmod 0755 "$tmp/signer-as-other"
signer=$tmp/signer-as-other
cli_conn=(--server "unix:$sock")
denied_everything
signer=$real_signer
cli_conn=(-c "$conf")
daemon_log_grep -q "client uid $(id -u "$other_user") .*unknown identity" ||
	die "the log does not name the unknown uid:$(daemon_log_tail)"
unchanged "by a denied client"
ok "uid $(id -u "$other_user"): PERMISSION_DENIED for every command; logged"

step "SIGHUP: a configuration without our uid: we are denied everything"
daemon_cfg_clients="  - uid: $(id -u "$other_user")
    role: operator"
daemon_write_config
[[ $(daemon_hup) == *"configuration reloaded"* ]] || die "reload refused:$(daemon_log_tail)"
denied_everything
ok "uid $uid not configured: PERMISSION_DENIED for every command"

step "SIGHUP: we are the feeder of a.example. only"
daemon_cfg_clients="  - uid: $uid
    role: feeder
    zones: [a.example]"
daemon_write_config
[[ $(daemon_hup) == *"configuration reloaded"* ]] || die "reload refused:$(daemon_log_tail)"
cli_ok zone status a.example. >/dev/null
cli_ok zone push a.example. "$tmp/a.zone" >/dev/null
s=$(zone_field a.example. input_serial)
cli_ok zone update a.example. --from-serial "$s" --to-serial $((s + 1)) \
	--add 'feeder 300 IN TXT "by the feeder"' >/dev/null
pull a.example. "$tmp/a.pull"
grep -q '"by the feeder"' "$tmp/a.pull" || die "the feeder's update is not in a.example."
verify_zone a.example. "$tmp/a.pull"
cli_ok key ds a.example. | grep -q ' DS ' || die "key ds a.example. printed no DS for the feeder"
cli_ok zone list >"$tmp/list.out"
grep -q '^a\.example\. ' "$tmp/list.out" || die "the feeder's zone list lacks a.example."
if grep -q '^b\.example\. ' "$tmp/list.out"; then
	die "the feeder's zone list shows b.example.:$(lib_indent <"$tmp/list.out")"
fi
cli status >/dev/null
((cli_rc == 0)) || die "signer status exited $cli_rc for the feeder"
cli_fails PERMISSION_DENIED zone push b.example. "$tmp/b.zone"
cli_fails PERMISSION_DENIED zone pull b.example.
cli_fails PERMISSION_DENIED zone status b.example.
cli_fails PERMISSION_DENIED zone update b.example. --from-serial 1 --to-serial 2 --add 'x 300 IN A 192.0.2.7'
cli_fails PERMISSION_DENIED key ds b.example.
cli_fails PERMISSION_DENIED zone watch b.example.
cli_fails PERMISSION_DENIED zone add c.example. --csk "$csk_a"
cli_fails PERMISSION_DENIED zone remove a.example.
cli_fails PERMISSION_DENIED zone remove b.example.
cli_fails PERMISSION_DENIED key list
cli_fails PERMISSION_DENIED clock set +1d
daemon_stop
daemon_cfg_clients="  - uid: $uid
    role: operator"
daemon_write_config
daemon_start
pull b.example. "$tmp/b.now"
[[ $(zone_digest "$tmp/b.now") == "$(zone_digest "$tmp/b.pull")" ]] || die "b.example. changed by a feeder of a.example."
ok "feeder of a.example.: push, update, pull, status, key ds of a; b and operator commands denied"

step "socket_mode 0666 is refused at start"
daemon_stop
daemon_cfg_server="  socket_mode: \"0666\""
daemon_write_config
daemon_start_fails
grep -q 'socket_mode 0666 gives access to others' "$daemon_fail_log" ||
	die "signerd refused 0666 without saying why:$(lib_indent <"$daemon_fail_log")"
[[ ! -e $sock ]] || die "signerd left a socket behind after refusing to start"
ok "refused: $(head -1 "$daemon_fail_log")"

step "TLS: certificates"
pki=$tmp/pki
mkdir "$pki"
ossl() { openssl "$@" >>"$pki/openssl.log" 2>&1 || die "openssl $1 failed:$(tail -5 "$pki/openssl.log" | lib_indent)"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key"; }
ca() { # ca NAME
	newkey "$1"
	ossl req -x509 -new -key "$pki/$1.key" -subj "/CN=$1" -days 2 -out "$pki/$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
}
leaf() { # leaf NAME CA EXT
	newkey "$1"
	ossl req -new -key "$pki/$1.key" -subj "/CN=$1" -out "$pki/$1.csr"
	printf '%s\n' "$3" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
		-CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
ca ca
ca otherca
leaf server ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf good ca "extendedKeyUsage=clientAuth"
leaf stranger otherca "extendedKeyUsage=clientAuth"
leaf unlisted ca "extendedKeyUsage=clientAuth"
spki_sha256() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
good_hash=$(spki_sha256 "$pki/good.pem")
[[ $good_hash =~ ^[0-9a-f]{64}$ ]] || die "no SPKI hash of good.pem: $good_hash"
ok "CA, server (IP:127.0.0.1), client certificates from the CA and from another CA"

step "tls_listen without tls_ca is refused at start"
port=$(lib_free_port)
daemon_cfg_server="  tls_listen: \"127.0.0.1:$port\"
  tls_cert: $pki/server.pem
  tls_key: $pki/server.key"
daemon_write_config
daemon_start_fails
grep -q 'tls_listen needs tls_cert, tls_key and tls_ca (missing: tls_ca)' "$daemon_fail_log" ||
	die "signerd refused tls_listen without tls_ca without saying why:$(lib_indent <"$daemon_fail_log")"
ok "refused: $(head -1 "$daemon_fail_log")"

step "TLS: the configured client key is a feeder of a.example."
daemon_cfg_server="  tls_listen: \"127.0.0.1:$port\"
  tls_cert: $pki/server.pem
  tls_key: $pki/server.key
  tls_ca: $pki/ca.pem"
daemon_cfg_clients="  - uid: $uid
    role: operator
  - cert_sha256: \"$good_hash\"
    role: feeder
    zones: [a.example.]"
daemon_write_config
daemon_start
daemon_log_since -q "TLS on 127.0.0.1:$port" || die "signerd does not say it listens on TLS:$(daemon_log_tail)"
tls_as() { # tls_as CERTNAME: the CLI connects over TLS with that certificate
	cli_conn=(--server "tls:127.0.0.1:$port" --tls-ca "$pki/ca.pem")
	[[ -z ${1:-} ]] || cli_conn+=(--tls-cert "$pki/$1.pem" --tls-key "$pki/$1.key")
}
tls_as good
pull a.example. "$tmp/a.tls"
[[ $(zone_digest "$tmp/a.tls") == "$(zone_digest "$tmp/a.pull")" ]] || die "a.example. over TLS differs"
cli_ok zone status a.example. >/dev/null
s=$(zone_field a.example. input_serial)
cli_ok zone update a.example. --from-serial "$s" --to-serial $((s + 1)) \
	--add 'tls 300 IN TXT "over TLS"' >/dev/null
cli_fails PERMISSION_DENIED zone pull b.example.
cli_fails PERMISSION_DENIED zone push b.example. "$tmp/b.zone"
cli_fails PERMISSION_DENIED zone status b.example.
cli_fails PERMISSION_DENIED zone add c.example. --csk "$csk_a"
cli_fails PERMISSION_DENIED key list
ok "good certificate: a.example. pull/status/update; b.example. and operator commands denied"
tls_as unlisted
cli_fails PERMISSION_DENIED zone pull a.example.
cli_fails PERMISSION_DENIED zone list
ok "a certificate of the CA whose key is not configured: PERMISSION_DENIED"
tls_as ""
cli zone pull a.example. >/dev/null
((cli_rc != 0)) || die "a TLS client without a certificate pulled a.example."
ok "no client certificate: refused ($(head -1 "$tmp/cli.err"))"
tls_as stranger
cli zone pull a.example. >/dev/null
((cli_rc != 0)) || die "a certificate of another CA pulled a.example."
grep -q PERMISSION_DENIED "$tmp/cli.err" && die "another CA's certificate got through the handshake"
ok "another CA's certificate: refused ($(head -1 "$tmp/cli.err"))"
cli_conn=(-c "$conf")
n=$(daemon_log_since -c 'connection refused' || true)
((n >= 2)) || die "the log does not name the refused TLS handshakes:$(daemon_log_tail)"
pull a.example. "$tmp/a.pull"
grep -q '"over TLS"' "$tmp/a.pull" || die "the update over TLS is not in a.example."
unchanged_b() {
	pull b.example. "$tmp/b.now"
	[[ $(zone_digest "$tmp/b.now") == "$(zone_digest "$tmp/b.pull")" ]] || die "b.example. changed"
}
unchanged_b
daemon_stop

step "max_connections of a client"
daemon_cfg_server=""
daemon_cfg_clients="  - uid: $uid
    role: operator
    max_connections: 2"
daemon_write_config
daemon_start
s=$(zone_field a.example. input_serial)
watch_pids=()
for i in 1 2; do
	"$signer" zone watch -c "$conf" >"$tmp/watch$i.out" 2>"$tmp/watch$i.err" &
	watch_pids+=($!)
	lib_at_exit "kill ${watch_pids[-1]} 2>/dev/null || true"
done
for i in 1 2; do
	for ((t = 0; t < 100; t++)); do
		grep -q subscribed "$tmp/watch$i.err" && break
		sleep 0.1
	done
	grep -q subscribed "$tmp/watch$i.err" || die "watch $i did not subscribe:$(lib_indent <"$tmp/watch$i.err")"
done
# signerd answers a connection over the limit with one response, then
# closes it: read it as a raw client.
daemon_py - "$sock" >"$tmp/refused.out" <<'EOF' || die "raw third connection: $(cat "$tmp/refused.out")"
import sys, rpcwire
s = rpcwire.connect(sys.argv[1])
m = rpcwire.read_frame(s)
if m is None:
    sys.exit("closed without a response")
rid, st, msg, more, _ = rpcwire.response(m)
print(st, msg)
if rpcwire.read_frame(s) is not None:
    sys.exit("the refused connection stays open")
EOF
grep -qx 'TOO_LARGE too many connections for this client' "$tmp/refused.out" ||
	die "the third connection was not refused with TOO_LARGE and a message: $(cat "$tmp/refused.out")"
rc=0
timeout 20 "$signer" zone watch -c "$conf" >"$tmp/watch3.out" 2>"$tmp/watch3.err" || rc=$?
((rc == 1)) || die "a third watch (max_connections 2) exited $rc, expected 1:$(lib_indent <"$tmp/watch3.err")"
daemon_log_since -q "client uid $uid .*too many connections for this client" ||
	die "the log does not name the refused connection:$(daemon_log_tail)"
# The CLI must show the refusal's message. It sends its request at once:
# when signerd has already closed, the write fails (EPIPE) and the CLI says
# "sending: Broken pipe" without reading the answer waiting for it.
lost=0
for ((i = 0; i < 10; i++)); do
	cli zone list >/dev/null
	((cli_rc == 1)) || die "zone list over the limit exited $cli_rc:$(lib_indent <"$tmp/cli.err")"
	grep -q 'TOO_LARGE.*too many connections for this client' "$tmp/cli.err" || {
		lost=$((lost + 1))
		cp "$tmp/cli.err" "$tmp/lost.err"
	}
done
((lost == 0)) ||
	check_fail "the CLI lost signerd's refusal in $lost of 10 connections over max_connections:$(lib_indent <"$tmp/lost.err")"
ok "third connection refused: $(cat "$tmp/refused.out")"
# The two watchers see a publication; after one leaves, a new one fits.
cli zone update a.example. --from-serial "$s" --to-serial $((s + 1)) --add 'w 300 IN TXT "watched"'
((cli_rc == 1)) || die "an update over max_connections exited $cli_rc:$(lib_indent <"$tmp/cli.err")"
kill "${watch_pids[1]}"
wait "${watch_pids[1]}" 2>/dev/null || true
for ((t = 0; t < 50; t++)); do
	cli zone update a.example. --from-serial "$s" --to-serial $((s + 1)) \
		--add 'w 300 IN TXT "watched"' >/dev/null
	((cli_rc == 0)) && break
	sleep 0.1
done
((cli_rc == 0)) || die "no connection fits after a watcher left:$(lib_indent <"$tmp/cli.err")"
new=$(zone_serial a.example.)
for ((t = 0; t < 50; t++)); do
	grep -q "a.example. published serial $new" "$tmp/watch1.out" && break
	sleep 0.1
done
grep -q "a.example. published serial $new" "$tmp/watch1.out" ||
	die "the watcher did not see serial $new:$(lib_indent <"$tmp/watch1.out")"
kill "${watch_pids[0]}"
wait "${watch_pids[0]}" 2>/dev/null || true
ok "a watcher left: the next connection fits; the other saw serial $new"
daemon_finish
