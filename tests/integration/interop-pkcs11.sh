#!/usr/bin/env bash
# Interoperability through other PKCS#11 consumers (issue 2, section 5):
#  (a) keys made by `signer hsm keygen` are listed by pkcs11-tool (OpenSC) with
#      the expected attributes: private, sensitive, never extractable, made in
#      the token, sign-only; label and CKA_ID as the signer printed them;
#  (b) ldns-signzone, through OpenSSL's pkcs11 engine (libp11), signs a zone
#      with those keys; ldns-verify-zone accepts it with the signer's DS as the
#      trust anchor (so the signer's DNSKEY, key tag and DS match the key the
#      engine used), BIND's dnssec-dsfromkey computes the same DS, and BIND's
#      dnssec-verify accepts the zone;
#  (c) a key made by `pkcs11-tool --keypairgen` is listed and used by signer:
#      its DNSKEY equals the token's CKA_EC_POINT and `signer hsm speed` signs
#      with it;
#  (d) `signer hsm delete` removes a key as pkcs11-tool sees it.
# Ed25519/Ed448 keys stay out of this token: libp11 0.4.12 stops listing keys
# on a token that holds one.
#
#   interop-pkcs11.sh SIGNER_BINARY [TESTDATA_DIR]
#
# Makes its own SoftHSM token in a temporary directory (SOFTHSM2_CONF) with a
# throwaway PIN and removes it on exit.
set -Eeuo pipefail
# Any command that fails unexpectedly names itself.
trap 'echo "interop-pkcs11: FAIL: line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR

signer=${1:?usage: interop-pkcs11.sh SIGNER_BINARY [TESTDATA_DIR]}
testdata=${2:-}
module=${SIGNER_TEST_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}

die() {
	echo "interop-pkcs11: FAIL: $*" >&2
	exit 1
}
step() {
	echo "== $*"
}

[[ -x $signer ]] || die "signer binary $signer is missing"
[[ -f $module ]] || die "SoftHSM module $module is missing"
for tool in softhsm2-util pkcs11-tool ldns-signzone ldns-verify-zone dnssec-dsfromkey \
	dnssec-verify openssl base64 od; do
	command -v "$tool" >/dev/null || die "$tool is not installed (ci/install-deps)"
done
enginesdir=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
engine=$enginesdir/pkcs11.so
[[ -f $engine ]] || die "OpenSSL pkcs11 engine $engine is missing (libengine-pkcs11-openssl)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-interop.XXXXXX")
cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT
umask 077

random_hex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# --- a token of our own, and the signer's configuration for it --------------
mkdir "$tmp/tokens"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$tmp/tokens" >"$SOFTHSM2_CONF"
token=interop
pin=$(random_hex 8)
# softhsm2-util only takes PINs as arguments: throwaway PINs of a test token.
softhsm2-util --init-token --free --label "$token" --so-pin "$(random_hex 8)" --pin "$pin" \
	>/dev/null || die "softhsm2-util --init-token failed"
printf '%s\n' "$pin" >"$tmp/pin"
cat >"$tmp/signer.yaml" <<EOF
tokens:
  - name: $token
    module: $module
    uri: "pkcs11:token=$token"
    pin_file: $tmp/pin
EOF
unset SIGNER_PIN
cfg=(-c "$tmp/signer.yaml")

# pkcs11-tool takes the PIN from the environment (env:NAME), not its arguments.
export INTEROP_PIN=$pin
p11tool() {
	pkcs11-tool --module "$module" --token-label "$token" "$@"
}
p11list() {
	p11tool --login --pin env:INTEROP_PIN --list-objects 2>/dev/null
}

