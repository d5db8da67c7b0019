/* SPDX-License-Identifier: MIT */
/*
 * The GHCB MSR protocol (facts §3), one group per function code of §3.2: the
 * good request, and each malformed one the function can receive. Responses are
 * checked bit for bit against the layouts of §3.2; RMP effects with rmp_lookup.
 */
#include "hv_harness.h"

#include <string.h>

#define CODE(v) ((uint32_t)((v)&GHCB_MSR_INFO_MASK))
#define DATA(v) ((uint64_t)(v) >> GHCB_DATA_SHIFT)

/* ------------------------------------------------------------------ SEV information (0x002) */

typedef struct sev_info_row {
	const char *file;
	int line;
	uint16_t min, max;
	uint8_t cbit;
} sev_info_row_t;

static const sev_info_row_t sev_info_rows[] = {
	{ROW_HERE, .min = 1, .max = 2, .cbit = 51}, /* KVM for SNP (facts §3.5 step 1) */
	{ROW_HERE, .min = 2, .max = 2, .cbit = 47},
	{ROW_HERE, .min = 1, .max = 1, .cbit = 0},
	{ROW_HERE, .min = 2, .max = 0xFFFF, .cbit = 63},
};

/* 0x002 -> 0x001 with [63:48] max, [47:32] min, [31:24] C-bit, [23:12] reserved (zero) */
static void sev_info_layout(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(sev_info_rows); i++) {
		const sev_info_row_t *r = &sev_info_rows[i];
		th_t *t = th_alloc();
		t->cfg.proto_min = r->min;
		t->cfg.proto_max = r->max;
		t->cfg.cbit = r->cbit;
		th_start(t);
		hv_exit_t x = th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, CODE(x.ghcb_msr), 0x001);
		ROW_EQ(r, x.ghcb_msr >> 48, r->max);
		ROW_EQ(r, (x.ghcb_msr >> 32) & 0xFFFF, r->min);
		ROW_EQ(r, (x.ghcb_msr >> 24) & 0xFF, r->cbit);
		ROW_EQ(r, (x.ghcb_msr >> 12) & 0xFFF, 0);
		/* KVM presets the MSR with the same answer at vCPU reset (facts §3.1) */
		ROW_EQ(r, hv_initial_ghcb_msr(t->hv), x.ghcb_msr);
		hv_vcpu_info_t vi;
		ROW_TRUE(r, hv_vcpu_info(t->hv, 1, &vi));
		ROW_EQ(r, vi.ghcb_msr, x.ghcb_msr);
		th_free(t);
	}
}

/* The request has no data bits (facts §3.2): set ones must not change the answer. */
static void sev_info_ignores_request_data(void **state)
{
	th_t *t = *state;
	uint64_t clean = th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr;
	hv_exit_t x = th_msr(t, 0, 0xFFFFFFFFFFFFF000ull | GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(x.ghcb_msr, clean);
}

/* Every answer is an HV_EV_MSR_PROTOCOL event carrying request and response. */
static void msr_event_records_request_and_response(void **state)
{
	th_t *t = *state;
	hv_exit_t x = th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(th_count(t, HV_EV_MSR_PROTOCOL), 1);
	const hv_event_t *e = th_event(t, HV_EV_MSR_PROTOCOL, 0);
	assert_int_equal(e->info1, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(e->info2, x.ghcb_msr);
	assert_int_equal(e->vcpu, 0);
}

/* ------------------------------------------------------------------ CPUID (0x004) */

typedef struct cpuid_row {
	const char *file;
	int line;
	uint64_t req;
	uint32_t want;
} cpuid_row_t;

/* the harness's CPUID table: leaf 1 = {0x00A10F11, 0x01000800, 0x7ED8320B, 0x178BFBFF} */
static const cpuid_row_t cpuid_rows[] = {
	/* [31:30] register: 0 EAX, 1 EBX, 2 ECX, 3 EDX (facts §3.2) */
	{ROW_HERE, .req = (1ull << 32) | (0ull << 30) | 0x004, .want = 0x00A10F11},
	{ROW_HERE, .req = (1ull << 32) | (1ull << 30) | 0x004, .want = 0x01000800},
	{ROW_HERE, .req = (1ull << 32) | (2ull << 30) | 0x004, .want = 0x7ED8320B},
	{ROW_HERE, .req = (1ull << 32) | (3ull << 30) | 0x004, .want = 0x178BFBFF},
	/* reserved bits [29:12] set: the register is still [31:30], never an index past EDX */
	{ROW_HERE, .req = (1ull << 32) | (3ull << 30) | 0x3FFFF000ull | 0x004, .want = 0x178BFBFF},
	{ROW_HERE, .req = (1ull << 32) | (0ull << 30) | 0x3FFFF000ull | 0x004, .want = 0x00A10F11},
	{ROW_HERE, .req = (0x8000001Full << 32) | (1ull << 30) | 0x004,
	 .want = 51 | (1u << 6) | (4u << 12)},
	{ROW_HERE, .req = (0x80000000ull << 32) | (0ull << 30) | 0x004, .want = 0x80000021},
	/* no subleaf input: ECX = 0 (facts §3.2), so leaf 7 answers subleaf 0, not 1 */
	{ROW_HERE, .req = (7ull << 32) | (1ull << 30) | 0x004, .want = 0x219C97A9},
	/* leaf 0xD subleaf 0 with XCR0 unset: the x87-only entry (xcr0_in = 1) */
	{ROW_HERE, .req = (0xDull << 32) | (1ull << 30) | 0x004, .want = 0x240},
};

static void cpuid_request(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(cpuid_rows); i++) {
		const cpuid_row_t *r = &cpuid_rows[i];
		hv_exit_t x = th_msr(t, 0, r->req);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, CODE(x.ghcb_msr), 0x005);
		ROW_EQ(r, x.ghcb_msr >> 32, r->want);
	}
}

