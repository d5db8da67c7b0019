/* SPDX-License-Identifier: MIT */
/*
 * guestfw: the guest SNP firmware code snpsim runs. Modeled on OVMF's SNP series
 * (SEC/PEI: GHCB set-up, pre-validation of system RAM skipping launch ranges,
 * page state change through the MSR and GHCB protocols; DXE: accept on demand,
 * conversions, AP creation) with Linux's hardening of the PSC loop.
 *
 * It reaches the machine only through gfw_port.h and includes nothing but
 * freestanding headers, so the same sources build natively and as a
 * freestanding x86-64 image for the emulator. No globals: all state is in
 * struct gfw (shared by the vCPUs) and struct gfw_cpu (one per vCPU), which
 * the caller provides.
 *
 * Every fatal path ends in gfw_terminate(): a GHCB MSR termination request with
 * a reason from the table below, then gfw_port_halt().
 */
#ifndef SNPSIM_GUESTFW_H
#define SNPSIM_GUESTFW_H

#include <stdbool.h>
#include <stdint.h>

#include "gfw_port.h"
#include "snp/ghcb.h"

/* ------------------------------------------------------------------ termination reasons */
/*
 * (set, code) as sent in the GHCB MSR termination request (§3.4). Sets 0 and 1
 * carry the GHCB-spec and Linux meanings; set 2 is guestfw's own, for the
 * hostile-hypervisor checks that Linux folds into 1/1 and OVMF into 0/0.
 *
 *  set code  name                      when
 *   0   0    GFW_TERM_GENERAL          (unused by guestfw; reserved)
 *   0   1    GFW_TERM_PROTOCOL         SEV info: GHCB protocol range excludes version 2
 *   0   2    GFW_TERM_SNP_UNSUPPORTED  SEV_STATUS without SNP, or HV features without SNP bit
 *   1   0    GFW_TERM_REGISTER         register-GHCB-GPA response not the requested GFN
 *   1   1    GFW_TERM_PSC              PSC failed: error status, NAE error, MSR PSC error
 *   1   2    GFW_TERM_PVALIDATE        PVALIDATE failed, including CF=1 (double validation)
 *   1   3    GFW_TERM_NOT_VMPL0        RMPADJUST VMPL0 test failed
 *   1   4    GFW_TERM_CPUID            CPUID page missing or invalid (count 0 or > 64);
 *                                       a leaf absent from the table is not fatal
 *   1   6    GFW_TERM_SECRETS          secrets page invalid
 *   2   1    GFW_TERM_MSR_RESPONSE     MSR-protocol response with an unexpected code
 *   2   2    GFW_TERM_PSC_BACKWARDS    PSC cur_entry moved backwards
 *   2   3    GFW_TERM_PSC_END_CHANGED  PSC end_entry changed by the hypervisor
 *   2   4    GFW_TERM_PSC_RESERVED     PSC header reserved field set
 *   2   5    GFW_TERM_PSC_NO_PROGRESS  PSC made no progress within the retry bound
 *   2   6    GFW_TERM_VC_VALIDATED     #VC 0x404 on a page the guest holds validated
 *   2   7    GFW_TERM_VC_UNEXPECTED    #VC with an error code guestfw does not handle
 *   2   8    GFW_TERM_VC_MISMATCH      #VC error code does not match the faulting instruction
 *   2   9    GFW_TERM_VC_NESTING       #VC nested deeper than the handler allows
 *   2  10    GFW_TERM_AP_CREATE        AP creation failed (RMPADJUST VMSA or the NAE event)
 *   2  11    GFW_TERM_BAD_REQUEST      the guest program asked for an invalid range/step
 *   2  12    GFW_TERM_NAE_ERROR        a non-PSC NAE event returned SW_EXITINFO1 ≠ 0
 *   2  13    GFW_TERM_ACCEPT           lazy accept outside RAM, or re-entered on a vCPU that is
 *                                       already accepting (its in-flight slot is taken)
 *
 * The check behind each is commented where guestfw makes it (grep the name);
 * tests/guestfw's flows produce every one and assert it.
 */
#define GFW_TERM_SET_GFW 2u

