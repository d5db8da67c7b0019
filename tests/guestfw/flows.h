/* SPDX-License-Identifier: MIT */
/*
 * guestfw flows as data: a configuration, a program per vCPU, what the
 * hypervisor does wrong (faults), and what must come out: the outcome and the
 * exact sequence of guest actions (VMGEXITs, PVALIDATEs, RMPADJUSTs, #VCs,
 * notes). Nothing here is specific to the mock port: a second backend (the real
 * hv_model + rmp) runs the same flows, maps each fault kind to its fault plan
 * (the mapping is noted per kind below) and adds its own end-state checks.
 */
#ifndef SNPSIM_TESTS_GUESTFW_FLOWS_H
#define SNPSIM_TESTS_GUESTFW_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guestfw.h"
#include "snp/ghcb.h"
#include "snp/pages.h"

#define FLOW_ANY UINT64_MAX
#define FLOW_NO_RAX UINT64_MAX
#define FLOW_MAX_CPUS 2u

/* ------------------------------------------------------------------ guest actions */

typedef enum flow_ev_kind {
	FE_MSR = 1,   /* VMGEXIT with an MSR-protocol request: x = the GHCB MSR value */
	FE_NAE,       /* VMGEXIT with the GHCB (not PSC): x = exit code, y = info1, z = info2,
		       * w = RAX or FLOW_NO_RAX */
	FE_PSC,       /* VMGEXIT with a PSC request: gpa = first unprocessed entry, x = op,
		       * y = entries from cur_entry to end_entry, z = how many of them are 2M */
	FE_PVALIDATE, /* gpa = va, x = 2M, y = validate */
	FE_RMPADJUST, /* gpa = va, x = 2M, y = attrs (RDX) */
	FE_VC,        /* #VC delivered: gpa = fault address, x = error code */
	FE_NOTE,      /* gpa, x = gfw_note_kind_t, y = npages, z = arg (not STEP or PHASE) */
	FE_READ,      /* private read (recorded on request): gpa, x = length */
	FE_WRITE,     /* private write (recorded on request): gpa, x = length */
	FE_PAUSE,     /* a spin-wait PAUSE */
	FE_RDMSR,     /* RDMSR of an MSR other than the GHCB MSR (SEV_STATUS): x = the MSR */
	FE_KIND_MAX,
} flow_ev_kind_t;

typedef struct flow_ev {
	uint32_t kind;
	uint32_t cpu;
	uint64_t gpa;
	uint64_t x, y, z, w;
} flow_ev_t;

/*
 * One expected action, or a repeat: `repeat` copies with gpa advanced by
 * `stride` each time. A group (kind FE_GROUP) repeats the next `x` entries
 * `repeat` times, each copy's gpa advanced by `stride`.
 */
#define FE_GROUP 100u

typedef struct flow_exp {
	flow_ev_t ev;
	uint32_t repeat;
	uint64_t stride;
	int line;
} flow_exp_t;

#define EV(cpu_, kind_, gpa_, x_, y_, z_, w_, rep_, stride_)                                      \
	{                                                                                          \
		.ev = {.kind = (kind_), .cpu = (cpu_), .gpa = (gpa_), .x = (x_), .y = (y_),        \
		       .z = (z_), .w = (w_)},                                                      \
		.repeat = (rep_), .stride = (stride_), .line = __LINE__                            \
	}

#define PG SNP_PAGE_SIZE
#define PG2M SNP_PAGE_2M_SIZE
#define PRIV SNP_PAGE_STATE_PRIVATE
#define SHRD SNP_PAGE_STATE_SHARED

#define C_MSR(cpu, v) EV(cpu, FE_MSR, 0, (v), 0, 0, 0, 1, 0)
#define C_NAE(cpu, code, i1, i2, rax) EV(cpu, FE_NAE, 0, (code), (i1), (i2), (rax), 1, 0)
#define C_PSC(cpu, gpa, op, n, n2m) EV(cpu, FE_PSC, (gpa), (op), (n), (n2m), 0, 1, 0)
#define C_PVAL_N(cpu, va, p2m, v, rep) \
	EV(cpu, FE_PVALIDATE, (va), (p2m), (v), 0, 0, (rep), (p2m) ? PG2M : PG)
