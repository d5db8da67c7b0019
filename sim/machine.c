/* SPDX-License-Identifier: MIT */
/*
 * The machine core: set-up from a scenario, the event stream, the model
 * operations both engines share, and the vCPUs. Each vCPU runs its guest code
 * on its own stack (ucontext); a deterministic scheduler, driven by the
 * scenario's schedule seed, decides at every port boundary which vCPU runs on,
 * so any interleaving replays from the trace header. A run ends with the guest's
 * termination request, a hypervisor stop, a machine stop or the end of every
 * program; the first three unwind the vCPU with longjmp (port_native.c).
 */
#include "machine-private.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "simerr.h"

#if defined(__SANITIZE_ADDRESS__)
#define SNPSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SNPSIM_ASAN 1
#endif
#endif
#ifdef SNPSIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define DEFAULT_BUDGET (1ull << 40)
#define VCPU_STACK (1u << 20)

struct machine {
	scenario_t *sc;
	machine_opts_t opts;
	rmp_t *rmp;
	hv_t *hv;
	physmem_t *mem;
	checker_t *ck;
	gfw_t *g;
	struct gfw_port ports[SCENARIO_MAX_VCPUS];
	gfw_cpu_t cpus[SCENARIO_MAX_VCPUS];
	hv_mem_range_t *ranges;
	size_t nranges;
	uint64_t seq;
	machine_stats_t st;
	machine_result_t res;
	bool stop_requested; /* a violation with stop_on_violation: unwind at the next boundary */
	bool ended;
	uint32_t step, nsteps;
	/* scheduler */
	ucontext_t main_ctx;
	void *main_fake_stack;
	uint32_t cur; /* the running vCPU */
	uint64_t rng;
	uint64_t switches;
	machine_guest_fn entry;
	void *entry_arg;
};

/* ------------------------------------------------------------------ events */

static void stats_count(GHashTable *h, uint64_t key)
{
	gpointer k = GSIZE_TO_POINTER((gsize)key);
	g_hash_table_insert(h, k, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(g_hash_table_lookup(h, k)) + 1));
}

static void stats_event(machine_stats_t *st, const sim_event_t *ev)
{
	st->events++;
	if (ev->kind < SIM_EV_KIND_MAX)
		st->by_kind[ev->kind]++;
	switch (ev->kind) {
	case SIM_EV_PVALIDATE:
		if (ev->page_2m)
			st->pvalidate_2m++;
		else
			st->pvalidate_4k++;
		if (rmp_ok(ev->status) && !ev->status.cf) {
			uint64_t n = ev->npages;
			if (!ev->validate)
				st->rescinded_pages += n;
			else if (ev->page_2m)
				st->pvalidate_2m_pages += n;
			else
				st->pvalidate_4k_pages += n;
		}
		break;
	case SIM_EV_VMGEXIT:
		stats_count(st->vmgexits, ev->exit_reason);
		if (ev->exit_reason == SVM_VMGEXIT_PSC)
			st->psc_requests_ghcb++;
		break;
	case SIM_EV_MSR_PROTOCOL:
		stats_count(st->msr_protocol, ev->info1 & GHCB_MSR_INFO_MASK);
		if ((ev->info1 & GHCB_MSR_INFO_MASK) == GHCB_MSR_PSC_REQ)
			st->psc_requests_msr++;
		break;
	case SIM_EV_PSC_ENTRY:
		st->psc_entries++;
		break;
	case SIM_EV_LAUNCH_UPDATE:
		st->launch_pages += ev->npages;
		break;
	case SIM_EV_VC:
		stats_count(st->vc, ev->code);
		break;
	case SIM_EV_FAULT:
		st->faults_injected++;
		break;
	case SIM_EV_VIOLATION:
		if (ev->invariant < SIM_INV_MAX)
			st->violations[ev->invariant]++;
		break;
	default:
		break;
	}
}

