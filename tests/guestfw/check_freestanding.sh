#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check_freestanding.sh [--expect-failure symbols|includes] LIB DIR...
#
# The build check of guestfw issue "must show 2": guestfw compiles as
# freestanding code with no GLib and no libc.
#
#   symbols   LIB (the freestanding static library, gfw_ff_lib) has no
#             undefined symbol but the arch port's gfw_port_* functions: no
#             memcpy/memset, no sanitizer or stack-protector runtime, nothing.
#   includes  every .c and .h file in the DIRs (guestfw/ and the SNP ABI
#             headers it uses) includes no header but stdint.h, stdbool.h,
#             stddef.h, stdarg.h, limits.h and quoted headers that are
#             themselves in the DIRs (and so checked too); no GLib, no
#             computed #include.
#
# Exit 0 when both hold, 1 when one does not (each offender is printed), 2 on
# a usage or tool error. With --expect-failure CHECK: exit 0 only if CHECK
# fails and the other holds (how the Meson tests show the check can fail).
set -u

NM=${NM:-nm}
expect=
if [ "${1:-}" = "--expect-failure" ]; then
	expect=${2:-}
	shift 2 || exit 2
	case $expect in symbols | includes) ;; *) echo "bad --expect-failure: $expect" >&2; exit 2 ;; esac
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 [--expect-failure symbols|includes] LIB DIR..." >&2
	exit 2
fi
lib=$1
shift
[ -f "$lib" ] || { echo "no library $lib" >&2; exit 2; }
command -v "$NM" >/dev/null 2>&1 || { echo "no $NM" >&2; exit 2; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- symbols
"$NM" -u "$lib" >"$tmp/u.raw" 2>"$tmp/nm.err" || { cat "$tmp/nm.err" >&2; exit 2; }
"$NM" --defined-only "$lib" >"$tmp/d.raw" 2>"$tmp/nm.err" || { cat "$tmp/nm.err" >&2; exit 2; }
awk '$1 == "U" { print $2 }' "$tmp/u.raw" | sort -u >"$tmp/u"
awk 'NF == 3 { print $3 }' "$tmp/d.raw" | sort -u >"$tmp/d"
# undefined in some object and defined in none: what the library needs from outside
comm -23 "$tmp/u" "$tmp/d" >"$tmp/ext"
sym_ok=1
# a parse that found nothing would pass anything: the port must show up
if ! grep -qx 'gfw_port_vmgexit' "$tmp/ext"; then
	echo "symbols: gfw_port_vmgexit is not among the undefined symbols of $lib (nm output not understood?)"
	sym_ok=0
fi
if grep -v '^gfw_port_' "$tmp/ext" >"$tmp/bad"; then
	sym_ok=0
	while read -r s; do
		echo "symbols: $lib needs $s (only gfw_port_* may be undefined)"
	done <"$tmp/bad"
fi
[ $sym_ok = 1 ] && echo "symbols: ok, $(wc -l <"$tmp/ext") undefined, all gfw_port_*"

# ---------------------------------------------------------------- includes
inc_ok=1
nfiles=0
for d in "$@"; do
	[ -d "$d" ] || { echo "no directory $d" >&2; exit 2; }
	for f in "$d"/*.c "$d"/*.h; do
		[ -f "$f" ] && echo "$f"
	done
done >"$tmp/files"
while read -r f; do
	nfiles=$((nfiles + 1))
	# every #include line, continuation-free: the directive and its operand
	grep -n '^[[:space:]]*#[[:space:]]*include' "$f" >"$tmp/inc" || true
	while IFS= read -r line; do
		n=${line%%:*}
		text=${line#*:}
		op=$(printf '%s\n' "$text" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p')
		case $op in
		'<stdint.h>' | '<stdbool.h>' | '<stddef.h>' | '<stdarg.h>' | '<limits.h>') ;;
		\"*\")
			name=${op#\"}
			name=${name%\"}
			base=${name##*/}
			case $name in *glib* | *gio* | *gobject*)
				echo "includes: $f:$n includes $op (GLib)"; inc_ok=0; continue ;;
			esac
			if ! grep -q "/$base\$" "$tmp/files"; then
				echo "includes: $f:$n includes $op, which is not one of the checked files"
				inc_ok=0
			fi
			;;
		'')
			echo "includes: $f:$n: computed or malformed #include: $text"
			inc_ok=0
			;;
		*)
			echo "includes: $f:$n includes $op (libc or system header)"
			inc_ok=0
			;;
		esac
	done <"$tmp/inc"
done <"$tmp/files"
if [ "$nfiles" -eq 0 ]; then
	echo "includes: no .c or .h files in $*" >&2
	exit 2
fi
[ $inc_ok = 1 ] && echo "includes: ok, $nfiles files"

# ---------------------------------------------------------------- verdict
case $expect in
'') [ $sym_ok = 1 ] && [ $inc_ok = 1 ] && exit 0; exit 1 ;;
symbols) [ $sym_ok = 0 ] && [ $inc_ok = 1 ] && { echo "expected failure (symbols): seen"; exit 0; } ;;
includes) [ $inc_ok = 0 ] && [ $sym_ok = 1 ] && { echo "expected failure (includes): seen"; exit 0; } ;;
esac
echo "expected exactly the $expect check to fail"
exit 1
