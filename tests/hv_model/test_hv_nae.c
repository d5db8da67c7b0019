/* SPDX-License-Identifier: MIT */
/*
 * The GHCB page protocol (facts §4) and the NAE events (facts §5): which GHCB
 * the hypervisor accepts, the checks of version, usage, valid bitmap and
 * scratch area with their error answers (§4.5), the write-back convention
 * (§4.2), and each event with good and malformed input.
 */
#include "hv_harness.h"

#include <string.h>

#define G0 TH_GHCB(0)

/* SW_EXITINFO1 = 2, SW_EXITINFO2 = err (facts §4.5); the guest resumes */
#define ASSERT_BAD_INPUT(t, x, err)                                                            \
	do {                                                                                   \
		assert_int_equal((x).action, HV_RESUME);                                       \
		assert_int_equal(th_info1((t), 0), GHCB_HV_RESP_MALFORMED_INPUT);              \
		assert_int_equal(th_info2((t), 0), (err));                                     \
	} while (0)

#define ASSERT_DONE(t, x)                                                                      \
	do {                                                                                   \
		assert_int_equal((x).action, HV_RESUME);                                       \
		assert_int_equal(th_info1((t), 0), 0);                                         \
	} while (0)

/* vCPU 0 with its GHCB registered */
static int setup_registered(void **state)
{
	th_t *t = th_new();
	th_register(t, 0, G0);
	*state = t;
	return 0;
}

/* ------------------------------------------------------------------ which GHCB is served */

/* A GHCB GPA that was never registered: KVM stops an SNP guest (facts §3.5 step 4). */
static void ghcb_unregistered_stops(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	uint8_t before[4096];
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO2, 0);
	memcpy(before, th_page(t, G0), sizeof(before));
	hv_exit_t x = hv_vmgexit(t->hv, 0, G0);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_GHCB_NOT_REGISTERED);
	assert_memory_equal(th_page(t, G0), before, sizeof(before));
	assert_int_equal(th_count(t, HV_EV_STOP), 1);
	assert_int_equal(th_event(t, HV_EV_STOP, 0)->stop, HV_STOP_GHCB_NOT_REGISTERED);
}

/*
 * The GHCB must be shared (facts §4, "mapped shared (C=0)"): a GHCB page the RMP
 * shows private is not served - its request (a PSC here) is not acted on - and
 * the host does not write to it (a host write to a guest-owned page is an RMP
 * #PF, facts §2.5).
 */
static void ghcb_private_page_stops(void **state)
{
	th_t *t = *state;
	uint64_t ent = psc_entry(TH_GFN(TH_WORK), SNP_PAGE_STATE_PRIVATE, 0, 0);
	th_ghcb_reset(t, G0);
	struct psc_hdr h = {0, 0, 0};
	memcpy(th_page(t, G0) + 0x800, &h, sizeof(h));
	memcpy(th_page(t, G0) + 0x808, &ent, sizeof(ent));
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_PSC);
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO2, 0);
	uint8_t before[4096];
	memcpy(before, th_page(t, G0), sizeof(before));
	for (int validated = 0; validated < 2; validated++) {
		th_private(t, G0, validated);
		hv_exit_t x = hv_vmgexit(t->hv, 0, G0);
		assert_int_equal(x.action, HV_STOPPED);
		assert_int_equal(x.stop, HV_STOP_GHCB_PRIVATE);
		assert_memory_equal(th_page(t, G0), before, sizeof(before));
		assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
		assert_int_equal(th_count(t, HV_EV_PSC_ENTRY), 0);
		TH_EXPECT_PAGE(t, TH_WORK, false, false);
		/* back to shared for the next round */
		rmp_state_t st = {0};
		assert_true(rmp_ok(rmp_rmpupdate(t->rmp, 0, G0, &st)));
	}
	/* shared again: served */
	hv_exit_t x = hv_vmgexit(t->hv, 0, G0);
	ASSERT_DONE(t, x);
	TH_EXPECT_PAGE(t, TH_WORK, true, false);
}

/* The GHCB inside a private 2M entry is private too (the 2M entry governs, facts §1.5). */
static void ghcb_in_private_2m_entry_stops(void **state)
{
	th_t *t = th_new();
	(void)state;
	uint64_t g = TH_WORK + 3 * K4;
	th_register(t, 0, g);
	th_private_2m(t, TH_WORK, false);
	th_ghcb_reset(t, g);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_HV_FEATURES);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO1, 0);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO2, 0);
	hv_exit_t x = hv_vmgexit(t->hv, 0, g);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_GHCB_PRIVATE);
	th_free(t);
}

/* ------------------------------------------------------------------ version and usage */

typedef struct vu_row {
	const char *file;
	int line;
	uint16_t version;
	uint32_t usage;
	uint64_t err; /* 0: accepted */
} vu_row_t;

static const vu_row_t vu_rows[] = {
	{ROW_HERE, .version = 2, .usage = 0, .err = 0},
	/* nonzero usage: KVM answers GHCB error 2 (facts §4.3) */
	{ROW_HERE, .version = 2, .usage = 1, .err = GHCB_ERR_INVALID_USAGE},
	{ROW_HERE, .version = 2, .usage = 2, .err = GHCB_ERR_INVALID_USAGE},
	{ROW_HERE, .version = 2, .usage = 0xFFFFFFFF, .err = GHCB_ERR_INVALID_USAGE},
	/* a version the hypervisor never offered (1..2): refused, the error code is hv_model's */
	{ROW_HERE, .version = 0, .usage = 0, .err = UINT64_MAX},
	{ROW_HERE, .version = 3, .usage = 0, .err = UINT64_MAX},
	{ROW_HERE, .version = 0xFFFF, .usage = 0, .err = UINT64_MAX},
};