/* The helper in ghcb.h puts the register in [31:30]; a mask of two bits is all there is. */
static void cpuid_register_helper_matches_layout(void **state)
{
	th_t *t = *state;
	for (uint32_t reg = 0; reg < 4; reg++) {
		uint64_t a = th_msr(t, 0, ghcb_msr_cpuid_req(0, reg)).ghcb_msr;
		uint64_t b = th_msr(t, 0, (0ull << 32) | ((uint64_t)reg << 30) | 0x004).ghcb_msr;
		assert_int_equal(a >> 32, b >> 32);
	}
	/* leaf 0: EAX max leaf 0xD, then "Auth" "cAMD" "enti" in EBX, ECX, EDX order */
	assert_int_equal(th_msr(t, 0, ghcb_msr_cpuid_req(0, 0)).ghcb_msr >> 32, 0xD);
	assert_int_equal(th_msr(t, 0, ghcb_msr_cpuid_req(0, 1)).ghcb_msr >> 32, 0x68747541);
	assert_int_equal(th_msr(t, 0, ghcb_msr_cpuid_req(0, 2)).ghcb_msr >> 32, 0x444D4163);
	assert_int_equal(th_msr(t, 0, ghcb_msr_cpuid_req(0, 3)).ghcb_msr >> 32, 0x69746E65);
}

/*
 * A leaf the hypervisor has no value for: either the CPUID response (AMD reads
 * out-of-range leaves as zero; hv_model documents zeros) or KVM's failure answer,
 * the request left in the MSR (facts §3.2). Never a response with made-up data.
 */
static void cpuid_unknown_leaf(void **state)
{
	th_t *t = *state;
	uint64_t req = ghcb_msr_cpuid_req(0x12345678, GHCB_CPUID_REQ_EBX);
	hv_exit_t x = th_msr(t, 0, req);
	assert_int_equal(x.action, HV_RESUME);
	if (CODE(x.ghcb_msr) == 0x005)
		assert_int_equal(x.ghcb_msr >> 32, 0);
	else
		assert_int_equal(x.ghcb_msr, req);
}

/* ------------------------------------------------------------------ AP reset hold (0x006) */

/* 0x006 holds the AP with 0 in [63:12] ("not woken"); the SIPI makes it nonzero (§3.2). */
static void ap_reset_hold_and_wake(void **state)
{
	th_t *t = *state;
	hv_vcpu_info_t vi;
	/* APs wait for INIT-SIPI from launch (hv.h): vCPU 1 is held and cannot exit */
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_HELD);
	hv_exit_t x = th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_NO_VCPU);
	assert_true(hv_vcpu_wake(t->hv, 1));
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);

	x = th_msr(t, 1, GHCB_MSR_AP_RESET_HOLD_REQ);
	assert_int_equal(x.action, HV_HOLD);
	assert_int_equal(CODE(x.ghcb_msr), 0x007);
	assert_int_equal(DATA(x.ghcb_msr), 0);
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_HELD);
	assert_int_equal(CODE(vi.ghcb_msr), 0x007);
	assert_int_equal(DATA(vi.ghcb_msr), 0);
	/* a held vCPU does not run: its VMGEXIT is refused */
	x = th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_NO_VCPU);

	/* the other vCPUs are not affected */
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);

	assert_true(hv_vcpu_wake(t->hv, 1));
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);
	assert_int_equal(CODE(vi.ghcb_msr), 0x007);
	assert_int_not_equal(DATA(vi.ghcb_msr), 0);
	/* running again: it may exit */
	assert_int_equal(th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ).action, HV_RESUME);
}

