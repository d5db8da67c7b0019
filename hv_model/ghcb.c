/* SPDX-License-Identifier: MIT */
/*
 * The GHCB page protocol (facts §4), after KVM's sev_handle_vmgexit,
 * sev_es_sync_from_ghcb, sev_es_validate_vmgexit and sev_es_sync_to_ghcb.
 *
 * The page is guest memory the guest can rewrite at any time, so it is copied
 * once (the snapshot) and every decision uses the copy: fields are read only
 * when their valid bit is set, the answer is built in the copy and the copy is
 * written back. A malformed request gets SW_EXITINFO1 = 2 with a GHCB error code
 * in SW_EXITINFO2 (facts §4.5) and the guest resumes.
 */
#include "hv-private.h"

/* GHCB offsets of the fields the hypervisor reads or writes (facts §4.1) */
static const uint32_t field_off[HVF_COUNT] = {
	[HVF_RAX] = GHCB_OFF_RAX,
	[HVF_RBX] = GHCB_OFF_RBX,
	[HVF_RCX] = GHCB_OFF_RCX,
	[HVF_RDX] = GHCB_OFF_RDX,
	[HVF_CPL] = GHCB_OFF_CPL,
	[HVF_XCR0] = GHCB_OFF_XCR0,
	[HVF_XSS] = GHCB_OFF_XSS,
	[HVF_EXITCODE] = GHCB_OFF_SW_EXITCODE,
	[HVF_EXITINFO1] = GHCB_OFF_SW_EXITINFO1,
	[HVF_EXITINFO2] = GHCB_OFF_SW_EXITINFO2,
	[HVF_SCRATCH] = GHCB_OFF_SW_SCRATCH,
};

/* valid-bitmap bit of the field at off: off / 8 (facts §4.2) */
static bool bitmap_test(const uint8_t *bitmap, uint32_t off)
{
	uint32_t bit = GHCB_BITMAP_IDX(off);
	return bitmap[bit / 8] & (1u << (bit % 8));
}

static void bitmap_set(uint8_t *page, uint32_t off)
{
	uint32_t bit = GHCB_BITMAP_IDX(off);
	page[GHCB_OFF_VALID_BITMAP + bit / 8] |= (uint8_t)(1u << (bit % 8));
}

void hv_bad_input(hv_ghcb_t *g, uint64_t err)
{
	g->info1 = GHCB_HV_RESP_MALFORMED_INPUT;
	g->info2 = err;
}

/*
 * The scratch area of an event that needs a buffer (facts §4.6, KVM
 * setup_vmgexit_scratch): GHCB protocol 2 requires it inside the GHCB shared
 * buffer [0x800, 0xFF0), len bytes of it. Else INVALID_SCRATCH_AREA.
 */
bool hv_scratch(hv_ghcb_t *g, uint64_t len)
{
	uint64_t s = g->in[HVF_SCRATCH];
	if (!(g->present & HVF(HVF_SCRATCH)) || s == 0 || len == 0 || s + len < s ||
	    (s & ~HV_MASK_4K) != g->gpa) {
		hv_bad_input(g, GHCB_ERR_INVALID_SCRATCH_AREA);
		return false;
	}
	uint64_t off = s - g->gpa;
	uint64_t end = GHCB_OFF_SHARED_BUFFER + GHCB_SHARED_BUFFER_SIZE;
	/* off past the end first: end - off would wrap and let any length through */
	if (off < GHCB_OFF_SHARED_BUFFER || off > end || len > end - off) {
		hv_bad_input(g, GHCB_ERR_INVALID_SCRATCH_AREA);
		return false;
	}
	g->scratch_off = (uint32_t)off;
	g->scratch_len = (uint32_t)(end - off);
	return true;
}

/* Host write of one qword to a guest page, if the page is still the host's (shared). */
bool hv_ghcb_page_write64(hv_t *hv, uint64_t gpa, uint32_t off, uint64_t val)
{
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	if (m.kind != HV_NPT_RAM || !rmp_ok(rmp_check_host_write(hv->rmp, m.spa, false)))
		return false;
	uint8_t *p = hv->cfg.mem->page(hv->cfg.mem_ctx, m.spa, true);
	if (!p)
		return false;
	hv_put64(p, off, val);
	return true;
}

