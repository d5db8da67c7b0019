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
	const void *main_stack; /* ASan: the main stack, learnt when the first vCPU starts */
	size_t main_stack_size;
	uint32_t cur; /* the running vCPU */
	uint64_t rng;
	uint64_t switches;
	uint64_t choice_points; /* choice points reached (machine_choice_t.index) */
	guint next_choice;      /* the next unused entry of sc->sched_choices */
	machine_guest_fn entry;
	void *entry_arg;
	/*
	 * The PVALIDATE/RMPADJUST event, reused: the fields guest_rmp_insn() does
	 * not set stay zero, so a per-page event costs no clearing of the whole
	 * struct (GCC clears it with `rep stosq`, slower than the rest of the
	 * event on this machine).
	 */
	sim_event_t insn_ev;
	/*
	 * insn_map()'s cache: the RAM range of the last translation, kept only
	 * while the hypervisor has not remapped any GFN (npt_remapped).
	 */
	const hv_mem_range_t *ram_hit;
	bool npt_remapped;
	checker_window_t *ckw; /* the checker's run window, or NULL without a checker */
	bool count_only[SIM_EV_KIND_MAX]; /* count_only() of each kind, fixed at machine_new() */
	/*
	 * For boundary_quiet(), fixed when the run starts: the event budget if no
	 * boundary can switch vCPUs (one vCPU, or no preemption probability, choice
	 * hook or listed choices), else 0 (and 0 before the run): never quiet.
	 */
	uint64_t quiet_seq;
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
	/* count_only() lists the kinds handled here: a kind added here goes there too */
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

/*
 * An event that only its counters see: no observer, the checker ignores its kind
 * and the summary only counts it (stats_event's default). The hot case is the
 * per-page RMPUPDATE of a 4K conversion, counted without building a sim_event_t.
 */
static bool count_only(const machine_t *m, uint32_t kind)
{
	switch (kind) {
	case SIM_EV_PVALIDATE:
	case SIM_EV_VMGEXIT:
	case SIM_EV_MSR_PROTOCOL:
	case SIM_EV_PSC_ENTRY:
	case SIM_EV_LAUNCH_UPDATE:
	case SIM_EV_VC:
	case SIM_EV_FAULT:
	case SIM_EV_VIOLATION:
		return false; /* stats_event does more than count them */
	case SIM_EV_NPT_REMAP:
	case SIM_EV_AP_CREATE:
	case SIM_EV_AP_DESTROY:
		return false; /* on_hv_event acts on them */
	default:
		break;
	}
	return !m->opts.observe && (!m->ck || !checker_wants(kind)) && kind < SIM_EV_KIND_MAX;
}

/* mach_emit for a count_only() event: the same sequence number and counters. */
static inline void emit_count(machine_t *m, uint32_t kind)
{
	++m->seq;
	m->st.events++;
	m->st.by_kind[kind]++;
	if (m->opts.progress && (m->seq & 0xFFFF) == 0)
		m->opts.progress(m->opts.progress_ctx, m->step, m->nsteps, m->seq);
}

/* mach_emit, inline where the kind is known (the per-page PVALIDATE): the stats fold */
static inline void emit(machine_t *m, sim_event_t *ev)
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

