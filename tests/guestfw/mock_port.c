/* SPDX-License-Identifier: MIT */
/*
 * The scripted mock machine (see mock_port.h). Single-threaded: a second vCPU
 * runs only when a flow's schedule or an FF_RUN_VCPU fault says so, nested
 * inside vCPU 0's port call, and a PAUSE ends its run (it would spin).
 */
#include "mock_port.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snp/arch.h"
#include "snp/pages.h"

#define MAX_PAGES 512u
#define MAX_PORT_CALLS 20000000ull
#define VC_RETRIES 4


struct gfw_port {
	mock_t *m;
	uint32_t cpu;
	uint64_t ghcb_msr;
	uint64_t registered; /* GHCB GPA registered through the MSR protocol, 0 if none */
	jmp_buf jb;
	bool in_run;
};

typedef struct mock_page {
	uint64_t gfn;
	uint8_t data[SNP_PAGE_SIZE];
} mock_page_t;

typedef struct fault_state {
	flow_fault_t f;
	bool armed;
	uint32_t seen;
	uint32_t fired;
} fault_state_t;

struct mock {
	gfw_t g;
	gfw_cpu_t cpus[FLOW_MAX_CPUS];
	struct gfw_port ports[FLOW_MAX_CPUS];
	flow_machine_t mach;
	const gfw_step_t *prog[FLOW_MAX_CPUS];
	uint32_t nprog[FLOW_MAX_CPUS];
	uint32_t pc[FLOW_MAX_CPUS];
	size_t *marks[FLOW_MAX_CPUS]; /* log index at each step start */
	fault_state_t *faults;
	uint32_t nfaults;
	uint32_t record;
	flow_ev_t *log;
	size_t nlog, caplog;
	mock_page_t *pages[MAX_PAGES];
	uint32_t npages;
	uint8_t debug[4096];
	size_t ndebug;
	uint64_t calls;
	bool terminated;
	uint32_t term_cpu, term_set, term_code;
	uint32_t violations;
	char violation[256];
};

/* ------------------------------------------------------------------ bookkeeping */

static void violate(mock_t *m, const char *fmt, ...)
{
	if (m->violations++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->violation, sizeof(m->violation), fmt, ap);
		va_end(ap);
	}
}

static void record(mock_t *m, uint32_t cpu, uint32_t kind, uint64_t gpa, uint64_t x, uint64_t y,
		   uint64_t z, uint64_t w)
{
	if (kind == FE_READ || kind == FE_WRITE) {
		if (!(m->record & (1u << kind)))
			return;
	}
	if (m->nlog == m->caplog) {
		m->caplog = m->caplog ? m->caplog * 2 : 1024;
		m->log = realloc(m->log, m->caplog * sizeof(*m->log));
		if (!m->log)
			abort();
	}
	m->log[m->nlog++] = (flow_ev_t){kind, cpu, gpa, x, y, z, w};
}

static _Noreturn void leave(struct gfw_port *p, mock_exit_t how)
{
	longjmp(p->jb, (int)how + 1);
}

static void count_call(struct gfw_port *p)
{
	if (++p->m->calls > MAX_PORT_CALLS) {
		violate(p->m, "port call budget exhausted (guest loops?)");
		leave(p, MOCK_STOPPED);
	}
}

/* ------------------------------------------------------------------ memory */

static mock_page_t *page_get(const mock_t *m, uint64_t gfn)
{
	for (uint32_t i = 0; i < m->npages; i++)
		if (m->pages[i]->gfn == gfn)
			return m->pages[i];
	return NULL;
}

static mock_page_t *page_make(mock_t *m, uint64_t gfn)
{
	mock_page_t *pg = page_get(m, gfn);
	if (pg)
		return pg;
	if (m->npages == MAX_PAGES)
		abort(); /* a test writing more than the mock's 2 MiB of memory is a test bug */
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		abort();
	pg->gfn = gfn;
	m->pages[m->npages++] = pg;
	return pg;
}

void mock_mem_read(const mock_t *m, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *d = dst;
	while (len) {
		size_t off = gpa & (SNP_PAGE_SIZE - 1), chunk = SNP_PAGE_SIZE - off;
		if (chunk > len)
			chunk = len;
		const mock_page_t *pg = page_get(m, gpa >> SNP_PAGE_SHIFT);
		if (pg)
			memcpy(d, pg->data + off, chunk);
		else
			memset(d, 0, chunk);
		gpa += chunk;
		d += chunk;
		len -= chunk;
	}
}

