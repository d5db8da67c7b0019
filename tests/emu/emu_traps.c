/* SPDX-License-Identifier: MIT */
/*
 * The engine's trap paths, one hand-written guest snippet each (snippets.S):
 * PVALIDATE, RMPADJUST, VMGEXIT, RDMSR/WRMSR (native and #VC), CPUID,
 * IN/OUT/INS/OUTS, WBINVD, RDRAND/RDSEED; every #VC error code the engine
 * delivers (0x72, 0x7B, 0x7C, 0x89, 0x400, 0x404) with its frame RIP and CR2;
 * a nested #VC; and failures that must end the run with a state dump and a
 * stop reason, never a hang (bad IDT, absent gate, unwritable IST stack, an
 * unhandled #UD, an endless loop against the budget).
 *
 * Usage: emu_traps NAME (one meson test per NAME), emu_traps --list, or
 * emu_traps --bench: the engine's benchmark (Meson benchmark()), JSON lines:
 *   emu.guest_insn_rate    M insn/s  store-heavy loop (1 store in 5 instructions)
 *   emu.vmgexit_roundtrip  ns        one GHCB-MSR request: WRMSR, VMGEXIT trap,
 *                                    the model's answer, resume (2 trapped insns)
 *   emu.boot_4g_eager      ms        guestfw's eager boot of a 4 GiB guest, emulated
 *   emu.boot_4g_eager_native ms      the same scenario under the native engine
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "machine.h"
#include "scenario.h"

/* snippets.S */
extern const uint8_t snip_start[], snip_end[], vc64[], vc64_nested_cpuid[];
extern const uint8_t t_cpuid[], t_cpuid_at[], t_msr[], t_msr_rd[], t_msr_wr[];
extern const uint8_t t_io[], t_io_a[], t_io_b[], t_io_c[], t_io_d[], t_io_e[], t_io_f[];
extern const uint8_t t_wbinvd[], t_wbinvd_at[], t_rdrand[], t_pvalidate[], t_pvalidate_at[];
extern const uint8_t t_rmpadjust[], t_vmgexit[], t_404[], t_404_at[], t_400[], t_400_at[];
extern const uint8_t t_nested[], t_nested_at[], t_ud[], t_spin[], t_stores[], t_vmgexit_loop[];

#define BASE EMU_FW_BASE
#define CBIT (1ull << EMU_CBIT)
#define OFF_GDT 0x10000u
#define OFF_IDT 0x11000u
#define OFF_TSS 0x12000u
#define OFF_STACK_TOP 0x30000u
#define OFF_IST_TOP 0x50000u
#define OFF_LOG 0x60000u
#define OFF_FLAGS 0x68000u
#define OFF_RES 0x70000u

/* A small SNP guest: RAM with a launched (validated) range at 8 MiB, MMIO at 0xA0000. */
static const char *scenario_json =
	"{\"snpsim_scenario\":1,\"name\":\"emu-traps\",\"seed\":7,"
	"\"machine\":{\"vcpus\":1,\"memory\":["
	"{\"gpa\":\"0x0\",\"size\":\"0xa0000\",\"type\":\"ram\"},"
	"{\"gpa\":\"0xa0000\",\"size\":\"0x20000\",\"type\":\"mmio\"},"
	"{\"gpa\":\"0xc0000\",\"size\":\"0x40000\",\"type\":\"reserved\"},"
	"{\"gpa\":\"0x100000\",\"size\":\"0x1f00000\",\"type\":\"ram\"}],"
	"\"launch\":[{\"gpa\":\"0x800000\",\"size\":\"0x9000\",\"type\":\"zero\"},"
	"{\"gpa\":\"0x80d000\",\"size\":\"0x1000\",\"type\":\"secrets\"},"
	"{\"gpa\":\"0x80e000\",\"size\":\"0x1000\",\"type\":\"cpuid\"}],"
	"\"ghcb\":[\"0x809000\"],\"vmsa_pool\":{\"gpa\":\"0x1001000\",\"pages\":4}},"
	"\"guest\":{},\"program\":[{\"step\":\"boot\"}]}";

