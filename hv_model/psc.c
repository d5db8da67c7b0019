/* SPDX-License-Identifier: MIT */
/*
 * Page State Change (facts §6): the RMP side of a conversion (what KVM's gmem
 * does when QEMU converts a range: RMPUPDATE private on the way in, RMPUPDATE
 * shared on the way out) and the GHCB PSC NAE event with KVM's snp_begin_psc
 * processing (facts §6.5). Every RMP change goes through rmp/ and is emitted.
 */
#include "hv-private.h"

/* ------------------------------------------------------------------ RMP changes */

/*
 * hv_rmpupdate with the event built in *ev, an hv_ev(hv, HV_EV_RMPUPDATE) that
 * the caller may reuse for a run of pages: every field an RMPUPDATE sets is set
 * here each time, the others stay as hv_ev() left them. A 4K conversion emits
 * an event per page, and clearing a fresh hv_event_t each time (`rep stosq`)
 * cost more than the RMPUPDATE itself.
 */
static rmp_result_t rmpupdate_ev(hv_t *hv, hv_event_t *ev, uint64_t spa, uint64_t gpa,
				 bool assigned, bool page_2m)
{
	rmp_state_t st = {.assigned = assigned, .page_2m = page_2m};
	if (assigned) {
		st.gpa = gpa;
		st.asid = hv->cfg.asid;
	}
	rmp_result_t r = rmp_rmpupdate(hv->rmp, 0, spa, &st);
	ev->vcpu = hv->cur_vcpu; /* as hv_ev() would take them now */
	ev->ghcb_gpa = hv->cur_ghcb;
	ev->spa = spa;
	ev->gpa = gpa;
	ev->gfn = gpa >> SNP_PAGE_SHIFT;
	ev->npages = page_2m ? SNP_PAGES_PER_2M : 1;
	ev->assigned = assigned;
	ev->page_2m = page_2m;
	ev->status = r;
	hv_emit(hv, ev);
	return r;
}

rmp_result_t hv_rmpupdate(hv_t *hv, uint64_t spa, uint64_t gpa, bool assigned, bool page_2m)
{
	hv_event_t ev = hv_ev(hv, HV_EV_RMPUPDATE);
	return rmpupdate_ev(hv, &ev, spa, gpa, assigned, page_2m);
}

static rmp_result_t smash_op(hv_t *hv, uint64_t spa, bool smash)
{
	/* PSMASH_FAIL_INUSE means "retry" on hardware; a model has no concurrency */
	rmp_result_t r = smash ? rmp_psmash(hv->rmp, 0, spa) : rmp_unsmash(hv->rmp, 0, spa);
	hv_event_t ev = hv_ev(hv, smash ? HV_EV_PSMASH : HV_EV_UNSMASH);
	ev.spa = spa;
	ev.npages = SNP_PAGES_PER_2M;
	ev.page_2m = true;
	ev.status = r;
	hv_emit(hv, &ev);
	return r;
}

rmp_result_t hv_psmash(hv_t *hv, uint64_t spa)
{
	return smash_op(hv, spa & ~HV_MASK_2M, true);
}

rmp_result_t hv_unsmash(hv_t *hv, uint64_t spa)
{
	return smash_op(hv, spa & ~HV_MASK_2M, false);
}

/* ------------------------------------------------------------------ conversion */

/* this guest's page, at this GPA: what a "private" request leaves untouched */
static bool owned_at(const hv_t *hv, const rmp_entry_t *e, uint64_t gpa)
{
	return e->assigned && !e->immutable && e->asid == hv->cfg.asid && e->gpa == gpa;
}

/*
 * hv_npt_translate() for the pages of one conversion. While no GFN is remapped,
 * RAM is mapped SPA = GPA (npt.c), so the RAM range of the previous page answers
 * for the next without a search; level_2m is left false, conversions do not
 * read it. *ram is that range, or NULL: then ask hv_npt_translate(). The caller
 * starts with NULL whenever the remap table is not empty; a conversion cannot
 * change it (only hv_npt_set() does, and the emit callback does not re-enter
 * the hypervisor, which is not reentrant).
 */
