/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker driven with hand-built event streams over a real RMP:
 * each invariant is made to fire, and kept quiet by the correct sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "checker.h"
#include "gfw_port.h"

#define ASID 7u
#define MAXV 16

typedef struct fixture {
	rmp_t *rmp;
	checker_t *ck;
	sim_event_t v[MAXV];
	int nv;
	uint64_t seq;
} fixture_t;

static void collect(void *ctx, const sim_event_t *v)
{
	fixture_t *f = ctx;
	if (f->nv < MAXV)
		f->v[f->nv] = *v;
	f->nv++;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	f->rmp = rmp_new(1ull << 34);
	f->ck = checker_new(f->rmp, ASID, collect, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	checker_free(f->ck);
	rmp_free(f->rmp);
	free(f);
	return 0;
}

static uint64_t feed(fixture_t *f, sim_event_t ev)
{
	ev.seq = ++f->seq;
	checker_event(f->ck, &ev);
	return ev.seq;
}

/* The hypervisor made [gpa, +npages) private at the guest's request: RMP and event. */
static uint64_t psc_private(fixture_t *f, uint64_t gpa, uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++) {
		rmp_state_t st = {.gpa = gpa + i * 4096, .asid = ASID, .assigned = true};
		assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, gpa + i * 4096, &st)));
	}
	return feed(f, (sim_event_t){.kind = SIM_EV_PSC_ENTRY,
				     .gfn = gpa >> 12,
				     .npages = npages,
				     .op = SNP_PAGE_STATE_PRIVATE});
}

static uint64_t pvalidate(fixture_t *f, uint64_t gpa, bool validate, uint32_t vcpu)
{
	rmp_result_t r = rmp_pvalidate(f->rmp, ASID, 0, gpa, gpa, false, validate);
	return feed(f, (sim_event_t){.kind = SIM_EV_PVALIDATE,
				     .vcpu = vcpu,
				     .gpa = gpa,
				     .spa = gpa,
				     .npages = 1,
				     .validate = validate,
				     .status = r});
}

static uint64_t note(fixture_t *f, uint32_t kind, uint64_t gpa, uint64_t npages, uint32_t arg)
{
	return feed(f, (sim_event_t){.kind = SIM_EV_NOTE,
				     .op = kind,
				     .gpa = gpa,
				     .npages = npages,
				     .info1 = arg});
}

/* ---- double validation ---- */

static void double_validation_fires_and_names_both_events(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x100000, 1);
	uint64_t first = pvalidate(f, 0x100000, true, 0);
	uint64_t second = pvalidate(f, 0x100000, true, 3); /* CF=1: already validated */
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_DOUBLE_VALIDATION);
	assert_int_equal(f->v[0].gpa, 0x100000);
	assert_int_equal(f->v[0].spa, 0x100000);
	assert_int_equal(f->v[0].cause_seq, second);
	assert_int_equal(f->v[0].vcpu, 3);
	assert_int_equal(f->v[0].ref_seq, first);
	assert_int_equal(f->v[0].ref_vcpu, 0);
	assert_int_equal(f->v[0].ref_spa, 0x100000);
	assert_int_equal(checker_count(f->ck, SIM_INV_DOUBLE_VALIDATION), 1);
}

/* The RMP accepts the second PVALIDATE (the HV reassigned the page): still a double validation. */
static void double_validation_after_hv_reassignment_fires(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x200000, 1);
	pvalidate(f, 0x200000, true, 0);
	/* behind the guest's back: shared and private again, Validated cleared */
	rmp_state_t sh = {0}, pr = {.gpa = 0x200000, .asid = ASID, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x200000, &sh)));
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x200000, &pr)));
	uint64_t seq = pvalidate(f, 0x200000, true, 0);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_DOUBLE_VALIDATION);
	assert_int_equal(f->v[0].cause_seq, seq);
}

static void launch_then_validate_is_double_validation(void **state)
{
	fixture_t *f = *state;
	rmp_state_t st = {.gpa = 0x800000, .asid = ASID, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x800000, &st)));
	assert_true(rmp_ok(rmp_launch_update(f->rmp, 0x800000, ASID, 0x800000, false, false)));
	uint64_t launch = feed(f, (sim_event_t){.kind = SIM_EV_LAUNCH_UPDATE,
						.gpa = 0x800000,
						.spa = 0x800000,
						.npages = 1});
	pvalidate(f, 0x800000, true, 0);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_DOUBLE_VALIDATION);
	assert_int_equal(f->v[0].ref_seq, launch);
}

