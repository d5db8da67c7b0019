/* SPDX-License-Identifier: MIT */
/*
 * Schedule exploration: run one scenario under many vCPU interleavings and stop
 * at the first that violates an invariant or misses the scenario's
 * expectations. Each run is a fresh machine; the schedule it ran is written back
 * into the scenario (schedule.seed, preempt_probability, choices), so the found
 * run replays from its trace header like any other.
 *
 * Two modes:
 *   random      run i uses schedule seed `seed + i` and preempts at each port
 *               boundary with the given probability (by default a cycle of
 *               probabilities, see explore.c);
 *   systematic  every schedule that departs from the default one (no
 *               preemption; the seed decides forced switches) at no more than
 *               `bound` choice points, fewest departures first (iterative
 *               deepening, delay bounding). Exhaustive for small scenarios.
 */
#ifndef SNPSIM_SIM_EXPLORE_H
#define SNPSIM_SIM_EXPLORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "machine.h"
#include "scenario.h"

typedef struct explore_opts {
	uint64_t schedules; /* random: how many; systematic: at most this many (0: no cap) */
	uint64_t seed;      /* random: run i uses schedule seed seed + i; systematic: the seed */
	bool systematic;
	uint32_t bound;     /* systematic: departures from the default schedule */
	int64_t preempt_ppm; /* random: per million at each boundary; < 0: the default cycle */
	/* called after each schedule (progress display); may be NULL */
	void (*progress)(void *ctx, uint64_t schedules);
	void *progress_ctx;
} explore_opts_t;

typedef struct explore_result {
	uint64_t schedules; /* distinct schedules run and checked */
	uint64_t runs;      /* machine runs, systematic re-runs of shorter prefixes included */
	bool found;
	bool exhausted;     /* systematic: every schedule within the bound was checked */
	uint64_t found_at;  /* 1-based number of the schedule that failed */
	uint32_t found_bound; /* systematic: its departures from the default */
	uint64_t max_choice_points; /* the most choice points one run reached (recorded runs) */
	machine_result_t result;    /* the failing run's result */
	char *why;          /* how it missed the expectations (g_free) */
	double seconds;
} explore_result_t;

/*
 * Explores sc. On return with found set, sc's schedule is the failing one and
 * running sc again reproduces it. false only on a machine set-up error.
 */
bool explore_run(scenario_t *sc, const explore_opts_t *opts, explore_result_t *res,
		 GError **err);
void explore_result_clear(explore_result_t *res);

/*
 * Runs sc once with a trace writer, as `snpsim run --trace` does; *failed: the
 * run missed the scenario's expectations (as the schedule explore found must).
 */
bool explore_write_trace(const scenario_t *sc, const char *path, bool *failed, GError **err);

/* `snpsim explore ...`: argv[0] is the command's name. Returns the exit status. */
int explore_main(int argc, char **argv);

#endif /* SNPSIM_SIM_EXPLORE_H */
