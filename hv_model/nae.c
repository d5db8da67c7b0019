/* SPDX-License-Identifier: MIT */
/*
 * NAE events (facts §5): one row per SW_EXITCODE the hypervisor answers, with
 * the GHCB fields it requires (KVM's sev_es_validate_vmgexit list) and its
 * handler. An exit code without a row is answered GHCB_ERR_INVALID_EVENT, the
 * "unsupported" answer of facts §5.3; that includes the guest requests
 * (0x8000_0011/12), which need the SNP firmware's message crypto, not modeled.
 *
 * Handlers read only the snapshot's copies (g->in, g->rax ...) and answer in
 * g->rax..rdx, g->info1/info2 and the snapshot's scratch area.
 */
#include "hv-private.h"

#define F(x) HVF(HVF_##x)

/* SW_EXITINFO1 = 1: the guest raises #GP (facts §4.5), as KVM's MSR emulation answers it */
static void inject_gp(hv_ghcb_t *g)
{
	g->info1 = GHCB_HV_RESP_ISSUE_EXCEPTION;
	g->info2 = X86_TRAP_GP | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID;
}

/* ------------------------------------------------------------------ CPUID */

/* leaves whose ECX input selects a subleaf (facts §9.1, Linux snp_cpuid) */
static bool cpuid_indexed(uint32_t leaf)
{
	static const uint32_t idx[] = {0x4,  0x7,  0xB,  0xD,  0xF,  0x10, 0x12,      0x14,
				       0x17, 0x18, 0x1D, 0x1E, 0x1F, 0x24, 0x8000001D};
	for (size_t i = 0; i < G_N_ELEMENTS(idx); i++)
		if (idx[i] == leaf)
			return true;
	return false;
}

/*
 * The hypervisor's CPUID answer from cfg->cpuid: leaf, subleaf for indexed
 * leaves, and for leaf 0xD subleaves 0/1 preferably the entry for this XCR0.
 * A leaf not in the table reads as zeros (AMD: leaves out of range are zero).
 */
void hv_cpuid_lookup(const hv_t *hv, uint32_t leaf, uint32_t subleaf, uint64_t xcr0,
		     uint32_t out[4])
{
	const struct snp_cpuid_fn *best = NULL;
	memset(out, 0, 4 * sizeof(out[0]));
	for (size_t i = 0; i < hv->ncpuid; i++) {
		const struct snp_cpuid_fn *fn = &hv->cpuid[i];
		if (fn->eax_in != leaf || (cpuid_indexed(leaf) && fn->ecx_in != subleaf))
			continue;
		if (leaf == 0xD && subleaf <= 1 && fn->xcr0_in != xcr0) {
			if (!best)
				best = fn;
			continue;
		}
		best = fn;
		break;
	}
	if (best) {
		out[0] = best->eax;
		out[1] = best->ebx;
		out[2] = best->ecx;
		out[3] = best->edx;
	}
}

/* 0x72: RAX leaf, RCX subleaf, XCR0 for leaf 0xD (KVM requires it when RAX = 0xD) */
static uint32_t cpuid_extra(const hv_ghcb_t *g)
{
	return g->in[HVF_RAX] == 0xD ? F(XCR0) : 0;
}

static hv_exit_action_t nae_cpuid(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	uint32_t out[4];
	uint64_t xcr0 = (g->present & F(XCR0)) ? g->in[HVF_XCR0] : 1;
	hv_cpuid_lookup(hv, (uint32_t)g->rax, (uint32_t)g->rcx, xcr0, out);
	g->rax = out[0];
	g->rbx = out[1];
	g->rcx = out[2];
	g->rdx = out[3];
	return HV_RESUME;
}

/* ------------------------------------------------------------------ MSR */

/* 0x7C: RCX; SW_EXITINFO1 nonzero is a write (KVM) and needs RAX and RDX */
static uint32_t msr_extra(const hv_ghcb_t *g)
{
	return g->in[HVF_EXITINFO1] ? F(RAX) | F(RDX) : 0;
}

static hv_exit_action_t nae_msr(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	uint32_t msr = (uint32_t)g->rcx;
	gpointer val;
	/* an MSR the store does not hold: #GP, as KVM answers unknown MSRs */
	if (!g_hash_table_lookup_extended(hv->msrs, HV_KEY(msr), NULL, &val)) {
		inject_gp(g);
		return HV_RESUME;
	}
	if (g->in[HVF_EXITINFO1] == 0) {
		g->rax = (uint32_t)HV_UNKEY(val);
		g->rdx = HV_UNKEY(val) >> 32;
	} else {
		uint64_t nv = ((g->rdx & 0xFFFFFFFFull) << 32) | (g->rax & 0xFFFFFFFFull);
		g_hash_table_insert(hv->msrs, HV_KEY(msr), HV_KEY(nv));
	}
	return HV_RESUME;
}

