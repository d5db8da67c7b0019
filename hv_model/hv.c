/* SPDX-License-Identifier: MIT */
/*
 * hv_model core: configuration, the vCPU registry, the MSR store and the
 * VMGEXIT world switch (KVM's sev_handle_vmgexit entry). Everything else is
 * reached from here; hv-private.h has the file map.
 */
#include "hv-private.h"

void hv_config_defaults(hv_config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->asid = 1;
	c->max_vcpus = 1;
	c->cbit = 51;
	c->proto_min = GHCB_PROTOCOL_MIN;
	c->proto_max = GHCB_PROTOCOL_MAX;
	c->features = GHCB_HV_FT_SNP | GHCB_HV_FT_SNP_AP_CREATION;
}

/* ------------------------------------------------------------------ events */

void hv_emit(const hv_t *hv, hv_event_t *ev)
{
	if (hv->cfg.emit)
		hv->cfg.emit(hv->cfg.emit_ctx, ev);
}

hv_event_t hv_ev(const hv_t *hv, hv_event_kind_t kind)
{
	return (hv_event_t){.kind = kind, .vcpu = hv->cur_vcpu, .ghcb_gpa = hv->cur_ghcb};
}

hv_exit_t hv_stop(hv_t *hv, hv_exit_t x, hv_stop_t why)
{
	hv_event_t ev = hv_ev(hv, HV_EV_STOP);
	ev.stop = why;
	hv_emit(hv, &ev);
	x.action = HV_STOPPED;
	x.stop = why;
	return x;
}

/* ------------------------------------------------------------------ configuration */

static bool range_kind_ok(hv_mem_kind_t k)
{
	return k == HV_MEM_RAM || k == HV_MEM_MMIO || k == HV_MEM_ROM;
}

/* The first problem with c, or NULL. Messages are static strings (no I/O here). */
static const char *check_config(const rmp_t *rmp, const hv_config_t *c)
{
	if (!rmp)
		return "no RMP";
	if (!c)
		return "no configuration";
	if (c->asid == 0 || c->asid > RMP_ASID_MAX)
		return "asid must be 1..1023";
	if (c->max_vcpus == 0 || c->max_vcpus > HV_MAX_VCPUS)
		return "max_vcpus must be 1..1024";
	if (c->cbit > 63)
		return "cbit must be 0..63";
	if (c->proto_min == 0 || c->proto_min > c->proto_max)
		return "protocol versions must satisfy 1 <= proto_min <= proto_max";
	if (!c->mem || !c->mem->page)
		return "no memory operations";
	if (c->nranges && !c->ranges)
		return "ranges missing";
	if (c->ncpuid && !c->cpuid)
		return "cpuid table missing";
	uint64_t limit = rmp_spa_limit(rmp);
	uint64_t prev_end = 0;
	for (size_t i = 0; i < c->nranges; i++) {
		const hv_mem_range_t *r = &c->ranges[i];
		if (!range_kind_ok(r->kind))
			return "memory range of unknown kind";
		if (r->size == 0 || (r->gpa & HV_MASK_4K) || (r->size & HV_MASK_4K))
			return "memory range not 4 KiB aligned or empty";
		if (r->gpa + r->size < r->gpa || r->gpa + r->size > RMP_SPA_LIMIT_MAX)
			return "memory range beyond the 52-bit address space";
		if (i && r->gpa < prev_end)
			return "memory ranges not sorted or overlapping";
		/* RAM and ROM are identity mapped: their SPAs must be RMP-covered (facts §1.1) */
		if (r->kind != HV_MEM_MMIO && r->gpa + r->size > limit)
			return "guest memory beyond the RMP coverage";
		prev_end = r->gpa + r->size;
	}
	if (c->spare_pages) {
		uint64_t bytes = c->spare_pages * SNP_PAGE_SIZE;
		if (c->spare_pages > (RMP_SPA_LIMIT_MAX >> SNP_PAGE_SHIFT) ||
		    (c->spare_spa & HV_MASK_4K) || c->spare_spa + bytes < c->spare_spa ||
		    c->spare_spa + bytes > limit)
			return "spare pool not aligned or beyond the RMP coverage";
		for (size_t i = 0; i < c->nranges; i++) {
			const hv_mem_range_t *r = &c->ranges[i];
			if (r->kind != HV_MEM_MMIO && c->spare_spa < r->gpa + r->size &&
			    r->gpa < c->spare_spa + bytes)
				return "spare pool overlaps guest memory";
		}
	}
	return NULL;
}