static void ghcb_version_and_usage(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(vu_rows); i++) {
		const vu_row_t *r = &vu_rows[i];
		th_ghcb_reset(t, G0);
		th_ghcb_set_version(t, G0, r->version);
		th_ghcb_set_usage(t, G0, r->usage);
		hv_exit_t x = th_nae(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
		ROW_EQ(r, x.action, HV_RESUME);
		if (r->err == 0) {
			ROW_EQ(r, th_info1(t, 0), 0);
			ROW_EQ(r, th_info2(t, 0), t->cfg.features);
		} else {
			ROW_EQ(r, th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
			if (r->err != UINT64_MAX)
				ROW_EQ(r, th_info2(t, 0), r->err);
			else
				ROW_TRUE(r, th_info2(t, 0) >= 1 && th_info2(t, 0) <= 6);
		}
	}
}

/* ------------------------------------------------------------------ the valid bitmap */

typedef struct vb_row {
	const char *file;
	int line;
	uint64_t code, info1;
	uint32_t set;  /* fields marked valid (beyond what the row's event needs) */
	uint32_t omit; /* base fields left invalid */
	uint64_t rax;
} vb_row_t;

/* field bits for the rows */
enum { V_RAX = 1, V_RBX = 2, V_RCX = 4, V_RDX = 8, V_CPL = 16, V_XCR0 = 32, V_SCRATCH = 64 };
enum { O_CODE = 1, O_INFO1 = 2, O_INFO2 = 4 };

static const vb_row_t vb_rows[] = {
	/* every NAE needs SW_EXITCODE, SW_EXITINFO1, SW_EXITINFO2 (facts §4.2) */
	{ROW_HERE, SVM_VMGEXIT_HV_FEATURES, 0, 0, O_CODE},
	{ROW_HERE, SVM_VMGEXIT_HV_FEATURES, 0, 0, O_INFO1},
	{ROW_HERE, SVM_VMGEXIT_HV_FEATURES, 0, 0, O_INFO2},
	{ROW_HERE, SVM_VMGEXIT_HV_FEATURES, 0, 0, O_CODE | O_INFO1 | O_INFO2},
	/* CPUID: RAX and RCX; XCR0 when RAX = 0xD (facts §5.1) */
	{ROW_HERE, SVM_EXIT_CPUID, 0, V_RCX, 0, .rax = 1},
	{ROW_HERE, SVM_EXIT_CPUID, 0, V_RAX, 0, .rax = 1},
	{ROW_HERE, SVM_EXIT_CPUID, 0, V_RAX | V_RCX, 0, .rax = 0xD},
	/* MSR: RCX; a write also RAX and RDX */
	{ROW_HERE, SVM_EXIT_MSR, 0, 0, 0},
	{ROW_HERE, SVM_EXIT_MSR, 1, V_RCX | V_RAX, 0},
	{ROW_HERE, SVM_EXIT_MSR, 1, V_RCX | V_RDX, 0},
	/* IOIO OUT: RAX (the data) */
	{ROW_HERE, SVM_EXIT_IOIO, ((uint64_t)HV_DEBUG_PORT << 16) | SVM_IOIO_SIZE8, 0, 0},
	/* DR7 write: RAX */
	{ROW_HERE, SVM_EXIT_WRITE_DR7, 0, 0, 0},
	/* AP creation (create): RAX = SEV_FEATURES */
	{ROW_HERE, SVM_VMGEXIT_AP_CREATION, ((uint64_t)1 << 32) | SVM_VMGEXIT_AP_CREATE, 0, 0},
	/* VMMCALL: RAX and CPL */
	{ROW_HERE, SVM_EXIT_VMMCALL, 0, V_RAX, 0},
	{ROW_HERE, SVM_EXIT_VMMCALL, 0, V_CPL, 0},
};

static void set_fields(th_t *t, uint32_t set, uint64_t rax)
{
	if (set & V_RAX)
		th_ghcb_set(t, G0, GHCB_OFF_RAX, rax);
	else
		th_ghcb_poke(t, G0, GHCB_OFF_RAX, rax); /* present, but not marked valid */
	if (set & V_RBX)
		th_ghcb_set(t, G0, GHCB_OFF_RBX, 0);
	if (set & V_RCX)
		th_ghcb_set(t, G0, GHCB_OFF_RCX, 0);
	if (set & V_RDX)
		th_ghcb_set(t, G0, GHCB_OFF_RDX, 0);
	if (set & V_CPL)
		th_ghcb_set_cpl(t, G0, 0);
	if (set & V_XCR0)
		th_ghcb_set(t, G0, GHCB_OFF_XCR0, 1);
	if (set & V_SCRATCH)
		th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + GHCB_OFF_SHARED_BUFFER);
}

/*
 * A field the event needs but the guest did not mark valid is missing input
 * (error 4), even if the bytes are there: the HV reads only fields whose bits are
 * set (facts §4.2). Nothing of the event happens.
 */
static void valid_bitmap_missing_input(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(vb_rows); i++) {
		const vb_row_t *r = &vb_rows[i];
		th_ghcb_reset(t, G0);
		set_fields(t, r->set, r->rax);
		th_ghcb_set(t, G0, GHCB_OFF_SW_EXITCODE, r->code);
		th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO1, r->info1);
		th_ghcb_set(t, G0, GHCB_OFF_SW_EXITINFO2, 0);
		if (r->omit & O_CODE)
			th_ghcb_clear_valid(t, G0, GHCB_OFF_SW_EXITCODE);
		if (r->omit & O_INFO1)
			th_ghcb_clear_valid(t, G0, GHCB_OFF_SW_EXITINFO1);
		if (r->omit & O_INFO2)
			th_ghcb_clear_valid(t, G0, GHCB_OFF_SW_EXITINFO2);
		size_t dbg0;
		(void)hv_debug_output(t->hv, &dbg0);
		size_t creates = th_count(t, HV_EV_AP_CREATE);
		hv_exit_t x = hv_vmgexit(t->hv, 0, G0);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		ROW_EQ(r, th_info2(t, 0), GHCB_ERR_MISSING_INPUT);
		size_t dbg1;
		(void)hv_debug_output(t->hv, &dbg1);
		ROW_EQ(r, dbg1, dbg0);
		ROW_EQ(r, th_count(t, HV_EV_AP_CREATE), creates);
	}
}

/*
 * The reply (facts §4.2): the HV clears the bitmap and marks what it wrote;
 * SW_EXITINFO1/2 are always written. For CPUID the guest needs RAX, RBX, RCX,
 * RDX valid (Linux fails otherwise). Input-only fields come back invalid.
 */
static void valid_bitmap_reply(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, 0);
	th_ghcb_set(t, G0, GHCB_OFF_RCX, 0);
	th_ghcb_set(t, G0, GHCB_OFF_XCR0, 1);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, 0x1234000); /* not needed by CPUID */
	th_ghcb_set(t, G0, GHCB_OFF_RSI, 0x55);             /* a field the HV never reads */
	hv_exit_t x = th_nae(t, 0, SVM_EXIT_CPUID, 0, 0);
	ASSERT_DONE(t, x);
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITINFO1));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITINFO2));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RAX));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RBX));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RCX));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RDX));
	assert_false(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITCODE));
	assert_false(th_ghcb_valid(t, G0, GHCB_OFF_SW_SCRATCH));
	assert_false(th_ghcb_valid(t, G0, GHCB_OFF_XCR0));
	assert_false(th_ghcb_valid(t, G0, GHCB_OFF_RSI));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xD);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RBX), 0x68747541);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RCX), 0x444D4163);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RDX), 0x69746E65);
	/* the page outside the written fields is the guest's and stays as it was */
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RSI), 0x55);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_SW_EXITCODE), SVM_EXIT_CPUID);

	/* SW_EXITINFO1/2 are set to 0 before dispatch (facts §4.2): the guest's inputs do not echo */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, 1);
	th_ghcb_set(t, G0, GHCB_OFF_RCX, 0);
	x = th_nae(t, 0, SVM_EXIT_CPUID, 0xAAAA, 0xBBBB);
	ASSERT_DONE(t, x);
	assert_int_equal(th_info2(t, 0), 0);
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, 'x');
	x = th_nae(t, 0, SVM_EXIT_IOIO, ((uint64_t)HV_DEBUG_PORT << 16) | SVM_IOIO_SIZE8, 0xCCCC);
	ASSERT_DONE(t, x);
	assert_int_equal(th_info2(t, 0), 0);
}

/* An error answer is a reply too: SW_EXITINFO1/2 valid, nothing else claimed. */
static void valid_bitmap_reply_on_error(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	th_ghcb_set_usage(t, G0, 1);
	hv_exit_t x = th_nae(t, 0, SVM_EXIT_CPUID, 0, 0);
	ASSERT_BAD_INPUT(t, x, GHCB_ERR_INVALID_USAGE);
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITINFO1));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITINFO2));
	assert_false(th_ghcb_valid(t, G0, GHCB_OFF_SW_EXITCODE));
}

/* ------------------------------------------------------------------ scratch area (facts §4.6) */

