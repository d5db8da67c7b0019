/* SPDX-License-Identifier: MIT */
/*
 * guestfw against the real hv_model + rmp: the flows of flows.c run through a
 * small native port (below) whose every gfw_port_* function is the
 * instruction's effect on the modeled machine, wired the way sim/port_native.c
 * wires it, but self-contained so that this test needs only guestfw, hv_model
 * and rmp:
 *   PVALIDATE / RMPADJUST  rmp_pvalidate / rmp_rmpadjust at the NPT's SPA; an
 *                          #NPF (4K on a 2M entry: SIZEM) goes to hv_handle_npf
 *                          (PSMASH) and the instruction is retried;
 *   VMGEXIT                hv_vmgexit with the GHCB MSR; an injected #VC is
 *                          delivered to gfw_vc_handler;
 *   memory                 rmp_check_access first (#VC 0x404 to the handler,
 *                          #NPF to hv_handle_npf, MMIO #VC 0x400), then a
 *                          sparse page store the hypervisor shares (hv_mem_ops).
 *
 * Per flow it checks what the mock test checks (outcome, reason, the exact
 * action sequence; hv_seq where a real hypervisor legitimately differs), then
 * the final RMP state page by page with rmp_lookup: the flow's explicit
 * expectations (flows.c `rmp`), and, for flows that complete, every RAM page
 * against what the guest believes (folded from its notes: launch pages
 * validated, PSC_DONE, RESCINDED, ACCEPTED). The flow's faults become the
 * hypervisor's fault plan (map_fault); faults that only a mock can produce skip
 * the flow here, faults that a real machine produces by itself (a page already
 * validated, an unaccepted page) map to nothing.
 */
#include <glib.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flows.h"
#include "guestfw.h"
#include "hv.h"
#include "rmp.h"
#include "snp/arch.h"

#define ASID           1u
#define MAX_PORT_CALLS 50000000ull
#define FAULT_RETRIES  4
#define MAX_PLAN       16

typedef enum hx {
	HX_RETURNED = 0,
	HX_TERMINATED, /* the hypervisor ended the guest on its termination request */
	HX_HALTED,     /* gfw_port_halt */
	HX_SPINNING,   /* PAUSE with no other vCPU to wait for */
	HX_STOPPED,    /* the hypervisor or this port stopped the guest */
} hx_t;

typedef struct hvt hvt_t;

struct gfw_port {
	hvt_t *t;
	uint64_t ghcb_msr;
	jmp_buf jb;
};

struct hvt {
	const flow_t *f;
	flow_machine_t mach;
	gfw_config_t cfg;
	rmp_t *rmp;
	hv_t *hv;
	GHashTable *pages; /* SPA frame -> 4 KiB */
	gfw_t g;
	gfw_cpu_t cpu;
	struct gfw_port port;
	uint32_t vmpl; /* the VMPL the guest runs at (RMPADJUST) */
	flow_ev_t *log;
	size_t nlog, caplog;
	uint64_t calls;
	bool terminated;
	uint32_t set, code;
	char stop[160];
	uint32_t violations;
	char violation[256];
	hv_fault_t plan[MAX_PLAN];
	size_t nplan;
	uint32_t plan_step;
};

/* ------------------------------------------------------------------ bookkeeping */

static void violate(hvt_t *t, const char *fmt, ...)
{
	if (t->violations++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(t->violation, sizeof(t->violation), fmt, ap);
		va_end(ap);
	}
}

static void record(hvt_t *t, uint32_t kind, uint64_t gpa, uint64_t x, uint64_t y, uint64_t z,
                   uint64_t w)
{
	if ((kind == FE_READ || kind == FE_WRITE) && !(t->f->record & (1u << kind)))
		return;
	if (t->nlog == t->caplog) {
		t->caplog = t->caplog ? t->caplog * 2 : 4096;
		t->log = g_realloc(t->log, t->caplog * sizeof(*t->log));
	}
	t->log[t->nlog++] = (flow_ev_t){kind, 0, gpa, x, y, z, w};
}

static _Noreturn void leave(struct gfw_port *p, hx_t how)
{
	longjmp(p->jb, (int)how + 1);
}

static _Noreturn void stop(struct gfw_port *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->t->stop, sizeof(p->t->stop), fmt, ap);
	va_end(ap);
	leave(p, HX_STOPPED);
}

static void count_call(struct gfw_port *p)
{
	if (++p->t->calls > MAX_PORT_CALLS)
		stop(p, "port call budget exhausted (guest loops?)");
}

/* ------------------------------------------------------------------ memory */

static uint8_t *page(hvt_t *t, uint64_t spa, bool create)
{
	gint64 key = (gint64)(spa >> SNP_PAGE_SHIFT);
	uint8_t *pg = g_hash_table_lookup(t->pages, &key);
	if (!pg && create) {
		gint64 *k = g_new(gint64, 1);
		*k = key;
		pg = g_malloc0(SNP_PAGE_SIZE);
		g_hash_table_insert(t->pages, k, pg);
	}
	return pg;
}

