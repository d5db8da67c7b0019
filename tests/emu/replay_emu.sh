#!/bin/sh
# An emu-recorded trace replays under the engine its header names (emu), and
# its events are the native engine's too (the header rewritten to native).
# A scenario with a page_access fault trigger is refused under emu, clearly.
# Usage: replay_emu.sh SNPSIM SCENARIO
set -eu
snpsim=$1 sc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$snpsim" run --engine emu -t "$tmp/emu.jsonl" "$sc" >/dev/null
grep -q '"engine":"emu"' "$tmp/emu.jsonl"
"$snpsim" replay "$tmp/emu.jsonl"
sed 's/"engine":"emu"/"engine":"native"/' "$tmp/emu.jsonl" >"$tmp/native.jsonl"
"$snpsim" replay "$tmp/native.jsonl"
# page_access triggers: refused with a message naming the trigger, exit 2, no hang
python3 - "$sc" "$tmp/pa.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["faults"] = [{"trigger": "page_access", "action": "inject_vc", "nth": 1}]
json.dump(d, open(sys.argv[2], "w"))
PY
set +e
"$snpsim" run --engine emu "$tmp/pa.json" >"$tmp/out" 2>&1
rc=$?
set -e
cat "$tmp/out"
[ "$rc" -eq 2 ] && grep -q 'page_access' "$tmp/out"
echo "replay_emu: ok"