typedef enum gfw_term {
	GFW_TERM_GENERAL = (SEV_TERM_SET_GEN << 8) | GHCB_SEV_ES_GEN_REQ,
	GFW_TERM_PROTOCOL = (SEV_TERM_SET_GEN << 8) | GHCB_SEV_ES_PROT_UNSUPPORTED,
	GFW_TERM_SNP_UNSUPPORTED = (SEV_TERM_SET_GEN << 8) | GHCB_SNP_UNSUPPORTED,
	GFW_TERM_REGISTER = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_REGISTER,
	GFW_TERM_PSC = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_PSC,
	GFW_TERM_PVALIDATE = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_PVALIDATE,
	GFW_TERM_NOT_VMPL0 = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_NOT_VMPL0,
	GFW_TERM_CPUID = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_CPUID,
	GFW_TERM_SECRETS = (SEV_TERM_SET_LINUX << 8) | GHCB_TERM_SECRETS_PAGE,
	GFW_TERM_MSR_RESPONSE = (GFW_TERM_SET_GFW << 8) | 1,
	GFW_TERM_PSC_BACKWARDS = (GFW_TERM_SET_GFW << 8) | 2,
	GFW_TERM_PSC_END_CHANGED = (GFW_TERM_SET_GFW << 8) | 3,
	GFW_TERM_PSC_RESERVED = (GFW_TERM_SET_GFW << 8) | 4,
	GFW_TERM_PSC_NO_PROGRESS = (GFW_TERM_SET_GFW << 8) | 5,
	GFW_TERM_VC_VALIDATED = (GFW_TERM_SET_GFW << 8) | 6,
	GFW_TERM_VC_UNEXPECTED = (GFW_TERM_SET_GFW << 8) | 7,
	GFW_TERM_VC_MISMATCH = (GFW_TERM_SET_GFW << 8) | 8,
	GFW_TERM_VC_NESTING = (GFW_TERM_SET_GFW << 8) | 9,
	GFW_TERM_AP_CREATE = (GFW_TERM_SET_GFW << 8) | 10,
	GFW_TERM_BAD_REQUEST = (GFW_TERM_SET_GFW << 8) | 11,
	GFW_TERM_NAE_ERROR = (GFW_TERM_SET_GFW << 8) | 12,
	GFW_TERM_ACCEPT = (GFW_TERM_SET_GFW << 8) | 13,
} gfw_term_t;

#define GFW_TERM_SET(t) ((uint32_t)(t) >> 8)
#define GFW_TERM_CODE(t) ((uint32_t)(t)&0xFFu)

/* "GFW_TERM_PSC_BACKWARDS" etc.; NULL if (set, code) is not in the table. */
const char *gfw_term_name(uint32_t set, uint32_t code);
/* One-line meaning, for `snpsim info` and run summaries. */
const char *gfw_term_describe(uint32_t set, uint32_t code);
/* Inverse of gfw_term_name; false if unknown. */
bool gfw_term_from_name(const char *name, uint32_t *set, uint32_t *code);

/* ------------------------------------------------------------------ historical bugs */

/*
 * Bugs shipped guests really had, re-introduced one at a time by policy so that
 * the simulator can show it catches each (the bug zoo). 0 = correct guest.
 */
typedef enum gfw_bug {
	GFW_BUG_NONE = 0,
	GFW_BUG_LEN_TRUNC32 = 1u << 0,        /* range length truncated to 32 bits */
	GFW_BUG_GFN_SHIFT32 = 1u << 1,        /* GFN shifted to an address in the width of its
						 40-bit field: PVALIDATE wraps at 1 TiB */
	GFW_BUG_NO_PREVALIDATED_SKIP = 1u << 2, /* launch ranges validated again at boot */
	GFW_BUG_PVALIDATE_FROM_SHARED = 1u << 3, /* PVALIDATE reads entries back from the GHCB */
	GFW_BUG_NO_BACKWARDS_CHECK = 1u << 4, /* cur_entry going backwards not checked */
	GFW_BUG_PVALIDATE_BEFORE_PSC = 1u << 5, /* shared→private: PVALIDATE before the PSC */
	GFW_BUG_RESCIND_AFTER_PSC = 1u << 6,  /* private→shared: rescind after the PSC */
	GFW_BUG_IGNORE_CF = 1u << 7,          /* PVALIDATE CF=1 (no update) ignored */
	GFW_BUG_SIZEMISMATCH_DROP_TAIL = 1u << 8, /* 2M fallback validates only the first 4K */
	GFW_BUG_TOUCH_BEFORE_ACCEPT = 1u << 9, /* lazy: touches memory before accepting it */
	/* races (several vCPUs) */
	GFW_BUG_INFLIGHT_PAGE_GRANULARITY = 1u << 10, /* in-flight overlap checked per page, not unit */
	GFW_BUG_INFLIGHT_OFF_BY_ONE = 1u << 11,       /* overlap check misses the adjacent unit */
	GFW_BUG_ACCEPT_WITHOUT_INFLIGHT = 1u << 12,   /* accepts without holding an in-flight record */
} gfw_bug_t;

const char *gfw_bug_name(uint32_t bug);            /* "len-trunc32" etc.; NULL if unknown */
bool gfw_bug_from_name(const char *name, uint32_t *bug);
const char *gfw_bug_describe(uint32_t bug);
#define GFW_BUG_COUNT 13u

