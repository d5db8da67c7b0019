/* SPDX-License-Identifier: MIT */
/*
 * guestfw against the scripted mock port (mock_port.c): every flow of flows.c
 * as one test, asserting the exact sequence of VMGEXITs, PVALIDATEs, RMPADJUSTs,
 * #VCs and notes, and the termination reason (set, code). Then the checks that
 * are not flows: the termination table against the facts sheet (§3.4), the
 * wire encodings, the #VC handler's nesting bound, the GHCB MSR after boot and
 * after MSR-protocol exchanges, and mutants: each historical bug guestfw can
 * switch on must make its flow fail, so the flows can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_port.h"
#include "snp/arch.h"

/* ------------------------------------------------------------------ the flows */

static void test_flow(void **state)
{
	const flow_t *f = *state;
	printf("# %s: %s\n", f->name, f->what);
	assert_true(mock_run_flow(f));
}

/* ------------------------------------------------------------------ mutants */

/*
 * Each bug of guestfw's bug zoo re-introduces what a shipped guest got wrong.
 * With it, the flow that covers the rule must fail (wrong sequence or outcome);
 * if it passed, the flow could not tell the correct guest from the broken one.
 */
static const struct {
	const char *flow;
	uint32_t bug;
} mutants[] = {
    {"prevalidated_range_skipped", GFW_BUG_NO_PREVALIDATED_SKIP},
    {"gfn_above_1tib", GFW_BUG_GFN_SHIFT32},
    {"range_4gib_plus_at_boot", GFW_BUG_LEN_TRUNC32},
    {"convert_private_to_shared_one_page", GFW_BUG_RESCIND_AFTER_PSC},
    {"convert_shared_to_private_one_page", GFW_BUG_PVALIDATE_BEFORE_PSC},
    {"psc_cur_entry_backwards", GFW_BUG_NO_BACKWARDS_CHECK},
    {"pvalidate_cf1_double_validation", GFW_BUG_IGNORE_CF},
    {"fallback_2m_sizemismatch", GFW_BUG_SIZEMISMATCH_DROP_TAIL},
    {"psc_rewritten_buffer_ignored", GFW_BUG_PVALIDATE_FROM_SHARED},
};

static void test_mutants_fail_their_flow(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++) {
		const flow_t *f = flow_find(mutants[i].flow);
		assert_non_null(f);
		flow_t mutant = *f;
		mutant.bugs = mutants[i].bug;
		printf("# mutant %s on %s (the flow must fail):\n", gfw_bug_name(mutants[i].bug),
		       f->name);
		bool passed = mock_run_flow(&mutant);
		if (passed)
			printf("  mutant %s survived %s\n", gfw_bug_name(mutants[i].bug), f->name);
		assert_false(passed);
	}
}

/* ------------------------------------------------------------------ the termination table */

/*
 * facts §3.4: the GHCB-spec and Linux meanings of sets 0 and 1; guestfw's own
 * set 2, as guestfw.h documents it. Written out as numbers on purpose.
 */
