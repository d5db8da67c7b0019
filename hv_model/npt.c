/* SPDX-License-Identifier: MIT */
/*
 * The nested page table: GPA -> SPA. RAM and ROM are identity mapped (SPA =
 * GPA) unless a GFN is remapped (a remap/replay attack, or a test); MMIO ranges
 * are reserved-bit entries (guest accesses take #VC 0x400); anything else is
 * unmapped. KVM maps 2M where the RMP entry is 2M; here an entry is 2M when the
 * RMP entry is 2M and the whole 2M region is an identity-mapped guest range.
 */
#include "hv-private.h"

const hv_mem_range_t *hv_range_find(const hv_t *hv, uint64_t gpa)
{
	size_t lo = 0, hi = hv->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const hv_mem_range_t *r = &hv->ranges[mid];
		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* [gpa, gpa + size) lies in RAM ranges (or RAM and ROM ranges with rom_ok), no holes */
bool hv_range_covers(const hv_t *hv, uint64_t gpa, uint64_t size, bool rom_ok)
{
	uint64_t end = gpa + size;
	if (end < gpa)
		return false;
	while (gpa < end) {
		const hv_mem_range_t *r = hv_range_find(hv, gpa);
		if (!r || (r->kind != HV_MEM_RAM && !(rom_ok && r->kind == HV_MEM_ROM)))
			return false;
		gpa = r->gpa + r->size;
	}
	return true;
}

/* The 2M region of gfn is guest RAM/ROM mapped SPA = GPA, without remapped pages. */
bool hv_region_2m_identity(const hv_t *hv, uint64_t gfn)
{
	uint64_t base = gfn & ~(HV_GFN_PER_2M - 1);
	if (g_hash_table_size(hv->remap_2m) &&
	    g_hash_table_contains(hv->remap_2m, HV_KEY(base >> 9)))
		return false;
	return hv_range_covers(hv, base << SNP_PAGE_SHIFT, SNP_PAGE_2M_SIZE, true);
}

hv_npt_map_t hv_npt_translate(const hv_t *hv, uint64_t gpa)
{
	hv_npt_map_t m = {.kind = HV_NPT_UNMAPPED};
	const hv_mem_range_t *r = hv_range_find(hv, gpa);
	if (!r)
		return m;
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT;
	m.spa = gpa & ~HV_MASK_4K;
	switch (r->kind) {
	case HV_MEM_MMIO: m.kind = HV_NPT_MMIO; return m;
	case HV_MEM_ROM: m.kind = HV_NPT_ROM; break;
	case HV_MEM_RAM: m.kind = HV_NPT_RAM; break;
	}
	gpointer spa;
	if (g_hash_table_size(hv->remap) &&
	    g_hash_table_lookup_extended(hv->remap, HV_KEY(gfn), NULL, &spa)) {
		m.spa = HV_UNKEY(spa);
		return m; /* a remapped page is mapped 4K */
	}
	/* only the entry's size matters here: no need to decode the whole entry */
	if (rmp_page_2m(hv->rmp, m.spa) && hv_region_2m_identity(hv, gfn))
		m.level_2m = true;
	return m;
}

/* The NPT entry of gfn becomes spa (identity removes the override); emits HV_EV_NPT_REMAP. */
bool hv_npt_set(hv_t *hv, uint64_t gfn, uint64_t spa)
{
	uint64_t gpa = gfn << SNP_PAGE_SHIFT;
	const hv_mem_range_t *r = gfn <= (RMP_SPA_LIMIT_MAX >> SNP_PAGE_SHIFT)
					  ? hv_range_find(hv, gpa)
					  : NULL;
	if (!r || r->kind != HV_MEM_RAM || (spa & HV_MASK_4K) || spa >= rmp_spa_limit(hv->rmp))
		return false;
	uint64_t old = hv_npt_translate(hv, gpa).spa;
	gpointer key = HV_KEY(gfn), rkey = HV_KEY(gfn >> 9);
	bool was = g_hash_table_contains(hv->remap, key);
	if (spa == gpa) {
		if (was) {
			g_hash_table_remove(hv->remap, key);
			uint64_t n = HV_UNKEY(g_hash_table_lookup(hv->remap_2m, rkey));
			if (n <= 1)
				g_hash_table_remove(hv->remap_2m, rkey);
			else
				g_hash_table_insert(hv->remap_2m, rkey, HV_KEY(n - 1));
		}
	} else {
		g_hash_table_insert(hv->remap, key, HV_KEY(spa));
		if (!was) {
			uint64_t n = HV_UNKEY(g_hash_table_lookup(hv->remap_2m, rkey));
			g_hash_table_insert(hv->remap_2m, rkey, HV_KEY(n + 1));
		}
	}
	hv_event_t ev = hv_ev(hv, HV_EV_NPT_REMAP);
	ev.gfn = gfn;
	ev.gpa = gpa;
	ev.spa = spa;
	ev.info1 = old;
	hv_emit(hv, &ev);
	return true;
}

bool hv_npt_remap(hv_t *hv, uint64_t gfn, uint64_t spa)
{
	return hv && hv_npt_set(hv, gfn, spa);
}

/*
 * #VMEXIT(NPF) with RMP bits (facts §2.5, KVM sev_handle_rmp_fault):
 * - SIZEM: the NPT maps 4K where the RMP entry is 2M: PSMASH it and retry.
 * - a private access (ENC) to a page the RMP shows hypervisor-owned: with
 *   cfg->implicit_conversion, RMPUPDATE it private (not validated: the guest then
 *   sees #VC 0x404) as KVM + QEMU do on KVM_EXIT_MEMORY_FAULT; else stop.
 * - anything else (wrong owner or GPA, VMPL, not guest RAM): the hypervisor
 *   cannot fix it and the guest is stopped. The machine reports the stop.
 */
hv_npf_action_t hv_handle_npf(hv_t *hv, uint32_t vcpu, uint64_t gpa, uint64_t error_code)
{
	hv->cur_vcpu = vcpu;
	hv->cur_ghcb = 0;
	hv_npf_action_t a = HV_NPF_STOP;
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	rmp_entry_t e;
	if ((m.kind == HV_NPT_RAM || m.kind == HV_NPT_ROM) && (error_code & PFERR_RMP) &&
	    rmp_lookup(hv->rmp, m.spa, &e)) {
		if (error_code & PFERR_GUEST_SIZEM) {
			rmp_result_t r = e.page_2m ? hv_psmash(hv, m.spa) : (rmp_result_t){0};
			/* already split (another vCPU, or the RMP moved on): retry as well */
			if (rmp_ok(r))
				a = HV_NPF_RETRY;
		} else if ((error_code & PFERR_GUEST_ENC) && !e.assigned &&
			   hv->cfg.implicit_conversion && m.kind == HV_NPT_RAM) {
			if (rmp_ok(hv_rmpupdate(hv, m.spa, gpa & ~HV_MASK_4K, true, false)))
				a = HV_NPF_RETRY;
		}
	}
	hv_event_t ev = hv_ev(hv, HV_EV_NPF);
	ev.gpa = gpa;
	ev.gfn = gpa >> SNP_PAGE_SHIFT;
	ev.spa = m.spa;
	ev.info1 = error_code;
	ev.op = a;
	hv_emit(hv, &ev);
	return a;
}
