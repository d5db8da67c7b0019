/* SPDX-License-Identifier: MIT */
/*
 * The fault plan: a declarative, deterministic list of misbehaviours (data, not
 * code). Each request the hypervisor accepts is one occurrence, described by
 * every trigger it satisfies (hv_occ_t); a fault matches when its trigger is
 * among them, its filters (exit code, GFN range) hold and its action can act on
 * that occurrence. Matching occurrences are counted per fault; the fault fires
 * at the nth (or every one), at most max_fires times, with probability
 * prob_ppm drawn from the plan's seeded PRNG. Each firing emits HV_EV_FAULT
 * before its action takes effect.
 *
 * The actions, as implemented here and where they act:
 *
 * - FAIL: the request is not carried out and gets its error answer. MSR PSC:
 *   response 0x015 with arg in [63:32] (0: KVM's generic error, bit 63). GHCB
 *   PSC: SW_EXITINFO2 = arg (0: VMGEXIT_PSC_ERROR_GENERIC). Register GHCB GPA:
 *   all ones in [63:12], nothing registered. Other NAE events: SW_EXITINFO1 = 2,
 *   SW_EXITINFO2 = arg (0: GHCB_ERR_INVALID_INPUT). Other MSR requests: the MSR
 *   is left as it is (KVM's error answer).
 * - IGNORE: success is reported without doing anything. MSR/GHCB PSC: no
 *   RMPUPDATE, every entry reported complete. Register: the GFN is echoed but
 *   not recorded. AP reset hold: "not woken" at once, no hold. Other NAE events
 *   with an effect: the handler is skipped, SW_EXITINFO1 = SW_EXITINFO2 = 0.
 * - PARTIAL (GHCB PSC): at most arg entries are processed, then success.
 * - NO_PROGRESS (GHCB PSC): success with nothing processed, cur_entry unchanged.
 * - CUR_ENTRY_BACK (GHCB PSC): after processing, cur_entry -= arg (0: 1), at least 0.
 * - END_ENTRY_CHANGE (GHCB PSC): after processing, end_entry += arg (mod 2^16).
 * - RESERVED_BITS (GHCB PSC): after processing, the header's reserved word = arg | 1.
 * - WRONG_GFN (MSR or GHCB PSC): the pages converted are gfn + arg, not gfn; the
 *   outcome of that conversion is reported as the request's.
 * - FORCE_4K (GHCB PSC): 2M entries are converted with 4K RMPUPDATEs only.
 * - PSMASH_BEHIND: after the request, PSMASH the 2M RMP entry holding gfn.
 * - REMAP_REPLAY: after the request, remap gfn to a fresh SPA of the spare pool
 *   made private at that GPA (RMPUPDATE, so not validated); the next firing for
 *   that gfn swaps back to the old, still validated SPA (replay), and so on.
 *   No effect when the spare pool is exhausted.
 * - REVOKE: after the request, make gfn's page shared (RMPUPDATE hypervisor-
 *   owned, PSMASH first if in a 2M entry); arg = 1: then private again, i.e.
 *   assigned to the guest but no longer validated.
 * - REWRITE_BUFFER (GHCB PSC): after processing, arg (0: 1) is added to every
 *   entry's GFN in the shared buffer the guest reads back (time of check/use).
 * - MSR_GARBAGE (MSR protocol): the response keeps its code, [63:12] := arg.
 * - MSR_WRONG_CODE (MSR protocol): the response code is arg (0: request + 2).
 * - INJECT_VC: the machine delivers #VC with error code arg right after the
 *   request is answered (hv_exit_t.inject_vc), or after the access
 *   (hv_guest_access).
 *
 * gfn (PSMASH_BEHIND, REMAP_REPLAY, REVOKE) is the fault's target, or with
 * HV_GFN_FROM_TRIGGER the first GFN the request touches (inside the fault's GFN
 * range when it has one); an occurrence without a GFN cannot serve such a fault.
 */
#include "hv-private.h"

#define T(t) (1u << (t))
#define T_MSR_ALL                                                                               \
	(T(HV_TRIG_MSR_PSC) | T(HV_TRIG_GHCB_REGISTER) | T(HV_TRIG_SEV_INFO) |                  \
	 T(HV_TRIG_HV_FEATURES) | T(HV_TRIG_MSR_ANY) | T(HV_TRIG_VMGEXIT))
#define T_GPSC (T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_NAE) | T(HV_TRIG_VMGEXIT))
#define T_ALL                                                                                   \
	(T_MSR_ALL | T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_NAE) | T(HV_TRIG_PAGE_ACCESS))

