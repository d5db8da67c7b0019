/* SPDX-License-Identifier: MIT */
/*
 * Sub-arrays (8 KiB each) come from chunks mapped with mmap, not from malloc: a
 * 4K-only 64 GiB guest needs 32768 of them (256 MiB of RMP entries). Fresh
 * mappings are already zero, so a new sub-array costs no memset, and chunks of
 * 2 MiB are aligned and asked for transparent huge pages: one fault per 2 MiB
 * instead of 512, and far fewer TLB misses on the per-page RMP paths. Under
 * AddressSanitizer each sub-array is a calloc of its own, so overruns are seen.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MADV_HUGEPAGE under -std=c11 */

#include "pagemap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define UNIT_SUB_ENTRIES ((1u << PM_UNIT_SHIFT) - 1u)
#define SUB_BYTES (UNIT_SUB_ENTRIES * sizeof(pm_rec_t))
#define SLOT_BYTES 8192u                 /* SUB_BYTES rounded up */
#define CHUNK_FIRST (64u * 1024u)        /* chunks double from here ... */
#define CHUNK_HUGE (2u * 1024u * 1024u)  /* ... up to one huge page */

#if defined(__SANITIZE_ADDRESS__)
#define PM_CALLOC_SUBS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PM_CALLOC_SUBS 1
#endif
#endif

_Static_assert(SUB_BYTES <= SLOT_BYTES, "a sub-array fits its slot");
_Static_assert(SLOT_BYTES % sizeof(void *) == 0, "slots hold the free-list link");

#ifndef PM_CALLOC_SUBS
/* len bytes of zero memory; a huge chunk is aligned to its size for THP */
static void *map_chunk(size_t len)
{
	bool huge = len == CHUNK_HUGE;
	size_t maplen = huge ? 2 * len : len;
	uint8_t *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!huge)
		return p;
	uintptr_t a = ((uintptr_t)p + len - 1) & ~(uintptr_t)(len - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + maplen > a + len)
		munmap((void *)(a + len), (uintptr_t)p + maplen - (a + len));
#ifdef MADV_HUGEPAGE
	(void)madvise((void *)a, len, MADV_HUGEPAGE); /* a hint: 4K pages work as well */
#endif
	return (void *)a;
}

static bool chunk_new(pm_t *pm)
{
	if (pm->nchunks == pm->chunk_cap) {
		size_t cap = pm->chunk_cap ? 2 * pm->chunk_cap : 16;
		pm_chunk_t *c = realloc(pm->chunks, cap * sizeof(*c));
		if (!c)
			return false;
		pm->chunks = c;
		pm->chunk_cap = cap;
	}
	size_t len = CHUNK_FIRST << (pm->nchunks < 5 ? pm->nchunks : 5);
	if (len > CHUNK_HUGE)
		len = CHUNK_HUGE;
	uint8_t *p = map_chunk(len);
	if (!p)
		return false;
	pm->chunks[pm->nchunks++] = (pm_chunk_t){p, len};
	pm->slot_next = p;
	pm->slot_end = p + len;
	return true;
}
#endif

/* A zeroed sub-array, or NULL when out of memory. */
static pm_rec_t *slot_get(pm_t *pm)
{
#ifdef PM_CALLOC_SUBS
	(void)pm;
	return calloc(UNIT_SUB_ENTRIES, sizeof(pm_rec_t));
#else
	if (pm->slot_free) {
		void *p = pm->slot_free;
		memcpy(&pm->slot_free, p, sizeof(void *));
		memset(p, 0, SUB_BYTES);
		return p;
	}
	if (pm->slot_next == pm->slot_end && !chunk_new(pm))
		return NULL;
	void *p = pm->slot_next; /* never used: still the mapping's zeros */
	pm->slot_next += SLOT_BYTES;
	return p;
#endif
}

static void slot_put(pm_t *pm, pm_rec_t *sub)
{
#ifdef PM_CALLOC_SUBS
	(void)pm;
	free(sub);
#else
	memcpy(sub, &pm->slot_free, sizeof(void *));
	pm->slot_free = sub;
#endif
}

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
#ifdef PM_CALLOC_SUBS
		for (uint32_t w = 0; w < PM_L2_ENTRIES / 64; w++) {
			uint64_t bits = leaf->used[w];
			while (bits) {
				uint32_t b = (uint32_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				free(leaf->units[w * 64 + b].sub);
			}
		}
#endif
		free(leaf);
	}
#ifndef PM_CALLOC_SUBS
	for (size_t i = 0; i < pm->nchunks; i++)
		munmap(pm->chunks[i].base, pm->chunks[i].len);
#endif
	free(pm->chunks);
	memset(pm, 0, sizeof(*pm));
}

pm_unit_t *pm_unit_get_slow(pm_t *pm, uint64_t pfn)
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
	u->sub = slot_get(pm);
	if (!u->sub)
		return false;
	pm->subs++;
	return true;
}

void pm_sub_drop(pm_t *pm, pm_unit_t *u)
{
	if (!u->sub)
		return;
	slot_put(pm, u->sub);
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