typedef enum brk {
	BRK_NONE = 0,
	BRK_IDT_LIMIT,   /* IDTR limit below vector 29 */
	BRK_GATE_ABSENT, /* vector 29 not present */
	BRK_IST_BAD,     /* IST1 points at unmapped memory */
} brk_t;

typedef struct run {
	const uint8_t *entry;
	bool ist;      /* vector 29 on IST1 (else the current stack: nested #VC test) */
	bool quiet;    /* no event collection (benchmarks) */
	bool rdrand_sites; /* emu_opts_t.rdrand_sites: the newer-Unicorn trap path */
	bool nested;   /* FLAGS: the 0x7B handler runs a CPUID */
	brk_t brk;
	uint64_t budget;
	uint64_t rdi;
	/* results */
	uint8_t *fw;
	GPtrArray *events; /* sim_event_t copies */
	const machine_result_t *res;
	machine_result_t res_copy;
	char *dump;
	emu_stats_t stats;
	char crash[512];
	double secs; /* emu_run's wall time */
} run_t;

static uint64_t va_of(const uint8_t *sym)
{
	return BASE + (uint64_t)(sym - snip_start);
}

static void observe(void *ctx, const sim_event_t *ev)
{
	g_ptr_array_add(ctx, g_memdup2(ev, sizeof(*ev)));
}

static bool setup(emu_t *e, void *arg, GError **err)
{
	run_t *r = arg;
	uint8_t *fw = emu_map_engine_region(e, 1u << 20, err);
	if (!fw)
		return false;
	r->fw = fw;
	memcpy(fw, snip_start, (size_t)(snip_end - snip_start));
	uint64_t *gdt = (uint64_t *)(void *)(fw + OFF_GDT);
	uint64_t tss = BASE + OFF_TSS;
	gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code */
	gdt[2] = 0x00CF92000000FFFFull; /* data */
	gdt[3] = 0x0000890000000067ull | ((tss & 0xFFFFFFull) << 16) | ((tss >> 24 & 0xFF) << 56);
	gdt[4] = tss >> 32;
	uint64_t ist = r->brk == BRK_IST_BAD ? 0x7F00000000ull : BASE + OFF_IST_TOP;
	memcpy(fw + OFF_TSS + 0x24, &ist, 8);
	uint64_t *gate = (uint64_t *)(void *)(fw + OFF_IDT) + 2 * 29;
	uint64_t t = va_of(vc64);
	uint8_t type = r->brk == BRK_GATE_ABSENT ? 0x0E : 0x8E;
	gate[0] = (t & 0xFFFF) | (0x08ull << 16) | ((uint64_t)(r->ist ? 1 : 0) << 32) |
		  ((uint64_t)type << 40) | ((t >> 16 & 0xFFFF) << 48);
	gate[1] = t >> 32;
	if (r->nested)
		fw[OFF_FLAGS] = 1;
	emu_long_entry_t le = {.rip = va_of(r->entry), .rsp = BASE + OFF_STACK_TOP, .rdi = r->rdi,
			       .idt_base = BASE + OFF_IDT,
			       .idt_limit = r->brk == BRK_IDT_LIMIT ? 16 * 29 - 1 : 256 * 16 - 1,
			       .gdt_base = BASE + OFF_GDT, .gdt_limit = 5 * 8 - 1, .tr = 0x18,
			       .tss_base = tss};
	return emu_set_long_state(e, &le, err);
}

