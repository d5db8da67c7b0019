/* SPDX-License-Identifier: MIT */
/*
 * Configuration and boot: OVMF's SEC (detection, GHCB protocol negotiation,
 * GHCB set-up; OvmfPkg/Sec/AmdSev.c, ResetVector AmdSev.nasm.inc) and PEI
 * (pre-validation of system RAM; PlatformPei AmdSev.c and
 * BaseMemEncryptSevLib PeiSnpSystemRamValidate.c), with Linux's checks where
 * they are stricter (sev-shared.c, sev_es_negotiate_protocol, enforce_vmpl0).
 */
#include "gfw-private.h"

void gfw_policy_defaults(gfw_policy_t *p)
{
	gfw_memset(p, 0, sizeof(*p));
	p->use_2m = true;                   /* OVMF passes UseLargeEntry = TRUE for system RAM */
	p->batch = VMGEXIT_PSC_MAX_ENTRY;   /* OVMF PEI/DXE fill the shared buffer */
	p->msr_only = false;
	p->lazy = GFW_LAZY_NONE;
	p->evict_touch = true;              /* OVMF SevEvictCache */
	p->psc_retries = 16;
	p->bugs = GFW_BUG_NONE;
}

static bool range_ok(uint64_t gpa, uint64_t size)
{
	return size && gfw_aligned(gpa, SNP_PAGE_SIZE) && gfw_aligned(size, SNP_PAGE_SIZE) &&
	       gpa < GFW_MAX_GPA && size <= GFW_MAX_GPA - gpa;
}

static bool page_in_ram(const gfw_t *g, uint64_t gpa)
{
	return gfw_aligned(gpa, SNP_PAGE_SIZE) && gfw_range_is_ram(g, gpa, SNP_PAGE_SIZE);
}

bool gfw_init(gfw_t *g, const gfw_config_t *cfg)
{
	if (!g || !cfg)
		return false;
	gfw_memset(g, 0, sizeof(*g));
	gfw_memcpy(&g->cfg, cfg, sizeof(*cfg));
	const gfw_config_t *c = &g->cfg;
	if (c->nmem == 0 || c->nmem > GFW_MAX_MEM || c->nprevalidated > GFW_MAX_PREVALIDATED ||
	    c->nlazy > GFW_MAX_LAZY)
		return false;
	for (uint32_t i = 0; i < c->nmem; i++) {
		const gfw_mem_entry_t *e = &c->mem[i];
		if (!range_ok(e->gpa, e->size) || e->type < GFW_MEM_RAM || e->type > GFW_MEM_RESERVED)
			return false;
		if (i && e->gpa < c->mem[i - 1].gpa + c->mem[i - 1].size)
			return false; /* sorted, disjoint */
	}
	for (uint32_t i = 0; i < c->nprevalidated; i++)
		if (!range_ok(c->prevalidated[i].gpa, c->prevalidated[i].size) ||
		    !gfw_range_is_ram(g, c->prevalidated[i].gpa, c->prevalidated[i].size))
			return false;
	for (uint32_t i = 0; i < c->nlazy; i++)
		if (!range_ok(c->lazy[i].gpa, c->lazy[i].size))
			return false;
	if (!page_in_ram(g, c->ghcb_gpa[0]))
		return false;
	for (uint32_t i = 1; i < GFW_MAX_CPUS; i++) {
		if (c->ghcb_gpa[i] && !page_in_ram(g, c->ghcb_gpa[i]))
			return false;
		for (uint32_t k = 0; k < i; k++)
			if (c->ghcb_gpa[i] && c->ghcb_gpa[i] == c->ghcb_gpa[k])
				return false; /* one GHCB per vCPU */
	}
	if (c->cpuid_page_gpa && !page_in_ram(g, c->cpuid_page_gpa))
		return false;
	if (c->secrets_page_gpa && !page_in_ram(g, c->secrets_page_gpa))
		return false;
	if (c->vmsa_pool_pages &&
	    (!range_ok(c->vmsa_pool_gpa, (uint64_t)c->vmsa_pool_pages * SNP_PAGE_SIZE) ||
	     !gfw_range_is_ram(g, c->vmsa_pool_gpa,
			       (uint64_t)c->vmsa_pool_pages * SNP_PAGE_SIZE)))
		return false;
	if (c->policy.batch == 0 || c->policy.batch > VMGEXIT_PSC_MAX_ENTRY ||
	    c->policy.lazy > GFW_LAZY_RANGES)
		return false;
	return gfw_bitmap_init(g);
}

