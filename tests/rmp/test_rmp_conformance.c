/* SPDX-License-Identifier: MIT */
/*
 * Table-driven conformance tests of rmp/ against ../shared/spec/snp-facts.md.
 *
 * Every row names the facts-sheet section it checks and records __FILE__/__LINE__.
 * A row builds an RMP state with a list of setup steps (each of which must
 * succeed), runs one instruction or access check, and asserts
 *   - the architectural outcome (fault kind, EAX, CF, #NPF error-code bits), and
 *   - the resulting entries, read back with rmp_lookup.
 * Independently of the row's own checks, every row also asserts that
 *   - a failed instruction (non-SUCCESS EAX or a fault) changed no entry at all, and
 *   - no instruction changed an entry outside the 2 MiB region of its operand.
 *
 * Where the facts sheet says UNCONFIRMED, rows test what rmp.c documents at that
 * decision and say "(rmp.c)" in their name.
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
#define NREGIONS 16u
#define LIMIT ((uint64_t)NREGIONS * M2) /* default SPA coverage: 32 MiB */
#define NFRAMES (LIMIT / K4)
#define BEYOND LIMIT /* first SPA outside the default coverage */

/* SPA of 2 MiB region n (+ frame f); GPAs live elsewhere (3 GiB up) so a model
 * that confuses GPA and SPA fails. */
#define R(n) ((uint64_t)(n) * M2)
#define RF(n, f) (R(n) + (uint64_t)(f) * K4)
#define G(n) (0xC0000000ull + (uint64_t)(n) * M2)
#define GF(n, f) (G(n) + (uint64_t)(f) * K4)

#define A1 1u
#define A2 2u

#define P_R VMPL_PERM_READ
#define P_W VMPL_PERM_WRITE
#define P_XU VMPL_PERM_EXEC_USER
#define P_XS VMPL_PERM_EXEC_SUPER
#define P_ALL VMPL_PERM_ALL

/* RMPADJUST RDX: target VMPL [7:0], permissions [15:8], VMSA [16] (facts §2.3) */
#define RDX(target, perms, vmsa)                                                            \
	((uint64_t)(target) | ((uint64_t)(perms) << RMPADJUST_PERM_SHIFT) |                  \
	 ((vmsa) ? RMPADJUST_VMSA_PAGE_BIT : 0))

/* ------------------------------------------------------------------ the setup DSL */

typedef enum op_kind {
	OP_NONE = 0,
	OP_RMPUPDATE,
	OP_RMPUPDATE_RUN, /* n consecutive 4K private RMPUPDATEs, GPAs consecutive */
	OP_PSMASH,
	OP_UNSMASH,
	OP_LAUNCH,
	OP_PVALIDATE,
	OP_PVALIDATE_RUN, /* n consecutive 4K PVALIDATEs */
	OP_RMPADJUST,
	OP_SET_IN_USE,
	OP_ACCESS,
	OP_HOST_WRITE,
} op_kind_t;

typedef struct op {
	op_kind_t kind;
	uint32_t asid; /* guest ASID, or the caller ASID of a host instruction */
	uint32_t vmpl;
	uint64_t spa, gpa;
	bool page_2m; /* operand size / NPT size / host mapping size */
	bool flag;    /* validate / VMSA (launch) / in use / C-bit */
	uint64_t rdx;
	uint32_t n;
	rmp_access_t access;
	rmp_state_t st;
} op_t;

#define UPD_AS(caller, spa_, ...)                                                            \
	{.kind = OP_RMPUPDATE, .asid = (caller), .spa = (spa_), .st = {__VA_ARGS__}}
#define UPD(spa_, ...) UPD_AS(0, spa_, __VA_ARGS__)
#define PRIV(spa_, asid_, gpa_) UPD(spa_, .gpa = (gpa_), .asid = (asid_), .assigned = true)
#define PRIV2M(spa_, asid_, gpa_)                                                            \
	UPD(spa_, .gpa = (gpa_), .asid = (asid_), .assigned = true, .page_2m = true)
#define SHARE(spa_) UPD(spa_, .assigned = false)
#define SHARE2M(spa_) UPD(spa_, .page_2m = true)
#define FW(spa_) UPD(spa_, .assigned = true, .immutable = true)
#define FW2M(spa_) UPD(spa_, .assigned = true, .immutable = true, .page_2m = true)
#define PRIV_RUN(spa_, asid_, gpa_, n_)                                                      \
	{.kind = OP_RMPUPDATE_RUN, .spa = (spa_), .asid = (asid_), .gpa = (gpa_), .n = (n_)}

#define SMASH_AS(caller, spa_) {.kind = OP_PSMASH, .asid = (caller), .spa = (spa_)}
#define SMASH(spa_) SMASH_AS(0, spa_)
#define UNSMASH_AS(caller, spa_) {.kind = OP_UNSMASH, .asid = (caller), .spa = (spa_)}
#define UNSMASH(spa_) UNSMASH_AS(0, spa_)

#define LAUNCH_X(spa_, asid_, gpa_, p2m, vmsa_)                                              \
	{.kind = OP_LAUNCH,                                                                  \
	 .spa = (spa_),                                                                      \
	 .asid = (asid_),                                                                    \
	 .gpa = (gpa_),                                                                      \
	 .page_2m = (p2m),                                                                   \
	 .flag = (vmsa_)}
#define LAUNCH(spa_, asid_, gpa_) LAUNCH_X(spa_, asid_, gpa_, false, false)
#define LAUNCH2M(spa_, asid_, gpa_) LAUNCH_X(spa_, asid_, gpa_, true, false)
#define LAUNCH_VMSA(spa_, asid_, gpa_) LAUNCH_X(spa_, asid_, gpa_, false, true)

#define PVAL(asid_, vmpl_, gpa_, spa_, p2m, v)                                               \
	{.kind = OP_PVALIDATE,                                                               \
	 .asid = (asid_),                                                                    \
	 .vmpl = (vmpl_),                                                                    \
	 .gpa = (gpa_),                                                                      \
	 .spa = (spa_),                                                                      \
	 .page_2m = (p2m),                                                                   \
	 .flag = (v)}
#define VAL(asid_, gpa_, spa_) PVAL(asid_, 0, gpa_, spa_, false, true)
#define VAL2M(asid_, gpa_, spa_) PVAL(asid_, 0, gpa_, spa_, true, true)
#define RESC(asid_, gpa_, spa_) PVAL(asid_, 0, gpa_, spa_, false, false)
#define RESC2M(asid_, gpa_, spa_) PVAL(asid_, 0, gpa_, spa_, true, false)
#define VAL_RUN(asid_, gpa_, spa_, n_)                                                       \
	{.kind = OP_PVALIDATE_RUN, .asid = (asid_), .gpa = (gpa_), .spa = (spa_), .n = (n_)}

#define ADJ(asid_, vmpl_, gpa_, spa_, p2m, rdx_)                                             \
	{.kind = OP_RMPADJUST,                                                               \
	 .asid = (asid_),                                                                    \
	 .vmpl = (vmpl_),                                                                    \
	 .gpa = (gpa_),                                                                      \
	 .spa = (spa_),                                                                      \
	 .page_2m = (p2m),                                                                   \
	 .rdx = (rdx_)}

#define INUSE(spa_) {.kind = OP_SET_IN_USE, .spa = (spa_), .flag = true}

#define ACC(asid_, vmpl_, gpa_, spa_, npt2m, acc, c)                                         \
	{.kind = OP_ACCESS,                                                                  \
	 .asid = (asid_),                                                                    \
	 .vmpl = (vmpl_),                                                                    \
	 .gpa = (gpa_),                                                                      \
	 .spa = (spa_),                                                                      \
	 .page_2m = (npt2m),                                                                 \
	 .access = (acc),                                                                    \
	 .flag = (c)}
#define RD RMP_ACCESS_READ
#define WR RMP_ACCESS_WRITE
#define FX RMP_ACCESS_FETCH
/* private (C=1) 4K-NPT access by VMPL0 */
#define PRD(asid_, gpa_, spa_) ACC(asid_, 0, gpa_, spa_, false, RD, true)

#define HOSTW(spa_, map2m) {.kind = OP_HOST_WRITE, .spa = (spa_), .page_2m = (map2m)}

/* ------------------------------------------------------------------ expectations */

typedef enum xkind {
	XK_RET = 1, /* no fault; EAX = ret; CF checked unless cf < 0 */
	XK_NPF,     /* #VMEXIT(NPF): (error_code & npf_mask) == npf_bits */
	XK_VC,      /* #VC 0x404 */
	XK_GP,
	XK_HOST_PF,
} xkind_t;

typedef struct expect {
	xkind_t kind;
	uint32_t ret;
	int8_t cf;
	uint64_t npf_bits;
	uint64_t npf_mask;
} expect_t;

#define NPF_CORE (PFERR_RMP | PFERR_GUEST_SIZEM | PFERR_GUEST_VMPL)
#define NPF_ACC (PFERR_WRITE | PFERR_FETCH | PFERR_GUEST_ENC)

#define X_OK {.kind = XK_RET, .ret = SNP_RET_SUCCESS, .cf = 0}
#define X_NOUPDATE {.kind = XK_RET, .ret = SNP_RET_SUCCESS, .cf = 1}
/* SUCCESS where the facts sheet gives CF no meaning (host instructions, RMPADJUST) */
#define X_DONE {.kind = XK_RET, .ret = SNP_RET_SUCCESS, .cf = -1}
#define X_RET(r) {.kind = XK_RET, .ret = (r), .cf = -1}
#define X_INPUT X_RET(SNP_RET_FAIL_INPUT)
#define X_PERM X_RET(SNP_RET_FAIL_PERMISSION)
#define X_INUSE X_RET(SNP_RET_FAIL_INUSE)
#define X_OVERLAP X_RET(SNP_RET_FAIL_OVERLAP)
#define X_SIZEMISMATCH X_RET(SNP_RET_FAIL_SIZEMISMATCH)
#define X_UNSUITABLE X_RET(SNP_RET_FAIL_UNSUITABLE)
/* NPF with exactly these of RMP/SIZEM/VMPL */
#define X_NPF(bits) {.kind = XK_NPF, .npf_bits = (bits), .npf_mask = NPF_CORE}
/* ... and, for guest accesses, exactly these of W/ID/ENC (facts §2.5 bit table) */
#define X_NPF_ACC(bits, acc) {.kind = XK_NPF, .npf_bits = (bits) | (acc), .npf_mask = NPF_CORE | NPF_ACC}
#define X_VC {.kind = XK_VC}
#define X_GP {.kind = XK_GP}
#define X_HOST_PF {.kind = XK_HOST_PF}

#define NPF_RMP PFERR_RMP
#define NPF_SIZEM (PFERR_RMP | PFERR_GUEST_SIZEM)
#define NPF_VMPL (PFERR_RMP | PFERR_GUEST_VMPL)
#define ENC PFERR_GUEST_ENC

/* ------------------------------------------------------------------ entry checks */

/*
 * n frames from spa must read as e, the GPA advancing 4 KiB per frame. For an
 * assigned e, vmpl_perms[0] is implied VMPL_PERM_ALL (facts §1.2) and every field
 * is compared; for an unassigned e, GPA and permissions are not architectural and
 * are skipped.
 */
typedef struct echk {
	uint32_t n;
	uint64_t spa;
	rmp_entry_t e;
} echk_t;

