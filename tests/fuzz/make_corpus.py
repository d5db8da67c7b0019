#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz harnesses: tests/fuzz/corpus/<harness>/.

    tests/fuzz/make_corpus.py [--check]

fuzz_pagestate seeds are encoded with the harness's own decoder order
(fuzz_pagestate.c: build()), one per interesting shape: each step kind, each
fault action on the triggers it can act on, 2M and 4K layouts, lazy memory, the
MSR protocol, two vCPUs. fuzz_ghcb seeds are guest action sequences
(fuzz_ghcb.c). fuzz_parsers seeds are the checked-in scenarios (traces/*.json),
the head of a few golden traces, hand-written event lines and broken variants.
The inputs of past findings (corpus/fuzz_pagestate/finding-*) are kept as they
were found and left alone. Deterministic: the same files every time. --check: exit 1 if the checked-in
corpus differs from what this script writes.
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")

# hv.h enums
TRIG = dict(msr_psc=1, ghcb_psc=2, ghcb_register=3, sev_info=4, hv_features=5, msr_any=6,
            nae=7, page_access=8, vmgexit=9)
ACT = dict(fail=1, ignore=2, partial=3, no_progress=4, cur_entry_back=5, end_entry_change=6,
           reserved_bits=7, wrong_gfn=8, force_4k=9, psmash_behind=10, remap_replay=11,
           revoke=12, rewrite_buffer=13, msr_garbage=14, msr_wrong_code=15, inject_vc=16)
_MSR = ["msr_psc", "ghcb_register", "sev_info", "hv_features", "msr_any"]
# fuzz_pagestate.c action_triggers[]
ALLOWED = {
    "fail": _MSR + ["ghcb_psc", "nae", "vmgexit"],
    "ignore": ["msr_psc", "ghcb_register", "msr_any", "ghcb_psc", "nae", "vmgexit"],
    "partial": ["ghcb_psc"], "no_progress": ["ghcb_psc"], "cur_entry_back": ["ghcb_psc"],
    "end_entry_change": ["ghcb_psc"], "reserved_bits": ["ghcb_psc"],
    "wrong_gfn": ["msr_psc", "ghcb_psc"], "force_4k": ["ghcb_psc"],
    "psmash_behind": ["ghcb_psc", "msr_psc", "page_access"],
    "remap_replay": ["ghcb_psc", "msr_psc", "page_access"],
    "revoke": ["ghcb_psc", "msr_psc", "page_access"],
    "rewrite_buffer": ["ghcb_psc"],
    "msr_garbage": ["sev_info", "hv_features", "ghcb_register", "msr_psc", "msr_any"],
    "msr_wrong_code": ["sev_info", "hv_features", "ghcb_register", "msr_psc", "msr_any"],
    "inject_vc": ["ghcb_psc", "msr_psc", "page_access", "nae", "vmgexit", "msr_any"],
}
PAGES_2M = 512


class Enc:
    """Mirrors fz_t: fz_below(n) is one byte for n <= 256, else four."""

    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v & 0xFF)

    def u32(self, v):
        self.b += (v & 0xFFFFFFFF).to_bytes(4, "little")

    def u64(self, v):
        self.b += (v & (2**64 - 1)).to_bytes(8, "little")

    def below(self, n, v):
        assert 0 <= v < n, (n, v)
        if n <= 256:
            self.u8(v)
        else:
            self.u32(v)

    def boolean(self, v):
        self.u8(1 if v else 0)


def pagestate(steps=(), faults=(), *, use_2m=True, msr_only=False, evict=False, cpuid=True,
              secrets=True, implicit=True, strict=False, two=False, lazy=False, above_4g=False,
              mmio=False, preempt=False, nlow=16, units=0, extra=0, batch=0, retries=16,
              psc_max=0, odd=0, zero=2, seed=1, ap_steps=()):
    """steps: (kind, ...) tuples in the harness's vocabulary; faults: dicts."""
    e = Enc()
    flags = (1 if use_2m else 0) | (0x0E if msr_only else 0) | (0x10 if evict else 0) | \
        (0x20 if strict else 0) | (0 if implicit else 0x40) | (0x80 if cpuid else 0)
    flags2 = (1 if above_4g else 0) | (2 if mmio else 0) | (4 if preempt else 0) | \
        (8 if secrets else 0) | (0x10 if lazy else 0) | (0x80 if two else 0)
    e.u8(flags)
    e.u8(flags2)
    e.u8(seed)
    e.below(33, nlow - 8)
    e.below(4, {0: 0, 1: 1, 2: 3}[units])
    e.below(4, extra)
    e.below(8, batch)
    e.below(20, retries - 1)
    e.below(4, psc_max)
    e.u8(odd)
    nhigh = units * PAGES_2M + extra
    e.below(nlow, 1)              # GHCB 0 at page 1
    if two:
        e.below(nlow, 2)          # GHCB 1
        e.below(nlow, 3)          # VMSA pool
    if cpuid:
        e.below(nlow, 4)
    if secrets:
        e.below(nlow, 5)
    e.below(4, zero)
    if zero:
        e.below(nlow, 8)          # zero launch pages from page 8
    e.below(17, len(steps))
    if two:
        e.below(len(steps) + 1, 0)  # create the AP first
    total = nlow + nhigh

    def rng(where, start, count, low_only=False):
        """pick_range: where = 'low' or 'high' (start is a page index there) or 'unit'."""
        if nhigh and not low_only:
            e.boolean(where != "low")
        if where == "low":
            e.below(nlow, start)
            e.below(8, count - 1)
            return
        if units:
            e.boolean(where == "unit")
        if where == "unit":
            e.below(units, start)
            if start + 1 < units:
                e.boolean(count == 2)
            return
        e.below(nhigh, start)
        e.below(8, count - 1)

    for st in steps:
        kind = st[0]
        if kind in ("shared", "private", "accept"):
            e.below(8, {"shared": 0, "private": 2, "accept": 4}[kind])
            rng(*st[1:], low_only=two and kind != "accept")
        elif kind in ("touch", "touch_mmio"):
            e.below(8, 5)
            e.u8(st[1])                       # bit 0 write, bit 1 shared
            if mmio:
                e.below(8, 0 if kind == "touch_mmio" else 1)
            if kind == "touch":
                rng(*st[2:])
                e.u8(0x40)
        elif kind == "cpuid":
            e.below(8, 7)
            e.below(4, 1)
            e.below(8, st[1])
        elif kind == "print":
            e.below(8, 7)
            e.below(4, 0)
            e.below(64, st[1])
    if two:
        e.below(5, len(ap_steps))
        for kind, page, count in ap_steps:
            e.below(4, 1)
            e.below(nhigh, page)
            e.below(4, count - 1)
            e.boolean(kind == "accept")
            if kind != "accept":
                e.u8(1)
    e.below(5, len(faults))
    for f in faults:
        act = f["action"]
        e.below(16, ACT[act] - 1)
        order = sorted(ALLOWED[act], key=lambda t: TRIG[t])
        e.below(32, order.index(f["trigger"]))
        if f["trigger"] == "nae":
            e.below(5, f.get("exit", 0))
        e.u8((f.get("nth", 0) & 3) | ((f.get("max", 0) & 3) << 2) | (0xF0 if f.get("prob") else 0))
        arg = f.get("arg")
        if arg is None:
            e.u8(f.get("sel", 0))
        else:
            e.u8(0xE0)
            e.u64(arg)
        where = (1 if "only" in f else 0) | (2 if "target" in f else 0)
        e.u8(where)
        if "only" in f:
            e.below(total, f["only"])
        if "target" in f:
            e.below(total, f["target"])
    return bytes(e.b)


def pagestate_seeds():
    s = {}
    s["boot-default"] = pagestate()
    s["boot-tiny"] = pagestate(nlow=8, zero=0, cpuid=False, secrets=False)
    s["boot-4k-evict"] = pagestate(use_2m=False, evict=True, cpuid=False, units=1)
    s["boot-2m"] = pagestate(units=2)
    s["boot-2m-tail"] = pagestate(units=1, extra=3)
    s["boot-msr-only"] = pagestate(msr_only=True, use_2m=False)
    s["boot-batch1"] = pagestate(batch=1, units=1, use_2m=True)
    s["boot-psc-max"] = pagestate(psc_max=2, batch=3, nlow=40)
    s["lazy-ranges"] = pagestate(units=2, lazy=True, steps=[
        ("accept", "unit", 0, 1), ("touch", 0, "high", 600, 1), ("shared", "high", 5, 2)])
    s["lazy-above-4g"] = pagestate(units=1, extra=2, lazy=True, above_4g=True, steps=[
        ("touch", 1, "high", 3, 1), ("accept", "unit", 0, 1)])
    s["convert-low"] = pagestate(nlow=24, steps=[
        ("shared", "low", 10, 4), ("touch", 3, "low", 11, 1), ("private", "low", 10, 4),
        ("touch", 1, "low", 12, 1)])
    s["convert-2m"] = pagestate(units=2, steps=[
        ("shared", "unit", 0, 2), ("private", "unit", 1, 1), ("private", "unit", 0, 1)])
    s["convert-mixed-2m"] = pagestate(units=1, steps=[
        ("shared", "high", 1, 3), ("private", "high", 1, 3), ("shared", "unit", 0, 1)])
    s["steps-misc"] = pagestate(mmio=True, steps=[
        ("cpuid", 6), ("cpuid", 0), ("print", 12), ("touch_mmio", 0), ("touch", 2, "low", 1, 1)])
    s["no-cpuid-page"] = pagestate(cpuid=False, steps=[("cpuid", 6)])
    s["two-vcpus"] = pagestate(two=True, units=1, lazy=True, steps=[
        ("touch", 0, "high", 7, 1), ("shared", "low", 10, 2)],
        ap_steps=[("accept", 100, 2), ("touch", 300, 1)])
    s["two-vcpus-preempt"] = pagestate(two=True, preempt=True, units=2, lazy=True, steps=[
        ("accept", "unit", 1, 1), ("accept", "unit", 0, 1)],
        ap_steps=[("accept", 10, 1), ("accept", 600, 4), ("touch", 2, 1)])
    s["hv-no-snp-protocol"] = pagestate(odd=0xF1)
    s["hv-no-ap-feature"] = pagestate(odd=0xF2, two=True)
    s["guest-not-snp"] = pagestate(odd=0xF3)
    s["strict-ops-no-implicit"] = pagestate(strict=True, implicit=False, units=1)

    conv = [("shared", "low", 10, 4), ("private", "low", 10, 4), ("shared", "unit", 0, 1),
            ("touch", 0, "low", 9, 1), ("private", "unit", 0, 1)]
    per_action = {
        "fail": [dict(trigger="ghcb_psc", nth=2), dict(trigger="msr_psc", sel=4),
                 dict(trigger="sev_info"), dict(trigger="nae", exit=2)],
        "ignore": [dict(trigger="ghcb_psc", nth=1), dict(trigger="msr_psc"),
                   dict(trigger="ghcb_register")],
        "partial": [dict(trigger="ghcb_psc", sel=1, max=3)],
        "no_progress": [dict(trigger="ghcb_psc", nth=2)],
        "cur_entry_back": [dict(trigger="ghcb_psc", sel=1, nth=2)],
        "end_entry_change": [dict(trigger="ghcb_psc", sel=0)],
        "reserved_bits": [dict(trigger="ghcb_psc", nth=3)],
        "wrong_gfn": [dict(trigger="ghcb_psc", sel=0, nth=2), dict(trigger="msr_psc", sel=2)],
        "force_4k": [dict(trigger="ghcb_psc")],
        "psmash_behind": [dict(trigger="ghcb_psc", nth=2, target=16 + 5)],
        "remap_replay": [dict(trigger="ghcb_psc", nth=2, target=12),
                         dict(trigger="page_access", target=9)],
        "revoke": [dict(trigger="ghcb_psc", nth=3, target=13, sel=1),
                   dict(trigger="msr_psc", sel=0)],
        "rewrite_buffer": [dict(trigger="ghcb_psc", sel=0x1b)],
        "msr_garbage": [dict(trigger="sev_info", sel=7), dict(trigger="ghcb_register")],
        "msr_wrong_code": [dict(trigger="hv_features"), dict(trigger="msr_psc", sel=5)],
        "inject_vc": [dict(trigger="ghcb_psc", sel=0, nth=2), dict(trigger="page_access", sel=2),
                      dict(trigger="nae", exit=1, sel=1), dict(trigger="vmgexit", sel=3)],
    }
    for act, fs in per_action.items():
        for i, f in enumerate(fs):
            f = dict(f, action=act)
            s["fault-%s-%d" % (act, i)] = pagestate(units=1, psc_max=(i % 3), steps=conv,
                                                    faults=[f])
    s["faults-combined"] = pagestate(units=1, batch=4, steps=conv, faults=[
        dict(action="partial", trigger="ghcb_psc", sel=2),
        dict(action="rewrite_buffer", trigger="ghcb_psc", sel=3, nth=1),
        dict(action="revoke", trigger="ghcb_psc", nth=2, target=11)])
    s["faults-lazy-revoke"] = pagestate(units=1, lazy=True, steps=[
        ("touch", 0, "high", 4, 1), ("touch", 0, "high", 5, 1)], faults=[
        dict(action="revoke", trigger="page_access", target=16 + 5, sel=1, max=1)])
    return s


def ghcb_seeds():
    """fuzz_ghcb.c: config, launch, then guest_op()s (vcpu, op, fields)."""
    rnd = random.Random(6)
    s = {}

    def world(cfg=0x02, vcpus=2, launches=((20, 2, 1),), ops=b""):
        e = Enc()
        e.u8(cfg)
        e.below(4, vcpus - 1)
        e.u8(1)                 # seed
        e.below(4, 0)           # psc_max_entries
        if cfg & 4:
            e.u64(0x3)
        e.below(4, len(launches))
        for page, size, typ in launches:
            e.below(1024 - 8, page - 8)
            e.below(4, size - 1)
            e.below(8, 1)       # not the 2M launch
            e.below(6, typ)
        return bytes(e.b) + ops

    def msr(vcpu, code_idx, data_small):
        e = Enc()
        e.below(8, 1)
        e.u8(vcpu)
        e.u8(0)                 # op 0: MSR protocol
        e.below(8, 1)
        e.below(9, code_idx)
        e.boolean(True)
        e.below(1024, data_small)
        if code_idx == 5:       # GHCB_MSR_PSC_REQ: data as is
            e.boolean(False)
        return bytes(e.b)

    # MSR protocol: every function code, register vCPU 0's GHCB (gfn 1)
    for i in range(9):
        s["msr-%d" % i] = world(ops=msr(0, i, 1) + msr(1, 4, 2) + msr(0, i, 0))

    def nae(vcpu, exit_idx, psc=None, raw=False, vb=0x3F):
        e = Enc()
        e.below(8, 1)
        e.u8(vcpu)
        e.u8(2)                 # op 2: GHCB NAE
        e.below(4, 1)           # this vCPU's GHCB
        e.u8(1 if raw else 0)
        if raw:
            for _ in range(8):
                e.u8(rnd.randrange(1, 256))
            e.u8(0)
        e.boolean(True)
        e.below(19, exit_idx)
        for _ in range(2):      # exit infos: small
            e.boolean(True)
            e.u8(0)
        e.u64(0x1F)             # rax
        e.u32(0x402)            # rcx
        e.u32(0)                # rdx
        e.u32(0)                # rbx
        e.boolean(True)         # xcr0 = 1
        e.u64(0)                # xss
        e.u8(0)                 # cpl
        e.u8(0x10)              # scratch: shared buffer ...
        e.u8(0)                 # ... + 0
        e.u8(vb)                # valid bits
        e.boolean(psc is not None)
        if psc is not None:
            e.below(12, len(psc))
            e.below(4, 0)
            e.u8(0)
            for page, op, big in psc:
                e.below(8, 7)   # a RAM page
                e.below(1024, page)
                e.boolean(True)
                e.below(2, op - 1)
                e.below(4, 0 if big else 1)
                e.below(8, 1)
                e.below(16, 1)
        e.below(4, 0)           # no stray bytes
        e.boolean(True)         # protocol version 2
        e.below(8, 1)
        return bytes(e.b)

    reg0 = msr(0, 4, 1)
    reg1 = msr(1, 4, 2)
    for i in range(19):
        s["nae-%02d" % i] = world(ops=reg0 + nae(0, i))
    s["psc-private-shared"] = world(ops=reg0 + nae(0, 12, psc=[(40, 1, False), (41, 1, False),
                                                              (40, 2, False)]))
    s["psc-2m"] = world(ops=reg0 + nae(0, 12, psc=[(512, 1, True), (513, 2, False),
                                                  (512, 2, True)]))
    s["psc-raw-page"] = world(ops=reg0 + nae(0, 12, raw=True, vb=0x90))
    s["ap-creation"] = world(vcpus=3, launches=((30, 1, 4),),
                             ops=reg0 + reg1 + nae(0, 15) + nae(1, 10))
    pval = bytes([1, 0, 6, 7]) + (300).to_bytes(4, "little") + bytes([1, 1])
    s["pvalidate-then-shared"] = world(ops=reg0 + nae(0, 12, psc=[(300, 1, False)]) + pval +
                                       nae(0, 12, psc=[(300, 2, False)]))
    for i in range(6):
        s["random-%d" % i] = bytes(rnd.randrange(256) for _ in range(64 + 48 * i))
    return s


def parsers_seeds():
    s = {}
    traces = os.path.join(ROOT, "traces")
    for sub in ("", "adversary", "zoo"):
        d = os.path.join(traces, sub)
        if not os.path.isdir(d):
            continue
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if n.endswith(".json"):
                s["scenario-%s%s" % (sub + "-" if sub else "", n[:-5])] = open(p, "rb").read()
    for n in ("conversions", "fault-psc-partial", "lazy-accept", "ap-creation"):
        p = os.path.join(traces, n + ".trace.jsonl")
        if os.path.exists(p):
            lines = open(p, "rb").read().split(b"\n")
            s["trace-head-" + n] = b"\n".join(lines[:40]) + b"\n"
    s["event-pvalidate"] = (b'{"seq":3,"kind":"pvalidate","vcpu":0,"gpa":"0x1000","spa":"0x1000",'
                            b'"page_2m":false,"validate":true,"result":"SUCCESS"}\n')
    s["event-violation"] = (b'{"seq":9,"kind":"violation","invariant":"double-validation",'
                            b'"gpa":"0x2000","cause_seq":8,"ref_seq":3}\n')
    s["event-psc-range"] = (b'{"seq":5,"seq_last":9,"kind":"psc_entry","gfn":"0x10",'
                            b'"npages":5,"op":"private","psc_status":0}\n')
    s["trace-minimal"] = b'{"snpsim_trace":1}\n' + s["event-pvalidate"] + s["event-violation"]
    s["trace-bad-version"] = b'{"snpsim_trace":99}\n'
    s["scenario-empty"] = b"{}"
    s["scenario-numbers"] = (b'{"snpsim_scenario":1,"machine":{"memory":[{"gpa":"0","size":"2M",'
                             b'"type":"ram"}],"ghcb":["0x1000"]},"program":[{"step":"boot"}],'
                             b'"faults":[{"trigger":"ghcb_psc","action":"partial","arg":"1K",'
                             b'"probability":0.5}]}')
    s["not-json"] = b"\x00\xff{[\n\n"
    return s


def main():
    check = "--check" in sys.argv[1:]
    sets = {"fuzz_pagestate": pagestate_seeds(), "fuzz_ghcb": ghcb_seeds(),
            "fuzz_parsers": parsers_seeds()}
    differ = False
    for harness, seeds in sets.items():
        d = os.path.join(OUT, harness)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            p = os.path.join(d, name)
            old = open(p, "rb").read() if os.path.exists(p) else None
            if old != data:
                differ = True
                if not check:
                    with open(p, "wb") as f:
                        f.write(data)
        print("%s: %d seeds" % (harness, len(seeds)))
    if check and differ:
        print("the corpus differs from make_corpus.py's output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