# p11_object LISTING KIND LABEL: the block of pkcs11-tool's listing for the
# object of KIND ("Private Key Object", "Public Key Object") labelled LABEL.
p11_object() {
	printf '%s\n' "$1" | awk -v kind="$2" -v label="$3" '
		function flush() { if (keep && hit) printf "%s", blk; blk = ""; hit = 0 }
		/^[^ \t]/ { flush(); keep = index($0, kind) == 1 }
		keep {
			blk = blk $0 "\n"
			if ($0 ~ /^  label: /) {
				l = $0; sub(/^  label: +/, "", l)
				if (l == label) hit = 1
			}
		}
		END { flush() }'
}
# p11_field BLOCK NAME: the value of "  NAME: value" in a block.
p11_field() {
	printf '%s\n' "$1" | sed -n "s/^  $2: *//p" | head -1
}
# has_item LIST ITEM: LIST is pkcs11-tool's "a, b, c".
has_item() {
	[[ ", $1, " == *", $2, "* ]]
}

# rr_rdata TYPE: reads zone text on stdin, prints the RDATA of the first TYPE
# record (type in the 2nd..4th field, so that RRSIG and NSEC lines naming the
# type do not match), comment removed and base64/hex parts joined.
rr_rdata() {
	awk -v type="$1" '{
		sub(/;.*/, "")
		for (i = 2; i <= 4 && i <= NF; i++) {
			if ($i == type) {
				s = $(i + 1) " " $(i + 2) " " $(i + 3) " "
				for (j = i + 4; j <= NF; j++) s = s $j
				print s
				exit
			}
		}
	}'
}
# ds_lines: DS records on stdin as "TAG ALG DIGESTTYPE DIGEST" (digest upper case).
ds_lines() {
	awk '{
		sub(/;.*/, "")
		for (i = 2; i <= 4 && i <= NF; i++) {
			if ($i == "DS") {
				d = ""
				for (j = i + 4; j <= NF; j++) d = d $j
				print $(i + 1), $(i + 2), $(i + 3), toupper(d)
				break
			}
		}
	}'
}

# check_dnskey_output TEXT ALG FLAGS NAME: the output of `signer hsm dnskey`
# holds one DNSKEY with FLAGS and ALG, and DS records with digest types 2 and
# 4 whose "; key tag N" comments match, equal to what BIND computes from that
# DNSKEY. Writes $tmp/NAME.dnskey, $tmp/NAME.ds2, $tmp/NAME.ds4.
check_dnskey_output() {
	local text=$1 alg=$2 flags=$3 name=$4
	local rdata
	case $alg in
	RSASHA256) alg=8 ;;
	ECDSAP256SHA256) alg=13 ;;
	esac
	rdata=$(printf '%s\n' "$text" | rr_rdata DNSKEY)
	[[ -n $rdata ]] || die "$name: no DNSKEY in signer output: $text"
	read -r f p a _ <<<"$rdata"
	[[ $f == "$flags" && $p == 3 && $a == "$alg" ]] ||
		die "$name: DNSKEY is '$f $p $a ...', expected '$flags 3 $alg ...'"
	printf 'example. 3600 IN DNSKEY %s\n' "$rdata" >"$tmp/$name.dnskey"

	local ours bind
	ours=$(printf '%s\n' "$text" | ds_lines | sort)
	for t in 2 4; do
		printf '%s\n' "$ours" | awk -v t=$t '$3 == t' | grep -q . ||
			die "$name: no DS with digest type $t in signer output: $text"
	done
	# Every DS line carries "; key tag N" equal to its key tag.
	while read -r line; do
		local tag comment
		tag=$(printf '%s\n' "$line" | ds_lines | cut -d' ' -f1)
		comment=$(printf '%s\n' "$line" | sed -n 's/.*; *key tag \([0-9]*\).*/\1/p')
		[[ -n $comment && $comment == "$tag" ]] ||
			die "$name: DS line without a matching '; key tag $tag' comment: $line"
	done < <(printf '%s\n' "$text" | awk '{ for (i = 2; i <= 4 && i <= NF; i++) if ($i == "DS") { print; break } }')

	bind=$( (dnssec-dsfromkey -A -a SHA-256 -f "$tmp/$name.dnskey" example. &&
		dnssec-dsfromkey -A -a SHA-384 -f "$tmp/$name.dnskey" example.) | ds_lines | sort) ||
		die "$name: BIND cannot read signer's DNSKEY: $(cat "$tmp/$name.dnskey")"
	[[ $ours == "$bind" ]] ||
		die "$name: signer's DS differ from BIND's: signer: $ours; BIND: $bind"
	printf '%s\n' "$text" | awk '{ for (i = 2; i <= 4 && i <= NF; i++) if ($i == "DS" && $(i + 3) == 2) { sub(/;.*/, ""); print; break } }' >"$tmp/$name.ds2"
	printf '%s\n' "$text" | awk '{ for (i = 2; i <= 4 && i <= NF; i++) if ($i == "DS" && $(i + 3) == 4) { sub(/;.*/, ""); print; break } }' >"$tmp/$name.ds4"
	echo "ok: $name: DNSKEY $flags $alg, DS $(printf '%s' "$ours" | cut -d' ' -f1 | sort -u | tr '\n' ' ')match BIND"
}

