/* SPDX-License-Identifier: MIT */
/*
 * The fault plan (hv.h, issue 3 "Fault plan"): each HV_ACT_* takes effect
 * exactly at its trigger (the right kind, the nth occurrence, inside the GFN
 * filter) and nowhere else; max_fires and seeded probabilities; refused plans.
 *
 * The shape of every test: a run of occurrences of the same request, the fault
 * aimed at one of them, and for each occurrence either the faulty answer or
 * the honest one the facts sheet prescribes (§3, §6), plus hv_fault_fired and
 * the HV_EV_FAULT events.
 */
#include "hv_harness.h"

#include <string.h>

#define G0 TH_GHCB(0)
#define SB GHCB_OFF_SHARED_BUFFER
#define PRIV SNP_PAGE_STATE_PRIVATE
#define SHRD SNP_PAGE_STATE_SHARED
#define W(n) (TH_WORK + (uint64_t)(n)*K4)
#define R2(n) (TH_WORK + (uint64_t)(n)*M2)
#define CODE(v) ((uint32_t)((v)&GHCB_MSR_INFO_MASK))
#define DATA(v) ((uint64_t)(v) >> GHCB_DATA_SHIFT)

/* A harness with vCPU 0's GHCB registered and the plan installed. */
static th_t *with_plan(const hv_fault_t *f, size_t n)
{
	th_t *t = th_new();
	th_register(t, 0, G0);
	assert_true(hv_set_fault_plan(t->hv, f, n, 42));
	return t;
}

static th_t *with_fault(hv_fault_t f)
{
	return with_plan(&f, 1);
}

/* How often fault 0 fired, by the counter and by the HV_EV_FAULT events. */
static void expect_fired(const th_t *t, uint32_t n)
{
	assert_int_equal(hv_fault_fired(t->hv, 0), n);
	assert_int_equal(th_count(t, HV_EV_FAULT), n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(th_event(t, HV_EV_FAULT, i)->fault, 0);
}

static uint64_t msr_psc(th_t *t, uint64_t gpa, uint32_t op)
{
	hv_exit_t x = th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(gpa), op));
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(CODE(x.ghcb_msr), 0x015);
	return x.ghcb_msr;
}

static hv_exit_t psc1(th_t *t, uint64_t gpa, uint32_t op, bool two_m)
{
	uint64_t e = psc_entry(TH_GFN(gpa), op, two_m, 0);
	return th_psc(t, 0, 0, 0, &e, 1);
}

static hv_exit_t hv_ft_nae(th_t *t)
{
	return th_nae_simple(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
}

/* ------------------------------------------------------------------ FAIL */

/* MSR PSC: the nth request fails with arg in [63:32] and converts nothing. */
static void fail_msr_psc_at_nth(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_MSR_PSC, .nth = 2, .action = HV_ACT_FAIL, .arg = 0x77});
	for (uint32_t i = 1; i <= 3; i++) {
		/* other MSR requests between them are not MSR PSC occurrences */
		assert_int_equal(CODE(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr), 0x001);
		uint64_t resp = msr_psc(t, W(i), PRIV);
		if (i == 2) {
			assert_int_equal(resp >> 32, 0x77);
			TH_EXPECT_PAGE(t, W(i), false, false);
		} else {
			assert_int_equal(resp >> 32, 0);
			TH_EXPECT_PAGE(t, W(i), true, false);
		}
	}
	expect_fired(t, 1);
	assert_int_equal(th_event(t, HV_EV_FAULT, 0)->op, HV_ACT_FAIL);
	/* a GHCB PSC is another trigger: not failed */
	psc1(t, W(9), PRIV, false);
	assert_int_equal(th_info2(t, 0), 0);
	TH_EXPECT_PAGE(t, W(9), true, false);
	expect_fired(t, 1);
	th_free(t);
}

/* GHCB PSC: SW_EXITINFO2 = arg, no entry processed, cur_entry unchanged. */
static void fail_ghcb_psc_at_nth(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 2, .action = HV_ACT_FAIL, .arg = 0x1234});
	for (uint32_t i = 1; i <= 3; i++) {
		psc1(t, W(i), PRIV, false);
		assert_int_equal(th_info1(t, 0), 0);
		if (i == 2) {
			assert_int_equal(th_info2(t, 0), 0x1234);
			assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 0);
			TH_EXPECT_PAGE(t, W(i), false, false);
		} else {
			assert_int_equal(th_info2(t, 0), 0);
			assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 1);
			TH_EXPECT_PAGE(t, W(i), true, false);
		}
	}
	/* an MSR PSC is another trigger */
	assert_int_equal(msr_psc(t, W(9), PRIV) >> 32, 0);
	expect_fired(t, 1);
	th_free(t);

	/* arg 0: a nonzero status all the same (fault.c: KVM's generic error) */
	t = with_fault((hv_fault_t){.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_FAIL});
	psc1(t, W(1), PRIV, false);
	assert_int_not_equal(th_info2(t, 0), 0);
	TH_EXPECT_PAGE(t, W(1), false, false);
	th_free(t);
}