static uint8_t *mem_page(void *ctx, uint64_t spa, bool create)
{
	return page(ctx, spa, create);
}

static const hv_mem_ops_t mem_ops = {.page = mem_page};

/* Host-side access to guest memory by GPA (identity unless remapped), for set-up and records. */
static void host_rw(hvt_t *t, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint8_t *b = buf;
	while (len) {
		size_t off = gpa & (SNP_PAGE_SIZE - 1), chunk = SNP_PAGE_SIZE - off;
		if (chunk > len)
			chunk = len;
		uint64_t spa = hv_npt_translate(t->hv, gpa).spa;
		uint8_t *pg = page(t, spa, write);
		if (write)
			memcpy(pg + off, b, chunk);
		else if (pg)
			memcpy(b, pg + off, chunk);
		else
			memset(b, 0, chunk);
		gpa += chunk;
		b += chunk;
		len -= chunk;
	}
}

static uint64_t host64(hvt_t *t, uint64_t gpa)
{
	uint64_t v;
	host_rw(t, gpa, &v, sizeof(v), false);
	return v;
}

/* ------------------------------------------------------------------ #VC and #NPF */

static void deliver_vc(struct gfw_port *p, uint64_t code, uint64_t gpa, uint32_t insn)
{
	record(p->t, FE_VC, gpa, code, 0, 0, 0);
	gfw_vc_frame_t f = {.error_code = code, .fault_va = gpa, .insn = insn};
	gfw_vc_handler(&p->t->cpu, &f);
}

static void npf(struct gfw_port *p, uint64_t gpa, uint64_t error_code, int tries)
{
	if (tries >= FAULT_RETRIES)
		stop(p, "#NPF loop at 0x%" PRIx64, gpa);
	if (hv_handle_npf(p->t->hv, 0, gpa, error_code) != HV_NPF_RETRY)
		stop(p, "#NPF at 0x%" PRIx64 " (error 0x%" PRIx64 ") the hypervisor cannot fix",
		     gpa, error_code);
}

/* ------------------------------------------------------------------ the arch port */

static rmp_result_t rmp_insn(struct gfw_port *p, bool pval, uint64_t va, uint32_t page_2m,
                             uint64_t arg)
{
	hvt_t *t = p->t;
	for (int tries = 0;; tries++) {
		hv_npt_map_t map = hv_npt_translate(t->hv, va);
		if (map.kind != HV_NPT_RAM)
			stop(p, "%s of 0x%" PRIx64 ", not RAM", pval ? "PVALIDATE" : "RMPADJUST",
			     va);
		rmp_result_t r =
		    pval ? rmp_pvalidate(t->rmp, ASID, 0, va, map.spa, page_2m, arg)
		         : rmp_rmpadjust(t->rmp, ASID, t->vmpl, va, map.spa, page_2m, arg);
		if (r.fault == RMP_FAULT_NPF) {
			npf(p, va, r.error_code, tries);
			continue;
		}
		if (r.fault != RMP_FAULT_NONE) /* #GP: guestfw has no handler */
			stop(p, "%s of 0x%" PRIx64 ": %s", pval ? "PVALIDATE" : "RMPADJUST", va,
			     rmp_result_to_string(r));
		return r;
	}
}

uint32_t gfw_port_pvalidate(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint32_t validate,
                            uint32_t *cf)
{
	count_call(p);
	record(p->t, FE_PVALIDATE, va, page_2m, validate, 0, 0);
	rmp_result_t r = rmp_insn(p, true, va, page_2m, validate);
	*cf = r.cf;
	return r.ret;
}

uint32_t gfw_port_rmpadjust(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint64_t attrs)
{
	count_call(p);
	record(p->t, FE_RMPADJUST, va, page_2m, attrs, 0, 0);
	return rmp_insn(p, false, va, page_2m, attrs).ret;
}

static bool valid_bit(const uint8_t *bm, uint32_t off)
{
	uint32_t b = GHCB_BITMAP_IDX(off);
	return (bm[b / 8] >> (b % 8)) & 1u;
}