/* The triggers each action can ever act on: a plan pairing it with another is refused. */
static const uint32_t action_triggers[] = {
	[HV_ACT_FAIL] = T_MSR_ALL | T(HV_TRIG_GHCB_PSC) | T(HV_TRIG_NAE),
	[HV_ACT_IGNORE] = T(HV_TRIG_MSR_PSC) | T(HV_TRIG_GHCB_REGISTER) | T(HV_TRIG_MSR_ANY) |
			  T_GPSC,
	[HV_ACT_PARTIAL] = T_GPSC,
	[HV_ACT_NO_PROGRESS] = T_GPSC,
	[HV_ACT_CUR_ENTRY_BACK] = T_GPSC,
	[HV_ACT_END_ENTRY_CHANGE] = T_GPSC,
	[HV_ACT_RESERVED_BITS] = T_GPSC,
	[HV_ACT_WRONG_GFN] = T(HV_TRIG_MSR_PSC) | T(HV_TRIG_MSR_ANY) | T_GPSC,
	[HV_ACT_FORCE_4K] = T_GPSC,
	[HV_ACT_PSMASH_BEHIND] = T_ALL,
	[HV_ACT_REMAP_REPLAY] = T_ALL,
	[HV_ACT_REVOKE] = T_ALL,
	[HV_ACT_REWRITE_BUFFER] = T_GPSC,
	[HV_ACT_MSR_GARBAGE] = T_MSR_ALL,
	[HV_ACT_MSR_WRONG_CODE] = T_MSR_ALL,
	[HV_ACT_INJECT_VC] = T_ALL,
};

static bool is_side_effect(hv_action_t a)
{
	return a == HV_ACT_PSMASH_BEHIND || a == HV_ACT_REMAP_REPLAY || a == HV_ACT_REVOKE;
}

/* splitmix64: small, seedable, and no libc rand() state */
static uint64_t prng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static bool fault_valid(const hv_fault_t *f)
{
	if (f->trigger < HV_TRIG_MSR_PSC || f->trigger > HV_TRIG_VMGEXIT)
		return false;
	if (f->action < HV_ACT_FAIL || f->action > HV_ACT_INJECT_VC)
		return false;
	if (!(action_triggers[f->action] & T(f->trigger)))
		return false;
	if (f->gfn_last && f->gfn_last < f->gfn_first)
		return false;
	if (f->prob_ppm > 1000000)
		return false;
	/* WRONG_GFN with delta 0 would convert the right page: not a fault */
	if (f->action == HV_ACT_WRONG_GFN && f->arg == 0)
		return false;
	return true;
}

bool hv_set_fault_plan(hv_t *hv, const hv_fault_t *faults, size_t n, uint64_t seed)
{
	if (!hv || (n && !faults))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!fault_valid(&faults[i]))
			return false;
	g_array_set_size(hv->faults, 0);
	for (size_t i = 0; i < n; i++) {
		hv_fault_slot_t s = {.f = faults[i]};
		g_array_append_val(hv->faults, s);
	}
	hv->prng = seed;
	return true;
}

uint32_t hv_fault_fired(const hv_t *hv, size_t i)
{
	if (!hv || i >= hv->faults->len)
		return 0;
	return g_array_index(hv->faults, hv_fault_slot_t, i).fired;
}

bool hv_wants_access_events(const hv_t *hv)
{
	for (guint i = 0; hv && i < hv->faults->len; i++)
		if (g_array_index(hv->faults, hv_fault_slot_t, i).f.trigger == HV_TRIG_PAGE_ACCESS)
			return true;
	return false;
}

/* The GFN the occurrence offers this fault: inside its range if it has one. */
static bool occ_gfn(const hv_fault_t *f, const hv_occ_t *o, uint64_t *gfn)
{
	for (size_t i = 0; i < o->next; i++) {
		const hv_extent_t *e = &o->ext[i];
		if (!f->gfn_last) {
			*gfn = e->gfn;
			return true;
		}
		uint64_t last = e->gfn + e->npages - 1;
		if (e->gfn <= f->gfn_last && last >= f->gfn_first) {
			*gfn = e->gfn > f->gfn_first ? e->gfn : f->gfn_first;
			return true;
		}
	}
	return false;
}

