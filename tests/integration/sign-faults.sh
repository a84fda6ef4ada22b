#!/usr/bin/env bash
# `signer sign` through a failing token (issue 3, section 5, "Faults"): a
# generated TLD-like zone of 10,000 delegations (tests/bench/gen-tld-zone: 2 NS
# each, 30% with DS, 10% with glue) is signed through libp11fault.so in front
# of SoftHSM with every 100th C_Sign failing (CKR_DEVICE_ERROR), with 2
# threads, in NSEC and in NSEC3 opt-out mode. The result must verify
# completely:
#  - ldns-verify-zone (anchored at the printed DS) and dnssec-verify accept it;
#  - coverage, counted here independently: every authoritative RRset has
#    exactly one RRSIG (the ZSK's; DNSKEY: at least one), delegation NS and
#    glue have none.
# Control: with every C_Sign failing (and a retry budget of 2 s, set in a
# signer.yaml given with -c), signer must give up within 120 s with an error
# that names CKR_DEVICE_ERROR, and write nothing.
#
#   sign-faults.sh SIGNER_BINARY [TESTDATA_DIR]
#
# Environment: SIGNER_TEST_FAULT_N (delegations, default 10000).
set -Eeuo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init sign-faults "$@"
lib_require ldns-verify-zone ldns-read-zone dnssec-verify

n=${SIGNER_TEST_FAULT_N:-10000}
origin=tld.
fault=$(lib_p11fault)
gen=$LIB_DIR/../bench/gen-tld-zone
[[ -x $gen ]] || die "zone generator $gen is missing"

step "token, keys (through SoftHSM directly) and a zone of $n delegations"
lib_token faults
ksk=$(lib_keygen ECDSAP256SHA256 faults-ksk)
zsk=$(lib_keygen ECDSAP256SHA256 faults-zsk)
"$gen" "$n" "$origin" >"$tmp/tld.zone" || die "$gen $n $origin failed"
ok "$(grep -vc -e '^;' -e '^\$' "$tmp/tld.zone") records in $tmp/tld.zone"
# From here on every signer command goes through the fault module.
# shellcheck disable=SC2034 # used by lib_sign
token_args=(--module "$fault" --token "pkcs11:token=$token" --pin-file "$pin_file")
export P11FAULT_MODULE=$softhsm

# coverage SIGNED: checks the RRSIGs of the normalized zone (see above);
# prints "RRSETS SIGNATURES" on success, the problems on stderr otherwise.
coverage() {
	lib_normalize "$1" | awk -v apex="$origin" '
		function parent_cut(name,   n, i, s) {
			# the nearest delegation strictly above name, or ""
			n = split(name, l, ".")
			for (i = 2; i < n; i++) {
				s = ""
				for (j = i; j < n; j++) s = s l[j] "."
				if (s == apex) return ""
				if (s in cut) return s
			}
			return ""
		}
		$1 ~ /^;/ || NF < 4 { next }
		$4 == "RRSIG" { signed[$1 " " $5]++; next }
		{
			rrset[$1 " " $4] = 1
			if ($4 == "NS" && $1 != apex) cut[$1] = 1
		}
		END {
			bad = 0
			for (k in rrset) {
				split(k, f, " ")
				owner = f[1]; type = f[2]
				auth = 1
				if (parent_cut(owner) != "") auth = 0          # glue, occluded
				if (owner in cut && type != "DS" && type != "NSEC") auth = 0
				want = auth ? 1 : 0
				got = (k in signed) ? signed[k] : 0
				if (type == "DNSKEY" && got >= 1) got = 1      # KSK (and maybe ZSK)
				if (got != want) {
					printf "%s: %d RRSIG(s), expected %d\n", k, got, want > "/dev/stderr"
					if (++bad > 20) exit 1
				}
				if (auth) { rrsets++; sigs += got }
			}
			for (k in signed) if (!(k in rrset)) {
				printf "%s: RRSIG over an RRset that is not in the zone\n", k > "/dev/stderr"
				bad++
			}
			if (bad) exit 1
			print rrsets, sigs
		}'
}