void gfw_cpu_init(gfw_cpu_t *c, gfw_t *g, gfw_port_t *port, uint32_t id)
{
	gfw_memset(c, 0, sizeof(*c));
	c->g = g;
	c->port = port;
	c->id = id < GFW_MAX_CPUS ? id : GFW_MAX_CPUS - 1;
	c->apic_id = id;
	c->ghcb_gpa = g->cfg.ghcb_gpa[c->id];
}

/* ------------------------------------------------------------------ SEC */

static void detect_snp(gfw_cpu_t *c)
{
	/* SEV_STATUS is read-only and never intercepted: the one thing the HV cannot fake */
	uint64_t status = gfw_rdmsr(c, MSR_AMD64_SEV);
	if (!(status & MSR_AMD64_SEV_SNP_ENABLED))
		gfw_terminate(c, GFW_TERM_SNP_UNSUPPORTED);
	if (c->id == 0) {
		c->g->sev_status = status;
		c->g->sev_snp = true;
	}
}

static void negotiate_protocol(gfw_cpu_t *c)
{
	uint64_t info = gfw_msr_protocol(c, GHCB_MSR_SEV_INFO_REQ, GHCB_MSR_SEV_INFO_RESP);
	uint16_t max = GHCB_MSR_PROTO_MAX(info), min = GHCB_MSR_PROTO_MIN(info);
	/* OVMF SevEsProtocolCheck, Linux sev_es_negotiate_protocol: SNP needs version 2 */
	if (min > max || min > GHCB_PROTOCOL_SNP || max < GHCB_PROTOCOL_SNP)
		gfw_terminate(c, GFW_TERM_PROTOCOL);
	c->g->proto = GHCB_PROTOCOL_SNP;

	uint64_t ft = gfw_msr_protocol(c, GHCB_MSR_HV_FT_REQ, GHCB_MSR_HV_FT_RESP);
	uint64_t features = ft >> GHCB_DATA_SHIFT;
	/* Linux snp_check_features: no SNP bit, term 0/2 */
	if (!(features & GHCB_HV_FT_SNP))
		gfw_terminate(c, GFW_TERM_SNP_UNSUPPORTED);
	c->g->hv_features = features;
}

/* A private page the launch validated: the CPUID page, else the first launch page. */
static uint64_t known_private_page(const gfw_t *g)
{
	if (g->cfg.cpuid_page_gpa && gfw_in_prevalidated(g, g->cfg.cpuid_page_gpa))
		return g->cfg.cpuid_page_gpa;
	for (uint32_t i = 0; i < g->cfg.nprevalidated; i++)
		for (uint64_t a = g->cfg.prevalidated[i].gpa;
		     a < g->cfg.prevalidated[i].gpa + g->cfg.prevalidated[i].size;
		     a += SNP_PAGE_SIZE)
			if (!gfw_range_has_ghcb(g, a, a + SNP_PAGE_SIZE))
				return a;
	return 0;
}

static void check_vmpl0(gfw_cpu_t *c)
{
	/*
	 * Linux enforce_vmpl0 / OVMF: RMPADJUST(target VMPL1, no permissions, 4K)
	 * succeeds only at VMPL0 (facts §2.3). Without any known-private page there
	 * is nothing to test against and the test is skipped.
	 */
	uint64_t page = known_private_page(c->g);
	if (page && gfw_rmpadjust(c, page, false, 1u) != SNP_RET_SUCCESS)
		gfw_terminate(c, GFW_TERM_NOT_VMPL0);
}