/* Register GHCB GPA: the answer is not the requested GFN (facts §3.2), nothing is registered. */
static void fail_ghcb_register(void **state)
{
	(void)state;
	th_t *t = th_new();
	assert_true(hv_set_fault_plan(
		t->hv,
		&(hv_fault_t){.trigger = HV_TRIG_GHCB_REGISTER, .nth = 1, .action = HV_ACT_FAIL}, 1,
		1));
	hv_exit_t x = th_msr(t, 0, ghcb_msr_gfn_val(TH_GFN(G0), GHCB_MSR_REG_GPA_REQ));
	assert_int_equal(x.action, HV_RESUME);
	assert_int_not_equal(x.ghcb_msr, ghcb_msr_gfn_val(TH_GFN(G0), GHCB_MSR_REG_GPA_RESP));
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.ghcb_gpa, 0);
	assert_int_equal(hv_ft_nae(t).action, HV_STOPPED);
	/* the second registration is honest */
	th_register(t, 0, G0);
	assert_int_equal(hv_ft_nae(t).action, HV_RESUME);
	assert_int_equal(th_info2(t, 0), t->cfg.features);
	expect_fired(t, 1);
	th_free(t);
}

/* NAE with an exit-code filter: only that event fails (SW_EXITINFO1 = 2, SW_EXITINFO2 = arg). */
static void fail_nae_exit_code_filter(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_NAE,
					  .exit_code = SVM_EXIT_CPUID,
					  .action = HV_ACT_FAIL,
					  .arg = GHCB_ERR_INVALID_INPUT});
	for (int i = 0; i < 2; i++) {
		assert_int_equal(hv_ft_nae(t).action, HV_RESUME);
		assert_int_equal(th_info1(t, 0), 0);
		assert_int_equal(th_info2(t, 0), t->cfg.features);
		th_ghcb_reset(t, G0);
		th_ghcb_set(t, G0, GHCB_OFF_RAX, 0);
		th_ghcb_set(t, G0, GHCB_OFF_RCX, 0);
		th_nae(t, 0, SVM_EXIT_CPUID, 0, 0);
		assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		assert_int_equal(th_info2(t, 0), GHCB_ERR_INVALID_INPUT);
	}
	/* the MSR-protocol CPUID request is not an NAE event */
	assert_int_equal(CODE(th_msr(t, 0, ghcb_msr_cpuid_req(0, 0)).ghcb_msr), 0x005);
	expect_fired(t, 2);
	th_free(t);
}

/* ------------------------------------------------------------------ IGNORE */

/* MSR PSC: success reported, no RMPUPDATE (the guest's PVALIDATE will find out). */
static void ignore_msr_psc(void **state)
{
	(void)state;
	th_t *t = with_fault(
		(hv_fault_t){.trigger = HV_TRIG_MSR_PSC, .nth = 2, .action = HV_ACT_IGNORE});
	for (uint32_t i = 1; i <= 3; i++) {
		size_t upd = th_count(t, HV_EV_RMPUPDATE);
		assert_int_equal(msr_psc(t, W(i), PRIV) >> 32, 0);
		TH_EXPECT_PAGE(t, W(i), i != 2, false);
		assert_int_equal(th_count(t, HV_EV_RMPUPDATE), upd + (i != 2));
	}
	expect_fired(t, 1);
	th_free(t);
}

/* GHCB PSC: every entry reported complete, nothing converted. */
static void ignore_ghcb_psc(void **state)
{
	(void)state;
	th_t *t = with_fault(
		(hv_fault_t){.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_IGNORE});
	uint64_t ent[] = {psc_entry(TH_GFN(W(1)), PRIV, 0, 0), psc_entry(TH_GFN(R2(1)), PRIV, 1, 0)};
	th_psc(t, 0, 0, 1, ent, 2);
	assert_int_equal(th_info1(t, 0), 0);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	assert_int_equal(PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, SB, 0)), 1);
	assert_int_equal(PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, SB, 1)), 512);
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, R2(1), false, false);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
	/* the next one is honest */
	th_psc(t, 0, 0, 1, ent, 2);
	TH_EXPECT_PAGE(t, W(1), true, false);
	TH_EXPECT_PAGE(t, R2(1) + 77 * K4, true, false);
	expect_fired(t, 1);
	th_free(t);
}

/* ------------------------------------------------------------------ PSC-shaping actions */

static void five_entries(uint64_t *ent)
{
	for (uint32_t i = 0; i < 5; i++)
		ent[i] = psc_entry(TH_GFN(W(1 + i)), PRIV, 0, 0);
}

/* PARTIAL: arg entries processed, success; the re-issued VMGEXIT does the rest. */
static void partial_progress(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_PARTIAL, .arg = 2});
	uint64_t ent[5];
	five_entries(ent);
	th_psc(t, 0, 0, 4, ent, 5);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	TH_EXPECT_PAGE(t, W(1), true, false);
	TH_EXPECT_PAGE(t, W(2), true, false);
	TH_EXPECT_PAGE(t, W(3), false, false);
	assert_int_equal(PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, SB, 2)), 0);
	th_psc_again(t, 0, SB);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 5);
	for (uint32_t i = 1; i <= 5; i++)
		TH_EXPECT_PAGE(t, W(i), true, false);
	expect_fired(t, 1);
	th_free(t);
}