/* A SIPI to a vCPU that is not held is refused and changes nothing. */
static void ap_wake_refused_unless_held(void **state)
{
	th_t *t = *state;
	hv_vcpu_info_t before, after;
	assert_true(hv_vcpu_info(t->hv, 0, &before));
	assert_false(hv_vcpu_wake(t->hv, 0)); /* running */
	assert_true(hv_vcpu_info(t->hv, 0, &after));
	assert_int_equal(after.state, before.state);
	assert_int_equal(after.ghcb_msr, before.ghcb_msr);
	assert_false(hv_vcpu_wake(t->hv, 4)); /* max_vcpus = 4 */
	assert_false(hv_vcpu_wake(t->hv, UINT32_MAX));
	assert_false(hv_vcpu_info(t->hv, 4, &after));
}

/* The BSP may hold too, as a Linux kexec/hotplug path does: same answers. */
static void ap_reset_hold_bsp(void **state)
{
	th_t *t = *state;
	hv_exit_t x = th_msr(t, 0, GHCB_MSR_AP_RESET_HOLD_REQ | 0xABC000ull);
	assert_int_equal(x.action, HV_HOLD);
	assert_int_equal(x.ghcb_msr, (uint64_t)GHCB_MSR_AP_RESET_HOLD_RESP);
}

/* ------------------------------------------------------------------ preferred GHCB GPA (0x010) */

/* 0x011 with [63:12] = all ones (no preference) or a GFN of guest RAM the HV prefers. */
static void preferred_ghcb_gpa(void **state)
{
	th_t *t = *state;
	hv_exit_t x = th_msr(t, 0, GHCB_MSR_PREF_GPA_REQ);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(CODE(x.ghcb_msr), 0x011);
	uint64_t gfn = DATA(x.ghcb_msr);
	if (gfn != 0xFFFFFFFFFFFFFull) {
		uint64_t gpa = gfn << SNP_PAGE_SHIFT;
		assert_true(gpa < TH_RAM0 + TH_RAM0_SIZE || /* RAM 0 starts at 0 */
			    (gpa >= TH_RAM1 && gpa < TH_RAM1 + TH_RAM1_SIZE));
	}
	/* asking registers nothing */
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.ghcb_gpa, 0);
}

/* ------------------------------------------------------------------ register GHCB GPA (0x012) */

/* 0x013 echoes the GFN; the GHCB at that GPA then works, any other GPA stops the guest. */
static void register_ghcb_good(void **state)
{
	th_t *t = *state;
	uint64_t g = TH_GHCB(0);
	hv_exit_t x = th_msr(t, 0, ghcb_msr_gfn_val(TH_GFN(g), GHCB_MSR_REG_GPA_REQ));
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(x.ghcb_msr, ghcb_msr_gfn_val(TH_GFN(g), GHCB_MSR_REG_GPA_RESP));
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.ghcb_gpa, g);
	/* the registered GHCB is served */
	x = th_nae_simple(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(x.ghcb_msr, g);
	assert_int_equal(th_info1(t, 0), 0);
	assert_int_equal(th_info2(t, 0), t->cfg.features);
	/* another (aligned, shared, RAM) page is not the registered GHCB (facts §3.5 step 4) */
	th_ghcb_reset(t, g + 0x10000);
	th_ghcb_set(t, g + 0x10000, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, g + 0x10000, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, g + 0x10000, GHCB_OFF_SW_EXITINFO2, 0);
	x = hv_vmgexit(t->hv, 0, g + 0x10000);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_GHCB_NOT_REGISTERED);
}