static inline hv_npt_map_t convert_map(const hv_t *hv, uint64_t gpa, const hv_mem_range_t **ram,
				       bool no_remap)
{
	const hv_mem_range_t *r = *ram;
	if (r && gpa - r->gpa < r->size)
		return (hv_npt_map_t){.kind = HV_NPT_RAM, .spa = gpa & ~HV_MASK_4K};
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	r = no_remap ? hv_range_find(hv, gpa) : NULL;
	*ram = r && r->kind == HV_MEM_RAM ? r : NULL;
	return m;
}

/* The 4K loop of one conversion (hv_convert). */
typedef struct conv {
	hv_event_t ev;             /* the RMPUPDATE event template (rmpupdate_ev) */
	const hv_mem_range_t *ram; /* convert_map()'s cache */
	bool no_remap;             /* no GFN remapped (for the whole conversion, see convert_map) */
	uint64_t free_end;         /* GFNs below it (from the current one) have hypervisor-owned
				      RMP entries at SPA = GPA */
} conv_t;

/*
 * How many of the n pages from gfn, mapped SPA = GPA, rmp_lookup() would find
 * covered and hypervisor-owned: one scan instead of a lookup per page. The
 * answer stays true while the loop goes on: an RMPUPDATE changes only its own
 * frame (and splits a hypervisor-owned 2M entry into hypervisor-owned 4K ones).
 */
static uint64_t free_run(const hv_t *hv, uint64_t gfn, uint64_t n)
{
	uint64_t spa = gfn << SNP_PAGE_SHIFT, limit = rmp_spa_limit(hv->rmp);
	if (spa >= limit)
		return 0;
	if (n > (limit - spa) >> SNP_PAGE_SHIFT)
		n = (limit - spa) >> SNP_PAGE_SHIFT;
	return rmp_scan(hv->rmp, spa, spa, n, 0, RMP_SCAN_ASSIGNED, false);
}

/*
 * How many of the `left` pages from gfn are RAM mapped SPA = GPA (convert_map's
 * cached range) with hypervisor-owned RMP entries (free_run): convert_4k would
 * leave each of them alone ("shared") or RMPUPDATE it without further checks.
 */
static uint64_t free_pages(const hv_t *hv, conv_t *c, uint64_t gfn, uint64_t left)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT;
	const hv_mem_range_t *r = c->ram;
	if (!r || gpa - r->gpa >= r->size) {
		/* what convert_map() would cache after hv_npt_translate() */
		if (!c->no_remap)
			return 0;
		r = hv_range_find(hv, gpa);
		c->ram = r && r->kind == HV_MEM_RAM ? r : NULL;
		if (!c->ram)
			return 0;
	}
	uint64_t in_range = (r->gpa + r->size - gpa) >> SNP_PAGE_SHIFT;
	if (left > in_range)
		left = in_range;
	if (gfn >= c->free_end)
		c->free_end = gfn + free_run(hv, gfn, left);
	uint64_t n = c->free_end > gfn ? c->free_end - gfn : 0;
	return n < left ? n : left;
}

/*
 * convert_4k() of n free_pages(): one RMPUPDATE and event per page as
 * rmpupdate_ev() makes them, the fields common to the run set once.
 */
static bool convert_free(hv_t *hv, conv_t *c, uint64_t gfn, uint64_t n, bool assigned,
			 uint64_t *done)
{
	hv_event_t *ev = &c->ev;
	rmp_state_t st = {.assigned = assigned};
	if (assigned)
		st.asid = hv->cfg.asid;
	ev->npages = 1;
	ev->assigned = assigned;
	ev->page_2m = false;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t gpa = (gfn + k) << SNP_PAGE_SHIFT;
		if (assigned)
			st.gpa = gpa;
		rmp_result_t r = rmp_rmpupdate(hv->rmp, 0, gpa, &st);
		ev->vcpu = hv->cur_vcpu;
		ev->ghcb_gpa = hv->cur_ghcb;
		ev->spa = gpa;
		ev->gpa = gpa;
		ev->gfn = gfn + k;
		ev->status = r;
		hv_emit(hv, ev);
		if (!rmp_ok(r))
			return false;
		(*done)++;
	}
	return true;
}

/*
 * One 4 KiB page. Private: a page already private to this guest at this GPA is
 * left untouched, Validated and all (KVM; this is what exposes a double
 * validation, facts §6.5 step 4); else RMPUPDATE assigned (PSMASH first if it
 * sits in an assigned 2M entry). Shared: PSMASH first if needed, RMPUPDATE to
 * hypervisor-owned. A page of another owner (ASID, firmware) is refused.
 */
