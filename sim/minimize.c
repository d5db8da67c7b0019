/* SPDX-License-Identifier: MIT */
/*
 * Delta debugging over a scenario's lists. A candidate is the current scenario
 * with one chunk of one list removed (or one range halved); it replaces the
 * current one when it still validates and its run has the same signature.
 * Per list, chunks start at half the list and halve when no chunk of that size
 * can go (ddmin's complement step, which is what matters for fuzz findings:
 * most of a generated program is padding). Passes over all lists repeat until
 * one changes nothing, since a removal in one list can free another (a fault
 * that needed a step, a range that held a GHCB).
 */
#include "minimize.h"

#include <stdio.h>
#include <string.h>

#include "guestfw.h"
#include "hv.h"
#include "machine.h"
#include "names.h"
#include "simerr.h"

#define DEFAULT_MAX_RUNS 10000u
#define FIRST_BUDGET (1ull << 28)

/* ------------------------------------------------------------------ signatures */

bool sim_run_signature(const scenario_t *sc, uint64_t event_budget, sim_signature_t *out,
		       uint64_t *events, bool *met, GError **err)
{
	machine_opts_t opts = {.event_budget = event_budget};
	machine_t *m = machine_new(sc, &opts, err);
	if (!m)
		return false;
	const machine_result_t *r = machine_run(m);
	const machine_stats_t *st = machine_stats(m);
	memset(out, 0, sizeof(*out));
	out->outcome = r->outcome;
	if (r->outcome == SIM_OUTCOME_TERMINATED) {
		out->set = r->set;
		out->code = r->code;
	}
	if (r->outcome == SIM_OUTCOME_STOPPED)
		out->stop = r->stop;
	for (int i = 1; i < SIM_INV_MAX; i++)
		if (st->violations[i])
			out->violated |= 1u << i;
	if (events)
		*events = st->events;
	if (met)
		*met = machine_meets_expectations(m, NULL);
	machine_free(m);
	return true;
}

bool sim_signature_equal(const sim_signature_t *a, const sim_signature_t *b)
{
	return a->outcome == b->outcome && a->set == b->set && a->code == b->code &&
	       a->stop == b->stop && a->violated == b->violated;
}

char *sim_signature_describe(const sim_signature_t *s)
{
	GString *g = g_string_new(sim_outcome_to_string(s->outcome));
	if (s->outcome == SIM_OUTCOME_TERMINATED) {
		const char *n = gfw_term_name(s->set, s->code);
		if (n)
			g_string_append_printf(g, " %s", n);
		else
			g_string_append_printf(g, " %u/%u", s->set, s->code);
	} else if (s->outcome == SIM_OUTCOME_STOPPED) {
		g_string_append_printf(g, " %s", sim_stop_to_string(s->stop));
	}
	g_string_append(g, ", violations:");
	if (!s->violated)
		g_string_append(g, " none");
	for (int i = 1; i < SIM_INV_MAX; i++)
		if (s->violated & (1u << i))
			g_string_append_printf(g, " %s", sim_invariant_to_string((sim_invariant_t)i));
	return g_string_free(g, FALSE);
}

/* ------------------------------------------------------------------ the lists */

enum { L_PROGRAM = 0, L_FAULTS = SCENARIO_MAX_VCPUS, L_MEMORY, L_LAUNCH, L_LAZY, L_COUNT };

static GArray *list_of(scenario_t *sc, int l)
{
	if (l < L_FAULTS)
		return sc->program[l];
	switch (l) {
	case L_FAULTS: return sc->faults;
	case L_MEMORY: return sc->mem;
	case L_LAUNCH: return sc->launch;
	default: return sc->lazy;
	}
}

