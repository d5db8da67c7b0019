/* SPDX-License-Identifier: MIT */
/*
 * Names of hv_model's enums for traces, scenarios and `snpsim info`. Each table
 * is the single source of a name: *_from_string is its exact inverse, so a
 * trace written by one build is read back by the same table.
 */
#include "hv-private.h"

typedef struct hv_name {
	uint64_t value;
	const char *name;
} hv_name_t;

static const char *name_of(const hv_name_t *t, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

static bool value_of(const hv_name_t *t, size_t n, const char *s, uint64_t *out)
{
	if (!s)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, s) == 0) {
			*out = t[i].value;
			return true;
		}
	}
	return false;
}

/* Defines NAME_to_string / NAME_from_string for the table TABLE over enum type T. */
#define HV_NAMES(fn, T, table)                                                   \
	const char *fn##_to_string(T v)                                          \
	{                                                                        \
		return name_of(table, G_N_ELEMENTS(table), (uint64_t)v);         \
	}                                                                        \
	bool fn##_from_string(const char *s, T *out)                             \
	{                                                                        \
		uint64_t v;                                                      \
		if (!value_of(table, G_N_ELEMENTS(table), s, &v))                \
			return false;                                            \
		*out = (T)v;                                                     \
		return true;                                                     \
	}

static const hv_name_t triggers[] = {
	{HV_TRIG_MSR_PSC, "msr_psc"},
	{HV_TRIG_GHCB_PSC, "ghcb_psc"},
	{HV_TRIG_GHCB_REGISTER, "ghcb_register"},
	{HV_TRIG_SEV_INFO, "sev_info"},
	{HV_TRIG_HV_FEATURES, "hv_features"},
	{HV_TRIG_MSR_ANY, "msr_any"},
	{HV_TRIG_NAE, "nae"},
	{HV_TRIG_PAGE_ACCESS, "page_access"},
	{HV_TRIG_VMGEXIT, "vmgexit"},
};
HV_NAMES(hv_trigger, hv_trigger_t, triggers)

static const hv_name_t actions[] = {
	{HV_ACT_FAIL, "fail"},
	{HV_ACT_IGNORE, "ignore"},
	{HV_ACT_PARTIAL, "partial"},
	{HV_ACT_NO_PROGRESS, "no_progress"},
	{HV_ACT_CUR_ENTRY_BACK, "cur_entry_back"},
	{HV_ACT_END_ENTRY_CHANGE, "end_entry_change"},
	{HV_ACT_RESERVED_BITS, "reserved_bits"},
	{HV_ACT_WRONG_GFN, "wrong_gfn"},
	{HV_ACT_FORCE_4K, "force_4k"},
	{HV_ACT_PSMASH_BEHIND, "psmash_behind"},
	{HV_ACT_REMAP_REPLAY, "remap_replay"},
	{HV_ACT_REVOKE, "revoke"},
	{HV_ACT_REWRITE_BUFFER, "rewrite_buffer"},
	{HV_ACT_MSR_GARBAGE, "msr_garbage"},
	{HV_ACT_MSR_WRONG_CODE, "msr_wrong_code"},
	{HV_ACT_INJECT_VC, "inject_vc"},
};
HV_NAMES(hv_action, hv_action_t, actions)

