/* SPDX-License-Identifier: MIT */
/*
 * The hv_model test harness (hv_harness.h has the machine it models). It only
 * plays the machine's part: it owns memory contents and collects events, and
 * takes every RMP change the guest would make through rmp/'s instructions.
 */
#include "hv_harness.h"

#include <string.h>

/* ------------------------------------------------------------------ machine interfaces */

static uint8_t *store_page(void *ctx, uint64_t spa, bool create)
{
	th_t *t = ctx;
	uint64_t key = spa & ~(K4 - 1);
	t->page_calls++;
	/* the hypervisor asks for pages aligned or not: both must name the same page */
	uint8_t *p = g_hash_table_lookup(t->pages, &key);
	if (p || !create)
		return p;
	uint64_t *k = g_new(uint64_t, 1);
	*k = key;
	p = g_malloc0(K4);
	g_hash_table_insert(t->pages, k, p);
	return p;
}

static const hv_mem_ops_t store_ops = {.page = store_page};

static void capture(void *ctx, const hv_event_t *ev)
{
	th_t *t = ctx;
	g_array_append_val(t->events, *ev);
}

/*
 * The hypervisor's CPUID answers. Values are distinct per leaf and register so
 * a wrong register, leaf or subleaf shows; leaves 7 and 0xD are indexed (facts
 * §9.1), and 0xD subleaf 0 has one entry per XCR0 (1 = x87, 3 = x87|SSE).
 */
static size_t default_cpuid(struct snp_cpuid_fn *fn)
{
	size_t n = 0;
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x0,
					.eax = 0xD,
					.ebx = 0x68747541,
					.ecx = 0x444D4163,
					.edx = 0x69746E65};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = 0x1, .eax = 0x00A10F11, .ebx = 0x01000800, .ecx = 0x7ED8320B, .edx = 0x178BFBFF};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = 0x7, .ecx_in = 0, .eax = 0x1, .ebx = 0x219C97A9, .ecx = 0x0040069C, .edx = 0x10};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = 0x7, .ecx_in = 1, .eax = 0x71, .ebx = 0x72, .ecx = 0x73, .edx = 0x74};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = 0xD, .ecx_in = 0, .xcr0_in = 1, .eax = 0x7, .ebx = 0x240, .ecx = 0x988};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = 0xD, .ecx_in = 0, .xcr0_in = 3, .eax = 0x7, .ebx = 0x340, .ecx = 0x988};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x80000000,
					.eax = 0x80000021,
					.ebx = 0x68747541,
					.ecx = 0x444D4163,
					.edx = 0x69746E65};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = CPUID_FN_SEV,
					.eax = CPUID_SEV_EAX_SEV | CPUID_SEV_EAX_SEV_ES |
					       CPUID_SEV_EAX_SNP | CPUID_SEV_EAX_VMPL,
					.ebx = 51 | (1u << 6) | (4u << 12),
					.ecx = 1006,
					.edx = 1};
	return n;
}

th_t *th_alloc(void)
{
	th_t *t = g_new0(th_t, 1);
	t->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	t->events = g_array_new(FALSE, TRUE, sizeof(hv_event_t));
	size_t n = 0;
	t->ranges[n++] = (hv_mem_range_t){TH_RAM0, TH_RAM0_SIZE, HV_MEM_RAM};
	t->ranges[n++] = (hv_mem_range_t){TH_MMIO, TH_MMIO_SIZE, HV_MEM_MMIO};
	t->ranges[n++] = (hv_mem_range_t){TH_RAM1, TH_RAM1_SIZE, HV_MEM_RAM};
	t->ranges[n++] = (hv_mem_range_t){TH_ROM, TH_ROM_SIZE, HV_MEM_ROM};
	hv_config_defaults(&t->cfg);
	t->cfg.asid = TH_ASID;
	t->cfg.max_vcpus = 4;
	t->cfg.ranges = t->ranges;
	t->cfg.nranges = n;
	t->cfg.ncpuid = default_cpuid(t->cpuid);
	t->cfg.cpuid = t->cpuid;
	t->cfg.seed = 0x5EED;
	t->cfg.spare_spa = TH_SPARE;
	t->cfg.spare_pages = TH_SPARE_PAGES;
	t->cfg.mem = &store_ops;
	t->cfg.mem_ctx = t;
	t->cfg.emit = capture;
	t->cfg.emit_ctx = t;
	return t;
}

