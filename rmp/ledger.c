/* SPDX-License-Identifier: MIT */
/*
 * The validation ledger: per GPA frame, the event that validated it. A 2 MiB
 * validation is one "huge" head record standing for all 512 frames, so eager
 * 2M boots cost 16 bytes per 2 MiB; a 4 KiB operation inside it splits it.
 *
 * A run of 4 KiB validations by consecutive events (a 2M PVALIDATE that fell
 * back to 512 x 4K) covering a whole unit is a huge record too, with "seq run":
 * frame i's seq is the head's plus i. It reads exactly as the 512 records would.
 *
 * Record: lo = seq; hi = [39:0] SPA frame, [55:40] vCPU, [61] seq run (huge
 * only), [62] held, [63] huge.
 */
#include <stdlib.h>

#include "pagemap.h"
#include "rmp.h"

#define L_SPA_MASK ((1ull << 40) - 1)
#define L_VCPU_SHIFT 40
#define L_VCPU_MASK 0xFFFFull
#define L_SEQ_RUN (1ull << 61)
#define L_HELD (1ull << 62)
#define L_HUGE (1ull << 63)
#define UNIT_FRAMES SNP_PAGES_PER_2M
#define GFN_LIMIT (1ull << PM_FRAME_BITS)

struct rmp_ledger {
	pm_t pm;
	uint64_t held;
};

rmp_ledger_t *rmp_ledger_new(void)
{
	rmp_ledger_t *l = calloc(1, sizeof(*l));
	if (l)
		pm_init(&l->pm);
	return l;
}

void rmp_ledger_free(rmp_ledger_t *l)
{
	if (!l)
		return;
	pm_fini(&l->pm);
	free(l);
}

static inline pm_rec_t mk(uint64_t seq, uint32_t vcpu, uint64_t spa_pfn, bool huge, bool seq_run)
{
	return (pm_rec_t){.lo = seq,
			  .hi = (spa_pfn & L_SPA_MASK) | ((uint64_t)(vcpu & L_VCPU_MASK) << L_VCPU_SHIFT) |
				L_HELD | (huge ? L_HUGE : 0) | (huge && seq_run ? L_SEQ_RUN : 0)};
}

/* off: the frame's offset in a huge record's unit (0 for a frame's own record) */
static void unpack(const pm_rec_t *r, uint64_t off, rmp_ledger_rec_t *out)
{
	out->held = r->hi & L_HELD;
	out->seq = r->lo + ((r->hi & L_SEQ_RUN) ? off : 0);
	out->vcpu = (uint32_t)((r->hi >> L_VCPU_SHIFT) & L_VCPU_MASK);
	out->spa = ((r->hi & L_SPA_MASK) + off) << SNP_PAGE_SHIFT;
}

/* Turns a huge head into 512 explicit records, so one frame can change. */
static bool split(rmp_ledger_t *l, pm_unit_t *u)
{
	if (!(u->head.hi & L_HUGE))
		return true;
	if (!pm_sub_alloc(&l->pm, u))
		return false;
	pm_rec_t h = u->head;
	uint64_t seq_step = (h.hi & L_SEQ_RUN) ? 1 : 0;
	h.hi &= ~(L_HUGE | L_SEQ_RUN);
	for (uint32_t i = 1; i < UNIT_FRAMES; i++) {
		u->sub[i - 1].lo = h.lo + i * seq_step;
		u->sub[i - 1].hi = h.hi + i; /* consecutive SPA frames */
	}
	u->head = h;
	return true;
}

static pm_rec_t *frame_rec(rmp_ledger_t *l, pm_unit_t *u, uint64_t gfn)
{
	if ((gfn & (UNIT_FRAMES - 1)) && !pm_sub_alloc(&l->pm, u))
		return NULL;
	return pm_rec_peek(u, gfn);
}

static void note_conflict(const pm_rec_t *r, uint64_t off, uint64_t gfn, uint64_t *n,
			  rmp_ledger_rec_t *first, uint64_t *first_gpa)
{
	if (*n == 0) {
		if (first)
			unpack(r, off, first);
		if (first_gpa)
			*first_gpa = gfn << SNP_PAGE_SHIFT;
	}
	(*n)++;
}

