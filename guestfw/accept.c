/* SPDX-License-Identifier: MIT */
/*
 * Lazy validation: the unaccepted bitmap and accept on demand (facts §11).
 *
 * One bit per 2 MiB unit, set = still unaccepted (Linux's EFI unaccepted table).
 * accept() follows Linux accept_memory(): under the lock, wait while another
 * vCPU's in-flight unit range overlaps ours, record ours, then for each run of
 * set bits drop the lock, convert the run to private (PSC + PVALIDATE), retake
 * the lock and clear the bits. A unit is therefore accepted exactly once, even
 * when two vCPUs ask for different pages of it, and never twice in sequence
 * (the second request finds its bits clear: a no-op).
 *
 * Not done, by choice: Linux accepts one extra unit when a request ends on a
 * unit boundary, because load_unaligned_zeropad() may read across it. Firmware
 * has no such loads and OVMF does not do it; the lazy #VC path covers any touch.
 */
#include "gfw-private.h"

#define UNIT GFW_ACCEPT_UNIT
#define BITMAP_MAX_UNITS ((uint64_t)GFW_BITMAP_BYTES * 8u)

static bool bit_get(const gfw_t *g, uint64_t u)
{
	return (g->unaccepted[u / 8] >> (u % 8)) & 1u;
}

static void bit_set(gfw_t *g, uint64_t u)
{
	g->unaccepted[u / 8] |= (uint8_t)(1u << (u % 8));
}

static void bit_clear(gfw_t *g, uint64_t u)
{
	g->unaccepted[u / 8] &= (uint8_t)~(1u << (u % 8));
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t round_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* The i-th range the policy leaves lazy; false past the last. */
static bool lazy_region(const gfw_t *g, uint32_t i, uint64_t *s, uint64_t *e)
{
	const gfw_config_t *cfg = &g->cfg;
	if (cfg->policy.lazy == GFW_LAZY_RANGES) {
		if (i >= cfg->nlazy)
			return false;
		*s = cfg->lazy[i].gpa;
		*e = cfg->lazy[i].gpa + cfg->lazy[i].size;
		return true;
	}
	if (cfg->policy.lazy == GFW_LAZY_ABOVE_4G) {
		/* OVMF PlatformInitLib: system RAM above 4 GiB is "memory unaccepted" */
		const uint64_t four_g = 1ull << 32;
		for (uint32_t k = 0; k < cfg->nmem; k++) {
			const gfw_mem_entry_t *m = &cfg->mem[k];
			if (m->type != GFW_MEM_RAM || m->gpa + m->size <= four_g)
				continue;
			if (i-- == 0) {
				*s = gfw_max64(m->gpa, four_g);
				*e = m->gpa + m->size;
				return true;
			}
		}
	}
	return false;
}

/* A unit that holds a launch page or a GHCB cannot be lazy: accepting it would revalidate them. */
static bool unit_has_fixed_pages(const gfw_t *g, uint64_t s)
{
	uint64_t e = s + UNIT;
	for (uint32_t i = 0; i < g->cfg.nprevalidated; i++) {
		const gfw_range_t *r = &g->cfg.prevalidated[i];
		if (r->gpa < e && r->gpa + r->size > s)
			return true;
	}
	return gfw_range_has_ghcb(g, s, e);
}

bool gfw_bitmap_init(gfw_t *g)
{
	gfw_memset(g->unaccepted, 0, sizeof(g->unaccepted));
	g->bitmap_base = 0;
	g->bitmap_units = 0;
	uint64_t s, e, lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; lazy_region(g, i, &s, &e); i++) {
		if (s >= e || !gfw_aligned(s, SNP_PAGE_SIZE) || !gfw_aligned(e, SNP_PAGE_SIZE) ||
		    !gfw_range_is_ram(g, s, e - s))
			return false;
		/* Linux EFI stub: the partial head and tail units are accepted eagerly */
		uint64_t us = round_up(s, UNIT), ue = round_down(e, UNIT);
		if (us >= ue)
			continue;
		lo = gfw_min64(lo, us);
		hi = gfw_max64(hi, ue);
	}
	if (hi == 0)
		return true;
	g->bitmap_base = lo;
	/* what the bitmap cannot describe is accepted eagerly (Linux EFI stub does the same) */
	g->bitmap_units = gfw_min64((hi - lo) / UNIT, BITMAP_MAX_UNITS);
	uint64_t top = lo + g->bitmap_units * UNIT;
	for (uint32_t i = 0; lazy_region(g, i, &s, &e); i++) {
		uint64_t us = round_up(s, UNIT), ue = gfw_min64(round_down(e, UNIT), top);
		for (uint64_t a = us; a < ue; a += UNIT)
			if (!unit_has_fixed_pages(g, a))
				bit_set(g, (a - lo) / UNIT);
	}
	return true;
}

