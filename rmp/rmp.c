/* SPDX-License-Identifier: MIT */
/*
 * The RMP model. Entries are stored in the Zen 3/4 raw layout of facts §1.4 (low
 * qword) plus the VMPL1-3 permission masks and an in-use flag (high qword), so a
 * populated page costs exactly the hardware's 16 bytes.
 *
 * A 2 MiB entry lives in the head record of its 2 MiB unit (the 2 MiB-aligned
 * frame) with Page_Size = 1 and governs all 512 frames; the unit then has no
 * sub-array. PSMASH materialises the 511 others.
 */
#include "rmp.h"

#include <stdlib.h>
#include <string.h>

#include "pagemap.h"

/* low qword, facts §1.4 */
#define E_ASSIGNED (1ull << 0)
#define E_2M (1ull << 1)
#define E_IMMUTABLE (1ull << 2)
#define E_GFN_SHIFT 12
#define E_GFN_MASK (((1ull << 39) - 1) << E_GFN_SHIFT) /* GPA bits 50:12 */
#define E_ASID_SHIFT 51
#define E_ASID_MASK ((uint64_t)RMP_ASID_MAX << E_ASID_SHIFT)
#define E_VMSA (1ull << 61)
#define E_VALIDATED (1ull << 62)
/* high qword: VMPL1..3 permission masks in bytes 0..2; bit 63 in use */
#define E_HI_INUSE (1ull << 63)

#define GPA_LIMIT (1ull << 51) /* what the 39-bit GPA field can hold */
#define MASK_2M (SNP_PAGE_2M_SIZE - 1)
#define MASK_4K (SNP_PAGE_SIZE - 1)

/* Keeps a colder path out of a hot function's frame (GCC and clang); elsewhere a no-op. */
#if defined(__GNUC__)
#define RMP_NOINLINE __attribute__((noinline))
#else
#define RMP_NOINLINE
#endif

/* Model-internal ret code: the model could not allocate entry storage. */
#define RMP_RET_MODEL_OOM 0x100u

struct rmp {
	uint64_t spa_limit;
	/*
	 * The unit of the last RMPUPDATE or guest instruction: the per-page paths
	 * stay in one unit 512 times in a row. Units never move (pagemap.h).
	 */
	pm_unit_t *hot;
	uint64_t hot_idx;  /* its frame >> 9; UINT64_MAX: none */
	bool hot_touched;  /* it came from pm_unit_get(): marked touched */
	pm_t pm;
};

/* pm_unit_get() through the hot unit */
static inline pm_unit_t *unit_get(rmp_t *rmp, uint64_t pfn)
{
	if ((pfn >> PM_UNIT_SHIFT) == rmp->hot_idx && rmp->hot_touched)
		return rmp->hot;
	pm_unit_t *u = pm_unit_get(&rmp->pm, pfn);
	if (u) {
		rmp->hot = u;
		rmp->hot_idx = pfn >> PM_UNIT_SHIFT;
		rmp->hot_touched = true;
	}
	return u;
}

/* pm_unit_peek() through the hot unit */
static inline pm_unit_t *unit_peek(rmp_t *rmp, uint64_t pfn)
{
	if ((pfn >> PM_UNIT_SHIFT) == rmp->hot_idx)
		return rmp->hot;
	pm_unit_t *u = pm_unit_peek(&rmp->pm, pfn);
	if (u) {
		rmp->hot = u;
		rmp->hot_idx = pfn >> PM_UNIT_SHIFT;
		rmp->hot_touched = false;
	}
	return u;
}

static const pm_rec_t zero_rec;

static inline rmp_result_t res_ret(uint32_t ret)
{
	return (rmp_result_t){.fault = RMP_FAULT_NONE, .ret = ret};
}

static inline rmp_result_t res_cf(bool cf)
{
	return (rmp_result_t){.fault = RMP_FAULT_NONE, .ret = SNP_RET_SUCCESS, .cf = cf};
}

static inline rmp_result_t res_fault(rmp_fault_t f, uint64_t code)
{
	return (rmp_result_t){.fault = (uint8_t)f, .error_code = code};
}

static inline uint64_t e_gfn(uint64_t lo)
{
	return (lo & E_GFN_MASK) >> E_GFN_SHIFT;
}

static inline uint32_t e_asid(uint64_t lo)
{
	return (uint32_t)((lo & E_ASID_MASK) >> E_ASID_SHIFT);
}

static inline uint8_t e_perm(const pm_rec_t *r, uint32_t vmpl)
{
	if (vmpl == 0)
		return (r->lo & E_ASSIGNED) ? VMPL_PERM_ALL : 0;
	return (uint8_t)(r->hi >> ((vmpl - 1) * 8));
}

static inline void e_set_perm(pm_rec_t *r, uint32_t vmpl, uint8_t perm)
{
	uint32_t sh = (vmpl - 1) * 8;
	r->hi = (r->hi & ~(0xFFull << sh)) | ((uint64_t)perm << sh);
}

