/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ghcb: the mock hypervisor against a hostile guest. Bytes -> a hypervisor
 * configuration, a few launch updates, then a sequence of guest actions: GHCB
 * MSR values (any function code, any data), GHCB pages with arbitrary bytes or
 * with fields a guest would set (exit code, exit infos, scratch, valid bitmap,
 * a PSC descriptor in the shared buffer), PVALIDATEs, nested page faults,
 * accesses and vCPU wake-ups, all through hv.h over a real rmp_t. No fault plan:
 * the hypervisor is honest, only the guest lies.
 *
 * Findings: any crash or sanitizer report, and any RMP state the hypervisor's
 * rules (hv_model/psc.c, launch.c) cannot produce for a lone honest hypervisor:
 *  - a page assigned to another ASID, or at a GPA other than its SPA (the NPT is
 *    the identity without remap faults), or outside guest RAM;
 *  - a page that became Validated across a hypervisor call: only the guest's
 *    PVALIDATE (and the launch, before any VMGEXIT) sets Validated;
 *  - an answer outside hv_exit_action_t.
 * The memory is 2 x 2 MiB of RAM, so the whole RMP is checked after every call.
 */
#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "hv.h"
#include "rmp.h"

#define RAM0 0x0ull
#define RAM0_SIZE 0x200000ull
#define RAM1 0x200000ull
#define RAM1_SIZE 0x200000ull
#define MMIO 0x400000ull
#define MMIO_SIZE 0x10000ull
#define RAM_PAGES ((RAM0_SIZE + RAM1_SIZE) >> SNP_PAGE_SHIFT)
#define SPARE 0x600000ull
#define RMP_LIMIT 0x800000ull
#define ASID 5u
#define MAX_VCPUS 4u
#define MAX_OPS 48u

typedef struct world {
	rmp_t *rmp;
	hv_t *hv;
	uint8_t *pages[RMP_LIMIT >> SNP_PAGE_SHIFT]; /* host copies, created on demand */
	bool validated[RAM_PAGES];                   /* before the current hypervisor call */
} world_t;

static uint8_t *mem_page(void *ctx, uint64_t spa, bool create)
{
	world_t *w = ctx;
	uint64_t pfn = spa >> SNP_PAGE_SHIFT;
	if (pfn >= G_N_ELEMENTS(w->pages))
		return NULL;
	if (!w->pages[pfn] && create)
		w->pages[pfn] = g_malloc0(SNP_PAGE_SIZE);
	return w->pages[pfn];
}

static const hv_mem_ops_t mem_ops = {.page = mem_page};

static void snapshot(world_t *w)
{
	for (uint64_t i = 0; i < RAM_PAGES; i++) {
		rmp_entry_t e;
		rmp_lookup(w->rmp, i << SNP_PAGE_SHIFT, &e);
		w->validated[i] = e.validated;
	}
}

/* After a hypervisor call: the rules above; `what` names the call. */
static void check_rmp(world_t *w, const char *what)
{
	for (uint64_t spa = 0; spa < RMP_LIMIT; spa += SNP_PAGE_SIZE) {
		rmp_entry_t e;
		if (!rmp_lookup(w->rmp, spa, &e) || !e.assigned)
			continue;
		bool ram = spa < RAM1 + RAM1_SIZE;
		if (e.asid != ASID)
			FZ_FINDING("%s: SPA 0x%llx assigned to ASID %u, the guest is %u", what,
				   (unsigned long long)spa, e.asid, ASID);
		if (!ram)
			FZ_FINDING("%s: SPA 0x%llx outside guest RAM is assigned", what,
				   (unsigned long long)spa);
		if (e.gpa != spa)
			FZ_FINDING("%s: SPA 0x%llx assigned at GPA 0x%llx (identity NPT)", what,
				   (unsigned long long)spa, (unsigned long long)e.gpa);
		if (e.validated && !w->validated[spa >> SNP_PAGE_SHIFT])
			FZ_FINDING("%s: SPA 0x%llx became validated without a PVALIDATE", what,
				   (unsigned long long)spa);
	}
}

/* ------------------------------------------------------------------ guest actions */

static const uint32_t msr_codes[] = {
	GHCB_MSR_SEV_INFO_REQ, GHCB_MSR_CPUID_REQ, GHCB_MSR_AP_RESET_HOLD_REQ,
	GHCB_MSR_PREF_GPA_REQ, GHCB_MSR_REG_GPA_REQ, GHCB_MSR_PSC_REQ,
	GHCB_MSR_VMPL_REQ,     GHCB_MSR_HV_FT_REQ,   GHCB_MSR_TERM_REQ,
};

