/* SPDX-License-Identifier: MIT */
/*
 * The test harness of the hv_model suite: one hypervisor over a real rmp_t, a
 * sparse page store implementing hv_mem_ops_t, every emitted event captured,
 * and helpers that build GHCB pages the way a guest does (clear the valid
 * bitmap, write a field and set its bit, facts §4.2) and issue VMGEXITs.
 *
 * The machine it models (identity NPT, SPA = GPA):
 *
 *   [0x0000_0000, 0x0200_0000)  RAM 0  (32 MiB)
 *   [0x0200_0000, 0x0220_0000)  MMIO   (2 MiB, TH_MMIO)
 *   [0x0220_0000, 0x0400_0000)  unmapped hole (TH_HOLE is in it)
 *   [0x0400_0000, 0x0600_0000)  RAM 1  (32 MiB)
 *   [0x0600_0000, 0x0620_0000)  ROM    (2 MiB, TH_ROM)
 *   [0x0800_0000, +2 MiB)        the spare pool for REMAP_REPLAY (not guest memory)
 *   RMP coverage: [0, 0x1000_0000)
 *
 * vCPU n's GHCB is at TH_GHCB(n) in RAM 0, shared (a fresh RMP is all shared).
 * Everything else a test converts lives from TH_WORK up, away from the GHCBs.
 */
#ifndef SNPSIM_TESTS_HV_HARNESS_H
#define SNPSIM_TESTS_HV_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <stdbool.h>

#include "hv.h"

#define K4 ((uint64_t)SNP_PAGE_SIZE)
#define M2 ((uint64_t)SNP_PAGE_2M_SIZE)

#define TH_RMP_LIMIT 0x10000000ull
#define TH_RAM0 0x0ull
#define TH_RAM0_SIZE 0x02000000ull
#define TH_MMIO 0x02000000ull
#define TH_MMIO_SIZE 0x00200000ull
#define TH_HOLE 0x03000000ull
#define TH_RAM1 0x04000000ull
#define TH_RAM1_SIZE 0x02000000ull
#define TH_ROM 0x06000000ull
#define TH_ROM_SIZE 0x00200000ull
#define TH_SPARE 0x08000000ull
#define TH_SPARE_PAGES 512u
#define TH_ASID 7u

#define TH_GHCB(n) (0x00100000ull + (uint64_t)(n) * K4)
#define TH_WORK 0x00400000ull         /* 2M aligned: conversions happen from here */
#define TH_GFN(gpa) ((uint64_t)(gpa) >> SNP_PAGE_SHIFT)

#define TH_MAX_CPUID 16u

typedef struct th {
	rmp_t *rmp;
	hv_t *hv;
	hv_config_t cfg; /* tests may change it between th_alloc and th_start */
	hv_mem_range_t ranges[8];
	struct snp_cpuid_fn cpuid[TH_MAX_CPUID];
	GHashTable *pages; /* spa -> 4 KiB buffer */
	GArray *events;    /* hv_event_t, in emission order */
	uint32_t page_calls;
} th_t;

/* A harness with the default configuration in t->cfg; no hypervisor yet. */
th_t *th_alloc(void);
/* Creates the RMP and the hypervisor from t->cfg; fails the test if hv_new refuses. */
void th_start(th_t *t);
/* th_alloc + th_start. */
th_t *th_new(void);
void th_free(th_t *t);

/* cmocka group fixtures: *state = th_new() / th_free(*state). */
int th_setup(void **state);
int th_teardown(void **state);

/* ------------------------------------------------------------------ memory */

/* The host copy of the page holding spa (created if absent). */
uint8_t *th_page(th_t *t, uint64_t spa);
/* NULL when the page was never created (reads as zero). */
const uint8_t *th_page_peek(const th_t *t, uint64_t spa);
uint64_t th_read64(th_t *t, uint64_t spa);
void th_write64(th_t *t, uint64_t spa, uint64_t v);

/* ------------------------------------------------------------------ RMP */

rmp_entry_t th_rmp(const th_t *t, uint64_t spa);
/* RMPUPDATE to the guest at gpa (= spa), 4K or 2M, then PVALIDATE if validated. */
void th_private(th_t *t, uint64_t gpa, bool validated);
void th_private_2m(th_t *t, uint64_t gpa, bool validated);
/* The guest's PVALIDATE (validate = true) of a 4K page: its result. */
rmp_result_t th_pvalidate(th_t *t, uint64_t gpa);
/* Asserts the page's RMP state: assigned to the guest at gpa (or not), validated. */
void th_expect_page(const th_t *t, uint64_t gpa, bool assigned, bool validated, const char *file,
		    int line);
