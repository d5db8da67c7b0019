/* SPDX-License-Identifier: MIT */
/*
 * hv_model internals shared by its files. Not part of the API: tests and the
 * machine use hv.h only.
 *
 * File map: hv.c (configuration, vCPUs, the VMGEXIT world switch), msr.c (GHCB
 * MSR protocol, facts §3), ghcb.c (GHCB page protocol: snapshot, validation,
 * write-back, §4), nae.c (the NAE event table and its handlers, §5), psc.c (page
 * state change, §6), fault.c (the fault plan), launch.c (SNP_LAUNCH_UPDATE, §9),
 * npt.c (nested page table, NPF), devices.c (IOIO/MMIO device table), names.c.
 */
#ifndef SNPSIM_HV_PRIVATE_H
#define SNPSIM_HV_PRIVATE_H

#include <glib.h>
#include <string.h>

#include "hv.h"

/* keys of the GFN/SPA hash tables are 64-bit values stored in pointers */
G_STATIC_ASSERT(sizeof(gpointer) >= sizeof(uint64_t));
#define HV_KEY(v) ((gpointer)(uintptr_t)(v))
#define HV_UNKEY(p) ((uint64_t)(uintptr_t)(p))

#define HV_MASK_4K (SNP_PAGE_SIZE - 1)
#define HV_MASK_2M (SNP_PAGE_2M_SIZE - 1)
#define HV_GFN_PER_2M ((uint64_t)SNP_PAGES_PER_2M)

/* VMMCALL: KVM answers hypercalls it does not implement with -KVM_ENOSYS in RAX */
#define HV_KVM_ENOSYS 1000u
/* DR7 at reset: bit 10 reads as one (DR7_FIXED_1) */
#define HV_DR7_RESET 0x400u
/* what RDTSC advances by per read: deterministic time, owned by nobody */
#define HV_TSC_STEP 1000u
/* QEMU debugcon answers reads with its readback byte, 0xE9 by default */
#define HV_DEBUG_READBACK 0xE9u
/*
 * Secrets-page layout version written at launch. The layout is that of facts
 * §9.2 (SVSM fields at 0x140, TSC factor at 0x160); which version number the
 * SNP firmware gives it is UNCONFIRMED (facts §13): snpsim writes 3.
 */
#define HV_SECRETS_VERSION 3u

/* ------------------------------------------------------------------ vCPUs */

typedef enum hv_hold_kind {
	HV_HOLD_NONE = 0,
	HV_HOLD_MSR, /* MSR-protocol AP reset hold: the answer lives in the GHCB MSR */
	HV_HOLD_NAE, /* NAE AP reset hold: the answer lives in the held GHCB page */
} hv_hold_kind_t;

typedef struct hv_vcpu {
	hv_vcpu_state_t state;
	bool on_init;
	bool registered;      /* a GHCB GPA was registered (GFN 0 is a valid GFN) */
	hv_hold_kind_t hold;
	uint64_t ghcb_gpa;    /* registered GHCB GPA */
	uint64_t ghcb_msr;    /* what the vCPU reads from the GHCB MSR */
	uint64_t hold_ghcb;   /* NAE hold: GHCB GPA to answer "woken" in */
	uint64_t vmsa_gpa;
	uint64_t vmsa_spa;
	bool vmsa_in_use;     /* we marked vmsa_spa in use in the RMP */
	uint64_t sev_features;
	uint64_t dr7;
} hv_vcpu_t;

/* ------------------------------------------------------------------ the fault plan */

typedef struct hv_fault_slot {
	hv_fault_t f;
	uint64_t matches; /* occurrences that matched trigger, filters and action */
	uint32_t fired;
} hv_fault_slot_t;

/* A GFN extent a request touches: [gfn, gfn + npages). */
typedef struct hv_extent {
	uint64_t gfn;
	uint64_t npages;
} hv_extent_t;

/*
 * One occurrence the fault plan is matched against: a request the hypervisor
 * accepted, described by every trigger it satisfies.
 */