/* seq_step 0: one event validated every page; 1: page i by event seq + i */
static uint64_t validate(rmp_ledger_t *l, uint64_t gpa, uint64_t npages, uint64_t seq,
			 uint64_t seq_step, uint32_t vcpu, uint64_t spa,
			 rmp_ledger_rec_t *first_conflict, uint64_t *conflict_gpa)
{
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT, spa_pfn = spa >> SNP_PAGE_SHIFT, conflicts = 0;
	uint64_t done = 0;
	while (done < npages) {
		uint64_t g = gfn + done;
		if (g >= GFN_LIMIT)
			break;
		pm_unit_t *u = pm_unit_get(&l->pm, g);
		if (!u)
			break;
		if ((g & (UNIT_FRAMES - 1)) == 0 && npages - done >= UNIT_FRAMES) {
			/* a whole unit: check all 512, then one huge record */
			if (u->head.hi & L_HUGE) {
				for (uint32_t i = 0; i < UNIT_FRAMES; i++)
					note_conflict(&u->head, i, g + i, &conflicts, first_conflict,
						      conflict_gpa);
			} else {
				if (u->head.hi & L_HELD)
					note_conflict(&u->head, 0, g, &conflicts, first_conflict,
						      conflict_gpa);
				for (uint32_t i = 1; u->sub && i < UNIT_FRAMES; i++)
					if (u->sub[i - 1].hi & L_HELD)
						note_conflict(&u->sub[i - 1], 0, g + i, &conflicts,
							      first_conflict, conflict_gpa);
			}
			pm_sub_drop(&l->pm, u);
			u->head = mk(seq + done * seq_step, vcpu, spa_pfn + done, true, seq_step);
			done += UNIT_FRAMES;
			continue;
		}
		if (!split(l, u))
			break;
		pm_rec_t *r = frame_rec(l, u, g);
		if (!r)
			break;
		if (r->hi & L_HELD)
			note_conflict(r, 0, g, &conflicts, first_conflict, conflict_gpa);
		*r = mk(seq + done * seq_step, vcpu, spa_pfn + done, false, false);
		done++;
	}
	/* every page done is now held; those that already were did not add to the count */
	l->held += done - conflicts;
	return conflicts;
}

uint64_t rmp_ledger_validate(rmp_ledger_t *l, uint64_t gpa, uint64_t npages, uint64_t seq,
			     uint32_t vcpu, uint64_t spa, rmp_ledger_rec_t *first_conflict,
			     uint64_t *conflict_gpa)
{
	return validate(l, gpa, npages, seq, 0, vcpu, spa, first_conflict, conflict_gpa);
}

uint64_t rmp_ledger_validate_seq(rmp_ledger_t *l, uint64_t gpa, uint64_t npages, uint64_t seq,
				 uint32_t vcpu, uint64_t spa, rmp_ledger_rec_t *first_conflict,
				 uint64_t *conflict_gpa)
{
	return validate(l, gpa, npages, seq, 1, vcpu, spa, first_conflict, conflict_gpa);
}

uint64_t rmp_ledger_rescind(rmp_ledger_t *l, uint64_t gpa, uint64_t npages)
{
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT, missing = 0;
	for (uint64_t done = 0; done < npages;) {
		uint64_t g = gfn + done;
		pm_unit_t *u = g < GFN_LIMIT ? pm_unit_peek(&l->pm, g) : NULL;
		if (!u) {
			/* never touched: none held up to the end of this unit */
			uint64_t span = UNIT_FRAMES - (g & (UNIT_FRAMES - 1));
			if (span > npages - done)
				span = npages - done;
			missing += span;
			done += span;
			continue;
		}
		if ((g & (UNIT_FRAMES - 1)) == 0 && npages - done >= UNIT_FRAMES &&
		    (u->head.hi & L_HUGE)) {
			u->head = (pm_rec_t){0};
			l->held -= UNIT_FRAMES;
			done += UNIT_FRAMES;
			continue;
		}
		if (!split(l, u))
			break;
		pm_rec_t *r = pm_rec_peek(u, g);
		if (r && (r->hi & L_HELD)) {
			*r = (pm_rec_t){0};
			l->held--;
		} else {
			missing++;
		}
		done++;
	}
	return missing;
}

bool rmp_ledger_get(const rmp_ledger_t *l, uint64_t gpa, rmp_ledger_rec_t *out)
{
	uint64_t g = gpa >> SNP_PAGE_SHIFT;
	*out = (rmp_ledger_rec_t){0};
	pm_unit_t *u = g < GFN_LIMIT ? pm_unit_peek(&l->pm, g) : NULL;
	if (!u)
		return false;
	if (u->head.hi & L_HUGE) {
		unpack(&u->head, g & (UNIT_FRAMES - 1), out);
		return true;
	}
	const pm_rec_t *r = pm_rec_peek(u, g);
	if (!r || !(r->hi & L_HELD))
		return false;
	unpack(r, 0, out);
	return true;
}

uint64_t rmp_ledger_count_held(const rmp_ledger_t *l, uint64_t gpa, uint64_t npages,
			       uint64_t *first_missing)
{
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT, held = 0;
	bool missing = false;
	for (uint64_t done = 0; done < npages;) {
		uint64_t g = gfn + done;
		uint64_t span = UNIT_FRAMES - (g & (UNIT_FRAMES - 1));
		if (span > npages - done)
			span = npages - done;
		pm_unit_t *u = g < GFN_LIMIT ? pm_unit_peek(&l->pm, g) : NULL;
		if (u && (u->head.hi & L_HUGE)) {
			held += span;
		} else {
			for (uint64_t i = 0; i < span; i++) {
				const pm_rec_t *r = u ? pm_rec_peek(u, g + i) : NULL;
				if (r && (r->hi & L_HELD)) {
					held++;
				} else if (!missing) {
					missing = true;
					if (first_missing)
						*first_missing = (g + i) << SNP_PAGE_SHIFT;
				}
			}
		}
		done += span;
	}
	return held;
}