#define C_PVAL(cpu, va, p2m, v) C_PVAL_N(cpu, va, p2m, v, 1)
#define C_NOTE(cpu, kind, gpa, n, arg) EV(cpu, FE_NOTE, (gpa), (kind), (n), (arg), 0, 1, 0)
#define C_TERM(cpu, t) C_MSR(cpu, REQ_TERM(GFW_TERM_SET(t), GFW_TERM_CODE(t)))

#define E_MSR(v) C_MSR(0, v)
#define E_NAE(code, i1, i2, rax) C_NAE(0, code, i1, i2, rax)
#define E_PSC(gpa, op, n, n2m) C_PSC(0, gpa, op, n, n2m)
#define E_PSC_N(gpa, op, n, n2m, rep, stride) EV(0, FE_PSC, (gpa), (op), (n), (n2m), 0, rep, stride)
#define E_PVAL(va, p2m, v) C_PVAL(0, va, p2m, v)
#define E_PVAL_N(va, p2m, v, rep) C_PVAL_N(0, va, p2m, v, rep)
#define E_RMPADJ(va, attrs) EV(0, FE_RMPADJUST, (va), 0, (attrs), 0, 0, 1, 0)
#define E_VC(code, gpa) EV(0, FE_VC, (gpa), (code), 0, 0, 0, 1, 0)
#define E_NOTE(kind, gpa, n, arg) C_NOTE(0, kind, gpa, n, arg)
#define E_DONE(gpa, n, op) E_NOTE(GFW_NOTE_PSC_DONE, gpa, n, op)
#define E_ACC(gpa, n) E_NOTE(GFW_NOTE_ACCEPTED, gpa, n, 0)
#define E_RESC(gpa, n) E_NOTE(GFW_NOTE_RESCINDED, gpa, n, 0)
#define E_READ(gpa, len) EV(0, FE_READ, (gpa), (len), 0, 0, 0, 1, 0)
#define E_RDMSR(msr) EV(0, FE_RDMSR, 0, (msr), 0, 0, 0, 1, 0)
#define E_PAUSE(cpu) EV(cpu, FE_PAUSE, 0, 0, 0, 0, 0, 1, 0)
#define E_TERM(t) C_TERM(0, t)
#define E_GROUP(n, rep, stride) EV(0, FE_GROUP, 0, (n), 0, 0, 0, (rep), (stride))

/*
 * The MSR-protocol requests guestfw sends, written from the facts sheet's bit
 * layouts (§3.2) rather than with snp/ghcb.h's helpers, so that a wrong helper
 * cannot make both sides agree (test_wire_encodings_match_facts compares them).
 */
#define REQ_SEV_INFO 0x002ull
#define REQ_HV_FT 0x080ull
/* [51:12] GFN, [55:52] operation, 0x014 */
#define REQ_PSC(gpa, op) \
	((((uint64_t)(gpa) >> 12) & ((1ull << 40) - 1)) << 12 | ((uint64_t)(op) & 0xF) << 52 | 0x014ull)
/* [63:12] GFN, 0x012 */
#define REQ_REG(gpa) (((uint64_t)(gpa) & ~0xFFFull) | 0x012ull)
/* [15:12] reason set, [23:16] reason code, 0x100 */
#define REQ_TERM(set, code) \
	((((uint64_t)(code) & 0xFF) << 16) | (((uint64_t)(set) & 0xF) << 12) | 0x100ull)

/* ------------------------------------------------------------------ hostile hypervisor */