# check_generated_key LISTING LABEL ID KIND: pkcs11-tool sees the key pair.
check_generated_key() {
	local listing=$1 label=$2 id=$3 kind=$4
	local priv pub usage access
	priv=$(p11_object "$listing" "Private Key Object" "$label")
	[[ -n $priv ]] || die "pkcs11-tool lists no private key labelled $label"
	[[ $(printf '%s\n' "$priv" | grep -c '^Private Key Object') == 1 ]] ||
		die "pkcs11-tool lists more than one private key labelled $label"
	[[ $(head -1 <<<"$priv") == "Private Key Object; $kind"* ]] ||
		die "$label: private key type: $(head -1 <<<"$priv"), expected $kind"
	[[ $(p11_field "$priv" ID) == "$id" ]] ||
		die "$label: private key ID $(p11_field "$priv" ID), signer printed $id"
	usage=$(p11_field "$priv" Usage)
	[[ $usage == sign ]] || die "$label: private key usage '$usage', expected sign only"
	access=$(p11_field "$priv" Access)
	for a in sensitive "always sensitive" "never extractable" local; do
		has_item "$access" "$a" || die "$label: private key access '$access' lacks '$a'"
	done
	! has_item "$access" extractable || die "$label: private key is extractable: '$access'"

	pub=$(p11_object "$listing" "Public Key Object" "$label")
	[[ -n $pub ]] || die "pkcs11-tool lists no public key labelled $label"
	[[ $(p11_field "$pub" ID) == "$id" ]] ||
		die "$label: public key ID $(p11_field "$pub" ID), signer printed $id"
	echo "ok: pkcs11-tool: $label id=$id: $(head -1 <<<"$priv"); usage: $usage; access: $access"
}

# keygen ALG BITS LABEL: prints the CKA_ID (lower-case hex) signer reported.
keygen() {
	local alg=$1 bits=$2 label=$3 out
	local args=(hsm keygen "${cfg[@]}" --alg "$alg" --label "$label")
	[[ -z $bits ]] || args+=(--bits "$bits")
	out=$("$signer" "${args[@]}") || die "signer ${args[*]} failed"
	[[ $out =~ generated\ key\ id=([0-9a-fA-F]{32})\ label=([^ ]+)\ alg=([A-Z0-9]+) ]] ||
		die "unexpected keygen output: $out"
	[[ ${BASH_REMATCH[2]} == "$label" && ${BASH_REMATCH[3]} == "$alg" ]] ||
		die "keygen printed label=${BASH_REMATCH[2]} alg=${BASH_REMATCH[3]}: $out"
	printf '%s\n' "${BASH_REMATCH[1],,}"
}

# --- (a) keys made by signer, as pkcs11-tool sees them ----------------------
step "(a) signer hsm keygen; pkcs11-tool --list-objects"
rsa_id=$(keygen RSASHA256 2048 interop-zsk)
ec_id=$(keygen ECDSAP256SHA256 "" interop-ksk)
listing=$(p11list)
check_generated_key "$listing" interop-zsk "$rsa_id" RSA
check_generated_key "$listing" interop-ksk "$ec_id" EC

# CKA_PRIVATE: without a login the private keys are not visible.
public_listing=$(p11tool --list-objects 2>/dev/null)
[[ -z $(p11_object "$public_listing" "Private Key Object" interop-zsk) ]] ||
	die "the private key interop-zsk is visible without a login (CKA_PRIVATE false)"
