/* SPDX-License-Identifier: MIT */
/*
 * The names of hv_model's values (hv.h "names"): traces and scenarios are
 * written with *_to_string and read back with *_from_string, so every value is
 * named, names are unique and lower-case, and each pair is an exact inverse.
 * Every NAE event the hypervisor handles is named (style.md point 5); MSR codes
 * use the Linux GHCB_MSR_* suffixes, exit codes KVM's SVM_EXIT_REASONS names.
 */
#include "hv_harness.h"

#include <ctype.h>
#include <string.h>

#include "hv-private.h" /* test-only: the NAE table, to walk every handled event */

static void check_name(const char *what, uint64_t v, const char *name)
{
	if (!name)
		fail_msg("%s %llu has no name", what, (unsigned long long)v);
	if (!*name)
		fail_msg("%s %llu has an empty name", what, (unsigned long long)v);
	for (const char *c = name; *c; c++)
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
			fail_msg("%s name \"%s\" is not lower-case snake_case", what, name);
}

/* Walks [first, last] of an enum through its pair and checks the rules above. */
#define CHECK_ENUM(prefix, T, first, last)                                                     \
	do {                                                                                   \
		const char *names[64] = {0};                                                   \
		assert_true((last) - (first) < 64);                                            \
		for (int v = (first); v <= (last); v++) {                                      \
			const char *n = prefix##_to_string((T)v);                              \
			check_name(#prefix, (uint64_t)v, n);                                   \
			T back;                                                                \
			assert_true(prefix##_from_string(n, &back));                           \
			assert_int_equal(back, v);                                             \
			for (int u = (first); u < v; u++)                                      \
				if (!strcmp(names[u - (first)], n))                            \
					fail_msg(#prefix " name \"%s\" is used twice", n);     \
			names[v - (first)] = n;                                                \
		}                                                                              \
		assert_null(prefix##_to_string((T)((last) + 1)));                              \
		T dummy = (T)(first);                                                          \
		assert_false(prefix##_from_string("no_such_name", &dummy));                    \
		assert_false(prefix##_from_string("", &dummy));                                \
		assert_false(prefix##_from_string(NULL, &dummy));                              \
		assert_int_equal(dummy, (first)); /* untouched on failure */                   \
		/* exact: no case folding, no prefixes */                                      \
		char upper[64];                                                                \
		const char *n0 = prefix##_to_string((T)(first));                               \
		size_t len = strlen(n0);                                                       \
		assert_true(len < sizeof(upper));                                              \
		for (size_t i = 0; i <= len; i++)                                              \
			upper[i] = (char)toupper((unsigned char)n0[i]);                        \
		if (strcmp(upper, n0))                                                         \
			assert_false(prefix##_from_string(upper, &dummy));                     \
		if (len > 1) {                                                                 \
			upper[0] = 0;                                                          \
			memcpy(upper, n0, len - 1);                                            \
			upper[len - 1] = 0;                                                    \
			T p;                                                                   \
			if (prefix##_from_string(upper, &p))                                   \
				assert_string_equal(prefix##_to_string(p), upper);             \
		}                                                                              \
	} while (0)

static void enum_names(void **state)
{
	(void)state;
	CHECK_ENUM(hv_trigger, hv_trigger_t, HV_TRIG_MSR_PSC, HV_TRIG_VMGEXIT);
	CHECK_ENUM(hv_action, hv_action_t, HV_ACT_FAIL, HV_ACT_INJECT_VC);
	CHECK_ENUM(hv_event_kind, hv_event_kind_t, HV_EV_VMGEXIT, HV_EV_STOP);
	/* HV_STOP_NONE is "not stopped": a name is optional */
	CHECK_ENUM(hv_stop, hv_stop_t, HV_STOP_GHCB_NOT_REGISTERED, HV_STOP_UNSUPPORTED_EVENT);
	CHECK_ENUM(hv_npf_action, hv_npf_action_t, HV_NPF_RETRY, HV_NPF_STOP);
	CHECK_ENUM(hv_mem_kind, hv_mem_kind_t, HV_MEM_RAM, HV_MEM_ROM);
	CHECK_ENUM(hv_npt_kind, hv_npt_kind_t, HV_NPT_UNMAPPED, HV_NPT_MMIO);
	CHECK_ENUM(hv_exit_action, hv_exit_action_t, HV_RESUME, HV_HOLD);
	CHECK_ENUM(hv_vcpu_state, hv_vcpu_state_t, HV_VCPU_ABSENT, HV_VCPU_DESTROYED);
	CHECK_ENUM(hv_dev_kind, hv_dev_kind_t, HV_DEV_PIO, HV_DEV_MMIO);
}

/* Every action has a one-line description for `snpsim info`. */
static void action_descriptions(void **state)
{
	(void)state;
	for (int a = HV_ACT_FAIL; a <= HV_ACT_INJECT_VC; a++) {
		const char *d = hv_action_describe((hv_action_t)a);
		if (!d || strlen(d) < 10 || strchr(d, '\n'))
			fail_msg("action %d has no one-line description", a);
	}
	assert_null(hv_action_describe((hv_action_t)0));
}

/* Every NAE event the hypervisor handles is named, round-trips, and names are unique. */
static void exit_code_names(void **state)
{
	(void)state;
	size_t n;
	const hv_nae_desc_t *t = hv_nae_table(&n);
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		const char *name = hv_exit_code_to_string(t[i].code);
		check_name("exit code", t[i].code, name);
		uint64_t back;
		assert_true(hv_exit_code_from_string(name, &back));
		assert_int_equal(back, t[i].code);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(hv_exit_code_to_string(t[j].code), name);
	}
	/* KVM's SVM_EXIT_REASONS spelling for the ones traces use most */
	static const struct {
		uint64_t code;
		const char *name;
	} kvm[] = {
		{SVM_EXIT_CPUID, "cpuid"},
		{SVM_EXIT_IOIO, "io"},
		{SVM_EXIT_MSR, "msr"},
		{SVM_EXIT_VMMCALL, "vmmcall"},
		{SVM_VMGEXIT_MMIO_READ, "vmgexit_mmio_read"},
		{SVM_VMGEXIT_PSC, "vmgexit_page_state_change"},
		{SVM_VMGEXIT_AP_CREATION, "vmgexit_ap_creation"},
		{SVM_VMGEXIT_TERM_REQUEST, "vmgexit_termination_request"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(kvm); i++) {
		const char *name = hv_exit_code_to_string(kvm[i].code);
		assert_non_null(name);
		assert_string_equal(name, kvm[i].name);
	}
	assert_null(hv_exit_code_to_string(0x12345));
	uint64_t v = 7;
	assert_false(hv_exit_code_from_string("nope", &v));
	assert_int_equal(v, 7);
}

/* GHCB MSR function codes (facts §3.2) by their Linux GHCB_MSR_* suffixes. */
static void msr_code_names(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		const char *name;
	} codes[] = {
		{0x001, "sev_info_resp"},      {0x002, "sev_info_req"},
		{0x004, "cpuid_req"},          {0x005, "cpuid_resp"},
		{0x006, "ap_reset_hold_req"},  {0x007, "ap_reset_hold_resp"},
		{0x010, "pref_gpa_req"},       {0x011, "pref_gpa_resp"},
		{0x012, "reg_gpa_req"},        {0x013, "reg_gpa_resp"},
		{0x014, "psc_req"},            {0x015, "psc_resp"},
		{0x080, "hv_ft_req"},          {0x081, "hv_ft_resp"},
		{0x100, "term_req"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
		const char *name = hv_msr_code_to_string(codes[i].code);
		if (!name || strcmp(name, codes[i].name))
			fail_msg("MSR code 0x%03x: name \"%s\", want \"%s\"", codes[i].code,
				 name ? name : "(null)", codes[i].name);
		uint32_t back;
		assert_true(hv_msr_code_from_string(name, &back));
		assert_int_equal(back, codes[i].code);
	}
	assert_null(hv_msr_code_to_string(0x008));
	assert_null(hv_msr_code_to_string(0xFFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enum_names),
		cmocka_unit_test(action_descriptions),
		cmocka_unit_test(exit_code_names),
		cmocka_unit_test(msr_code_names),
	};
	return cmocka_run_group_tests_name("hv_names", tests, NULL, NULL);
}
