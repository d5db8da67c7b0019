/* SPDX-License-Identifier: MIT */
/*
 * snpsim explore: many schedules of one scenario, each on a fresh machine,
 * until one violates an invariant or misses the scenario's expectations.
 *
 * Random mode drives the machine's seeded scheduler (schedule.seed,
 * preempt_probability). Systematic mode drives it through schedule.choices:
 * a schedule is the set of choice points where it departs from the default
 * (continue the current vCPU; at a forced switch, the seed's pick), and the
 * search visits every set of at most `bound` departures, fewest first. A run's
 * choice points are learnt by running it with the machine's choice observer;
 * a child departs at a point after its parent's last departure, so each set is
 * visited once. Iterative deepening re-runs the shorter prefixes at each depth
 * instead of storing them: memory stays at bound x (choice points of one run).
 *
 * Either way the failing schedule is left in the scenario, so the trace written
 * from it embeds exactly the schedule that failed and `snpsim replay` reruns it.
 */
#include "explore.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "simerr.h"
#include "trace.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define DEFAULT_SCHEDULES 1000u
#define DEFAULT_BOUND 2u
/* seeds stay below 2^53 so that the trace header's JSON integer is exact everywhere */
#define SEED_MAX ((1ull << 53) - 1)

/*
 * Random mode without --preempt-probability and with none in the scenario: run
 * i preempts with ppm_cycle[i % 4]. Coarse schedules (rare preemption) and fine
 * ones (a switch at every other boundary) find different races: on
 * traces/explore/accept-4vcpu.json the page-granularity race takes 308
 * schedules at 0.5 and 1 at 0.01 (traces/explore/README.md).
 */
static const uint32_t ppm_cycle[] = {500000, 200000, 50000, 10000};

typedef struct explorer {
	scenario_t *sc;
	const explore_opts_t *opts;
	explore_result_t *res;
	GError **err;
	bool stop;       /* found, capped or failed: unwind */
	bool failed;     /* machine set-up error (*err set) */
	GArray *path;    /* sc_choice_t: the departures of the schedule being built */
	GArray *found;   /* sc_choice_t: the departures of the failing schedule */
} explorer_t;

static void record_choice(void *ctx, const machine_choice_t *c)
{
	g_array_append_val((GArray *)ctx, *c);
}

/*
 * One run of sc as it stands. points: if not NULL, receives the run's choice
 * points. Returns false when the run failed the scenario (res filled in) or the
 * machine could not be set up (x->failed).
 */
static bool run_once(explorer_t *x, GArray *points)
{
	machine_opts_t mo = {0};
	if (points) {
		g_array_set_size(points, 0);
		mo.on_choice = record_choice;
		mo.choice_ctx = points;
	}
	machine_t *m = machine_new(x->sc, &mo, x->err);
	if (!m) {
		x->failed = x->stop = true;
		return false;
	}
	machine_run(m);
	x->res->runs++;
	if (points && points->len > x->res->max_choice_points)
		x->res->max_choice_points = points->len;
	char *why = NULL;
	bool ok = machine_meets_expectations(m, &why);
	if (!ok) {
		g_array_set_size(x->found, 0);
		g_array_append_vals(x->found, x->sc->sched_choices->data, x->sc->sched_choices->len);
		x->res->found = true;
		x->res->result = *machine_result(m);
		g_free(x->res->why);
		x->res->why = why;
		x->stop = true;
	} else {
		g_free(why);
	}
	machine_free(m);
	return ok;
}

/* A distinct schedule is checked: count it, report progress, honour the cap. */
static void counted(explorer_t *x)
{
	x->res->schedules++;
	if (x->res->found)
		x->res->found_at = x->res->schedules;
	if (x->opts->progress)
		x->opts->progress(x->opts->progress_ctx, x->res->schedules);
	if (x->opts->schedules && x->res->schedules >= x->opts->schedules)
		x->stop = true;
}

static void set_choices(explorer_t *x)
{
	g_array_set_size(x->sc->sched_choices, 0);
	g_array_append_vals(x->sc->sched_choices, x->path->data, x->path->len);
}

