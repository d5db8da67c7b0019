/* SPDX-License-Identifier: MIT */
#include "pagemap.h"

#include <stdlib.h>
#include <string.h>

#define UNIT_SUB_ENTRIES ((1u << PM_UNIT_SHIFT) - 1u)

bool pm_init(pm_t *pm)
{
	memset(pm, 0, sizeof(*pm));
	return true;
}

void pm_fini(pm_t *pm)
{
	for (uint32_t i = 0; i < PM_L1_ENTRIES; i++) {
		pm_leaf_t *leaf = pm->l1[i];
		if (!leaf)
			continue;
		for (uint32_t w = 0; w < PM_L2_ENTRIES / 64; w++) {
			uint64_t bits = leaf->used[w];
			while (bits) {
				uint32_t b = (uint32_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				free(leaf->units[w * 64 + b].sub);
			}
		}
		free(leaf);
	}
	memset(pm, 0, sizeof(*pm));
}

pm_unit_t *pm_unit_get(pm_t *pm, uint64_t pfn)
{
	uint64_t l1i = pfn >> (PM_UNIT_SHIFT + PM_L2_SHIFT);
	if (l1i >= PM_L1_ENTRIES)
		return NULL;
	pm_leaf_t *leaf = pm->l1[l1i];
	if (!leaf) {
		/* calloc of a multi-MiB block is mmap'ed zero pages: RSS grows as touched */
		leaf = calloc(1, sizeof(*leaf));
		if (!leaf)
			return NULL;
		pm->l1[l1i] = leaf;
		pm->leaves++;
	}
	uint32_t ui = (uint32_t)((pfn >> PM_UNIT_SHIFT) & (PM_L2_ENTRIES - 1));
	uint64_t bit = 1ull << (ui & 63);
	if (!(leaf->used[ui / 64] & bit)) {
		leaf->used[ui / 64] |= bit;
		pm->units_touched++;
	}
	return &leaf->units[ui];
}

bool pm_sub_alloc(pm_t *pm, pm_unit_t *u)
{
	if (u->sub)
		return true;
	u->sub = calloc(UNIT_SUB_ENTRIES, sizeof(pm_rec_t));
	if (!u->sub)
		return false;
	pm->subs++;
	return true;
}

void pm_sub_drop(pm_t *pm, pm_unit_t *u)
{
	if (!u->sub)
		return;
	free(u->sub);
	u->sub = NULL;
	pm->subs--;
}

void pm_foreach_unit(const pm_t *pm, bool (*fn)(uint64_t base_pfn, pm_unit_t *u, void *ctx),
		     void *ctx)
{
	for (uint32_t i = 0; i < PM_L1_ENTRIES; i++) {
		pm_leaf_t *leaf = pm->l1[i];
		if (!leaf)
			continue;
		for (uint32_t w = 0; w < PM_L2_ENTRIES / 64; w++) {
			uint64_t bits = leaf->used[w];
			while (bits) {
				uint32_t b = (uint32_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				uint64_t unit = ((uint64_t)i << PM_L2_SHIFT) | (w * 64u + b);
				if (!fn(unit << PM_UNIT_SHIFT, &leaf->units[w * 64 + b], ctx))
					return;
			}
		}
	}
}
