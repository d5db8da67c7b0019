/* SPDX-License-Identifier: MIT */
/*
 * The deterministic scheduler and its explicit choice list (machine.h), and the
 * systematic search built on them (explore.h), on the scenarios of
 * traces/explore/ (argv[1] is that directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "explore.h"
#include "machine.h"
#include "scenario.h"

static const char *dir;

static scenario_t *load(const char *name)
{
	char *path = g_strdup_printf("%s/%s.json", dir, name);
	GError *err = NULL;
	scenario_t *sc = scenario_load_file(path, &err);
	if (!sc)
		fail_msg("%s", err->message);
	g_free(path);
	return sc;
}

static void record(void *ctx, const machine_choice_t *c)
{
	g_array_append_val((GArray *)ctx, *c);
}

/* Runs sc with the choice observer; returns the choice points; *met: expectations met. */
static GArray *run_recorded(const scenario_t *sc, bool *met)
{
	GArray *pts = g_array_new(FALSE, FALSE, sizeof(machine_choice_t));
	machine_opts_t mo = {.on_choice = record, .choice_ctx = pts};
	GError *err = NULL;
	machine_t *m = machine_new(sc, &mo, &err);
	if (!m)
		fail_msg("%s", err->message);
	machine_run(m);
	if (met)
		*met = machine_meets_expectations(m, NULL);
	machine_free(m);
	return pts;
}

static bool same_points(const GArray *a, const GArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++) {
		const machine_choice_t *x = &g_array_index(a, machine_choice_t, i);
		const machine_choice_t *y = &g_array_index(b, machine_choice_t, i);
		if (x->index != y->index || x->vcpu != y->vcpu || x->ready != y->ready ||
		    x->chosen != y->chosen || x->forced != y->forced)
			return false;
	}
	return true;
}

static void same_seed_gives_the_same_schedule(void **state)
{
	(void)state;
	scenario_t *sc = load("accept-4vcpu");
	sc->sched_seed = 7;
	sc->preempt_ppm = 300000;
	GArray *a = run_recorded(sc, NULL), *b = run_recorded(sc, NULL);
	assert_true(a->len > 10);
	assert_true(same_points(a, b));
	g_array_free(a, TRUE);
	g_array_free(b, TRUE);
	scenario_free(sc);
}

static void different_seeds_give_different_schedules(void **state)
{
	(void)state;
	scenario_t *sc = load("accept-4vcpu");
	sc->preempt_ppm = 300000;
	sc->sched_seed = 1;
	GArray *first = run_recorded(sc, NULL);
	int differ = 0;
	for (uint64_t s = 2; s <= 10; s++) {
		sc->sched_seed = s;
		GArray *p = run_recorded(sc, NULL);
		differ += !same_points(first, p);
		g_array_free(p, TRUE);
	}
	assert_int_equal(differ, 9);
	g_array_free(first, TRUE);
	scenario_free(sc);
}

/* Each choice point offers two or more vCPUs, and says whether the current one is among them. */
static void every_choice_point_is_a_real_choice(void **state)
{
	(void)state;
	scenario_t *sc = load("accept-4vcpu");
	sc->preempt_ppm = 200000;
	GArray *p = run_recorded(sc, NULL);
	bool saw_forced = false;
	for (guint i = 0; i < p->len; i++) {
		const machine_choice_t *c = &g_array_index(p, machine_choice_t, i);
		assert_int_equal(c->index, i);
		assert_true(__builtin_popcount(c->ready) >= 2);
		assert_true((c->ready >> c->chosen) & 1u);
		assert_int_equal(!!((c->ready >> c->vcpu) & 1u), !c->forced);
		assert_false(c->listed);
		saw_forced |= c->forced;
	}
	assert_true(saw_forced); /* spin-waits of the accept lock: three vCPUs wait at once */
	g_array_free(p, TRUE);
	scenario_free(sc);
}

/* Without preemption the default is to go on: every unforced point chooses its own vCPU. */
static void no_preemption_means_the_current_vcpu_goes_on(void **state)
{
	(void)state;
	scenario_t *sc = load("race-accept-without-inflight");
	GArray *p = run_recorded(sc, NULL);
	assert_true(p->len > 0);
	for (guint i = 0; i < p->len; i++) {
		const machine_choice_t *c = &g_array_index(p, machine_choice_t, i);
		if (!c->forced)
			assert_int_equal(c->chosen, c->vcpu);
	}
	g_array_free(p, TRUE);
	scenario_free(sc);
}