void th_start(th_t *t)
{
	t->rmp = rmp_new(TH_RMP_LIMIT);
	assert_non_null(t->rmp);
	const char *err = NULL;
	t->hv = hv_new(t->rmp, &t->cfg, &err);
	if (!t->hv)
		fail_msg("hv_new refused the harness configuration: %s", err ? err : "(no message)");
}

th_t *th_new(void)
{
	th_t *t = th_alloc();
	th_start(t);
	return t;
}

void th_free(th_t *t)
{
	if (!t)
		return;
	hv_free(t->hv);
	rmp_free(t->rmp);
	g_hash_table_destroy(t->pages);
	g_array_unref(t->events);
	g_free(t);
}

int th_setup(void **state)
{
	*state = th_new();
	return 0;
}

int th_teardown(void **state)
{
	th_free(*state);
	return 0;
}

/* ------------------------------------------------------------------ memory */

uint8_t *th_page(th_t *t, uint64_t spa)
{
	uint32_t calls = t->page_calls;
	uint8_t *p = store_page(t, spa, true);
	t->page_calls = calls; /* our own accesses are not the hypervisor's */
	return p;
}

const uint8_t *th_page_peek(const th_t *t, uint64_t spa)
{
	uint64_t key = spa & ~(K4 - 1);
	return g_hash_table_lookup(t->pages, &key);
}

uint64_t th_read64(th_t *t, uint64_t spa)
{
	uint64_t v;
	memcpy(&v, th_page(t, spa) + (spa & (K4 - 1)), sizeof(v));
	return v;
}

void th_write64(th_t *t, uint64_t spa, uint64_t v)
{
	memcpy(th_page(t, spa) + (spa & (K4 - 1)), &v, sizeof(v));
}

/* ------------------------------------------------------------------ RMP */

rmp_entry_t th_rmp(const th_t *t, uint64_t spa)
{
	rmp_entry_t e;
	assert_true(rmp_lookup(t->rmp, spa, &e));
	return e;
}

static void make_private(th_t *t, uint64_t gpa, bool validated, bool page_2m)
{
	rmp_state_t st = {.gpa = gpa, .asid = TH_ASID, .assigned = true, .page_2m = page_2m};
	rmp_result_t r = rmp_rmpupdate(t->rmp, 0, gpa, &st);
	assert_true(rmp_ok(r));
	if (validated) {
		r = rmp_pvalidate(t->rmp, TH_ASID, 0, gpa, gpa, page_2m, true);
		assert_true(rmp_ok(r));
		assert_int_equal(r.cf, 0);
	}
}

void th_private(th_t *t, uint64_t gpa, bool validated)
{
	make_private(t, gpa, validated, false);
}

void th_private_2m(th_t *t, uint64_t gpa, bool validated)
{
	make_private(t, gpa, validated, true);
}

rmp_result_t th_pvalidate(th_t *t, uint64_t gpa)
{
	return rmp_pvalidate(t->rmp, TH_ASID, 0, gpa, gpa, false, true);
}

