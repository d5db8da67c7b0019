/* SPDX-License-Identifier: MIT */
/*
 * Seeded randomized property test of rmp/: long random sequences of RMPUPDATE,
 * PSMASH, unsmash, LAUNCH_UPDATE, PVALIDATE, RMPADJUST, in-use marking, guest
 * accesses and host writes over a small SPA space (8 regions of 2 MiB, the last
 * one only partly covered), a few ASIDs and all four VMPLs.
 *
 * Beside the RMP runs an independent shadow: a flat per-4K-frame array where a
 * 2 MiB entry is simply 512 frames with Page_Size = 1, updated by the rules of
 * snp-facts.md (and, where those are UNCONFIRMED, by rmp.c's documented choice).
 * After every operation:
 *   - the result must be one the shadow allows (where several failure conditions
 *     hold at once, any of their codes is accepted: the spec gives no priority);
 *   - the op's 2 MiB region must read, via rmp_lookup, exactly as the shadow says
 *     (so a failed instruction changed nothing, and a successful one did exactly
 *     what the spec says);
 *   - invariants checked on rmp_lookup alone: Validated => Assigned, and a 2M
 *     entry's 512 frames read consistently (same owner/state, consecutive GPAs);
 *   - the ledger, fed with every successful CF=0 PVALIDATE and LAUNCH_UPDATE,
 *     agrees with the RMP: every validated frame is held at its GPA with its SPA,
 *     and a held page whose SPA saw no RMPUPDATE since is still validated.
 * Every 64 ops the whole space and every ledger are compared.
 *
 * SNPSIM_SEED=<n> reproduces a run (the seed is printed on failure and at start);
 * SNPSIM_PROP_OPS=<n> changes the number of operations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmp.h"

#define K4 ((uint64_t)SNP_PAGE_SIZE)
#define M2 ((uint64_t)SNP_PAGE_2M_SIZE)
#define MASK4K (K4 - 1)
#define MASK2M (M2 - 1)
#define NREG 8u
#define SPACE ((uint64_t)NREG * M2)
#define NFR (SPACE / K4)
#define LIMIT (SPACE - M2 + 256 * K4) /* the last region is covered for 256 frames only */
#define NASID 4u			      /* ASIDs 1..3 are guests */
#define DEFAULT_SEED 0x5eed5eedull
#define DEFAULT_OPS 40000u
#define EPOCH_OPS 5000u /* a fresh RMP per epoch: immutable pages cannot be undone */
#define FULL_EVERY 64u
#define GPA_LIMIT (1ull << 51)

/* Each ASID's GPA for an SPA: a bijection, so no two SPAs of one guest share a GPA
 * and the ledger's per-GPA history stays comparable with the per-SPA RMP. */
static uint64_t gpa_of(uint32_t asid, uint64_t spa)
{
	return ((uint64_t)asid << 40) + spa; /* 1 TiB apart: exercises large ledger GPAs */
}

typedef struct sh {
	uint64_t gpa;
	uint32_t asid;
	bool assigned, p2m, immut, validated, vmsa, in_use;
	uint8_t perms[SNP_NUM_VMPLS];
} sh_t;

/* the shadow ledger, indexed by SPA frame thanks to the bijection */
typedef struct shl {
	uint64_t seq;
	uint32_t vcpu;
	bool held;
} shl_t;

typedef enum kind {
	K_RMPUPDATE,
	K_PSMASH,
	K_UNSMASH,
	K_LAUNCH,
	K_PVALIDATE,
	K_RMPADJUST,
	K_INUSE,
	K_ACCESS,
	K_HOSTW,
	K_RECLAIM, /* generator only: make a whole region shared again, entry by entry */
	K_NKINDS
} kind_t;

static const char *const kind_names[K_NKINDS] = {
	"RMPUPDATE", "PSMASH", "UNSMASH", "LAUNCH", "PVALIDATE",
	"RMPADJUST", "IN_USE", "ACCESS",  "HOSTW", "RECLAIM",
};

typedef struct op {
	kind_t kind;
	uint32_t asid, vmpl;
	uint64_t spa, gpa, rdx;
	bool p2m, flag;
	rmp_access_t access;
	rmp_state_t st;
	uint32_t vcpu;
} op_t;

/* What the spec allows as the outcome of one op. */
typedef struct pred {
	rmp_result_t r;	    /* the expected outcome */
	bool check_cf;	    /* CF is compared (PVALIDATE) */
	uint64_t npf_mask;  /* error-code bits compared for an NPF */
	uint32_t alt_rets;  /* other acceptable failure codes (bit n = EAX n), no change */
	bool alt_success;   /* SUCCESS is acceptable too (with the op's effect) */
	bool any_fail;	    /* any non-SUCCESS EAX is acceptable (no change) */
} pred_t;

enum { OUT_SUCCESS, OUT_NOUPDATE, OUT_RET1, OUT_NPF = OUT_RET1 + 8, OUT_NPF_SIZEM, OUT_NPF_VMPL,
       OUT_VC, OUT_GP, OUT_HOSTPF, OUT_N };

typedef struct T {
	uint64_t seed, rng, nops, opi, seq, epoch;
	rmp_t *rmp;
	sh_t *sh;
	uint64_t *last_upd; /* seq of the last successful RMPUPDATE writing each frame */
	rmp_ledger_t *led[NASID];
	shl_t *shl[NASID];
	char ring[16][200]; /* the last ops, for failure messages */
	uint64_t outcomes[K_NKINDS][OUT_N];
	uint64_t conflicts, rescinds;
	uint64_t inuse[8];
	uint32_t ninuse;
	uint64_t unsmash_next; /* region to unsmash next (after a PSMASH), + 1 */
	bool flav2m[NREG];     /* per epoch: the region is mostly used with 2M entries */
	uint64_t reclaims;
	rmp_entry_t *snap;
} T_t;

/* ------------------------------------------------------------------ failure reporting */

static T_t *g_t;

static void pfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pfail(const char *fmt, ...)
{
	T_t *t = g_t;
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("property violated: %s\n", msg);
	print_error("  seed %#" PRIx64 " (rerun: SNPSIM_SEED=%#" PRIx64 "), epoch %" PRIu64
		    ", op %" PRIu64 " of %" PRIu64 "\n",
		    t->seed, t->seed, t->epoch, t->opi, t->nops);
	print_error("  last ops, oldest first:\n");
	for (uint64_t i = t->opi > 15 ? t->opi - 15 : 0; i <= t->opi; i++)
		print_error("    #%" PRIu64 " %s\n", i, t->ring[i % 16]);
	fail_msg("seed %#" PRIx64 ": %s", t->seed, msg);
}

#define PCHECK(cond, ...)                                                                     \
	do {                                                                                 \
		if (!(cond))                                                                 \
			pfail(__VA_ARGS__);                                                  \
	} while (0)

/* ------------------------------------------------------------------ random numbers */