void mock_mem_write(mock_t *m, uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *s = src;
	while (len) {
		size_t off = gpa & (SNP_PAGE_SIZE - 1), chunk = SNP_PAGE_SIZE - off;
		if (chunk > len)
			chunk = len;
		memcpy(page_make(m, gpa >> SNP_PAGE_SHIFT)->data + off, s, chunk);
		gpa += chunk;
		s += chunk;
		len -= chunk;
	}
}

static uint64_t mem64(const mock_t *m, uint64_t gpa)
{
	uint64_t v;
	mock_mem_read(m, gpa, &v, sizeof(v));
	return v;
}

static void put64(mock_t *m, uint64_t gpa, uint64_t v)
{
	mock_mem_write(m, gpa, &v, sizeof(v));
}

/* ------------------------------------------------------------------ faults */

static bool page_match(uint64_t match, uint64_t gpa)
{
	return match == FLOW_ANY || (match >> SNP_PAGE_SHIFT) == (gpa >> SNP_PAGE_SHIFT);
}

/* Counts one matching event for fault i; true if it fires now. */
static bool fault_hit(mock_t *m, uint32_t i)
{
	fault_state_t *s = &m->faults[i];
	if (!s->armed)
		return false;
	s->seen++;
	if (s->f.nth && s->seen != s->f.nth)
		return false;
	if (s->f.times && s->fired >= s->f.times)
		return false;
	s->fired++;
	return true;
}

uint32_t mock_fired(const mock_t *m, uint32_t fault)
{
	return fault < m->nfaults ? m->faults[fault].fired : 0;
}

static void arm_faults(mock_t *m, uint32_t step)
{
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (!m->faults[i].armed && m->faults[i].f.from_step <= step)
			m->faults[i].armed = true;
}

/* ------------------------------------------------------------------ #VC delivery */

static void deliver_vc(struct gfw_port *p, uint64_t code, uint64_t gpa, uint32_t insn)
{
	record(p->m, p->cpu, FE_VC, gpa, code, 0, 0, 0);
	gfw_vc_frame_t f = {.error_code = code, .fault_va = gpa, .insn = insn};
	gfw_vc_handler(&p->m->cpus[p->cpu], &f);
}

/* An access to gpa: #VC faults that fire deliver a #VC and the access is retried. */
static void access_faults(struct gfw_port *p, uint64_t gpa, bool private)
{
	mock_t *m = p->m;
	for (int tries = 0;; tries++) {
		bool fired = false;
		for (uint32_t i = 0; i < m->nfaults && !fired; i++) {
			const flow_fault_t *f = &m->faults[i].f;
			uint64_t code = 0;
			if ((f->kind == FF_UNVALIDATED || f->kind == FF_REVOKE) && private &&
			    page_match(f->match, gpa))
				code = SVM_EXIT_VMPL_NOT_VALIDATED;
			else if (f->kind == FF_INJECT_VC_ACCESS && page_match(f->match, gpa))
				code = f->arg;
			if (code && fault_hit(m, i)) {
				if (tries >= VC_RETRIES) {
					violate(m, "#VC loop at 0x%" PRIx64, gpa);
					leave(p, MOCK_STOPPED);
				}
				deliver_vc(p, code, gpa, GFW_INSN_MEM);
				fired = true;
			}
		}
		if (!fired)
			return;
	}
}

/* ------------------------------------------------------------------ the hypervisor */

static uint64_t msr_protocol(struct gfw_port *p, uint64_t req)
{
	mock_t *m = p->m;
	uint32_t fn = (uint32_t)(req & GHCB_MSR_INFO_MASK);
	uint64_t resp = req; /* KVM leaves an unknown request in the MSR */
	switch (fn) {
	case GHCB_MSR_SEV_INFO_REQ:
		resp = ghcb_msr_sev_info(m->mach.proto_max, m->mach.proto_min, 51);
		break;
	case GHCB_MSR_HV_FT_REQ:
		resp = (m->mach.features << GHCB_DATA_SHIFT) | GHCB_MSR_HV_FT_RESP;
		break;
	case GHCB_MSR_REG_GPA_REQ:
		p->registered = GHCB_MSR_GFN(req) << SNP_PAGE_SHIFT;
		resp = ghcb_msr_gfn_val(GHCB_MSR_GFN(req), GHCB_MSR_REG_GPA_RESP);
		break;
	case GHCB_MSR_PSC_REQ: {
		uint32_t op = GHCB_MSR_PSC_REQ_OP(req);
		if (GHCB_MSR_PSC_REQ_RSVD(req) || (op != SNP_PAGE_STATE_PRIVATE &&
						    op != SNP_PAGE_STATE_SHARED))
			violate(m, "MSR PSC request 0x%" PRIx64 " malformed", req);
		resp = GHCB_MSR_PSC_RESP;
		break;
	}
	default:
		break;
	}
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (m->faults[i].f.kind == FF_MSR_RESPONSE && m->faults[i].f.match == fn &&
		    fault_hit(m, i))
			resp = m->faults[i].f.arg;
	return resp;
}