static const uint64_t exit_codes[] = {
	SVM_EXIT_CPUID,		   SVM_EXIT_IOIO,	       SVM_EXIT_MSR,
	SVM_EXIT_RDTSC,		   SVM_EXIT_VMMCALL,	       SVM_EXIT_WBINVD,
	SVM_EXIT_NPF,		   SVM_VMGEXIT_MMIO_READ,      SVM_VMGEXIT_MMIO_WRITE,
	SVM_VMGEXIT_NMI_COMPLETE,  SVM_VMGEXIT_AP_HLT_LOOP,    SVM_VMGEXIT_AP_JUMP_TABLE,
	SVM_VMGEXIT_PSC,	   SVM_VMGEXIT_GUEST_REQUEST,  SVM_VMGEXIT_EXT_GUEST_REQUEST,
	SVM_VMGEXIT_AP_CREATION,   SVM_VMGEXIT_HV_FEATURES,    SVM_VMGEXIT_TERM_REQUEST,
	SVM_VMGEXIT_UNSUPPORTED_EVENT,
};

static uint64_t pick_gpa(fz_t *f)
{
	switch (fz_below(f, 8)) {
	case 0:
		return fz_u64(f); /* anywhere */
	case 1:
		return MMIO + (fz_u16(f) & (MMIO_SIZE - 1));
	case 2:
		return fz_bool(f) ? RAM1 : RAM0; /* a 2M base */
	default:
		return (uint64_t)fz_below(f, (uint32_t)RAM_PAGES) << SNP_PAGE_SHIFT;
	}
}

static void set64(uint8_t *page, uint32_t off, uint64_t v)
{
	memcpy(page + off, &v, sizeof(v));
}

