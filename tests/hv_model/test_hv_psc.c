/* SPDX-License-Identifier: MIT */
/*
 * Page State Change through the GHCB (facts §6): the descriptor (§6.2-6.4),
 * KVM's processing (§6.5: cur_entry, end_entry, cur_page, 4K and 2M, PSMASH and
 * UNSMASH hints, partial progress, the status codes), and the header rules the
 * guest checks after every exit (§6.6: reserved stays 0, end_entry unchanged,
 * cur_entry never moves backwards, every call makes progress or fails).
 */
#include "hv_harness.h"

#include <string.h>

#define G0 TH_GHCB(0)
#define SB GHCB_OFF_SHARED_BUFFER
#define PRIV SNP_PAGE_STATE_PRIVATE
#define SHRD SNP_PAGE_STATE_SHARED
#define SMASH SNP_PAGE_STATE_PSMASH
#define UNSMASH SNP_PAGE_STATE_UNSMASH

#define W(n) (TH_WORK + (uint64_t)(n)*K4) /* 4K pages in the first work 2M region */
#define R2(n) (TH_WORK + (uint64_t)(n)*M2) /* 2M regions from TH_WORK */

static uint64_t e4(uint64_t gpa, uint32_t op)
{
	return psc_entry(TH_GFN(gpa), op, 0, 0);
}

static uint64_t e2(uint64_t gpa, uint32_t op)
{
	return psc_entry(TH_GFN(gpa), op, 1, 0);
}

static int setup_registered(void **state)
{
	th_t *t = th_new();
	th_register(t, 0, G0);
	*state = t;
	return 0;
}

/* What the guest checks after each exit (facts §6.6), the answer convention (§6.5 step 7). */
static void expect_sane(th_t *t, uint32_t off, uint16_t cur0, uint16_t end0, const char *file,
			int line)
{
	struct psc_hdr h = th_psc_hdr(t, 0, off);
	_assert_int_equal(th_info1(t, 0), 0, file, line);
	_assert_int_equal(h.reserved, 0, file, line);
	_assert_int_equal(h.end_entry, end0, file, line);
	_assert_true(h.cur_entry >= cur0, "cur_entry moved backwards", file, line);
}
#define EXPECT_SANE(t, cur0, end0) expect_sane((t), SB, (cur0), (end0), __FILE__, __LINE__)

static void expect_range(th_t *t, uint64_t gpa, uint64_t npages, bool assigned, bool validated,
			 const char *file, int line)
{
	for (uint64_t i = 0; i < npages; i++)
		th_expect_page(t, gpa + i * K4, assigned, validated, file, line);
}
#define EXPECT_RANGE(t, gpa, n, a, v) expect_range((t), (gpa), (n), (a), (v), __FILE__, __LINE__)

static uint32_t cur_page(th_t *t, uint32_t i)
{
	return PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, SB, i));
}

/* ------------------------------------------------------------------ 4K and 2M */

static void psc_4k_private_then_shared(void **state)
{
	th_t *t = *state;
	uint64_t ent[] = {e4(W(1), PRIV), e4(W(2), PRIV)};
	hv_exit_t x = th_psc(t, 0, 0, 1, ent, 2);
	assert_int_equal(x.action, HV_RESUME);
	EXPECT_SANE(t, 0, 1);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2); /* end_entry + 1 when all done */
	assert_int_equal(cur_page(t, 0), 1);
	assert_int_equal(cur_page(t, 1), 1);
	TH_EXPECT_PAGE(t, W(1), true, false); /* RMPUPDATE clears Validated (§6.5 step 4) */
	TH_EXPECT_PAGE(t, W(2), true, false);
	TH_EXPECT_PAGE(t, W(0), false, false);
	TH_EXPECT_PAGE(t, W(3), false, false);
	/* the GFN and operation fields of the entries are the guest's and come back as sent */
	for (uint32_t i = 0; i < 2; i++) {
		uint64_t got = th_psc_entry(t, 0, SB, i);
		assert_int_equal(got & ~PSC_ENTRY_CUR_PAGE_MASK, ent[i]);
	}

	/* the guest validates one, then both go back to shared: Validated is gone too */
	assert_true(rmp_ok(th_pvalidate(t, W(1))));
	uint64_t back[] = {e4(W(1), SHRD), e4(W(2), SHRD)};
	x = th_psc(t, 0, 0, 1, back, 2);
	EXPECT_SANE(t, 0, 1);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, W(2), false, false);
}

