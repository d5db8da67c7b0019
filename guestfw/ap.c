/* SPDX-License-Identifier: MIT */
/*
 * AP creation and destruction through the SNP AP-creation NAE event
 * (0x8000_0013, facts §5.2), as Linux wakeup_cpu_via_vmgexit() does it:
 *   1. take a VMSA page (private, validated) that is not 2 MiB aligned (KVM
 *      rejects those: the SNP erratum on a 2M page colliding with a VMSA);
 *   2. zero it and write the INIT state below;
 *   3. RMPADJUST(target VMPL1, no permissions, VMSA bit) at VMPL0 (facts §2.3);
 *   4. VMGEXIT AP_CREATE with EXITINFO1 = APIC ID << 32 | VMPL 0 << 16 | 1,
 *      EXITINFO2 = VMSA GPA, RAX = SEV_FEATURES (KVM requires them to equal the
 *      guest's own).
 * Destruction: AP_DESTROY, then RMPADJUST without the VMSA bit (Linux
 * snp_cleanup_vmsa). VMSA pages are not reused: the pool is a bump allocator.
 *
 * The VMSA written (offsets in snp/vmsa.h), everything else zero:
 *   ES/SS/DS/FS/GS selector 0, INIT_DS_ATTRIBS, limit 0xFFFF;
 *   CS selector 0xF000, base 0xFFFF0000, INIT_CS_ATTRIBS, limit 0xFFFF; RIP 0xFFF0
 *   (the reset vector: the AP starts where the BSP did);
 *   GDTR/IDTR limit 0xFFFF; LDTR and TR with their INIT attributes, limit 0xFFFF;
 *   EFER = SVME; CR0 = 0x60000010; DR6 = 0xFFFF0FF0; DR7 = 0x400; RFLAGS = 2;
 *   XCR0 = 1; G_PAT = 0x0007040600070406; MXCSR = 0x1F80; x87 FTW 0x5555, FCW 0x40;
 *   VMPL = 0; SEV_FEATURES = SEV_STATUS >> 2.
 */
#include "gfw-private.h"
#include "snp/vmsa.h"

static void put16(gfw_cpu_t *c, uint64_t a, uint16_t v)
{
	gfw_write(c, a, &v, sizeof(v), true);
}

static void put32(gfw_cpu_t *c, uint64_t a, uint32_t v)
{
	gfw_write(c, a, &v, sizeof(v), true);
}

static void put64(gfw_cpu_t *c, uint64_t a, uint64_t v)
{
	gfw_write64(c, a, v, true);
}

static void put_seg(gfw_cpu_t *c, uint64_t vmsa, uint32_t off, uint16_t sel, uint16_t attrib,
		    uint32_t limit, uint64_t base)
{
	uint8_t seg[VMSA_SEG_SIZE];
	gfw_memcpy(seg + VMSA_SEG_SELECTOR, &sel, sizeof(sel));
	gfw_memcpy(seg + VMSA_SEG_ATTRIB, &attrib, sizeof(attrib));
	gfw_memcpy(seg + VMSA_SEG_LIMIT, &limit, sizeof(limit));
	gfw_memcpy(seg + VMSA_SEG_BASE, &base, sizeof(base));
	gfw_write(c, vmsa + off, seg, sizeof(seg), true);
}

static uint64_t sev_features(const gfw_t *g)
{
	return g->sev_status >> SEV_STATUS_TO_SEV_FEATURES_SHIFT;
}

