/* SPDX-License-Identifier: MIT */
/*
 * The two name tables: termination reasons (the table in guestfw.h, kept in the
 * same order) and historical bugs. Tables, not branches, so that a test can walk
 * them and `snpsim info` can print them.
 */
#include "gfw-private.h"

static const struct {
	gfw_term_t term;
	const char *name;
	const char *what;
} term_table[] = {
	{GFW_TERM_GENERAL, "GFW_TERM_GENERAL", "general termination request (unused by guestfw)"},
	{GFW_TERM_PROTOCOL, "GFW_TERM_PROTOCOL",
	 "the hypervisor's GHCB protocol range does not include version 2"},
	{GFW_TERM_SNP_UNSUPPORTED, "GFW_TERM_SNP_UNSUPPORTED",
	 "SEV_STATUS without SNP, or hypervisor features without the SNP bit"},
	{GFW_TERM_REGISTER, "GFW_TERM_REGISTER",
	 "the register-GHCB-GPA response is not the GFN the guest asked for"},
	{GFW_TERM_PSC, "GFW_TERM_PSC",
	 "page state change failed (NAE error, PSC status in SW_EXITINFO2, MSR PSC error)"},
	{GFW_TERM_PVALIDATE, "GFW_TERM_PVALIDATE",
	 "PVALIDATE failed, or reported no update (CF=1: double validation or rescind)"},
	{GFW_TERM_NOT_VMPL0, "GFW_TERM_NOT_VMPL0", "the RMPADJUST VMPL0 test failed"},
	{GFW_TERM_CPUID, "GFW_TERM_CPUID", "the CPUID page is missing or malformed"},
	{GFW_TERM_SECRETS, "GFW_TERM_SECRETS", "the secrets page carries no VMPCK0 key"},
	{GFW_TERM_MSR_RESPONSE, "GFW_TERM_MSR_RESPONSE",
	 "an MSR-protocol response carried an unexpected response code"},
	{GFW_TERM_PSC_BACKWARDS, "GFW_TERM_PSC_BACKWARDS",
	 "the hypervisor moved the PSC cur_entry backwards"},
	{GFW_TERM_PSC_END_CHANGED, "GFW_TERM_PSC_END_CHANGED",
	 "the hypervisor changed the PSC end_entry"},
	{GFW_TERM_PSC_RESERVED, "GFW_TERM_PSC_RESERVED",
	 "the hypervisor set the PSC header's reserved field"},
	{GFW_TERM_PSC_NO_PROGRESS, "GFW_TERM_PSC_NO_PROGRESS",
	 "the PSC made no progress within the retry bound"},
	{GFW_TERM_VC_VALIDATED, "GFW_TERM_VC_VALIDATED",
	 "#VC 0x404 (not validated) on a page the guest holds validated"},
	{GFW_TERM_VC_UNEXPECTED, "GFW_TERM_VC_UNEXPECTED",
	 "#VC with an error code guestfw does not handle"},
	{GFW_TERM_VC_MISMATCH, "GFW_TERM_VC_MISMATCH",
	 "#VC error code does not match the instruction the guest was executing"},
	{GFW_TERM_VC_NESTING, "GFW_TERM_VC_NESTING", "#VC nested deeper than the handler allows"},
	{GFW_TERM_AP_CREATE, "GFW_TERM_AP_CREATE",
	 "AP creation or destruction failed (VMSA RMPADJUST or the NAE event)"},
	{GFW_TERM_BAD_REQUEST, "GFW_TERM_BAD_REQUEST",
	 "the guest program asked for an invalid range or step"},
	{GFW_TERM_NAE_ERROR, "GFW_TERM_NAE_ERROR", "a non-PSC NAE event returned SW_EXITINFO1 != 0"},
	{GFW_TERM_ACCEPT, "GFW_TERM_ACCEPT",
	 "lazy accept outside RAM, or re-entered while this vCPU is accepting"},
};

#define TERM_COUNT (sizeof(term_table) / sizeof(term_table[0]))

static int term_index(uint32_t set, uint32_t code)
{
	for (uint32_t i = 0; i < TERM_COUNT; i++)
		if (GFW_TERM_SET(term_table[i].term) == set &&
		    GFW_TERM_CODE(term_table[i].term) == code)
			return (int)i;
	return -1;
}

const char *gfw_term_name(uint32_t set, uint32_t code)
{
	int i = term_index(set, code);
	return i < 0 ? NULL : term_table[i].name;
}

const char *gfw_term_describe(uint32_t set, uint32_t code)
{
	int i = term_index(set, code);
	return i < 0 ? NULL : term_table[i].what;
}

