/* SPDX-License-Identifier: MIT */
/*
 * PVALIDATE, the page-state conversions in both directions and PEI's
 * pre-validation of system RAM.
 *
 * Conversion order (facts §7.1, Linux __set_pages_state, OVMF
 * InternalSetPageState), per batch of PSC entries:
 *   private -> shared: rescind every entry, then PSC "shared";
 *   shared -> private: PSC "private", then validate every entry, then the
 *                      eviction touch (§7.4).
 * 2M entries are validated as 2M; FAIL_SIZEMISMATCH falls back to 512 x 4K and
 * any failure inside the fallback is fatal (§7.2). CF=1 is fatal (§7.3).
 */
#include "gfw-private.h"

/* ------------------------------------------------------------------ memory map helpers */

const gfw_mem_entry_t *gfw_mem_find(const gfw_t *g, uint64_t gpa)
{
	for (uint32_t i = 0; i < g->cfg.nmem; i++) {
		const gfw_mem_entry_t *e = &g->cfg.mem[i];
		if (gpa >= e->gpa && gpa - e->gpa < e->size)
			return e;
	}
	return NULL;
}

bool gfw_range_is_ram(const gfw_t *g, uint64_t gpa, uint64_t size)
{
	/* the map is sorted and disjoint (gfw_init): walk adjacent RAM entries */
	uint64_t end = gpa + size;
	while (gpa < end) {
		const gfw_mem_entry_t *e = gfw_mem_find(g, gpa);
		if (!e || e->type != GFW_MEM_RAM)
			return false;
		gpa = e->gpa + e->size;
	}
	return true;
}

bool gfw_range_has_ghcb(const gfw_t *g, uint64_t gpa, uint64_t end)
{
	for (uint32_t i = 0; i < GFW_MAX_CPUS; i++) {
		uint64_t gh = g->cfg.ghcb_gpa[i];
		if (gh && gh < end && gh + SNP_PAGE_SIZE > gpa)
			return true;
	}
	return false;
}