static void psc_2m_private_then_shared(void **state)
{
	th_t *t = *state;
	uint64_t ent = e2(R2(1), PRIV);
	th_psc(t, 0, 0, 0, &ent, 1);
	EXPECT_SANE(t, 0, 0);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 1);
	assert_int_equal(cur_page(t, 0), 512);
	EXPECT_RANGE(t, R2(1), 512, true, false);
	TH_EXPECT_PAGE(t, R2(1) - K4, false, false);
	TH_EXPECT_PAGE(t, R2(2), false, false);
	/* a 2M private range takes a 2M PVALIDATE (facts §2.2) when the RMP entry is 2M */
	rmp_result_t pv = rmp_pvalidate(t->rmp, TH_ASID, 0, R2(1), R2(1), true, true);
	if (th_rmp(t, R2(1)).page_2m)
		assert_true(rmp_ok(pv));

	ent = e2(R2(1), SHRD);
	th_psc(t, 0, 0, 0, &ent, 1);
	EXPECT_SANE(t, 0, 0);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(cur_page(t, 0), 512);
	EXPECT_RANGE(t, R2(1), 512, false, false);
}

/* A 2M entry over pages of which some are already private: those keep Validated. */
static void psc_2m_private_over_mixed_region(void **state)
{
	th_t *t = *state;
	th_private(t, R2(1) + 7 * K4, true);
	th_private(t, R2(1) + 300 * K4, false);
	uint64_t ent = e2(R2(1), PRIV);
	th_psc(t, 0, 0, 0, &ent, 1);
	EXPECT_SANE(t, 0, 0);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(cur_page(t, 0), 512);
	for (uint64_t i = 0; i < 512; i++)
		th_expect_page(t, R2(1) + i * K4, true, i == 7, __FILE__, __LINE__);
}

/* A 2M shared entry over 4K private pages (a smashed region): all shared after. */
static void psc_2m_shared_over_4k_entries(void **state)
{
	th_t *t = *state;
	th_private_2m(t, R2(1), true);
	assert_true(rmp_ok(rmp_psmash(t->rmp, 0, R2(1))));
	uint64_t ent = e2(R2(1), SHRD);
	th_psc(t, 0, 0, 0, &ent, 1);
	EXPECT_SANE(t, 0, 0);
	assert_int_equal(th_info2(t, 0), 0);
	EXPECT_RANGE(t, R2(1), 512, false, false);
}

/* ------------------------------------------------------------------ entry checks */

/*
 * INVALID_ENTRY (0x1_0000_0002): cur_page > npages or a misaligned 2M GFN. The
 * bad entry is not processed and cur_entry stays on it; earlier entries are done.
 */
static void psc_invalid_entry(void **state)
{
	(void)state;
	const struct {
		int line;
		uint64_t entry;
	} rows[] = {
		/* a 2M entry's GFN must be 512-aligned (§6.3, §6.5 step 2) */
		{__LINE__, psc_entry(TH_GFN(R2(1) + K4), PRIV, 1, 0)},
		{__LINE__, psc_entry(TH_GFN(R2(1) + 256 * K4), SHRD, 1, 0)},
		{__LINE__, psc_entry(TH_GFN(W(5)), PRIV, 0, 2)},        /* 4K: cur_page 2 > 1 */
		{__LINE__, psc_entry(TH_GFN(W(5)), PRIV, 0, 0xFFF)},
		{__LINE__, psc_entry(TH_GFN(R2(1)), PRIV, 1, 513)},     /* 2M: cur_page 513 > 512 */
		{__LINE__, psc_entry(TH_GFN(R2(1)), SHRD, 1, 0xFFF)},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		th_t *t = th_new();
		th_register(t, 0, G0);
		uint64_t ent[] = {e4(W(1), PRIV), rows[i].entry, e4(W(2), PRIV)};
		th_psc(t, 0, 0, 2, ent, 3);
		expect_sane(t, SB, 0, 2, __FILE__, rows[i].line);
		_assert_int_equal(th_info2(t, 0), VMGEXIT_PSC_ERROR_INVALID_ENTRY, __FILE__,
				  rows[i].line);
		_assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 1, __FILE__, rows[i].line);
		th_expect_page(t, W(1), true, false, __FILE__, rows[i].line);
		th_expect_page(t, W(2), false, false, __FILE__, rows[i].line); /* after the bad one */
		expect_range(t, R2(1), 512, false, false, __FILE__, rows[i].line);
		th_expect_page(t, W(5), false, false, __FILE__, rows[i].line);
		/* the bad entry comes back as it was sent */
		_assert_int_equal(th_psc_entry(t, 0, SB, 1), rows[i].entry, __FILE__, rows[i].line);
		th_free(t);
	}
}

