/* SPDX-License-Identifier: MIT */
/* Scenario parsing: the canonical form round-trips, and bad input is a named error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "scenario.h"
#include "simerr.h"

static void default_round_trips_through_json(void **state)
{
	(void)state;
	scenario_t *sc = scenario_default();
	GError *err = NULL;
	assert_true(scenario_validate(sc, &err));
	char *j1 = scenario_to_json(sc, true);
	scenario_t *back = scenario_load_string(j1, "round-trip", &err);
	if (!back)
		fail_msg("%s", err->message);
	char *j2 = scenario_to_json(back, true);
	assert_string_equal(j1, j2);
	assert_int_equal(back->program[0]->len, sc->program[0]->len);
	assert_int_equal(back->mem->len, sc->mem->len);
	g_free(j1);
	g_free(j2);
	scenario_free(back);
	scenario_free(sc);
}

/* The fault plan survives the trip field for field (a trace's replay depends on it). */
static void faults_round_trip_exactly(void **state)
{
	(void)state;
	scenario_t *sc = scenario_default();
	hv_fault_t plan[] = {
		{.trigger = HV_TRIG_GHCB_PSC, .action = HV_ACT_FORCE_4K, .gfn = HV_GFN_FROM_TRIGGER},
		{.trigger = HV_TRIG_MSR_PSC, .action = HV_ACT_FAIL, .nth = 3, .arg = 7,
		 .gfn_first = 0x100, .gfn_last = 0x1ff, .max_fires = 2, .gfn = HV_GFN_FROM_TRIGGER},
		{.trigger = HV_TRIG_NAE, .exit_code = 0x80000010u, .action = HV_ACT_PARTIAL,
		 .prob_ppm = 250000, .arg = 5, .gfn = 0x1234},
	};
	g_array_set_size(sc->faults, 0);
	g_array_append_vals(sc->faults, plan, G_N_ELEMENTS(plan));
	GError *err = NULL;
	char *j = scenario_to_json(sc, false);
	scenario_t *back = scenario_load_string(j, "round-trip", &err);
	if (!back)
		fail_msg("%s", err->message);
	assert_int_equal(back->faults->len, G_N_ELEMENTS(plan));
	for (size_t i = 0; i < G_N_ELEMENTS(plan); i++) {
		const hv_fault_t *f = &g_array_index(back->faults, hv_fault_t, i);
		assert_int_equal(f->trigger, plan[i].trigger);
		assert_int_equal(f->action, plan[i].action);
		assert_int_equal(f->exit_code, plan[i].exit_code);
		assert_int_equal(f->nth, plan[i].nth);
		assert_int_equal(f->gfn_first, plan[i].gfn_first);
		assert_int_equal(f->gfn_last, plan[i].gfn_last);
		assert_int_equal(f->prob_ppm, plan[i].prob_ppm); /* 0: always, not 1 ppm */
		assert_int_equal(f->max_fires, plan[i].max_fires);
		assert_int_equal(f->arg, plan[i].arg);
		assert_int_equal(f->gfn, plan[i].gfn);
	}
	g_free(j);
	scenario_free(back);
	scenario_free(sc);
}

static void minimal_scenario_gets_defaults(void **state)
{
	(void)state;
	GError *err = NULL;
	scenario_t *sc = scenario_load_string(
		"{\"snpsim_scenario\":1,"
		"\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\"}],\"ghcb\":[\"0x1000\"]},"
		"\"program\":[{\"step\":\"boot\"},"
		"{\"step\":\"accept\",\"gpa\":\"16M\",\"size\":\"0x200000\"},"
		"{\"step\":\"touch\",\"gpa\":\"0x1000008\",\"write\":true}]}",
		"min", &err);
	if (!sc)
		fail_msg("%s", err->message);
	assert_int_equal(sc->asid, 1);
	assert_int_equal(sc->vcpus, 1);
	assert_int_equal(sc->policy.batch, 253);
	assert_true(sc->policy.use_2m);
	assert_int_equal(sc->program[0]->len, 3);
	const gfw_step_t *st = (const gfw_step_t *)sc->program[0]->data;
	assert_int_equal(st[1].gpa, 16ull << 20);
	assert_int_equal(st[1].size, 2ull << 20);
	assert_int_equal(st[2].arg & 1, 1);
	scenario_free(sc);
}

#define MEM "\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\"}],\"ghcb\":[\"0x1000\"]}"
#define PROG "\"program\":[{\"step\":\"boot\"}]"

