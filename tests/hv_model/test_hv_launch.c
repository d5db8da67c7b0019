/* SPDX-License-Identifier: MIT */
/*
 * Launch (facts §9.3, §10.3): every page SNP_LAUNCH_UPDATE adds ends up
 * assigned to the guest at its GPA and validated, nothing else changes; the
 * CPUID page has the §9.1 layout, the secrets page the §9.2 layout; the BSP's
 * VMSA is in use after LAUNCH_FINISH; no launch after finish. Resulting RMP
 * state is read with rmp_lookup and probed with the guest's own PVALIDATE.
 */
#include "hv_harness.h"

#include <string.h>

#include "snp/vmsa.h"

#define R2(n) (TH_WORK + (uint64_t)(n)*M2)

static rmp_result_t pvalidate(th_t *t, uint64_t gpa, bool page_2m)
{
	return rmp_pvalidate(t->rmp, TH_ASID, 0, gpa, gpa, page_2m, true);
}

/*
 * The guest's view of a launched page: assigned to it at this GPA and validated,
 * so its own PVALIDATE is a no-op (CF = 1, facts §2.2) - or, for a 4K PVALIDATE
 * inside a 2M entry, the SIZEM #NPF.
 */
static void expect_launched(th_t *t, uint64_t gpa, uint64_t size, const char *file, int line)
{
	for (uint64_t a = gpa; a < gpa + size; a += K4) {
		th_expect_page(t, a, true, true, file, line);
		rmp_entry_t e = th_rmp(t, a);
		rmp_result_t r = pvalidate(t, a, false);
		if (e.page_2m)
			_assert_true(r.fault == RMP_FAULT_NPF && (r.error_code & PFERR_GUEST_SIZEM),
				     "4K PVALIDATE in a 2M entry: SIZEM", file, line);
		else
			_assert_true(rmp_ok(r) && r.cf == 1, "PVALIDATE of a launched page: CF=1",
				     file, line);
	}
}
#define EXPECT_LAUNCHED(t, gpa, size) expect_launched((t), (gpa), (size), __FILE__, __LINE__)

static void expect_untouched(th_t *t, uint64_t gpa, uint64_t size, const char *file, int line)
{
	for (uint64_t a = gpa; a < gpa + size; a += K4)
		th_expect_page(t, a, false, false, file, line);
}
#define EXPECT_UNTOUCHED(t, gpa, size) expect_untouched((t), (gpa), (size), __FILE__, __LINE__)

/* ------------------------------------------------------------------ pre-validated ranges */

/* ZERO and UNMEASURED ranges: assigned, validated, zero-filled; the neighbours stay shared. */
static void launch_prevalidates_range(void **state)
{
	th_t *t = *state;
	memset(th_page(t, TH_WORK + K4), 0xAA, K4); /* stale host data must not survive ZERO */
	assert_true(hv_launch_update(t->hv, TH_WORK, 0x9000, KVM_SEV_SNP_PAGE_TYPE_ZERO, NULL, 0));
	assert_true(hv_launch_update(t->hv, TH_WORK + 0xA000, 0x3000,
				     KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, NULL, 0));
	EXPECT_LAUNCHED(t, TH_WORK, 0x9000);
	EXPECT_LAUNCHED(t, TH_WORK + 0xA000, 0x3000);
	EXPECT_UNTOUCHED(t, TH_WORK + 0x9000, K4); /* the gap between them */
	EXPECT_UNTOUCHED(t, TH_WORK - K4, K4);
	EXPECT_UNTOUCHED(t, TH_WORK + 0xD000, K4);
	const uint8_t *p = th_page_peek(t, TH_WORK + K4);
	if (p) {
		uint8_t zero[4096] = {0};
		assert_memory_equal(p, zero, sizeof(zero));
	}
	/* the hypervisor reports them, in order */
	const hv_mem_range_t *lr;
	assert_int_equal(hv_launch_ranges(t->hv, &lr), 2);
	assert_int_equal(lr[0].gpa, TH_WORK);
	assert_int_equal(lr[0].size, 0x9000);
	assert_int_equal(lr[1].gpa, TH_WORK + 0xA000);
	assert_int_equal(lr[1].size, 0x3000);
	/* and their launch is in the event stream with the page type */
	assert_true(th_count(t, HV_EV_LAUNCH_UPDATE) >= 2);
	assert_int_equal(th_event(t, HV_EV_LAUNCH_UPDATE, 0)->op, KVM_SEV_SNP_PAGE_TYPE_ZERO);
	assert_int_equal(th_event(t, HV_EV_LAUNCH_UPDATE, 0)->gpa, TH_WORK);
}

