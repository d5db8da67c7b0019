/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker. Three GPA sets, each an rmp ledger so that 2 MiB
 * operations cost one record:
 *   validated  - what the guest holds validated (PVALIDATE, launch), and which
 *                event did it: the "validated twice" lookup is O(1);
 *   requested  - what the hypervisor made private at the guest's request (a PSC
 *                "private" entry it processed, or launch), until a "shared" one;
 *   believed   - what the guest says it has accepted (its notes).
 * The NPT is tracked from the stream (identity unless remapped), so the same
 * checker runs live against the machine's RMP or over a trace with a shadow RMP.
 *
 * Speed: a 4K-only boot of a large guest is millions of single-page PVALIDATEs
 * in a row. Such a run is held back from `validated` and recorded in one range
 * operation (the "pending run") as soon as any other event arrives; each page
 * is still checked as it comes, against what the ledgers said about the pages
 * ahead (which cannot change while the run is pending), so every violation is
 * reported at the same event, with the same content, as page by page. With an
 * identity NPT the RMP-side checks scan ranges (rmp_scan) instead of looking up
 * each page.
 */
#include "checker.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "gfw_port.h"
#include "snp/ghcb.h"

struct checker {
	const rmp_t *rmp;
	uint32_t asid;
	checker_report_fn report;
	void *ctx;
	rmp_ledger_t *validated;
	rmp_ledger_t *requested;
	rmp_ledger_t *believed;
	GHashTable *remap; /* gfn -> spa, from NPT_REMAP events */
	/* a #VC 0x404 on a page the guest never validated, waiting for the lazy path */
	GHashTable *pending_vc; /* vcpu -> sim_event_t* */
	/* vCPUs whose next #VC the fault plan injects (an "inject_vc" fault event came first) */
	GHashTable *injected; /* vcpu set */
	/*
	 * The pending run: page i of w.pages at run_gpa + i * 4K, validated by
	 * event run_seq + i on w.vcpu at run_spa + i * 4K, not yet in `validated`.
	 * `validated` holds no page of [run end, clean_end) and `requested` every
	 * page of [run end, req_end): learnt from the ledgers as the run grows;
	 * w.limit is the lower of the two. w.quiet: pending_vc and injected are
	 * both empty, so resolve_vc() and the injection bookkeeping do nothing for
	 * any event (kept by event_slow()).
	 */
	checker_window_t w;
	uint64_t run_gpa, run_spa, run_seq;
	uint64_t clean_end, req_end;
	uint64_t counts[SIM_INV_MAX];
	uint64_t total;
};

static const struct {
	const char *name;
	const char *what;
} inv_names[SIM_INV_MAX] = {
	[SIM_INV_DOUBLE_VALIDATION] = {"double-validation",
				       "a GPA is validated twice without an intervening rescind"},
	[SIM_INV_UNVALIDATED_ACCESS] = {"unvalidated-access",
					"a private access to a page the guest has not validated, "
					"outside the lazy-accept path"},
	[SIM_INV_PSC_VIEW] = {"psc-view",
			      "after a completed PSC, the guest's view (private/shared) of a page "
			      "differs from the RMP"},
	[SIM_INV_ACCEPTED_VALIDATED] = {"accepted-validated-once",
					"at the end, a page the guest believes accepted is not "
					"validated in the RMP exactly once"},
	[SIM_INV_VALIDATE_UNREQUESTED] = {"validate-unrequested",
					  "the guest PVALIDATEs a page the hypervisor did not make "
					  "private at its request"},
};

const char *sim_invariant_to_string(sim_invariant_t inv)
{
	return (inv > 0 && inv < SIM_INV_MAX) ? inv_names[inv].name : NULL;
}

const char *sim_invariant_describe(sim_invariant_t inv)
{
	return (inv > 0 && inv < SIM_INV_MAX) ? inv_names[inv].what : NULL;
}

bool sim_invariant_from_string(const char *s, sim_invariant_t *out)
{
	for (int i = 1; i < SIM_INV_MAX; i++) {
		if (strcmp(inv_names[i].name, s) == 0) {
			*out = (sim_invariant_t)i;
			return true;
		}
	}
	return false;
}