/* Entries already complete (cur_page = npages) are skipped: no RMP change, cur_entry moves. */
static void psc_completed_entries_skipped(void **state)
{
	th_t *t = *state;
	th_private(t, W(1), true);
	uint64_t ent[] = {
		psc_entry(TH_GFN(W(1)), SHRD, 0, 1),   /* done 4K: must not be made shared */
		psc_entry(TH_GFN(R2(1)), PRIV, 1, 512), /* done 2M: must not be made private */
		e4(W(3), PRIV),
	};
	th_psc(t, 0, 0, 2, ent, 3);
	EXPECT_SANE(t, 0, 2);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 3);
	TH_EXPECT_PAGE(t, W(1), true, true);
	EXPECT_RANGE(t, R2(1), 512, false, false);
	TH_EXPECT_PAGE(t, W(3), true, false);
	assert_int_equal(cur_page(t, 0), 1);
	assert_int_equal(cur_page(t, 1), 512);
	assert_int_equal(cur_page(t, 2), 1);
	/* a skipped entry is no work: a hypervisor doing one entry per exit still gets past them */
	th_t *u = th_alloc();
	u->cfg.psc_max_entries = 1;
	th_start(u);
	th_register(u, 0, G0);
	th_psc(u, 0, 0, 2, ent, 3);
	assert_int_equal(th_info2(u, 0), 0);
	assert_int_equal(th_psc_hdr(u, 0, SB).cur_entry, 3);
	TH_EXPECT_PAGE(u, W(3), true, false);
	assert_int_equal(th_count(u, HV_EV_RMPUPDATE), 1);
	th_free(u);
}

/* A partly done 2M entry (cur_page = k): only pages k..511 are processed, at 4K. */
static void psc_2m_partial_resumes_at_cur_page(void **state)
{
	th_t *t = *state;
	static const uint32_t ks[] = {1, 100, 511};
	for (size_t i = 0; i < G_N_ELEMENTS(ks); i++) {
		uint64_t base = R2(1 + i);
		uint64_t ent = psc_entry(TH_GFN(base), PRIV, 1, ks[i]);
		th_psc(t, 0, 0, 0, &ent, 1);
		EXPECT_SANE(t, 0, 0);
		assert_int_equal(th_info2(t, 0), 0);
		assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 1);
		assert_int_equal(cur_page(t, 0), 512);
		EXPECT_RANGE(t, base, ks[i], false, false);
		EXPECT_RANGE(t, base + ks[i] * K4, 512 - ks[i], true, false);
	}
	/* the same for shared over a validated 2M entry: the first k pages keep their state */
	th_private_2m(t, R2(5), true);
	uint64_t ent = psc_entry(TH_GFN(R2(5)), SHRD, 1, 200);
	th_psc(t, 0, 0, 0, &ent, 1);
	EXPECT_SANE(t, 0, 0);
	assert_int_equal(th_info2(t, 0), 0);
	EXPECT_RANGE(t, R2(5), 200, true, true);
	EXPECT_RANGE(t, R2(5) + 200 * K4, 312, false, false);
}

/* ------------------------------------------------------------------ operations */

/*
 * PSMASH (3) and UNSMASH (4) are hints (§6.5 step 5): completed, no error, and
 * no page changes owner or loses Validated (PSMASH copies it, facts §2.2).
 */