static uint64_t rnd(T_t *t)
{
	/* splitmix64 */
	uint64_t z = (t->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint32_t below(T_t *t, uint32_t n)
{
	return (uint32_t)(rnd(t) % n);
}

static bool chance(T_t *t, uint32_t percent)
{
	return below(t, 100) < percent;
}

/* ------------------------------------------------------------------ shadow helpers */

static sh_t *shf(T_t *t, uint64_t spa)
{
	return &t->sh[spa / K4];
}

static bool owned(const sh_t *e, uint32_t asid)
{
	return e->assigned && !e->immut && e->asid == asid;
}

static pred_t p_ret(uint32_t ret)
{
	return (pred_t){.r = {.fault = RMP_FAULT_NONE, .ret = ret}};
}

static pred_t p_cf(bool cf)
{
	return (pred_t){.r = {.fault = RMP_FAULT_NONE, .cf = cf}, .check_cf = true};
}

static pred_t p_npf(uint64_t bits, uint64_t mask)
{
	return (pred_t){.r = {.fault = RMP_FAULT_NPF, .error_code = bits}, .npf_mask = mask};
}

#define CORE (PFERR_RMP | PFERR_GUEST_SIZEM | PFERR_GUEST_VMPL)
#define ACCB (PFERR_WRITE | PFERR_FETCH | PFERR_GUEST_ENC)

/* A set of simultaneously failing conditions: report one, accept any. */
static pred_t p_any_of(uint32_t mask)
{
	uint32_t first = (uint32_t)__builtin_ctz(mask);
	pred_t p = p_ret(first);
	p.alt_rets = mask;
	return p;
}

#define BIT(r) (1u << (r))

/* ------------------------------------------------------------------ prediction */

/*
 * Covered, guest-owned and mutable, reverse map, then size (facts §2.5 order),
 * for PVALIDATE/RMPADJUST. Returns true with the frame to modify.
 */
static bool guest_check(T_t *t, uint32_t asid, uint64_t gpa, uint64_t spa, bool p2m, pred_t *p)
{
	if (p2m && (spa & MASK2M)) {
		/* rmp.c: a 2M operand at an SPA that is not 2M aligned is a 4K NPT mapping;
		 * the frame's own checks apply and then the size cannot match */
		if (guest_check(t, asid, gpa, spa, false, p))
			*p = p_ret(SNP_RET_FAIL_SIZEMISMATCH);
		return false;
	}
	if (spa >= LIMIT) {
		*p = p_npf(PFERR_RMP, CORE);
		return false;
	}
	const sh_t *e = shf(t, spa);
	if (!owned(e, asid) || e->gpa != gpa) {
		*p = p_npf(PFERR_RMP, CORE);
		return false;
	}
	if (e->p2m && !p2m) {
		*p = p_npf(PFERR_RMP | PFERR_GUEST_SIZEM, CORE);
		return false;
	}
	if (!e->p2m && p2m) {
		*p = p_ret(SNP_RET_FAIL_SIZEMISMATCH);
		return false;
	}
	return true;
}

static pred_t predict_rmpupdate(T_t *t, const op_t *o)
{
	const rmp_state_t *st = &o->st;
	if (o->asid != 0)
		return p_ret(SNP_RET_FAIL_PERMISSION);
	if ((o->spa & MASK4K) || o->spa >= LIMIT)
		return p_ret(SNP_RET_FAIL_INPUT);
	if (st->page_2m && ((o->spa & MASK2M) || o->spa + M2 > LIMIT))
		return p_ret(SNP_RET_FAIL_INPUT);
	if (st->assigned) {
		if ((st->gpa & MASK4K) || (st->page_2m && (st->gpa & MASK2M)) ||
		    st->gpa >= GPA_LIMIT || st->asid > RMP_ASID_MAX || (st->asid == 0) != st->immutable)
			return p_ret(SNP_RET_FAIL_INPUT);
	} else if (st->asid || st->immutable) {
		return p_ret(SNP_RET_FAIL_INPUT);
	}
	const sh_t *h = shf(t, o->spa & ~MASK2M);
	if (!st->page_2m) {
		if (h->p2m) {
			uint32_t m = 0;
			if (h->immut)
				m |= BIT(SNP_RET_FAIL_PERMISSION);
			if (h->in_use)
				m |= BIT(SNP_RET_FAIL_INUSE);
			if (m && h->assigned)
				m |= BIT(SNP_RET_FAIL_OVERLAP);
			if (!m && h->assigned) /* facts §1.5: PSMASH first */
				m = BIT(SNP_RET_FAIL_OVERLAP);
			if (m)
				return p_any_of(m);
			return p_ret(0); /* a hypervisor-owned 2M entry splits */
		}
		const sh_t *e = shf(t, o->spa);
		uint32_t m = (e->immut ? BIT(SNP_RET_FAIL_PERMISSION) : 0) |
			     (e->in_use ? BIT(SNP_RET_FAIL_INUSE) : 0);
		return m ? p_any_of(m) : p_ret(0);
	}
	if (h->p2m) {
		uint32_t m = (h->immut ? BIT(SNP_RET_FAIL_PERMISSION) : 0) |
			     (h->in_use ? BIT(SNP_RET_FAIL_INUSE) : 0);
		if (m)
			return p_any_of(m);
		pred_t p = p_ret(0);
		/* a 2M entry rewritten as a 2M entry: the facts only say the reverse of
		 * "every sub-page free"; rmp.c allows it, an overlap report is tolerated */
		if (h->assigned && st->assigned)
			p.alt_rets = BIT(SNP_RET_FAIL_OVERLAP);
		return p;
	}
	uint32_t m = 0;
	for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++) {
		const sh_t *e = h + i;
		if (e->immut)
			m |= BIT(SNP_RET_FAIL_PERMISSION);
		if (e->in_use)
			m |= BIT(SNP_RET_FAIL_INUSE);
		if (e->assigned) /* facts §1.5 / rmp.c: all 512 must be free */
			m |= BIT(SNP_RET_FAIL_OVERLAP);
	}
	return m ? p_any_of(m) : p_ret(0);
}

static pred_t predict_psmash(T_t *t, const op_t *o)
{
	if (o->asid != 0)
		return p_ret(SNP_RET_FAIL_PERMISSION);
	if ((o->spa & MASK2M) || o->spa >= LIMIT)
		return p_ret(SNP_RET_FAIL_INPUT);
	const sh_t *h = shf(t, o->spa);
	if (!h->p2m) /* rmp.c: code 7, "not suitable for expansion" */
		return p_ret(SNP_RET_FAIL_UNSUITABLE);
	uint32_t m = (h->immut ? BIT(SNP_RET_FAIL_PERMISSION) : 0) |
		     (h->in_use ? BIT(SNP_RET_FAIL_INUSE) : 0);
	if (m)
		return p_any_of(m);
	pred_t p = p_ret(0);
	if (!h->assigned) /* facts: the input is an assigned 2M entry; HV-owned is unspecified */
		p.any_fail = true;
	return p;
}

static pred_t predict_unsmash(T_t *t, const op_t *o)
{
	if (o->asid != 0)
		return p_ret(SNP_RET_FAIL_PERMISSION);
	if ((o->spa & MASK2M) || o->spa >= LIMIT)
		return p_ret(SNP_RET_FAIL_INPUT);
	const sh_t *h = shf(t, o->spa);
	/* rmp.c (preconditions UNCONFIRMED): the exact inverse of PSMASH */
	bool bad = h->p2m || !h->assigned || h->immut || h->asid == 0 || h->vmsa ||
		   (h->gpa & MASK2M);
	bool busy = false;
	for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++) {
		const sh_t *e = h + i;
		busy |= e->in_use;
		if (o->spa + i * K4 >= LIMIT || e->p2m || e->assigned != h->assigned ||
		    e->immut != h->immut || e->asid != h->asid || e->vmsa != h->vmsa ||
		    e->validated != h->validated || e->gpa != h->gpa + i * K4 ||
		    memcmp(e->perms, h->perms, sizeof(e->perms)) != 0)
			bad = true;
	}
	uint32_t m = (bad ? BIT(SNP_RET_FAIL_INPUT) : 0) | (busy ? BIT(SNP_RET_FAIL_INUSE) : 0);
	return m ? p_any_of(m) : p_ret(0);
}