/* ------------------------------------------------------------------ IOIO */

/* 0x7B: string I/O needs SW_SCRATCH, a plain OUT needs RAX (KVM) */
static uint32_t ioio_extra(const hv_ghcb_t *g)
{
	uint64_t info = g->in[HVF_EXITINFO1];
	if (info & SVM_IOIO_STR)
		return F(SCRATCH);
	return (info & SVM_IOIO_TYPE_IN) ? 0 : F(RAX);
}

/*
 * SW_EXITINFO1 (facts §5.1): [0] IN, [2] string, [3] REP, [6:4] operand size,
 * [31:16] port; string I/O moves SW_EXITINFO2 elements through the scratch area.
 */
static hv_exit_action_t nae_ioio(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	uint64_t info = g->in[HVF_EXITINFO1];
	uint32_t port = (uint32_t)((info & SVM_IOIO_PORT_MASK) >> SVM_IOIO_PORT_SHIFT);
	uint32_t size = (uint32_t)((info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT);
	bool in = info & SVM_IOIO_TYPE_IN;
	if (size == 0) /* KVM: no operand size, nothing to do */
		return HV_RESUME;
	if (size != 1 && size != 2 && size != 4) { /* two size bits: snpsim refuses */
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
		return HV_RESUME;
	}
	if (info & SVM_IOIO_STR) {
		uint64_t count = g->in[HVF_EXITINFO2];
		if (count == 0)
			return HV_RESUME;
		/* more elements than the shared buffer holds bytes cannot fit (and no overflow) */
		if (count > GHCB_SHARED_BUFFER_SIZE || !hv_scratch(g, count * size)) {
			hv_bad_input(g, GHCB_ERR_INVALID_SCRATCH_AREA);
			return HV_RESUME;
		}
		uint8_t *buf = g->page + g->scratch_off;
		for (uint64_t i = 0; i < count; i++) {
			uint64_t val = 0;
			if (in) {
				val = hv_dev_read(hv, HV_DEV_PIO, port, size);
				memcpy(buf + i * size, &val, size);
			} else {
				memcpy(&val, buf + i * size, size);
				hv_dev_write(hv, HV_DEV_PIO, port, size, val);
			}
		}
		return HV_RESUME;
	}
	uint64_t mask = hv_size_mask(size);
	if (in) {
		uint64_t val = hv_dev_read(hv, HV_DEV_PIO, port, size);
		/* as KVM's complete_fast_pio_in: a 32-bit IN zero-extends, narrower ones merge */
		g->rax = size == 4 ? val : (g->rax & ~mask) | val;
	} else {
		hv_dev_write(hv, HV_DEV_PIO, port, size, g->rax & mask);
	}
	return HV_RESUME;
}

/* ------------------------------------------------------------------ MMIO */

/*
 * 0x8000_0001/2: SW_EXITINFO1 = GPA, SW_EXITINFO2 = length, data in the scratch
 * area. Length 0 is nothing to do and more than 8 is INVALID_INPUT (KVM); a
 * length that is not a power of two is INVALID_INPUT too (snpsim: the device
 * interface takes 1, 2, 4 or 8 bytes).
 */
static hv_exit_action_t nae_mmio(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	bool write = g->in[HVF_EXITCODE] == SVM_VMGEXIT_MMIO_WRITE;
	uint64_t gpa = g->in[HVF_EXITINFO1];
	uint64_t len = g->in[HVF_EXITINFO2];
	if (len == 0)
		return HV_RESUME;
	if (len > 8 || (len & (len - 1))) {
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
		return HV_RESUME;
	}
	if (!hv_scratch(g, len))
		return HV_RESUME;
	uint8_t *buf = g->page + g->scratch_off;
	uint64_t val = 0;
	if (write) {
		memcpy(&val, buf, len);
		hv_dev_write(hv, HV_DEV_MMIO, gpa, (uint32_t)len, val);
	} else {
		val = hv_dev_read(hv, HV_DEV_MMIO, gpa, (uint32_t)len);
		memcpy(buf, &val, len);
	}
	return HV_RESUME;
}

/* ------------------------------------------------------------------ small standard exits */

static hv_exit_action_t nae_nop(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)hv, (void)v, (void)g, (void)fx, (void)x;
	return HV_RESUME;
}