static void write_vmsa(gfw_cpu_t *c, uint64_t vmsa)
{
	uint8_t zero[256];
	gfw_memset(zero, 0, sizeof(zero));
	for (uint32_t off = 0; off < VMSA_PAGE_SIZE; off += sizeof(zero))
		gfw_write(c, vmsa + off, zero, sizeof(zero), true);

	static const uint32_t data_segs[] = {VMSA_OFF_ES, VMSA_OFF_SS, VMSA_OFF_DS, VMSA_OFF_FS,
					     VMSA_OFF_GS};
	for (uint32_t i = 0; i < sizeof(data_segs) / sizeof(data_segs[0]); i++)
		put_seg(c, vmsa, data_segs[i], 0, INIT_DS_ATTRIBS, AP_INIT_DS_LIMIT, 0);
	put_seg(c, vmsa, VMSA_OFF_CS, AP_RESET_CS_SELECTOR, INIT_CS_ATTRIBS, AP_INIT_CS_LIMIT,
		AP_RESET_CS_BASE);
	put_seg(c, vmsa, VMSA_OFF_GDTR, 0, 0, AP_INIT_GDTR_LIMIT, 0);
	put_seg(c, vmsa, VMSA_OFF_IDTR, 0, 0, AP_INIT_IDTR_LIMIT, 0);
	put_seg(c, vmsa, VMSA_OFF_LDTR, 0, INIT_LDTR_ATTRIBS, AP_INIT_LDTR_LIMIT, 0);
	put_seg(c, vmsa, VMSA_OFF_TR, 0, INIT_TR_ATTRIBS, AP_INIT_TR_LIMIT, 0);
	put64(c, vmsa + VMSA_OFF_EFER, EFER_SVME);
	put64(c, vmsa + VMSA_OFF_CR0, AP_INIT_CR0_DEFAULT);
	put64(c, vmsa + VMSA_OFF_DR6, AP_INIT_DR6_DEFAULT);
	put64(c, vmsa + VMSA_OFF_DR7, AP_INIT_DR7_DEFAULT);
	put64(c, vmsa + VMSA_OFF_RFLAGS, AP_INIT_RFLAGS_DEFAULT);
	put64(c, vmsa + VMSA_OFF_RIP, AP_RESET_RIP);
	put64(c, vmsa + VMSA_OFF_XCR0, AP_INIT_XCR0_DEFAULT);
	put64(c, vmsa + VMSA_OFF_G_PAT, AP_INIT_GPAT_DEFAULT);
	put32(c, vmsa + VMSA_OFF_MXCSR, AP_INIT_MXCSR_DEFAULT);
	put16(c, vmsa + VMSA_OFF_X87_FTW, AP_INIT_X87_FTW_DEFAULT);
	put16(c, vmsa + VMSA_OFF_X87_FCW, AP_INIT_X87_FCW_DEFAULT);
	put64(c, vmsa + VMSA_OFF_SEV_FEATURES, sev_features(c->g));
}

static struct gfw_ap *find_ap(gfw_t *g, uint32_t apic_id)
{
	for (uint32_t i = 0; i < GFW_MAX_CPUS; i++)
		if (g->aps[i].active && g->aps[i].apic_id == apic_id)
			return &g->aps[i];
	return NULL;
}

static void ap_nae(gfw_cpu_t *c, uint32_t apic_id, uint32_t req, uint64_t vmsa)
{
	gfw_nae_t nae = {
		.exit_code = SVM_VMGEXIT_AP_CREATION,
		.info1 = svm_vmgexit_ap_info(apic_id, 0, req),
		.info2 = vmsa,
		.rax = sev_features(c->g),
		.has_rax = req != SVM_VMGEXIT_AP_DESTROY,
	};
	gfw_nae_call(c, &nae);
	if ((uint32_t)nae.info1 != GHCB_HV_RESP_NO_ACTION)
		gfw_terminate(c, GFW_TERM_AP_CREATE);
}

void gfw_create_ap(gfw_cpu_t *c, uint32_t apic_id)
{
	gfw_t *g = c->g;
	if (!c->ghcb_ready || find_ap(g, apic_id) || apic_id == c->apic_id)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	/* Linux: no AP creation feature, no AP creation (it falls back to INIT-SIPI) */
	if (!(g->hv_features & GHCB_HV_FT_SNP_AP_CREATION))
		gfw_terminate(c, GFW_TERM_AP_CREATE);
	struct gfw_ap *slot = NULL;
	for (uint32_t i = 0; i < GFW_MAX_CPUS && !slot; i++)
		if (!g->aps[i].active)
			slot = &g->aps[i];
	uint64_t vmsa = 0;
	while (!vmsa && g->vmsa_next < g->cfg.vmsa_pool_pages) {
		uint64_t p = g->cfg.vmsa_pool_gpa + (uint64_t)g->vmsa_next++ * SNP_PAGE_SIZE;
		if (!gfw_aligned(p, SNP_PAGE_2M_SIZE))
			vmsa = p;
	}
	if (!slot || !vmsa)
		gfw_terminate(c, GFW_TERM_AP_CREATE);

	write_vmsa(c, vmsa);
	if (gfw_rmpadjust(c, vmsa, false, 1u | RMPADJUST_VMSA_PAGE_BIT) != SNP_RET_SUCCESS)
		gfw_terminate(c, GFW_TERM_AP_CREATE);
	ap_nae(c, apic_id, SVM_VMGEXIT_AP_CREATE, vmsa);
	slot->apic_id = apic_id;
	slot->vmsa_gpa = vmsa;
	slot->active = 1;
}

void gfw_destroy_ap(gfw_cpu_t *c, uint32_t apic_id)
{
	struct gfw_ap *ap = find_ap(c->g, apic_id);
	if (!c->ghcb_ready || !ap)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	ap_nae(c, apic_id, SVM_VMGEXIT_AP_DESTROY, ap->vmsa_gpa);
	/* the page stops being a VMSA before it is anything else (Linux snp_cleanup_vmsa) */
	if (gfw_rmpadjust(c, ap->vmsa_gpa, false, 1u) != SNP_RET_SUCCESS)
		gfw_terminate(c, GFW_TERM_AP_CREATE);
	ap->active = 0;
}