typedef enum flow_fault_kind {
	FF_MSR_RESPONSE = 1, /* MSR request with function `match`: response `arg` instead
				(hv: MSR_WRONG_CODE / MSR_GARBAGE) */
	FF_PSC_FAIL,         /* GHCB PSC: SW_EXITINFO2 = arg (hv: FAIL) */
	FF_PSC_NAE_ERROR,    /* GHCB PSC: SW_EXITINFO1 = arg (hv: a malformed-input answer) */
	FF_PSC_PARTIAL,      /* GHCB PSC: process only arg entries (hv: PARTIAL) */
	FF_PSC_PARTIAL_2M,   /* GHCB PSC: the current 2M entry gets cur_page = arg, nothing
				else moves (hv: psc_max_entries-style partial 2M progress) */
	FF_PSC_NO_PROGRESS,  /* GHCB PSC: return success, nothing processed (hv: NO_PROGRESS) */
	FF_PSC_CUR_BACK,     /* GHCB PSC: process, then cur_entry -= arg (hv: CUR_ENTRY_BACK) */
	FF_PSC_END_CHANGE,   /* GHCB PSC: process, then end_entry += arg (hv: END_ENTRY_CHANGE) */
	FF_PSC_RESERVED,     /* GHCB PSC: process, then header reserved = arg (hv: RESERVED_BITS) */
	FF_PSC_REWRITE_GFN,  /* GHCB PSC: process, then every entry's GFN += arg in the shared
				buffer (hv: REWRITE_BUFFER) */
	FF_FORCE_4K,         /* the 2M page at `match` is backed by 4K RMP entries: a 2M
				PVALIDATE returns FAIL_SIZEMISMATCH (hv: FORCE_4K) */
	FF_PVALIDATE_NOUPDATE, /* PVALIDATE at `match` reports CF=1 (hv: the page is already
				  in that state, e.g. after REMAP_REPLAY or a launch page) */
	FF_PVALIDATE_RESULT, /* PVALIDATE at `match` returns EAX = arg (mock only) */
	FF_RMPADJUST_RESULT, /* RMPADJUST at `match` returns arg (hv: the guest not at VMPL0) */
	FF_NAE_RESULT,       /* NAE event with exit code `match`: SW_EXITINFO1 = arg,
				SW_EXITINFO2 = arg2 (hv: FAIL on an NAE trigger) */
	FF_UNVALIDATED,      /* a private access to the page at `match` takes #VC 0x404 (hv:
				natural for unaccepted memory) */
	FF_REVOKE,           /* the page at `match` loses its validation: a private access takes
				#VC 0x404 (hv: REVOKE with arg 1) */
	FF_INJECT_VC_EXIT,   /* after a VMGEXIT, #VC with error code arg (hv: INJECT_VC on the
				VMGEXIT trigger) */
	FF_INJECT_VC_ACCESS, /* an access to the page at `match` takes #VC with code arg (hv:
				INJECT_VC on PAGE_ACCESS; MMIO: natural 0x400) */
	FF_INJECT_VC_CAS,    /* each lock CMPXCHG takes #VC 0x404 at arg2 + k * 2M for the kth
				firing (mock only: a machine injecting inside the handler) */
	FF_RUN_VCPU,         /* at vCPU 0's GHCB PSC, before the hypervisor handles it, vCPU arg
				runs arg2 steps of its program (0: all) or until it spins
				(scheduling; hv: the machine's scheduler at that VMGEXIT) */
} flow_fault_kind_t;

typedef struct flow_fault {
	uint32_t kind;
	uint32_t from_step; /* armed when vCPU 0 starts this step */
	uint32_t nth;       /* fire at the nth matching event once armed (1-based); 0: every */
	uint32_t times;     /* at most this many firings (0: unlimited) */
	uint64_t match;     /* a GPA (page), an MSR function code or an exit code; FLOW_ANY */
	uint64_t arg, arg2;
} flow_fault_t;

/* ------------------------------------------------------------------ machine and flow */

typedef struct flow_machine {
	uint64_t sev_status;     /* what SEV_STATUS reads */
	uint16_t proto_min, proto_max;
	uint64_t features;       /* hypervisor features bitmap */
	uint32_t cpuid_count;    /* 0: the default table's; else the count field is forced */
	bool cpuid_evict;        /* COHERENCY_SFW_NO clear: the guest must do the eviction touch */
	bool secrets_zero;       /* the secrets page carries no VMPCK0 */
	bool term_resumes;       /* the hypervisor resumes the guest after a termination request */
} flow_machine_t;

#define FLOW_CPUID_EMPTY UINT32_MAX /* cpuid_count: a table with count 0 */

extern const flow_machine_t flow_machine_default;

typedef enum flow_outcome {
	FLOW_COMPLETED = 1,
	FLOW_TERMINATED,
} flow_outcome_t;

/* What to record beyond the defaults (VMGEXITs, PVALIDATE, RMPADJUST, #VC, notes, PAUSE). */
#define FLOW_REC_READS (1u << FE_READ)
#define FLOW_REC_WRITES (1u << FE_WRITE)

typedef struct flow_sched {
	uint32_t cpu;
	uint32_t steps; /* 0: the rest of its program */
} flow_sched_t;

/* What a backend hands a flow's check: the actions and the guest's memory. */
typedef struct flow_result {
	const flow_ev_t *log; /* every recorded action, all vCPUs, in order */
	size_t n;
	size_t from;          /* index where vCPU 0's step seq_from began */
	void (*read)(void *ctx, uint64_t gpa, void *dst, size_t len);
	void *ctx;
	const uint8_t *debug; /* bytes written to the debug port */
	size_t ndebug;
} flow_result_t;

