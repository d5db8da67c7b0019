/* SPDX-License-Identifier: MIT */
/*
 * hv_model: the mock hypervisor. It launches an SNP guest (SNP_LAUNCH_UPDATE),
 * keeps its nested page table, answers every VMGEXIT the way KVM does (GHCB MSR
 * protocol, GHCB page NAE events, Page State Change) and misbehaves exactly as a
 * fault plan says. Facts: ../shared/spec/snp-facts.md §3-6, §9-10.
 *
 * It never trusts the guest: every malformed input gets the documented error
 * answer. It does no I/O and holds no global state: the machine (sim/) owns
 * memory contents and time and drives it through this header alone. All RMP
 * changes go through rmp/'s instructions.
 */
#ifndef SNPSIM_HV_H
#define SNPSIM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rmp.h"
#include "snp/ghcb.h"
#include "snp/pages.h"

typedef struct hv hv_t;

/* ------------------------------------------------------------------ machine interfaces */

/*
 * Memory contents belong to the machine. page() returns the host copy of the
 * 4 KiB system-physical page at spa (page aligned); with create = false it may
 * return NULL, meaning the page is all zero. The hypervisor uses it for host
 * accesses only (GHCB, launch contents): the RMP host-write check is its own job.
 */
typedef struct hv_mem_ops {
	uint8_t *(*page)(void *ctx, uint64_t spa, bool create);
} hv_mem_ops_t;

typedef enum hv_mem_kind {
	HV_MEM_RAM = 1, /* identity-mapped by default, private or shared per the RMP */
	HV_MEM_MMIO,    /* NPT entry with reserved bits: guest accesses take #VC 0x400 */
	HV_MEM_ROM,     /* mapped read-only (firmware flash) */
} hv_mem_kind_t;

typedef struct hv_mem_range {
	uint64_t gpa;
	uint64_t size;
	hv_mem_kind_t kind;
} hv_mem_range_t;

/* ------------------------------------------------------------------ events */

/*
 * What the hypervisor did, in order, for the machine's single event stream.
 * Field names follow KVM's kvm_vmgexit_* and kvm_snp_psc tracepoints.
 */
typedef enum hv_event_kind {
	HV_EV_VMGEXIT = 1,   /* GHCB NAE event handled: exit_reason, info1, info2 (results) */
	HV_EV_MSR_PROTOCOL,  /* MSR-protocol request (info1) and response (info2) */
	HV_EV_PSC_ENTRY,     /* one PSC entry or MSR PSC: gfn, npages, op, page_2m, status */
	HV_EV_RMPUPDATE,     /* spa, gpa, assigned, page_2m, status (rmp_result_t name) */
	HV_EV_PSMASH,        /* spa, status */
	HV_EV_UNSMASH,       /* spa, status */
	HV_EV_NPT_REMAP,     /* gfn, spa (new), info1 (old spa) */
	HV_EV_LAUNCH_UPDATE, /* gpa, spa, npages, op (page type) */
	HV_EV_NPF,           /* gpa, info1 (error code), op (hv_npf_action_t) */
	HV_EV_FAULT,         /* fault (index in the plan), op (hv_action_t), gfn */
	HV_EV_AP_CREATE,     /* vcpu = new vCPU, gpa = VMSA GPA, info1 = SEV_FEATURES */
	HV_EV_AP_DESTROY,    /* vcpu */
	HV_EV_TERMINATE,     /* the guest asked: set, code */
	HV_EV_STOP,          /* the hypervisor stopped the guest: stop (hv_stop_t) */
} hv_event_kind_t;

typedef struct hv_event {
	hv_event_kind_t kind;
	uint32_t vcpu;
	uint64_t ghcb_gpa;
	uint64_t exit_reason;
	uint64_t info1, info2;
	uint64_t gfn, gpa, spa;
	uint64_t npages;
	uint32_t op;
	bool page_2m;
	bool assigned;
	rmp_result_t status;  /* RMP outcome (RMPUPDATE, PSMASH, UNSMASH) */
	uint64_t psc_status;  /* PSC entry: 0 or the VMGEXIT_PSC_ERROR_* it produced */
	uint32_t fault;       /* HV_EV_FAULT: index in the plan */
	uint32_t set, code;   /* termination reason */
	uint32_t stop;        /* hv_stop_t */
} hv_event_t;

typedef void (*hv_emit_fn)(void *ctx, const hv_event_t *ev);

/* ------------------------------------------------------------------ fault plan */