echo "ok: private keys are invisible without a login"

keys=$("$signer" hsm keys "${cfg[@]}") || die "signer hsm keys failed"
for pair in "$rsa_id interop-zsk" "$ec_id interop-ksk"; do
	read -r id label <<<"$pair"
	printf '%s\n' "$keys" | grep -i "$id" | grep -w -- "$label" | grep -qw generated ||
		die "signer hsm keys does not list $label $id as generated: $keys"
done
echo "ok: signer hsm keys lists both as generated"

# --- (b) ldns-signzone through OpenSSL's pkcs11 engine ----------------------
step "(b) ldns-signzone -E pkcs11; ldns-verify-zone; dnssec-verify"
zone=$tmp/example.zone
if [[ -n $testdata ]]; then
	src=$testdata/vectors/rfc4035-appendix-a/example.unsigned.zone
	[[ -f $src ]] || die "test zone $src is missing"
	cp "$src" "$zone"
else
	cat >"$zone" <<'EOF'
$ORIGIN example.
$TTL 3600
@	IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 3600
@	IN NS ns1.example.
ns1	IN A 192.0.2.1
www	IN A 192.0.2.80
www	IN AAAA 2001:db8::80
sub	IN NS ns.sub.example.
ns.sub	IN A 192.0.2.53
EOF
fi

# The engine's PIN comes from its configuration (a file in our temp dir).
cat >"$tmp/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine
MODULE_PATH = $module
PIN = $pin
init = 0
EOF

# sign_and_verify NAME ALG FLAGS KEYSPEC: signer's DNSKEY/DS for the key, then
# ldns-signzone with KEYSPEC (the engine's key reference), then the checks.
sign_and_verify() {
	local name=$1 alg=$2 flags=$3 label=$4 keyspec=$5 option=-k
	local text signed=$tmp/$name.signed
	((flags == 257)) && option=-K
	text=$("$signer" hsm dnskey "${cfg[@]}" --zone example. --flags "$flags" "$label") ||
		die "signer hsm dnskey --flags $flags $label failed"
	check_dnskey_output "$text" "$alg" "$flags" "$name"

	OPENSSL_CONF=$tmp/openssl.cnf ldns-signzone -E pkcs11 -o example. "$option" "$keyspec" \
		-f "$signed" "$zone" >"$tmp/ldns.log" 2>&1 ||
		die "ldns-signzone $option $keyspec failed: $(cat "$tmp/ldns.log")"
	local theirs ours
	theirs=$(rr_rdata DNSKEY <"$signed")
	ours=$(rr_rdata DNSKEY <"$tmp/$name.dnskey")
	[[ $theirs == "$ours" ]] ||
		die "$name: the engine's DNSKEY differs from signer's: engine: $theirs; signer: $ours"
	echo "ok: $name: ldns-signzone $option $keyspec: the engine's DNSKEY equals signer's"

	for t in 2 4; do
		ldns-verify-zone -k "$tmp/$name.ds$t" "$signed" >"$tmp/verify.log" 2>&1 ||
			die "$name: ldns-verify-zone with signer's DS (digest $t) as anchor: $(cat "$tmp/verify.log")"
	done
	echo "ok: $name: ldns-verify-zone accepts the zone with signer's DS (digest 2 and 4) as anchor"
	dnssec-verify -z -o example. "$signed" >"$tmp/verify.log" 2>&1 ||
		die "$name: dnssec-verify: $(cat "$tmp/verify.log")"
	echo "ok: $name: dnssec-verify accepts the zone"
}

# Three ways to name a key for the engine: hex id, PKCS#11 URI, label.
sign_and_verify rsa-zsk RSASHA256 256 interop-zsk "RSASHA256,$rsa_id"
uri_id=$(sed 's/../%&/g' <<<"$ec_id")
sign_and_verify ecdsa-ksk ECDSAP256SHA256 257 interop-ksk \
	"ECDSAP256SHA256,pkcs11:token=$token;id=$uri_id;type=private"