static void valid(uint8_t *page, uint32_t off)
{
	uint32_t bit = off / 8;
	page[GHCB_OFF_VALID_BITMAP + bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* A GHCB page as a (hostile) guest might leave it. */
static void fill_ghcb(fz_t *f, uint8_t *page)
{
	uint8_t how = fz_u8(f);
	if (how & 1u) { /* start from raw bytes */
		for (uint32_t off = 0; off < SNP_PAGE_SIZE && fz_left(f); off += 64) {
			uint8_t b = fz_u8(f);
			if (b == 0)
				break;
			memset(page + off, b, 64);
		}
	} else {
		memset(page, 0, SNP_PAGE_SIZE);
	}
	uint64_t code = fz_bool(f) ? exit_codes[fz_below(f, G_N_ELEMENTS(exit_codes))] : fz_u64(f);
	set64(page, GHCB_OFF_SW_EXITCODE, code);
	set64(page, GHCB_OFF_SW_EXITINFO1, fz_bool(f) ? fz_u8(f) : fz_u64(f));
	set64(page, GHCB_OFF_SW_EXITINFO2, fz_bool(f) ? fz_u8(f) : fz_u64(f));
	set64(page, GHCB_OFF_RAX, fz_u64(f));
	set64(page, GHCB_OFF_RCX, fz_u32(f));
	set64(page, GHCB_OFF_RDX, fz_u32(f));
	set64(page, GHCB_OFF_RBX, fz_u32(f));
	set64(page, GHCB_OFF_XCR0, fz_bool(f) ? 1 : fz_u64(f));
	set64(page, GHCB_OFF_XSS, fz_u64(f));
	page[GHCB_OFF_CPL] = fz_u8(f);
	/* scratch: the shared buffer of this GHCB (offset into the page added later), or any */
	uint64_t scratch = fz_u8(f) < 0xC0 ? GHCB_OFF_SHARED_BUFFER + (fz_u8(f) & 0xF8u) : fz_u64(f);
	set64(page, GHCB_OFF_SW_SCRATCH, scratch);
	uint8_t vb = fz_u8(f);
	if (vb < 0x80) { /* the bits a guest sets for what it wrote */
		valid(page, GHCB_OFF_SW_EXITCODE);
		valid(page, GHCB_OFF_SW_EXITINFO1);
		valid(page, GHCB_OFF_SW_EXITINFO2);
		valid(page, GHCB_OFF_SW_SCRATCH);
		if (vb & 1u)
			valid(page, GHCB_OFF_RAX);
		if (vb & 2u)
			valid(page, GHCB_OFF_RCX);
		if (vb & 4u)
			valid(page, GHCB_OFF_RDX);
		if (vb & 8u)
			valid(page, GHCB_OFF_XCR0);
		if (vb & 16u)
			valid(page, GHCB_OFF_CPL);
		if (vb & 32u)
			valid(page, GHCB_OFF_RBX);
	} else if (vb < 0xC0) {
		memset(page + GHCB_OFF_VALID_BITMAP, 0xFF, GHCB_VALID_BITMAP_SIZE);
	} else {
		for (uint32_t i = 0; i < GHCB_VALID_BITMAP_SIZE; i++)
			page[GHCB_OFF_VALID_BITMAP + i] = fz_u8(f);
	}
	/* a PSC descriptor in the shared buffer: header, then entries */
	if (fz_bool(f)) {
		uint32_t n = fz_below(f, 12);
		struct psc_hdr h = {.cur_entry = fz_below(f, 4), .end_entry = n ? n - 1 : 0};
		uint8_t lie = fz_u8(f);
		if (lie >= 0xF0)
			h.end_entry = fz_u16(f);
		if (lie == 0xEF)
			h.reserved = fz_u32(f);
		memcpy(page + GHCB_OFF_SHARED_BUFFER, &h, sizeof(h));
		for (uint32_t i = 0; i < n; i++) {
			uint64_t gfn = pick_gpa(f) >> SNP_PAGE_SHIFT;
			uint32_t op = fz_bool(f) ? 1 + fz_below(f, 2) : fz_below(f, 16);
			bool big = fz_below(f, 4) == 0;
			uint32_t cur = fz_below(f, 8) == 0 ? fz_u16(f) & 0xFFFu : 0;
			if (big)
				gfn &= ~(uint64_t)(SNP_PAGES_PER_2M - 1);
			uint64_t e = fz_below(f, 16) == 0 ? fz_u64(f)
							  : psc_entry(gfn, op, big ? 1u : 0u, cur);
			memcpy(page + GHCB_OFF_SHARED_BUFFER + sizeof(h) + i * 8u, &e, 8);
		}
	}
	/* and a few stray bytes anywhere */
	for (uint32_t k = fz_below(f, 4); k; k--) {
		uint32_t off = fz_u16(f) & (SNP_PAGE_SIZE - 1);
		page[off] = fz_u8(f);
	}
	uint16_t ver = fz_bool(f) ? GHCB_PROTOCOL_SNP : fz_u16(f);
	memcpy(page + GHCB_OFF_PROTOCOL_VERSION, &ver, sizeof(ver));
	uint32_t usage = fz_below(f, 8) == 0 ? fz_u32(f) : 0;
	memcpy(page + GHCB_OFF_USAGE, &usage, sizeof(usage));
}

static void check_exit(const hv_exit_t *x)
{
	if (x->action > HV_HOLD)
		FZ_FINDING("hv_vmgexit returned action %d", (int)x->action);
}

static void guest_op(fz_t *f, world_t *w, uint32_t nvcpus)
{
	uint32_t vcpu = fz_below(f, 8) == 0 ? fz_u8(f) : fz_below(f, nvcpus);
	uint8_t op = fz_u8(f) % 10;
	const char *what = "?";
	snapshot(w);
	switch (op) {
	case 0:
	case 1: { /* an MSR-protocol request */
		uint32_t code = fz_below(f, 8) == 0 ? (fz_u16(f) & 0xFFFu)
						    : msr_codes[fz_below(f, G_N_ELEMENTS(msr_codes))];
		uint64_t data = fz_bool(f) ? (uint64_t)fz_below(f, (uint32_t)RAM_PAGES) : fz_u64(f);
		if (code == GHCB_MSR_PSC_REQ && fz_bool(f))
			data = ghcb_msr_psc_req(pick_gpa(f) >> SNP_PAGE_SHIFT, fz_below(f, 4)) >>
			       GHCB_DATA_SHIFT;
		hv_exit_t x = hv_vmgexit(w->hv, vcpu, (data << GHCB_DATA_SHIFT) | code);
		check_exit(&x);
		what = "MSR-protocol VMGEXIT";
		break;
	}
	case 2:
	case 3:
	case 4:
	case 5: { /* a GHCB page NAE event */
		uint64_t gpa = fz_below(f, 4) ? (uint64_t)(1 + (vcpu % MAX_VCPUS)) << SNP_PAGE_SHIFT
					      : pick_gpa(f) & ~(uint64_t)(SNP_PAGE_SIZE - 1);
		uint8_t *page = mem_page(w, gpa, true);
		if (page) {
			fill_ghcb(f, page);
			uint64_t sc;
			memcpy(&sc, page + GHCB_OFF_SW_SCRATCH, 8);
			if (sc < SNP_PAGE_SIZE) /* an offset: make it this GHCB's GPA */
				set64(page, GHCB_OFF_SW_SCRATCH, gpa + sc);
		}
		hv_exit_t x = hv_vmgexit(w->hv, vcpu, gpa);
		check_exit(&x);
		what = "GHCB VMGEXIT";
		break;
	}
	case 6: { /* the guest's PVALIDATE: not a hypervisor call, no check */
		uint64_t gpa = pick_gpa(f) & ~(uint64_t)(SNP_PAGE_SIZE - 1);
		bool big = fz_below(f, 4) == 0;
		if (big)
			gpa &= ~(uint64_t)(SNP_PAGE_2M_SIZE - 1);
		hv_npt_map_t m = hv_npt_translate(w->hv, gpa);
		if (m.kind == HV_NPT_RAM)
			(void)rmp_pvalidate(w->rmp, ASID, 0, gpa, m.spa, big, fz_u8(f) != 0);
		return;
	}
	case 7:
		(void)hv_handle_npf(w->hv, vcpu, pick_gpa(f), fz_u64(f));
		what = "hv_handle_npf";
		break;
	case 8: {
		uint64_t code = 0;
		(void)hv_guest_access(w->hv, vcpu, pick_gpa(f),
				      fz_bool(f) ? RMP_ACCESS_WRITE : RMP_ACCESS_READ, &code);
		what = "hv_guest_access";
		break;
	}
	default:
		if (fz_bool(f))
			(void)hv_vcpu_wake(w->hv, vcpu);
		else
			(void)hv_vcpu_start(w->hv, vcpu);
		hv_vcpu_info_t info;
		(void)hv_vcpu_info(w->hv, vcpu, &info);
		what = "vCPU life cycle";
		break;
	}
	check_rmp(w, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_t f = {data, size};
	world_t *w = g_new0(world_t, 1);
	w->rmp = rmp_new(RMP_LIMIT);
	static const hv_mem_range_t ranges[] = {
		{RAM0, RAM0_SIZE, HV_MEM_RAM},
		{RAM1, RAM1_SIZE, HV_MEM_RAM},
		{MMIO, MMIO_SIZE, HV_MEM_MMIO},
	};
	static const struct snp_cpuid_fn cpuid[] = {
		{.eax_in = 0, .eax = 0xD},
		{.eax_in = 1, .eax = 0x00A10F11},
		{.eax_in = CPUID_FN_SEV, .eax = 0x1F, .ebx = 51},
	};
	hv_config_t c;
	hv_config_defaults(&c);
	uint8_t cfg = fz_u8(&f);
	c.asid = ASID;
	c.max_vcpus = 1 + fz_below(&f, MAX_VCPUS);
	c.ranges = ranges;
	c.nranges = G_N_ELEMENTS(ranges);
	c.cpuid = cpuid;
	c.ncpuid = G_N_ELEMENTS(cpuid);
	c.seed = fz_u8(&f);
	c.psc_max_entries = fz_below(&f, 4);
	c.strict_psc_ops = cfg & 1u;
	c.implicit_conversion = cfg & 2u;
	if (cfg & 4u)
		c.features = fz_u64(&f);
	c.spare_spa = SPARE;
	c.spare_pages = 16;
	c.mem = &mem_ops;
	c.mem_ctx = w;
	const char *err = NULL;
	w->hv = hv_new(w->rmp, &c, &err);
	if (!w->hv)
		goto out;

	/* launch: a few ranges of RAM, then the guest's turn */
	static const uint32_t types[] = {KVM_SEV_SNP_PAGE_TYPE_NORMAL, KVM_SEV_SNP_PAGE_TYPE_ZERO,
					 KVM_SEV_SNP_PAGE_TYPE_CPUID, KVM_SEV_SNP_PAGE_TYPE_SECRETS,
					 KVM_SEV_SNP_PAGE_TYPE_VMSA, KVM_SEV_SNP_PAGE_TYPE_UNMEASURED};
	for (uint32_t n = fz_below(&f, 4); n; n--) {
		uint64_t gpa = (uint64_t)(8 + fz_below(&f, (uint32_t)RAM_PAGES - 8)) << SNP_PAGE_SHIFT;
		uint64_t size = (uint64_t)(1 + fz_below(&f, 4)) << SNP_PAGE_SHIFT;
		if (fz_below(&f, 8) == 0) {
			gpa = RAM1;
			size = SNP_PAGE_2M_SIZE;
		}
		(void)hv_launch_update(w->hv, gpa, size, types[fz_below(&f, G_N_ELEMENTS(types))],
				       NULL, 0);
	}
	(void)hv_launch_finish(w->hv);
	snapshot(w);
	check_rmp(w, "launch");

	for (uint32_t i = 0; i < MAX_OPS && fz_left(&f); i++)
		guest_op(&f, w, c.max_vcpus);
out:
	hv_free(w->hv);
	rmp_free(w->rmp);
	for (size_t i = 0; i < G_N_ELEMENTS(w->pages); i++)
		g_free(w->pages[i]);
	g_free(w);
	return 0;
}
