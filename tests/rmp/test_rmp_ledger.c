/* SPDX-License-Identifier: MIT */
/*
 * cmocka tests of the validation ledger (rmp.h, rmp_ledger_*): the guest's own
 * per-GPA record of what it validated, used to spot double validation (facts
 * §7.5-7.6) whatever the hypervisor did to the RMP in between.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rmp.h"

#define K4 ((uint64_t)SNP_PAGE_SIZE)
#define M2 ((uint64_t)SNP_PAGE_2M_SIZE)
#define TIB (1ull << 40)
#define TOP (1ull << 52) /* first GPA beyond the 52-bit space */

static int setup(void **state)
{
	*state = rmp_ledger_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	rmp_ledger_free(*state);
	return 0;
}

/* out must be held with exactly this record */
static void assert_rec(const rmp_ledger_t *l, uint64_t gpa, uint64_t seq, uint32_t vcpu,
		       uint64_t spa)
{
	rmp_ledger_rec_t r;
	assert_true(rmp_ledger_get(l, gpa, &r));
	assert_true(r.held);
	assert_int_equal(r.seq, seq);
	assert_int_equal(r.vcpu, vcpu);
	assert_int_equal(r.spa, spa);
}

static void assert_not_held(const rmp_ledger_t *l, uint64_t gpa)
{
	rmp_ledger_rec_t r;
	memset(&r, 0xAA, sizeof(r));
	assert_false(rmp_ledger_get(l, gpa, &r));
	assert_false(r.held);
}

/* ------------------------------------------------------------------ validate */

static void test_empty(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_held_pages(l), 0);
	assert_not_held(l, 0);
	assert_not_held(l, 0x1234000);
	assert_not_held(l, TOP - K4);
	assert_not_held(l, TOP); /* beyond the space: simply not held */
	rmp_ledger_free(NULL);	 /* allowed, like free() */
}

static void test_validate_4k(void **state)
{
	rmp_ledger_t *l = *state;
	rmp_ledger_rec_t c = {.seq = 99};
	uint64_t cg = 77;
	assert_int_equal(rmp_ledger_validate(l, 0x5000, 1, 7, 3, 0xABC000, &c, &cg), 0);
	/* no conflict: the out-parameters are left alone */
	assert_int_equal(c.seq, 99);
	assert_int_equal(cg, 77);
	assert_rec(l, 0x5000, 7, 3, 0xABC000);
	/* any byte of the page finds it */
	assert_rec(l, 0x5FFF, 7, 3, 0xABC000);
	assert_not_held(l, 0x4000);
	assert_not_held(l, 0x6000);
	assert_int_equal(rmp_ledger_held_pages(l), 1);
}

static void test_validate_4k_range(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 0x10000, 10, 1, 0, 0x800000, NULL, NULL), 0);
	for (uint64_t i = 0; i < 10; i++)
		assert_rec(l, 0x10000 + i * K4, 1, 0, 0x800000 + i * K4); /* SPAs consecutive */
	assert_not_held(l, 0x10000 - K4);
	assert_not_held(l, 0x10000 + 10 * K4);
	assert_int_equal(rmp_ledger_held_pages(l), 10);
}

static void test_validate_2m_huge(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 6 * M2, s = 40 * M2;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 5, 2, s, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 512);
	assert_rec(l, g, 5, 2, s);
	assert_rec(l, g + K4, 5, 2, s + K4);
	assert_rec(l, g + 300 * K4, 5, 2, s + 300 * K4);
	assert_rec(l, g + 511 * K4, 5, 2, s + 511 * K4);
	assert_not_held(l, g - K4);
	assert_not_held(l, g + M2);
	uint64_t miss = 1;
	assert_int_equal(rmp_ledger_count_held(l, g, 512, &miss), 512);
	assert_int_equal(miss, 1); /* untouched when nothing is missing */
}

