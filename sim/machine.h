/* SPDX-License-Identifier: MIT */
/*
 * The machine: wires the RMP, the mock hypervisor and the guest together. It owns
 * guest memory (physmem), the vCPUs and their GHCB MSRs, implements the arch port
 * natively (gfw_port.h: PVALIDATE is a call into rmp/, VMGEXIT a call into
 * hv_model/), delivers #VC to the guest's handler, and funnels every event into
 * one stream observed by the invariant checker, the trace encoder and the run
 * statistics.
 */
#ifndef SNPSIM_SIM_MACHINE_H
#define SNPSIM_SIM_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "checker.h"
#include "event.h"
#include "gfw_port.h"
#include "scenario.h"

typedef struct machine machine_t;

typedef void (*machine_observer_fn)(void *ctx, const sim_event_t *ev);
typedef void (*machine_progress_fn)(void *ctx, uint32_t step, uint32_t nsteps, uint64_t events);

/*
 * A choice point: a scheduling decision at a port boundary where more than one
 * vCPU could run next. Choice points are numbered from 0 in the order they are
 * reached; the scenario's schedule.choices may fix the vCPU at any of them and
 * the seeded policy decides the rest (scenario.h), so a run is a function of the
 * scenario alone. snpsim explore enumerates schedules through this.
 */
typedef struct machine_choice {
	uint64_t index;  /* which choice point */
	uint32_t vcpu;   /* the vCPU at the boundary */
	uint32_t ready;  /* bitmask of the vCPUs that may run next (two or more) */
	uint32_t chosen; /* the vCPU that runs next */
	bool forced;     /* vcpu cannot go on (spin-wait, hold, done) and is not in ready;
			    else the default is to continue on vcpu */
	bool listed;     /* chosen came from schedule.choices */
} machine_choice_t;
typedef void (*machine_choice_fn)(void *ctx, const machine_choice_t *c);

typedef struct machine_opts {
	bool no_checker;        /* run without the invariant checker */
	bool stop_on_violation; /* stop the run at the first violation */
	uint64_t event_budget;  /* stop (SIM_STOP_BUDGET) after this many events; 0: 2^40 */
	machine_observer_fn observe; /* every event, after the checker saw it (trace writer) */
	void *observe_ctx;
	machine_progress_fn progress; /* called at each program step and every 2^16 events */
	void *progress_ctx;
	machine_choice_fn on_choice; /* every choice point, after the decision */
	void *choice_ctx;
} machine_opts_t;

/* Counters for the run summary. */
typedef struct machine_stats {
	uint64_t events;
	uint64_t by_kind[SIM_EV_KIND_MAX];
	uint64_t pvalidate_4k_pages; /* pages newly validated by 4K PVALIDATEs */
	uint64_t pvalidate_2m_pages; /* pages newly validated by 2M PVALIDATEs */
	uint64_t pvalidate_4k, pvalidate_2m; /* instructions (any outcome) */
	uint64_t rescinded_pages;
	uint64_t psc_requests_ghcb; /* GHCB PSC NAE events */
	uint64_t psc_requests_msr;  /* MSR-protocol PSC requests */
	uint64_t psc_entries;       /* entries processed (PSC entry events, pages merged) */
	uint64_t launch_pages;
	GHashTable *vmgexits; /* exit code (guint64 key) -> count */
	GHashTable *msr_protocol; /* function code -> count */
	GHashTable *vc; /* #VC error code -> count */
	uint64_t faults_injected;
	uint64_t violations[SIM_INV_MAX];
} machine_stats_t;

typedef struct machine_result {
	sim_outcome_t outcome;
	uint32_t set, code; /* TERMINATED */
	uint32_t stop;      /* STOPPED: hv_stop_t or sim_stop_t */
	uint32_t vcpu;      /* the vCPU that ended the run */
	uint64_t violations;
	sim_event_t first_violation;
} machine_result_t;

machine_t *machine_new(const scenario_t *sc, const machine_opts_t *opts, GError **err);
void machine_free(machine_t *m);

/* Runs the scenario's guest program on guestfw. */
const machine_result_t *machine_run(machine_t *m);

/*
 * Runs foreign guest code in place of guestfw: entry runs on the BSP with its
 * arch port; returning from it completes the run. The scenario's launch,
 * hypervisor, fault plan and checker apply as for guestfw.
 */
typedef void (*machine_guest_fn)(gfw_port_t *port, void *arg);
const machine_result_t *machine_run_guest(machine_t *m, machine_guest_fn entry, void *arg);

const machine_stats_t *machine_stats(const machine_t *m);
const machine_result_t *machine_result(const machine_t *m);
const scenario_t *machine_scenario(const machine_t *m);
/* The guest's debug-port output so far. */
const uint8_t *machine_debug_output(const machine_t *m, size_t *len);
rmp_t *machine_rmp(machine_t *m);

/* Does the result meet the scenario's expectations? If not, *why (g_free) says how. */
bool machine_meets_expectations(const machine_t *m, char **why);

#endif /* SNPSIM_SIM_MACHINE_H */