checker_t *checker_new(const rmp_t *rmp, uint32_t asid, checker_report_fn report, void *ctx)
{
	checker_t *ck = g_new0(checker_t, 1);
	ck->rmp = rmp;
	ck->asid = asid;
	ck->report = report;
	ck->ctx = ctx;
	ck->validated = rmp_ledger_new();
	ck->requested = rmp_ledger_new();
	ck->believed = rmp_ledger_new();
	ck->remap = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	ck->pending_vc = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	ck->injected = g_hash_table_new(g_direct_hash, g_direct_equal);
	ck->w.quiet = true;
	if (!ck->validated || !ck->requested || !ck->believed) {
		checker_free(ck);
		return NULL;
	}
	return ck;
}

void checker_free(checker_t *ck)
{
	if (!ck)
		return;
	rmp_ledger_free(ck->validated);
	rmp_ledger_free(ck->requested);
	rmp_ledger_free(ck->believed);
	g_hash_table_destroy(ck->remap);
	g_hash_table_destroy(ck->pending_vc);
	g_hash_table_destroy(ck->injected);
	g_free(ck);
}

uint64_t checker_count(const checker_t *ck, sim_invariant_t inv)
{
	return (inv > 0 && inv < SIM_INV_MAX) ? ck->counts[inv] : 0;
}

uint64_t checker_total(const checker_t *ck)
{
	return ck->total;
}

static void violate(checker_t *ck, sim_invariant_t inv, const sim_event_t *cause, uint64_t gpa,
		    uint64_t spa, const rmp_ledger_rec_t *ref)
{
	sim_event_t v = {0};
	v.kind = SIM_EV_VIOLATION;
	v.invariant = inv;
	v.vcpu = cause ? cause->vcpu : 0;
	v.cause_seq = cause ? cause->seq : 0;
	v.gpa = gpa;
	v.spa = spa;
	v.npages = 1;
	if (ref) {
		v.ref_seq = ref->seq;
		v.ref_spa = ref->spa;
		v.ref_vcpu = ref->vcpu;
	}
	ck->counts[inv]++;
	ck->total++;
	if (ck->report)
		ck->report(ck->ctx, &v);
}

static uint64_t spa_of(const checker_t *ck, uint64_t gpa)
{
	gint64 gfn = (gint64)(gpa >> SNP_PAGE_SHIFT);
	const uint64_t *spa = g_hash_table_lookup(ck->remap, &gfn);
	return spa ? *spa + (gpa & (SNP_PAGE_SIZE - 1)) : gpa;
}

static uint64_t ev_pages(const sim_event_t *ev)
{
	if (ev->npages)
		return ev->npages;
	return ev->page_2m ? SNP_PAGES_PER_2M : 1;
}

/* The checker's NPT is the identity: no NPT_REMAP seen (the usual case, and the fast one). */
static inline bool npt_identity(const checker_t *ck)
{
	return g_hash_table_size(ck->remap) == 0;
}

/*
 * [gpa, gpa + npages * 4K) is a range the fast paths may walk: page aligned and
 * inside the 52-bit space (a hand-written trace may say anything).
 */
static inline bool plain_range(uint64_t gpa, uint64_t npages)
{
	return !(gpa & (SNP_PAGE_SIZE - 1)) && gpa < RMP_SPA_LIMIT_MAX &&
	       npages <= (RMP_SPA_LIMIT_MAX - gpa) >> SNP_PAGE_SHIFT;
}

/* ---- PVALIDATE ---- */

/* Records the pending run in `validated`: what its pages' own calls would have left. */
static void flush_run(checker_t *ck)
{
	if (!ck->w.pages)
		return;
	rmp_ledger_validate_seq(ck->validated, ck->run_gpa, ck->w.pages, ck->run_seq, ck->w.vcpu,
				ck->run_spa, NULL, NULL);
	ck->w.pages = 0;
	ck->w.limit = 0;
}

/* Pages from gpa to the end of its 2M unit: the span one ledger question covers. */
static inline uint64_t unit_left(uint64_t gpa)
{
	return SNP_PAGES_PER_2M - ((gpa >> SNP_PAGE_SHIFT) & (SNP_PAGES_PER_2M - 1));
}

/*
 * A successful single-page validation that violates nothing joins the pending
 * run (true). Anything else (false) leaves the run recorded in `validated`, for
 * on_pvalidate to check page by page.
 */