typedef struct scr_row {
	const char *file;
	int line;
	bool valid;
	uint64_t scratch; /* GPA */
	uint64_t len;     /* MMIO byte count */
	bool ok;
} scr_row_t;

static const scr_row_t scr_rows[] = {
	{ROW_HERE, true, G0 + 0x800, 8, true},
	{ROW_HERE, true, G0 + 0xFE8, 8, true},  /* ends exactly at 0xFF0 */
	{ROW_HERE, true, G0 + 0xFEF, 1, true},
	{ROW_HERE, true, G0 + 0xFEC, 8, false}, /* crosses 0xFF0 */
	{ROW_HERE, true, G0 + 0xFF0, 1, false}, /* the reserved trailer */
	{ROW_HERE, true, G0 + 0xFFA, 2, false}, /* the protocol version field */
	{ROW_HERE, true, G0 + 0xFF8, 8, false}, /* version and usage */
	{ROW_HERE, true, G0 + 0xFFF, 1, false}, /* the last byte of the page */
	{ROW_HERE, true, G0 + 0x7F8, 8, false}, /* the save area */
	{ROW_HERE, true, G0 + 0x7FF, 2, false}, /* straddles 0x800 */
	{ROW_HERE, true, G0, 8, false},
	{ROW_HERE, true, G0 + K4 + 0x800, 8, false}, /* outside the GHCB: refused in version 2 */
	{ROW_HERE, true, TH_WORK + 0x800, 8, false},
	{ROW_HERE, true, 0, 8, false},
	{ROW_HERE, true, UINT64_MAX - 3, 8, false}, /* scratch + len overflows */
	{ROW_HERE, false, G0 + 0x800, 8, false},    /* not marked valid */
};

typedef struct rec_dev {
	uint32_t reads, writes;
	uint64_t last_off, last_val;
	uint32_t last_size;
	uint64_t read_val;
} rec_dev_t;

static bool rec_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	rec_dev_t *d = opaque;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	*val = d->read_val & (size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1);
	return true;
}

static bool rec_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	rec_dev_t *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = val;
	return true;
}

static void add_mmio_dev(th_t *t, rec_dev_t *d)
{
	hv_device_t dev = {.name = "rec-mmio",
			   .kind = HV_DEV_MMIO,
			   .base = TH_MMIO,
			   .size = 0x1000,
			   .read = rec_read,
			   .write = rec_write,
			   .opaque = d};
	assert_true(hv_add_device(t->hv, &dev));
}

/*
 * With protocol version 2 the scratch area must lie in the shared buffer
 * [0x800, 0xFF0) of the GHCB, all len bytes of it; else SW_EXITINFO1 = 2 with
 * error 3, or 4 when SW_SCRATCH is not even marked valid (facts §4.6). A refused
 * request reaches no device.
 */
static void scratch_area_rules(void **state)
{
	th_t *t = *state;
	rec_dev_t d = {.read_val = 0x1122334455667788ull};
	add_mmio_dev(t, &d);
	for (size_t i = 0; i < G_N_ELEMENTS(scr_rows); i++) {
		const scr_row_t *r = &scr_rows[i];
		for (int write = 0; write < 2; write++) {
			th_ghcb_reset(t, G0);
			if (r->valid)
				th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, r->scratch);
			else
				th_ghcb_poke(t, G0, GHCB_OFF_SW_SCRATCH, r->scratch);
			uint32_t reads = d.reads, writes = d.writes;
			hv_exit_t x = th_nae(t, 0, write ? SVM_VMGEXIT_MMIO_WRITE : SVM_VMGEXIT_MMIO_READ,
					     TH_MMIO + 0x10, r->len);
			ROW_EQ(r, x.action, HV_RESUME);
			if (r->ok) {
				ROW_EQ(r, th_info1(t, 0), 0);
				ROW_EQ(r, d.reads + d.writes, reads + writes + 1);
			} else {
				ROW_EQ(r, th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
				if (r->valid)
					ROW_EQ(r, th_info2(t, 0), GHCB_ERR_INVALID_SCRATCH_AREA);
				else
					ROW_TRUE(r, th_info2(t, 0) == GHCB_ERR_MISSING_INPUT ||
							    th_info2(t, 0) == GHCB_ERR_INVALID_SCRATCH_AREA);
				ROW_EQ(r, d.reads, reads);
				ROW_EQ(r, d.writes, writes);
			}
		}
	}
}

/* ------------------------------------------------------------------ PSC (one request; the
 * processing table is test_hv_psc.c) */

static void nae_psc_basic(void **state)
{
	th_t *t = *state;
	uint64_t e = psc_entry(TH_GFN(TH_WORK), SNP_PAGE_STATE_PRIVATE, 0, 0);
	hv_exit_t x = th_psc(t, 0, 0, 0, &e, 1);
	ASSERT_DONE(t, x);
	assert_int_equal(th_info2(t, 0), 0);
	assert_int_equal(th_psc_hdr(t, 0, 0x800).cur_entry, 1);
	assert_int_equal(PSC_ENTRY_CUR_PAGE(th_psc_entry(t, 0, 0x800, 0)), 1);
	TH_EXPECT_PAGE(t, TH_WORK, true, false);
	assert_int_equal(th_count(t, HV_EV_VMGEXIT), 1);
	assert_int_equal(th_event(t, HV_EV_VMGEXIT, 0)->exit_reason, SVM_VMGEXIT_PSC);
}

/* ------------------------------------------------------------------ HV features (0x8000_FFFD) */

static void nae_hv_features(void **state)
{
	(void)state;
	static const uint64_t fts[] = {0x3, 0x1, 0x3F, 0};
	for (size_t i = 0; i < G_N_ELEMENTS(fts); i++) {
		th_t *t = th_alloc();
		t->cfg.features = fts[i];
		th_start(t);
		th_register(t, 0, G0);
		hv_exit_t x = th_nae_simple(t, 0, SVM_VMGEXIT_HV_FEATURES, 0, 0);
		ASSERT_DONE(t, x);
		assert_int_equal(th_info2(t, 0), fts[i]);
		th_free(t);
	}
}

/* ------------------------------------------------------------------ AP creation (0x8000_0013) */

#define VMSA_GPA (TH_WORK + 0x3000) /* 4K aligned, not 2M aligned */
#define VMSA_GPA2 (TH_WORK + 0x5000)

/* A VMSA as a guest makes one: private, validated, RMPADJUST with RDX[16] at VMPL0 (§2.3). */
static void make_vmsa(th_t *t, uint64_t gpa)
{
	th_private(t, gpa, true);
	uint64_t rdx = 1u | RMPADJUST_VMSA_PAGE_BIT; /* target VMPL1, no permissions, VMSA */
	rmp_result_t r = rmp_rmpadjust(t->rmp, TH_ASID, 0, gpa, gpa, false, rdx);
	assert_true(rmp_ok(r));
	assert_true(th_rmp(t, gpa).vmsa);
}

static hv_exit_t ap_request(th_t *t, uint32_t apic, uint32_t req, uint64_t vmsa, uint64_t feat)
{
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, feat);
	return th_nae(t, 0, SVM_VMGEXIT_AP_CREATION, svm_vmgexit_ap_info(apic, 0, req), vmsa);
}