/*
 * sev_es_sync_to_ghcb: the valid bitmap is cleared, then RAX, RBX, RCX, RDX and
 * SW_EXITINFO1/2 are written with their bits set (KVM writes the four GPRs back
 * after every exit: the guest must not consume what it did not ask for). False
 * if the host can no longer write the page.
 */
static bool write_back(hv_t *hv, hv_ghcb_t *g)
{
	memset(g->page + GHCB_OFF_VALID_BITMAP, 0, GHCB_VALID_BITMAP_SIZE);
	const struct {
		uint32_t off;
		uint64_t val;
	} out[] = {
		{GHCB_OFF_RAX, g->rax},
		{GHCB_OFF_RBX, g->rbx},
		{GHCB_OFF_RCX, g->rcx},
		{GHCB_OFF_RDX, g->rdx},
		{GHCB_OFF_SW_EXITINFO1, g->info1},
		{GHCB_OFF_SW_EXITINFO2, g->info2},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(out); i++) {
		hv_put64(g->page, out[i].off, out[i].val);
		bitmap_set(g->page, out[i].off);
	}
	/*
	 * The handler may have made the GHCB page private (a PSC of its own GFN):
	 * a host write would then take an RMP #PF (facts §2.5), so nothing is written.
	 */
	if (!rmp_ok(rmp_check_host_write(hv->rmp, g->spa, false)))
		return false;
	uint8_t *p = hv->cfg.mem->page(hv->cfg.mem_ctx, g->spa, true);
	if (!p)
		return false;
	memcpy(p, g->page, GHCB_PAGE_SIZE);
	return true;
}

/* sev_es_validate_vmgexit, table-driven: the event's row, or NULL with the error set. */
static const hv_nae_desc_t *validate(const hv_t *hv, hv_ghcb_t *g)
{
	uint32_t usage;
	uint16_t version;
	memcpy(&usage, g->page + GHCB_OFF_USAGE, sizeof(usage));
	memcpy(&version, g->page + GHCB_OFF_PROTOCOL_VERSION, sizeof(version));
	if (usage != GHCB_DEFAULT_USAGE) {
		hv_bad_input(g, GHCB_ERR_INVALID_USAGE);
		return NULL;
	}
	/*
	 * snpsim policy (KVM does not look): the protocol_version field must be a
	 * version this hypervisor offered in its SEV information, else INVALID_INPUT.
	 */
	if (version < hv->cfg.proto_min || version > hv->cfg.proto_max) {
		hv_bad_input(g, GHCB_ERR_INVALID_INPUT);
		return NULL;
	}
	const uint32_t base = HVF(HVF_EXITCODE) | HVF(HVF_EXITINFO1) | HVF(HVF_EXITINFO2);
	if ((g->present & base) != base) {
		hv_bad_input(g, GHCB_ERR_MISSING_INPUT);
		return NULL;
	}
	const hv_nae_desc_t *d = hv_nae_find(g->in[HVF_EXITCODE]);
	/* an event we do not handle, or one the advertised features exclude: facts §5.3 */
	if (!d || (d->feature && !(hv->cfg.features & d->feature))) {
		hv_bad_input(g, GHCB_ERR_INVALID_EVENT);
		return NULL;
	}
	uint32_t need = d->required | (d->extra ? d->extra(g) : 0);
	if ((g->present & need) != need) {
		hv_bad_input(g, GHCB_ERR_MISSING_INPUT);
		return NULL;
	}
	return d;
}