static bool run_take(checker_t *ck, const sim_event_t *ev)
{
	if (ev->status.fault != RMP_FAULT_NONE || ev->status.ret != SNP_RET_SUCCESS ||
	    ev->status.cf || !ev->validate || ev_pages(ev) != 1 ||
	    ((ev->gpa | ev->spa) & (SNP_PAGE_SIZE - 1)) || !plain_range(ev->gpa, 1)) {
		flush_run(ck);
		return false;
	}
	uint64_t off = ck->w.pages * SNP_PAGE_SIZE;
	if (ck->w.pages && (ev->vcpu != ck->w.vcpu || ev->gpa != ck->run_gpa + off ||
			    ev->spa != ck->run_spa + off || ev->seq != ck->run_seq + ck->w.pages))
		flush_run(ck);
	if (!ck->w.pages) {
		ck->run_gpa = ev->gpa;
		ck->run_spa = ev->spa;
		ck->run_seq = ev->seq;
		ck->w.vcpu = ev->vcpu;
		ck->clean_end = ck->req_end = ev->gpa;
	}
	uint64_t gpa = ev->gpa;
	if (gpa >= ck->clean_end) {
		/* held already: a double validation, which on_pvalidate reports */
		uint64_t n = rmp_ledger_span(ck->validated, gpa, unit_left(gpa), false);
		if (!n) {
			flush_run(ck);
			return false;
		}
		ck->clean_end = gpa + n * SNP_PAGE_SIZE;
	}
	if (gpa >= ck->req_end) {
		/* not made private at the guest's request: on_pvalidate reports it */
		uint64_t n = rmp_ledger_span(ck->requested, gpa, unit_left(gpa), true);
		if (!n) {
			flush_run(ck);
			return false;
		}
		ck->req_end = gpa + n * SNP_PAGE_SIZE;
	}
	ck->w.pages++;
	ck->w.next_gpa = gpa + SNP_PAGE_SIZE;
	ck->w.next_spa = ev->spa + SNP_PAGE_SIZE;
	ck->w.next_seq = ev->seq + 1;
	ck->w.limit = ck->clean_end < ck->req_end ? ck->clean_end : ck->req_end;
	return true;
}

static void on_pvalidate(checker_t *ck, const sim_event_t *ev)
{
	if (ev->status.fault != RMP_FAULT_NONE || ev->status.ret != SNP_RET_SUCCESS)
		return; /* a failed PVALIDATE changed nothing */
	uint64_t n = ev_pages(ev);
	if (!ev->validate) {
		rmp_ledger_rescind(ck->validated, ev->gpa, n);
		return;
	}
	/* a held GPA validated again (CF=0 after a hypervisor re-assignment, or CF=1) */
	rmp_ledger_rec_t ref;
	uint64_t gpa_conflict;
	uint64_t conflicts = rmp_ledger_validate(ck->validated, ev->gpa, n, ev->seq, ev->vcpu,
						 ev->spa, &ref, &gpa_conflict);
	if (conflicts)
		violate(ck, SIM_INV_DOUBLE_VALIDATION, ev, gpa_conflict,
			ev->spa + (gpa_conflict - ev->gpa), &ref);
	if (ev->status.cf)
		return; /* nothing changed in the RMP */
	/* every page must have been made private at the guest's request */
	uint64_t missing;
	if (rmp_ledger_count_held(ck->requested, ev->gpa, n, &missing) != n)
		violate(ck, SIM_INV_VALIDATE_UNREQUESTED, ev, missing,
			ev->spa + (missing - ev->gpa), NULL);
}

/* ---- PSC entries processed by the hypervisor, launch ---- */

static void on_psc_entry(checker_t *ck, const sim_event_t *ev)
{
	if (ev->psc_status != 0)
		return;
	uint64_t n = ev_pages(ev), gpa = ev->gfn << SNP_PAGE_SHIFT;
	if (ev->op == SNP_PAGE_STATE_PRIVATE)
		rmp_ledger_validate(ck->requested, gpa, n, ev->seq, ev->vcpu, gpa, NULL, NULL);
	else if (ev->op == SNP_PAGE_STATE_SHARED)
		rmp_ledger_rescind(ck->requested, gpa, n);
}

/*
 * An MSR-protocol PSC is one page, and its answer is on the wire: a response
 * 0x015 with GHCBData[63:32] = 0 tells the guest the page changed state, which
 * is the request the guest acts on, whatever status the hypervisor's own PSC
 * entry event records (a fuzz finding: a "fail" whose error code is 0, or one
 * whose answer "msr_garbage" clears, answers success but records an error;
 * tests/fuzz/findings/msr-psc-answer-success.json).
 */