bool gfw_in_prevalidated(const gfw_t *g, uint64_t gpa)
{
	for (uint32_t i = 0; i < g->cfg.nprevalidated; i++) {
		const gfw_range_t *r = &g->cfg.prevalidated[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ PVALIDATE */

uint32_t gfw_pvalidate(gfw_cpu_t *c, uint64_t va, bool page_2m, bool validate)
{
	uint32_t cf;
	uint32_t rc = gfw_pvalidate_raw(c, va, page_2m, validate, &cf);
	if (rc == SNP_RET_SUCCESS && cf) {
		/*
		 * CF=1: the Validated bit did not change, a double validation or a
		 * rescind of an unvalidated page (OVMF IssuePvalidate: "This can lead
		 * to a security compromise"; Linux PVALIDATE_FAIL_NOUPDATE).
		 * GFW_BUG_IGNORE_CF: CF read after it was clobbered, so never seen
		 * (coconut-svsm "Fix PVALIDATE", PR #209).
		 */
		if (!gfw_bug(c, GFW_BUG_IGNORE_CF))
			gfw_terminate(c, GFW_TERM_PVALIDATE);
		return SNP_RET_SUCCESS;
	}
	if (rc == SNP_RET_SUCCESS || (rc == SNP_RET_FAIL_SIZEMISMATCH && page_2m))
		return rc;
	gfw_terminate(c, GFW_TERM_PVALIDATE);
}

/* One PSC-entry-sized page: 2M, falling back to 512 x 4K (Linux pval_pages, OVMF PvalidateRange). */
static void pvalidate_entry(gfw_cpu_t *c, uint64_t va, bool page_2m, bool validate)
{
	if (gfw_pvalidate(c, va, page_2m, validate) == SNP_RET_SUCCESS)
		return;
	/*
	 * GFW_BUG_SIZEMISMATCH_DROP_TAIL: a fallback that validates only the page
	 * at the address, the class of bug coconut-svsm PR #512 fixed ("a large
	 * span that is backed by 4 KB pages ... must always be validated as 4 KB
	 * pages"): the other 511 pages stay unvalidated.
	 */
	uint32_t n = gfw_bug(c, GFW_BUG_SIZEMISMATCH_DROP_TAIL) ? 1u : SNP_PAGES_PER_2M;
	for (uint32_t i = 0; i < n; i++)
		if (gfw_pvalidate(c, va + (uint64_t)i * SNP_PAGE_SIZE, false, validate) !=
		    SNP_RET_SUCCESS)
			gfw_terminate(c, GFW_TERM_PVALIDATE);
}

/*
 * Linux sev_evict_cache / OVMF SevEvictCache (CVE-2024-36331): read the first
 * and the last byte of every 4 KiB page just validated, unless the CPUID page
 * says COHERENCY_SFW_NO.
 */
static bool evict_needed(const gfw_cpu_t *c)
{
	return c->g->cfg.policy.evict_touch && !c->g->coherency_sfw_no;
}

static void evict_touch(gfw_cpu_t *c, uint64_t gpa, uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint8_t b;
		uint64_t p = gpa + i * SNP_PAGE_SIZE;
		gfw_read(c, p, &b, 1, true);
		gfw_read(c, p + SNP_PAGE_SIZE - 1, &b, 1, true);
	}
}

/* The address PVALIDATE gets for a PSC entry's GFN. */
static uint64_t entry_va(const gfw_cpu_t *c, uint64_t gfn)
{
	uint64_t va = gfn << SNP_PAGE_SHIFT;
	/*
	 * GFW_BUG_GFN_SHIFT32: OVMF PvalidateRange computed
	 * "Info->Entry[i].GuestFrameNumber << EFI_PAGE_SHIFT" on the 40-bit
	 * bit-field, so the shift happened in 40 bits and GPAs at 1 TiB and above
	 * wrapped (fixed in edk2 e8c23d1e27 "Fix address overflow during PVALIDATE").
	 */
	if (gfw_bug(c, GFW_BUG_GFN_SHIFT32))
		va &= (1ull << 40) - 1;
	return va;
}

/* PVALIDATE the n entries of the current request. */
static void pvalidate_batch(gfw_cpu_t *c, uint32_t n, bool validate)
{
	uint64_t shared = c->ghcb_gpa + GHCB_OFF_SHARED_BUFFER + sizeof(struct psc_hdr);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = c->psc.entries[i];
		/*
		 * GFW_BUG_PVALIDATE_FROM_SHARED: OVMF's PvalidateRange read its
		 * entries from Info = Ghcb->SharedBuffer after the VMGEXIT (edk2
		 * SnpPageStateChangeInternal.c before the PSC work buffer), so the
		 * hypervisor chose what got validated. The fix uses the private copy.
		 */
		if (gfw_bug(c, GFW_BUG_PVALIDATE_FROM_SHARED))
			e = gfw_read64(c, shared + (uint64_t)i * 8u, false);
		pvalidate_entry(c, entry_va(c, PSC_ENTRY_GFN(e)), PSC_ENTRY_2M(e) != 0, validate);
	}
	if (!validate || !evict_needed(c))
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = c->psc.entries[i];
		evict_touch(c, PSC_ENTRY_GFN(e) << SNP_PAGE_SHIFT,
			    PSC_ENTRY_2M(e) ? SNP_PAGES_PER_2M : 1u);
	}
}

static uint64_t batch_pages(const gfw_cpu_t *c, uint32_t n)
{
	uint64_t pages = 0;
	for (uint32_t i = 0; i < n; i++)
		pages += PSC_ENTRY_2M(c->psc.entries[i]) ? SNP_PAGES_PER_2M : 1u;
	return pages;
}

/* ------------------------------------------------------------------ conversions */

/* The MSR protocol, one 4 KiB page at a time (Linux early_set_pages_state). */
static void change_state_msr(gfw_cpu_t *c, uint64_t gpa, uint64_t end, uint32_t op)
{
	bool to_shared = op == SNP_PAGE_STATE_SHARED;
	bool rescind_first = to_shared && !gfw_bug(c, GFW_BUG_RESCIND_AFTER_PSC);
	bool validate_first = !to_shared && gfw_bug(c, GFW_BUG_PVALIDATE_BEFORE_PSC);
	uint64_t start = gpa;
	for (; gpa < end; gpa += SNP_PAGE_SIZE) {
		if (rescind_first || validate_first)
			gfw_pvalidate(c, gpa, false, !to_shared);
		gfw_psc_msr(c, gpa, op);
		if (!(rescind_first || validate_first))
			gfw_pvalidate(c, gpa, false, !to_shared);
		if (!to_shared && evict_needed(c))
			evict_touch(c, gpa, 1);
	}
	uint64_t npages = (end - start) >> SNP_PAGE_SHIFT;
	if (npages && to_shared)
		gfw_note(c, GFW_NOTE_RESCINDED, 0, start, npages);
	if (npages)
		gfw_note(c, GFW_NOTE_PSC_DONE, op, start, npages);
}

