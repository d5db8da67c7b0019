/* SPDX-License-Identifier: MIT */
/*
 * Scenario files (json-c). Parsing is strict and every error names the origin,
 * the JSON path and the problem. scenario_to_json writes every field, in a fixed
 * order, so a trace header can embed the exact scenario a run used.
 */
#include "scenario.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "simerr.h"

#define MAX_PROGRAM_STEPS 100000u
#define MAX_FAULTS 1024u
#define MAX_SPARE_PAGES (1u << 20)

static const gfw_step_t *steps_of(const GArray *a)
{
	return (const gfw_step_t *)a->data;
}

/* ------------------------------------------------------------------ life cycle */

scenario_t *scenario_new(void)
{
	scenario_t *sc = g_new0(scenario_t, 1);
	sc->origin = g_strdup("scenario");
	sc->name = g_strdup("unnamed");
	sc->description = g_strdup("");
	sc->seed = 1;
	sc->sched_seed = 1;
	sc->asid = 1;
	sc->vcpus = 1;
	sc->sev_status = MSR_AMD64_SEV_ENABLED | MSR_AMD64_SEV_ES_ENABLED | MSR_AMD64_SEV_SNP_ENABLED;
	sc->mem = g_array_new(FALSE, TRUE, sizeof(gfw_mem_entry_t));
	sc->launch = g_array_new(FALSE, TRUE, sizeof(sc_launch_t));
	sc->spare_pages = 16;
	sc->cbit = 51;
	sc->proto_min = GHCB_PROTOCOL_MIN;
	sc->proto_max = GHCB_PROTOCOL_MAX;
	sc->features = GHCB_HV_FT_SNP | GHCB_HV_FT_SNP_AP_CREATION;
	sc->implicit_conversion = true; /* KVM with guest_memfd faults private pages in on demand */
	sc->faults = g_array_new(FALSE, TRUE, sizeof(hv_fault_t));
	gfw_policy_defaults(&sc->policy);
	sc->lazy = g_array_new(FALSE, TRUE, sizeof(gfw_range_t));
	for (unsigned i = 0; i < SCENARIO_MAX_VCPUS; i++)
		sc->program[i] = g_array_new(FALSE, TRUE, sizeof(gfw_step_t));
	sc->expect_violations = g_array_new(FALSE, TRUE, sizeof(sim_invariant_t));
	sc->sched_choices = g_array_new(FALSE, TRUE, sizeof(sc_choice_t));
	return sc;
}

void scenario_free(scenario_t *sc)
{
	if (!sc)
		return;
	g_free(sc->origin);
	g_free(sc->name);
	g_free(sc->description);
	g_array_free(sc->mem, TRUE);
	g_array_free(sc->launch, TRUE);
	g_array_free(sc->faults, TRUE);
	g_array_free(sc->lazy, TRUE);
	for (unsigned i = 0; i < SCENARIO_MAX_VCPUS; i++)
		g_array_free(sc->program[i], TRUE);
	g_array_free(sc->expect_violations, TRUE);
	g_array_free(sc->sched_choices, TRUE);
	g_free(sc);
}

/* ------------------------------------------------------------------ parse helpers */

typedef struct pctx {
	const char *origin;
	GError **err;
} pctx_t;

static bool fail(pctx_t *p, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool fail(pctx_t *p, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(p->err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s: %s: %s", p->origin, path, msg);
	g_free(msg);
	return false;
}

/* Every key of o must be in allowed (NULL-terminated). */
static bool only_keys(pctx_t *p, const char *path, json_object *o, const char *const *allowed)
{
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			GString *list = g_string_new(NULL);
			for (const char *const *a = allowed; *a; a++)
				g_string_append_printf(list, "%s%s", list->len ? ", " : "", *a);
			fail(p, path, "unknown field \"%s\" (expected one of: %s)", key, list->str);
			g_string_free(list, TRUE);
			return false;
		}
	}
	return true;
}

static bool want_object(pctx_t *p, const char *path, json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(p, path, "expected an object, got %s", json_object_to_json_string(o));
	return true;
}

static bool want_array(pctx_t *p, const char *path, json_object *o)
{
	if (!json_object_is_type(o, json_type_array))
		return fail(p, path, "expected an array, got %s", json_object_to_json_string(o));
	return true;
}