void mach_emit(machine_t *m, sim_event_t *ev)
{
	ev->seq = ++m->seq;
	stats_event(&m->st, ev);
	/* the event reaches the trace before the violations it causes (seq order on disk) */
	if (m->opts.observe)
		m->opts.observe(m->opts.observe_ctx, ev);
	if (m->ck)
		checker_event(m->ck, ev);
	if (m->opts.progress && (m->seq & 0xFFFF) == 0)
		m->opts.progress(m->opts.progress_ctx, m->step, m->nsteps, m->seq);
}

static void on_violation(void *ctx, const sim_event_t *v)
{
	machine_t *m = ctx;
	sim_event_t ev = *v;
	mach_emit(m, &ev);
	if (m->res.violations++ == 0)
		m->res.first_violation = ev;
	if (m->opts.stop_on_violation)
		m->stop_requested = true;
}

static void on_hv_event(void *ctx, const hv_event_t *hev)
{
	machine_t *m = ctx;
	sim_event_t ev;
	sim_event_from_hv(&ev, hev);
	if (ev.kind == SIM_EV_RMPUPDATE && ev.assigned)
		ev.asid = m->sc->asid;
	mach_emit(m, &ev);
	/* an AP created by the NAE event becomes runnable; a destroyed one stops */
	if (hev->kind == HV_EV_AP_CREATE && hev->vcpu < m->sc->vcpus &&
	    m->ports[hev->vcpu].state == VCPU_ABSENT)
		m->ports[hev->vcpu].state = VCPU_READY;
	if (hev->kind == HV_EV_AP_DESTROY && hev->vcpu < m->sc->vcpus && hev->vcpu != m->cur)
		m->ports[hev->vcpu].state = VCPU_DONE;
}

/* ------------------------------------------------------------------ ending a run */

static void end_run(machine_t *m, sim_outcome_t o, uint32_t vcpu)
{
	if (m->ended)
		return;
	m->ended = true;
	m->res.outcome = o;
	m->res.vcpu = vcpu;
}

bool mach_ended(const machine_t *m)
{
	return m->ended;
}

mstat_t mach_stop(machine_t *m, uint32_t vcpu, uint32_t stop)
{
	if (!m->ended) {
		sim_event_t ev = {.kind = SIM_EV_STOP, .vcpu = vcpu, .stop = stop};
		mach_emit(m, &ev);
		m->res.stop = stop;
		end_run(m, SIM_OUTCOME_STOPPED, vcpu);
	}
	return MS_HALT;
}

/* ------------------------------------------------------------------ scheduler */

