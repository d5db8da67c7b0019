/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pagestate: bytes -> a small guest (memory map, launch ranges, policy),
 * a guest program and a fault plan, built directly as a scenario_t, run
 * in-process on the native machine with the CORRECT guest (no guest bug), under
 * the invariant checker. The input is the hypervisor's misbehaviour; the
 * question is whether any of it makes the correct guest break a rule that only
 * the guest can break.
 *
 * Which invariants the correct guest must keep whatever the hypervisor does
 * (sim/checker.h, sim/checker.c), and why:
 *
 *  double-validation    fires on a successful PVALIDATE(validate) (CF=0, or
 *                       CF=1) of a GPA the checker's ledger holds validated.
 *                       The ledger holds exactly what launch validated plus the
 *                       guest's own successful PVALIDATEs minus its successful
 *                       rescinds: the hypervisor cannot change it. Which GPAs the
 *                       guest validates depends only on its program and its own
 *                       state: PSC entries are built in, and PVALIDATE reads from,
 *                       the guest's private copy (never the shared buffer), and
 *                       launch ranges and GHCBs are skipped at pre-validation. So
 *                       with a well-formed program (below) no hypervisor
 *                       behaviour can make it fire: it is a guest bug.
 *  validate-unrequested fires on a successful CF=0 PVALIDATE(validate) of a page
 *                       no PSC "private" entry (reported with status 0) or launch
 *                       covered since the last "shared" one. The correct guest
 *                       PVALIDATEs a page only after its own PSC request for that
 *                       page completed with success (GHCB: SW_EXITINFO1/2 = 0 and
 *                       cur_entry past end_entry, which it checks; MSR: response
 *                       data 0). The PSC entry events are the hypervisor's own
 *                       record of the entries it answered, so a request answered
 *                       "done" is a requested page even when the hypervisor lied
 *                       (ignore, wrong_gfn): those lies show up as psc-view, not
 *                       here. A guest that validates before or without a
 *                       completed PSC is buggy. This needs the guest to ask for
 *                       its own pages every time: a re-issued PSC must not carry
 *                       entries the hypervisor rewrote in the shared buffer
 *                       (the first finding, fixed in guestfw/psc.c); and an
 *                       MSR-protocol PSC counts as done when its answer on the
 *                       wire says so, whatever the hypervisor's entry event
 *                       records (the third finding, fixed in sim/checker.c).
 *  unvalidated-access   fires on a #VC 0x404 (a private access to a page that is
 *                       not validated) at a GPA the ledger does not hold validated,
 *                       not resolved by the lazy-accept path. The correct guest
 *                       accesses privately only pages it holds validated (where a
 *                       0x404 means the hypervisor took the validation away: the
 *                       checker then stays quiet and the guest terminates) or
 *                       unaccepted lazy units (the lazy path). Nothing the
 *                       hypervisor does makes it touch anything else. A #VC
 *                       the hypervisor injects is no access at all (the
 *                       second finding: the checker counted one; fixed in
 *                       sim/checker.c).
 *
 * Which invariants the hypervisor CAN break, so this harness does not abort on
 * them:
 *  psc-view             "ignore" and "wrong_gfn" report a PSC done that was not
 *                       (or was done elsewhere); the guest notices only at
 *                       PVALIDATE, or not at all with implicit conversion.
 *  accepted-validated-once  "revoke", "remap_replay", "psmash_behind"+"revoke",
 *                       "wrong_gfn" change the RMP behind the guest's back after it
 *                       accepted a page it never touches again.
 *
 * A well-formed program: the harness keeps the guest's own view of every page
 * (private, shared, unaccepted, pinned) and emits only conversions and touches
 * that view allows: "shared" of private or unaccepted pages, "private" of
 * shared pages, private touches of private or unaccepted pages, nothing that
 * converts a GHCB, the CPUID or secrets page or the VMSA pool. Converting a
 * page to the state it is already in is a program error (the guest terminates
 * on CF=1 and the checker counts the attempt), not a hypervisor attack.
 *
 * Also findings: any crash, sanitizer report, or a run that ends on the event
 * budget (a guest loop the hypervisor can keep going forever: every retry loop
 * must be bounded). Memory maps are kept small (a few dozen 4 KiB pages and at
 * most two 2 MiB units) so one execution is short.
 */