/* An integer, "0x..." hex, or decimal with an optional binary suffix (K M G T, "iB"). */
static bool get_num(pctx_t *p, const char *path, json_object *o, uint64_t *out)
{
	if (json_object_is_type(o, json_type_int)) {
		errno = 0;
		int64_t v = json_object_get_int64(o);
		if (v < 0)
			return fail(p, path, "negative number %" G_GINT64_FORMAT, v);
		if (errno == ERANGE)
			return fail(p, path, "number out of range");
		*out = (uint64_t)v;
		return true;
	}
	if (!json_object_is_type(o, json_type_string))
		return fail(p, path, "expected a number or a string like \"0x1000\" or \"2M\", got %s",
			    json_object_to_json_string(o));
	const char *s = json_object_get_string(o);
	char *end = NULL;
	if (!g_ascii_isdigit(s[0]))
		return fail(p, path, "\"%s\" is not a number", s);
	errno = 0;
	uint64_t v = g_ascii_strtoull(s, &end, 0);
	if (errno == ERANGE)
		return fail(p, path, "\"%s\" is out of range", s);
	unsigned shift = 0;
	if (*end && !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
		switch (g_ascii_toupper(*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return fail(p, path, "\"%s\": unknown suffix \"%s\"", s, end);
		}
		end++;
		if (g_ascii_strcasecmp(end, "iB") == 0 || g_ascii_strcasecmp(end, "B") == 0)
			end += strlen(end);
	}
	if (*end)
		return fail(p, path, "\"%s\" is not a number", s);
	if (shift && v > (UINT64_MAX >> shift))
		return fail(p, path, "\"%s\" is out of range", s);
	*out = v << shift;
	return true;
}

static bool get_u32(pctx_t *p, const char *path, json_object *o, uint64_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (!get_num(p, path, o, &v))
		return false;
	if (v > max)
		return fail(p, path, "%" G_GUINT64_FORMAT " is out of range (at most %" G_GUINT64_FORMAT ")",
			    v, max);
	*out = (uint32_t)v;
	return true;
}

static bool get_bool(pctx_t *p, const char *path, json_object *o, bool *out)
{
	if (!json_object_is_type(o, json_type_boolean))
		return fail(p, path, "expected true or false, got %s", json_object_to_json_string(o));
	*out = json_object_get_boolean(o);
	return true;
}

static bool get_str(pctx_t *p, const char *path, json_object *o, const char **out)
{
	if (!json_object_is_type(o, json_type_string))
		return fail(p, path, "expected a string, got %s", json_object_to_json_string(o));
	*out = json_object_get_string(o);
	return true;
}

static bool need(pctx_t *p, const char *path, json_object *o, const char *key, json_object **out)
{
	if (!json_object_object_get_ex(o, key, out))
		return fail(p, path, "missing field \"%s\"", key);
	return true;
}

/* A page-aligned [gpa, gpa + size) below 2^52, size > 0. */
static bool get_range(pctx_t *p, const char *path, json_object *o, uint64_t *gpa, uint64_t *size)
{
	json_object *v;
	char *sub;
	bool ok;
	if (!need(p, path, o, "gpa", &v))
		return false;
	sub = g_strdup_printf("%s.gpa", path);
	ok = get_num(p, sub, v, gpa);
	if (ok && (*gpa & (SNP_PAGE_SIZE - 1)))
		ok = fail(p, sub, "0x%" G_GINT64_MODIFIER "x is not 4 KiB aligned", *gpa);
	if (ok && *gpa >= SCENARIO_MAX_GPA)
		ok = fail(p, sub, "0x%" G_GINT64_MODIFIER "x is beyond the 52-bit physical space",
			  *gpa);
	g_free(sub);
	if (!ok || !need(p, path, o, "size", &v))
		return false;
	sub = g_strdup_printf("%s.size", path);
	ok = get_num(p, sub, v, size);
	if (ok && *size == 0)
		ok = fail(p, sub, "size is zero");
	if (ok && (*size & (SNP_PAGE_SIZE - 1)))
		ok = fail(p, sub, "0x%" G_GINT64_MODIFIER "x is not a multiple of 4 KiB", *size);
	if (ok && (*size > SCENARIO_MAX_GPA || *gpa + *size > SCENARIO_MAX_GPA))
		ok = fail(p, sub, "0x%" G_GINT64_MODIFIER "x is absurd: the range ends beyond 2^52",
			  *size);
	g_free(sub);
	return ok;
}

/* ------------------------------------------------------------------ sections */

static bool parse_machine(pctx_t *p, json_object *o, scenario_t *sc)
{
	static const char *const keys[] = {"asid",  "vcpus",     "sev_status",  "memory", "launch",
					   "ghcb",  "vmsa_pool", "spare_pages", NULL};
	if (!want_object(p, "$.machine", o) || !only_keys(p, "$.machine", o, keys))
		return false;
	json_object *v;
	if (json_object_object_get_ex(o, "asid", &v) &&
	    !get_u32(p, "$.machine.asid", v, RMP_ASID_MAX, &sc->asid))
		return false;
	if (json_object_object_get_ex(o, "vcpus", &v) &&
	    !get_u32(p, "$.machine.vcpus", v, SCENARIO_MAX_VCPUS, &sc->vcpus))
		return false;
	if (json_object_object_get_ex(o, "sev_status", &v) &&
	    !get_num(p, "$.machine.sev_status", v, &sc->sev_status))
		return false;
	if (json_object_object_get_ex(o, "spare_pages", &v)) {
		uint32_t n = 0;
		if (!get_u32(p, "$.machine.spare_pages", v, MAX_SPARE_PAGES, &n))
			return false;
		sc->spare_pages = n;
	}
	if (json_object_object_get_ex(o, "memory", &v)) {
		if (!want_array(p, "$.machine.memory", v))
			return false;
		size_t n = json_object_array_length(v);
		if (n > GFW_MAX_MEM)
			return fail(p, "$.machine.memory", "%zu ranges: at most %u", n, GFW_MAX_MEM);
		g_array_set_size(sc->mem, 0);
		for (size_t i = 0; i < n; i++) {
			char path[64];
			snprintf(path, sizeof(path), "$.machine.memory[%zu]", i);
			json_object *e = json_object_array_get_idx(v, i), *t;
			static const char *const mk[] = {"gpa", "size", "type", NULL};
			gfw_mem_entry_t me = {.type = GFW_MEM_RAM};
			const char *ts = NULL;
			if (!want_object(p, path, e) || !only_keys(p, path, e, mk) ||
			    !get_range(p, path, e, &me.gpa, &me.size))
				return false;
			if (json_object_object_get_ex(e, "type", &t)) {
				char tp[80];
				snprintf(tp, sizeof(tp), "%s.type", path);
				if (!get_str(p, tp, t, &ts))
					return false;
				if (!sim_mem_type_from_string(ts, &me.type))
					return fail(p, tp, "unknown memory type \"%s\" (ram, mmio, reserved)",
						    ts);
			}
			g_array_append_val(sc->mem, me);
		}
	}
	if (json_object_object_get_ex(o, "launch", &v)) {
		if (!want_array(p, "$.machine.launch", v))
			return false;
		size_t n = json_object_array_length(v);
		if (n > GFW_MAX_PREVALIDATED)
			return fail(p, "$.machine.launch", "%zu ranges: at most %u", n,
				    GFW_MAX_PREVALIDATED);
		g_array_set_size(sc->launch, 0);
		for (size_t i = 0; i < n; i++) {
			char path[64], tp[80];
			snprintf(path, sizeof(path), "$.machine.launch[%zu]", i);
			snprintf(tp, sizeof(tp), "%s.type", path);
			json_object *e = json_object_array_get_idx(v, i), *t;
			static const char *const lk[] = {"gpa", "size", "type", NULL};
			sc_launch_t l = {.type = KVM_SEV_SNP_PAGE_TYPE_ZERO};
			const char *ts = NULL;
			if (!want_object(p, path, e) || !only_keys(p, path, e, lk) ||
			    !get_range(p, path, e, &l.gpa, &l.size))
				return false;
			if (json_object_object_get_ex(e, "type", &t)) {
				if (!get_str(p, tp, t, &ts))
					return false;
				if (!sim_launch_type_from_string(ts, &l.type) ||
				    l.type == KVM_SEV_SNP_PAGE_TYPE_VMSA)
					return fail(p, tp,
						    "unknown launch type \"%s\" (normal, zero, unmeasured, "
						    "secrets, cpuid)",
						    ts);
			}
			g_array_append_val(sc->launch, l);
		}
	}
	if (json_object_object_get_ex(o, "ghcb", &v)) {
		if (!want_array(p, "$.machine.ghcb", v))
			return false;
		size_t n = json_object_array_length(v);
		if (n > SCENARIO_MAX_VCPUS)
			return fail(p, "$.machine.ghcb", "%zu GHCBs: at most %u", n, SCENARIO_MAX_VCPUS);
		memset(sc->ghcb, 0, sizeof(sc->ghcb));
		for (size_t i = 0; i < n; i++) {
			char path[64];
			snprintf(path, sizeof(path), "$.machine.ghcb[%zu]", i);
			if (!get_num(p, path, json_object_array_get_idx(v, i), &sc->ghcb[i]))
				return false;
			if (sc->ghcb[i] & (SNP_PAGE_SIZE - 1))
				return fail(p, path, "0x%" G_GINT64_MODIFIER "x is not 4 KiB aligned",
					    sc->ghcb[i]);
		}
	}
	if (json_object_object_get_ex(o, "vmsa_pool", &v)) {
		static const char *const vk[] = {"gpa", "pages", NULL};
		json_object *x;
		if (!want_object(p, "$.machine.vmsa_pool", v) ||
		    !only_keys(p, "$.machine.vmsa_pool", v, vk) ||
		    !need(p, "$.machine.vmsa_pool", v, "gpa", &x) ||
		    !get_num(p, "$.machine.vmsa_pool.gpa", x, &sc->vmsa_pool_gpa) ||
		    !need(p, "$.machine.vmsa_pool", v, "pages", &x) ||
		    !get_u32(p, "$.machine.vmsa_pool.pages", x, 4096, &sc->vmsa_pool_pages))
			return false;
		if (sc->vmsa_pool_gpa & (SNP_PAGE_SIZE - 1))
			return fail(p, "$.machine.vmsa_pool.gpa", "not 4 KiB aligned");
	}
	return true;
}

static bool parse_hypervisor(pctx_t *p, json_object *o, scenario_t *sc)
{
	static const char *const keys[] = {"cbit",	     "protocol_min",	"protocol_max",
					   "features",	     "psc_max_entries", "strict_psc_ops",
					   "implicit_conversion", NULL};
	if (!want_object(p, "$.hypervisor", o) || !only_keys(p, "$.hypervisor", o, keys))
		return false;
	json_object *v;
	uint32_t u = 0;
	if (json_object_object_get_ex(o, "cbit", &v)) {
		if (!get_u32(p, "$.hypervisor.cbit", v, 63, &u))
			return false;
		sc->cbit = (uint8_t)u;
	}
	if (json_object_object_get_ex(o, "protocol_min", &v)) {
		if (!get_u32(p, "$.hypervisor.protocol_min", v, 0xFFFF, &u))
			return false;
		sc->proto_min = (uint16_t)u;
	}
	if (json_object_object_get_ex(o, "protocol_max", &v)) {
		if (!get_u32(p, "$.hypervisor.protocol_max", v, 0xFFFF, &u))
			return false;
		sc->proto_max = (uint16_t)u;
	}
	if (json_object_object_get_ex(o, "features", &v) &&
	    !get_num(p, "$.hypervisor.features", v, &sc->features))
		return false;
	if (json_object_object_get_ex(o, "psc_max_entries", &v) &&
	    !get_u32(p, "$.hypervisor.psc_max_entries", v, VMGEXIT_PSC_MAX_ENTRY, &sc->psc_max_entries))
		return false;
	if (json_object_object_get_ex(o, "strict_psc_ops", &v) &&
	    !get_bool(p, "$.hypervisor.strict_psc_ops", v, &sc->strict_psc_ops))
		return false;
	if (json_object_object_get_ex(o, "implicit_conversion", &v) &&
	    !get_bool(p, "$.hypervisor.implicit_conversion", v, &sc->implicit_conversion))
		return false;
	return true;
}

static const char *const lazy_names[] = {[GFW_LAZY_NONE] = "none",
					 [GFW_LAZY_ABOVE_4G] = "above_4g",
					 [GFW_LAZY_RANGES] = "ranges"};

static bool parse_bugs(pctx_t *p, const char *path, json_object *v, uint32_t *bugs)
{
	*bugs = 0;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strcmp(s, "none") == 0)
			return true;
		if (!gfw_bug_from_name(s, bugs))
			return fail(p, path, "unknown guest bug \"%s\" (see `snpsim info`)", s);
		return true;
	}
	if (!want_array(p, path, v))
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		char sub[80];
		const char *s = NULL;
		uint32_t b = 0;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!get_str(p, sub, json_object_array_get_idx(v, i), &s))
			return false;
		if (!gfw_bug_from_name(s, &b))
			return fail(p, sub, "unknown guest bug \"%s\" (see `snpsim info`)", s);
		*bugs |= b;
	}
	return true;
}