static void ap_create_and_start(void **state)
{
	th_t *t = *state;
	make_vmsa(t, VMSA_GPA);
	hv_exit_t x = ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE);
	ASSERT_DONE(t, x);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_CREATED);
	assert_int_equal(vi.vmsa_gpa, VMSA_GPA);
	assert_int_equal(vi.sev_features, SVM_SEV_FEAT_SNP_ACTIVE);
	assert_false(vi.on_init);
	assert_int_equal(vi.ghcb_gpa, 0); /* a reset AP registers its own GHCB */
	assert_int_equal(vi.ghcb_msr, hv_initial_ghcb_msr(t->hv)); /* and reads SEV info first */
	assert_int_equal(th_count(t, HV_EV_AP_CREATE), 1);
	const hv_event_t *e = th_event(t, HV_EV_AP_CREATE, 0);
	assert_int_equal(e->vcpu, 1);
	assert_int_equal(e->gpa, VMSA_GPA);
	assert_int_equal(e->info1, SVM_SEV_FEAT_SNP_ACTIVE);
	/* the VMSA is now used by a vCPU: the RMP marks it in use (RMP ops on it fail) */
	assert_true(th_rmp(t, VMSA_GPA).in_use);
	/* creating does not run it: a CREATED vCPU cannot exit until the machine starts it */
	assert_int_equal(th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ).action, HV_STOPPED);
	assert_true(hv_vcpu_start(t->hv, 1));
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);
	assert_false(hv_vcpu_start(t->hv, 1)); /* only a CREATED vCPU starts */
	assert_int_equal(th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ).action, HV_RESUME);
	/* the creating vCPU is unaffected */
	assert_true(hv_vcpu_info(t->hv, 0, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);
	assert_int_equal(vi.ghcb_gpa, G0);
}

static void ap_create_on_init(void **state)
{
	th_t *t = *state;
	make_vmsa(t, VMSA_GPA);
	hv_exit_t x = ap_request(t, 2, SVM_VMGEXIT_AP_CREATE_ON_INIT, VMSA_GPA,
				 SVM_SEV_FEAT_SNP_ACTIVE);
	ASSERT_DONE(t, x);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 2, &vi));
	assert_int_equal(vi.state, HV_VCPU_CREATED);
	assert_true(vi.on_init);
	assert_int_equal(vi.vmsa_gpa, VMSA_GPA);
}

/* Destroy (2): no RAX needed (facts §5.2 / KVM); the target is gone, its VMSA released. */
static void ap_destroy(void **state)
{
	th_t *t = *state;
	make_vmsa(t, VMSA_GPA);
	ASSERT_DONE(t, ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE));
	th_ghcb_reset(t, G0);
	hv_exit_t x = th_nae(t, 0, SVM_VMGEXIT_AP_CREATION,
			     svm_vmgexit_ap_info(1, 0, SVM_VMGEXIT_AP_DESTROY), 0);
	ASSERT_DONE(t, x);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_DESTROYED);
	assert_int_equal(th_count(t, HV_EV_AP_DESTROY), 1);
	assert_int_equal(th_event(t, HV_EV_AP_DESTROY, 0)->vcpu, 1);
	assert_false(th_rmp(t, VMSA_GPA).in_use);
	/* a destroyed vCPU does not run */
	assert_int_equal(th_msr(t, 1, GHCB_MSR_SEV_INFO_REQ).action, HV_STOPPED);
	assert_false(hv_vcpu_start(t->hv, 1));
	/* and can be created again with the same VMSA */
	ASSERT_DONE(t, ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE));
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_CREATED);
}

/* Re-creating with a new VMSA releases the old one (no longer used by a processor). */
static void ap_recreate_releases_old_vmsa(void **state)
{
	th_t *t = *state;
	make_vmsa(t, VMSA_GPA);
	make_vmsa(t, VMSA_GPA2);
	ASSERT_DONE(t, ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE));
	ASSERT_DONE(t, ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA2, SVM_SEV_FEAT_SNP_ACTIVE));
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.vmsa_gpa, VMSA_GPA2);
	assert_false(th_rmp(t, VMSA_GPA).in_use);
	assert_true(th_rmp(t, VMSA_GPA2).in_use);
}

typedef enum vmsa_setup {
	VS_GOOD = 0,
	VS_NO_VMSA_BIT, /* private and validated, RMPADJUST not done */
	VS_SHARED,      /* hypervisor-owned */
	VS_2M_ALIGNED,  /* a VMSA at a 2M-aligned GPA: KVM refuses (erratum, facts §2.3) */
	VS_OTHER_ASID,  /* assigned to another guest */
} vmsa_setup_t;

typedef struct ap_row {
	const char *file;
	int line;
	vmsa_setup_t setup;
	uint32_t apic;
	uint32_t req;
	uint64_t vmsa;
	uint64_t feat;
	uint64_t features; /* hypervisor features (0: default) */
	uint64_t err;      /* expected SW_EXITINFO2 with SW_EXITINFO1 = 2 */
} ap_row_t;

static const ap_row_t ap_rows[] = {
	{ROW_HERE, VS_NO_VMSA_BIT, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_SHARED, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_2M_ALIGNED, 1, SVM_VMGEXIT_AP_CREATE, TH_WORK + M2, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_OTHER_ASID, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	/* a VMSA GPA that is not page aligned, not RAM, or 0 */
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA + 8, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, TH_HOLE + K4, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, TH_MMIO + K4, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, 0, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	/* an APIC ID without a vCPU (max_vcpus = 4) */
	{ROW_HERE, VS_GOOD, 4, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_GOOD, 0xFFFFFFFF, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0,
	 GHCB_ERR_INVALID_INPUT},
	/* an unknown request code */
	{ROW_HERE, VS_GOOD, 1, 3, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0, GHCB_ERR_INVALID_INPUT},
	{ROW_HERE, VS_GOOD, 1, 0xFFFF, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE, 0, GHCB_ERR_INVALID_INPUT},
	/* SEV_FEATURES of an SNP VMSA without SNPActive */
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, 0, 0, GHCB_ERR_INVALID_INPUT},
	/* the hypervisor did not advertise AP creation (feature bit 1, facts §3.3) */
	{ROW_HERE, VS_GOOD, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE,
	 GHCB_HV_FT_SNP, GHCB_ERR_INVALID_EVENT},
};

/* Every refusal: SW_EXITINFO1 = 2, the target untouched, no VMSA marked in use. */
static void ap_create_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ap_rows); i++) {
		const ap_row_t *r = &ap_rows[i];
		th_t *t = th_alloc();
		if (r->features)
			t->cfg.features = r->features;
		th_start(t);
		th_register(t, 0, G0);
		uint64_t page = r->vmsa & ~(K4 - 1);
		switch (r->setup) {
		case VS_GOOD: make_vmsa(t, VMSA_GPA); break;
		case VS_NO_VMSA_BIT: th_private(t, page, true); break;
		case VS_SHARED: break;
		case VS_2M_ALIGNED: make_vmsa(t, page); break;
		case VS_OTHER_ASID: {
			rmp_state_t st = {.gpa = page, .asid = TH_ASID + 1, .assigned = true};
			ROW_TRUE(r, rmp_ok(rmp_rmpupdate(t->rmp, 0, page, &st)));
			ROW_TRUE(r, rmp_ok(rmp_pvalidate(t->rmp, TH_ASID + 1, 0, page, page, false, true)));
			ROW_TRUE(r, rmp_ok(rmp_rmpadjust(t->rmp, TH_ASID + 1, 0, page, page, false,
							 1u | RMPADJUST_VMSA_PAGE_BIT)));
			break;
		}
		}
		hv_vcpu_info_t before, after;
		uint32_t target = r->apic < 4 ? r->apic : 1;
		ROW_TRUE(r, hv_vcpu_info(t->hv, target, &before));
		hv_exit_t x = ap_request(t, r->apic, r->req, r->vmsa, r->feat);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		ROW_EQ(r, th_info2(t, 0), r->err);
		ROW_TRUE(r, hv_vcpu_info(t->hv, target, &after));
		ROW_EQ(r, after.state, before.state);
		ROW_EQ(r, after.vmsa_gpa, before.vmsa_gpa);
		ROW_EQ(r, th_count(t, HV_EV_AP_CREATE), 0);
		rmp_entry_t e;
		if (page < TH_RMP_LIMIT && rmp_lookup(t->rmp, page, &e))
			ROW_TRUE(r, !e.in_use);
		th_free(t);
	}
}