static uint64_t rng_next(machine_t *m)
{
	/* splitmix64: the schedule is a pure function of the seed */
	uint64_t z = (m->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void fiber_switch(machine_t *m, ucontext_t *from, void **from_fake, ucontext_t *to,
			 const void *to_stack, size_t to_size)
{
#ifdef SNPSIM_ASAN
	__sanitizer_start_switch_fiber(from_fake, to_stack, to_size);
	swapcontext(from, to);
	__sanitizer_finish_switch_fiber(*from_fake, NULL, NULL);
#else
	(void)from_fake;
	(void)to_stack;
	(void)to_size;
	swapcontext(from, to);
#endif
	(void)m;
}

static bool vcpu_prepare(machine_t *m, struct gfw_port *p);

static void switch_to(machine_t *m, uint32_t next)
{
	struct gfw_port *cur = &m->ports[m->cur], *to = &m->ports[next];
	if (next == m->cur)
		return;
	if (!to->started && !vcpu_prepare(m, to)) {
		to->state = VCPU_DONE; /* no stack for it: it never runs */
		return;
	}
	m->switches++;
	m->cur = next;
	fiber_switch(m, &cur->ctx, &cur->asan_fake_stack, &to->ctx, to->stack, to->stack_size);
}

static void back_to_main(machine_t *m)
{
	struct gfw_port *cur = &m->ports[m->cur];
	fiber_switch(m, &cur->ctx, &cur->asan_fake_stack, &m->main_ctx, NULL, 0);
}

/* A runnable vCPU other than the current one, chosen by the schedule; UINT32_MAX if none. */
static uint32_t pick_other(machine_t *m, bool include_self)
{
	uint32_t cand[SCENARIO_MAX_VCPUS], n = 0;
	for (uint32_t i = 0; i < m->sc->vcpus; i++)
		if (m->ports[i].state == VCPU_READY && (include_self || i != m->cur))
			cand[n++] = i;
	if (n == 0)
		return UINT32_MAX;
	return n == 1 ? cand[0] : cand[rng_next(m) % n];
}

/*
 * The current vCPU cannot go on (its program ended, or it waits): run another,
 * or go back to the main loop when none is runnable.
 */
static void sched_away(machine_t *m)
{
	uint32_t next = pick_other(m, false);
	if (next == UINT32_MAX)
		back_to_main(m);
	else
		switch_to(m, next);
}

mstat_t mach_boundary(machine_t *m, uint32_t vcpu, bool spin)
{
	if (m->ended)
		return MS_HALT;
	if (m->stop_requested) {
		end_run(m, SIM_OUTCOME_VIOLATION, vcpu);
		return MS_HALT;
	}
	if (m->seq >= (m->opts.event_budget ? m->opts.event_budget : DEFAULT_BUDGET))
		return mach_stop(m, vcpu, SIM_STOP_BUDGET);
	if (m->sc->vcpus == 1)
		return MS_OK;
	if (spin) {
		/* a spinning vCPU needs another to make progress */
		uint32_t next = pick_other(m, false);
		if (next == UINT32_MAX)
			return mach_stop(m, vcpu, SIM_STOP_DEADLOCK);
		switch_to(m, next);
	} else if (m->sc->preempt_ppm && rng_next(m) % 1000000u < m->sc->preempt_ppm) {
		uint32_t next = pick_other(m, true);
		if (next != UINT32_MAX)
			switch_to(m, next);
	}
	/* back on this vCPU: the world may have ended meanwhile */
	return m->ended ? MS_HALT : MS_OK;
}

/* Runs one vCPU's guest code on its own stack. Never returns. */
static void vcpu_main(unsigned lo, unsigned hi)
{
	struct gfw_port *p = (struct gfw_port *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
	machine_t *m = p->m;
#ifdef SNPSIM_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	if (setjmp(p->halt) == 0) {
		if (p->vcpu == 0 && m->entry) {
			m->entry(p, m->entry_arg);
		} else {
			const GArray *prog = m->sc->program[p->vcpu];
			if (p->vcpu != 0)
				hv_vcpu_start(m->hv, p->vcpu);
			gfw_run(p->cpu, (const gfw_step_t *)prog->data, prog->len);
		}
		p->state = VCPU_DONE;
		if (m->stop_requested)
			end_run(m, SIM_OUTCOME_VIOLATION, p->vcpu);
	}
	if (m->ended)
		back_to_main(m);
	sched_away(m);
	/* nothing runnable resumed us: the main loop owns the rest */
	back_to_main(m);
	abort(); /* unreachable: main never resumes a finished vCPU */
}

static bool vcpu_prepare(machine_t *m, struct gfw_port *p)
{
	p->stack_size = VCPU_STACK;
	p->stack = mmap(NULL, p->stack_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->stack == MAP_FAILED) {
		p->stack = NULL;
		return false;
	}
	getcontext(&p->ctx);
	p->ctx.uc_stack.ss_sp = p->stack;
	p->ctx.uc_stack.ss_size = p->stack_size;
	p->ctx.uc_link = &m->main_ctx;
	uintptr_t ptr = (uintptr_t)p;
	makecontext(&p->ctx, (void (*)(void))vcpu_main, 2, (unsigned)(ptr & 0xFFFFFFFFu),
		    (unsigned)(ptr >> 32));
	p->started = true;
	return true;
}

/* ------------------------------------------------------------------ model operations */

static mstat_t handle_npf(machine_t *m, uint32_t vcpu, uint64_t gpa, uint64_t error_code,
			  int tries)
{
	hv_npf_action_t a = hv_handle_npf(m->hv, vcpu, gpa, error_code);
	if (m->ended)
		return MS_HALT;
	if (a != HV_NPF_RETRY)
		return mach_stop(m, vcpu, HV_STOP_NPF_UNRESOLVED);
	if (tries >= MACH_FAULT_RETRIES)
		return mach_stop(m, vcpu, SIM_STOP_NPF_LOOP);
	return MS_OK;
}

/* PVALIDATE and RMPADJUST share the NPT walk, NPF retry and event. */
static mstat_t guest_rmp_insn(machine_t *m, uint32_t vcpu, sim_ev_kind_t kind, uint64_t gpa,
			      bool page_2m, bool validate, uint64_t attrs, rmp_result_t *out)
{
	for (int tries = 0;; tries++) {
		hv_npt_map_t map = hv_npt_translate(m->hv, gpa);
		if (map.kind != HV_NPT_RAM)
			return mach_stop(m, vcpu, SIM_STOP_BAD_ACCESS);
		rmp_result_t r =
			kind == SIM_EV_PVALIDATE
				? rmp_pvalidate(m->rmp, m->sc->asid, 0, gpa, map.spa, page_2m, validate)
				: rmp_rmpadjust(m->rmp, m->sc->asid, 0, gpa, map.spa, page_2m, attrs);
		if (r.fault == RMP_FAULT_NPF) {
			if (handle_npf(m, vcpu, gpa, r.error_code, tries) == MS_HALT)
				return MS_HALT;
			continue;
		}
		sim_event_t ev = {.kind = kind,
				  .vcpu = vcpu,
				  .gpa = gpa,
				  .spa = map.spa,
				  .npages = page_2m ? SNP_PAGES_PER_2M : 1,
				  .page_2m = page_2m,
				  .validate = validate,
				  .info1 = attrs,
				  .status = r};
		mach_emit(m, &ev);
		if (r.fault != RMP_FAULT_NONE) /* #GP: no handler in guestfw */
			return mach_stop(m, vcpu, SIM_STOP_GUEST_EXCEPTION);
		*out = r;
		return MS_OK;
	}
}

mstat_t mach_pvalidate(machine_t *m, uint32_t vcpu, uint64_t gpa, bool page_2m, bool validate,
		       rmp_result_t *out)
{
	return guest_rmp_insn(m, vcpu, SIM_EV_PVALIDATE, gpa, page_2m, validate, 0, out);
}

mstat_t mach_rmpadjust(machine_t *m, uint32_t vcpu, uint64_t gpa, bool page_2m, uint64_t attrs,
		       rmp_result_t *out)
{
	return guest_rmp_insn(m, vcpu, SIM_EV_RMPADJUST, gpa, page_2m, false, attrs, out);
}

mstat_t mach_vmgexit(machine_t *m, uint32_t vcpu, uint64_t *vc_code)
{
	struct gfw_port *p = &m->ports[vcpu];
	*vc_code = 0;
	hv_exit_t x = hv_vmgexit(m->hv, vcpu, p->ghcb_msr);
	p->ghcb_msr = x.ghcb_msr;
	switch (x.action) {
	case HV_RESUME:
		break;
	case HV_TERMINATED:
		if (!m->ended) {
			m->res.set = x.term_set;
			m->res.code = x.term_code;
			end_run(m, SIM_OUTCOME_TERMINATED, vcpu);
		}
		return MS_HALT;
	case HV_STOPPED:
		if (!m->ended) {
			m->res.stop = x.stop;
			end_run(m, SIM_OUTCOME_STOPPED, vcpu);
		}
		return MS_HALT;
	case HV_HOLD:
		/* parked until the hypervisor wakes it; others run meanwhile */
		p->state = VCPU_HELD;
		sched_away(m);
		if (m->ended)
			return MS_HALT;
		p->ghcb_msr = hv_initial_ghcb_msr(m->hv); /* woken: re-read by the guest */
		break;
	}
	if (m->ended)
		return MS_HALT;
	if (x.inject_vc)
		*vc_code = x.vc_code;
	return MS_OK;
}

macc_t mach_access(machine_t *m, uint32_t vcpu, uint64_t gpa, rmp_access_t access, bool private,
		   int tries, hv_npt_map_t *map, uint64_t *vc_code)
{
	for (;; tries++) {
		*map = hv_npt_translate(m->hv, gpa);
		if (map->kind == HV_NPT_MMIO) {
			/* reserved-bit NPT entry: #VC 0x400 for the MMIO emulation path */
			if (tries >= MACH_FAULT_RETRIES) {
				mach_stop(m, vcpu, SIM_STOP_VC_LOOP);
				return MACC_HALT;
			}
			*vc_code = SVM_EXIT_NPF;
			return MACC_VC;
		}
		if (map->kind == HV_NPT_UNMAPPED) {
			mach_stop(m, vcpu, SIM_STOP_BAD_ACCESS);
			return MACC_HALT;
		}
		rmp_result_t r = rmp_check_access(m->rmp, m->sc->asid, 0, gpa, map->spa, map->level_2m,
						  access, private);
		if (r.fault == RMP_FAULT_VC) {
			if (tries >= MACH_FAULT_RETRIES) {
				mach_stop(m, vcpu, SIM_STOP_VC_LOOP);
				return MACC_HALT;
			}
			*vc_code = r.error_code;
			return MACC_VC;
		}
		if (r.fault == RMP_FAULT_NPF) {
			if (handle_npf(m, vcpu, gpa, r.error_code, tries) == MS_HALT)
				return MACC_HALT;
			continue;
		}
		return MACC_DONE;
	}
}

void mach_after_access(machine_t *m, uint32_t vcpu, uint64_t gpa, rmp_access_t access,
		       uint64_t *vc_code)
{
	*vc_code = 0;
	if (hv_wants_access_events(m->hv)) {
		uint64_t code;
		if (hv_guest_access(m->hv, vcpu, gpa, access, &code))
			*vc_code = code;
	}
}

void mach_vc_event(machine_t *m, uint32_t vcpu, uint64_t code, uint64_t gpa)
{
	sim_event_t ev = {.kind = SIM_EV_VC, .vcpu = vcpu, .code = code, .gpa = gpa};
	mach_emit(m, &ev);
}

void mach_note(machine_t *m, uint32_t vcpu, const gfw_note_t *note)
{
	if (note->kind == GFW_NOTE_STEP && vcpu == 0)
		m->step = note->arg;
	sim_event_t ev = {.kind = SIM_EV_NOTE,
			  .vcpu = vcpu,
			  .op = note->kind,
			  .gpa = note->gpa,
			  .npages = note->npages,
			  .info1 = note->arg};
	mach_emit(m, &ev);
	if (note->kind == GFW_NOTE_STEP && m->opts.progress)
		m->opts.progress(m->opts.progress_ctx, m->step, m->nsteps, m->seq);
}

physmem_t *mach_physmem(machine_t *m)
{
	return m->mem;
}

hv_t *mach_hv(machine_t *m)
{
	return m->hv;
}

struct gfw_port *mach_vcpu(machine_t *m, uint32_t vcpu)
{
	return vcpu < SCENARIO_MAX_VCPUS ? &m->ports[vcpu] : NULL;
}

/* ------------------------------------------------------------------ set-up */

static uint8_t *mem_page(void *ctx, uint64_t spa, bool create)
{
	(void)create; /* regions are reserved whole: a page always exists once mapped */
	return physmem_ptr(ctx, spa & ~(SNP_PAGE_SIZE - 1));
}

static const hv_mem_ops_t mem_ops = {.page = mem_page};

/*
 * The hypervisor's CPUID answers: a plain AMD64 processor with SEV-SNP, what a
 * CPUID page needs for guestfw (vendor, features, the SEV leaf with the C-bit),
 * with COHERENCY_SFW_NO set so the eviction touch is skipped as on Genoa.
 */
static size_t default_cpuid(uint8_t cbit, struct snp_cpuid_fn *fn)
{
	size_t n = 0;
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0, .eax = 0xD, .ebx = 0x68747541,
					.ecx = 0x444D4163, .edx = 0x69746E65}; /* AuthenticAMD */
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 1, .eax = 0x00A10F11, .ebx = 0x00010800,
					.ecx = 0x7ED8320B, .edx = 0x178BFBFF};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 7, .ebx = 0x219C97A9};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x80000000, .eax = 0x80000021,
					.ebx = 0x68747541, .ecx = 0x444D4163, .edx = 0x69746E65};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x80000001, .eax = 0x00A10F11,
					.ecx = 0x75C237FF, .edx = 0x2FD3FBFF};
	fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x80000008, .eax = 0x3030};
	fn[n++] = (struct snp_cpuid_fn){
		.eax_in = CPUID_FN_SEV,
		.eax = CPUID_SEV_EAX_SEV | CPUID_SEV_EAX_SEV_ES | CPUID_SEV_EAX_SNP | CPUID_SEV_EAX_VMPL,
		.ebx = (cbit & CPUID_SEV_EBX_CBIT_MASK) | (1u << 6) | (4u << 12) |
		       CPUID_SEV_EBX_COHERENCY_SFW_NO,
		.ecx = 1006,
		.edx = 1};
	return n;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