void gfw_change_state(gfw_cpu_t *c, uint64_t gpa, uint64_t npages, uint32_t op)
{
	uint64_t len = npages << SNP_PAGE_SHIFT;
	/*
	 * GFW_BUG_LEN_TRUNC32: Linux computed "vaddr + (npages << PAGE_SHIFT)" with
	 * an unsigned int npages, so 4 GiB and more wrapped to a short range (fixed
	 * by "x86/sev: Fix calculation of end address based on number of pages").
	 */
	if (gfw_bug(c, GFW_BUG_LEN_TRUNC32))
		len = (uint32_t)len;
	uint64_t end = gpa + len;
	bool to_shared = op == SNP_PAGE_STATE_SHARED;

	if (c->g->cfg.policy.msr_only || !c->ghcb_ready) {
		change_state_msr(c, gpa, end, op);
		return;
	}
	while (gpa < end) {
		uint64_t next;
		uint32_t n = gfw_psc_build(c, gpa, end, op, &next);
		uint64_t pages = batch_pages(c, n);
		/* OVMF built the request in Ghcb->SharedBuffer itself: the bug reads it there */
		if (gfw_bug(c, GFW_BUG_PVALIDATE_FROM_SHARED))
			gfw_write(c, c->ghcb_gpa + GHCB_OFF_SHARED_BUFFER, &c->psc,
				  (uint32_t)(sizeof(struct psc_hdr) + (uint64_t)n * 8u), false);
		if (to_shared) {
			/*
			 * "Page validation must be rescinded before changing to shared"
			 * (Linux __set_pages_state). GFW_BUG_RESCIND_AFTER_PSC swaps the
			 * two: for a while the hypervisor owns a page the guest still
			 * holds validated.
			 */
			if (!gfw_bug(c, GFW_BUG_RESCIND_AFTER_PSC)) {
				pvalidate_batch(c, n, false);
				gfw_note(c, GFW_NOTE_RESCINDED, 0, gpa, pages);
			}
			gfw_psc_ghcb(c, n);
			gfw_note(c, GFW_NOTE_PSC_DONE, op, gpa, pages);
			if (gfw_bug(c, GFW_BUG_RESCIND_AFTER_PSC)) {
				pvalidate_batch(c, n, false);
				gfw_note(c, GFW_NOTE_RESCINDED, 0, gpa, pages);
			}
		} else {
			/*
			 * "Page validation must be performed after changing to private"
			 * (Linux __set_pages_state). GFW_BUG_PVALIDATE_BEFORE_PSC
			 * validates first: the pages are not yet assigned to the guest.
			 */
			if (gfw_bug(c, GFW_BUG_PVALIDATE_BEFORE_PSC))
				pvalidate_batch(c, n, true);
			gfw_psc_ghcb(c, n);
			gfw_note(c, GFW_NOTE_PSC_DONE, op, gpa, pages);
			if (!gfw_bug(c, GFW_BUG_PVALIDATE_BEFORE_PSC))
				pvalidate_batch(c, n, true);
		}
		gpa = next;
	}
}

/* A step's range: page aligned, nonempty, no wrap, inside the physical space. */
static void check_request(gfw_cpu_t *c, uint64_t gpa, uint64_t size)
{
	if (size == 0 || !gfw_aligned(gpa, SNP_PAGE_SIZE) || !gfw_aligned(size, SNP_PAGE_SIZE) ||
	    gpa >= GFW_MAX_GPA || size > GFW_MAX_GPA - gpa)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	if (!gfw_range_is_ram(c->g, gpa, size) || gfw_range_has_ghcb(c->g, gpa, gpa + size))
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
}

void gfw_set_shared(gfw_cpu_t *c, uint64_t gpa, uint64_t size)
{
	check_request(c, gpa, size);
	/* only a validated page can be rescinded: accept lazy units first (no-op elsewhere) */
	if (gfw_range_has_unaccepted(c->g, gpa, gpa + size))
		gfw_accept(c, gpa, size);
	gfw_change_state(c, gpa, size >> SNP_PAGE_SHIFT, SNP_PAGE_STATE_SHARED);
}