/* Guest-Owned (assigned, this ASID) and Mutable, facts §2.5 */
static inline bool e_owned_by(uint64_t lo, uint32_t asid)
{
	return (lo & (E_ASSIGNED | E_IMMUTABLE)) == E_ASSIGNED && e_asid(lo) == asid;
}

static inline uint64_t npf_code(uint64_t extra)
{
	return PFERR_PRESENT | PFERR_RMP | PFERR_GUEST_ENC | PFERR_GUEST_FINAL | extra;
}

/* The record governing frame pfn; *off = frame offset inside a governing 2 MiB entry. */
static inline const pm_rec_t *gov_rec(const rmp_t *rmp, uint64_t pfn, uint64_t *off)
{
	pm_unit_t *u = pm_unit_peek(&rmp->pm, pfn);
	*off = 0;
	if (!u)
		return &zero_rec;
	if (u->head.lo & E_2M) {
		*off = pfn & (SNP_PAGES_PER_2M - 1);
		return &u->head;
	}
	const pm_rec_t *r = pm_rec_peek(u, pfn);
	return r ? r : &zero_rec;
}

rmp_t *rmp_new(uint64_t spa_limit)
{
	if (spa_limit == 0 || spa_limit > RMP_SPA_LIMIT_MAX || (spa_limit & MASK_4K))
		return NULL;
	rmp_t *rmp = calloc(1, sizeof(*rmp));
	if (!rmp)
		return NULL;
	rmp->spa_limit = spa_limit;
	rmp->hot_idx = UINT64_MAX;
	pm_init(&rmp->pm);
	return rmp;
}

void rmp_free(rmp_t *rmp)
{
	if (!rmp)
		return;
	pm_fini(&rmp->pm);
	free(rmp);
}

uint64_t rmp_spa_limit(const rmp_t *rmp)
{
	return rmp->spa_limit;
}

void rmp_stats(const rmp_t *rmp, rmp_stats_t *out)
{
	/* a unit with a sub-array holds 512 entries in 512 * 16 bytes (head + 511) */
	out->populated_pages = rmp->pm.subs * SNP_PAGES_PER_2M;
	out->entry_bytes = rmp->pm.subs * SNP_PAGES_PER_2M * sizeof(pm_rec_t);
	/* the pointer beside each touched head, and the used-bitmaps of the leaves */
	out->overhead_bytes = rmp->pm.units_touched * sizeof(pm_rec_t *) +
			      rmp->pm.leaves * sizeof(((pm_leaf_t *)0)->used);
}

/*
 * The whole struct is cleared first, padding included: callers compare entries
 * with memcmp (the property test does). 24 bytes: a few stores, no call.
 */
static inline void decode(const pm_rec_t *r, uint64_t off, rmp_entry_t *out)
{
	uint64_t lo = r->lo, hi = r->hi;
	memset(out, 0, sizeof(*out));
	out->assigned = lo & E_ASSIGNED;
	out->page_2m = lo & E_2M;
	out->immutable = lo & E_IMMUTABLE;
	out->validated = lo & E_VALIDATED;
	out->vmsa = lo & E_VMSA;
	out->asid = e_asid(lo);
	out->gpa = out->assigned ? (e_gfn(lo) + off) << SNP_PAGE_SHIFT : 0;
	out->in_use = hi & E_HI_INUSE;
	for (uint32_t v = 0; v < SNP_NUM_VMPLS; v++)
		out->vmpl_perms[v] = e_perm(r, v);
}

bool rmp_lookup(const rmp_t *rmp, uint64_t spa, rmp_entry_t *out)
{
	if (spa >= rmp->spa_limit) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	uint64_t off;
	const pm_rec_t *r = gov_rec(rmp, spa >> SNP_PAGE_SHIFT, &off);
	decode(r, off, out);
	return true;
}

bool rmp_page_2m(const rmp_t *rmp, uint64_t spa)
{
	if (spa >= rmp->spa_limit)
		return false;
	uint64_t off;
	return gov_rec(rmp, spa >> SNP_PAGE_SHIFT, &off)->lo & E_2M;
}

/* rmp_scan's predicate on the governing record's low qword; gfn: the frame's expected GFN. */
static inline bool scan_match(uint64_t lo, uint64_t off, uint64_t gfn, uint32_t asid,
			      rmp_scan_kind_t kind)
{
	switch (kind) {
	case RMP_SCAN_ASSIGNED:
		return lo & E_ASSIGNED;
	case RMP_SCAN_PRIVATE:
		return (lo & (E_ASSIGNED | E_IMMUTABLE)) == E_ASSIGNED && e_asid(lo) == asid &&
		       e_gfn(lo) + off == gfn;
	case RMP_SCAN_VALIDATED:
		return (lo & (E_ASSIGNED | E_VALIDATED)) == (E_ASSIGNED | E_VALIDATED) &&
		       e_asid(lo) == asid && e_gfn(lo) + off == gfn;
	}
	return false;
}

/*
 * scan_match() of 4K entries (offset 0) for frames expecting GFNs gfn..gfn+n-1,
 * as (lo & *mask) == *x with *x growing by *step per frame; false when the
 * fields cannot hold the values (then no entry matches, and the loop that
 * calls scan_match() says so).
 */