static void describe(GString *g, scenario_t *sc, int l, guint i)
{
	GArray *a = list_of(sc, l);
	if (l < L_FAULTS) {
		const gfw_step_t *st = &g_array_index(a, gfw_step_t, i);
		if (l == 0)
			g_string_append_printf(g, "program[%u]: %s", i, sim_step_to_string(st->kind));
		else
			g_string_append_printf(g, "programs[%d][%u]: %s", l, i,
					       sim_step_to_string(st->kind));
		if (st->kind == GFW_STEP_ACCEPT || st->kind == GFW_STEP_SHARED ||
		    st->kind == GFW_STEP_PRIVATE)
			g_string_append_printf(g, " 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x",
					       st->gpa, st->size);
		else if (st->kind == GFW_STEP_TOUCH)
			g_string_append_printf(g, " 0x%" G_GINT64_MODIFIER "x", st->gpa);
		return;
	}
	switch (l) {
	case L_FAULTS: {
		const hv_fault_t *f = &g_array_index(a, hv_fault_t, i);
		g_string_append_printf(g, "faults[%u]: %s on %s", i, hv_action_to_string(f->action),
				       hv_trigger_to_string(f->trigger));
		return;
	}
	case L_MEMORY: {
		const gfw_mem_entry_t *e = &g_array_index(a, gfw_mem_entry_t, i);
		g_string_append_printf(g, "machine.memory[%u]: %s 0x%" G_GINT64_MODIFIER
				       "x+0x%" G_GINT64_MODIFIER "x",
				       i, sim_mem_type_to_string(e->type), e->gpa, e->size);
		return;
	}
	case L_LAUNCH: {
		const sc_launch_t *x = &g_array_index(a, sc_launch_t, i);
		g_string_append_printf(g, "machine.launch[%u]: %s 0x%" G_GINT64_MODIFIER
				       "x+0x%" G_GINT64_MODIFIER "x",
				       i, sim_launch_type_to_string(x->type), x->gpa, x->size);
		return;
	}
	default: {
		const gfw_range_t *r = &g_array_index(a, gfw_range_t, i);
		g_string_append_printf(g, "guest.lazy_ranges[%u]: 0x%" G_GINT64_MODIFIER
				       "x+0x%" G_GINT64_MODIFIER "x",
				       i, r->gpa, r->size);
		return;
	}
	}
}

/* ------------------------------------------------------------------ the search */

typedef struct mctx {
	const minimize_opts_t *opts;
	minimize_stats_t *stats;
	sim_signature_t want;
	uint64_t budget;
	uint32_t max_runs;
	scenario_t *cur;
} mctx_t;

static scenario_t *sc_clone(const scenario_t *sc)
{
	char *j = scenario_to_json(sc, false);
	scenario_t *c = scenario_load_string(j, sc->origin, NULL);
	g_free(j);
	return c;
}

static bool out_of_runs(const mctx_t *m)
{
	return m->stats->runs >= m->max_runs;
}

/* Does cand fail the same way? Takes ownership of cand: it becomes current, or is freed. */
static bool try(mctx_t *m, scenario_t *cand, const char *what)
{
	sim_signature_t s;
	bool same = false;
	if (cand && scenario_validate(cand, NULL) && !out_of_runs(m)) {
		m->stats->runs++;
		same = sim_run_signature(cand, m->budget, &s, NULL, NULL, NULL) &&
		       sim_signature_equal(&s, &m->want);
	}
	if (!same) {
		scenario_free(cand);
		return false;
	}
	scenario_free(m->cur);
	m->cur = cand;
	if (m->opts && m->opts->removed)
		m->opts->removed(m->opts->removed_ctx, what);
	return true;
}

/* ddmin's complement step over one list; true if anything was removed. */
static bool shrink_list(mctx_t *m, int l)
{
	bool any = false;
	guint len = list_of(m->cur, l)->len;
	if (len == 0)
		return false;
	for (guint chunk = len > 1 ? len / 2 : 1; chunk >= 1 && !out_of_runs(m);) {
		bool progress = false;
		for (guint i = 0; i < list_of(m->cur, l)->len && !out_of_runs(m);) {
			guint n = MIN(chunk, list_of(m->cur, l)->len - i);
			GString *what = g_string_new("removed ");
			for (guint k = i; k < i + n; k++) {
				if (k > i)
					g_string_append(what, "; ");
				describe(what, m->cur, l, k);
			}
			scenario_t *cand = sc_clone(m->cur);
			if (cand)
				g_array_remove_range(list_of(cand, l), i, n);
			if (try(m, cand, what->str)) {
				m->stats->removed += n;
				progress = any = true;
			} else {
				i += n;
			}
			g_string_free(what, TRUE);
		}
		len = list_of(m->cur, l)->len;
		if (!progress) {
			if (chunk == 1)
				break;
			chunk /= 2;
		} else if (chunk > len) {
			chunk = len > 1 ? len / 2 : 1;
		}
		if (len == 0)
			break;
	}
	return any;
}