/* Whether the action can act on this occurrence (only then does it count). */
static bool applies(const hv_fault_t *f, const hv_occ_t *o, bool has_gfn)
{
	switch (f->action) {
	case HV_ACT_FAIL: return o->msr || o->nae;
	case HV_ACT_IGNORE: return o->ignorable;
	case HV_ACT_PARTIAL:
	case HV_ACT_NO_PROGRESS:
	case HV_ACT_CUR_ENTRY_BACK:
	case HV_ACT_END_ENTRY_CHANGE:
	case HV_ACT_RESERVED_BITS:
	case HV_ACT_FORCE_4K:
	case HV_ACT_REWRITE_BUFFER: return o->psc_ghcb;
	case HV_ACT_WRONG_GFN: return o->psc_ghcb || o->psc_msr;
	case HV_ACT_PSMASH_BEHIND:
	case HV_ACT_REMAP_REPLAY:
	case HV_ACT_REVOKE: return f->gfn != HV_GFN_FROM_TRIGGER || has_gfn;
	case HV_ACT_MSR_GARBAGE:
	case HV_ACT_MSR_WRONG_CODE: return o->msr;
	case HV_ACT_INJECT_VC: return true;
	}
	return false;
}

static void emit_fault(hv_t *hv, uint32_t i, hv_action_t a, uint64_t gfn)
{
	hv_event_t ev = hv_ev(hv, HV_EV_FAULT);
	ev.fault = i;
	ev.op = a;
	ev.gfn = gfn;
	ev.gpa = gfn << SNP_PAGE_SHIFT;
	hv_emit(hv, &ev);
}

static void record(hv_t *hv, hv_fx_t *fx, uint32_t i, const hv_fault_t *f, uint64_t gfn)
{
	if (is_side_effect(f->action)) {
		/* acts after the request is answered; its HV_EV_FAULT comes right before */
		hv_side_t s = {.fault = i,
			       .action = f->action,
			       .gfn = f->gfn != HV_GFN_FROM_TRIGGER ? f->gfn : gfn,
			       .arg = f->arg};
		g_array_append_val(hv->side, s);
		return;
	}
	emit_fault(hv, i, f->action, gfn);
	switch (f->action) {
	case HV_ACT_FAIL:
	case HV_ACT_IGNORE:
	case HV_ACT_NO_PROGRESS:
		if (fx->disp == HV_DISP_NONE) { /* the first disposition in plan order wins */
			fx->disp = f->action == HV_ACT_FAIL     ? HV_DISP_FAIL
				   : f->action == HV_ACT_IGNORE ? HV_DISP_IGNORE
								: HV_DISP_NO_PROGRESS;
			fx->fail_arg = f->arg;
		}
		break;
	case HV_ACT_PARTIAL:
		fx->partial = true;
		fx->partial_n = f->arg;
		break;
	case HV_ACT_CUR_ENTRY_BACK:
		fx->cur_back = true;
		fx->cur_back_n = f->arg;
		break;
	case HV_ACT_END_ENTRY_CHANGE:
		fx->end_change = true;
		fx->end_delta = f->arg;
		break;
	case HV_ACT_RESERVED_BITS:
		fx->rsvd = true;
		fx->rsvd_val = (uint32_t)f->arg | 1u;
		break;
	case HV_ACT_WRONG_GFN:
		fx->wrong_gfn = true;
		fx->gfn_delta = f->arg;
		break;
	case HV_ACT_FORCE_4K:
		fx->force_4k = true;
		break;
	case HV_ACT_REWRITE_BUFFER:
		fx->rewrite = true;
		fx->rewrite_delta = f->arg ? f->arg : 1;
		break;
	case HV_ACT_MSR_GARBAGE:
		fx->msr_garbage = true;
		fx->garbage = f->arg;
		break;
	case HV_ACT_MSR_WRONG_CODE:
		fx->msr_code = true;
		fx->code = (uint32_t)(f->arg & GHCB_MSR_INFO_MASK);
		break;
	case HV_ACT_INJECT_VC:
		fx->inject_vc = true;
		fx->vc_code = f->arg;
		break;
	default:
		break;
	}
}