static bool convert_4k(hv_t *hv, uint64_t gfn, uint32_t op, conv_t *c)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT;
	hv_npt_map_t m = convert_map(hv, gpa, &c->ram, c->no_remap);
	rmp_entry_t e;
	if (m.kind != HV_NPT_RAM || !rmp_lookup(hv->rmp, m.spa, &e))
		return false; /* not guest RAM: QEMU's conversion fails, a generic error */
	if (op == SNP_PAGE_STATE_PRIVATE && owned_at(hv, &e, gpa))
		return true;
	if (op == SNP_PAGE_STATE_SHARED && !e.assigned)
		return true;
	if (e.assigned && (e.immutable || e.asid != hv->cfg.asid))
		return false;
	/* an assigned 2M entry cannot take a 4K RMPUPDATE (FAIL_OVERLAP): split it first */
	if (e.assigned && e.page_2m && !rmp_ok(hv_psmash(hv, m.spa)))
		return false;
	return rmp_ok(rmpupdate_ev(hv, &c->ev, m.spa, gpa, op == SNP_PAGE_STATE_PRIVATE, false));
}

/*
 * A whole 2M entry with one 2M RMPUPDATE where the RMP allows it (KVM maps a
 * 2M folio with a 2M entry): true if done, false to fall back to 4K pages.
 */
static bool convert_2m(hv_t *hv, uint64_t gfn, uint32_t op)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT, spa = gpa; /* identity (checked by the caller) */
	rmp_entry_t e;
	if (!rmp_lookup(hv->rmp, spa, &e))
		return false;
	if (op == SNP_PAGE_STATE_SHARED) {
		if (!e.page_2m)
			return false;
		if (!e.assigned)
			return true;
		if (e.immutable || e.asid != hv->cfg.asid)
			return false;
		return rmp_ok(hv_rmpupdate(hv, spa, gpa, false, true));
	}
	if (e.page_2m && e.assigned)
		return owned_at(hv, &e, gpa); /* already ours: untouched; else 4K handles it */
	if (!e.page_2m) {
		/*
		 * A 2M private entry needs all 512 sub-pages free (facts §13, KVM) and
		 * RMP-covered; one scan answers without 512 lookups.
		 */
		if (spa + SNP_PAGE_2M_SIZE > rmp_spa_limit(hv->rmp) ||
		    rmp_scan(hv->rmp, spa, gpa, HV_GFN_PER_2M, 0, RMP_SCAN_ASSIGNED, false) !=
			    HV_GFN_PER_2M)
			return false;
	}
	return rmp_ok(hv_rmpupdate(hv, spa, gpa, true, true));
}

uint64_t hv_convert(hv_t *hv, uint64_t gfn, uint64_t npages, uint32_t op, bool allow_2m,
		    uint64_t *done)
{
	*done = 0;
	if (allow_2m && npages == HV_GFN_PER_2M && !(gfn & (HV_GFN_PER_2M - 1)) &&
	    hv_region_2m_identity(hv, gfn) && convert_2m(hv, gfn, op)) {
		*done = npages;
		return 0;
	}
	conv_t c = {.ev = hv_ev(hv, HV_EV_RMPUPDATE),
		    .no_remap = g_hash_table_size(hv->remap) == 0};
	for (uint64_t i = 0; i < npages;) {
		uint64_t n = free_pages(hv, &c, gfn + i, npages - i);
		if (n) {
			/* hypervisor-owned already: "shared" leaves them, anything else updates */
			if (op == SNP_PAGE_STATE_SHARED)
				*done += n;
			else if (!convert_free(hv, &c, gfn + i, n, op == SNP_PAGE_STATE_PRIVATE,
					       done))
				return VMGEXIT_PSC_ERROR_GENERIC;
			i += n;
			continue;
		}
		if (!convert_4k(hv, gfn + i, op, &c))
			return VMGEXIT_PSC_ERROR_GENERIC;
		(*done)++;
		i++;
	}
	return 0;
}

/*
 * PSMASH (3) / UNSMASH (4) entries are hints (facts §6.5 step 5): the 2M region
 * holding gfn is smashed (if a 2M entry) or unsmashed (if 4K entries, identity
 * mapped) where the RMP allows; the entry counts as completed either way.
 */