#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "machine.h"
#include "scenario.h"

/* ------------------------------------------------------------------ layout */

#define LOW_MAX 40u                  /* pages of low RAM at GPA 0 */
#define HIGH_UNITS_MAX 2u            /* 2 MiB units of high RAM */
#define HIGH_EXTRA_MAX 3u            /* 4 KiB pages after them (an unaligned tail) */
#define HIGH_LOW_GPA 0x200000ull     /* high RAM here, or ... */
#define HIGH_4G_GPA 0x100000000ull   /* ... above 4 GiB (lazy "above_4g") */
#define MMIO_GPA 0xA0000ull
#define MAX_PAGES (LOW_MAX + HIGH_UNITS_MAX * SNP_PAGES_PER_2M + HIGH_EXTRA_MAX)
#define MAX_STEPS 16u
#define MAX_AP_STEPS 4u
#define MAX_FAULTS 4u
#define EVENT_BUDGET (1ull << 20)

enum { PG_PRIVATE = 0, PG_SHARED, PG_UNACCEPTED };

typedef struct layout {
	uint32_t nlow;        /* pages at [0, nlow * 4K) */
	uint64_t high_gpa;    /* 0: no high RAM */
	uint32_t nhigh;       /* pages of high RAM */
	bool mmio;
	uint8_t st[MAX_PAGES]; /* the guest's view, PG_* */
	bool pinned[MAX_PAGES]; /* GHCB, CPUID, secrets, VMSA pool: never converted */
} layout_t;

static uint32_t npages_total(const layout_t *l)
{
	return l->nlow + l->nhigh;
}

static uint64_t slot_gpa(const layout_t *l, uint32_t slot)
{
	return slot < l->nlow ? (uint64_t)slot * SNP_PAGE_SIZE
			      : l->high_gpa + (uint64_t)(slot - l->nlow) * SNP_PAGE_SIZE;
}

/* slots [s, s + n) of one region: high slots of one unit share a 2 MiB unit */
static uint32_t unit_of(const layout_t *l, uint32_t slot)
{
	return (slot - l->nlow) / SNP_PAGES_PER_2M;
}

/* Accepting any page of an unaccepted unit accepts the whole unit (guestfw accept.c). */
static void accept_slots(layout_t *l, uint32_t s, uint32_t n)
{
	for (uint32_t i = s; i < s + n; i++) {
		if (l->st[i] != PG_UNACCEPTED)
			continue;
		uint32_t u = unit_of(l, i), first = l->nlow + u * SNP_PAGES_PER_2M;
		for (uint32_t k = first; k < first + SNP_PAGES_PER_2M; k++)
			l->st[k] = PG_PRIVATE;
	}
}

/* A range inside one region: [*s, *s + *n). */
static void pick_range(fz_t *f, const layout_t *l, bool low_only, uint32_t *s, uint32_t *n)
{
	bool high = l->nhigh && !low_only && fz_bool(f);
	if (!high) {
		*s = fz_below(f, l->nlow);
		*n = 1 + fz_below(f, 8);
		if (*s + *n > l->nlow)
			*n = l->nlow - *s;
		return;
	}
	uint32_t units = l->nhigh / SNP_PAGES_PER_2M;
	if (units && fz_bool(f)) { /* whole 2 MiB units: 2M PSC entries and PVALIDATEs */
		uint32_t u = fz_below(f, units);
		*s = l->nlow + u * SNP_PAGES_PER_2M;
		*n = SNP_PAGES_PER_2M * (u + 1 < units && fz_bool(f) ? 2u : 1u);
		return;
	}
	*s = l->nlow + fz_below(f, l->nhigh);
	*n = 1 + fz_below(f, 8);
	if (*s + *n > npages_total(l))
		*n = npages_total(l) - *s;
}

static bool range_all(const layout_t *l, uint32_t s, uint32_t n, bool shared_ok, bool private_ok,
		      bool unaccepted_ok)
{
	for (uint32_t i = s; i < s + n; i++) {
		if (l->pinned[i])
			return false;
		if ((l->st[i] == PG_SHARED && !shared_ok) || (l->st[i] == PG_PRIVATE && !private_ok) ||
		    (l->st[i] == PG_UNACCEPTED && !unaccepted_ok))
			return false;
	}
	return true;
}