#define E_HV(n_, spa_, ...) {.n = (n_), .spa = (spa_), .e = {.assigned = false, __VA_ARGS__}}
#define E_HV2M(spa_) E_HV(512, spa_, .page_2m = true)
#define E_PRIV(n_, spa_, asid_, gpa_, val, ...)                                              \
	{.n = (n_),                                                                          \
	 .spa = (spa_),                                                                      \
	 .e = {.gpa = (gpa_), .asid = (asid_), .assigned = true, .validated = (val), __VA_ARGS__}}
#define E_PRIV2M(spa_, asid_, gpa_, val, ...)                                                \
	E_PRIV(512, spa_, asid_, gpa_, val, .page_2m = true, __VA_ARGS__)
#define E_FW(n_, spa_, ...)                                                                  \
	{.n = (n_), .spa = (spa_), .e = {.assigned = true, .immutable = true, __VA_ARGS__}}
#define PERMS(p1, p2, p3) .vmpl_perms = {0, (p1), (p2), (p3)}

/* ------------------------------------------------------------------ rows */

#define MAX_SETUP 8
#define MAX_CHECK 6

typedef struct row {
	const char *sec;
	const char *name;
	const char *file;
	int line;
	uint64_t limit; /* SPA coverage; 0 = LIMIT */
	op_t setup[MAX_SETUP];
	op_t op;
	expect_t x;
	echk_t after[MAX_CHECK];
} row_t;

#define ROW(sec_, name_, ...)                                                                \
	{.sec = (sec_), .name = (name_), .file = __FILE__, .line = __LINE__, __VA_ARGS__}

/* ------------------------------------------------------------------ the runner */

typedef struct runner {
	const row_t *row;
	int failed; /* checks failed in this row */
	rmp_entry_t *before;
	rmp_entry_t *after;
} runner_t;

static const char *op_name(op_kind_t k)
{
	switch (k) {
	case OP_RMPUPDATE: return "RMPUPDATE";
	case OP_RMPUPDATE_RUN: return "RMPUPDATE(run)";
	case OP_PSMASH: return "PSMASH";
	case OP_UNSMASH: return "UNSMASH";
	case OP_LAUNCH: return "LAUNCH_UPDATE";
	case OP_PVALIDATE: return "PVALIDATE";
	case OP_PVALIDATE_RUN: return "PVALIDATE(run)";
	case OP_RMPADJUST: return "RMPADJUST";
	case OP_SET_IN_USE: return "SET_IN_USE";
	case OP_ACCESS: return "ACCESS";
	case OP_HOST_WRITE: return "HOST_WRITE";
	default: return "?";
	}
}

static void row_fail(runner_t *rn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void row_fail(runner_t *rn, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("%s:%d: [%s] %s: %s\n", rn->row->file, rn->row->line, rn->row->sec,
		    rn->row->name, msg);
	rn->failed++;
}

static void describe(rmp_result_t r, char *buf, size_t len)
{
	char bits[128];
	snprintf(buf, len, "%s (fault %u ret %" PRIu32 " cf %u code %#" PRIx64 " %s)",
		 rmp_result_to_string(r), r.fault, r.ret, r.cf, r.error_code,
		 r.fault == RMP_FAULT_NPF ? rmp_npf_bits_to_string(r.error_code, bits, sizeof(bits))
					  : "");
}

static rmp_result_t exec_op(rmp_t *rmp, const op_t *op)
{
	switch (op->kind) {
	case OP_RMPUPDATE: return rmp_rmpupdate(rmp, op->asid, op->spa, &op->st);
	case OP_RMPUPDATE_RUN:
		for (uint32_t i = 0; i < op->n; i++) {
			rmp_state_t st = {.gpa = op->gpa + i * K4, .asid = op->asid, .assigned = true};
			rmp_result_t r = rmp_rmpupdate(rmp, 0, op->spa + i * K4, &st);
			if (!rmp_ok(r))
				return r;
		}
		return (rmp_result_t){0};
	case OP_PSMASH: return rmp_psmash(rmp, op->asid, op->spa);
	case OP_UNSMASH: return rmp_unsmash(rmp, op->asid, op->spa);
	case OP_LAUNCH:
		return rmp_launch_update(rmp, op->spa, op->asid, op->gpa, op->page_2m, op->flag);
	case OP_PVALIDATE:
		return rmp_pvalidate(rmp, op->asid, op->vmpl, op->gpa, op->spa, op->page_2m,
				     op->flag);
	case OP_PVALIDATE_RUN:
		for (uint32_t i = 0; i < op->n; i++) {
			rmp_result_t r = rmp_pvalidate(rmp, op->asid, 0, op->gpa + i * K4,
						       op->spa + i * K4, false, true);
			if (!rmp_ok(r) || r.cf)
				return r;
		}
		return (rmp_result_t){0};
	case OP_RMPADJUST:
		return rmp_rmpadjust(rmp, op->asid, op->vmpl, op->gpa, op->spa, op->page_2m,
				     op->rdx);
	case OP_SET_IN_USE:
		return rmp_set_in_use(rmp, op->spa, op->flag) ? (rmp_result_t){0}
							      : (rmp_result_t){.ret = 0xDEAD};
	case OP_ACCESS:
		return rmp_check_access(rmp, op->asid, op->vmpl, op->gpa, op->spa, op->page_2m,
					op->access, op->flag);
	case OP_HOST_WRITE: return rmp_check_host_write(rmp, op->spa, op->page_2m);
	default: return (rmp_result_t){.ret = 0xDEAD};
	}
}

static bool matches(const expect_t *x, rmp_result_t r)
{
	switch (x->kind) {
	case XK_RET:
		return r.fault == RMP_FAULT_NONE && r.ret == x->ret && (x->cf < 0 || r.cf == x->cf);
	case XK_NPF: return r.fault == RMP_FAULT_NPF && (r.error_code & x->npf_mask) == x->npf_bits;
	case XK_VC: return r.fault == RMP_FAULT_VC && r.error_code == SVM_EXIT_VMPL_NOT_VALIDATED;
	case XK_GP: return r.fault == RMP_FAULT_GP;
	case XK_HOST_PF: return r.fault == RMP_FAULT_HOST_PF && (r.error_code & PF_HOST_RMP);
	}
	return false;
}

static void describe_x(const expect_t *x, char *buf, size_t len)
{
	char bits[128];
	switch (x->kind) {
	case XK_RET:
		snprintf(buf, len, "%s cf=%d", rmp_ret_to_string(x->ret), x->cf);
		return;
	case XK_NPF:
		snprintf(buf, len, "NPF with exactly [%s] of [%s]",
			 rmp_npf_bits_to_string(x->npf_bits, bits, sizeof(bits)),
			 x->npf_mask == NPF_CORE ? "RMP|SIZEM|VMPL" : "RMP|SIZEM|VMPL|W|ID|ENC");
		return;
	case XK_VC: snprintf(buf, len, "#VC 0x404"); return;
	case XK_GP: snprintf(buf, len, "#GP"); return;
	case XK_HOST_PF: snprintf(buf, len, "host #PF with bit 31"); return;
	}
}

static void snapshot(rmp_t *rmp, rmp_entry_t *out, uint64_t nframes)
{
	for (uint64_t f = 0; f < nframes; f++)
		rmp_lookup(rmp, f * K4, &out[f]);
}

static bool entry_eq(const rmp_entry_t *a, const rmp_entry_t *b)
{
	return a->assigned == b->assigned && a->page_2m == b->page_2m &&
	       a->immutable == b->immutable && a->validated == b->validated &&
	       a->vmsa == b->vmsa && a->in_use == b->in_use && a->asid == b->asid &&
	       a->gpa == b->gpa && memcmp(a->vmpl_perms, b->vmpl_perms, sizeof(a->vmpl_perms)) == 0;
}

static void fmt_entry(const rmp_entry_t *e, char *buf, size_t len)
{
	snprintf(buf, len,
		 "{assigned %d 2m %d imm %d val %d vmsa %d inuse %d asid %" PRIu32 " gpa %#" PRIx64
		 " perms %02x/%02x/%02x/%02x}",
		 e->assigned, e->page_2m, e->immutable, e->validated, e->vmsa, e->in_use, e->asid,
		 e->gpa, e->vmpl_perms[0], e->vmpl_perms[1], e->vmpl_perms[2], e->vmpl_perms[3]);
}

static void check_entries(runner_t *rn, rmp_t *rmp, const echk_t *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint64_t spa = c->spa + (uint64_t)i * K4;
		rmp_entry_t got, want = c->e;
		rmp_lookup(rmp, spa, &got);
		bool ok;
		if (want.assigned) {
			want.gpa += (uint64_t)i * K4;
			want.vmpl_perms[0] = P_ALL; /* VMPL0 always has full permissions */
			ok = entry_eq(&got, &want);
		} else {
			ok = !got.assigned && got.page_2m == want.page_2m && !got.immutable &&
			     !got.validated && !got.vmsa && got.in_use == want.in_use && got.asid == 0;
		}
		if (!ok) {
			char g[200], w[200];
			fmt_entry(&got, g, sizeof(g));
			fmt_entry(&want, w, sizeof(w));
			row_fail(rn, "entry at SPA %#" PRIx64 " (check frame %u of %u): got %s, want %s%s",
				 spa, i, c->n, g, w, want.assigned ? "" : " (GPA/perms not compared)");
			return; /* one message per check */
		}
	}
}

static bool run_row(const row_t *row, rmp_entry_t *before, rmp_entry_t *after)
{
	runner_t rn = {.row = row, .before = before, .after = after};
	uint64_t limit = row->limit ? row->limit : LIMIT;
	uint64_t nframes = (limit < LIMIT ? limit : LIMIT) / K4;
	rmp_t *rmp = rmp_new(limit);
	if (!rmp) {
		row_fail(&rn, "rmp_new(%#" PRIx64 ") failed", limit);
		return false;
	}
	char buf[256];
	for (int i = 0; i < MAX_SETUP && row->setup[i].kind != OP_NONE; i++) {
		const op_t *s = &row->setup[i];
		rmp_result_t r = exec_op(rmp, s);
		if (!rmp_ok(r) || (s->kind == OP_PVALIDATE && r.cf)) {
			describe(r, buf, sizeof(buf));
			row_fail(&rn, "setup step %d (%s SPA %#" PRIx64 ") failed: %s", i + 1,
				 op_name(s->kind), s->spa, buf);
			rmp_free(rmp);
			return false;
		}
	}

	snapshot(rmp, before, nframes);
	rmp_result_t r = exec_op(rmp, &row->op);
	if (!matches(&row->x, r)) {
		char want[160];
		describe(r, buf, sizeof(buf));
		describe_x(&row->x, want, sizeof(want));
		row_fail(&rn, "%s: got %s, want %s", op_name(row->op.kind), buf, want);
	}
	snapshot(rmp, after, nframes);

	/* facts §2.1: a failed instruction (or a check, or a fault) writes nothing */
	bool writes = rmp_ok(r) && row->op.kind != OP_ACCESS && row->op.kind != OP_HOST_WRITE;
	uint64_t region = row->op.spa & ~(M2 - 1);
	for (uint64_t f = 0; f < nframes; f++) {
		uint64_t spa = f * K4;
		bool inside = spa >= region && spa < region + M2;
		if (entry_eq(&before[f], &after[f]) || (writes && inside))
			continue;
		char b[200], a[200];
		fmt_entry(&before[f], b, sizeof(b));
		fmt_entry(&after[f], a, sizeof(a));
		row_fail(&rn, "%s changed SPA %#" PRIx64 " %s: %s -> %s", op_name(row->op.kind), spa,
			 writes ? "outside its 2M region" : "although it did not succeed", b, a);
		break;
	}

	for (int i = 0; i < MAX_CHECK && row->after[i].n; i++)
		check_entries(&rn, rmp, &row->after[i]);
	rmp_free(rmp);
	return rn.failed == 0;
}

