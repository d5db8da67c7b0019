#!/bin/sh
# SPDX-License-Identifier: MIT
#
# hv_model is a pure model (issue 3, must-show 3; style.md "pure state
# machines, thin shells"): no files, no printing, no exit or abort, no clocks,
# no global random state, and no json-c (parsing is sim's). This checks what
# the compiler actually emitted, not what the sources claim:
#
#   check_no_io.sh LIB SRCDIR   LIB: the hv_model static library; SRCDIR: hv_model/
#   check_no_io.sh --self-test SRCDIR
#
# 1. `nm -u LIB`: no undefined symbol may be one of FORBIDDEN (libc I/O, process
#    exit, clocks, GLib's printing/logging/assertion/file helpers, any json_*).
#    An assert or g_assert that hostile guest input could reach would abort the
#    machine, so their handlers are forbidden too.
# 2. No source or header in SRCDIR includes an I/O or json-c header, and
#    SRCDIR/meson.build does not mention json.
#
# --self-test proves the check can fail: it builds a library that calls printf,
# fopen and json_tokener_parse, and a source tree that includes <stdio.h>, and
# requires both to be rejected, and a clean library to pass.
set -eu

FORBIDDEN='^(printf|fprintf|vprintf|vfprintf|dprintf|vdprintf|puts|fputs|putchar|fputc|putc'
FORBIDDEN="$FORBIDDEN|fwrite|fread|fopen|fopen64|fdopen|freopen|freopen64|fclose|fflush|fgets"
FORBIDDEN="$FORBIDDEN|fgetc|getc|getchar|scanf|fscanf|perror|setvbuf|stdin|stdout|stderr"
FORBIDDEN="$FORBIDDEN|__printf_chk|__fprintf_chk|__vprintf_chk|__vfprintf_chk|__dprintf_chk"
FORBIDDEN="$FORBIDDEN|__fread_chk|__read_chk|__open_2|__open64_2|__openat_2"
FORBIDDEN="$FORBIDDEN|open|open64|openat|openat64|creat|creat64|read|write|pread|pread64"
FORBIDDEN="$FORBIDDEN|pwrite|pwrite64|readv|writev|close|lseek|lseek64|unlink|mkdir|ioctl"
FORBIDDEN="$FORBIDDEN|socket|connect|send|recv|syslog|system|popen|fork|execve|execvp"
FORBIDDEN="$FORBIDDEN|exit|_exit|_Exit|quick_exit|abort|atexit|__assert_fail"
FORBIDDEN="$FORBIDDEN|time|clock|clock_gettime|gettimeofday|rand|srand|random|srandom|getenv"
FORBIDDEN="$FORBIDDEN|g_print|g_printerr|g_fprintf|g_printf|g_log|g_logv|g_log_structured"
FORBIDDEN="$FORBIDDEN|g_log_structured_standard|g_warning|g_error|g_critical|g_message"
FORBIDDEN="$FORBIDDEN|g_assertion_message|g_assertion_message_expr|g_assertion_message_cmpnum"
FORBIDDEN="$FORBIDDEN|g_assertion_message_cmpstr|g_assertion_message_error|g_return_if_fail_warning"
FORBIDDEN="$FORBIDDEN|g_on_error_query|g_abort|g_get_monotonic_time|g_get_real_time"
FORBIDDEN="$FORBIDDEN|g_random_int|g_random_int_range|g_random_double|g_random_set_seed"
FORBIDDEN="$FORBIDDEN|g_fopen|g_open|g_creat|g_file_get_contents|g_file_set_contents|g_spawn_.*"
FORBIDDEN="$FORBIDDEN|g_getenv|g_setenv|json_.*)$"

# headers a pure model has no business including
BAD_INCLUDE='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](stdio\.h|unistd\.h|fcntl\.h|time\.h|sys/[^>"]*|json-c/[^>"]*|json\.h|json_[^>"]*|glib/gstdio\.h|gio/[^>"]*|syslog\.h)[>"]'

fail=0

check_lib() {
	lib=$1
	if [ ! -f "$lib" ]; then
		echo "check_no_io: no library at $lib" >&2
		return 2
	fi
	syms=$(nm -u "$lib" | awk '$1 == "U" { print $2 }' | sed 's/@.*//' | sort -u)
	if [ -z "$syms" ]; then
		# an empty list means nm saw nothing: a broken check, not a clean library
		echo "check_no_io: nm -u found no undefined symbols in $lib" >&2
		return 2
	fi
	bad=$(printf '%s\n' "$syms" | grep -E "$FORBIDDEN" || true)
	if [ -n "$bad" ]; then
		echo "check_no_io: $lib uses forbidden symbols:" >&2
		printf '  %s\n' $bad >&2
		# name the objects that use them, to find the culprit
		for s in $bad; do
			nm -A -u "$lib" 2>/dev/null | awk -v s="$s" '$NF == s || $NF ~ "^"s"@" { print "    " $1 }' >&2
		done
		return 1
	fi
	return 0
}

