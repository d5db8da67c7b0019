/* SPDX-License-Identifier: MIT */
/*
 * rmp: the Reverse Map Table and the SNP instructions that read and write it.
 *
 * A pure model: no I/O, no allocation failure policy beyond returning NULL, no
 * hypervisor policy. Every instruction returns its architectural outcome (EAX,
 * rFLAGS.CF) or the fault it raises, exactly as ../shared/spec/snp-facts.md §1-2
 * describe; where the facts sheet says UNCONFIRMED, the one place in rmp.c that
 * decides it says so.
 *
 * Storage is sparse: one 16-byte entry per populated 4 KiB system-physical page,
 * populated in 2 MiB chunks of 512 entries, and a 2 MiB entry costs 16 bytes in
 * total. An SPA space of up to RMP_SPA_LIMIT_MAX can be modeled.
 *
 * Addresses are byte addresses (SPA, GPA); "frame" means address >> 12.
 */
#ifndef SNPSIM_RMP_H
#define SNPSIM_RMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snp/arch.h"

#define RMP_SPA_LIMIT_MAX (1ull << 52) /* architectural physical-address width */

typedef struct rmp rmp_t;

/* The architectural fields of one entry (APM Table 15-34), as seen for one 4 KiB page. */
typedef struct rmp_entry {
	uint64_t gpa; /* page-aligned GPA this 4 KiB frame must be mapped at */
	uint32_t asid;
	bool assigned;
	bool page_2m; /* the frame is governed by a 2 MiB entry */
	bool immutable;
	bool validated;
	bool vmsa;
	bool in_use; /* held by a logical processor (a running VMSA, say): FAIL_INUSE */
	uint8_t vmpl_perms[SNP_NUM_VMPLS]; /* [0] is VMPL_PERM_ALL whenever assigned */
} rmp_entry_t;

/* RMPUPDATE input: the 16-byte state descriptor of facts §1.6, decoded. */
typedef struct rmp_state {
	uint64_t gpa;
	uint32_t asid;
	bool assigned;
	bool page_2m;
	bool immutable;
} rmp_state_t;

typedef enum rmp_fault {
	RMP_FAULT_NONE = 0, /* instruction completed: see ret and cf */
	RMP_FAULT_NPF,      /* #VMEXIT(NPF) to the hypervisor; error_code = EXITINFO1 bits */
	RMP_FAULT_VC,       /* #VC to the guest; error_code = SVM_EXIT_VMPL_NOT_VALIDATED */
	RMP_FAULT_GP,       /* #GP(0) to the executing context */
	RMP_FAULT_HOST_PF,  /* #PF in the host; error_code has PF_HOST_RMP */
} rmp_fault_t;

/* The outcome of an instruction or access check. Small enough to return in registers. */
typedef struct rmp_result {
	uint8_t fault; /* rmp_fault_t */
	uint8_t cf;    /* rFLAGS.CF; meaningful for PVALIDATE/RMPADJUST when ret == SUCCESS */
	uint16_t reserved;
	uint32_t ret;        /* EAX, SNP_RET_* (when fault == RMP_FAULT_NONE) */
	uint64_t error_code; /* fault-specific, see rmp_fault_t */
} rmp_result_t;

typedef enum rmp_access {
	RMP_ACCESS_READ = 0,
	RMP_ACCESS_WRITE,
	RMP_ACCESS_FETCH, /* instruction fetch; also page-table walks (facts §2.5) */
} rmp_access_t;

typedef struct rmp_stats {
	uint64_t populated_pages; /* 4 KiB frames whose entry storage exists */
	uint64_t entry_bytes;     /* bytes of entry storage (the 16 B/page figure) */
	uint64_t overhead_bytes;  /* chunk directories */
} rmp_stats_t;

/* Creates an all-zero RMP (every page hypervisor-owned) covering SPAs [0, spa_limit). */
rmp_t *rmp_new(uint64_t spa_limit);
void rmp_free(rmp_t *rmp);
uint64_t rmp_spa_limit(const rmp_t *rmp);
void rmp_stats(const rmp_t *rmp, rmp_stats_t *out);

/*
 * The state governing the 4 KiB frame at spa. Pages outside the coverage read as
 * hypervisor-owned. Returns false when spa is outside the coverage.
 */
bool rmp_lookup(const rmp_t *rmp, uint64_t spa, rmp_entry_t *out);