static void on_msr_psc(checker_t *ck, const sim_event_t *ev)
{
	if ((ev->info1 & GHCB_MSR_INFO_MASK) != GHCB_MSR_PSC_REQ ||
	    (ev->info2 & GHCB_MSR_INFO_MASK) != GHCB_MSR_PSC_RESP || GHCB_MSR_PSC_RESP_VAL(ev->info2))
		return;
	sim_event_t e = *ev;
	e.gfn = GHCB_MSR_PSC_REQ_GFN(ev->info1);
	e.op = GHCB_MSR_PSC_REQ_OP(ev->info1);
	e.npages = 1;
	e.page_2m = false;
	e.psc_status = 0;
	on_psc_entry(ck, &e);
}

static void on_launch(checker_t *ck, const sim_event_t *ev)
{
	uint64_t n = ev_pages(ev);
	rmp_ledger_rec_t ref;
	uint64_t gpa_conflict;
	if (rmp_ledger_validate(ck->validated, ev->gpa, n, ev->seq, ev->vcpu, ev->spa, &ref,
				&gpa_conflict))
		violate(ck, SIM_INV_DOUBLE_VALIDATION, ev, gpa_conflict, ev->spa, &ref);
	rmp_ledger_validate(ck->requested, ev->gpa, n, ev->seq, ev->vcpu, ev->spa, NULL, NULL);
	rmp_ledger_validate(ck->believed, ev->gpa, n, ev->seq, ev->vcpu, ev->spa, NULL, NULL);
}

/* ---- the guest's view after a completed PSC ---- */

/* Frames of gpa's 2M unit that one RMP lookup answers for (512 if a 2M entry governs). */
static uint64_t lookup_span(const checker_t *ck, uint64_t gpa, uint64_t left, const rmp_entry_t *e)
{
	if (e->page_2m && (gpa & (SNP_PAGE_2M_SIZE - 1)) == 0 && left >= SNP_PAGES_PER_2M &&
	    g_hash_table_size(ck->remap) == 0)
		return SNP_PAGES_PER_2M;
	return 1;
}

static void on_psc_done(checker_t *ck, const sim_event_t *ev)
{
	bool want_private = ev->info1 == SNP_PAGE_STATE_PRIVATE;
	if (npt_identity(ck) && plain_range(ev->gpa, ev->npages)) {
		/* SPA = GPA: the first page whose view differs, in one scan */
		uint64_t ok = rmp_scan(ck->rmp, ev->gpa, ev->gpa, ev->npages, ck->asid,
				       RMP_SCAN_PRIVATE, want_private);
		if (ok < ev->npages) {
			uint64_t gpa = ev->gpa + ok * SNP_PAGE_SIZE;
			violate(ck, SIM_INV_PSC_VIEW, ev, gpa, gpa, NULL);
		}
		return;
	}
	for (uint64_t i = 0; i < ev->npages;) {
		uint64_t gpa = ev->gpa + i * SNP_PAGE_SIZE;
		uint64_t spa = spa_of(ck, gpa);
		rmp_entry_t e;
		rmp_lookup(ck->rmp, spa, &e);
		bool is_private = e.assigned && e.asid == ck->asid && !e.immutable && e.gpa == gpa;
		if (is_private != want_private) {
			violate(ck, SIM_INV_PSC_VIEW, ev, gpa, spa, NULL);
			return; /* one report per PSC */
		}
		i += lookup_span(ck, gpa, ev->npages - i, &e);
	}
}

/* ---- #VC 0x404 ---- */

static void on_vc(checker_t *ck, const sim_event_t *ev)
{
	/*
	 * A #VC the hypervisor injected is no access at all, whatever its error
	 * code and address say (a fuzz finding:
	 * tests/fuzz/findings/injected-vc-404.json); the guest's handler must
	 * reject it, which the run's outcome shows.
	 */
	if (g_hash_table_remove(ck->injected, GUINT_TO_POINTER(ev->vcpu)))
		return;
	if (ev->code != SVM_EXIT_VMPL_NOT_VALIDATED)
		return;
	rmp_ledger_rec_t r;
	if (rmp_ledger_get(ck->validated, ev->gpa, &r))
		return; /* the guest validated it: the hypervisor took it away, not a guest bug */
	sim_event_t *p = g_new(sim_event_t, 1);
	*p = *ev;
	g_hash_table_replace(ck->pending_vc, GUINT_TO_POINTER(ev->vcpu), p);
}