machine_t *machine_new(const scenario_t *sc, const machine_opts_t *opts, GError **err)
{
	if (!scenario_validate(sc, err))
		return NULL;
	machine_t *m = g_new0(machine_t, 1);
	m->sc = (scenario_t *)sc;
	if (opts)
		m->opts = *opts;
	m->st.vmgexits = g_hash_table_new(g_direct_hash, g_direct_equal);
	m->st.msr_protocol = g_hash_table_new(g_direct_hash, g_direct_equal);
	m->st.vc = g_hash_table_new(g_direct_hash, g_direct_equal);
	m->mem = physmem_new();

	/* identity NPT: RAM at SPA = GPA; the spare pool sits above the highest RAM */
	uint64_t top = 0;
	m->ranges = g_new0(hv_mem_range_t, sc->mem->len);
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *e = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		if (e->type == GFW_MEM_RESERVED)
			continue;
		m->ranges[m->nranges++] = (hv_mem_range_t){
			.gpa = e->gpa, .size = e->size,
			.kind = e->type == GFW_MEM_RAM ? HV_MEM_RAM : HV_MEM_MMIO};
		if (e->type == GFW_MEM_RAM) {
			if (!physmem_add(m->mem, e->gpa, e->size, err))
				goto fail;
			if (e->gpa + e->size > top)
				top = e->gpa + e->size;
		}
	}
	uint64_t spare = align_up(top, SNP_PAGE_2M_SIZE);
	uint64_t spare_bytes = align_up(sc->spare_pages * SNP_PAGE_SIZE, SNP_PAGE_2M_SIZE);
	if (spare_bytes && !physmem_add(m->mem, spare, spare_bytes, err))
		goto fail;
	m->rmp = rmp_new(spare + spare_bytes ? spare + spare_bytes : SNP_PAGE_2M_SIZE);
	if (!m->rmp) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "%s: memory map too large for the RMP model", sc->origin);
		goto fail;
	}

	struct snp_cpuid_fn cpuid[SNP_CPUID_COUNT_MAX];
	hv_config_t hc;
	hv_config_defaults(&hc);
	hc.asid = sc->asid;
	hc.max_vcpus = sc->vcpus;
	hc.cbit = sc->cbit;
	hc.proto_min = sc->proto_min;
	hc.proto_max = sc->proto_max;
	hc.features = sc->features;
	hc.ranges = m->ranges;
	hc.nranges = m->nranges;
	hc.cpuid = cpuid;
	hc.ncpuid = default_cpuid(sc->cbit, cpuid);
	hc.seed = sc->seed;
	hc.psc_max_entries = sc->psc_max_entries;
	hc.strict_psc_ops = sc->strict_psc_ops;
	hc.implicit_conversion = sc->implicit_conversion;
	hc.spare_spa = spare;
	hc.spare_pages = spare_bytes / SNP_PAGE_SIZE;
	hc.mem = &mem_ops;
	hc.mem_ctx = m->mem;
	hc.emit = on_hv_event;
	hc.emit_ctx = m;
	const char *herr = NULL;
	m->hv = hv_new(m->rmp, &hc, &herr);
	if (!m->hv) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s: hypervisor configuration: %s",
			    sc->origin, herr ? herr : "invalid");
		goto fail;
	}
	if (sc->faults->len &&
	    !hv_set_fault_plan(m->hv, (const hv_fault_t *)sc->faults->data, sc->faults->len,
			       sc->seed)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s: the fault plan is invalid",
			    sc->origin);
		goto fail;
	}
	if (!m->opts.no_checker) {
		m->ck = checker_new(m->rmp, sc->asid, on_violation, m);
		if (!m->ck) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "out of memory");
			goto fail;
		}
	}
	for (uint32_t i = 0; i < SCENARIO_MAX_VCPUS; i++) {
		m->ports[i].m = m;
		m->ports[i].vcpu = i;
		m->ports[i].ghcb_msr = hv_initial_ghcb_msr(m->hv);
	}
	return m;
