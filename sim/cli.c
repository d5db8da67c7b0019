/* SPDX-License-Identifier: MIT */
/*
 * snpsim: the command line. Subcommands run, replay, check, explore (explore.c)
 * and info; exit codes
 * 0 (ran and met expectations), 1 (an expectation, invariant or replay failed),
 * 2 (bad input or usage).
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "checker.h"
#include "emu.h"
#include "explore.h"
#include "guestfw.h"
#include "hv.h"
#include "machine.h"
#include "minimize.h"
#include "names.h"
#include "report.h"
#include "scenario.h"
#include "simerr.h"
#include "trace.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2



static const char *prog = "snpsim";

static int usage_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s %s: ", prog, cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", prog, cmd);
	va_end(ap);
	return EXIT_USAGE;
}

static int report_error(const char *cmd, GError *err)
{
	fprintf(stderr, "%s %s: %s\n", prog, cmd, err->message);
	int code = err->domain == SNPSIM_ERROR && err->code == SNPSIM_ERROR_INTERNAL ? EXIT_FAILED
										     : EXIT_USAGE;
	g_error_free(err);
	return code;
}

static double now(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

/* ------------------------------------------------------------------ progress */

typedef struct progress {
	bool tty;
	double start;
	bool shown;
} progress_t;

static void on_progress(void *ctx, uint32_t step, uint32_t nsteps, uint64_t events)
{
	progress_t *p = ctx;
	if (!p->tty)
		return;
	double t = now() - p->start;
	if (t < 1.0)
		return;
	fprintf(stderr, "\r[step %u/%u] %" G_GUINT64_FORMAT " events, %.1f s   ", step + 1, nsteps,
		events, t);
	p->shown = true;
}

static void progress_done(progress_t *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
}

/* ------------------------------------------------------------------ run */

typedef struct tracer {
	trace_enc_t *enc;
	trace_file_t *file;
} tracer_t;

static void trace_observe(void *ctx, const sim_event_t *ev)
{
	tracer_t *t = ctx;
	trace_enc_event(t->enc, ev);
}