/* A 2M-aligned 2M range is one validated 2M entry (hv.h: "2M where aligned"). */
static void launch_2m_entries_where_aligned(void **state)
{
	th_t *t = *state;
	/* [R2(1) - 4K, R2(2) + 4K): a 4K page, a 2M region, a 4K page */
	assert_true(hv_launch_update(t->hv, R2(1) - K4, M2 + 2 * K4, KVM_SEV_SNP_PAGE_TYPE_ZERO,
				     NULL, 0));
	EXPECT_LAUNCHED(t, R2(1) - K4, M2 + 2 * K4);
	assert_false(th_rmp(t, R2(1) - K4).page_2m);
	assert_true(th_rmp(t, R2(1)).page_2m);
	assert_true(th_rmp(t, R2(1) + M2 - K4).page_2m);
	assert_false(th_rmp(t, R2(2)).page_2m);
	/* the guest's 2M PVALIDATE of it is a no-op: already validated */
	rmp_result_t r = pvalidate(t, R2(1), true);
	assert_true(rmp_ok(r));
	assert_int_equal(r.cf, 1);
	EXPECT_UNTOUCHED(t, R2(1) - 2 * K4, K4);
	EXPECT_UNTOUCHED(t, R2(2) + K4, K4);
}

/* NORMAL data lands in the pages in order, the rest of the last page zero. */
static void launch_normal_contents(void **state)
{
	th_t *t = *state;
	uint8_t data[5000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	memset(th_page(t, TH_WORK + K4), 0x55, K4);
	assert_true(hv_launch_update(t->hv, TH_WORK, 2 * K4, KVM_SEV_SNP_PAGE_TYPE_NORMAL, data,
				     sizeof(data)));
	EXPECT_LAUNCHED(t, TH_WORK, 2 * K4);
	assert_memory_equal(th_page(t, TH_WORK), data, K4);
	assert_memory_equal(th_page(t, TH_WORK + K4), data + K4, sizeof(data) - K4);
	for (size_t i = sizeof(data) - K4; i < K4; i++)
		assert_int_equal(th_page(t, TH_WORK + K4)[i], 0);
}

/* The firmware flash is ROM, launched as NORMAL pages (§10.3). */
static void launch_rom(void **state)
{
	th_t *t = *state;
	uint8_t code[16] = {0xEA, 0x5B, 0xE0, 0x00, 0xF0};
	assert_true(hv_launch_update(t->hv, TH_ROM + TH_ROM_SIZE - 0x10000, 0x10000,
				     KVM_SEV_SNP_PAGE_TYPE_NORMAL, code, sizeof(code)));
	EXPECT_LAUNCHED(t, TH_ROM + TH_ROM_SIZE - 0x10000, 0x10000);
}

/* ------------------------------------------------------------------ CPUID page (§9.1) */

static uint32_t rd32(const uint8_t *p, uint32_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

/*
 * Header: count u32 at 0x00, reserved u32 at 0x04 and u64 at 0x08; entries of
 * 48 bytes from 0x10: eax_in, ecx_in, xcr0_in (u64), xss_in (u64), eax, ebx,
 * ecx, edx, reserved u64. Every entry of the hypervisor's table is there
 * exactly once; past the last entry the page is zero.
 */
static void launch_cpuid_page_layout(void **state)
{
	th_t *t = *state;
	uint64_t gpa = TH_WORK + 0xE000;
	memset(th_page(t, gpa), 0xEE, K4);
	assert_true(hv_launch_update(t->hv, gpa, K4, KVM_SEV_SNP_PAGE_TYPE_CPUID, NULL, 0));
	EXPECT_LAUNCHED(t, gpa, K4);
	const uint8_t *p = th_page(t, gpa);
	uint32_t count = rd32(p, 0x00);
	assert_int_equal(count, t->cfg.ncpuid);
	assert_int_equal(rd32(p, 0x04), 0);
	assert_int_equal(rd64(p, 0x08), 0);
	bool seen[TH_MAX_CPUID] = {false};
	for (uint32_t i = 0; i < count; i++) {
		uint32_t o = 0x10 + i * 48;
		size_t k;
		for (k = 0; k < t->cfg.ncpuid; k++) {
			const struct snp_cpuid_fn *f = &t->cpuid[k];
			if (!seen[k] && rd32(p, o + 0x00) == f->eax_in &&
			    rd32(p, o + 0x04) == f->ecx_in && rd64(p, o + 0x08) == f->xcr0_in &&
			    rd64(p, o + 0x10) == f->xss_in && rd32(p, o + 0x18) == f->eax &&
			    rd32(p, o + 0x1C) == f->ebx && rd32(p, o + 0x20) == f->ecx &&
			    rd32(p, o + 0x24) == f->edx)
				break;
		}
		if (k == t->cfg.ncpuid)
			fail_msg("CPUID page entry %u (leaf 0x%x) matches no table entry", i,
				 rd32(p, o));
		seen[k] = true;
		assert_int_equal(rd64(p, o + 0x28), 0);
	}
	for (uint32_t o = 0x10 + count * 48; o < K4; o++)
		if (p[o])
			fail_msg("CPUID page byte 0x%x past the entries is 0x%x", o, p[o]);
}

/* 64 entries fill the table (0xC10 bytes): accepted, all there. */
static void launch_cpuid_64_entries(void **state)
{
	(void)state;
	th_t *t = th_alloc();
	struct snp_cpuid_fn fn[SNP_CPUID_COUNT_MAX];
	for (uint32_t i = 0; i < SNP_CPUID_COUNT_MAX; i++)
		fn[i] = (struct snp_cpuid_fn){.eax_in = 0x40000000 + i, .eax = i, .edx = ~i};
	t->cfg.cpuid = fn;
	t->cfg.ncpuid = SNP_CPUID_COUNT_MAX;
	th_start(t);
	assert_true(hv_launch_update(t->hv, TH_WORK, K4, KVM_SEV_SNP_PAGE_TYPE_CPUID, NULL, 0));
	const uint8_t *p = th_page(t, TH_WORK);
	assert_int_equal(rd32(p, 0), 64);
	assert_int_equal(rd32(p, 0x10 + 63 * 48), 0x4000003F);
	assert_int_equal(rd32(p, 0x10 + 63 * 48 + 0x24), ~63u);
	for (uint32_t o = 0xC10; o < K4; o++)
		assert_int_equal(p[o], 0);
	th_free(t);
}

/*
 * A table a guest must reject (count 0 or above 64, facts §9.1) is not launched
 * as a CPUID page: the launch fails, or the page at least carries a valid count.
 */
static void launch_cpuid_bad_counts(void **state)
{
	(void)state;
	static const size_t counts[] = {0, SNP_CPUID_COUNT_MAX + 1, 80};
	struct snp_cpuid_fn fn[80];
	for (uint32_t i = 0; i < 80; i++)
		fn[i] = (struct snp_cpuid_fn){.eax_in = i, .eax = i};
	for (size_t c = 0; c < G_N_ELEMENTS(counts); c++) {
		th_t *t = th_alloc();
		t->cfg.cpuid = fn;
		t->cfg.ncpuid = counts[c];
		th_start(t);
		if (hv_launch_update(t->hv, TH_WORK, K4, KVM_SEV_SNP_PAGE_TYPE_CPUID, NULL, 0)) {
			uint32_t n = rd32(th_page(t, TH_WORK), 0);
			if (n < 1 || n > SNP_CPUID_COUNT_MAX)
				fail_msg("CPUID page with count %u launched", n);
		}
		th_free(t);
	}
}

/* ------------------------------------------------------------------ secrets page (§9.2) */

static void launch_secrets(th_t *t, uint64_t gpa)
{
	memset(th_page(t, gpa), 0xEE, K4);
	assert_true(hv_launch_update(t->hv, gpa, K4, KVM_SEV_SNP_PAGE_TYPE_SECRETS, NULL, 0));
	EXPECT_LAUNCHED(t, gpa, K4);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * version at 0x000, IMI_EN [0] at 0x004 (not a migration image: 0), reserved
 * 0x00C, VMPCK0..3 (32 bytes each) at 0x020..0x09F: present (not zero) and
 * distinct; the guest OS area 0x0A0..0x0FF is the guest's (zero at launch); no
 * SVSM (0x140..0x15F zero: the guest runs at VMPL0); reserved 0x164.. zero.
 */
static void launch_secrets_page_layout(void **state)
{
	th_t *t = *state;
	uint64_t gpa = TH_WORK + 0xD000;
	launch_secrets(t, gpa);
	const uint8_t *p = th_page(t, gpa);
	assert_int_not_equal(rd32(p, 0x000), 0);
	assert_int_equal(rd32(p, 0x004), 0);
	assert_int_equal(rd32(p, 0x00C), 0);
	for (int k = 0; k < 4; k++) {
		assert_false(all_zero(p + 0x20 + 32 * k, 32));
		for (int j = 0; j < k; j++)
			assert_memory_not_equal(p + 0x20 + 32 * k, p + 0x20 + 32 * j, 32);
	}
	assert_true(all_zero(p + 0x0A0, 0x60));  /* guest OS area */
	assert_true(all_zero(p + 0x140, 0x20));  /* SVSM base, size, CAA, version, VMPL, rsvd */
	assert_true(all_zero(p + 0x164, 3740));  /* reserved to the end of the page */
	assert_int_equal(0x164 + 3740, K4);
}

/* The keys are a function of the seed: the same seed gives the same page, another not. */
static void launch_secrets_keys_follow_seed(void **state)
{
	(void)state;
	uint8_t keys[3][128];
	static const uint64_t seeds[3] = {1, 1, 2};
	for (int i = 0; i < 3; i++) {
		th_t *t = th_alloc();
		t->cfg.seed = seeds[i];
		th_start(t);
		launch_secrets(t, TH_WORK);
		memcpy(keys[i], th_page(t, TH_WORK) + 0x20, 128);
		th_free(t);
	}
	assert_memory_equal(keys[0], keys[1], 128);
	assert_memory_not_equal(keys[0], keys[2], 128);
}

/* ------------------------------------------------------------------ VMSA and finish */

#define VMSA_GPA (TH_RAM1 + 0x3000)

/* A VMSA page is assigned, validated and marked VMSA; LAUNCH_FINISH puts the BSP's in use. */
static void launch_vmsa_and_finish(void **state)
{
	th_t *t = *state;
	uint8_t vmsa[VMSA_PAGE_SIZE] = {0};
	uint64_t rip = 0xFFF0;
	memcpy(vmsa + VMSA_OFF_RIP, &rip, sizeof(rip));
	assert_true(hv_launch_update(t->hv, VMSA_GPA, K4, KVM_SEV_SNP_PAGE_TYPE_VMSA, vmsa,
				     sizeof(vmsa)));
	EXPECT_LAUNCHED(t, VMSA_GPA, K4);
	rmp_entry_t e = th_rmp(t, VMSA_GPA);
	assert_true(e.vmsa);
	assert_false(e.page_2m);
	assert_false(e.in_use);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.vmsa_gpa, VMSA_GPA);

	assert_true(hv_launch_finish(t->hv));
	assert_true(th_rmp(t, VMSA_GPA).in_use);
	assert_true(th_rmp(t, VMSA_GPA).validated);
	/* a VMSA in use cannot be changed under the running vCPU (FAIL_INUSE) */
	rmp_state_t st = {0};
	rmp_result_t r = rmp_rmpupdate(t->rmp, 0, VMSA_GPA, &st);
	assert_int_equal(r.ret, SNP_RET_FAIL_INUSE);
}

/* After LAUNCH_FINISH nothing more can be launched, and a refusal changes nothing. */
static void launch_after_finish_refused(void **state)
{
	th_t *t = *state;
	assert_true(hv_launch_update(t->hv, TH_WORK, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, NULL, 0));
	assert_true(hv_launch_finish(t->hv));
	size_t ev = t->events->len;
	static const uint32_t types[] = {KVM_SEV_SNP_PAGE_TYPE_NORMAL, KVM_SEV_SNP_PAGE_TYPE_ZERO,
					 KVM_SEV_SNP_PAGE_TYPE_SECRETS, KVM_SEV_SNP_PAGE_TYPE_CPUID,
					 KVM_SEV_SNP_PAGE_TYPE_VMSA};
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		assert_false(hv_launch_update(t->hv, TH_WORK + 2 * K4, K4, types[i], NULL, 0));
	EXPECT_UNTOUCHED(t, TH_WORK + 2 * K4, K4);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 1);
	assert_int_equal(t->events->len, ev);
	const hv_mem_range_t *lr;
	assert_int_equal(hv_launch_ranges(t->hv, &lr), 1);
	EXPECT_LAUNCHED(t, TH_WORK, K4);
}

typedef struct bad_row {
	const char *file;
	int line;
	uint64_t gpa, size;
	uint32_t type;
	size_t data_len;
} bad_row_t;

static const bad_row_t bad_rows[] = {
	{ROW_HERE, TH_WORK + 1, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},           /* misaligned */
	{ROW_HERE, TH_WORK + 0x800, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},
	{ROW_HERE, TH_WORK, 0, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},                /* empty */
	{ROW_HERE, TH_WORK, K4 + 1, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},           /* partial page */
	{ROW_HERE, TH_WORK, K4, 0, 0},                                        /* unknown types */
	{ROW_HERE, TH_WORK, K4, 7, 0},
	{ROW_HERE, TH_WORK, K4, UINT32_MAX, 0},
	{ROW_HERE, TH_MMIO, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},               /* not memory */
	{ROW_HERE, TH_HOLE, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},
	{ROW_HERE, TH_RAM0_SIZE - K4, 2 * K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0}, /* RAM into MMIO */
	{ROW_HERE, TH_RMP_LIMIT, K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0},
	{ROW_HERE, 0xFFFFFFFFFFFFF000ull, 0x2000, KVM_SEV_SNP_PAGE_TYPE_ZERO, 0}, /* wraps */
	{ROW_HERE, TH_WORK, K4, KVM_SEV_SNP_PAGE_TYPE_NORMAL, K4 + 1},        /* data > size */
	{ROW_HERE, TH_WORK, 2 * K4, KVM_SEV_SNP_PAGE_TYPE_NORMAL, 3 * K4},
};

/* Malformed launch requests are refused before anything changes. */
static void launch_bad_requests(void **state)
{
	th_t *t = *state;
	static uint8_t data[3 * 4096];
	for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++) {
		const bad_row_t *r = &bad_rows[i];
		size_t ev = t->events->len;
		bool ok = hv_launch_update(t->hv, r->gpa, r->size, r->type,
					   r->data_len ? data : NULL, r->data_len);
		ROW_TRUE(r, !ok);
		ROW_EQ(r, t->events->len, ev);
	}
	/* a NULL buffer with a length */
	assert_false(hv_launch_update(t->hv, TH_WORK, K4, KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL, 16));
	EXPECT_UNTOUCHED(t, TH_WORK, 4 * K4);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
	const hv_mem_range_t *lr;
	assert_int_equal(hv_launch_ranges(t->hv, &lr), 0);
}