fail:
	machine_free(m);
	return NULL;
}

void machine_free(machine_t *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < SCENARIO_MAX_VCPUS; i++)
		if (m->ports[i].stack)
			munmap(m->ports[i].stack, m->ports[i].stack_size);
	checker_free(m->ck);
	hv_free(m->hv);
	rmp_free(m->rmp);
	physmem_free(m->mem);
	g_free(m->ranges);
	g_free(m->g);
	if (m->st.vmgexits)
		g_hash_table_destroy(m->st.vmgexits);
	if (m->st.msr_protocol)
		g_hash_table_destroy(m->st.msr_protocol);
	if (m->st.vc)
		g_hash_table_destroy(m->st.vc);
	g_free(m);
}

/* Launch as SNP_LAUNCH_UPDATE would; a refusal is a scenario error, recorded as a stop. */
static bool launch(machine_t *m)
{
	for (guint i = 0; i < m->sc->launch->len; i++) {
		const sc_launch_t *l = &g_array_index(m->sc->launch, sc_launch_t, i);
		if (!hv_launch_update(m->hv, l->gpa, l->size, l->type, NULL, 0))
			return false;
	}
	return hv_launch_finish(m->hv);
}

static void finish(machine_t *m)
{
	if (m->ck)
		checker_finish(m->ck, m->res.outcome);
	sim_event_t ev = {.kind = SIM_EV_END,
			  .vcpu = m->res.vcpu,
			  .op = m->res.outcome,
			  .set = m->res.set,
			  .reason = m->res.code,
			  .stop = m->res.stop};
	mach_emit(m, &ev);
}