/* NO_PROGRESS: success, cur_entry where it was, nothing converted (the guest would loop). */
static void no_progress(void **state)
{
	(void)state;
	th_t *t = with_fault(
		(hv_fault_t){.trigger = HV_TRIG_GHCB_PSC, .nth = 2, .action = HV_ACT_NO_PROGRESS});
	uint64_t ent[5];
	five_entries(ent);
	th_psc(t, 0, 0, 4, ent, 5);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 5);
	/* the second occurrence: the same descriptor, shared this time */
	for (uint32_t i = 0; i < 5; i++)
		ent[i] = psc_entry(TH_GFN(W(1 + i)), SHRD, 0, 0);
	size_t upd = th_count(t, HV_EV_RMPUPDATE);
	th_psc(t, 0, 1, 4, ent, 5);
	assert_int_equal(th_info1(t, 0), 0);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 1);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), upd);
	TH_EXPECT_PAGE(t, W(3), true, false);
	th_psc_again(t, 0, SB);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 5);
	TH_EXPECT_PAGE(t, W(3), false, false);
	TH_EXPECT_PAGE(t, W(1), true, false); /* entry 0 was before cur_entry */
	expect_fired(t, 1);
	th_free(t);
}

/* CUR_ENTRY_BACK: all processed, then cur_entry moved back by arg (the guest must notice). */
static void cur_entry_back(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 2, .action = HV_ACT_CUR_ENTRY_BACK, .arg = 2});
	uint64_t ent[5];
	for (uint32_t n = 1; n <= 3; n++) {
		for (uint32_t i = 0; i < 5; i++)
			ent[i] = psc_entry(TH_GFN(W(10 * n + i)), PRIV, 0, 0);
		th_psc(t, 0, 0, 4, ent, 5);
		assert_int_equal(th_info2(t, 0), 0);
		assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, n == 2 ? 3 : 5);
		assert_int_equal(th_psc_hdr(t, 0, SB).end_entry, 4);
		for (uint32_t i = 0; i < 5; i++)
			TH_EXPECT_PAGE(t, W(10 * n + i), true, false);
	}
	expect_fired(t, 1);
	th_free(t);
}

/* END_ENTRY_CHANGE: all processed, end_entry += arg. */
static void end_entry_change(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_END_ENTRY_CHANGE, .arg = 5});
	uint64_t ent[5];
	five_entries(ent);
	th_psc(t, 0, 0, 4, ent, 5);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).end_entry, 9);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 5);
	for (uint32_t i = 1; i <= 5; i++)
		TH_EXPECT_PAGE(t, W(i), true, false);
	th_psc(t, 0, 0, 4, ent, 5);
	assert_int_equal(th_psc_hdr(t, 0, SB).end_entry, 4);
	expect_fired(t, 1);
	th_free(t);
}

/* RESERVED_BITS: all processed, header reserved word = arg | 1 (never 0). */
static void reserved_bits(void **state)
{
	(void)state;
	static const uint64_t args[] = {0x10, 0};
	for (size_t k = 0; k < G_N_ELEMENTS(args); k++) {
		th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_GHCB_PSC,
						  .nth = 1,
						  .action = HV_ACT_RESERVED_BITS,
						  .arg = args[k]});
		psc1(t, W(1), PRIV, false);
		assert_int_equal(th_info2(t, 0), 0);
		assert_int_equal(th_psc_hdr(t, 0, SB).reserved, args[k] | 1);
		TH_EXPECT_PAGE(t, W(1), true, false);
		psc1(t, W(2), PRIV, false);
		assert_int_equal(th_psc_hdr(t, 0, SB).reserved, 0);
		expect_fired(t, 1);
		th_free(t);
	}
}

/* WRONG_GFN: gfn + arg is converted instead of gfn (GHCB and MSR PSC). */
static void wrong_gfn(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_WRONG_GFN, .arg = 1});
	psc1(t, W(1), PRIV, false);
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, W(2), true, false);
	psc1(t, W(5), PRIV, false);
	TH_EXPECT_PAGE(t, W(5), true, false);
	TH_EXPECT_PAGE(t, W(6), false, false);
	expect_fired(t, 1);
	th_free(t);

	t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_MSR_PSC, .nth = 2, .action = HV_ACT_WRONG_GFN, .arg = 3});
	assert_int_equal(msr_psc(t, W(1), PRIV) >> 32, 0);
	assert_int_equal(msr_psc(t, W(10), PRIV) >> 32, 0);
	assert_int_equal(msr_psc(t, W(20), PRIV) >> 32, 0);
	TH_EXPECT_PAGE(t, W(1), true, false);
	TH_EXPECT_PAGE(t, W(10), false, false);
	TH_EXPECT_PAGE(t, W(13), true, false);
	TH_EXPECT_PAGE(t, W(20), true, false);
	TH_EXPECT_PAGE(t, W(23), false, false);
	expect_fired(t, 1);
	th_free(t);
}

static size_t rmpupdates_2m(const th_t *t, size_t from)
{
	size_t n = 0;
	for (guint i = (guint)from; i < t->events->len; i++) {
		const hv_event_t *e = &g_array_index(t->events, hv_event_t, i);
		if (e->kind == HV_EV_RMPUPDATE && e->page_2m)
			n++;
	}
	return n;
}

