/* SPDX-License-Identifier: MIT */
/*
 * Simulator benchmark (Meson benchmark(), not a test): one JSON object per line.
 *   sim.boot_64g_2m   ms        eager pre-validation of a 64 GiB guest, checker on, no trace
 *   sim.boot_64g_4k   ms        the same with the hypervisor forcing 4K (FORCE_4K on every PSC)
 *   sim.trace_write   events/s  trace encoding + file writing, one line per event
 *   sim.replay        events/s  replay of a recorded trace (re-run + compare), uncoalesced
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "scenario.h"
#include "trace.h"

#define GIB (1ull << 30)

static double now(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

static void metric(const char *name, double value, const char *unit)
{
	printf("{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", name, value, unit);
	fflush(stdout);
}

/* A q35-like guest with `gib` GiB of RAM: 2 GiB low, the rest above 4 GiB, eager. */
static scenario_t *big_guest(uint64_t gib, bool force_4k)
{
	scenario_t *sc = scenario_default();
	g_array_set_size(sc->mem, 0);
	gfw_mem_entry_t mem[] = {
		{0, 2 * GIB, GFW_MEM_RAM},
		{2 * GIB, 2 * GIB, GFW_MEM_MMIO},
		{4 * GIB, (gib - 2) * GIB, GFW_MEM_RAM},
	};
	g_array_append_vals(sc->mem, mem, 3);
	sc->policy.lazy = GFW_LAZY_NONE;
	g_array_set_size(sc->program[0], 0);
	gfw_step_t boot = {.kind = GFW_STEP_BOOT};
	g_array_append_val(sc->program[0], boot);
	if (force_4k) {
		hv_fault_t f = {.trigger = HV_TRIG_GHCB_PSC, .action = HV_ACT_FORCE_4K,
				.gfn = HV_GFN_FROM_TRIGGER};
		g_array_append_val(sc->faults, f);
	}
	return sc;
}

static double boot_ms(uint64_t gib, bool force_4k, uint64_t *events)
{
	scenario_t *sc = big_guest(gib, force_4k);
	GError *err = NULL;
	machine_opts_t opts = {0};
	machine_t *m = machine_new(sc, &opts, &err);
	if (!m) {
		fprintf(stderr, "bench_sim: %s\n", err->message);
		exit(1);
	}
	double t0 = now();
	const machine_result_t *r = machine_run(m);
	double ms = (now() - t0) * 1e3;
	if (r->outcome != SIM_OUTCOME_COMPLETED || r->violations) {
		fprintf(stderr, "bench_sim: the %s boot did not complete cleanly (%s, %llu violations)\n",
			force_4k ? "4K" : "2M", sim_outcome_to_string(r->outcome),
			(unsigned long long)r->violations);
		exit(1);
	}
	if (events)
		*events = machine_stats(m)->events;
	machine_free(m);
	scenario_free(sc);
	return ms;
}

typedef struct rec {
	trace_enc_t *enc;
} rec_t;

static void observe(void *ctx, const sim_event_t *ev)
{
	trace_enc_event(((rec_t *)ctx)->enc, ev);
}

/* Records the forced-4K boot of a `gib` GiB guest, uncoalesced; returns the event count. */
static uint64_t record(uint64_t gib, const char *path, double *write_secs)
{
	scenario_t *sc = big_guest(gib, true);
	GError *err = NULL;
	trace_file_t *tf = trace_file_open(path, &err);
	char *sj = scenario_to_json(sc, false);
	char *hdr = trace_header_line(sj, "native", false);
	trace_file_line(tf, hdr, strlen(hdr));
	rec_t rec = {trace_enc_new(false, trace_file_line_cb, tf)};
	machine_opts_t opts = {.observe = observe, .observe_ctx = &rec};
	machine_t *m = machine_new(sc, &opts, &err);
	double t0 = now();
	machine_run(m);
	double run_with_trace = now() - t0;
	trace_enc_flush(rec.enc);
	t0 = now();
	if (!trace_file_commit(tf, &err)) {
		fprintf(stderr, "bench_sim: %s\n", err->message);
		exit(1);
	}
	double commit = now() - t0;
	uint64_t events = trace_enc_events(rec.enc);
	/* the write cost is what the trace adds to the run: re-run without it */
	machine_free(m);
	machine_opts_t bare = {0};
	m = machine_new(sc, &bare, &err);
	t0 = now();
	machine_run(m);
	double run_bare = now() - t0;
	*write_secs = run_with_trace - run_bare + commit;
	trace_enc_free(rec.enc);
	machine_free(m);
	g_free(sj);
	g_free(hdr);
	scenario_free(sc);
	return events;
}

typedef struct cmp {
	trace_t *t;
	guint next;
	bool bad;
} cmp_t;

static void compare(void *ctx, const char *line, size_t len)
{
	cmp_t *c = ctx;
	(void)len;
	if (c->next >= c->t->lines->len || strcmp(line, g_ptr_array_index(c->t->lines, c->next))) {
		if (!c->bad)
			fprintf(stderr, "line %u: got %s\nwant %s\n", c->next, line,
				c->next < c->t->lines->len ? (char *)g_ptr_array_index(c->t->lines, c->next) : "(end)");
		c->bad = true;
	}
	c->next++;
}

static void observe_enc(void *ctx, const sim_event_t *ev)
{
	trace_enc_event(ctx, ev);
}

static double replay_rate(const char *path, uint64_t events)
{
	GError *err = NULL;
	double t0 = now();
	trace_t *t = trace_read_file(path, &err);
	scenario_t *sc = scenario_load_string(t->scenario_json, path, &err);
	cmp_t c = {.t = t};
	trace_enc_t *enc = trace_enc_new(t->coalesce, compare, &c);
	machine_opts_t opts = {.observe = observe_enc, .observe_ctx = enc};
	machine_t *m = machine_new(sc, &opts, &err);
	machine_run(m);
	trace_enc_flush(enc);
	double secs = now() - t0;
	if (c.bad || c.next != t->lines->len) {
		fprintf(stderr, "bench_sim: replay of %s diverged at line %u of %u\n", path, c.next, t->lines->len);
		exit(1);
	}
	trace_enc_free(enc);
	machine_free(m);
	scenario_free(sc);
	trace_free(t);
	return (double)events / secs;
}

int main(void)
{
	uint64_t ev2m = 0, ev4k = 0;
	boot_ms(64, false, NULL); /* warm up page tables and allocator */
	double best2m = 1e9, best4k = 1e9;
	for (int i = 0; i < 3; i++) {
		double ms = boot_ms(64, false, &ev2m);
		best2m = ms < best2m ? ms : best2m;
	}
	metric("sim.boot_64g_2m", best2m, "ms");
	for (int i = 0; i < 2; i++) {
		double ms = boot_ms(64, true, &ev4k);
		best4k = ms < best4k ? ms : best4k;
	}
	metric("sim.boot_64g_4k", best4k, "ms");

	char *dir = g_dir_make_tmp("snpsim-bench-XXXXXX", NULL);
	char *path = g_build_filename(dir, "boot4k.jsonl", NULL);
	double wsecs;
	uint64_t events = record(4, path, &wsecs);
	metric("sim.trace_write", (double)events / wsecs, "events/s");
	metric("sim.replay", replay_rate(path, events), "events/s");
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	return 0;
}