# sign_and_check NAME ARGS...: signs through the fault module with 1 C_Sign in
# 100 failing, then verifies.
sign_and_check() {
	local name=$1 t0 secs
	shift
	local pfx=$tmp/$name
	t0=$SECONDS
	P11FAULT_SIGN_FAIL_EVERY=100 lib_sign "$pfx" --zone "$origin" --in "$tmp/tld.zone" \
		--out "$pfx.signed" --ksk "$ksk" --zsk "$zsk" --threads 2 "$@"
	secs=$((SECONDS - t0))
	((sign_rc == 0)) ||
		die "$name: signer sign with 1 C_Sign in 100 failing exited $sign_rc after $secs s:$(lib_indent <"$pfx.err")"
	ok "$name: signed in $secs s; signer says: $(tail -1 "$pfx.err")"
	# If signer counts the token's retries (as `signer hsm speed` does), they
	# must show the faults.
	local counted
	counted=$(lib_grep -Eo '(retries|reopens|relogins|reconnects)[=: ]+[0-9]+' "$pfx.err" |
		awk -F'[=: ]+' '{ n += $NF } END { if (NR) print n }')
	if [[ -z $counted ]]; then
		note "$name: signer's output does not count the token's retries; cannot show here that faults fired"
	elif ((counted == 0)); then
		die "$name: signer counts no retry although 1 C_Sign in 100 failed:$(lib_indent <"$pfx.err")"
	else
		ok "$name: $counted retries/reopens counted by signer"
	fi
	lib_check_ds "$pfx.ds" "$origin" >/dev/null

	ldns-verify-zone -k "$pfx.ds.1" "$pfx.signed" >"$tmp/verify.log" 2>&1 ||
		die "$name: ldns-verify-zone:$(lib_indent <"$tmp/verify.log")"
	ok "$name: ldns-verify-zone accepts the zone (anchored at $(cut -d' ' -f5-7 "$pfx.ds.1") ...)"
	dnssec-verify -o "$origin" "$pfx.signed" >"$tmp/verify.log" 2>&1 ||
		die "$name: dnssec-verify:$(lib_indent <"$tmp/verify.log")"
	ok "$name: dnssec-verify accepts the zone"
	local counts
	counts=$(coverage "$pfx.signed" 2>"$tmp/coverage.err") ||
		die "$name: coverage:$(lib_indent <"$tmp/coverage.err")"
	read -r rrsets _ <<<"$counts"
	# Authoritative RRsets: apex SOA NS A MX TXT DNSKEY, a.nic A AAAA, b.nic A
	# AAAA, mail.nic A (11), one DS per secure delegation, and the chain: NSEC
	# at the apex, a.nic, b.nic, mail.nic and every delegation; or NSEC3PARAM
	# and NSEC3 at the apex, nic (an empty non-terminal), a.nic, b.nic,
	# mail.nic and (opt-out) every secure delegation.
	local ds want
	ds=$(awk '$3 == "DS"' "$tmp/tld.zone" | wc -l)
	if [[ $name == nsec ]]; then
		want=$((11 + ds + 4 + n))
	else
		want=$((11 + ds + 1 + 5 + ds))
	fi
	((rrsets == want)) || die "$name: $rrsets authoritative RRsets signed, expected $want"
	ok "$name: coverage: $rrsets authoritative RRsets (of which $ds DS) with one RRSIG each, none on delegation NS or glue"
}

step "NSEC, 1 C_Sign in 100 fails"
sign_and_check nsec
step "NSEC3 opt-out, 1 C_Sign in 100 fails"
sign_and_check nsec3-optout --nsec3 --opt-out

step "control: every C_Sign fails (retry_budget 2 s in signer.yaml)"
# Through -c signer.yaml, with a short retry budget, so that a signer that
# gives up on the first job that exhausts its budget does so in seconds.
printf 'tokens:\n  - name: faults\n    module: %s\n    uri: "pkcs11:token=%s"\n    pin_file: %s\n    retry_budget: 2\n' \
	"$fault" "$token" "$pin_file" >"$tmp/signer.yaml"
token_args=(-c "$tmp/signer.yaml")
t0=$SECONDS
P11FAULT_SIGN_FAIL_EVERY=1 sign_timeout=120 lib_sign "$tmp/allfail" --zone "$origin" \
	--in "$tmp/tld.zone" --out "$tmp/allfail.signed" --ksk "$ksk" --zsk "$zsk" --threads 2
((sign_rc != 0)) || die "signer sign succeeded although every C_Sign failed: the fault module is not in the path"
((sign_rc != 124)) ||
	die "signer sign did not give up within 120 s when every C_Sign fails (retry budget 2 s):$(lib_indent <"$tmp/allfail.err")"
((sign_rc < 128)) || die "signer sign crashed (exit status $sign_rc) when every C_Sign fails"
[[ ! -e $tmp/allfail.signed ]] || die "signer sign wrote --out although signing failed"
grep -q CKR_DEVICE_ERROR "$tmp/allfail.err" ||
	die "the error does not name the token's answer CKR_DEVICE_ERROR:$(lib_indent <"$tmp/allfail.err")"
ok "gave up after $((SECONDS - t0)) s with exit $sign_rc, nothing written: $(grep -m1 CKR_DEVICE_ERROR "$tmp/allfail.err")"

echo "sign-faults: all checks passed"
