#!/usr/bin/env bash
# snpsim explore through the CLI (suite explore). One case per invocation:
#   test_explore.sh SNPSIM SCENARIO_DIR finds SCENARIO LIMIT [explore args...]
#       explore fails SCENARIO within LIMIT schedules (exit 1, found_at <= LIMIT)
#   ... survives SCENARIO [explore args...]
#       every schedule passes (exit 0); a systematic run must also be exhausted
#   ... replay SCENARIO [explore args...]
#       the found schedule's trace replays identically, and the scenario embedded
#       in its header re-run with `snpsim run --trace` gives the same bytes
#   ... ap-ghcb SCENARIO
#       the BSP creates every AP through the AP creation NAE event, each vCPU
#       registers and uses its own GHCB
#   ... cli
#       usage errors exit 2; --help names every option
set -euo pipefail
snpsim=$1 dir=$2 case=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ""))' "$@"; }

case $case in
finds)
	sc=$1 limit=$2
	shift 2
	rc=0
	"$snpsim" explore "$dir/$sc.json" --schedules "$limit" --json "$@" >"$tmp/out.json" || rc=$?
	cat "$tmp/out.json"
	[ "$rc" -eq 1 ] || fail "$sc $*: exit $rc, expected 1 (a failing schedule)"
	python3 - "$tmp/out.json" "$limit" <<'PY'
import json, sys
d, limit = json.load(open(sys.argv[1])), int(sys.argv[2])
assert d["found"], "nothing found"
assert 1 <= d["found_at"] <= limit, f"found at {d['found_at']}, limit {limit}"
assert d["schedules"] == d["found_at"], "explore went on after the failure"
assert "double-validation" in d["why"] or d["outcome"] != "completed", d["why"]
print(f"ok   found by schedule {d['found_at']} (limit {limit}): {d['why']}")
PY
	;;
survives)
	sc=$1
	shift
	rc=0
	"$snpsim" explore "$dir/$sc.json" --json "$@" >"$tmp/out.json" || rc=$?
	cat "$tmp/out.json"
	[ "$rc" -eq 0 ] || fail "$sc $*: exit $rc, expected 0"
	python3 - "$tmp/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert not d["found"]
if d["mode"] == "systematic":
    assert d["exhausted"], "the systematic search did not finish"
print(f"ok   {d['schedules']} schedules ({d['mode']}), no failure, {d['schedules_per_s']:.0f} schedules/s")
PY
	;;
replay)
	sc=$1
	shift
	rc=0
	"$snpsim" explore "$dir/$sc.json" --trace "$tmp/found.jsonl" --json "$@" >"$tmp/out.json" ||
		rc=$?
	[ "$rc" -eq 1 ] || fail "$sc: exit $rc, expected a failing schedule"
	[ -s "$tmp/found.jsonl" ] || fail "no trace written"
	[ "$(json_field "$tmp/out.json" trace)" = "$tmp/found.jsonl" ] || fail "JSON names no trace"
	"$snpsim" replay "$tmp/found.jsonl" || fail "the found trace does not replay"
	# the checker re-derives the violation from the trace alone
	if "$snpsim" check "$tmp/found.jsonl" >"$tmp/check.txt"; then
		fail "snpsim check sees no violation in the found trace"
	fi
	grep -q double-validation "$tmp/check.txt" || fail "check: $(cat "$tmp/check.txt")"
	# byte for byte: the embedded scenario, run again, writes the same file
	python3 - "$tmp/found.jsonl" "$tmp/embedded.json" <<'PY'
import json, sys
hdr = json.loads(open(sys.argv[1]).readline())
json.dump(hdr["scenario"], open(sys.argv[2], "w"))
print("schedule:", json.dumps(hdr["scenario"]["schedule"]))
PY
	rc=0
	"$snpsim" run -q "$tmp/embedded.json" --trace "$tmp/again.jsonl" || rc=$?
	[ "$rc" -eq 1 ] || fail "the embedded scenario ran without failing (exit $rc)"
	tail -n +2 "$tmp/found.jsonl" >"$tmp/a"
	tail -n +2 "$tmp/again.jsonl" >"$tmp/b"
	cmp "$tmp/a" "$tmp/b" || fail "events differ between explore's trace and a re-run"
	# the header differs only in where the scenario came from, which it does not record
	cmp "$tmp/found.jsonl" "$tmp/again.jsonl" || fail "headers differ"
	echo "ok   $sc: $(wc -l <"$tmp/found.jsonl") lines replay identically, byte for byte"
	;;