static const struct {
	gfw_term_t term;
	uint32_t set, code;
	const char *name;
} term_rows[] = {
    {GFW_TERM_GENERAL, 0, 0, "GFW_TERM_GENERAL"},
    {GFW_TERM_PROTOCOL, 0, 1, "GFW_TERM_PROTOCOL"},
    {GFW_TERM_SNP_UNSUPPORTED, 0, 2, "GFW_TERM_SNP_UNSUPPORTED"},
    {GFW_TERM_REGISTER, 1, 0, "GFW_TERM_REGISTER"},
    {GFW_TERM_PSC, 1, 1, "GFW_TERM_PSC"},
    {GFW_TERM_PVALIDATE, 1, 2, "GFW_TERM_PVALIDATE"},
    {GFW_TERM_NOT_VMPL0, 1, 3, "GFW_TERM_NOT_VMPL0"},
    {GFW_TERM_CPUID, 1, 4, "GFW_TERM_CPUID"},
    {GFW_TERM_SECRETS, 1, 6, "GFW_TERM_SECRETS"},
    {GFW_TERM_MSR_RESPONSE, 2, 1, "GFW_TERM_MSR_RESPONSE"},
    {GFW_TERM_PSC_BACKWARDS, 2, 2, "GFW_TERM_PSC_BACKWARDS"},
    {GFW_TERM_PSC_END_CHANGED, 2, 3, "GFW_TERM_PSC_END_CHANGED"},
    {GFW_TERM_PSC_RESERVED, 2, 4, "GFW_TERM_PSC_RESERVED"},
    {GFW_TERM_PSC_NO_PROGRESS, 2, 5, "GFW_TERM_PSC_NO_PROGRESS"},
    {GFW_TERM_VC_VALIDATED, 2, 6, "GFW_TERM_VC_VALIDATED"},
    {GFW_TERM_VC_UNEXPECTED, 2, 7, "GFW_TERM_VC_UNEXPECTED"},
    {GFW_TERM_VC_MISMATCH, 2, 8, "GFW_TERM_VC_MISMATCH"},
    {GFW_TERM_VC_NESTING, 2, 9, "GFW_TERM_VC_NESTING"},
    {GFW_TERM_AP_CREATE, 2, 10, "GFW_TERM_AP_CREATE"},
    {GFW_TERM_BAD_REQUEST, 2, 11, "GFW_TERM_BAD_REQUEST"},
    {GFW_TERM_NAE_ERROR, 2, 12, "GFW_TERM_NAE_ERROR"},
    {GFW_TERM_ACCEPT, 2, 13, "GFW_TERM_ACCEPT"},
};
#define NTERMS (sizeof(term_rows) / sizeof(term_rows[0]))

static void test_term_table_matches_facts(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTERMS; i++) {
		printf("# %s = %u/%u\n", term_rows[i].name, term_rows[i].set, term_rows[i].code);
		assert_int_equal(GFW_TERM_SET(term_rows[i].term), term_rows[i].set);
		assert_int_equal(GFW_TERM_CODE(term_rows[i].term), term_rows[i].code);
		const char *name = gfw_term_name(term_rows[i].set, term_rows[i].code);
		assert_non_null(name);
		assert_string_equal(name, term_rows[i].name);
		assert_non_null(gfw_term_describe(term_rows[i].set, term_rows[i].code));
		uint32_t set = 99, code = 99;
		assert_true(gfw_term_from_name(name, &set, &code));
		assert_int_equal(set, term_rows[i].set);
		assert_int_equal(code, term_rows[i].code);
		for (size_t k = 0; k < i; k++)
			assert_false(term_rows[k].term == term_rows[i].term);
	}
	/* nothing outside the table has a name */
	uint32_t named = 0;
	for (uint32_t set = 0; set < 16; set++)
		for (uint32_t code = 0; code < 256; code++)
			named += gfw_term_name(set, code) != NULL;
	assert_int_equal(named, NTERMS);
	uint32_t s, c;
	assert_false(gfw_term_from_name("GFW_TERM_NONSENSE", &s, &c));
	assert_false(gfw_term_from_name(NULL, &s, &c));
}

/* Every reason guestfw can send is produced by some flow (or by a test below). */
static void test_every_reason_is_exercised(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTERMS; i++) {
		gfw_term_t t = term_rows[i].term;
		if (t == GFW_TERM_GENERAL) /* documented as unused by guestfw */
			continue;
		if (t == GFW_TERM_VC_NESTING) /* test_vc_nesting_is_bounded */
			continue;
		bool found = false;
		for (size_t k = 0; k < gfw_nflows && !found; k++)
			found = gfw_flows[k].outcome == FLOW_TERMINATED && gfw_flows[k].term == t;
		if (!found)
			printf("  no flow ends in %s\n", term_rows[i].name);
		assert_true(found);
	}
}

/* ------------------------------------------------------------------ wire encodings */