static hv_exit_action_t nae_read_dr7(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
				     hv_exit_t *x)
{
	(void)hv, (void)fx, (void)x;
	g->rax = v->dr7;
	return HV_RESUME;
}

static hv_exit_action_t nae_write_dr7(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
				      hv_exit_t *x)
{
	(void)hv, (void)fx, (void)x;
	v->dr7 = g->rax;
	return HV_RESUME;
}

/* RDTSC/RDTSCP: a deterministic clock that advances by HV_TSC_STEP per read */
static hv_exit_action_t nae_rdtsc(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	hv->tsc += HV_TSC_STEP;
	g->rax = (uint32_t)hv->tsc;
	g->rdx = hv->tsc >> 32;
	if (g->in[HVF_EXITCODE] == SVM_EXIT_RDTSCP) {
		gpointer aux = g_hash_table_lookup(hv->msrs, HV_KEY(MSR_TSC_AUX));
		g->rcx = (uint32_t)HV_UNKEY(aux);
	}
	return HV_RESUME;
}

/* RDPMC: no virtual PMU, so #GP as KVM answers without one */
static hv_exit_action_t nae_rdpmc(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)hv, (void)v, (void)fx, (void)x;
	inject_gp(g);
	return HV_RESUME;
}

/* VMMCALL: snpsim implements no hypercall: RAX = -KVM_ENOSYS */
static hv_exit_action_t nae_vmmcall(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
				    hv_exit_t *x)
{
	(void)hv, (void)v, (void)fx, (void)x;
	g->rax = (uint64_t)-(int64_t)HV_KVM_ENOSYS;
	return HV_RESUME;
}

/* ------------------------------------------------------------------ SEV-ES/SNP events */

/* 0x8000_0004: AP reset hold; SW_EXITINFO2 = 0 now, 1 when hv_vcpu_wake delivers the SIPI */
static hv_exit_action_t nae_ap_hlt(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)hv, (void)fx, (void)x;
	v->state = HV_VCPU_HELD;
	v->hold = HV_HOLD_NAE;
	v->hold_ghcb = g->gpa;
	g->info2 = 0;
	return HV_HOLD;
}

/* 0x8000_0005: SW_EXITINFO1 0 sets the jump table to SW_EXITINFO2, 1 gets it */
static hv_exit_action_t nae_ap_jump(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
				    hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	if (g->in[HVF_EXITINFO1] == SVM_VMGEXIT_SET_AP_JUMP_TABLE)
		hv->ap_jump_table = g->in[HVF_EXITINFO2];
	else if (g->in[HVF_EXITINFO1] == SVM_VMGEXIT_GET_AP_JUMP_TABLE)
		g->info2 = hv->ap_jump_table;
	else
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
	return HV_RESUME;
}

/* 0x8000_FFFD: SW_EXITINFO2 = the feature bitmap (facts §3.3) */
static hv_exit_action_t nae_hv_features(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
					hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	g->info2 = hv->cfg.features;
	return HV_RESUME;
}

/* 0x8000_FFFE: SW_EXITINFO1 [3:0] reason set, [11:4] reason code; does not return */
static hv_exit_action_t nae_term(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx, hv_exit_t *x)
{
	(void)hv, (void)v, (void)fx;
	x->term_set = SVM_VMGEXIT_TERM_SET(g->in[HVF_EXITINFO1]);
	x->term_code = SVM_VMGEXIT_TERM_CODE(g->in[HVF_EXITINFO1]);
	return HV_TERMINATED;
}

/* 0x8000_FFFF: the guest reports a #VC it cannot handle; KVM fails KVM_RUN */
static hv_exit_action_t nae_unsupported(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
					hv_exit_t *x)
{
	(void)hv, (void)v, (void)g, (void)fx;
	x->stop = HV_STOP_UNSUPPORTED_EVENT;
	return HV_STOPPED;
}

/* ------------------------------------------------------------------ AP creation */

/* 0x8000_0013: RAX carries the new VMSA's SEV_FEATURES unless the request is a destroy */
static uint32_t ap_extra(const hv_ghcb_t *g)
{
	return (uint32_t)g->in[HVF_EXITINFO1] != SVM_VMGEXIT_AP_DESTROY ? F(RAX) : 0;
}