static bool parse_guest(pctx_t *p, json_object *o, scenario_t *sc)
{
	static const char *const keys[] = {"use_2m",	  "batch",	 "msr_only",
					   "lazy",	  "lazy_ranges", "evict_touch",
					   "psc_retries", "bug",	 NULL};
	if (!want_object(p, "$.guest", o) || !only_keys(p, "$.guest", o, keys))
		return false;
	json_object *v;
	gfw_policy_t *pol = &sc->policy;
	if (json_object_object_get_ex(o, "use_2m", &v) &&
	    !get_bool(p, "$.guest.use_2m", v, &pol->use_2m))
		return false;
	if (json_object_object_get_ex(o, "batch", &v)) {
		if (!get_u32(p, "$.guest.batch", v, VMGEXIT_PSC_MAX_ENTRY, &pol->batch))
			return false;
		if (pol->batch == 0)
			return fail(p, "$.guest.batch", "batch size 0: at least 1");
	}
	if (json_object_object_get_ex(o, "msr_only", &v) &&
	    !get_bool(p, "$.guest.msr_only", v, &pol->msr_only))
		return false;
	if (json_object_object_get_ex(o, "evict_touch", &v) &&
	    !get_bool(p, "$.guest.evict_touch", v, &pol->evict_touch))
		return false;
	if (json_object_object_get_ex(o, "psc_retries", &v)) {
		if (!get_u32(p, "$.guest.psc_retries", v, 1u << 20, &pol->psc_retries))
			return false;
		if (pol->psc_retries == 0)
			return fail(p, "$.guest.psc_retries", "0 retries: at least 1");
	}
	if (json_object_object_get_ex(o, "lazy", &v)) {
		const char *s = NULL;
		if (!get_str(p, "$.guest.lazy", v, &s))
			return false;
		bool found = false;
		for (unsigned i = 0; i < G_N_ELEMENTS(lazy_names); i++) {
			if (strcmp(lazy_names[i], s) == 0) {
				pol->lazy = i;
				found = true;
			}
		}
		if (!found)
			return fail(p, "$.guest.lazy", "unknown lazy mode \"%s\" (none, above_4g, ranges)",
				    s);
	}
	if (json_object_object_get_ex(o, "lazy_ranges", &v)) {
		if (!want_array(p, "$.guest.lazy_ranges", v))
			return false;
		size_t n = json_object_array_length(v);
		if (n > GFW_MAX_LAZY)
			return fail(p, "$.guest.lazy_ranges", "%zu ranges: at most %u", n, GFW_MAX_LAZY);
		g_array_set_size(sc->lazy, 0);
		for (size_t i = 0; i < n; i++) {
			char path[64];
			static const char *const rk[] = {"gpa", "size", NULL};
			snprintf(path, sizeof(path), "$.guest.lazy_ranges[%zu]", i);
			json_object *e = json_object_array_get_idx(v, i);
			gfw_range_t r;
			if (!want_object(p, path, e) || !only_keys(p, path, e, rk) ||
			    !get_range(p, path, e, &r.gpa, &r.size))
				return false;
			g_array_append_val(sc->lazy, r);
		}
	}
	if (json_object_object_get_ex(o, "bug", &v) && !parse_bugs(p, "$.guest.bug", v, &pol->bugs))
		return false;
	return true;
}

static bool parse_step(pctx_t *p, const char *path, json_object *e, gfw_step_t *st)
{
	json_object *v;
	const char *name = NULL;
	char sub[96];
	if (!want_object(p, path, e) || !need(p, path, e, "step", &v))
		return false;
	snprintf(sub, sizeof(sub), "%s.step", path);
	if (!get_str(p, sub, v, &name))
		return false;
	memset(st, 0, sizeof(*st));
	if (!sim_step_from_string(name, &st->kind))
		return fail(p, sub,
			    "unknown step \"%s\" (boot, accept, shared, private, touch, create_ap, "
			    "destroy_ap, cpuid, print)",
			    name);
	switch (st->kind) {
	case GFW_STEP_BOOT: {
		static const char *const k[] = {"step", NULL};
		return only_keys(p, path, e, k);
	}
	case GFW_STEP_ACCEPT:
	case GFW_STEP_SHARED:
	case GFW_STEP_PRIVATE: {
		static const char *const k[] = {"step", "gpa", "size", NULL};
		return only_keys(p, path, e, k) && get_range(p, path, e, &st->gpa, &st->size);
	}
	case GFW_STEP_TOUCH: {
		static const char *const k[] = {"step", "gpa", "write", "shared", NULL};
		bool w = false, s = false;
		if (!only_keys(p, path, e, k) || !need(p, path, e, "gpa", &v))
			return false;
		snprintf(sub, sizeof(sub), "%s.gpa", path);
		if (!get_num(p, sub, v, &st->gpa))
			return false;
		if (st->gpa >= SCENARIO_MAX_GPA)
			return fail(p, sub, "beyond the 52-bit physical space");
		snprintf(sub, sizeof(sub), "%s.write", path);
		if (json_object_object_get_ex(e, "write", &v) && !get_bool(p, sub, v, &w))
			return false;
		snprintf(sub, sizeof(sub), "%s.shared", path);
		if (json_object_object_get_ex(e, "shared", &v) && !get_bool(p, sub, v, &s))
			return false;
		st->arg = (w ? 1u : 0u) | (s ? 2u : 0u);
		st->size = 8;
		return true;
	}
	case GFW_STEP_CREATE_AP:
	case GFW_STEP_DESTROY_AP: {
		static const char *const k[] = {"step", "apic_id", NULL};
		snprintf(sub, sizeof(sub), "%s.apic_id", path);
		return only_keys(p, path, e, k) && need(p, path, e, "apic_id", &v) &&
		       get_u32(p, sub, v, 255, &st->arg);
	}
	case GFW_STEP_CPUID: {
		static const char *const k[] = {"step", "leaf", NULL};
		snprintf(sub, sizeof(sub), "%s.leaf", path);
		return only_keys(p, path, e, k) && need(p, path, e, "leaf", &v) &&
		       get_u32(p, sub, v, UINT32_MAX, &st->arg);
	}
	case GFW_STEP_PRINT: {
		static const char *const k[] = {"step", "arg", NULL};
		snprintf(sub, sizeof(sub), "%s.arg", path);
		if (!only_keys(p, path, e, k))
			return false;
		if (json_object_object_get_ex(e, "arg", &v))
			return get_u32(p, sub, v, UINT32_MAX, &st->arg);
		return true;
	}
	default:
		return fail(p, sub, "step \"%s\" is not supported in scenarios", name);
	}
}