static bool valid_bit(const uint8_t *bm, uint32_t off)
{
	uint32_t b = GHCB_BITMAP_IDX(off);
	return (bm[b / 8] >> (b % 8)) & 1u;
}

/* The GHCB PSC request (facts §6.5 with the faults of the plan). */
static void nae_psc(struct gfw_port *p, uint64_t ghcb, uint64_t *info1, uint64_t *info2)
{
	mock_t *m = p->m;
	uint64_t buf = ghcb + GHCB_OFF_SHARED_BUFFER;
	if (mem64(m, ghcb + GHCB_OFF_SW_SCRATCH) != buf)
		violate(m, "PSC SW_SCRATCH is not the shared buffer");
	struct psc_hdr h;
	mock_mem_read(m, buf, &h, sizeof(h));
	if (h.end_entry >= VMGEXIT_PSC_MAX_ENTRY || h.reserved) {
		violate(m, "PSC header malformed (end %u, reserved %u)", h.end_entry, h.reserved);
		*info2 = VMGEXIT_PSC_ERROR_INVALID_HDR;
		return;
	}
	uint64_t e[VMGEXIT_PSC_MAX_ENTRY];
	mock_mem_read(m, buf + sizeof(h), e, sizeof(e));

	/* record what this exit asks for: the entries from cur_entry on */
	uint32_t n2m = 0, op = h.cur_entry <= h.end_entry ? PSC_ENTRY_OP(e[h.cur_entry]) : 0;
	for (uint32_t i = h.cur_entry; i <= h.end_entry; i++) {
		n2m += PSC_ENTRY_2M(e[i]);
		if (PSC_ENTRY_OP(e[i]) != op)
			violate(m, "PSC entries with mixed operations");
		if (PSC_ENTRY_RSVD(e[i]))
			violate(m, "PSC entry %u has reserved bits set", i);
		if (PSC_ENTRY_2M(e[i]) && (PSC_ENTRY_GFN(e[i]) & (SNP_PAGES_PER_2M - 1)))
			violate(m, "PSC 2M entry %u GFN not 2M aligned", i);
		if (PSC_ENTRY_CUR_PAGE(e[i]) > (PSC_ENTRY_2M(e[i]) ? SNP_PAGES_PER_2M : 1u))
			violate(m, "PSC entry %u has cur_page %u", i, PSC_ENTRY_CUR_PAGE(e[i]));
		if (i > h.cur_entry) {
			uint64_t prev_end = (PSC_ENTRY_GFN(e[i - 1]) << SNP_PAGE_SHIFT) +
					    (PSC_ENTRY_2M(e[i - 1]) ? SNP_PAGE_2M_SIZE : SNP_PAGE_SIZE);
			if ((PSC_ENTRY_GFN(e[i]) << SNP_PAGE_SHIFT) != prev_end)
				violate(m, "PSC entries %u and %u not contiguous", i - 1, i);
		}
	}
	uint64_t first = h.cur_entry <= h.end_entry ? PSC_ENTRY_GFN(e[h.cur_entry]) << SNP_PAGE_SHIFT
						    : 0;
	record(m, p->cpu, FE_PSC, first, op, (uint64_t)h.end_entry + 1 - h.cur_entry, n2m, 0);

	/* scheduling: another vCPU runs while this exit is pending */
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const flow_fault_t *f = &m->faults[i].f;
		if (f->kind == FF_RUN_VCPU && p->cpu == 0 && fault_hit(m, i)) {
			mock_exit_t x = mock_run_steps(m, (uint32_t)f->arg, (uint32_t)f->arg2);
			if (x == MOCK_TERMINATED || x == MOCK_STOPPED)
				leave(p, x); /* the whole guest is gone */
		}
	}

	int64_t limit = -1; /* entries to process: -1 all */
	int32_t partial_2m = -1;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const flow_fault_t *f = &m->faults[i].f;
		if (f->kind == FF_PSC_NO_PROGRESS && fault_hit(m, i))
			limit = 0;
		else if (f->kind == FF_PSC_PARTIAL && fault_hit(m, i))
			limit = (int64_t)f->arg;
		else if (f->kind == FF_PSC_PARTIAL_2M && fault_hit(m, i))
			partial_2m = (int32_t)f->arg;
	}
	if (partial_2m >= 0 && h.cur_entry <= h.end_entry) {
		e[h.cur_entry] = (e[h.cur_entry] & ~PSC_ENTRY_CUR_PAGE_MASK) |
				 ((uint64_t)partial_2m & PSC_ENTRY_CUR_PAGE_MASK);
		limit = 0;
	}
	uint32_t cur = h.cur_entry;
	while (cur <= h.end_entry && limit != 0) {
		uint32_t npages = PSC_ENTRY_2M(e[cur]) ? SNP_PAGES_PER_2M : 1u;
		e[cur] = (e[cur] & ~PSC_ENTRY_CUR_PAGE_MASK) | npages;
		cur++;
		if (limit > 0)
			limit--;
	}
	h.cur_entry = (uint16_t)cur;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const flow_fault_t *f = &m->faults[i].f;
		switch (f->kind) {
		case FF_PSC_CUR_BACK:
			if (fault_hit(m, i))
				h.cur_entry = (uint16_t)(h.cur_entry - f->arg);
			break;
		case FF_PSC_END_CHANGE:
			if (fault_hit(m, i))
				h.end_entry = (uint16_t)(h.end_entry + f->arg);
			break;
		case FF_PSC_RESERVED:
			if (fault_hit(m, i))
				h.reserved = (uint32_t)f->arg;
			break;
		case FF_PSC_REWRITE_GFN:
			if (fault_hit(m, i))
				for (uint32_t k = 0; k < VMGEXIT_PSC_MAX_ENTRY; k++)
					e[k] = (e[k] & ~(PSC_ENTRY_GFN_MASK << PSC_ENTRY_GFN_SHIFT)) |
					       (((PSC_ENTRY_GFN(e[k]) + f->arg) & PSC_ENTRY_GFN_MASK)
						<< PSC_ENTRY_GFN_SHIFT);
			break;
		case FF_PSC_FAIL:
			if (fault_hit(m, i))
				*info2 = f->arg;
			break;
		case FF_PSC_NAE_ERROR:
			if (fault_hit(m, i))
				*info1 = f->arg;
			break;
		default:
			break;
		}
	}
	mock_mem_write(m, buf, &h, sizeof(h));
	mock_mem_write(m, buf + sizeof(h), e, sizeof(e));
}