uint64_t rmp_ledger_span(const rmp_ledger_t *l, uint64_t gpa, uint64_t npages, bool held)
{
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT;
	for (uint64_t done = 0; done < npages;) {
		uint64_t g = gfn + done;
		uint64_t span = UNIT_FRAMES - (g & (UNIT_FRAMES - 1));
		if (span > npages - done)
			span = npages - done;
		pm_unit_t *u = g < GFN_LIMIT ? pm_unit_peek(&l->pm, g) : NULL;
		if (!u || (u->head.hi & L_HUGE)) {
			/* one answer for the whole span: untouched (none held) or huge (all) */
			if ((u != NULL) != held)
				return done;
		} else {
			uint64_t i = 0;
			if ((g & (UNIT_FRAMES - 1)) == 0) {
				if (!!(u->head.hi & L_HELD) != held)
					return done;
				i = 1;
			}
			if (!u->sub) {
				/* no sub-array: frames 1..511 hold nothing */
				if (i < span && held)
					return done + i;
			} else {
				const pm_rec_t *sub = u->sub + ((g + i) & (UNIT_FRAMES - 1)) - 1;
				for (; i < span; i++, sub++)
					if (!!(sub->hi & L_HELD) != held)
						return done + i;
			}
		}
		done += span;
	}
	return npages;
}

uint64_t rmp_ledger_held_pages(const rmp_ledger_t *l)
{
	return l->held;
}

struct walk {
	bool (*fn)(uint64_t gpa, const rmp_ledger_rec_t *rec, void *ctx);
	void *ctx;
};

static bool walk_unit(uint64_t base, pm_unit_t *u, void *ctx)
{
	struct walk *w = ctx;
	rmp_ledger_rec_t rec;
	if (u->head.hi & L_HUGE) {
		for (uint32_t i = 0; i < UNIT_FRAMES; i++) {
			unpack(&u->head, i, &rec);
			if (!w->fn((base + i) << SNP_PAGE_SHIFT, &rec, w->ctx))
				return false;
		}
		return true;
	}
	for (uint32_t i = 0; i < UNIT_FRAMES; i++) {
		const pm_rec_t *r = i == 0 ? &u->head : (u->sub ? &u->sub[i - 1] : NULL);
		if (!r) /* no sub-array: frames 1..511 hold nothing */
			break;
		if (!(r->hi & L_HELD))
			continue;
		unpack(r, 0, &rec);
		if (!w->fn((base + i) << SNP_PAGE_SHIFT, &rec, w->ctx))
			return false;
	}
	return true;
}

void rmp_ledger_foreach(const rmp_ledger_t *l,
			bool (*fn)(uint64_t gpa, const rmp_ledger_rec_t *rec, void *ctx), void *ctx)
{
	struct walk w = {fn, ctx};
	pm_foreach_unit(&l->pm, walk_unit, &w);
}

struct walk_run {
	bool (*fn)(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec, void *ctx);
	void *ctx;
};

static bool walk_unit_run(uint64_t base, pm_unit_t *u, void *ctx)
{
	struct walk_run *w = ctx;
	rmp_ledger_rec_t rec;
	if ((u->head.hi & (L_HUGE | L_SEQ_RUN)) == L_HUGE) {
		unpack(&u->head, 0, &rec);
		return w->fn(base << SNP_PAGE_SHIFT, UNIT_FRAMES, &rec, w->ctx);
	}
	if (u->head.hi & L_HUGE) {
		/* a seq run: 512 records that differ in seq, one call each as if explicit */
		for (uint32_t i = 0; i < UNIT_FRAMES; i++) {
			unpack(&u->head, i, &rec);
			if (!w->fn((base + i) << SNP_PAGE_SHIFT, 1, &rec, w->ctx))
				return false;
		}
		return true;
	}
	for (uint32_t i = 0; i < UNIT_FRAMES; i++) {
		const pm_rec_t *r = i == 0 ? &u->head : (u->sub ? &u->sub[i - 1] : NULL);
		if (!r)
			break;
		if (!(r->hi & L_HELD))
			continue;
		unpack(r, 0, &rec);
		if (!w->fn((base + i) << SNP_PAGE_SHIFT, 1, &rec, w->ctx))
			return false;
	}
	return true;
}

void rmp_ledger_foreach_run(const rmp_ledger_t *l,
			    bool (*fn)(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec,
				       void *ctx),
			    void *ctx)
{
	struct walk_run w = {fn, ctx};
	pm_foreach_unit(&l->pm, walk_unit_run, &w);
}