/* facts §3.2 bit layouts, written out: the flows compare against these helpers. */
static void test_wire_encodings_match_facts(void **state)
{
	(void)state;
	/* termination: [15:12] set, [23:16] code, 0x100 */
	assert_true(REQ_TERM(1, 2) == 0x21100ull);
	assert_true(REQ_TERM(2, 13) == 0xD2100ull);
	assert_true(ghcb_msr_term_req(1, 2) == REQ_TERM(1, 2));
	assert_true(ghcb_msr_term_req(2, 13) == REQ_TERM(2, 13));
	/* MSR PSC: [51:12] GFN, [55:52] operation (2 shared), 0x014 */
	assert_true(REQ_PSC(0x202000ull, SHRD) == 0x0020000000202014ull);
	assert_true(ghcb_msr_psc_req(0x202, SHRD) == REQ_PSC(0x202000ull, SHRD));
	/* ... a GFN at 1 TiB keeps all its bits */
	assert_true(REQ_PSC((1ull << 40) + 0x1000, PRIV) == 0x0010010000001014ull);
	assert_true(ghcb_msr_psc_req(0x10000001ull, PRIV) == REQ_PSC((1ull << 40) + 0x1000, PRIV));
	/* register: [63:12] GFN, 0x012 */
	assert_true(REQ_REG(0x202000ull) == 0x202012ull);
	assert_true(ghcb_msr_gfn_val(0x202, GHCB_MSR_REG_GPA_REQ) == REQ_REG(0x202000ull));
	/* SEV information request and HV features request codes */
	assert_true(REQ_SEV_INFO == GHCB_MSR_SEV_INFO_REQ && REQ_HV_FT == GHCB_MSR_HV_FT_REQ);
	/* PSC entry: [11:0] cur_page, [51:12] GFN, [55:52] op, [56] 2M */
	assert_true(psc_entry(0x10000001ull, PRIV, 0, 0) == 0x0010010000001000ull);
	assert_true(psc_entry(0x10000200ull, SHRD, 1, 512) == 0x0120010000200200ull);
	assert_true(PSC_ENTRY_GFN(0x0010010000001000ull) << 12 == (1ull << 40) + 0x1000);
}

/* ------------------------------------------------------------------ direct checks */

static void run_boot(gfw_cpu_t *c, void *arg)
{
	(void)arg;
	gfw_boot(c);
}

static mock_t *booted(void (*config)(gfw_config_t *), const flow_t *like)
{
	gfw_config_t cfg;
	flow_config(like, &cfg);
	if (config)
		config(&cfg);
	mock_t *m = mock_new(&cfg, NULL, NULL, 0, 0);
	assert_non_null(m);
	assert_int_equal(mock_call(m, 0, run_boot, NULL), MOCK_RETURNED);
	return m;
}

/* After boot the GHCB MSR holds the GHCB GPA (facts §3.5 step 5). */
static void test_ghcb_msr_holds_ghcb_after_boot(void **state)
{
	(void)state;
	mock_t *m = booted(NULL, flow_find("boot_ghcb_setup"));
	assert_true(mock_ghcb_msr(m, 0) == 0x202000ull);
	uint32_t cpu, set, code;
	assert_false(mock_term(m, &cpu, &set, &code));
	assert_int_equal(mock_violations(m, NULL), 0);
	mock_free(m);
}

typedef struct range_arg {
	uint64_t gpa, size;
} range_arg_t;

static void run_shared(gfw_cpu_t *c, void *arg)
{
	range_arg_t *r = arg;
	gfw_set_shared(c, r->gpa, r->size);
}

static void run_accept(gfw_cpu_t *c, void *arg)
{
	range_arg_t *r = arg;
	gfw_accept(c, r->gpa, r->size);
}

/* An MSR-protocol exchange once the GHCB is in use restores the GHCB GPA (facts §3.1). */
static void test_msr_protocol_restores_ghcb_gpa(void **state)
{
	(void)state;
	mock_t *m = booted(NULL, flow_find("gfn_above_1tib_msr_protocol"));
	range_arg_t r = {0x10000, SNP_PAGE_SIZE};
	size_t before;
	mock_log(m, &before);
	assert_int_equal(mock_call(m, 0, run_shared, &r), MOCK_RETURNED);
	size_t n;
	const flow_ev_t *log = mock_log(m, &n);
	bool msr_psc = false;
	for (size_t i = before; i < n; i++)
		msr_psc |= log[i].kind == FE_MSR && log[i].x == REQ_PSC(0x10000ull, SHRD);
	assert_true(msr_psc);
	assert_true(mock_ghcb_msr(m, 0) == 0x202000ull);
	mock_free(m);
}

/* The unaccepted bit of gpa's unit, read from struct gfw (guestfw.h) as the bitmap's owner would.
 */