static void nae(struct gfw_port *p, uint64_t ghcb)
{
	mock_t *m = p->m;
	if (ghcb != p->registered) {
		/* KVM stops an SNP guest that uses an unregistered GHCB */
		violate(m, "VMGEXIT with GHCB 0x%" PRIx64 ", registered 0x%" PRIx64, ghcb,
			p->registered);
		leave(p, MOCK_STOPPED);
	}
	uint8_t bm[GHCB_VALID_BITMAP_SIZE];
	mock_mem_read(m, ghcb + GHCB_OFF_VALID_BITMAP, bm, sizeof(bm));
	uint16_t version;
	uint32_t usage;
	mock_mem_read(m, ghcb + GHCB_OFF_PROTOCOL_VERSION, &version, sizeof(version));
	mock_mem_read(m, ghcb + GHCB_OFF_USAGE, &usage, sizeof(usage));
	if (version != GHCB_PROTOCOL_SNP || usage != GHCB_DEFAULT_USAGE)
		violate(m, "GHCB version %u usage %u", version, usage);
	if (!valid_bit(bm, GHCB_OFF_SW_EXITCODE) || !valid_bit(bm, GHCB_OFF_SW_EXITINFO1) ||
	    !valid_bit(bm, GHCB_OFF_SW_EXITINFO2))
		violate(m, "NAE without SW_EXITCODE/EXITINFO1/EXITINFO2 valid");
	uint64_t code = mem64(m, ghcb + GHCB_OFF_SW_EXITCODE);
	uint64_t i1 = mem64(m, ghcb + GHCB_OFF_SW_EXITINFO1);
	uint64_t i2 = mem64(m, ghcb + GHCB_OFF_SW_EXITINFO2);
	bool has_rax = valid_bit(bm, GHCB_OFF_RAX);
	uint64_t rax = has_rax ? mem64(m, ghcb + GHCB_OFF_RAX) : FLOW_NO_RAX;
	uint64_t o1 = 0, o2 = 0;
	if (code == SVM_VMGEXIT_PSC) {
		if (!valid_bit(bm, GHCB_OFF_SW_SCRATCH))
			violate(m, "PSC without SW_SCRATCH valid");
		if (i1 || i2)
			violate(m, "PSC with EXITINFO1/2 nonzero");
		nae_psc(p, ghcb, &o1, &o2);
	} else {
		record(m, p->cpu, FE_NAE, 0, code, i1, i2, rax);
		switch (code) {
		case SVM_EXIT_IOIO:
			if (!has_rax)
				violate(m, "IOIO OUT without RAX");
			if ((i1 >> SVM_IOIO_PORT_SHIFT) == GFW_DEBUG_PORT && !(i1 & SVM_IOIO_TYPE_IN) &&
			    m->ndebug < sizeof(m->debug))
				m->debug[m->ndebug++] = (uint8_t)rax;
			break;
		case SVM_VMGEXIT_AP_CREATION:
			if (SVM_VMGEXIT_AP_REQ(i1) != SVM_VMGEXIT_AP_DESTROY && !has_rax)
				violate(m, "AP creation without RAX (SEV_FEATURES)");
			break;
		default:
			o1 = GHCB_HV_RESP_MALFORMED_INPUT;
			o2 = GHCB_ERR_INVALID_EVENT;
			break;
		}
		for (uint32_t i = 0; i < m->nfaults; i++)
			if (m->faults[i].f.kind == FF_NAE_RESULT && m->faults[i].f.match == code &&
			    fault_hit(m, i)) {
				o1 = m->faults[i].f.arg;
				o2 = m->faults[i].f.arg2;
			}
	}
	/* facts §4.2: the hypervisor clears the bitmap and marks what it wrote */
	memset(bm, 0, sizeof(bm));
	bm[GHCB_BITMAP_IDX(GHCB_OFF_SW_EXITINFO1) / 8] |=
		(uint8_t)(1u << (GHCB_BITMAP_IDX(GHCB_OFF_SW_EXITINFO1) % 8));
	bm[GHCB_BITMAP_IDX(GHCB_OFF_SW_EXITINFO2) / 8] |=
		(uint8_t)(1u << (GHCB_BITMAP_IDX(GHCB_OFF_SW_EXITINFO2) % 8));
	mock_mem_write(m, ghcb + GHCB_OFF_VALID_BITMAP, bm, sizeof(bm));
	put64(m, ghcb + GHCB_OFF_SW_EXITINFO1, o1);
	put64(m, ghcb + GHCB_OFF_SW_EXITINFO2, o2);
}