/* rmp_lookup(rmp, spa, &e) && e.page_2m, without decoding the entry. */
bool rmp_page_2m(const rmp_t *rmp, uint64_t spa);

/* What rmp_scan tests on each 4 KiB frame, as rmp_lookup would decode its entry. */
typedef enum rmp_scan_kind {
	RMP_SCAN_ASSIGNED,  /* Assigned */
	RMP_SCAN_PRIVATE,   /* Assigned to asid, not Immutable, at the frame's GPA */
	RMP_SCAN_VALIDATED, /* Assigned to asid at the frame's GPA, and Validated */
} rmp_scan_kind_t;

/*
 * How many leading frames of [spa, spa + npages * 4 KiB) have `kind` equal to
 * want, frame i being expected at GPA gpa + i * 4 KiB: what a loop of
 * rmp_lookup would find (frames beyond the coverage read as hypervisor-owned),
 * at O(1) per 2 MiB entry or untouched 2 MiB unit. Returns npages if all do.
 */
uint64_t rmp_scan(const rmp_t *rmp, uint64_t spa, uint64_t gpa, uint64_t npages, uint32_t asid,
		  rmp_scan_kind_t kind, bool want);

/* ---- host instructions (executed with caller_asid 0, i.e. by the hypervisor) ---- */

/* RMPUPDATE (facts §2.4, §1.5). Clears Validated and VMSA; VMPL1-3 lose all permissions. */
rmp_result_t rmp_rmpupdate(rmp_t *rmp, uint32_t caller_asid, uint64_t spa, const rmp_state_t *st);

/* PSMASH: one 2 MiB entry becomes 512 4 KiB entries, each inheriting its state. */
rmp_result_t rmp_psmash(rmp_t *rmp, uint32_t caller_asid, uint64_t spa);

/*
 * The reverse of PSMASH, as the SNP firmware's SNP_PAGE_UNSMASH does it (used by
 * the hypervisor model's UNSMASH): 512 consistent 4 KiB entries become one 2 MiB entry.
 */
rmp_result_t rmp_unsmash(rmp_t *rmp, uint32_t caller_asid, uint64_t spa);

/*
 * SNP_LAUNCH_UPDATE, the firmware half of launch: the page (already made private
 * by RMPUPDATE to asid at gpa) becomes Validated; vmsa marks a VMSA page.
 */
rmp_result_t rmp_launch_update(rmp_t *rmp, uint64_t spa, uint32_t asid, uint64_t gpa, bool page_2m,
			       bool vmsa);

/* Marks the entry in use by a logical processor (RMP operations then fail with FAIL_INUSE). */
bool rmp_set_in_use(rmp_t *rmp, uint64_t spa, bool in_use);

/* ---- guest instructions (gpa: the translated operand; spa: where the NPT maps it) ---- */

/* PVALIDATE (facts §2.2): ret SUCCESS with cf = 1 means "no change". */
rmp_result_t rmp_pvalidate(rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa, uint64_t spa,
			   bool page_2m, bool validate);

/* RMPADJUST (facts §2.3): rdx carries target VMPL [7:0], permissions [15:8], VMSA [16]. */
rmp_result_t rmp_rmpadjust(rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa, uint64_t spa,
			   bool page_2m, uint64_t rdx);

/* ---- access checks (facts §2.5) ---- */

/*
 * The RMP check on a guest access to gpa, mapped by the NPT to spa at 2 MiB
 * (npt_2m) or 4 KiB. c_bit is the effective C-bit; fetches are always private.
 */
rmp_result_t rmp_check_access(const rmp_t *rmp, uint32_t asid, uint32_t vmpl, uint64_t gpa,
			      uint64_t spa, bool npt_2m, rmp_access_t access, bool c_bit);

/* The check on a host write to spa through a 4 KiB or 2 MiB host mapping. */
rmp_result_t rmp_check_host_write(const rmp_t *rmp, uint64_t spa, bool map_2m);

/* ---- names (messages and traces) ---- */

/* Upper-case spec names: "SUCCESS", "FAIL_INPUT", ... NULL for an unknown code. */
const char *rmp_ret_to_string(uint32_t ret);
/*
 * One name per distinct outcome: "SUCCESS", "SUCCESS_NOUPDATE" (CF=1),
 * "FAIL_INPUT" ... "FAIL_UNSUITABLE", "NPF_RMP", "NPF_RMP_SIZEM", "NPF_RMP_VMPL",
 * "VC_PAGE_NOT_VALIDATED", "GP", "HOST_PF_RMP".
 */