static void psc_psmash_unsmash_hints(void **state)
{
	th_t *t = *state;
	th_private_2m(t, R2(1), true);
	uint64_t ent[] = {e4(R2(1) + 3 * K4, SMASH), e2(R2(1), SMASH)};
	th_psc(t, 0, 0, 1, ent, 2);
	EXPECT_SANE(t, 0, 1);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	assert_int_equal(cur_page(t, 0), 1);
	assert_int_equal(cur_page(t, 1), 512);
	EXPECT_RANGE(t, R2(1), 512, true, true);

	uint64_t un[] = {e2(R2(1), UNSMASH), e4(R2(1) + 9 * K4, UNSMASH)};
	th_psc(t, 0, 0, 1, un, 2);
	EXPECT_SANE(t, 0, 1);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	assert_int_equal(cur_page(t, 0), 512);
	assert_int_equal(cur_page(t, 1), 1);
	EXPECT_RANGE(t, R2(1), 512, true, true);

	/* on shared memory the hints change nothing either */
	uint64_t sh[] = {e2(R2(3), SMASH), e2(R2(3), UNSMASH), e4(W(9), SMASH)};
	th_psc(t, 0, 0, 2, sh, 3);
	EXPECT_SANE(t, 0, 2);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 3);
	EXPECT_RANGE(t, R2(3), 512, false, false);
	TH_EXPECT_PAGE(t, W(9), false, false);
}

typedef struct op_row {
	const char *file;
	int line;
	uint32_t op;
} op_row_t;

static const op_row_t op_rows[] = {
	{ROW_HERE, 0}, {ROW_HERE, 5}, {ROW_HERE, 6}, {ROW_HERE, 8}, {ROW_HERE, 15},
};

/*
 * Operations 0 and 5-15 are invalid (GHCB spec); KVM completes them as no-ops
 * (§6.5 step 5). Default: either answer, and never an RMP change. Strict:
 * INVALID_ENTRY with cur_entry on the entry.
 */
static void psc_invalid_operations(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(op_rows); i++) {
		const op_row_t *r = &op_rows[i];
		for (int strict = 0; strict < 2; strict++) {
			th_t *t = th_alloc();
			t->cfg.strict_psc_ops = strict;
			th_start(t);
			th_register(t, 0, G0);
			th_private(t, W(1), true);
			uint64_t ent[] = {e4(W(1), r->op), e4(W(2), r->op), e2(R2(1), r->op)};
			th_psc(t, 0, 0, 2, ent, 3);
			ROW_EQ(r, th_info1(t, 0), 0);
			struct psc_hdr h = th_psc_hdr(t, 0, SB);
			ROW_EQ(r, h.reserved, 0);
			ROW_EQ(r, h.end_entry, 2);
			uint64_t st = th_info2(t, 0);
			if (strict) {
				ROW_EQ(r, st, VMGEXIT_PSC_ERROR_INVALID_ENTRY);
				ROW_EQ(r, h.cur_entry, 0);
			} else if (st == 0) {
				ROW_EQ(r, h.cur_entry, 3);
			} else {
				ROW_EQ(r, st, VMGEXIT_PSC_ERROR_INVALID_ENTRY);
				ROW_EQ(r, h.cur_entry, 0);
			}
			th_expect_page(t, W(1), true, true, r->file, r->line);
			th_expect_page(t, W(2), false, false, r->file, r->line);
			expect_range(t, R2(1), 512, false, false, r->file, r->line);
			th_free(t);
		}
	}
}

/* Every kind of entry in one descriptor (§6.5 steps 2-6). */
static void psc_mixed_entries(void **state)
{
	th_t *t = *state;
	th_private(t, W(2), true);
	th_private_2m(t, R2(3), true);
	uint64_t ent[] = {
		e4(W(1), PRIV),
		e4(W(2), SHRD),
		e2(R2(1), PRIV),
		e4(R2(3) + 5 * K4, SMASH),
		e2(R2(3), SHRD),
		e4(W(3), PRIV),
		e4(W(4), PRIV), /* contiguous with the previous: KVM may merge them */
		e2(R2(2), SHRD), /* already shared */
		e4(W(1), SHRD),  /* the same GFN again, the other way */
	};
	const uint16_t end = (uint16_t)(G_N_ELEMENTS(ent) - 1);
	th_psc(t, 0, 0, end, ent, G_N_ELEMENTS(ent));
	EXPECT_SANE(t, 0, end);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, end + 1);
	static const uint32_t want_cur[] = {1, 1, 512, 1, 512, 1, 1, 512, 1};
	for (uint32_t i = 0; i <= end; i++)
		assert_int_equal(cur_page(t, i), want_cur[i]);
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, W(2), false, false);
	EXPECT_RANGE(t, R2(1), 512, true, false);
	EXPECT_RANGE(t, R2(3), 512, false, false);
	TH_EXPECT_PAGE(t, W(3), true, false);
	TH_EXPECT_PAGE(t, W(4), true, false);
	EXPECT_RANGE(t, R2(2), 512, false, false);
	/* one HV_EV_PSC_ENTRY per entry, in order, each naming its GFN and operation */
	assert_int_equal(th_count(t, HV_EV_PSC_ENTRY), G_N_ELEMENTS(ent));
	for (uint32_t i = 0; i <= end; i++) {
		const hv_event_t *e = th_event(t, HV_EV_PSC_ENTRY, i);
		assert_int_equal(e->gfn, PSC_ENTRY_GFN(ent[i]));
		assert_int_equal(e->op, PSC_ENTRY_OP(ent[i]));
		assert_int_equal(e->page_2m, PSC_ENTRY_2M(ent[i]));
		assert_int_equal(e->psc_status, 0);
	}
}