static void run_table(const row_t *rows, size_t n)
{
	rmp_entry_t *before = calloc(NFRAMES, sizeof(*before));
	rmp_entry_t *after = calloc(NFRAMES, sizeof(*after));
	assert_non_null(before);
	assert_non_null(after);
	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		/* a row must make at least one claim about the outcome */
		assert_true(rows[i].op.kind != OP_NONE && rows[i].x.kind != 0);
		failed += !run_row(&rows[i], before, after);
	}
	free(before);
	free(after);
	if (failed)
		fail_msg("%zu of %zu rows failed", failed, n);
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

/* ================================================================== PVALIDATE §2.2 */

static const row_t pvalidate_rows[] = {
	ROW("§2.2", "4K validate of a Guest-Invalid page: SUCCESS, CF=0, Validated set",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = VAL(A1, G(1), R(1)), .x = X_OK,
	    .after = {E_PRIV(1, R(1), A1, G(1), true), E_HV(1, RF(1, 1))}),
	ROW("§2.2", "4K validate of a Guest-Valid page: SUCCESS, CF=1, no update",
	    .setup = {PRIV(RF(1, 3), A1, GF(1, 3)), VAL(A1, GF(1, 3), RF(1, 3))},
	    .op = VAL(A1, GF(1, 3), RF(1, 3)), .x = X_NOUPDATE,
	    .after = {E_PRIV(1, RF(1, 3), A1, GF(1, 3), true)}),
	ROW("§2.2", "4K rescind of a Guest-Valid page: SUCCESS, CF=0, Validated cleared",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = RESC(A1, G(1), R(1)),
	    .x = X_OK, .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§2.2", "4K rescind of a Guest-Invalid page: SUCCESS, CF=1, no update",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = RESC(A1, G(1), R(1)), .x = X_NOUPDATE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§2.2", "2M validate of a 2M entry: CF=0, all 512 frames validated",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = VAL2M(A1, G(2), R(2)), .x = X_OK,
	    .after = {E_PRIV2M(R(2), A1, G(2), true), E_HV(1, R(3))}),
	ROW("§2.2", "2M validate of a validated 2M entry: CF=1",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = VAL2M(A1, G(2), R(2)), .x = X_NOUPDATE,
	    .after = {E_PRIV2M(R(2), A1, G(2), true)}),
	ROW("§2.2", "2M rescind of a validated 2M entry: CF=0, all 512 frames invalid",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = RESC2M(A1, G(2), R(2)), .x = X_OK, .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.2", "2M rescind of an invalid 2M entry: CF=1", .setup = {PRIV2M(R(2), A1, G(2))},
	    .op = RESC2M(A1, G(2), R(2)), .x = X_NOUPDATE),
	ROW("§2.2", "FAIL_INPUT: 4K operand not 4K aligned", .setup = {PRIV(R(1), A1, G(1))},
	    .op = VAL(A1, G(1) + 0x800, R(1)), .x = X_INPUT,
	    .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§2.2", "FAIL_INPUT: 2M operand 4K- but not 2M-aligned",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = VAL2M(A1, GF(2, 1), RF(2, 1)), .x = X_INPUT,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.2", "FAIL_INPUT: 2M rescind, operand not 2M aligned",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = RESC2M(A1, G(2) + K4 * 8, RF(2, 8)), .x = X_INPUT,
	    .after = {E_PRIV2M(R(2), A1, G(2), true)}),
	ROW("§2.2", "FAIL_SIZEMISMATCH: 2M request on a 4K entry",
	    .setup = {PRIV(R(3), A1, G(3))}, .op = VAL2M(A1, G(3), R(3)), .x = X_SIZEMISMATCH,
	    .after = {E_PRIV(1, R(3), A1, G(3), false)}),
	ROW("§2.2", "FAIL_SIZEMISMATCH: 2M rescind on a validated 4K entry",
	    .setup = {PRIV(R(3), A1, G(3)), VAL(A1, G(3), R(3))}, .op = RESC2M(A1, G(3), R(3)),
	    .x = X_SIZEMISMATCH, .after = {E_PRIV(1, R(3), A1, G(3), true)}),
	ROW("§2.2", "FAIL_SIZEMISMATCH (rmp.c): 2M operand on a 4K NPT mapping (SPA not 2M aligned)",
	    .setup = {PRIV(RF(3, 4), A1, G(4))}, .op = VAL2M(A1, G(4), RF(3, 4)),
	    .x = X_SIZEMISMATCH, .after = {E_PRIV(1, RF(3, 4), A1, G(4), false)}),
	ROW("§2.2", "4K request on the head frame of a 2M entry: #NPF RMP+SIZEM, no change",
	    .setup = {PRIV2M(R(4), A1, G(4))}, .op = VAL(A1, G(4), R(4)), .x = X_NPF(NPF_SIZEM),
	    .after = {E_PRIV2M(R(4), A1, G(4), false)}),
	ROW("§2.2", "4K request inside a 2M entry: #NPF RMP+SIZEM, no change",
	    .setup = {PRIV2M(R(4), A1, G(4))}, .op = VAL(A1, GF(4, 77), RF(4, 77)),
	    .x = X_NPF(NPF_SIZEM), .after = {E_PRIV2M(R(4), A1, G(4), false)}),
	ROW("§2.2", "4K rescind inside a validated 2M entry: #NPF RMP+SIZEM",
	    .setup = {PRIV2M(R(4), A1, G(4)), VAL2M(A1, G(4), R(4))},
	    .op = RESC(A1, GF(4, 511), RF(4, 511)), .x = X_NPF(NPF_SIZEM),
	    .after = {E_PRIV2M(R(4), A1, G(4), true)}),
	ROW("§2.2", "#NPF RMP: page assigned to another ASID", .setup = {PRIV(R(1), A2, G(1))},
	    .op = VAL(A1, G(1), R(1)), .x = X_NPF(NPF_RMP),
	    .after = {E_PRIV(1, R(1), A2, G(1), false)}),
	ROW("§2.5", "#NPF RMP, not SIZEM: 4K request in another guest's 2M entry (owner before size)",
	    .setup = {PRIV2M(R(4), A2, G(4))}, .op = VAL(A1, GF(4, 2), RF(4, 2)),
	    .x = X_NPF(NPF_RMP)),
	ROW("§2.2", "#NPF RMP: entry GPA differs from the operand's GPA",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = VAL(A1, GF(1, 1), R(1)), .x = X_NPF(NPF_RMP),
	    .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§2.2", "#NPF RMP: 2M request at the wrong GPA of a 2M entry",
	    .setup = {PRIV2M(R(4), A1, G(4))}, .op = VAL2M(A1, G(5), R(4)), .x = X_NPF(NPF_RMP),
	    .after = {E_PRIV2M(R(4), A1, G(4), false)}),
	ROW("§2.2", "#NPF RMP, not SIZEM: 4K request at the wrong GPA inside a 2M entry",
	    .setup = {PRIV2M(R(4), A1, G(4))}, .op = VAL(A1, GF(4, 3), RF(4, 4)),
	    .x = X_NPF(NPF_RMP)),
	ROW("§2.2", "#NPF RMP: page not assigned (hypervisor-owned, never touched)",
	    .op = VAL(A1, G(1), R(1)), .x = X_NPF(NPF_RMP), .after = {E_HV(1, R(1))}),
	ROW("§2.2", "#NPF RMP: page made shared again", .setup = {PRIV(R(1), A1, G(1)), SHARE(R(1))},
	    .op = VAL(A1, G(1), R(1)), .x = X_NPF(NPF_RMP), .after = {E_HV(1, R(1))}),
	ROW("§2.2", "#NPF RMP: 2M request on a hypervisor-owned 2M entry",
	    .setup = {SHARE2M(R(5))}, .op = VAL2M(A1, G(5), R(5)), .x = X_NPF(NPF_RMP),
	    .after = {E_HV2M(R(5))}),
	ROW("§2.2", "#NPF RMP: immutable (AMD-SP) page", .setup = {FW(R(1))},
	    .op = VAL(A1, G(1), R(1)), .x = X_NPF(NPF_RMP), .after = {E_FW(1, R(1))}),
	ROW("§2.2", "#NPF RMP: immutable page, operand ASID 0", .setup = {FW(R(1))},
	    .op = VAL(0, 0, R(1)), .x = X_NPF(NPF_RMP)),
	ROW("§1.1", "#NPF RMP: SPA beyond the RMP coverage", .op = VAL(A1, G(1), BEYOND),
	    .x = X_NPF(NPF_RMP)),
	ROW("§1.1", "#NPF RMP: 2M request at an SPA beyond the coverage",
	    .op = VAL2M(A1, G(1), BEYOND + M2), .x = X_NPF(NPF_RMP)),
	ROW("§2.2", "VMPL1 may not PVALIDATE: #GP (rmp.c; fault type UNCONFIRMED), no change",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = PVAL(A1, 1, G(1), R(1), false, true), .x = X_GP,
	    .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§2.2", "VMPL3 may not rescind: #GP (rmp.c), no change",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = PVAL(A1, 3, G(1), R(1), false, false), .x = X_GP,
	    .after = {E_PRIV(1, R(1), A1, G(1), true)}),
	ROW("§2.2", "VMPL2 2M PVALIDATE: #GP (rmp.c)", .setup = {PRIV2M(R(2), A1, G(2))},
	    .op = PVAL(A1, 2, G(2), R(2), true, true), .x = X_GP,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.2", "PVALIDATE does not touch VMPL permissions or VMSA",
	    .setup = {PRIV(RF(1, 9), A1, GF(1, 9)),
		      ADJ(A1, 0, GF(1, 9), RF(1, 9), false, RDX(1, P_R | P_W, true))},
	    .op = VAL(A1, GF(1, 9), RF(1, 9)), .x = X_OK,
	    .after = {E_PRIV(1, RF(1, 9), A1, GF(1, 9), true, .vmsa = true, PERMS(3, 0, 0))}),
	ROW("§7.5", "validating a LAUNCH_UPDATE page again gives CF=1",
	    .setup = {PRIV(R(6), A1, G(6)), LAUNCH(R(6), A1, G(6))}, .op = VAL(A1, G(6), R(6)),
	    .x = X_NOUPDATE, .after = {E_PRIV(1, R(6), A1, G(6), true)}),
	ROW("§7.5", "shared then private again: Validated = 0, validating is CF=0",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)), SHARE(R(1)),
		      PRIV(R(1), A1, G(1))},
	    .op = VAL(A1, G(1), R(1)), .x = X_OK, .after = {E_PRIV(1, R(1), A1, G(1), true)}),
	ROW("§1.5", "a 4K entry GPA need not be 2M related to its SPA",
	    .setup = {PRIV(RF(7, 5), A2, GF(9, 300))}, .op = VAL(A2, GF(9, 300), RF(7, 5)),
	    .x = X_OK, .after = {E_PRIV(1, RF(7, 5), A2, GF(9, 300), true), E_HV(1, RF(7, 6))}),
};

/* ================================================================== RMPUPDATE §2.4 */