static uint64_t bitmap_top(const gfw_t *g)
{
	return g->bitmap_base + g->bitmap_units * UNIT;
}

bool gfw_unit_unaccepted(const gfw_t *g, uint64_t gpa)
{
	if (gpa < g->bitmap_base || gpa >= bitmap_top(g))
		return false;
	return bit_get(g, (gpa - g->bitmap_base) / UNIT);
}

bool gfw_bitmap_next_run(const gfw_t *g, uint64_t gpa, uint64_t end, uint64_t *run_start,
			 uint64_t *run_end)
{
	uint64_t s = gfw_max64(gpa, g->bitmap_base), e = gfw_min64(end, bitmap_top(g));
	if (s >= e)
		return false;
	uint64_t u = (s - g->bitmap_base) / UNIT, last = (e - 1 - g->bitmap_base) / UNIT;
	for (; u <= last; u++) {
		if (!bit_get(g, u))
			continue;
		uint64_t r = u;
		while (r + 1 < g->bitmap_units && bit_get(g, r + 1))
			r++;
		*run_start = g->bitmap_base + u * UNIT;
		*run_end = g->bitmap_base + (r + 1) * UNIT;
		return true;
	}
	return false;
}

bool gfw_range_has_unaccepted(const gfw_t *g, uint64_t gpa, uint64_t end)
{
	uint64_t s, e;
	return gfw_bitmap_next_run(g, gpa, end, &s, &e);
}

/* ------------------------------------------------------------------ the lock */

static void lock(gfw_cpu_t *c)
{
	while (!gfw_cas32(c, &c->g->lock, 0, 1))
		gfw_pause(c);
	c->lock_held = true;
}

static void unlock(gfw_cpu_t *c)
{
	gfw_cas32(c, &c->g->lock, 1, 0);
	c->lock_held = false;
}