# A negative control: a DS that matches no key must fail, or the checks above
# prove nothing.
echo "example. IN DS 1 8 2 $(printf '0%.0s' {1..64})" >"$tmp/bogus.ds"
if ldns-verify-zone -k "$tmp/bogus.ds" "$tmp/rsa-zsk.signed" >/dev/null 2>&1; then
	die "ldns-verify-zone accepts a zone under a bogus DS: the anchor checks are void"
fi
echo "ok: a bogus DS anchor is rejected"

# --- (c) a key made by pkcs11-tool, used by signer ---------------------------
step "(c) pkcs11-tool --keypairgen; signer hsm keys/dnskey/speed"
p11_id=$(random_hex 16)
p11tool --login --pin env:INTEROP_PIN --keypairgen --key-type EC:prime256v1 --id "$p11_id" \
	--label p11tool-key >/dev/null 2>&1 || die "pkcs11-tool --keypairgen failed"
keys=$("$signer" hsm keys "${cfg[@]}") || die "signer hsm keys failed"
printf '%s\n' "$keys" | grep -i "$p11_id" | grep -qw p11tool-key ||
	die "signer hsm keys does not list p11tool-key $p11_id: $keys"
echo "ok: signer hsm keys lists p11tool-key"

ec_point=$(p11_field "$(p11_object "$(p11list)" "Public Key Object" p11tool-key)" EC_POINT)
[[ $ec_point =~ ^044104([0-9a-f]{128})$ ]] || die "unexpected EC_POINT from pkcs11-tool: $ec_point"
want=${BASH_REMATCH[1]}
# The same key by label, by CKA_ID and by PKCS#11 URI.
for ref in p11tool-key "$p11_id" "pkcs11:token=$token;object=p11tool-key"; do
	text=$("$signer" hsm dnskey "${cfg[@]}" --zone example. --flags 257 "$ref") ||
		die "signer hsm dnskey $ref failed"
	read -r f p a b64 <<<"$(printf '%s\n' "$text" | rr_rdata DNSKEY)"
	[[ "$f $p $a" == "257 3 13" ]] || die "signer hsm dnskey $ref: DNSKEY '$f $p $a ...'"
	got=$(printf '%s' "$b64" | base64 -d | od -An -tx1 | tr -d ' \n')
	[[ $got == "$want" ]] ||
		die "signer hsm dnskey $ref: public key $got, token's CKA_EC_POINT holds $want"
done
echo "ok: signer hsm dnskey (by label, id, URI) equals the token's CKA_EC_POINT"
sign_and_verify p11tool-ksk ECDSAP256SHA256 257 p11tool-key "ECDSAP256SHA256,label_p11tool-key"

speed=$("$signer" hsm speed "${cfg[@]}" --alg ECDSAP256SHA256 --threads 1 --seconds 1 \
	--key p11tool-key) || die "signer hsm speed --key p11tool-key failed"
last=$(tail -1 <<<"$speed")
[[ $last =~ ^speed:\ alg=ECDSAP256SHA256\ threads=1\ seconds=[0-9.]+\ signatures=([0-9]+)\ rate= ]] ||
	die "unexpected speed output: $speed"
((BASH_REMATCH[1] > 0)) || die "signer hsm speed made no signature: $last"
echo "ok: signer hsm speed signs with p11tool-key: $last"

# --- (d) delete, as pkcs11-tool sees it -------------------------------------
step "(d) signer hsm delete"
"$signer" hsm delete "${cfg[@]}" interop-zsk >/dev/null || die "signer hsm delete interop-zsk failed"
listing=$(p11list)
[[ -z $(p11_object "$listing" "Private Key Object" interop-zsk) &&
	-z $(p11_object "$listing" "Public Key Object" interop-zsk) ]] ||
	die "pkcs11-tool still lists interop-zsk after signer hsm delete"
[[ -n $(p11_object "$listing" "Private Key Object" interop-ksk) ]] ||
	die "signer hsm delete interop-zsk removed interop-ksk too"
echo "ok: signer hsm delete removed interop-zsk (both halves) and nothing else"

echo "interop-pkcs11: all checks passed"