static pred_t predict_launch(T_t *t, const op_t *o)
{
	uint64_t mask = o->p2m ? MASK2M : MASK4K;
	if ((o->spa & mask) || (o->gpa & mask) || o->spa >= LIMIT || o->asid == 0)
		return p_ret(SNP_RET_FAIL_INPUT);
	const sh_t *e = shf(t, o->spa);
	/* rmp.c: only pages the HV made private to this guest at this GPA (and size) */
	if (!owned(e, o->asid) || e->gpa != o->gpa || e->p2m != o->p2m || e->validated ||
	    (o->flag && o->p2m))
		return p_ret(SNP_RET_FAIL_INPUT);
	return p_ret(0);
}

static pred_t predict_pvalidate(T_t *t, const op_t *o)
{
	if (o->vmpl != 0) /* VMPL0 only; the fault is UNCONFIRMED, rmp.c: #GP */
		return (pred_t){.r = {.fault = RMP_FAULT_GP}};
	if (o->gpa & (o->p2m ? MASK2M : MASK4K))
		return p_ret(SNP_RET_FAIL_INPUT);
	pred_t p;
	if (!guest_check(t, o->asid, o->gpa, o->spa, o->p2m, &p))
		return p;
	return p_cf(shf(t, o->spa)->validated == o->flag);
}

static pred_t predict_rmpadjust(T_t *t, const op_t *o)
{
	uint32_t target = (uint32_t)(o->rdx & RMPADJUST_TARGET_VMPL_MASK);
	uint8_t perms = (uint8_t)((o->rdx & RMPADJUST_PERM_MASK) >> RMPADJUST_PERM_SHIFT);
	bool vmsa = o->rdx & RMPADJUST_VMSA_PAGE_BIT;
	/* FAIL_INPUT list UNCONFIRMED: rmp.c's */
	if ((o->gpa & (o->p2m ? MASK2M : MASK4K)) || (o->rdx >> 17) || (perms & ~VMPL_PERM_ALL) ||
	    target >= SNP_NUM_VMPLS || ((perms & VMPL_PERM_WRITE) && !(perms & VMPL_PERM_READ)))
		return p_ret(SNP_RET_FAIL_INPUT);
	if (target <= o->vmpl || (vmsa && o->vmpl != 0))
		return p_ret(SNP_RET_FAIL_PERMISSION);
	pred_t p;
	if (!guest_check(t, o->asid, o->gpa, o->spa, o->p2m, &p))
		return p;
	const sh_t *e = shf(t, o->spa);
	if (perms & ~e->perms[o->vmpl])
		return p_ret(SNP_RET_FAIL_PERMISSION);
	p = p_ret(0);
	if (e->in_use) { /* the facts list no FAIL_INUSE for RMPADJUST; rmp.c reports it */
		p.alt_rets = BIT(SNP_RET_FAIL_INUSE);
	}
	return p;
}

static pred_t predict_access(T_t *t, const op_t *o)
{
	uint64_t acc = o->access == RMP_ACCESS_WRITE ? PFERR_WRITE
		       : o->access == RMP_ACCESS_FETCH ? PFERR_FETCH
						       : 0;
	bool private = o->flag || o->access == RMP_ACCESS_FETCH;
	const sh_t zero = {0};
	const sh_t *e = o->spa < LIMIT ? shf(t, o->spa) : &zero;
	if (!private) {
		if (o->access == RMP_ACCESS_WRITE && e->assigned)
			return p_npf(PFERR_RMP | acc, CORE | ACCB);
		return p_ret(0);
	}
	uint64_t base = PFERR_RMP | PFERR_GUEST_ENC | acc;
	if (o->spa >= LIMIT || !owned(e, o->asid) || e->gpa != (o->gpa & ~MASK4K))
		return p_npf(base, CORE | ACCB);
	if (e->p2m != o->p2m)
		return p_npf(base | PFERR_GUEST_SIZEM, CORE | ACCB);
	if (!e->validated)
		return (pred_t){.r = {.fault = RMP_FAULT_VC, .error_code = SVM_EXIT_VMPL_NOT_VALIDATED}};
	uint8_t need = o->access == RMP_ACCESS_WRITE ? VMPL_PERM_WRITE
		       : o->access == RMP_ACCESS_FETCH ? VMPL_PERM_EXEC_SUPER
						       : VMPL_PERM_READ;
	if (!(e->perms[o->vmpl] & need))
		return p_npf(base | PFERR_GUEST_VMPL, CORE | ACCB);
	return p_ret(0);
}

static pred_t predict_hostw(T_t *t, const op_t *o)
{
	if (o->spa >= LIMIT)
		return p_ret(0);
	bool hit = false;
	if (o->p2m) {
		uint64_t base = o->spa & ~MASK2M;
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
			if (base + i * K4 < LIMIT)
				hit |= shf(t, base + i * K4)->assigned;
	} else {
		hit = shf(t, o->spa)->assigned;
	}
	if (hit)
		return (pred_t){.r = {.fault = RMP_FAULT_HOST_PF, .error_code = PF_HOST_RMP}};
	return p_ret(0);
}

static pred_t predict(T_t *t, const op_t *o)
{
	switch (o->kind) {
	case K_RMPUPDATE: return predict_rmpupdate(t, o);
	case K_PSMASH: return predict_psmash(t, o);
	case K_UNSMASH: return predict_unsmash(t, o);
	case K_LAUNCH: return predict_launch(t, o);
	case K_PVALIDATE: return predict_pvalidate(t, o);
	case K_RMPADJUST: return predict_rmpadjust(t, o);
	case K_ACCESS: return predict_access(t, o);
	case K_HOSTW: return predict_hostw(t, o);
	default: return p_ret(0);
	}
}

static bool accepted(const pred_t *p, rmp_result_t r)
{
	if (p->r.fault != RMP_FAULT_NONE) {
		if (r.fault != p->r.fault)
			return false;
		switch (r.fault) {
		case RMP_FAULT_NPF: return (r.error_code & p->npf_mask) == p->r.error_code;
		case RMP_FAULT_VC: return r.error_code == p->r.error_code;
		case RMP_FAULT_HOST_PF: return (r.error_code & PF_HOST_RMP) != 0;
		default: return true;
		}
	}
	if (r.fault != RMP_FAULT_NONE)
		return false;
	if (r.ret == p->r.ret)
		return !p->check_cf || r.cf == p->r.cf;
	if (r.ret == SNP_RET_SUCCESS)
		return p->alt_success;
	return p->any_fail || (r.ret < 32 && (p->alt_rets & BIT(r.ret)));
}