/* A page already private to the guest stays as it is, Validated and all (§6.5 step 4). */
static void psc_private_leaves_private_untouched(void **state)
{
	th_t *t = *state;
	th_private(t, W(1), true);
	th_private_2m(t, R2(1), true);
	uint64_t ent[] = {e4(W(1), PRIV), e2(R2(1), PRIV), e4(R2(1) + 4 * K4, PRIV)};
	th_psc(t, 0, 0, 2, ent, 3);
	EXPECT_SANE(t, 0, 2);
	assert_int_equal(th_info2(t, 0), 0);
	TH_EXPECT_PAGE(t, W(1), true, true);
	EXPECT_RANGE(t, R2(1), 512, true, true);
	/* so the guest's next PVALIDATE is a double validation: CF = 1 (facts §2.2, §7.5) */
	rmp_result_t pv = th_pvalidate(t, W(1));
	assert_true(rmp_ok(pv));
	assert_int_equal(pv.cf, 1);
}

/* ------------------------------------------------------------------ capacity (§6.4) */

static void fill_4k(uint64_t *ent, size_t n, uint32_t op)
{
	for (size_t i = 0; i < n; i++)
		ent[i] = e4(TH_RAM1 + i * K4, op);
}

/* 253 entries (indices 0..252, the last at GHCB offset 0xFE8) fill the buffer: accepted. */
static void psc_253_entries_accepted(void **state)
{
	th_t *t = *state;
	uint64_t ent[253];
	fill_4k(ent, 253, PRIV);
	th_psc(t, 0, 0, 252, ent, 253);
	EXPECT_SANE(t, 0, 252);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 253);
	EXPECT_RANGE(t, TH_RAM1, 253, true, false);
	TH_EXPECT_PAGE(t, TH_RAM1 + 253 * K4, false, false);
	assert_int_equal(cur_page(t, 252), 1);
	assert_int_equal(SB + 8 + 252 * 8, 0xFE8);
}

/*
 * end_entry = 253 names a 254th entry past the shared buffer (it would be at
 * 0xFF0): INVALID_HDR (0x1_0000_0001), nothing processed, header as sent.
 */
static void psc_254_entries_rejected(void **state)
{
	th_t *t = *state;
	static const uint16_t ends[] = {253, 254, 300, 0x7FFF, 0xFFFF};
	uint64_t ent[253];
	fill_4k(ent, 253, PRIV);
	for (size_t i = 0; i < G_N_ELEMENTS(ends); i++) {
		th_psc(t, 0, 0, ends[i], ent, 253);
		assert_int_equal(th_info1(t, 0), 0);
		assert_int_equal(th_info2(t, 0), VMGEXIT_PSC_ERROR_INVALID_HDR);
		struct psc_hdr h = th_psc_hdr(t, 0, SB);
		assert_int_equal(h.cur_entry, 0);
		assert_int_equal(h.end_entry, ends[i]);
		assert_int_equal(h.reserved, 0);
		EXPECT_RANGE(t, TH_RAM1, 254, false, false);
		/* the entries are not touched either */
		assert_int_equal(th_psc_entry(t, 0, SB, 0), ent[0]);
	}
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
}

/*
 * The limit is the room from SW_SCRATCH to 0xFF0, not 253 (the KVM fix, §6.6):
 * a descriptor at 0x808 holds 252 entries, at 0xC00 125, at 0xFE0 one, at 0xFE8 none.
 */
