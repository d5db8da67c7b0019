/* SPDX-License-Identifier: MIT */
/*
 * The two transports to the hypervisor: the GHCB MSR protocol (facts §3) and
 * NAE events through the GHCB page (facts §4-5), plus termination.
 *
 * The GHCB is shared memory: the hypervisor can change any byte of it at any
 * time. guestfw writes a request, VMGEXITs and reads back only the outputs it
 * needs, each once, into private variables (Linux sev_es_ghcb_hv_call, OVMF
 * VmgExit follow the same discipline).
 */
#include "gfw-private.h"

uint64_t gfw_msr_protocol(gfw_cpu_t *c, uint64_t request, uint32_t resp_code)
{
	/* Linux sev_es_ghcb_hv_call/__sev_put_ghcb: keep the GHCB GPA across an MSR exchange */
	uint64_t saved = 0;
	if (c->ghcb_ready)
		saved = gfw_rdmsr(c, MSR_AMD64_SEV_ES_GHCB);
	gfw_wrmsr(c, MSR_AMD64_SEV_ES_GHCB, request);
	gfw_vmgexit(c);
	uint64_t resp = gfw_rdmsr(c, MSR_AMD64_SEV_ES_GHCB);
	if (c->ghcb_ready)
		gfw_wrmsr(c, MSR_AMD64_SEV_ES_GHCB, saved);
	/* facts §3.1: any other code (KVM echoes an unknown request) is a protocol failure */
	if ((resp & GHCB_MSR_INFO_MASK) != resp_code)
		gfw_terminate(c, GFW_TERM_MSR_RESPONSE);
	return resp;
}

_Noreturn void gfw_terminate(gfw_cpu_t *c, gfw_term_t reason)
{
	/*
	 * The MSR form works with or without a GHCB (OVMF SnpPageStateFailureTerminate,
	 * Linux sev_es_terminate). A #VC taken from here on only halts: no recursion.
	 */
	c->terminating = true;
	gfw_wrmsr(c, MSR_AMD64_SEV_ES_GHCB,
		  ghcb_msr_term_req(GFW_TERM_SET(reason), GFW_TERM_CODE(reason)));
	gfw_vmgexit(c);
	/* a hypervisor that resumes the guest after a termination request gets a halted vCPU */
	gfw_port_halt(c->port);
}

static void bitmap_set(uint8_t bm[GHCB_VALID_BITMAP_SIZE], uint32_t off)
{
	uint32_t bit = GHCB_BITMAP_IDX(off);
	bm[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

void gfw_nae_call(gfw_cpu_t *c, gfw_nae_t *nae)
{
	uint64_t ghcb = c->ghcb_gpa;
	uint8_t bm[GHCB_VALID_BITMAP_SIZE];
	gfw_memset(bm, 0, sizeof(bm));

	/* facts §4.2: the bitmap names exactly the fields of this request */
	gfw_write64(c, ghcb + GHCB_OFF_SW_EXITCODE, nae->exit_code, false);
	bitmap_set(bm, GHCB_OFF_SW_EXITCODE);
	gfw_write64(c, ghcb + GHCB_OFF_SW_EXITINFO1, nae->info1, false);
	bitmap_set(bm, GHCB_OFF_SW_EXITINFO1);
	gfw_write64(c, ghcb + GHCB_OFF_SW_EXITINFO2, nae->info2, false);
	bitmap_set(bm, GHCB_OFF_SW_EXITINFO2);
	if (nae->has_rax) {
		gfw_write64(c, ghcb + GHCB_OFF_RAX, nae->rax, false);
		bitmap_set(bm, GHCB_OFF_RAX);
	}
	if (nae->has_scratch) {
		gfw_write64(c, ghcb + GHCB_OFF_SW_SCRATCH, nae->scratch, false);
		bitmap_set(bm, GHCB_OFF_SW_SCRATCH);
	}
	gfw_write(c, ghcb + GHCB_OFF_VALID_BITMAP, bm, sizeof(bm), false);
	uint16_t version = c->g->proto;
	uint32_t usage = GHCB_DEFAULT_USAGE;
	gfw_write(c, ghcb + GHCB_OFF_PROTOCOL_VERSION, &version, sizeof(version), false);
	gfw_write(c, ghcb + GHCB_OFF_USAGE, &usage, sizeof(usage), false);

	/* Linux writes the GHCB GPA before every VMGEXIT: the MSR may hold a stale value */
	gfw_wrmsr(c, MSR_AMD64_SEV_ES_GHCB, ghcb);
	gfw_vmgexit(c);

	nae->info1 = gfw_read64(c, ghcb + GHCB_OFF_SW_EXITINFO1, false);
	nae->info2 = gfw_read64(c, ghcb + GHCB_OFF_SW_EXITINFO2, false);
}

void gfw_ioio_out8(gfw_cpu_t *c, uint16_t port, uint8_t value)
{
	/* Linux vc_ioio_exitinfo for OUT DX, AL: port in [31:16], 8-bit data, 64-bit addresses */
	gfw_nae_t nae = {
		.exit_code = SVM_EXIT_IOIO,
		.info1 = ((uint64_t)port << SVM_IOIO_PORT_SHIFT) | SVM_IOIO_SIZE8 | SVM_IOIO_ASZ64,
		.info2 = 0,
		.rax = value,
		.has_rax = true,
	};
	gfw_nae_call(c, &nae);
	/* facts §4.5: only SW_EXITINFO1[31:0] = 0 is success for a standard event */
	if ((uint32_t)nae.info1 != GHCB_HV_RESP_NO_ACTION)
		gfw_terminate(c, GFW_TERM_NAE_ERROR);
}