/* ------------------------------------------------------------------ shadow effects */

static void apply_state(T_t *t, uint64_t spa, const rmp_state_t *st, uint32_t i)
{
	sh_t *e = shf(t, spa);
	*e = (sh_t){0};
	e->assigned = st->assigned;
	e->p2m = st->page_2m;
	if (st->assigned) {
		e->immut = st->immutable;
		e->asid = st->asid;
		e->gpa = st->gpa + (uint64_t)i * K4;
		e->perms[0] = VMPL_PERM_ALL; /* VMPL0 full, VMPL1-3 none (facts §2.4) */
	}
	t->last_upd[spa / K4] = t->seq;
}

static void apply(T_t *t, const op_t *o, rmp_result_t r)
{
	uint64_t base = o->spa & ~MASK2M;
	sh_t *h = o->spa < SPACE ? shf(t, base) : NULL;
	switch (o->kind) {
	case K_RMPUPDATE:
		if (o->st.page_2m) {
			for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
				apply_state(t, base + i * K4, &o->st, i);
		} else {
			if (h->p2m) /* split a hypervisor-owned 2M entry */
				for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
					h[i] = (sh_t){0};
			apply_state(t, o->spa, &o->st, 0);
		}
		break;
	case K_PSMASH:
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
			h[i].p2m = false; /* all else inherited; GPAs already consecutive */
		break;
	case K_UNSMASH:
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
			h[i].p2m = true;
		break;
	case K_LAUNCH:
	case K_PVALIDATE:
	case K_RMPADJUST: {
		uint32_t n = o->p2m ? SNP_PAGES_PER_2M : 1;
		sh_t *e = shf(t, o->spa);
		for (uint32_t i = 0; i < n; i++) {
			if (o->kind == K_LAUNCH) {
				e[i].validated = true;
				e[i].vmsa |= o->flag;
			} else if (o->kind == K_PVALIDATE) {
				if (!r.cf)
					e[i].validated = o->flag;
			} else {
				uint32_t target = (uint32_t)(o->rdx & 0xFF);
				e[i].perms[target] = (uint8_t)(o->rdx >> 8);
				if (o->vmpl == 0)
					e[i].vmsa = o->rdx & RMPADJUST_VMSA_PAGE_BIT;
			}
		}
		break;
	}
	case K_INUSE: {
		if (o->spa >= LIMIT)
			break;
		sh_t *e = shf(t, o->spa);
		if (e->p2m)
			for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
				h[i].in_use = o->flag;
		else
			e->in_use = o->flag;
		break;
	}
	default: break;
	}
}

/* ------------------------------------------------------------------ comparisons */

static void fmt_e(char *buf, size_t len, bool assigned, bool p2m, bool immut, bool val, bool vmsa,
		  bool in_use, uint32_t asid, uint64_t gpa, const uint8_t *perms)
{
	snprintf(buf, len,
		 "{A%d 2M%d I%d V%d VMSA%d U%d asid %" PRIu32 " gpa %#" PRIx64
		 " perms %02x/%02x/%02x/%02x}",
		 assigned, p2m, immut, val, vmsa, in_use, asid, gpa, perms[0], perms[1], perms[2],
		 perms[3]);
}

static void compare_frame(T_t *t, uint64_t f)
{
	rmp_entry_t e;
	uint64_t spa = f * K4;
	bool covered = rmp_lookup(t->rmp, spa, &e);
	PCHECK(covered == (spa < LIMIT), "rmp_lookup(%#" PRIx64 ") coverage %d", spa, covered);
	/* invariant, from the RMP alone: Validated => Assigned (facts §7.6) */
	PCHECK(!e.validated || e.assigned, "SPA %#" PRIx64 " validated but not assigned", spa);
	PCHECK(!e.vmsa || e.assigned, "SPA %#" PRIx64 " VMSA but not assigned", spa);
	const sh_t *s = &t->sh[f];
	bool ok = e.assigned == s->assigned && e.page_2m == s->p2m && e.immutable == s->immut &&
		  e.validated == s->validated && e.vmsa == s->vmsa && e.in_use == s->in_use &&
		  e.asid == s->asid &&
		  (!s->assigned ||
		   (e.gpa == s->gpa && memcmp(e.vmpl_perms, s->perms, sizeof(s->perms)) == 0));
	if (!ok) {
		char a[200], b[200];
		fmt_e(a, sizeof(a), e.assigned, e.page_2m, e.immutable, e.validated, e.vmsa, e.in_use,
		      e.asid, e.gpa, e.vmpl_perms);
		fmt_e(b, sizeof(b), s->assigned, s->p2m, s->immut, s->validated, s->vmsa, s->in_use,
		      s->asid, s->gpa, s->perms);
		pfail("SPA %#" PRIx64 ": rmp_lookup %s, shadow %s", spa, a, b);
	}
}

/* A 2M entry's 512 frames read consistently, from rmp_lookup alone (facts §1.5). */
static void check_region_consistency(T_t *t, uint64_t base)
{
	rmp_entry_t h, e;
	rmp_lookup(t->rmp, base, &h);
	for (uint32_t i = 1; i < SNP_PAGES_PER_2M; i++) {
		uint64_t spa = base + i * K4;
		rmp_lookup(t->rmp, spa, &e);
		if (!h.page_2m) {
			PCHECK(!e.page_2m, "SPA %#" PRIx64 " reads Page_Size 1 but its 2M head %#" PRIx64
					   " does not", spa, base);
			continue;
		}
		PCHECK(e.page_2m && e.assigned == h.assigned && e.asid == h.asid &&
			       e.validated == h.validated && e.vmsa == h.vmsa &&
			       e.immutable == h.immutable && e.in_use == h.in_use &&
			       memcmp(e.vmpl_perms, h.vmpl_perms, sizeof(h.vmpl_perms)) == 0 &&
			       (!h.assigned || e.gpa == h.gpa + i * K4),
		       "2M entry at %#" PRIx64 ": frame %u reads inconsistently", base, i);
	}
}

/* Every validated frame is held by its guest's ledger at its GPA, with its SPA. */
static void check_ledger_frame(T_t *t, uint64_t f)
{
	const sh_t *s = &t->sh[f];
	if (!s->validated)
		return;
	rmp_ledger_rec_t rec;
	bool held = rmp_ledger_get(t->led[s->asid], s->gpa, &rec);
	PCHECK(held && rec.held && rec.spa == f * K4,
	       "validated SPA %#" PRIx64 " (asid %" PRIu32 " gpa %#" PRIx64
	       ") not in the ledger (held %d, spa %#" PRIx64 ")",
	       f * K4, s->asid, s->gpa, held, rec.spa);
	const shl_t *l = &t->shl[s->asid][f];
	PCHECK(l->held && rec.seq == l->seq && rec.vcpu == l->vcpu,
	       "ledger record of gpa %#" PRIx64 ": seq %" PRIu64 " vcpu %" PRIu32
	       ", want seq %" PRIu64 " vcpu %" PRIu32,
	       s->gpa, rec.seq, rec.vcpu, l->seq, l->vcpu);
}

