/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker: named security invariants of page-state handling
 * (facts §7.6), evaluated on every event of the stream. Pure: it reads the RMP
 * it is given (the machine's own, or a shadow rebuilt from a trace) and reports
 * violations through a callback, each naming the events that prove it.
 */
#ifndef SNPSIM_SIM_CHECKER_H
#define SNPSIM_SIM_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "rmp.h"

typedef enum sim_invariant {
	SIM_INV_DOUBLE_VALIDATION = 1, /* a GPA validated twice without an intervening rescind */
	SIM_INV_UNVALIDATED_ACCESS,    /* private access to a page the guest never validated,
					  outside the lazy-accept path */
	SIM_INV_PSC_VIEW,              /* after a completed PSC, the guest's view differs from the RMP */
	SIM_INV_ACCEPTED_VALIDATED,    /* at the end, a page the guest believes accepted is not
					  validated in the RMP exactly once */
	SIM_INV_VALIDATE_UNREQUESTED,  /* PVALIDATE of a page the hypervisor did not make private
					  at the guest's request */
	SIM_INV_MAX,
} sim_invariant_t;

const char *sim_invariant_to_string(sim_invariant_t inv); /* "double-validation" ... */
bool sim_invariant_from_string(const char *s, sim_invariant_t *out);
const char *sim_invariant_describe(sim_invariant_t inv);

typedef struct checker checker_t;

/* Receives each violation as a SIM_EV_VIOLATION event (seq not yet assigned). */
typedef void (*checker_report_fn)(void *ctx, const sim_event_t *violation);

/* rmp: queried (never changed) for the RMP-side invariants; asid: the guest's. */
checker_t *checker_new(const rmp_t *rmp, uint32_t asid, checker_report_fn report, void *ctx);
void checker_free(checker_t *ck);

/* Feeds one event (with its seq). */
void checker_event(checker_t *ck, const sim_event_t *ev);
/*
 * False for the kinds checker_event() ignores: a caller may leave those out
 * (and skip building them) without changing any result.
 */
bool checker_wants(uint32_t kind);
/*
 * The run of single-page validations the checker holds back (checker.c), open
 * to its caller so that the next page of a 4K-only boot needs neither an event
 * nor a call. Only checker_window_take() changes it from outside.
 */
typedef struct checker_window {
	uint64_t next_gpa, next_spa, next_seq; /* the page that would extend the run */
	uint64_t limit;  /* the run may grow below this GPA; 0: no run */
	uint64_t pages;  /* the run's length */
	uint32_t vcpu;
	bool quiet;      /* no #VC pending or injected (checker.c) */
} checker_window_t;

/* The checker's window: the same object for the checker's lifetime. */
checker_window_t *checker_window(checker_t *ck);

/*
 * checker_event() for a successful single-page validation (PVALIDATE 4K,
 * validate, SUCCESS with CF = 0, npages 1, seq its sequence number) without
 * the event: true when it extends the run, which is all checker_event() would
 * have done with it; false, and nothing changed: build the event and call
 * checker_event().
 */
static inline bool checker_window_take(checker_window_t *w, uint64_t seq, uint32_t vcpu,
				       uint64_t gpa, uint64_t spa)
{
	if (gpa != w->next_gpa || gpa >= w->limit || spa != w->next_spa || seq != w->next_seq ||
	    vcpu != w->vcpu || !w->quiet)
		return false;
	w->pages++;
	w->next_gpa += SNP_PAGE_SIZE;
	w->next_spa += SNP_PAGE_SIZE;
	w->next_seq++;
	return true;
}
/* End of run: the end-state invariants (only meaningful for a completed run). */
void checker_finish(checker_t *ck, sim_outcome_t outcome);

uint64_t checker_count(const checker_t *ck, sim_invariant_t inv);
uint64_t checker_total(const checker_t *ck);

#endif /* SNPSIM_SIM_CHECKER_H */
