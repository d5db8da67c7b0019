/* SPDX-License-Identifier: MIT */
/*
 * SNP_LAUNCH_UPDATE and SNP_LAUNCH_FINISH (facts §9.3): the VMM writes the
 * page contents while the pages are still its own, makes them private
 * (RMPUPDATE), and the SNP firmware validates them (rmp_launch_update). The
 * CPUID page is filled from the hypervisor's CPUID table (§9.1), the secrets
 * page in the §9.2 layout with keys derived from the seed.
 *
 * Not modeled: the launch digest, and the firmware's check of the CPUID table
 * against what the platform allows (snpsim's platform allows everything it is
 * configured with).
 */
#include "hv-private.h"

/* splitmix64: a fixed, seedable generator, so keys are a function of the seed */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static bool fill_cpuid(const hv_t *hv, uint8_t *page)
{
	if (hv->ncpuid == 0 || hv->ncpuid > SNP_CPUID_COUNT_MAX)
		return false; /* a guest rejects count 0 or > 64 (facts §9.1) */
	struct snp_cpuid_table t;
	memset(&t, 0, sizeof(t));
	t.count = (uint32_t)hv->ncpuid;
	for (size_t i = 0; i < hv->ncpuid; i++)
		t.fn[i] = hv->cpuid[i];
	memset(page, 0, SNP_PAGE_SIZE);
	memcpy(page, &t, sizeof(t));
	return true;
}

static void fill_secrets(const hv_t *hv, uint8_t *page)
{
	struct snp_secrets_page s;
	memset(&s, 0, sizeof(s));
	s.version = HV_SECRETS_VERSION;
	for (size_t i = 0; i < hv->ncpuid; i++)
		if (hv->cpuid[i].eax_in == 1)
			s.fms = hv->cpuid[i].eax; /* family/model/stepping as CPUID 1 EAX gives it */
	uint64_t st = hv->cfg.seed ^ 0x5345435245545321ull; /* "SECRETS!": keys differ from faults' */
	for (unsigned k = 0; k < 4; k++)
		for (unsigned i = 0; i < SNP_VMPCK_LEN; i += 8) {
			uint64_t r = splitmix64(&st);
			memcpy(&s.vmpck[k][i], &r, 8);
		}
	memcpy(page, &s, sizeof(s));
}

/* Host write of one page's contents before it becomes private; false if the RMP forbids it. */
static bool host_fill(hv_t *hv, uint64_t spa, uint32_t type, const uint8_t *src, size_t n)
{
	if (!rmp_ok(rmp_check_host_write(hv->rmp, spa, false)))
		return false;
	bool need = n || type == KVM_SEV_SNP_PAGE_TYPE_CPUID || type == KVM_SEV_SNP_PAGE_TYPE_SECRETS;
	uint8_t *p = hv->cfg.mem->page(hv->cfg.mem_ctx, spa, need);
	if (!p)
		return !need; /* NULL: the page reads as zero, which is what ZERO asks for */
	switch (type) {
	case KVM_SEV_SNP_PAGE_TYPE_CPUID: return fill_cpuid(hv, p);
	case KVM_SEV_SNP_PAGE_TYPE_SECRETS: fill_secrets(hv, p); return true;
	default:
		memset(p, 0, SNP_PAGE_SIZE);
		if (n)
			memcpy(p, src, n);
		return true;
	}
}

static bool overlaps_launched(const hv_t *hv, uint64_t gpa, uint64_t size)
{
	for (guint i = 0; i < hv->launched->len; i++) {
		const hv_mem_range_t *r = &g_array_index(hv->launched, hv_mem_range_t, i);
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return true;
	}
	return false;
}

static void emit_launch(hv_t *hv, uint64_t gpa, uint64_t spa, uint64_t npages, uint32_t type,
			bool page_2m, rmp_result_t r)
{
	hv_event_t ev = hv_ev(hv, HV_EV_LAUNCH_UPDATE);
	ev.gpa = gpa;
	ev.gfn = gpa >> SNP_PAGE_SHIFT;
	ev.spa = spa;
	ev.npages = npages;
	ev.op = type;
	ev.page_2m = page_2m;
	ev.status = r;
	hv_emit(hv, &ev);
}