/* What the guest asks for, read from its GHCB as the mock records it (flows.h FE_NAE/FE_PSC). */
static void record_nae(hvt_t *t, uint64_t ghcb)
{
	uint8_t bm[GHCB_VALID_BITMAP_SIZE];
	host_rw(t, ghcb + GHCB_OFF_VALID_BITMAP, bm, sizeof(bm), false);
	uint64_t code = host64(t, ghcb + GHCB_OFF_SW_EXITCODE);
	if (code != SVM_VMGEXIT_PSC) {
		uint64_t rax =
		    valid_bit(bm, GHCB_OFF_RAX) ? host64(t, ghcb + GHCB_OFF_RAX) : FLOW_NO_RAX;
		record(t, FE_NAE, 0, code, host64(t, ghcb + GHCB_OFF_SW_EXITINFO1),
		       host64(t, ghcb + GHCB_OFF_SW_EXITINFO2), rax);
		return;
	}
	uint64_t buf = ghcb + GHCB_OFF_SHARED_BUFFER;
	struct psc_hdr h;
	host_rw(t, buf, &h, sizeof(h), false);
	if (h.end_entry >= VMGEXIT_PSC_MAX_ENTRY) {
		violate(t, "PSC end_entry %u", h.end_entry);
		return;
	}
	uint32_t n2m = 0, op = 0;
	uint64_t first = 0;
	for (uint32_t i = h.cur_entry; i <= h.end_entry; i++) {
		uint64_t e = host64(t, buf + sizeof(h) + (uint64_t)i * 8u);
		if (i == h.cur_entry) {
			op = PSC_ENTRY_OP(e);
			first = PSC_ENTRY_GFN(e) << SNP_PAGE_SHIFT;
		}
		n2m += PSC_ENTRY_2M(e);
	}
	record(t, FE_PSC, first, op, (uint64_t)h.end_entry + 1 - h.cur_entry, n2m, 0);
}

void gfw_port_vmgexit(gfw_port_t *p)
{
	hvt_t *t = p->t;
	count_call(p);
	uint64_t msr = p->ghcb_msr;
	if (msr & GHCB_MSR_INFO_MASK)
		record(t, FE_MSR, 0, msr, 0, 0, 0);
	else
		record_nae(t, msr);
	hv_exit_t x = hv_vmgexit(t->hv, 0, msr);
	switch (x.action) {
	case HV_RESUME:
		p->ghcb_msr = x.ghcb_msr;
		if (x.inject_vc)
			deliver_vc(p, x.vc_code, 0, GFW_INSN_NONE);
		return;
	case HV_TERMINATED:
		if (!t->terminated) {
			t->terminated = true;
			t->set = x.term_set;
			t->code = x.term_code;
		}
		if (!t->mach.term_resumes)
			leave(p, HX_TERMINATED);
		return; /* a hostile hypervisor resumes it */
	case HV_STOPPED: stop(p, "hypervisor stopped the guest: %s", hv_stop_to_string(x.stop));
	case HV_HOLD: stop(p, "vCPU held (AP reset hold) with no one to wake it");
	}
	stop(p, "unknown hypervisor exit action %d", (int)x.action);
}

uint64_t gfw_port_rdmsr(gfw_port_t *p, uint32_t msr)
{
	count_call(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB)
		return p->ghcb_msr;
	record(p->t, FE_RDMSR, 0, msr, 0, 0, 0);
	if (msr == MSR_AMD64_SEV)
		return p->t->mach.sev_status;
	violate(p->t, "RDMSR 0x%x would take a #VC", msr);
	return 0;
}

void gfw_port_wrmsr(gfw_port_t *p, uint32_t msr, uint64_t value)
{
	count_call(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB)
		p->ghcb_msr = value;
	else
		violate(p->t, "WRMSR 0x%x would take a #VC", msr);
}