static void check_launch_pages(gfw_cpu_t *c)
{
	gfw_t *g = c->g;
	if (g->cfg.cpuid_page_gpa) {
		gfw_cpuid_check_table(c);
		uint32_t r[4];
		/* OVMF reset vector records COHERENCY_SFW_NO for SevEvictCache (facts §7.4) */
		if (gfw_cpuid(c, CPUID_FN_SEV, 0, r))
			g->coherency_sfw_no = (r[1] & CPUID_SEV_EBX_COHERENCY_SFW_NO) != 0;
	}
	if (g->cfg.secrets_page_gpa) {
		/*
		 * The SNP firmware fills VMPCK0; a page of zeros was not written by it
		 * (Linux sev-guest is_vmpck_empty() refuses such a key).
		 */
		uint8_t key[SNP_VMPCK_LEN];
		uint8_t any = 0;
		gfw_read(c, g->cfg.secrets_page_gpa + __builtin_offsetof(struct snp_secrets_page, vmpck),
			 key, sizeof(key), true);
		for (uint32_t i = 0; i < sizeof(key); i++)
			any |= key[i];
		if (!any)
			gfw_terminate(c, GFW_TERM_SECRETS);
	}
}

/* Make one GHCB page shared: rescind if the launch validated it, then MSR PSC shared. */
static void ghcb_make_shared(gfw_cpu_t *c, uint64_t ghcb)
{
	/* facts §7.1 order: rescind first; CF=1 here is fatal like anywhere else */
	if (gfw_in_prevalidated(c->g, ghcb)) {
		gfw_pvalidate(c, ghcb, false, false);
		gfw_note(c, GFW_NOTE_RESCINDED, 0, ghcb, 1);
	}
	/*
	 * Linux converts its boot GHCB with an MSR PSC even when it may already be
	 * shared; the hypervisor's view is not trusted to match OVMF's layout.
	 */
	gfw_psc_msr(c, ghcb, SNP_PAGE_STATE_SHARED);
	gfw_note(c, GFW_NOTE_PSC_DONE, SNP_PAGE_STATE_SHARED, ghcb, 1);
}

static void ghcb_register(gfw_cpu_t *c)
{
	uint64_t gfn = c->ghcb_gpa >> SNP_PAGE_SHIFT;
	uint64_t resp = gfw_msr_protocol(c, ghcb_msr_gfn_val(gfn, GHCB_MSR_REG_GPA_REQ),
					 GHCB_MSR_REG_GPA_RESP);
	/* Linux snp_register_ghcb_early: the response must echo the GFN (term 1/0) */
	if (GHCB_MSR_GFN(resp) != gfn)
		gfw_terminate(c, GFW_TERM_REGISTER);
	/* OVMF SEC clears the GHCB before first use */
	uint8_t zero[256];
	gfw_memset(zero, 0, sizeof(zero));
	for (uint32_t off = 0; off < GHCB_PAGE_SIZE; off += sizeof(zero))
		gfw_write(c, c->ghcb_gpa + off, zero, sizeof(zero), false);
	gfw_wrmsr(c, MSR_AMD64_SEV_ES_GHCB, c->ghcb_gpa);
	c->ghcb_ready = true;
}

void gfw_boot(gfw_cpu_t *c)
{
	gfw_t *g = c->g;
	bool bsp = c->id == 0;
	if (c->ghcb_ready)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST); /* booted twice */
	if (!c->ghcb_gpa)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST); /* an AP without a GHCB */
	gfw_note(c, GFW_NOTE_PHASE, GFW_PHASE_SEC, 0, 0);
	detect_snp(c);
	negotiate_protocol(c);
	if (bsp) {
		check_vmpl0(c);
		check_launch_pages(c);
		/* all GHCBs are made shared by the BSP, before any AP registers its own */
		for (uint32_t i = 0; i < GFW_MAX_CPUS; i++)
			if (g->cfg.ghcb_gpa[i])
				ghcb_make_shared(c, g->cfg.ghcb_gpa[i]);
	}
	ghcb_register(c);
	if (bsp) {
		gfw_note(c, GFW_NOTE_PHASE, GFW_PHASE_PEI, 0, 0);
		gfw_prevalidate_ram(c);
	}
	gfw_note(c, GFW_NOTE_PHASE, GFW_PHASE_DXE, 0, 0);
}
