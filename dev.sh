#!/usr/bin/env bash
# snpsim developer entry point: the two commands of the README.
#
#   ./dev.sh run    install what is missing, build (release), run the main job
#   ./dev.sh test   install what is missing, build normal + ASan/UBSan, run every test
#   ./dev.sh bench  build (release) and run the Meson benchmarks
#   ./dev.sh bless  re-record every golden trace in traces/ after an intended change
#   ./dev.sh firmware  fetch and verify the reference OVMF into firmware-cache/, print its path
#   ./dev.sh fuzz [SECONDS]  libFuzzer harnesses (clang, build-fuzz/), each run SECONDS (60)
#
# Non-interactive and idempotent: CI runs it on a clean clone with no stdin.
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev python3
      libglib2.0-dev libjson-c-dev libcmocka-dev libunicorn-dev libcapstone-dev
      curl ca-certificates)

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

# The reference firmware of the firmware suite (issue 9): Debian 13's ovmf package, whose
# OVMF_CODE_4M.fd carries the SEV-SNP metadata. Debian 12 cannot `apt-get download` a trixie
# package without a trixie sources list, so the .deb comes straight from the pool. Both the
# package and the image are checked against recorded sha256 sums (../shared/firmware/README.md).
OVMF_DEB_URL=${SNPSIM_OVMF_URL:-https://deb.debian.org/debian/pool/main/e/edk2/ovmf_2025.02-8%2Bdeb13u1_all.deb}
OVMF_DEB_SHA256=78e0d54df11fc77406cb7a0bc9a39e5bca6d1cbe06556b91d9a73491c52decdf
OVMF_CODE_SHA256=624e06de18b4fa535e90db7160d00d3d07d206422b89999bf1e27d920264e4e0
OVMF_VARS_SHA256=5d2ac383371b408398accee7ec27c8c09ea5b74a0de0ceea6513388b15be5d1e
FW_CACHE=${SNPSIM_FW_CACHE:-firmware-cache}
FW_SHARED=${SNPSIM_FW_SHARED:-../shared/firmware}

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# download URL FILE: curl or wget, bounded in time, no prompts
download() {
	if command -v curl >/dev/null; then
		curl -fsSL --retry 2 --connect-timeout 15 --max-time 300 -o "$2" "$1" </dev/null
	elif command -v wget >/dev/null; then
		wget -q --tries=2 --timeout=15 -O "$2" "$1" </dev/null
	else
		log "neither curl nor wget is installed"
		return 1
	fi
}

# fetch_ovmf: download, verify and unpack into $FW_CACHE; false on any failure (offline)
fetch_ovmf() {
	local tmp
	mkdir -p "$FW_CACHE"
	tmp=$(mktemp -d "$FW_CACHE/.fetch.XXXXXX")
	if ! download "$OVMF_DEB_URL" "$tmp/ovmf.deb"; then
		log "cannot download $OVMF_DEB_URL"
	elif ! sha_ok "$tmp/ovmf.deb" "$OVMF_DEB_SHA256"; then
		log "$OVMF_DEB_URL: sha256 mismatch, not the recorded package"
	elif ! dpkg-deb -x "$tmp/ovmf.deb" "$tmp/x"; then
		log "$OVMF_DEB_URL: dpkg-deb cannot unpack it"
	elif ! sha_ok "$tmp/x/usr/share/OVMF/OVMF_CODE_4M.fd" "$OVMF_CODE_SHA256" ||
		! sha_ok "$tmp/x/usr/share/OVMF/OVMF_VARS_4M.fd" "$OVMF_VARS_SHA256"; then
		log "$OVMF_DEB_URL: OVMF_CODE_4M.fd or OVMF_VARS_4M.fd sha256 mismatch"
	else
		# rename last: a cache file that exists is a complete, verified one
		mv "$tmp/x/usr/share/OVMF/OVMF_VARS_4M.fd" "$FW_CACHE/OVMF_VARS_4M.fd"
		mv "$tmp/x/usr/share/OVMF/OVMF_CODE_4M.fd" "$FW_CACHE/OVMF_CODE_4M.fd"
		rm -rf "$tmp"
		return 0
	fi
	rm -rf "$tmp"
	return 1
}

# firmware_path: print the OVMF_CODE_4M.fd to use: $SNPSIM_OVMF as given, else the verified
# cache (fetched if missing or wrong), else the verified shared copy when offline
firmware_path() {
	if [ -n "${SNPSIM_OVMF:-}" ]; then
		if [ ! -f "$SNPSIM_OVMF" ]; then
			log "SNPSIM_OVMF=$SNPSIM_OVMF: no such file"
			return 2
		fi
		sha_ok "$SNPSIM_OVMF" "$OVMF_CODE_SHA256" ||
			log "SNPSIM_OVMF=$SNPSIM_OVMF is not the reference image; using it anyway"
		printf '%s\n' "$SNPSIM_OVMF"
		return 0
	fi
	local code=$FW_CACHE/OVMF_CODE_4M.fd
	if sha_ok "$code" "$OVMF_CODE_SHA256"; then
		printf '%s\n' "$code"
		return 0
	fi
	if [ -e "$code" ]; then
		log "$code: sha256 mismatch, fetching again"
		rm -f "$code"
	fi
	log "fetching Debian 13's ovmf into $FW_CACHE/"
	if fetch_ovmf; then
		printf '%s\n' "$code"
		return 0
	fi
	if sha_ok "$FW_SHARED/OVMF_CODE_4M.fd" "$OVMF_CODE_SHA256"; then
		log "offline: using $FW_SHARED/OVMF_CODE_4M.fd"
		printf '%s\n' "$FW_SHARED/OVMF_CODE_4M.fd"
		return 0
	fi
	log "no reference OVMF: no network and no verified copy in $FW_SHARED; set SNPSIM_OVMF"
	return 2
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
	# the firmware suite must run, not skip: no reference image is a set-up failure
	SNPSIM_OVMF=$(firmware_path) || exit 2
	# absolute: meson runs the tests from the build directory
	SNPSIM_OVMF=$(realpath "$SNPSIM_OVMF")
	export SNPSIM_OVMF
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
		case $sc in traces/explore/*) continue ;; esac # searched by explore, no golden
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
firmware)
	firmware_path || exit $?
	;;
fuzz)
	# Time-boxed coverage-guided fuzzing (tests/fuzz/README.md): each harness runs for
	# SECONDS from a copy of its seed corpus; the grown corpus and any finding stay in
	# tests/fuzz/out/<harness>/ (ignored by git).
	secs=${2:-60}
	case "$secs" in '' | *[!0-9]*) log "fuzz: SECONDS must be a number, got '$secs'"; exit 2 ;; esac
	install_deps
	if [ -f build-fuzz/build.ninja ]; then
		meson configure build-fuzz -Dfuzz=true >/dev/null
	else
		CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >/dev/null
	fi
	ninja -C build-fuzz tests/fuzz/fuzz_pagestate tests/fuzz/fuzz_parsers tests/fuzz/fuzz_ghcb \
		sim/snpsim >/dev/null
	rc=0
	for h in fuzz_pagestate fuzz_parsers fuzz_ghcb; do
		out=tests/fuzz/out/$h
		mkdir -p "$out/corpus"
		cp -n tests/fuzz/corpus/$h/* "$out/corpus/" 2>/dev/null || true
		log "$h: fuzzing for ${secs}s (log: $out/log)"
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			build-fuzz/tests/fuzz/$h -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$out/" "$out/corpus" >"$out/log" 2>&1 || rc=1
		grep -E '^#[0-9]+' "$out/log" | tail -1 | sed "s|^|$h: |" >&2 || true
		grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$out/log" |
			sed "s|^|$h: |" >&2 || true
		for c in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
			[ -e "$c" ] || continue
			log "$h: FINDING $c: replay with build-fuzz/tests/fuzz/$h -runs=1 $c" \
				"(fuzz_pagestate then writes $c.scenario.json for snpsim run/minimize)"
			rc=1
		done
	done
	exit $rc
	;;
*)
	echo "usage: $0 run|test|bench|bless|firmware|fuzz [SECONDS]" >&2
	exit 2
	;;
esac