void gfw_set_private(gfw_cpu_t *c, uint64_t gpa, uint64_t size)
{
	check_request(c, gpa, size);
	/*
	 * Unaccepted memory was never shared: validating it here would leave its
	 * bitmap bit set and the next accept would validate it twice. Accept it.
	 */
	if (gfw_range_has_unaccepted(c->g, gpa, gpa + size))
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	gfw_change_state(c, gpa, size >> SNP_PAGE_SHIFT, SNP_PAGE_STATE_PRIVATE);
	gfw_note(c, GFW_NOTE_ACCEPTED, 0, gpa, size >> SNP_PAGE_SHIFT);
}

/* ------------------------------------------------------------------ pre-validation */

/* The earliest range of [addr, end) that pre-validation must skip; false if none. */
static bool next_excluded(const gfw_cpu_t *c, uint64_t addr, uint64_t end, uint64_t *xs,
			  uint64_t *xe)
{
	const gfw_t *g = c->g;
	bool found = false;
	uint64_t bs = 0, be = 0;
#define CONSIDER(s, e)                                                       \
	do {                                                                 \
		uint64_t s_ = (s), e_ = (e);                                 \
		if (e_ > addr && s_ < end && (!found || s_ < bs)) {          \
			bs = s_;                                             \
			be = e_;                                             \
			found = true;                                        \
		}                                                            \
	} while (0)
	/*
	 * OVMF keeps the launch ranges (SEC_MEM, CPUID, secrets, ...) in
	 * mPreValidatedRange and skips them: validating them again gives CF=1
	 * (edk2 11b15336f0). GFW_BUG_NO_PREVALIDATED_SKIP is the code before it.
	 */
	if (!gfw_bug(c, GFW_BUG_NO_PREVALIDATED_SKIP))
		for (uint32_t i = 0; i < g->cfg.nprevalidated; i++)
			CONSIDER(g->cfg.prevalidated[i].gpa,
				 g->cfg.prevalidated[i].gpa + g->cfg.prevalidated[i].size);
	/* the GHCB pages are shared (boot made them so) */
	for (uint32_t i = 0; i < GFW_MAX_CPUS; i++)
		if (g->cfg.ghcb_gpa[i])
			CONSIDER(g->cfg.ghcb_gpa[i], g->cfg.ghcb_gpa[i] + SNP_PAGE_SIZE);
	/* lazy units stay unaccepted */
	uint64_t rs, re;
	if (gfw_bitmap_next_run(g, addr, end, &rs, &re))
		CONSIDER(rs, re);
#undef CONSIDER
	if (!found)
		return false;
	/* exclusions may overlap: the caller resumes at *xe and asks again */
	*xs = bs;
	*xe = be;
	return true;
}

static void validate_range(gfw_cpu_t *c, uint64_t gpa, uint64_t end)
{
	if (gpa >= end)
		return;
	uint64_t npages = (end - gpa) >> SNP_PAGE_SHIFT;
	gfw_change_state(c, gpa, npages, SNP_PAGE_STATE_PRIVATE);
	gfw_note(c, GFW_NOTE_ACCEPTED, 0, gpa, npages);
}

void gfw_prevalidate_ram(gfw_cpu_t *c)
{
	const gfw_t *g = c->g;
	/* the lazy units, announced before any validation (what the checker calls unaccepted) */
	uint64_t rs, re, at = 0;
	while (at < GFW_MAX_GPA && gfw_bitmap_next_run(g, at, GFW_MAX_GPA, &rs, &re)) {
		gfw_note(c, GFW_NOTE_UNACCEPTED, 0, rs, (re - rs) >> SNP_PAGE_SHIFT);
		at = re;
	}
	/* OVMF MemEncryptSevSnpPreValidateSystemRam over every RAM range, above 4 GiB too */
	for (uint32_t i = 0; i < g->cfg.nmem; i++) {
		const gfw_mem_entry_t *e = &g->cfg.mem[i];
		if (e->type != GFW_MEM_RAM)
			continue; /* MMIO and reserved ranges are never validated */
		uint64_t addr = e->gpa, end = e->gpa + e->size;
		while (addr < end) {
			uint64_t xs, xe;
			if (!next_excluded(c, addr, end, &xs, &xe)) {
				validate_range(c, addr, end);
				break;
			}
			validate_range(c, addr, gfw_min64(xs, end));
			addr = gfw_max64(addr, xe);
		}
	}
}
