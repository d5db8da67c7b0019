/* SPDX-License-Identifier: MIT */
/*
 * Page State Change: the descriptor (facts §6.2-6.4), the GHCB loop with every
 * check Linux makes after each VMGEXIT plus the two it does not (end_entry
 * changed at all, no progress within a bound; facts §6.6), and the one-page MSR
 * protocol form (§6.7).
 *
 * The request is built in c->psc, guestfw's private memory, and copied into the
 * shared buffer once. The copy the hypervisor sees is never read back except
 * for the header (progress) and the current entry's cur_page (partial 2M
 * progress); PVALIDATE later uses c->psc (validate.c).
 */
#include "gfw-private.h"

uint32_t gfw_psc_build(gfw_cpu_t *c, uint64_t gpa, uint64_t end, uint32_t op, uint64_t *next)
{
	const gfw_policy_t *pol = &c->g->cfg.policy;
	uint32_t max = pol->batch;
	if (max == 0 || max > VMGEXIT_PSC_MAX_ENTRY)
		max = VMGEXIT_PSC_MAX_ENTRY;
	gfw_memset(&c->psc, 0, sizeof(c->psc));
	uint32_t n = 0;
	/* Linux __set_pages_state, OVMF BuildPageStateBuffer: 2M where aligned and 2M remain */
	while (gpa < end && n < max) {
		bool big = pol->use_2m && gfw_aligned(gpa, SNP_PAGE_2M_SIZE) &&
			   end - gpa >= SNP_PAGE_2M_SIZE;
		c->psc.entries[n++] = psc_entry(gpa >> SNP_PAGE_SHIFT, op, big ? 1u : 0u, 0);
		gpa += big ? SNP_PAGE_2M_SIZE : SNP_PAGE_SIZE;
	}
	c->psc.hdr.cur_entry = 0;
	c->psc.hdr.end_entry = (uint16_t)(n - 1);
	*next = gpa;
	return n;
}

/* How far the entry at index i has been processed, as the hypervisor reports it. */
static uint32_t shared_cur_page(gfw_cpu_t *c, uint64_t buf, uint32_t i)
{
	uint64_t e = gfw_read64(c, buf + sizeof(struct psc_hdr) + (uint64_t)i * 8u, false);
	return PSC_ENTRY_CUR_PAGE(e);
}

/*
 * Before a re-issue, put the guest's own request back into the shared buffer:
 * every entry still to do gets its GFN, size and operation from the private
 * copy again; only the progress the hypervisor reported (each entry's cur_page,
 * and cur_entry, checked above) is kept. The buffer is shared memory: a
 * hypervisor that rewrote the entries it had not processed yet would otherwise
 * be "asked" by the re-issue to convert pages the guest never requested, while
 * the guest goes on to validate its own (a fuzz finding:
 * tests/fuzz/findings/psc-reissue-rewritten-buffer.json). Linux vmgexit_psc
 * re-issues the buffer as the hypervisor left it.
 */
static void psc_reassert(gfw_cpu_t *c, uint64_t buf, uint32_t cur, uint32_t end)
{
	uint64_t shared[VMGEXIT_PSC_MAX_ENTRY];
	uint64_t at = buf + sizeof(struct psc_hdr) + (uint64_t)cur * 8u;
	uint32_t len = (end - cur + 1) * 8u;
	bool differ = false;
	gfw_read(c, at, shared, len, false);
	for (uint32_t i = cur; i <= end; i++) {
		uint64_t mine = (c->psc.entries[i] & ~PSC_ENTRY_CUR_PAGE_MASK) |
				(shared[i - cur] & PSC_ENTRY_CUR_PAGE_MASK);
		differ |= mine != shared[i - cur];
		shared[i - cur] = mine;
	}
	if (differ)
		gfw_write(c, at, shared, len, false);
}

void gfw_psc_ghcb(gfw_cpu_t *c, uint32_t n)
{
	uint64_t buf = c->ghcb_gpa + GHCB_OFF_SHARED_BUFFER;
	uint32_t retries = c->g->cfg.policy.psc_retries;
	gfw_write(c, buf, &c->psc, (uint32_t)(sizeof(struct psc_hdr) + (uint64_t)n * 8u), false);

	const uint16_t end = c->psc.hdr.end_entry; /* the guest's own copy, never re-read */
	uint32_t cur = c->psc.hdr.cur_entry;
	uint32_t cur_page_seen = 0; /* highest cur_page seen for entry `cur`: partial 2M progress */
	uint32_t stalls = 0;

	/* facts §6.6: repeat while cur_entry <= end_entry; the HV may return early */
	for (bool reissue = false; cur <= end; reissue = true) {
		if (reissue)
			psc_reassert(c, buf, cur, end);
		gfw_nae_t nae = {
			.exit_code = SVM_VMGEXIT_PSC,
			.info1 = 0,
			.info2 = 0,
			.scratch = buf,
			.has_scratch = true,
		};
		gfw_nae_call(c, &nae);
		/* Linux vmgexit_psc: "ret || ghcb->save.sw_exit_info_2" fails */
		if (nae.info1 != 0 || nae.info2 != 0)
			gfw_terminate(c, GFW_TERM_PSC);

		struct psc_hdr h;
		gfw_read(c, buf, &h, sizeof(h), false);
		/* Linux: "Reserved bit is set in the PSC header" */
		if (h.reserved != 0)
			gfw_terminate(c, GFW_TERM_PSC_RESERVED);
		/*
		 * Linux only rejects end_entry growing; any change is a hypervisor
		 * rewriting the request, and a shrunk end would end the loop early
		 * with entries unprocessed, so guestfw rejects both.
		 */
		if (h.end_entry != end)
			gfw_terminate(c, GFW_TERM_PSC_END_CHANGED);
		if (h.cur_entry < cur) {
			/* OVMF PageStateChangeVmgExit had no such check: it loops on */
			if (!gfw_bug(c, GFW_BUG_NO_BACKWARDS_CHECK))
				gfw_terminate(c, GFW_TERM_PSC_BACKWARDS);
		}

		/*
		 * Progress: cur_entry advanced, or the current (2M) entry's cur_page
		 * rose above anything seen so far within its 512 pages. Neither Linux
		 * nor OVMF bounds this loop (facts §6.6); guestfw gives up after
		 * policy.psc_retries exits in a row without progress.
		 */
		bool progress = false;
		if (h.cur_entry > cur) {
			progress = true;
			cur_page_seen = 0;
		} else if (h.cur_entry == cur && cur <= end) {
			uint32_t cp = shared_cur_page(c, buf, cur);
			uint32_t npages = PSC_ENTRY_2M(c->psc.entries[cur]) ? SNP_PAGES_PER_2M : 1u;
			if (cp > cur_page_seen && cp <= npages) {
				progress = true;
				cur_page_seen = cp;
			}
		} else {
			cur_page_seen = 0; /* moved back (bug policy): start counting that entry anew */
		}
		if (progress)
			stalls = 0;
		else if (++stalls > retries)
			gfw_terminate(c, GFW_TERM_PSC_NO_PROGRESS);
		cur = h.cur_entry;
	}
}

void gfw_psc_msr(gfw_cpu_t *c, uint64_t gpa, uint32_t op)
{
	uint64_t resp = gfw_msr_protocol(c, ghcb_msr_psc_req(gpa >> SNP_PAGE_SHIFT, op),
					 GHCB_MSR_PSC_RESP);
	/* Linux __page_state_change: GHCBData[63:32] must be 0 */
	if (GHCB_MSR_PSC_RESP_VAL(resp) != 0)
		gfw_terminate(c, GFW_TERM_PSC);
}