static void guest_access(struct gfw_port *p, uint64_t gpa, uint8_t *buf, uint32_t len, bool private,
                         bool write)
{
	hvt_t *t = p->t;
	rmp_access_t acc = write ? RMP_ACCESS_WRITE : RMP_ACCESS_READ;
	uint64_t start = gpa;
	uint32_t total = len;
	count_call(p);
	while (len) {
		uint32_t chunk = (uint32_t)(SNP_PAGE_SIZE - (gpa & (SNP_PAGE_SIZE - 1)));
		if (chunk > len)
			chunk = len;
		hv_npt_map_t map;
		for (int tries = 0;; tries++) {
			map = hv_npt_translate(t->hv, gpa);
			if (map.kind == HV_NPT_UNMAPPED)
				stop(p, "access to unmapped 0x%" PRIx64, gpa);
			if (tries > FAULT_RETRIES)
				stop(p, "#VC loop at 0x%" PRIx64, gpa);
			if (map.kind == HV_NPT_MMIO) { /* reserved-bit NPT entry (facts §2.6) */
				deliver_vc(p, SVM_EXIT_NPF, gpa, GFW_INSN_MEM);
				continue;
			}
			rmp_result_t r = rmp_check_access(t->rmp, ASID, 0, gpa, map.spa,
			                                  map.level_2m, acc, private);
			if (r.fault == RMP_FAULT_VC) {
				deliver_vc(p, r.error_code, gpa, GFW_INSN_MEM);
				continue;
			}
			if (r.fault == RMP_FAULT_NPF) {
				npf(p, gpa, r.error_code, tries);
				continue;
			}
			if (r.fault != RMP_FAULT_NONE)
				stop(p, "access to 0x%" PRIx64 ": %s", gpa,
				     rmp_result_to_string(r));
			break;
		}
		uint8_t *pg = page(t, map.spa, write && map.kind == HV_NPT_RAM);
		uint32_t off = (uint32_t)(gpa & (SNP_PAGE_SIZE - 1));
		if (write) {
			if (pg)
				memcpy(pg + off, buf, chunk);
		} else if (pg) {
			memcpy(buf, pg + off, chunk);
		} else {
			memset(buf, 0, chunk);
		}
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	if (private)
		record(t, write ? FE_WRITE : FE_READ, start, total, 0, 0, 0);
	uint64_t code;
	if (hv_wants_access_events(t->hv) && hv_guest_access(t->hv, 0, start, acc, &code))
		deliver_vc(p, code, start, GFW_INSN_NONE);
}

void gfw_port_read(gfw_port_t *p, uint64_t gpa, void *dst, uint32_t len, bool private)
{
	guest_access(p, gpa, dst, len, private, false);
}

void gfw_port_write(gfw_port_t *p, uint64_t gpa, const void *src, uint32_t len, bool private)
{
	guest_access(p, gpa, (uint8_t *)(uintptr_t)src, len, private,
	             true); /* only read when writing */
}

void gfw_port_pause(gfw_port_t *p)
{
	count_call(p);
	record(p->t, FE_PAUSE, 0, 0, 0, 0, 0);
	leave(p, HX_SPINNING); /* one vCPU: nobody else will release what it waits for */
}

bool gfw_port_cas32(gfw_port_t *p, volatile uint32_t *ptr, uint32_t expected, uint32_t desired)
{
	count_call(p);
	if (*ptr != expected)
		return false;
	*ptr = desired;
	return true;
}

_Noreturn void gfw_port_halt(gfw_port_t *p)
{
	leave(p, HX_HALTED);
}

void gfw_port_note(gfw_port_t *p, const gfw_note_t *note)
{
	count_call(p);
	if (note->kind == GFW_NOTE_STEP || note->kind == GFW_NOTE_PHASE)
		return;
	record(p->t, FE_NOTE, note->gpa, note->kind, note->npages, note->arg, 0);
}

/* ------------------------------------------------------------------ the fault plan */

typedef enum map_result {
	MAP_MOCK_ONLY = -1, /* a real hypervisor cannot be made to do this */
	MAP_NATURAL = 0,    /* the real machine produces it by itself */
	MAP_FAULT = 1,      /* *out is the hypervisor fault */
} map_result_t;

static uint32_t msr_resp_code(uint64_t fn)
{
	return fn == GHCB_MSR_SEV_INFO_REQ ? GHCB_MSR_SEV_INFO_RESP : (uint32_t)fn + 1;
}

static map_result_t map_fault(hvt_t *t, const flow_fault_t *ff, hv_fault_t *out)
{
	memset(out, 0, sizeof(*out));
	out->nth = ff->nth;
	out->max_fires = ff->times;
	out->trigger = HV_TRIG_GHCB_PSC;
	switch (ff->kind) {
	case FF_MSR_RESPONSE:
		switch (ff->match) {
		case GHCB_MSR_SEV_INFO_REQ: out->trigger = HV_TRIG_SEV_INFO; break;
		case GHCB_MSR_HV_FT_REQ: out->trigger = HV_TRIG_HV_FEATURES; break;
		case GHCB_MSR_REG_GPA_REQ: out->trigger = HV_TRIG_GHCB_REGISTER; break;
		case GHCB_MSR_PSC_REQ: out->trigger = HV_TRIG_MSR_PSC; break;
		default: return MAP_MOCK_ONLY;
		}
		if ((ff->arg & GHCB_MSR_INFO_MASK) == msr_resp_code(ff->match)) {
			out->action = HV_ACT_MSR_GARBAGE; /* right code, data bits [63:12] := arg */
			out->arg = ff->arg >> GHCB_DATA_SHIFT;
		} else {
			out->action = HV_ACT_MSR_WRONG_CODE;
			out->arg = ff->arg & GHCB_MSR_INFO_MASK;
			if (out->arg == 0)
				return MAP_MOCK_ONLY;
		}
		return MAP_FAULT;
	case FF_PSC_FAIL:
		out->action = HV_ACT_FAIL;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_PSC_PARTIAL:
		out->action = HV_ACT_PARTIAL;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_PSC_NO_PROGRESS: out->action = HV_ACT_NO_PROGRESS; return MAP_FAULT;
	case FF_PSC_CUR_BACK:
		out->action = HV_ACT_CUR_ENTRY_BACK;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_PSC_END_CHANGE:
		out->action = HV_ACT_END_ENTRY_CHANGE;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_PSC_RESERVED:
		out->action = HV_ACT_RESERVED_BITS;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_PSC_REWRITE_GFN:
		out->action = HV_ACT_REWRITE_BUFFER;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_FORCE_4K:
		out->action = HV_ACT_FORCE_4K;
		out->gfn_first = ff->match >> SNP_PAGE_SHIFT;
		out->gfn_last = out->gfn_first + SNP_PAGES_PER_2M - 1;
		return MAP_FAULT;
	case FF_PVALIDATE_NOUPDATE: /* the page really is in that state already */
	case FF_UNVALIDATED: /* unaccepted memory really is not validated */ return MAP_NATURAL;
	case FF_RMPADJUST_RESULT:
		if (ff->arg != SNP_RET_FAIL_PERMISSION)
			return MAP_MOCK_ONLY;
		t->vmpl = 1; /* the guest really runs at VMPL1 (facts §2.3 VMPL0 test) */
		return MAP_NATURAL;
	case FF_NAE_RESULT:
		if (ff->arg != GHCB_HV_RESP_MALFORMED_INPUT)
			return MAP_MOCK_ONLY;
		out->trigger = HV_TRIG_NAE;
		out->exit_code = (uint32_t)ff->match;
		out->action = HV_ACT_FAIL;
		out->arg = ff->arg2;
		return MAP_FAULT;
	case FF_REVOKE:
		/* the mock's nth access takes the #VC; here the (nth-1)th access revokes */
		if (ff->nth < 2)
			return MAP_MOCK_ONLY;
		out->trigger = HV_TRIG_PAGE_ACCESS;
		out->nth = ff->nth - 1;
		out->max_fires = 1;
		out->gfn_first = out->gfn_last = ff->match >> SNP_PAGE_SHIFT;
		out->action = HV_ACT_REVOKE;
		out->arg = 1;
		out->gfn = HV_GFN_FROM_TRIGGER;
		return MAP_FAULT;
	case FF_INJECT_VC_EXIT:
		out->trigger = HV_TRIG_VMGEXIT;
		out->action = HV_ACT_INJECT_VC;
		out->arg = ff->arg;
		return MAP_FAULT;
	case FF_INJECT_VC_ACCESS:
		out->trigger = HV_TRIG_PAGE_ACCESS;
		out->gfn_first = out->gfn_last = ff->match >> SNP_PAGE_SHIFT;
		out->action = HV_ACT_INJECT_VC;
		out->arg = ff->arg;
		return MAP_FAULT;
	default: /* PSC_NAE_ERROR, PSC_PARTIAL_2M, PVALIDATE_RESULT, INJECT_VC_CAS, RUN_VCPU */
		return MAP_MOCK_ONLY;
	}
}

/* Builds the plan; NULL if the flow can run here, else why not. */
static const char *build_plan(hvt_t *t)
{
	const flow_t *f = t->f;
	if (f->nprogram[1] || f->sched)
		return "a multi-vCPU flow (this backend runs one vCPU)";
	for (uint32_t i = 0; i < f->nfaults; i++) {
		if (i && f->faults[i].from_step != f->faults[0].from_step)
			return "faults armed at different steps";
		hv_fault_t hf;
		map_result_t m = map_fault(t, &f->faults[i], &hf);
		if (m == MAP_MOCK_ONLY)
			return "a fault only the mock hypervisor can produce";
		if (m == MAP_FAULT) {
			if (t->nplan == MAX_PLAN)
				return "too many faults";
			t->plan[t->nplan++] = hf;
		}
		t->plan_step = f->faults[i].from_step;
	}
	return NULL;
}

/* ------------------------------------------------------------------ set-up */

static void hvt_free(hvt_t *t)
{
	if (!t)
		return;
	hv_free(t->hv);
	rmp_free(t->rmp);
	if (t->pages)
		g_hash_table_destroy(t->pages);
	g_free(t->log);
	g_free(t);
}

static bool launch(hvt_t *t, uint64_t gpa, uint64_t size, uint32_t type)
{
	if (!hv_launch_update(t->hv, gpa, size, type, NULL, 0)) {
		printf("  launch of [0x%" PRIx64 ", +0x%" PRIx64 ") type %u failed\n", gpa, size,
		       type);
		return false;
	}
	return true;
}

/* SNP_LAUNCH_UPDATE of the configuration's launch ranges: CPUID and secrets pages typed. */
static bool launch_all(hvt_t *t)
{
	const gfw_config_t *c = &t->cfg;
	for (uint32_t i = 0; i < c->nprevalidated; i++) {
		uint64_t a = c->prevalidated[i].gpa, end = a + c->prevalidated[i].size, run = a;
		for (; a < end; a += SNP_PAGE_SIZE) {
			uint32_t type = a == c->cpuid_page_gpa     ? KVM_SEV_SNP_PAGE_TYPE_CPUID
			                : a == c->secrets_page_gpa ? KVM_SEV_SNP_PAGE_TYPE_SECRETS
			                                           : 0;
			if (!type)
				continue;
			if (run < a && !launch(t, run, a - run, KVM_SEV_SNP_PAGE_TYPE_ZERO))
				return false;
			if (!launch(t, a, SNP_PAGE_SIZE, type))
				return false;
			run = a + SNP_PAGE_SIZE;
		}
		if (run < end && !launch(t, run, end - run, KVM_SEV_SNP_PAGE_TYPE_ZERO))
			return false;
	}
	return hv_launch_finish(t->hv);
}

static hvt_t *hvt_new(const flow_t *f, const char **skip)
{
	hvt_t *t = g_new0(hvt_t, 1);
	t->f = f;
	t->mach = f->machine ? *f->machine : flow_machine_default;
	flow_config(f, &t->cfg);
	*skip = build_plan(t);
	if (*skip)
		return t;

	uint64_t top = 0;
	hv_mem_range_t ranges[GFW_MAX_MEM];
	size_t nranges = 0;
	for (uint32_t i = 0; i < t->cfg.nmem; i++) {
		const gfw_mem_entry_t *e = &t->cfg.mem[i];
		if (e->type == GFW_MEM_RESERVED)
			continue;
		ranges[nranges++] = (hv_mem_range_t){
		    e->gpa, e->size, e->type == GFW_MEM_RAM ? HV_MEM_RAM : HV_MEM_MMIO};
		if (e->gpa + e->size > top)
			top = e->gpa + e->size;
	}
	t->rmp = rmp_new((top + SNP_PAGE_2M_SIZE - 1) & ~(SNP_PAGE_2M_SIZE - 1));
	assert_non_null(t->rmp);
	t->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);

	/* the CPUID table the hypervisor launches; a bad count is planted after launch */
	struct snp_cpuid_table table;
	flow_machine_t natural = t->mach;
	natural.cpuid_count = 0;
	flow_default_cpuid(&table, &natural);

	hv_config_t hc;
	hv_config_defaults(&hc);
	hc.asid = ASID;
	hc.max_vcpus = 1;
	hc.proto_min = t->mach.proto_min;
	hc.proto_max = t->mach.proto_max;
	hc.features = t->mach.features;
	hc.ranges = ranges;
	hc.nranges = nranges;
	hc.cpuid = table.fn;
	hc.ncpuid = table.count;
	hc.seed = 1;
	hc.implicit_conversion =
	    true; /* KVM + QEMU: a private access to a shared page converts it */
	hc.mem = &mem_ops;
	hc.mem_ctx = t;
	const char *err = NULL;
	t->hv = hv_new(t->rmp, &hc, &err);
	if (!t->hv)
		printf("  hv_new: %s\n", err ? err : "?");
	assert_non_null(t->hv);
	assert_true(gfw_init(&t->g, &t->cfg));
	assert_true(launch_all(t));
	if (t->mach.cpuid_count && t->cfg.cpuid_page_gpa) {
		uint32_t count = t->mach.cpuid_count == FLOW_CPUID_EMPTY ? 0 : t->mach.cpuid_count;
		host_rw(t, t->cfg.cpuid_page_gpa, &count, sizeof(count), true);
	}
	if (t->mach.secrets_zero && t->cfg.secrets_page_gpa) {
		uint8_t zero[4 * SNP_VMPCK_LEN] = {0};
		host_rw(t, t->cfg.secrets_page_gpa + offsetof(struct snp_secrets_page, vmpck), zero,
		        sizeof(zero), true);
	}
	t->port.t = t;
	t->port.ghcb_msr = hv_initial_ghcb_msr(t->hv);
	gfw_cpu_init(&t->cpu, &t->g, &t->port, 0);
	return t;
}

