#!/usr/bin/env bash
# Each NAME.json under traces/ (and its adversary/, zoo/) has NAME.trace.jsonl and
# the other way round, so no scenario silently lacks a regression replay.
# traces/explore/ is not replayed but searched (snpsim explore, suite explore).
set -euo pipefail
root=$1
bad=0
for sc in "$root"/*.json "$root"/*/*.json; do
	[ -e "$sc" ] || continue
	[ "${sc#"$root"/explore/}" = "$sc" ] || continue
	[ -e "${sc%.json}.trace.jsonl" ] || { echo "no golden for $sc (run ./dev.sh bless)"; bad=1; }
done
for g in "$root"/*.trace.jsonl "$root"/*/*.trace.jsonl; do
	[ -e "$g" ] || continue
	[ -e "${g%.trace.jsonl}.json" ] || { echo "golden without scenario: $g"; bad=1; }
done
n=$(ls "$root"/*.trace.jsonl 2>/dev/null | wc -l)
[ "$n" -ge 12 ] || { echo "only $n regression goldens in $root (at least 12)"; bad=1; }
exit $bad