static bool parse_program(pctx_t *p, const char *path, json_object *v, GArray *out)
{
	if (!want_array(p, path, v))
		return false;
	size_t n = json_object_array_length(v);
	if (n > MAX_PROGRAM_STEPS)
		return fail(p, path, "%zu steps: at most %u", n, MAX_PROGRAM_STEPS);
	g_array_set_size(out, 0);
	for (size_t i = 0; i < n; i++) {
		char sub[64];
		gfw_step_t st;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!parse_step(p, sub, json_object_array_get_idx(v, i), &st))
			return false;
		g_array_append_val(out, st);
	}
	return true;
}

static bool parse_fault(pctx_t *p, const char *path, json_object *o, hv_fault_t *f)
{
	static const char *const keys[] = {"trigger",   "exit_code", "nth",    "gfn_first",
					   "gfn_last",  "probability", "max_fires", "action",
					   "arg",	"gfn",	     NULL};
	json_object *v;
	const char *s = NULL;
	char sub[96];
	memset(f, 0, sizeof(*f));
	if (!want_object(p, path, o) || !only_keys(p, path, o, keys))
		return false;
	snprintf(sub, sizeof(sub), "%s.trigger", path);
	if (!need(p, path, o, "trigger", &v) || !get_str(p, sub, v, &s))
		return false;
	if (!hv_trigger_from_string(s, &f->trigger))
		return fail(p, sub, "unknown trigger \"%s\" (see `snpsim info`)", s);
	snprintf(sub, sizeof(sub), "%s.action", path);
	if (!need(p, path, o, "action", &v) || !get_str(p, sub, v, &s))
		return false;
	if (!hv_action_from_string(s, &f->action))
		return fail(p, sub, "unknown action \"%s\" (see `snpsim info`)", s);
	snprintf(sub, sizeof(sub), "%s.exit_code", path);
	if (json_object_object_get_ex(o, "exit_code", &v) &&
	    !get_u32(p, sub, v, UINT32_MAX, &f->exit_code))
		return false;
	snprintf(sub, sizeof(sub), "%s.nth", path);
	if (json_object_object_get_ex(o, "nth", &v) && !get_num(p, sub, v, &f->nth))
		return false;
	snprintf(sub, sizeof(sub), "%s.gfn_first", path);
	if (json_object_object_get_ex(o, "gfn_first", &v) && !get_num(p, sub, v, &f->gfn_first))
		return false;
	snprintf(sub, sizeof(sub), "%s.gfn_last", path);
	if (json_object_object_get_ex(o, "gfn_last", &v) && !get_num(p, sub, v, &f->gfn_last))
		return false;
	if (f->gfn_last && f->gfn_last < f->gfn_first)
		return fail(p, sub, "gfn_last is below gfn_first");
	snprintf(sub, sizeof(sub), "%s.probability", path);
	if (json_object_object_get_ex(o, "probability", &v)) {
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			return fail(p, sub, "expected a number in [0, 1]");
		double d = json_object_get_double(v);
		if (!(d >= 0.0 && d <= 1.0))
			return fail(p, sub, "%g is not in [0, 1]", d);
		/* 1.0 and 0 (unset) both mean "always": 0 ppm is how the plan says it */
		f->prob_ppm = d >= 1.0 ? 0 : (uint32_t)(d * 1e6 + 0.5);
		if (d > 0 && d < 1.0 && f->prob_ppm == 0) /* tiny but nonzero: keep it possible */
			f->prob_ppm = 1;
		if (d == 0.0)
			return fail(p, sub, "probability 0 never fires: remove the fault instead");
	}
	snprintf(sub, sizeof(sub), "%s.max_fires", path);
	if (json_object_object_get_ex(o, "max_fires", &v) &&
	    !get_u32(p, sub, v, UINT32_MAX, &f->max_fires))
		return false;
	snprintf(sub, sizeof(sub), "%s.arg", path);
	if (json_object_object_get_ex(o, "arg", &v) && !get_num(p, sub, v, &f->arg))
		return false;
	snprintf(sub, sizeof(sub), "%s.gfn", path);
	f->gfn = HV_GFN_FROM_TRIGGER;
	if (json_object_object_get_ex(o, "gfn", &v)) {
		if (json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), "trigger") == 0)
			f->gfn = HV_GFN_FROM_TRIGGER;
		else if (!get_num(p, sub, v, &f->gfn))
			return false;
	}
	return true;
}

static bool parse_faults(pctx_t *p, const char *path, json_object *v, GArray *out)
{
	if (!want_array(p, path, v))
		return false;
	size_t n = json_object_array_length(v);
	if (n > MAX_FAULTS)
		return fail(p, path, "%zu faults: at most %u", n, MAX_FAULTS);
	g_array_set_size(out, 0);
	for (size_t i = 0; i < n; i++) {
		char sub[64];
		hv_fault_t f;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!parse_fault(p, sub, json_object_array_get_idx(v, i), &f))
			return false;
		g_array_append_val(out, f);
	}
	return true;
}