void th_expect_page(const th_t *t, uint64_t gpa, bool assigned, bool validated, const char *file,
		    int line)
{
	rmp_entry_t e;
	_assert_true(rmp_lookup(t->rmp, gpa, &e), "rmp_lookup", file, line);
	bool ok = e.assigned == assigned && e.validated == validated &&
		  (!assigned || (e.asid == TH_ASID && e.gpa == (gpa & ~(K4 - 1)) && !e.immutable));
	if (ok)
		return;
	/* say what was found: a bare failure at a table row says too little */
	print_error("page 0x%llx: assigned %d (want %d) validated %d (want %d) asid %u gpa 0x%llx "
		    "immutable %d\n",
		    (unsigned long long)gpa, e.assigned, assigned, e.validated, validated, e.asid,
		    (unsigned long long)e.gpa, e.immutable);
	_fail(file, line);
}

/* ------------------------------------------------------------------ MSR protocol */

hv_exit_t th_msr(th_t *t, uint32_t vcpu, uint64_t req)
{
	return hv_vmgexit(t->hv, vcpu, req);
}

void th_register(th_t *t, uint32_t vcpu, uint64_t gpa)
{
	hv_exit_t x = th_msr(t, vcpu, ghcb_msr_gfn_val(TH_GFN(gpa), GHCB_MSR_REG_GPA_REQ));
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(x.ghcb_msr, ghcb_msr_gfn_val(TH_GFN(gpa), GHCB_MSR_REG_GPA_RESP));
}

/* ------------------------------------------------------------------ GHCB page */

void th_ghcb_reset(th_t *t, uint64_t gpa)
{
	uint8_t *p = th_page(t, gpa);
	memset(p, 0, K4);
	th_ghcb_set_version(t, gpa, GHCB_PROTOCOL_SNP);
	th_ghcb_set_usage(t, gpa, GHCB_DEFAULT_USAGE);
}

void th_ghcb_poke(th_t *t, uint64_t gpa, uint32_t off, uint64_t val)
{
	memcpy(th_page(t, gpa) + off, &val, sizeof(val));
}

static void bitmap_bit(th_t *t, uint64_t gpa, uint32_t off, bool set)
{
	uint8_t *p = th_page(t, gpa) + GHCB_OFF_VALID_BITMAP;
	uint32_t bit = GHCB_BITMAP_IDX(off);
	if (set)
		p[bit / 8] |= (uint8_t)(1u << (bit % 8));
	else
		p[bit / 8] &= (uint8_t) ~(1u << (bit % 8));
}

void th_ghcb_set(th_t *t, uint64_t gpa, uint32_t off, uint64_t val)
{
	th_ghcb_poke(t, gpa, off, val);
	bitmap_bit(t, gpa, off, true);
}

void th_ghcb_set_cpl(th_t *t, uint64_t gpa, uint8_t cpl)
{
	th_page(t, gpa)[GHCB_OFF_CPL] = cpl;
	bitmap_bit(t, gpa, GHCB_OFF_CPL, true);
}

void th_ghcb_clear_valid(th_t *t, uint64_t gpa, uint32_t off)
{
	bitmap_bit(t, gpa, off, false);
}

uint64_t th_ghcb_get(th_t *t, uint64_t gpa, uint32_t off)
{
	uint64_t v;
	memcpy(&v, th_page(t, gpa) + off, sizeof(v));
	return v;
}

bool th_ghcb_valid(th_t *t, uint64_t gpa, uint32_t off)
{
	const uint8_t *p = th_page(t, gpa) + GHCB_OFF_VALID_BITMAP;
	uint32_t bit = GHCB_BITMAP_IDX(off);
	return p[bit / 8] & (1u << (bit % 8));
}

void th_ghcb_set_version(th_t *t, uint64_t gpa, uint16_t version)
{
	memcpy(th_page(t, gpa) + GHCB_OFF_PROTOCOL_VERSION, &version, sizeof(version));
}

void th_ghcb_set_usage(th_t *t, uint64_t gpa, uint32_t usage)
{
	memcpy(th_page(t, gpa) + GHCB_OFF_USAGE, &usage, sizeof(usage));
}