/* A range that is not 2M aligned: 4K records, a huge unit, 4K records. */
static void test_validate_straddling_range(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 3 * M2 - 8 * K4, s = 0x100000000ull;
	assert_int_equal(rmp_ledger_validate(l, g, 8 + 512 + 8, 9, 1, s, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 528);
	for (uint64_t i = 0; i < 528; i++)
		assert_rec(l, g + i * K4, 9, 1, s + i * K4);
	assert_not_held(l, g - K4);
	assert_not_held(l, g + 528 * K4);
	/* several whole units at once */
	assert_int_equal(rmp_ledger_validate(l, 64 * M2, 3 * 512, 10, 4, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 528 + 1536);
	assert_rec(l, 65 * M2 + 17 * K4, 10, 4, M2 + 17 * K4);
	assert_rec(l, 67 * M2 - K4, 10, 4, 3 * M2 - K4);
	assert_not_held(l, 67 * M2);
}

/* ------------------------------------------------------------------ conflicts */

static void test_conflict_4k(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 0x7000, 1, 11, 2, 0x111000, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg = 0;
	/* the same GPA again, now at another SPA (the HV remapped it): a conflict */
	assert_int_equal(rmp_ledger_validate(l, 0x7000, 1, 12, 5, 0x222000, &c, &cg), 1);
	assert_true(c.held);
	assert_int_equal(c.seq, 11);
	assert_int_equal(c.vcpu, 2);
	assert_int_equal(c.spa, 0x111000);
	assert_int_equal(cg, 0x7000);
	/* the new event replaces the old one; still one page held */
	assert_rec(l, 0x7000, 12, 5, 0x222000);
	assert_int_equal(rmp_ledger_held_pages(l), 1);
	/* NULL out-pointers are allowed */
	assert_int_equal(rmp_ledger_validate(l, 0x7000, 1, 13, 5, 0x222000, NULL, NULL), 1);
	assert_rec(l, 0x7000, 13, 5, 0x222000);
}

static void test_conflict_first_is_lowest_gpa(void **state)
{
	rmp_ledger_t *l = *state;
	/* validated in decreasing address order: the report is by address, not time */
	assert_int_equal(rmp_ledger_validate(l, 0x40000, 1, 1, 7, 0x9000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, 0x33000, 1, 2, 6, 0x8000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, 0x31000, 1, 3, 5, 0x7000, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, 0x32000, 32, 4, 0, 0x100000, &c, &cg), 2);
	assert_int_equal(cg, 0x33000);
	assert_int_equal(c.seq, 2);
	assert_int_equal(c.vcpu, 6);
	assert_int_equal(c.spa, 0x8000);
	assert_rec(l, 0x33000, 4, 0, 0x101000);
	assert_rec(l, 0x31000, 3, 5, 0x7000);	      /* outside the range: untouched */
	assert_int_equal(rmp_ledger_held_pages(l), 1 + 32); /* 0x31000 + the range */
}

static void test_conflict_across_units(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 5 * M2 + 4 * K4, 1, 1, 1, 0xA000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, 4 * M2 + 511 * K4, 1, 2, 2, 0xB000, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, 4 * M2 + 500 * K4, 100, 3, 3, 0, &c, &cg), 2);
	assert_int_equal(cg, 4 * M2 + 511 * K4);
	assert_int_equal(c.seq, 2);
	assert_int_equal(c.spa, 0xB000);
	assert_int_equal(rmp_ledger_held_pages(l), 100);
}

static void test_conflict_huge_over_huge(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 9 * M2;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 20, 1, 2 * M2, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 21, 3, 7 * M2, &c, &cg), 512);
	assert_int_equal(cg, g);
	assert_int_equal(c.seq, 20);
	assert_int_equal(c.vcpu, 1);
	assert_int_equal(c.spa, 2 * M2);
	assert_rec(l, g + 100 * K4, 21, 3, 7 * M2 + 100 * K4);
	assert_int_equal(rmp_ledger_held_pages(l), 512);
}

static void test_conflict_4k_inside_huge(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 9 * M2, s = 2 * M2;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 20, 1, s, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, g + 7 * K4, 1, 30, 4, 0x5000, &c, &cg), 1);
	assert_int_equal(cg, g + 7 * K4);
	assert_int_equal(c.seq, 20);
	assert_int_equal(c.spa, s + 7 * K4); /* the huge record's SPA for that frame */
	/* the huge record split correctly around the new one */
	assert_rec(l, g + 7 * K4, 30, 4, 0x5000);
	assert_rec(l, g + 6 * K4, 20, 1, s + 6 * K4);
	assert_rec(l, g + 8 * K4, 20, 1, s + 8 * K4);
	assert_rec(l, g, 20, 1, s);
	assert_rec(l, g + 511 * K4, 20, 1, s + 511 * K4);
	assert_int_equal(rmp_ledger_held_pages(l), 512);
}

