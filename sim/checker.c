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
 */
#include "checker.h"

#include <glib.h>
#include <string.h>

#include "gfw_port.h"

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

/* ---- PVALIDATE ---- */

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

void checker_event(checker_t *ck, const sim_event_t *ev)
{
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
	switch (ev->kind) {
	case SIM_EV_PVALIDATE:
		on_pvalidate(ck, ev);
		break;
	case SIM_EV_PSC_ENTRY:
		on_psc_entry(ck, ev);
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
}

/* believed accepted => held validated by the guest, and validated in the RMP at that GPA */
static bool check_believed(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec, void *ctx)
{
	checker_t *ck = ctx;
	(void)rec;
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
	GHashTableIter it;
	gpointer key, val;
	g_hash_table_iter_init(&it, ck->pending_vc);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		sim_event_t *p = val;
		violate(ck, SIM_INV_UNVALIDATED_ACCESS, p, p->gpa, spa_of(ck, p->gpa), NULL);
	}
	g_hash_table_remove_all(ck->pending_vc);
	if (outcome != SIM_OUTCOME_COMPLETED)
		return; /* end-state invariants only hold for a guest that finished */
	rmp_ledger_foreach_run(ck->believed, check_believed, ck);
}