static bool parse_expect(pctx_t *p, json_object *o, scenario_t *sc)
{
	static const char *const keys[] = {"outcome", "reason", "violations", NULL};
	json_object *v;
	const char *s = NULL;
	if (!want_object(p, "$.expect", o) || !only_keys(p, "$.expect", o, keys))
		return false;
	if (json_object_object_get_ex(o, "outcome", &v)) {
		if (!get_str(p, "$.expect.outcome", v, &s))
			return false;
		if (!sim_outcome_from_string(s, &sc->expect_outcome) ||
		    sc->expect_outcome == SIM_OUTCOME_NONE)
			return fail(p, "$.expect.outcome",
				    "unknown outcome \"%s\" (completed, terminated, stopped, "
				    "stopped_on_violation)",
				    s);
	}
	if (json_object_object_get_ex(o, "reason", &v)) {
		if (!get_str(p, "$.expect.reason", v, &s))
			return false;
		sc->expect_reason = true;
		if (sc->expect_outcome == SIM_OUTCOME_TERMINATED) {
			if (!gfw_term_from_name(s, &sc->expect_set, &sc->expect_code))
				return fail(p, "$.expect.reason",
					    "unknown termination reason \"%s\" (see `snpsim info`)", s);
		} else if (sc->expect_outcome == SIM_OUTCOME_STOPPED) {
			if (!sim_stop_from_string(s, &sc->expect_stop))
				return fail(p, "$.expect.reason",
					    "unknown stop reason \"%s\" (see `snpsim info`)", s);
		} else {
			return fail(p, "$.expect.reason",
				    "a reason needs \"outcome\": \"terminated\" or \"stopped\"");
		}
	}
	if (json_object_object_get_ex(o, "violations", &v)) {
		if (!want_array(p, "$.expect.violations", v))
			return false;
		g_array_set_size(sc->expect_violations, 0);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char sub[64];
			sim_invariant_t inv = SIM_INV_MAX;
			snprintf(sub, sizeof(sub), "$.expect.violations[%zu]", i);
			if (!get_str(p, sub, json_object_array_get_idx(v, i), &s))
				return false;
			if (!sim_invariant_from_string(s, &inv))
				return fail(p, sub, "unknown invariant \"%s\" (see `snpsim info`)", s);
			g_array_append_val(sc->expect_violations, inv);
		}
	}
	return true;
}

static bool parse_schedule(pctx_t *p, json_object *o, scenario_t *sc)
{
	static const char *const keys[] = {"seed", "preempt_probability", "choices", NULL};
	json_object *v;
	if (!want_object(p, "$.schedule", o) || !only_keys(p, "$.schedule", o, keys))
		return false;
	if (json_object_object_get_ex(o, "seed", &v) && !get_num(p, "$.schedule.seed", v, &sc->sched_seed))
		return false;
	if (json_object_object_get_ex(o, "preempt_probability", &v)) {
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			return fail(p, "$.schedule.preempt_probability", "expected a number in [0, 1]");
		double d = json_object_get_double(v);
		if (!(d >= 0.0 && d <= 1.0))
			return fail(p, "$.schedule.preempt_probability", "%g is not in [0, 1]", d);
		sc->preempt_ppm = (uint32_t)(d * 1e6 + 0.5);
	}
	/* [[at, vcpu], ...]: at choice point `at` vCPU `vcpu` runs (snpsim explore writes these) */
	if (json_object_object_get_ex(o, "choices", &v)) {
		if (!want_array(p, "$.schedule.choices", v))
			return false;
		g_array_set_size(sc->sched_choices, 0);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char sub[48];
			snprintf(sub, sizeof(sub), "$.schedule.choices[%zu]", i);
			json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 2)
				return fail(p, sub, "expected [choice point, vCPU]");
			sc_choice_t c;
			uint64_t vcpu;
			if (!get_num(p, sub, json_object_array_get_idx(e, 0), &c.at) ||
			    !get_num(p, sub, json_object_array_get_idx(e, 1), &vcpu))
				return false;
			if (vcpu >= sc->vcpus)
				return fail(p, sub, "vCPU %" G_GUINT64_FORMAT " does not exist (%u vCPUs)",
					    vcpu, sc->vcpus);
			if (sc->sched_choices->len &&
			    c.at <= g_array_index(sc->sched_choices, sc_choice_t,
						  sc->sched_choices->len - 1).at)
				return fail(p, sub, "choice points must be strictly increasing");
			c.vcpu = (uint32_t)vcpu;
			g_array_append_val(sc->sched_choices, c);
		}
	}
	return true;
}

static bool parse_root(pctx_t *p, json_object *root, scenario_t *sc)
{
	static const char *const keys[] = {"snpsim_scenario", "name",	  "description", "seed",
					   "machine",	      "hypervisor", "guest",	   "program",
					   "programs",	      "faults",	  "expect",	 "schedule",
					   NULL};
	json_object *v;
	if (!want_object(p, "$", root))
		return false;
	if (!json_object_object_get_ex(root, "snpsim_scenario", &v))
		return fail(p, "$", "missing \"snpsim_scenario\" version: not an snpsim scenario");
	if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) != SCENARIO_VERSION)
		return fail(p, "$.snpsim_scenario", "version %s is not supported (this snpsim reads %d)",
			    json_object_to_json_string(v), SCENARIO_VERSION);
	if (!only_keys(p, "$", root, keys))
		return false;
	const char *s = NULL;
	if (json_object_object_get_ex(root, "name", &v)) {
		if (!get_str(p, "$.name", v, &s))
			return false;
		g_free(sc->name);
		sc->name = g_strdup(s);
	}
	if (json_object_object_get_ex(root, "description", &v)) {
		if (!get_str(p, "$.description", v, &s))
			return false;
		g_free(sc->description);
		sc->description = g_strdup(s);
	}
	if (json_object_object_get_ex(root, "seed", &v) && !get_num(p, "$.seed", v, &sc->seed))
		return false;
	if (json_object_object_get_ex(root, "machine", &v) && !parse_machine(p, v, sc))
		return false;
	if (json_object_object_get_ex(root, "hypervisor", &v) && !parse_hypervisor(p, v, sc))
		return false;
	if (json_object_object_get_ex(root, "guest", &v) && !parse_guest(p, v, sc))
		return false;
	bool has_prog = json_object_object_get_ex(root, "program", &v);
	if (has_prog && !parse_program(p, "$.program", v, sc->program[0]))
		return false;
	if (json_object_object_get_ex(root, "programs", &v)) {
		if (has_prog)
			return fail(p, "$.programs", "give either \"program\" or \"programs\", not both");
		if (!want_array(p, "$.programs", v))
			return false;
		size_t n = json_object_array_length(v);
		if (n > SCENARIO_MAX_VCPUS)
			return fail(p, "$.programs", "%zu programs: at most %u (one per vCPU)", n,
				    SCENARIO_MAX_VCPUS);
		for (size_t i = 0; i < n; i++) {
			char sub[32];
			snprintf(sub, sizeof(sub), "$.programs[%zu]", i);
			if (!parse_program(p, sub, json_object_array_get_idx(v, i), sc->program[i]))
				return false;
		}
	}
	if (json_object_object_get_ex(root, "faults", &v) &&
	    !parse_faults(p, "$.faults", v, sc->faults))
		return false;
	if (json_object_object_get_ex(root, "expect", &v) && !parse_expect(p, v, sc))
		return false;
	if (json_object_object_get_ex(root, "schedule", &v) && !parse_schedule(p, v, sc))
		return false;
	return true;
}

scenario_t *scenario_load_string(const char *json, const char *origin, GError **err)
{
	pctx_t p = {.origin = origin, .err = err};
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	enum json_tokener_error je = json_tokener_get_error(tok);
	if (je == json_tokener_success && tok->char_offset < (int)strlen(json)) {
		/* trailing content after the object */
		const char *rest = json + tok->char_offset;
		while (*rest && g_ascii_isspace(*rest))
			rest++;
		if (*rest) {
			json_tokener_free(tok);
			json_object_put(root);
			fail(&p, "$", "trailing content after the JSON object");
			return NULL;
		}
	}
	if (!root || je != json_tokener_success) {
		int off = tok->char_offset;
		json_tokener_free(tok);
		if (root)
			json_object_put(root);
		/* line of the error, for a human with an editor */
		int line = 1;
		for (int i = 0; i < off && json[i]; i++)
			line += json[i] == '\n';
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s:%d: malformed JSON: %s", origin,
			    line,
			    je != json_tokener_success ? json_tokener_error_desc(je) : "empty input");
		return NULL;
	}
	json_tokener_free(tok);
	scenario_t *sc = scenario_new();
	g_free(sc->origin);
	sc->origin = g_strdup(origin);
	bool ok = parse_root(&p, root, sc);
	json_object_put(root);
	if (ok)
		ok = scenario_validate(sc, err);
	if (!ok) {
		scenario_free(sc);
		return NULL;
	}
	return sc;
}

