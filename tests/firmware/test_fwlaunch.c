/* SPDX-License-Identifier: MIT */
/*
 * The launch plan of the reference OVMF image, executed through hv_model:
 * the RMP state it leaves is what QEMU/KVM would leave (facts §9.3, §10.3):
 * every section page and every flash page assigned to the guest at its own GPA
 * and validated, the first GHCB page (in no section) still the hypervisor's,
 * the CPUID page holding the table the engine can execute.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fw_hv.h"
#include "fw_image.h"
#include "fwlaunch.h"
#include "ovmf.h"
#include "snp/arch.h"

static uint8_t *ref;
static size_t ref_len;
static ovmf_info_t info;

static rmp_entry_t rmp_at(fw_hv_t *t, uint64_t spa)
{
	rmp_entry_t e;
	assert_true(rmp_lookup(t->rmp, spa, &e));
	return e;
}

static void expect_launched(fw_hv_t *t, uint64_t gpa, uint64_t size, const char *what)
{
	for (uint64_t a = gpa; a < gpa + size; a += SNP_PAGE_SIZE) {
		rmp_entry_t e = rmp_at(t, a);
		if (!e.assigned || !e.validated || e.gpa != a || e.asid != 1 || e.vmsa)
			fail_msg("%s page 0x%llx: assigned %d validated %d gpa 0x%llx asid %u", what,
				 (unsigned long long)a, e.assigned, e.validated,
				 (unsigned long long)e.gpa, e.asid);
	}
}

static fw_hv_t *launched(fw_launch_step_t *steps, size_t *n)
{
	fw_hv_t *t = fw_hv_new(512ull << 20, ref_len);
	*n = fw_launch_plan(&t->layout, &info, ref, NULL, steps);
	GError *err = NULL;
	if (!fw_launch(t->hv, steps, *n, &err))
		fail_msg("fw_launch: %s", err->message);
	return t;
}

static void plan_follows_the_metadata(void **state)
{
	(void)state;
	fw_layout_t l;
	assert_true(fw_layout_init(&l, 512ull << 20, ref_len, 0, NULL));
	fw_launch_step_t steps[FW_MAX_STEPS];
	size_t n = fw_launch_plan(&l, &info, ref, NULL, steps);
	assert_int_equal(n, 1 + 6);
	assert_string_equal(steps[0].what, "code");
	assert_int_equal(steps[0].gpa, 0xFFC84000ull);
	assert_int_equal(steps[0].type, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	assert_ptr_equal(steps[0].data, ref);
	static const struct {
		uint64_t gpa;
		uint32_t type;
		const char *what;
	} want[] = {
		{0x800000, KVM_SEV_SNP_PAGE_TYPE_ZERO, "sec_mem"},
		{0x80A000, KVM_SEV_SNP_PAGE_TYPE_ZERO, "sec_mem"},
		{0x80D000, KVM_SEV_SNP_PAGE_TYPE_SECRETS, "secrets"},
		{0x80E000, KVM_SEV_SNP_PAGE_TYPE_CPUID, "cpuid"},
		{0x80F000, KVM_SEV_SNP_PAGE_TYPE_ZERO, "svsm_caa"},
		{0x810000, KVM_SEV_SNP_PAGE_TYPE_ZERO, "sec_mem"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		assert_int_equal(steps[1 + i].gpa, want[i].gpa);
		assert_int_equal(steps[1 + i].type, want[i].type);
		assert_string_equal(steps[1 + i].what, want[i].what);
		assert_null(steps[1 + i].data);
	}
	/* 0x37C pages of code and 0x9 + 0x3 + 1 + 1 + 1 + 0x10 pages of sections */
	assert_int_equal(fw_launch_pages(steps, n), 0x37C + 0x1F);
	/* with a VARS image it comes first, just below the code */
	uint8_t vars[0x1000] = {0};
	assert_true(fw_layout_init(&l, 512ull << 20, ref_len, sizeof(vars), NULL));
	n = fw_launch_plan(&l, &info, ref, vars, steps);
	assert_int_equal(n, 2 + 6);
	assert_string_equal(steps[0].what, "vars");
	assert_int_equal(steps[0].gpa, 0xFFC83000ull);
	assert_int_equal(steps[1].gpa, 0xFFC84000ull);
}