static void add_step(GArray *prog, uint32_t kind, uint32_t arg, uint64_t gpa, uint64_t size)
{
	gfw_step_t st = {.kind = kind, .arg = arg, .gpa = gpa, .size = size};
	g_array_append_val(prog, st);
}

static const uint32_t cpuid_leaves[] = {0, 1, 7, 0x80000000u, 0x80000001u, 0x80000008u,
					CPUID_FN_SEV, 0x40000000u};

/* One step of the BSP's program, kept well-formed against the guest's view. */
static void bsp_step(fz_t *f, layout_t *l, GArray *prog, bool low_only)
{
	uint32_t s, n;
	switch (fz_below(f, 8)) {
	case 0:
	case 1: /* private -> shared */
		pick_range(f, l, low_only, &s, &n);
		if (!range_all(l, s, n, false, true, true))
			return;
		add_step(prog, GFW_STEP_SHARED, 0, slot_gpa(l, s), (uint64_t)n * SNP_PAGE_SIZE);
		accept_slots(l, s, n);
		memset(&l->st[s], PG_SHARED, n);
		return;
	case 2:
	case 3: /* shared -> private */
		pick_range(f, l, low_only, &s, &n);
		if (!range_all(l, s, n, true, false, false))
			return;
		add_step(prog, GFW_STEP_PRIVATE, 0, slot_gpa(l, s), (uint64_t)n * SNP_PAGE_SIZE);
		memset(&l->st[s], PG_PRIVATE, n);
		return;
	case 4:
		pick_range(f, l, false, &s, &n);
		add_step(prog, GFW_STEP_ACCEPT, 0, slot_gpa(l, s), (uint64_t)n * SNP_PAGE_SIZE);
		accept_slots(l, s, n);
		return;
	case 5:
	case 6: { /* touch: shared anywhere, private only where the guest holds it (or lazily) */
		uint32_t arg = fz_u8(f) & 3u;
		if (l->mmio && fz_below(f, 8) == 0) {
			add_step(prog, GFW_STEP_TOUCH, arg, MMIO_GPA, 8);
			return;
		}
		pick_range(f, l, false, &s, &n);
		if (!(arg & 2u)) {
			if (l->st[s] == PG_SHARED)
				arg |= 2u; /* the guest knows it is shared: it uses a shared mapping */
			accept_slots(l, s, 1);
		}
		add_step(prog, GFW_STEP_TOUCH, arg, slot_gpa(l, s) + (fz_u8(f) & 0xF8u), 8);
		return;
	}
	default:
		if (fz_below(f, 4) == 0) {
			add_step(prog, GFW_STEP_PRINT, fz_below(f, 64), 0, 0);
			return;
		}
		add_step(prog, GFW_STEP_CPUID, cpuid_leaves[fz_below(f, G_N_ELEMENTS(cpuid_leaves))],
			 0, 0);
		return;
	}
}

/* An AP only accepts and touches high RAM, which the BSP does not convert with 2 vCPUs. */
static void ap_step(fz_t *f, layout_t *l, GArray *prog)
{
	uint32_t s, n;
	if (!l->nhigh || fz_below(f, 4) == 0) {
		add_step(prog, GFW_STEP_CPUID, CPUID_FN_SEV, 0, 0);
		return;
	}
	s = l->nlow + fz_below(f, l->nhigh);
	n = 1 + fz_below(f, 4);
	if (s + n > npages_total(l))
		n = npages_total(l) - s;
	if (fz_bool(f))
		add_step(prog, GFW_STEP_ACCEPT, 0, slot_gpa(l, s), (uint64_t)n * SNP_PAGE_SIZE);
	else
		add_step(prog, GFW_STEP_TOUCH, fz_u8(f) & 1u, slot_gpa(l, s), 8);
	/* the AP's accepts race the BSP's: the view keeps "private or unaccepted" either way */
}

/* ------------------------------------------------------------------ the fault plan */