/* What a fault waits for. */
typedef enum hv_trigger {
	HV_TRIG_MSR_PSC = 1,    /* MSR-protocol page state change (carries a GFN) */
	HV_TRIG_GHCB_PSC,       /* GHCB PSC NAE event (carries the entries' GFNs) */
	HV_TRIG_GHCB_REGISTER,  /* MSR register-GHCB-GPA request */
	HV_TRIG_SEV_INFO,       /* MSR SEV information request */
	HV_TRIG_HV_FEATURES,    /* MSR or NAE hypervisor-features request */
	HV_TRIG_MSR_ANY,        /* any MSR-protocol request */
	HV_TRIG_NAE,            /* any GHCB NAE event, or only exit_code if nonzero */
	HV_TRIG_PAGE_ACCESS,    /* a guest access reported by hv_guest_access (carries the GFN) */
	HV_TRIG_VMGEXIT,        /* any VMGEXIT (before it is handled) */
} hv_trigger_t;

/* What it does. Each is documented at its implementation and in hv_action_describe(). */
typedef enum hv_action {
	HV_ACT_FAIL = 1,          /* fail the request: arg = error code (PSC status, MSR PSC error) */
	HV_ACT_IGNORE,            /* report success without doing anything (no RMPUPDATE) */
	HV_ACT_PARTIAL,           /* PSC: process arg entries, then return success */
	HV_ACT_NO_PROGRESS,       /* PSC: return success with nothing processed */
	HV_ACT_CUR_ENTRY_BACK,    /* PSC: process, then move cur_entry back by arg (≥ 1) */
	HV_ACT_END_ENTRY_CHANGE,  /* PSC: process, then add arg to end_entry */
	HV_ACT_RESERVED_BITS,     /* PSC: process, then set the header's reserved field to arg|1 */
	HV_ACT_WRONG_GFN,         /* PSC: convert gfn + arg instead of the GFN asked (arg ≠ 0) */
	HV_ACT_FORCE_4K,          /* PSC: make a 2M entry's range private/shared with 512 4K updates */
	HV_ACT_PSMASH_BEHIND,     /* after the trigger, PSMASH the 2M page holding gfn */
	HV_ACT_REMAP_REPLAY,      /* remap gfn to a fresh SPA made private at that GPA; fired
				     again, swap back to the old (still validated) SPA: replay */
	HV_ACT_REVOKE,            /* make gfn's page shared behind the guest's back (arg = 1:
				     and private again, i.e. assigned but no longer validated) */
	HV_ACT_REWRITE_BUFFER,    /* GHCB PSC: after processing, add arg to every entry's GFN in
				     the shared buffer (time-of-check/time-of-use) */
	HV_ACT_MSR_GARBAGE,       /* MSR protocol: keep the response code, data bits := arg */
	HV_ACT_MSR_WRONG_CODE,    /* MSR protocol: respond with code arg (0: request code + 2) */
	HV_ACT_INJECT_VC,         /* ask the machine to deliver #VC with error code arg */
} hv_action_t;

/* gfn value meaning "the GFN of the triggering request" for PSMASH/REMAP/REVOKE */
#define HV_GFN_FROM_TRIGGER UINT64_MAX

typedef struct hv_fault {
	hv_trigger_t trigger;
	uint32_t exit_code;   /* HV_TRIG_NAE: 0 = any event */
	uint64_t nth;         /* fire at the nth matching occurrence (1-based); 0 = every one */
	uint64_t gfn_first;   /* match only requests touching [gfn_first, gfn_last] ... */
	uint64_t gfn_last;    /* ... gfn_last = 0: any GFN */
	uint32_t prob_ppm;    /* 0: always; else fire with this probability (seeded) */
	uint32_t max_fires;   /* 0: unlimited */
	hv_action_t action;
	uint64_t arg;
	uint64_t gfn;         /* target of PSMASH_BEHIND/REMAP_REPLAY/REVOKE */
} hv_fault_t;

/* ------------------------------------------------------------------ configuration */