static const row_t rmpupdate_rows[] = {
	ROW("§2.4", "make private 4K: assigned, GPA, ASID, 4K, invalid, VMPL1-3 no perms",
	    .op = PRIV(RF(1, 2), A1, GF(1, 2)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 2), A1, GF(1, 2), false), E_HV(2, R(1)), E_HV(1, RF(1, 3))}),
	ROW("§1.5", "make private 2M: all 512 frames governed by the 2M entry",
	    .op = PRIV2M(R(2), A1, G(2)), .x = X_DONE,
	    .after = {E_PRIV2M(R(2), A1, G(2), false), E_HV(1, RF(1, 511)), E_HV(1, R(3))}),
	ROW("§1.2", "RMPUPDATE clears Validated (same state written again)",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = PRIV(R(1), A1, G(1)),
	    .x = X_DONE, .after = {E_PRIV(1, R(1), A1, G(1), false)}),
	ROW("§1.2", "RMPUPDATE clears Validated of a 2M entry",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))}, .op = PRIV2M(R(2), A1, G(2)),
	    .x = X_DONE, .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.4", "RMPUPDATE clears VMSA (UNCONFIRMED; rmp.h documents it)",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)), LAUNCH_VMSA(RF(1, 1), A1, GF(1, 1))},
	    .op = PRIV(RF(1, 1), A1, GF(1, 1)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false, .vmsa = false)}),
	ROW("§2.4", "RMPUPDATE clears a VMSA set by RMPADJUST",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)),
		      ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, 0, true))},
	    .op = PRIV(RF(1, 1), A1, GF(1, 1)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false)}),
	ROW("§2.4", "RMPUPDATE removes VMPL1-3 permissions, VMPL0 keeps all",
	    .setup = {PRIV(R(1), A1, G(1)), ADJ(A1, 0, G(1), R(1), false, RDX(1, P_ALL, false)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(2, P_R, false)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(3, P_R | P_W, false))},
	    .op = PRIV(R(1), A1, G(1)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(0, 0, 0))}),
	ROW("§2.4", "RMPUPDATE to another guest: new owner, nothing inherited",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, true))},
	    .op = PRIV(R(1), A2, G(7)), .x = X_DONE, .after = {E_PRIV(1, R(1), A2, G(7), false)}),
	ROW("§1.6", "make shared: Assigned = 0, Validated cleared",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = SHARE(R(1)), .x = X_DONE,
	    .after = {E_HV(1, R(1))}),
	ROW("§1.6", "make shared 2M of a validated 2M private entry (host reclaim)",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))}, .op = SHARE2M(R(2)),
	    .x = X_DONE, .after = {E_HV2M(R(2))}),
	ROW("§1.3", "AMD-SP page: assigned, ASID 0, immutable", .op = FW(R(1)), .x = X_DONE,
	    .after = {E_FW(1, R(1))}),
	ROW("§1.5", "2M private over 4K entries that are all hypervisor-owned again",
	    .setup = {PRIV(RF(2, 0), A1, GF(2, 0)), PRIV(RF(2, 200), A1, GF(2, 200)),
		      SHARE(RF(2, 0)), SHARE(RF(2, 200))},
	    .op = PRIV2M(R(2), A2, G(8)), .x = X_DONE, .after = {E_PRIV2M(R(2), A2, G(8), false)}),
	ROW("§1.5", "4K RMPUPDATE in a hypervisor-owned 2M entry splits it",
	    .setup = {SHARE2M(R(3))}, .op = PRIV(RF(3, 5), A1, GF(3, 5)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(3, 5), A1, GF(3, 5), false), E_HV(5, R(3)),
		      E_HV(506, RF(3, 6))}),
	ROW("§1.5", "4K RMPUPDATE at the head frame of a hypervisor-owned 2M entry splits it",
	    .setup = {SHARE2M(R(3))}, .op = PRIV(R(3), A1, G(3)), .x = X_DONE,
	    .after = {E_PRIV(1, R(3), A1, G(3), false), E_HV(511, RF(3, 1))}),
	ROW("§1.5", "4K make-shared in a hypervisor-owned 2M entry splits it",
	    .setup = {SHARE2M(R(3))}, .op = SHARE(RF(3, 9)), .x = X_DONE,
	    .after = {E_HV(512, R(3))}),
	/* FAIL_INPUT (facts §2.1, §2.4; exact list UNCONFIRMED, rmp.c's list) */
	ROW("§2.4", "FAIL_INPUT: SPA not 4K aligned", .op = PRIV(R(1) + 0x10, A1, G(1)),
	    .x = X_INPUT, .after = {E_HV(1, R(1))}),
	ROW("§2.4", "FAIL_INPUT: 2M with SPA not 2M aligned", .op = PRIV2M(RF(2, 1), A1, G(2)),
	    .x = X_INPUT, .after = {E_HV(512, R(2))}),
	ROW("§1.5", "FAIL_INPUT: 2M with GPA not 2M aligned", .op = PRIV2M(R(2), A1, GF(2, 1)),
	    .x = X_INPUT, .after = {E_HV(512, R(2))}),
	ROW("§1.6", "FAIL_INPUT: GPA not page aligned", .op = PRIV(R(1), A1, G(1) + 0x123),
	    .x = X_INPUT),
	ROW("§1.4", "FAIL_INPUT (rmp.c): GPA beyond the 39-bit GFN field (>= 2^51)",
	    .op = PRIV(R(1), A1, 1ull << 51), .x = X_INPUT),
	ROW("§1.4", "GPA just below 2^51 fits", .op = PRIV(R(1), A1, (1ull << 51) - K4),
	    .x = X_DONE, .after = {E_PRIV(1, R(1), A1, (1ull << 51) - K4, false)}),
	ROW("§1.4", "FAIL_INPUT (rmp.c): ASID wider than 10 bits", .op = PRIV(R(1), 1024, G(1)),
	    .x = X_INPUT),
	ROW("§1.4", "ASID 1023 fits", .op = PRIV(R(1), 1023, G(1)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), 1023, G(1), false)}),
	ROW("§1.3", "FAIL_INPUT (rmp.c): assigned ASID 0 but mutable (no such owner)",
	    .op = UPD(R(1), .assigned = true, .asid = 0), .x = X_INPUT),
	ROW("§1.3", "FAIL_INPUT (rmp.c): guest ASID but immutable",
	    .op = UPD(R(1), .assigned = true, .asid = A1, .gpa = G(1), .immutable = true),
	    .x = X_INPUT),
	ROW("§1.3", "FAIL_INPUT (rmp.c): hypervisor-owned state with an ASID",
	    .op = UPD(R(1), .assigned = false, .asid = A1), .x = X_INPUT),
	ROW("§1.3", "FAIL_INPUT (rmp.c): hypervisor-owned state marked immutable",
	    .op = UPD(R(1), .assigned = false, .immutable = true), .x = X_INPUT),
	ROW("§1.1", "FAIL_INPUT: SPA beyond the coverage cannot be assigned",
	    .op = PRIV(BEYOND, A1, G(1)), .x = X_INPUT),
	ROW("§1.1", "FAIL_INPUT: 2M entry crossing the end of the coverage",
	    .limit = LIMIT - 256 * K4, .op = PRIV2M(R(NREGIONS - 1), A1, G(1)), .x = X_INPUT),
	ROW("§1.1", "4K below a partial last region's end is covered",
	    .limit = LIMIT - 256 * K4, .op = PRIV(RF(NREGIONS - 1, 255), A1, G(1)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(NREGIONS - 1, 255), A1, G(1), false)}),
	/* FAIL_PERMISSION */
	ROW("§2.1", "FAIL_PERMISSION: executed with a nonzero ASID (inside a guest)",
	    .op = UPD_AS(A1, R(1), .gpa = G(1), .asid = A1, .assigned = true), .x = X_PERM,
	    .after = {E_HV(1, R(1))}),
	ROW("§2.1", "FAIL_PERMISSION: guest tries to make its own page shared",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = UPD_AS(A1, R(1), .assigned = false),
	    .x = X_PERM, .after = {E_PRIV(1, R(1), A1, G(1), true)}),
	ROW("§1.2", "FAIL_PERMISSION: entry immutable (make shared)", .setup = {FW(R(1))},
	    .op = SHARE(R(1)), .x = X_PERM, .after = {E_FW(1, R(1))}),
	ROW("§1.2", "FAIL_PERMISSION: entry immutable (make private)", .setup = {FW(RF(1, 7))},
	    .op = PRIV(RF(1, 7), A1, G(1)), .x = X_PERM, .after = {E_FW(1, RF(1, 7))}),
	ROW("§1.2", "FAIL_PERMISSION: immutable 2M entry", .setup = {FW2M(R(2))},
	    .op = SHARE2M(R(2)), .x = X_PERM, .after = {E_FW(512, R(2), .page_2m = true)}),
	/* FAIL_INUSE */
	ROW("§2.1", "FAIL_INUSE: 4K entry in use", .setup = {PRIV(R(1), A1, G(1)), INUSE(R(1))},
	    .op = SHARE(R(1)), .x = X_INUSE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, .in_use = true)}),
	ROW("§2.1", "FAIL_INUSE: 2M entry in use", .setup = {PRIV2M(R(2), A1, G(2)), INUSE(R(2))},
	    .op = SHARE2M(R(2)), .x = X_INUSE,
	    .after = {E_PRIV2M(R(2), A1, G(2), false, .in_use = true)}),
	ROW("§2.1", "FAIL_INUSE: 2M over 4K entries, one of them in use",
	    .setup = {INUSE(RF(2, 300))}, .op = PRIV2M(R(2), A1, G(2)), .x = X_INUSE,
	    .after = {E_HV(1, RF(2, 300), .in_use = true), E_HV(1, RF(2, 301))}),
	ROW("§2.1", "FAIL_INUSE: 4K inside a hypervisor-owned 2M entry that is in use",
	    .setup = {SHARE2M(R(3)), INUSE(RF(3, 4))}, .op = PRIV(RF(3, 4), A1, G(3)),
	    .x = X_INUSE, .after = {E_HV(512, R(3), .page_2m = true, .in_use = true)}),
	/* FAIL_OVERLAP */
	ROW("§1.5", "FAIL_OVERLAP: 4K RMPUPDATE inside an assigned 2M entry",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = SHARE(RF(2, 100)), .x = X_OVERLAP,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§1.5", "FAIL_OVERLAP: 4K RMPUPDATE at the head of an assigned 2M entry",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))}, .op = PRIV(R(2), A1, G(2)),
	    .x = X_OVERLAP, .after = {E_PRIV2M(R(2), A1, G(2), true)}),
	ROW("§1.5", "FAIL_OVERLAP: 2M RMPUPDATE over an assigned 4K sub-page",
	    .setup = {PRIV(RF(2, 100), A1, GF(2, 100))}, .op = PRIV2M(R(2), A1, G(2)),
	    .x = X_OVERLAP,
	    .after = {E_PRIV(1, RF(2, 100), A1, GF(2, 100), false), E_HV(100, R(2))}),
	ROW("§1.5", "FAIL_OVERLAP: 2M RMPUPDATE over an assigned head 4K page",
	    .setup = {PRIV(R(2), A1, G(2)), VAL(A1, G(2), R(2))}, .op = PRIV2M(R(2), A1, G(2)),
	    .x = X_OVERLAP, .after = {E_PRIV(1, R(2), A1, G(2), true), E_HV(511, RF(2, 1))}),
	ROW("§1.5", "FAIL_OVERLAP: 2M RMPUPDATE over the last 4K sub-page",
	    .setup = {PRIV(RF(2, 511), A2, GF(2, 511))}, .op = PRIV2M(R(2), A1, G(2)),
	    .x = X_OVERLAP),
	ROW("§1.5", "FAIL_OVERLAP (rmp.c): 2M make-shared over an assigned 4K sub-page",
	    .setup = {PRIV(RF(2, 7), A1, GF(2, 7))}, .op = SHARE2M(R(2)), .x = X_OVERLAP,
	    .after = {E_PRIV(1, RF(2, 7), A1, GF(2, 7), false)}),
	ROW("§1.5", "after PSMASH, 4K RMPUPDATE of a sub-page succeeds (no overlap)",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2))},
	    .op = SHARE(RF(2, 10)), .x = X_DONE,
	    .after = {E_PRIV(10, R(2), A1, G(2), true), E_HV(1, RF(2, 10)),
		      E_PRIV(501, RF(2, 11), A1, GF(2, 11), true)}),
};