/* ------------------------------------------------------------------ random */

static void explore_random(explorer_t *x)
{
	g_array_set_size(x->sc->sched_choices, 0);
	for (uint64_t i = 0; i < x->opts->schedules && !x->stop; i++) {
		x->sc->sched_seed = (x->opts->seed + i) & SEED_MAX;
		x->sc->preempt_ppm = x->opts->preempt_ppm >= 0
					     ? (uint32_t)x->opts->preempt_ppm
					     : ppm_cycle[i % G_N_ELEMENTS(ppm_cycle)];
		run_once(x, NULL);
		if (x->failed)
			return;
		counted(x);
	}
}

/* ------------------------------------------------------------------ systematic */

/*
 * The schedule x->path (depth departures) and, while depth < bound, every
 * schedule that adds departures after its last one. Only schedules with
 * exactly `bound` departures are checked here: the shorter ones were checked
 * by the previous passes and are only re-run to learn their choice points.
 */
static void dfs(explorer_t *x, uint32_t depth, uint32_t bound)
{
	set_choices(x);
	if (depth == bound) {
		run_once(x, NULL);
		if (!x->failed) {
			if (x->res->found)
				x->res->found_bound = depth;
			counted(x);
		}
		return;
	}
	GArray *points = g_array_new(FALSE, FALSE, sizeof(machine_choice_t));
	if (!run_once(x, points)) {
		/* cannot happen for a schedule an earlier pass checked; report it anyway */
		if (!x->failed) {
			x->res->found_bound = depth;
			counted(x);
		}
		g_array_free(points, TRUE);
		return;
	}
	uint64_t after = x->path->len
				 ? g_array_index(x->path, sc_choice_t, x->path->len - 1).at + 1
				 : 0;
	for (guint i = 0; i < points->len && !x->stop; i++) {
		const machine_choice_t *c = &g_array_index(points, machine_choice_t, i);
		if (c->index < after)
			continue;
		for (uint32_t v = 0; v < 32 && !x->stop; v++) {
			if (!((c->ready >> v) & 1u) || v == c->chosen)
				continue;
			sc_choice_t d = {.at = c->index, .vcpu = v};
			g_array_append_val(x->path, d);
			dfs(x, depth + 1, bound);
			g_array_set_size(x->path, x->path->len - 1);
		}
	}
	g_array_free(points, TRUE);
}

static void explore_systematic(explorer_t *x)
{
	x->sc->sched_seed = x->opts->seed & SEED_MAX;
	x->sc->preempt_ppm = 0; /* the default schedule: no preemption */
	for (uint32_t b = 0; b <= x->opts->bound && !x->stop; b++) {
		g_array_set_size(x->path, 0);
		dfs(x, 0, b);
	}
	x->res->exhausted = !x->stop;
	if (x->res->found) { /* leave the failing schedule in the scenario */
		g_array_set_size(x->sc->sched_choices, 0);
		g_array_append_vals(x->sc->sched_choices, x->found->data, x->found->len);
	}
}

bool explore_run(scenario_t *sc, const explore_opts_t *opts, explore_result_t *res,
		 GError **err)
{
	memset(res, 0, sizeof(*res));
	explorer_t x = {.sc = sc, .opts = opts, .res = res, .err = err,
			.path = g_array_new(FALSE, FALSE, sizeof(sc_choice_t)),
			.found = g_array_new(FALSE, FALSE, sizeof(sc_choice_t))};
	gint64 t0 = g_get_monotonic_time();
	if (opts->systematic)
		explore_systematic(&x);
	else
		explore_random(&x);
	res->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	g_array_free(x.path, TRUE);
	g_array_free(x.found, TRUE);
	return !x.failed;
}

void explore_result_clear(explore_result_t *res)
{
	g_free(res->why);
	res->why = NULL;
}

/* ------------------------------------------------------------------ trace */

typedef struct tracer {
	trace_enc_t *enc;
} tracer_t;

