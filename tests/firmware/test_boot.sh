#!/usr/bin/env bash
# `snpsim boot` refuses what it cannot launch, exit 2, with a message that says why: an image
# without SNP metadata (Debian 12's OVMF has none; here: the reference with its SEV metadata
# GUID changed), a truncated image, a zero-filled one, a metadata table pointing outside the
# image, bad options. The variants are made from the reference image at test time.
#   test_boot.sh SNPSIM REFERENCE_IMAGE...
set -euo pipefail
snpsim=$1
shift
ref=${SNPSIM_OVMF:-}
for c in "$@"; do
	if [ -z "$ref" ] && [ -f "$c" ]; then ref=$c; fi
done
[ -n "$ref" ] || { echo "no reference image among: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # NAME RC STDERR_FRAGMENT -- snpsim arguments...
	local name=$1 want=$2 frag=$3 rc=0
	shift 4
	"$snpsim" boot "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" != "$want" ] || ! grep -qF -- "$frag" "$tmp/err" "$tmp/out"; then
		echo "FAIL $name: exit $rc (want $want), no \"$frag\" in the output" >&2
		sed 's/^/  /' "$tmp/err" "$tmp/out" | head -20 >&2
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}
size=$(stat -c %s "$ref")
head -c $((size - 4096)) "$ref" >"$tmp/truncated.fd"
head -c $((size - 100)) "$ref" >"$tmp/short.fd"
truncate -s "$size" "$tmp/zero.fd"
# byte surgery at the offsets the GUID table gives (facts §10.2)
python3 - "$ref" "$tmp" <<'PY'
import struct, sys, uuid
ref, tmp = sys.argv[1], sys.argv[2]
d = bytearray(open(ref, 'rb').read())
n = len(d)
meta = uuid.UUID('dc886566-984a-4798-a75e-5585a7bf67cc').bytes_le
ptr, rem = n - 0x32, struct.unpack_from('<H', d, n - 0x32)[0] - 18
while rem >= 18:
    ln = struct.unpack_from('<H', d, ptr - 18)[0]
    if bytes(d[ptr - 16:ptr]) == meta:
        guid_at, data_at = ptr - 16, ptr - ln
    ptr, rem = ptr - ln, rem - ln
nosnp = bytearray(d); nosnp[guid_at] ^= 1
open(tmp + '/nosnp.fd', 'wb').write(nosnp)
outside = bytearray(d); struct.pack_into('<I', outside, data_at, n + 0x1000)
open(tmp + '/outside.fd', 'wb').write(outside)
badlen = bytearray(d); struct.pack_into('<H', badlen, n - 0x32, 3)
open(tmp + '/badtable.fd', 'wb').write(badlen)
PY

expect "an image without SNP metadata" 2 "no SEV-SNP support" -- "$tmp/nosnp.fd"
expect "a truncated image (page boundary)" 2 "no OVMF GUID table" -- "$tmp/truncated.fd"
expect "a truncated image (odd size)" 2 "not a non-zero multiple of 4 KiB" -- "$tmp/short.fd"
expect "a zero-filled image" 2 "footer GUID 96b582de" -- "$tmp/zero.fd"
expect "metadata outside the image" 2 "points outside the image" -- "$tmp/outside.fd"
expect "a corrupt GUID table" 2 "corrupt OVMF GUID table" -- "$tmp/badtable.fd"
expect "a missing file" 2 "No such file" -- "$tmp/none.fd"
expect "the refusal names the file" 2 "$tmp/nosnp.fd:" -- "$tmp/nosnp.fd"
expect "--mem not a size" 2 "--mem" -- --mem lots "$ref"
expect "--mem too small for the metadata" 2 "multiple of 2 MiB" -- --mem 3M "$ref"
expect "--until unknown" 2 "--until" -- --until forever "$ref"
expect "--until insns:0" 2 "--until" -- --until insns:0 "$ref"
expect "no firmware argument" 2 "expected one FIRMWARE" --
expect "--vars of odd size" 2 "multiple of 4 KiB" -- --vars "$tmp/short.fd" "$ref"
# --plan: the launch plan of the reference image, no engine needed
expect "--plan lists the sections" 0 "cpuid         [0x0080e000, 0x0080f000)" -- --plan "$ref"
expect "--plan counts the pages" 0 "923 pages in all" -- --plan "$ref"
exit $((fails > 0))