static int cmd_run(int argc, char **argv)
{
	char *trace_path = NULL, *faults_path = NULL, *seed_str = NULL, *bug = NULL, *engine = NULL;
	char *trace_insn = NULL;
	gint64 trace_insn_max = 0;
	gboolean json = FALSE, no_coalesce = FALSE, stop_on_violation = FALSE, quiet = FALSE;
	emu_t *emu = NULL;
	FILE *insn_file = NULL;
	GOptionEntry entries[] = {
		{"trace", 't', 0, G_OPTION_ARG_FILENAME, &trace_path,
		 "Write the event trace (JSON Lines) to FILE, atomically", "FILE"},
		{"faults", 'f', 0, G_OPTION_ARG_FILENAME, &faults_path,
		 "Replace the scenario's fault plan with the one in FILE", "FILE"},
		{"seed", 's', 0, G_OPTION_ARG_STRING, &seed_str,
		 "Override the scenario's seed (probabilistic faults, secrets keys)", "N"},
		{"guest-bug", 'b', 0, G_OPTION_ARG_STRING, &bug,
		 "Run guestfw with one historical bug re-introduced (names: snpsim info)", "NAME"},
		{"engine", 'e', 0, G_OPTION_ARG_STRING, &engine,
		 "Execution engine: native (default), or emu (guestfw as real x86-64 under Unicorn)",
		 "ENGINE"},
		{"trace-insn", 0, 0, G_OPTION_ARG_FILENAME, &trace_insn,
		 "emu: write every guest instruction with its disassembly to FILE (- for stderr)",
		 "FILE"},
		{"trace-insn-max", 0, 0, G_OPTION_ARG_INT64, &trace_insn_max,
		 "emu: at most N lines of --trace-insn", "N"},
		{"json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the summary as JSON", NULL},
		{"no-coalesce", 0, 0, G_OPTION_ARG_NONE, &no_coalesce,
		 "One trace line per event: do not merge runs of per-page events", NULL},
		{"stop-on-violation", 0, 0, G_OPTION_ARG_NONE, &stop_on_violation,
		 "Stop the run at the first invariant violation", NULL},
		{"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL},
		{NULL}};
	GOptionContext *ctx = g_option_context_new("[SCENARIO] - run a scenario");
	g_option_context_set_summary(
		ctx, "Runs the guest program of SCENARIO (a JSON file, see traces/README.md) against "
		     "the modeled RMP and\nmock hypervisor with the invariant checker on, and prints "
		     "a summary. Without SCENARIO,\nthe built-in default runs: a 4 GiB q35-like "
		     "guest with OVMF-like launch ranges,\neager pre-validation below 4 GiB, a few "
		     "conversions and lazily accepted high memory.");
	g_option_context_set_description(
		ctx, "Exit status: 0 the run met the scenario's expectations (outcome, reason, "
		     "violations);\n1 it did not; 2 bad input or usage.\n");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = EXIT_USAGE;
	scenario_t *sc = NULL;
	machine_t *m = NULL;
	tracer_t tr = {0};
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error("run", "%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (argc > 2) {
		rc = usage_error("run", "one scenario at most, got %d arguments", argc - 1);
		goto out;
	}
	bool use_emu = engine && strcmp(engine, "emu") == 0;
	if (engine && !use_emu && strcmp(engine, "native") != 0) {
		rc = usage_error("run", "unknown engine \"%s\" (native, emu)", engine);
		goto out;
	}
	if (trace_insn && !use_emu) {
		rc = usage_error("run", "--trace-insn needs --engine emu");
		goto out;
	}
	sc = argc == 2 ? scenario_load_file(argv[1], &err) : scenario_default();
	if (!sc) {
		rc = report_error("run", err);
		goto out;
	}
	if (sc->program[0]->len == 0) {
		fprintf(stderr, "%s run: %s: $.program: the guest program is empty\n", prog,
			sc->origin);
		goto out;
	}
	if (faults_path && !scenario_load_faults_file(sc, faults_path, &err)) {
		rc = report_error("run", err);
		goto out;
	}
	if (seed_str) {
		char *end = NULL;
		errno = 0;
		uint64_t seed = g_ascii_strtoull(seed_str, &end, 0);
		if (errno || !end || *end || !seed_str[0] || seed_str[0] == '-') {
			rc = usage_error("run", "--seed: \"%s\" is not a non-negative integer", seed_str);
			goto out;
		}
		sc->seed = seed;
	}
	if (bug) {
		uint32_t b;
		if (!gfw_bug_from_name(bug, &b)) {
			rc = usage_error("run", "--guest-bug: unknown bug \"%s\" (see '%s info')", bug,
					 prog);
			goto out;
		}
		sc->policy.bugs = b;
	}
	progress_t prog_state = {.tty = isatty(2) && !quiet && !json, .start = now()};
	machine_opts_t opts = {.stop_on_violation = stop_on_violation,
			       .progress = on_progress,
			       .progress_ctx = &prog_state};
	if (trace_path) {
		tr.file = trace_file_open(trace_path, &err);
		if (!tr.file) {
			rc = report_error("run", err);
			goto out;
		}
		char *sj = scenario_to_json(sc, false);
		char *hdr = trace_header_line(sj, use_emu ? "emu" : "native", !no_coalesce);
		trace_file_line(tr.file, hdr, strlen(hdr));
		g_free(hdr);
		g_free(sj);
		tr.enc = trace_enc_new(!no_coalesce, trace_file_line_cb, tr.file);
		opts.observe = trace_observe;
		opts.observe_ctx = &tr;
	}
	m = machine_new(sc, &opts, &err);
	if (!m) {
		rc = report_error("run", err);
		goto out;
	}
	if (use_emu) {
		emu_opts_t eo = {.trace_max = (uint64_t)(trace_insn_max > 0 ? trace_insn_max : 0)};
		if (trace_insn) {
			insn_file = strcmp(trace_insn, "-") == 0 ? stderr : fopen(trace_insn, "w");
			if (!insn_file) {
				fprintf(stderr, "%s run: --trace-insn: %s: %s\n", prog, trace_insn,
					g_strerror(errno));
				goto out;
			}
			eo.trace_insn = insn_file;
		}
		emu = emu_new(m, &eo, &err);
		if (!emu) {
			rc = report_error("run", err);
			goto out;
		}
	}
	double t0 = now();
	if (emu) {
		if (!emu_run_guestfw(emu, &err)) {
			rc = report_error("run", err);
			goto out;
		}
	} else {
		machine_run(m);
	}
	double secs = now() - t0;
	progress_done(&prog_state);
	if (tr.enc) {
		trace_enc_flush(tr.enc);
		bool ok = trace_file_commit(tr.file, &err);
		tr.file = NULL;
		if (!ok) {
			rc = report_error("run", err);
			goto out;
		}
	}
	char *why = NULL;
	bool met = machine_meets_expectations(m, &why);
	if (json) {
		char *j = report_json(m, secs, met, why);
		puts(j);
		g_free(j);
	} else if (!quiet) {
		report_human(stdout, m, secs);
		size_t dlen;
		const uint8_t *dbg = machine_debug_output(m, &dlen);
		if (dlen) {
			printf("guest debug output (%zu bytes):\n", dlen);
			fwrite(dbg, 1, dlen, stdout);
			if (dbg[dlen - 1] != '\n')
				putchar('\n');
		}
		if (met)
			printf("expectations: met\n");
		else
			printf("expectations: NOT met: %s\n", why);
	}
	if (!met && quiet)
		fprintf(stderr, "%s run: expectations not met: %s\n", prog, why);
	g_free(why);
	rc = met ? EXIT_OK : EXIT_FAILED;
out:
	if (tr.file)
		trace_file_abort(tr.file);
	trace_enc_free(tr.enc);
	emu_free(emu);
	if (insn_file && insn_file != stderr)
		fclose(insn_file);
	g_free(trace_insn);
	machine_free(m);
	scenario_free(sc);
	g_option_context_free(ctx);
	g_free(trace_path);
	g_free(faults_path);
	g_free(seed_str);
	g_free(bug);
	g_free(engine);
	return rc;
}

/* ------------------------------------------------------------------ replay */

typedef struct replayer {
	const trace_t *t;
	guint next;      /* index of the next expected line */
	bool diverged;
	guint at;        /* index of the diverging line */
	char *expected, *got, *diff;
} replayer_t;

static void replay_line(void *ctx, const char *line, size_t len)
{
	replayer_t *r = ctx;
	(void)len;
	if (r->diverged)
		return;
	if (r->next >= r->t->lines->len) {
		r->diverged = true;
		r->at = r->next;
		r->got = g_strdup(line);
		r->diff = g_strdup("the run produced more events than the trace holds");
		return;
	}
	const char *exp = g_ptr_array_index(r->t->lines, r->next);
	char *diff = NULL;
	if (!trace_lines_equal(exp, line, &diff)) {
		r->diverged = true;
		r->at = r->next;
		r->expected = g_strdup(exp);
		r->got = g_strdup(line);
		r->diff = diff;
		return;
	}
	r->next++;
}

static void replay_observe(void *ctx, const sim_event_t *ev)
{
	trace_enc_event(ctx, ev);
}

static int cmd_replay(int argc, char **argv)
{
	gboolean quiet = FALSE;
	GOptionEntry entries[] = {{"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
				   "Print only a divergence", NULL},
				  {NULL}};
	GOptionContext *ctx = g_option_context_new("TRACE - re-run a trace and compare");
	g_option_context_set_summary(
		ctx, "Re-runs the scenario embedded in TRACE's header and compares every event with "
		     "the trace.\nReports the first divergence (expected vs got).");
	g_option_context_set_description(ctx, "Exit status: 0 identical; 1 a divergence; 2 bad "
					      "input or usage.\n");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = EXIT_USAGE;
	trace_t *t = NULL;
	scenario_t *sc = NULL;
	machine_t *m = NULL;
	emu_t *emu = NULL;
	trace_enc_t *enc = NULL;
	replayer_t rp = {0};
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error("replay", "%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (argc != 2) {
		rc = usage_error("replay", "expected one TRACE file");
		goto out;
	}
	t = trace_read_file(argv[1], &err);
	if (!t) {
		rc = report_error("replay", err);
		goto out;
	}
	if (!t->scenario_json) {
		fprintf(stderr, "%s replay: %s: the header embeds no scenario: nothing to re-run\n",
			prog, argv[1]);
		goto out;
	}
	/* re-run with the engine that recorded the trace: the streams must agree */
	bool use_emu = strcmp(t->engine, "emu") == 0;
	if (!use_emu && strcmp(t->engine, "native") != 0) {
		fprintf(stderr, "%s replay: %s: engine \"%s\" is not available in this build\n", prog,
			argv[1], t->engine);
		goto out;
	}
	char *origin = g_strdup_printf("%s (embedded scenario)", argv[1]);
	sc = scenario_load_string(t->scenario_json, origin, &err);
	g_free(origin);
	if (!sc) {
		rc = report_error("replay", err);
		goto out;
	}
	rp.t = t;
	enc = trace_enc_new(t->coalesce, replay_line, &rp);
	machine_opts_t opts = {.observe = replay_observe, .observe_ctx = enc};
	m = machine_new(sc, &opts, &err);
	if (!m) {
		rc = report_error("replay", err);
		goto out;
	}
	if (use_emu && !(emu = emu_new(m, &(emu_opts_t){0}, &err))) {
		rc = report_error("replay", err);
		goto out;
	}
	double t0 = now();
	if (emu) {
		if (!emu_run_guestfw(emu, &err)) {
			rc = report_error("replay", err);
			goto out;
		}
	} else {
		machine_run(m);
	}
	trace_enc_flush(enc);
	double secs = now() - t0;
	if (!rp.diverged && rp.next < t->lines->len) {
		rp.diverged = true;
		rp.at = rp.next;
		rp.expected = g_strdup(g_ptr_array_index(t->lines, rp.next));
		rp.diff = g_strdup("the run ended before the trace does");
	}
	if (rp.diverged) {
		guint line_no = rp.at < t->line_no->len ? g_array_index(t->line_no, guint, rp.at)
							: (t->line_no->len
								   ? g_array_index(t->line_no, guint,
										   t->line_no->len - 1) + 1
								   : 2);
		printf("%s replay: %s:%u: first divergence: %s\n", prog, argv[1], line_no, rp.diff);
		printf("  expected: %s\n", rp.expected ? rp.expected : "(end of trace)");
		printf("  got:      %s\n", rp.got ? rp.got : "(end of run)");
		rc = EXIT_FAILED;
	} else {
		if (!quiet)
			printf("%s replay: %s: %u lines, %" G_GUINT64_FORMAT
			       " events identical (%.3f s)\n",
			       prog, argv[1], t->lines->len, trace_enc_events(enc), secs);
		rc = EXIT_OK;
	}
out:
	g_free(rp.expected);
	g_free(rp.got);
	g_free(rp.diff);
	trace_enc_free(enc);
	emu_free(emu);
	machine_free(m);
	scenario_free(sc);
	trace_free(t);
	g_option_context_free(ctx);
	return rc;
}

/* ------------------------------------------------------------------ check */

typedef struct check_ctx {
	bool json;
	const char *path;
	uint64_t seq;
	uint64_t n;
} check_ctx_t;

static void check_report(void *ctx, const sim_event_t *v)
{
	check_ctx_t *c = ctx;
	sim_event_t ev = *v;
	ev.seq = ++c->seq;
	c->n++;
	char *line = trace_event_to_line(&ev);
	if (c->json) {
		puts(line);
	} else {
		printf("%s: violation of %s at GPA 0x%" G_GINT64_MODIFIER "x (SPA 0x%" G_GINT64_MODIFIER
		       "x) by event %" G_GUINT64_FORMAT " on vCPU %u",
		       c->path, sim_invariant_to_string((sim_invariant_t)v->invariant), v->gpa, v->spa,
		       v->cause_seq, v->vcpu);
		if (v->ref_seq)
			printf("; earlier event %" G_GUINT64_FORMAT " on vCPU %u at SPA 0x%" G_GINT64_MODIFIER
			       "x",
			       v->ref_seq, v->ref_vcpu, v->ref_spa);
		printf("\n  %s\n", line);
	}
	g_free(line);
}

/* Applies an event's RMP effect to the shadow RMP, as the hypervisor or guest did it. */
static void shadow_apply(rmp_t *rmp, uint32_t asid, const sim_event_t *ev)
{
	uint64_t n = ev->npages ? ev->npages : 1;
	switch (ev->kind) {
	case SIM_EV_RMPUPDATE: {
		if (!rmp_ok(ev->status))
			return;
		uint64_t step = ev->page_2m ? SNP_PAGES_PER_2M : 1;
		for (uint64_t i = 0; i < n; i += step) {
			rmp_state_t st = {.gpa = ev->assigned ? ev->gpa + i * SNP_PAGE_SIZE : 0,
					  .asid = ev->assigned ? (ev->asid ? ev->asid : asid) : 0,
					  .assigned = ev->assigned,
					  .page_2m = ev->page_2m};
			rmp_rmpupdate(rmp, 0, ev->spa + i * SNP_PAGE_SIZE, &st);
		}
		return;
	}
	case SIM_EV_PSMASH:
	case SIM_EV_UNSMASH:
		if (!rmp_ok(ev->status))
			return;
		for (uint64_t i = 0; i < n; i += SNP_PAGES_PER_2M) {
			if (ev->kind == SIM_EV_PSMASH)
				rmp_psmash(rmp, 0, ev->spa + i * SNP_PAGE_SIZE);
			else
				rmp_unsmash(rmp, 0, ev->spa + i * SNP_PAGE_SIZE);
		}
		return;
	case SIM_EV_LAUNCH_UPDATE:
		for (uint64_t i = 0; i < n;) {
			rmp_entry_t e;
			uint64_t spa = ev->spa + i * SNP_PAGE_SIZE, gpa = ev->gpa + i * SNP_PAGE_SIZE;
			rmp_lookup(rmp, spa, &e);
			bool big = e.page_2m && !(spa & (SNP_PAGE_2M_SIZE - 1)) && n - i >= SNP_PAGES_PER_2M;
			rmp_launch_update(rmp, spa, asid, gpa, big, false);
			i += big ? SNP_PAGES_PER_2M : 1;
		}
		return;
	case SIM_EV_PVALIDATE:
		if (!rmp_ok(ev->status) || ev->status.cf)
			return;
		for (uint64_t i = 0; i < n; i += ev->page_2m ? SNP_PAGES_PER_2M : 1)
			rmp_pvalidate(rmp, asid, 0, ev->gpa + i * SNP_PAGE_SIZE,
				      ev->spa + i * SNP_PAGE_SIZE, ev->page_2m, ev->validate);
		return;
	case SIM_EV_RMPADJUST:
		if (rmp_ok(ev->status))
			rmp_rmpadjust(rmp, asid, 0, ev->gpa, ev->spa, ev->page_2m, ev->info1);
		return;
	default:
		return;
	}
}

static int cmd_check(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {{"json", 'j', 0, G_OPTION_ARG_NONE, &json,
				   "Print each violation as a JSON trace line", NULL},
				  {NULL}};
	GOptionContext *ctx = g_option_context_new("TRACE - check a trace's invariants");
	g_option_context_set_summary(
		ctx, "Runs the invariant checker over the events of TRACE, which need not come from "
		     "snpsim:\na hand-written trace needs only its header line and the events to "
		     "check. The RMP state\nthe checker consults is rebuilt from the trace's own "
		     "RMPUPDATE, PSMASH, launch and\nPVALIDATE events. End-state invariants are "
		     "checked when an \"end\" event says the run\ncompleted.");
	g_option_context_set_description(ctx, "Exit status: 0 no violation; 1 violations found; 2 "
					      "bad input or usage.\n");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = EXIT_USAGE;
	trace_t *t = NULL;
	scenario_t *sc = NULL;
	rmp_t *rmp = NULL;
	checker_t *ck = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error("check", "%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (argc != 2) {
		rc = usage_error("check", "expected one TRACE file");
		goto out;
	}
	t = trace_read_file(argv[1], &err);
	if (!t) {
		rc = report_error("check", err);
		goto out;
	}
	uint32_t asid = 1;
	if (t->scenario_json) {
		char *origin = g_strdup_printf("%s (embedded scenario)", argv[1]);
		sc = scenario_load_string(t->scenario_json, origin, &err);
		g_free(origin);
		if (!sc) {
			rc = report_error("check", err);
			goto out;
		}
		asid = sc->asid;
	}
	rmp = rmp_new(RMP_SPA_LIMIT_MAX);
	check_ctx_t cc = {.json = json, .path = argv[1]};
	ck = checker_new(rmp, asid, check_report, &cc);
	uint64_t last_seq = 0;
	bool ended = false;
	sim_outcome_t outcome = SIM_OUTCOME_NONE;
	for (guint i = 0; i < t->lines->len; i++) {
		sim_event_t ev;
		char *where = g_strdup_printf("%s:%u", argv[1], g_array_index(t->line_no, guint, i));
		bool ok = trace_parse_event(g_ptr_array_index(t->lines, i), where, &ev, &err);
		g_free(where);
		if (!ok) {
			rc = report_error("check", err);
			goto out;
		}
		if (ev.seq == 0)
			ev.seq = last_seq + 1; /* hand-written lines may omit seq */
		last_seq = ev.seq_last ? ev.seq_last : ev.seq;
		cc.seq = last_seq;
		if (ev.kind == SIM_EV_VIOLATION)
			continue; /* re-derived, not trusted */
		if (ev.kind == SIM_EV_END) {
			ended = true;
			outcome = (sim_outcome_t)ev.op;
			continue;
		}
		shadow_apply(rmp, asid, &ev);
		checker_event(ck, &ev);
	}
	checker_finish(ck, ended ? outcome : SIM_OUTCOME_NONE);
	if (!json)
		printf("%s check: %s: %u events, %" G_GUINT64_FORMAT " violation(s)%s\n", prog,
		       argv[1], t->lines->len, cc.n,
		       ended ? "" : " (no end event: end-state invariants not checked)");
	rc = cc.n ? EXIT_FAILED : EXIT_OK;
out:
	checker_free(ck);
	rmp_free(rmp);
	scenario_free(sc);
	trace_free(t);
	g_option_context_free(ctx);
	return rc;
}

/* ------------------------------------------------------------------ info */

static int cmd_info(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("- list what snpsim knows");
	g_option_context_set_summary(ctx, "Lists fault triggers and actions, invariants, guest "
					  "termination reasons, guest bugs,\nstop reasons, NAE exit "
					  "codes and the CLI's exit codes.");
	GError *err = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		int rc = usage_error("info", "%s", err->message);
		g_error_free(err);
		g_option_context_free(ctx);
		return rc;
	}
	g_option_context_free(ctx);
	if (argc != 1)
		return usage_error("info", "takes no arguments");
	printf("Fault triggers (\"trigger\" in a fault plan):\n");
	for (int t = 1;; t++) {
		const char *n = hv_trigger_to_string((hv_trigger_t)t);
		if (!n)
			break;
		printf("  %s\n", n);
	}
	printf("\nFault actions (\"action\"):\n");
	for (int a = 1;; a++) {
		const char *n = hv_action_to_string((hv_action_t)a);
		if (!n)
			break;
		printf("  %-18s %s\n", n, hv_action_describe((hv_action_t)a));
	}
	printf("\nInvariants:\n");
	for (int i = 1; i < SIM_INV_MAX; i++)
		printf("  %-24s %s\n", sim_invariant_to_string((sim_invariant_t)i),
		       sim_invariant_describe((sim_invariant_t)i));
	printf("\nGuest termination reasons (set/code):\n");
	for (uint32_t set = 0; set < 16; set++)
		for (uint32_t code = 0; code < 256; code++) {
			const char *n = gfw_term_name(set, code);
			if (n)
				printf("  %u/%-3u %-26s %s\n", set, code, n, gfw_term_describe(set, code));
		}
	printf("\nGuest bugs (--guest-bug):\n");
	for (uint32_t b = 0; b < 32; b++) {
		const char *n = gfw_bug_name(1u << b);
		if (n)
			printf("  %-28s %s\n", n, gfw_bug_describe(1u << b));
	}
	printf("\nStop reasons:\n");
	for (uint32_t s = 1; s < 200; s++) {
		const char *n = sim_stop_to_string(s);
		if (n && strcmp(n, "unknown") != 0)
			printf("  %s\n", n);
	}
	printf("\nNAE / SVM exit codes:\n");
	static const uint64_t codes[] = {
		SVM_EXIT_READ_DR7,	   SVM_EXIT_WRITE_DR7,	       SVM_EXIT_RDTSC,
		SVM_EXIT_RDPMC,		   SVM_EXIT_CPUID,	       SVM_EXIT_INVD,
		SVM_EXIT_IOIO,		   SVM_EXIT_MSR,	       SVM_EXIT_VMMCALL,
		SVM_EXIT_RDTSCP,	   SVM_EXIT_WBINVD,	       SVM_EXIT_MONITOR,
		SVM_EXIT_MWAIT,		   SVM_EXIT_NPF,	       SVM_EXIT_VMPL_NOT_VALIDATED,
		SVM_VMGEXIT_MMIO_READ,	   SVM_VMGEXIT_MMIO_WRITE,     SVM_VMGEXIT_NMI_COMPLETE,
		SVM_VMGEXIT_AP_HLT_LOOP,   SVM_VMGEXIT_AP_JUMP_TABLE,  SVM_VMGEXIT_PSC,
		SVM_VMGEXIT_GUEST_REQUEST, SVM_VMGEXIT_EXT_GUEST_REQUEST, SVM_VMGEXIT_AP_CREATION,
		SVM_VMGEXIT_HV_FEATURES,   SVM_VMGEXIT_TERM_REQUEST,   SVM_VMGEXIT_UNSUPPORTED_EVENT,
	};
	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
		const char *n = hv_exit_code_to_string(codes[i]);
		printf("  0x%08llx %s\n", (unsigned long long)codes[i], n ? n : "-");
	}
	printf("\nExit codes of snpsim:\n"
	       "  0  ran and met expectations (replay: identical; check: no violation)\n"
	       "  1  an expectation or invariant failed (replay: divergence)\n"
	       "  2  bad input or usage\n");
	return EXIT_OK;
}