static inline bool scan_pattern(rmp_scan_kind_t kind, uint64_t gfn, uint64_t n, uint32_t asid,
				uint64_t *mask, uint64_t *x, uint64_t *step)
{
	switch (kind) {
	case RMP_SCAN_ASSIGNED:
		*mask = *x = E_ASSIGNED;
		*step = 0;
		return true;
	case RMP_SCAN_PRIVATE:
	case RMP_SCAN_VALIDATED:
		if (asid > RMP_ASID_MAX || gfn + n > (E_GFN_MASK >> E_GFN_SHIFT) + 1)
			return false;
		*mask = E_ASSIGNED | E_GFN_MASK | E_ASID_MASK |
			(kind == RMP_SCAN_PRIVATE ? E_IMMUTABLE : E_VALIDATED);
		*x = E_ASSIGNED | (gfn << E_GFN_SHIFT) | ((uint64_t)asid << E_ASID_SHIFT) |
		     (kind == RMP_SCAN_PRIVATE ? 0 : E_VALIDATED);
		*step = 1ull << E_GFN_SHIFT;
		return true;
	}
	return false;
}

/*
 * The scan, inlined once per kind (the callers pass a constant) so that the
 * per-frame loop over 4K entries is a few instructions.
 */
static inline uint64_t scan(const rmp_t *rmp, uint64_t spa, uint64_t gpa, uint64_t npages,
			    uint32_t asid, rmp_scan_kind_t kind, bool want)
{
	const uint64_t pfn = spa >> SNP_PAGE_SHIFT, gfn = gpa >> SNP_PAGE_SHIFT;
	const uint64_t limit_pfn = rmp->spa_limit >> SNP_PAGE_SHIFT;
	/* all-zero storage (hypervisor-owned) matches none of the predicates */
	const bool zero_ok = !want;
	uint64_t done = 0;
	while (done < npages) {
		uint64_t p = pfn + done, g = gfn + done;
		if (p >= limit_pfn) /* beyond the coverage: the rest reads as hypervisor-owned */
			return zero_ok ? npages : done;
		uint64_t idx = p & (SNP_PAGES_PER_2M - 1);
		uint64_t span = SNP_PAGES_PER_2M - idx;
		if (span > npages - done)
			span = npages - done;
		if (span > limit_pfn - p)
			span = limit_pfn - p;
		const pm_unit_t *u = pm_unit_peek(&rmp->pm, p);
		if (!u) {
			if (!zero_ok)
				return done;
			done += span;
			continue;
		}
		if (u->head.lo & E_2M) {
			/* frame k's GPA is the entry's plus k: one frame answers for all of them */
			if (scan_match(u->head.lo, idx, g, asid, kind) != want)
				return done;
			done += span;
			continue;
		}
		/* 4K entries: frame 0 in the head, the others in the sub-array (absent: zero) */
		uint64_t i = 0;
		if (idx == 0) {
			if (scan_match(u->head.lo, 0, g, asid, kind) != want)
				return done;
			i = 1;
		}
		if (!u->sub) {
			if (i < span && !zero_ok)
				return done + i;
		} else if (i < span) {
			const pm_rec_t *sub = u->sub + (idx + i - 1);
			uint64_t mask, x, step;
			if (scan_pattern(kind, g + i, span - i, asid, &mask, &x, &step)) {
				/*
				 * The predicate as one masked compare, the expected GFN
				 * rising by one; four frames a step while they all give
				 * `want` (the usual case: the scan finds nothing), then
				 * one by one from the group that did not.
				 */
				for (; i + 4 <= span; i += 4, sub += 4, x += 4 * step) {
					bool m0 = (sub[0].lo & mask) == x;
					bool m1 = (sub[1].lo & mask) == x + step;
					bool m2 = (sub[2].lo & mask) == x + 2 * step;
					bool m3 = (sub[3].lo & mask) == x + 3 * step;
					if (want ? !(m0 & m1 & m2 & m3) : (m0 | m1 | m2 | m3))
						break;
				}
				for (; i < span; i++, sub++, x += step)
					if (((sub->lo & mask) == x) != want)
						return done + i;
			} else {
				for (; i < span; i++, sub++)
					if (scan_match(sub->lo, 0, g + i, asid, kind) != want)
						return done + i;
			}
		}
		done += span;
	}
	return npages;
}

uint64_t rmp_scan(const rmp_t *rmp, uint64_t spa, uint64_t gpa, uint64_t npages, uint32_t asid,
		  rmp_scan_kind_t kind, bool want)
{
	switch (kind) {
	case RMP_SCAN_ASSIGNED:
		return scan(rmp, spa, gpa, npages, asid, RMP_SCAN_ASSIGNED, want);
	case RMP_SCAN_PRIVATE:
	case RMP_SCAN_VALIDATED:
		/* a GPA that is not a page address equals no entry's */
		if (gpa & MASK_4K)
			return want ? 0 : npages;
		return kind == RMP_SCAN_PRIVATE
			       ? scan(rmp, spa, gpa, npages, asid, RMP_SCAN_PRIVATE, want)
			       : scan(rmp, spa, gpa, npages, asid, RMP_SCAN_VALIDATED, want);
	}
	return 0;
}