/* FORCE_4K: a 2M entry becomes 512 4K RMPUPDATEs; the next 2M entry is 2M again. */
static void force_4k(void **state)
{
	(void)state;
	th_t *t = with_fault(
		(hv_fault_t){.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_FORCE_4K});
	psc1(t, R2(1), PRIV, true);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, SB, 0)), 512);
	assert_int_equal(rmpupdates_2m(t, 0), 0);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 512);
	for (uint64_t i = 0; i < 512; i++) {
		th_expect_page(t, R2(1) + i * K4, true, false, __FILE__, __LINE__);
		assert_false(th_rmp(t, R2(1) + i * K4).page_2m);
	}
	/* so a 2M PVALIDATE now finds 4K entries (facts §2.2) */
	rmp_result_t pv = rmp_pvalidate(t->rmp, TH_ASID, 0, R2(1), R2(1), true, true);
	assert_int_equal(pv.ret, SNP_RET_FAIL_SIZEMISMATCH);
	size_t from = t->events->len;
	psc1(t, R2(2), PRIV, true);
	assert_int_equal(rmpupdates_2m(t, from), 1);
	assert_true(th_rmp(t, R2(2)).page_2m);
	expect_fired(t, 1);
	th_free(t);
}

/* REWRITE_BUFFER: the RMP got the right GFN; the buffer the guest reads back says gfn + arg. */
static void rewrite_buffer(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 1, .action = HV_ACT_REWRITE_BUFFER, .arg = 3});
	uint64_t ent[] = {psc_entry(TH_GFN(W(1)), PRIV, 0, 0), psc_entry(TH_GFN(W(8)), PRIV, 0, 0)};
	th_psc(t, 0, 0, 1, ent, 2);
	assert_int_equal(th_info2(t, 0), 0);
	TH_EXPECT_PAGE(t, W(1), true, false);
	TH_EXPECT_PAGE(t, W(8), true, false);
	TH_EXPECT_PAGE(t, W(4), false, false);
	TH_EXPECT_PAGE(t, W(11), false, false);
	assert_int_equal(PSC_ENTRY_GFN(th_psc_entry(t, 0, SB, 0)), TH_GFN(W(4)));
	assert_int_equal(PSC_ENTRY_GFN(th_psc_entry(t, 0, SB, 1)), TH_GFN(W(11)));
	th_psc(t, 0, 0, 1, ent, 2);
	assert_int_equal(PSC_ENTRY_GFN(th_psc_entry(t, 0, SB, 0)), TH_GFN(W(1)));
	expect_fired(t, 1);
	th_free(t);
}

/* ------------------------------------------------------------------ behind the guest's back */

/* PSMASH_BEHIND: after the nth trigger the 2M entry is smashed; state otherwise kept. */
static void psmash_behind(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_HV_FEATURES,
					  .nth = 2,
					  .action = HV_ACT_PSMASH_BEHIND,
					  .gfn = TH_GFN(R2(1))});
	th_private_2m(t, R2(1), true);
	for (int i = 1; i <= 3; i++) {
		hv_exit_t x = th_msr(t, 0, GHCB_MSR_HV_FT_REQ);
		assert_int_equal(CODE(x.ghcb_msr), 0x081); /* the request itself is answered */
		assert_int_equal(th_rmp(t, R2(1) + 100 * K4).page_2m, i < 2);
		for (uint64_t p = 0; p < 512; p += 73)
			th_expect_page(t, R2(1) + p * K4, true, true, __FILE__, __LINE__);
	}
	assert_int_equal(th_count(t, HV_EV_PSMASH), 1);
	expect_fired(t, 1);
	th_free(t);
}

/* HV_GFN_FROM_TRIGGER with a page-access trigger: the 2M page holding the accessed GPA. */
static void psmash_behind_from_access(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_PAGE_ACCESS,
					  .gfn_first = TH_GFN(R2(2)),
					  .gfn_last = TH_GFN(R2(3)) - 1,
					  .action = HV_ACT_PSMASH_BEHIND,
					  .gfn = HV_GFN_FROM_TRIGGER});
	assert_true(hv_wants_access_events(t->hv));
	th_private_2m(t, R2(1), true);
	th_private_2m(t, R2(2), true);
	uint64_t vc = 0;
	assert_false(hv_guest_access(t->hv, 0, R2(1) + 5 * K4, RMP_ACCESS_READ, &vc));
	assert_true(th_rmp(t, R2(1)).page_2m); /* outside the filter */
	assert_false(hv_guest_access(t->hv, 0, R2(2) + 5 * K4, RMP_ACCESS_WRITE, &vc));
	assert_false(th_rmp(t, R2(2)).page_2m);
	TH_EXPECT_PAGE(t, R2(2) + 5 * K4, true, true);
	assert_true(th_rmp(t, R2(1)).page_2m);
	expect_fired(t, 1);
	th_free(t);
}

/*
 * REMAP_REPLAY: first firing maps gfn to a fresh spare SPA made private at that
 * GPA (not validated); the next swaps back to the old, still validated SPA.
 */
