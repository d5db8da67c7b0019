/* SPDX-License-Identifier: MIT */
#include "event.h"

#include <glib.h>
#include <string.h>

static const char *const kind_names[SIM_EV_KIND_MAX] = {
	[SIM_EV_VMGEXIT] = "vmgexit",
	[SIM_EV_MSR_PROTOCOL] = "msr_protocol",
	[SIM_EV_PSC_ENTRY] = "psc_entry",
	[SIM_EV_RMPUPDATE] = "rmpupdate",
	[SIM_EV_PSMASH] = "psmash",
	[SIM_EV_UNSMASH] = "unsmash",
	[SIM_EV_NPT_REMAP] = "npt_remap",
	[SIM_EV_LAUNCH_UPDATE] = "launch_update",
	[SIM_EV_NPF] = "npf",
	[SIM_EV_FAULT] = "fault_injected",
	[SIM_EV_AP_CREATE] = "ap_create",
	[SIM_EV_AP_DESTROY] = "ap_destroy",
	[SIM_EV_TERMINATE] = "terminate",
	[SIM_EV_STOP] = "stop",
	[SIM_EV_PVALIDATE] = "pvalidate",
	[SIM_EV_RMPADJUST] = "rmpadjust",
	[SIM_EV_VC] = "vc",
	[SIM_EV_NOTE] = "note",
	[SIM_EV_VIOLATION] = "violation",
	[SIM_EV_END] = "end",
};

const char *sim_ev_kind_to_string(sim_ev_kind_t k)
{
	return (k > 0 && k < SIM_EV_KIND_MAX) ? kind_names[k] : NULL;
}

bool sim_ev_kind_from_string(const char *s, sim_ev_kind_t *out)
{
	for (int k = 1; k < SIM_EV_KIND_MAX; k++) {
		if (kind_names[k] && strcmp(kind_names[k], s) == 0) {
			*out = (sim_ev_kind_t)k;
			return true;
		}
	}
	return false;
}

static const char *const outcome_names[] = {
	[SIM_OUTCOME_NONE] = "none",
	[SIM_OUTCOME_COMPLETED] = "completed",
	[SIM_OUTCOME_TERMINATED] = "terminated",
	[SIM_OUTCOME_STOPPED] = "stopped",
	[SIM_OUTCOME_VIOLATION] = "stopped_on_violation",
};

const char *sim_outcome_to_string(sim_outcome_t o)
{
	return (size_t)o < G_N_ELEMENTS(outcome_names) ? outcome_names[o] : NULL;
}

bool sim_outcome_from_string(const char *s, sim_outcome_t *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(outcome_names); i++) {
		if (strcmp(outcome_names[i], s) == 0) {
			*out = (sim_outcome_t)i;
			return true;
		}
	}
	return false;
}

static const struct {
	uint32_t stop;
	const char *name;
} sim_stops[] = {
	{SIM_STOP_GUEST_EXCEPTION, "guest_exception"},
	{SIM_STOP_VC_LOOP, "vc_loop"},
	{SIM_STOP_NPF_LOOP, "npf_loop"},
	{SIM_STOP_BAD_ACCESS, "bad_access"},
	{SIM_STOP_BUDGET, "budget"},
	{SIM_STOP_DEADLOCK, "deadlock"},
	{SIM_STOP_HALTED, "halted"},
};

const char *sim_stop_to_string(uint32_t stop)
{
	for (size_t i = 0; i < G_N_ELEMENTS(sim_stops); i++)
		if (sim_stops[i].stop == stop)
			return sim_stops[i].name;
	return hv_stop_to_string((hv_stop_t)stop);
}

bool sim_stop_from_string(const char *s, uint32_t *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(sim_stops); i++) {
		if (strcmp(sim_stops[i].name, s) == 0) {
			*out = sim_stops[i].stop;
			return true;
		}
	}
	for (uint32_t st = 1; st < SIM_STOP_GUEST_EXCEPTION; st++) {
		const char *n = hv_stop_to_string((hv_stop_t)st);
		if (!n)
			break;
		if (strcmp(n, s) == 0) {
			*out = st;
			return true;
		}
	}
	return false;
}

void sim_event_from_hv(sim_event_t *out, const hv_event_t *ev)
{
	memset(out, 0, sizeof(*out));
	/* hv_event_kind_t and the first sim_ev_kind_t values are the same list */
	out->kind = (uint32_t)ev->kind;
	out->vcpu = ev->vcpu;
	out->ghcb_gpa = ev->ghcb_gpa;
	out->exit_reason = ev->exit_reason;
	out->info1 = ev->info1;
	out->info2 = ev->info2;
	out->gfn = ev->gfn;
	out->gpa = ev->gpa;
	out->spa = ev->spa;
	out->npages = ev->npages;
	out->op = ev->op;
	out->page_2m = ev->page_2m;
	out->assigned = ev->assigned;
	out->status = ev->status;
	out->psc_status = ev->psc_status;
	out->fault = ev->fault;
	out->set = ev->set;
	out->reason = ev->code;
	out->stop = ev->stop;
}

_Static_assert((int)SIM_EV_STOP == (int)HV_EV_STOP, "sim and hv event kinds line up");
_Static_assert((int)SIM_EV_VMGEXIT == (int)HV_EV_VMGEXIT, "sim and hv event kinds line up");