static void check_region(T_t *t, uint64_t base)
{
	for (uint64_t f = base / K4; f < base / K4 + SNP_PAGES_PER_2M; f++) {
		compare_frame(t, f);
		check_ledger_frame(t, f);
	}
	check_region_consistency(t, base);
}

struct lwalk {
	T_t *t;
	uint32_t asid;
	uint64_t n, last_gpa;
};

static bool ledger_visit(uint64_t gpa, const rmp_ledger_rec_t *rec, void *ctx)
{
	struct lwalk *w = ctx;
	T_t *t = w->t;
	PCHECK(w->n == 0 || gpa > w->last_gpa, "ledger foreach out of order at %#" PRIx64, gpa);
	w->last_gpa = gpa;
	w->n++;
	uint64_t spa = gpa - gpa_of(w->asid, 0);
	PCHECK(rec->held && rec->spa == spa && spa < SPACE,
	       "ledger %" PRIu32 " holds gpa %#" PRIx64 " at SPA %#" PRIx64, w->asid, gpa, rec->spa);
	const shl_t *l = &t->shl[w->asid][spa / K4];
	PCHECK(l->held && l->seq == rec->seq && l->vcpu == rec->vcpu,
	       "ledger %" PRIu32 " holds gpa %#" PRIx64 " (seq %" PRIu64
	       ") that the shadow ledger does not (held %d seq %" PRIu64 ")",
	       w->asid, gpa, rec->seq, l->held, l->seq);
	/* a held page whose SPA saw no RMPUPDATE since it was validated is still validated */
	if (t->last_upd[spa / K4] < rec->seq) {
		rmp_entry_t e;
		rmp_lookup(t->rmp, spa, &e);
		PCHECK(e.assigned && e.validated && e.asid == w->asid && e.gpa == gpa,
		       "ledger %" PRIu32 " holds gpa %#" PRIx64 " (seq %" PRIu64
		       "), no RMPUPDATE of SPA %#" PRIx64 " since, but the RMP says assigned %d "
		       "validated %d asid %" PRIu32 " gpa %#" PRIx64,
		       w->asid, gpa, rec->seq, spa, e.assigned, e.validated, e.asid, e.gpa);
	}
	return true;
}

static void check_all(T_t *t)
{
	for (uint32_t r = 0; r < NREG; r++)
		check_region(t, (uint64_t)r * M2);
	for (uint32_t a = 0; a < NASID; a++) {
		struct lwalk w = {.t = t, .asid = a};
		rmp_ledger_foreach(t->led[a], ledger_visit, &w);
		uint64_t want = 0;
		for (uint64_t f = 0; f < NFR; f++)
			want += t->shl[a][f].held;
		PCHECK(w.n == want && rmp_ledger_held_pages(t->led[a]) == want,
		       "ledger %" PRIu32 ": foreach saw %" PRIu64 ", held_pages %" PRIu64
		       ", shadow %" PRIu64,
		       a, w.n, rmp_ledger_held_pages(t->led[a]), want);
	}
}

/* ------------------------------------------------------------------ the ledger feed */

static void ledger_validate(T_t *t, uint32_t asid, uint64_t gpa, uint64_t spa, uint32_t n,
			    uint32_t vcpu)
{
	rmp_ledger_rec_t first = {0};
	uint64_t first_gpa = UINT64_MAX;
	uint64_t c = rmp_ledger_validate(t->led[asid], gpa, n, t->seq, vcpu, spa, &first, &first_gpa);
	uint64_t want = 0, want_gpa = 0;
	const shl_t *want_first = NULL;
	for (uint32_t i = 0; i < n; i++) {
		shl_t *l = &t->shl[asid][spa / K4 + i];
		if (l->held) {
			if (!want++) {
				want_first = l;
				want_gpa = gpa + i * K4;
			}
			/* CF=0 means it was not validated: with the ledger still holding it,
			 * only an RMPUPDATE can have cleared Validated in between */
			PCHECK(t->last_upd[spa / K4 + i] > l->seq,
			       "ledger conflict at gpa %#" PRIx64 " without an RMPUPDATE since seq %" PRIu64,
			       gpa + i * K4, l->seq);
		}
	}
	PCHECK(c == want, "rmp_ledger_validate reported %" PRIu64 " conflicts, want %" PRIu64, c,
	       want);
	if (want) {
		t->conflicts++;
		PCHECK(first_gpa == want_gpa && first.held && first.seq == want_first->seq &&
			       first.vcpu == want_first->vcpu &&
			       first.spa == spa + (want_gpa - gpa),
		       "first conflict gpa %#" PRIx64 " seq %" PRIu64 " vcpu %" PRIu32
		       " spa %#" PRIx64 ", want gpa %#" PRIx64 " seq %" PRIu64,
		       first_gpa, first.seq, first.vcpu, first.spa, want_gpa, want_first->seq);
	}
	for (uint32_t i = 0; i < n; i++)
		t->shl[asid][spa / K4 + i] = (shl_t){.seq = t->seq, .vcpu = vcpu, .held = true};
}

static void ledger_rescind(T_t *t, uint32_t asid, uint64_t gpa, uint64_t spa, uint32_t n)
{
	uint64_t missing = rmp_ledger_rescind(t->led[asid], gpa, n);
	/* a CF=0 rescind had validated pages, and every validated page is held */
	PCHECK(missing == 0, "CF=0 rescind of gpa %#" PRIx64 " x%u: ledger missed %" PRIu64, gpa,
	       n, missing);
	for (uint32_t i = 0; i < n; i++)
		t->shl[asid][spa / K4 + i] = (shl_t){0};
	t->rescinds++;
}

/* ------------------------------------------------------------------ op generation */

static uint64_t pick_frame_spa(T_t *t)
{
	return (uint64_t)below(t, (uint32_t)NFR) * K4;
}

static uint64_t pick_2m_spa(T_t *t)
{
	if (chance(t, 92))
		return (uint64_t)below(t, NREG) * M2;
	return pick_frame_spa(t) | (chance(t, 50) ? K4 : 0); /* mostly misaligned */
}

/* guest ops: mostly a frame (or 2M entry) that some guest owns, so they can succeed */
static uint64_t pick_guest_spa(T_t *t, bool p2m)
{
	for (int i = 0; i < 24 && chance(t, i ? 100 : 85); i++) {
		uint64_t spa = p2m ? (uint64_t)below(t, NREG) * M2 : pick_frame_spa(t);
		const sh_t *e = spa < LIMIT ? shf(t, spa) : NULL;
		if (e && e->assigned && e->asid && e->p2m == p2m)
			return spa;
	}
	return p2m ? pick_2m_spa(t) : pick_frame_spa(t);
}

static uint32_t pick_asid(T_t *t, uint64_t spa)
{
	if (chance(t, 2)) /* ASID 0: the hypervisor's and the AMD-SP's, never a guest's */
		return 0;
	if (spa < LIMIT && chance(t, 85)) {
		const sh_t *e = shf(t, spa);
		if (e->assigned && e->asid)
			return e->asid;
	}
	return 1 + below(t, NASID - 1);
}