/* The same VMSA cannot run two vCPUs: a VMSA in use by vCPU 1 is refused for vCPU 2. */
static void ap_create_vmsa_in_use(void **state)
{
	th_t *t = *state;
	make_vmsa(t, VMSA_GPA);
	ASSERT_DONE(t, ap_request(t, 1, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE));
	hv_exit_t x = ap_request(t, 2, SVM_VMGEXIT_AP_CREATE, VMSA_GPA, SVM_SEV_FEAT_SNP_ACTIVE);
	ASSERT_BAD_INPUT(t, x, GHCB_ERR_INVALID_INPUT);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 2, &vi));
	assert_int_not_equal(vi.state, HV_VCPU_CREATED);
}

/* ------------------------------------------------------------------ termination (0x8000_FFFE) */

typedef struct nterm_row {
	const char *file;
	int line;
	uint64_t info1, info2;
	uint32_t set, code;
} nterm_row_t;

static const nterm_row_t nterm_rows[] = {
	/* SW_EXITINFO1 [3:0] set, [11:4] code; SW_EXITINFO2 extra data (facts §3.4) */
	{ROW_HERE, 0x000, 0, 0, 0},
	{ROW_HERE, 0x010, 0, 0, 1},
	{ROW_HERE, 0x021, 0, 1, 2},
	{ROW_HERE, 0x0C1, 0, 1, 12},
	{ROW_HERE, 0xFFF, 0, 15, 255},
	{ROW_HERE, 0x020, 0x30000, 0, 2}, /* Linux: the unsupported SEV_STATUS bits */
	{ROW_HERE, 0xFFFFFFFFFFFFF031ull, 0, 1, 3}, /* bits above 11 are not set or code */
};

static void nae_termination(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(nterm_rows); i++) {
		const nterm_row_t *r = &nterm_rows[i];
		th_t *t = th_new();
		th_register(t, 0, G0);
		hv_exit_t x = th_nae_simple(t, 0, SVM_VMGEXIT_TERM_REQUEST, r->info1, r->info2);
		ROW_EQ(r, x.action, HV_TERMINATED);
		ROW_EQ(r, x.term_set, r->set);
		ROW_EQ(r, x.term_code, r->code);
		ROW_EQ(r, th_count(t, HV_EV_TERMINATE), 1);
		const hv_event_t *e = th_event(t, HV_EV_TERMINATE, 0);
		ROW_EQ(r, e->set, r->set);
		ROW_EQ(r, e->code, r->code);
		ROW_EQ(r, e->info2, r->info2);
		th_free(t);
	}
}

/* ------------------------------------------------------------------ IOIO (0x7B) */

#define IO_OUT(port, sz) (((uint64_t)(port) << 16) | (sz))
#define IO_IN(port, sz) (IO_OUT(port, sz) | SVM_IOIO_TYPE_IN)

static hv_exit_t io(th_t *t, uint64_t info1, uint64_t rax)
{
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, rax);
	return th_nae(t, 0, SVM_EXIT_IOIO, info1, 0);
}

/* The debug port collects each byte the guest writes with OUT (hv.h, QEMU debugcon). */
static void ioio_debug_port_out(void **state)
{
	th_t *t = *state;
	size_t n;
	(void)hv_debug_output(t->hv, &n);
	assert_int_equal(n, 0);
	ASSERT_DONE(t, io(t, IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE8), 'o'));
	/* an 8-bit OUT writes AL only */
	ASSERT_DONE(t, io(t, IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE8), 0xFFFFFF00u | 'k'));
	const uint8_t *out = hv_debug_output(t->hv, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "ok", 2);
	/* an OUT to another port is not debug output */
	ASSERT_DONE(t, io(t, IO_OUT(HV_DEBUG_PORT + 1, SVM_IOIO_SIZE8), 'x'));
	ASSERT_DONE(t, io(t, IO_OUT(0x80, SVM_IOIO_SIZE8), 'x'));
	(void)hv_debug_output(t->hv, &n);
	assert_int_equal(n, 2);
}

/* String OUT (REP OUTSB): count in SW_EXITINFO2, the bytes in the scratch area. */
static void ioio_string_out(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	memcpy(th_page(t, G0) + 0x800, "hello, world", 12);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	hv_exit_t x = th_nae(t, 0, SVM_EXIT_IOIO,
			     IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE8) | SVM_IOIO_STR | SVM_IOIO_REP, 12);
	ASSERT_DONE(t, x);
	size_t n;
	const uint8_t *out = hv_debug_output(t->hv, &n);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "hello, world", 12);
	/* the scratch area outside the shared buffer: refused, nothing written */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0xFF0 - 4);
	x = th_nae(t, 0, SVM_EXIT_IOIO,
		   IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE8) | SVM_IOIO_STR | SVM_IOIO_REP, 12);
	ASSERT_BAD_INPUT(t, x, GHCB_ERR_INVALID_SCRATCH_AREA);
	/* a count larger than the buffer could ever hold, and one that overflows count * size */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	x = th_nae(t, 0, SVM_EXIT_IOIO,
		   IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE32) | SVM_IOIO_STR | SVM_IOIO_REP,
		   0x4000000000000001ull);
	ASSERT_BAD_INPUT(t, x, GHCB_ERR_INVALID_SCRATCH_AREA);
	(void)hv_debug_output(t->hv, &n);
	assert_int_equal(n, 12);

	/* string IN (REP INSB) from a port nobody claims: count bytes of all ones, no more */
	th_ghcb_reset(t, G0);
	memset(th_page(t, G0) + 0x800, 0x11, 8);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	x = th_nae(t, 0, SVM_EXIT_IOIO,
		   IO_IN(0x1234, SVM_IOIO_SIZE16) | SVM_IOIO_STR | SVM_IOIO_REP, 3);
	ASSERT_DONE(t, x);
	static const uint8_t want[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x11, 0x11};
	assert_memory_equal(th_page(t, G0) + 0x800, want, 8);
}