hv_t *hv_new(rmp_t *rmp, const hv_config_t *cfg, const char **err)
{
	const char *why = check_config(rmp, cfg);
	if (why) {
		if (err)
			*err = why;
		return NULL;
	}
	hv_t *hv = g_new0(hv_t, 1);
	hv->rmp = rmp;
	hv->cfg = *cfg;
	hv->nranges = cfg->nranges;
	hv->ranges = cfg->nranges ? g_memdup2(cfg->ranges, cfg->nranges * sizeof(*cfg->ranges))
				  : NULL;
	hv->ncpuid = cfg->ncpuid;
	hv->cpuid = cfg->ncpuid ? g_memdup2(cfg->cpuid, cfg->ncpuid * sizeof(*cfg->cpuid)) : NULL;
	hv->cfg.ranges = hv->ranges;
	hv->cfg.cpuid = hv->cpuid;
	hv->vcpus = g_new0(hv_vcpu_t, cfg->max_vcpus);
	for (uint32_t i = 0; i < cfg->max_vcpus; i++) {
		hv_vcpu_t *v = &hv->vcpus[i];
		/* the BSP runs; APs wait for INIT-SIPI like KVM vCPUs before their first SIPI */
		v->state = i == 0 ? HV_VCPU_RUNNING : HV_VCPU_HELD;
		v->dr7 = HV_DR7_RESET;
		hv_vcpu_reset_ghcb(hv, v);
	}
	hv->remap = g_hash_table_new(g_direct_hash, g_direct_equal);
	hv->remap_2m = g_hash_table_new(g_direct_hash, g_direct_equal);
	hv->msrs = g_hash_table_new(g_direct_hash, g_direct_equal);
	hv->replay = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	hv->devices = g_array_new(FALSE, TRUE, sizeof(hv_device_t));
	hv->debug = g_byte_array_new();
	hv->launched = g_array_new(FALSE, TRUE, sizeof(hv_mem_range_t));
	hv->faults = g_array_new(FALSE, TRUE, sizeof(hv_fault_slot_t));
	hv->side = g_array_new(FALSE, TRUE, sizeof(hv_side_t));
	if (!hv_devices_init(hv)) {
		hv_free(hv);
		if (err)
			*err = "debug port device";
		return NULL;
	}
	return hv;
}

void hv_free(hv_t *hv)
{
	if (!hv)
		return;
	hv_devices_free(hv);
	g_hash_table_destroy(hv->remap);
	g_hash_table_destroy(hv->remap_2m);
	g_hash_table_destroy(hv->msrs);
	g_hash_table_destroy(hv->replay);
	g_byte_array_unref(hv->debug);
	g_array_unref(hv->launched);
	g_array_unref(hv->faults);
	g_array_unref(hv->side);
	g_free(hv->vcpus);
	g_free(hv->ranges);
	g_free(hv->cpuid);
	g_free(hv);
}

/* ------------------------------------------------------------------ vCPUs */

uint64_t hv_initial_ghcb_msr(const hv_t *hv)
{
	/* KVM presets the GHCB MSR with the SEV-information response (facts §3.1) */
	return ghcb_msr_sev_info(hv->cfg.proto_max, hv->cfg.proto_min, hv->cfg.cbit);
}

