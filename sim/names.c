/* SPDX-License-Identifier: MIT */
#include "names.h"

#include <string.h>

#include "guestfw.h"
#include "snp/ghcb.h"
#include "snp/pages.h"

typedef struct name_entry {
	uint32_t value;
	const char *name;
} name_entry_t;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const name_entry_t *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

static bool rlookup(const name_entry_t *t, size_t n, const char *s, uint32_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, s) == 0) {
			*out = t[i].value;
			return true;
		}
	}
	return false;
}

static const name_entry_t psc_ops[] = {
	{SNP_PAGE_STATE_PRIVATE, "private"},
	{SNP_PAGE_STATE_SHARED, "shared"},
	{SNP_PAGE_STATE_PSMASH, "psmash"},
	{SNP_PAGE_STATE_UNSMASH, "unsmash"},
};

static const name_entry_t launch_types[] = {
	{KVM_SEV_SNP_PAGE_TYPE_NORMAL, "normal"},
	{KVM_SEV_SNP_PAGE_TYPE_VMSA, "vmsa"},
	{KVM_SEV_SNP_PAGE_TYPE_ZERO, "zero"},
	{KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, "unmeasured"},
	{KVM_SEV_SNP_PAGE_TYPE_SECRETS, "secrets"},
	{KVM_SEV_SNP_PAGE_TYPE_CPUID, "cpuid"},
};

static const name_entry_t notes[] = {
	{GFW_NOTE_STEP, "step"},
	{GFW_NOTE_PSC_DONE, "psc_done"},
	{GFW_NOTE_ACCEPTED, "accepted"},
	{GFW_NOTE_UNACCEPTED, "unaccepted"},
	{GFW_NOTE_RESCINDED, "rescinded"},
	{GFW_NOTE_LAZY_FAULT, "lazy_fault"},
	{GFW_NOTE_PHASE, "phase"},
};

static const name_entry_t mem_types[] = {
	{GFW_MEM_RAM, "ram"},
	{GFW_MEM_MMIO, "mmio"},
	{GFW_MEM_RESERVED, "reserved"},
};

static const name_entry_t steps[] = {
	{GFW_STEP_BOOT, "boot"},
	{GFW_STEP_ACCEPT, "accept"},
	{GFW_STEP_SHARED, "shared"},
	{GFW_STEP_PRIVATE, "private"},
	{GFW_STEP_TOUCH, "touch"},
	{GFW_STEP_CREATE_AP, "create_ap"},
	{GFW_STEP_DESTROY_AP, "destroy_ap"},
	{GFW_STEP_CPUID, "cpuid"},
	{GFW_STEP_PRINT, "print"},
};

#define PAIR(fn, table)                                                                            \
	const char *sim_##fn##_to_string(uint32_t v)                                               \
	{                                                                                          \
		return lookup(table, N(table), v);                                                 \
	}                                                                                          \
	bool sim_##fn##_from_string(const char *s, uint32_t *out)                                  \
	{                                                                                          \
		return rlookup(table, N(table), s, out);                                           \
	}

PAIR(psc_op, psc_ops)
PAIR(launch_type, launch_types)
PAIR(note, notes)
PAIR(mem_type, mem_types)
PAIR(step, steps)