/* Another vCPU's in-flight range overlaps [first, last] (inclusive). */
static bool overlaps_other(const gfw_cpu_t *c, uint64_t first, uint64_t last)
{
	for (uint32_t i = 0; i < GFW_MAX_CPUS; i++) {
		const gfw_inflight_t *f = &c->g->inflight[i];
		if (i == c->id || !f->active)
			continue;
		/*
		 * GFW_BUG_INFLIGHT_OFF_BY_ONE: the other's last unit compared as if
		 * exclusive, as in Linux's [start, end) accepting_list ranges
		 * ("entry->end <= range.start") applied to inclusive bounds: an
		 * overlap in exactly that unit is missed.
		 */
		bool before = gfw_bug(c, GFW_BUG_INFLIGHT_OFF_BY_ONE) ? f->unit_last <= first
									: f->unit_last < first;
		if (before || f->unit_first > last)
			continue;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ accept */

static void accept_units(gfw_cpu_t *c, uint64_t first, uint64_t last, uint64_t req_gpa,
			 uint64_t req_end)
{
	gfw_t *g = c->g;
	gfw_inflight_t *mine = &g->inflight[c->id];
	/*
	 * GFW_BUG_INFLIGHT_PAGE_GRANULARITY: the in-flight record and the overlap
	 * test use the pages asked for, not their units. Linux accept_memory():
	 * "It is crucial to catch all accept requests to the same unit_size block,
	 * even if they don't overlap on physical address level."
	 */
	bool pages = gfw_bug(c, GFW_BUG_INFLIGHT_PAGE_GRANULARITY);
	uint64_t key_first = pages ? req_gpa >> SNP_PAGE_SHIFT : first;
	uint64_t key_last = pages ? (req_end - 1) >> SNP_PAGE_SHIFT : last;

	/* one in-flight slot per vCPU: an accept nested in an accept cannot be recorded */
	if (mine->active || c->lock_held)
		gfw_terminate(c, GFW_TERM_ACCEPT);
	for (;;) {
		lock(c);
		if (!overlaps_other(c, key_first, key_last))
			break;
		/* someone accepts (part of) our units: let them finish, then look again */
		unlock(c);
		gfw_pause(c);
	}
	/*
	 * GFW_BUG_ACCEPT_WITHOUT_INFLIGHT: the lock is dropped below with no
	 * record, so another vCPU finds the same bits still set and accepts the
	 * same units: the race Linux's accepting list closes ("efi/unaccepted: Fix
	 * soft lockups caused by parallel memory acceptance").
	 */
	bool record = !gfw_bug(c, GFW_BUG_ACCEPT_WITHOUT_INFLIGHT);
	if (record) {
		mine->cpu = c->id;
		mine->unit_first = key_first;
		mine->unit_last = key_last;
		mine->active = 1;
	}
	for (uint64_t u = first; u <= last; u++) {
		if (!bit_get(g, u))
			continue;
		uint64_t r = u;
		while (r + 1 <= last && bit_get(g, r + 1))
			r++;
		uint64_t gpa = g->bitmap_base + u * UNIT;
		uint64_t npages = (r - u + 1) * SNP_PAGES_PER_2M;
		unlock(c);
		/*
		 * GFW_BUG_TOUCH_BEFORE_ACCEPT: a read of memory that is not accepted
		 * yet (firmware clearing or probing a buffer before the accept call):
		 * #VC 0x404 inside the accept. The stray cross-boundary reads of
		 * load_unaligned_zeropad() are Linux's instance of this class.
		 */
		if (gfw_bug(c, GFW_BUG_TOUCH_BEFORE_ACCEPT)) {
			uint64_t probe;
			gfw_read(c, gpa, &probe, sizeof(probe), true);
		}
		gfw_change_state(c, gpa, npages, SNP_PAGE_STATE_PRIVATE);
		gfw_note(c, GFW_NOTE_ACCEPTED, 0, gpa, npages);
		lock(c);
		for (uint64_t k = u; k <= r; k++)
			bit_clear(g, k);
		u = r;
	}
	if (record)
		mine->active = 0;
	unlock(c);
}

void gfw_accept(gfw_cpu_t *c, uint64_t gpa, uint64_t size)
{
	const gfw_t *g = c->g;
	if (size == 0 || !gfw_aligned(gpa, SNP_PAGE_SIZE) || !gfw_aligned(size, SNP_PAGE_SIZE) ||
	    gpa >= GFW_MAX_GPA || size > GFW_MAX_GPA - gpa)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	if (!gfw_range_is_ram(g, gpa, size))
		gfw_terminate(c, GFW_TERM_ACCEPT);
	/* Linux: range rounded out to units; what lies outside the bitmap is accepted already */
	uint64_t s = gfw_max64(gpa, g->bitmap_base), e = gfw_min64(gpa + size, bitmap_top(g));
	if (s >= e)
		return;
	accept_units(c, (s - g->bitmap_base) / UNIT, (e - 1 - g->bitmap_base) / UNIT, gpa,
		     gpa + size);
}

void gfw_accept_fault(gfw_cpu_t *c, uint64_t gpa)
{
	/*
	 * A 0x404 while this vCPU is accepting (its slot is taken or it holds the
	 * lock) cannot be served without accepting inside an accept: fatal, and
	 * before the note, so the checker sees an access outside the lazy path.
	 */
	if (c->lock_held || c->g->inflight[c->id].active)
		gfw_terminate(c, GFW_TERM_ACCEPT);
	gfw_note(c, GFW_NOTE_LAZY_FAULT, 0, gpa, 1);
	gfw_accept(c, gpa & ~(SNP_PAGE_SIZE - 1), SNP_PAGE_SIZE);
}