/* Registration is per vCPU: vCPU 1 cannot use vCPU 0's GHCB. */
static void register_ghcb_per_vcpu(void **state)
{
	th_t *t = *state;
	th_register(t, 0, TH_GHCB(0));
	assert_true(hv_vcpu_wake(t->hv, 1));
	th_ghcb_reset(t, TH_GHCB(0));
	th_ghcb_set(t, TH_GHCB(0), GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, TH_GHCB(0), GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, TH_GHCB(0), GHCB_OFF_SW_EXITINFO2, 0);
	hv_exit_t x = hv_vmgexit(t->hv, 1, TH_GHCB(0));
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_GHCB_NOT_REGISTERED);
	th_register(t, 1, TH_GHCB(1));
	x = th_nae_simple(t, 1, SVM_VMGEXIT_HV_FEATURES, 0, 0);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(th_info2(t, 1), t->cfg.features);
}

/* Registering again moves the GHCB: the old GPA is no longer served. */
static void register_ghcb_again_moves_it(void **state)
{
	th_t *t = *state;
	th_register(t, 0, TH_GHCB(0));
	th_register(t, 0, TH_GHCB(2));
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.ghcb_gpa, TH_GHCB(2));
	hv_exit_t x = th_nae_simple(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_GHCB_NOT_REGISTERED);
}

/*
 * A "misaligned GHCB GPA" cannot be registered (the request carries a GFN), and
 * in the MSR it is not a GPA at all: bits 11:0 ≠ 0 make it an MSR-protocol
 * request (facts §3.1). GHCB + 0x10 is the preferred-GPA request; GHCB + 0x8 an
 * unknown code, answered by leaving the MSR as it is. Neither touches the GHCB.
 */
static void register_ghcb_misaligned_use(void **state)
{
	th_t *t = *state;
	uint64_t g = TH_GHCB(0);
	th_register(t, 0, g);
	th_ghcb_reset(t, g);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO2, 0);
	uint8_t before[4096];
	memcpy(before, th_page(t, g), sizeof(before));

	hv_exit_t x = th_msr(t, 0, g | 0x010);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(CODE(x.ghcb_msr), 0x011);
	x = th_msr(t, 0, g | 0x008);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(x.ghcb_msr, g | 0x008);
	assert_memory_equal(th_page(t, g), before, sizeof(before));
	assert_int_equal(th_count(t, HV_EV_VMGEXIT), 0);
	/* the registration survives */
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.ghcb_gpa, g);
}

typedef struct reg_bad_row {
	const char *file;
	int line;
	uint64_t gpa;
} reg_bad_row_t;

static const reg_bad_row_t reg_bad_rows[] = {
	{ROW_HERE, .gpa = TH_MMIO},                /* MMIO */
	{ROW_HERE, .gpa = TH_HOLE},                /* unmapped hole */
	{ROW_HERE, .gpa = TH_RMP_LIMIT + 0x1000},  /* beyond all memory */
	{ROW_HERE, .gpa = 1ull << 44},             /* GFN bits above 32: must not be truncated */
	{ROW_HERE, .gpa = (1ull << 44) | TH_GHCB(0)}, /* ... to a page that is RAM */
};

/*
 * A GFN that is not guest RAM: the answer is the echo (KVM) or a failure value
 * (≠ the requested GFN, facts §3.2); either way the GHCB at that GPA is never
 * served: the guest is stopped and nothing is written at that SPA.
 */
static void register_ghcb_not_ram(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(reg_bad_rows); i++) {
		const reg_bad_row_t *r = &reg_bad_rows[i];
		th_t *t = th_new();
		uint64_t gfn = TH_GFN(r->gpa);
		hv_exit_t x = th_msr(t, 0, ghcb_msr_gfn_val(gfn, GHCB_MSR_REG_GPA_REQ));
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, CODE(x.ghcb_msr), 0x013);
		/*
		 * A valid request in the page at that GPA and in the page a 44-bit
		 * truncation of it would name: neither may be answered.
		 */
		uint64_t low = r->gpa & ((1ull << 44) - 1);
		uint64_t pages[2] = {r->gpa, low};
		uint8_t before[2][4096];
		for (size_t k = 0; k < 2; k++) {
			th_ghcb_reset(t, pages[k]);
			th_ghcb_set(t, pages[k], GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
			th_ghcb_set(t, pages[k], GHCB_OFF_SW_EXITINFO1, 0);
			th_ghcb_set(t, pages[k], GHCB_OFF_SW_EXITINFO2, 0);
		}
		for (size_t k = 0; k < 2; k++)
			memcpy(before[k], th_page(t, pages[k]), sizeof(before[k]));
		x = hv_vmgexit(t->hv, 0, r->gpa);
		ROW_EQ(r, x.action, HV_STOPPED);
		for (size_t k = 0; k < 2; k++)
			ROW_TRUE(r, !memcmp(before[k], th_page(t, pages[k]), sizeof(before[k])));
		ROW_EQ(r, th_count(t, HV_EV_VMGEXIT), 0);
		th_free(t);
	}
}

