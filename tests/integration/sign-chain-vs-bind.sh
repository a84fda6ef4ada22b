#!/usr/bin/env bash
# Our NSEC and NSEC3 chains against BIND's (issue 3, section 5): every zone of
# testdata/zones/ and the RFC 4035 appendix A zone is signed by `signer sign`
# and by BIND 9.18 dnssec-signzone (software keys from dnssec-keygen) with the
# same chain parameters:
#   nsec          NSEC
#   nsec3         NSEC3, signer's defaults (RFC 9276: 0 iterations, no salt)
#                 against dnssec-signzone -3 - -H 0
#   nsec3-salt    --nsec3 --iterations 5 --salt 5EED  /  -3 5EED -H 5
#   nsec3-optout  the same with --opt-out             /  ... -A
# Compared, after normalizing both with ldns-read-zone -c: NSEC owner, next
# name and type bitmap; NSEC3 hashed owner, hash algorithm, flags, iterations,
# salt, next hash and type bitmap; NSEC3PARAM (flags must be 0). Where BIND
# cannot sign a zone the reference is ldns-signzone (said so in the output).
# Also: our NSEC/NSEC3 TTL is min(SOA TTL, SOA MINIMUM) (RFC 9077); and the
# extended RFC 4035 zones (wildcard CNAMEs, a \000 label delegation) whose
# BIND-signed copies are in testdata/vectors/rfc4035-appendix-a/ give those
# copies' NSEC and NSEC3 (1 0 10 DEADBEEF) chains.
#
# BIND gets the zone as signer sees it: expanded with named-compilezone (or
# ldns-read-zone), without the DNSSEC records signer drops from its input
# (DNSKEY RRSIG NSEC NSEC3 NSEC3PARAM CDS CDNSKEY, DS at the apex).
#
#   sign-chain-vs-bind.sh SIGNER_BINARY [TESTDATA_DIR]
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-chain-vs-bind "$@"
lib_require dnssec-signzone dnssec-keygen named-compilezone ldns-signzone ldns-keygen \
	ldns-read-zone diff

modes=(nsec nsec3 nsec3-salt nsec3-optout)
declare -A our_args=(
	[nsec]=""
	[nsec3]="--nsec3"
	[nsec3-salt]="--nsec3 --iterations 5 --salt 5EED"
	[nsec3-optout]="--nsec3 --iterations 5 --salt 5EED --opt-out"
)
declare -A bind_args=(
	[nsec]=""
	[nsec3]="-3 - -H 0"
	[nsec3-salt]="-3 5EED -H 5"
	[nsec3-optout]="-3 5EED -H 5 -A"
)
declare -A ldns_args=(
	[nsec]=""
	[nsec3]="-n -t 0"
	[nsec3-salt]="-n -t 5 -s 5EED"
	[nsec3-optout]="-n -t 5 -s 5EED -p"
)

failures=0
fail() {
	echo "FAIL: $1: $2" >&2
	failures=$((failures + 1))
}

# chain FILE: the NSEC/NSEC3/NSEC3PARAM records of a signed zone, without TTL
# and class, sorted: "owner NSEC next types..." or "owner NSEC3 alg flags
# iterations salt next types...".
chain() {
	lib_normalize "$1" | awk '
		$4 == "NSEC" || $4 == "NSEC3" || $4 == "NSEC3PARAM" {
			s = $1 " " $4
			for (i = 5; i <= NF; i++) s = s " " $i
			print s
		}' | LC_ALL=C sort
}

# chain_ttl_problems FILE: NSEC/NSEC3 records whose TTL is not
# min(SOA TTL, SOA MINIMUM).
chain_ttl_problems() {
	lib_normalize "$1" | awk '
		$4 == "SOA" { want = ($2 < $11) ? $2 : $11 }
		$4 == "NSEC" || $4 == "NSEC3" { if ($2 != want) { print $1, $2, $4 " TTL, expected " want; if (++n > 5) exit } }'
}