static void psc_capacity_follows_scratch(void **state)
{
	th_t *t = *state;
	const struct {
		int line;
		uint32_t off;
		uint16_t end;
		bool ok;
	} rows[] = {
		{__LINE__, 0x808, 251, true}, {__LINE__, 0x808, 252, false},
		{__LINE__, 0xC00, 124, true}, {__LINE__, 0xC00, 125, false},
		{__LINE__, 0xFE0, 0, true},   {__LINE__, 0xFE0, 1, false},
		{__LINE__, 0xFE8, 0, false},
	};
	uint64_t ent[253];
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		th_t *u = th_new();
		th_register(u, 0, G0);
		/* write the entries that fit before 0xFF0: beyond it is the version and usage */
		size_t room = (0xFF0 - rows[i].off - 8) / 8;
		size_t n = MIN((size_t)rows[i].end + 1u, room);
		fill_4k(ent, n, PRIV);
		th_psc_at(u, 0, rows[i].off, 0, rows[i].end, ent, n);
		_assert_int_equal(th_info1(u, 0), 0, __FILE__, rows[i].line);
		if (rows[i].ok) {
			_assert_int_equal(th_info2(u, 0), 0, __FILE__, rows[i].line);
			_assert_int_equal(th_psc_hdr(u, 0, rows[i].off).cur_entry, rows[i].end + 1,
					  __FILE__, rows[i].line);
			expect_range(u, TH_RAM1, rows[i].end + 1u, true, false, __FILE__, rows[i].line);
		} else {
			_assert_int_equal(th_info2(u, 0), VMGEXIT_PSC_ERROR_INVALID_HDR, __FILE__,
					  rows[i].line);
			_assert_int_equal(th_count(u, HV_EV_RMPUPDATE), 0, __FILE__, rows[i].line);
		}
		th_free(u);
	}
	(void)t;
}

/* cur_entry > end_entry: nothing to do, success (§6.5 status table). */
static void psc_nothing_to_do(void **state)
{
	th_t *t = *state;
	uint64_t ent[] = {e4(W(1), PRIV), e4(W(2), PRIV)};
	static const uint16_t curs[] = {2, 3, 253, 0xFFFF};
	for (size_t i = 0; i < G_N_ELEMENTS(curs); i++) {
		th_psc(t, 0, curs[i], 1, ent, 2);
		assert_int_equal(th_info1(t, 0), 0);
		assert_int_equal(th_info2(t, 0), 0);
		struct psc_hdr h = th_psc_hdr(t, 0, SB);
		assert_int_equal(h.cur_entry, curs[i]);
		assert_int_equal(h.end_entry, 1);
		assert_int_equal(h.reserved, 0);
	}
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, W(2), false, false);
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
}

/* ------------------------------------------------------------------ progress */

/* Processing starts at cur_entry: the entries before it are the guest's finished business. */
static void psc_resumes_at_cur_entry(void **state)
{
	th_t *t = *state;
	uint64_t ent[] = {e4(W(1), PRIV), e4(W(2), PRIV), e4(W(3), PRIV), e2(R2(1), PRIV)};
	th_psc(t, 0, 2, 3, ent, 4);
	EXPECT_SANE(t, 2, 3);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 4);
	TH_EXPECT_PAGE(t, W(1), false, false);
	TH_EXPECT_PAGE(t, W(2), false, false);
	TH_EXPECT_PAGE(t, W(3), true, false);
	EXPECT_RANGE(t, R2(1), 512, true, false);
	assert_int_equal(cur_page(t, 0), 0); /* untouched */
	assert_int_equal(cur_page(t, 1), 0);
}

/*
 * A hypervisor that returns early (psc_max_entries = 2, benign partial progress):
 * every exit makes progress, reports success, and the guest's re-issued VMGEXIT
 * continues from cur_entry until cur_entry = end_entry + 1 (§6.5, §6.6).
 */
static void psc_partial_progress_resumption(void **state)
{
	(void)state;
	th_t *t = th_alloc();
	t->cfg.psc_max_entries = 2;
	th_start(t);
	th_register(t, 0, G0);
	uint64_t ent[7];
	for (size_t i = 0; i < 6; i++)
		ent[i] = e4(W(10 + i), PRIV);
	ent[6] = e2(R2(1), PRIV);
	th_psc(t, 0, 0, 6, ent, 7);
	uint16_t prev = 0;
	int calls = 1;
	for (;;) {
		EXPECT_SANE(t, prev, 6);
		assert_int_equal(th_info2(t, 0), 0);
		uint16_t cur = th_psc_hdr(t, 0, SB).cur_entry;
		assert_true(cur > prev); /* progress on every exit, or the guest loops (§6.6) */
		assert_true(cur - prev <= 2);
		/* entries before cur are complete, after it untouched */
		for (uint16_t i = 0; i < 7; i++) {
			uint32_t np = i == 6 ? 512 : 1;
			assert_int_equal(cur_page(t, i), i < cur ? np : 0);
		}
		prev = cur;
		if (cur == 7)
			break;
		assert_true(++calls <= 7);
		th_psc_again(t, 0, SB);
	}
	assert_int_equal(calls, 4);
	EXPECT_RANGE(t, W(10), 6, true, false);
	EXPECT_RANGE(t, R2(1), 512, true, false);
	th_free(t);
}