static void validate_rescind_validate_is_quiet(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x100000, 1);
	pvalidate(f, 0x100000, true, 0);
	pvalidate(f, 0x100000, false, 0);
	pvalidate(f, 0x100000, true, 0);
	/* a failed PVALIDATE changes nothing and proves nothing */
	feed(f, (sim_event_t){.kind = SIM_EV_PVALIDATE,
			      .gpa = 0x300000,
			      .spa = 0x300000,
			      .npages = 512,
			      .page_2m = true,
			      .validate = true,
			      .status = {.ret = SNP_RET_FAIL_SIZEMISMATCH}});
	assert_int_equal(f->nv, 0);
	assert_int_equal(checker_total(f->ck), 0);
}

/* ---- validate-unrequested ---- */

static void validating_an_unrequested_page_fires(void **state)
{
	fixture_t *f = *state;
	/* private in the RMP, but the guest never asked for it (a remap to a spare page) */
	rmp_state_t st = {.gpa = 0x400000, .asid = ASID, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x400000, &st)));
	uint64_t seq = pvalidate(f, 0x400000, true, 0);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_VALIDATE_UNREQUESTED);
	assert_int_equal(f->v[0].cause_seq, seq);
	assert_int_equal(f->v[0].gpa, 0x400000);
}

static void shared_psc_withdraws_the_request(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x400000, 1);
	feed(f, (sim_event_t){.kind = SIM_EV_PSC_ENTRY,
			      .gfn = 0x400,
			      .npages = 1,
			      .op = SNP_PAGE_STATE_SHARED});
	pvalidate(f, 0x400000, true, 0);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_VALIDATE_UNREQUESTED);
}

static void failed_psc_entry_is_not_a_request(void **state)
{
	fixture_t *f = *state;
	rmp_state_t st = {.gpa = 0x500000, .asid = ASID, .assigned = true};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x500000, &st)));
	feed(f, (sim_event_t){.kind = SIM_EV_PSC_ENTRY,
			      .gfn = 0x500,
			      .npages = 1,
			      .op = SNP_PAGE_STATE_PRIVATE,
			      .psc_status = VMGEXIT_PSC_ERROR_INVALID_ENTRY});
	pvalidate(f, 0x500000, true, 0);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_VALIDATE_UNREQUESTED);
}

/* ---- unvalidated access ---- */

static void access_before_accept_fires(void **state)
{
	fixture_t *f = *state;
	uint64_t vc = feed(f, (sim_event_t){.kind = SIM_EV_VC,
					    .code = SVM_EXIT_VMPL_NOT_VALIDATED,
					    .gpa = 0x600000});
	assert_int_equal(f->nv, 0); /* undecided until the guest's next event */
	feed(f, (sim_event_t){.kind = SIM_EV_MSR_PROTOCOL, .info1 = GHCB_MSR_TERM_REQ});
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_UNVALIDATED_ACCESS);
	assert_int_equal(f->v[0].cause_seq, vc);
	assert_int_equal(f->v[0].gpa, 0x600000);
}

static void lazy_accept_path_is_quiet(void **state)
{
	fixture_t *f = *state;
	feed(f, (sim_event_t){.kind = SIM_EV_VC, .code = SVM_EXIT_VMPL_NOT_VALIDATED,
			      .gpa = 0x612345});
	note(f, GFW_NOTE_LAZY_FAULT, 0x600000, 512, 0);
	checker_finish(f->ck, SIM_OUTCOME_TERMINATED);
	assert_int_equal(f->nv, 0);
}

static void vc_on_a_page_the_guest_validated_is_not_its_fault(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x700000, 1);
	pvalidate(f, 0x700000, true, 0);
	feed(f, (sim_event_t){.kind = SIM_EV_VC, .code = SVM_EXIT_VMPL_NOT_VALIDATED,
			      .gpa = 0x700000});
	feed(f, (sim_event_t){.kind = SIM_EV_MSR_PROTOCOL, .info1 = GHCB_MSR_TERM_REQ});
	assert_int_equal(f->nv, 0);
}

static void unresolved_vc_at_the_end_fires(void **state)
{
	fixture_t *f = *state;
	feed(f, (sim_event_t){.kind = SIM_EV_VC, .code = SVM_EXIT_VMPL_NOT_VALIDATED,
			      .gpa = 0x800000});
	checker_finish(f->ck, SIM_OUTCOME_STOPPED);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_UNVALIDATED_ACCESS);
}

/* ---- psc view ---- */

static void psc_done_that_the_rmp_contradicts_fires(void **state)
{
	fixture_t *f = *state;
	/* the hypervisor "ignored" the request: nothing changed in the RMP */
	uint64_t seq = note(f, GFW_NOTE_PSC_DONE, 0x900000, 4, SNP_PAGE_STATE_PRIVATE);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_PSC_VIEW);
	assert_int_equal(f->v[0].cause_seq, seq);
	assert_int_equal(f->v[0].gpa, 0x900000);
}