static void test_conflict_huge_over_partial(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 12 * M2;
	assert_int_equal(rmp_ledger_validate(l, g + 100 * K4, 1, 1, 1, 0x1000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, g + 3 * K4, 1, 2, 2, 0x2000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, g, 1, 3, 3, 0x3000, NULL, NULL), 0);
	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 4, 4, 30 * M2, &c, &cg), 3);
	assert_int_equal(cg, g); /* the head frame is the lowest */
	assert_int_equal(c.seq, 3);
	assert_int_equal(c.spa, 0x3000);
	assert_int_equal(rmp_ledger_held_pages(l), 512);
	assert_rec(l, g + 100 * K4, 4, 4, 30 * M2 + 100 * K4);

	/* and after a split unit is rescinded at its head, a huge re-validate reports 511 */
	assert_int_equal(rmp_ledger_rescind(l, g, 1), 0);
	assert_int_equal(rmp_ledger_validate(l, g, 512, 5, 5, 31 * M2, &c, &cg), 511);
	assert_int_equal(cg, g + K4);
	assert_int_equal(c.seq, 4);
	assert_int_equal(c.spa, 30 * M2 + K4);
}

static void test_no_conflict_after_rescind(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 0x9000, 4, 1, 0, 0x9000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 0x9000, 4), 0);
	assert_int_equal(rmp_ledger_validate(l, 0x9000, 4, 2, 0, 0x9000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, 4 * M2, 512, 3, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 4 * M2, 512), 0);
	assert_int_equal(rmp_ledger_validate(l, 4 * M2, 512, 4, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 4 + 512);
}

/* ------------------------------------------------------------------ rescind */

static void test_rescind_4k(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 0x20000, 5, 1, 1, 0x70000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 0x22000, 1), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 4);
	assert_not_held(l, 0x22000);
	assert_rec(l, 0x21000, 1, 1, 0x71000);
	assert_rec(l, 0x23000, 1, 1, 0x73000);
	/* twice: the second finds nothing held */
	assert_int_equal(rmp_ledger_rescind(l, 0x22000, 1), 1);
	assert_int_equal(rmp_ledger_held_pages(l), 4);
	/* a range partly held: 4 held of 10 */
	assert_int_equal(rmp_ledger_rescind(l, 0x1E000, 10), 6);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
}

static void test_rescind_splits_huge(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 2 * M2, s = 100 * M2;
	assert_int_equal(rmp_ledger_validate(l, g, 512, 8, 6, s, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, g + 10 * K4, 1), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 511);
	assert_not_held(l, g + 10 * K4);
	for (uint64_t i = 0; i < 512; i++)
		if (i != 10)
			assert_rec(l, g + i * K4, 8, 6, s + i * K4);
	uint64_t miss = 0;
	assert_int_equal(rmp_ledger_count_held(l, g, 512, &miss), 511);
	assert_int_equal(miss, g + 10 * K4);
	/* a 2M rescind of the split unit finds one page missing */
	assert_int_equal(rmp_ledger_rescind(l, g, 512), 1);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
	assert_not_held(l, g);
}

static void test_rescind_huge_piecewise(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 0, 512, 1, 0, 0, NULL, NULL), 0);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(rmp_ledger_rescind(l, (511 - i) * K4, 1), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
	assert_int_equal(rmp_ledger_rescind(l, 0, 512), 512);
}

static void test_rescind_whole_huge(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_validate(l, 3 * M2, 512, 1, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, 4 * M2, 1, 2, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 3 * M2, 512), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 1);
	assert_not_held(l, 3 * M2 + 200 * K4);
	assert_rec(l, 4 * M2, 2, 0, 0);
}

