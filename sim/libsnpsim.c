/* SPDX-License-Identifier: MIT */
/* The public API of libsnpsim (snpsim.h), a thin layer over machine.h. */
#include "snpsim.h"

#include <string.h>

#include "machine.h"
#include "report.h"
#include "scenario.h"
#include "trace.h"

struct snpsim {
	scenario_t *sc;
	machine_t *m;
	trace_enc_t *enc;
	trace_file_t *file;
	char *trace_error;
	double seconds;
};

static void observe(void *ctx, const sim_event_t *ev)
{
	trace_enc_event(((snpsim_t *)ctx)->enc, ev);
}

snpsim_t *snpsim_new(const char *scenario_path, const snpsim_options_t *opts, char **error)
{
	GError *err = NULL;
	snpsim_t *s = g_new0(snpsim_t, 1);
	snpsim_options_t o = {0};
	if (opts)
		o = *opts;
	s->sc = scenario_path ? scenario_load_file(scenario_path, &err) : scenario_default();
	if (!s->sc)
		goto fail;
	machine_opts_t mo = {.stop_on_violation = o.stop_on_violation};
	if (o.trace_path) {
		s->file = trace_file_open(o.trace_path, &err);
		if (!s->file)
			goto fail;
		char *sj = scenario_to_json(s->sc, false);
		char *hdr = trace_header_line(sj, "native", !o.no_coalesce);
		trace_file_line(s->file, hdr, strlen(hdr));
		g_free(hdr);
		g_free(sj);
		s->enc = trace_enc_new(!o.no_coalesce, trace_file_line_cb, s->file);
		mo.observe = observe;
		mo.observe_ctx = s;
	}
	s->m = machine_new(s->sc, &mo, &err);
	if (!s->m)
		goto fail;
	return s;
fail:
	if (error)
		*error = g_strdup(err ? err->message : "unknown error");
	g_clear_error(&err);
	snpsim_free(s);
	return NULL;
}

void snpsim_run(snpsim_t *s, void (*guest)(gfw_port_t *port, void *arg), void *arg)
{
	gint64 t0 = g_get_monotonic_time();
	machine_run_guest(s->m, guest, arg);
	s->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	if (s->enc) {
		GError *err = NULL;
		trace_enc_flush(s->enc);
		if (!trace_file_commit(s->file, &err)) {
			s->trace_error = g_strdup(err->message);
			g_error_free(err);
		}
		s->file = NULL;
	}
}

const char *snpsim_outcome(const snpsim_t *s)
{
	return sim_outcome_to_string(machine_result(s->m)->outcome);
}

uint64_t snpsim_violations(const snpsim_t *s)
{
	return machine_result(s->m)->violations;
}

char *snpsim_summary_json(const snpsim_t *s)
{
	return report_json(s->m, s->seconds, machine_result(s->m)->violations == 0, NULL);
}

const char *snpsim_trace_error(const snpsim_t *s)
{
	return s->trace_error;
}

void snpsim_free(snpsim_t *s)
{
	if (!s)
		return;
	if (s->file)
		trace_file_abort(s->file);
	trace_enc_free(s->enc);
	machine_free(s->m);
	scenario_free(s->sc);
	g_free(s->trace_error);
	g_free(s);
}

void snpsim_free_string(char *str)
{
	g_free(str);
}