/* mostly the right GPA; sometimes a neighbour, another guest's, or misaligned */
static uint64_t pick_gpa(T_t *t, uint32_t asid, uint64_t spa, bool p2m)
{
	uint64_t g = gpa_of(asid, spa);
	switch (below(t, 40)) {
	case 0: return g + K4;
	case 1: return g - K4;
	case 2: return gpa_of(1 + (asid % (NASID - 1)), spa);
	case 3: return g + (p2m ? K4 : 0x800);
	case 4: return g + M2;
	default: return g;
	}
}

static uint8_t pick_perms(T_t *t)
{
	static const uint8_t common[] = {0,
					 VMPL_PERM_READ,
					 VMPL_PERM_READ | VMPL_PERM_WRITE,
					 VMPL_PERM_READ | VMPL_PERM_EXEC_SUPER,
					 VMPL_PERM_EXEC_SUPER,
					 VMPL_PERM_ALL,
					 VMPL_PERM_WRITE /* invalid: write without read */};
	if (chance(t, 5))
		return (uint8_t)rnd(t);
	return common[below(t, sizeof(common))];
}

static op_t gen(T_t *t)
{
	op_t o = {0};
	uint32_t w = below(t, 1000);
	o.vcpu = below(t, 8);
	if (t->unsmash_next) { /* PSMASH then UNSMASH, as a hypervisor's PSC hints do */
		o.kind = K_UNSMASH;
		o.spa = t->unsmash_next - 1;
		t->unsmash_next = 0;
		return o;
	}
	if (w < 330) {
		o.kind = K_RMPUPDATE;
		uint32_t reg = below(t, NREG);
		bool p2m = chance(t, t->flav2m[reg] ? 80 : 4);
		o.spa = reg * M2 + (p2m ? (chance(t, 95) ? 0 : K4 * (1 + below(t, 511)))
					: K4 * below(t, SNP_PAGES_PER_2M));
		o.st.page_2m = p2m;
		uint32_t v = below(t, 1000);
		if (v < 600) { /* make private, at the guest's GPA for this SPA */
			o.st.assigned = true;
			o.st.asid = 1 + below(t, NASID - 1);
			o.st.gpa = gpa_of(o.st.asid, o.spa & ~MASK4K);
		} else if (v < 940) {
			/* make shared */
		} else if (v < 943) { /* AMD-SP page: rare, it can never be undone */
			o.st.assigned = true;
			o.st.immutable = true;
		} else if (v < 970) { /* executed by a guest */
			o.asid = 1 + below(t, NASID - 1);
			o.st.assigned = chance(t, 50);
			if (o.st.assigned) {
				o.st.asid = o.asid;
				o.st.gpa = gpa_of(o.asid, o.spa & ~MASK4K);
			}
		} else { /* invalid descriptors: FAIL_INPUT */
			o.st.assigned = true;
			o.st.asid = 1 + below(t, NASID - 1);
			o.st.gpa = gpa_of(o.st.asid, o.spa & ~MASK4K);
			switch (below(t, 5)) {
			case 0: o.st.gpa += 0x10; break;
			case 1: o.st.gpa = GPA_LIMIT + o.spa; break;
			case 2: o.st.asid = RMP_ASID_MAX + 1; break;
			case 3: o.st.asid = 0; break;
			default: o.spa += 0x800; break;
			}
		}
	} else if (w < 380) {
		o.kind = K_PSMASH;
		o.spa = pick_2m_spa(t);
		o.asid = chance(t, 3) ? 1 : 0;
	} else if (w < 420) {
		o.kind = K_UNSMASH;
		o.spa = pick_2m_spa(t);
		o.asid = chance(t, 3) ? 2 : 0;
	} else if (w < 440) {
		o.kind = K_LAUNCH;
		o.p2m = chance(t, 20);
		o.spa = pick_guest_spa(t, o.p2m);
		o.asid = pick_asid(t, o.spa);
		o.gpa = pick_gpa(t, o.asid, o.spa & ~MASK4K, o.p2m);
		o.flag = !o.p2m && chance(t, 20);
	} else if (w < 720) {
		o.kind = K_PVALIDATE;
		o.p2m = chance(t, 25);
		o.spa = pick_guest_spa(t, o.p2m);
		o.asid = pick_asid(t, o.spa);
		o.vmpl = chance(t, 3) ? 1 + below(t, 3) : 0;
		o.gpa = pick_gpa(t, o.asid, o.spa & ~MASK4K, o.p2m);
		o.flag = chance(t, 65);
	} else if (w < 830) {
		o.kind = K_RMPADJUST;
		o.p2m = chance(t, 20);
		o.spa = pick_guest_spa(t, o.p2m);
		o.asid = pick_asid(t, o.spa);
		o.vmpl = chance(t, 60) ? 0 : below(t, SNP_NUM_VMPLS);
		o.gpa = pick_gpa(t, o.asid, o.spa & ~MASK4K, o.p2m);
		uint64_t target = chance(t, 90) ? o.vmpl + 1 + below(t, 3) : below(t, 6);
		o.rdx = target | ((uint64_t)pick_perms(t) << 8);
		if (chance(t, 10))
			o.rdx |= RMPADJUST_VMSA_PAGE_BIT;
		if (chance(t, 2))
			o.rdx |= 1ull << (17 + below(t, 47));
	} else if (w < 845) {
		/* set a frame in use, or clear one that is, so that marks do not pile up */
		o.kind = K_INUSE;
		o.flag = t->ninuse == 0 || (t->ninuse < 8 && chance(t, 40));
		if (o.flag) {
			o.spa = pick_frame_spa(t) % LIMIT;
			t->inuse[t->ninuse++] = o.spa;
		} else {
			uint32_t i = below(t, t->ninuse);
			o.spa = t->inuse[i];
			t->inuse[i] = t->inuse[--t->ninuse];
		}
	} else if (w < 945) {
		o.kind = K_ACCESS;
		o.spa = pick_guest_spa(t, false);
		o.asid = pick_asid(t, o.spa);
		o.vmpl = chance(t, 60) ? 0 : below(t, SNP_NUM_VMPLS);
		o.p2m = chance(t, 25);
		o.gpa = pick_gpa(t, o.asid, o.spa, false) + below(t, (uint32_t)K4);
		o.access = (rmp_access_t)below(t, 3);
		o.flag = chance(t, 80);
	} else if (w < 951) {
		o.kind = K_RECLAIM;
		o.spa = (uint64_t)below(t, NREG) * M2;
	} else {
		o.kind = K_HOSTW;
		o.spa = pick_frame_spa(t);
		o.p2m = chance(t, 30);
	}
	return o;
}

