/* SPDX-License-Identifier: MIT */
/*
 * Differential test: one scenario under the native engine and under the
 * emulator, event streams compared field by field. The first divergence fails
 * the test and prints both events. There are no engine-specific event fields:
 * RIPs and instruction counts live only in emu_stats_t, never in the stream.
 * Usage: emu_diff SCENARIO.json [--guest-bug NAME]
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "machine.h"
#include "scenario.h"

static void collect(void *ctx, const sim_event_t *ev)
{
	g_ptr_array_add(ctx, g_strdup_printf(
		"seq=%" PRIu64 " kind=%s vcpu=%u gpa=%#" PRIx64 " spa=%#" PRIx64 " gfn=%#" PRIx64
		" npages=%" PRIu64 " ghcb=%#" PRIx64 " exit=%#" PRIx64 " info1=%#" PRIx64
		" info2=%#" PRIx64 " psc=%#" PRIx64 " code=%#" PRIx64 " ret=%u cf=%u fault=%u ec=%#" PRIx64
		" op=%u fault=%u set=%u reason=%u stop=%u inv=%u asid=%u 2m=%d asg=%d imm=%d val=%d"
		" cause=%" PRIu64 " ref=%" PRIu64 " refspa=%#" PRIx64 " refvcpu=%u",
		ev->seq, sim_ev_kind_to_string(ev->kind), ev->vcpu, ev->gpa, ev->spa, ev->gfn,
		ev->npages, ev->ghcb_gpa, ev->exit_reason, ev->info1, ev->info2, ev->psc_status,
		ev->code, ev->status.ret, ev->status.cf, ev->status.fault, ev->status.error_code,
		ev->op, ev->fault, ev->set, ev->reason, ev->stop, ev->invariant, ev->asid,
		ev->page_2m, ev->assigned, ev->immutable, ev->validate, ev->cause_seq, ev->ref_seq,
		ev->ref_spa, ev->ref_vcpu));
}

static GPtrArray *run(const char *path, const char *bug, bool emu, char **why)
{
	GError *err = NULL;
	scenario_t *sc = scenario_load_file(path, &err);
	if (!sc) {
		*why = g_strdup(err->message);
		g_error_free(err);
		return NULL;
	}
	if (bug) {
		uint32_t b;
		if (!gfw_bug_from_name(bug, &b)) {
			*why = g_strdup_printf("unknown bug %s", bug);
			scenario_free(sc);
			return NULL;
		}
		sc->policy.bugs = b;
	}
	GPtrArray *evs = g_ptr_array_new_with_free_func(g_free);
	machine_opts_t mo = {.observe = collect, .observe_ctx = evs};
	machine_t *m = machine_new(sc, &mo, &err);
	emu_t *e = NULL;
	if (m && emu)
		e = emu_new(m, &(emu_opts_t){.trace_insn = getenv("EMU_TRACE") ? stderr : NULL,
					     .trace_from = getenv("EMU_TRACE_FROM") ? strtoull(getenv("EMU_TRACE_FROM"), NULL, 0) : 0,
					     .trace_max = 4000}, &err);
	if (!m || (emu && !e)) {
		*why = g_strdup(err->message);
		g_error_free(err);
		g_ptr_array_free(evs, TRUE);
		evs = NULL;
		goto out;
	}
	if (emu) {
		if (!emu_run_guestfw(e, &err)) {
			*why = g_strdup(err->message);
			g_error_free(err);
			g_ptr_array_free(evs, TRUE);
			evs = NULL;
		} else if (emu_crash_reason(e)) {
			printf("  emu crash: %s\n", emu_crash_reason(e));
		}
	} else {
		machine_run(m);
	}
out:
	emu_free(e);
	machine_free(m);
	scenario_free(sc);
	return evs;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SCENARIO.json [--guest-bug NAME]\n", argv[0]);
		return 2;
	}
	const char *bug = argc >= 4 && strcmp(argv[2], "--guest-bug") == 0 ? argv[3] : NULL;
	char *why = NULL;
	GPtrArray *nat = run(argv[1], bug, false, &why);
	if (!nat) {
		printf("%s: native run failed: %s\n", argv[1], why);
		return 1;
	}
	GPtrArray *emu = run(argv[1], bug, true, &why);
	if (!emu) {
		/* a multi-vCPU scenario is a known gap, reported as a skip */
		bool skip = why && strstr(why, "engine emu runs one vCPU");
		printf("%s: emu run %s: %s\n", argv[1], skip ? "skipped" : "failed", why);
		return skip ? 77 : 1;
	}
	int rc = 0;
	guint n = MIN(nat->len, emu->len);
	for (guint i = 0; i < n && rc == 0; i++) {
		if (strcmp(nat->pdata[i], emu->pdata[i]) != 0) {
			printf("%s: first divergence at event %u\n  native: %s\n  emu:    %s\n", argv[1],
			       i + 1, (char *)nat->pdata[i], (char *)emu->pdata[i]);
			rc = 1;
		}
	}
	if (rc == 0 && nat->len != emu->len) {
		printf("%s: native has %u events, emu %u; first extra: %s\n", argv[1], nat->len,
		       emu->len,
		       (char *)(nat->len > emu->len ? nat->pdata[n] : emu->pdata[n]));
		rc = 1;
	}
	if (rc == 0)
		printf("%s: %u events, identical\n", argv[1], nat->len);
	g_ptr_array_free(nat, TRUE);
	g_ptr_array_free(emu, TRUE);
	g_free(why);
	return rc;
}