static const hv_name_t action_help[] = {
	{HV_ACT_FAIL, "fail the request with error code arg (PSC status or MSR PSC error)"},
	{HV_ACT_IGNORE, "report success without doing anything (no RMPUPDATE)"},
	{HV_ACT_PARTIAL, "PSC: process arg entries, then return success"},
	{HV_ACT_NO_PROGRESS, "PSC: return success with nothing processed"},
	{HV_ACT_CUR_ENTRY_BACK, "PSC: process, then move cur_entry back by arg (>= 1)"},
	{HV_ACT_END_ENTRY_CHANGE, "PSC: process, then add arg to end_entry"},
	{HV_ACT_RESERVED_BITS, "PSC: process, then set the header's reserved field to arg|1"},
	{HV_ACT_WRONG_GFN, "PSC: convert gfn + arg instead of the GFN asked"},
	{HV_ACT_FORCE_4K, "PSC: convert a 2M entry's range with 512 4K RMPUPDATEs"},
	{HV_ACT_PSMASH_BEHIND, "after the request, PSMASH the 2M page holding gfn"},
	{HV_ACT_REMAP_REPLAY, "remap gfn to a fresh private SPA; fired again, map the old "
			      "validated SPA back (replay)"},
	{HV_ACT_REVOKE, "make gfn shared behind the guest's back (arg 1: and private again, "
			"no longer validated)"},
	{HV_ACT_REWRITE_BUFFER, "GHCB PSC: after processing, add arg to every entry's GFN in the "
				"shared buffer"},
	{HV_ACT_MSR_GARBAGE, "MSR protocol: keep the response code, data bits := arg"},
	{HV_ACT_MSR_WRONG_CODE, "MSR protocol: respond with code arg (0: request code + 2)"},
	{HV_ACT_INJECT_VC, "deliver a #VC with error code arg to the guest"},
};

const char *hv_action_describe(hv_action_t a)
{
	return name_of(action_help, G_N_ELEMENTS(action_help), a);
}

static const hv_name_t event_kinds[] = {
	{HV_EV_VMGEXIT, "vmgexit"},
	{HV_EV_MSR_PROTOCOL, "msr_protocol"},
	{HV_EV_PSC_ENTRY, "psc_entry"},
	{HV_EV_RMPUPDATE, "rmpupdate"},
	{HV_EV_PSMASH, "psmash"},
	{HV_EV_UNSMASH, "unsmash"},
	{HV_EV_NPT_REMAP, "npt_remap"},
	{HV_EV_LAUNCH_UPDATE, "launch_update"},
	{HV_EV_NPF, "npf"},
	{HV_EV_FAULT, "fault"},
	{HV_EV_AP_CREATE, "ap_create"},
	{HV_EV_AP_DESTROY, "ap_destroy"},
	{HV_EV_TERMINATE, "terminate"},
	{HV_EV_STOP, "stop"},
};
HV_NAMES(hv_event_kind, hv_event_kind_t, event_kinds)

static const hv_name_t stops[] = {
	{HV_STOP_GHCB_NOT_REGISTERED, "ghcb_not_registered"},
	{HV_STOP_GHCB_PRIVATE, "ghcb_private"},
	{HV_STOP_GHCB_UNMAPPED, "ghcb_unmapped"},
	{HV_STOP_BAD_MSR_REQUEST, "bad_msr_request"},
	{HV_STOP_NPF_UNRESOLVED, "npf_unresolved"},
	{HV_STOP_NO_VCPU, "no_vcpu"},
	{HV_STOP_UNSUPPORTED_EVENT, "unsupported_event"},
};
HV_NAMES(hv_stop, hv_stop_t, stops)

/* Exits that are not NAE events the hypervisor handles, but appear in traces (#VC codes). */
static const hv_name_t other_exits[] = {
	{SVM_EXIT_EXCP_DB, "excp_db"},
	{SVM_EXIT_HLT, "hlt"},
	{SVM_EXIT_SHUTDOWN, "shutdown"},
	{SVM_EXIT_NPF, "npf"},
	{SVM_EXIT_VMGEXIT, "vmgexit"},
	{SVM_EXIT_VMPL_NOT_VALIDATED, "not_validated"},
	{SVM_EXIT_NOT_RESTARTABLE, "not_restartable"},
	{SVM_VMGEXIT_GUEST_REQUEST, "vmgexit_guest_request"},
	{SVM_VMGEXIT_EXT_GUEST_REQUEST, "vmgexit_ext_guest_request"},
};

const char *hv_exit_code_to_string(uint64_t exit_code)
{
	const hv_nae_desc_t *d = hv_nae_find(exit_code);
	if (d)
		return d->name;
	return name_of(other_exits, G_N_ELEMENTS(other_exits), exit_code);
}