static void psc_done_matching_the_rmp_is_quiet(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0x900000, 4);
	note(f, GFW_NOTE_PSC_DONE, 0x900000, 4, SNP_PAGE_STATE_PRIVATE);
	/* and back to shared */
	for (int i = 0; i < 4; i++) {
		rmp_state_t sh = {0};
		assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x900000 + i * 4096, &sh)));
	}
	note(f, GFW_NOTE_PSC_DONE, 0x900000, 4, SNP_PAGE_STATE_SHARED);
	assert_int_equal(f->nv, 0);
}

static void psc_view_2m_entry_checked_once_and_right(void **state)
{
	fixture_t *f = *state;
	rmp_state_t st = {.gpa = 0x1000000, .asid = ASID, .assigned = true, .page_2m = true};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0x1000000, &st)));
	note(f, GFW_NOTE_PSC_DONE, 0x1000000, 512, SNP_PAGE_STATE_PRIVATE);
	assert_int_equal(f->nv, 0);
	/* a page of it at the wrong GPA (remapped) contradicts the view */
	feed(f, (sim_event_t){.kind = SIM_EV_NPT_REMAP, .gfn = 0x1000, .spa = 0x2000000});
	note(f, GFW_NOTE_PSC_DONE, 0x1000000, 512, SNP_PAGE_STATE_PRIVATE);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_PSC_VIEW);
	assert_int_equal(f->v[0].spa, 0x2000000);
}

/* ---- end state ---- */

static void believed_accepted_but_not_validated_fires(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0xA00000, 2);
	pvalidate(f, 0xA00000, true, 0);
	note(f, GFW_NOTE_ACCEPTED, 0xA00000, 2, 0); /* the second page was never validated */
	checker_finish(f->ck, SIM_OUTCOME_COMPLETED);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_ACCEPTED_VALIDATED);
	assert_int_equal(f->v[0].gpa, 0xA01000);
}

static void believed_accepted_and_revoked_fires(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0xB00000, 1);
	pvalidate(f, 0xB00000, true, 0);
	note(f, GFW_NOTE_ACCEPTED, 0xB00000, 1, 0);
	rmp_state_t sh = {0};
	assert_true(rmp_ok(rmp_rmpupdate(f->rmp, 0, 0xB00000, &sh))); /* revoked */
	checker_finish(f->ck, SIM_OUTCOME_COMPLETED);
	assert_int_equal(f->nv, 1);
	assert_int_equal(f->v[0].invariant, SIM_INV_ACCEPTED_VALIDATED);
}

static void accepted_and_validated_is_quiet_and_only_checked_when_completed(void **state)
{
	fixture_t *f = *state;
	psc_private(f, 0xC00000, 2);
	pvalidate(f, 0xC00000, true, 0);
	pvalidate(f, 0xC01000, true, 0);
	note(f, GFW_NOTE_ACCEPTED, 0xC00000, 2, 0);
	note(f, GFW_NOTE_ACCEPTED, 0xD00000, 1, 0); /* never validated ... */
	note(f, GFW_NOTE_RESCINDED, 0xD00000, 1, 0); /* ... and given up again */
	checker_finish(f->ck, SIM_OUTCOME_COMPLETED);
	assert_int_equal(f->nv, 0);
}

static void end_state_not_checked_for_a_terminated_guest(void **state)
{
	fixture_t *f = *state;
	note(f, GFW_NOTE_ACCEPTED, 0xE00000, 1, 0);
	checker_finish(f->ck, SIM_OUTCOME_TERMINATED);
	assert_int_equal(f->nv, 0);
}

static void invariant_names_round_trip(void **state)
{
	(void)state;
	for (int i = 1; i < SIM_INV_MAX; i++) {
		sim_invariant_t back;
		const char *n = sim_invariant_to_string((sim_invariant_t)i);
		assert_non_null(n);
		assert_non_null(sim_invariant_describe((sim_invariant_t)i));
		assert_true(sim_invariant_from_string(n, &back));
		assert_int_equal(back, i);
	}
	sim_invariant_t x;
	assert_false(sim_invariant_from_string("no-such-invariant", &x));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(double_validation_fires_and_names_both_events),
		T(double_validation_after_hv_reassignment_fires),
		T(launch_then_validate_is_double_validation),
		T(validate_rescind_validate_is_quiet),
		T(validating_an_unrequested_page_fires),
		T(shared_psc_withdraws_the_request),
		T(failed_psc_entry_is_not_a_request),
		T(access_before_accept_fires),
		T(lazy_accept_path_is_quiet),
		T(vc_on_a_page_the_guest_validated_is_not_its_fault),
		T(unresolved_vc_at_the_end_fires),
		T(psc_done_that_the_rmp_contradicts_fires),
		T(psc_done_matching_the_rmp_is_quiet),
		T(psc_view_2m_entry_checked_once_and_right),
		T(believed_accepted_but_not_validated_fires),
		T(believed_accepted_and_revoked_fires),
		T(accepted_and_validated_is_quiet_and_only_checked_when_completed),
		T(end_state_not_checked_for_a_terminated_guest),
		cmocka_unit_test(invariant_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