static char *read_text(const char *path, GError **err)
{
	char *data = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(path, &data, &len, &e)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_IO, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	if (memchr(data, '\0', len)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s: not a text file", path);
		g_free(data);
		return NULL;
	}
	return data;
}

scenario_t *scenario_load_file(const char *path, GError **err)
{
	char *data = read_text(path, err);
	if (!data)
		return NULL;
	scenario_t *sc = scenario_load_string(data, path, err);
	g_free(data);
	return sc;
}

bool scenario_load_faults_file(scenario_t *sc, const char *path, GError **err)
{
	char *data = read_text(path, err);
	if (!data)
		return false;
	pctx_t p = {.origin = path, .err = err};
	json_object *root = json_tokener_parse(data);
	g_free(data);
	bool ok;
	if (!root) {
		ok = fail(&p, "$", "malformed JSON");
	} else if (json_object_is_type(root, json_type_array)) {
		ok = parse_faults(&p, "$", root, sc->faults);
	} else if (json_object_is_type(root, json_type_object)) {
		static const char *const k[] = {"faults", NULL};
		json_object *v;
		ok = only_keys(&p, "$", root, k) && need(&p, "$", root, "faults", &v) &&
		     parse_faults(&p, "$.faults", v, sc->faults);
	} else {
		ok = fail(&p, "$", "expected an array of faults or {\"faults\": [...]}");
	}
	if (root)
		json_object_put(root);
	return ok;
}

/* ------------------------------------------------------------------ validation */

static const gfw_mem_entry_t *mem_find(const scenario_t *sc, uint64_t gpa, uint64_t size)
{
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *e = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		if (gpa >= e->gpa && gpa - e->gpa < e->size && size <= e->size - (gpa - e->gpa))
			return e;
	}
	return NULL;
}

static bool in_ram(const scenario_t *sc, uint64_t gpa, uint64_t size)
{
	const gfw_mem_entry_t *e = mem_find(sc, gpa, size);
	return e && e->type == GFW_MEM_RAM;
}

#define X(v) ((unsigned long long)(v))

bool scenario_validate(const scenario_t *sc, GError **err)
{
	pctx_t p = {.origin = sc->origin, .err = err};
	if (sc->asid == 0 || sc->asid > RMP_ASID_MAX)
		return fail(&p, "$.machine.asid", "ASID %u is not in 1..%u", sc->asid, RMP_ASID_MAX);
	if (sc->vcpus == 0 || sc->vcpus > SCENARIO_MAX_VCPUS)
		return fail(&p, "$.machine.vcpus", "%u vCPUs: 1..%u", sc->vcpus, SCENARIO_MAX_VCPUS);
	if (sc->mem->len == 0)
		return fail(&p, "$.machine.memory", "no memory");
	bool any_ram = false;
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *e = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		char path[64];
		snprintf(path, sizeof(path), "$.machine.memory[%u]", i);
		any_ram |= e->type == GFW_MEM_RAM;
		if (i > 0) {
			const gfw_mem_entry_t *prev = &g_array_index(sc->mem, gfw_mem_entry_t, i - 1);
			if (e->gpa < prev->gpa + prev->size)
				return fail(&p, path,
					    "0x%llx overlaps or precedes the previous range (ranges must "
					    "be sorted and disjoint)",
					    X(e->gpa));
		}
	}
	if (!any_ram)
		return fail(&p, "$.machine.memory", "no RAM range");
	for (guint i = 0; i < sc->launch->len; i++) {
		const sc_launch_t *l = &g_array_index(sc->launch, sc_launch_t, i);
		char path[64];
		snprintf(path, sizeof(path), "$.machine.launch[%u]", i);
		if (!in_ram(sc, l->gpa, l->size))
			return fail(&p, path, "0x%llx+0x%llx is not inside one RAM range", X(l->gpa),
				    X(l->size));
		if ((l->type == KVM_SEV_SNP_PAGE_TYPE_CPUID || l->type == KVM_SEV_SNP_PAGE_TYPE_SECRETS) &&
		    l->size != SNP_PAGE_SIZE)
			return fail(&p, path, "a %s page is one 4 KiB page",
				    sim_launch_type_to_string(l->type));
		for (guint j = 0; j < i; j++) {
			const sc_launch_t *o = &g_array_index(sc->launch, sc_launch_t, j);
			if (l->gpa < o->gpa + o->size && o->gpa < l->gpa + l->size)
				return fail(&p, path, "overlaps $.machine.launch[%u]", j);
		}
	}
	for (uint32_t i = 0; i < sc->vcpus; i++) {
		char path[64];
		snprintf(path, sizeof(path), "$.machine.ghcb[%u]", i);
		if (!sc->ghcb[i])
			return fail(&p, "$.machine.ghcb", "vCPU %u has no GHCB page (%u vCPUs)", i,
				    sc->vcpus);
		if (!in_ram(sc, sc->ghcb[i], SNP_PAGE_SIZE))
			return fail(&p, path, "0x%llx is not in RAM", X(sc->ghcb[i]));
		for (uint32_t j = 0; j < i; j++)
			if (sc->ghcb[j] == sc->ghcb[i])
				return fail(&p, path, "vCPUs %u and %u share a GHCB page", j, i);
	}
	if (sc->vmsa_pool_pages &&
	    !in_ram(sc, sc->vmsa_pool_gpa, (uint64_t)sc->vmsa_pool_pages * SNP_PAGE_SIZE))
		return fail(&p, "$.machine.vmsa_pool", "0x%llx (%u pages) is not inside one RAM range",
			    X(sc->vmsa_pool_gpa), sc->vmsa_pool_pages);
	if (sc->proto_min > sc->proto_max)
		return fail(&p, "$.hypervisor", "protocol_min %u > protocol_max %u", sc->proto_min,
			    sc->proto_max);
	if (sc->policy.lazy == GFW_LAZY_RANGES && sc->lazy->len == 0)
		return fail(&p, "$.guest.lazy_ranges", "lazy \"ranges\" needs at least one range");
	for (guint i = 0; i < sc->lazy->len; i++) {
		const gfw_range_t *r = &g_array_index(sc->lazy, gfw_range_t, i);
		char path[64];
		snprintf(path, sizeof(path), "$.guest.lazy_ranges[%u]", i);
		if (!in_ram(sc, r->gpa, r->size))
			return fail(&p, path, "0x%llx+0x%llx is not inside one RAM range", X(r->gpa),
				    X(r->size));
	}
	for (uint32_t c = 0; c < SCENARIO_MAX_VCPUS; c++) {
		const GArray *prog = sc->program[c];
		if (prog->len && c >= sc->vcpus)
			return fail(&p, "$.programs", "program for vCPU %u but only %u vCPUs", c,
				    sc->vcpus);
		for (guint i = 0; i < prog->len; i++) {
			const gfw_step_t *st = &steps_of(prog)[i];
			char path[64];
			if (c == 0)
				snprintf(path, sizeof(path), "$.program[%u]", i);
			else
				snprintf(path, sizeof(path), "$.programs[%u][%u]", c, i);
			switch (st->kind) {
			case GFW_STEP_ACCEPT:
			case GFW_STEP_SHARED:
			case GFW_STEP_PRIVATE:
				if (!in_ram(sc, st->gpa, st->size))
					return fail(&p, path,
						    "0x%llx+0x%llx is not inside one RAM range",
						    X(st->gpa), X(st->size));
				break;
			case GFW_STEP_TOUCH:
				if (!mem_find(sc, st->gpa, 1))
					return fail(&p, path, "0x%llx is not in the memory map",
						    X(st->gpa));
				break;
			case GFW_STEP_CREATE_AP:
				if (sc->vmsa_pool_pages == 0)
					return fail(&p, path, "create_ap needs $.machine.vmsa_pool");
				break;
			default:
				break;
			}
		}
	}
	return true;
}