static void remap_replay(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_HV_FEATURES,
					  .action = HV_ACT_REMAP_REPLAY,
					  .gfn = TH_GFN(W(1))});
	th_private(t, W(1), true);
	assert_int_equal(hv_npt_translate(t->hv, W(1)).spa, W(1));
	hv_ft_nae(t);
	assert_int_equal(th_info2(t, 0), t->cfg.features);
	hv_npt_map_t m = hv_npt_translate(t->hv, W(1));
	assert_int_equal(m.kind, HV_NPT_RAM);
	uint64_t fresh = m.spa;
	assert_int_not_equal(fresh, W(1));
	assert_true(fresh >= TH_SPARE && fresh < TH_SPARE + TH_SPARE_PAGES * K4);
	rmp_entry_t e = th_rmp(t, fresh);
	assert_true(e.assigned);
	assert_int_equal(e.gpa, W(1));
	assert_int_equal(e.asid, TH_ASID);
	assert_false(e.validated);
	TH_EXPECT_PAGE(t, W(1), true, true); /* the old SPA, untouched */
	/* the neighbours keep their identity mapping */
	assert_int_equal(hv_npt_translate(t->hv, W(2)).spa, W(2));
	assert_int_equal(th_count(t, HV_EV_NPT_REMAP), 1);
	hv_ft_nae(t); /* replay: back to the validated SPA */
	assert_int_equal(hv_npt_translate(t->hv, W(1)).spa, W(1));
	hv_ft_nae(t);
	assert_int_equal(hv_npt_translate(t->hv, W(1)).spa, fresh);
	assert_int_equal(th_count(t, HV_EV_NPT_REMAP), 3);
	expect_fired(t, 3);
	th_free(t);
}

/* REVOKE: the page is made shared behind the guest's back; arg 1: private again, unvalidated. */
static void revoke(void **state)
{
	(void)state;
	for (uint64_t arg = 0; arg < 2; arg++) {
		th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_HV_FEATURES,
						  .nth = 2,
						  .action = HV_ACT_REVOKE,
						  .arg = arg,
						  .gfn = TH_GFN(W(1))});
		th_private(t, W(1), true);
		th_private(t, W(2), true);
		hv_ft_nae(t);
		TH_EXPECT_PAGE(t, W(1), true, true);
		hv_ft_nae(t);
		TH_EXPECT_PAGE(t, W(1), arg == 1, false);
		TH_EXPECT_PAGE(t, W(2), true, true);
		hv_ft_nae(t);
		TH_EXPECT_PAGE(t, W(1), arg == 1, false);
		expect_fired(t, 1);
		th_free(t);
	}
}

/* REVOKE inside a validated 2M entry: PSMASH first, only that page changes. */
static void revoke_in_2m_entry(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_HV_FEATURES,
					  .nth = 1,
					  .action = HV_ACT_REVOKE,
					  .gfn = TH_GFN(R2(1) + 9 * K4)});
	th_private_2m(t, R2(1), true);
	th_msr(t, 0, GHCB_MSR_HV_FT_REQ);
	for (uint64_t i = 0; i < 512; i++)
		th_expect_page(t, R2(1) + i * K4, i != 9, i != 9, __FILE__, __LINE__);
	expect_fired(t, 1);
	th_free(t);
}

/* ------------------------------------------------------------------ MSR responses */

/* MSR_GARBAGE: the code stays, [63:12] := arg, at the nth request only. */
static void msr_garbage(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_SEV_INFO, .nth = 2, .action = HV_ACT_MSR_GARBAGE, .arg = 0xABC});
	uint64_t honest = hv_initial_ghcb_msr(t->hv);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(CODE(th_msr(t, 0, GHCB_MSR_HV_FT_REQ).ghcb_msr), 0x081);
		uint64_t r = th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr;
		assert_int_equal(r, i == 2 ? ((0xABCull << 12) | 0x001) : honest);
	}
	expect_fired(t, 1);
	th_free(t);
}

/* MSR_WRONG_CODE: arg 0 answers request + 2; otherwise code arg, the data kept. */
static void msr_wrong_code(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_MSR_ANY, .nth = 1, .action = HV_ACT_MSR_WRONG_CODE, .arg = 0});
	uint64_t r = th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr;
	assert_int_equal(CODE(r), 0x004);
	assert_int_equal(r & ~GHCB_MSR_INFO_MASK, hv_initial_ghcb_msr(t->hv) & ~GHCB_MSR_INFO_MASK);
	assert_int_equal(CODE(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr), 0x001);
	expect_fired(t, 1);
	th_free(t);

	t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_HV_FEATURES, .nth = 1, .action = HV_ACT_MSR_WRONG_CODE, .arg = 7});
	assert_int_equal(CODE(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr), 0x001);
	r = th_msr(t, 0, GHCB_MSR_HV_FT_REQ).ghcb_msr;
	assert_int_equal(CODE(r), 0x007);
	assert_int_equal(DATA(r), t->cfg.features);
	expect_fired(t, 1);
	th_free(t);
}

/* ------------------------------------------------------------------ INJECT_VC */

/* After the nth NAE event is answered, the machine is asked to deliver #VC(arg). */
static void inject_vc_nae(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_NAE, .nth = 2, .action = HV_ACT_INJECT_VC, .arg = 0x404});
	for (int i = 1; i <= 3; i++) {
		hv_exit_t x = hv_ft_nae(t);
		assert_int_equal(x.action, HV_RESUME);
		assert_int_equal(th_info2(t, 0), t->cfg.features); /* answered normally */
		assert_int_equal(x.inject_vc, i == 2);
		if (i == 2)
			assert_int_equal(x.vc_code, 0x404);
	}
	/* MSR requests are not NAE events */
	assert_false(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).inject_vc);
	expect_fired(t, 1);
	th_free(t);
}

