/* SPDX-License-Identifier: MIT */
/*
 * The nested page table and the hypervisor's side of RMP #NPFs (facts §2.2,
 * §2.5, §12): identity mapping by kind of range, remapping, 2M mappings where
 * the RMP entry is 2M, and hv_handle_npf: PSMASH on SIZEM and retry, implicit
 * conversion only when configured, stop for anything the HV cannot fix.
 * Error codes are produced by the RMP model itself, as the machine would.
 */
#include "hv_harness.h"

#define R2(n) (TH_WORK + (uint64_t)(n)*M2)

static void npt_kinds(void **state)
{
	th_t *t = *state;
	static const struct {
		uint64_t gpa;
		hv_npt_kind_t kind;
	} rows[] = {
		{TH_RAM0, HV_NPT_RAM},
		{TH_RAM0 + TH_RAM0_SIZE - 1, HV_NPT_RAM},
		{TH_MMIO, HV_NPT_MMIO},
		{TH_MMIO + TH_MMIO_SIZE - 1, HV_NPT_MMIO},
		{TH_MMIO + TH_MMIO_SIZE, HV_NPT_UNMAPPED},
		{TH_HOLE, HV_NPT_UNMAPPED},
		{TH_RAM1 + 0x1234, HV_NPT_RAM},
		{TH_ROM + 0x10, HV_NPT_ROM},
		{TH_SPARE, HV_NPT_UNMAPPED}, /* the spare pool is not guest memory */
		{1ull << 51, HV_NPT_UNMAPPED},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		hv_npt_map_t m = hv_npt_translate(t->hv, rows[i].gpa);
		if (m.kind != rows[i].kind)
			fail_msg("gpa 0x%llx: kind %d, want %d", (unsigned long long)rows[i].gpa,
				 m.kind, rows[i].kind);
		if (m.kind == HV_NPT_RAM || m.kind == HV_NPT_ROM)
			assert_int_equal(m.spa, rows[i].gpa & ~(K4 - 1)); /* identity */
	}
}

/* KVM maps 2M where the RMP entry is 2M: a 4K NPT entry over a 2M RMP entry would SIZEM. */
static void npt_level_follows_rmp(void **state)
{
	th_t *t = *state;
	assert_false(hv_npt_translate(t->hv, R2(1) + 5 * K4).level_2m);
	th_private_2m(t, R2(1), true);
	assert_true(hv_npt_translate(t->hv, R2(1) + 5 * K4).level_2m);
	th_private(t, R2(2) + K4, true);
	assert_false(hv_npt_translate(t->hv, R2(2) + K4).level_2m);
}

static void npt_remap(void **state)
{
	th_t *t = *state;
	uint64_t gfn = TH_GFN(R2(1) + 3 * K4);
	th_private_2m(t, R2(1), true);
	assert_true(hv_npt_remap(t->hv, gfn, TH_SPARE + K4));
	hv_npt_map_t m = hv_npt_translate(t->hv, R2(1) + 3 * K4 + 0x10);
	assert_int_equal(m.kind, HV_NPT_RAM);
	assert_int_equal(m.spa, TH_SPARE + K4);
	assert_false(m.level_2m); /* a remapped page is mapped 4K, and so is its region */
	assert_false(hv_npt_translate(t->hv, R2(1)).level_2m);
	assert_int_equal(hv_npt_translate(t->hv, R2(1) + 4 * K4).spa, R2(1) + 4 * K4);
	assert_int_equal(th_count(t, HV_EV_NPT_REMAP), 1);
	const hv_event_t *e = th_event(t, HV_EV_NPT_REMAP, 0);
	assert_int_equal(e->gfn, gfn);
	assert_int_equal(e->spa, TH_SPARE + K4);
	assert_int_equal(e->info1, R2(1) + 3 * K4);
	/* back to identity: the 2M mapping returns */
	assert_true(hv_npt_remap(t->hv, gfn, R2(1) + 3 * K4));
	assert_int_equal(hv_npt_translate(t->hv, R2(1) + 3 * K4).spa, R2(1) + 3 * K4);
	assert_true(hv_npt_translate(t->hv, R2(1)).level_2m);
	/* refused: not RAM, a misaligned SPA, an SPA beyond the RMP */
	assert_false(hv_npt_remap(t->hv, TH_GFN(TH_MMIO), TH_SPARE));
	assert_false(hv_npt_remap(t->hv, TH_GFN(TH_HOLE), TH_SPARE));
	assert_false(hv_npt_remap(t->hv, TH_GFN(TH_ROM), TH_SPARE));
	assert_false(hv_npt_remap(t->hv, gfn, TH_SPARE + 8));
	assert_false(hv_npt_remap(t->hv, gfn, TH_RMP_LIMIT));
	assert_false(hv_npt_remap(t->hv, UINT64_MAX >> 12, TH_SPARE));
	assert_int_equal(th_count(t, HV_EV_NPT_REMAP), 2);
}

/*
 * A 4K PVALIDATE inside a 2M entry takes #NPF with RMP + SIZEM (facts §2.2): the
 * HV PSMASHes and the guest retries, now finding the page (Validated kept by
 * PSMASH, so CF = 1 on a validated entry).
 */