static void trace_observe(void *ctx, const sim_event_t *ev)
{
	trace_enc_event(((tracer_t *)ctx)->enc, ev);
}

bool explore_write_trace(const scenario_t *sc, const char *path, bool *failed, GError **err)
{
	trace_file_t *tf = trace_file_open(path, err);
	if (!tf)
		return false;
	char *sj = scenario_to_json(sc, false);
	char *hdr = trace_header_line(sj, "native", true);
	trace_file_line(tf, hdr, strlen(hdr));
	g_free(hdr);
	g_free(sj);
	tracer_t tr = {.enc = trace_enc_new(true, trace_file_line_cb, tf)};
	machine_opts_t mo = {.observe = trace_observe, .observe_ctx = &tr};
	machine_t *m = machine_new(sc, &mo, err);
	if (!m) {
		trace_enc_free(tr.enc);
		trace_file_abort(tf);
		return false;
	}
	machine_run(m);
	trace_enc_flush(tr.enc);
	trace_enc_free(tr.enc);
	*failed = !machine_meets_expectations(m, NULL);
	machine_free(m);
	return trace_file_commit(tf, err);
}

/* ------------------------------------------------------------------ command */

typedef struct progress {
	bool tty;
	gint64 start, last;
} progress_t;

static void on_progress(void *ctx, uint64_t schedules)
{
	progress_t *p = ctx;
	if (!p->tty)
		return;
	gint64 t = g_get_monotonic_time();
	if (t - p->last < 250000)
		return;
	p->last = t;
	fprintf(stderr, "\r%" G_GUINT64_FORMAT " schedules, %.1f s   ", schedules,
		(double)(t - p->start) / 1e6);
}

static int usage(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd);
	va_end(ap);
	return EXIT_USAGE;
}

/* --systematic[=BOUND]: an optional argument needs a callback in GOption */
typedef struct sys_arg {
	bool on;
	char *bound;
} sys_arg_t;