/* String OUT with no SW_SCRATCH marked valid: missing input, nothing written. */
static void ioio_string_needs_scratch(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	memcpy(th_page(t, G0) + 0x800, "abc", 3);
	th_ghcb_poke(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	hv_exit_t x = th_nae(t, 0, SVM_EXIT_IOIO,
			     IO_OUT(HV_DEBUG_PORT, SVM_IOIO_SIZE8) | SVM_IOIO_STR | SVM_IOIO_REP, 3);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
	assert_true(th_info2(t, 0) == GHCB_ERR_MISSING_INPUT ||
		    th_info2(t, 0) == GHCB_ERR_INVALID_SCRATCH_AREA);
	size_t n;
	(void)hv_debug_output(t->hv, &n);
	assert_int_equal(n, 0);
}

/* A device added to the table answers IN/OUT at its ports with the offset and size. */
static void ioio_device_table(void **state)
{
	th_t *t = *state;
	rec_dev_t d = {.read_val = 0xA1B2C3D4};
	hv_device_t dev = {.name = "rec-pio",
			   .kind = HV_DEV_PIO,
			   .base = 0x510,
			   .size = 4,
			   .read = rec_read,
			   .write = rec_write,
			   .opaque = &d};
	assert_true(hv_add_device(t->hv, &dev));
	/* overlapping ports, a zero-size device, the debug port itself: refused */
	hv_device_t overlap = dev;
	overlap.base = 0x513;
	assert_false(hv_add_device(t->hv, &overlap));
	hv_device_t empty = dev;
	empty.base = 0x600;
	empty.size = 0;
	assert_false(hv_add_device(t->hv, &empty));
	hv_device_t dbg = dev;
	dbg.base = HV_DEBUG_PORT;
	dbg.size = 1;
	assert_false(hv_add_device(t->hv, &dbg));
	/* the same ports as MMIO addresses are another space: accepted */
	hv_device_t mm = dev;
	mm.kind = HV_DEV_MMIO;
	assert_true(hv_add_device(t->hv, &mm));

	ASSERT_DONE(t, io(t, IO_OUT(0x512, SVM_IOIO_SIZE16), 0xFFFF1234));
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_off, 2);
	assert_int_equal(d.last_size, 2);
	assert_int_equal(d.last_val, 0x1234);

	/* IN EAX zero-extends into RAX; IN AL/AX keep the rest of RAX (x86 semantics) */
	ASSERT_DONE(t, io(t, IO_IN(0x510, SVM_IOIO_SIZE32), 0xFFFFFFFFFFFFFFFFull));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xA1B2C3D4);
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RAX));
	ASSERT_DONE(t, io(t, IO_IN(0x511, SVM_IOIO_SIZE8), 0x1111111111111111ull));
	assert_int_equal(d.last_off, 1);
	assert_int_equal(d.last_size, 1);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0x11111111111111D4ull);
	ASSERT_DONE(t, io(t, IO_IN(0x510, SVM_IOIO_SIZE16), 0x2222222222222222ull));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0x222222222222C3D4ull);
	assert_int_equal(d.reads, 3);
}

/* An IN from a port nobody claims reads all ones, like an empty ISA bus. */
static void ioio_unclaimed_port_reads_ones(void **state)
{
	th_t *t = *state;
	ASSERT_DONE(t, io(t, IO_IN(0x1234, SVM_IOIO_SIZE8), 0x5555555555555500ull));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0x55555555555555FFull);
	ASSERT_DONE(t, io(t, IO_IN(0x1234, SVM_IOIO_SIZE32), 0));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xFFFFFFFFull);
}

/* ------------------------------------------------------------------ MMIO (0x8000_0001/2) */

static void mmio_write_and_read(void **state)
{
	th_t *t = *state;
	rec_dev_t d = {.read_val = 0x1122334455667788ull};
	add_mmio_dev(t, &d);

	th_ghcb_reset(t, G0);
	uint64_t data = 0xDEADBEEF;
	memcpy(th_page(t, G0) + 0x800, &data, 4);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	ASSERT_DONE(t, th_nae(t, 0, SVM_VMGEXIT_MMIO_WRITE, TH_MMIO + 0x10, 4));
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_off, 0x10);
	assert_int_equal(d.last_size, 4);
	assert_int_equal(d.last_val, 0xDEADBEEF);

	/* read: exactly byte-count bytes land in the scratch area, the rest is untouched */
	for (uint32_t len = 1; len <= 8; len *= 2) {
		th_ghcb_reset(t, G0);
		memset(th_page(t, G0) + 0x800, 0xCC, 16);
		th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
		ASSERT_DONE(t, th_nae(t, 0, SVM_VMGEXIT_MMIO_READ, TH_MMIO + 0x20, len));
		assert_int_equal(d.last_off, 0x20);
		assert_int_equal(d.last_size, len);
		uint8_t want[16];
		memset(want, 0xCC, sizeof(want));
		memcpy(want, &d.read_val, len);
		assert_memory_equal(th_page(t, G0) + 0x800, want, 16);
	}
	/* the data may sit anywhere in the shared buffer */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0xFE8);
	ASSERT_DONE(t, th_nae(t, 0, SVM_VMGEXIT_MMIO_READ, TH_MMIO, 8));
	assert_int_equal(th_ghcb_get(t, G0, 0xFE8), d.read_val);
}

/* A byte count of 0 does nothing; one above 8 cannot be one access: refused (KVM). */
static void mmio_bad_length(void **state)
{
	th_t *t = *state;
	rec_dev_t d = {0};
	add_mmio_dev(t, &d);
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	hv_exit_t x = th_nae(t, 0, SVM_VMGEXIT_MMIO_WRITE, TH_MMIO, 0);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(d.writes, 0);
	static const uint64_t bad[] = {16, 9, 0x800, UINT64_MAX};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		th_ghcb_reset(t, G0);
		th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
		x = th_nae(t, 0, SVM_VMGEXIT_MMIO_READ, TH_MMIO, bad[i]);
		assert_int_equal(x.action, HV_RESUME);
		assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		assert_int_equal(d.reads, 0);
	}
}

/* An MMIO read nobody claims reads all ones (a master abort), exactly byte-count bytes. */
static void mmio_unclaimed_reads_ones(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	memset(th_page(t, G0) + 0x800, 0, 8);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
	ASSERT_DONE(t, th_nae(t, 0, SVM_VMGEXIT_MMIO_READ, TH_MMIO + 0x100000, 4));
	assert_int_equal(th_ghcb_get(t, G0, 0x800), 0xFFFFFFFFull);
}

/* ------------------------------------------------------------------ CPUID (0x72) */

typedef struct ncpuid_row {
	const char *file;
	int line;
	uint64_t leaf, subleaf;
	bool xcr0_valid;
	uint64_t xcr0;
	uint32_t want[4];
} ncpuid_row_t;

static const ncpuid_row_t ncpuid_rows[] = {
	{ROW_HERE, 0x0, 0, false, 0, {0xD, 0x68747541, 0x444D4163, 0x69746E65}},
	{ROW_HERE, 0x1, 0, false, 0, {0x00A10F11, 0x01000800, 0x7ED8320B, 0x178BFBFF}},
	/* leaf 1 is not indexed: ECX is ignored (facts §9.1) */
	{ROW_HERE, 0x1, 5, false, 0, {0x00A10F11, 0x01000800, 0x7ED8320B, 0x178BFBFF}},
	/* leaf 7 is: subleaf 0 and 1 are different entries */
	{ROW_HERE, 0x7, 0, false, 0, {0x1, 0x219C97A9, 0x0040069C, 0x10}},
	{ROW_HERE, 0x7, 1, false, 0, {0x71, 0x72, 0x73, 0x74}},
	/* leaf 0xD subleaf 0: the XSAVE size follows XCR0 */
	{ROW_HERE, 0xD, 0, true, 1, {0x7, 0x240, 0x988, 0}},
	{ROW_HERE, 0xD, 0, true, 3, {0x7, 0x340, 0x988, 0}},
	{ROW_HERE, CPUID_FN_SEV, 0, false, 0,
	 {CPUID_SEV_EAX_SEV | CPUID_SEV_EAX_SEV_ES | CPUID_SEV_EAX_SNP | CPUID_SEV_EAX_VMPL,
	  51 | (1u << 6) | (4u << 12), 1006, 1}},
	/* only RAX[31:0] is the leaf */
	{ROW_HERE, 0xFFFFFFFF00000001ull, 0, false, 0, {0x00A10F11, 0x01000800, 0x7ED8320B, 0x178BFBFF}},
};

