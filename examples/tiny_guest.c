/* SPDX-License-Identifier: MIT */
/*
 * A tiny foreign guest for libsnpsim, written against the public header only.
 *
 * It does what early SNP boot code does for one page, with the MSR protocol:
 * check SEV_STATUS, read the SEV information, ask the hypervisor to make one
 * page private, PVALIDATE it, use it, then give it back (rescind first, then
 * make it shared). With --double it validates the page twice, and snpsim's
 * invariant checker reports the double validation.
 *
 *   cc tiny_guest.c $(pkg-config --cflags --libs snpsim) -o tiny_guest
 *   ./tiny_guest [--double] [--trace FILE] [SCENARIO]
 */
#include <snpsim.h>
#include <stdio.h>
#include <string.h>

#define PAGE_GPA 0x3000000ull /* RAM in the default scenario, not yet private */

struct guest {
	int double_validate;
	int failed; /* the guest's own view: a protocol step went wrong */
};

/* One MSR-protocol exchange: request in the GHCB MSR, VMGEXIT, response back. */
static uint64_t msr_exchange(gfw_port_t *p, uint64_t request)
{
	gfw_port_wrmsr(p, MSR_AMD64_SEV_ES_GHCB, request);
	gfw_port_vmgexit(p);
	return gfw_port_rdmsr(p, MSR_AMD64_SEV_ES_GHCB);
}

static int page_state(gfw_port_t *p, uint64_t gpa, uint32_t op)
{
	uint64_t resp = msr_exchange(p, ghcb_msr_psc_req(gpa >> 12, op));
	return (resp & GHCB_MSR_INFO_MASK) == GHCB_MSR_PSC_RESP && GHCB_MSR_PSC_RESP_VAL(resp) == 0;
}

static void guest(gfw_port_t *p, void *arg)
{
	struct guest *g = arg;
	uint32_t cf = 0;
	if (!(gfw_port_rdmsr(p, MSR_AMD64_SEV) & MSR_AMD64_SEV_SNP_ENABLED)) {
		g->failed = 1;
		return;
	}
	uint64_t info = msr_exchange(p, GHCB_MSR_SEV_INFO_REQ);
	if ((info & GHCB_MSR_INFO_MASK) != GHCB_MSR_SEV_INFO_RESP ||
	    GHCB_MSR_PROTO_MAX(info) < GHCB_PROTOCOL_SNP) {
		g->failed = 1;
		return;
	}
	/* shared -> private: PSC first, then validate (never the other way round) */
	if (!page_state(p, PAGE_GPA, SNP_PAGE_STATE_PRIVATE) ||
	    gfw_port_pvalidate(p, PAGE_GPA, RMP_PG_SIZE_4K, 1, &cf) != 0 || cf) {
		g->failed = 1;
		return;
	}
	if (g->double_validate) /* the bug: CF=1 comes back, and is ignored */
		gfw_port_pvalidate(p, PAGE_GPA, RMP_PG_SIZE_4K, 1, &cf);
	uint64_t v = 0x5eed, back = 0;
	gfw_port_write(p, PAGE_GPA, &v, sizeof(v), true);
	gfw_port_read(p, PAGE_GPA, &back, sizeof(back), true);
	if (back != v)
		g->failed = 1;
	/* private -> shared: rescind first, then PSC */
	if (gfw_port_pvalidate(p, PAGE_GPA, RMP_PG_SIZE_4K, 0, &cf) != 0 || cf ||
	    !page_state(p, PAGE_GPA, SNP_PAGE_STATE_SHARED))
		g->failed = 1;
}

int main(int argc, char **argv)
{
	struct guest g = {0};
	snpsim_options_t opts = {0};
	const char *scenario = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--double") == 0)
			g.double_validate = 1;
		else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
			opts.trace_path = argv[++i];
		else
			scenario = argv[i];
	}
	char *err = NULL;
	snpsim_t *s = snpsim_new(scenario, &opts, &err);
	if (!s) {
		fprintf(stderr, "tiny_guest: %s\n", err);
		snpsim_free_string(err);
		return 2;
	}
	snpsim_run(s, guest, &g);
	printf("tiny_guest: outcome %s, %llu invariant violation(s), guest %s\n",
	       snpsim_outcome(s), (unsigned long long)snpsim_violations(s),
	       g.failed ? "saw a failure" : "ok");
	int rc = strcmp(snpsim_outcome(s), "completed") == 0 && !g.failed &&
			 snpsim_violations(s) == 0 && !snpsim_trace_error(s)
		 ? 0
		 : 1;
	snpsim_free(s);
	return rc;
}