check_src() {
	dir=$1
	if [ ! -d "$dir" ]; then
		echo "check_no_io: no source directory $dir" >&2
		return 2
	fi
	found=0
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		found=1
		if grep -nE "$BAD_INCLUDE" "$f" >/dev/null; then
			echo "check_no_io: $f includes an I/O or json-c header:" >&2
			grep -nE "$BAD_INCLUDE" "$f" >&2
			return 1
		fi
	done
	if [ $found -eq 0 ]; then
		echo "check_no_io: no sources in $dir" >&2
		return 2
	fi
	if [ -f "$dir/meson.build" ] && grep -nqi 'json' "$dir/meson.build"; then
		echo "check_no_io: $dir/meson.build mentions json:" >&2
		grep -ni 'json' "$dir/meson.build" >&2
		return 1
	fi
	return 0
}

self_test() {
	src=$1
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cc=${CC:-cc}

	# a library doing I/O and calling json-c must be rejected
	cat >"$tmp/bad.c" <<'EOF'
#include <stdio.h>
struct json_object;
struct json_object *json_tokener_parse(const char *s);
int bad(const char *p);
int bad(const char *p)
{
	FILE *f = fopen(p, "r");
	printf("%p\n", (void *)f);
	return json_tokener_parse(p) != 0;
}
EOF
	# and each of the forbidden families alone, so no alternative of the pattern is dead
	for fn in exit abort write g_printerr json_object_put __assert_fail time; do
		cat >"$tmp/one_$fn.c" <<EOF
void $fn(int);
void use_$fn(void);
void use_$fn(void) { $fn(1); }
EOF
	done
	cat >"$tmp/good.c" <<'EOF'
#include <string.h>
void good(char *d, const char *s);
void good(char *d, const char *s) { memcpy(d, s, 8); }
EOF
	"$cc" -c -O0 -w -fno-builtin -o "$tmp/bad.o" "$tmp/bad.c"
	"$cc" -c -O0 -fno-builtin -o "$tmp/good.o" "$tmp/good.c"
	ar rcs "$tmp/libbad.a" "$tmp/bad.o" "$tmp/good.o"
	ar rcs "$tmp/libgood.a" "$tmp/good.o"
	rc=0
	check_lib "$tmp/libbad.a" 2>/dev/null || rc=$?
	if [ $rc -ne 1 ]; then
		echo "self-test: a library calling printf/fopen/json_tokener_parse was not rejected" >&2
		return 1
	fi
	for fn in exit abort write g_printerr json_object_put __assert_fail time; do
		"$cc" -c -O0 -w -fno-builtin -o "$tmp/one_$fn.o" "$tmp/one_$fn.c"
		rm -f "$tmp/libone.a"
		ar rcs "$tmp/libone.a" "$tmp/one_$fn.o" "$tmp/good.o"
		rc=0
		check_lib "$tmp/libone.a" 2>/dev/null || rc=$?
		if [ $rc -ne 1 ]; then
			echo "self-test: a library calling $fn was not rejected" >&2
			return 1
		fi
	done
	if ! check_lib "$tmp/libgood.a"; then
		echo "self-test: a library using only memcpy was rejected" >&2
		return 1
	fi

	# sources including <stdio.h> or json-c must be rejected; a copy of the real tree passes
	for inc in '<stdio.h>' '<json-c/json.h>' '"json.h"' '<unistd.h>' '<sys/mman.h>'; do
		rm -rf "$tmp/src"
		mkdir "$tmp/src"
		cp "$src"/*.c "$src"/*.h "$tmp/src/"
		first=$(ls "$tmp/src"/*.c | head -n 1)
		printf '#include %s\n' "$inc" | cat - "$first" >"$tmp/x" && mv "$tmp/x" "$first"
		rc=0
		check_src "$tmp/src" 2>/dev/null || rc=$?
		if [ $rc -ne 1 ]; then
			echo "self-test: a source including $inc was not rejected" >&2
			return 1
		fi
	done
	rm -rf "$tmp/src"
	mkdir "$tmp/src"
	cp "$src"/*.c "$src"/*.h "$tmp/src/"
	printf "hv_lib = static_library('x', dependencies : [jsonc_dep])\n" >"$tmp/src/meson.build"
	rc=0
	check_src "$tmp/src" 2>/dev/null || rc=$?
	if [ $rc -ne 1 ]; then
		echo "self-test: a meson.build using jsonc_dep was not rejected" >&2
		return 1
	fi
	rm "$tmp/src/meson.build"
	if ! check_src "$tmp/src"; then
		echo "self-test: the unmodified sources were rejected" >&2
		return 1
	fi
	echo "check_no_io self-test: ok"
	return 0
}

if [ "${1:-}" = "--self-test" ]; then
	[ $# -eq 2 ] || { echo "usage: $0 --self-test SRCDIR" >&2; exit 2; }
	self_test "$2"
	exit $?
fi

[ $# -eq 2 ] || { echo "usage: $0 LIB SRCDIR" >&2; exit 2; }
check_lib "$1" || fail=$?
[ $fail -ne 0 ] && exit $fail
check_src "$2" || fail=$?
[ $fail -ne 0 ] && exit $fail
echo "check_no_io: $1 has no forbidden symbols; $2 includes no I/O or json-c header"
exit 0
