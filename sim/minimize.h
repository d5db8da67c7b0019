/* SPDX-License-Identifier: MIT */
/*
 * Scenario minimisation (`snpsim minimize`): shrinks a failing scenario, a fuzz
 * finding say, by delta debugging (Zeller's ddmin, per list) to one that still
 * fails the same way. The lists are the guest programs (steps of each vCPU),
 * the fault plan, the memory map, the launch ranges and the lazy ranges; after
 * removals, memory and program ranges are halved where that keeps the failure.
 * Every candidate is re-validated and re-run on the native machine.
 *
 * "The same way" is the run's signature: outcome, termination reason (set,
 * code) or stop reason, and the set of invariants violated.
 */
#ifndef SNPSIM_SIM_MINIMIZE_H
#define SNPSIM_SIM_MINIMIZE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "checker.h"
#include "event.h"
#include "scenario.h"

typedef struct sim_signature {
	sim_outcome_t outcome;
	uint32_t set, code; /* TERMINATED */
	uint32_t stop;      /* STOPPED */
	uint32_t violated;  /* bit i: invariant i fired */
} sim_signature_t;

typedef struct minimize_opts {
	uint64_t event_budget; /* per run; 0: 8 x the original run's events, at least 2^20 */
	uint32_t max_runs;     /* give up shrinking after this many runs; 0: 10000 */
	/* each removal or shrink kept, as one line ("removed program[3]: touch 0x1000") */
	void (*removed)(void *ctx, const char *what);
	void *removed_ctx;
} minimize_opts_t;

typedef struct minimize_stats {
	uint32_t runs;
	uint32_t removed; /* list elements removed */
	uint32_t shrunk;  /* ranges halved */
	sim_signature_t signature;
} minimize_stats_t;

/* Runs sc (validated) once with that event budget (0: the machine's default). */
bool sim_run_signature(const scenario_t *sc, uint64_t event_budget, sim_signature_t *out,
		       uint64_t *events, bool *met, GError **err);
bool sim_signature_equal(const sim_signature_t *a, const sim_signature_t *b);
/* "terminated GFW_TERM_PVALIDATE, violations: double-validation" (g_free) */
char *sim_signature_describe(const sim_signature_t *s);

/*
 * The minimal scenario (a new one; the caller frees it), or NULL with *err set:
 * SNPSIM_ERROR_INPUT when sc does not fail (it meets its expectations).
 */
scenario_t *scenario_minimize(const scenario_t *sc, const minimize_opts_t *opts,
			      minimize_stats_t *stats, GError **err);

/* `snpsim minimize SCENARIO [-o OUT]` (cli.c's commands[]). */
int minimize_main(int argc, char **argv);

#endif /* SNPSIM_SIM_MINIMIZE_H */