/* ------------------------------------------------------------------ MSR PSC (0x014) */

typedef enum pre {
	PRE_SHARED = 0,
	PRE_PRIV,       /* assigned, not validated */
	PRE_PRIV_VAL,   /* assigned and validated */
	PRE_PRIV2M_VAL, /* inside a validated 2M private entry */
} pre_t;

typedef struct psc_row {
	const char *file;
	int line;
	pre_t pre;
	uint64_t gpa; /* the page set up (and asked for, unless gfn is set) */
	uint64_t gfn; /* nonzero: the GFN in the request, else gpa's */
	uint32_t op;
	uint64_t rsvd; /* bits 63:56 of the request: leave them out of good rows */
	bool ok;
	bool assigned, validated; /* the page at gpa afterwards */
} psc_row_t;

#define W(n) (TH_WORK + (uint64_t)(n)*K4)
static const psc_row_t psc_rows[] = {
	/* facts §6.7 / §6.5 step 4: private = RMPUPDATE assigned (Validated 0), shared = HV-owned */
	{ROW_HERE, PRE_SHARED, W(1), 0, SNP_PAGE_STATE_PRIVATE, .ok = true, .assigned = true},
	{ROW_HERE, PRE_PRIV, W(2), 0, SNP_PAGE_STATE_SHARED, .ok = true},
	{ROW_HERE, PRE_PRIV_VAL, W(3), 0, SNP_PAGE_STATE_SHARED, .ok = true},
	{ROW_HERE, PRE_SHARED, W(4), 0, SNP_PAGE_STATE_SHARED, .ok = true},
	/* already private and assigned: untouched, Validated stays (what exposes double validation) */
	{ROW_HERE, PRE_PRIV_VAL, W(5), 0, SNP_PAGE_STATE_PRIVATE, .ok = true, .assigned = true,
	 .validated = true},
	{ROW_HERE, PRE_PRIV, W(6), 0, SNP_PAGE_STATE_PRIVATE, .ok = true, .assigned = true},
	/* a page inside a 2M entry: shared affects only that page (PSMASH keeps the others) */
	{ROW_HERE, PRE_PRIV2M_VAL, TH_WORK + M2 + 5 * K4, 0, SNP_PAGE_STATE_SHARED, .ok = true},
	/* RAM 1 */
	{ROW_HERE, PRE_SHARED, TH_RAM1 + 9 * K4, 0, SNP_PAGE_STATE_PRIVATE, .ok = true,
	 .assigned = true},
	/* operations other than 1 and 2: PSMASH/UNSMASH are not allowed here, 0/5-15 invalid */
	{ROW_HERE, PRE_SHARED, W(7), 0, 0, .ok = false},
	{ROW_HERE, PRE_SHARED, W(7), 0, SNP_PAGE_STATE_PSMASH, .ok = false},
	{ROW_HERE, PRE_SHARED, W(7), 0, SNP_PAGE_STATE_UNSMASH, .ok = false},
	{ROW_HERE, PRE_SHARED, W(7), 0, 5, .ok = false},
	{ROW_HERE, PRE_SHARED, W(7), 0, 15, .ok = false},
	{ROW_HERE, PRE_PRIV_VAL, W(8), 0, SNP_PAGE_STATE_PSMASH, .ok = false, .assigned = true,
	 .validated = true},
	{ROW_HERE, PRE_PRIV_VAL, W(8), 0, 0, .ok = false, .assigned = true, .validated = true},
	/* a GFN that is not guest RAM: MMIO, a hole, beyond the RMP, beyond 32 bits */
	{ROW_HERE, PRE_SHARED, W(9), TH_GFN(TH_MMIO), SNP_PAGE_STATE_PRIVATE, .ok = false},
	{ROW_HERE, PRE_SHARED, W(9), TH_GFN(TH_HOLE), SNP_PAGE_STATE_PRIVATE, .ok = false},
	{ROW_HERE, PRE_SHARED, W(9), TH_GFN(TH_RMP_LIMIT), SNP_PAGE_STATE_PRIVATE, .ok = false},
	{ROW_HERE, PRE_SHARED, W(9), (1ull << 39) | TH_GFN(W(9)), SNP_PAGE_STATE_PRIVATE,
	 .ok = false},
	/* the 40-bit GFN is widened before the shift: W(10) + 1 TiB must not land on W(10) */
	{ROW_HERE, PRE_PRIV_VAL, W(10), (1ull << 28) | TH_GFN(W(10)), SNP_PAGE_STATE_SHARED,
	 .ok = false, .assigned = true, .validated = true},
};