/* A vCPU (re)starting from reset: no GHCB registered, the MSR holds the SEV info. */
void hv_vcpu_reset_ghcb(const hv_t *hv, hv_vcpu_t *v)
{
	v->registered = false;
	v->ghcb_gpa = 0;
	v->ghcb_msr = hv_initial_ghcb_msr(hv);
	v->hold = HV_HOLD_NONE;
}

bool hv_vcpu_info(const hv_t *hv, uint32_t vcpu, hv_vcpu_info_t *out)
{
	if (!hv || vcpu >= hv->cfg.max_vcpus) {
		if (out)
			memset(out, 0, sizeof(*out));
		return false;
	}
	const hv_vcpu_t *v = &hv->vcpus[vcpu];
	*out = (hv_vcpu_info_t){.state = v->state,
				.apic_id = vcpu,
				.vmsa_gpa = v->vmsa_gpa,
				.sev_features = v->sev_features,
				.ghcb_gpa = v->registered ? v->ghcb_gpa : 0,
				.ghcb_msr = v->ghcb_msr,
				.on_init = v->on_init};
	return true;
}

bool hv_vcpu_start(hv_t *hv, uint32_t vcpu)
{
	if (!hv || vcpu >= hv->cfg.max_vcpus || hv->vcpus[vcpu].state != HV_VCPU_CREATED)
		return false;
	hv->vcpus[vcpu].state = HV_VCPU_RUNNING;
	hv->vcpus[vcpu].on_init = false;
	return true;
}

bool hv_vcpu_wake(hv_t *hv, uint32_t vcpu)
{
	if (!hv || vcpu >= hv->cfg.max_vcpus || hv->vcpus[vcpu].state != HV_VCPU_HELD)
		return false;
	hv_vcpu_t *v = &hv->vcpus[vcpu];
	v->state = HV_VCPU_RUNNING;
	/*
	 * KVM's sev_vcpu_deliver_sipi_vector: the MSR-protocol hold gets 1 in bits
	 * 63:12 (the code bits stay), the NAE hold gets SW_EXITINFO2 = 1.
	 */
	if (v->hold == HV_HOLD_MSR)
		v->ghcb_msr = (v->ghcb_msr & GHCB_MSR_INFO_MASK) | (1ull << GHCB_DATA_SHIFT);
	else if (v->hold == HV_HOLD_NAE)
		(void)hv_ghcb_page_write64(hv, v->hold_ghcb, GHCB_OFF_SW_EXITINFO2, 1);
	v->hold = HV_HOLD_NONE;
	return true;
}

bool hv_set_msr(hv_t *hv, uint32_t msr, uint64_t value)
{
	if (!hv)
		return false;
	g_hash_table_insert(hv->msrs, HV_KEY(msr), HV_KEY(value));
	return true;
}

/* ------------------------------------------------------------------ the world switch */

hv_exit_t hv_vmgexit(hv_t *hv, uint32_t vcpu, uint64_t ghcb_msr)
{
	hv_exit_t x = {.action = HV_RESUME, .ghcb_msr = ghcb_msr};
	hv->cur_vcpu = vcpu;
	hv->cur_ghcb = 0;
	if (vcpu >= hv->cfg.max_vcpus || hv->vcpus[vcpu].state != HV_VCPU_RUNNING)
		return hv_stop(hv, x, HV_STOP_NO_VCPU);
	hv_vcpu_t *v = &hv->vcpus[vcpu];
	v->ghcb_msr = ghcb_msr;
	/* GHCBInfo (bits 11:0) nonzero: an MSR-protocol request (facts §3.1) */
	if (ghcb_msr & GHCB_MSR_INFO_MASK)
		x = hv_msr_protocol(hv, v, ghcb_msr);
	else
		x = hv_ghcb_exit(hv, v, ghcb_msr);
	if (x.action == HV_RESUME || x.action == HV_HOLD)
		v->ghcb_msr = x.ghcb_msr;
	return x;
}