static void test_rescind_never_touched(void **state)
{
	rmp_ledger_t *l = *state;
	assert_int_equal(rmp_ledger_rescind(l, 0x123000, 1), 1);
	assert_int_equal(rmp_ledger_rescind(l, 7 * M2 + 5 * K4, 1000), 1000); /* crosses units */
	assert_int_equal(rmp_ledger_rescind(l, 50 * M2, 512), 512);
	assert_int_equal(rmp_ledger_rescind(l, 5 * TIB, 3 * 512 + 1), 3 * 512 + 1);
	assert_int_equal(rmp_ledger_rescind(l, TOP - 2 * M2, 1024), 1024);
	assert_int_equal(rmp_ledger_rescind(l, 0, 0), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
	/* held pages elsewhere are not disturbed, and a touched-but-empty unit still counts */
	assert_int_equal(rmp_ledger_validate(l, 8 * M2 + K4, 1, 1, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 8 * M2 + K4, 1), 0);
	assert_int_equal(rmp_ledger_rescind(l, 8 * M2, 512), 512);
	assert_int_equal(rmp_ledger_validate(l, 9 * M2, 2, 1, 0, 0, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_rescind(l, 9 * M2 - 10 * K4, 20), 18);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
}

/* ------------------------------------------------------------------ held counts */

static void test_held_counts(void **state)
{
	rmp_ledger_t *l = *state;
	uint64_t expect = 0;
	rmp_ledger_validate(l, 0, 3, 1, 0, 0, NULL, NULL);
	expect += 3;
	rmp_ledger_validate(l, M2, 512, 2, 0, 0, NULL, NULL);
	expect += 512;
	rmp_ledger_validate(l, 2, 1, 3, 0, 0, NULL, NULL); /* same page as GPA 0: no growth */
	rmp_ledger_validate(l, 2 * K4, 2, 4, 0, 0, NULL, NULL); /* one new, one conflict */
	expect += 1;
	assert_int_equal(rmp_ledger_held_pages(l), expect);
	rmp_ledger_rescind(l, M2 + 5 * K4, 10);
	expect -= 10;
	rmp_ledger_rescind(l, 100 * M2, 5); /* nothing held there */
	assert_int_equal(rmp_ledger_held_pages(l), expect);
	uint64_t miss = 0;
	assert_int_equal(rmp_ledger_count_held(l, 0, 2 * 512, &miss), expect);
	assert_int_equal(miss, 4 * K4);
	assert_int_equal(rmp_ledger_count_held(l, 100 * M2, 7, &miss), 0);
	assert_int_equal(miss, 100 * M2);
	assert_int_equal(rmp_ledger_count_held(l, 0, 0, NULL), 0);
}

/* count_held of ranges that cover part of a 2M record, or run past it */
static void test_count_held_partial(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g = 20 * M2;
	rmp_ledger_validate(l, g, 512, 1, 0, 0, NULL, NULL);
	uint64_t miss = 0;
	assert_int_equal(rmp_ledger_count_held(l, g + 10 * K4, 5, &miss), 5);
	assert_int_equal(miss, 0);
	assert_int_equal(rmp_ledger_count_held(l, g + 500 * K4, 20, &miss), 12);
	assert_int_equal(miss, g + M2);
	assert_int_equal(rmp_ledger_count_held(l, g - 3 * K4, 6, &miss), 3);
	assert_int_equal(miss, g - 3 * K4);
	assert_int_equal(rmp_ledger_count_held(l, g - M2, 3 * 512, &miss), 512);
	assert_int_equal(miss, g - M2);
	assert_int_equal(rmp_ledger_count_held(l, TOP - K4, 1, &miss), 0);
	assert_int_equal(miss, TOP - K4);
}

/* ------------------------------------------------------------------ foreach */

struct collect {
	uint64_t n, stop_after;
	uint64_t gpa[2048];
	rmp_ledger_rec_t rec[2048];
};

static bool collect_fn(uint64_t gpa, const rmp_ledger_rec_t *rec, void *ctx)
{
	struct collect *c = ctx;
	if (c->n < 2048) {
		c->gpa[c->n] = gpa;
		c->rec[c->n] = *rec;
	}
	c->n++;
	return c->stop_after == 0 || c->n < c->stop_after;
}

static void test_foreach_order(void **state)
{
	rmp_ledger_t *l = *state;
	/* inserted out of order, across units and far apart */
	rmp_ledger_validate(l, 3 * TIB, 1, 1, 1, 0x1000, NULL, NULL);
	rmp_ledger_validate(l, 5 * M2 + 3 * K4, 1, 2, 2, 0x2000, NULL, NULL);
	rmp_ledger_validate(l, 4 * M2, 512, 3, 3, 0x400000, NULL, NULL);
	rmp_ledger_validate(l, 0x1000, 1, 4, 4, 0x4000, NULL, NULL);
	rmp_ledger_validate(l, 5 * M2, 1, 5, 5, 0x5000, NULL, NULL);
	rmp_ledger_rescind(l, 4 * M2 + 7 * K4, 1);

	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, rmp_ledger_held_pages(l));
	assert_int_equal(c->n, 1 + 511 + 1 + 1 + 1);
	for (uint64_t i = 1; i < c->n; i++)
		assert_true(c->gpa[i] > c->gpa[i - 1]);
	assert_int_equal(c->gpa[0], 0x1000);
	assert_int_equal(c->rec[0].seq, 4);
	assert_int_equal(c->gpa[1], 4 * M2);
	assert_int_equal(c->rec[1].spa, 0x400000);
	assert_int_equal(c->gpa[8], 4 * M2 + 8 * K4); /* 7 was rescinded */
	assert_int_equal(c->rec[8].spa, 0x400000 + 8 * K4);
	assert_int_equal(c->rec[8].seq, 3);
	assert_int_equal(c->gpa[512], 5 * M2);
	assert_int_equal(c->gpa[513], 5 * M2 + 3 * K4);
	assert_int_equal(c->rec[513].vcpu, 2);
	assert_int_equal(c->gpa[514], 3 * TIB);
	for (uint64_t i = 0; i < c->n; i++)
		assert_true(c->rec[i].held);

	/* early stop */
	memset(c, 0, sizeof(*c));
	c->stop_after = 3;
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, 3);
	free(c);
}

