#!/usr/bin/env bash
# snpsim developer entry point: the two commands of the README.
#
#   ./dev.sh run    install what is missing, build (release), run the main job
#   ./dev.sh test   install what is missing, build normal + ASan/UBSan, run every test
#   ./dev.sh bench  build (release) and run the Meson benchmarks
#   ./dev.sh bless  re-record every golden trace in traces/ after an intended change
#
# Non-interactive and idempotent: CI runs it on a clean clone with no stdin.
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev python3
      libglib2.0-dev libjson-c-dev libcmocka-dev libunicorn-dev libcapstone-dev)

log() { printf 'dev.sh: %s\n' "$*" >&2; }

install_deps() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages: ${missing[*]}; run as root or install them"
		exit 2
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq </dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

# configure DIR [meson options...]: set up once, reconfigure if options changed
configure() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

cmd=${1:-}
case "$cmd" in
run)
	install_deps
	configure build-release --buildtype=release
	if [ -x build-release/sim/snpsim ]; then
		exec build-release/sim/snpsim run
	fi
	exec build-release/tests/rmp/bench_rmp
	;;
test)
	install_deps
	configure build --buildtype=debugoptimized
	configure build-san --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	meson test -C build --print-errorlogs --num-processes 2
	meson test -C build-san --print-errorlogs --num-processes 2 --timeout-multiplier 3
	;;
bless)
	# Each scenario must still meet its own expectations; its golden is then rewritten.
	install_deps
	configure build --buildtype=debugoptimized
	n=0
	for sc in traces/*.json traces/*/*.json; do
		[ -e "$sc" ] || continue
		build/sim/snpsim run -q "$sc" --trace "${sc%.json}.trace.jsonl" ||
			{ log "$sc: expectations not met; golden not blessed"; exit 1; }
		n=$((n + 1))
	done
	log "blessed $n golden traces; review them with git diff before committing"
	;;
bench)
	install_deps
	configure build-release --buildtype=release
	meson test -C build-release --benchmark --verbose
	;;
*)
	echo "usage: $0 run|test|bench|bless" >&2
	exit 2
	;;
esac