ap-ghcb)
	sc=$1
	"$snpsim" run -q "$dir/$sc.json" --no-coalesce --trace "$tmp/t.jsonl" ||
		fail "$sc does not complete"
	python3 - "$tmp/t.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
sc = lines[0]["scenario"]
n = sc["machine"]["vcpus"]
ghcb = [int(g, 16) for g in sc["machine"]["ghcb"]]
assert n >= 2 and len(set(ghcb)) == n, "each vCPU needs its own GHCB"
ev = lines[1:]
creates = [e for e in ev if e["ev"] == "ap_create"]
assert sorted(e.get("vcpu", 0) for e in creates) == list(range(1, n)), creates
vmsas = {e["gpa"] for e in creates}
assert len(vmsas) == n - 1, "each AP has its own VMSA page"
for v in range(n):
    mine = [e for e in ev if e.get("vcpu", 0) == v]
    # registration: the GHCB GPA request names this vCPU's GHCB page
    reg = [e for e in mine if e["ev"] == "msr_protocol" and e["function"] == "reg_gpa_req"]
    assert reg, f"vCPU {v} never registered a GHCB"
    assert int(reg[0]["request"], 16) >> 12 == ghcb[v] >> 12, (v, reg[0], hex(ghcb[v]))
    exits = [e for e in mine if e["ev"] == "vmgexit"]
    assert exits, f"vCPU {v} made no GHCB NAE event"
    used = {int(e["ghcb_gpa"], 16) for e in exits}
    assert used == {ghcb[v]}, f"vCPU {v} used GHCBs {sorted(map(hex, used))}, expected {hex(ghcb[v])}"
    if v:
        first = min(e["seq"] for e in mine if e["ev"] != "ap_create")
        created = next(e["seq"] for e in creates if e.get("vcpu", 0) == v)
        assert first > created, f"vCPU {v} ran before it was created"
bsp_exits = [e for e in ev if e["ev"] == "vmgexit" and e["exit"] == "vmgexit_ap_creation"]
assert all(e.get("vcpu", 0) == 0 for e in bsp_exits) and len(bsp_exits) == n - 1
print(f"ok   {n} vCPUs: {n - 1} APs created by the BSP, each vCPU on its own GHCB")
PY
	;;
cli)
	sc=$dir/race-accept-without-inflight.json
	expect_rc() {
		local want=$1
		shift
		local rc=0
		"$snpsim" explore "$@" >"$tmp/o" 2>"$tmp/e" || rc=$?
		[ "$rc" -eq "$want" ] || fail "explore $*: exit $rc, expected $want: $(cat "$tmp/e")"
	}
	expect_rc 2
	expect_rc 2 "$sc" "$sc"
	expect_rc 2 "$sc" --systematic=lots
	expect_rc 2 "$sc" --schedules -3
	expect_rc 2 "$sc" --schedules 0
	expect_rc 2 "$sc" --preempt-probability 1.5
	expect_rc 2 "$sc" --seed 0x20000000000000
	expect_rc 2 "$sc" --guest-bug no-such-bug
	expect_rc 2 "$dir/no-such-file.json"
	grep -q "no-such-file.json" "$tmp/e" || fail "the error does not name the file"
	# a scenario that fixes its own choices is for snpsim run, not explore
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["schedule"]["choices"]=[[1,1]]; json.dump(d,open(sys.argv[2],"w"))' \
		"$sc" "$tmp/fixed.json"
	expect_rc 2 "$tmp/fixed.json"
	grep -q "schedule.choices" "$tmp/e" || fail "$(cat "$tmp/e")"
	# found, but no trace requested: none written, exit 1
	expect_rc 1 "$sc" -q
	expect_rc 0 "$sc" --guest-bug none --schedules 20 -q
	[ ! -s "$tmp/o" ] || fail "--quiet printed: $(cat "$tmp/o")"
	"$snpsim" explore --help >"$tmp/h"
	for opt in --schedules --seed --systematic --preempt-probability --guest-bug --trace \
		--json --quiet "Exit status"; do
		grep -q -- "$opt" "$tmp/h" || fail "--help does not mention $opt"
	done
	"$snpsim" --help | grep -q "^  explore " || fail "snpsim --help does not list explore"
	echo "ok   explore CLI: usage errors, help"
	;;
*)
	fail "unknown case $case"
	;;
esac