# bind_input FILE ORIGIN OUT: the zone expanded ($INCLUDE, $GENERATE) by
# named-compilezone or, failing that, ldns-read-zone, minus the records
# signer drops. Prints the tool used.
bind_input() {
	local file=$1 origin=$2 out=$3 dir
	dir=$(dirname "$file")
	if (cd "$dir" && named-compilezone -q -i none -k ignore -s full -o "$out.full" "$origin" \
		"$file") >"$tmp/compile.log" 2>&1; then
		echo named-compilezone
	elif ldns-read-zone -c "$file" >"$out.full" 2>"$tmp/compile.log"; then
		echo ldns-read-zone
	else
		die "neither named-compilezone nor ldns-read-zone reads $file:$(lib_indent <"$tmp/compile.log")"
	fi
	awk -v apex="$origin" '
		$1 ~ /^;/ { next }
		$4 ~ /^(DNSKEY|RRSIG|NSEC|NSEC3|NSEC3PARAM|CDS|CDNSKEY)$/ { next }
		$4 == "DS" && tolower($1) == tolower(apex) { next }
		{ print }' "$out.full" >"$out"
}

# bind_keys ORIGIN: a KSK and a ZSK (ECDSAP256SHA256) for ORIGIN in
# $tmp/keys/ORIGIN, for dnssec-signzone -S; also usable by ldns-signzone.
bind_keys() {
	local dir=$tmp/keys/$1
	[[ -d $dir ]] && return 0
	mkdir -p "$dir"
	(cd "$dir" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK "$1" >/dev/null &&
		dnssec-keygen -q -a ECDSAP256SHA256 "$1" >/dev/null) ||
		die "dnssec-keygen for $1 failed"
}

# reference NAME INPUT ORIGIN MODE OUT: signs INPUT with BIND, else ldns.
# Prints the tool used; "" if both refuse (their errors in $tmp/ref.log).
reference() {
	local name=$1 input=$2 origin=$3 mode=$4 out=$5 keys
	bind_keys "$origin"
	keys=$tmp/keys/$origin
	# shellcheck disable=SC2086 # bind_args are words
	if dnssec-signzone -q -S -K "$keys" -o "$origin" -f "$out" ${bind_args[$mode]} "$input" \
		>"$tmp/ref.log" 2>&1; then
		echo dnssec-signzone
		return 0
	fi
	echo "dnssec-signzone: $(grep -v '^$' "$tmp/ref.log" | tail -1)" >"$tmp/bind-refused"
	local k=() f
	for f in "$keys"/K*.private; do
		k+=("${f%.private}")
	done
	# shellcheck disable=SC2086 # ldns_args are words
	if ldns-signzone -o "$origin" -f "$out" ${ldns_args[$mode]} "$input" "${k[@]}" \
		>>"$tmp/ref.log" 2>&1; then
		echo ldns-signzone
		return 0
	fi
	echo ""
}

step "token and key"
lib_token chain
csk=$(lib_keygen ECDSAP256SHA256 chain-csk)

# "PATH ORIGIN" per zone: testdata/zones/, the RFC 4035 zone, and the two
# extended RFC 4035 zones (wildcard CNAMEs, a \000 label delegation) whose
# BIND-signed copies are in testdata, with their DNSSEC records stripped.
mkdir "$tmp/work"
vec=$testdata/vectors/rfc4035-appendix-a
zones=()
while read -r file origin; do
	zones+=("$testdata/zones/$file $origin")