static void psc_hint(hv_t *hv, uint64_t gfn, bool smash)
{
	uint64_t base = gfn & ~(HV_GFN_PER_2M - 1);
	hv_npt_map_t m = hv_npt_translate(hv, gfn << SNP_PAGE_SHIFT);
	rmp_entry_t e;
	if (m.kind != HV_NPT_RAM || !rmp_lookup(hv->rmp, m.spa, &e))
		return;
	if (smash && e.page_2m)
		(void)hv_psmash(hv, m.spa);
	else if (!smash && !e.page_2m && hv_region_2m_identity(hv, base))
		(void)hv_unsmash(hv, base << SNP_PAGE_SHIFT);
}

/* ------------------------------------------------------------------ the NAE event */

static void emit_entry(hv_t *hv, uint64_t e, uint64_t status)
{
	hv_event_t ev = hv_ev(hv, HV_EV_PSC_ENTRY);
	ev.gfn = PSC_ENTRY_GFN(e);
	ev.gpa = ev.gfn << SNP_PAGE_SHIFT;
	ev.page_2m = PSC_ENTRY_2M(e);
	ev.npages = ev.page_2m ? SNP_PAGES_PER_2M : 1;
	ev.op = PSC_ENTRY_OP(e);
	ev.psc_status = status;
	hv_emit(hv, &ev);
}

/*
 * SVM_VMGEXIT_PSC (facts §6.5). The descriptor is in the GHCB shared buffer at
 * SW_SCRATCH; the header and entries are copied once and only the copies are
 * indexed. The answer is SW_EXITINFO1 = 0 with the PSC status in SW_EXITINFO2,
 * and cur_entry / each entry's cur_page updated in place.
 */