typedef struct hv_occ {
	uint32_t kinds;       /* bit (1 << hv_trigger_t) for each trigger satisfied */
	bool msr;             /* an MSR-protocol request ... */
	uint32_t msr_code;    /* ... with this function code */
	bool nae;             /* a GHCB NAE event ... */
	uint64_t exit_code;   /* ... with this SW_EXITCODE */
	bool psc_ghcb;        /* GHCB PSC: the PSC-shaping actions apply */
	bool psc_msr;         /* MSR PSC */
	bool ignorable;       /* IGNORE can act on it (the request has an effect to skip) */
	const hv_extent_t *ext; /* the GFNs it touches, in request order */
	size_t next;
} hv_occ_t;

/* A behind-the-guest's-back action waiting for the request to be answered. */
typedef struct hv_side {
	uint32_t fault;
	hv_action_t action;
	uint64_t gfn;
	uint64_t arg;
} hv_side_t;

typedef enum hv_disp {
	HV_DISP_NONE = 0,
	HV_DISP_FAIL,
	HV_DISP_IGNORE,
	HV_DISP_NO_PROGRESS,
} hv_disp_t;

/* What the faults that fired on one occurrence ask for (the first of each kind wins). */
typedef struct hv_fx {
	hv_disp_t disp;
	uint64_t fail_arg;
	bool partial;
	uint64_t partial_n;
	bool wrong_gfn;
	uint64_t gfn_delta;
	bool force_4k;
	bool cur_back;
	uint64_t cur_back_n;
	bool end_change;
	uint64_t end_delta;
	bool rsvd;
	uint32_t rsvd_val;
	bool rewrite;
	uint64_t rewrite_delta;
	bool msr_garbage;
	uint64_t garbage;
	bool msr_code;
	uint32_t code;
	bool inject_vc;
	uint64_t vc_code;
} hv_fx_t;

/* ------------------------------------------------------------------ the hypervisor */

struct hv {
	rmp_t *rmp;
	hv_config_t cfg; /* ranges and cpuid point at our copies below */
	hv_mem_range_t *ranges;
	size_t nranges;
	struct snp_cpuid_fn *cpuid;
	size_t ncpuid;
	hv_vcpu_t *vcpus;
	GHashTable *remap;    /* gfn -> spa: NPT entries that are not identity */
	GHashTable *remap_2m; /* gfn >> 9 -> number of remapped GFNs in that 2M region */
	GHashTable *msrs;     /* msr -> value, for the MSR NAE event */
	GHashTable *replay;   /* gfn -> hv_replay_t, REMAP_REPLAY state */
	GArray *devices;      /* hv_device_t, names owned */
	GByteArray *debug;
	GArray *launched;     /* hv_mem_range_t */
	bool launch_done;
	uint32_t launch_vmsas;
	GArray *faults;       /* hv_fault_slot_t */
	GArray *side;         /* hv_side_t, for the occurrence being handled */
	uint64_t prng;
	uint64_t spare_next;  /* pages of the spare pool handed out */
	uint64_t ap_jump_table;
	uint64_t tsc;
	uint32_t cur_vcpu;    /* for events */
	uint64_t cur_ghcb;
};

typedef struct hv_replay {
	uint64_t old_spa;
	uint64_t new_spa;
	bool at_new;
} hv_replay_t;

/* ------------------------------------------------------------------ hv.c */

void hv_emit(const hv_t *hv, hv_event_t *ev);
hv_event_t hv_ev(const hv_t *hv, hv_event_kind_t kind);
hv_exit_t hv_stop(hv_t *hv, hv_exit_t x, hv_stop_t why);
void hv_vcpu_reset_ghcb(const hv_t *hv, hv_vcpu_t *v);

/* ------------------------------------------------------------------ msr.c */

hv_exit_t hv_msr_protocol(hv_t *hv, hv_vcpu_t *v, uint64_t req);

/* ------------------------------------------------------------------ ghcb.c / nae.c */

enum hv_field {
	HVF_RAX = 0,
	HVF_RBX,
	HVF_RCX,
	HVF_RDX,
	HVF_CPL,
	HVF_XCR0,
	HVF_XSS,
	HVF_EXITCODE,
	HVF_EXITINFO1,
	HVF_EXITINFO2,
	HVF_SCRATCH,
	HVF_COUNT,
};
#define HVF(f) (1u << (f))