done < <(lib_zone_origins)
((${#zones[@]} > 0)) || die "no zones listed in $testdata/zones/README.md"
zones+=("$vec/example.unsigned.zone example.")
for v in nsec nsec3; do
	[[ -f $vec/example.bind-signed-$v.zone ]] || die "$vec/example.bind-signed-$v.zone is missing"
	# (ldns-read-zone -s keeps DNSKEY and NSEC3PARAM records)
	lib_normalize "$vec/example.bind-signed-$v.zone" |
		awk '$4 !~ /^(DNSKEY|RRSIG|NSEC|NSEC3|NSEC3PARAM)$/' >"$tmp/work/rfc4035-ext-$v.zone"
	grep -q SOA "$tmp/work/rfc4035-ext-$v.zone" ||
		die "ldns-read-zone cannot read $vec/example.bind-signed-$v.zone"
	zones+=("$tmp/work/rfc4035-ext-$v.zone example.")
done
step "${#zones[@]} zones x ${#modes[@]} modes: our chain against the reference"
compared=0 by_ldns=0 cases=0
for entry in "${zones[@]}"; do
	read -r src origin <<<"$entry"
	[[ -f $src ]] || die "$src is missing"
	file=$(basename "$src")
	base=$(basename "$file" .zone)
	input=$tmp/work/$base.input
	expander=$(bind_input "$src" "$origin" "$input")
	rm -f "$tmp/bind-refused"
	for mode in "${modes[@]}"; do
		cases=$((cases + 1))
		name="$base $mode"
		ours=$tmp/work/$base-$mode.ours
		theirs=$tmp/work/$base-$mode.ref
		# shellcheck disable=SC2086 # our_args are words
		lib_sign "$ours" --zone "$origin" --in "$src" --out "$ours.signed" --csk "$csk" \
			${our_args[$mode]}
		if ((sign_rc != 0)); then
			fail "$name" "signer sign exited $sign_rc:$(lib_indent <"$ours.err")"
			continue
		fi
		tool=$(reference "$name" "$input" "$origin" "$mode" "$theirs.signed")
		if [[ -z $tool ]]; then
			fail "$name" "neither dnssec-signzone nor ldns-signzone signs the zone:$(lib_indent <"$tmp/ref.log")"
			continue
		fi
		chain "$ours.signed" >"$ours.chain"
		chain "$theirs.signed" >"$theirs.chain"
		[[ -s $theirs.chain ]] || die "$name: no chain in $tool's output"
		if ! diff "$theirs.chain" "$ours.chain" >"$tmp/chain.diff"; then
			fail "$name" "our chain differs from $tool's (< $tool, > ours):$(lib_indent <"$tmp/chain.diff")"
			continue
		fi
		ttl=$(chain_ttl_problems "$ours.signed")
		if [[ -n $ttl ]]; then
			fail "$name" "NSEC/NSEC3 TTL is not min(SOA TTL, SOA MINIMUM) (RFC 9077):$(lib_indent <<<"$ttl")"
			continue
		fi
		compared=$((compared + 1))
		[[ $tool == dnssec-signzone ]] || by_ldns=$((by_ldns + 1))
		ok "$name: $(grep -c . "$ours.chain") chain records equal $tool's"
	done
	if [[ -f $tmp/bind-refused ]]; then
		note "$file: BIND refused it ($(cat "$tmp/bind-refused")); compared with ldns-signzone"
	fi
	[[ $expander == named-compilezone ]] ||
		note "$file: named-compilezone cannot read it; BIND's input expanded by $expander"
done

step "extended RFC 4035 zones: our chains against the BIND-signed copies in testdata"
# example.bind-signed-nsec.zone: BIND 9.9.5, NSEC; example.bind-signed-nsec3.zone:
# BIND 9.11.3, NSEC3 1 0 10 DEADBEEF. Their keys do not show in the chain.
for v in nsec nsec3; do
	args=()
	[[ $v == nsec ]] || args=(--nsec3 --iterations 10 --salt DEADBEEF)
	ours=$tmp/work/rfc4035-ext-$v-vector
	lib_sign "$ours" --zone example. --in "$tmp/work/rfc4035-ext-$v.zone" --out "$ours.signed" \
		--csk "$csk" "${args[@]}"
	if ((sign_rc != 0)); then
		fail "rfc4035-ext-$v vector" "signer sign exited $sign_rc:$(lib_indent <"$ours.err")"
	elif diff <(chain "$vec/example.bind-signed-$v.zone") <(chain "$ours.signed") >"$tmp/chain.diff"; then
		ok "rfc4035-ext-$v: $(chain "$ours.signed" | grep -c .) chain records equal example.bind-signed-$v.zone's"
	else
		fail "rfc4035-ext-$v vector" "our chain differs from example.bind-signed-$v.zone's (< testdata, > ours):$(lib_indent <"$tmp/chain.diff")"
	fi
done

# A negative control: a chain with one type taken out of a bitmap must differ.
some=$(find "$tmp/work" -name '*-nsec.ref.chain' | head -1)
if [[ -n $some ]]; then
	! diff -q "$some" <(sed '1s/ RRSIG / /' "$some") >/dev/null ||
		die "the chain comparison does not see a changed bitmap"
fi

echo "sign-chain-vs-bind: $compared of $cases chains equal the reference ($by_ldns against ldns-signzone), $failures failure(s)"
((failures == 0)) || die "$failures chain(s) differ, listed above"
echo "sign-chain-vs-bind: all checks passed"