static void nae_cpuid(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(ncpuid_rows); i++) {
		const ncpuid_row_t *r = &ncpuid_rows[i];
		th_ghcb_reset(t, G0);
		th_ghcb_set(t, G0, GHCB_OFF_RAX, r->leaf);
		th_ghcb_set(t, G0, GHCB_OFF_RCX, r->subleaf);
		if (r->xcr0_valid)
			th_ghcb_set(t, G0, GHCB_OFF_XCR0, r->xcr0);
		hv_exit_t x = th_nae(t, 0, SVM_EXIT_CPUID, 0, 0);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, th_info1(t, 0), 0);
		ROW_EQ(r, th_ghcb_get(t, G0, GHCB_OFF_RAX), r->want[0]);
		ROW_EQ(r, th_ghcb_get(t, G0, GHCB_OFF_RBX), r->want[1]);
		ROW_EQ(r, th_ghcb_get(t, G0, GHCB_OFF_RCX), r->want[2]);
		ROW_EQ(r, th_ghcb_get(t, G0, GHCB_OFF_RDX), r->want[3]);
	}
}

/* ------------------------------------------------------------------ MSR (0x7C) */

static hv_exit_t msr_access(th_t *t, bool write, uint32_t msr, uint64_t val)
{
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RCX, msr);
	if (write) {
		th_ghcb_set(t, G0, GHCB_OFF_RAX, val & 0xFFFFFFFF);
		th_ghcb_set(t, G0, GHCB_OFF_RDX, val >> 32);
	}
	return th_nae(t, 0, SVM_EXIT_MSR, write ? 1 : 0, 0);
}

/* Read: RCX names the MSR, EDX:EAX the value (facts §5.1). Write then read back. */
static void nae_msr_read_write(void **state)
{
	th_t *t = *state;
	assert_true(hv_set_msr(t->hv, MSR_IA32_APICBASE, 0xFEE00900ull | (1ull << 40)));
	ASSERT_DONE(t, msr_access(t, false, MSR_IA32_APICBASE, 0));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xFEE00900);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RDX), 0x100);
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RAX));
	assert_true(th_ghcb_valid(t, G0, GHCB_OFF_RDX));
	ASSERT_DONE(t, msr_access(t, true, MSR_IA32_APICBASE, 0x12345678ABCDEF00ull));
	ASSERT_DONE(t, msr_access(t, false, MSR_IA32_APICBASE, 0));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xABCDEF00);
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RDX), 0x12345678);
	/* only ECX names the MSR */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RCX, 0xFFFFFFFF00000000ull | MSR_IA32_APICBASE);
	ASSERT_DONE(t, th_nae(t, 0, SVM_EXIT_MSR, 0, 0));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0xABCDEF00);
}

/*
 * An MSR the hypervisor does not have: #GP for the guest, SW_EXITINFO1 = 1 and
 * SW_EXITINFO2 in event-injection format (facts §4.5): vector 13 in [7:0], type
 * 3 (exception) in [10:8], valid in bit 31.
 */
static void nae_msr_unknown_gp(void **state)
{
	th_t *t = *state;
	for (int write = 0; write < 2; write++) {
		hv_exit_t x = msr_access(t, write, 0xC0011234, 5);
		assert_int_equal(x.action, HV_RESUME);
		assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_ISSUE_EXCEPTION);
		uint64_t ev = th_info2(t, 0);
		assert_int_equal(ev & 0xFF, X86_TRAP_GP);
		assert_int_equal((ev >> 8) & 7, 3);
		assert_true(ev & (1ull << 31));
	}
	/* the failed write did not create the MSR */
	msr_access(t, false, 0xC0011234, 0);
	assert_int_equal(th_info1(t, 0), GHCB_HV_RESP_ISSUE_EXCEPTION);
}

/* ------------------------------------------------------------------ other events answered */

/* AP reset hold through the GHCB: SW_EXITINFO2 = 0 now, nonzero once woken (facts §5.2). */
static void nae_ap_reset_hold(void **state)
{
	th_t *t = *state;
	assert_true(hv_vcpu_wake(t->hv, 1));
	th_register(t, 1, TH_GHCB(1));
	hv_exit_t x = th_nae_simple(t, 1, SVM_VMGEXIT_AP_HLT_LOOP, 0, 0);
	assert_int_equal(x.action, HV_HOLD);
	assert_int_equal(th_info1(t, 1), 0);
	assert_int_equal(th_info2(t, 1), 0);
	hv_vcpu_info_t vi;
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_HELD);
	assert_true(hv_vcpu_wake(t->hv, 1));
	assert_int_not_equal(th_info2(t, 1), 0);
	assert_true(hv_vcpu_info(t->hv, 1, &vi));
	assert_int_equal(vi.state, HV_VCPU_RUNNING);
}

/* AP jump table: SW_EXITINFO1 0 sets it from SW_EXITINFO2, 1 gets it (facts §5.2). */
static void nae_ap_jump_table(void **state)
{
	th_t *t = *state;
	ASSERT_DONE(t, th_nae_simple(t, 0, SVM_VMGEXIT_AP_JUMP_TABLE, 0, 0x9F000));
	ASSERT_DONE(t, th_nae_simple(t, 0, SVM_VMGEXIT_AP_JUMP_TABLE, 1, 0));
	assert_int_equal(th_info2(t, 0), 0x9F000);
}

typedef struct simple_row {
	const char *file;
	int line;
	uint64_t code;
	uint32_t set; /* V_* fields needed */
	uint32_t out; /* V_* fields the guest needs back valid */
} simple_row_t;

static const simple_row_t simple_rows[] = {
	{ROW_HERE, SVM_EXIT_READ_DR7, 0, V_RAX},
	{ROW_HERE, SVM_EXIT_WRITE_DR7, V_RAX, 0},
	{ROW_HERE, SVM_EXIT_RDTSC, 0, V_RAX | V_RDX},
	{ROW_HERE, SVM_EXIT_RDTSCP, 0, V_RAX | V_RCX | V_RDX},
	{ROW_HERE, SVM_EXIT_INVD, 0, 0},
	{ROW_HERE, SVM_EXIT_WBINVD, 0, 0},
	{ROW_HERE, SVM_EXIT_MONITOR, V_RAX | V_RCX | V_RDX, 0},
	{ROW_HERE, SVM_EXIT_MWAIT, V_RAX | V_RCX, 0},
	{ROW_HERE, SVM_EXIT_VMMCALL, V_RAX | V_CPL, V_RAX},
	{ROW_HERE, SVM_VMGEXIT_NMI_COMPLETE, 0, 0},
};