/* ------------------------------------------------------------------ the arch port */

uint32_t gfw_port_pvalidate(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint32_t validate,
			    uint32_t *cf)
{
	mock_t *m = p->m;
	count_call(p);
	if (page_2m > 1 || validate > 1 || (va & ((page_2m ? SNP_PAGE_2M_SIZE : SNP_PAGE_SIZE) - 1)))
		violate(m, "PVALIDATE with bad operands va 0x%" PRIx64, va);
	record(m, p->cpu, FE_PVALIDATE, va, page_2m, validate, 0, 0);
	uint32_t ret = SNP_RET_SUCCESS;
	*cf = 0;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const flow_fault_t *f = &m->faults[i].f;
		if (f->kind == FF_FORCE_4K && page_2m && page_match(f->match, va) && fault_hit(m, i))
			ret = SNP_RET_FAIL_SIZEMISMATCH;
		else if (f->kind == FF_PVALIDATE_NOUPDATE && page_match(f->match, va) &&
			 fault_hit(m, i))
			*cf = 1;
		else if (f->kind == FF_PVALIDATE_RESULT && page_match(f->match, va) &&
			 fault_hit(m, i))
			ret = (uint32_t)f->arg;
	}
	if (ret != SNP_RET_SUCCESS)
		*cf = 0;
	return ret;
}

uint32_t gfw_port_rmpadjust(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint64_t attrs)
{
	mock_t *m = p->m;
	count_call(p);
	record(m, p->cpu, FE_RMPADJUST, va, page_2m, attrs, 0, 0);
	uint32_t ret = SNP_RET_SUCCESS;
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (m->faults[i].f.kind == FF_RMPADJUST_RESULT && page_match(m->faults[i].f.match, va) &&
		    fault_hit(m, i))
			ret = (uint32_t)m->faults[i].f.arg;
	return ret;
}