static void launch_leaves_the_rmp_as_snp_launch_update_does(void **state)
{
	(void)state;
	fw_launch_step_t steps[FW_MAX_STEPS];
	size_t n;
	fw_hv_t *t = launched(steps, &n);
	for (size_t i = 0; i < info.nsections; i++)
		expect_launched(t, info.sections[i].base, info.sections[i].size,
				ovmf_section_type_to_string(info.sections[i].type));
	expect_launched(t, 0xFFC84000ull, ref_len, "code");
	/* the first GHCB page, and RAM around the sections, are the hypervisor's */
	static const uint64_t not_launched[] = {0x809000, 0x7FF000, 0x820000, 0x100000, 0x0};
	for (size_t i = 0; i < G_N_ELEMENTS(not_launched); i++) {
		rmp_entry_t e = rmp_at(t, not_launched[i]);
		assert_false(e.assigned);
		assert_false(e.validated);
	}
	/* the flash holds the image, byte for byte */
	for (uint64_t off = 0; off < ref_len; off += SNP_PAGE_SIZE) {
		const uint8_t *p = fw_hv_page(t, 0xFFC84000ull + off, false);
		assert_non_null(p);
		assert_memory_equal(p, ref + off, SNP_PAGE_SIZE);
	}
	/* SEC_MEM and the SVSM calling area are zero */
	for (uint64_t a = 0x800000; a < 0x809000; a += SNP_PAGE_SIZE) {
		const uint8_t *p = fw_hv_page(t, a, false);
		if (p)
			for (size_t i = 0; i < SNP_PAGE_SIZE; i++)
				assert_int_equal(p[i], 0);
	}
	/* launched ranges are recorded in order, for the checker's pre-validated list */
	const hv_mem_range_t *lr;
	assert_int_equal(hv_launch_ranges(t->hv, &lr), n);
	assert_int_equal(lr[0].gpa, 0xFFC84000ull);
	assert_int_equal(lr[1].gpa, 0x800000);
	/* the events say the same: one LAUNCH_UPDATE event per page run */
	size_t nlaunch = 0;
	for (guint i = 0; i < t->events->len; i++)
		nlaunch += g_array_index(t->events, hv_event_t, i).kind == HV_EV_LAUNCH_UPDATE;
	assert_true(nlaunch >= n);
	fw_hv_free(t);
}

static void cpuid_page_holds_what_the_engine_executes(void **state)
{
	(void)state;
	fw_launch_step_t steps[FW_MAX_STEPS];
	size_t n;
	fw_hv_t *t = launched(steps, &n);
	const uint8_t *p = fw_hv_page(t, 0x80E000, false);
	assert_non_null(p);
	struct snp_cpuid_table tab;
	memcpy(&tab, p, sizeof(tab));
	assert_int_equal(tab.count, FW_CPUID_ENTRIES);
	bool sev = false, ext = false;
	for (uint32_t i = 0; i < tab.count; i++) {
		const struct snp_cpuid_fn *f = &tab.fn[i];
		if (f->eax_in == CPUID_FN_SEV) {
			sev = true;
			assert_int_equal(f->ebx & CPUID_SEV_EBX_CBIT_MASK, FW_EMU_CBIT);
			assert_true(f->eax & CPUID_SEV_EAX_SNP);
			assert_true(f->eax & CPUID_SEV_EAX_SEV_ES);
		}
		if (f->eax_in == 0x80000000) {
			ext = true;
			assert_int_equal(f->eax, CPUID_FN_SEV); /* the reset vector checks this */
		}
		/* the engine cannot set EFER.NXE, XCR0 or x2APIC mode: none advertised */
		if (f->eax_in == 0x80000001)
			assert_int_equal(f->edx & (1u << 20), 0);
		if (f->eax_in == 1) {
			assert_int_equal(f->ecx & (1u << 26), 0); /* XSAVE */
			assert_int_equal(f->ecx & (1u << 21), 0); /* x2APIC */
		}
		/* the C-bit must be a physical address bit the engine has (40 bits) */
		if (f->eax_in == 0x80000008)
			assert_true((f->eax & 0xFF) > FW_EMU_CBIT);
	}
	assert_true(sev && ext);
	/* the secrets page has the firmware's keys (derived from the seed) */
	const uint8_t *s = fw_hv_page(t, 0x80D000, false);
	assert_non_null(s);
	struct snp_secrets_page sp;
	memcpy(&sp, s, sizeof(sp));
	assert_int_not_equal(sp.version, 0);
	uint8_t zero[SNP_VMPCK_LEN] = {0};
	assert_memory_not_equal(sp.vmpck[0], zero, SNP_VMPCK_LEN);
	assert_int_equal(sp.svsm_size, 0); /* no SVSM: the guest runs at VMPL0 */
	fw_hv_free(t);
}