/* ------------------------------------------------------------------ configuration */

typedef enum gfw_mem_type {
	GFW_MEM_RAM = 1,
	GFW_MEM_MMIO,
	GFW_MEM_RESERVED,
} gfw_mem_type_t;

typedef struct gfw_range {
	uint64_t gpa;
	uint64_t size;
} gfw_range_t;

typedef struct gfw_mem_entry {
	uint64_t gpa;
	uint64_t size;
	uint32_t type; /* gfw_mem_type_t */
} gfw_mem_entry_t;

typedef enum gfw_lazy {
	GFW_LAZY_NONE = 0,    /* eager: validate all RAM at boot */
	GFW_LAZY_ABOVE_4G,    /* OVMF: RAM above 4 GiB left unaccepted */
	GFW_LAZY_RANGES,      /* the config's lazy ranges left unaccepted */
} gfw_lazy_t;

typedef struct gfw_policy {
	bool use_2m;          /* 2M PSC entries and 2M PVALIDATE where aligned (default on) */
	uint32_t batch;       /* PSC entries per GHCB request: 1..253 (default 253) */
	bool msr_only;        /* all PSC through the MSR protocol, 4K (early boot style) */
	uint32_t lazy;        /* gfw_lazy_t */
	bool evict_touch;     /* CVE-2024-36331 mitigation: touch each validated page */
	uint32_t psc_retries; /* VMGEXITs without progress before GFW_TERM_PSC_NO_PROGRESS */
	uint32_t bugs;        /* gfw_bug_t mask; 0 for the correct guest */
} gfw_policy_t;

/* OVMF-like defaults: 2M on, batch 253, GHCB, eager, eviction touch on, 16 retries. */
void gfw_policy_defaults(gfw_policy_t *p);

#define GFW_MAX_MEM 64u
#define GFW_MAX_PREVALIDATED 32u
#define GFW_MAX_LAZY 16u
#define GFW_MAX_CPUS 16u
#define GFW_BITMAP_BYTES 8192u /* 2 MiB units: 64 Ki units = 128 GiB of unaccepted span */
#define GFW_ACCEPT_UNIT SNP_PAGE_2M_SIZE

typedef struct gfw_config {
	gfw_mem_entry_t mem[GFW_MAX_MEM]; /* sorted by gpa */
	uint32_t nmem;
	gfw_range_t prevalidated[GFW_MAX_PREVALIDATED]; /* launch ranges (OVMF's SEC_MEM list) */
	uint32_t nprevalidated;
	gfw_range_t lazy[GFW_MAX_LAZY]; /* GFW_LAZY_RANGES */
	uint32_t nlazy;
	uint64_t cpuid_page_gpa; /* 0: none */
	uint64_t secrets_page_gpa;
	uint64_t ghcb_gpa[GFW_MAX_CPUS]; /* per vCPU */
	uint64_t vmsa_pool_gpa; /* private, validated pages for AP VMSAs (not 2M aligned) */
	uint32_t vmsa_pool_pages;
	gfw_policy_t policy;
} gfw_config_t;

/* ------------------------------------------------------------------ state */

typedef enum gfw_phase {
	GFW_PHASE_RESET = 0,
	GFW_PHASE_SEC,     /* detection, protocol negotiation, GHCB */
	GFW_PHASE_PEI,     /* pre-validation */
	GFW_PHASE_DXE,     /* program steps */
	GFW_PHASE_DONE,
} gfw_phase_t;

/* The per-vCPU in-flight record of a lazy accept (Linux "accepting_list"). */
typedef struct gfw_inflight {
	volatile uint32_t active;
	uint32_t cpu;
	uint64_t unit_first; /* accept units [unit_first, unit_last] */
	uint64_t unit_last;
} gfw_inflight_t;

typedef struct gfw {
	gfw_config_t cfg;
	volatile uint32_t lock; /* protects the bitmap and the in-flight table */
	uint64_t bitmap_base;   /* GPA of unit 0 of the unaccepted bitmap */
	uint64_t bitmap_units;
	uint8_t unaccepted[GFW_BITMAP_BYTES]; /* bit set = unit still unaccepted */
	gfw_inflight_t inflight[GFW_MAX_CPUS];
	uint32_t vmsa_next; /* next free page of the VMSA pool */
	uint16_t proto;     /* negotiated GHCB protocol version */
	uint64_t hv_features;
	bool sev_snp;
	/* added with the implementation (issue #4): */
	uint64_t sev_status;    /* SEV_STATUS as the BSP read it; AP SEV_FEATURES derive from it */
	bool coherency_sfw_no;  /* CPUID 0x8000001F EBX[31] from the CPUID page: no eviction touch */
	struct gfw_ap {
		uint32_t active;
		uint32_t apic_id;
		uint64_t vmsa_gpa;
	} aps[GFW_MAX_CPUS];    /* APs created through the AP-creation NAE event */
} gfw_t;