const char *rmp_result_to_string(rmp_result_t r);
/* The inverse of rmp_result_to_string for the names above; false if unknown. */
bool rmp_result_from_string(const char *name, rmp_result_t *out);
/* "RMP|ENC|SIZEM" style rendering of #NPF error-code bits into buf; returns buf. */
const char *rmp_npf_bits_to_string(uint64_t error_code, char *buf, size_t len);

static inline bool rmp_ok(rmp_result_t r)
{
	return r.fault == RMP_FAULT_NONE && r.ret == SNP_RET_SUCCESS;
}

/* ---- the validation ledger ---- */

/*
 * Beside the RMP, the guest's own history by GPA: which GPAs it currently holds
 * validated and which event validated each. It is written only by what the guest
 * (or launch) did, never by the hypervisor, so "validated twice without an
 * intervening rescind" is a lookup, whatever the hypervisor did in between.
 */
typedef struct rmp_ledger rmp_ledger_t;

typedef struct rmp_ledger_rec {
	uint64_t seq; /* event that validated the page */
	uint64_t spa; /* SPA it was validated at */
	uint32_t vcpu;
	bool held;
} rmp_ledger_rec_t;

rmp_ledger_t *rmp_ledger_new(void);
void rmp_ledger_free(rmp_ledger_t *l);

/*
 * Records that [gpa, gpa + npages * 4 KiB) was validated by event seq on vcpu
 * (spa: SPA of the first page). Returns how many of those pages were already held;
 * if any, *first_conflict (may be NULL) receives the earliest-addressed one's record
 * and *conflict_gpa its GPA. The new event replaces the old ones.
 */
uint64_t rmp_ledger_validate(rmp_ledger_t *l, uint64_t gpa, uint64_t npages, uint64_t seq,
			     uint32_t vcpu, uint64_t spa, rmp_ledger_rec_t *first_conflict,
			     uint64_t *conflict_gpa);
/*
 * Like rmp_ledger_validate, but page i was validated by event seq + i (a run of
 * 4 KiB PVALIDATEs with consecutive sequence numbers): the records are those
 * that npages single-page calls would leave, at O(1) per whole 2 MiB unit.
 */
uint64_t rmp_ledger_validate_seq(rmp_ledger_t *l, uint64_t gpa, uint64_t npages, uint64_t seq,
				 uint32_t vcpu, uint64_t spa, rmp_ledger_rec_t *first_conflict,
				 uint64_t *conflict_gpa);
/* Records a rescind; returns how many of the pages were not held. */
uint64_t rmp_ledger_rescind(rmp_ledger_t *l, uint64_t gpa, uint64_t npages);
/* The record of one GPA; false (and out->held = false) when not held. */
bool rmp_ledger_get(const rmp_ledger_t *l, uint64_t gpa, rmp_ledger_rec_t *out);
uint64_t rmp_ledger_held_pages(const rmp_ledger_t *l);
/*
 * How many pages of [gpa, gpa + npages * 4 KiB) are held; O(1) per 2 MiB record.
 * If some are not, *first_missing (may be NULL) receives the lowest such GPA.
 */
uint64_t rmp_ledger_count_held(const rmp_ledger_t *l, uint64_t gpa, uint64_t npages,
			       uint64_t *first_missing);
/*
 * How many leading pages of [gpa, gpa + npages * 4 KiB) are held (held = true)
 * or not held (held = false); O(1) per 2 MiB record or untouched 2 MiB unit.
 */
uint64_t rmp_ledger_span(const rmp_ledger_t *l, uint64_t gpa, uint64_t npages, bool held);
/* Calls fn for each held page in increasing GPA order; stops early if fn returns false. */
void rmp_ledger_foreach(const rmp_ledger_t *l,
			bool (*fn)(uint64_t gpa, const rmp_ledger_rec_t *rec, void *ctx), void *ctx);

/*
 * Like rmp_ledger_foreach, but a run of npages held pages sharing one record
 * (a 2 MiB validation) comes as one call: page i has SPA rec->spa + i * 4 KiB.
 */
void rmp_ledger_foreach_run(const rmp_ledger_t *l,
			    bool (*fn)(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec,
				       void *ctx),
			    void *ctx);

#endif /* SNPSIM_RMP_H */