/* ------------------------------------------------------------------ run */

static hx_t run_step(hvt_t *t, const gfw_step_t *s)
{
	int r = setjmp(t->port.jb);
	if (r == 0) {
		gfw_run(&t->cpu, s, 1);
		return HX_RETURNED;
	}
	return (hx_t)(r - 1);
}

static const char *const hx_names[] = {
    [HX_RETURNED] = "returned", [HX_TERMINATED] = "terminated", [HX_HALTED] = "halted",
    [HX_SPINNING] = "spinning", [HX_STOPPED] = "stopped",
};

/* ------------------------------------------------------------------ the final RMP state */

static const char *state_name(uint32_t st)
{
	return st == FR_SHARED    ? "shared"
	       : st == FR_PRIVATE ? "private, not validated"
	                          : "validated";
}

/* One page against an expected state; false (and a message) on mismatch. */
static bool page_is(hvt_t *t, uint64_t gpa, uint32_t state, int page_2m, const char *what, int line)
{
	hv_npt_map_t map = hv_npt_translate(t->hv, gpa);
	rmp_entry_t e;
	bool ok = rmp_lookup(t->rmp, map.spa, &e);
	bool owned = ok && e.assigned && e.asid == ASID && e.gpa == gpa && !e.immutable;
	switch (state) {
	case FR_SHARED: ok = ok && !e.assigned; break;
	case FR_PRIVATE: ok = owned && !e.validated; break;
	case FR_VALIDATED: ok = owned && e.validated; break;
	default: ok = false;
	}
	if (ok && page_2m != FR_ANY_SIZE)
		ok = e.page_2m == (page_2m == 1);
	if (!ok)
		printf("  RMP at GPA 0x%" PRIx64 " (SPA 0x%" PRIx64
		       "): assigned %d asid %u gpa 0x%" PRIx64
		       " validated %d 2M %d; expected %s%s (%s%s%d)\n",
		       gpa, map.spa, e.assigned, e.asid, e.gpa, e.validated, e.page_2m,
		       state_name(state),
		       page_2m == FR_ANY_SIZE ? ""
		       : page_2m              ? ", 2M entry"
		                              : ", 4K entry",
		       what, line ? ", flows.c:" : " ", line);
	return ok;
}

