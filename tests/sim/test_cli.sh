#!/usr/bin/env bash
# The snpsim command line: the default run, --json, traces (determinism, atomic
# writing, replay, a deliberately edited golden, check), and bad input (exit 2 with
# a message naming the file, place and problem).
set -uo pipefail
snpsim=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }

# expect CODE NEEDLE NAME -- CMD...: exit status CODE and NEEDLE in stdout+stderr
expect() {
	local code=$1 needle=$2 name=$3
	shift 4
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		bad "$name: exit $rc, expected $code"
		printf '%s\n' "$out" | head -20
	elif [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
		bad "$name: output lacks \"$needle\""
		printf '%s\n' "$out" | head -20
	else
		ok "$name"
	fi
}

expect 0 "outcome:     completed" "run default" -- "$snpsim" run
expect 0 "expectations: met" "run default meets expectations" -- "$snpsim" run
if "$snpsim" run --json >"$tmp/run.json" && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"]["outcome"] == "completed", d["result"]
assert d["expectations_met"] is True
assert d["validation"]["pages_2m"] > 0 and d["psc"]["ghcb_requests"] > 0
assert all(v == 0 for v in d["violations"].values()), d["violations"]
' "$tmp/run.json"; then ok "run --json parses"; else bad "run --json parses"; fi

for c in run replay check info; do
	expect 0 "Usage:" "$c --help" -- "$snpsim" "$c" --help
done
expect 0 "Commands:" "--help" -- "$snpsim" --help
expect 2 "Usage:" "no command" -- "$snpsim"
expect 2 "unknown command \"frobnicate\"" "unknown command" -- "$snpsim" frobnicate
expect 0 "double-validation" "info lists invariants" -- "$snpsim" info
expect 0 "GFW_TERM_PSC_BACKWARDS" "info lists termination reasons" -- "$snpsim" info

# ---- traces: deterministic bytes, replay, edited golden, check
"$snpsim" run -q --trace "$tmp/a.jsonl" && "$snpsim" run -q --trace "$tmp/b.jsonl"
if cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl"; then ok "identical runs give identical trace bytes"
else bad "identical runs give identical trace bytes"; fi
if ls "$tmp" | grep -q '\.tmp\.'; then bad "no temporary trace files left"; else ok "no temporary trace files left"; fi
"$snpsim" run -q --no-coalesce --trace "$tmp/nc.jsonl"
if [ "$(wc -l <"$tmp/nc.jsonl")" -gt "$(wc -l <"$tmp/a.jsonl")" ]; then ok "--no-coalesce writes more lines"
else bad "--no-coalesce writes more lines"; fi
expect 0 "events identical" "replay own trace" -- "$snpsim" replay "$tmp/a.jsonl"
expect 0 "events identical" "replay uncoalesced trace" -- "$snpsim" replay "$tmp/nc.jsonl"
expect 0 "0 violation(s)" "check own trace" -- "$snpsim" check "$tmp/a.jsonl"

# a deliberately edited golden: the first pvalidate's result changed
awk 'BEGIN{d=0} /"ev":"pvalidate"/ && !d {sub(/"result":"SUCCESS"/, "\"result\":\"FAIL_INPUT\""); d=1} {print}' \
	"$tmp/a.jsonl" >"$tmp/edited.jsonl"
line=$(grep -n '"result":"FAIL_INPUT"' "$tmp/edited.jsonl" | head -1 | cut -d: -f1)
expect 1 "edited.jsonl:$line: first divergence: field \"result\": expected \"FAIL_INPUT\", got \"SUCCESS\"" \
	"replay edited golden shows the first divergence" -- "$snpsim" replay "$tmp/edited.jsonl"
head -n 5 "$tmp/a.jsonl" >"$tmp/short.jsonl"
expect 1 "the run produced more events than the trace holds" "replay truncated trace" -- \
	"$snpsim" replay "$tmp/short.jsonl"

# a hand-written trace
cat >"$tmp/hand.jsonl" <<'T'
{"snpsim_trace":1}
{"ev":"psc_entry","gfn":"0x100","npages":1,"op":"private","status":"0x0"}
{"ev":"rmpupdate","spa":"0x100000","gpa":"0x100000","assigned":true,"result":"SUCCESS"}
{"ev":"pvalidate","gpa":"0x100000","validate":true,"result":"SUCCESS"}
{"ev":"pvalidate","gpa":"0x100000","validate":true,"result":"SUCCESS_NOUPDATE"}
T
expect 1 "violation of double-validation at GPA 0x100000" "check hand-written double validation" -- \
	"$snpsim" check "$tmp/hand.jsonl"
head -n 4 "$tmp/hand.jsonl" >"$tmp/hand-ok.jsonl"
expect 0 "0 violation(s)" "check hand-written clean trace" -- "$snpsim" check "$tmp/hand-ok.jsonl"

# ---- bad input: exit 2 and a message naming the file, the place and the problem
expect 2 "nope.json" "run missing file" -- "$snpsim" run "$tmp/nope.json"
printf '{"snpsim_scenario":1,\n "machine": {,}}\n' >"$tmp/malformed.json"
expect 2 "malformed.json:2: malformed JSON" "run malformed JSON" -- "$snpsim" run "$tmp/malformed.json"
printf '{"snpsim_scenario":7}' >"$tmp/v7.json"
expect 2 "v7.json: \$.snpsim_scenario: version 7 is not supported" "run wrong version" -- "$snpsim" run "$tmp/v7.json"
printf '{"snpsim_scenario":1,"machine":{"memory":[{"gpa":0,"size":"64M"}],"ghcb":["0x1000"]},"program":[{"step":"boot"},{"step":"accept","gpa":"0x1800","size":"4K"}]}' >"$tmp/mis.json"
expect 2 "mis.json: \$.program[1].gpa: 0x1800 is not 4 KiB aligned" "run misaligned address" -- "$snpsim" run "$tmp/mis.json"
printf '{"snpsim_scenario":1,"machine":{"memory":[{"gpa":0,"size":"64M"}],"ghcb":["0x1000"]},"program":[{"step":"boot","fast":true}]}' >"$tmp/field.json"
expect 2 "field.json: \$.program[0]: unknown field \"fast\"" "run unknown field" -- "$snpsim" run "$tmp/field.json"
printf '{"snpsim_scenario":1,"machine":{"memory":[{"gpa":0,"size":"64M"}],"ghcb":["0x1000"]},"program":[{"step":"teleport"}]}' >"$tmp/step.json"
expect 2 "step.json: \$.program[0].step: unknown step \"teleport\"" "run unknown step" -- "$snpsim" run "$tmp/step.json"
printf '{"snpsim_scenario":1,"machine":{"memory":[{"gpa":0,"size":"9000T"}],"ghcb":["0x1000"]},"program":[{"step":"boot"}]}' >"$tmp/absurd.json"
expect 2 "absurd.json: \$.machine.memory[0].size" "run absurd size" -- "$snpsim" run "$tmp/absurd.json"
printf '{"snpsim_scenario":1,"machine":{"memory":[{"gpa":0,"size":"64M"}],"ghcb":["0x1000"]}}' >"$tmp/noprog.json"
expect 2 "the guest program is empty" "run empty program" -- "$snpsim" run "$tmp/noprog.json"
head -c 3000 /dev/urandom >"$tmp/garbage.bin"
expect 2 "garbage.bin" "run binary garbage" -- "$snpsim" run "$tmp/garbage.bin"
expect 2 "--seed: \"banana\"" "run bad seed" -- "$snpsim" run --seed banana
expect 2 "--guest-bug: unknown bug \"nope\"" "run bad bug name" -- "$snpsim" run --guest-bug nope
expect 2 "Unknown option" "run unknown option" -- "$snpsim" run --frobnicate
expect 2 "unknown engine" "run unknown engine" -- "$snpsim" run --engine warp
printf '[{"trigger":"ghcb_psc","action":"fail","nth":"x"}]' >"$tmp/faults.json"
expect 2 "faults.json: \$[0].nth" "run bad faults file" -- "$snpsim" run --faults "$tmp/faults.json"
expect 2 "a.jsonl" "run trace into missing directory" -- "$snpsim" run --trace "$tmp/no/such/dir/a.jsonl"
expect 2 "not an snpsim trace" "replay a non-trace" -- "$snpsim" replay "$tmp/run.json"
expect 2 "garbage.bin: not a text file" "replay garbage" -- "$snpsim" replay "$tmp/garbage.bin"
printf '{"snpsim_trace":1}\n{"ev":"pvalidate","gpa":"x"}\n' >"$tmp/badline.jsonl"
expect 2 "badline.jsonl:2: \"gpa\"" "check bad event line" -- "$snpsim" check "$tmp/badline.jsonl"
expect 2 "embeds no scenario" "replay trace without scenario" -- "$snpsim" replay "$tmp/hand.jsonl"
expect 2 "expected one TRACE" "check without argument" -- "$snpsim" check

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all CLI checks passed"
