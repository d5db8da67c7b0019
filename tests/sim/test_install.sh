#!/usr/bin/env bash
# The examples/ foreign guest builds against the *installed* libsnpsim, found
# through pkg-config, and runs. Installs into a scratch DESTDIR, never the system.
set -euo pipefail
src=$1 build=$2 sanitize=${3:-none}
sanflags=
[ "$sanitize" = none ] || sanflags="-fsanitize=$sanitize"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --no-rebuild >/dev/null
pc=$(find "$tmp/root" -name snpsim.pc -print -quit)
[ -n "$pc" ] || { echo "snpsim.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs snpsim)
cc -std=c11 -Wall -Wextra -Werror $sanflags "$src/examples/tiny_guest.c" $flags -o "$tmp/tiny_guest"
# pkg-config versions differ on whether --variable applies the sysroot: ask the file system
libdir=$(dirname "$(find "$tmp/root" -name libsnpsim.so.0 -print -quit)")
LD_LIBRARY_PATH="$libdir" "$tmp/tiny_guest"
# and the checker sees a foreign guest's double validation
if LD_LIBRARY_PATH="$libdir" "$tmp/tiny_guest" --double; then
	echo "the double validation went unnoticed" >&2
	exit 1
fi