static uint64_t half_pages(uint64_t size)
{
	return (size / 2) & ~(uint64_t)(SNP_PAGE_SIZE - 1);
}

/* Halve RAM ranges and the ranges of program steps while the failure stays. */
static bool shrink_ranges(mctx_t *m)
{
	bool any = false;
	for (guint i = 0; i < m->cur->mem->len && !out_of_runs(m); i++) {
		for (;;) {
			const gfw_mem_entry_t *e = &g_array_index(m->cur->mem, gfw_mem_entry_t, i);
			uint64_t half = half_pages(e->size);
			if (e->type != GFW_MEM_RAM || half == 0)
				break;
			char *what = g_strdup_printf("shrunk machine.memory[%u]: size 0x%" G_GINT64_MODIFIER
						     "x -> 0x%" G_GINT64_MODIFIER "x",
						     i, e->size, half);
			scenario_t *cand = sc_clone(m->cur);
			if (cand)
				g_array_index(cand->mem, gfw_mem_entry_t, i).size = half;
			bool ok = try(m, cand, what);
			g_free(what);
			if (!ok)
				break;
			m->stats->shrunk++;
			any = true;
		}
	}
	for (int c = 0; c < (int)SCENARIO_MAX_VCPUS; c++) {
		for (guint i = 0; i < m->cur->program[c]->len && !out_of_runs(m); i++) {
			for (;;) {
				const gfw_step_t *st = &g_array_index(m->cur->program[c], gfw_step_t, i);
				uint64_t half = half_pages(st->size);
				if ((st->kind != GFW_STEP_ACCEPT && st->kind != GFW_STEP_SHARED &&
				     st->kind != GFW_STEP_PRIVATE) ||
				    half == 0)
					break;
				char *what = g_strdup_printf("shrunk program%s[%u]: %s size 0x%" G_GINT64_MODIFIER
							     "x -> 0x%" G_GINT64_MODIFIER "x",
							     c ? "s" : "", i, sim_step_to_string(st->kind),
							     st->size, half);
				scenario_t *cand = sc_clone(m->cur);
				if (cand)
					g_array_index(cand->program[c], gfw_step_t, i).size = half;
				bool ok = try(m, cand, what);
				g_free(what);
				if (!ok)
					break;
				m->stats->shrunk++;
				any = true;
			}
		}
	}
	return any;
}

scenario_t *scenario_minimize(const scenario_t *sc, const minimize_opts_t *opts,
			      minimize_stats_t *stats, GError **err)
{
	minimize_stats_t local = {0};
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (!scenario_validate(sc, err))
		return NULL;
	mctx_t m = {.opts = opts, .stats = stats};
	m.max_runs = opts && opts->max_runs ? opts->max_runs : DEFAULT_MAX_RUNS;
	uint64_t first = opts && opts->event_budget ? opts->event_budget : FIRST_BUDGET;
	uint64_t events = 0;
	bool met = false;
	stats->runs++;
	if (!sim_run_signature(sc, first, &m.want, &events, &met, err))
		return NULL;
	stats->signature = m.want;
	if (met) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "%s: the scenario meets its expectations: nothing fails to minimize",
			    sc->origin);
		return NULL;
	}
	/* a hang is relative to its budget: keep it; otherwise leave room above the original */
	if (opts && opts->event_budget)
		m.budget = opts->event_budget;
	else if (m.want.outcome == SIM_OUTCOME_STOPPED && m.want.stop == SIM_STOP_BUDGET)
		m.budget = first;
	else
		m.budget = MAX(events * 8, 1ull << 20);
	m.cur = sc_clone(sc);
	if (!m.cur) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL,
			    "%s: the scenario does not survive its own JSON round trip", sc->origin);
		return NULL;
	}
	for (bool changed = true; changed && !out_of_runs(&m);) {
		changed = false;
		/* faults and steps first: they are most of a fuzz finding */
		changed |= shrink_list(&m, L_FAULTS);
		for (int c = (int)SCENARIO_MAX_VCPUS - 1; c >= 0; c--)
			changed |= shrink_list(&m, L_PROGRAM + c);
		changed |= shrink_list(&m, L_LAZY);
		changed |= shrink_list(&m, L_LAUNCH);
		changed |= shrink_list(&m, L_MEMORY);
		changed |= shrink_ranges(&m);
	}
	return m.cur;
}

/* ------------------------------------------------------------------ snpsim minimize */