/* ------------------------------------------------------------------ host instructions */

static uint64_t encode_state(const rmp_state_t *st)
{
	if (!st->assigned)
		return st->page_2m ? E_2M : 0;
	return E_ASSIGNED | (st->page_2m ? E_2M : 0) | (st->immutable ? E_IMMUTABLE : 0) |
	       ((st->gpa >> SNP_PAGE_SHIFT) << E_GFN_SHIFT) | ((uint64_t)st->asid << E_ASID_SHIFT);
}

static RMP_NOINLINE rmp_result_t rmpupdate_2m(rmp_t *rmp, pm_unit_t *u, const rmp_state_t *st);

rmp_result_t rmp_rmpupdate(rmp_t *rmp, uint32_t caller_asid, uint64_t spa, const rmp_state_t *st)
{
	if (caller_asid != 0)
		return res_ret(SNP_RET_FAIL_PERMISSION);
	if ((spa & MASK_4K) || spa >= rmp->spa_limit)
		return res_ret(SNP_RET_FAIL_INPUT);
	if (st->page_2m && ((spa & MASK_2M) || spa + SNP_PAGE_2M_SIZE > rmp->spa_limit))
		return res_ret(SNP_RET_FAIL_INPUT);
	if (st->assigned) {
		if ((st->gpa & MASK_4K) || (st->page_2m && (st->gpa & MASK_2M)) ||
		    st->gpa >= GPA_LIMIT || st->asid > RMP_ASID_MAX)
			return res_ret(SNP_RET_FAIL_INPUT);
		/* Ownership must be one of APM Table 15-35's: guest (ASID != 0, mutable)
		 * or AMD-SP (ASID 0, immutable). Others: FAIL_INPUT (UNCONFIRMED). */
		if ((st->asid == 0) != st->immutable)
			return res_ret(SNP_RET_FAIL_INPUT);
	} else if (st->asid != 0 || st->immutable) {
		/* A hypervisor-owned entry carries no owner (UNCONFIRMED: FAIL_INPUT). */
		return res_ret(SNP_RET_FAIL_INPUT);
	}

	uint64_t pfn = spa >> SNP_PAGE_SHIFT;
	pm_unit_t *u = unit_get(rmp, pfn);
	if (!u)
		return res_ret(RMP_RET_MODEL_OOM);
	pm_rec_t *head = &u->head;

	if (!st->page_2m) {
		if (head->lo & E_2M) {
			if (head->lo & E_IMMUTABLE)
				return res_ret(SNP_RET_FAIL_PERMISSION);
			if (head->hi & E_HI_INUSE)
				return res_ret(SNP_RET_FAIL_INUSE);
			/* facts §1.5: a 4K update inside an assigned 2M page; the HV must PSMASH */
			if (head->lo & E_ASSIGNED)
				return res_ret(SNP_RET_FAIL_OVERLAP);
			head->lo = 0; /* a hypervisor-owned 2M entry simply splits */
		}
		/* the sub-array exists after the unit's first 4K update: no call then */
		if ((pfn & (SNP_PAGES_PER_2M - 1)) && !u->sub && !pm_sub_alloc(&rmp->pm, u))
			return res_ret(RMP_RET_MODEL_OOM);
		pm_rec_t *r = pm_rec_peek(u, pfn);
		if (r->lo & E_IMMUTABLE)
			return res_ret(SNP_RET_FAIL_PERMISSION);
		if (r->hi & E_HI_INUSE)
			return res_ret(SNP_RET_FAIL_INUSE);
		r->lo = encode_state(st);
		r->hi = 0;
		return res_ret(SNP_RET_SUCCESS);
	}
	return rmpupdate_2m(rmp, u, st);
}

/* rmp_rmpupdate of a 2M entry, checked up to the unit; apart so the 4K path keeps a small frame. */
static RMP_NOINLINE rmp_result_t rmpupdate_2m(rmp_t *rmp, pm_unit_t *u, const rmp_state_t *st)
{
	pm_rec_t *head = &u->head;
	if (!(head->lo & E_2M)) {
		/* Creating a 2M entry over 4K entries: every one of the 512 must be free. */
		uint32_t n = u->sub ? SNP_PAGES_PER_2M : 1;
		for (uint32_t i = 0; i < n; i++) {
			const pm_rec_t *r = i == 0 ? head : &u->sub[i - 1];
			if (r->lo & E_IMMUTABLE)
				return res_ret(SNP_RET_FAIL_PERMISSION);
			if (r->hi & E_HI_INUSE)
				return res_ret(SNP_RET_FAIL_INUSE);
		}
		for (uint32_t i = 0; i < n; i++) {
			const pm_rec_t *r = i == 0 ? head : &u->sub[i - 1];
			if (r->lo & E_ASSIGNED)
				return res_ret(SNP_RET_FAIL_OVERLAP);
		}
	} else {
		if (head->lo & E_IMMUTABLE)
			return res_ret(SNP_RET_FAIL_PERMISSION);
		if (head->hi & E_HI_INUSE)
			return res_ret(SNP_RET_FAIL_INUSE);
	}
	pm_sub_drop(&rmp->pm, u);
	head->lo = encode_state(st) | E_2M;
	head->hi = 0;
	return res_ret(SNP_RET_SUCCESS);
}