#define T(t) (1u << (t))
/* The triggers each action can act on (hv_model/fault.c); others are refused by the plan. */
static const uint32_t action_triggers[] = {
	[HV_ACT_FAIL] = T(HV_TRIG_MSR_PSC) | T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_GHCB_REGISTER) |
			T(HV_TRIG_SEV_INFO) | T(HV_TRIG_HV_FEATURES) | T(HV_TRIG_MSR_ANY) |
			T(HV_TRIG_NAE) | T(HV_TRIG_VMGEXIT),
	[HV_ACT_IGNORE] = T(HV_TRIG_MSR_PSC) | T(HV_TRIG_GHCB_REGISTER) | T(HV_TRIG_MSR_ANY) |
			  T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_NAE) | T(HV_TRIG_VMGEXIT),
	[HV_ACT_PARTIAL] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_NO_PROGRESS] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_CUR_ENTRY_BACK] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_END_ENTRY_CHANGE] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_RESERVED_BITS] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_WRONG_GFN] = T(HV_TRIG_MSR_PSC) | T(HV_TRIG_GHCB_PSC),
	[HV_ACT_FORCE_4K] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_PSMASH_BEHIND] = T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_MSR_PSC) | T(HV_TRIG_PAGE_ACCESS),
	[HV_ACT_REMAP_REPLAY] = T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_MSR_PSC) | T(HV_TRIG_PAGE_ACCESS),
	[HV_ACT_REVOKE] = T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_MSR_PSC) | T(HV_TRIG_PAGE_ACCESS),
	[HV_ACT_REWRITE_BUFFER] = T(HV_TRIG_GHCB_PSC),
	[HV_ACT_MSR_GARBAGE] = T(HV_TRIG_SEV_INFO) | T(HV_TRIG_HV_FEATURES) |
			       T(HV_TRIG_GHCB_REGISTER) | T(HV_TRIG_MSR_PSC) | T(HV_TRIG_MSR_ANY),
	[HV_ACT_MSR_WRONG_CODE] = T(HV_TRIG_SEV_INFO) | T(HV_TRIG_HV_FEATURES) |
				  T(HV_TRIG_GHCB_REGISTER) | T(HV_TRIG_MSR_PSC) |
				  T(HV_TRIG_MSR_ANY),
	[HV_ACT_INJECT_VC] = T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_MSR_PSC) | T(HV_TRIG_PAGE_ACCESS) |
			     T(HV_TRIG_NAE) | T(HV_TRIG_VMGEXIT) | T(HV_TRIG_MSR_ANY),
};
#undef T

static const uint64_t vc_codes[] = {SVM_EXIT_VMPL_NOT_VALIDATED, SVM_EXIT_NPF, SVM_EXIT_CPUID,
				    SVM_EXIT_IOIO, SVM_EXIT_MSR, 0x29 /* no instruction raises it */};
static const uint32_t nae_codes[] = {0, SVM_VMGEXIT_PSC, SVM_VMGEXIT_HV_FEATURES,
				     SVM_VMGEXIT_AP_CREATION, SVM_EXIT_IOIO};

static uint64_t fault_arg(fz_t *f, hv_action_t a)
{
	uint8_t sel = fz_u8(f);
	if (sel >= 0xE0) /* now and then anything at all */
		return fz_u64(f);
	switch (a) {
	case HV_ACT_FAIL: {
		static const uint64_t v[] = {0, 1, 2, 3, 0x100000000ull};
		return v[sel % G_N_ELEMENTS(v)];
	}
	case HV_ACT_PARTIAL:
	case HV_ACT_CUR_ENTRY_BACK:
		return sel % 5;
	case HV_ACT_END_ENTRY_CHANGE: {
		static const uint64_t v[] = {1, 2, 0xFFFF, 0x100};
		return v[sel % G_N_ELEMENTS(v)];
	}
	case HV_ACT_WRONG_GFN: {
		static const uint64_t v[] = {1, 2, 0x200, 0xFFFFFFFFFFull, 0x100};
		return v[sel % G_N_ELEMENTS(v)];
	}
	case HV_ACT_REVOKE:
		return sel & 1u;
	case HV_ACT_INJECT_VC:
		return vc_codes[sel % G_N_ELEMENTS(vc_codes)];
	case HV_ACT_MSR_WRONG_CODE:
		return sel % 3 == 0 ? 0 : sel;
	default:
		return sel;
	}
}