/* A range overlapping one already launched is refused: the guest's pages stay validated. */
static void launch_overlap_refused(void **state)
{
	th_t *t = *state;
	assert_true(hv_launch_update(t->hv, TH_WORK, 4 * K4, KVM_SEV_SNP_PAGE_TYPE_ZERO, NULL, 0));
	size_t ev = t->events->len;
	assert_false(hv_launch_update(t->hv, TH_WORK + 3 * K4, 2 * K4, KVM_SEV_SNP_PAGE_TYPE_ZERO,
				      NULL, 0));
	assert_false(hv_launch_update(t->hv, TH_WORK - K4, 2 * K4, KVM_SEV_SNP_PAGE_TYPE_NORMAL,
				      NULL, 0));
	assert_false(hv_launch_update(t->hv, TH_WORK + K4, K4, KVM_SEV_SNP_PAGE_TYPE_SECRETS, NULL,
				      0));
	assert_int_equal(t->events->len, ev);
	EXPECT_LAUNCHED(t, TH_WORK, 4 * K4);
	EXPECT_UNTOUCHED(t, TH_WORK + 4 * K4, K4);
	EXPECT_UNTOUCHED(t, TH_WORK - K4, K4);
}

/* ------------------------------------------------------------------ an OVMF-shaped launch */