/* A listed choice is taken at its point; before it the run is the default run. */
static void a_listed_choice_is_taken_at_its_point(void **state)
{
	(void)state;
	scenario_t *sc = load("race-accept-without-inflight");
	GArray *dflt = run_recorded(sc, NULL);
	assert_true(dflt->len > 4);
	const machine_choice_t *k = &g_array_index(dflt, machine_choice_t, 3);
	uint32_t other = k->chosen == 0 ? 1 : 0;
	sc_choice_t ch = {.at = 3, .vcpu = other};
	g_array_append_val(sc->sched_choices, ch);
	GArray *p = run_recorded(sc, NULL);
	assert_true(p->len > 3);
	GArray *head = g_array_new(FALSE, FALSE, sizeof(machine_choice_t));
	g_array_append_vals(head, p->data, 3);
	GArray *dhead = g_array_new(FALSE, FALSE, sizeof(machine_choice_t));
	g_array_append_vals(dhead, dflt->data, 3);
	assert_true(same_points(head, dhead));
	g_array_free(head, TRUE);
	g_array_free(dhead, TRUE);
	const machine_choice_t *c = &g_array_index(p, machine_choice_t, 3);
	assert_int_equal(c->chosen, other);
	assert_true(c->listed);
	g_array_free(dflt, TRUE);
	g_array_free(p, TRUE);
	scenario_free(sc);
}

/* A listed vCPU that cannot run at that point (not created yet) leaves the decision to the seed. */
static void a_listed_vcpu_that_cannot_run_is_ignored(void **state)
{
	(void)state;
	scenario_t *sc = load("accept-4vcpu");
	GArray *dflt = run_recorded(sc, NULL);
	guint k = 0;
	while (k < dflt->len && ((g_array_index(dflt, machine_choice_t, k).ready >> 3) & 1u))
		k++;
	assert_true(k < dflt->len); /* early on, AP 3 does not exist yet */
	sc_choice_t ch = {.at = k, .vcpu = 3};
	g_array_append_val(sc->sched_choices, ch);
	GArray *p = run_recorded(sc, NULL);
	const machine_choice_t *c = &g_array_index(p, machine_choice_t, k);
	assert_false(c->listed);
	assert_true(same_points(dflt, p));
	g_array_free(dflt, TRUE);
	g_array_free(p, TRUE);
	scenario_free(sc);
}

static void choices_round_trip_and_stay_absent_when_empty(void **state)
{
	(void)state;
	scenario_t *sc = load("accept-2vcpu");
	char *j0 = scenario_to_json(sc, false);
	assert_null(strstr(j0, "choices")); /* older goldens' headers are unchanged */
	sc_choice_t ch[] = {{.at = 5, .vcpu = 1}, {.at = 90, .vcpu = 0}};
	g_array_append_vals(sc->sched_choices, ch, 2);
	char *j = scenario_to_json(sc, false);
	assert_non_null(strstr(j, "\"choices\":[[5,1],[90,0]]"));
	GError *err = NULL;
	scenario_t *back = scenario_load_string(j, "round-trip", &err);
	if (!back)
		fail_msg("%s", err->message);
	assert_int_equal(back->sched_choices->len, 2);
	for (guint i = 0; i < 2; i++) {
		assert_int_equal(g_array_index(back->sched_choices, sc_choice_t, i).at, ch[i].at);
		assert_int_equal(g_array_index(back->sched_choices, sc_choice_t, i).vcpu, ch[i].vcpu);
	}
	g_free(j0);
	g_free(j);
	scenario_free(back);
	scenario_free(sc);
}