static void launching_twice_names_the_step(void **state)
{
	(void)state;
	fw_launch_step_t steps[FW_MAX_STEPS];
	size_t n;
	fw_hv_t *t = launched(steps, &n);
	GError *err = NULL;
	assert_false(fw_launch(t->hv, steps + 1, 1, &err));
	assert_non_null(strstr(err->message, "sec_mem [0x800000, 0x809000)"));
	g_error_free(err);
	fw_hv_free(t);
}

static void platform_msrs_answer_the_bsp(void **state)
{
	(void)state;
	fw_hv_t *t = fw_hv_new(512ull << 20, ref_len);
	uint64_t v = 0;
	/* before: hv_model answers #GP, which sent the prototype's MpInitLib astray */
	assert_false(fw_rdmsr(t, MSR_IA32_APICBASE, &v));
	assert_true(fw_platform_msrs(t->hv));
	assert_true(fw_rdmsr(t, MSR_IA32_APICBASE, &v));
	assert_int_equal(v, 0xFEE00900ull);
	assert_true(v & (1u << 8)); /* BSP */
	assert_true(fw_rdmsr(t, MSR_IA32_MISC_ENABLE, &v));
	assert_int_equal(v, 1);
	assert_false(fw_rdmsr(t, 0x12345678u, &v));
	fw_hv_free(t);
}

static void layout_rejects_bad_sizes(void **state)
{
	(void)state;
	fw_layout_t l;
	GError *err = NULL;
	assert_false(fw_layout_init(&l, (64ull << 20) + 4096, 0x37C000, 0, &err));
	assert_non_null(strstr(err->message, "multiple of 2 MiB"));
	g_clear_error(&err);
	assert_false(fw_layout_init(&l, 32ull << 20, 0x37C000, 0, &err));
	g_clear_error(&err);
	assert_false(fw_layout_init(&l, 512ull << 20, 0x37C000, 0x1000000, &err));
	assert_non_null(strstr(err->message, "flash window"));
	g_clear_error(&err);
	/* 4 GiB: 3 GiB low, 1 GiB high; the hole is MMIO up to the flash */
	assert_true(fw_layout_init(&l, 4ull << 30, 0x37C000, 0x84000, &err));
	assert_int_equal(l.nranges, 4);
	assert_int_equal(l.ranges[1].kind, HV_MEM_MMIO);
	assert_int_equal(l.ranges[1].gpa, 0xC0000000ull);
	assert_int_equal(l.ranges[1].gpa + l.ranges[1].size, 0xFFC00000ull);
	assert_int_equal(l.ranges[2].kind, HV_MEM_ROM);
	assert_int_equal(l.ranges[3].gpa, 0x100000000ull);
	assert_int_equal(l.ranges[3].size, 1ull << 30);
}

int main(int argc, char **argv)
{
	char *path = fw_image_find(argc, argv);
	if (!path || !fw_image_load(path, &ref, &ref_len))
		return 1;
	GError *err = NULL;
	if (!ovmf_parse(ref, ref_len, &info, &err)) {
		fprintf(stderr, "%s: %s\n", path, err->message);
		return 1;
	}
	g_free(path);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_follows_the_metadata),
		cmocka_unit_test(launch_leaves_the_rmp_as_snp_launch_update_does),
		cmocka_unit_test(cpuid_page_holds_what_the_engine_executes),
		cmocka_unit_test(launching_twice_names_the_step),
		cmocka_unit_test(platform_msrs_answer_the_bsp),
		cmocka_unit_test(layout_rejects_bad_sizes),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(ref);
	return rc;
}