hv_exit_t hv_ghcb_exit(hv_t *hv, hv_vcpu_t *v, uint64_t gpa)
{
	hv_exit_t x = {.action = HV_RESUME, .ghcb_msr = gpa};
	hv->cur_ghcb = gpa;
	/* KVM: "Without a GHCB, just return right back to the guest" */
	if (gpa == 0)
		return x;
	/* SEV-SNP guest requires that the GHCB GPA must be registered (KVM) */
	if (!v->registered || v->ghcb_gpa != gpa)
		return hv_stop(hv, x, HV_STOP_GHCB_NOT_REGISTERED);
	hv_npt_map_t m = hv_npt_translate(hv, gpa);
	if (m.kind != HV_NPT_RAM)
		return hv_stop(hv, x, HV_STOP_GHCB_UNMAPPED);
	rmp_entry_t e;
	if (!rmp_lookup(hv->rmp, m.spa, &e) || e.assigned)
		return hv_stop(hv, x, HV_STOP_GHCB_PRIVATE);

	/* the snapshot: copied once, decisions only from here on */
	hv_ghcb_t *g = g_new0(hv_ghcb_t, 1);
	g->gpa = gpa;
	g->spa = m.spa;
	const uint8_t *src = hv->cfg.mem->page(hv->cfg.mem_ctx, m.spa, false);
	if (src)
		memcpy(g->page, src, GHCB_PAGE_SIZE);
	uint8_t bitmap[GHCB_VALID_BITMAP_SIZE];
	memcpy(bitmap, g->page + GHCB_OFF_VALID_BITMAP, sizeof(bitmap));
	for (uint32_t f = 0; f < HVF_COUNT; f++) {
		if (!bitmap_test(bitmap, field_off[f]))
			continue;
		g->present |= HVF(f);
		g->in[f] = f == HVF_CPL ? g->page[GHCB_OFF_CPL] : hv_get64(g->page, field_off[f]);
	}
	/* KVM zeroes the GPRs and loads only the valid ones; SW_EXITINFO1/2 start at 0 */
	g->rax = g->in[HVF_RAX];
	g->rbx = g->in[HVF_RBX];
	g->rcx = g->in[HVF_RCX];
	g->rdx = g->in[HVF_RDX];

	hv_fx_t fx = {0};
	hv_exit_action_t act = HV_RESUME;
	const hv_nae_desc_t *d = validate(hv, g);
	if (d) {
		if (!d->own_faults) {
			hv_occ_t occ = {.kinds = (1u << HV_TRIG_VMGEXIT) | (1u << HV_TRIG_NAE) |
						 (d->code == SVM_VMGEXIT_HV_FEATURES
							  ? (1u << HV_TRIG_HV_FEATURES)
							  : 0),
					.nae = true,
					.exit_code = d->code,
					.ignorable = d->ignorable};
			/* a fault cannot undo a termination request */
			if (d->code != SVM_VMGEXIT_TERM_REQUEST)
				hv_fault_match(hv, &occ, &fx);
		}
		if (!d->own_faults && fx.disp == HV_DISP_FAIL)
			hv_bad_input(g, fx.fail_arg ? fx.fail_arg : GHCB_ERR_INVALID_INPUT);
		else if (!d->own_faults && fx.disp == HV_DISP_IGNORE)
			; /* answered "done" without doing it: SW_EXITINFO1 = SW_EXITINFO2 = 0 */
		else
			act = d->fn(hv, v, g, &fx, &x);
	} else {
		/* refused as malformed, but still a VMGEXIT: HV_TRIG_VMGEXIT sees every one */
		hv_occ_t occ = {.kinds = 1u << HV_TRIG_VMGEXIT,
				.nae = true,
				.exit_code = g->in[HVF_EXITCODE]};
		hv_fault_match(hv, &occ, &fx);
	}

	if (act == HV_RESUME || act == HV_HOLD) {
		if (!write_back(hv, g)) {
			g_free(g);
			hv_fault_after(hv);
			return hv_stop(hv, x, HV_STOP_GHCB_PRIVATE);
		}
	}
	hv_event_t ev = hv_ev(hv, HV_EV_VMGEXIT);
	ev.exit_reason = g->in[HVF_EXITCODE];
	ev.info1 = g->info1;
	ev.info2 = g->info2;
	if (act == HV_TERMINATED) { /* nothing is answered: report what the guest sent */
		ev.info1 = g->in[HVF_EXITINFO1];
		ev.info2 = g->in[HVF_EXITINFO2];
	}
	hv_emit(hv, &ev);
	uint64_t term_info1 = g->in[HVF_EXITINFO1], term_info2 = g->in[HVF_EXITINFO2];
	g_free(g);

	x.action = act;
	if (act == HV_TERMINATED) {
		/* info2: the optional extra data (Linux: unsupported SEV_STATUS bits) */
		ev = hv_ev(hv, HV_EV_TERMINATE);
		ev.set = x.term_set;
		ev.code = x.term_code;
		ev.info1 = term_info1;
		ev.info2 = term_info2;
		hv_emit(hv, &ev);
	} else if (act == HV_STOPPED) {
		x = hv_stop(hv, x, x.stop);
	}
	hv_fault_after(hv);
	if (act == HV_RESUME || act == HV_HOLD)
		hv_fault_apply_vc(&fx, &x);
	return x;
}