/* ================================================================== PSMASH / unsmash §1.5 */

static const row_t psmash_rows[] = {
	ROW("§1.5", "PSMASH: 512 4K entries inherit state, GPAs consecutive",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)),
		      ADJ(A1, 0, G(2), R(2), true, RDX(1, P_R | P_W, false)),
		      ADJ(A1, 0, G(2), R(2), true, RDX(3, P_R | P_XS, false))},
	    .op = SMASH(R(2)), .x = X_DONE,
	    .after = {E_PRIV(512, R(2), A1, G(2), true, PERMS(P_R | P_W, 0, P_R | P_XS)),
		      E_HV(1, R(3))}),
	ROW("§1.5", "PSMASH of an unvalidated 2M entry", .setup = {PRIV2M(R(2), A2, G(9))},
	    .op = SMASH(R(2)), .x = X_DONE, .after = {E_PRIV(512, R(2), A2, G(9), false)}),
	ROW("§1.5", "PSMASH copies VMSA", .setup = {PRIV2M(R(2), A1, G(2)),
				       ADJ(A1, 0, G(2), R(2), true, RDX(1, 0, true))},
	    .op = SMASH(R(2)), .x = X_DONE, .after = {E_PRIV(512, R(2), A1, G(2), false, .vmsa = true)}),
	ROW("§1.5", "PSMASH: FAIL_INPUT for an SPA not 2M aligned",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = SMASH(RF(2, 1)), .x = X_INPUT,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.1", "PSMASH: FAIL_PERMISSION executed with a nonzero ASID",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = SMASH_AS(A1, R(2)), .x = X_PERM,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.1", "PSMASH: FAIL_PERMISSION on an immutable 2M entry", .setup = {FW2M(R(2))},
	    .op = SMASH(R(2)), .x = X_PERM, .after = {E_FW(512, R(2), .page_2m = true)}),
	ROW("§1.5", "PSMASH: FAIL_INUSE when the entry is in use",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), INUSE(RF(2, 17))},
	    .op = SMASH(R(2)), .x = X_INUSE, .after = {E_PRIV2M(R(2), A1, G(2), true, .in_use = true)}),
	ROW("§2.1", "PSMASH: code 7 (rmp.c: not suitable) for a 4K entry",
	    .setup = {PRIV(R(2), A1, G(2))}, .op = SMASH(R(2)), .x = X_UNSUITABLE,
	    .after = {E_PRIV(1, R(2), A1, G(2), false)}),
	ROW("§2.1", "PSMASH: code 7 (rmp.c) for an already smashed entry",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))}, .op = SMASH(R(2)), .x = X_UNSUITABLE,
	    .after = {E_PRIV(512, R(2), A1, G(2), false)}),
	ROW("§2.1", "PSMASH: code 7 (rmp.c) for a never-touched region", .op = SMASH(R(5)),
	    .x = X_UNSUITABLE, .after = {E_HV(512, R(5))}),
	/* unsmash: SNP_PAGE_UNSMASH, preconditions UNCONFIRMED; rmp.c: exact inverse of PSMASH */
	ROW("§1.5", "unsmash (rmp.c) after PSMASH restores the 2M entry with its state",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)),
		      ADJ(A1, 0, G(2), R(2), true, RDX(2, P_R, false)), SMASH(R(2))},
	    .op = UNSMASH(R(2)), .x = X_DONE,
	    .after = {E_PRIV2M(R(2), A1, G(2), true, PERMS(0, P_R, 0))}),
	ROW("§1.5", "unsmash (rmp.c) of 512 4K-made private pages at consecutive GPAs",
	    .setup = {PRIV_RUN(R(4), A2, G(6), 512)}, .op = UNSMASH(R(4)), .x = X_DONE,
	    .after = {E_PRIV2M(R(4), A2, G(6), false)}),
	ROW("§1.5", "unsmash (rmp.c) of 512 4K-validated pages keeps them validated",
	    .setup = {PRIV_RUN(R(4), A2, G(6), 512), VAL_RUN(A2, G(6), R(4), 512)},
	    .op = UNSMASH(R(4)), .x = X_DONE, .after = {E_PRIV2M(R(4), A2, G(6), true)}),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT when one sub-page was made shared",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2)), SHARE(RF(2, 300))},
	    .op = UNSMASH(R(2)), .x = X_INPUT,
	    .after = {E_PRIV(300, R(2), A1, G(2), false), E_HV(1, RF(2, 300))}),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT when Validated differs in one sub-page",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2)),
		      RESC(A1, GF(2, 3), RF(2, 3))},
	    .op = UNSMASH(R(2)), .x = X_INPUT, .after = {E_PRIV(1, RF(2, 3), A1, GF(2, 3), false)}),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT when permissions differ in one sub-page",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2)),
		      ADJ(A1, 0, GF(2, 511), RF(2, 511), false, RDX(1, P_R, false))},
	    .op = UNSMASH(R(2)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT for a sub-page of another ASID",
	    .setup = {PRIV_RUN(R(4), A2, G(6), 511), PRIV(RF(4, 511), A1, GF(6, 511))},
	    .op = UNSMASH(R(4)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT for non-consecutive GPAs",
	    .setup = {PRIV_RUN(R(4), A2, G(6), 511), PRIV(RF(4, 511), A2, GF(7, 511))},
	    .op = UNSMASH(R(4)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT when the GPAs do not start 2M aligned",
	    .setup = {PRIV_RUN(R(4), A2, GF(6, 1), 512)}, .op = UNSMASH(R(4)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT when the head is a VMSA",
	    .setup = {PRIV2M(R(2), A1, G(2)), ADJ(A1, 0, G(2), R(2), true, RDX(1, 0, true)),
		      SMASH(R(2))},
	    .op = UNSMASH(R(2)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT for an entry that is already 2M",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = UNSMASH(R(2)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT for a hypervisor-owned region",
	    .setup = {PRIV(RF(2, 1), A1, G(2)), SHARE(RF(2, 1))}, .op = UNSMASH(R(2)),
	    .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INPUT for an SPA not 2M aligned",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))}, .op = UNSMASH(RF(2, 1)), .x = X_INPUT),
	ROW("§1.5", "unsmash (rmp.c): FAIL_INUSE when a sub-page is in use",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2)), INUSE(RF(2, 42))},
	    .op = UNSMASH(R(2)), .x = X_INUSE,
	    .after = {E_PRIV(1, RF(2, 42), A1, GF(2, 42), false, .in_use = true),
		      E_PRIV(1, RF(2, 43), A1, GF(2, 43), false)}),
	ROW("§1.5", "unsmash (rmp.c): FAIL_PERMISSION with a nonzero ASID",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))}, .op = UNSMASH_AS(A1, R(2)),
	    .x = X_PERM, .after = {E_PRIV(512, R(2), A1, G(2), false)}),
};

/* ================================================================== RMPADJUST §2.3 */

static const row_t rmpadjust_rows[] = {
	ROW("§2.3", "VMPL0 grants VMPL1 read+write", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R | P_W, false)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(P_R | P_W, 0, 0))}),
	ROW("§2.3", "VMPL0 replaces VMPL2 permissions (revokes write)",
	    .setup = {PRIV(R(1), A1, G(1)), ADJ(A1, 0, G(1), R(1), false, RDX(2, P_ALL, false))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(2, P_R | P_XU, false)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(0, P_R | P_XU, 0))}),
	ROW("§2.3", "VMPL0 grants VMPL3 all five permission bits",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(3, P_ALL, false)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), true, PERMS(0, 0, P_ALL))}),
	ROW("§2.3", "2M RMPADJUST on a 2M entry covers all 512 frames",
	    .setup = {PRIV2M(R(2), A1, G(2))},
	    .op = ADJ(A1, 0, G(2), R(2), true, RDX(1, P_R, false)), .x = X_DONE,
	    .after = {E_PRIV2M(R(2), A1, G(2), false, PERMS(P_R, 0, 0))}),
	ROW("§2.3", "VMSA set at VMPL0 (RDX bit 16)", .setup = {PRIV(RF(1, 1), A1, GF(1, 1))},
	    .op = ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, 0, true)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false, .vmsa = true)}),
	ROW("§2.3", "VMSA cleared at VMPL0 (RDX bit 16 = 0)",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)),
		      ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, 0, true))},
	    .op = ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, 0, false)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false, .vmsa = false)}),
	ROW("§2.3", "VMPL1 adjusting VMPL2 leaves the VMSA bit alone",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)),
		      ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, P_R | P_W, true))},
	    .op = ADJ(A1, 1, GF(1, 1), RF(1, 1), false, RDX(2, P_R, false)), .x = X_DONE,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false, .vmsa = true,
			     PERMS(P_R | P_W, P_R, 0))}),
	ROW("§2.3", "VMPL1 grants VMPL2 a subset of its own permissions",
	    .setup = {PRIV(R(1), A1, G(1)), ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R | P_XS, false))},
	    .op = ADJ(A1, 1, G(1), R(1), false, RDX(2, P_XS, false)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(P_R | P_XS, P_XS, 0))}),
	ROW("§2.3", "VMPL0 test: target VMPL1 perms 0 at VMPL0 returns 0",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, 0, false)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), true, PERMS(0, 0, 0))}),
	ROW("§2.3", "VMPL0 test: the same RMPADJUST at VMPL1 is FAIL_PERMISSION",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ADJ(A1, 1, G(1), R(1), false, RDX(1, 0, false)), .x = X_PERM),
	ROW("§2.3", "FAIL_PERMISSION: target VMPL equal to the current VMPL (0)",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = ADJ(A1, 0, G(1), R(1), false, RDX(0, P_R, false)),
	    .x = X_PERM),
	ROW("§2.3", "FAIL_PERMISSION: target VMPL below the current VMPL",
	    .setup = {PRIV(R(1), A1, G(1)), ADJ(A1, 0, G(1), R(1), false, RDX(2, P_ALL, false))},
	    .op = ADJ(A1, 2, G(1), R(1), false, RDX(1, P_R, false)), .x = X_PERM,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(0, P_ALL, 0))}),
	ROW("§2.3", "FAIL_PERMISSION: VMSA bit above VMPL0 (rmp.c: not merely ignored)",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)),
		      ADJ(A1, 0, GF(1, 1), RF(1, 1), false, RDX(1, P_ALL, false))},
	    .op = ADJ(A1, 1, GF(1, 1), RF(1, 1), false, RDX(2, P_R, true)), .x = X_PERM,
	    .after = {E_PRIV(1, RF(1, 1), A1, GF(1, 1), false, PERMS(P_ALL, 0, 0))}),
	ROW("§2.3", "FAIL_PERMISSION: granting a permission the current VMPL lacks",
	    .setup = {PRIV(R(1), A1, G(1)), ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, false))},
	    .op = ADJ(A1, 1, G(1), R(1), false, RDX(2, P_R | P_W, false)), .x = X_PERM,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(P_R, 0, 0))}),
	ROW("§2.3", "FAIL_PERMISSION: VMPL1 without any permission grants read",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = ADJ(A1, 1, G(1), R(1), false, RDX(3, P_R, false)),
	    .x = X_PERM),
	/* FAIL_INPUT (exact list UNCONFIRMED; rmp.c's list) */
	ROW("§2.3", "FAIL_INPUT: reserved RDX bit 17", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, false) | (1ull << 17)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: reserved RDX bit 63", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, 0, false) | (1ull << 63)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: undefined permission bit 13", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, 0x20, false)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: target VMPL 4", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(4, 0, false)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: target VMPL 255", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(255, 0, false)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: write permission without read", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, P_W, false)), .x = X_INPUT,
	    .after = {E_PRIV(1, R(1), A1, G(1), false, PERMS(0, 0, 0))}),
	ROW("§2.3", "FAIL_INPUT: 4K operand not 4K aligned", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(1) + 8, R(1), false, RDX(1, P_R, false)), .x = X_INPUT),
	ROW("§2.3", "FAIL_INPUT: 2M operand not 2M aligned", .setup = {PRIV2M(R(2), A1, G(2))},
	    .op = ADJ(A1, 0, GF(2, 1), RF(2, 1), true, RDX(1, P_R, false)), .x = X_INPUT),
	/* sizes and ownership */
	ROW("§2.3", "FAIL_SIZEMISMATCH: 2M request on a 4K entry", .setup = {PRIV(R(3), A1, G(3))},
	    .op = ADJ(A1, 0, G(3), R(3), true, RDX(1, P_R, false)), .x = X_SIZEMISMATCH,
	    .after = {E_PRIV(1, R(3), A1, G(3), false, PERMS(0, 0, 0))}),
	ROW("§2.3", "#NPF RMP+SIZEM: 4K request inside a 2M entry",
	    .setup = {PRIV2M(R(2), A1, G(2))},
	    .op = ADJ(A1, 0, GF(2, 5), RF(2, 5), false, RDX(1, P_R, false)), .x = X_NPF(NPF_SIZEM),
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§2.3", "#NPF RMP: page of another guest", .setup = {PRIV(R(1), A2, G(1))},
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, false)), .x = X_NPF(NPF_RMP)),
	ROW("§2.3", "#NPF RMP: hypervisor-owned page",
	    .op = ADJ(A1, 0, G(1), R(1), false, RDX(1, 0, false)), .x = X_NPF(NPF_RMP)),
	ROW("§2.3", "#NPF RMP: GPA mismatch", .setup = {PRIV(R(1), A1, G(1))},
	    .op = ADJ(A1, 0, G(2), R(1), false, RDX(1, P_R, false)), .x = X_NPF(NPF_RMP)),
	ROW("§2.3", "#NPF RMP: immutable page", .setup = {FW(R(1))},
	    .op = ADJ(0, 0, 0, R(1), false, RDX(1, 0, false)), .x = X_NPF(NPF_RMP)),
};