static void bad_choices_are_named_errors(void **state)
{
	(void)state;
	static const struct {
		const char *choices, *msg;
	} rows[] = {
		{"[[3,1],[3,0]]", "$.schedule.choices[1]: choice points must be strictly increasing"},
		{"[[3,2]]", "$.schedule.choices[0]: vCPU 2 does not exist (2 vCPUs)"},
		{"[[3]]", "$.schedule.choices[0]: expected [choice point, vCPU]"},
		{"[3]", "$.schedule.choices[0]: expected [choice point, vCPU]"},
		{"{}", "$.schedule.choices"},
	};
	scenario_t *sc = load("accept-2vcpu");
	char *j = scenario_to_json(sc, false);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		char *tail = strstr(j, "\"preempt_probability\":0.0}");
		assert_non_null(tail);
		char *bad = g_strdup_printf("%.*s\"preempt_probability\":0.0,\"choices\":%s}%s",
					    (int)(tail - j), j, rows[i].choices,
					    tail + strlen("\"preempt_probability\":0.0}"));
		GError *err = NULL;
		scenario_t *b = scenario_load_string(bad, "bad", &err);
		assert_null(b);
		if (!strstr(err->message, rows[i].msg))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err->message, rows[i].msg);
		g_error_free(err);
		g_free(bad);
	}
	g_free(j);
	scenario_free(sc);
}

/* Bound 1 is the default schedule plus one departure per other candidate of each point. */
static void systematic_bound_one_visits_each_single_departure_once(void **state)
{
	(void)state;
	scenario_t *sc = load("race-inflight-off-by-one");
	sc->policy.bugs = 0; /* the fixed guest: nothing to find, the whole tree is walked */
	GArray *dflt = run_recorded(sc, NULL);
	uint64_t expect = 1;
	for (guint i = 0; i < dflt->len; i++)
		expect += (uint64_t)__builtin_popcount(g_array_index(dflt, machine_choice_t, i).ready) - 1;
	explore_opts_t o = {.systematic = true, .bound = 1, .seed = 1};
	explore_result_t r;
	GError *err = NULL;
	assert_true(explore_run(sc, &o, &r, &err));
	assert_false(r.found);
	assert_true(r.exhausted);
	assert_int_equal(r.schedules, expect);
	assert_int_equal(r.runs, expect + 1); /* the default run again, to learn its points */
	explore_result_clear(&r);
	o.bound = 0;
	assert_true(explore_run(sc, &o, &r, &err));
	assert_int_equal(r.schedules, 1);
	assert_true(r.exhausted);
	explore_result_clear(&r);
	o.bound = 1;
	o.schedules = 5; /* a cap stops the walk early */
	assert_true(explore_run(sc, &o, &r, &err));
	assert_int_equal(r.schedules, 5);
	assert_false(r.exhausted);
	explore_result_clear(&r);
	g_array_free(dflt, TRUE);
	scenario_free(sc);
}

/* The found schedule is left in the scenario, and running it again fails again, identically. */
static void a_found_schedule_reproduces_from_the_scenario(void **state)
{
	(void)state;
	static const char *const races[] = {"race-inflight-page-granularity",
					    "race-inflight-off-by-one",
					    "race-accept-without-inflight"};
	for (size_t i = 0; i < G_N_ELEMENTS(races); i++) {
		for (int sys = 0; sys <= 1; sys++) {
			scenario_t *sc = load(races[i]);
			explore_opts_t o = {.systematic = sys, .bound = 1, .seed = 1,
					    .schedules = sys ? 0 : 100, .preempt_ppm = -1};
			explore_result_t r;
			GError *err = NULL;
			assert_true(explore_run(sc, &o, &r, &err));
			if (!r.found)
				fail_msg("%s (%s): not found", races[i], sys ? "systematic" : "random");
			assert_int_equal(r.found_at, r.schedules);
			if (sys)
				assert_int_equal(sc->sched_choices->len, 1);
			bool met = true;
			GArray *a = run_recorded(sc, &met);
			assert_false(met);
			GArray *b = run_recorded(sc, NULL);
			assert_true(same_points(a, b));
			g_array_free(a, TRUE);
			g_array_free(b, TRUE);
			explore_result_clear(&r);
			scenario_free(sc);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s TRACES_EXPLORE_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_seed_gives_the_same_schedule),
		cmocka_unit_test(different_seeds_give_different_schedules),
		cmocka_unit_test(every_choice_point_is_a_real_choice),
		cmocka_unit_test(no_preemption_means_the_current_vcpu_goes_on),
		cmocka_unit_test(a_listed_choice_is_taken_at_its_point),
		cmocka_unit_test(a_listed_vcpu_that_cannot_run_is_ignored),
		cmocka_unit_test(choices_round_trip_and_stay_absent_when_empty),
		cmocka_unit_test(bad_choices_are_named_errors),
		cmocka_unit_test(systematic_bound_one_visits_each_single_departure_once),
		cmocka_unit_test(a_found_schedule_reproduces_from_the_scenario),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