void gfw_port_vmgexit(gfw_port_t *p)
{
	mock_t *m = p->m;
	count_call(p);
	uint64_t msr = p->ghcb_msr;
	if (msr & GHCB_MSR_INFO_MASK) {
		record(m, p->cpu, FE_MSR, 0, msr, 0, 0, 0);
		if ((msr & GHCB_MSR_INFO_MASK) == GHCB_MSR_TERM_REQ) {
			if (!m->terminated) {
				m->terminated = true;
				m->term_cpu = p->cpu;
				m->term_set = GHCB_MSR_TERM_SET(msr);
				m->term_code = GHCB_MSR_TERM_CODE(msr);
			}
			if (!m->mach.term_resumes)
				leave(p, MOCK_TERMINATED); /* the hypervisor stops the guest */
			return; /* a hostile hypervisor resumes it */
		}
		p->ghcb_msr = msr_protocol(p, msr);
	} else {
		nae(p, msr);
	}
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (m->faults[i].f.kind == FF_INJECT_VC_EXIT && fault_hit(m, i))
			deliver_vc(p, m->faults[i].f.arg, 0, GFW_INSN_NONE);
}

uint64_t gfw_port_rdmsr(gfw_port_t *p, uint32_t msr)
{
	count_call(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB)
		return p->ghcb_msr;
	record(p->m, p->cpu, FE_RDMSR, 0, msr, 0, 0, 0);
	if (msr == MSR_AMD64_SEV)
		return p->m->mach.sev_status;
	violate(p->m, "RDMSR 0x%x would take a #VC", msr);
	return 0;
}

void gfw_port_wrmsr(gfw_port_t *p, uint32_t msr, uint64_t value)
{
	count_call(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB)
		p->ghcb_msr = value;
	else
		violate(p->m, "WRMSR 0x%x would take a #VC", msr);
}

void gfw_port_read(gfw_port_t *p, uint64_t gpa, void *dst, uint32_t len, bool private)
{
	count_call(p);
	access_faults(p, gpa, private);
	if (private)
		record(p->m, p->cpu, FE_READ, gpa, len, 0, 0, 0);
	mock_mem_read(p->m, gpa, dst, len);
}

void gfw_port_write(gfw_port_t *p, uint64_t gpa, const void *src, uint32_t len, bool private)
{
	count_call(p);
	access_faults(p, gpa, private);
	if (private)
		record(p->m, p->cpu, FE_WRITE, gpa, len, 0, 0, 0);
	mock_mem_write(p->m, gpa, src, len);
}

void gfw_port_pause(gfw_port_t *p)
{
	count_call(p);
	record(p->m, p->cpu, FE_PAUSE, 0, 0, 0, 0, 0);
	/* nothing else runs while this vCPU spins: end its run, the schedule resumes it */
	leave(p, MOCK_SPINNING);
}

bool gfw_port_cas32(gfw_port_t *p, volatile uint32_t *ptr, uint32_t expected, uint32_t desired)
{
	mock_t *m = p->m;
	count_call(p);
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const flow_fault_t *f = &m->faults[i].f;
		if (f->kind == FF_INJECT_VC_CAS && fault_hit(m, i))
			deliver_vc(p, f->arg, f->arg2 + (uint64_t)(m->faults[i].fired - 1) * PG2M,
				   GFW_INSN_MEM);
	}
	if (*ptr != expected)
		return false;
	*ptr = desired;
	return true;
}

_Noreturn void gfw_port_halt(gfw_port_t *p)
{
	leave(p, MOCK_HALTED);
}

void gfw_port_note(gfw_port_t *p, const gfw_note_t *note)
{
	mock_t *m = p->m;
	count_call(p);
	if (note->kind == GFW_NOTE_STEP || note->kind == GFW_NOTE_PHASE)
		return;
	record(m, p->cpu, FE_NOTE, note->gpa, note->kind, note->npages, note->arg, 0);
}

/* ------------------------------------------------------------------ set-up */

void mock_default_cpuid(struct snp_cpuid_table *t, const flow_machine_t *mach)
{
	flow_default_cpuid(t, mach);
}