/* ================================================================== access checks §2.5 */

static const row_t access_rows[] = {
	ROW("§2.5", "private read of a validated page passes",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = PRD(A1, G(1), R(1)),
	    .x = X_DONE),
	ROW("§2.5", "private write of a validated page passes",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ACC(A1, 0, G(1) + 0x10, R(1) + 0x10, false, WR, true), .x = X_DONE),
	ROW("§2.5", "instruction fetch of a validated page passes",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, FX, true), .x = X_DONE),
	ROW("§2.5", "private read of an unvalidated page: #VC 0x404",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = PRD(A1, G(1), R(1)), .x = X_VC),
	ROW("§2.5", "private write of an unvalidated page: #VC 0x404",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = ACC(A1, 0, G(1), R(1), false, WR, true),
	    .x = X_VC),
	ROW("§2.5", "fetch from a rescinded page: #VC 0x404",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)), RESC(A1, G(1), R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, FX, true), .x = X_VC),
	ROW("§2.5", "private read of a page RMPUPDATEd after validation: #VC 0x404",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)), PRIV(R(1), A1, G(1))},
	    .op = PRD(A1, G(1), R(1)), .x = X_VC),
	ROW("§2.5", "private read of a page owned by another guest: #NPF RMP",
	    .setup = {PRIV(R(1), A2, G(1)), VAL(A2, G(1), R(1))}, .op = PRD(A1, G(1), R(1)),
	    .x = X_NPF_ACC(NPF_RMP, ENC)),
	ROW("§2.5", "private write of a hypervisor-owned page: #NPF RMP|W|ENC",
	    .op = ACC(A1, 0, G(1), R(1), false, WR, true), .x = X_NPF_ACC(NPF_RMP, ENC | PFERR_WRITE)),
	ROW("§2.5", "private read at a GPA the entry does not map: #NPF RMP",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))}, .op = PRD(A1, GF(1, 1), R(1)),
	    .x = X_NPF_ACC(NPF_RMP, ENC)),
	ROW("§2.5", "#NPF RMP wins over #VC: GPA mismatch on an unvalidated page",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = PRD(A1, G(2), R(1)), .x = X_NPF(NPF_RMP)),
	ROW("§2.5", "private read of an immutable page: #NPF RMP", .setup = {FW(R(1))},
	    .op = PRD(A1, G(1), R(1)), .x = X_NPF_ACC(NPF_RMP, ENC)),
	ROW("§2.5", "private read of an immutable page by ASID 0: #NPF RMP", .setup = {FW(R(1))},
	    .op = PRD(0, 0, R(1)), .x = X_NPF(NPF_RMP)),
	ROW("§2.5", "private read beyond the RMP coverage: #NPF RMP",
	    .op = PRD(A1, G(1), BEYOND + 5 * K4), .x = X_NPF_ACC(NPF_RMP, ENC)),
	ROW("§2.5", "fetch beyond the RMP coverage: #NPF RMP|ID|ENC",
	    .op = ACC(A1, 0, G(1), BEYOND, false, FX, false),
	    .x = X_NPF_ACC(NPF_RMP, ENC | PFERR_FETCH)),
	ROW("§2.5", "NPT 2M over a 4K RMP entry: #NPF RMP|SIZEM",
	    .setup = {PRIV(R(3), A1, G(3)), VAL(A1, G(3), R(3))},
	    .op = ACC(A1, 0, G(3), R(3), true, RD, true), .x = X_NPF_ACC(NPF_SIZEM, ENC)),
	ROW("§2.5", "NPT 4K over a 2M RMP entry: #NPF RMP|SIZEM",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = ACC(A1, 0, GF(2, 9), RF(2, 9), false, WR, true),
	    .x = X_NPF_ACC(NPF_SIZEM, ENC | PFERR_WRITE)),
	ROW("§2.5", "NPT 2M over a 2M RMP entry, inner frame: passes",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = ACC(A1, 0, GF(2, 300), RF(2, 300), true, WR, true), .x = X_DONE),
	ROW("§2.5", "NPT 2M over a 2M RMP entry, mismatched inner GPA: #NPF RMP",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2))},
	    .op = ACC(A1, 0, GF(2, 301), RF(2, 300), true, RD, true), .x = X_NPF(NPF_RMP)),
	ROW("§2.5", "after PSMASH, NPT 2M: #NPF RMP|SIZEM",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2))},
	    .op = ACC(A1, 0, G(2), R(2), true, RD, true), .x = X_NPF(NPF_SIZEM)),
	ROW("§2.5", "after PSMASH, NPT 4K: passes",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2))},
	    .op = ACC(A1, 0, GF(2, 44), RF(2, 44), false, RD, true), .x = X_DONE),
	ROW("§2.5", "size failure wins over validated failure (NPT 4K, RMP 2M, unvalidated)",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = PRD(A1, GF(2, 1), RF(2, 1)),
	    .x = X_NPF_ACC(NPF_SIZEM, ENC)),
	ROW("§2.5", "size failure wins over validated failure (NPT 2M, RMP 4K, unvalidated)",
	    .setup = {PRIV(R(3), A1, G(3))}, .op = ACC(A1, 0, G(3), R(3), true, FX, true),
	    .x = X_NPF_ACC(NPF_SIZEM, ENC | PFERR_FETCH)),
	ROW("§2.5", "VMPL1 read without permission: #NPF RMP|VMPL",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ACC(A1, 1, G(1), R(1), false, RD, true), .x = X_NPF_ACC(NPF_VMPL, ENC)),
	ROW("§2.5", "VMPL1 read passes after RMPADJUST grants read",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, false))},
	    .op = ACC(A1, 1, G(1), R(1), false, RD, true), .x = X_DONE),
	ROW("§2.5", "VMPL1 write with read-only permission: #NPF RMP|VMPL|W",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R, false))},
	    .op = ACC(A1, 1, G(1), R(1), false, WR, true),
	    .x = X_NPF_ACC(NPF_VMPL, ENC | PFERR_WRITE)),
	ROW("§2.5", "VMPL1 write passes after RMPADJUST grants read+write",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(1, P_R | P_W, false))},
	    .op = ACC(A1, 1, G(1), R(1), false, WR, true), .x = X_DONE),
	ROW("§2.5", "VMPL2 fetch with read+write only: #NPF RMP|VMPL|ID",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(2, P_R | P_W, false))},
	    .op = ACC(A1, 2, G(1), R(1), false, FX, true),
	    .x = X_NPF_ACC(NPF_VMPL, ENC | PFERR_FETCH)),
	ROW("§2.5", "VMPL2 (supervisor) fetch passes with supervisor-execute",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(2, P_XS, false))},
	    .op = ACC(A1, 2, G(1), R(1), false, FX, true), .x = X_DONE),
	ROW("§2.5", "VMPL3 permission granted to VMPL1 only: VMPL3 read #NPF RMP|VMPL",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1)),
		      ADJ(A1, 0, G(1), R(1), false, RDX(1, P_ALL, false))},
	    .op = ACC(A1, 3, G(1), R(1), false, RD, true), .x = X_NPF(NPF_VMPL)),
	ROW("§2.5", "VMPL check is last: unvalidated page at VMPL1 without perms is #VC",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = ACC(A1, 1, G(1), R(1), false, RD, true),
	    .x = X_VC),
	ROW("§2.5", "VMPL1 permission on a 2M entry, NPT 2M: passes",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)),
		      ADJ(A1, 0, G(2), R(2), true, RDX(1, P_R, false))},
	    .op = ACC(A1, 1, GF(2, 511), RF(2, 511), true, RD, true), .x = X_DONE),
	ROW("§2.5", "shared write to an assigned page: #NPF RMP|W, not ENC",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, WR, false), .x = X_NPF_ACC(NPF_RMP, PFERR_WRITE)),
	ROW("§2.5", "shared write to another guest's unvalidated page: #NPF RMP",
	    .setup = {PRIV(R(1), A2, G(1))}, .op = ACC(A1, 0, G(1), R(1), false, WR, false),
	    .x = X_NPF_ACC(NPF_RMP, PFERR_WRITE)),
	ROW("§2.5", "shared write to an AMD-SP page: #NPF RMP", .setup = {FW(R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, WR, false), .x = X_NPF(NPF_RMP)),
	ROW("§2.5", "shared write into an assigned 2M entry: #NPF RMP",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = ACC(A1, 0, G(2), RF(2, 100), false, WR, false),
	    .x = X_NPF(NPF_RMP)),
	ROW("§2.5", "shared read of an assigned page passes (not checked)",
	    .setup = {PRIV(R(1), A2, G(1)), VAL(A2, G(1), R(1))},
	    .op = ACC(A1, 0, G(5), R(1), false, RD, false), .x = X_DONE),
	ROW("§2.5", "shared write to a hypervisor-owned page passes",
	    .setup = {PRIV(R(1), A1, G(1)), SHARE(R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, WR, false), .x = X_DONE),
	ROW("§2.5", "shared write at VMPL3 to a hypervisor-owned page passes",
	    .op = ACC(A1, 3, G(1), R(1), false, WR, false), .x = X_DONE),
	ROW("§1.1", "shared write beyond the RMP coverage passes (permanently HV-owned)",
	    .op = ACC(A1, 0, G(1), BEYOND, false, WR, false), .x = X_DONE),
	ROW("§1.1", "shared read beyond the RMP coverage passes",
	    .op = ACC(A1, 0, G(1), BEYOND, false, RD, false), .x = X_DONE),
	ROW("§2.5", "fetch is always private: C=0 fetch of a hypervisor page #NPF RMP|ID|ENC",
	    .op = ACC(A1, 0, G(1), R(1), false, FX, false),
	    .x = X_NPF_ACC(NPF_RMP, ENC | PFERR_FETCH)),
	ROW("§2.5", "fetch is always private: C=0 fetch of an unvalidated own page #VC",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = ACC(A1, 0, G(1), R(1), false, FX, false),
	    .x = X_VC),
	ROW("§2.5", "fetch is always private: C=0 fetch of a validated own page passes",
	    .setup = {PRIV(R(1), A1, G(1)), VAL(A1, G(1), R(1))},
	    .op = ACC(A1, 0, G(1), R(1), false, FX, false), .x = X_DONE),
	ROW("§2.5", "access to a VMSA page follows the same checks (validated passes)",
	    .setup = {PRIV(RF(1, 1), A1, GF(1, 1)), LAUNCH_VMSA(RF(1, 1), A1, GF(1, 1))},
	    .op = PRD(A1, GF(1, 1), RF(1, 1)), .x = X_DONE),
};

/* ================================================================== host writes §2.5, §1.5 */

static const row_t host_write_rows[] = {
	ROW("§2.5", "host 4K write to a hypervisor-owned page passes", .op = HOSTW(R(1), false),
	    .x = X_DONE),
	ROW("§2.5", "host 4K write to a page made shared again passes",
	    .setup = {PRIV(R(1), A1, G(1)), SHARE(R(1))}, .op = HOSTW(R(1), false), .x = X_DONE),
	ROW("§2.5", "host 4K write to a guest page: host #PF bit 31",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = HOSTW(R(1), false), .x = X_HOST_PF),
	ROW("§2.5", "host 4K write to an AMD-SP page: host #PF", .setup = {FW(R(1))},
	    .op = HOSTW(R(1) + 0x40, false), .x = X_HOST_PF),
	ROW("§2.5", "host 4K write to a sub-page of an assigned 2M entry: host #PF",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = HOSTW(RF(2, 400), false), .x = X_HOST_PF),
	ROW("§2.5", "host 4K write next to an assigned 4K page passes",
	    .setup = {PRIV(RF(2, 400), A1, G(2))}, .op = HOSTW(RF(2, 401), false), .x = X_DONE),
	ROW("§1.5", "host 2M write: one assigned 4K sub-page (not the head): host #PF",
	    .setup = {PRIV(RF(2, 300), A1, G(2))}, .op = HOSTW(R(2), true), .x = X_HOST_PF),
	ROW("§1.5", "host 2M write: assigned head 4K page: host #PF",
	    .setup = {PRIV(R(2), A1, G(2))}, .op = HOSTW(R(2), true), .x = X_HOST_PF),
	ROW("§1.5", "host 2M write: last sub-page immutable: host #PF",
	    .setup = {FW(RF(2, 511))}, .op = HOSTW(R(2), true), .x = X_HOST_PF),
	ROW("§1.5", "host 2M write: assigned 2M entry: host #PF",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = HOSTW(R(2), true), .x = X_HOST_PF),
	ROW("§1.5", "host 2M write: 512 hypervisor-owned 4K entries pass",
	    .setup = {PRIV(RF(2, 300), A1, G(2)), SHARE(RF(2, 300))}, .op = HOSTW(R(2), true),
	    .x = X_DONE),
	ROW("§1.5", "host 2M write: hypervisor-owned 2M entry passes", .setup = {SHARE2M(R(2))},
	    .op = HOSTW(R(2), true), .x = X_DONE),
	ROW("§1.5", "host 2M write: never-touched region passes", .op = HOSTW(R(9), true),
	    .x = X_DONE),
	ROW("§1.5", "host 2M write after PSMASH of a private 2M entry: host #PF",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))},
	    .op = HOSTW(R(2), true), .x = X_HOST_PF),
	ROW("§1.1", "host 4K write beyond the coverage passes (HV-owned)",
	    .op = HOSTW(BEYOND, false), .x = X_DONE),
	ROW("§1.1", "host 2M write beyond the coverage passes", .op = HOSTW(BEYOND, true),
	    .x = X_DONE),
};