static void vmsa_release(hv_t *hv, hv_vcpu_t *t)
{
	if (t->vmsa_in_use)
		(void)rmp_set_in_use(hv->rmp, t->vmsa_spa, false);
	t->vmsa_in_use = false;
	t->vmsa_gpa = 0;
	t->vmsa_spa = 0;
}

/*
 * Whether vgpa may become a VMSA: page aligned but not 2M aligned (KVM rejects
 * those, the SNP erratum of facts §2.3), guest RAM, and its RMP entry a 4K
 * entry assigned to this guest at that GPA, validated, with the VMSA bit the
 * guest's RMPADJUST set, not in use by another vCPU. *spa: where it lives.
 */
static bool vmsa_ok(const hv_t *hv, const hv_vcpu_t *t, uint64_t vgpa, uint64_t *spa)
{
	if ((vgpa & HV_MASK_4K) || !(vgpa & HV_MASK_2M) || vgpa >= RMP_SPA_LIMIT_MAX)
		return false;
	hv_npt_map_t m = hv_npt_translate(hv, vgpa);
	if (m.kind != HV_NPT_RAM)
		return false;
	rmp_entry_t e;
	if (!rmp_lookup(hv->rmp, m.spa, &e) || !e.assigned || e.immutable ||
	    e.asid != hv->cfg.asid || e.gpa != vgpa || !e.validated || !e.vmsa || e.page_2m)
		return false;
	if (e.in_use && !(t->vmsa_in_use && t->vmsa_spa == m.spa))
		return false;
	*spa = m.spa;
	return true;
}

/*
 * KVM's sev_snp_ap_creation. The request is SW_EXITINFO1[31:0]: KVM compares all
 * 32 bits, so a nonzero VMPL field [19:16] makes the request invalid (VMPL0 only).
 * The target is the vCPU whose APIC ID is SW_EXITINFO1[63:32]. Every refusal is
 * SW_EXITINFO1 = 2, SW_EXITINFO2 = GHCB_ERR_INVALID_INPUT.
 */
static hv_exit_action_t nae_ap_creation(hv_t *hv, hv_vcpu_t *v, hv_ghcb_t *g, hv_fx_t *fx,
					hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	uint64_t info1 = g->in[HVF_EXITINFO1];
	uint32_t req = (uint32_t)info1;
	uint32_t apic = (uint32_t)(info1 >> 32);
	if (apic >= hv->cfg.max_vcpus) {
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
		return HV_RESUME;
	}
	hv_vcpu_t *t = &hv->vcpus[apic];
	hv_event_t ev;
	switch (req) {
	case SVM_VMGEXIT_AP_CREATE_ON_INIT:
	case SVM_VMGEXIT_AP_CREATE: {
		uint64_t feat = g->rax;
		uint64_t vgpa = g->in[HVF_EXITINFO2];
		uint64_t spa = 0;
		bool feat_ok = hv->cfg.vmsa_features ? feat == hv->cfg.vmsa_features
						     : (feat & SVM_SEV_FEAT_SNP_ACTIVE) != 0;
		if (!feat_ok || !vmsa_ok(hv, t, vgpa, &spa)) {
			hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
			return HV_RESUME;
		}
		/* the old VMSA is no longer used by a logical processor; the new one is */
		if (t->vmsa_in_use && t->vmsa_spa != spa)
			vmsa_release(hv, t);
		(void)rmp_set_in_use(hv->rmp, spa, true);
		t->vmsa_in_use = true;
		t->vmsa_gpa = vgpa;
		t->vmsa_spa = spa;
		t->sev_features = feat;
		t->state = HV_VCPU_CREATED;
		t->on_init = req == SVM_VMGEXIT_AP_CREATE_ON_INIT;
		hv_vcpu_reset_ghcb(hv, t); /* KVM resets the target: it registers its GHCB anew */
		ev = hv_ev(hv, HV_EV_AP_CREATE);
		ev.vcpu = apic;
		ev.gpa = vgpa;
		ev.spa = spa;
		ev.info1 = feat;
		ev.op = req;
		hv_emit(hv, &ev);
		return HV_RESUME;
	}
	case SVM_VMGEXIT_AP_DESTROY:
		vmsa_release(hv, t);
		t->state = HV_VCPU_DESTROYED;
		t->on_init = false;
		t->hold = HV_HOLD_NONE;
		ev = hv_ev(hv, HV_EV_AP_DESTROY);
		ev.vcpu = apic;
		hv_emit(hv, &ev);
		return HV_RESUME;
	default:
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
		return HV_RESUME;
	}
}