static bool unit_unaccepted(const gfw_t *g, uint64_t gpa)
{
	if (gpa < g->bitmap_base || gpa >= g->bitmap_base + g->bitmap_units * GFW_ACCEPT_UNIT)
		return false;
	uint64_t u = (gpa - g->bitmap_base) / GFW_ACCEPT_UNIT;
	return (g->unaccepted[u / 8] >> (u % 8)) & 1u;
}

/* The second accept of a unit adds no action at all (facts §11.2: never twice). */
static void test_second_accept_is_noop(void **state)
{
	(void)state;
	mock_t *m = booted(NULL, flow_find("lazy_accept_same_unit_twice"));
	range_arg_t r = {(8ull << 20) + 0x3000, SNP_PAGE_SIZE};
	size_t n0, n1, n2;
	mock_log(m, &n0);
	assert_int_equal(mock_call(m, 0, run_accept, &r), MOCK_RETURNED);
	mock_log(m, &n1);
	assert_true(n1 > n0);
	r.gpa = (8ull << 20) + 0x1FF000; /* another page of the same unit */
	assert_int_equal(mock_call(m, 0, run_accept, &r), MOCK_RETURNED);
	mock_log(m, &n2);
	assert_int_equal(n2, n1);
	assert_false(unit_unaccepted(mock_gfw(m), 8ull << 20));
	assert_true(unit_unaccepted(mock_gfw(m), 10ull << 20));
	mock_free(m);
}

/* #VC nesting deeper than GFW_VC_MAX_DEPTH is fatal (guestfw.h table, set 2 code 9). */
static void test_vc_nesting_is_bounded(void **state)
{
	(void)state;
	mock_t *m = booted(NULL, flow_find("boot_ghcb_setup"));
	gfw_cpu_t *c = mock_cpu(m, 0);
	c->vc_depth = GFW_VC_MAX_DEPTH; /* as if inside the handler twice already */
	assert_int_equal(mock_deliver_vc(m, 0, SVM_EXIT_VMPL_NOT_VALIDATED, 0x10000, GFW_INSN_MEM),
	                 MOCK_TERMINATED);
	uint32_t cpu, set, code;
	assert_true(mock_term(m, &cpu, &set, &code));
	assert_int_equal(set, GFW_TERM_SET(GFW_TERM_VC_NESTING));
	assert_int_equal(code, GFW_TERM_CODE(GFW_TERM_VC_NESTING));
	mock_free(m);
}

/* #VC 0x404 outside RAM (an MMIO hole): not a validation problem, an unexpected code. */
static void test_vc_404_outside_ram(void **state)
{
	(void)state;
	mock_t *m = booted(NULL, flow_find("boot_ghcb_setup"));
	assert_int_equal(
	    mock_deliver_vc(m, 0, SVM_EXIT_VMPL_NOT_VALIDATED, 64ull << 20, GFW_INSN_MEM),
	    MOCK_TERMINATED);
	uint32_t cpu, set, code;
	assert_true(mock_term(m, &cpu, &set, &code));
	assert_int_equal(set, GFW_TERM_SET(GFW_TERM_VC_UNEXPECTED));
	assert_int_equal(code, GFW_TERM_CODE(GFW_TERM_VC_UNEXPECTED));
	mock_free(m);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_term_table_matches_facts),
	    cmocka_unit_test(test_every_reason_is_exercised),
	    cmocka_unit_test(test_wire_encodings_match_facts),
	    cmocka_unit_test(test_ghcb_msr_holds_ghcb_after_boot),
	    cmocka_unit_test(test_msr_protocol_restores_ghcb_gpa),
	    cmocka_unit_test(test_second_accept_is_noop),
	    cmocka_unit_test(test_vc_nesting_is_bounded),
	    cmocka_unit_test(test_vc_404_outside_ram),
	    cmocka_unit_test(test_mutants_fail_their_flow),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(gfw_nflows + nfixed, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < gfw_nflows; i++) {
		tests[i].name = gfw_flows[i].name;
		tests[i].test_func = test_flow;
		tests[i].initial_state = (void *)(uintptr_t)&gfw_flows[i];
	}
	memcpy(tests + gfw_nflows, fixed, sizeof(fixed));
	int rc = _cmocka_run_group_tests("guestfw_flows", tests, gfw_nflows + nfixed, NULL, NULL);
	free(tests);
	return rc;
}