/* The MSR and GHCB-PSC paths deliver it too, and only at their trigger. */
static void inject_vc_msr_and_psc(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_MSR_PSC, .nth = 1, .action = HV_ACT_INJECT_VC, .arg = 0x72});
	assert_false(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).inject_vc);
	hv_exit_t x = th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(W(1)), PRIV));
	assert_true(x.inject_vc);
	assert_int_equal(x.vc_code, 0x72);
	assert_int_equal(x.ghcb_msr >> 32, 0);
	assert_false(th_msr(t, 0, ghcb_msr_psc_req(TH_GFN(W(2)), PRIV)).inject_vc);
	expect_fired(t, 1);
	th_free(t);

	t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_GHCB_PSC, .nth = 2, .action = HV_ACT_INJECT_VC, .arg = 0x29});
	assert_false(psc1(t, W(1), PRIV, false).inject_vc);
	x = psc1(t, W(2), PRIV, false);
	assert_true(x.inject_vc);
	assert_int_equal(x.vc_code, 0x29);
	TH_EXPECT_PAGE(t, W(2), true, false);
	assert_false(psc1(t, W(3), PRIV, false).inject_vc);
	assert_false(hv_ft_nae(t).inject_vc);
	expect_fired(t, 1);
	th_free(t);
}

/* On guest accesses: only inside the GFN filter; hv_wants_access_events says so. */
static void inject_vc_page_access(void **state)
{
	(void)state;
	th_t *t = th_new();
	assert_false(hv_wants_access_events(t->hv));
	hv_fault_t f = {.trigger = HV_TRIG_PAGE_ACCESS,
			.gfn_first = TH_GFN(W(5)),
			.gfn_last = TH_GFN(W(6)),
			.action = HV_ACT_INJECT_VC,
			.arg = 0x404};
	assert_true(hv_set_fault_plan(t->hv, &f, 1, 9));
	assert_true(hv_wants_access_events(t->hv));
	static const struct {
		uint64_t gpa;
		bool fire;
	} acc[] = {{W(4), false}, {W(5), true},          {W(5) + 0xFFF, true}, {W(6) + 8, true},
		   {W(7), false}, {W(4) + 0xFFF, false}, {0, false}};
	uint32_t fired = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(acc); i++) {
		uint64_t vc = 0;
		bool r = hv_guest_access(t->hv, 0, acc[i].gpa, RMP_ACCESS_READ, &vc);
		if (r != acc[i].fire)
			fail_msg("access to 0x%llx: inject %d, want %d", (unsigned long long)acc[i].gpa,
				 r, acc[i].fire);
		if (r)
			assert_int_equal(vc, 0x404);
		fired += acc[i].fire;
	}
	assert_int_equal(hv_fault_fired(t->hv, 0), fired);
	/* a plan without access triggers: no access events wanted */
	assert_true(hv_set_fault_plan(t->hv, NULL, 0, 0));
	assert_false(hv_wants_access_events(t->hv));
	th_free(t);
}

/* ------------------------------------------------------------------ filters */

/* The GFN filter: MSR PSC requests outside [first, last] never fire nor count. */
static void gfn_filter_msr(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_MSR_PSC,
					  .gfn_first = TH_GFN(W(5)),
					  .gfn_last = TH_GFN(W(6)),
					  .action = HV_ACT_FAIL,
					  .arg = 9});
	for (uint32_t i = 3; i <= 8; i++) {
		uint64_t r = msr_psc(t, W(i), PRIV);
		bool in = i == 5 || i == 6;
		assert_int_equal(r >> 32, in ? 9 : 0);
		TH_EXPECT_PAGE(t, W(i), !in, false);
	}
	expect_fired(t, 2);
	th_free(t);

	/* nth counts matching requests only: the 2nd one inside the range */
	t = with_fault((hv_fault_t){.trigger = HV_TRIG_MSR_PSC,
				    .nth = 2,
				    .gfn_first = TH_GFN(W(5)),
				    .gfn_last = TH_GFN(W(9)),
				    .action = HV_ACT_FAIL,
				    .arg = 1});
	static const uint32_t order[] = {1, 5, 2, 3, 7, 8};
	for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
		uint64_t r = msr_psc(t, W(order[k]), PRIV);
		assert_int_equal(r >> 32, order[k] == 7 ? 1 : 0);
	}
	expect_fired(t, 1);
	th_free(t);
}

/* A GHCB PSC matches when any entry (a 2M one by its whole range) touches the filter. */
static void gfn_filter_ghcb_psc(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_GHCB_PSC,
					  .gfn_first = TH_GFN(R2(1)) + 100,
					  .gfn_last = TH_GFN(R2(1)) + 100,
					  .action = HV_ACT_IGNORE});
	uint64_t a[] = {psc_entry(TH_GFN(W(1)), PRIV, 0, 0), psc_entry(TH_GFN(W(2)), PRIV, 0, 0)};
	th_psc(t, 0, 0, 1, a, 2);
	TH_EXPECT_PAGE(t, W(1), true, false); /* no entry in range: honest */
	uint64_t b[] = {psc_entry(TH_GFN(W(3)), PRIV, 0, 0), psc_entry(TH_GFN(R2(1)), PRIV, 1, 0)};
	th_psc(t, 0, 0, 1, b, 2);
	TH_EXPECT_PAGE(t, W(3), false, false); /* ignored: the 2M entry covers GFN + 100 */
	TH_EXPECT_PAGE(t, R2(1) + 100 * K4, false, false);
	uint64_t c[] = {psc_entry(TH_GFN(R2(1)) + 99, PRIV, 0, 0)};
	th_psc(t, 0, 0, 0, c, 1);
	TH_EXPECT_PAGE(t, R2(1) + 99 * K4, true, false);
	expect_fired(t, 1);
	th_free(t);
}