/* ------------------------------------------------------------------ serialisation */

static json_object *hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", X(v));
	return json_object_new_string(buf);
}

static json_object *range_obj(uint64_t gpa, uint64_t size)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "gpa", hex(gpa));
	json_object_object_add(o, "size", hex(size));
	return o;
}

static json_object *step_obj(const gfw_step_t *st)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "step", json_object_new_string(sim_step_to_string(st->kind)));
	switch (st->kind) {
	case GFW_STEP_ACCEPT:
	case GFW_STEP_SHARED:
	case GFW_STEP_PRIVATE:
		json_object_object_add(o, "gpa", hex(st->gpa));
		json_object_object_add(o, "size", hex(st->size));
		break;
	case GFW_STEP_TOUCH:
		json_object_object_add(o, "gpa", hex(st->gpa));
		json_object_object_add(o, "write", json_object_new_boolean(st->arg & 1));
		json_object_object_add(o, "shared", json_object_new_boolean(st->arg & 2));
		break;
	case GFW_STEP_CREATE_AP:
	case GFW_STEP_DESTROY_AP:
		json_object_object_add(o, "apic_id", json_object_new_int64(st->arg));
		break;
	case GFW_STEP_CPUID:
		json_object_object_add(o, "leaf", hex(st->arg));
		break;
	case GFW_STEP_PRINT:
		json_object_object_add(o, "arg", json_object_new_int64(st->arg));
		break;
	default:
		break;
	}
	return o;
}

static json_object *program_arr(const GArray *prog)
{
	json_object *a = json_object_new_array();
	for (guint i = 0; i < prog->len; i++)
		json_object_array_add(a, step_obj(&steps_of(prog)[i]));
	return a;
}