mock_t *mock_new(const gfw_config_t *cfg, const flow_machine_t *machine, const flow_fault_t *faults,
		 uint32_t nfaults, uint32_t rec)
{
	mock_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->mach = machine ? *machine : flow_machine_default;
	m->record = rec;
	if (!gfw_init(&m->g, cfg)) {
		free(m);
		return NULL;
	}
	m->faults = calloc(nfaults ? nfaults : 1, sizeof(*m->faults));
	m->nfaults = nfaults;
	for (uint32_t i = 0; i < nfaults; i++)
		m->faults[i].f = faults[i];
	arm_faults(m, 0);
	for (uint32_t i = 0; i < FLOW_MAX_CPUS; i++) {
		m->ports[i].m = m;
		m->ports[i].cpu = i;
		/* KVM: the vCPU starts with the SEV-information response in the MSR */
		m->ports[i].ghcb_msr = ghcb_msr_sev_info(m->mach.proto_max, m->mach.proto_min, 51);
		gfw_cpu_init(&m->cpus[i], &m->g, &m->ports[i], i);
	}
	if (cfg->cpuid_page_gpa) {
		struct snp_cpuid_table t;
		mock_default_cpuid(&t, &m->mach);
		mock_mem_write(m, cfg->cpuid_page_gpa, &t, sizeof(t));
	}
	if (cfg->secrets_page_gpa) {
		struct snp_secrets_page s;
		memset(&s, 0, sizeof(s));
		s.version = 3;
		for (uint32_t i = 0; i < 4; i++)
			for (uint32_t k = 0; k < SNP_VMPCK_LEN && !m->mach.secrets_zero; k++)
				s.vmpck[i][k] = (uint8_t)(0x40 + i * SNP_VMPCK_LEN + k);
		mock_mem_write(m, cfg->secrets_page_gpa, &s, sizeof(s));
	}
	return m;
}

void mock_free(mock_t *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->npages; i++)
		free(m->pages[i]);
	for (uint32_t i = 0; i < FLOW_MAX_CPUS; i++)
		free(m->marks[i]);
	free(m->faults);
	free(m->log);
	free(m);
}

gfw_t *mock_gfw(mock_t *m)
{
	return &m->g;
}

gfw_cpu_t *mock_cpu(mock_t *m, uint32_t cpu)
{
	return &m->cpus[cpu];
}

void mock_set_program(mock_t *m, uint32_t cpu, const gfw_step_t *steps, uint32_t n)
{
	m->prog[cpu] = steps;
	m->nprog[cpu] = n;
	m->pc[cpu] = 0;
	free(m->marks[cpu]);
	m->marks[cpu] = malloc((n ? n : 1) * sizeof(size_t));
	for (uint32_t i = 0; i < n; i++)
		m->marks[cpu][i] = SIZE_MAX;
}

typedef struct run_ctx {
	mock_t *m;
	uint32_t cpu;
	uint32_t nsteps;
} run_ctx_t;

mock_exit_t mock_call(mock_t *m, uint32_t cpu, void (*fn)(gfw_cpu_t *c, void *arg), void *arg)
{
	struct gfw_port *p = &m->ports[cpu];
	if (m->terminated)
		return MOCK_TERMINATED;
	/* a nested run keeps the outer jmp_buf of this port, if any, for later */
	jmp_buf saved;
	bool was = p->in_run;
	if (was)
		memcpy(saved, p->jb, sizeof(jmp_buf));
	p->in_run = true;
	int r = setjmp(p->jb);
	mock_exit_t x = MOCK_RETURNED;
	if (r == 0)
		fn(&m->cpus[cpu], arg);
	else
		x = (mock_exit_t)(r - 1);
	if (x == MOCK_SPINNING) {
		/* it is restarted from the top of its step: drop what the unwinding left */
		m->cpus[cpu].cur_insn = GFW_INSN_NONE;
		m->cpus[cpu].vc_depth = 0;
	}
	p->in_run = was;
	if (was)
		memcpy(p->jb, saved, sizeof(jmp_buf));
	return x;
}

static void run_one_step(gfw_cpu_t *c, void *arg)
{
	run_ctx_t *r = arg;
	gfw_run(c, &r->m->prog[r->cpu][r->m->pc[r->cpu]], 1);
}

mock_exit_t mock_run_steps(mock_t *m, uint32_t cpu, uint32_t nsteps)
{
	uint32_t left = nsteps ? nsteps : UINT32_MAX;
	while (left-- && m->pc[cpu] < m->nprog[cpu]) {
		uint32_t step = m->pc[cpu];
		if (m->marks[cpu][step] == SIZE_MAX)
			m->marks[cpu][step] = m->nlog;
		if (cpu == 0)
			arm_faults(m, step);
		run_ctx_t r = {m, cpu, 1};
		mock_exit_t x = mock_call(m, cpu, run_one_step, &r);
		if (x != MOCK_RETURNED)
			return x;
		m->pc[cpu]++;
	}
	return MOCK_RETURNED;
}