static void add_fault(fz_t *f, const layout_t *l, GArray *faults)
{
	hv_fault_t ft = {0};
	ft.action = (hv_action_t)(1 + fz_below(f, HV_ACT_INJECT_VC));
	uint32_t allowed = action_triggers[ft.action], pick = fz_below(f, 32), t = 0;
	/* the pick-th allowed trigger, round and round */
	for (uint32_t seen = 0;; t = t % HV_TRIG_VMGEXIT + 1) {
		if (t && (allowed & (1u << t)) && seen++ == pick)
			break;
	}
	ft.trigger = (hv_trigger_t)t;
	if (ft.trigger == HV_TRIG_NAE)
		ft.exit_code = nae_codes[fz_below(f, G_N_ELEMENTS(nae_codes))];
	uint8_t when = fz_u8(f);
	ft.nth = when & 3u;                  /* 0: every occurrence, else the 1st .. 3rd */
	ft.max_fires = (when >> 2) & 3u;     /* 0: unlimited */
	if ((when >> 4) == 0xF)
		ft.prob_ppm = 500000;
	ft.arg = fault_arg(f, ft.action);
	if (ft.action == HV_ACT_WRONG_GFN && ft.arg == 0)
		ft.arg = 1;
	ft.gfn = HV_GFN_FROM_TRIGGER;
	uint8_t where = fz_u8(f);
	if (where & 1u) { /* only requests touching one page of the map */
		uint64_t gfn = slot_gpa(l, fz_below(f, npages_total(l))) >> SNP_PAGE_SHIFT;
		ft.gfn_first = gfn;
		ft.gfn_last = gfn;
	}
	if (where & 2u) /* a side effect aimed at another page of the map */
		ft.gfn = slot_gpa(l, fz_below(f, npages_total(l))) >> SNP_PAGE_SHIFT;
	g_array_append_val(faults, ft);
}

/* ------------------------------------------------------------------ the scenario */

static uint32_t place(fz_t *f, layout_t *l)
{
	uint32_t s = fz_below(f, l->nlow);
	for (uint32_t i = 0; i < l->nlow; i++) {
		uint32_t k = (s + i) % l->nlow;
		if (k != 0 && !l->pinned[k]) { /* GPA 0 means "none" for GHCBs */
			l->pinned[k] = true;
			return k;
		}
	}
	return 0;
}