rmp_result_t rmp_psmash(rmp_t *rmp, uint32_t caller_asid, uint64_t spa)
{
	if (caller_asid != 0)
		return res_ret(SNP_RET_FAIL_PERMISSION);
	if ((spa & MASK_2M) || spa >= rmp->spa_limit)
		return res_ret(SNP_RET_FAIL_INPUT);
	pm_unit_t *u = pm_unit_peek(&rmp->pm, spa >> SNP_PAGE_SHIFT);
	/*
	 * PSMASH of an entry that is not a 2M entry: FAIL_UNSUITABLE (7), "not
	 * suitable for expansion". The code is in the sources; tying it to this
	 * condition is UNCONFIRMED (facts §2.1, §13).
	 */
	if (!u || !(u->head.lo & E_2M))
		return res_ret(SNP_RET_FAIL_UNSUITABLE);
	pm_rec_t head = u->head;
	if (head.lo & E_IMMUTABLE)
		return res_ret(SNP_RET_FAIL_PERMISSION);
	if (head.hi & E_HI_INUSE)
		return res_ret(SNP_RET_FAIL_INUSE);
	if (!pm_sub_alloc(&rmp->pm, u))
		return res_ret(RMP_RET_MODEL_OOM);
	head.lo &= ~E_2M;
	uint64_t gfn_step = (head.lo & E_ASSIGNED) ? (1ull << E_GFN_SHIFT) : 0;
	for (uint32_t i = 1; i < SNP_PAGES_PER_2M; i++) {
		u->sub[i - 1].lo = head.lo + i * gfn_step;
		u->sub[i - 1].hi = head.hi;
	}
	u->head = head;
	return res_ret(SNP_RET_SUCCESS);
}

rmp_result_t rmp_unsmash(rmp_t *rmp, uint32_t caller_asid, uint64_t spa)
{
	if (caller_asid != 0)
		return res_ret(SNP_RET_FAIL_PERMISSION);
	if ((spa & MASK_2M) || spa >= rmp->spa_limit)
		return res_ret(SNP_RET_FAIL_INPUT);
	pm_unit_t *u = pm_unit_peek(&rmp->pm, spa >> SNP_PAGE_SHIFT);
	if (!u || (u->head.lo & E_2M) || !u->sub)
		return res_ret(SNP_RET_FAIL_INPUT);
	/*
	 * SNP_PAGE_UNSMASH's preconditions are UNCONFIRMED (facts §1.5). Modeled as
	 * the exact inverse of PSMASH: 512 assigned, mutable, non-VMSA entries of one
	 * ASID at consecutive GPAs from a 2M-aligned one, with equal Validated and
	 * permissions. Anything else is FAIL_INPUT.
	 */
	const pm_rec_t head = u->head;
	if (!e_owned_by(head.lo, e_asid(head.lo)) || e_asid(head.lo) == 0 || (head.lo & E_VMSA) ||
	    (e_gfn(head.lo) & (SNP_PAGES_PER_2M - 1)))
		return res_ret(SNP_RET_FAIL_INPUT);
	for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++) {
		const pm_rec_t *r = i == 0 ? &head : &u->sub[i - 1];
		if (r->hi & E_HI_INUSE)
			return res_ret(SNP_RET_FAIL_INUSE);
		if (r->lo != head.lo + ((uint64_t)i << E_GFN_SHIFT) || r->hi != head.hi)
			return res_ret(SNP_RET_FAIL_INPUT);
	}
	pm_sub_drop(&rmp->pm, u);
	u->head.lo |= E_2M;
	return res_ret(SNP_RET_SUCCESS);
}

rmp_result_t rmp_launch_update(rmp_t *rmp, uint64_t spa, uint32_t asid, uint64_t gpa, bool page_2m,
			       bool vmsa)
{
	uint64_t mask = page_2m ? MASK_2M : MASK_4K;
	if ((spa & mask) || (gpa & mask) || spa >= rmp->spa_limit || asid == 0)
		return res_ret(SNP_RET_FAIL_INPUT);
	pm_unit_t *u = pm_unit_peek(&rmp->pm, spa >> SNP_PAGE_SHIFT);
	if (!u)
		return res_ret(SNP_RET_FAIL_INPUT);
	pm_rec_t *r = page_2m ? &u->head : ((u->head.lo & E_2M) ? NULL : pm_rec_peek(u, spa >> 12));
	/* The firmware only accepts pages the HV made private to this guest, at this GPA. */
	if (!r || !e_owned_by(r->lo, asid) || e_gfn(r->lo) != gpa >> SNP_PAGE_SHIFT ||
	    !(r->lo & E_2M) != !page_2m || (r->lo & E_VALIDATED))
		return res_ret(SNP_RET_FAIL_INPUT);
	if (vmsa && page_2m)
		return res_ret(SNP_RET_FAIL_INPUT);
	r->lo |= E_VALIDATED | (vmsa ? E_VMSA : 0);
	return res_ret(SNP_RET_SUCCESS);
}