typedef struct flow {
	const char *name;
	const char *what;
	void (*config)(gfw_config_t *cfg); /* memory map, launch ranges, GHCBs, policy */
	uint32_t bugs;
	const flow_machine_t *machine;     /* NULL: flow_machine_default */
	const gfw_step_t *program[FLOW_MAX_CPUS];
	uint32_t nprogram[FLOW_MAX_CPUS];
	const flow_sched_t *sched;         /* NULL: vCPU 0 runs its whole program */
	uint32_t nsched;
	const flow_fault_t *faults;
	uint32_t nfaults;
	uint32_t record;                   /* FLOW_REC_* */
	flow_outcome_t outcome;
	gfw_term_t term;                   /* FLOW_TERMINATED: the reason (vCPU 0's, or any vCPU) */
	const flow_exp_t *seq;             /* expected actions from step seq_from of vCPU 0 */
	uint32_t nseq;
	uint32_t seq_from;
	bool seq_prefix;                   /* only the first actions; later ones are not checked */
	void (*check)(const struct flow_result *r); /* extra assertions, may be NULL */
	/* the hv_model + rmp backend (test_gfw_hv.c) */
	const flow_exp_t *hv_seq;          /* its expected actions, when they differ from seq */
	uint32_t nhv_seq;
	const char *hv_seq_why;            /* why they differ (required with hv_seq) */
	const struct flow_rmp *rmp;        /* the final RMP state it must find, page by page */
	uint32_t nrmp;
} flow_t;

extern const flow_t gfw_flows[];
extern const size_t gfw_nflows;
/* The flow called name; NULL if none. */
const flow_t *flow_find(const char *name);

/* ------------------------------------------------------------------ final RMP state (hv backend) */

typedef enum flow_rmp_state {
	FR_SHARED = 1,  /* hypervisor-owned (Assigned = 0) */
	FR_PRIVATE,     /* assigned to the guest at this GPA, Validated = 0 */
	FR_VALIDATED,   /* assigned to the guest at this GPA, Validated = 1 */
} flow_rmp_state_t;

#define FR_ANY_SIZE (-1)

typedef struct flow_rmp {
	uint64_t gpa;
	uint64_t npages;
	uint32_t state;  /* flow_rmp_state_t */
	int page_2m;     /* 0: 4K entries, 1: a 2M entry, FR_ANY_SIZE */
	int line;
} flow_rmp_t;

#define R(gpa_, n_, st_, sz_)                                                                     \
	{                                                                                          \
		.gpa = (gpa_), .npages = (n_), .state = (st_), .page_2m = (sz_), .line = __LINE__  \
	}

/* ------------------------------------------------------------------ shared by both backends */

/* The CPUID table either backend puts in the CPUID page (QEMU-like, EPYC Milan values). */
void flow_default_cpuid(struct snp_cpuid_table *t, const flow_machine_t *machine);

/* What one backend's run of a flow produced. */
typedef struct flow_run {
	const flow_ev_t *log;
	size_t n;
	size_t from;            /* log index where vCPU 0's step seq_from began; SIZE_MAX: never */
	bool completed;         /* every program ran to its end */
	const char *how;        /* how it ended otherwise, for messages */
	bool terminated;        /* a termination request was seen ... */
	uint32_t set, code;     /* ... with this reason */
	uint32_t violations;    /* guest protocol violations the backend saw */
	const char *violation;  /* the first one */
	bool hv;                /* the hv backend: hv_seq replaces seq if given */
} flow_run_t;

/* Checks outcome, reason, violations and the action sequence; messages on stdout. */
bool flow_verify(const flow_t *f, const flow_run_t *r);
/* Compares log[from..] with exp (all of it, or its first part with prefix). */
bool flow_log_expect(const flow_ev_t *log, size_t nlog, size_t from, const flow_exp_t *exp,
		     size_t nexp, bool prefix);
const char *flow_ev_kind_name(uint32_t kind);
void flow_ev_print(const flow_ev_t *e);
/* The configuration of f, with its bugs merged into the policy. */
void flow_config(const flow_t *f, gfw_config_t *cfg);

#endif /* SNPSIM_TESTS_GUESTFW_FLOWS_H */