/* One GHCB exit: the snapshot of the guest's page and what we answer. */
typedef struct hv_ghcb {
	uint64_t gpa;
	uint64_t spa;
	uint8_t page[GHCB_PAGE_SIZE]; /* our copy; the answer is built in it and written back */
	uint32_t present;             /* HVF bits the guest marked valid */
	uint64_t in[HVF_COUNT];       /* inputs, copied once; 0 where not valid */
	uint64_t rax, rbx, rcx, rdx;  /* written back (KVM: always, with their valid bits) */
	uint64_t info1, info2;        /* SW_EXITINFO1/2 answer */
	uint32_t scratch_off;         /* after hv_scratch(): offset of SW_SCRATCH in the page */
	uint32_t scratch_len;         /* bytes from there to the end of the shared buffer */
} hv_ghcb_t;

typedef hv_exit_action_t (*hv_nae_fn)(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
				      hv_exit_t *x);

typedef struct hv_nae_desc {
	uint64_t code;
	const char *name;     /* KVM's SVM_EXIT_REASONS name */
	uint32_t required;    /* HVF bits that must be valid beyond EXITCODE/INFO1/INFO2 */
	uint64_t feature;     /* hypervisor feature the event needs (0: none) */
	uint32_t (*extra)(const hv_ghcb_t *g); /* required fields that depend on the input */
	hv_nae_fn fn;
	bool own_faults;      /* the handler matches the fault plan itself (PSC) */
	bool ignorable;       /* IGNORE can skip an effect */
} hv_nae_desc_t;

hv_exit_t hv_ghcb_exit(hv_t *hv, hv_vcpu_t *v, uint64_t gpa);
void hv_bad_input(hv_ghcb_t *g, uint64_t err);
bool hv_scratch(hv_ghcb_t *g, uint64_t len);
const hv_nae_desc_t *hv_nae_find(uint64_t code);
const hv_nae_desc_t *hv_nae_table(size_t *n);
void hv_cpuid_lookup(const hv_t *hv, uint32_t leaf, uint32_t subleaf, uint64_t xcr0,
		     uint32_t out[4]);
bool hv_ghcb_page_write64(hv_t *hv, uint64_t gpa, uint32_t off, uint64_t val);

/* ------------------------------------------------------------------ psc.c */

uint64_t hv_convert(hv_t *hv, uint64_t gfn, uint64_t npages, uint32_t op, bool allow_2m,
		    uint64_t *done);
rmp_result_t hv_rmpupdate(hv_t *hv, uint64_t spa, uint64_t gpa, bool assigned, bool page_2m);
rmp_result_t hv_psmash(hv_t *hv, uint64_t spa);
rmp_result_t hv_unsmash(hv_t *hv, uint64_t spa);
hv_exit_action_t hv_nae_psc(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x);

/* ------------------------------------------------------------------ fault.c */

void hv_fault_match(hv_t *hv, const hv_occ_t *occ, hv_fx_t *fx);
void hv_fault_after(hv_t *hv);
void hv_fault_apply_vc(const hv_fx_t *fx, hv_exit_t *x);

/* ------------------------------------------------------------------ npt.c */

const hv_mem_range_t *hv_range_find(const hv_t *hv, uint64_t gpa);
bool hv_range_covers(const hv_t *hv, uint64_t gpa, uint64_t size, bool rom_ok);
bool hv_region_2m_identity(const hv_t *hv, uint64_t gfn);
bool hv_npt_set(hv_t *hv, uint64_t gfn, uint64_t spa);

/* ------------------------------------------------------------------ devices.c */

bool hv_devices_init(hv_t *hv);
void hv_devices_free(hv_t *hv);
uint64_t hv_dev_read(hv_t *hv, hv_dev_kind_t kind, uint64_t addr, uint32_t size);
void hv_dev_write(hv_t *hv, hv_dev_kind_t kind, uint64_t addr, uint32_t size, uint64_t val);

/* ------------------------------------------------------------------ small helpers */

static inline uint64_t hv_get64(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static inline void hv_put64(uint8_t *p, uint32_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static inline uint64_t hv_size_mask(uint32_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

#endif /* SNPSIM_HV_PRIVATE_H */