bool rmp_set_in_use(rmp_t *rmp, uint64_t spa, bool in_use)
{
	if (spa >= rmp->spa_limit)
		return false;
	uint64_t pfn = spa >> SNP_PAGE_SHIFT;
	pm_unit_t *u = pm_unit_get(&rmp->pm, pfn);
	if (!u)
		return false;
	pm_rec_t *r = &u->head; /* a 2M entry is one entry */
	if (!(u->head.lo & E_2M) && (pfn & (SNP_PAGES_PER_2M - 1))) {
		if (!pm_sub_alloc(&rmp->pm, u))
			return false;
		r = pm_rec_peek(u, pfn);
	}
	r->hi = in_use ? (r->hi | E_HI_INUSE) : (r->hi & ~E_HI_INUSE);
	return true;
}

/* ------------------------------------------------------------------ guest instructions */

/*
 * The checks PVALIDATE and RMPADJUST share (facts §2.2-2.3, in APM Table 15-39's
 * order): covered, guest-owned and mutable, reverse-map, then page size. Returns
 * the record to modify, or NULL with *fail set.
 */
static pm_rec_t *guest_page(rmp_t *rmp, uint32_t asid, uint64_t gpa, uint64_t spa, bool page_2m,
			    rmp_result_t *fail)
{
	if (spa >= rmp->spa_limit) {
		*fail = res_fault(RMP_FAULT_NPF, npf_code(0));
		return NULL;
	}
	uint64_t pfn = spa >> SNP_PAGE_SHIFT;
	pm_unit_t *u = unit_peek(rmp, pfn);
	if (!u) {
		*fail = res_fault(RMP_FAULT_NPF, npf_code(0));
		return NULL;
	}
	uint64_t gfn = gpa >> SNP_PAGE_SHIFT;
	if (u->head.lo & E_2M) {
		uint64_t lo = u->head.lo;
		if (!e_owned_by(lo, asid) || e_gfn(lo) + (pfn & (SNP_PAGES_PER_2M - 1)) != gfn) {
			*fail = res_fault(RMP_FAULT_NPF, npf_code(0));
			return NULL;
		}
		if (!page_2m) { /* 4K request on a 2M entry: the HV sees SIZEM and PSMASHes */
			*fail = res_fault(RMP_FAULT_NPF, npf_code(PFERR_GUEST_SIZEM));
			return NULL;
		}
		return &u->head;
	}
	pm_rec_t *r = pm_rec_peek(u, pfn);
	if (!r || !e_owned_by(r->lo, asid) || e_gfn(r->lo) != gfn) {
		*fail = res_fault(RMP_FAULT_NPF, npf_code(0));
		return NULL;
	}
	if (page_2m) { /* 2M request on a 4K entry */
		*fail = res_ret(SNP_RET_FAIL_SIZEMISMATCH);
		return NULL;
	}
	return r;
}

rmp_result_t rmp_pvalidate(rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa, uint64_t spa,
			   bool page_2m, bool validate)
{
	/* PVALIDATE is VMPL0-only; the fault raised above VMPL0 is UNCONFIRMED: #GP. */
	if (vmpl != 0)
		return res_fault(RMP_FAULT_GP, 0);
	uint64_t mask = page_2m ? MASK_2M : MASK_4K;
	if (gpa & mask)
		return res_ret(SNP_RET_FAIL_INPUT);
	/* a 2M operand whose SPA is not 2M aligned cannot be a 2M entry */
	if (page_2m && (spa & MASK_2M)) {
		rmp_result_t f;
		pm_rec_t *r = guest_page(rmp, asid, gpa, spa & ~MASK_4K, false, &f);
		return r ? res_ret(SNP_RET_FAIL_SIZEMISMATCH) : f;
	}
	rmp_result_t fail;
	pm_rec_t *r = guest_page(rmp, asid, gpa, spa, page_2m, &fail);
	if (!r)
		return fail;
	bool cur = r->lo & E_VALIDATED;
	if (cur == validate)
		return res_cf(true);
	r->lo ^= E_VALIDATED;
	return res_cf(false);
}