static void print_removed(void *ctx, const char *what)
{
	if (!*(const gboolean *)ctx)
		printf("  %s\n", what);
}

static guint count_steps(const scenario_t *sc)
{
	guint n = 0;
	for (int c = 0; c < (int)SCENARIO_MAX_VCPUS; c++)
		n += sc->program[c]->len;
	return n;
}

int minimize_main(int argc, char **argv)
{
	char *out = NULL, *budget_str = NULL;
	gint max_runs = 0;
	gboolean quiet = FALSE;
	GOptionEntry entries[] = {
		{"output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		 "Write the minimal scenario to FILE (default: SCENARIO with .min.json)", "FILE"},
		{"budget", 0, 0, G_OPTION_ARG_STRING, &budget_str,
		 "Event budget of each run (default: 8 x the original run's events)", "N"},
		{"max-runs", 0, 0, G_OPTION_ARG_INT, &max_runs,
		 "Stop shrinking after N runs (default 10000)", "N"},
		{"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the result line", NULL},
		{NULL}};
	GOptionContext *ctx = g_option_context_new("SCENARIO - shrink a failing scenario");
	g_option_context_set_summary(
		ctx, "Shrinks SCENARIO, which must fail (not meet its expectations), by delta "
		     "debugging:\nprogram steps, faults, memory, launch and lazy ranges are "
		     "removed, and ranges halved,\nwhile the run still fails the same way: the "
		     "same outcome, termination or stop reason\nand set of violated invariants. "
		     "Prints what was removed and writes the result.");
	g_option_context_set_description(ctx, "Exit status: 0 written; 1 internal error; 2 bad "
					      "input or usage (including a scenario that does not "
					      "fail).\n");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = 2;
	scenario_t *sc = NULL, *min = NULL;
	char *path = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "snpsim minimize: %s\n", err->message);
		goto out;
	}
	if (argc != 2) {
		fprintf(stderr, "snpsim minimize: expected one SCENARIO file\n");
		goto out;
	}
	minimize_opts_t opts = {.removed = print_removed, .removed_ctx = &quiet};
	if (budget_str) {
		char *end = NULL;
		opts.event_budget = g_ascii_strtoull(budget_str, &end, 0);
		if (!end || *end || opts.event_budget == 0) {
			fprintf(stderr, "snpsim minimize: --budget: \"%s\" is not a positive integer\n",
				budget_str);
			goto out;
		}
	}
	if (max_runs < 0) {
		fprintf(stderr, "snpsim minimize: --max-runs: %d is negative\n", max_runs);
		goto out;
	}
	opts.max_runs = (uint32_t)max_runs;
	sc = scenario_load_file(argv[1], &err);
	if (!sc)
		goto out;
	minimize_stats_t st;
	min = scenario_minimize(sc, &opts, &st, &err);
	if (!min) {
		if (err && err->code == SNPSIM_ERROR_INTERNAL)
			rc = 1;
		goto out;
	}
	if (out)
		path = g_strdup(out);
	else if (g_str_has_suffix(argv[1], ".json"))
		path = g_strdup_printf("%.*s.min.json", (int)strlen(argv[1]) - 5, argv[1]);
	else
		path = g_strconcat(argv[1], ".min.json", NULL);
	char *json = scenario_to_json(min, true);
	char *text = g_strconcat(json, "\n", NULL);
	g_free(json);
	bool ok = g_file_set_contents(path, text, -1, &err);
	g_free(text);
	if (!ok)
		goto out;
	char *sig = sim_signature_describe(&st.signature);
	printf("snpsim minimize: %s: fails as \"%s\"; %u runs; %u removed, %u shrunk: steps %u -> "
	       "%u, faults %u -> %u, memory ranges %u -> %u, launch ranges %u -> %u; written to %s\n",
	       argv[1], sig, st.runs, st.removed, st.shrunk, count_steps(sc), count_steps(min),
	       sc->faults->len, min->faults->len, sc->mem->len, min->mem->len, sc->launch->len,
	       min->launch->len, path);
	g_free(sig);
	rc = 0;
out:
	if (err) {
		fprintf(stderr, "snpsim minimize: %s\n", err->message);
		g_error_free(err);
	}
	scenario_free(min);
	scenario_free(sc);
	g_free(path);
	g_free(out);
	g_free(budget_str);
	g_option_context_free(ctx);
	return rc;
}