typedef struct hv_config {
	uint32_t asid;             /* 1..RMP_ASID_MAX */
	uint32_t max_vcpus;        /* ≥ 1; vCPU 0 is the BSP */
	uint8_t cbit;              /* C-bit position reported in SEV info (default 51) */
	uint16_t proto_min;        /* GHCB protocol versions offered (default 1..2) */
	uint16_t proto_max;
	uint64_t features;         /* hypervisor feature bitmap (default SNP | AP creation) */
	uint64_t vmsa_features;    /* SEV_FEATURES an AP-creation VMSA must have (KVM: the VM's);
				      0: only SNPActive (bit 0) is required */
	const hv_mem_range_t *ranges; /* guest memory map, sorted, non-overlapping */
	size_t nranges;
	/* the hypervisor's CPUID answers (CPUID NAE, MSR CPUID, the CPUID page at launch) */
	const struct snp_cpuid_fn *cpuid;
	size_t ncpuid;
	uint64_t seed;             /* secrets-page keys and probabilistic faults */
	uint32_t psc_max_entries;  /* benign partial progress: at most this many entries per
				      PSC exit (0: all, like KVM) */
	bool strict_psc_ops;       /* PSC op 0/5-15: INVALID_ENTRY (spec) instead of KVM's no-op */
	bool implicit_conversion;  /* hv_handle_npf converts a shared page on a private access
				      (KVM+QEMU); default false: such an NPF stops the guest */
	uint64_t spare_spa;        /* first SPA of the spare pool used by REMAP_REPLAY */
	uint64_t spare_pages;
	const hv_mem_ops_t *mem;
	void *mem_ctx;
	hv_emit_fn emit;           /* may be NULL */
	void *emit_ctx;
} hv_config_t;

/* Fills c with the defaults above (everything else zero). */
void hv_config_defaults(hv_config_t *c);

/* NULL on invalid configuration (message in *err if err, a static string). */
hv_t *hv_new(rmp_t *rmp, const hv_config_t *cfg, const char **err);
void hv_free(hv_t *hv);

/* Replaces the fault plan (copied) and reseeds its PRNG. */
bool hv_set_fault_plan(hv_t *hv, const hv_fault_t *faults, size_t n, uint64_t seed);
/* How many times fault i has fired. */
uint32_t hv_fault_fired(const hv_t *hv, size_t i);

/* ------------------------------------------------------------------ launch */

/*
 * SNP_LAUNCH_UPDATE of [gpa, gpa + size): the range is made private (RMPUPDATE,
 * 2M where aligned), data (may be NULL: zero) written first as the host does,
 * then validated by the firmware (rmp_launch_update). type is a
 * KVM_SEV_SNP_PAGE_TYPE_*: CPUID fills the page from the CPUID table (§9.1),
 * SECRETS writes the secrets page (§9.2, keys from the seed).
 */
bool hv_launch_update(hv_t *hv, uint64_t gpa, uint64_t size, uint32_t type, const void *data,
		      size_t data_len);
/* Ends launch: VMSA of vCPU 0 (the BSP) is marked in use; no more launch updates. */
bool hv_launch_finish(hv_t *hv);

/* The ranges launched so far, in order (for the guest's pre-validated list and the checker). */
size_t hv_launch_ranges(const hv_t *hv, const hv_mem_range_t **out);

/* ------------------------------------------------------------------ nested page table */

typedef enum hv_npt_kind {
	HV_NPT_UNMAPPED = 0, /* NPF to the hypervisor (not restartable by the guest) */
	HV_NPT_RAM,
	HV_NPT_ROM,
	HV_NPT_MMIO,         /* reserved-bit entry: #VC 0x400 */
} hv_npt_kind_t;

typedef struct hv_npt_map {
	hv_npt_kind_t kind;
	uint64_t spa;  /* of the 4 KiB page holding gpa */
	bool level_2m; /* mapped by a 2M NPT entry (KVM maps 2M where the RMP entry is 2M) */
} hv_npt_map_t;

hv_npt_map_t hv_npt_translate(const hv_t *hv, uint64_t gpa);
/* Maps gfn to spa (a remap attack or a test); false if gfn is not RAM. */
bool hv_npt_remap(hv_t *hv, uint64_t gfn, uint64_t spa);

/* ------------------------------------------------------------------ vCPUs and VMGEXIT */

typedef enum hv_exit_action {
	HV_RESUME = 0,   /* run the guest on (next instruction) */
	HV_TERMINATED,   /* the guest requested termination (reason in the event) */
	HV_STOPPED,      /* the hypervisor stopped the guest (hv_stop_t) */
	HV_HOLD,         /* the vCPU waits (AP reset hold) until hv_vcpu_wake() */
} hv_exit_action_t;

/* Why the hypervisor stopped a guest (KVM returns an error from KVM_RUN for these). */
typedef enum hv_stop {
	HV_STOP_NONE = 0,
	HV_STOP_GHCB_NOT_REGISTERED, /* SNP: VMGEXIT with a GHCB GPA that is not the registered one */
	HV_STOP_GHCB_PRIVATE,        /* the GHCB page is not shared in the RMP */
	HV_STOP_GHCB_UNMAPPED,       /* the GHCB GPA is not guest RAM */
	HV_STOP_BAD_MSR_REQUEST,     /* MSR-protocol request invalid for an SNP guest */
	HV_STOP_NPF_UNRESOLVED,      /* a nested page fault the hypervisor cannot fix */
	HV_STOP_NO_VCPU,             /* VMGEXIT from a vCPU that does not exist or is not running */
	HV_STOP_UNSUPPORTED_EVENT,   /* the guest sent NAE 0x8000FFFF (KVM fails KVM_RUN) */
} hv_stop_t;