rmp_result_t rmp_rmpadjust(rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa, uint64_t spa,
			   bool page_2m, uint64_t rdx)
{
	uint32_t target = (uint32_t)(rdx & RMPADJUST_TARGET_VMPL_MASK);
	uint8_t perms = (uint8_t)((rdx & RMPADJUST_PERM_MASK) >> RMPADJUST_PERM_SHIFT);
	bool vmsa = rdx & RMPADJUST_VMSA_PAGE_BIT;
	uint64_t mask = page_2m ? MASK_2M : MASK_4K;
	/*
	 * FAIL_INPUT's exact list is UNCONFIRMED (facts §2.3): modeled as a misaligned
	 * operand, reserved RDX bits, undefined permission bits, a target beyond VMPL3,
	 * or write permission without read.
	 */
	if ((gpa & mask) || (rdx >> 17) || (perms & ~VMPL_PERM_ALL) || target >= SNP_NUM_VMPLS ||
	    ((perms & VMPL_PERM_WRITE) && !(perms & VMPL_PERM_READ)))
		return res_ret(SNP_RET_FAIL_INPUT);
	if (target <= vmpl || (vmsa && vmpl != 0))
		return res_ret(SNP_RET_FAIL_PERMISSION);
	rmp_result_t fail;
	pm_rec_t *r;
	if (page_2m && (spa & MASK_2M)) {
		r = guest_page(rmp, asid, gpa, spa & ~MASK_4K, false, &fail);
		return r ? res_ret(SNP_RET_FAIL_SIZEMISMATCH) : fail;
	}
	r = guest_page(rmp, asid, gpa, spa, page_2m, &fail);
	if (!r)
		return fail;
	if (perms & ~e_perm(r, vmpl))
		return res_ret(SNP_RET_FAIL_PERMISSION);
	if (r->hi & E_HI_INUSE)
		return res_ret(SNP_RET_FAIL_INUSE);
	e_set_perm(r, target, perms);
	if (vmpl == 0) /* at VMPL0, RDX[16] sets or clears the VMSA attribute */
		r->lo = vmsa ? (r->lo | E_VMSA) : (r->lo & ~E_VMSA);
	return res_cf(false);
}

/* ------------------------------------------------------------------ access checks */

rmp_result_t rmp_check_access(const rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa,
			      uint64_t spa, bool npt_2m, rmp_access_t access, bool c_bit)
{
	uint64_t acc = access == RMP_ACCESS_WRITE ? PFERR_WRITE
		       : access == RMP_ACCESS_FETCH ? PFERR_FETCH
						    : 0;
	bool private = c_bit || access == RMP_ACCESS_FETCH;
	if (spa >= rmp->spa_limit) {
		/*
		 * RMP-Covered is a private-access check only; a shared access sees a
		 * page beyond the coverage as permanently hypervisor-owned (facts §1.1),
		 * so a C=0 write passes the Hypervisor-Owned check like any HV page.
		 */
		if (!private)
			return res_ret(SNP_RET_SUCCESS);
		return res_fault(RMP_FAULT_NPF, PFERR_PRESENT | PFERR_RMP | PFERR_GUEST_FINAL | acc |
							PFERR_GUEST_ENC);
	}
	uint64_t off;
	const pm_rec_t *r = gov_rec(rmp, spa >> SNP_PAGE_SHIFT, &off);
	uint64_t lo = r->lo;
	if (!private) {
		/* only shared writes are checked: the page must be hypervisor-owned */
		if (access == RMP_ACCESS_WRITE && (lo & E_ASSIGNED))
			return res_fault(RMP_FAULT_NPF,
					 PFERR_PRESENT | PFERR_RMP | PFERR_GUEST_FINAL | acc);
		return res_ret(SNP_RET_SUCCESS);
	}
	uint64_t base = PFERR_PRESENT | PFERR_RMP | PFERR_GUEST_FINAL | PFERR_GUEST_ENC | acc;
	if (!e_owned_by(lo, asid) || e_gfn(lo) + off != gpa >> SNP_PAGE_SHIFT)
		return res_fault(RMP_FAULT_NPF, base);
	if (!(lo & E_2M) != !npt_2m)
		return res_fault(RMP_FAULT_NPF, base | PFERR_GUEST_SIZEM);
	if (!(lo & E_VALIDATED))
		return res_fault(RMP_FAULT_VC, SVM_EXIT_VMPL_NOT_VALIDATED);
	if (vmpl != 0) {
		uint8_t need = access == RMP_ACCESS_WRITE ? VMPL_PERM_WRITE
			       : access == RMP_ACCESS_FETCH ? VMPL_PERM_EXEC_SUPER
							    : VMPL_PERM_READ;
		if (!(e_perm(r, vmpl) & need))
			return res_fault(RMP_FAULT_NPF, base | PFERR_GUEST_VMPL);
	}
	return res_ret(SNP_RET_SUCCESS);
}

rmp_result_t rmp_check_host_write(const rmp_t *rmp, uint64_t spa, bool map_2m)
{
	const rmp_result_t pf = res_fault(RMP_FAULT_HOST_PF, PF_HOST_RMP | PFERR_WRITE | PFERR_PRESENT);
	if (spa >= rmp->spa_limit)
		return res_ret(SNP_RET_SUCCESS); /* beyond coverage: permanently HV-owned */
	uint64_t pfn = spa >> SNP_PAGE_SHIFT;
	if (!map_2m) {
		uint64_t off;
		return (gov_rec(rmp, pfn, &off)->lo & E_ASSIGNED) ? pf : res_ret(SNP_RET_SUCCESS);
	}
	/* a 2M host mapping needs all 512 frames hypervisor-owned (facts §1.5) */
	const pm_unit_t *u = pm_unit_peek(&rmp->pm, pfn);
	if (!u)
		return res_ret(SNP_RET_SUCCESS);
	if (u->head.lo & E_ASSIGNED)
		return pf;
	if (u->sub && !(u->head.lo & E_2M))
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M - 1; i++)
			if (u->sub[i].lo & E_ASSIGNED)
				return pf;
	return res_ret(SNP_RET_SUCCESS);
}