/* The standard exits of facts §5.1 with their inputs: answered, outputs marked valid. */
static void nae_standard_exits(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(simple_rows); i++) {
		const simple_row_t *r = &simple_rows[i];
		th_ghcb_reset(t, G0);
		set_fields(t, r->set, 0x400);
		hv_exit_t x = th_nae(t, 0, r->code, 0, 0);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, th_info1(t, 0), 0);
		if (r->out & V_RAX)
			ROW_TRUE(r, th_ghcb_valid(t, G0, GHCB_OFF_RAX));
		if (r->out & V_RCX)
			ROW_TRUE(r, th_ghcb_valid(t, G0, GHCB_OFF_RCX));
		if (r->out & V_RDX)
			ROW_TRUE(r, th_ghcb_valid(t, G0, GHCB_OFF_RDX));
	}
	/* DR7 written is DR7 read */
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_RAX, 0x4FF);
	ASSERT_DONE(t, th_nae(t, 0, SVM_EXIT_WRITE_DR7, 0, 0));
	ASSERT_DONE(t, th_nae_simple(t, 0, SVM_EXIT_READ_DR7, 0, 0));
	assert_int_equal(th_ghcb_get(t, G0, GHCB_OFF_RAX), 0x4FF);
	/* the TSC does not run backwards */
	ASSERT_DONE(t, th_nae_simple(t, 0, SVM_EXIT_RDTSC, 0, 0));
	uint64_t a = th_ghcb_get(t, G0, GHCB_OFF_RAX) | (th_ghcb_get(t, G0, GHCB_OFF_RDX) << 32);
	ASSERT_DONE(t, th_nae_simple(t, 0, SVM_EXIT_RDTSC, 0, 0));
	uint64_t b = th_ghcb_get(t, G0, GHCB_OFF_RAX) | (th_ghcb_get(t, G0, GHCB_OFF_RDX) << 32);
	assert_true(b > a);
}

/* ------------------------------------------------------------------ unsupported events */

typedef struct uns_row {
	const char *file;
	int line;
	uint64_t code;
} uns_row_t;

static const uns_row_t uns_rows[] = {
	{ROW_HERE, 0x078},         /* HLT: not an NAE event */
	{ROW_HERE, SVM_EXIT_NPF},  /* 0x400 is reached through the MMIO events, not sent */
	{ROW_HERE, SVM_EXIT_VMGEXIT},
	{ROW_HERE, 0x0},
	{ROW_HERE, 0x7FFFFFFF},
	{ROW_HERE, 0x80000000},
	{ROW_HERE, 0x80000006},
	{ROW_HERE, SVM_VMGEXIT_GUEST_REQUEST},     /* needs SNP firmware crypto: not modeled */
	{ROW_HERE, SVM_VMGEXIT_EXT_GUEST_REQUEST},
	{ROW_HERE, 0x80000014}, /* HV doorbell page: restricted injection is not advertised */
	{ROW_HERE, 0x8000FFFC},
	{ROW_HERE, 0xFFFFFFFF8000FFFDull}, /* exit codes are 64 bits: not HV features */
	{ROW_HERE, UINT64_MAX},
};

/* An event the hypervisor does not handle: SW_EXITINFO1 = 2, error 6 (facts §4.5, §5.3). */
static void nae_unsupported_event_answer(void **state)
{
	th_t *t = *state;
	for (size_t i = 0; i < G_N_ELEMENTS(uns_rows); i++) {
		const uns_row_t *r = &uns_rows[i];
		th_ghcb_reset(t, G0);
		th_ghcb_set(t, G0, GHCB_OFF_RAX, 0);
		th_ghcb_set(t, G0, GHCB_OFF_RCX, 0);
		th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0x800);
		hv_exit_t x = th_nae(t, 0, r->code, 0, 0);
		ROW_EQ(r, x.action, HV_RESUME);
		ROW_EQ(r, th_info1(t, 0), GHCB_HV_RESP_MALFORMED_INPUT);
		ROW_EQ(r, th_info2(t, 0), GHCB_ERR_INVALID_EVENT);
	}
}

/* The guest's own "unsupported event" (0x8000_FFFF, a #VC it cannot handle): KVM stops it. */
static void nae_guest_reports_unsupported(void **state)
{
	th_t *t = *state;
	hv_exit_t x = th_nae_simple(t, 0, SVM_VMGEXIT_UNSUPPORTED_EVENT, SVM_EXIT_NPF, 0);
	assert_int_equal(x.action, HV_STOPPED);
	assert_int_equal(x.stop, HV_STOP_UNSUPPORTED_EVENT);
	assert_int_equal(th_event(t, HV_EV_STOP, 0)->stop, HV_STOP_UNSUPPORTED_EVENT);
}

/* GHCB MSR = 0: no GHCB, KVM returns straight to the guest and touches nothing. */
static void nae_gpa_zero(void **state)
{
	th_t *t = *state;
	hv_exit_t x = hv_vmgexit(t->hv, 0, 0);
	assert_int_not_equal(x.action, HV_TERMINATED);
	assert_null(th_page_peek(t, 0));
	assert_int_equal(th_count(t, HV_EV_RMPUPDATE), 0);
}

/*
 * String IN with SW_SCRATCH in the GHCB trailer (0xFF4): not inside the shared
 * buffer, so error 3 and no device access (facts §4.6). 2000 dwords from there
 * would run 8000 bytes past the GHCB page: a memory-safety probe, so it runs last.
 */
static void ioio_string_scratch_in_trailer(void **state)
{
	th_t *t = *state;
	th_ghcb_reset(t, G0);
	th_ghcb_set(t, G0, GHCB_OFF_SW_SCRATCH, G0 + 0xFF4);
	hv_exit_t x = th_nae(t, 0, SVM_EXIT_IOIO,
			     IO_IN(HV_DEBUG_PORT, SVM_IOIO_SIZE32) | SVM_IOIO_STR | SVM_IOIO_REP, 2000);
	ASSERT_BAD_INPUT(t, x, GHCB_ERR_INVALID_SCRATCH_AREA);
	/* the version and usage fields are the guest's: the reply does not rewrite them */
	uint16_t version;
	memcpy(&version, th_page(t, G0) + GHCB_OFF_PROTOCOL_VERSION, sizeof(version));
	assert_int_equal(version, GHCB_PROTOCOL_SNP);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_registered, th_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ghcb_unregistered_stops, th_setup, th_teardown),
		T(ghcb_private_page_stops),
		cmocka_unit_test(ghcb_in_private_2m_entry_stops),
		T(ghcb_version_and_usage),
		T(valid_bitmap_missing_input),
		T(valid_bitmap_reply),
		T(valid_bitmap_reply_on_error),
		T(scratch_area_rules),
		T(nae_psc_basic),
		cmocka_unit_test(nae_hv_features),
		T(ap_create_and_start),
		T(ap_create_on_init),
		T(ap_destroy),
		T(ap_recreate_releases_old_vmsa),
		cmocka_unit_test(ap_create_refused),
		T(ap_create_vmsa_in_use),
		cmocka_unit_test(nae_termination),
		T(ioio_debug_port_out),
		T(ioio_string_out),
		T(ioio_string_needs_scratch),
		T(ioio_device_table),
		T(ioio_unclaimed_port_reads_ones),
		T(mmio_write_and_read),
		T(mmio_bad_length),
		T(mmio_unclaimed_reads_ones),
		T(nae_cpuid),
		T(nae_msr_read_write),
		T(nae_msr_unknown_gp),
		T(nae_ap_reset_hold),
		T(nae_ap_jump_table),
		T(nae_standard_exits),
		T(nae_unsupported_event_answer),
		T(nae_guest_reports_unsupported),
		T(nae_gpa_zero),
		/* last: with the scratch-bounds bug it overruns the heap (see its comment) */
		T(ioio_string_scratch_in_trailer),
	};
#undef T
	return cmocka_run_group_tests_name("hv_nae", tests, NULL, NULL);
}