/* ------------------------------------------------------------------ main */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{"run", cmd_run, "run a scenario (or the built-in default) and summarise it"},
	{"replay", cmd_replay, "re-run a trace's scenario and compare event by event"},
	{"check", cmd_check, "run the invariant checker over a trace file"},
	{"explore", explore_main, "search vCPU schedules for an invariant violation"},
	{"minimize", minimize_main, "shrink a failing scenario to a minimal one failing the same way"},
	{"boot", cmd_boot, "boot an OVMF image as an SNP guest under the emulator engine"},
	{"info", cmd_info, "list fault actions, invariants, reasons, bugs and codes"},
};

static void main_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s COMMAND [OPTIONS] [ARGS]\n\n"
		"snpsim runs AMD SEV-SNP guest firmware code (GHCB protocol, page state change,\n"
		"PVALIDATE, the memory validation loop) against a modeled RMP and a mock\n"
		"hypervisor, and checks that no guest page is ever validated twice.\n\nCommands:\n",
		prog);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(out, "\n'%s COMMAND --help' describes each. Exit status: 0 success, 1 a check "
		     "failed,\n2 bad input or usage.\n",
		prog);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		main_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("snpsim %s\n", SNPSIM_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* GOption sees "snpsim run" as the program name */
			char *name = g_strdup_printf("%s %s", prog, argv[1]);
			char *saved = argv[1];
			argv[1] = name;
			int rc = commands[i].fn(argc - 1, argv + 1);
			argv[1] = saved;
			g_free(name);
			return rc;
		}
	}
	fprintf(stderr, "%s: unknown command \"%s\"\n\n", prog, argv[1]);
	main_usage(stderr);
	return EXIT_USAGE;
}