bool hv_exit_code_from_string(const char *s, uint64_t *out)
{
	if (!s)
		return false;
	size_t n;
	const hv_nae_desc_t *t = hv_nae_table(&n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, s) == 0) {
			*out = t[i].code;
			return true;
		}
	}
	return value_of(other_exits, G_N_ELEMENTS(other_exits), s, out);
}

/* Linux's GHCB_MSR_* suffixes, lower case */
static const hv_name_t msr_codes[] = {
	{GHCB_MSR_SEV_INFO_RESP, "sev_info_resp"},
	{GHCB_MSR_SEV_INFO_REQ, "sev_info_req"},
	{GHCB_MSR_CPUID_REQ, "cpuid_req"},
	{GHCB_MSR_CPUID_RESP, "cpuid_resp"},
	{GHCB_MSR_AP_RESET_HOLD_REQ, "ap_reset_hold_req"},
	{GHCB_MSR_AP_RESET_HOLD_RESP, "ap_reset_hold_resp"},
	{GHCB_MSR_PREF_GPA_REQ, "pref_gpa_req"},
	{GHCB_MSR_PREF_GPA_RESP, "pref_gpa_resp"},
	{GHCB_MSR_REG_GPA_REQ, "reg_gpa_req"},
	{GHCB_MSR_REG_GPA_RESP, "reg_gpa_resp"},
	{GHCB_MSR_PSC_REQ, "psc_req"},
	{GHCB_MSR_PSC_RESP, "psc_resp"},
	{GHCB_MSR_VMPL_REQ, "vmpl_req"},
	{GHCB_MSR_VMPL_RESP, "vmpl_resp"},
	{GHCB_MSR_HV_FT_REQ, "hv_ft_req"},
	{GHCB_MSR_HV_FT_RESP, "hv_ft_resp"},
	{GHCB_MSR_TERM_REQ, "term_req"},
};

const char *hv_msr_code_to_string(uint32_t code)
{
	return name_of(msr_codes, G_N_ELEMENTS(msr_codes), code);
}

bool hv_msr_code_from_string(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!value_of(msr_codes, G_N_ELEMENTS(msr_codes), s, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static const hv_name_t npf_actions[] = {
	{HV_NPF_RETRY, "retry"},
	{HV_NPF_STOP, "stop"},
};
HV_NAMES(hv_npf_action, hv_npf_action_t, npf_actions)

static const hv_name_t mem_kinds[] = {
	{HV_MEM_RAM, "ram"},
	{HV_MEM_MMIO, "mmio"},
	{HV_MEM_ROM, "rom"},
};
HV_NAMES(hv_mem_kind, hv_mem_kind_t, mem_kinds)

static const hv_name_t npt_kinds[] = {
	{HV_NPT_UNMAPPED, "unmapped"},
	{HV_NPT_RAM, "ram"},
	{HV_NPT_ROM, "rom"},
	{HV_NPT_MMIO, "mmio"},
};
HV_NAMES(hv_npt_kind, hv_npt_kind_t, npt_kinds)

static const hv_name_t exit_actions[] = {
	{HV_RESUME, "resume"},
	{HV_TERMINATED, "terminated"},
	{HV_STOPPED, "stopped"},
	{HV_HOLD, "hold"},
};
HV_NAMES(hv_exit_action, hv_exit_action_t, exit_actions)

static const hv_name_t vcpu_states[] = {
	{HV_VCPU_ABSENT, "absent"},
	{HV_VCPU_RUNNING, "running"},
	{HV_VCPU_HELD, "held"},
	{HV_VCPU_CREATED, "created"},
	{HV_VCPU_DESTROYED, "destroyed"},
};
HV_NAMES(hv_vcpu_state, hv_vcpu_state_t, vcpu_states)

static const hv_name_t dev_kinds[] = {
	{HV_DEV_PIO, "pio"},
	{HV_DEV_MMIO, "mmio"},
};
HV_NAMES(hv_dev_kind, hv_dev_kind_t, dev_kinds)