void mach_emit(machine_t *m, sim_event_t *ev)
{
	emit(m, ev);
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

/* on_hv_event's events that are more than counted; out of line to keep the counting path lean */
static G_GNUC_NO_INLINE void hv_event_full(machine_t *m, const hv_event_t *hev)
{
	if (hev->kind == HV_EV_NPT_REMAP) {
		/* insn_map() asks the hypervisor from now on */
		m->npt_remapped = true;
		m->ram_hit = NULL;
	}
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

static void on_hv_event(void *ctx, const hv_event_t *hev)
{
	machine_t *m = ctx;
	/* hv_event_kind_t and sim_ev_kind_t agree (event.c) */
	if (G_LIKELY((uint32_t)hev->kind < SIM_EV_KIND_MAX && m->count_only[hev->kind]))
		emit_count(m, (uint32_t)hev->kind);
	else
		hv_event_full(m, hev);
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
	fiber_switch(m, &cur->ctx, &cur->asan_fake_stack, &m->main_ctx, m->main_stack,
		     m->main_stack_size);
}

_Static_assert(SCENARIO_MAX_VCPUS <= 32, "vCPU sets are 32-bit masks");

/* The runnable vCPUs as a bitmask; the current one only if include_self. */
static uint32_t ready_set(const machine_t *m, bool include_self)
{
	uint32_t set = 0;
	for (uint32_t i = 0; i < m->sc->vcpus; i++)
		if (m->ports[i].state == VCPU_READY && (include_self || i != m->cur))
			set |= 1u << i;
	return set;
}

/* The k-th member (from 0, lowest vCPU first) of a non-empty set. */
static uint32_t set_nth(uint32_t set, uint32_t k)
{
	for (uint32_t i = 0;; i++)
		if (((set >> i) & 1u) && k-- == 0)
			return i;
}

/*
 * A choice point: ready holds two or more vCPUs. The scenario's choice list
 * decides if it names a ready vCPU for this point; otherwise the seeded policy
 * does: a forced decision (the current vCPU cannot go on) picks uniformly; at a
 * boundary the current vCPU is preempted with the scenario's probability and
 * the next one picked uniformly, itself included.
 */
static uint32_t sched_decide(machine_t *m, uint32_t ready, bool forced)
{
	machine_choice_t c = {.index = m->choice_points++, .vcpu = m->cur, .ready = ready,
			      .chosen = UINT32_MAX, .forced = forced};
	const GArray *list = m->sc->sched_choices;
	if (m->next_choice < list->len) {
		const sc_choice_t *e = &g_array_index(list, sc_choice_t, m->next_choice);
		if (e->at == c.index) {
			m->next_choice++;
			if (e->vcpu < 32 && ((ready >> e->vcpu) & 1u)) {
				c.chosen = e->vcpu;
				c.listed = true;
			}
		}
	}
	if (c.chosen == UINT32_MAX) {
		if (forced || (m->sc->preempt_ppm && rng_next(m) % 1000000u < m->sc->preempt_ppm))
			c.chosen = set_nth(ready, (uint32_t)(rng_next(m) %
							     (uint64_t)__builtin_popcount(ready)));
		else
			c.chosen = m->cur;
	}
	if (m->opts.on_choice)
		m->opts.on_choice(m->opts.choice_ctx, &c);
	return c.chosen;
}

/* A runnable vCPU other than the current one, chosen by the schedule; UINT32_MAX if none. */
static uint32_t pick_other(machine_t *m)
{
	uint32_t ready = ready_set(m, false);
	if (ready == 0)
		return UINT32_MAX;
	if ((ready & (ready - 1)) == 0)
		return set_nth(ready, 0); /* only one: no choice */
	return sched_decide(m, ready, true);
}

/*
 * The current vCPU cannot go on (its program ended, or it waits): run another,
 * or go back to the main loop when none is runnable.
 */
static void sched_away(machine_t *m)
{
	uint32_t next = pick_other(m);
	if (next == UINT32_MAX)
		back_to_main(m);
	else
		switch_to(m, next);
}

/*
 * mach_boundary(m, vcpu, false) below would return MS_OK and do nothing: not
 * ended, no stop requested, within the budget, and no preemption point can
 * switch (quiet_seq). Mirrors its tests in order; it spares the instruction
 * paths a call per boundary.
 */
static inline bool boundary_quiet(const machine_t *m)
{
	return !m->ended && !m->stop_requested && m->seq < m->quiet_seq;
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
		uint32_t next = pick_other(m);
		if (next == UINT32_MAX)
			return mach_stop(m, vcpu, SIM_STOP_DEADLOCK);
		switch_to(m, next);
	} else if (m->sc->preempt_ppm || m->opts.on_choice ||
		   m->next_choice < m->sc->sched_choices->len) {
		/* a preemption point; without any of the three, every decision is "go on" */
		uint32_t ready = ready_set(m, true);
		if (ready & (ready - 1))
			switch_to(m, sched_decide(m, ready, false));
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
	/*
	 * The first vCPU is entered from the main loop: keep the main stack's
	 * bounds for the switches back, or ASan (and LeakSanitizer's scan of that
	 * stack) takes it to be empty.
	 */
	const void *from_stack = NULL;
	size_t from_size = 0;
	__sanitizer_finish_switch_fiber(NULL, &from_stack, &from_size);
	if (!m->main_stack_size) {
		m->main_stack = from_stack;
		m->main_stack_size = from_size;
	}
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

/*
 * hv_npt_translate() for guest_rmp_insn(), which reads only kind and spa. RAM
 * is mapped SPA = GPA until the hypervisor remaps a GFN, and every remap is an
 * NPT_REMAP event that on_hv_event() sees (hv_npt_set): until the first one, the
 * RAM range of the last translation answers for the next page without a call.
 */
static inline hv_npt_map_t insn_map(machine_t *m, uint64_t gpa)
{
	const uint64_t page = gpa & ~(uint64_t)(SNP_PAGE_SIZE - 1);
	const hv_mem_range_t *r = m->ram_hit; /* NULL once anything is remapped */
	if (r && gpa - r->gpa < r->size)
		return (hv_npt_map_t){.kind = HV_NPT_RAM, .spa = page};
	hv_npt_map_t map = hv_npt_translate(m->hv, gpa);
	m->ram_hit = NULL;
	if (map.kind == HV_NPT_RAM && !m->npt_remapped && map.spa == page) {
		for (size_t i = 0; i < m->nranges; i++) {
			r = &m->ranges[i];
			if (r->kind == HV_MEM_RAM && gpa - r->gpa < r->size)
				m->ram_hit = r;
		}
	}
	return map;
}

/* PVALIDATE and RMPADJUST share the NPT walk, NPF retry and event. */
static inline mstat_t guest_rmp_insn(machine_t *m, uint32_t vcpu, sim_ev_kind_t kind,
				     uint64_t gpa, bool page_2m, bool validate, uint64_t attrs,
				     rmp_result_t *out)
{
	for (int tries = 0;; tries++) {
		hv_npt_map_t map = insn_map(m, gpa);
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
		/* every field an initializer would set; the others stay zero (insn_ev) */
		sim_event_t *ev = &m->insn_ev;
		ev->kind = kind;
		ev->vcpu = vcpu;
		ev->gpa = gpa;
		ev->spa = map.spa;
		ev->npages = page_2m ? SNP_PAGES_PER_2M : 1;
		ev->page_2m = page_2m;
		ev->validate = validate;
		ev->info1 = attrs;
		ev->status = r;
		emit(m, ev);
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

/* mach_port_pvalidate() in general: boundary, instruction (NPF retries), boundary */
static G_GNUC_NO_INLINE mstat_t pvalidate_insn(machine_t *m, uint32_t vcpu, uint64_t gpa,
					       bool page_2m, bool validate, rmp_result_t *out)
{
	if (mach_boundary(m, vcpu, false) == MS_HALT ||
	    guest_rmp_insn(m, vcpu, SIM_EV_PVALIDATE, gpa, page_2m, validate, 0, out) == MS_HALT)
		return MS_HALT;
	return mach_boundary(m, vcpu, false);
}

/* The port's PVALIDATE in general: pvalidate_insn(), unwinding the vCPU on MS_HALT. */
static G_GNUC_NO_INLINE uint32_t port_pvalidate_slow(struct gfw_port *p, uint64_t gpa,
						     bool page_2m, bool validate, uint32_t *cf)
{
	rmp_result_t r;
	if (pvalidate_insn(p->m, p->vcpu, gpa, page_2m, validate, &r) == MS_HALT)
		longjmp(p->halt, 1); /* as port_native.c unwinds */
	*cf = r.cf;
	return r.ret;
}

uint32_t mach_port_pvalidate(struct gfw_port *p, uint64_t gpa, uint32_t page_2m,
			     uint32_t validate, uint32_t *cf)
{
	/*
	 * The per-page case, flat: a quiet boundary, insn_map()'s cached RAM
	 * range, an instruction that completes. Anything else is pvalidate_insn(),
	 * which may run the instruction again: a PVALIDATE that faults changed
	 * nothing, and neither did the quiet boundary.
	 */
	machine_t *m = p->m;
	const hv_mem_range_t *ram = m->ram_hit;
	if (!G_LIKELY(boundary_quiet(m) && ram && gpa - ram->gpa < ram->size))
		return port_pvalidate_slow(p, gpa, page_2m, validate, cf);
	uint64_t spa = gpa & ~(uint64_t)(SNP_PAGE_SIZE - 1);
	rmp_result_t r = rmp_pvalidate(m->rmp, m->sc->asid, 0, gpa, spa, page_2m, validate);
	if (G_UNLIKELY(r.fault != RMP_FAULT_NONE))
		return port_pvalidate_slow(p, gpa, page_2m, validate, cf);
	if (G_LIKELY(!m->opts.observe && !page_2m && validate && r.ret == SNP_RET_SUCCESS &&
		     !r.cf && (!m->ckw || checker_window_take(m->ckw, m->seq + 1, p->vcpu, gpa,
							      spa)))) {
		/*
		 * The next page of a run of 4K validations, seen only by the
		 * counters and the checker, which took it without the event:
		 * emit()'s effects for it, as stats_event() counts it.
		 */
		++m->seq;
		m->st.events++;
		m->st.by_kind[SIM_EV_PVALIDATE]++;
		m->st.pvalidate_4k++;
		m->st.pvalidate_4k_pages++;
		if (m->opts.progress && (m->seq & 0xFFFF) == 0)
			m->opts.progress(m->opts.progress_ctx, m->step, m->nsteps, m->seq);
	} else {
		sim_event_t *ev = &m->insn_ev; /* as guest_rmp_insn() fills it */
		ev->kind = SIM_EV_PVALIDATE;
		ev->vcpu = p->vcpu;
		ev->gpa = gpa;
		ev->spa = spa;
		ev->npages = page_2m ? SNP_PAGES_PER_2M : 1;
		ev->page_2m = page_2m;
		ev->validate = validate;
		ev->info1 = 0;
		ev->status = r;
		emit(m, ev);
	}
	if (!boundary_quiet(m) && mach_boundary(m, p->vcpu, false) == MS_HALT)
		longjmp(p->halt, 1);
	*cf = r.cf;
	return r.ret;
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
		m->ckw = checker_window(m->ck);
	}
	for (uint32_t k = 0; k < SIM_EV_KIND_MAX; k++)
		m->count_only[k] = count_only(m, k);
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
	if (m->sc->vcpus == 1 ||
	    (!m->sc->preempt_ppm && !m->opts.on_choice && m->sc->sched_choices->len == 0))
		m->quiet_seq = m->opts.event_budget ? m->opts.event_budget : DEFAULT_BUDGET;
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