static bool check_rmp_expected(hvt_t *t)
{
	bool ok = true;
	for (uint32_t i = 0; i < t->f->nrmp; i++) {
		const flow_rmp_t *r = &t->f->rmp[i];
		for (uint64_t k = 0; k < r->npages; k++)
			if (!page_is(t, r->gpa + k * SNP_PAGE_SIZE, r->state, r->page_2m,
			             "the flow's expectation", r->line)) {
				ok = false;
				break; /* one message per range */
			}
	}
	return ok;
}

typedef struct belief {
	uint64_t gpa, end;
	uint32_t state;
} belief_t;

/*
 * What the guest believes about every RAM page, from its notes: launch pages
 * validated, all else hypervisor-owned, then in order PSC_DONE (private:
 * assigned, shared: hypervisor-owned), RESCINDED (assigned, not validated),
 * ACCEPTED (validated). Every page must be exactly so in the RMP (facts §7.6).
 */
static bool check_rmp_beliefs(hvt_t *t)
{
	GArray *b = g_array_new(FALSE, FALSE, sizeof(belief_t));
	for (uint32_t i = 0; i < t->cfg.nprevalidated; i++) {
		belief_t x = {t->cfg.prevalidated[i].gpa,
		              t->cfg.prevalidated[i].gpa + t->cfg.prevalidated[i].size,
		              FR_VALIDATED};
		g_array_append_val(b, x);
	}
	for (size_t i = 0; i < t->nlog; i++) {
		const flow_ev_t *e = &t->log[i];
		if (e->kind != FE_NOTE)
			continue;
		belief_t x = {e->gpa, e->gpa + e->y * SNP_PAGE_SIZE, 0};
		switch (e->x) {
		case GFW_NOTE_PSC_DONE:
			x.state = e->z == SNP_PAGE_STATE_PRIVATE ? FR_PRIVATE : FR_SHARED;
			break;
		case GFW_NOTE_RESCINDED: x.state = FR_PRIVATE; break;
		case GFW_NOTE_ACCEPTED: x.state = FR_VALIDATED; break;
		default: continue;
		}
		g_array_append_val(b, x);
	}
	bool ok = true;
	uint64_t bad = 0;
	for (uint32_t m = 0; m < t->cfg.nmem; m++) {
		const gfw_mem_entry_t *r = &t->cfg.mem[m];
		if (r->type != GFW_MEM_RAM)
			continue;
		for (uint64_t gpa = r->gpa; gpa < r->gpa + r->size; gpa += SNP_PAGE_SIZE) {
			uint32_t st = FR_SHARED;
			for (guint k = b->len; k-- > 0;) {
				const belief_t *x = &g_array_index(b, belief_t, k);
				if (gpa >= x->gpa && gpa < x->end) {
					st = x->state;
					break;
				}
			}
			if (!page_is(t, gpa, st, FR_ANY_SIZE, "what the guest believes", 0)) {
				ok = false;
				if (++bad >= 3) {
					printf("  (further mismatches not shown)\n");
					goto out;
				}
			}
		}
	}
out:
	g_array_unref(b);
	return ok;
}