hv_exit_t th_nae(th_t *t, uint32_t vcpu, uint64_t code, uint64_t info1, uint64_t info2)
{
	uint64_t g = TH_GHCB(vcpu);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITCODE, code);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO1, info1);
	th_ghcb_set(t, g, GHCB_OFF_SW_EXITINFO2, info2);
	return hv_vmgexit(t->hv, vcpu, g);
}

hv_exit_t th_nae_simple(th_t *t, uint32_t vcpu, uint64_t code, uint64_t info1, uint64_t info2)
{
	th_ghcb_reset(t, TH_GHCB(vcpu));
	return th_nae(t, vcpu, code, info1, info2);
}

uint64_t th_info1(th_t *t, uint32_t vcpu)
{
	return th_ghcb_get(t, TH_GHCB(vcpu), GHCB_OFF_SW_EXITINFO1);
}

uint64_t th_info2(th_t *t, uint32_t vcpu)
{
	return th_ghcb_get(t, TH_GHCB(vcpu), GHCB_OFF_SW_EXITINFO2);
}

/* ------------------------------------------------------------------ PSC descriptor */

hv_exit_t th_psc_at(th_t *t, uint32_t vcpu, uint32_t off, uint16_t cur, uint16_t end,
		    const uint64_t *ent, size_t n)
{
	uint64_t g = TH_GHCB(vcpu);
	th_ghcb_reset(t, g);
	uint8_t *p = th_page(t, g);
	struct psc_hdr h = {.cur_entry = cur, .end_entry = end, .reserved = 0};
	assert_true(off + sizeof(h) + n * 8 <= K4);
	memcpy(p + off, &h, sizeof(h));
	if (n)
		memcpy(p + off + sizeof(h), ent, n * sizeof(uint64_t));
	th_ghcb_set(t, g, GHCB_OFF_SW_SCRATCH, g + off);
	return th_nae(t, vcpu, SVM_VMGEXIT_PSC, 0, 0);
}

hv_exit_t th_psc(th_t *t, uint32_t vcpu, uint16_t cur, uint16_t end, const uint64_t *ent,
		 size_t n)
{
	return th_psc_at(t, vcpu, GHCB_OFF_SHARED_BUFFER, cur, end, ent, n);
}

hv_exit_t th_psc_again(th_t *t, uint32_t vcpu, uint32_t off)
{
	uint64_t g = TH_GHCB(vcpu);
	/* as Linux's vmgexit_psc: the descriptor stays, the request fields are set anew */
	memset(th_page(t, g) + GHCB_OFF_VALID_BITMAP, 0, GHCB_VALID_BITMAP_SIZE);
	th_ghcb_set(t, g, GHCB_OFF_SW_SCRATCH, g + off);
	return th_nae(t, vcpu, SVM_VMGEXIT_PSC, 0, 0);
}

struct psc_hdr th_psc_hdr(th_t *t, uint32_t vcpu, uint32_t off)
{
	struct psc_hdr h;
	memcpy(&h, th_page(t, TH_GHCB(vcpu)) + off, sizeof(h));
	return h;
}

uint64_t th_psc_entry(th_t *t, uint32_t vcpu, uint32_t off, uint32_t i)
{
	return th_ghcb_get(t, TH_GHCB(vcpu), off + (uint32_t)sizeof(struct psc_hdr) + i * 8u);
}

/* ------------------------------------------------------------------ events */

size_t th_count(const th_t *t, hv_event_kind_t kind)
{
	size_t n = 0;
	for (guint i = 0; i < t->events->len; i++)
		if (g_array_index(t->events, hv_event_t, i).kind == kind)
			n++;
	return n;
}

const hv_event_t *th_event(const th_t *t, hv_event_kind_t kind, size_t nth)
{
	for (guint i = 0; i < t->events->len; i++) {
		const hv_event_t *e = &g_array_index(t->events, hv_event_t, i);
		if (e->kind == kind && nth-- == 0)
			return e;
	}
	return NULL;
}

void th_events_clear(th_t *t)
{
	g_array_set_size(t->events, 0);
}