/* 0x015: [63:32] error (0 = success), [31:12] reserved; the RMP as the operation says. */
static void msr_psc_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(psc_rows); i++) {
		const psc_row_t *r = &psc_rows[i];
		th_t *t = th_new();
		switch (r->pre) {
		case PRE_SHARED: break;
		case PRE_PRIV: th_private(t, r->gpa, false); break;
		case PRE_PRIV_VAL: th_private(t, r->gpa, true); break;
		case PRE_PRIV2M_VAL: th_private_2m(t, r->gpa & ~(M2 - 1), true); break;
		}
		uint64_t gfn = r->gfn ? r->gfn : TH_GFN(r->gpa);
		uint64_t req = ghcb_msr_psc_req(gfn, r->op) | (r->rsvd << 56);
		hv_exit_t x = th_msr(t, 0, req);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, CODE(x.ghcb_msr), 0x015);
		if (r->ok) {
			ROW_EQ(r, x.ghcb_msr >> 32, 0);
			ROW_EQ(r, (x.ghcb_msr >> 12) & 0xFFFFF, 0);
		} else {
			ROW_NE(r, x.ghcb_msr >> 32, 0);
		}
		th_expect_page(t, r->gpa, r->assigned, r->validated, r->file, r->line);
		if (r->assigned) {
			rmp_entry_t e = th_rmp(t, r->gpa);
			ROW_EQ(r, e.asid, TH_ASID);
			ROW_EQ(r, e.gpa, r->gpa);
		}
		if (r->pre == PRE_PRIV2M_VAL) {
			/* the rest of the 2M region is still the guest's and validated */
			uint64_t base = r->gpa & ~(M2 - 1);
			for (uint64_t p = base; p < base + M2; p += K4)
				if (p != r->gpa)
					th_expect_page(t, p, true, true, r->file, r->line);
		}
		/* one HV_EV_PSC_ENTRY for the request, naming it */
		const hv_event_t *e = th_event(t, HV_EV_PSC_ENTRY, 0);
		ROW_TRUE(r, e != NULL);
		ROW_EQ(r, th_count(t, HV_EV_PSC_ENTRY), 1);
		ROW_EQ(r, e->gfn, gfn);
		ROW_EQ(r, e->npages, 1);
		ROW_EQ(r, e->op, r->op);
		ROW_EQ(r, e->psc_status != 0, !r->ok);
		th_free(t);
	}
}

/* Nothing else moves: a conversion of one page leaves its neighbours as they were. */
static void msr_psc_touches_one_page(void **state)
{
	th_t *t = *state;
	th_private(t, W(20), true);
	th_private(t, W(22), true);
	hv_exit_t x = th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(W(21)), SNP_PAGE_STATE_PRIVATE));
	assert_int_equal(x.ghcb_msr >> 32, 0);
	TH_EXPECT_PAGE(t, W(20), true, true);
	TH_EXPECT_PAGE(t, W(21), true, false);
	TH_EXPECT_PAGE(t, W(22), true, true);
	x = th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(W(21)), SNP_PAGE_STATE_SHARED));
	assert_int_equal(x.ghcb_msr >> 32, 0);
	TH_EXPECT_PAGE(t, W(20), true, true);
	TH_EXPECT_PAGE(t, W(21), false, false);
	TH_EXPECT_PAGE(t, W(22), true, true);
	/* the guest's PVALIDATE after "private" succeeds and changes the page (CF = 0) */
	x = th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(W(21)), SNP_PAGE_STATE_PRIVATE));
	rmp_result_t pv = th_pvalidate(t, W(21));
	assert_true(rmp_ok(pv));
	assert_int_equal(pv.cf, 0);
}

/* ------------------------------------------------------------------ hypervisor features (0x080) */

typedef struct ft_row {
	const char *file;
	int line;
	uint64_t features;
} ft_row_t;