hv_exit_action_t hv_nae_psc(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx_unused,
			    hv_exit_t *x)
{
	(void)v, (void)fx_unused;
	if (!hv_scratch(g, sizeof(struct psc_hdr)))
		return HV_RESUME;
	uint8_t *buf = g->page + g->scratch_off;
	/* the real room between SW_SCRATCH and 0xFF0, not 253 (the KVM fix, facts §6.6) */
	uint32_t max = (g->scratch_len - (uint32_t)sizeof(struct psc_hdr)) / sizeof(uint64_t);
	struct psc_hdr h;
	memcpy(&h, buf, sizeof(h));
	const uint32_t cur0 = h.cur_entry, end = h.end_entry;
	if (end >= max) {
		g->info2 = VMGEXIT_PSC_ERROR_INVALID_HDR;
		return HV_RESUME;
	}
	uint64_t ent[VMGEXIT_PSC_MAX_ENTRY];
	memcpy(ent, buf + sizeof(h), (end + 1) * sizeof(uint64_t));

	/* the fault plan sees the GFNs of the entries still to do */
	hv_extent_t ext[VMGEXIT_PSC_MAX_ENTRY];
	size_t next = 0;
	for (uint32_t i = cur0; i <= end; i++)
		ext[next++] = (hv_extent_t){PSC_ENTRY_GFN(ent[i]),
					    PSC_ENTRY_2M(ent[i]) ? HV_GFN_PER_2M : 1};
	hv_occ_t occ = {.kinds = (1u << HV_TRIG_VMGEXIT) | (1u << HV_TRIG_NAE) |
				 (1u << HV_TRIG_GHCB_PSC),
			.nae = true,
			.exit_code = SVM_VMGEXIT_PSC,
			.psc_ghcb = true,
			.ignorable = true,
			.ext = ext,
			.next = next};
	hv_fx_t fx;
	hv_fault_match(hv, &occ, &fx);
	hv_fault_apply_vc(&fx, x); /* PSC matches its own faults: INJECT_VC is ours to pass on */

	uint64_t status = 0;
	uint32_t cur = cur0;
	if (fx.disp == HV_DISP_FAIL) {
		/* FAIL: nothing done, the status the plan gives (default the generic error) */
		g->info2 = fx.fail_arg ? fx.fail_arg : VMGEXIT_PSC_ERROR_GENERIC;
		return HV_RESUME;
	}
	if (fx.disp == HV_DISP_NO_PROGRESS) /* success, and cur_entry where it was */
		return HV_RESUME;
	if (fx.disp == HV_DISP_IGNORE) {
		/* IGNORE: every entry reported complete, no RMPUPDATE at all */
		for (cur = cur0; cur <= end; cur++) {
			uint64_t np = PSC_ENTRY_2M(ent[cur]) ? SNP_PAGES_PER_2M : 1;
			ent[cur] = (ent[cur] & ~PSC_ENTRY_CUR_PAGE_MASK) | np;
			emit_entry(hv, ent[cur], 0);
		}
	} else {
		/* benign partial progress (cfg) or the plan's PARTIAL: at most limit entries */
		uint64_t limit = hv->cfg.psc_max_entries ? hv->cfg.psc_max_entries : UINT64_MAX;
		if (fx.partial && fx.partial_n < limit)
			limit = fx.partial_n;
		uint64_t count = 0;
		for (cur = cur0; cur <= end; cur++) {
			uint64_t e = ent[cur];
			uint64_t npages = PSC_ENTRY_2M(e) ? HV_GFN_PER_2M : 1;
			uint64_t cp = PSC_ENTRY_CUR_PAGE(e);
			uint64_t gfn = PSC_ENTRY_GFN(e); /* 40 bits, already 64-bit wide */
			if (cp > npages || (gfn & (npages - 1))) {
				status = VMGEXIT_PSC_ERROR_INVALID_ENTRY;
				emit_entry(hv, e, status);
				break;
			}
			if (cp == npages) /* completed earlier: skipped, cur_entry moves past it */
				continue;
			if (count >= limit)
				break;
			uint32_t op = PSC_ENTRY_OP(e);
			uint64_t done = npages - cp, st = 0;
			switch (op) {
			case SNP_PAGE_STATE_PRIVATE:
			case SNP_PAGE_STATE_SHARED: {
				/* a partly done 2M entry resumes at 4K granularity (KVM) */
				uint64_t target = gfn + cp + (fx.wrong_gfn ? fx.gfn_delta : 0);
				bool allow_2m = cp == 0 && npages == HV_GFN_PER_2M && !fx.force_4k;
				st = hv_convert(hv, target & PSC_ENTRY_GFN_MASK, npages - cp, op,
						allow_2m, &done);
				break;
			}
			case SNP_PAGE_STATE_PSMASH:
			case SNP_PAGE_STATE_UNSMASH:
				psc_hint(hv, gfn, op == SNP_PAGE_STATE_PSMASH);
				break;
			default:
				/* 0, 5-15: KVM completes them as no-ops; the GHCB spec says invalid */
				if (hv->cfg.strict_psc_ops) {
					st = VMGEXIT_PSC_ERROR_INVALID_ENTRY;
					done = 0;
				}
				break;
			}
			cp += done;
			ent[cur] = (e & ~PSC_ENTRY_CUR_PAGE_MASK) | cp;
			emit_entry(hv, ent[cur], st);
			count++;
			if (st) {
				status = st;
				break;
			}
		}
	}

	/* progress back to the guest: cur_entry and the entries' cur_page */
	h.cur_entry = (uint16_t)cur;
	for (uint32_t i = cur0; i <= end; i++)
		memcpy(buf + sizeof(h) + i * sizeof(uint64_t), &ent[i], sizeof(uint64_t));

	/* the fault plan's lies about the header and the buffer (facts §6.6, §12) */
	if (fx.cur_back) {
		uint64_t n = fx.cur_back_n ? fx.cur_back_n : 1;
		h.cur_entry = h.cur_entry > n ? (uint16_t)(h.cur_entry - n) : 0;
	}
	if (fx.end_change)
		h.end_entry = (uint16_t)(h.end_entry + fx.end_delta);
	if (fx.rsvd)
		h.reserved = fx.rsvd_val;
	if (fx.rewrite) {
		for (uint32_t i = 0; i <= end; i++) {
			uint64_t e = hv_get64(buf, (uint32_t)(sizeof(h) + i * sizeof(uint64_t)));
			uint64_t gfn = (PSC_ENTRY_GFN(e) + fx.rewrite_delta) & PSC_ENTRY_GFN_MASK;
			e = (e & ~(PSC_ENTRY_GFN_MASK << PSC_ENTRY_GFN_SHIFT)) |
			    (gfn << PSC_ENTRY_GFN_SHIFT);
			hv_put64(buf, (uint32_t)(sizeof(h) + i * sizeof(uint64_t)), e);
		}
	}
	memcpy(buf, &h, sizeof(h));
	g->info2 = status;
	return HV_RESUME;
}