void hv_fault_match(hv_t *hv, const hv_occ_t *occ, hv_fx_t *fx)
{
	memset(fx, 0, sizeof(*fx));
	g_array_set_size(hv->side, 0);
	for (guint i = 0; i < hv->faults->len; i++) {
		hv_fault_slot_t *s = &g_array_index(hv->faults, hv_fault_slot_t, i);
		const hv_fault_t *f = &s->f;
		if (!(occ->kinds & T(f->trigger)))
			continue;
		if (f->trigger == HV_TRIG_NAE && f->exit_code &&
		    (!occ->nae || occ->exit_code != f->exit_code))
			continue;
		uint64_t gfn = 0;
		bool has_gfn = occ_gfn(f, occ, &gfn);
		if (f->gfn_last && !has_gfn) /* a ranged fault needs a request touching it */
			continue;
		if (!applies(f, occ, has_gfn))
			continue;
		s->matches++;
		if (f->nth && s->matches != f->nth)
			continue;
		if (f->max_fires && s->fired >= f->max_fires)
			continue;
		if (f->prob_ppm && prng_next(&hv->prng) % 1000000u >= f->prob_ppm)
			continue;
		s->fired++;
		record(hv, fx, i, f, gfn);
	}
}

void hv_fault_apply_vc(const hv_fx_t *fx, hv_exit_t *x)
{
	if (fx->inject_vc) {
		x->inject_vc = true;
		x->vc_code = fx->vc_code;
	}
}

/* ------------------------------------------------------------------ behind the guest's back */

static void act_psmash(hv_t *hv, uint64_t gfn)
{
	hv_npt_map_t m = hv_npt_translate(hv, gfn << SNP_PAGE_SHIFT);
	if (m.kind == HV_NPT_RAM)
		(void)hv_psmash(hv, m.spa);
}

static void act_revoke(hv_t *hv, uint64_t gfn, uint64_t arg)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT;
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	rmp_entry_t e;
	if (m.kind != HV_NPT_RAM || !rmp_lookup(hv->rmp, m.spa, &e))
		return;
	if (e.assigned) {
		if (e.page_2m && !rmp_ok(hv_psmash(hv, m.spa)))
			return;
		if (!rmp_ok(hv_rmpupdate(hv, m.spa, gpa, false, false)))
			return;
	}
	if (arg == 1) /* private again: assigned, Validated cleared by RMPUPDATE */
		(void)hv_rmpupdate(hv, m.spa, gpa, true, false);
}

static void act_replay(hv_t *hv, uint64_t gfn)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT;
	hv_replay_t *r = g_hash_table_lookup(hv->replay, HV_KEY(gfn));
	if (r) { /* swap between the replayed (old, validated) and the fresh SPA */
		r->at_new = !r->at_new;
		(void)hv_npt_set(hv, gfn, r->at_new ? r->new_spa : r->old_spa);
		return;
	}
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	if (m.kind != HV_NPT_RAM || hv->spare_next >= hv->cfg.spare_pages)
		return;
	uint64_t spa = hv->cfg.spare_spa + hv->spare_next * SNP_PAGE_SIZE;
	hv->spare_next++;
	if (!rmp_ok(hv_rmpupdate(hv, spa, gpa, true, false)))
		return;
	if (!hv_npt_set(hv, gfn, spa))
		return;
	r = g_new0(hv_replay_t, 1);
	r->old_spa = m.spa;
	r->new_spa = spa;
	r->at_new = true;
	g_hash_table_insert(hv->replay, HV_KEY(gfn), r);
}

void hv_fault_after(hv_t *hv)
{
	for (guint i = 0; i < hv->side->len; i++) {
		hv_side_t s = g_array_index(hv->side, hv_side_t, i);
		uint64_t gfn = s.gfn & PSC_ENTRY_GFN_MASK;
		emit_fault(hv, s.fault, s.action, gfn);
		switch (s.action) {
		case HV_ACT_PSMASH_BEHIND: act_psmash(hv, gfn); break;
		case HV_ACT_REMAP_REPLAY: act_replay(hv, gfn); break;
		case HV_ACT_REVOKE: act_revoke(hv, gfn, s.arg); break;
		default: break;
		}
	}
	g_array_set_size(hv->side, 0);
}

/* ------------------------------------------------------------------ guest accesses */

bool hv_guest_access(hv_t *hv, uint32_t vcpu, uint64_t gpa, rmp_access_t access,
		     uint64_t *vc_code)
{
	(void)access;
	if (!hv)
		return false;
	hv->cur_vcpu = vcpu;
	hv->cur_ghcb = 0;
	hv_extent_t ext = {.gfn = gpa >> SNP_PAGE_SHIFT, .npages = 1};
	hv_occ_t occ = {.kinds = T(HV_TRIG_PAGE_ACCESS), .ext = &ext, .next = 1};
	hv_fx_t fx;
	hv_fault_match(hv, &occ, &fx);
	hv_fault_after(hv);
	if (fx.inject_vc && vc_code)
		*vc_code = fx.vc_code;
	return fx.inject_vc;
}