/* ================================================================== launch §9.3, §12 */

static const row_t launch_rows[] = {
	ROW("§9.3", "LAUNCH_UPDATE of a private 4K page: Validated", .setup = {PRIV(R(1), A1, G(1))},
	    .op = LAUNCH(R(1), A1, G(1)), .x = X_DONE,
	    .after = {E_PRIV(1, R(1), A1, G(1), true, .vmsa = false)}),
	ROW("§9.3", "LAUNCH_UPDATE of a VMSA page: Validated and VMSA",
	    .setup = {PRIV(RF(1, 3), A1, GF(1, 3))}, .op = LAUNCH_VMSA(RF(1, 3), A1, GF(1, 3)),
	    .x = X_DONE, .after = {E_PRIV(1, RF(1, 3), A1, GF(1, 3), true, .vmsa = true)}),
	ROW("§9.3", "LAUNCH_UPDATE of a 2M private page: 512 frames validated",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = LAUNCH2M(R(2), A1, G(2)), .x = X_DONE,
	    .after = {E_PRIV2M(R(2), A1, G(2), true)}),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT on a page the HV did not make private",
	    .op = LAUNCH(R(1), A1, G(1)), .x = X_INPUT, .after = {E_HV(1, R(1))}),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT on another guest's page",
	    .setup = {PRIV(R(1), A2, G(1))}, .op = LAUNCH(R(1), A1, G(1)), .x = X_INPUT,
	    .after = {E_PRIV(1, R(1), A2, G(1), false)}),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT at the wrong GPA",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = LAUNCH(R(1), A1, G(2)), .x = X_INPUT),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT on an immutable page", .setup = {FW(R(1))},
	    .op = LAUNCH(R(1), A1, 0), .x = X_INPUT),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT 2M on a 4K entry",
	    .setup = {PRIV(R(3), A1, G(3))}, .op = LAUNCH2M(R(3), A1, G(3)), .x = X_INPUT),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT 4K inside a 2M entry",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = LAUNCH(RF(2, 1), A1, GF(2, 1)), .x = X_INPUT,
	    .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT for a misaligned SPA",
	    .setup = {PRIV2M(R(2), A1, G(2))}, .op = LAUNCH2M(RF(2, 1), A1, G(2)), .x = X_INPUT),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT for ASID 0",
	    .setup = {PRIV(R(1), A1, G(1))}, .op = LAUNCH(R(1), 0, G(1)), .x = X_INPUT),
	ROW("§9.3", "LAUNCH_UPDATE (rmp.c): FAIL_INPUT beyond the coverage",
	    .op = LAUNCH(BEYOND, A1, G(1)), .x = X_INPUT),
	ROW("§9.3", "launched page, then RMPUPDATE: no longer validated",
	    .setup = {PRIV(R(1), A1, G(1)), LAUNCH(R(1), A1, G(1))}, .op = PRIV(R(1), A1, G(1)),
	    .x = X_DONE, .after = {E_PRIV(1, R(1), A1, G(1), false)}),
};

/* ================================================================== 2M/4K interplay §1.5, §7.2 */

static const row_t interplay_rows[] = {
	ROW("§2.2", "2M validate, PSMASH, 4K PVALIDATE of a sub-page: CF=1",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2))},
	    .op = VAL(A1, GF(2, 123), RF(2, 123)), .x = X_NOUPDATE,
	    .after = {E_PRIV(512, R(2), A1, G(2), true)}),
	ROW("§2.2", "2M validate, PSMASH, rescind one 4K page: CF=0, neighbours stay valid",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2))},
	    .op = RESC(A1, GF(2, 200), RF(2, 200)), .x = X_OK,
	    .after = {E_PRIV(200, R(2), A1, G(2), true), E_PRIV(1, RF(2, 200), A1, GF(2, 200), false),
		      E_PRIV(311, RF(2, 201), A1, GF(2, 201), true)}),
	ROW("§7.2", "#NPF SIZEM then PSMASH: the retried 4K PVALIDATE succeeds",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))}, .op = VAL(A1, GF(2, 7), RF(2, 7)),
	    .x = X_OK,
	    .after = {E_PRIV(7, R(2), A1, G(2), false), E_PRIV(1, RF(2, 7), A1, GF(2, 7), true),
		      E_PRIV(504, RF(2, 8), A1, GF(2, 8), false)}),
	ROW("§7.2", "after PSMASH a 2M PVALIDATE is FAIL_SIZEMISMATCH (guest falls back to 4K)",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2))}, .op = VAL2M(A1, G(2), R(2)),
	    .x = X_SIZEMISMATCH, .after = {E_PRIV(512, R(2), A1, G(2), false)}),
	ROW("§1.5", "after PSMASH + 4K rescinds, a 2M rescind is FAIL_SIZEMISMATCH",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2)),
		      RESC(A1, G(2), R(2))},
	    .op = RESC2M(A1, G(2), R(2)), .x = X_SIZEMISMATCH),
	ROW("§1.5", "PSMASH, unsmash, then 2M rescind: CF=0",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), SMASH(R(2)), UNSMASH(R(2))},
	    .op = RESC2M(A1, G(2), R(2)), .x = X_OK, .after = {E_PRIV2M(R(2), A1, G(2), false)}),
	ROW("§1.5", "PSMASH, share one page, re-private it: 2M RMPUPDATE still overlaps",
	    .setup = {PRIV2M(R(2), A1, G(2)), SMASH(R(2)), SHARE(RF(2, 9)),
		      PRIV(RF(2, 9), A1, GF(2, 9))},
	    .op = PRIV2M(R(2), A1, G(2)), .x = X_OVERLAP),
	ROW("§1.5", "4K validate in a 4K region beside a 2M region (no bleed)",
	    .setup = {PRIV2M(R(2), A1, G(2)), VAL2M(A1, G(2), R(2)), PRIV(RF(3, 0), A1, G(3))},
	    .op = VAL(A1, G(3), R(3)), .x = X_OK,
	    .after = {E_PRIV2M(R(2), A1, G(2), true), E_PRIV(1, R(3), A1, G(3), true)}),
	ROW("§1.5", "2M make-shared does not touch the neighbouring 2M region",
	    .setup = {PRIV2M(R(2), A1, G(2)), PRIV2M(R(3), A1, G(3)), VAL2M(A1, G(3), R(3))},
	    .op = SHARE2M(R(2)), .x = X_DONE,
	    .after = {E_HV2M(R(2)), E_PRIV2M(R(3), A1, G(3), true)}),
};

/* ------------------------------------------------------------------ tests */

static void test_pvalidate(void **state)
{
	(void)state;
	RUN_TABLE(pvalidate_rows);
}

static void test_rmpupdate(void **state)
{
	(void)state;
	RUN_TABLE(rmpupdate_rows);
}

static void test_psmash_unsmash(void **state)
{
	(void)state;
	RUN_TABLE(psmash_rows);
}

static void test_rmpadjust(void **state)
{
	(void)state;
	RUN_TABLE(rmpadjust_rows);
}

static void test_access(void **state)
{
	(void)state;
	RUN_TABLE(access_rows);
}