/* Runs one snippet; false (with a message) if the engine could not be set up. */
static bool run_snippet(run_t *r)
{
	GError *err = NULL;
	scenario_t *sc = scenario_load_string(scenario_json, "emu_traps", &err);
	if (!sc) {
		printf("scenario: %s\n", err->message);
		return false;
	}
	r->events = g_ptr_array_new_with_free_func(g_free);
	machine_opts_t mo = {.observe = r->quiet ? NULL : observe, .observe_ctx = r->events};
	machine_t *m = machine_new(sc, &mo, &err);
	char *dbuf = NULL;
	size_t dlen = 0;
	FILE *dump = open_memstream(&dbuf, &dlen);
	emu_opts_t eo = {.insn_budget = r->budget ? r->budget : 1000000, .dump = dump,
			 .rdrand_sites = r->rdrand_sites};
	emu_t *e = m ? emu_new(m, &eo, &err) : NULL;
	if (!e) {
		printf("engine: %s\n", err->message);
		g_error_free(err);
		fclose(dump);
		free(dbuf);
		machine_free(m);
		scenario_free(sc);
		return false;
	}
	gint64 t0 = g_get_monotonic_time();
	r->res = emu_run(e, setup, r);
	r->secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	r->res_copy = *r->res;
	r->res = &r->res_copy;
	r->stats = *emu_stats(e);
	snprintf(r->crash, sizeof(r->crash), "%s", emu_crash_reason(e) ? emu_crash_reason(e) : "");
	/* keep the engine region's contents past emu_free */
	r->fw = g_memdup2(r->fw, 1u << 20);
	emu_free(e);
	fclose(dump);
	r->dump = g_strndup(dbuf ? dbuf : "", dlen);
	free(dbuf);
	machine_free(m);
	scenario_free(sc);
	return true;
}

static void run_clear(run_t *r)
{
	if (r->events)
		g_ptr_array_free(r->events, TRUE);
	g_free(r->fw);
	g_free(r->dump);
}

static uint64_t res(const run_t *r, unsigned i)
{
	uint64_t v;
	memcpy(&v, r->fw + OFF_RES + 8 * i, 8);
	return v;
}

typedef struct vclog {
	uint64_t code, rip, cr2, rsp;
} vclog_t;

static uint64_t nlog(const run_t *r)
{
	uint64_t n;
	memcpy(&n, r->fw + OFF_LOG, 8);
	return n;
}

static vclog_t logent(const run_t *r, unsigned i)
{
	vclog_t l;
	memcpy(&l, r->fw + OFF_LOG + 8 + 32 * i, sizeof(l));
	return l;
}

static int failures;
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
			failures++;                                                        \
		}                                                                          \
	} while (0)

static bool completed(const run_t *r)
{
	return r->res->outcome == SIM_OUTCOME_COMPLETED;
}

static void expect_completed(const run_t *r)
{
	CHECK(completed(r), "outcome %s stop %u crash \"%s\"\n%s",
	      sim_outcome_to_string(r->res->outcome), r->res->stop, r->crash, r->dump);
}

/* The #VC events in the stream, in order. */
static GArray *vc_events(const run_t *r)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (guint i = 0; i < r->events->len; i++) {
		const sim_event_t *ev = r->events->pdata[i];
		if (ev->kind == SIM_EV_VC)
			g_array_append_val(a, ev->code);
	}
	return a;
}

static const sim_event_t *nth_event(const run_t *r, sim_ev_kind_t kind, unsigned n)
{
	for (guint i = 0; i < r->events->len; i++) {
		const sim_event_t *ev = r->events->pdata[i];
		if (ev->kind == kind && n-- == 0)
			return ev;
	}
	return NULL;
}

/* Exactly these #VCs were delivered, each with its RIP, and recorded in the stream. */
static void expect_vcs(const run_t *r, size_t n, const uint64_t *codes, const uint8_t *const *rips)
{
	CHECK(nlog(r) == n, "%" PRIu64 " #VCs delivered, want %zu", nlog(r), n);
	GArray *evs = vc_events(r);
	CHECK(evs->len == n, "%u #VC events, want %zu", evs->len, n);
	for (size_t i = 0; i < n && i < nlog(r); i++) {
		vclog_t l = logent(r, (unsigned)i);
		CHECK(l.code == codes[i], "#VC %zu: code %#" PRIx64 ", want %#" PRIx64, i, l.code,
		      codes[i]);
		if (rips[i])
			CHECK(l.rip == va_of(rips[i]), "#VC %zu: RIP %#" PRIx64 ", want %#" PRIx64, i,
			      l.rip, va_of(rips[i]));
		/* IST1: the handler's stack is the IST stack, 16-byte aligned frame */
		if (i < evs->len)
			CHECK(g_array_index(evs, uint64_t, i) == codes[i], "event %zu code %#" PRIx64, i,
			      g_array_index(evs, uint64_t, i));
	}
	g_array_free(evs, TRUE);
}