typedef struct gfw_cpu {
	gfw_t *g;
	gfw_port_t *port;
	uint32_t id;
	uint32_t apic_id;
	uint64_t ghcb_gpa;
	bool ghcb_ready;   /* registered: the GHCB protocol can be used */
	uint32_t vc_depth; /* #VC nesting */
	uint32_t cur_insn; /* gfw_insn_t being executed, for #VC consistency checks */
	struct snp_psc_desc psc; /* the private copy of the current PSC request */
	/* added with the implementation (issue #4): */
	bool terminating;  /* gfw_terminate() started: a #VC now only halts */
	bool lock_held;    /* this vCPU holds g->lock (a lazy #VC then cannot accept) */
} gfw_cpu_t;

/* ------------------------------------------------------------------ program */

typedef enum gfw_step_kind {
	GFW_STEP_BOOT = 1,        /* SEC + PEI: detect, negotiate, GHCB, pre-validate RAM */
	GFW_STEP_ACCEPT,          /* accept [gpa, +size) (lazy memory; no-op where accepted) */
	GFW_STEP_SHARED,          /* convert [gpa, +size) private → shared */
	GFW_STEP_PRIVATE,         /* convert [gpa, +size) shared → private */
	GFW_STEP_TOUCH,           /* access gpa (arg bit 0: write; bit 1: shared) */
	GFW_STEP_CREATE_AP,       /* create an AP, apic id arg, through the AP creation NAE */
	GFW_STEP_DESTROY_AP,      /* destroy AP apic id arg */
	GFW_STEP_CPUID,           /* CPUID leaf arg through the CPUID page */
	GFW_STEP_PRINT,           /* write the step's arg (a byte count of a built-in message) */
} gfw_step_kind_t;

typedef struct gfw_step {
	uint32_t kind; /* gfw_step_kind_t */
	uint32_t arg;
	uint64_t gpa;
	uint64_t size;
} gfw_step_t;

/* What the #VC handler is told about the faulting context (native: the port op in progress). */
typedef enum gfw_insn {
	GFW_INSN_NONE = 0,
	GFW_INSN_MEM,      /* a memory access */
	GFW_INSN_CPUID,
	GFW_INSN_IO,
	GFW_INSN_MSR,
	GFW_INSN_VMGEXIT,
	GFW_INSN_PVALIDATE,
} gfw_insn_t;

/* #VC nesting the handler allows: a #VC taken while handling one; the next is fatal. */
#define GFW_VC_MAX_DEPTH 2u

/* The debug port GFW_STEP_PRINT writes to (QEMU debugcon, OVMF's PcdDebugIoPort). */
#define GFW_DEBUG_PORT 0x402u

typedef struct gfw_vc_frame {
	uint64_t error_code;
	uint64_t fault_va; /* CR2 for 0x404 (identity map: the GPA) */
	uint32_t insn;     /* gfw_insn_t of the faulting instruction */
} gfw_vc_frame_t;

/* Copies cfg into g and checks it; false on an invalid configuration. */
bool gfw_init(gfw_t *g, const gfw_config_t *cfg);
void gfw_cpu_init(gfw_cpu_t *c, gfw_t *g, gfw_port_t *port, uint32_t id);

/* Runs steps in order; returns only if all completed. */
void gfw_run(gfw_cpu_t *c, const gfw_step_t *steps, uint32_t nsteps);

/* The #VC entry point the machine calls (vector 29). Returns once handled. */
void gfw_vc_handler(gfw_cpu_t *c, gfw_vc_frame_t *frame);

/* The building blocks, public for tests and for foreign programs. */
void gfw_boot(gfw_cpu_t *c);
void gfw_accept(gfw_cpu_t *c, uint64_t gpa, uint64_t size);
void gfw_set_shared(gfw_cpu_t *c, uint64_t gpa, uint64_t size);
void gfw_set_private(gfw_cpu_t *c, uint64_t gpa, uint64_t size);
bool gfw_cpuid(gfw_cpu_t *c, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
void gfw_create_ap(gfw_cpu_t *c, uint32_t apic_id);
void gfw_destroy_ap(gfw_cpu_t *c, uint32_t apic_id); /* added: GFW_STEP_DESTROY_AP */
_Noreturn void gfw_terminate(gfw_cpu_t *c, gfw_term_t reason);

#endif /* SNPSIM_GUESTFW_H */
