/* SPDX-License-Identifier: MIT */
/*
 * The GHCB MSR protocol (facts §3.2), as KVM's sev_handle_vmgexit_msr_protocol
 * answers it: one table row per function code. A request KVM does not
 * recognise leaves the MSR as it is, so the guest reads back its own request
 * code (facts §3.2, last paragraph).
 */
#include "hv-private.h"

typedef uint64_t (*msr_fn)(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx,
			   hv_exit_t *x);

typedef struct msr_desc {
	uint32_t code;
	uint32_t trigger;  /* the specific trigger it satisfies (0: only MSR_ANY/VMGEXIT) */
	bool ignorable;    /* IGNORE has an effect to skip */
	bool has_gfn;      /* the request carries a GFN (PSC, register) */
	msr_fn fn;
} msr_desc_t;

/* 0x002 -> 0x001: [63:48] max, [47:32] min, [31:24] C-bit; request data bits are ignored */
static uint64_t msr_sev_info(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx,
			     hv_exit_t *x)
{
	(void)v, (void)req, (void)fx, (void)x;
	return ghcb_msr_sev_info(hv->cfg.proto_max, hv->cfg.proto_min, hv->cfg.cbit);
}

/*
 * 0x004 -> 0x005: [63:32] the register [31:30] selects of leaf [63:32], subleaf 0
 * (KVM sets RCX = 0). KVM rewrites only bits 63:32 and 11:0, so the request's
 * bits 31:12 (register field and reserved bits) come back unchanged.
 */
static uint64_t msr_cpuid(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)fx, (void)x;
	uint32_t out[4];
	/* XCR0 of a vCPU that has not set it: x87 only (1) */
	hv_cpuid_lookup(hv, GHCB_MSR_CPUID_REQ_LEAF(req), 0, 1, out);
	uint32_t val = out[GHCB_MSR_CPUID_REQ_REG(req)];
	return ((uint64_t)val << 32) | (req & 0xFFFFF000ull) | GHCB_MSR_CPUID_RESP;
}

/* 0x006 -> 0x007 with 0 in [63:12] ("not woken"); hv_vcpu_wake sets it to 1 */
static uint64_t msr_ap_reset_hold(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx,
				  hv_exit_t *x)
{
	(void)hv, (void)req;
	if (fx->disp == HV_DISP_IGNORE) /* answered "spurious" without holding */
		return GHCB_MSR_AP_RESET_HOLD_RESP;
	v->state = HV_VCPU_HELD;
	v->hold = HV_HOLD_MSR;
	x->action = HV_HOLD;
	return GHCB_MSR_AP_RESET_HOLD_RESP;
}

/* 0x010 -> 0x011: no preference, all ones in [63:12] (KVM) */
static uint64_t msr_pref_gpa(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx,
			     hv_exit_t *x)
{
	(void)hv, (void)v, (void)req, (void)fx, (void)x;
	return ghcb_msr_gfn_val(GHCB_MSR_PREF_GPA_NONE, GHCB_MSR_PREF_GPA_RESP);
}

/*
 * 0x012 -> 0x013: KVM records the GFN as this vCPU's GHCB and echoes it; an SNP
 * guest using any other GHCB GPA is then stopped (ghcb.c). FAIL answers all ones
 * in [63:12], the GHCB spec's failure value (UNCONFIRMED, facts §3.2), and
 * records nothing; IGNORE echoes the GFN but records nothing.
 */
static uint64_t msr_reg_gpa(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx,
			    hv_exit_t *x)
{
	(void)hv, (void)x;
	uint64_t gfn = GHCB_MSR_GFN(req);
	if (fx->disp == HV_DISP_FAIL)
		return ghcb_msr_gfn_val(GHCB_MSR_REG_GPA_FAIL, GHCB_MSR_REG_GPA_RESP);
	if (fx->disp != HV_DISP_IGNORE) {
		v->registered = true;
		v->ghcb_gpa = gfn << SNP_PAGE_SHIFT;
	}
	return ghcb_msr_gfn_val(gfn, GHCB_MSR_REG_GPA_RESP);
}

/*
 * 0x014 -> 0x015: one 4 KiB page, operation 1 (private) or 2 (shared) only
 * (facts §6.7); [63:32] of the response is the error (0 success). KVM answers a
 * bad operation, and any failure, with bit 63 set (GHCB_MSR_PSC_RESP_ERROR).
 * Reserved bits [63:56] set are refused too: snpsim policy (KVM ignores them).
 */
static uint64_t msr_psc(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)x;
	uint64_t gfn = GHCB_MSR_PSC_REQ_GFN(req);
	uint32_t op = GHCB_MSR_PSC_REQ_OP(req);
	uint64_t status = 0, done;
	uint64_t resp = GHCB_MSR_PSC_RESP;
	if (fx->disp == HV_DISP_FAIL) {
		status = VMGEXIT_PSC_ERROR_GENERIC;
		/* the error lives in bits 63:32; an arg with none there would read as success */
		resp = (fx->fail_arg & 0xFFFFFFFFull)
			       ? ((fx->fail_arg & 0xFFFFFFFFull) << 32) | GHCB_MSR_PSC_RESP
			       : GHCB_MSR_PSC_RESP_ERROR;
	} else if (GHCB_MSR_PSC_REQ_RSVD(req) ||
		   (op != SNP_PAGE_STATE_PRIVATE && op != SNP_PAGE_STATE_SHARED)) {
		status = VMGEXIT_PSC_ERROR_INVALID_ENTRY;
		resp = GHCB_MSR_PSC_RESP_ERROR;
	} else if (fx->disp != HV_DISP_IGNORE) {
		/* WRONG_GFN: the page converted is not the one asked for (fault plan) */
		uint64_t target = (gfn + (fx->wrong_gfn ? fx->gfn_delta : 0)) & PSC_ENTRY_GFN_MASK;
		status = hv_convert(hv, target, 1, op, false, &done);
		if (status)
			resp = GHCB_MSR_PSC_RESP_ERROR;
	}
	hv_event_t ev = hv_ev(hv, HV_EV_PSC_ENTRY);
	ev.gfn = gfn;
	ev.gpa = gfn << SNP_PAGE_SHIFT;
	ev.npages = 1;
	ev.op = op;
	ev.psc_status = status;
	hv_emit(hv, &ev);
	return resp;
}