/* max_fires: with nth = 0 (every occurrence) it fires max_fires times, then never. */
static void max_fires(void **state)
{
	(void)state;
	th_t *t = with_fault((hv_fault_t){
		.trigger = HV_TRIG_MSR_PSC, .max_fires = 2, .action = HV_ACT_FAIL, .arg = 4});
	for (uint32_t i = 1; i <= 5; i++)
		assert_int_equal(msr_psc(t, W(i), PRIV) >> 32, i <= 2 ? 4 : 0);
	expect_fired(t, 2);
	th_free(t);
}

/* ------------------------------------------------------------------ probability */

static uint64_t pattern(th_t *t, int n)
{
	uint64_t bits = 0;
	for (int i = 0; i < n; i++) {
		uint64_t r = th_msr(t, 0, GHCB_MSR_HV_FT_REQ).ghcb_msr;
		if (DATA(r) == 0x5A5)
			bits |= 1ull << i;
		else
			assert_int_equal(DATA(r), t->cfg.features);
	}
	return bits;
}

/*
 * prob_ppm with a seed: the same seed gives the same firing pattern (the plan
 * is reseeded by hv_set_fault_plan), another seed another one; 500000 ppm fires
 * some but not all of 64 requests; 1000000 ppm fires every one.
 */
static void probability_is_seeded(void **state)
{
	(void)state;
	th_t *t = th_new();
	hv_fault_t f = {.trigger = HV_TRIG_HV_FEATURES,
			.prob_ppm = 500000,
			.action = HV_ACT_MSR_GARBAGE,
			.arg = 0x5A5};
	assert_true(hv_set_fault_plan(t->hv, &f, 1, 1234));
	uint64_t a = pattern(t, 64);
	uint32_t fa = hv_fault_fired(t->hv, 0);
	assert_int_equal((uint32_t)__builtin_popcountll(a), fa);
	assert_true(fa > 8 && fa < 56);
	assert_true(hv_set_fault_plan(t->hv, &f, 1, 1234));
	assert_int_equal(pattern(t, 64), a);
	assert_true(hv_set_fault_plan(t->hv, &f, 1, 99));
	assert_int_not_equal(pattern(t, 64), a);
	/* a second hypervisor with the same seed agrees: no hidden global state */
	th_t *u = th_new();
	assert_true(hv_set_fault_plan(u->hv, &f, 1, 1234));
	assert_int_equal(pattern(u, 64), a);
	th_free(u);
	f.prob_ppm = 1000000;
	assert_true(hv_set_fault_plan(t->hv, &f, 1, 5));
	assert_int_equal(pattern(t, 64), UINT64_MAX);
	th_free(t);
}

/* ------------------------------------------------------------------ plans */

/* Several faults: each counts its own trigger, and HV_EV_FAULT names the plan index. */
static void plan_indices(void **state)
{
	(void)state;
	hv_fault_t f[] = {
		{.trigger = HV_TRIG_MSR_PSC, .nth = 1, .action = HV_ACT_FAIL, .arg = 1},
		{.trigger = HV_TRIG_SEV_INFO, .nth = 2, .action = HV_ACT_MSR_GARBAGE, .arg = 3},
		{.trigger = HV_TRIG_NAE, .nth = 1, .action = HV_ACT_INJECT_VC, .arg = 0x404},
	};
	th_t *t = with_plan(f, 3);
	th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ);
	th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ);
	msr_psc(t, W(1), PRIV);
	hv_ft_nae(t);
	assert_int_equal(hv_fault_fired(t->hv, 0), 1);
	assert_int_equal(hv_fault_fired(t->hv, 1), 1);
	assert_int_equal(hv_fault_fired(t->hv, 2), 1);
	assert_int_equal(hv_fault_fired(t->hv, 3), 0); /* no such fault */
	assert_int_equal(th_count(t, HV_EV_FAULT), 3);
	assert_int_equal(th_event(t, HV_EV_FAULT, 0)->fault, 1);
	assert_int_equal(th_event(t, HV_EV_FAULT, 0)->op, HV_ACT_MSR_GARBAGE);
	assert_int_equal(th_event(t, HV_EV_FAULT, 1)->fault, 0);
	assert_int_equal(th_event(t, HV_EV_FAULT, 1)->gfn, TH_GFN(W(1)));
	assert_int_equal(th_event(t, HV_EV_FAULT, 2)->fault, 2);
	th_free(t);
}

