/* SPDX-License-Identifier: MIT */
/*
 * The memory map, CPUID table and launch plan of an OVMF boot (fwlaunch.h).
 * The launch plan is the QEMU order: the flash first (sev_encrypt_flash, at
 * firmware load), then the metadata sections (sev_snp_launch_update_data, at
 * machine-done), each range made private and validated by SNP_LAUNCH_UPDATE.
 */
#include "fwlaunch.h"

#include <string.h>

#include "simerr.h"
#include "snp/arch.h"

bool fw_layout_init(fw_layout_t *l, uint64_t mem_size, uint64_t code_size, uint64_t vars_size,
		    GError **err)
{
	memset(l, 0, sizeof(*l));
	if (mem_size < FW_MEM_MIN || mem_size > FW_MEM_MAX || mem_size % SNP_PAGE_2M_SIZE) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "memory size 0x%" G_GINT64_MODIFIER "x: must be a multiple of 2 MiB "
			    "from %llu MiB to %llu GiB",
			    mem_size, (unsigned long long)(FW_MEM_MIN >> 20),
			    (unsigned long long)(FW_MEM_MAX >> 30));
		return false;
	}
	if (code_size == 0 || (code_size | vars_size) % SNP_PAGE_SIZE ||
	    code_size + vars_size > OVMF_IMAGE_MAX) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "flash of 0x%" G_GINT64_MODIFIER "x code + 0x%" G_GINT64_MODIFIER
			    "x vars bytes does not fit the %u MiB flash window",
			    code_size, vars_size, OVMF_IMAGE_MAX >> 20);
		return false;
	}
	l->mem_size = mem_size;
	l->below_4g = mem_size < FW_LOWMEM_SPLIT ? mem_size : FW_LOWMEM_GB_ALIGNED;
	l->above_4g = mem_size - l->below_4g;
	l->code_size = code_size;
	l->vars_size = vars_size;
	l->code_base = OVMF_FLASH_END - code_size;
	l->flash_base = l->code_base - vars_size;
	size_t n = 0;
	l->ranges[n++] = (hv_mem_range_t){0, l->below_4g, HV_MEM_RAM};
	/* The whole hole is MMIO, not unmapped: an access with no device behind it reads all
	   ones through #VC 0x400, as an unassigned PCI address does, instead of stopping the
	   guest with an NPF the hypervisor cannot resolve. */
	l->ranges[n++] = (hv_mem_range_t){l->below_4g, l->flash_base - l->below_4g, HV_MEM_MMIO};
	l->ranges[n++] = (hv_mem_range_t){l->flash_base, OVMF_FLASH_END - l->flash_base, HV_MEM_ROM};
	if (l->above_4g)
		l->ranges[n++] = (hv_mem_range_t){FW_HIGHMEM_BASE, l->above_4g, HV_MEM_RAM};
	l->nranges = n;
	return true;
}

/* ------------------------------------------------------------------ CPUID */

/* Unicorn 2.0.1's answers in UC_MODE_64, read from the library (leaf, subleaf, eax..edx). */
static const struct snp_cpuid_fn emu_native_cpuid[] = {
	{.eax_in = 0x0, .eax = 0xD, .ebx = 0x68747541, .ecx = 0x444D4163, .edx = 0x69746E65},
	{.eax_in = 0x1, .eax = 0x663, .ebx = 0x800, .ecx = 0x02182200, .edx = 0x07088100},
	{.eax_in = 0x2, .eax = 0x1, .edx = 0x002C307D},
	{.eax_in = 0x4, .ecx_in = 0, .eax = 0x121, .ebx = 0x01C0003F, .ecx = 0x3F, .edx = 0x1},
	{.eax_in = 0x4, .ecx_in = 1, .eax = 0x122, .ebx = 0x01C0003F, .ecx = 0x3F, .edx = 0x1},
	{.eax_in = 0x4, .ecx_in = 2, .eax = 0x143, .ebx = 0x03C0003F, .ecx = 0xFFF, .edx = 0x1},
	{.eax_in = 0x4, .ecx_in = 3}, /* the cache-descriptor list terminator */
	{.eax_in = 0x5, .ecx = 0x3},
	{.eax_in = 0x6},
	{.eax_in = 0x7, .ecx_in = 0, .ebx = 0x00180108},
	{.eax_in = 0x7, .ecx_in = 1},
	{.eax_in = 0xB, .ecx_in = 0},
	{.eax_in = 0xB, .ecx_in = 1},
	/* no XSAVE: leaf 0xD is zero; xcr0_in = 1 (x87 only) is the entry a guest looks up
	   while CR4.OSXSAVE is clear (facts §9.1) */
	{.eax_in = 0xD, .ecx_in = 0, .xcr0_in = 1},
	{.eax_in = 0xD, .ecx_in = 1, .xcr0_in = 1},
	{.eax_in = 0x80000000, .eax = 0x8000000A, .ebx = 0x68747541, .ecx = 0x444D4163,
	 .edx = 0x69746E65},
	{.eax_in = 0x80000001, .eax = 0x663, .ecx = 0x1031, .edx = 0xA8000000},
	/* "QEMU Virtual CPU version 2.5+" */
	{.eax_in = 0x80000002, .eax = 0x554D4551, .ebx = 0x72695620, .ecx = 0x6C617574,
	 .edx = 0x55504320},
	{.eax_in = 0x80000003, .eax = 0x72657620, .ebx = 0x6E6F6973, .ecx = 0x352E3220,
	 .edx = 0x0000002B},
	{.eax_in = 0x80000004},
	{.eax_in = 0x80000005, .eax = 0x01FF01FF, .ebx = 0x01FF01FF, .ecx = 0x40020140,
	 .edx = 0x40020140},
	{.eax_in = 0x80000006, .ebx = 0x42004200, .ecx = 0x02008140},
	{.eax_in = 0x80000007},
	{.eax_in = 0x80000008, .eax = 0x3028}, /* 40 physical, 48 virtual address bits */
	{.eax_in = 0x8000000A},
};