bool gfw_term_from_name(const char *name, uint32_t *set, uint32_t *code)
{
	if (!name)
		return false;
	for (uint32_t i = 0; i < TERM_COUNT; i++) {
		if (gfw_strcmp(name, term_table[i].name) == 0) {
			*set = GFW_TERM_SET(term_table[i].term);
			*code = GFW_TERM_CODE(term_table[i].term);
			return true;
		}
	}
	return false;
}

/*
 * One line per bug; where it sits and which real code had it is at the code
 * site (grep the GFW_BUG_ name) and in guestfw/README.md.
 */
static const struct {
	uint32_t bug;
	const char *name;
	const char *what;
} bug_table[GFW_BUG_COUNT] = {
	{GFW_BUG_LEN_TRUNC32, "len-trunc32",
	 "page count shifted to a byte length in 32 bits: ranges of 4 GiB and more shrink "
	 "(Linux \"x86/sev: Fix calculation of end address based on number of pages\")"},
	{GFW_BUG_GFN_SHIFT32, "gfn-shift32",
	 "PVALIDATE address computed in the 40-bit GFN field's width: wraps at 1 TiB "
	 "(edk2 e8c23d1e27)"},
	{GFW_BUG_NO_PREVALIDATED_SKIP, "no-prevalidated-skip",
	 "pre-validation does not skip the launch ranges: CF=1 on the first one (edk2 "
	 "before 11b15336f0)"},
	{GFW_BUG_PVALIDATE_FROM_SHARED, "pvalidate-from-shared",
	 "PVALIDATE takes its entries back from the GHCB shared buffer the hypervisor can "
	 "rewrite (OVMF PvalidateRange on Ghcb->SharedBuffer)"},
	{GFW_BUG_NO_BACKWARDS_CHECK, "no-backwards-check",
	 "a PSC cur_entry moving backwards is accepted (OVMF PageStateChangeVmgExit)"},
	{GFW_BUG_PVALIDATE_BEFORE_PSC, "pvalidate-before-psc",
	 "shared to private: PVALIDATE before the page state change"},
	{GFW_BUG_RESCIND_AFTER_PSC, "rescind-after-psc",
	 "private to shared: the rescind comes after the page state change"},
	{GFW_BUG_IGNORE_CF, "ignore-cf",
	 "PVALIDATE CF=1 (no update) is lost: double validation goes unnoticed "
	 "(coconut-svsm \"Fix PVALIDATE\", PR #209)"},
	{GFW_BUG_SIZEMISMATCH_DROP_TAIL, "sizemismatch-drop-tail",
	 "the 4K fallback after a 2M FAIL_SIZEMISMATCH validates only the first page"},
	{GFW_BUG_TOUCH_BEFORE_ACCEPT, "touch-before-accept",
	 "lazy accept reads the memory it is about to accept: #VC 0x404 inside the accept"},
	{GFW_BUG_INFLIGHT_PAGE_GRANULARITY, "inflight-page-granularity",
	 "in-flight accepts compared per page, not per unit: two vCPUs accept one unit (what "
	 "Linux accept_memory() warns against: \"even if they don't overlap on physical address "
	 "level\")"},
	{GFW_BUG_INFLIGHT_OFF_BY_ONE, "inflight-off-by-one",
	 "in-flight overlap treats another vCPU's inclusive last unit as exclusive: a unit "
	 "where two requests meet is accepted twice"},
	{GFW_BUG_ACCEPT_WITHOUT_INFLIGHT, "accept-without-inflight",
	 "the bitmap lock is dropped during an accept with no in-flight record: the race "
	 "Linux's accepting list closes (\"efi/unaccepted: Fix soft lockups caused by parallel "
	 "memory acceptance\")"},
};

const char *gfw_bug_name(uint32_t bug)
{
	if (bug == GFW_BUG_NONE)
		return "none";
	for (uint32_t i = 0; i < GFW_BUG_COUNT; i++)
		if (bug_table[i].bug == bug)
			return bug_table[i].name;
	return NULL;
}

const char *gfw_bug_describe(uint32_t bug)
{
	if (bug == GFW_BUG_NONE)
		return "the correct guest";
	for (uint32_t i = 0; i < GFW_BUG_COUNT; i++)
		if (bug_table[i].bug == bug)
			return bug_table[i].what;
	return NULL;
}

bool gfw_bug_from_name(const char *name, uint32_t *bug)
{
	if (!name)
		return false;
	if (gfw_strcmp(name, "none") == 0) {
		*bug = GFW_BUG_NONE;
		return true;
	}
	for (uint32_t i = 0; i < GFW_BUG_COUNT; i++) {
		if (gfw_strcmp(name, bug_table[i].name) == 0) {
			*bug = bug_table[i].bug;
			return true;
		}
	}
	return false;
}