/* 0x080 -> 0x081: [63:12] the feature bitmap; KVM answers whatever version was negotiated */
static uint64_t msr_hv_ft(hv_t *hv, hv_vcpu_t *v, uint64_t req, const hv_fx_t *fx, hv_exit_t *x)
{
	(void)v, (void)req, (void)fx, (void)x;
	return ghcb_msr_gfn_val(hv->cfg.features, GHCB_MSR_HV_FT_RESP);
}

#define T(t) (1u << (t))

static const msr_desc_t msr_table[] = {
	{.code = GHCB_MSR_SEV_INFO_REQ, .trigger = T(HV_TRIG_SEV_INFO), .fn = msr_sev_info},
	{.code = GHCB_MSR_CPUID_REQ, .fn = msr_cpuid},
	{.code = GHCB_MSR_AP_RESET_HOLD_REQ, .ignorable = true, .fn = msr_ap_reset_hold},
	{.code = GHCB_MSR_PREF_GPA_REQ, .fn = msr_pref_gpa},
	{.code = GHCB_MSR_REG_GPA_REQ,
	 .trigger = T(HV_TRIG_GHCB_REGISTER),
	 .ignorable = true,
	 .has_gfn = true,
	 .fn = msr_reg_gpa},
	{.code = GHCB_MSR_PSC_REQ,
	 .trigger = T(HV_TRIG_MSR_PSC),
	 .ignorable = true,
	 .has_gfn = true,
	 .fn = msr_psc},
	{.code = GHCB_MSR_HV_FT_REQ, .trigger = T(HV_TRIG_HV_FEATURES), .fn = msr_hv_ft},
};

static const msr_desc_t *msr_find(uint32_t code)
{
	for (size_t i = 0; i < G_N_ELEMENTS(msr_table); i++)
		if (msr_table[i].code == code)
			return &msr_table[i];
	return NULL;
}

/* Termination (0x100): [15:12] reason set, [23:16] reason code; the guest is gone. */
static hv_exit_t msr_terminate(hv_t *hv, uint64_t req)
{
	hv_exit_t x = {.action = HV_TERMINATED, .ghcb_msr = req};
	x.term_set = GHCB_MSR_TERM_SET(req);
	x.term_code = GHCB_MSR_TERM_CODE(req);
	hv_event_t ev = hv_ev(hv, HV_EV_MSR_PROTOCOL);
	ev.info1 = req;
	ev.info2 = req;
	hv_emit(hv, &ev);
	ev = hv_ev(hv, HV_EV_TERMINATE);
	ev.set = x.term_set;
	ev.code = x.term_code;
	ev.info1 = req;
	hv_emit(hv, &ev);
	return x;
}

hv_exit_t hv_msr_protocol(hv_t *hv, hv_vcpu_t *v, uint64_t req)
{
	uint32_t code = (uint32_t)(req & GHCB_MSR_INFO_MASK);
	/* a fault cannot undo a termination request: it is never matched */
	if (code == GHCB_MSR_TERM_REQ)
		return msr_terminate(hv, req);

	const msr_desc_t *d = msr_find(code);
	hv_exit_t x = {.action = HV_RESUME, .ghcb_msr = req};
	hv_extent_t ext = {.gfn = d && d->code == GHCB_MSR_PSC_REQ ? GHCB_MSR_PSC_REQ_GFN(req)
								   : GHCB_MSR_GFN(req),
			   .npages = 1};
	hv_occ_t occ = {.kinds = T(HV_TRIG_VMGEXIT) | T(HV_TRIG_MSR_ANY) | (d ? d->trigger : 0),
			.msr = true,
			.msr_code = code,
			.psc_msr = d && d->code == GHCB_MSR_PSC_REQ,
			.ignorable = d && d->ignorable,
			.ext = d && d->has_gfn ? &ext : NULL,
			.next = d && d->has_gfn ? 1 : 0};
	hv_fx_t fx;
	hv_fault_match(hv, &occ, &fx);

	uint64_t resp = req; /* KVM: an unknown request, or an error, leaves the MSR as is */
	if (d && (fx.disp != HV_DISP_FAIL || d->code == GHCB_MSR_PSC_REQ ||
		  d->code == GHCB_MSR_REG_GPA_REQ))
		resp = d->fn(hv, v, req, &fx, &x);

	/* fault plan: garbage data bits or a wrong response code (facts §12) */
	if (fx.msr_garbage)
		resp = (resp & GHCB_MSR_INFO_MASK) | (fx.garbage << GHCB_DATA_SHIFT);
	if (fx.msr_code)
		resp = (resp & ~GHCB_MSR_INFO_MASK) |
		       ((fx.code ? fx.code : code + 2) & GHCB_MSR_INFO_MASK);
	x.ghcb_msr = resp;

	hv_event_t ev = hv_ev(hv, HV_EV_MSR_PROTOCOL);
	ev.info1 = req;
	ev.info2 = resp;
	hv_emit(hv, &ev);
	hv_fault_after(hv);
	hv_fault_apply_vc(&fx, &x);
	return x;
}