#define TH_EXPECT_PAGE(t, gpa, assigned, validated)                                            \
	th_expect_page((t), (gpa), (assigned), (validated), __FILE__, __LINE__)

/* ------------------------------------------------------------------ MSR protocol */

/* VMGEXIT with ghcb_msr = req; .ghcb_msr of the exit is what the guest reads back. */
hv_exit_t th_msr(th_t *t, uint32_t vcpu, uint64_t req);
/* Registers gpa as vcpu's GHCB (MSR 0x012) and asserts the echo. */
void th_register(th_t *t, uint32_t vcpu, uint64_t gpa);

/* ------------------------------------------------------------------ GHCB page */

/* Zeroes the page, protocol version 2, usage 0: what a guest starts every request with. */
void th_ghcb_reset(th_t *t, uint64_t gpa);
/* Writes the qword at off and sets its valid bit (off / 8). */
void th_ghcb_set(th_t *t, uint64_t gpa, uint32_t off, uint64_t val);
void th_ghcb_set_cpl(th_t *t, uint64_t gpa, uint8_t cpl);
/* Writes without touching the valid bitmap. */
void th_ghcb_poke(th_t *t, uint64_t gpa, uint32_t off, uint64_t val);
void th_ghcb_clear_valid(th_t *t, uint64_t gpa, uint32_t off);
uint64_t th_ghcb_get(th_t *t, uint64_t gpa, uint32_t off);
bool th_ghcb_valid(th_t *t, uint64_t gpa, uint32_t off);
void th_ghcb_set_version(th_t *t, uint64_t gpa, uint16_t version);
void th_ghcb_set_usage(th_t *t, uint64_t gpa, uint32_t usage);

/*
 * A NAE event from vcpu through its GHCB at TH_GHCB(vcpu): SW_EXITCODE,
 * SW_EXITINFO1 and SW_EXITINFO2 written with their valid bits (the page is not
 * reset: callers reset it and add their fields first), then VMGEXIT.
 */
hv_exit_t th_nae(th_t *t, uint32_t vcpu, uint64_t code, uint64_t info1, uint64_t info2);
/* th_ghcb_reset + th_nae for events that need nothing else. */
hv_exit_t th_nae_simple(th_t *t, uint32_t vcpu, uint64_t code, uint64_t info1, uint64_t info2);
uint64_t th_info1(th_t *t, uint32_t vcpu);
uint64_t th_info2(th_t *t, uint32_t vcpu);

/* ------------------------------------------------------------------ PSC descriptor */

/*
 * Writes a PSC descriptor (header + n entries) at GHCB offset off (normally
 * 0x800), points SW_SCRATCH at it and issues the PSC NAE event (facts §6.1).
 */
hv_exit_t th_psc_at(th_t *t, uint32_t vcpu, uint32_t off, uint16_t cur, uint16_t end,
		    const uint64_t *ent, size_t n);
hv_exit_t th_psc(th_t *t, uint32_t vcpu, uint16_t cur, uint16_t end, const uint64_t *ent,
		 size_t n);
/* Re-issues the PSC NAE event on the descriptor as the HV left it (the guest's retry). */
hv_exit_t th_psc_again(th_t *t, uint32_t vcpu, uint32_t off);
struct psc_hdr th_psc_hdr(th_t *t, uint32_t vcpu, uint32_t off);
uint64_t th_psc_entry(th_t *t, uint32_t vcpu, uint32_t off, uint32_t i);

/* ------------------------------------------------------------------ events */

size_t th_count(const th_t *t, hv_event_kind_t kind);
/* The nth (0-based) event of that kind, or NULL. */
const hv_event_t *th_event(const th_t *t, hv_event_kind_t kind, size_t nth);
void th_events_clear(th_t *t);

/* ------------------------------------------------------------------ table rows */

/* Assertions that report the table row's file and line rather than the loop's. */
#define ROW_EQ(row, a, b)                                                                      \
	_assert_int_equal(cast_to_largest_integral_type(a), cast_to_largest_integral_type(b),   \
			  (row)->file, (row)->line)
#define ROW_NE(row, a, b)                                                                      \
	_assert_int_not_equal(cast_to_largest_integral_type(a),                                 \
			      cast_to_largest_integral_type(b), (row)->file, (row)->line)
#define ROW_TRUE(row, c)                                                                       \
	_assert_true(cast_to_largest_integral_type(!!(c)), #c, (row)->file, (row)->line)
#define ROW_HERE .file = __FILE__, .line = __LINE__

#endif /* SNPSIM_TESTS_HV_HARNESS_H */