typedef struct hv_exit {
	hv_exit_action_t action;
	uint64_t ghcb_msr;  /* the GHCB MSR value the guest reads after the VMGEXIT */
	bool inject_vc;     /* the fault plan asks for a #VC to be delivered now */
	uint64_t vc_code;
	hv_stop_t stop;
	uint32_t term_set, term_code; /* HV_TERMINATED */
} hv_exit_t;

/*
 * The world switch: vCPU `vcpu` executed VMGEXIT with `ghcb_msr` in the GHCB MSR.
 * MSR-protocol requests are answered in .ghcb_msr; otherwise the GHCB page at that
 * GPA is processed and written back, and .ghcb_msr = ghcb_msr.
 */
hv_exit_t hv_vmgexit(hv_t *hv, uint32_t vcpu, uint64_t ghcb_msr);

/* Initial GHCB MSR value at vCPU reset (KVM: the SEV-information response). */
uint64_t hv_initial_ghcb_msr(const hv_t *hv);

typedef enum hv_vcpu_state {
	HV_VCPU_ABSENT = 0,
	HV_VCPU_RUNNING,
	HV_VCPU_HELD,      /* AP reset hold */
	HV_VCPU_CREATED,   /* AP created by the AP-creation NAE, not yet started by the machine */
	HV_VCPU_DESTROYED,
} hv_vcpu_state_t;

/* At most this many vCPUs (cfg->max_vcpus). */
#define HV_MAX_VCPUS 1024u

typedef struct hv_vcpu_info {
	hv_vcpu_state_t state;
	uint32_t apic_id;      /* = the vCPU index (QEMU's default numbering) */
	uint64_t vmsa_gpa;     /* AP creation's VMSA, or a launched VMSA page; 0 if none */
	uint64_t sev_features;
	uint64_t ghcb_gpa;     /* registered GHCB GPA, 0 if none */
	uint64_t ghcb_msr;     /* GHCB MSR value the vCPU reads now (after hv_vcpu_wake: the
				  woken AP-reset-hold response) */
	bool on_init;          /* created by "create on INIT": start it at the next INIT */
} hv_vcpu_info_t;

/*
 * vCPU life cycle. vCPU 0 is RUNNING from hv_new(); APs 1..max_vcpus-1 exist from
 * launch but wait for INIT-SIPI (HELD), as KVM vCPUs do before their first SIPI.
 * Only a RUNNING vCPU may VMGEXIT (else HV_STOPPED, HV_STOP_NO_VCPU).
 *
 * AP reset hold (MSR 0x006 or NAE 0x8000_0004) puts the vCPU in HELD and returns
 * HV_HOLD. The answer is preset to "not woken", as KVM does: MSR response 0x007
 * with 0 in bits 63:12, or SW_EXITINFO2 = 0 written back to the GHCB. hv_vcpu_wake
 * (the SIPI) makes it RUNNING and sets the answer to "woken": bits 63:12 = 1 in
 * the vCPU's GHCB MSR (read it from hv_vcpu_info().ghcb_msr), or SW_EXITINFO2 = 1
 * rewritten in the held GHCB page.
 *
 * AP creation (NAE 0x8000_0013) makes its target CREATED with the new VMSA, whatever
 * it was doing (KVM resets the target); hv_vcpu_start runs it. AP destroy makes the
 * target DESTROYED. Both are answered to the creating vCPU at once.
 */
bool hv_vcpu_info(const hv_t *hv, uint32_t vcpu, hv_vcpu_info_t *out);
/* The machine started a created AP (CREATED -> RUNNING); false in any other state. */
bool hv_vcpu_start(hv_t *hv, uint32_t vcpu);
/* INIT-SIPI to a held vCPU (HELD -> RUNNING, answer "woken"); false in any other state. */
bool hv_vcpu_wake(hv_t *hv, uint32_t vcpu);

/* ------------------------------------------------------------------ faults from the guest side */

typedef enum hv_npf_action {
	HV_NPF_RETRY = 1,   /* fixed (PSMASH on SIZEM, implicit conversion): re-execute */
	HV_NPF_STOP,        /* cannot fix: the guest is stopped (HV_STOP_NPF_UNRESOLVED) */
} hv_npf_action_t;