static scenario_t *build(fz_t *f)
{
	scenario_t *sc = scenario_new();
	layout_t *l = g_new0(layout_t, 1);
	g_free(sc->origin);
	sc->origin = g_strdup("fuzz_pagestate");
	g_free(sc->name);
	sc->name = g_strdup("fuzz-pagestate");
	g_free(sc->description);
	sc->description = g_strdup("built by tests/fuzz/fuzz_pagestate.c from a fuzz input");

	uint8_t flags = fz_u8(f), flags2 = fz_u8(f);
	sc->seed = fz_u8(f);
	sc->vcpus = (flags2 & 0x80u) ? 2 : 1;
	l->nlow = 8 + fz_below(f, LOW_MAX - 8 + 1);
	uint32_t units = fz_below(f, 4); /* 0, 1, 1, 2 */
	units = units == 3 ? 2 : units == 2 ? 1 : units;
	uint32_t extra = fz_below(f, HIGH_EXTRA_MAX + 1);
	if (units || extra) {
		l->high_gpa = (flags2 & 1u) ? HIGH_4G_GPA : HIGH_LOW_GPA;
		l->nhigh = units * SNP_PAGES_PER_2M + extra;
	}
	l->mmio = flags2 & 2u;

	/* guest policy */
	sc->policy.use_2m = flags & 1u;
	sc->policy.msr_only = (flags & 0x0Eu) == 0x0Eu;
	sc->policy.evict_touch = flags & 0x10u;
	static const uint32_t batches[] = {VMGEXIT_PSC_MAX_ENTRY, 1, 2, 3, 5, 16, 64, 253};
	sc->policy.batch = batches[fz_below(f, G_N_ELEMENTS(batches))];
	sc->policy.psc_retries = 1 + fz_below(f, 20); /* the scenario format wants >= 1 */
	/* hypervisor */
	sc->psc_max_entries = fz_below(f, 4);
	sc->strict_psc_ops = flags & 0x20u;
	sc->implicit_conversion = !(flags & 0x40u);
	uint8_t odd = fz_u8(f);
	if (odd == 0xF1)
		sc->proto_min = sc->proto_max = 1; /* no SNP protocol */
	if (odd == 0xF2)
		sc->features = GHCB_HV_FT_SNP; /* no AP creation */
	if (odd == 0xF3)
		sc->sev_status &= ~MSR_AMD64_SEV_SNP_ENABLED;
	sc->sched_seed = 1 + (flags2 >> 4);
	sc->preempt_ppm = (flags2 & 4u) ? 300000 : 0;

	/* memory map */
	gfw_mem_entry_t low = {0, (uint64_t)l->nlow * SNP_PAGE_SIZE, GFW_MEM_RAM};
	g_array_append_val(sc->mem, low);
	if (l->mmio) {
		gfw_mem_entry_t mm = {MMIO_GPA, SNP_PAGE_SIZE, GFW_MEM_MMIO};
		g_array_append_val(sc->mem, mm);
	}
	if (l->nhigh) {
		gfw_mem_entry_t hi = {l->high_gpa, (uint64_t)l->nhigh * SNP_PAGE_SIZE, GFW_MEM_RAM};
		g_array_append_val(sc->mem, hi);
	}

	/* special pages in low RAM; everything else starts private (pre-validated) */
	sc->ghcb[0] = slot_gpa(l, place(f, l));
	l->st[sc->ghcb[0] >> SNP_PAGE_SHIFT] = PG_SHARED;
	if (sc->vcpus == 2) {
		sc->ghcb[1] = slot_gpa(l, place(f, l));
		l->st[sc->ghcb[1] >> SNP_PAGE_SHIFT] = PG_SHARED;
		uint32_t v = place(f, l);
		sc->vmsa_pool_gpa = slot_gpa(l, v);
		sc->vmsa_pool_pages = 1;
	}
	if (flags & 0x80u) {
		sc_launch_t c = {slot_gpa(l, place(f, l)), SNP_PAGE_SIZE, KVM_SEV_SNP_PAGE_TYPE_CPUID};
		g_array_append_val(sc->launch, c);
	}
	if (flags2 & 8u) {
		sc_launch_t s = {slot_gpa(l, place(f, l)), SNP_PAGE_SIZE,
				 KVM_SEV_SNP_PAGE_TYPE_SECRETS};
		g_array_append_val(sc->launch, s);
	}
	uint32_t nzero = fz_below(f, 4); /* a zero-page launch range, convertible */
	if (nzero) {
		uint32_t s = fz_below(f, l->nlow);
		uint32_t n = 0;
		while (n < nzero && s + n < l->nlow && !l->pinned[s + n] && s + n != 0)
			n++;
		if (n) {
			sc_launch_t z = {slot_gpa(l, s), (uint64_t)n * SNP_PAGE_SIZE,
					 KVM_SEV_SNP_PAGE_TYPE_ZERO};
			g_array_append_val(sc->launch, z);
		}
	}

	/* lazy high RAM: whole units stay unaccepted, the unaligned tail is accepted at boot */
	if (l->nhigh && (flags2 & 0x10u) && units) {
		if (l->high_gpa >= HIGH_4G_GPA) {
			sc->policy.lazy = GFW_LAZY_ABOVE_4G;
		} else {
			sc->policy.lazy = GFW_LAZY_RANGES;
			gfw_range_t r = {l->high_gpa, (uint64_t)l->nhigh * SNP_PAGE_SIZE};
			g_array_append_val(sc->lazy, r);
		}
		memset(&l->st[l->nlow], PG_UNACCEPTED, units * SNP_PAGES_PER_2M);
	}

	/* programs */
	bool two = sc->vcpus == 2;
	add_step(sc->program[0], GFW_STEP_BOOT, 0, 0, 0);
	uint32_t nsteps = fz_below(f, MAX_STEPS + 1);
	uint32_t ap_at = two ? fz_below(f, nsteps + 1) : UINT32_MAX;
	bool ap_created = false;
	for (uint32_t i = 0; i < nsteps && fz_left(f); i++) {
		if (i == ap_at) {
			add_step(sc->program[0], GFW_STEP_CREATE_AP, 1, 0, 0);
			ap_created = true;
		}
		bsp_step(f, l, sc->program[0], two);
	}
	if (two) {
		if (!ap_created)
			add_step(sc->program[0], GFW_STEP_CREATE_AP, 1, 0, 0);
		add_step(sc->program[1], GFW_STEP_BOOT, 0, 0, 0);
		uint32_t n = fz_below(f, MAX_AP_STEPS + 1);
		for (uint32_t i = 0; i < n; i++)
			ap_step(f, l, sc->program[1]);
	}

	/* the fault plan: what the hypervisor does wrong */
	uint32_t nf = fz_below(f, MAX_FAULTS + 1);
	for (uint32_t i = 0; i < nf; i++)
		add_fault(f, l, sc->faults);
	g_free(l);
	return sc;
}