static gboolean on_systematic(const gchar *name, const gchar *value, gpointer data,
			      GError **error)
{
	sys_arg_t *s = data;
	(void)name;
	(void)error;
	s->on = true;
	g_free(s->bound);
	s->bound = g_strdup(value);
	return TRUE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	if (!s || !g_ascii_isdigit(s[0]))
		return false;
	errno = 0;
	uint64_t v = g_ascii_strtoull(s, &end, 0);
	if (errno || !end || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* The scenario's "schedule" object as canonical JSON writes it. */
static json_object *schedule_json(const scenario_t *sc)
{
	char *sj = scenario_to_json(sc, false);
	json_object *root = json_tokener_parse(sj), *sch = NULL;
	g_free(sj);
	if (root && json_object_object_get_ex(root, "schedule", &sch))
		json_object_get(sch);
	json_object_put(root);
	return sch;
}

static json_object *event_json(const sim_event_t *ev)
{
	char *line = trace_event_to_line(ev);
	json_object *o = json_tokener_parse(line);
	g_free(line);
	return o;
}

static void print_json(const scenario_t *sc, const explore_opts_t *o, const explore_result_t *r,
		       const char *trace)
{
	json_object *j = json_object_new_object();
	json_object_object_add(j, "scenario", json_object_new_string(sc->name));
	json_object_object_add(j, "origin", json_object_new_string(sc->origin));
	json_object_object_add(j, "mode",
			       json_object_new_string(o->systematic ? "systematic" : "random"));
	if (o->systematic) {
		json_object_object_add(j, "bound", json_object_new_int64(o->bound));
		json_object_object_add(j, "exhausted", json_object_new_boolean(r->exhausted));
	}
	json_object_object_add(j, "schedules", json_object_new_int64((int64_t)r->schedules));
	json_object_object_add(j, "runs", json_object_new_int64((int64_t)r->runs));
	if (r->max_choice_points)
		json_object_object_add(j, "max_choice_points",
				       json_object_new_int64((int64_t)r->max_choice_points));
	json_object_object_add(j, "seconds", json_object_new_double(r->seconds));
	json_object_object_add(j, "schedules_per_s",
			       json_object_new_double(r->seconds > 0 ? r->schedules / r->seconds : 0));
	json_object_object_add(j, "found", json_object_new_boolean(r->found));
	if (r->found) {
		json_object_object_add(j, "found_at", json_object_new_int64((int64_t)r->found_at));
		if (o->systematic)
			json_object_object_add(j, "departures",
					       json_object_new_int64(r->found_bound));
		json_object *sch = schedule_json(sc);
		if (sch)
			json_object_object_add(j, "schedule", sch);
		json_object_object_add(j, "outcome", json_object_new_string(sim_outcome_to_string(
								     r->result.outcome)));
		char *what = report_outcome(&r->result);
		json_object_object_add(j, "result", json_object_new_string(what));
		g_free(what);
		json_object_object_add(j, "why", json_object_new_string(r->why ? r->why : ""));
		if (r->result.violations)
			json_object_object_add(j, "violation", event_json(&r->result.first_violation));
		if (trace)
			json_object_object_add(j, "trace", json_object_new_string(trace));
	}
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

static void print_human(const scenario_t *sc, const explore_opts_t *o, const explore_result_t *r,
			const char *trace)
{
	if (o->systematic)
		printf("%s (%s): systematic, up to %u departure(s) from the default schedule\n",
		       sc->name, sc->origin, o->bound);
	else if (o->preempt_ppm >= 0)
		printf("%s (%s): random, schedule seeds %" G_GUINT64_FORMAT "..., preempt "
		       "probability %g\n",
		       sc->name, sc->origin, o->seed, (double)o->preempt_ppm / 1e6);
	else
		printf("%s (%s): random, schedule seeds %" G_GUINT64_FORMAT "..., preempt "
		       "probability cycling 0.5, 0.2, 0.05, 0.01\n",
		       sc->name, sc->origin, o->seed);
	double rate = r->seconds > 0 ? r->schedules / r->seconds : 0;
	printf("schedules:   %" G_GUINT64_FORMAT " in %.3f s (%.0f schedules/s", r->schedules,
	       r->seconds, rate);
	if (r->runs != r->schedules)
		printf(", %" G_GUINT64_FORMAT " machine runs", r->runs);
	if (r->max_choice_points)
		printf(", up to %" G_GUINT64_FORMAT " choice points a run", r->max_choice_points);
	printf(")\n");
	if (!r->found) {
		if (o->systematic && r->exhausted)
			printf("result:      no violation: every schedule within the bound passed\n");
		else if (o->systematic)
			printf("result:      no violation in the first %" G_GUINT64_FORMAT
			       " schedules (not exhausted: --schedules capped it)\n",
			       r->schedules);
		else
			printf("result:      no violation, every run met the expectations\n");
		return;
	}
	printf("found:       by schedule %" G_GUINT64_FORMAT ": schedule seed %" G_GUINT64_FORMAT
	       ", preempt probability %g",
	       r->found_at, sc->sched_seed, sc->preempt_ppm / 1e6);
	if (o->systematic)
		printf(", %u departure(s) at choice points", r->found_bound);
	for (guint i = 0; i < sc->sched_choices->len; i++) {
		const sc_choice_t *c = &g_array_index(sc->sched_choices, sc_choice_t, i);
		printf("%s%" G_GUINT64_FORMAT " -> vCPU %u", i ? ", " : " ", c->at, c->vcpu);
	}
	printf("\n");
	char *what = report_outcome(&r->result);
	printf("outcome:     %s\n", what);
	g_free(what);
	printf("expectations: NOT met: %s\n", r->why ? r->why : "");
	if (r->result.violations) {
		const sim_event_t *v = &r->result.first_violation;
		char *line = trace_event_to_line(v);
		printf("violation:   %s at GPA 0x%" G_GINT64_MODIFIER "x by event %" G_GUINT64_FORMAT
		       " on vCPU %u",
		       sim_invariant_to_string((sim_invariant_t)v->invariant), v->gpa, v->cause_seq,
		       v->vcpu);
		if (v->ref_seq)
			printf("; earlier event %" G_GUINT64_FORMAT " on vCPU %u", v->ref_seq,
			       v->ref_vcpu);
		printf("\n             %s\n", line);
		g_free(line);
	}
	if (trace)
		printf("trace:       %s (snpsim replay %s reruns this schedule)\n", trace, trace);
}

int explore_main(int argc, char **argv)
{
	const char *cmd = argv[0];
	char *sched_str = NULL, *seed_str = NULL, *trace_path = NULL, *ppm_str = NULL, *bug = NULL;
	gboolean json = FALSE, quiet = FALSE;
	sys_arg_t sys = {0};
	GOptionEntry entries[] = {
		{"schedules", 'n', 0, G_OPTION_ARG_STRING, &sched_str,
		 "Random: run N schedules (default 1000). Systematic: stop after N (default or 0: "
		 "no cap)",
		 "N"},
		{"seed", 's', 0, G_OPTION_ARG_STRING, &seed_str,
		 "Random: run i uses schedule seed S+i. Systematic: the seed of every run (it "
		 "picks among several waiting vCPUs). Default: the scenario's schedule.seed",
		 "S"},
		{"systematic", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, on_systematic,
		 "Enumerate every schedule departing from the default one at up to BOUND choice "
		 "points, fewest first; BOUND is optional (default 2)",
		 "BOUND"},
		{"preempt-probability", 'p', 0, G_OPTION_ARG_STRING, &ppm_str,
		 "Random: preempt with probability P at each port boundary (default: the "
		 "scenario's, or if 0 a cycle of 0.5, 0.2, 0.05, 0.01 over the runs)",
		 "P"},
		{"guest-bug", 'b', 0, G_OPTION_ARG_STRING, &bug,
		 "Run guestfw with a historical bug re-introduced (names: snpsim info; none: "
		 "the fixed guest)",
		 "NAME"},
		{"trace", 't', 0, G_OPTION_ARG_FILENAME, &trace_path,
		 "When a schedule fails, write its trace to FILE (replayable with snpsim replay)",
		 "FILE"},
		{"json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the summary as one JSON object",
		 NULL},
		{"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL},
		{NULL}};
	GOptionContext *ctx = g_option_context_new("SCENARIO - search vCPU schedules for a failure");
	g_option_context_set_summary(
		ctx,
		"Runs SCENARIO (several vCPUs, see traces/README.md) under many schedules, each on "
		"a fresh\nmachine, and stops at the first schedule that violates an invariant or "
		"misses the\nscenario's expectations. A vCPU may be preempted at every arch-port "
		"boundary\n(VMGEXIT, PVALIDATE, memory access, CAS, PAUSE).\n\n"
		"Random (default): run i uses schedule seed S+i and the preemption probability.\n"
		"Systematic (--systematic[=BOUND]): every schedule that departs from the default\n"
		"schedule (no preemption) at no more than BOUND choice points, in order of fewer\n"
		"departures; exhaustive within the bound unless --schedules caps it.\n\n"
		"The failing schedule is written into the trace header's scenario "
		"(schedule.seed,\npreempt_probability, choices): 'snpsim replay FILE' reproduces it "
		"event for event,\nand 'snpsim run' on that scenario runs it again.");
	g_option_context_set_description(
		ctx, "Exit status: 0 every schedule met the expectations; 1 a schedule failed "
		     "(printed, and\nwritten to --trace FILE); 2 bad input or usage.\n");
	GOptionGroup *group = g_option_group_new("explore", "explore", "explore options", &sys, NULL);
	g_option_group_add_entries(group, entries);
	g_option_context_set_main_group(ctx, group);
	GError *err = NULL;
	int rc = EXIT_USAGE;
	scenario_t *sc = NULL;
	explore_result_t res = {0};
	explore_opts_t o = {.schedules = DEFAULT_SCHEDULES, .preempt_ppm = -1};
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage(cmd, "%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (argc != 2) {
		rc = usage(cmd, "expected one SCENARIO file");
		goto out;
	}
	if (sys.on) {
		uint64_t b = DEFAULT_BOUND;
		if (sys.bound && !parse_u64(sys.bound, 64, &b)) {
			rc = usage(cmd, "--systematic: \"%s\" is not a bound in 0..64", sys.bound);
			goto out;
		}
		o.systematic = true;
		o.bound = (uint32_t)b;
		o.schedules = 0;
	}
	if (sched_str && (!parse_u64(sched_str, UINT64_MAX, &o.schedules) ||
			  (!o.systematic && o.schedules == 0))) {
		rc = usage(cmd, "--schedules: \"%s\" is not a %s integer", sched_str,
			   o.systematic ? "non-negative" : "positive");
		goto out;
	}
	if (ppm_str) {
		char *end = NULL;
		double d = g_ascii_strtod(ppm_str, &end);
		if (!end || *end || !ppm_str[0] || !(d >= 0.0 && d <= 1.0)) {
			rc = usage(cmd, "--preempt-probability: \"%s\" is not a number in [0, 1]",
				   ppm_str);
			goto out;
		}
		o.preempt_ppm = (int64_t)(d * 1e6 + 0.5);
	}
	sc = scenario_load_file(argv[1], &err);
	if (!sc) {
		fprintf(stderr, "%s: %s\n", cmd, err->message);
		g_error_free(err);
		goto out;
	}
	if (bug) {
		uint32_t b;
		if (!gfw_bug_from_name(bug, &b)) {
			rc = usage(cmd, "--guest-bug: unknown bug \"%s\" (see 'snpsim info')", bug);
			goto out;
		}
		sc->policy.bugs = b;
	}
	o.seed = sc->sched_seed;
	if (seed_str && !parse_u64(seed_str, SEED_MAX, &o.seed)) {
		rc = usage(cmd, "--seed: \"%s\" is not an integer in 0..2^53-1", seed_str);
		goto out;
	}
	if (o.preempt_ppm < 0 && sc->preempt_ppm)
		o.preempt_ppm = sc->preempt_ppm;
	if (sc->sched_choices->len) {
		fprintf(stderr, "%s: %s: $.schedule.choices: explore chooses the schedule itself; "
				"run the scenario with 'snpsim run'\n",
			cmd, sc->origin);
		goto out;
	}
	progress_t pr = {.tty = isatty(2) && !json && !quiet, .start = g_get_monotonic_time()};
	o.progress = on_progress;
	o.progress_ctx = &pr;
	if (!explore_run(sc, &o, &res, &err)) {
		fprintf(stderr, "%s: %s\n", cmd, err->message);
		g_error_free(err);
		goto out;
	}
	if (pr.last)
		fprintf(stderr, "\r\033[K");
	bool wrote = false;
	if (res.found && trace_path) {
		bool again = false;
		if (!explore_write_trace(sc, trace_path, &again, &err)) {
			fprintf(stderr, "%s: %s\n", cmd, err->message);
			g_error_free(err);
			rc = EXIT_FAILED;
			goto out;
		}
		if (!again) { /* a run is a function of its scenario: this is a machine bug */
			fprintf(stderr, "%s: %s: the failing schedule passed when re-run for the trace "
					"(non-deterministic machine)\n",
				cmd, trace_path);
			rc = EXIT_FAILED;
			goto out;
		}
		wrote = true;
	}
	if (json)
		print_json(sc, &o, &res, wrote ? trace_path : NULL);
	else if (!quiet)
		print_human(sc, &o, &res, wrote ? trace_path : NULL);
	else if (res.found)
		fprintf(stderr, "%s: schedule %" G_GUINT64_FORMAT " failed: %s\n", cmd,
			res.found_at, res.why ? res.why : "");
	rc = res.found ? EXIT_FAILED : EXIT_OK;
out:
	explore_result_clear(&res);
	scenario_free(sc);
	g_option_context_free(ctx);
	g_free(sched_str);
	g_free(seed_str);
	g_free(sys.bound);
	g_free(trace_path);
	g_free(ppm_str);
	g_free(bug);
	return rc;
}