static const machine_result_t *run(machine_t *m, machine_guest_fn entry, void *arg)
{
	if (!launch(m)) {
		end_run(m, SIM_OUTCOME_STOPPED, 0);
		m->res.stop = SIM_STOP_BAD_ACCESS;
		finish(m);
		return &m->res;
	}
	if (!entry) {
		gfw_config_t cfg;
		scenario_gfw_config(m->sc, &cfg);
		m->g = g_new0(gfw_t, 1);
		if (!gfw_init(m->g, &cfg)) {
			end_run(m, SIM_OUTCOME_STOPPED, 0);
			m->res.stop = SIM_STOP_GUEST_EXCEPTION;
			finish(m);
			return &m->res;
		}
		for (uint32_t i = 0; i < m->sc->vcpus; i++) {
			gfw_cpu_init(&m->cpus[i], m->g, &m->ports[i], i);
			m->ports[i].cpu = &m->cpus[i];
		}
	}
	m->entry = entry;
	m->entry_arg = arg;
	m->nsteps = m->sc->program[0]->len;
	m->rng = m->sc->sched_seed;
	m->ports[0].state = VCPU_READY;
	while (!m->ended) {
		uint32_t next = UINT32_MAX;
		for (uint32_t i = 0; i < m->sc->vcpus && next == UINT32_MAX; i++)
			if (m->ports[i].state == VCPU_READY)
				next = i;
		if (next == UINT32_MAX)
			break;
		struct gfw_port *p = &m->ports[next];
		if (!p->started && !vcpu_prepare(m, p)) {
			mach_stop(m, next, SIM_STOP_GUEST_EXCEPTION);
			break;
		}
		m->cur = next;
		fiber_switch(m, &m->main_ctx, &m->main_fake_stack, &p->ctx, p->stack, p->stack_size);
	}
	if (!m->ended) {
		/* nothing is runnable: done when the BSP finished (held APs idle on) */
		if (m->ports[0].state == VCPU_DONE)
			end_run(m, SIM_OUTCOME_COMPLETED, 0);
		else
			mach_stop(m, 0, SIM_STOP_DEADLOCK);
	}
	finish(m);
	return &m->res;
}