/* An error stops processing at the failing entry; what came before is done and reported. */
static void psc_error_stops_at_entry(void **state)
{
	th_t *t = *state;
	uint64_t ent[] = {e4(W(1), PRIV), e4(W(2), PRIV), psc_entry(TH_GFN(TH_HOLE), PRIV, 0, 0),
			  e4(W(3), PRIV)};
	th_psc(t, 0, 0, 3, ent, 4);
	EXPECT_SANE(t, 0, 3);
	assert_int_not_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, SB).cur_entry, 2);
	TH_EXPECT_PAGE(t, W(1), true, false);
	TH_EXPECT_PAGE(t, W(2), true, false);
	TH_EXPECT_PAGE(t, W(3), false, false);
	assert_int_equal(cur_page(t, 0), 1);
	assert_int_equal(cur_page(t, 1), 1);
	assert_int_equal(cur_page(t, 3), 0);
}

typedef struct nr_row {
	const char *file;
	int line;
	uint64_t entry;
	uint64_t alias; /* a RAM page a truncated GFN would hit (0: none) */
} nr_row_t;

/*
 * A GFN that is not guest RAM fails the entry with a nonzero status; a GFN at
 * or above 1 TiB is not truncated onto a low page (edk2 e8c23d1e27, §6.6).
 */
static void psc_gfn_not_ram(void **state)
{
	(void)state;
	const nr_row_t rows[] = {
		{ROW_HERE, psc_entry(TH_GFN(TH_MMIO), PRIV, 0, 0), 0},
		{ROW_HERE, psc_entry(TH_GFN(TH_MMIO), PRIV, 1, 0), 0},
		{ROW_HERE, psc_entry(TH_GFN(TH_HOLE), SHRD, 0, 0), 0},
		{ROW_HERE, psc_entry(TH_GFN(TH_RMP_LIMIT), PRIV, 1, 0), 0},
		{ROW_HERE, psc_entry((1ull << 28) | TH_GFN(W(7)), PRIV, 0, 0), W(7)},
		{ROW_HERE, psc_entry((1ull << 39) | TH_GFN(R2(1)), PRIV, 1, 0), R2(1)},
		{ROW_HERE, psc_entry((1ull << 20) | TH_GFN(W(8)), SHRD, 0, 0), W(8)}, /* 4 GiB up */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		const nr_row_t *r = &rows[i];
		th_t *t = th_new();
		th_register(t, 0, G0);
		th_private(t, W(8), true);
		uint64_t ent = r->entry;
		th_psc(t, 0, 0, 0, &ent, 1);
		ROW_EQ(r, th_info1(t, 0), 0);
		ROW_NE(r, th_info2(t, 0), 0);
		ROW_EQ(r, th_psc_hdr(t, 0, SB).cur_entry, 0);
		ROW_EQ(r, th_count(t, HV_EV_RMPUPDATE), 0);
		th_expect_page(t, W(7), false, false, r->file, r->line);
		th_expect_page(t, W(8), true, true, r->file, r->line);
		expect_range(t, R2(1), 512, false, false, r->file, r->line);
		th_free(t);
	}
}

/* ------------------------------------------------------------------ the NAE itself */