static void bad_input_names_file_place_and_problem(void **state)
{
	(void)state;
	static const struct {
		const char *json, *needle;
	} rows[] = {
		{"{", "bad.json:1: malformed JSON"},
		{"{\"snpsim_scenario\":1,\n\"name\":}", "bad.json:2: malformed JSON"},
		{"[]", "$: expected an object"},
		{"{\"name\":\"x\"}", "not an snpsim scenario"},
		{"{\"snpsim_scenario\":2}", "$.snpsim_scenario: version 2 is not supported"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"colour\":1}", "$: unknown field \"colour\""},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"dance\"}]}",
		 "$.program[0].step: unknown step \"dance\""},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":\"0x1001\","
		 "\"size\":\"4K\"}]}",
		 "$.program[0].gpa: 0x1001 is not 4 KiB aligned"},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":0,"
		 "\"size\":\"0xffffffffffff000\"}]}",
		 "$.program[0].size: 0xffffffffffff000 is absurd"},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":\"128M\","
		 "\"size\":\"4K\"}]}",
		 "$.program[0]: 0x8000000+0x1000 is not inside one RAM range"},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":0}]}",
		 "$.program[0]: missing field \"size\""},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":0,"
		 "\"size\":\"4Q\"}]}",
		 "unknown suffix"},
		{"{\"snpsim_scenario\":1," MEM ",\"program\":[{\"step\":\"accept\",\"gpa\":-4096,"
		 "\"size\":\"4K\"}]}",
		 "negative number"},
		{"{\"snpsim_scenario\":1,\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\"},"
		 "{\"gpa\":\"32M\",\"size\":\"64M\"}],\"ghcb\":[\"0x1000\"]}," PROG "}",
		 "$.machine.memory[1]: 0x2000000 overlaps"},
		{"{\"snpsim_scenario\":1,\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\","
		 "\"type\":\"rom\"}]}," PROG "}",
		 "$.machine.memory[0].type: unknown memory type \"rom\""},
		{"{\"snpsim_scenario\":1,\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\"}]}," PROG
		 "}",
		 "$.machine.ghcb: vCPU 0 has no GHCB page"},
		{"{\"snpsim_scenario\":1,\"machine\":{\"asid\":0," "\"memory\":[{\"gpa\":0,"
		 "\"size\":\"64M\"}],\"ghcb\":[\"0x1000\"]}," PROG "}",
		 "$.machine.asid: ASID 0 is not in 1..1023"},
		{"{\"snpsim_scenario\":1,\"machine\":{\"vcpus\":99}}", "$.machine.vcpus: 99 is out of range"},
		{"{\"snpsim_scenario\":1,\"machine\":{\"memory\":[{\"gpa\":0,\"size\":\"64M\"}],"
		 "\"launch\":[{\"gpa\":\"0x10000\",\"size\":\"0x2000\",\"type\":\"cpuid\"}],"
		 "\"ghcb\":[\"0x1000\"]}," PROG "}",
		 "$.machine.launch[0]: a cpuid page is one 4 KiB page"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"guest\":{\"batch\":254}}",
		 "$.guest.batch: 254 is out of range"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"guest\":{\"lazy\":\"sometimes\"}}",
		 "$.guest.lazy: unknown lazy mode"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"guest\":{\"use_2m\":\"yes\"}}",
		 "$.guest.use_2m: expected true or false"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"faults\":[{\"trigger\":\"never\","
		 "\"action\":\"fail\"}]}",
		 "$.faults[0].trigger: unknown trigger \"never\""},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"faults\":[{\"trigger\":\"ghcb_psc\","
		 "\"action\":\"explode\"}]}",
		 "$.faults[0].action: unknown action \"explode\""},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"faults\":[{\"trigger\":\"ghcb_psc\","
		 "\"action\":\"fail\",\"probability\":1.5}]}",
		 "$.faults[0].probability: 1.5 is not in [0, 1]"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"expect\":{\"outcome\":\"exploded\"}}",
		 "$.expect.outcome: unknown outcome \"exploded\""},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"expect\":{\"outcome\":\"terminated\","
		 "\"reason\":\"GFW_TERM_BORED\"}}",
		 "$.expect.reason: unknown termination reason"},
		{"{\"snpsim_scenario\":1," MEM "," PROG ",\"expect\":{\"violations\":[\"nope\"]}}",
		 "$.expect.violations[0]: unknown invariant \"nope\""},
		{"{\"snpsim_scenario\":1," MEM "," PROG "} trailing", "trailing content"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		GError *err = NULL;
		scenario_t *sc = scenario_load_string(rows[i].json, "bad.json", &err);
		if (sc)
			fail_msg("row %zu accepted: %s", i, rows[i].json);
		if (!strstr(err->message, rows[i].needle) || !strstr(err->message, "bad.json"))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err->message, rows[i].needle);
		assert_int_equal(err->domain, SNPSIM_ERROR);
		assert_int_equal(err->code, SNPSIM_ERROR_INPUT);
		g_error_free(err);
	}
}

static void faults_file_replaces_the_plan(void **state)
{
	(void)state;
	scenario_t *sc = scenario_default();
	char *dir = g_dir_make_tmp("snpsim-sc-XXXXXX", NULL);
	char *path = g_build_filename(dir, "f.json", NULL);
	GError *err = NULL;
	assert_true(g_file_set_contents(
		path, "{\"faults\":[{\"trigger\":\"ghcb_psc\",\"nth\":2,\"action\":\"partial\",\"arg\":3}]}",
		-1, NULL));
	if (!scenario_load_faults_file(sc, path, &err))
		fail_msg("%s", err->message);
	assert_int_equal(sc->faults->len, 1);
	hv_fault_t *f = &g_array_index(sc->faults, hv_fault_t, 0);
	assert_int_equal(f->trigger, HV_TRIG_GHCB_PSC);
	assert_int_equal(f->action, HV_ACT_PARTIAL);
	assert_int_equal(f->nth, 2);
	assert_int_equal(f->arg, 3);
	assert_true(g_file_set_contents(path, "{\"faults\":[{\"trigger\":\"ghcb_psc\"}]}", -1, NULL));
	assert_false(scenario_load_faults_file(sc, path, &err));
	assert_non_null(strstr(err->message, "$.faults[0]: missing field \"action\""));
	g_clear_error(&err);
	remove(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	scenario_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_round_trips_through_json),
		cmocka_unit_test(faults_round_trip_exactly),
		cmocka_unit_test(minimal_scenario_gets_defaults),
		cmocka_unit_test(bad_input_names_file_place_and_problem),
		cmocka_unit_test(faults_file_replaces_the_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
