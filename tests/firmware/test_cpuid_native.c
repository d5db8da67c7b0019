/* SPDX-License-Identifier: MIT */
/*
 * The CPUID table of an OVMF boot (fw_cpuid_table) must be what the engine
 * really executes: Unicorn's own CPUID answers, apart from the two entries the
 * SNP platform adds (0x8000_0000's maximum, and leaf 0x8000_001F). This test
 * runs CPUID under Unicorn for every leaf of the table, so a Unicorn upgrade
 * that changes its CPU model (2.1 makes CPUID configurable and adds NX, for
 * example) fails here, loudly, instead of as a #PF deep in OVMF's DXE.
 * A test of Unicorn's behaviour, like the emu suite's: the product code keeps
 * Unicorn inside sim/emu.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unicorn/unicorn.h>

#include "fwlaunch.h"
#include "snp/arch.h"

#define CODE 0x1000u

static void native(uc_engine *uc, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	static const uint8_t cpuid[] = {0x0F, 0xA2};
	uint64_t a = leaf, c = sub, b = 0, d = 0;
	assert_int_equal(uc_mem_write(uc, CODE, cpuid, sizeof(cpuid)), UC_ERR_OK);
	assert_int_equal(uc_reg_write(uc, UC_X86_REG_RAX, &a), UC_ERR_OK);
	assert_int_equal(uc_reg_write(uc, UC_X86_REG_RCX, &c), UC_ERR_OK);
	assert_int_equal(uc_emu_start(uc, CODE, CODE + sizeof(cpuid), 0, 0), UC_ERR_OK);
	assert_int_equal(uc_reg_read(uc, UC_X86_REG_RAX, &a), UC_ERR_OK);
	assert_int_equal(uc_reg_read(uc, UC_X86_REG_RBX, &b), UC_ERR_OK);
	assert_int_equal(uc_reg_read(uc, UC_X86_REG_RCX, &c), UC_ERR_OK);
	assert_int_equal(uc_reg_read(uc, UC_X86_REG_RDX, &d), UC_ERR_OK);
	r[0] = (uint32_t)a, r[1] = (uint32_t)b, r[2] = (uint32_t)c, r[3] = (uint32_t)d;
}

static void cpuid_table_matches_unicorn(void **state)
{
	(void)state;
	uc_engine *uc = NULL;
	assert_int_equal(uc_open(UC_ARCH_X86, UC_MODE_64, &uc), UC_ERR_OK);
	assert_int_equal(uc_mem_map(uc, CODE, 0x1000, UC_PROT_ALL), UC_ERR_OK);
	struct snp_cpuid_fn t[FW_CPUID_ENTRIES];
	size_t n = fw_cpuid_table(FW_EMU_CBIT, t, FW_CPUID_ENTRIES);
	assert_int_equal(n, FW_CPUID_ENTRIES);
	for (size_t i = 0; i < n; i++) {
		uint32_t r[4];
		if (t[i].eax_in == CPUID_FN_SEV)
			continue; /* the SNP platform's leaf: Unicorn has none */
		native(uc, t[i].eax_in, t[i].ecx_in, r);
		uint32_t want_eax = t[i].eax;
		if (t[i].eax_in == 0x80000000) {
			/* the table raises the maximum extended leaf to 0x8000_001F */
			assert_int_equal(t[i].eax, CPUID_FN_SEV);
			assert_true(r[0] < CPUID_FN_SEV);
			want_eax = r[0];
		}
		if (r[0] != want_eax || r[1] != t[i].ebx || r[2] != t[i].ecx || r[3] != t[i].edx)
			fail_msg("leaf %#x/%u: Unicorn %08x %08x %08x %08x, table %08x %08x %08x %08x",
				 t[i].eax_in, t[i].ecx_in, r[0], r[1], r[2], r[3], want_eax, t[i].ebx,
				 t[i].ecx, t[i].edx);
	}
	uc_close(uc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpuid_table_matches_unicorn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
