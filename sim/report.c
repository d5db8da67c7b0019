/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <json-c/json.h>

#include "guestfw.h"

typedef struct kv {
	uint64_t key;
	uint64_t count;
} kv_t;

static gint kv_cmp(gconstpointer a, gconstpointer b)
{
	const kv_t *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The table's entries sorted by key: deterministic output. */
static GArray *sorted(GHashTable *h)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(kv_t));
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, h);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		kv_t e = {GPOINTER_TO_SIZE(k), GPOINTER_TO_SIZE(v)};
		g_array_append_val(a, e);
	}
	g_array_sort(a, kv_cmp);
	return a;
}

static const char *exit_name(uint64_t code)
{
	const char *n = hv_exit_code_to_string(code);
	return n ? n : "unknown";
}

static const char *msr_name(uint64_t code)
{
	const char *n = hv_msr_code_to_string((uint32_t)code);
	return n ? n : "unknown";
}

char *report_outcome(const machine_result_t *r)
{
	switch (r->outcome) {
	case SIM_OUTCOME_TERMINATED: {
		const char *n = gfw_term_name(r->set, r->code);
		const char *d = gfw_term_describe(r->set, r->code);
		return g_strdup_printf("terminated by the guest on vCPU %u: %s (set %u, code %u)%s%s",
				       r->vcpu, n ? n : "unknown reason", r->set, r->code,
				       d ? ": " : "", d ? d : "");
	}
	case SIM_OUTCOME_STOPPED:
		return g_strdup_printf("stopped on vCPU %u: %s", r->vcpu, sim_stop_to_string(r->stop));
	case SIM_OUTCOME_VIOLATION:
		return g_strdup("stopped at the first invariant violation (--stop-on-violation)");
	case SIM_OUTCOME_COMPLETED:
		return g_strdup("completed: every program step ran");
	default:
		return g_strdup("did not run");
	}
}

static void mib(GString *s, uint64_t pages)
{
	g_string_append_printf(s, "%" G_GUINT64_FORMAT " pages (%.1f MiB)", pages,
			       (double)pages * 4096.0 / (1024.0 * 1024.0));
}

void report_human(FILE *out, const machine_t *m, double seconds)
{
	const machine_stats_t *st = machine_stats(m);
	const scenario_t *sc = machine_scenario(m);
	GString *s = g_string_new(NULL);
	char *outcome = report_outcome(machine_result(m));
	g_string_append_printf(s, "scenario:    %s (%s)\n", sc->name, sc->origin);
	g_string_append_printf(s, "outcome:     %s\n", outcome);
	g_free(outcome);
	g_string_append(s, "validated:   ");
	mib(s, st->pvalidate_2m_pages);
	g_string_append(s, " with 2M PVALIDATE, ");
	mib(s, st->pvalidate_4k_pages);
	g_string_append(s, " with 4K\n");
	g_string_append_printf(s,
			       "             %" G_GUINT64_FORMAT " 2M and %" G_GUINT64_FORMAT
			       " 4K PVALIDATE instructions; %" G_GUINT64_FORMAT
			       " pages rescinded; %" G_GUINT64_FORMAT " pages pre-validated at launch\n",
			       st->pvalidate_2m, st->pvalidate_4k, st->rescinded_pages,
			       st->launch_pages);
	g_string_append_printf(s,
			       "PSC:         %" G_GUINT64_FORMAT " GHCB requests, %" G_GUINT64_FORMAT
			       " MSR-protocol requests, %" G_GUINT64_FORMAT " entries processed\n",
			       st->psc_requests_ghcb, st->psc_requests_msr, st->psc_entries);
	GArray *a = sorted(st->vmgexits);
	g_string_append_printf(s, "VMGEXIT:     %" G_GUINT64_FORMAT " GHCB NAE events",
			       st->by_kind[SIM_EV_VMGEXIT]);
	for (guint i = 0; i < a->len; i++) {
		kv_t *e = &g_array_index(a, kv_t, i);
		g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, i ? ", " : " (",
				       exit_name(e->key), e->count);
	}
	g_string_append(s, a->len ? ")\n" : "\n");
	g_array_free(a, TRUE);
	a = sorted(st->msr_protocol);
	g_string_append_printf(s, "             %" G_GUINT64_FORMAT " MSR-protocol exchanges",
			       st->by_kind[SIM_EV_MSR_PROTOCOL]);
	for (guint i = 0; i < a->len; i++) {
		kv_t *e = &g_array_index(a, kv_t, i);
		g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, i ? ", " : " (", msr_name(e->key),
				       e->count);
	}
	g_string_append(s, a->len ? ")\n" : "\n");
	g_array_free(a, TRUE);
	a = sorted(st->vc);
	g_string_append_printf(s, "#VC:         %" G_GUINT64_FORMAT, st->by_kind[SIM_EV_VC]);
	for (guint i = 0; i < a->len; i++) {
		kv_t *e = &g_array_index(a, kv_t, i);
		g_string_append_printf(s, "%s0x%" G_GINT64_MODIFIER "x %" G_GUINT64_FORMAT,
				       i ? ", " : " (", e->key, e->count);
	}
	g_string_append(s, a->len ? ")\n" : "\n");
	g_array_free(a, TRUE);
	g_string_append_printf(s, "faults:      %" G_GUINT64_FORMAT " injected\n",
			       st->faults_injected);
	uint64_t nv = 0;
	for (int i = 1; i < SIM_INV_MAX; i++)
		nv += st->violations[i];
	g_string_append_printf(s, "invariants:  %s", nv ? "" : "no violations");
	for (int i = 1, first = 1; i < SIM_INV_MAX; i++) {
		if (!st->violations[i])
			continue;
		g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, first ? "" : ", ",
				       sim_invariant_to_string((sim_invariant_t)i), st->violations[i]);
		first = 0;
	}
	g_string_append_printf(s, "\nevents:      %" G_GUINT64_FORMAT " in %.3f s\n", st->events,
			       seconds);
	fputs(s->str, out);
	g_string_free(s, TRUE);
}

