/* SPDX-License-Identifier: MIT */
/*
 * Launching an OVMF image as an SEV-SNP guest, the way QEMU/KVM does it: the
 * guest memory map of a PC (RAM below and above the 32-bit PCI hole, MMIO in
 * the hole, the flash window ending at 4 GiB), the CPUID table the hypervisor
 * answers with and puts in the CPUID page, and the SNP_LAUNCH_UPDATE calls the
 * image's SEV metadata asks for (facts §9.3, §10.3).
 */
#ifndef SNPSIM_FWLAUNCH_H
#define SNPSIM_FWLAUNCH_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"
#include "ovmf.h"

/* ------------------------------------------------------------------ memory map */

/*
 * QEMU's pc machine splits RAM at 0xE000_0000 when it does not all fit below it,
 * and then (gigabyte alignment) keeps only 3 GiB low; the rest starts at 4 GiB.
 */
#define FW_LOWMEM_SPLIT 0xE0000000ull
#define FW_LOWMEM_GB_ALIGNED 0xC0000000ull
#define FW_HIGHMEM_BASE 0x100000000ull
/* Guest RAM accepted by `snpsim boot` (OVMF needs ~128 MiB to reach the Shell). */
#define FW_MEM_MIN (64ull << 20)
#define FW_MEM_MAX (1ull << 40)

typedef struct fw_layout {
	uint64_t mem_size;      /* guest RAM in bytes */
	uint64_t below_4g;      /* RAM [0, below_4g) */
	uint64_t above_4g;      /* RAM [4 GiB, 4 GiB + above_4g) */
	uint64_t flash_base;    /* the VARS image (if any) then the CODE image, ending at 4 GiB */
	uint64_t code_base;
	uint64_t code_size, vars_size;
	size_t nranges;
	hv_mem_range_t ranges[4]; /* RAM low, MMIO hole, ROM flash, RAM high: hv_config_t's map */
} fw_layout_t;

/*
 * The memory map for mem_size bytes of RAM and a flash of code_size (+ vars_size)
 * bytes ending at 4 GiB. false (message in err) if the sizes do not fit.
 */
bool fw_layout_init(fw_layout_t *l, uint64_t mem_size, uint64_t code_size, uint64_t vars_size,
		    GError **err);

/* ------------------------------------------------------------------ CPUID */

/*
 * The CPUID table of the emulated processor: the leaves Unicorn 2.0.1 executes
 * natively (its hard-coded "QEMU Virtual CPU" model, research/unicorn-ovmf.md
 * §6: no NX, no XSAVE, no x2APIC, no SVM, 40 physical address bits), with
 * 0x8000_0000's maximum raised to 0x8000_001F and leaf 0x8000_001F describing
 * SEV, SEV-ES and SNP with the C-bit at cbit. The hypervisor answers CPUID
 * exits from it and fills the CPUID page with it, so what the firmware reads
 * from the page is what the engine can run: advertising NX, for example, would
 * make OVMF set XD bits that the engine treats as reserved (#PF).
 * Returns the number of entries written (≤ max), 0 if max is too small.
 */
#define FW_CPUID_ENTRIES 26u
size_t fw_cpuid_table(uint8_t cbit, struct snp_cpuid_fn *out, size_t max);

/* The C-bit the engine can use: bit 39, since Unicorn's TCG has 40 address bits. */
#define FW_EMU_CBIT 39u

/* ------------------------------------------------------------------ MSRs */

/*
 * The MSRs an SEV-ES guest reaches through #VC 0x7C that OVMF reads, with the
 * values KVM/QEMU give a fresh BSP: IA32_APIC_BASE (xAPIC enabled at
 * 0xFEE0_0000, BSP bit: without it MpInitLib takes the BSP for an AP, research
 * §3) and IA32_MISC_ENABLE (fast strings). hv_model answers any other MSR
 * with #GP, as KVM does for MSRs it does not know.
 */
#define FW_APIC_BASE_VALUE 0xFEE00900ull /* base 0xFEE00000 | EN (bit 11) | BSP (bit 8) */
#define MSR_IA32_MISC_ENABLE 0x000001A0u
#define FW_MISC_ENABLE_VALUE 0x1ull      /* fast-string enable, QEMU's reset value */
bool fw_platform_msrs(hv_t *hv);

/* ------------------------------------------------------------------ launch plan */

typedef struct fw_launch_step {
	uint64_t gpa;
	uint64_t size;
	uint32_t type;        /* KVM_SEV_SNP_PAGE_TYPE_* */
	const uint8_t *data;  /* NORMAL pages' contents (the image); NULL otherwise */
	size_t data_len;
	const char *what;     /* "code", "vars", or the section type's name */
} fw_launch_step_t;

#define FW_MAX_STEPS (OVMF_MAX_SECTIONS + 2u)

/*
 * The SNP_LAUNCH_UPDATE calls for an image: the firmware pages first (VARS then
 * CODE, NORMAL: measured, as QEMU encrypts the flash), then each metadata
 * section in order: SEC_MEM, SVSM_CAA and KERNEL_HASHES (no kernel given) as
 * ZERO pages, SECRETS as the secrets page, CPUID as the CPUID page.
 * Returns the number of steps written to out (FW_MAX_STEPS is always enough).
 */
size_t fw_launch_plan(const fw_layout_t *l, const ovmf_info_t *info, const uint8_t *code,
		      const uint8_t *vars, fw_launch_step_t *out);

/* Executes the plan through hv_launch_update; false (err names the step) if one fails. */
bool fw_launch(hv_t *hv, const fw_launch_step_t *steps, size_t n, GError **err);

/* Every page the plan launched: the machine pre-validates these in its ledger. */
uint64_t fw_launch_pages(const fw_launch_step_t *steps, size_t n);

#endif /* SNPSIM_FWLAUNCH_H */