static rmp_result_t exec(T_t *t, const op_t *o)
{
	switch (o->kind) {
	case K_RMPUPDATE: return rmp_rmpupdate(t->rmp, o->asid, o->spa, &o->st);
	case K_PSMASH: return rmp_psmash(t->rmp, o->asid, o->spa);
	case K_UNSMASH: return rmp_unsmash(t->rmp, o->asid, o->spa);
	case K_LAUNCH: return rmp_launch_update(t->rmp, o->spa, o->asid, o->gpa, o->p2m, o->flag);
	case K_PVALIDATE:
		return rmp_pvalidate(t->rmp, o->asid, o->vmpl, o->gpa, o->spa, o->p2m, o->flag);
	case K_RMPADJUST:
		return rmp_rmpadjust(t->rmp, o->asid, o->vmpl, o->gpa, o->spa, o->p2m, o->rdx);
	case K_INUSE:
		PCHECK(rmp_set_in_use(t->rmp, o->spa, o->flag), "rmp_set_in_use(%#" PRIx64 ") failed",
		       o->spa);
		return (rmp_result_t){0};
	case K_ACCESS:
		return rmp_check_access(t->rmp, o->asid, o->vmpl, o->gpa, o->spa, o->p2m, o->access,
					o->flag);
	case K_HOSTW: return rmp_check_host_write(t->rmp, o->spa, o->p2m);
	default: return (rmp_result_t){0};
	}
}

static void describe_op(const op_t *o, char *buf, size_t len)
{
	switch (o->kind) {
	case K_RMPUPDATE:
		snprintf(buf, len,
			 "RMPUPDATE caller %" PRIu32 " spa %#" PRIx64 " {%s assigned %d imm %d asid %" PRIu32
			 " gpa %#" PRIx64 "}",
			 o->asid, o->spa, o->st.page_2m ? "2M" : "4K", o->st.assigned, o->st.immutable,
			 o->st.asid, o->st.gpa);
		break;
	case K_PSMASH:
	case K_UNSMASH:
	case K_HOSTW:
		snprintf(buf, len, "%s caller %" PRIu32 " spa %#" PRIx64 "%s", kind_names[o->kind],
			 o->asid, o->spa, o->kind == K_HOSTW && o->p2m ? " 2M" : "");
		break;
	case K_INUSE:
		snprintf(buf, len, "SET_IN_USE spa %#" PRIx64 " %d", o->spa, o->flag);
		break;
	default:
		snprintf(buf, len,
			 "%s asid %" PRIu32 " vmpl %" PRIu32 " gpa %#" PRIx64 " spa %#" PRIx64
			 " %s flag %d rdx %#" PRIx64 " access %d",
			 kind_names[o->kind], o->asid, o->vmpl, o->gpa, o->spa, o->p2m ? "2M" : "4K",
			 o->flag, o->rdx, (int)o->access);
		break;
	}
}

static int outcome_index(rmp_result_t r)
{
	switch (r.fault) {
	case RMP_FAULT_NONE:
		if (r.ret == 0)
			return r.cf ? OUT_NOUPDATE : OUT_SUCCESS;
		return r.ret < 8 ? OUT_RET1 + (int)r.ret - 1 : OUT_RET1 + 7;
	case RMP_FAULT_NPF:
		return (r.error_code & PFERR_GUEST_SIZEM)  ? OUT_NPF_SIZEM
		       : (r.error_code & PFERR_GUEST_VMPL) ? OUT_NPF_VMPL
							   : OUT_NPF;
	case RMP_FAULT_VC: return OUT_VC;
	case RMP_FAULT_GP: return OUT_GP;
	default: return OUT_HOSTPF;
	}
}

/* One instruction: predict, execute, compare, update the shadow and the ledger. */
static void run_op(T_t *t, const op_t *op)
{
	op_t o = *op;
	t->seq++;
	describe_op(&o, t->ring[t->opi % 16], sizeof(t->ring[0]));
	pred_t p = predict(t, &o);

	/* snapshot the op's region: a failure must leave it as it was */
	uint64_t base = o.spa & ~MASK2M;
	for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++)
		rmp_lookup(t->rmp, base + i * K4, &t->snap[i]);

	rmp_result_t r = exec(t, &o);
	char got[128], want[160];
	snprintf(got, sizeof(got), "%s (ret %" PRIu32 " cf %u code %#" PRIx64 ")",
		 rmp_result_to_string(r), r.ret, r.cf, r.error_code);
	size_t used = strlen(t->ring[t->opi % 16]);
	snprintf(t->ring[t->opi % 16] + used, sizeof(t->ring[0]) - used, " -> %s", got);
	if (!accepted(&p, r)) {
		snprintf(want, sizeof(want), "%s (ret %" PRIu32 " cf %u code %#" PRIx64 ")%s%s%s",
			 rmp_result_to_string(p.r), p.r.ret, p.r.cf, p.r.error_code,
			 p.alt_rets ? " or another failing condition's code" : "",
			 p.alt_success ? " or SUCCESS" : "", p.any_fail ? " or any failure" : "");
		pfail("%s: got %s, want %s", kind_names[o.kind], got, want);
	}
	t->outcomes[o.kind][outcome_index(r)]++;

	bool success = rmp_ok(r);
	if (success)
		apply(t, &o, r);
	if (success && o.kind == K_PSMASH && chance(t, 30))
		t->unsmash_next = o.spa + 1;
	if (!success || o.kind == K_ACCESS || o.kind == K_HOSTW) {
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M; i++) {
			rmp_entry_t e;
			rmp_lookup(t->rmp, base + i * K4, &e);
			PCHECK(memcmp(&e, &t->snap[i], sizeof(e)) == 0,
			       "%s did not succeed but changed SPA %#" PRIx64, kind_names[o.kind],
			       base + i * K4);
		}
	}

	/* the ledger records what the guest (and launch) did */
	if (success && o.kind == K_PVALIDATE && !r.cf) {
		uint32_t n = o.p2m ? SNP_PAGES_PER_2M : 1;
		if (o.flag)
			ledger_validate(t, o.asid, o.gpa, o.spa, n, o.vcpu);
		else
			ledger_rescind(t, o.asid, o.gpa, o.spa, n);
	}
	if (success && o.kind == K_LAUNCH)
		ledger_validate(t, o.asid, o.gpa, o.spa, o.p2m ? SNP_PAGES_PER_2M : 1, 0xFFFF);
}

/*
 * The hypervisor takes a region back: RMPUPDATE shared of the 2M entry, or of
 * every assigned 4K entry; each RMPUPDATE is a checked op of its own. Immutable
 * and in-use entries stay (and are predicted to fail).
 */
static void reclaim(T_t *t, uint64_t base)
{
	if (base >= LIMIT)
		return;
	const sh_t *h = shf(t, base);
	op_t o = {.kind = K_RMPUPDATE, .spa = base};
	if (h->p2m) {
		o.st.page_2m = true;
		run_op(t, &o);
	} else {
		for (uint32_t i = 0; i < SNP_PAGES_PER_2M && base + i * K4 < LIMIT; i++) {
			if (!shf(t, base + i * K4)->assigned)
				continue;
			o.spa = base + i * K4;
			run_op(t, &o);
		}
	}
	t->reclaims++;
}

