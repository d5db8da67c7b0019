/* SPDX-License-Identifier: MIT */
/*
 * A small machine for the firmware suite: a real RMP and hv_model over the
 * memory map of an OVMF boot (fwlaunch.h), a sparse page store, and a GHCB
 * through which tests send the NAE events a guest's #VC handler would: IOIO
 * (0x7B) for port I/O, MMIO read/write (0x8000_0001/2) for MMIO.
 */
#ifndef SNPSIM_TESTS_FW_HV_H
#define SNPSIM_TESTS_FW_HV_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "fwlaunch.h"
#include "hv.h"

/* the GHCB the tests use: RAM, outside every OVMF section, shared (a fresh RMP) */
#define FW_HV_GHCB 0x00100000ull

typedef struct fw_hv {
	rmp_t *rmp;
	hv_t *hv;
	fw_layout_t layout;
	GHashTable *pages; /* spa -> 4 KiB */
	GArray *events;    /* hv_event_t */
	struct snp_cpuid_fn cpuid[FW_CPUID_ENTRIES];
	size_t ncpuid;
} fw_hv_t;

/* mem_size of RAM and a flash of code_size bytes; fails the test on error. */
fw_hv_t *fw_hv_new(uint64_t mem_size, uint64_t code_size);
void fw_hv_free(fw_hv_t *t);
uint8_t *fw_hv_page(fw_hv_t *t, uint64_t spa, bool create);

/* Port I/O through the GHCB IOIO event (facts §5.1): size 1, 2 or 4. */
void fw_out(fw_hv_t *t, uint16_t port, uint32_t size, uint32_t val);
uint32_t fw_in(fw_hv_t *t, uint16_t port, uint32_t size);
/* MMIO through the GHCB MMIO events: size 1, 2, 4 or 8. */
void fw_mmio_write(fw_hv_t *t, uint64_t gpa, uint32_t size, uint64_t val);
uint64_t fw_mmio_read(fw_hv_t *t, uint64_t gpa, uint32_t size);
/* RDMSR through the GHCB MSR event (0x7C): true with *val, false when the hypervisor
   answered with an exception to inject (SW_EXITINFO1 = 1, #GP for an unknown MSR). */
bool fw_rdmsr(fw_hv_t *t, uint32_t msr, uint64_t *val);

#endif /* SNPSIM_TESTS_FW_HV_H */