static json_object *counts(GHashTable *h, const char *(*name)(uint64_t), bool hex_key)
{
	json_object *o = json_object_new_object();
	GArray *a = sorted(h);
	for (guint i = 0; i < a->len; i++) {
		kv_t *e = &g_array_index(a, kv_t, i);
		char key[64];
		if (hex_key)
			snprintf(key, sizeof(key), "0x%llx", (unsigned long long)e->key);
		else
			snprintf(key, sizeof(key), "%s", name(e->key));
		json_object_object_add(o, key, json_object_new_int64((int64_t)e->count));
	}
	g_array_free(a, TRUE);
	return o;
}

char *report_json(const machine_t *m, double seconds, bool met, const char *why)
{
	const machine_stats_t *st = machine_stats(m);
	const scenario_t *sc = machine_scenario(m);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "scenario", json_object_new_string(sc->name));
	json_object_object_add(o, "origin", json_object_new_string(sc->origin));
	const machine_result_t *r = machine_result(m);
	json_object *res = json_object_new_object();
	json_object_object_add(res, "outcome",
			       json_object_new_string(sim_outcome_to_string(r->outcome)));
	json_object_object_add(res, "vcpu", json_object_new_int64(r->vcpu));
	if (r->outcome == SIM_OUTCOME_TERMINATED) {
		const char *n = gfw_term_name(r->set, r->code);
		json_object_object_add(res, "set", json_object_new_int64(r->set));
		json_object_object_add(res, "code", json_object_new_int64(r->code));
		json_object_object_add(res, "reason", json_object_new_string(n ? n : "unknown"));
	} else if (r->outcome == SIM_OUTCOME_STOPPED) {
		json_object_object_add(res, "reason",
				       json_object_new_string(sim_stop_to_string(r->stop)));
	}
	json_object_object_add(o, "result", res);
	json_object_object_add(o, "expectations_met", json_object_new_boolean(met));
	if (why && *why)
		json_object_object_add(o, "expectation_failures", json_object_new_string(why));
	json_object *v = json_object_new_object();
	json_object_object_add(v, "pages_2m", json_object_new_int64((int64_t)st->pvalidate_2m_pages));
	json_object_object_add(v, "pages_4k", json_object_new_int64((int64_t)st->pvalidate_4k_pages));
	json_object_object_add(v, "pvalidate_2m", json_object_new_int64((int64_t)st->pvalidate_2m));
	json_object_object_add(v, "pvalidate_4k", json_object_new_int64((int64_t)st->pvalidate_4k));
	json_object_object_add(v, "rescinded_pages", json_object_new_int64((int64_t)st->rescinded_pages));
	json_object_object_add(v, "launch_pages", json_object_new_int64((int64_t)st->launch_pages));
	json_object_object_add(o, "validation", v);
	json_object *p = json_object_new_object();
	json_object_object_add(p, "ghcb_requests", json_object_new_int64((int64_t)st->psc_requests_ghcb));
	json_object_object_add(p, "msr_requests", json_object_new_int64((int64_t)st->psc_requests_msr));
	json_object_object_add(p, "entries", json_object_new_int64((int64_t)st->psc_entries));
	json_object_object_add(o, "psc", p);
	json_object_object_add(o, "vmgexits", counts(st->vmgexits, exit_name, false));
	json_object_object_add(o, "msr_protocol", counts(st->msr_protocol, msr_name, false));
	json_object_object_add(o, "vc", counts(st->vc, NULL, true));
	json_object_object_add(o, "faults_injected", json_object_new_int64((int64_t)st->faults_injected));
	json_object *inv = json_object_new_object();
	for (int i = 1; i < SIM_INV_MAX; i++)
		json_object_object_add(inv, sim_invariant_to_string((sim_invariant_t)i),
				       json_object_new_int64((int64_t)st->violations[i]));
	json_object_object_add(o, "violations", inv);
	json_object_object_add(o, "events", json_object_new_int64((int64_t)st->events));
	json_object_object_add(o, "seconds", json_object_new_double(seconds));
	char *out = g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	return out;
}
