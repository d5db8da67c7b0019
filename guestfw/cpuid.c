/* SPDX-License-Identifier: MIT */
/*
 * CPUID through the SNP CPUID page (facts §9.1), never through the hypervisor:
 * the page was checked by the SNP firmware at launch, the hypervisor's answers
 * are not. Lookup rules are Linux's snp_cpuid_get_validated_func():
 *   - eax_in must match; ecx_in only for the indexed leaves;
 *   - leaf 0xD subleaves 0 and 1 use only the entries with xcr0_in 1 or 3 and xss_in 0;
 *   - a leaf not in the table reads as zeros.
 * Linux post-processes some leaves with values from the hypervisor (APIC IDs,
 * OSXSAVE from CR4, XSAVE sizes); guestfw has no such state and does not.
 */
#include "gfw-private.h"

#define CPUID_ENTRY_OFF(i) (__builtin_offsetof(struct snp_cpuid_table, fn) + \
			    (uint64_t)(i) * sizeof(struct snp_cpuid_fn))

/* Linux cpuid_function_is_indexed() */
static bool leaf_is_indexed(uint32_t leaf)
{
	switch (leaf) {
	case 0x4: case 0x7: case 0xB: case 0xD: case 0xF: case 0x10: case 0x12: case 0x14:
	case 0x17: case 0x18: case 0x1D: case 0x1E: case 0x1F: case 0x24: case 0x8000001D:
		return true;
	default:
		return false;
	}
}

static uint32_t table_count(gfw_cpu_t *c)
{
	uint64_t page = c->g->cfg.cpuid_page_gpa;
	/* Linux setup_cpuid_table: no table, or count 0 or > 64, is fatal (set 1 code 4) */
	if (page == 0)
		gfw_terminate(c, GFW_TERM_CPUID);
	uint32_t count = 0;
	gfw_read(c, page, &count, sizeof(count), true);
	if (count == 0 || count > SNP_CPUID_COUNT_MAX)
		gfw_terminate(c, GFW_TERM_CPUID);
	return count;
}

void gfw_cpuid_check_table(gfw_cpu_t *c)
{
	(void)table_count(c);
}

bool gfw_cpuid(gfw_cpu_t *c, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	uint32_t count = table_count(c);
	uint64_t page = c->g->cfg.cpuid_page_gpa;
	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct snp_cpuid_fn fn;
		gfw_read(c, page + CPUID_ENTRY_OFF(i), &fn, sizeof(fn), true);
		if (fn.eax_in != leaf)
			continue;
		if (leaf_is_indexed(leaf) && fn.ecx_in != subleaf)
			continue;
		if (leaf == 0xD && subleaf <= 1 && ((fn.xcr0_in != 1 && fn.xcr0_in != 3) || fn.xss_in))
			continue;
		regs[0] = fn.eax;
		regs[1] = fn.ebx;
		regs[2] = fn.ecx;
		regs[3] = fn.edx;
		return true;
	}
	return false;
}