static const ft_row_t ft_rows[] = {
	{ROW_HERE, .features = 0},
	{ROW_HERE, .features = GHCB_HV_FT_SNP},
	{ROW_HERE, .features = GHCB_HV_FT_SNP | GHCB_HV_FT_SNP_AP_CREATION},
	{ROW_HERE, .features = 0x3F},
	{ROW_HERE, .features = 0xFFFFFFFFFFFFFull}, /* all 52 bits of [63:12] */
};

/* 0x081 with [63:12] = the bitmap of §3.3; the default is KVM's 0x3. */
static void hv_features(void **state)
{
	(void)state;
	th_t *d = th_new();
	hv_exit_t x = th_msr(d, 0, GHCB_MSR_HV_FT_REQ);
	assert_int_equal(x.ghcb_msr, (0x3ull << 12) | 0x081);
	th_free(d);
	for (size_t i = 0; i < G_N_ELEMENTS(ft_rows); i++) {
		const ft_row_t *r = &ft_rows[i];
		th_t *t = th_alloc();
		t->cfg.features = r->features;
		th_start(t);
		x = th_msr(t, 0, GHCB_MSR_HV_FT_REQ);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, CODE(x.ghcb_msr), 0x081);
		ROW_EQ(r, DATA(x.ghcb_msr), r->features);
		th_free(t);
	}
}

/* ------------------------------------------------------------------ termination (0x100) */

typedef struct term_row {
	const char *file;
	int line;
	uint32_t set, code;
	uint64_t rsvd; /* bits 63:24 of the request */
} term_row_t;

static const term_row_t term_rows[] = {
	{ROW_HERE, 0, 0, 0},  {ROW_HERE, 0, 1, 0},  {ROW_HERE, 0, 2, 0},   {ROW_HERE, 1, 0, 0},
	{ROW_HERE, 1, 1, 0},  {ROW_HERE, 1, 2, 0},  {ROW_HERE, 1, 3, 0},   {ROW_HERE, 1, 4, 0},
	{ROW_HERE, 1, 6, 0},  {ROW_HERE, 1, 12, 0}, {ROW_HERE, 15, 255, 0}, {ROW_HERE, 3, 0x5A, 0},
	/* reserved bits 63:24 do not leak into set or code */
	{ROW_HERE, 1, 1, 0xFFFFFFFFFFull}, {ROW_HERE, 0, 0, 0x1ull},
};

/* [15:12] reason set, [23:16] reason code (facts §3.2, §3.4); the guest is gone. */
static void termination_decoding(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(term_rows); i++) {
		const term_row_t *r = &term_rows[i];
		th_t *t = th_new();
		uint64_t req = ((uint64_t)r->code << 16) | ((uint64_t)r->set << 12) | 0x100 |
			       (r->rsvd << 24);
		ROW_EQ(r, ghcb_msr_term_req(r->set, r->code) | (r->rsvd << 24), req);
		hv_exit_t x = th_msr(t, 0, req);
		ROW_EQ(r, x.action, HV_TERMINATED);
		ROW_EQ(r, x.term_set, r->set);
		ROW_EQ(r, x.term_code, r->code);
		ROW_EQ(r, th_count(t, HV_EV_TERMINATE), 1);
		const hv_event_t *e = th_event(t, HV_EV_TERMINATE, 0);
		ROW_EQ(r, e->set, r->set);
		ROW_EQ(r, e->code, r->code);
		ROW_EQ(r, e->vcpu, 0);
		th_free(t);
	}
}

/* An AP's termination is recorded as that vCPU's. */
static void termination_from_ap(void **state)
{
	th_t *t = *state;
	assert_true(hv_vcpu_wake(t->hv, 2));
	hv_exit_t x = th_msr(t, 2, ghcb_msr_term_req(1, 2));
	assert_int_equal(x.action, HV_TERMINATED);
	assert_int_equal(th_event(t, HV_EV_TERMINATE, 0)->vcpu, 2);
}

/* ------------------------------------------------------------------ unknown codes */

typedef struct unk_row {
	const char *file;
	int line;
	uint64_t req;
} unk_row_t;