/* No SW_SCRATCH, or one outside the shared buffer: SW_EXITINFO1 = 2 (§6.5, last note). */
static void psc_bad_scratch(void **state)
{
	th_t *t = *state;
	uint64_t ent = e4(W(1), PRIV);
	/* a well-formed descriptor at 0x800, but SW_SCRATCH not marked valid */
	th_ghcb_reset(t, G0);
	struct psc_hdr h = {0, 0, 0};
	memcpy(th_page(t, G0) + SB, &h, sizeof(h));
	memcpy(th_page(t, G0) + SB + 8, &ent, 8);
	th_ghcb_poke(t, G0, GHCB_OFF_SW_SCRATCH, G0 + SB);
	th_nae(t, 0, SVM_VMGEXIT_PSC, 0, 0);
	assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
	TH_EXPECT_PAGE(t, W(1), false, false);
	/* the descriptor in the save area, in the next page, in the trailer */
	static const uint64_t where[] = {G0 + 0x400, G0 + K4 + SB, G0 + 0xFF0, G0 + 0xFE9};
	for (size_t i = 0; i < G_N_ELEMENTS(where); i++) {
		th_ghcb_reset(t, G0);
		memcpy(th_page(t, where[i]) + (where[i] & (K4 - 1)), &h, sizeof(h) - 1);
		th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, where[i]);
		th_nae(t, 0, SVM_VMGEXIT_PSC, 0, 0);
		assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		assert_int_equal(th_info2(t, 0), GHCB_ERR_INVALID_SCRATCH_AREA);
	}
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
}

/*
 * A descriptor whose header sits in the GHCB trailer (SW_SCRATCH = GHCB + 0xFF8):
 * the scratch area is not inside [0x800, 0xFF0), so error 3 (facts §4.6). Its
 * end_entry is then the protocol-version field at 0xFFA, and its entries lie
 * past the end of the page: a hypervisor that accepts it copies entries from
 * beyond the GHCB page. With a hypervisor offering versions up to 0xFFFF the
 * guest picks end_entry = version = 300 > 252: a memory-safety probe (the HV's
 * entry copy is sized by a header that is outside the buffer).
 */
static void psc_scratch_in_trailer(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0); /* version 2 at 0xFFA: end_entry = 2 */
	uint16_t cur = 0;
	memcpy(th_page(t, G0) + 0xFF8, &cur, sizeof(cur));
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0xFF8);
	hv_exit_t x = th_nae(t, 0, SVM_VMGEXIT_PSC, 0, 0);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
	assert_int_equal(th_info2(t, 0), GHCB_ERR_INVALID_SCRATCH_AREA);
	assert_int_equal(th_count(t, HV_EV_PSC_ENTRY), 0);
}

static void psc_scratch_in_trailer_large_end(void **state)
{
	(void)state;
	uint16_t cur = 0;
	th_t *u = th_alloc();
	u->cfg.proto_max = 0xFFFF;
	th_start(u);
	th_register(u, 0, G0);
	th_ghcb_reset(u, G0);
	th_ghcb_set_version(u, G0, 300);
	memcpy(th_page(u, G0) + 0xFF8, &cur, sizeof(cur));
	th_ghcb_set(u, G0, GHCB_OFF_SW_SCRATCH, G0 + 0xFF8);
	hv_exit_t x = th_nae(u, 0, SVM_VMGEXIT_PSC, 0, 0);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(th_info1(u, 0), GHCB_HV_RESP_MALFORMED_INPUT);
	assert_int_equal(th_info2(u, 0), GHCB_ERR_INVALID_SCRATCH_AREA);
	th_free(u);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_registered, th_teardown)
	const struct CMUnitTest tests[] = {
		T(psc_4k_private_then_shared),
		T(psc_2m_private_then_shared),
		T(psc_2m_private_over_mixed_region),
		T(psc_2m_shared_over_4k_entries),
		cmocka_unit_test(psc_invalid_entry),
		T(psc_completed_entries_skipped),
		T(psc_2m_partial_resumes_at_cur_page),
		T(psc_psmash_unsmash_hints),
		cmocka_unit_test(psc_invalid_operations),
		T(psc_mixed_entries),
		T(psc_private_leaves_private_untouched),
		T(psc_253_entries_accepted),
		T(psc_254_entries_rejected),
		T(psc_capacity_follows_scratch),
		T(psc_nothing_to_do),
		T(psc_resumes_at_cur_entry),
		cmocka_unit_test(psc_partial_progress_resumption),
		T(psc_error_stops_at_entry),
		cmocka_unit_test(psc_gfn_not_ram),
		T(psc_bad_scratch),
		/* last: with the scratch-bounds bug it can corrupt memory (see its comment) */
		T(psc_scratch_in_trailer),
		cmocka_unit_test(psc_scratch_in_trailer_large_end),
	};
#undef T
	return cmocka_run_group_tests_name("hv_psc", tests, NULL, NULL);
}