/* The first guest-side event after a pending #VC 0x404 decides it. */
static void resolve_vc(checker_t *ck, const sim_event_t *ev)
{
	if (g_hash_table_size(ck->pending_vc) == 0)
		return; /* the usual case: no hash lookup */
	sim_event_t *p = g_hash_table_lookup(ck->pending_vc, GUINT_TO_POINTER(ev->vcpu));
	if (!p || ev == p || ev->seq == p->seq)
		return;
	bool lazy = ev->kind == SIM_EV_NOTE && ev->op == GFW_NOTE_LAZY_FAULT &&
		    (ev->gpa >> SNP_PAGE_2M_SHIFT) == (p->gpa >> SNP_PAGE_2M_SHIFT);
	if (!lazy)
		violate(ck, SIM_INV_UNVALIDATED_ACCESS, p, p->gpa, spa_of(ck, p->gpa), NULL);
	g_hash_table_remove(ck->pending_vc, GUINT_TO_POINTER(ev->vcpu));
}

static void on_note(checker_t *ck, const sim_event_t *ev)
{
	switch (ev->op) {
	case GFW_NOTE_ACCEPTED:
		rmp_ledger_validate(ck->believed, ev->gpa, ev->npages, ev->seq, ev->vcpu, ev->gpa,
				    NULL, NULL);
		break;
	case GFW_NOTE_RESCINDED:
		rmp_ledger_rescind(ck->believed, ev->gpa, ev->npages);
		break;
	case GFW_NOTE_PSC_DONE:
		on_psc_done(ck, ev);
		break;
	default:
		break;
	}
}

bool checker_wants(uint32_t kind)
{
	/*
	 * The kinds event_slow() below does nothing with (but record the pending
	 * run, which changes no result). A kind it starts to handle leaves this
	 * list; a new kind is wanted until known otherwise.
	 */
	switch (kind) {
	case SIM_EV_RMPUPDATE:
	case SIM_EV_PSMASH:
	case SIM_EV_UNSMASH:
	case SIM_EV_NPF:
	case SIM_EV_AP_CREATE:
	case SIM_EV_AP_DESTROY:
	case SIM_EV_STOP:
	case SIM_EV_VIOLATION:
	case SIM_EV_END:
		return false;
	default:
		return true;
	}
}

/*
 * The next page of the pending run, inside what the ledgers already answered
 * (run_take() started the run and learnt clean_end and req_end with the same
 * tests): it joins the run without event_slow(). That is exact only while
 * everything event_slow() does for a PVALIDATE before run_take() is a no-op:
 * `quiet` says so (no pending or injected #VC). Inside the bounds the page is
 * plain, they end at the end of a 2M unit below 2^52.
 */
static inline bool run_extend(checker_t *ck, const sim_event_t *ev)
{
	/* fault, cf, reserved and ret all zero: SUCCESS, CF = 0 (anything else: run_take) */
	uint64_t st;
	_Static_assert(SNP_RET_SUCCESS == 0 && offsetof(rmp_result_t, ret) + 4 == 8,
		       "the first 8 bytes of rmp_result_t are zero for SUCCESS, CF = 0");
	memcpy(&st, &ev->status, sizeof(st));
	return st == 0 && ev->npages == 1 && ev->validate &&
	       checker_window_take(&ck->w, ev->seq, ev->vcpu, ev->gpa, ev->spa);
}

/* Everything but the next page of a run; out of line, so that checker_event stays small. */
static G_GNUC_NO_INLINE void event_slow(checker_t *ck, const sim_event_t *ev)
{
	/* anything but a PVALIDATE may read or change `validated`: record the run first */
	if (ev->kind != SIM_EV_PVALIDATE)
		flush_run(ck);
	switch (ev->kind) {
	case SIM_EV_PVALIDATE:
	case SIM_EV_RMPADJUST:
	case SIM_EV_NOTE:
	case SIM_EV_MSR_PROTOCOL:
	case SIM_EV_VMGEXIT:
	case SIM_EV_TERMINATE:
		resolve_vc(ck, ev);
		break;
	default:
		break;
	}
	/* an injection is delivered right after the exit or access that fired it, or never */
	if (ev->kind == SIM_EV_FAULT && ev->op == HV_ACT_INJECT_VC)
		g_hash_table_add(ck->injected, GUINT_TO_POINTER(ev->vcpu));
	else if (ev->kind == SIM_EV_PVALIDATE || ev->kind == SIM_EV_RMPADJUST ||
		 ev->kind == SIM_EV_NOTE)
		g_hash_table_remove(ck->injected, GUINT_TO_POINTER(ev->vcpu));
	switch (ev->kind) {
	case SIM_EV_PVALIDATE:
		/* the next page of a run, or checked page by page (run_take flushed the run) */
		if (!run_take(ck, ev))
			on_pvalidate(ck, ev);
		break;
	case SIM_EV_PSC_ENTRY:
		on_psc_entry(ck, ev);
		break;
	case SIM_EV_MSR_PROTOCOL:
		on_msr_psc(ck, ev);
		break;
	case SIM_EV_LAUNCH_UPDATE:
		on_launch(ck, ev);
		break;
	case SIM_EV_NPT_REMAP: {
		gint64 *k = g_new(gint64, 1);
		uint64_t *v = g_new(uint64_t, 1);
		*k = (gint64)ev->gfn;
		*v = ev->spa;
		g_hash_table_replace(ck->remap, k, v);
		break;
	}
	case SIM_EV_VC:
		on_vc(ck, ev);
		break;
	case SIM_EV_NOTE:
		on_note(ck, ev);
		break;
	default:
		break;
	}
	ck->w.quiet =
		g_hash_table_size(ck->pending_vc) == 0 && g_hash_table_size(ck->injected) == 0;
}