/*
 * The section list of current OVMF X64 (facts §10.3) as QEMU launches it: the
 * sections pre-validated, the first GHCB page (0x80_9000, the gap between
 * sections 1 and 2) deliberately left shared and unvalidated, the PEI FV base
 * not part of any section.
 */
static void launch_ovmf_sections(void **state)
{
	th_t *t = *state;
	static const struct {
		uint64_t base, size;
		uint32_t type;
	} sec[] = {
		{0x800000, 0x9000, KVM_SEV_SNP_PAGE_TYPE_ZERO},     /* SEC_MEM */
		{0x80A000, 0x3000, KVM_SEV_SNP_PAGE_TYPE_ZERO},     /* SEC_MEM */
		{0x80D000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_SECRETS},  /* SNP_SECRETS */
		{0x80E000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_CPUID},    /* CPUID */
		{0x80F000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_ZERO},     /* SVSM_CAA */
		{0x811000, 0x1F000, KVM_SEV_SNP_PAGE_TYPE_ZERO},    /* SEC_MEM */
		{0x810000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_ZERO},     /* KERNEL_HASHES, no hashes */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(sec); i++)
		assert_true(hv_launch_update(t->hv, sec[i].base, sec[i].size, sec[i].type, NULL, 0));
	assert_true(hv_launch_update(t->hv, VMSA_GPA, K4, KVM_SEV_SNP_PAGE_TYPE_VMSA, NULL, 0));
	assert_true(hv_launch_finish(t->hv));
	for (size_t i = 0; i < G_N_ELEMENTS(sec); i++)
		EXPECT_LAUNCHED(t, sec[i].base, sec[i].size);
	EXPECT_UNTOUCHED(t, 0x809000, K4); /* the GHCB page */
	EXPECT_UNTOUCHED(t, 0x830000, K4); /* the PEI FV base */
	EXPECT_UNTOUCHED(t, 0x7FF000, K4);
	const hv_mem_range_t *lr;
	assert_int_equal(hv_launch_ranges(t->hv, &lr), G_N_ELEMENTS(sec) + 1);
	for (size_t i = 0; i < G_N_ELEMENTS(sec); i++) {
		assert_int_equal(lr[i].gpa, sec[i].base);
		assert_int_equal(lr[i].size, sec[i].size);
	}
	/* the guest can now register the GHCB page at 0x80_9000 and use it: it is shared */
	th_register(t, 0, 0x809000);
	uint64_t g = 0x809000;
	th_ghcb_reset(t, g);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO2, 0);
	hv_exit_t x = hv_vmgexit(t->hv, 0, g);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(th_ghcb_get(t, g, GHCB_OFF_SW_EXITINFO2), t->cfg.features);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)
	const struct CMUnitTest tests[] = {
		T(launch_prevalidates_range),
		T(launch_2m_entries_where_aligned),
		T(launch_normal_contents),
		T(launch_rom),
		T(launch_cpuid_page_layout),
		cmocka_unit_test(launch_cpuid_64_entries),
		cmocka_unit_test(launch_cpuid_bad_counts),
		T(launch_secrets_page_layout),
		cmocka_unit_test(launch_secrets_keys_follow_seed),
		T(launch_vmsa_and_finish),
		T(launch_after_finish_refused),
		T(launch_bad_requests),
		T(launch_overlap_refused),
		T(launch_ovmf_sections),
	};
#undef T
	return cmocka_run_group_tests_name("hv_launch", tests, NULL, NULL);
}
