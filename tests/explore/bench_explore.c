/* SPDX-License-Identifier: MIT */
/*
 * Benchmark and large-exploration target: N random schedules (default 10,000,
 * issue #7's "survives a large exploration") of each scenario given, on the
 * fixed guest. Prints one JSON line per scenario; the first is the 2-vCPU
 * accept scenario's explore.schedules_per_s. Exits 1 if any schedule fails.
 *
 *   bench_explore [-n N] SCENARIO [NAME SCENARIO ...]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"

static int one(const char *metric, const char *path, uint64_t n)
{
	GError *err = NULL;
	scenario_t *sc = scenario_load_file(path, &err);
	if (!sc) {
		fprintf(stderr, "bench_explore: %s\n", err->message);
		g_error_free(err);
		return 2;
	}
	explore_opts_t o = {.schedules = n, .seed = sc->sched_seed, .preempt_ppm = -1};
	explore_result_t r;
	if (!explore_run(sc, &o, &r, &err)) {
		fprintf(stderr, "bench_explore: %s\n", err->message);
		g_error_free(err);
		scenario_free(sc);
		return 2;
	}
	int rc = 0;
	if (r.found) {
		fprintf(stderr, "bench_explore: %s: schedule %" G_GUINT64_FORMAT " (seed %" G_GUINT64_FORMAT
			") failed: %s\n",
			path, r.found_at, sc->sched_seed, r.why);
		rc = 1;
	}
	printf("{\"name\":\"%s\",\"value\":%.1f,\"unit\":\"schedules/s\"}\n", metric,
	       r.seconds > 0 ? r.schedules / r.seconds : 0.0);
	fprintf(stderr, "bench_explore: %s: %" G_GUINT64_FORMAT " schedules, no failure%s, %.2f s\n",
		path, r.schedules, r.found ? " until the one above" : "", r.seconds);
	explore_result_clear(&r);
	scenario_free(sc);
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t n = 10000;
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		n = g_ascii_strtoull(argv[2], NULL, 10);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: %s [-n N] SCENARIO [NAME SCENARIO ...]\n", argv[0]);
		return 2;
	}
	int rc = one("explore.schedules_per_s", argv[i++], n);
	for (; i + 1 < argc && rc != 2; i += 2) {
		int r = one(argv[i], argv[i + 1], n);
		rc = r > rc ? r : rc;
	}
	return rc;
}