/*
 * A #VMEXIT(NPF) with RMP error bits (error_code as rmp_check_access returns it).
 * SIZEM: PSMASH the 2M entry. A private access to a page the RMP shows shared:
 * with cfg->implicit_conversion, convert it to private as KVM+QEMU do on
 * KVM_EXIT_MEMORY_FAULT; otherwise, and for anything else, stop the guest.
 */
hv_npf_action_t hv_handle_npf(hv_t *hv, uint32_t vcpu, uint64_t gpa, uint64_t error_code);

/* True when the plan has page-access triggers (the machine then calls hv_guest_access). */
bool hv_wants_access_events(const hv_t *hv);
/* A guest access to gpa; returns true with *vc_code set if a #VC must be injected now. */
bool hv_guest_access(hv_t *hv, uint32_t vcpu, uint64_t gpa, rmp_access_t access,
		     uint64_t *vc_code);

/* ------------------------------------------------------------------ devices */

typedef enum hv_dev_kind {
	HV_DEV_PIO = 1,
	HV_DEV_MMIO,
} hv_dev_kind_t;

/* A device answering IOIO or MMIO NAE events in [base, base + size). */
typedef struct hv_device {
	const char *name;
	hv_dev_kind_t kind;
	uint64_t base;
	uint64_t size;
	/* offset from base; size 1, 2, 4 or 8; false: unclaimed access (reads all ones) */
	bool (*read)(void *opaque, uint64_t offset, uint32_t size, uint64_t *val);
	bool (*write)(void *opaque, uint64_t offset, uint32_t size, uint64_t val);
	void *opaque;
} hv_device_t;

/* Adds a device (copied); false if it overlaps another of its kind or is malformed. */
bool hv_add_device(hv_t *hv, const hv_device_t *dev);

/* The first device: a debug port (QEMU debugcon style) at HV_DEBUG_PORT collecting bytes. */
#define HV_DEBUG_PORT 0x402u
const uint8_t *hv_debug_output(const hv_t *hv, size_t *len);

/* MSRs the hypervisor answers for the MSR NAE event (unknown MSRs: #GP to the guest). */
bool hv_set_msr(hv_t *hv, uint32_t msr, uint64_t value);

/* ------------------------------------------------------------------ names */

/*
 * Lower-case names for traces, scenarios and `snpsim info`; *_to_string returns NULL
 * for a value without a name, *_from_string is its exact inverse (false if unknown).
 * Event kinds use the trace's names; exit codes KVM's SVM_EXIT_REASONS names; MSR
 * codes the Linux GHCB_MSR_* suffixes ("sev_info_req").
 */
const char *hv_trigger_to_string(hv_trigger_t t);
bool hv_trigger_from_string(const char *s, hv_trigger_t *out);
const char *hv_action_to_string(hv_action_t a);
bool hv_action_from_string(const char *s, hv_action_t *out);
const char *hv_action_describe(hv_action_t a); /* one line for `snpsim info` */
const char *hv_event_kind_to_string(hv_event_kind_t k);
bool hv_event_kind_from_string(const char *s, hv_event_kind_t *out);
const char *hv_stop_to_string(hv_stop_t s);
bool hv_stop_from_string(const char *s, hv_stop_t *out);
const char *hv_exit_code_to_string(uint64_t exit_code); /* NAE/SVM exit codes; NULL if unknown */
bool hv_exit_code_from_string(const char *s, uint64_t *out);
const char *hv_msr_code_to_string(uint32_t code);       /* GHCB MSR function codes */
bool hv_msr_code_from_string(const char *s, uint32_t *out);
const char *hv_npf_action_to_string(hv_npf_action_t a);
bool hv_npf_action_from_string(const char *s, hv_npf_action_t *out);
const char *hv_mem_kind_to_string(hv_mem_kind_t k);
bool hv_mem_kind_from_string(const char *s, hv_mem_kind_t *out);
const char *hv_npt_kind_to_string(hv_npt_kind_t k);
bool hv_npt_kind_from_string(const char *s, hv_npt_kind_t *out);
const char *hv_exit_action_to_string(hv_exit_action_t a);
bool hv_exit_action_from_string(const char *s, hv_exit_action_t *out);
const char *hv_vcpu_state_to_string(hv_vcpu_state_t st);
bool hv_vcpu_state_from_string(const char *s, hv_vcpu_state_t *out);
const char *hv_dev_kind_to_string(hv_dev_kind_t k);
bool hv_dev_kind_from_string(const char *s, hv_dev_kind_t *out);

#endif /* SNPSIM_HV_H */
