/* SPDX-License-Identifier: MIT */
#include "physmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simerr.h"

struct physmem {
	GArray *regions; /* physmem_region_t sorted by spa */
	guint last;      /* index of the last region hit: accesses are local */
};

physmem_t *physmem_new(void)
{
	physmem_t *pm = g_new0(physmem_t, 1);
	pm->regions = g_array_new(FALSE, TRUE, sizeof(physmem_region_t));
	return pm;
}

void physmem_free(physmem_t *pm)
{
	if (!pm)
		return;
	for (guint i = 0; i < pm->regions->len; i++) {
		physmem_region_t *r = &g_array_index(pm->regions, physmem_region_t, i);
		munmap(r->host, r->size);
	}
	g_array_free(pm->regions, TRUE);
	g_free(pm);
}

bool physmem_add(physmem_t *pm, uint64_t spa, uint64_t size, GError **err)
{
	if (size == 0 || (spa | size) & 0xFFF || spa + size < spa) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "memory region 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
			    "x is empty, unaligned or wraps",
			    spa, size);
		return false;
	}
	guint at = 0;
	for (; at < pm->regions->len; at++) {
		physmem_region_t *r = &g_array_index(pm->regions, physmem_region_t, at);
		if (spa < r->spa + r->size && r->spa < spa + size) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
				    "memory region 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
				    "x overlaps 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x",
				    spa, size, r->spa, r->size);
			return false;
		}
		if (r->spa > spa)
			break;
	}
	void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_IO,
			    "cannot reserve 0x%" G_GINT64_MODIFIER "x bytes of guest memory: %s",
			    size, g_strerror(errno));
		return false;
	}
	physmem_region_t r = {.spa = spa, .size = size, .host = host};
	g_array_insert_val(pm->regions, at, r);
	pm->last = 0;
	return true;
}

static const physmem_region_t *find(const physmem_t *pm, uint64_t spa)
{
	physmem_t *mut = (physmem_t *)pm; /* the hint is a cache, not state */
	guint n = pm->regions->len;
	if (mut->last < n) {
		const physmem_region_t *r = &g_array_index(pm->regions, physmem_region_t, mut->last);
		if (spa - r->spa < r->size)
			return r;
	}
	for (guint i = 0; i < n; i++) {
		const physmem_region_t *r = &g_array_index(pm->regions, physmem_region_t, i);
		if (spa - r->spa < r->size) {
			mut->last = i;
			return r;
		}
	}
	return NULL;
}

uint8_t *physmem_ptr(const physmem_t *pm, uint64_t spa)
{
	const physmem_region_t *r = find(pm, spa);
	return r ? r->host + (spa - r->spa) : NULL;
}

uint64_t physmem_avail(const physmem_t *pm, uint64_t spa)
{
	const physmem_region_t *r = find(pm, spa);
	return r ? r->spa + r->size - spa : 0;
}

size_t physmem_regions(const physmem_t *pm, const physmem_region_t **out)
{
	*out = (const physmem_region_t *)pm->regions->data;
	return pm->regions->len;
}

uint64_t physmem_resident(const physmem_t *pm)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t total = 0;
	unsigned char vec[4096];
	for (guint i = 0; i < pm->regions->len; i++) {
		const physmem_region_t *r = &g_array_index(pm->regions, physmem_region_t, i);
		for (uint64_t off = 0; off < r->size; off += (uint64_t)pg * sizeof(vec)) {
			uint64_t len = r->size - off;
			if (len > (uint64_t)pg * sizeof(vec))
				len = (uint64_t)pg * sizeof(vec);
			if (mincore(r->host + off, len, vec) != 0)
				continue;
			for (uint64_t j = 0; j < (len + pg - 1) / pg; j++)
				total += (vec[j] & 1) ? (uint64_t)pg : 0;
		}
	}
	return total;
}
