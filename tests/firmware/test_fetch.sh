#!/usr/bin/env bash
# Which firmware `./dev.sh firmware` picks, without the network: $SNPSIM_OVMF as given; a
# verified cache; a cache whose image fails its sha256 (refetched, and when the fetch fails,
# the shared copy); a package that fails its sha256; nothing usable (exit 2).
# The download URL points at local files (file://), so no case reaches deb.debian.org.
#   test_fetch.sh SOURCE_ROOT REFERENCE_IMAGE...
set -euo pipefail
root=$1
shift
ref=
for c in "$@" "${SNPSIM_OVMF:-}"; do
	if [ -n "$c" ] && [ -f "$c" ]; then ref=$c; fi
done
[ -n "$ref" ] || { echo "no reference image among: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # NAME RC STDOUT STDERR_FRAGMENT (empty: silent) -- env assignments...
	local name=$1 want_rc=$2 want_out=$3 frag=$4 out rc
	shift 5
	rc=0
	out=$(env -u SNPSIM_OVMF "$@" "$root/dev.sh" firmware 2>"$tmp/err") || rc=$?
	# no fragment: nothing may be logged (a cache hit does not even mention fetching)
	if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ] ||
		{ [ -n "$frag" ] && ! grep -qF -- "$frag" "$tmp/err"; } ||
		{ [ -z "$frag" ] && [ -s "$tmp/err" ]; }; then
		echo "FAIL $name: rc=$rc (want $want_rc) out='$out' (want '$want_out')" >&2
		sed 's/^/  stderr: /' "$tmp/err" >&2
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}
offline=file://$tmp/no-such.deb
mkdir -p "$tmp/shared" "$tmp/cache-good" "$tmp/cache-bad" "$tmp/empty"
cp "$ref" "$tmp/shared/OVMF_CODE_4M.fd"
cp "$ref" "$tmp/cache-good/OVMF_CODE_4M.fd"
printf 'not firmware' >"$tmp/cache-bad/OVMF_CODE_4M.fd"
printf 'not a package' >"$tmp/fake.deb"

check "SNPSIM_OVMF is used as given" 0 "$tmp/shared/OVMF_CODE_4M.fd" "" -- \
	SNPSIM_OVMF="$tmp/shared/OVMF_CODE_4M.fd" SNPSIM_OVMF_URL="$offline"
check "SNPSIM_OVMF that is not the reference: used, with a note" 0 "$tmp/fake.deb" \
	"not the reference image" -- SNPSIM_OVMF="$tmp/fake.deb" SNPSIM_OVMF_URL="$offline"
check "SNPSIM_OVMF missing: exit 2" 2 "" "no such file" -- \
	SNPSIM_OVMF="$tmp/none.fd" SNPSIM_OVMF_URL="$offline"
check "a verified cache is used without fetching" 0 "$tmp/cache-good/OVMF_CODE_4M.fd" "" -- \
	SNPSIM_FW_CACHE="$tmp/cache-good" SNPSIM_FW_SHARED="$tmp/empty" SNPSIM_OVMF_URL="$offline"
check "a bad cache is refetched; offline, the shared copy is used" 0 \
	"$tmp/shared/OVMF_CODE_4M.fd" "offline: using" -- \
	SNPSIM_FW_CACHE="$tmp/cache-bad" SNPSIM_FW_SHARED="$tmp/shared" SNPSIM_OVMF_URL="$offline"
[ ! -e "$tmp/cache-bad/OVMF_CODE_4M.fd" ] || { echo "FAIL bad cache file kept" >&2; fails=$((fails + 1)); }
check "a package failing its sha256 is not unpacked" 0 "$tmp/shared/OVMF_CODE_4M.fd" \
	"sha256 mismatch, not the recorded package" -- SNPSIM_FW_CACHE="$tmp/cache-new" \
	SNPSIM_FW_SHARED="$tmp/shared" SNPSIM_OVMF_URL="file://$tmp/fake.deb"
[ ! -e "$tmp/cache-new/OVMF_CODE_4M.fd" ] || { echo "FAIL fake package cached" >&2; fails=$((fails + 1)); }
check "offline with no verified copy anywhere: exit 2" 2 "" "no reference OVMF" -- \
	SNPSIM_FW_CACHE="$tmp/cache-none" SNPSIM_FW_SHARED="$tmp/empty" SNPSIM_OVMF_URL="$offline"
# the shared copy is verified too: a wrong file there is not used
printf 'x' >"$tmp/empty/OVMF_CODE_4M.fd"
check "a shared copy failing its sha256 is not used" 2 "" "no reference OVMF" -- \
	SNPSIM_FW_CACHE="$tmp/cache-none" SNPSIM_FW_SHARED="$tmp/empty" SNPSIM_OVMF_URL="$offline"
exit $((fails > 0))