static void test_host_write(void **state)
{
	(void)state;
	RUN_TABLE(host_write_rows);
}

static void test_launch(void **state)
{
	(void)state;
	RUN_TABLE(launch_rows);
}

static void test_interplay(void **state)
{
	(void)state;
	RUN_TABLE(interplay_rows);
}

/* §2.1: every return code has its spec name */
static void test_ret_names(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		const char *name;
	} codes[] = {
		{SNP_RET_SUCCESS, "SUCCESS"},
		{SNP_RET_FAIL_INPUT, "FAIL_INPUT"},
		{SNP_RET_FAIL_PERMISSION, "FAIL_PERMISSION"},
		{SNP_RET_FAIL_INUSE, "FAIL_INUSE"},
		{SNP_RET_FAIL_OVERLAP, "FAIL_OVERLAP"},
		{SNP_RET_FAIL_SIZEMISMATCH, "FAIL_SIZEMISMATCH"},
		{SNP_RET_FAIL_UNSUITABLE, "FAIL_UNSUITABLE"}, /* name UNCONFIRMED; rmp.h's */
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = rmp_ret_to_string(codes[i].code);
		assert_non_null(s);
		assert_string_equal(s, codes[i].name);
	}
	/* the software code 255 (not a hardware code, facts §2.1) has a name too */
	assert_non_null(rmp_ret_to_string(PVALIDATE_FAIL_NOUPDATE));
	/* 5 is not a code (facts §2.1 skips it), nor is anything between 8 and 254 */
	assert_null(rmp_ret_to_string(5));
	assert_null(rmp_ret_to_string(8));
	assert_null(rmp_ret_to_string(254));
}

/* Every outcome name round-trips, both directions, and distinct names are distinct outcomes. */
static void test_result_names(void **state)
{
	(void)state;
	static const char *const names[] = {
		"SUCCESS",	   "SUCCESS_NOUPDATE",	    "FAIL_INPUT",   "FAIL_PERMISSION",
		"FAIL_INUSE",	   "FAIL_OVERLAP",	    "FAIL_SIZEMISMATCH", "FAIL_UNSUITABLE",
		"NPF_RMP",	   "NPF_RMP_SIZEM",	    "NPF_RMP_VMPL", "VC_PAGE_NOT_VALIDATED",
		"GP",		   "HOST_PF_RMP",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	rmp_result_t rs[sizeof(names) / sizeof(names[0])];
	for (size_t i = 0; i < n; i++) {
		assert_true(rmp_result_from_string(names[i], &rs[i]));
		assert_string_equal(rmp_result_to_string(rs[i]), names[i]);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_false(rs[i].fault == rs[j].fault && rs[i].ret == rs[j].ret &&
				     rs[i].cf == rs[j].cf && rs[i].error_code == rs[j].error_code);

	/* the parsed outcomes are the architectural ones */
	rmp_result_t r;
	assert_true(rmp_result_from_string("SUCCESS_NOUPDATE", &r));
	assert_true(r.fault == RMP_FAULT_NONE && r.ret == 0 && r.cf == 1);
	assert_true(rmp_result_from_string("FAIL_SIZEMISMATCH", &r));
	assert_true(r.fault == RMP_FAULT_NONE && r.ret == SNP_RET_FAIL_SIZEMISMATCH);
	assert_true(rmp_result_from_string("NPF_RMP_SIZEM", &r));
	assert_true(r.fault == RMP_FAULT_NPF && (r.error_code & PFERR_RMP) &&
		    (r.error_code & PFERR_GUEST_SIZEM));
	assert_true(rmp_result_from_string("NPF_RMP_VMPL", &r));
	assert_true(r.fault == RMP_FAULT_NPF && (r.error_code & PFERR_GUEST_VMPL));
	assert_true(rmp_result_from_string("VC_PAGE_NOT_VALIDATED", &r));
	assert_true(r.fault == RMP_FAULT_VC && r.error_code == 0x404);
	assert_true(rmp_result_from_string("HOST_PF_RMP", &r));
	assert_true(r.fault == RMP_FAULT_HOST_PF && (r.error_code & (1ull << 31)));

	/* every hardware ret code's outcome has a name that parses back to it */
	static const uint32_t hw[] = {SNP_RET_SUCCESS,	      SNP_RET_FAIL_INPUT,
				      SNP_RET_FAIL_PERMISSION, SNP_RET_FAIL_INUSE,
				      SNP_RET_FAIL_OVERLAP,    SNP_RET_FAIL_SIZEMISMATCH,
				      SNP_RET_FAIL_UNSUITABLE};
	for (size_t i = 0; i < sizeof(hw) / sizeof(hw[0]); i++) {
		rmp_result_t in = {.fault = RMP_FAULT_NONE, .ret = hw[i]};
		rmp_result_t back;
		assert_true(rmp_result_from_string(rmp_result_to_string(in), &back));
		assert_int_equal(back.fault, RMP_FAULT_NONE);
		assert_int_equal(back.ret, hw[i]);
		assert_int_equal(back.cf, 0);
	}

	/* real fault outcomes (with their extra error-code bits) name the same outcome */
	rmp_t *rmp = rmp_new(LIMIT);
	assert_non_null(rmp);
	rmp_state_t st = {.gpa = G(2), .asid = A1, .assigned = true, .page_2m = true};
	assert_true(rmp_ok(rmp_rmpupdate(rmp, 0, R(2), &st)));
	assert_string_equal(rmp_result_to_string(rmp_pvalidate(rmp, A1, 0, GF(2, 1), RF(2, 1), false,
							       true)),
			    "NPF_RMP_SIZEM");
	assert_string_equal(rmp_result_to_string(rmp_pvalidate(rmp, A2, 0, G(2), R(2), true, true)),
			    "NPF_RMP");
	assert_string_equal(rmp_result_to_string(rmp_check_access(rmp, A1, 0, G(2), R(2), true, RD,
								  true)),
			    "VC_PAGE_NOT_VALIDATED");
	assert_true(rmp_ok(rmp_pvalidate(rmp, A1, 0, G(2), R(2), true, true)));
	assert_string_equal(rmp_result_to_string(rmp_check_access(rmp, A1, 1, G(2), R(2), true, RD,
								  true)),
			    "NPF_RMP_VMPL");
	assert_string_equal(rmp_result_to_string(rmp_pvalidate(rmp, A1, 0, G(2), R(2), true, true)),
			    "SUCCESS_NOUPDATE");
	assert_string_equal(rmp_result_to_string(rmp_pvalidate(rmp, A1, 1, G(2), R(2), true, true)),
			    "GP");
	assert_string_equal(rmp_result_to_string(rmp_check_host_write(rmp, R(2), true)),
			    "HOST_PF_RMP");
	rmp_free(rmp);

	assert_false(rmp_result_from_string("NO_SUCH_OUTCOME", &r));
	assert_false(rmp_result_from_string("", &r));
	assert_false(rmp_result_from_string("success", &r));
}

static void test_npf_bits_names(void **state)
{
	(void)state;
	char buf[128];
	assert_string_equal(rmp_npf_bits_to_string(PFERR_RMP | PFERR_GUEST_SIZEM, buf, sizeof(buf)),
			    "RMP|SIZEM");
	assert_string_equal(rmp_npf_bits_to_string(PFERR_PRESENT | PFERR_WRITE | PFERR_RMP |
							   PFERR_GUEST_ENC | PFERR_GUEST_VMPL,
						   buf, sizeof(buf)),
			    "P|W|RMP|ENC|VMPL");
	assert_string_equal(rmp_npf_bits_to_string(0, buf, sizeof(buf)), "");
	/* a short buffer is truncated at a name boundary, still terminated */
	char small[6];
	memset(small, 'x', sizeof(small));
	rmp_npf_bits_to_string(PFERR_RMP | PFERR_GUEST_SIZEM, small, sizeof(small));
	assert_string_equal(small, "RMP");
}

/* §1.1: lookups beyond the coverage read as hypervisor-owned and say so */
static void test_lookup_coverage(void **state)
{
	(void)state;
	rmp_t *rmp = rmp_new(LIMIT);
	assert_non_null(rmp);
	assert_int_equal(rmp_spa_limit(rmp), LIMIT);
	rmp_entry_t e;
	memset(&e, 0xAA, sizeof(e));
	assert_false(rmp_lookup(rmp, BEYOND, &e));
	assert_false(e.assigned || e.validated || e.page_2m || e.asid);
	assert_true(rmp_lookup(rmp, BEYOND - K4, &e));
	assert_false(e.assigned);
	rmp_free(rmp);
	/* an RMP covers whole 4K pages only, and at most the 52-bit physical space */
	assert_null(rmp_new(0));
	assert_null(rmp_new(LIMIT + 1));
	assert_null(rmp_new(RMP_SPA_LIMIT_MAX + K4));
	rmp = rmp_new(RMP_SPA_LIMIT_MAX);
	assert_non_null(rmp);
	rmp_state_t st = {.gpa = G(0), .asid = A1, .assigned = true, .page_2m = true};
	assert_true(rmp_ok(rmp_rmpupdate(rmp, 0, RMP_SPA_LIMIT_MAX - M2, &st)));
	assert_true(rmp_lookup(rmp, RMP_SPA_LIMIT_MAX - K4, &e));
	assert_true(e.assigned && e.page_2m && e.gpa == G(0) + 511 * K4);
	rmp_free(rmp);
}

/* rmp.h: storage is sparse, and a 2 MiB entry costs 16 bytes in total */
static void test_stats_sparse(void **state)
{
	(void)state;
	rmp_t *rmp = rmp_new(LIMIT);
	assert_non_null(rmp);
	rmp_stats_t s;
	rmp_stats(rmp, &s);
	assert_int_equal(s.populated_pages, 0);
	assert_int_equal(s.entry_bytes, 0);
	rmp_state_t p4 = {.gpa = GF(2, 5), .asid = A1, .assigned = true};
	rmp_state_t sh = {0};
	rmp_state_t p2 = {.gpa = G(2), .asid = A1, .assigned = true, .page_2m = true};
	assert_true(rmp_ok(rmp_rmpupdate(rmp, 0, RF(2, 5), &p4)));
	rmp_stats(rmp, &s);
	assert_int_equal(s.populated_pages, 512); /* one 2M unit of 4K entries */
	assert_int_equal(s.entry_bytes, 512 * 16);
	assert_true(rmp_ok(rmp_rmpupdate(rmp, 0, RF(2, 5), &sh)));
	assert_true(rmp_ok(rmp_rmpupdate(rmp, 0, R(2), &p2)));
	rmp_stats(rmp, &s);
	assert_int_equal(s.populated_pages, 0); /* the 2M entry replaced the 512 */
	assert_int_equal(s.entry_bytes, 0);
	assert_true(rmp_ok(rmp_psmash(rmp, 0, R(2))));
	rmp_stats(rmp, &s);
	assert_int_equal(s.populated_pages, 512);
	assert_true(rmp_ok(rmp_unsmash(rmp, 0, R(2))));
	rmp_stats(rmp, &s);
	assert_int_equal(s.populated_pages, 0);
	rmp_free(rmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvalidate),      cmocka_unit_test(test_rmpupdate),
		cmocka_unit_test(test_psmash_unsmash), cmocka_unit_test(test_rmpadjust),
		cmocka_unit_test(test_access),	       cmocka_unit_test(test_host_write),
		cmocka_unit_test(test_launch),	       cmocka_unit_test(test_interplay),
		cmocka_unit_test(test_ret_names),      cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_npf_bits_names), cmocka_unit_test(test_lookup_coverage),
		cmocka_unit_test(test_stats_sparse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
