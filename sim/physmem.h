/* SPDX-License-Identifier: MIT */
/*
 * System-physical memory contents: a few regions, each one anonymous mapping
 * reserved without backing (MAP_NORESERVE), so memory is backed only where the
 * guest or the hypervisor touches it; a read of an untouched page reads the
 * kernel's zero page. One host buffer per region keeps the emulator able to map
 * it into Unicorn as is.
 */
#ifndef SNPSIM_SIM_PHYSMEM_H
#define SNPSIM_SIM_PHYSMEM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct physmem physmem_t;

typedef struct physmem_region {
	uint64_t spa;
	uint64_t size;
	uint8_t *host;
} physmem_region_t;

physmem_t *physmem_new(void);
void physmem_free(physmem_t *pm);
/* Adds [spa, spa + size) (page aligned, non-overlapping); false with err on failure. */
bool physmem_add(physmem_t *pm, uint64_t spa, uint64_t size, GError **err);
/* Host address of spa, valid for the rest of its region; NULL if not backed. */
uint8_t *physmem_ptr(const physmem_t *pm, uint64_t spa);
/* Bytes from spa to the end of its region (0 if not backed). */
uint64_t physmem_avail(const physmem_t *pm, uint64_t spa);
size_t physmem_regions(const physmem_t *pm, const physmem_region_t **out);
/* Resident host memory the regions use, in bytes (mincore). */
uint64_t physmem_resident(const physmem_t *pm);

#endif /* SNPSIM_SIM_PHYSMEM_H */