/* An early stop inside an intact 2M record ends the walk there. */
static void test_foreach_stop_inside_huge(void **state)
{
	rmp_ledger_t *l = *state;
	rmp_ledger_validate(l, 4 * M2, 512, 3, 3, 0x400000, NULL, NULL);
	rmp_ledger_validate(l, 6 * M2, 512, 4, 3, 0x800000, NULL, NULL);
	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->stop_after = 100;
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, 100);
	assert_int_equal(c->gpa[99], 4 * M2 + 99 * K4);
	assert_int_equal(c->rec[99].spa, 0x400000 + 99 * K4);
	memset(c, 0, sizeof(*c));
	c->stop_after = 512; /* exactly at the end of the first record */
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, 512);
	memset(c, 0, sizeof(*c));
	c->stop_after = 513;
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, 513);
	assert_int_equal(c->gpa[512], 6 * M2);
	assert_int_equal(c->rec[512].seq, 4);
	free(c);
}

static void test_foreach_empty(void **state)
{
	rmp_ledger_t *l = *state;
	rmp_ledger_validate(l, 0x8000, 3, 1, 0, 0, NULL, NULL);
	rmp_ledger_rescind(l, 0x8000, 3);
	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	rmp_ledger_foreach(l, collect_fn, c);
	assert_int_equal(c->n, 0);
	free(c);
}

struct runs {
	uint64_t n, pages, stop_after;
	uint64_t gpa[64], np[64], spa[64];
};

static bool run_fn(uint64_t gpa, uint64_t npages, const rmp_ledger_rec_t *rec, void *ctx)
{
	struct runs *r = ctx;
	if (r->n < 64) {
		r->gpa[r->n] = gpa;
		r->np[r->n] = npages;
		r->spa[r->n] = rec->spa;
	}
	r->n++;
	r->pages += npages;
	return r->stop_after == 0 || r->n < r->stop_after;
}

static void test_foreach_run(void **state)
{
	rmp_ledger_t *l = *state;
	rmp_ledger_validate(l, 8 * M2, 512, 1, 0, 0x600000, NULL, NULL);
	rmp_ledger_validate(l, 2 * M2 + K4, 2, 2, 0, 0x3000, NULL, NULL);
	rmp_ledger_validate(l, 9 * M2, 512, 3, 0, 0xA00000, NULL, NULL);
	rmp_ledger_rescind(l, 9 * M2 + 4 * K4, 1); /* splits the second huge run */
	struct runs r = {0};
	rmp_ledger_foreach_run(l, run_fn, &r);
	assert_int_equal(r.pages, rmp_ledger_held_pages(l));
	assert_int_equal(r.gpa[0], 2 * M2 + K4);
	assert_int_equal(r.np[0], 1);
	assert_int_equal(r.gpa[1], 2 * M2 + 2 * K4);
	assert_int_equal(r.spa[1], 0x4000);
	assert_int_equal(r.gpa[2], 8 * M2);
	assert_int_equal(r.np[2], 512);
	assert_int_equal(r.spa[2], 0x600000);
	/* pages of a split unit may come one by one, in order, with their own SPAs */
	assert_int_equal(r.gpa[3], 9 * M2);
	assert_int_equal(r.spa[3], 0xA00000);
	for (uint64_t i = 1; i < r.n && i < 64; i++)
		assert_true(r.gpa[i] >= r.gpa[i - 1] + r.np[i - 1] * K4);
	struct runs s = {.stop_after = 3};
	rmp_ledger_foreach_run(l, run_fn, &s);
	assert_int_equal(s.n, 3);
}

