/* SPDX-License-Identifier: MIT */
/*
 * The machine's single event stream. Every architectural event of a run, from
 * the hypervisor model (VMGEXIT, PSC entries, RMPUPDATE, faults) and from the
 * guest side (PVALIDATE, RMPADJUST, #VC, the guest's notes), becomes one
 * sim_event_t with a sequence number, observed in order by the invariant
 * checker, the trace writer and the run summary.
 *
 * An event may stand for a range: npages > 1 (a 2M operation is one event of
 * 512 pages with page_2m set; a coalesced trace line is one event of many 4K
 * pages). Consumers handle ranges natively.
 */
#ifndef SNPSIM_SIM_EVENT_H
#define SNPSIM_SIM_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"
#include "rmp.h"

typedef enum sim_ev_kind {
	/* from hv_model (hv_event_kind_t, same meaning) */
	SIM_EV_VMGEXIT = 1,
	SIM_EV_MSR_PROTOCOL,
	SIM_EV_PSC_ENTRY,
	SIM_EV_RMPUPDATE,
	SIM_EV_PSMASH,
	SIM_EV_UNSMASH,
	SIM_EV_NPT_REMAP,
	SIM_EV_LAUNCH_UPDATE,
	SIM_EV_NPF,
	SIM_EV_FAULT,
	SIM_EV_AP_CREATE,
	SIM_EV_AP_DESTROY,
	SIM_EV_TERMINATE,
	SIM_EV_STOP,
	/* guest side */
	SIM_EV_PVALIDATE,   /* gpa, spa, npages, page_2m, validate, status */
	SIM_EV_RMPADJUST,   /* gpa, spa, page_2m, info1 = RDX, status */
	SIM_EV_VC,          /* code = error code, gpa = fault address (0x404) */
	SIM_EV_NOTE,        /* op = gfw_note_kind_t, gpa, npages, info1 = arg */
	/* machine */
	SIM_EV_VIOLATION,   /* invariant, gpa, spa, vcpu; ref_* = the earlier event */
	SIM_EV_END,         /* outcome of the run: op = sim_outcome_t, set/code or stop */
	SIM_EV_KIND_MAX,
} sim_ev_kind_t;

typedef enum sim_outcome {
	SIM_OUTCOME_NONE = 0,
	SIM_OUTCOME_COMPLETED,  /* every program step ran */
	SIM_OUTCOME_TERMINATED, /* the guest requested termination (set, code) */
	SIM_OUTCOME_STOPPED,    /* the hypervisor or the machine stopped the guest (stop) */
	SIM_OUTCOME_VIOLATION,  /* --stop-on-violation stopped the run */
} sim_outcome_t;

/* Machine stop reasons beyond hv_stop_t (stored in .stop). */
typedef enum sim_stop {
	SIM_STOP_GUEST_EXCEPTION = 100, /* an exception the guest does not handle (#GP ...) */
	SIM_STOP_VC_LOOP,               /* the same #VC again right after it was handled */
	SIM_STOP_NPF_LOOP,              /* a nested page fault that keeps coming back */
	SIM_STOP_BAD_ACCESS,            /* access to unmapped guest memory */
	SIM_STOP_BUDGET,                /* the instruction/event budget ran out */
	SIM_STOP_DEADLOCK,              /* every vCPU waits */
	SIM_STOP_HALTED,                /* the guest halted without asking to terminate */
} sim_stop_t;

typedef struct sim_event {
	uint64_t seq;
	uint64_t seq_last; /* a coalesced trace line: the last raw event's seq (else 0) */
	uint32_t kind; /* sim_ev_kind_t */
	uint32_t vcpu;
	uint64_t gpa, spa, gfn;
	uint64_t npages;
	uint64_t ghcb_gpa;
	uint64_t exit_reason;
	uint64_t info1, info2;
	uint64_t psc_status;
	uint64_t code; /* #VC error code */
	rmp_result_t status;
	uint32_t op;
	uint32_t fault;
	uint32_t set, reason; /* termination reason set/code */
	uint32_t stop;
	uint32_t invariant; /* sim_invariant_t */
	uint32_t asid;      /* RMPUPDATE state */
	bool page_2m;
	bool assigned;
	bool immutable;
	bool validate;
	/* violations: the event that broke the invariant, and the earlier one that proves it */
	uint64_t cause_seq;
	uint64_t ref_seq;
	uint64_t ref_spa;
	uint32_t ref_vcpu;
} sim_event_t;

const char *sim_ev_kind_to_string(sim_ev_kind_t k);
bool sim_ev_kind_from_string(const char *s, sim_ev_kind_t *out);
const char *sim_outcome_to_string(sim_outcome_t o);
bool sim_outcome_from_string(const char *s, sim_outcome_t *out);
/* hv_stop_t or sim_stop_t names */
const char *sim_stop_to_string(uint32_t stop);
bool sim_stop_from_string(const char *s, uint32_t *out);

/* Converts an hv_model event (same field names). */
void sim_event_from_hv(sim_event_t *out, const hv_event_t *ev);

#endif /* SNPSIM_SIM_EVENT_H */