typedef struct vc_ctx {
	uint64_t code, gpa;
	uint32_t insn;
} vc_ctx_t;

static void call_vc(gfw_cpu_t *c, void *arg)
{
	vc_ctx_t *v = arg;
	deliver_vc(c->port, v->code, v->gpa, v->insn);
}

mock_exit_t mock_deliver_vc(mock_t *m, uint32_t cpu, uint64_t code, uint64_t gpa, uint32_t insn)
{
	vc_ctx_t v = {code, gpa, insn};
	return mock_call(m, cpu, call_vc, &v);
}

/* ------------------------------------------------------------------ results */

const flow_ev_t *mock_log(const mock_t *m, size_t *n)
{
	*n = m->nlog;
	return m->log;
}

size_t mock_step_mark(const mock_t *m, uint32_t cpu, uint32_t step)
{
	if (cpu >= FLOW_MAX_CPUS || step >= m->nprog[cpu])
		return step == m->nprog[cpu] ? m->nlog : SIZE_MAX;
	return m->marks[cpu][step];
}

bool mock_term(const mock_t *m, uint32_t *cpu, uint32_t *set, uint32_t *code)
{
	if (!m->terminated)
		return false;
	*cpu = m->term_cpu;
	*set = m->term_set;
	*code = m->term_code;
	return true;
}

uint32_t mock_violations(const mock_t *m, const char **first)
{
	if (first)
		*first = m->violation;
	return m->violations;
}

uint64_t mock_ghcb_msr(const mock_t *m, uint32_t cpu)
{
	return m->ports[cpu].ghcb_msr;
}

const uint8_t *mock_debug(const mock_t *m, size_t *len)
{
	*len = m->ndebug;
	return m->debug;
}

static void mock_read_cb(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	mock_mem_read(ctx, gpa, dst, len);
}

const char *mock_ev_kind_name(uint32_t kind)
{
	return flow_ev_kind_name(kind);
}

void mock_ev_print(const flow_ev_t *e)
{
	flow_ev_print(e);
}

bool mock_expect(const mock_t *m, size_t from, const flow_exp_t *exp, size_t nexp, bool prefix)
{
	return flow_log_expect(m->log, m->nlog, from, exp, nexp, prefix);
}

bool mock_run_flow(const flow_t *f)
{
	gfw_config_t cfg;
	flow_config(f, &cfg);
	mock_t *m = mock_new(&cfg, f->machine, f->faults, f->nfaults, f->record);
	if (!m) {
		printf("  %s: gfw_init rejected the configuration\n", f->name);
		return false;
	}
	for (uint32_t i = 0; i < FLOW_MAX_CPUS; i++)
		mock_set_program(m, i, f->program[i], f->nprogram[i]);

	mock_exit_t x = MOCK_RETURNED;
	bool unfinished = false;
	if (!f->sched) {
		x = mock_run_steps(m, 0, 0);
	} else {
		for (uint32_t i = 0; i < f->nsched && x != MOCK_TERMINATED && x != MOCK_STOPPED; i++)
			x = mock_run_steps(m, f->sched[i].cpu, f->sched[i].steps);
		for (uint32_t i = 0; i < FLOW_MAX_CPUS && !m->terminated; i++)
			if (m->pc[i] < m->nprog[i]) {
				printf("  vCPU %u did not finish its program (step %u of %u)\n", i,
				       m->pc[i], m->nprog[i]);
				unfinished = true;
			}
	}
	static const char *const how[] = {
		[MOCK_RETURNED] = "returned", [MOCK_TERMINATED] = "terminated",
		[MOCK_HALTED] = "halted",     [MOCK_SPINNING] = "spinning",
		[MOCK_STOPPED] = "stopped by the mock",
	};
	flow_run_t r = {.log = m->log, .n = m->nlog, .from = mock_step_mark(m, 0, f->seq_from)};
	r.completed = x == MOCK_RETURNED && !unfinished;
	r.how = unfinished ? "unfinished" : how[x];
	r.terminated = mock_term(m, &(uint32_t){0}, &r.set, &r.code);
	r.violations = mock_violations(m, &r.violation);
	bool ok = flow_verify(f, &r);
	if (f->check && ok) {
		flow_result_t res = {.log = m->log, .n = m->nlog, .from = r.from,
				     .read = mock_read_cb, .ctx = m};
		res.debug = mock_debug(m, &res.ndebug);
		f->check(&res);
	}
	mock_free(m);
	return ok;
}
