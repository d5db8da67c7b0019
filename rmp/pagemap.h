/* SPDX-License-Identifier: MIT */
/*
 * Internal to rmp/: a sparse map from a 4 KiB frame number (up to 2^40, i.e. 52-bit
 * addresses) to a 16-byte record, in 2 MiB units. A unit holds the record of its
 * first frame inline ("head", which the RMP also uses as the 2 MiB entry) and,
 * only once some other frame of the unit is written, an array for frames 1..511.
 * Untouched records read as all-zero. Directories are calloc'ed, so untouched
 * parts cost address space, not memory.
 */
#ifndef SNPSIM_RMP_PAGEMAP_H
#define SNPSIM_RMP_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pm_rec {
	uint64_t lo, hi;
} pm_rec_t;

typedef struct pm_unit {
	pm_rec_t head;
	pm_rec_t *sub; /* frames 1..511 at sub[i - 1], or NULL: all zero */
} pm_unit_t;

#define PM_FRAME_BITS 40u
#define PM_UNIT_SHIFT 9u  /* 512 frames per unit */
#define PM_L2_SHIFT 18u   /* units per leaf directory: 2^18 (512 GiB) */
#define PM_L1_ENTRIES (1u << (PM_FRAME_BITS - PM_UNIT_SHIFT - PM_L2_SHIFT))
#define PM_L2_ENTRIES (1u << PM_L2_SHIFT)

typedef struct pm_leaf {
	pm_unit_t units[PM_L2_ENTRIES];
	uint64_t used[PM_L2_ENTRIES / 64]; /* bit per unit ever touched, for ordered walks */
} pm_leaf_t;

/* A block of sub-array slots (pagemap.c). */
typedef struct pm_chunk {
	void *base;
	size_t len;
} pm_chunk_t;

typedef struct pm {
	pm_leaf_t *l1[PM_L1_ENTRIES];
	uint64_t units_touched;
	uint64_t subs;
	uint64_t leaves;
	/* sub-array storage: slots carved from chunks, dropped ones kept for reuse */
	void *slot_free;                 /* dropped slots, linked through their first word */
	uint8_t *slot_next, *slot_end;   /* the newest chunk's never-used part (still zero) */
	pm_chunk_t *chunks;
	size_t nchunks, chunk_cap;
} pm_t;

bool pm_init(pm_t *pm);
void pm_fini(pm_t *pm);

/* The unit holding frame pfn, or NULL if it was never touched. pfn < 2^40. */
static inline pm_unit_t *pm_unit_peek(const pm_t *pm, uint64_t pfn)
{
	pm_leaf_t *leaf = pm->l1[pfn >> (PM_UNIT_SHIFT + PM_L2_SHIFT)];
	if (!leaf)
		return 0;
	return &leaf->units[(pfn >> PM_UNIT_SHIFT) & (PM_L2_ENTRIES - 1)];
}

/* pm_unit_get() of a unit never touched before (pagemap.c). */
pm_unit_t *pm_unit_get_slow(pm_t *pm, uint64_t pfn);

/* The unit holding frame pfn, created if needed; NULL only when out of memory. */
static inline pm_unit_t *pm_unit_get(pm_t *pm, uint64_t pfn)
{
	/* inline when the unit was touched before: all but the first page of a 4K conversion */
	uint64_t l1i = pfn >> (PM_UNIT_SHIFT + PM_L2_SHIFT);
	pm_leaf_t *leaf = l1i < PM_L1_ENTRIES ? pm->l1[l1i] : 0;
	if (leaf) {
		uint32_t ui = (uint32_t)((pfn >> PM_UNIT_SHIFT) & (PM_L2_ENTRIES - 1));
		if (leaf->used[ui / 64] & (1ull << (ui & 63)))
			return &leaf->units[ui];
	}
	return pm_unit_get_slow(pm, pfn);
}

/* The record of frame pfn inside unit u, or NULL if it reads as zero (no sub array). */
static inline pm_rec_t *pm_rec_peek(pm_unit_t *u, uint64_t pfn)
{
	uint32_t i = (uint32_t)(pfn & ((1u << PM_UNIT_SHIFT) - 1));
	if (i == 0)
		return &u->head;
	return u->sub ? &u->sub[i - 1] : 0;
}

/* Ensures u has its sub array (zeroed); false when out of memory. */
bool pm_sub_alloc(pm_t *pm, pm_unit_t *u);
void pm_sub_drop(pm_t *pm, pm_unit_t *u);

/* Walks touched units in increasing order; stops when fn returns false. */
void pm_foreach_unit(const pm_t *pm, bool (*fn)(uint64_t base_pfn, pm_unit_t *u, void *ctx),
		     void *ctx);

#endif /* SNPSIM_RMP_PAGEMAP_H */