/* Runs f on hv_model + rmp; true when every check held. *skip: why it cannot run here. */
static bool hv_run_flow(const flow_t *f, const char **skip)
{
	hvt_t *t = hvt_new(f, skip);
	if (*skip) {
		hvt_free(t);
		return true;
	}
	size_t from = SIZE_MAX;
	hx_t x = HX_RETURNED;
	for (uint32_t i = 0; i < f->nprogram[0] && x == HX_RETURNED; i++) {
		if (i == f->seq_from)
			from = t->nlog;
		if (t->nplan && i == t->plan_step)
			assert_true(hv_set_fault_plan(t->hv, t->plan, t->nplan, 1));
		x = run_step(t, &f->program[0][i]);
	}
	if (f->seq_from == f->nprogram[0])
		from = t->nlog;
	flow_run_t r = {.log = t->log, .n = t->nlog, .from = from, .hv = true};
	r.completed = x == HX_RETURNED;
	r.how = x == HX_STOPPED ? t->stop : hx_names[x];
	r.terminated = t->terminated;
	r.set = t->set;
	r.code = t->code;
	r.violations = t->violations;
	r.violation = t->violation;
	if (x == HX_STOPPED)
		printf("  %s: %s\n", f->name, t->stop);
	bool ok = flow_verify(f, &r);
	/* the RMP checks run whatever the outcome: they say what the hypervisor was left with */
	if (!check_rmp_expected(t)) {
		printf("  %s: the final RMP state differs from the flow's expectation\n", f->name);
		ok = false;
	}
	if (r.completed && !r.terminated && !check_rmp_beliefs(t)) {
		printf("  %s: the final RMP state differs from what the guest believes\n", f->name);
		ok = false;
	}
	for (size_t i = 0; i < t->nplan; i++)
		if (hv_fault_fired(t->hv, i) == 0) {
			printf("  %s: hypervisor fault %zu (%s) never fired\n", f->name, i,
			       hv_action_to_string(t->plan[i].action));
			ok = false;
		}
	hvt_free(t);
	return ok;
}