/* ------------------------------------------------------------------ the table */

/*
 * Required fields beyond SW_EXITCODE/INFO1/INFO2 (which every event needs) are
 * KVM's sev_es_validate_vmgexit list; `extra` adds those that depend on input.
 */
static const hv_nae_desc_t nae_table[] = {
	{.code = SVM_EXIT_READ_DR7, .name = "read_dr7", .fn = nae_read_dr7},
	{.code = SVM_EXIT_WRITE_DR7, .name = "write_dr7", .required = F(RAX), .fn = nae_write_dr7,
	 .ignorable = true},
	{.code = SVM_EXIT_RDTSC, .name = "rdtsc", .fn = nae_rdtsc},
	{.code = SVM_EXIT_RDPMC, .name = "rdpmc", .required = F(RCX), .fn = nae_rdpmc},
	{.code = SVM_EXIT_CPUID,
	 .name = "cpuid",
	 .required = F(RAX) | F(RCX),
	 .extra = cpuid_extra,
	 .fn = nae_cpuid},
	{.code = SVM_EXIT_INVD, .name = "invd", .fn = nae_nop},
	{.code = SVM_EXIT_IOIO, .name = "io", .extra = ioio_extra, .fn = nae_ioio,
	 .ignorable = true},
	{.code = SVM_EXIT_MSR, .name = "msr", .required = F(RCX), .extra = msr_extra,
	 .fn = nae_msr, .ignorable = true},
	{.code = SVM_EXIT_VMMCALL, .name = "vmmcall", .required = F(RAX) | F(CPL),
	 .fn = nae_vmmcall},
	{.code = SVM_EXIT_RDTSCP, .name = "rdtscp", .fn = nae_rdtsc},
	{.code = SVM_EXIT_WBINVD, .name = "wbinvd", .fn = nae_nop},
	{.code = SVM_EXIT_MONITOR, .name = "monitor", .required = F(RAX) | F(RCX) | F(RDX),
	 .fn = nae_nop},
	{.code = SVM_EXIT_MWAIT, .name = "mwait", .required = F(RAX) | F(RCX), .fn = nae_nop},
	{.code = SVM_VMGEXIT_MMIO_READ, .name = "vmgexit_mmio_read", .required = F(SCRATCH),
	 .fn = nae_mmio},
	{.code = SVM_VMGEXIT_MMIO_WRITE, .name = "vmgexit_mmio_write", .required = F(SCRATCH),
	 .fn = nae_mmio, .ignorable = true},
	{.code = SVM_VMGEXIT_NMI_COMPLETE, .name = "vmgexit_nmi_complete", .fn = nae_nop},
	{.code = SVM_VMGEXIT_AP_HLT_LOOP, .name = "vmgexit_ap_hlt_loop", .fn = nae_ap_hlt,
	 .ignorable = true},
	{.code = SVM_VMGEXIT_AP_JUMP_TABLE, .name = "vmgexit_ap_jump_table", .fn = nae_ap_jump,
	 .ignorable = true},
	{.code = SVM_VMGEXIT_PSC,
	 .name = "vmgexit_page_state_change",
	 .required = F(SCRATCH),
	 .fn = hv_nae_psc,
	 .own_faults = true,
	 .ignorable = true},
	{.code = SVM_VMGEXIT_AP_CREATION,
	 .name = "vmgexit_ap_creation",
	 .feature = GHCB_HV_FT_SNP_AP_CREATION,
	 .extra = ap_extra,
	 .fn = nae_ap_creation,
	 .ignorable = true},
	{.code = SVM_VMGEXIT_HV_FEATURES, .name = "vmgexit_hypervisor_feature",
	 .fn = nae_hv_features},
	{.code = SVM_VMGEXIT_TERM_REQUEST, .name = "vmgexit_termination_request",
	 .fn = nae_term},
	{.code = SVM_VMGEXIT_UNSUPPORTED_EVENT, .name = "vmgexit_unsupported_event",
	 .fn = nae_unsupported},
};

const hv_nae_desc_t *hv_nae_find(uint64_t code)
{
	for (size_t i = 0; i < G_N_ELEMENTS(nae_table); i++)
		if (nae_table[i].code == code)
			return &nae_table[i];
	return NULL;
}

const hv_nae_desc_t *hv_nae_table(size_t *n)
{
	*n = G_N_ELEMENTS(nae_table);
	return nae_table;
}