/* ------------------------------------------------------------------ scenario output */

static void emit_scenario(const scenario_t *sc)
{
	const char *path = getenv(FZ_EMIT_ENV);
	if (!path || !*path)
		return;
	char *json = scenario_to_json(sc, true);
	GError *err = NULL;
	char *text = g_strconcat(json, "\n", NULL);
	if (!g_file_set_contents(path, text, -1, &err)) {
		fprintf(stderr, "fuzz_pagestate: cannot write %s: %s\n", path, err->message);
		g_error_free(err);
	} else {
		fprintf(stderr, "fuzz_pagestate: scenario written to %s\n", path);
	}
	g_free(text);
	g_free(json);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_tune_malloc();
	const char *one_file = NULL;
	bool replay = false;
	int inputs = 0;
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];
		if (g_str_has_prefix(a, "--emit-scenario="))
			g_setenv(FZ_EMIT_ENV, a + strlen("--emit-scenario="), TRUE);
		else if (g_str_has_prefix(a, "-runs="))
			replay = true;
		else if (a[0] != '-' && g_file_test(a, G_FILE_TEST_IS_REGULAR) && inputs++ == 0)
			one_file = a;
	}
	/* libFuzzer replaying one crash file: keep the scenario beside it */
	if (replay && inputs == 1 && !getenv(FZ_EMIT_ENV)) {
		char *out = g_strconcat(one_file, ".scenario.json", NULL);
		g_setenv(FZ_EMIT_ENV, out, TRUE);
		g_free(out);
	}
	return 0;
}

/* ------------------------------------------------------------------ the oracle */

static const sim_invariant_t guest_invariants[] = {
	SIM_INV_DOUBLE_VALIDATION,
	SIM_INV_VALIDATE_UNREQUESTED,
	SIM_INV_UNVALIDATED_ACCESS,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_t f = {data, size};
	scenario_t *sc = build(&f);
	GError *err = NULL;
	if (!scenario_validate(sc, &err)) {
		g_error_free(err);
		scenario_free(sc);
		return 0;
	}
	emit_scenario(sc);
	machine_opts_t opts = {.event_budget = EVENT_BUDGET};
	machine_t *m = machine_new(sc, &opts, &err);
	if (!m) { /* a fault plan the hypervisor refuses: not an input worth running */
		g_error_free(err);
		scenario_free(sc);
		return 0;
	}
	const machine_result_t *r = machine_run(m);
	const machine_stats_t *st = machine_stats(m);
	for (size_t i = 0; i < G_N_ELEMENTS(guest_invariants); i++) {
		sim_invariant_t inv = guest_invariants[i];
		if (st->violations[inv])
			FZ_FINDING("the correct guest violated %s (%" G_GUINT64_FORMAT
				   " time(s); outcome %s, first at GPA 0x%" G_GINT64_MODIFIER "x)",
				   sim_invariant_to_string(inv), st->violations[inv],
				   sim_outcome_to_string(r->outcome), r->first_violation.gpa);
	}
	if (r->outcome == SIM_OUTCOME_STOPPED && r->stop == SIM_STOP_BUDGET)
		FZ_FINDING("the run did not end within %llu events (an unbounded loop)",
			   (unsigned long long)EVENT_BUDGET);
	machine_free(m);
	scenario_free(sc);
	return 0;
}