/* ------------------------------------------------------------------ tests */

static void test_flow(void **state)
{
	const flow_t *f = *state;
	printf("# %s: %s\n", f->name, f->what);
	if (f->hv_seq)
		printf("# (hv sequence: %s)\n", f->hv_seq_why);
	const char *skip = NULL;
	bool ok = hv_run_flow(f, &skip);
	if (skip) {
		printf("# skipped on hv_model: %s\n", skip);
		skip();
	}
	assert_true(ok);
}

/*
 * The bugs of guestfw's bug zoo against the real hypervisor: each must make its
 * flow fail here too, by sequence, outcome or final RMP state. touch-before-
 * accept is one only a real machine shows (the mock does not fault on the read).
 */
static const struct {
	const char *flow;
	uint32_t bug;
} mutants[] = {
    {"prevalidated_range_skipped", GFW_BUG_NO_PREVALIDATED_SKIP},
    {"gfn_above_1tib", GFW_BUG_GFN_SHIFT32},
    {"range_4gib_plus_at_boot", GFW_BUG_LEN_TRUNC32},
    {"convert_private_to_shared_one_page", GFW_BUG_RESCIND_AFTER_PSC},
    {"convert_shared_to_private_one_page", GFW_BUG_PVALIDATE_BEFORE_PSC},
    {"psc_cur_entry_backwards", GFW_BUG_NO_BACKWARDS_CHECK},
    {"pvalidate_cf1_double_validation", GFW_BUG_IGNORE_CF},
    {"fallback_2m_sizemismatch", GFW_BUG_SIZEMISMATCH_DROP_TAIL},
    {"psc_rewritten_buffer_ignored", GFW_BUG_PVALIDATE_FROM_SHARED},
    {"lazy_accept_same_unit_twice", GFW_BUG_TOUCH_BEFORE_ACCEPT},
};

static void test_mutants_fail_their_flow(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++) {
		const flow_t *f = flow_find(mutants[i].flow);
		assert_non_null(f);
		flow_t mutant = *f;
		mutant.bugs = mutants[i].bug;
		printf("# mutant %s on %s (the flow must fail):\n", gfw_bug_name(mutants[i].bug),
		       f->name);
		const char *skip = NULL;
		bool passed = hv_run_flow(&mutant, &skip);
		assert_null(skip);
		if (passed)
			printf("  mutant %s survived %s\n", gfw_bug_name(mutants[i].bug), f->name);
		assert_false(passed);
	}
}

/* The RMP checks themselves can fail: a page the guest validated, revoked behind its back. */
static void test_rmp_check_sees_a_revoked_page(void **state)
{
	(void)state;
	const flow_t *f = flow_find("boot_ghcb_setup");
	const char *skip = NULL;
	hvt_t *t = hvt_new(f, &skip);
	assert_null(skip);
	hx_t x = run_step(t, &f->program[0][0]);
	assert_int_equal(x, HX_RETURNED);
	assert_true(check_rmp_expected(t));
	assert_true(check_rmp_beliefs(t));
	/* the hypervisor makes 0x10000 shared and private again: assigned, not validated */
	hv_fault_t revoke = {.trigger = HV_TRIG_VMGEXIT,
	                     .action = HV_ACT_REVOKE,
	                     .arg = 1,
	                     .gfn = 0x10,
	                     .max_fires = 1};
	assert_true(hv_set_fault_plan(t->hv, &revoke, 1, 1));
	gfw_step_t print = {.kind = GFW_STEP_PRINT, .arg = 1};
	assert_int_equal(run_step(t, &print), HX_RETURNED);
	assert_int_equal(hv_fault_fired(t->hv, 0), 1);
	printf("# expected mismatches follow:\n");
	assert_false(check_rmp_expected(t));
	assert_false(check_rmp_beliefs(t));
	hvt_free(t);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_rmp_check_sees_a_revoked_page),
	    cmocka_unit_test(test_mutants_fail_their_flow),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(gfw_nflows + nfixed, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < gfw_nflows; i++) {
		tests[i].name = gfw_flows[i].name;
		tests[i].test_func = test_flow;
		tests[i].initial_state = (void *)(uintptr_t)&gfw_flows[i];
	}
	memcpy(tests + gfw_nflows, fixed, sizeof(fixed));
	int rc = _cmocka_run_group_tests("guestfw_hv", tests, gfw_nflows + nfixed, NULL, NULL);
	free(tests);
	return rc;
}
