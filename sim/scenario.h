/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: a versioned JSON description of a guest (memory map, launch ranges,
 * policies, program), a hypervisor (settings, fault plan), a seed and the
 * expected outcome. Format and examples: traces/README.md.
 *
 * Parsing is strict: an unknown field, a wrong type, an out-of-range or
 * misaligned address or an absurd size is an SNPSIM_ERROR_INPUT error whose
 * message names the origin, the JSON path and the problem, e.g.
 *   "traces/x.json: $.program[3].gpa: 0x1001 is not 4 KiB aligned".
 * Numbers are JSON integers or strings: "0x..." hex, or decimal with an optional
 * binary suffix K, M, G, T ("2M" = 2 MiB).
 */
#ifndef SNPSIM_SIM_SCENARIO_H
#define SNPSIM_SIM_SCENARIO_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "checker.h"
#include "event.h"
#include "guestfw.h"
#include "hv.h"

#define SCENARIO_VERSION 1
#define SCENARIO_MAX_VCPUS GFW_MAX_CPUS
#define SCENARIO_MAX_GPA (1ull << 52)

typedef struct sc_launch {
	uint64_t gpa;
	uint64_t size;
	uint32_t type; /* KVM_SEV_SNP_PAGE_TYPE_* */
} sc_launch_t;

/* A scheduling decision the scenario fixes: at choice point `at` (0-based), `vcpu` runs. */
typedef struct sc_choice {
	uint64_t at;
	uint32_t vcpu;
} sc_choice_t;

typedef struct sc_expect_violation {
	sim_invariant_t invariant;
} sc_expect_violation_t;

typedef struct scenario {
	char *origin; /* file name or "built-in default", for messages */
	char *name;
	char *description;
	uint64_t seed;

	/* machine */
	uint32_t asid;
	uint32_t vcpus;
	uint64_t sev_status;
	GArray *mem;    /* gfw_mem_entry_t, sorted, non-overlapping */
	GArray *launch; /* sc_launch_t, in launch order */
	uint64_t ghcb[SCENARIO_MAX_VCPUS];
	uint64_t vmsa_pool_gpa;
	uint32_t vmsa_pool_pages;
	uint64_t spare_pages; /* SPAs the hypervisor may use for remap attacks */

	/* hypervisor */
	uint8_t cbit;
	uint16_t proto_min, proto_max;
	uint64_t features;
	uint32_t psc_max_entries;
	bool strict_psc_ops;
	bool implicit_conversion; /* NPF on a shared page converts it (KVM+QEMU) */
	GArray *faults;           /* hv_fault_t */

	/* guest */
	gfw_policy_t policy;
	GArray *lazy;               /* gfw_range_t, for policy.lazy == GFW_LAZY_RANGES */
	GArray *program[SCENARIO_MAX_VCPUS]; /* gfw_step_t per vCPU; [0] is the BSP */

	/* schedule of several vCPUs: a pure function of the seed */
	uint64_t sched_seed;
	uint32_t preempt_ppm; /* preemption probability at each port boundary, per million */
	GArray *sched_choices; /* sc_choice_t, strictly increasing `at`; the seed decides the rest */

	/* expectations */
	sim_outcome_t expect_outcome;  /* NONE: no expectation */
	bool expect_reason;            /* a termination/stop reason is expected */
	uint32_t expect_set, expect_code; /* TERMINATED */
	uint32_t expect_stop;             /* STOPPED: hv_stop_t or sim_stop_t */
	GArray *expect_violations;        /* sim_invariant_t that must fire; any other must not */
} scenario_t;

scenario_t *scenario_new(void); /* empty, with the defaults of every optional field */
void scenario_free(scenario_t *sc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(scenario_t, scenario_free)

scenario_t *scenario_load_file(const char *path, GError **err);
scenario_t *scenario_load_string(const char *json, const char *origin, GError **err);
/* Replaces the fault plan from a file: a JSON array of faults, or {"faults": [...]}. */
bool scenario_load_faults_file(scenario_t *sc, const char *path, GError **err);
/* Checks cross-field consistency (ranges inside RAM, GHCBs, program ranges ...). */
bool scenario_validate(const scenario_t *sc, GError **err);

/*
 * The built-in default: a 4 GiB guest with a q35-like map (2 GiB below the PCI
 * hole, 2 GiB above 4 GiB), OVMF-like launch ranges, eager pre-validation below
 * 4 GiB, a few conversions, a lazily accepted high range.
 */
scenario_t *scenario_default(void);

/* Canonical JSON (stable key order, hex addresses); g_free the result. */
char *scenario_to_json(const scenario_t *sc, bool pretty);

/* The guestfw configuration this scenario describes. */
void scenario_gfw_config(const scenario_t *sc, gfw_config_t *out);

#endif /* SNPSIM_SIM_SCENARIO_H */