static json_object *faults_arr(const GArray *faults)
{
	json_object *a = json_object_new_array();
	for (guint i = 0; i < faults->len; i++) {
		const hv_fault_t *f = &g_array_index(faults, hv_fault_t, i);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "trigger",
				       json_object_new_string(hv_trigger_to_string(f->trigger)));
		json_object_object_add(o, "exit_code", hex(f->exit_code));
		json_object_object_add(o, "nth", json_object_new_int64((int64_t)f->nth));
		json_object_object_add(o, "gfn_first", hex(f->gfn_first));
		json_object_object_add(o, "gfn_last", hex(f->gfn_last));
		json_object_object_add(o, "probability",
				       json_object_new_double(f->prob_ppm ? f->prob_ppm / 1e6 : 1.0));
		json_object_object_add(o, "max_fires", json_object_new_int64(f->max_fires));
		json_object_object_add(o, "action",
				       json_object_new_string(hv_action_to_string(f->action)));
		json_object_object_add(o, "arg", hex(f->arg));
		json_object_object_add(o, "gfn", f->gfn == HV_GFN_FROM_TRIGGER
							 ? json_object_new_string("trigger")
							 : hex(f->gfn));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *bugs_arr(uint32_t bugs)
{
	json_object *a = json_object_new_array();
	for (uint32_t b = 0; b < 32; b++)
		if (bugs & (1u << b))
			json_object_array_add(a, json_object_new_string(gfw_bug_name(1u << b)));
	return a;
}

char *scenario_to_json(const scenario_t *sc, bool pretty)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "snpsim_scenario", json_object_new_int(SCENARIO_VERSION));
	json_object_object_add(r, "name", json_object_new_string(sc->name));
	json_object_object_add(r, "description", json_object_new_string(sc->description));
	json_object_object_add(r, "seed", json_object_new_int64((int64_t)sc->seed));

	json_object *m = json_object_new_object();
	json_object_object_add(m, "asid", json_object_new_int64(sc->asid));
	json_object_object_add(m, "vcpus", json_object_new_int64(sc->vcpus));
	json_object_object_add(m, "sev_status", hex(sc->sev_status));
	json_object *mem = json_object_new_array();
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *e = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		json_object *o = range_obj(e->gpa, e->size);
		json_object_object_add(o, "type", json_object_new_string(sim_mem_type_to_string(e->type)));
		json_object_array_add(mem, o);
	}
	json_object_object_add(m, "memory", mem);
	json_object *la = json_object_new_array();
	for (guint i = 0; i < sc->launch->len; i++) {
		const sc_launch_t *l = &g_array_index(sc->launch, sc_launch_t, i);
		json_object *o = range_obj(l->gpa, l->size);
		json_object_object_add(o, "type", json_object_new_string(sim_launch_type_to_string(l->type)));
		json_object_array_add(la, o);
	}
	json_object_object_add(m, "launch", la);
	json_object *gh = json_object_new_array();
	for (uint32_t i = 0; i < sc->vcpus; i++)
		json_object_array_add(gh, hex(sc->ghcb[i]));
	json_object_object_add(m, "ghcb", gh);
	json_object *vp = json_object_new_object();
	json_object_object_add(vp, "gpa", hex(sc->vmsa_pool_gpa));
	json_object_object_add(vp, "pages", json_object_new_int64(sc->vmsa_pool_pages));
	json_object_object_add(m, "vmsa_pool", vp);
	json_object_object_add(m, "spare_pages", json_object_new_int64((int64_t)sc->spare_pages));
	json_object_object_add(r, "machine", m);

	json_object *h = json_object_new_object();
	json_object_object_add(h, "cbit", json_object_new_int(sc->cbit));
	json_object_object_add(h, "protocol_min", json_object_new_int(sc->proto_min));
	json_object_object_add(h, "protocol_max", json_object_new_int(sc->proto_max));
	json_object_object_add(h, "features", hex(sc->features));
	json_object_object_add(h, "psc_max_entries", json_object_new_int64(sc->psc_max_entries));
	json_object_object_add(h, "strict_psc_ops", json_object_new_boolean(sc->strict_psc_ops));
	json_object_object_add(h, "implicit_conversion",
			       json_object_new_boolean(sc->implicit_conversion));
	json_object_object_add(r, "hypervisor", h);

	json_object *g = json_object_new_object();
	json_object_object_add(g, "use_2m", json_object_new_boolean(sc->policy.use_2m));
	json_object_object_add(g, "batch", json_object_new_int64(sc->policy.batch));
	json_object_object_add(g, "msr_only", json_object_new_boolean(sc->policy.msr_only));
	json_object_object_add(g, "lazy", json_object_new_string(lazy_names[sc->policy.lazy % 3]));
	json_object *lr = json_object_new_array();
	for (guint i = 0; i < sc->lazy->len; i++) {
		const gfw_range_t *x = &g_array_index(sc->lazy, gfw_range_t, i);
		json_object_array_add(lr, range_obj(x->gpa, x->size));
	}
	json_object_object_add(g, "lazy_ranges", lr);
	json_object_object_add(g, "evict_touch", json_object_new_boolean(sc->policy.evict_touch));
	json_object_object_add(g, "psc_retries", json_object_new_int64(sc->policy.psc_retries));
	json_object_object_add(g, "bug", bugs_arr(sc->policy.bugs));
	json_object_object_add(r, "guest", g);

	uint32_t nprog = 1;
	for (uint32_t c = 1; c < SCENARIO_MAX_VCPUS; c++)
		if (sc->program[c]->len)
			nprog = c + 1;
	if (nprog == 1) {
		json_object_object_add(r, "program", program_arr(sc->program[0]));
	} else {
		json_object *ps = json_object_new_array();
		for (uint32_t c = 0; c < nprog; c++)
			json_object_array_add(ps, program_arr(sc->program[c]));
		json_object_object_add(r, "programs", ps);
	}
	json_object_object_add(r, "faults", faults_arr(sc->faults));

	json_object *e = json_object_new_object();
	if (sc->expect_outcome != SIM_OUTCOME_NONE)
		json_object_object_add(e, "outcome",
				       json_object_new_string(sim_outcome_to_string(sc->expect_outcome)));
	if (sc->expect_reason) {
		const char *rn = sc->expect_outcome == SIM_OUTCOME_TERMINATED
					 ? gfw_term_name(sc->expect_set, sc->expect_code)
					 : sim_stop_to_string(sc->expect_stop);
		json_object_object_add(e, "reason", json_object_new_string(rn ? rn : "unknown"));
	}
	json_object *ev = json_object_new_array();
	for (guint i = 0; i < sc->expect_violations->len; i++)
		json_object_array_add(ev, json_object_new_string(sim_invariant_to_string(
						  g_array_index(sc->expect_violations, sim_invariant_t, i))));
	json_object_object_add(e, "violations", ev);
	json_object_object_add(r, "expect", e);

	json_object *sch = json_object_new_object();
	json_object_object_add(sch, "seed", json_object_new_int64((int64_t)sc->sched_seed));
	json_object_object_add(sch, "preempt_probability",
			       json_object_new_double(sc->preempt_ppm / 1e6));
	if (sc->sched_choices->len) { /* absent when empty: older traces stay byte-identical */
		json_object *ch = json_object_new_array();
		for (guint i = 0; i < sc->sched_choices->len; i++) {
			const sc_choice_t *c = &g_array_index(sc->sched_choices, sc_choice_t, i);
			json_object *e = json_object_new_array();
			json_object_array_add(e, json_object_new_int64((int64_t)c->at));
			json_object_array_add(e, json_object_new_int64(c->vcpu));
			json_object_array_add(ch, e);
		}
		json_object_object_add(sch, "choices", ch);
	}
	json_object_object_add(r, "schedule", sch);

	char *out = g_strdup(json_object_to_json_string_ext(
		r, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	return out;
}

/* ------------------------------------------------------------------ guestfw configuration */

void scenario_gfw_config(const scenario_t *sc, gfw_config_t *out)
{
	memset(out, 0, sizeof(*out));
	for (guint i = 0; i < sc->mem->len && i < GFW_MAX_MEM; i++)
		out->mem[out->nmem++] = g_array_index(sc->mem, gfw_mem_entry_t, i);
	for (guint i = 0; i < sc->launch->len && i < GFW_MAX_PREVALIDATED; i++) {
		const sc_launch_t *l = &g_array_index(sc->launch, sc_launch_t, i);
		out->prevalidated[out->nprevalidated++] = (gfw_range_t){l->gpa, l->size};
		if (l->type == KVM_SEV_SNP_PAGE_TYPE_CPUID)
			out->cpuid_page_gpa = l->gpa;
		if (l->type == KVM_SEV_SNP_PAGE_TYPE_SECRETS)
			out->secrets_page_gpa = l->gpa;
	}
	for (guint i = 0; i < sc->lazy->len && i < GFW_MAX_LAZY; i++)
		out->lazy[out->nlazy++] = g_array_index(sc->lazy, gfw_range_t, i);
	for (uint32_t i = 0; i < sc->vcpus; i++)
		out->ghcb_gpa[i] = sc->ghcb[i];
	out->vmsa_pool_gpa = sc->vmsa_pool_gpa;
	out->vmsa_pool_pages = sc->vmsa_pool_pages;
	out->policy = sc->policy;
}

/* ------------------------------------------------------------------ the built-in default */

scenario_t *scenario_default(void)
{
	scenario_t *sc = scenario_new();
	g_free(sc->origin);
	sc->origin = g_strdup("built-in default scenario");
	g_free(sc->name);
	sc->name = g_strdup("default-q35-4g");
	g_free(sc->description);
	sc->description = g_strdup(
		"4 GiB q35-like guest: 2 GiB below the PCI hole and 2 GiB above 4 GiB, OVMF X64 "
		"launch ranges, eager pre-validation below 4 GiB, RAM above 4 GiB left unaccepted, "
		"a few conversions, lazily accepted high memory, one AP");
	static const gfw_mem_entry_t mem[] = {
		{0x0, 0xA0000, GFW_MEM_RAM},
		{0xA0000, 0x20000, GFW_MEM_MMIO},          /* legacy VGA window */
		{0xC0000, 0x40000, GFW_MEM_RESERVED},      /* option ROMs, BIOS shadow */
		{0x100000, 0x7FF00000, GFW_MEM_RAM},       /* up to 2 GiB */
		{0x80000000, 0x80000000, GFW_MEM_MMIO},    /* PCI hole, LAPIC, flash */
		{0x100000000ull, 0x80000000, GFW_MEM_RAM}, /* 2 GiB above 4 GiB */
	};
	g_array_append_vals(sc->mem, mem, G_N_ELEMENTS(mem));
	/* OVMF X64 SEV metadata (facts §10.3); the GHCB at 0x809000 is the gap */
	static const sc_launch_t launch[] = {
		{0x800000, 0x9000, KVM_SEV_SNP_PAGE_TYPE_ZERO},
		{0x80A000, 0x3000, KVM_SEV_SNP_PAGE_TYPE_ZERO},
		{0x80D000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_SECRETS},
		{0x80E000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_CPUID},
		{0x80F000, 0x1000, KVM_SEV_SNP_PAGE_TYPE_ZERO},
		{0x810000, 0x20000, KVM_SEV_SNP_PAGE_TYPE_ZERO},
	};
	g_array_append_vals(sc->launch, launch, G_N_ELEMENTS(launch));
	sc->vcpus = 2;
	sc->ghcb[0] = 0x809000;
	sc->ghcb[1] = 0x830000;
	sc->vmsa_pool_gpa = 0x1001000;
	sc->vmsa_pool_pages = 4;
	sc->policy.lazy = GFW_LAZY_ABOVE_4G;
	static const gfw_step_t prog[] = {
		{GFW_STEP_BOOT, 0, 0, 0},
		{GFW_STEP_SHARED, 0, 0x2000000, 0x10000},  /* 16 pages for a device buffer */
		{GFW_STEP_PRIVATE, 0, 0x2000000, 0x10000}, /* and back */
		{GFW_STEP_SHARED, 0, 0x4000000, 0x200000}, /* one 2 MiB page */
		{GFW_STEP_PRIVATE, 0, 0x4000000, 0x200000},
		{GFW_STEP_ACCEPT, 0, 0x100000000ull, 0x10000000}, /* 256 MiB of high memory */
		{GFW_STEP_TOUCH, 1, 0x108000000ull, 8},
		{GFW_STEP_TOUCH, 0, 0x140000000ull, 8}, /* not yet accepted: #VC 0x404, lazy path */
		{GFW_STEP_CPUID, CPUID_FN_SEV, 0, 0},
		{GFW_STEP_CREATE_AP, 1, 0, 0},
	};
	g_array_append_vals(sc->program[0], prog, G_N_ELEMENTS(prog));
	sc->expect_outcome = SIM_OUTCOME_COMPLETED;
	return sc;
}