void checker_event(checker_t *ck, const sim_event_t *ev)
{
	if (G_LIKELY(ev->kind == SIM_EV_PVALIDATE) && run_extend(ck, ev))
		return;
	event_slow(ck, ev);
}

checker_window_t *checker_window(checker_t *ck)
{
	return &ck->w;
}

/*
 * check_believed for SPA = GPA, by ranges. The page-by-page walk below steps
 * over a 2M RMP entry in one span of 512 pages and reports a failing span at
 * its start; the first failing page p is found by two scans, then the report
 * goes where the walk would have put it.
 */
static void check_believed_identity(checker_t *ck, uint64_t gpa, uint64_t npages)
{
	uint64_t p = rmp_scan(ck->rmp, gpa, gpa, npages, ck->asid, RMP_SCAN_VALIDATED, true);
	uint64_t held = rmp_ledger_span(ck->validated, gpa, p, true);
	if (held < p)
		p = held;
	if (p == npages)
		return;
	uint64_t g = gpa + p * SNP_PAGE_SIZE;
	uint64_t unit = g & ~(uint64_t)(SNP_PAGE_2M_SIZE - 1);
	uint64_t end = gpa + npages * SNP_PAGE_SIZE;
	if (unit >= gpa && end - unit >= SNP_PAGE_2M_SIZE && rmp_page_2m(ck->rmp, unit))
		g = unit; /* the walk checked the 2M entry as one span from its start */
	rmp_ledger_rec_t v;
	violate(ck, SIM_INV_ACCEPTED_VALIDATED, NULL, g, g,
		rmp_ledger_get(ck->validated, g, &v) ? &v : NULL);
}

/* believed accepted => held validated by the guest, and validated in the RMP at that GPA */
static bool check_believed(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec, void *ctx)
{
	checker_t *ck = ctx;
	(void)rec;
	if (npt_identity(ck) && plain_range(gpa, npages)) {
		check_believed_identity(ck, gpa, npages);
		return true;
	}
	for (uint64_t i = 0; i < npages;) {
		uint64_t g = gpa + i * SNP_PAGE_SIZE, spa = spa_of(ck, g);
		rmp_entry_t e;
		rmp_lookup(ck->rmp, spa, &e);
		uint64_t span = lookup_span(ck, g, npages - i, &e);
		rmp_ledger_rec_t v;
		bool held = rmp_ledger_count_held(ck->validated, g, span, NULL) == span;
		if (!held || !e.assigned || e.asid != ck->asid || e.gpa != g || !e.validated) {
			violate(ck, SIM_INV_ACCEPTED_VALIDATED, NULL, g, spa,
				rmp_ledger_get(ck->validated, g, &v) ? &v : NULL);
			return true; /* one report per run of pages */
		}
		i += span;
	}
	return true;
}

void checker_finish(checker_t *ck, sim_outcome_t outcome)
{
	flush_run(ck);
	GHashTableIter it;
	gpointer key, val;
	g_hash_table_iter_init(&it, ck->pending_vc);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		sim_event_t *p = val;
		violate(ck, SIM_INV_UNVALIDATED_ACCESS, p, p->gpa, spa_of(ck, p->gpa), NULL);
	}
	g_hash_table_remove_all(ck->pending_vc);
	ck->w.quiet = g_hash_table_size(ck->injected) == 0;
	if (outcome != SIM_OUTCOME_COMPLETED)
		return; /* end-state invariants only hold for a guest that finished */
	rmp_ledger_foreach_run(ck->believed, check_believed, ck);
}
