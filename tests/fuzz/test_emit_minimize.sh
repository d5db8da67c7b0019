#!/usr/bin/env bash
# --emit-scenario and `snpsim minimize`, end to end:
#  1. fuzz_pagestate writes the scenario it builds for a corpus input, and
#     `snpsim run` accepts it (exit 0 or 1: it ran; 2 would be a rejected file);
#  2. minimize shrinks tests/fuzz/minimize-padded.json (a buggy guest plus
#     padding steps and irrelevant faults) to at most two steps and no fault,
#     and the result fails the same way: same outcome, reason and violations.
set -euo pipefail
snpsim=$1 replay=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for seed in convert-low fault-revoke-0 two-vcpus lazy-ranges; do
	"$replay" --emit-scenario "$tmp/$seed.json" "$dir/corpus/fuzz_pagestate/$seed" >/dev/null 2>&1
	rc=0
	"$snpsim" run -q "$tmp/$seed.json" >/dev/null 2>&1 || rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "FAIL: snpsim run rejects the scenario emitted for $seed (exit $rc)"
		"$snpsim" run -q "$tmp/$seed.json" || true
		exit 1
	fi
	echo "ok   emitted $seed: snpsim run exit $rc"
done

"$snpsim" minimize "$dir/minimize-padded.json" -o "$tmp/min.json"
python3 - "$snpsim" "$dir/minimize-padded.json" "$tmp/min.json" <<'PY'
import json, subprocess, sys
snpsim, orig, mini = sys.argv[1:]
def run(p):
    r = subprocess.run([snpsim, "run", "--json", p], capture_output=True, text=True)
    if r.returncode != 1:
        sys.exit(f"FAIL {p}: expected a failing run (exit 1), got {r.returncode}")
    j = json.loads(r.stdout)
    return j["result"].get("outcome"), j["result"].get("reason"), \
        sorted(k for k, v in j["violations"].items() if v)
a, b = run(orig), run(mini)
if a != b:
    sys.exit(f"FAIL: minimized scenario fails differently: {a} vs {b}")
m = json.load(open(mini))
steps = sum(len(p) for p in m["programs"]) if "programs" in m else len(m["program"])
if steps > 2 or m["faults"]:
    sys.exit(f"FAIL: not minimal: {steps} steps, {len(m['faults'])} faults")
print(f"ok   minimize: fails as {a}; {steps} step(s), no fault left")
PY