/* Fn8000_001F ECX: simultaneously encrypted guests; EDX: the minimum SEV-only ASID. */
#define FW_SEV_GUESTS 509u
#define FW_SEV_MIN_ASID 1u
/* Fn8000_001F EBX[11:6]: physical address bits lost when memory encryption is on. */
#define FW_SEV_PHYS_REDUCTION 1u
#define FW_SEV_VMPLS 4u

size_t fw_cpuid_table(uint8_t cbit, struct snp_cpuid_fn *out, size_t max)
{
	size_t n = G_N_ELEMENTS(emu_native_cpuid);
	G_STATIC_ASSERT(G_N_ELEMENTS(emu_native_cpuid) + 1 == FW_CPUID_ENTRIES);
	if (max < n + 1)
		return 0;
	memcpy(out, emu_native_cpuid, sizeof(emu_native_cpuid));
	for (size_t i = 0; i < n; i++)
		if (out[i].eax_in == 0x80000000)
			out[i].eax = CPUID_FN_SEV; /* the reset vector checks this before 0x8000001F */
	out[n++] = (struct snp_cpuid_fn){
		.eax_in = CPUID_FN_SEV,
		.eax = CPUID_SEV_EAX_SEV | CPUID_SEV_EAX_SEV_ES | CPUID_SEV_EAX_SNP |
		       CPUID_SEV_EAX_VMPL,
		.ebx = (cbit & CPUID_SEV_EBX_CBIT_MASK) | FW_SEV_PHYS_REDUCTION << 6 |
		       FW_SEV_VMPLS << 12,
		.ecx = FW_SEV_GUESTS,
		.edx = FW_SEV_MIN_ASID,
	};
	return n;
}

/* ------------------------------------------------------------------ MSRs */

bool fw_platform_msrs(hv_t *hv)
{
	return hv_set_msr(hv, MSR_IA32_APICBASE, FW_APIC_BASE_VALUE) &&
	       hv_set_msr(hv, MSR_IA32_MISC_ENABLE, FW_MISC_ENABLE_VALUE);
}

/* ------------------------------------------------------------------ launch plan */

static uint32_t section_page_type(uint32_t section_type)
{
	switch (section_type) {
	case OVMF_SECTION_TYPE_SNP_SECRETS: return KVM_SEV_SNP_PAGE_TYPE_SECRETS;
	case OVMF_SECTION_TYPE_CPUID: return KVM_SEV_SNP_PAGE_TYPE_CPUID;
	/* SEC_MEM is QEMU's ZERO; SVSM_CAA as the launch-digest tools model it (facts §10.3,
	   UNCONFIRMED for QEMU); KERNEL_HASHES is ZERO when no kernel is given */
	default: return KVM_SEV_SNP_PAGE_TYPE_ZERO;
	}
}

size_t fw_launch_plan(const fw_layout_t *l, const ovmf_info_t *info, const uint8_t *code,
		      const uint8_t *vars, fw_launch_step_t *out)
{
	size_t n = 0;
	if (l->vars_size && vars)
		out[n++] = (fw_launch_step_t){.gpa = l->flash_base,
					      .size = l->vars_size,
					      .type = KVM_SEV_SNP_PAGE_TYPE_NORMAL,
					      .data = vars,
					      .data_len = l->vars_size,
					      .what = "vars"};
	out[n++] = (fw_launch_step_t){.gpa = l->code_base,
				      .size = l->code_size,
				      .type = KVM_SEV_SNP_PAGE_TYPE_NORMAL,
				      .data = code,
				      .data_len = l->code_size,
				      .what = "code"};
	for (size_t i = 0; i < info->nsections && n < FW_MAX_STEPS; i++) {
		const ovmf_section_t *s = &info->sections[i];
		out[n++] = (fw_launch_step_t){.gpa = s->base,
					      .size = s->size,
					      .type = section_page_type(s->type),
					      .what = ovmf_section_type_to_string(s->type)};
	}
	return n;
}

bool fw_launch(hv_t *hv, const fw_launch_step_t *steps, size_t n, GError **err)
{
	for (size_t i = 0; i < n; i++) {
		const fw_launch_step_t *s = &steps[i];
		if (!hv_launch_update(hv, s->gpa, s->size, s->type, s->data, s->data_len)) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
				    "SNP_LAUNCH_UPDATE of %s [0x%" G_GINT64_MODIFIER "x, 0x%"
				    G_GINT64_MODIFIER "x) as page type %u refused: not guest "
				    "memory, already launched, or misaligned",
				    s->what, s->gpa, s->gpa + s->size, s->type);
			return false;
		}
	}
	return true;
}

uint64_t fw_launch_pages(const fw_launch_step_t *steps, size_t n)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < n; i++)
		pages += steps[i].size / SNP_PAGE_SIZE;
	return pages;
}