static void step(T_t *t)
{
	op_t o = gen(t);
	if (o.kind == K_RECLAIM) {
		snprintf(t->ring[t->opi % 16], sizeof(t->ring[0]), "RECLAIM %#" PRIx64, o.spa);
		reclaim(t, o.spa);
	} else {
		run_op(t, &o);
	}
	check_region(t, o.spa & ~MASK2M);
	if (t->opi % FULL_EVERY == 0)
		check_all(t);
}

static void epoch_start(T_t *t)
{
	rmp_free(t->rmp);
	t->rmp = rmp_new(LIMIT);
	assert_non_null(t->rmp);
	memset(t->sh, 0, NFR * sizeof(*t->sh));
	t->ninuse = 0;
	for (uint32_t r = 0; r < NREG; r++)
		t->flav2m[r] = chance(t, 50);
	for (uint32_t a = 0; a < NASID; a++) {
		rmp_ledger_free(t->led[a]);
		t->led[a] = rmp_ledger_new();
		t->unsmash_next = 0;
		assert_non_null(t->led[a]);
		memset(t->shl[a], 0, NFR * sizeof(*t->shl[a]));
	}
	/* last_upd keeps growing seqs: older values are all below any new event */
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	return *end ? dflt : v;
}

static void test_random_sequences(void **state)
{
	(void)state;
	T_t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	g_t = t;
	t->seed = env_u64("SNPSIM_SEED", DEFAULT_SEED);
	t->nops = env_u64("SNPSIM_PROP_OPS", DEFAULT_OPS);
	t->rng = t->seed;
	t->sh = calloc(NFR, sizeof(*t->sh));
	t->last_upd = calloc(NFR, sizeof(*t->last_upd));
	t->snap = calloc(SNP_PAGES_PER_2M, sizeof(*t->snap));
	assert_non_null(t->sh);
	assert_non_null(t->last_upd);
	assert_non_null(t->snap);
	for (uint32_t a = 0; a < NASID; a++) {
		t->shl[a] = calloc(NFR, sizeof(*t->shl[a]));
		assert_non_null(t->shl[a]);
	}
	printf("test_rmp_property: seed %#" PRIx64 ", %" PRIu64 " ops\n", t->seed, t->nops);

	for (t->opi = 0; t->opi < t->nops; t->opi++) {
		if (t->opi % EPOCH_OPS == 0) {
			if (t->opi)
				check_all(t);
			t->epoch = t->opi / EPOCH_OPS;
			epoch_start(t);
		}
		step(t);
	}
	check_all(t);

	printf("test_rmp_property: outcomes (SUCCESS CF1 FAIL_1..7 NPF NPF_SIZEM NPF_VMPL VC GP HOST_PF):\n");
	for (int k = 0; k < K_NKINDS; k++) {
		printf("  %-10s", kind_names[k]);
		for (int i = 0; i < OUT_N; i++)
			printf(" %6" PRIu64, t->outcomes[k][i]);
		printf("\n");
	}
	printf("  ledger conflicts %" PRIu64 ", rescinds %" PRIu64 ", region reclaims %" PRIu64 "\n",
	       t->conflicts, t->rescinds, t->reclaims);

	/* The generator must actually reach the interesting outcomes; a run that does
	 * not would pass vacuously. Only checked for runs long enough to expect them. */
	if (t->nops >= DEFAULT_OPS / 2) {
		static const struct {
			kind_t k;
			int out;
			const char *what;
		} need[] = {
			{K_RMPUPDATE, OUT_SUCCESS, "RMPUPDATE SUCCESS"},
			{K_RMPUPDATE, OUT_RET1 + SNP_RET_FAIL_INPUT - 1, "RMPUPDATE FAIL_INPUT"},
			{K_RMPUPDATE, OUT_RET1 + SNP_RET_FAIL_PERMISSION - 1, "RMPUPDATE FAIL_PERMISSION"},
			{K_RMPUPDATE, OUT_RET1 + SNP_RET_FAIL_INUSE - 1, "RMPUPDATE FAIL_INUSE"},
			{K_RMPUPDATE, OUT_RET1 + SNP_RET_FAIL_OVERLAP - 1, "RMPUPDATE FAIL_OVERLAP"},
			{K_PSMASH, OUT_SUCCESS, "PSMASH SUCCESS"},
			{K_PSMASH, OUT_RET1 + SNP_RET_FAIL_INUSE - 1, "PSMASH FAIL_INUSE"},
			{K_PSMASH, OUT_RET1 + SNP_RET_FAIL_UNSUITABLE - 1, "PSMASH code 7"},
			{K_UNSMASH, OUT_SUCCESS, "unsmash SUCCESS"},
			{K_UNSMASH, OUT_RET1 + SNP_RET_FAIL_INPUT - 1, "unsmash FAIL_INPUT"},
			{K_LAUNCH, OUT_SUCCESS, "LAUNCH_UPDATE SUCCESS"},
			{K_PVALIDATE, OUT_SUCCESS, "PVALIDATE CF=0"},
			{K_PVALIDATE, OUT_NOUPDATE, "PVALIDATE CF=1"},
			{K_PVALIDATE, OUT_RET1 + SNP_RET_FAIL_INPUT - 1, "PVALIDATE FAIL_INPUT"},
			{K_PVALIDATE, OUT_RET1 + SNP_RET_FAIL_SIZEMISMATCH - 1, "PVALIDATE SIZEMISMATCH"},
			{K_PVALIDATE, OUT_NPF, "PVALIDATE NPF RMP"},
			{K_PVALIDATE, OUT_NPF_SIZEM, "PVALIDATE NPF SIZEM"},
			{K_PVALIDATE, OUT_GP, "PVALIDATE #GP"},
			{K_RMPADJUST, OUT_SUCCESS, "RMPADJUST SUCCESS"},
			{K_RMPADJUST, OUT_RET1 + SNP_RET_FAIL_PERMISSION - 1, "RMPADJUST FAIL_PERMISSION"},
			{K_RMPADJUST, OUT_RET1 + SNP_RET_FAIL_INPUT - 1, "RMPADJUST FAIL_INPUT"},
			{K_RMPADJUST, OUT_NPF_SIZEM, "RMPADJUST NPF SIZEM"},
			{K_ACCESS, OUT_SUCCESS, "access pass"},
			{K_ACCESS, OUT_VC, "access #VC"},
			{K_ACCESS, OUT_NPF_SIZEM, "access NPF SIZEM"},
			{K_ACCESS, OUT_NPF_VMPL, "access NPF VMPL"},
			{K_ACCESS, OUT_NPF, "access NPF RMP"},
			{K_HOSTW, OUT_HOSTPF, "host write #PF"},
		};
		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			PCHECK(t->outcomes[need[i].k][need[i].out] > 0,
			       "generator never produced %s in %" PRIu64 " ops", need[i].what, t->nops);
		PCHECK(t->conflicts > 0 && t->rescinds > 0,
		       "ledger saw %" PRIu64 " conflicts and %" PRIu64 " rescinds", t->conflicts,
		       t->rescinds);
	}

	for (uint32_t a = 0; a < NASID; a++) {
		rmp_ledger_free(t->led[a]);
		free(t->shl[a]);
	}
	rmp_free(t->rmp);
	free(t->sh);
	free(t->last_upd);
	free(t->snap);
	free(t);
	g_t = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sequences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