/* A plan that cannot mean anything is refused whole, and the plan in force stays. */
static void plan_refused(void **state)
{
	(void)state;
	const hv_fault_t bad[] = {
		{.trigger = 0, .action = HV_ACT_FAIL},
		{.trigger = HV_TRIG_VMGEXIT + 1, .action = HV_ACT_FAIL},
		{.trigger = HV_TRIG_MSR_PSC, .action = 0},
		{.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_INJECT_VC + 1},
		{.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_PARTIAL, .arg = 1}, /* PSC-only action */
		{.trigger = HV_TRIG_SEV_INFO, .action = HV_ACT_REWRITE_BUFFER},
		{.trigger = HV_TRIG_GHCB_PSC, .action = HV_ACT_WRONG_GFN, .arg = 0}, /* delta 0 */
		{.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_FAIL, .prob_ppm = 1000001},
		{.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_FAIL, .gfn_first = 9, .gfn_last = 8},
	};
	th_t *t = with_fault((hv_fault_t){.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_FAIL, .arg = 2});
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		hv_fault_t two[2] = {{.trigger = HV_TRIG_SEV_INFO, .action = HV_ACT_MSR_GARBAGE},
				     bad[i]};
		if (hv_set_fault_plan(t->hv, two, 2, 1))
			fail_msg("plan with bad fault %zu accepted", i);
	}
	assert_false(hv_set_fault_plan(t->hv, NULL, 3, 1));
	assert_false(hv_set_fault_plan(NULL, bad, 0, 1));
	/* the first plan is still the one in force */
	assert_int_equal(msr_psc(t, W(1), PRIV) >> 32, 2);
	assert_int_equal(CODE(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr), 0x001);
	assert_int_equal(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).ghcb_msr, hv_initial_ghcb_msr(t->hv));
	th_free(t);
}

/* A termination request is never faulted: the guest's reason is recorded as sent. */
static void termination_not_faulted(void **state)
{
	(void)state;
	hv_fault_t f[] = {
		{.trigger = HV_TRIG_MSR_ANY, .action = HV_ACT_MSR_GARBAGE, .arg = 1},
		{.trigger = HV_TRIG_NAE, .action = HV_ACT_FAIL},
	};
	th_t *t = with_plan(f, 2);
	hv_exit_t x = th_msr(t, 0, ghcb_msr_term_req(1, 4));
	assert_int_equal(x.action, HV_TERMINATED);
	assert_int_equal(x.term_set, 1);
	assert_int_equal(x.term_code, 4);
	th_free(t);
	t = with_plan(f, 2);
	x = th_nae_simple(t, 0, SVM_VMGEXIT_TERM_REQUEST, 0x31, 0);
	assert_int_equal(x.action, HV_TERMINATED);
	assert_int_equal(x.term_set, 1);
	assert_int_equal(x.term_code, 3);
	th_free(t);
}

/*
 * HV_TRIG_VMGEXIT is "any VMGEXIT (before it is handled)" (hv.h): a malformed
 * GHCB request is a VMGEXIT too, so an INJECT_VC on that trigger fires on it.
 */
static void vmgexit_trigger_any_exit(void **state)
{
	(void)state;
	th_t *t = with_fault(
		(hv_fault_t){.trigger = HV_TRIG_VMGEXIT, .action = HV_ACT_INJECT_VC, .arg = 0x29});
	assert_true(th_msr(t, 0, GHCB_MSR_SEV_INFO_REQ).inject_vc);
	assert_true(hv_ft_nae(t).inject_vc);
	uint64_t e = psc_entry(TH_GFN(W(1)), PRIV, 0, 0);
	assert_true(th_psc(t, 0, 0, 0, &e, 1).inject_vc);
	assert_true(th_msr(t, 0, 0x008).inject_vc); /* an unknown MSR code */
	uint32_t before = hv_fault_fired(t->hv, 0);
	th_ghcb_reset(t, G0);
	th_ghcb_set_usage(t, G0, 1);
	hv_exit_t x = th_nae(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
	assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
	assert_true(x.inject_vc);
	assert_int_equal(hv_fault_fired(t->hv, 0), before + 1);
	th_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fail_msr_psc_at_nth),
		cmocka_unit_test(fail_ghcb_psc_at_nth),
		cmocka_unit_test(fail_ghcb_register),
		cmocka_unit_test(fail_nae_exit_code_filter),
		cmocka_unit_test(ignore_msr_psc),
		cmocka_unit_test(ignore_ghcb_psc),
		cmocka_unit_test(partial_progress),
		cmocka_unit_test(no_progress),
		cmocka_unit_test(cur_entry_back),
		cmocka_unit_test(end_entry_change),
		cmocka_unit_test(reserved_bits),
		cmocka_unit_test(wrong_gfn),
		cmocka_unit_test(force_4k),
		cmocka_unit_test(rewrite_buffer),
		cmocka_unit_test(psmash_behind),
		cmocka_unit_test(psmash_behind_from_access),
		cmocka_unit_test(remap_replay),
		cmocka_unit_test(revoke),
		cmocka_unit_test(revoke_in_2m_entry),
		cmocka_unit_test(msr_garbage),
		cmocka_unit_test(msr_wrong_code),
		cmocka_unit_test(inject_vc_nae),
		cmocka_unit_test(inject_vc_msr_and_psc),
		cmocka_unit_test(inject_vc_page_access),
		cmocka_unit_test(gfn_filter_msr),
		cmocka_unit_test(gfn_filter_ghcb_psc),
		cmocka_unit_test(max_fires),
		cmocka_unit_test(probability_is_seeded),
		cmocka_unit_test(plan_indices),
		cmocka_unit_test(plan_refused),
		cmocka_unit_test(termination_not_faulted),
		cmocka_unit_test(vmgexit_trigger_any_exit),
	};
	return cmocka_run_group_tests_name("hv_fault", tests, NULL, NULL);
}