/* ------------------------------------------------------------------ large addresses */

static void test_high_gpas(void **state)
{
	rmp_ledger_t *l = *state;
	const uint64_t g1 = TIB + 0x5000, g2 = 7 * TIB + 3 * M2, top4k = TOP - K4, top2m = TOP - M2;
	const uint64_t far_spa = (1ull << 51) + 0x7000; /* SPA frames use all 40 bits too */
	assert_int_equal(rmp_ledger_validate(l, g1, 1, 1, 1, far_spa, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, g2, 512, 2, 2, 0x200000, NULL, NULL), 0);
	assert_int_equal(rmp_ledger_validate(l, top2m, 512, 3, 3, TOP - M2, NULL, NULL), 0);
	assert_rec(l, g1, 1, 1, far_spa);
	assert_not_held(l, g1 - TIB); /* no aliasing modulo 1 TiB or 2^40 frames */
	assert_not_held(l, 0x5000);
	assert_rec(l, g2 + 511 * K4, 2, 2, 0x200000 + 511 * K4);
	assert_rec(l, top4k, 3, 3, TOP - K4);
	assert_rec(l, top2m, 3, 3, TOP - M2);
	assert_int_equal(rmp_ledger_held_pages(l), 1 + 512 + 512);

	rmp_ledger_rec_t c;
	uint64_t cg;
	assert_int_equal(rmp_ledger_validate(l, top4k, 1, 4, 4, 0x1000, &c, &cg), 1);
	assert_int_equal(cg, top4k);
	assert_int_equal(c.spa, TOP - K4);
	assert_int_equal(c.seq, 3);

	struct collect *col = calloc(1, sizeof(*col));
	assert_non_null(col);
	rmp_ledger_foreach(l, collect_fn, col);
	assert_int_equal(col->n, 1025);
	assert_int_equal(col->gpa[0], g1);
	assert_int_equal(col->gpa[1], g2);
	assert_int_equal(col->gpa[513], top2m);
	assert_int_equal(col->gpa[1024], top4k);
	assert_int_equal(col->rec[1024].seq, 4);
	free(col);

	assert_int_equal(rmp_ledger_rescind(l, top2m, 512), 0);
	assert_not_held(l, top4k);
	assert_int_equal(rmp_ledger_rescind(l, g1, 1), 0);
	assert_int_equal(rmp_ledger_rescind(l, g2, 512), 0);
	assert_int_equal(rmp_ledger_held_pages(l), 0);
}

static void test_wide_fields(void **state)
{
	rmp_ledger_t *l = *state;
	/* the record keeps a 64-bit seq and a 16-bit vCPU */
	assert_int_equal(rmp_ledger_validate(l, 0x3000, 1, UINT64_MAX - 1, 0xFFFF, 0x1000, NULL,
					     NULL),
			 0);
	assert_rec(l, 0x3000, UINT64_MAX - 1, 0xFFFF, 0x1000);
	assert_int_equal(rmp_ledger_validate(l, 0x4000, 512 + 1, 1ull << 40, 1234, 0, NULL, NULL), 0);
	assert_rec(l, 0x4000 + 300 * K4, 1ull << 40, 1234, 300 * K4);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty),
		T(test_validate_4k),
		T(test_validate_4k_range),
		T(test_validate_2m_huge),
		T(test_validate_straddling_range),
		T(test_conflict_4k),
		T(test_conflict_first_is_lowest_gpa),
		T(test_conflict_across_units),
		T(test_conflict_huge_over_huge),
		T(test_conflict_4k_inside_huge),
		T(test_conflict_huge_over_partial),
		T(test_no_conflict_after_rescind),
		T(test_rescind_4k),
		T(test_rescind_splits_huge),
		T(test_rescind_huge_piecewise),
		T(test_rescind_whole_huge),
		T(test_rescind_never_touched),
		T(test_held_counts),
		T(test_foreach_order),
		T(test_foreach_stop_inside_huge),
		T(test_foreach_empty),
		T(test_count_held_partial),
		T(test_foreach_run),
		T(test_high_gpas),
		T(test_wide_fields),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