/* ------------------------------------------------------------------ tests */

static void test_cpuid(void)
{
	run_t r = {.entry = t_cpuid, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 1, (uint64_t[]){0x72}, (const uint8_t *[]){t_cpuid_at});
	vclog_t l = logent(&r, 0);
	CHECK(l.rsp < BASE + OFF_IST_TOP && l.rsp > BASE + OFF_IST_TOP - 0x1000,
	      "handler RSP %#" PRIx64 " not on IST1", l.rsp);
	CHECK(r.stats.vc_by_code[0] == 1 && r.stats.traps_cpuid == 1, "stats");
	run_clear(&r);
}

static void test_msr(void)
{
	run_t r = {.entry = t_msr, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	/* only the APIC_BASE read and write take #VC 0x7C */
	expect_vcs(&r, 2, (uint64_t[]){0x7C, 0x7C}, (const uint8_t *[]){t_msr_rd, t_msr_wr});
	CHECK(res(&r, 0) & (1u << 10), "EFER %#" PRIx64 " without LMA (not native)", res(&r, 0));
	CHECK(res(&r, 1) == 0x112345000ull, "GHCB MSR read back %#" PRIx64, res(&r, 1));
	CHECK(res(&r, 2) == 7, "SEV_STATUS %#" PRIx64 ", want the scenario's (7)", res(&r, 2));
	CHECK(res(&r, 3) == 0x7FABCD0000ull, "KERNEL_GS_BASE %#" PRIx64 " (native)", res(&r, 3));
	CHECK(r.stats.vc_by_code[2] == 2, "stats");
	run_clear(&r);
}

static void test_io(void)
{
	run_t r = {.entry = t_io, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 6, (uint64_t[]){0x7B, 0x7B, 0x7B, 0x7B, 0x7B, 0x7B},
		   (const uint8_t *[]){t_io_a, t_io_b, t_io_c, t_io_d, t_io_e, t_io_f});
	CHECK(r.stats.traps_io == 6, "traps_io %" PRIu64, r.stats.traps_io);
	run_clear(&r);
}

static void test_wbinvd(void)
{
	run_t r = {.entry = t_wbinvd, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 1, (uint64_t[]){0x89}, (const uint8_t *[]){t_wbinvd_at});
	run_clear(&r);
}

static void test_rdrand(void)
{
	run_t a = {.entry = t_rdrand, .ist = true}, b = {.entry = t_rdrand, .ist = true};
	if (!run_snippet(&a) || !run_snippet(&b)) {
		failures++;
		return;
	}
	expect_completed(&a);
	expect_vcs(&a, 0, NULL, NULL);
	CHECK(res(&a, 1) == 1, "RDRAND CF %" PRIu64, res(&a, 1));
	CHECK(res(&a, 0) != 0 && res(&a, 0) != res(&a, 3), "values %#" PRIx64 " %#" PRIx64,
	      res(&a, 0), res(&a, 3));
	CHECK(res(&a, 2) >> 32 == 0, "RDRAND r32 %#" PRIx64 " not zero-extended", res(&a, 2));
	CHECK(res(&a, 4) >> 16 == 0x111122223333ull, "RDRAND r16 %#" PRIx64 " clobbered the rest",
	      res(&a, 4));
	for (unsigned i = 0; i < 5; i++)
		CHECK(res(&a, i) == res(&b, i), "run-to-run difference at %u", i);
	CHECK(a.stats.traps_rdrand == 4, "traps_rdrand %" PRIu64, a.stats.traps_rdrand);
	run_clear(&a);
	run_clear(&b);
}

/* The newer-Unicorn path (RDRAND/RDSEED as code-hook sites) gives the #UD path's values. */
static void test_rdrand_site(void)
{
	run_t a = {.entry = t_rdrand, .ist = true},
	      b = {.entry = t_rdrand, .ist = true, .rdrand_sites = true};
	if (!run_snippet(&a) || !run_snippet(&b)) {
		failures++;
		return;
	}
	expect_completed(&b);
	for (unsigned i = 0; i < 5; i++)
		CHECK(res(&a, i) == res(&b, i), "site path differs from the #UD path at %u", i);
	CHECK(b.stats.traps_rdrand == 4 && b.stats.trap_sites >= 4, "traps_rdrand %" PRIu64
	      " sites %" PRIu64, b.stats.traps_rdrand, b.stats.trap_sites);
	run_clear(&a);
	run_clear(&b);
}

static void test_pvalidate(void)
{
	run_t r = {.entry = t_pvalidate, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	/* launched page: rescind (ok), validate (ok), validate again (ok, CF=1: unchanged) */
	CHECK(res(&r, 0) == 0 && res(&r, 1) == 0, "rescind: rax %#" PRIx64 " cf %" PRIu64,
	      res(&r, 0), res(&r, 1));
	CHECK(res(&r, 2) == 0 && res(&r, 3) == 0, "validate: rax %#" PRIx64 " cf %" PRIu64,
	      res(&r, 2), res(&r, 3));
	CHECK(res(&r, 4) == 0 && res(&r, 5) == 1, "again: rax %#" PRIx64 " cf %" PRIu64, res(&r, 4),
	      res(&r, 5));
	for (unsigned i = 0; i < 3; i++) {
		const sim_event_t *ev = nth_event(&r, SIM_EV_PVALIDATE, i);
		CHECK(ev && ev->gpa == 0x800000 && ev->validate == (i > 0) &&
			      ev->status.ret == res(&r, 2 * i) && ev->status.cf == res(&r, 2 * i + 1),
		      "PVALIDATE event %u disagrees with the registers", i);
	}
	CHECK(r.stats.traps_pvalidate == 3, "stats");
	run_clear(&r);
}

static void test_rmpadjust(void)
{
	run_t r = {.entry = t_rmpadjust, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	CHECK(res(&r, 0) == 0, "RMPADJUST VMPL1: rax %#" PRIx64, res(&r, 0));
	CHECK(res(&r, 1) != 0, "RMPADJUST of VMPL0 from VMPL0 succeeded");
	for (unsigned i = 0; i < 2; i++) {
		const sim_event_t *ev = nth_event(&r, SIM_EV_RMPADJUST, i);
		CHECK(ev && ev->gpa == 0x801000 && ev->status.ret == res(&r, i),
		      "RMPADJUST event %u disagrees with rAX", i);
	}
	run_clear(&r);
}

static void test_vmgexit(void)
{
	run_t r = {.entry = t_vmgexit, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	CHECK((res(&r, 0) & 0xFFF) == 0x001, "GHCB MSR after SEV-info request %#" PRIx64, res(&r, 0));
	const sim_event_t *ev = nth_event(&r, SIM_EV_MSR_PROTOCOL, 0);
	CHECK(ev != NULL, "no MSR-protocol event");
	CHECK(r.stats.traps_vmgexit == 1, "traps_vmgexit %" PRIu64, r.stats.traps_vmgexit);
	run_clear(&r);
}

static void test_vc404(void)
{
	run_t r = {.entry = t_404, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 1, (uint64_t[]){0x404}, (const uint8_t *[]){t_404_at});
	CHECK(logent(&r, 0).cr2 == (0x200000 | CBIT), "CR2 %#" PRIx64, logent(&r, 0).cr2);
	CHECK(res(&r, 1) == 1, "the access was not re-executed after the handler validated");
	const sim_event_t *ev = nth_event(&r, SIM_EV_VC, 0);
	CHECK(ev && ev->gpa == 0x200000, "#VC event gpa %#" PRIx64, ev ? ev->gpa : 0);
	CHECK(r.stats.vc_by_code[5] == 1, "stats");
	run_clear(&r);
}

static void test_vc400(void)
{
	run_t r = {.entry = t_400, .ist = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 1, (uint64_t[]){0x400}, (const uint8_t *[]){t_400_at});
	CHECK(logent(&r, 0).cr2 == 0xA0000, "CR2 %#" PRIx64, logent(&r, 0).cr2);
	CHECK(res(&r, 0) == 1, "RCX %" PRIu64 ": the block's earlier instructions ran twice", res(&r, 0));
	CHECK(r.stats.vc_by_code[4] == 1 && r.stats.imprecise_faults == 0, "stats");
	run_clear(&r);
}

static void test_nested(void)
{
	run_t r = {.entry = t_nested, .ist = false, .nested = true};
	if (!run_snippet(&r)) {
		failures++;
		return;
	}
	expect_completed(&r);
	expect_vcs(&r, 2, (uint64_t[]){0x7B, 0x72},
		   (const uint8_t *[]){t_nested_at, vc64_nested_cpuid});
	CHECK(logent(&r, 1).rsp < logent(&r, 0).rsp, "nested frame %#" PRIx64 " not below %#" PRIx64,
	      logent(&r, 1).rsp, logent(&r, 0).rsp);
	CHECK(res(&r, 0) == res(&r, 1), "RSP %#" PRIx64 " after both IRETQs, was %#" PRIx64,
	      res(&r, 1), res(&r, 0));
	run_clear(&r);
}

/* A failure that must stop the run with a state dump, not hang or crash the host. */
static void expect_stop(run_t *r, uint32_t stop, const char *reason)
{
	if (!run_snippet(r)) {
		failures++;
		return;
	}
	CHECK(r->res->outcome == SIM_OUTCOME_STOPPED && r->res->stop == stop,
	      "outcome %s stop %u, want stopped/%u", sim_outcome_to_string(r->res->outcome),
	      r->res->stop, stop);
	if (reason) {
		CHECK(strstr(r->crash, reason) != NULL, "crash \"%s\" lacks \"%s\"", r->crash, reason);
		CHECK(strstr(r->dump, "rip") && strstr(r->dump, "ghcb msr") &&
			      strstr(r->dump, "code at"),
		      "no state dump:\n%s", r->dump);
	}
	run_clear(r);
}

static void test_bad_idt(void)
{
	expect_stop(&(run_t){.entry = t_cpuid, .ist = true, .brk = BRK_IDT_LIMIT},
		    SIM_STOP_GUEST_EXCEPTION, "outside IDTR");
}

static void test_gate_absent(void)
{
	expect_stop(&(run_t){.entry = t_cpuid, .ist = true, .brk = BRK_GATE_ABSENT},
		    SIM_STOP_GUEST_EXCEPTION, "not present");
}

static void test_bad_ist(void)
{
	expect_stop(&(run_t){.entry = t_cpuid, .ist = true, .brk = BRK_IST_BAD},
		    SIM_STOP_GUEST_EXCEPTION, "not writable");
}

static void test_ud(void)
{
	expect_stop(&(run_t){.entry = t_ud, .ist = true}, SIM_STOP_GUEST_EXCEPTION, "#UD");
}

static void test_budget(void)
{
	run_t r = {.entry = t_spin, .ist = true, .budget = 200000};
	expect_stop(&r, SIM_STOP_BUDGET, NULL);
}

/* ------------------------------------------------------------------ benchmark */

static void metric(const char *name, double value, const char *unit)
{
	printf("{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", name, value, unit);
	fflush(stdout);
}

/* guestfw's eager boot of 4 GiB (2 low, 2 above 4 GiB): ms, best of n. */
static double boot_4g_ms(bool emu, int n)
{
	double best = 1e12;
	for (int i = 0; i < n; i++) {
		scenario_t *sc = scenario_default();
		g_array_set_size(sc->mem, 0);
		gfw_mem_entry_t mem[] = {
			{0, 2ull << 30, GFW_MEM_RAM},
			{2ull << 30, 2ull << 30, GFW_MEM_MMIO},
			{4ull << 30, 2ull << 30, GFW_MEM_RAM},
		};
		g_array_append_vals(sc->mem, mem, 3);
		sc->policy.lazy = GFW_LAZY_NONE;
		sc->vcpus = 1; /* the engine runs the BSP only */
		g_array_set_size(sc->program[0], 0);
		gfw_step_t boot = {.kind = GFW_STEP_BOOT};
		g_array_append_val(sc->program[0], boot);
		GError *err = NULL;
		machine_t *m = machine_new(sc, &(machine_opts_t){0}, &err);
		emu_t *e = m && emu ? emu_new(m, &(emu_opts_t){0}, &err) : NULL;
		if (!m || (emu && !e)) {
			fprintf(stderr, "bench: %s\n", err->message);
			exit(1);
		}
		gint64 t0 = g_get_monotonic_time();
		const machine_result_t *r = emu ? emu_run_guestfw(e, &err) : machine_run(m);
		double ms = (double)(g_get_monotonic_time() - t0) / 1e3;
		if (!r || r->outcome != SIM_OUTCOME_COMPLETED || r->violations) {
			fprintf(stderr, "bench: the 4 GiB boot (%s) did not complete cleanly: %s %s\n",
				emu ? "emu" : "native", r ? sim_outcome_to_string(r->outcome) : "",
				r ? "" : err->message);
			exit(1);
		}
		best = ms < best ? ms : best;
		emu_free(e);
		machine_free(m);
		scenario_free(sc);
	}
	return best;
}

static int bench(void)
{
	run_t r = {.entry = t_stores, .ist = true, .quiet = true, .rdi = 20000000,
		   .budget = 1ull << 40};
	if (!run_snippet(&r) || !completed(&r)) {
		fprintf(stderr, "bench: store loop failed: %s\n", r.crash);
		return 1;
	}
	metric("emu.guest_insn_rate", (double)r.stats.guest_insns / r.secs / 1e6, "M insn/s");
	run_clear(&r);
	const uint64_t n = 200000;
	r = (run_t){.entry = t_vmgexit_loop, .ist = true, .quiet = true, .rdi = n,
		    .budget = 1ull << 40};
	if (!run_snippet(&r) || !completed(&r) || r.stats.traps_vmgexit != n) {
		fprintf(stderr, "bench: VMGEXIT loop failed: %s\n", r.crash);
		return 1;
	}
	metric("emu.vmgexit_roundtrip", r.secs * 1e9 / (double)n, "ns");
	run_clear(&r);
	metric("emu.boot_4g_eager", boot_4g_ms(true, 3), "ms");
	metric("emu.boot_4g_eager_native", boot_4g_ms(false, 3), "ms");
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{"cpuid", test_cpuid},       {"msr", test_msr},
	{"io", test_io},             {"wbinvd", test_wbinvd},
	{"rdrand", test_rdrand},     {"rdrand_site", test_rdrand_site},
	{"pvalidate", test_pvalidate},
	{"rmpadjust", test_rmpadjust}, {"vmgexit", test_vmgexit},
	{"vc404", test_vc404},       {"vc400", test_vc400},
	{"nested", test_nested},     {"bad_idt", test_bad_idt},
	{"gate_absent", test_gate_absent}, {"bad_ist", test_bad_ist},
	{"ud", test_ud},             {"budget", test_budget},
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME|--list|--all\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "--bench") == 0)
		return bench();
	bool all = strcmp(argv[1], "--all") == 0, found = false;
	for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
		if (strcmp(argv[1], "--list") == 0) {
			printf("%s\n", tests[i].name);
			found = true;
		} else if (all || strcmp(argv[1], tests[i].name) == 0) {
			int before = failures;
			tests[i].fn();
			printf("%s: %s\n", tests[i].name, failures == before ? "ok" : "FAILED");
			found = true;
		}
	}
	if (!found) {
		fprintf(stderr, "%s: no test %s\n", argv[0], argv[1]);
		return 2;
	}
	return failures ? 1 : 0;
}