/* ------------------------------------------------------------------ names */

const char *rmp_ret_to_string(uint32_t ret)
{
	switch (ret) {
	case SNP_RET_SUCCESS: return "SUCCESS";
	case SNP_RET_FAIL_INPUT: return "FAIL_INPUT";
	case SNP_RET_FAIL_PERMISSION: return "FAIL_PERMISSION";
	case SNP_RET_FAIL_INUSE: return "FAIL_INUSE";
	case SNP_RET_FAIL_OVERLAP: return "FAIL_OVERLAP";
	case SNP_RET_FAIL_SIZEMISMATCH: return "FAIL_SIZEMISMATCH";
	case SNP_RET_FAIL_UNSUITABLE: return "FAIL_UNSUITABLE";
	case PVALIDATE_FAIL_NOUPDATE: return "FAIL_NOUPDATE";
	case RMP_RET_MODEL_OOM: return "MODEL_OUT_OF_MEMORY";
	default: return NULL;
	}
}

static const struct {
	const char *name;
	rmp_result_t r;
} result_names[] = {
	{"SUCCESS", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_SUCCESS}},
	{"SUCCESS_NOUPDATE", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_SUCCESS, .cf = 1}},
	{"FAIL_INPUT", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_INPUT}},
	{"FAIL_PERMISSION", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_PERMISSION}},
	{"FAIL_INUSE", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_INUSE}},
	{"FAIL_OVERLAP", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_OVERLAP}},
	{"FAIL_SIZEMISMATCH", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_SIZEMISMATCH}},
	{"FAIL_UNSUITABLE", {.fault = RMP_FAULT_NONE, .ret = SNP_RET_FAIL_UNSUITABLE}},
	{"MODEL_OUT_OF_MEMORY", {.fault = RMP_FAULT_NONE, .ret = RMP_RET_MODEL_OOM}},
	{"NPF_RMP", {.fault = RMP_FAULT_NPF, .error_code = PFERR_RMP}},
	{"NPF_RMP_SIZEM", {.fault = RMP_FAULT_NPF, .error_code = PFERR_RMP | PFERR_GUEST_SIZEM}},
	{"NPF_RMP_VMPL", {.fault = RMP_FAULT_NPF, .error_code = PFERR_RMP | PFERR_GUEST_VMPL}},
	{"VC_PAGE_NOT_VALIDATED", {.fault = RMP_FAULT_VC, .error_code = SVM_EXIT_VMPL_NOT_VALIDATED}},
	{"GP", {.fault = RMP_FAULT_GP}},
	{"HOST_PF_RMP", {.fault = RMP_FAULT_HOST_PF, .error_code = PF_HOST_RMP}},
};

const char *rmp_result_to_string(rmp_result_t r)
{
	switch (r.fault) {
	case RMP_FAULT_NONE:
		if (r.ret == SNP_RET_SUCCESS)
			return r.cf ? "SUCCESS_NOUPDATE" : "SUCCESS";
		return rmp_ret_to_string(r.ret) ? rmp_ret_to_string(r.ret) : "UNKNOWN_RET";
	case RMP_FAULT_NPF:
		if (r.error_code & PFERR_GUEST_SIZEM)
			return "NPF_RMP_SIZEM";
		if (r.error_code & PFERR_GUEST_VMPL)
			return "NPF_RMP_VMPL";
		return "NPF_RMP";
	case RMP_FAULT_VC: return "VC_PAGE_NOT_VALIDATED";
	case RMP_FAULT_GP: return "GP";
	case RMP_FAULT_HOST_PF: return "HOST_PF_RMP";
	default: return "UNKNOWN_FAULT";
	}
}

bool rmp_result_from_string(const char *name, rmp_result_t *out)
{
	for (size_t i = 0; i < sizeof(result_names) / sizeof(result_names[0]); i++) {
		if (strcmp(result_names[i].name, name) == 0) {
			*out = result_names[i].r;
			return true;
		}
	}
	return false;
}

const char *rmp_npf_bits_to_string(uint64_t error_code, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {
		{PFERR_PRESENT, "P"},	     {PFERR_WRITE, "W"},	{PFERR_USER, "U"},
		{PFERR_RSVD, "RSV"},	     {PFERR_FETCH, "ID"},	{PFERR_SS, "SS"},
		{PFERR_RMP, "RMP"},	     {PFERR_GUEST_FINAL, "FINAL"}, {PFERR_GUEST_PAGE, "PAGE"},
		{PFERR_GUEST_ENC, "ENC"},    {PFERR_GUEST_SIZEM, "SIZEM"}, {PFERR_GUEST_VMPL, "VMPL"},
		{PFERR_GUEST_SSS, "SSS"},
	};
	size_t pos = 0;
	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(error_code & bits[i].bit))
			continue;
		size_t n = strlen(bits[i].name);
		if (pos + n + 2 > len)
			break;
		if (pos)
			buf[pos++] = '|';
		memcpy(buf + pos, bits[i].name, n);
		pos += n;
		buf[pos] = '\0';
	}
	return buf;
}