bool hv_launch_update(hv_t *hv, uint64_t gpa, uint64_t size, uint32_t type, const void *data,
		      size_t data_len)
{
	if (!hv || hv->launch_done || size == 0 || (gpa & HV_MASK_4K) || (size & HV_MASK_4K))
		return false;
	if (type < KVM_SEV_SNP_PAGE_TYPE_NORMAL || type > KVM_SEV_SNP_PAGE_TYPE_CPUID)
		return false;
	bool single = type == KVM_SEV_SNP_PAGE_TYPE_VMSA || type == KVM_SEV_SNP_PAGE_TYPE_CPUID ||
		      type == KVM_SEV_SNP_PAGE_TYPE_SECRETS;
	if (single && size != SNP_PAGE_SIZE)
		return false;
	/* CPUID and SECRETS contents are the hypervisor's and the firmware's; ZERO is zero */
	bool content_ok = type == KVM_SEV_SNP_PAGE_TYPE_NORMAL ||
			  type == KVM_SEV_SNP_PAGE_TYPE_UNMEASURED || type == KVM_SEV_SNP_PAGE_TYPE_VMSA;
	if (data_len > size || (data_len && (!data || !content_ok)))
		return false;
	if (!hv_range_covers(hv, gpa, size, true) || overlaps_launched(hv, gpa, size))
		return false;
	const uint8_t *src = data;
	uint64_t end = gpa + size;
	for (uint64_t a = gpa; a < end;) {
		uint64_t gfn = a >> SNP_PAGE_SHIFT;
		/* 2M where the range and an identity 2M NPT region allow it, as KVM's gmem does */
		bool big = !single && !(a & HV_MASK_2M) && end - a >= SNP_PAGE_2M_SIZE &&
			   hv_region_2m_identity(hv, gfn);
		uint64_t npages = big ? SNP_PAGES_PER_2M : 1;
		hv_npt_map_t m = hv_npt_translate(hv, a);
		uint64_t spa = m.spa;
		for (uint64_t i = 0; i < npages; i++) {
			uint64_t off = a + i * SNP_PAGE_SIZE - gpa;
			size_t n = off < data_len ? (size_t)MIN((uint64_t)SNP_PAGE_SIZE, data_len - off) : 0;
			if (!host_fill(hv, spa + i * SNP_PAGE_SIZE, type, n ? src + off : NULL, n))
				return false;
		}
		rmp_result_t r = hv_rmpupdate(hv, spa, a, true, big);
		if (rmp_ok(r))
			r = rmp_launch_update(hv->rmp, spa, hv->cfg.asid, a, big,
					      type == KVM_SEV_SNP_PAGE_TYPE_VMSA);
		emit_launch(hv, a, spa, npages, type, big, r);
		if (!rmp_ok(r))
			return false;
		if (type == KVM_SEV_SNP_PAGE_TYPE_VMSA && hv->launch_vmsas < hv->cfg.max_vcpus) {
			/* launched VMSAs belong to vCPUs 0, 1, ... in order, as QEMU adds them */
			hv_vcpu_t *v = &hv->vcpus[hv->launch_vmsas];
			v->vmsa_gpa = a;
			v->vmsa_spa = spa;
		}
		if (type == KVM_SEV_SNP_PAGE_TYPE_VMSA)
			hv->launch_vmsas++;
		a += npages * SNP_PAGE_SIZE;
	}
	hv_mem_range_t lr = {.gpa = gpa, .size = size, .kind = HV_MEM_RAM};
	g_array_append_val(hv->launched, lr);
	return true;
}

bool hv_launch_finish(hv_t *hv)
{
	if (!hv || hv->launch_done)
		return false;
	/* The VMSAs of the vCPUs that run are in use by a logical processor from now on. */
	uint32_t n = MIN(hv->launch_vmsas, hv->cfg.max_vcpus);
	for (uint32_t i = 0; i < n; i++) {
		hv_vcpu_t *v = &hv->vcpus[i];
		if (v->state == HV_VCPU_RUNNING && !v->vmsa_in_use) {
			if (!rmp_set_in_use(hv->rmp, v->vmsa_spa, true))
				return false;
			v->vmsa_in_use = true;
		}
	}
	hv->launch_done = true;
	return true;
}

size_t hv_launch_ranges(const hv_t *hv, const hv_mem_range_t **out)
{
	*out = (const hv_mem_range_t *)(void *)hv->launched->data;
	return hv->launched->len;
}
