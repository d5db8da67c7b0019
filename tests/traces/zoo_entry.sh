#!/usr/bin/env bash
# A bug-zoo entry is caught with the bug and clean without it:
#  - the scenario as written (bug on) meets its expectations: the violation or
#    termination that exposes the bug happens;
#  - the same scenario with --guest-bug none raises no invariant violation and
#    does not end the way the buggy guest does.
set -euo pipefail
snpsim=$1 sc=$2
"$snpsim" run -q "$sc" || { echo "FAIL $sc: the buggy guest was not caught as expected"; exit 1; }
out=$("$snpsim" run --guest-bug none --json "$sc") || true
python3 - "$sc" "$out" <<'PY'
import json, sys
sc, out = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
fired = {k: v for k, v in out["violations"].items() if v}
if fired:
    sys.exit(f"FAIL {sys.argv[1]}: the fixed guest violates {fired}")
exp = sc["expect"]
got = out["result"]
if got["outcome"] == exp["outcome"] and got.get("reason") == exp.get("reason") and not exp.get("violations"):
    sys.exit(f"FAIL {sys.argv[1]}: the fixed guest ends like the buggy one ({got})")
print(f"ok   {sys.argv[1]}: caught with the bug; fixed guest {got['outcome']} {got.get('reason', '')}, no violation")
PY