const machine_result_t *machine_run(machine_t *m)
{
	return run(m, NULL, NULL);
}

const machine_result_t *machine_run_guest(machine_t *m, machine_guest_fn entry, void *arg)
{
	return run(m, entry, arg);
}

const machine_stats_t *machine_stats(const machine_t *m)
{
	return &m->st;
}

const machine_result_t *machine_result(const machine_t *m)
{
	return &m->res;
}

const scenario_t *machine_scenario(const machine_t *m)
{
	return m->sc;
}

const uint8_t *machine_debug_output(const machine_t *m, size_t *len)
{
	return hv_debug_output(m->hv, len);
}

rmp_t *machine_rmp(machine_t *m)
{
	return m->rmp;
}

bool machine_meets_expectations(const machine_t *m, char **why)
{
	const scenario_t *sc = m->sc;
	const machine_result_t *r = &m->res;
	GString *s = g_string_new(NULL);
	if (sc->expect_outcome != SIM_OUTCOME_NONE && r->outcome != sc->expect_outcome)
		g_string_append_printf(s, "expected outcome %s, got %s; ",
				       sim_outcome_to_string(sc->expect_outcome),
				       sim_outcome_to_string(r->outcome));
	else if (sc->expect_reason && r->outcome == SIM_OUTCOME_TERMINATED &&
		 (r->set != sc->expect_set || r->code != sc->expect_code))
		g_string_append_printf(s, "expected termination %s (%u/%u), got %s (%u/%u); ",
				       gfw_term_name(sc->expect_set, sc->expect_code),
				       sc->expect_set, sc->expect_code,
				       gfw_term_name(r->set, r->code), r->set, r->code);
	else if (sc->expect_reason && r->outcome == SIM_OUTCOME_STOPPED && r->stop != sc->expect_stop)
		g_string_append_printf(s, "expected stop %s, got %s; ",
				       sim_stop_to_string(sc->expect_stop), sim_stop_to_string(r->stop));
	if (sc->expect_outcome == SIM_OUTCOME_NONE && r->outcome != SIM_OUTCOME_COMPLETED)
		g_string_append_printf(s, "the run did not complete (%s); ",
				       sim_outcome_to_string(r->outcome));
	bool expected[SIM_INV_MAX] = {0};
	for (guint i = 0; i < sc->expect_violations->len; i++) {
		sim_invariant_t inv = g_array_index(sc->expect_violations, sim_invariant_t, i);
		expected[inv] = true;
		if (m->st.violations[inv] == 0)
			g_string_append_printf(s, "expected invariant %s to fire, it did not; ",
					       sim_invariant_to_string(inv));
	}
	for (int inv = 1; inv < SIM_INV_MAX; inv++)
		if (!expected[inv] && m->st.violations[inv])
			g_string_append_printf(s, "invariant %s violated %" G_GUINT64_FORMAT " time(s); ",
					       sim_invariant_to_string((sim_invariant_t)inv),
					       m->st.violations[inv]);
	bool ok = s->len == 0;
	if (s->len >= 2)
		g_string_truncate(s, s->len - 2);
	if (why)
		*why = g_string_free(s, FALSE);
	else
		g_string_free(s, TRUE);
	return ok;
}
