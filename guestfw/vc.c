/* SPDX-License-Identifier: MIT */
/*
 * The #VC handler (vector 29, facts §2.6). guestfw emulates nothing through it
 * (it never executes CPUID, port I/O or intercepted MSR accesses: those go to
 * the CPUID page and to NAE events directly); the one code it serves is 0x404
 * on lazily accepted memory.
 *
 * Order of the checks, each fatal:
 *   1. nesting deeper than GFW_VC_MAX_DEPTH               -> GFW_TERM_VC_NESTING
 *   2. an error code guestfw knows no instruction for     -> GFW_TERM_VC_UNEXPECTED
 *   3. the code does not fit what the vCPU was executing  -> GFW_TERM_VC_MISMATCH
 *      (a hypervisor injecting #VC to make the guest emulate something it never
 *      ran: WeSee/Heckler; Linux vc_check_opcode_bytes)
 *   4. a matching code other than 0x404                   -> GFW_TERM_VC_UNEXPECTED
 *   5. 0x404 on an unaccepted unit                        -> accept it, return (retry)
 *      0x404 on RAM the guest holds validated             -> GFW_TERM_VC_VALIDATED
 *      0x404 anywhere else                                -> GFW_TERM_VC_UNEXPECTED
 */
#include "gfw-private.h"

/* The instruction class an error code implies; GFW_INSN_NONE: not one guestfw knows. */
static uint32_t insn_for_code(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_CPUID: return GFW_INSN_CPUID;
	case SVM_EXIT_IOIO: return GFW_INSN_IO;
	case SVM_EXIT_MSR: return GFW_INSN_MSR;
	case SVM_EXIT_NPF: return GFW_INSN_MEM; /* MMIO: reserved-bit NPT entry */
	case SVM_EXIT_VMPL_NOT_VALIDATED: return GFW_INSN_MEM;
	default: return GFW_INSN_NONE;
	}
}

void gfw_vc_handler(gfw_cpu_t *c, gfw_vc_frame_t *frame)
{
	/* inside gfw_terminate(): do not recurse into another termination */
	if (c->terminating)
		gfw_port_halt(c->port);
	if (++c->vc_depth > GFW_VC_MAX_DEPTH)
		gfw_terminate(c, GFW_TERM_VC_NESTING);

	uint64_t code = frame->error_code;
	uint32_t want = insn_for_code(code);
	/*
	 * guestfw's own record of what it executes is the instruction; the
	 * frame's is used only when guestfw was not inside a port operation
	 * (foreign code calling the handler).
	 */
	uint32_t insn = c->cur_insn != GFW_INSN_NONE ? c->cur_insn : frame->insn;
	if (want == GFW_INSN_NONE)
		gfw_terminate(c, GFW_TERM_VC_UNEXPECTED);
	if (insn != want)
		gfw_terminate(c, GFW_TERM_VC_MISMATCH);
	if (code != SVM_EXIT_VMPL_NOT_VALIDATED)
		gfw_terminate(c, GFW_TERM_VC_UNEXPECTED);

	uint64_t gpa = frame->fault_va; /* identity map */
	if (gfw_unit_unaccepted(c->g, gpa)) {
		gfw_accept_fault(c, gpa);
		c->vc_depth--;
		return; /* the machine retries the access */
	}
	/*
	 * RAM outside the bitmap was validated at boot or by a conversion: the
	 * hypervisor took the validation away (a remap or a revoke). Linux has no
	 * 0x404 handler at all and terminates; guestfw names the case.
	 */
	const gfw_mem_entry_t *e = gfw_mem_find(c->g, gpa);
	if (e && e->type == GFW_MEM_RAM)
		gfw_terminate(c, GFW_TERM_VC_VALIDATED);
	gfw_terminate(c, GFW_TERM_VC_UNEXPECTED);
}