static void npf_sizem_psmash_and_retry(void **state)
{
	th_t *t = *state;
	th_private_2m(t, R2(1), true);
	uint64_t gpa = R2(1) + 7 * K4;
	rmp_result_t r = rmp_pvalidate(t->rmp, TH_ASID, 0, gpa, gpa, false, false);
	assert_int_equal(r.fault, RMP_FAULT_NPF);
	assert_true(r.error_code & PFERR_GUEST_SIZEM);
	uint64_t code = r.error_code;
	assert_int_equal(hv_handle_npf(t->hv, 0, gpa, code), HV_NPF_RETRY);
	assert_false(th_rmp(t, R2(1)).page_2m);
	for (uint64_t i = 0; i < 512; i += 51)
		TH_EXPECT_PAGE(t, R2(1) + i * K4, true, true);
	r = rmp_pvalidate(t->rmp, TH_ASID, 0, gpa, gpa, false, false); /* the retry: rescind */
	assert_true(rmp_ok(r));
	assert_int_equal(r.cf, 0);
	TH_EXPECT_PAGE(t, gpa, true, false);
	assert_int_equal(th_count(t, HV_EV_PSMASH), 1);
	const hv_event_t *e = th_event(t, HV_EV_NPF, 0);
	assert_non_null(e);
	assert_int_equal(e->gpa, gpa);
	assert_int_equal(e->info1, code);
	assert_int_equal(e->op, HV_NPF_RETRY);
}

/* A private access to a shared page: stop by default, convert with implicit_conversion. */
static void npf_private_access_to_shared(void **state)
{
	(void)state;
	for (int implicit = 0; implicit < 2; implicit++) {
		th_t *t = th_alloc();
		t->cfg.implicit_conversion = implicit;
		th_start(t);
		uint64_t gpa = TH_WORK + 9 * K4;
		rmp_result_t r = rmp_check_access(t->rmp, TH_ASID, 0, gpa, gpa, false,
						  RMP_ACCESS_WRITE, true);
		assert_int_equal(r.fault, RMP_FAULT_NPF);
		assert_true(r.error_code & PFERR_GUEST_ENC);
		hv_npf_action_t a = hv_handle_npf(t->hv, 0, gpa, r.error_code);
		if (!implicit) {
			assert_int_equal(a, HV_NPF_STOP);
			TH_EXPECT_PAGE(t, gpa, false, false);
			assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
		} else {
			/* converted, not validated: the retried access takes #VC 0x404 (facts §2.5) */
			assert_int_equal(a, HV_NPF_RETRY);
			TH_EXPECT_PAGE(t, gpa, true, false);
			r = rmp_check_access(t->rmp, TH_ASID, 0, gpa, gpa, false, RMP_ACCESS_WRITE,
					     true);
			assert_int_equal(r.fault, RMP_FAULT_VC);
			assert_int_equal(r.error_code, SVM_EXIT_VMPL_NOT_VALIDATED);
		}
		assert_int_equal(th_event(t, HV_EV_NPF, 0)->op, a);
		th_free(t);
	}
}

/* What the HV cannot fix stops the guest: another owner, a wrong GPA, no memory at all. */
static void npf_unfixable_stops(void **state)
{
	(void)state;
	th_t *t = th_alloc();
	t->cfg.implicit_conversion = true;
	th_start(t);
	uint64_t other = TH_WORK + 3 * K4;
	rmp_state_t st = {.gpa = other, .asid = TH_ASID + 1, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(t->rmp, 0, other, &st)));
	rmp_result_t r = rmp_check_access(t->rmp, TH_ASID, 0, other, other, false, RMP_ACCESS_READ,
					  true);
	assert_int_equal(r.fault, RMP_FAULT_NPF);
	assert_int_equal(hv_handle_npf(t->hv, 0, other, r.error_code), HV_NPF_STOP);
	assert_int_equal(th_rmp(t, other).asid, TH_ASID + 1);
	/* the guest's page at another GPA (a remap attack): not the HV's to fix */
	uint64_t mine = TH_WORK + 4 * K4;
	st = (rmp_state_t){.gpa = mine + K4, .asid = TH_ASID, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(t->rmp, 0, mine, &st)));
	r = rmp_check_access(t->rmp, TH_ASID, 0, mine, mine, false, RMP_ACCESS_READ, true);
	assert_int_equal(r.fault, RMP_FAULT_NPF);
	assert_int_equal(hv_handle_npf(t->hv, 0, mine, r.error_code), HV_NPF_STOP);
	assert_int_equal(th_rmp(t, mine).gpa, mine + K4);
	/* not guest memory, or an NPF without RMP bits */
	assert_int_equal(hv_handle_npf(t->hv, 0, TH_HOLE, PFERR_RMP | PFERR_GUEST_ENC), HV_NPF_STOP);
	assert_int_equal(hv_handle_npf(t->hv, 0, TH_MMIO, PFERR_RMP | PFERR_GUEST_ENC), HV_NPF_STOP);
	assert_int_equal(hv_handle_npf(t->hv, 0, TH_WORK, PFERR_PRESENT | PFERR_WRITE), HV_NPF_STOP);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
	th_free(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)
	const struct CMUnitTest tests[] = {
		T(npt_kinds),
		T(npt_level_follows_rmp),
		T(npt_remap),
		T(npf_sizem_psmash_and_retry),
		cmocka_unit_test(npf_private_access_to_shared),
		cmocka_unit_test(npf_unfixable_stops),
	};
#undef T
	return cmocka_run_group_tests_name("hv_npt", tests, NULL, NULL);
}
