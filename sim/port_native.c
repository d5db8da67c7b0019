/* SPDX-License-Identifier: MIT */
/*
 * The arch port, natively: each gfw_port_* function is the instruction's effect
 * on the modeled machine. A #VC is a call into guestfw's handler on the same
 * stack, as the exception would be; the end of the run unwinds the vCPU with
 * longjmp, which is how gfw_port_halt never returns.
 */
#include <string.h>

#include "machine-private.h"

static _Noreturn void unwind(gfw_port_t *p)
{
	longjmp(p->halt, 1);
}

static void check(gfw_port_t *p, mstat_t st)
{
	if (st == MS_HALT)
		unwind(p);
}

static void boundary(gfw_port_t *p)
{
	check(p, mach_boundary(p->m, p->vcpu, false));
}

static void deliver_vc(gfw_port_t *p, uint64_t code, uint64_t fault_va, uint32_t insn)
{
	mach_vc_event(p->m, p->vcpu, code, fault_va);
	if (!p->cpu) /* foreign guest code has no #VC handler */
		check(p, mach_stop(p->m, p->vcpu, SIM_STOP_GUEST_EXCEPTION));
	gfw_vc_frame_t f = {.error_code = code, .fault_va = fault_va, .insn = insn};
	gfw_vc_handler(p->cpu, &f);
	boundary(p);
}

uint32_t gfw_port_pvalidate(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint32_t validate,
			    uint32_t *cf)
{
	/* boundary, the instruction, boundary; guestfw's identity map: the VA is the GPA */
	return mach_port_pvalidate(p, va, page_2m, validate, cf);
}

uint32_t gfw_port_rmpadjust(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint64_t attrs)
{
	rmp_result_t r;
	boundary(p);
	check(p, mach_rmpadjust(p->m, p->vcpu, va, page_2m, attrs, &r));
	boundary(p);
	return r.ret;
}

void gfw_port_vmgexit(gfw_port_t *p)
{
	uint64_t vc = 0;
	boundary(p);
	check(p, mach_vmgexit(p->m, p->vcpu, &vc));
	boundary(p);
	if (vc) /* injected between instructions: no instruction to match it */
		deliver_vc(p, vc, 0, GFW_INSN_NONE);
}

uint64_t gfw_port_rdmsr(gfw_port_t *p, uint32_t msr)
{
	boundary(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB)
		return p->ghcb_msr;
	if (msr == MSR_AMD64_SEV)
		return machine_scenario(p->m)->sev_status;
	deliver_vc(p, SVM_EXIT_MSR, 0, GFW_INSN_MSR);
	return 0;
}

void gfw_port_wrmsr(gfw_port_t *p, uint32_t msr, uint64_t value)
{
	boundary(p);
	if (msr == MSR_AMD64_SEV_ES_GHCB) {
		p->ghcb_msr = value;
		return;
	}
	if (msr == MSR_AMD64_SEV) /* read-only: #GP, which guestfw does not handle */
		check(p, mach_stop(p->m, p->vcpu, SIM_STOP_GUEST_EXCEPTION));
	deliver_vc(p, SVM_EXIT_MSR, 0, GFW_INSN_MSR);
}

static void guest_access(gfw_port_t *p, uint64_t gpa, uint8_t *buf, uint32_t len, bool private,
			 bool write)
{
	rmp_access_t acc = write ? RMP_ACCESS_WRITE : RMP_ACCESS_READ;
	boundary(p);
	while (len) {
		uint32_t chunk = (uint32_t)(SNP_PAGE_SIZE - (gpa & (SNP_PAGE_SIZE - 1)));
		if (chunk > len)
			chunk = len;
		hv_npt_map_t map;
		uint64_t vc = 0;
		for (int tries = 0;; tries++) {
			macc_t a = mach_access(p->m, p->vcpu, gpa, acc, private, tries, &map, &vc);
			if (a == MACC_HALT)
				unwind(p);
			if (a == MACC_DONE)
				break;
			deliver_vc(p, vc, gpa, GFW_INSN_MEM);
		}
		uint8_t *host = physmem_ptr(mach_physmem(p->m), map.spa + (gpa & (SNP_PAGE_SIZE - 1)));
		if (write) {
			if (map.kind == HV_NPT_RAM && host) /* ROM ignores writes */
				memcpy(host, buf, chunk);
		} else if (host) {
			memcpy(buf, host, chunk);
		} else {
			memset(buf, 0xFF, chunk);
		}
		mach_after_access(p->m, p->vcpu, gpa, acc, &vc);
		if (vc)
			deliver_vc(p, vc, gpa, GFW_INSN_NONE);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	boundary(p);
}

void gfw_port_read(gfw_port_t *p, uint64_t gpa, void *dst, uint32_t len, bool private)
{
	guest_access(p, gpa, dst, len, private, false);
}

void gfw_port_write(gfw_port_t *p, uint64_t gpa, const void *src, uint32_t len, bool private)
{
	/* guest_access() only reads from buf when writing */
	guest_access(p, gpa, (uint8_t *)(uintptr_t)src, len, private, true);
}

void gfw_port_pause(gfw_port_t *p)
{
	check(p, mach_boundary(p->m, p->vcpu, true));
}

bool gfw_port_cas32(gfw_port_t *p, volatile uint32_t *ptr, uint32_t expected, uint32_t desired)
{
	boundary(p);
	if (*ptr != expected)
		return false;
	*ptr = desired;
	return true;
}

_Noreturn void gfw_port_halt(gfw_port_t *p)
{
	if (!mach_ended(p->m))
		mach_stop(p->m, p->vcpu, SIM_STOP_HALTED);
	unwind(p);
}

void gfw_port_note(gfw_port_t *p, const gfw_note_t *note)
{
	mach_note(p->m, p->vcpu, note);
	boundary(p);
}