static const unk_row_t unk_rows[] = {
	{ROW_HERE, 0x003}, {ROW_HERE, 0x008},        {ROW_HERE, 0x00F},
	{ROW_HERE, 0x001}, /* a response code sent as a request */
	{ROW_HERE, 0x005}, {ROW_HERE, 0x013},        {ROW_HERE, 0x015},
	{ROW_HERE, 0x081}, {ROW_HERE, 0x0FF},        {ROW_HERE, 0x101},
	{ROW_HERE, 0xFFF}, {ROW_HERE, 0x1234567FFF}, {ROW_HERE, 0xFFFFFFFFFFFFF018ull},
};

/*
 * An unrecognised request (facts §3.2, last paragraph): KVM leaves the MSR as
 * it is, so the guest reads its own request code back; KVM may instead stop the
 * VM. Either way no response code, no RMP change, no termination.
 */
static void unknown_code(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(unk_rows); i++) {
		const unk_row_t *r = &unk_rows[i];
		th_t *t = th_new();
		hv_exit_t x = th_msr(t, 0, r->req);
		ROW_TRUE(r, x.action == HV_RESUME || x.action == HV_STOPPED);
		if (x.action == HV_RESUME)
			ROW_EQ(r, x.ghcb_msr, r->req);
		else
			ROW_EQ(r, x.stop, HV_STOP_BAD_MSR_REQUEST);
		ROW_EQ(r, th_count(t, HV_EV_TERMINATE), 0);
		ROW_EQ(r, th_count(t, HV_EV_RMPUPDATE), 0);
		th_free(t);
	}
}

/* A VMGEXIT from a vCPU that does not exist stops the guest (hv.h). */
static void msr_from_missing_vcpu(void **state)
{
	th_t *t = *state;
	hv_exit_t x = th_msr(t, 4, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_NO_VCPU);
	x = th_msr(t, UINT32_MAX, GHCB_MSR_SEV_INFO_REQ);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_NO_VCPU);
	assert_int_equal(th_count(t, HV_EV_STOP), 2);
}

/* hv_new refuses configurations that would make the answers above meaningless. */
static void config_refused(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		uint32_t asid, vcpus;
		uint16_t min, max;
		uint8_t cbit;
	} bad[] = {
		{"asid 0", 0, 1, 1, 2, 51},         {"asid 1024", 1024, 1, 1, 2, 51},
		{"no vcpus", 1, 0, 1, 2, 51},       {"min 0", 1, 1, 0, 2, 51},
		{"min > max", 1, 1, 2, 1, 51},      {"cbit 64", 1, 1, 1, 2, 64},
		{"too many vcpus", 1, HV_MAX_VCPUS + 1, 1, 2, 51},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		th_t *t = th_alloc();
		t->rmp = rmp_new(TH_RMP_LIMIT);
		t->cfg.asid = bad[i].asid;
		t->cfg.max_vcpus = bad[i].vcpus;
		t->cfg.proto_min = bad[i].min;
		t->cfg.proto_max = bad[i].max;
		t->cfg.cbit = bad[i].cbit;
		const char *err = NULL;
		hv_t *hv = hv_new(t->rmp, &t->cfg, &err);
		if (hv)
			fail_msg("hv_new accepted %s", bad[i].what);
		assert_non_null(err);
		th_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sev_info_layout),
		cmocka_unit_test_setup_teardown(sev_info_ignores_request_data, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(msr_event_records_request_and_response, th_setup,
						th_teardown),
		cmocka_unit_test_setup_teardown(cpuid_request, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(cpuid_register_helper_matches_layout, th_setup,
						th_teardown),
		cmocka_unit_test_setup_teardown(cpuid_unknown_leaf, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(ap_reset_hold_and_wake, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(ap_wake_refused_unless_held, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(ap_reset_hold_bsp, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(preferred_ghcb_gpa, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(register_ghcb_good, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(register_ghcb_per_vcpu, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(register_ghcb_again_moves_it, th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(register_ghcb_misaligned_use, th_setup, th_teardown),
		cmocka_unit_test(register_ghcb_not_ram),
		cmocka_unit_test(msr_psc_table),
		cmocka_unit_test_setup_teardown(msr_psc_touches_one_page, th_setup, th_teardown),
		cmocka_unit_test(hv_features),
		cmocka_unit_test(termination_decoding),
		cmocka_unit_test_setup_teardown(termination_from_ap, th_setup, th_teardown),
		cmocka_unit_test(unknown_code),
		cmocka_unit_test_setup_teardown(msr_from_missing_vcpu, th_setup, th_teardown),
		cmocka_unit_test(config_refused),
	};
	return cmocka_run_group_tests_name("hv_msr", tests, NULL, NULL);
}
