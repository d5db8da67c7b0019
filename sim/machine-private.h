/* SPDX-License-Identifier: MIT */
/*
 * Inside the machine: the model operations both engines share (the native arch
 * port in port_native.c, the Unicorn engine in emu.c), vCPU state and the
 * scheduler. Each operation emits its events and returns MS_HALT once the run
 * has ended (the outcome is already recorded); the engine then unwinds its vCPU.
 */
#ifndef SNPSIM_SIM_MACHINE_PRIVATE_H
#define SNPSIM_SIM_MACHINE_PRIVATE_H

#include <setjmp.h>
#include <ucontext.h>

#include "hv.h"
#include "machine.h"
#include "physmem.h"

typedef enum mstat {
	MS_OK = 0,
	MS_HALT, /* the run is over: unwind */
} mstat_t;

typedef enum vcpu_state {
	VCPU_ABSENT = 0,
	VCPU_READY,   /* runnable */
	VCPU_HELD,    /* waits for the hypervisor (AP reset hold) */
	VCPU_DONE,    /* its program finished */
} vcpu_state_t;

/* The native arch port's context is the vCPU itself. */
struct gfw_port {
	machine_t *m;
	uint32_t vcpu;
	uint64_t ghcb_msr;
	gfw_cpu_t *cpu; /* guestfw's per-CPU state; NULL for foreign guest code */
	vcpu_state_t state;
	bool started;
	jmp_buf halt;   /* unwinds this vCPU's guest code when the run ends */
	ucontext_t ctx; /* the vCPU's own stack, switched by the scheduler */
	void *stack;
	size_t stack_size;
	void *asan_fake_stack;
};


/* ---- model operations (machine.c) ---- */

void mach_emit(machine_t *m, sim_event_t *ev);
/* Ends the run with a machine/hypervisor stop reason; always MS_HALT. */
mstat_t mach_stop(machine_t *m, uint32_t vcpu, uint32_t stop);
/* A port boundary: a requested stop, the budget, and a scheduling point. */
mstat_t mach_boundary(machine_t *m, uint32_t vcpu, bool spin);

mstat_t mach_pvalidate(machine_t *m, uint32_t vcpu, uint64_t gpa, bool page_2m, bool validate,
		       rmp_result_t *out);
/*
 * gfw_port_pvalidate itself: mach_boundary, mach_pvalidate, mach_boundary, then
 * *cf and EAX; on MS_HALT from any, the unwind of the vCPU (longjmp to p->halt).
 * One call per page of a 4K-only boot.
 */
uint32_t mach_port_pvalidate(struct gfw_port *p, uint64_t gpa, uint32_t page_2m,
			     uint32_t validate, uint32_t *cf);
mstat_t mach_rmpadjust(machine_t *m, uint32_t vcpu, uint64_t gpa, bool page_2m, uint64_t attrs,
		       rmp_result_t *out);
/* VMGEXIT with the vCPU's GHCB MSR; *vc_code != 0: deliver that #VC now. */
mstat_t mach_vmgexit(machine_t *m, uint32_t vcpu, uint64_t *vc_code);

typedef enum macc {
	MACC_DONE = 0, /* performed: *map says where */
	MACC_VC,       /* the guest takes #VC *vc_code first, then re-executes */
	MACC_HALT,
} macc_t;

/*
 * One guest access to the page holding gpa: NPT, RMP check, NPF handling by the
 * hypervisor (retried here). tries counts re-executions for loop detection.
 */
macc_t mach_access(machine_t *m, uint32_t vcpu, uint64_t gpa, rmp_access_t access, bool private,
		   int tries, hv_npt_map_t *map, uint64_t *vc_code);
/* After an access completed: page-access faults of the plan; *vc_code != 0: inject. */
void mach_after_access(machine_t *m, uint32_t vcpu, uint64_t gpa, rmp_access_t access,
		       uint64_t *vc_code);
/* Records a #VC delivery in the stream. */
void mach_vc_event(machine_t *m, uint32_t vcpu, uint64_t code, uint64_t gpa);
void mach_note(machine_t *m, uint32_t vcpu, const gfw_note_t *note);

physmem_t *mach_physmem(machine_t *m);
hv_t *mach_hv(machine_t *m);
struct gfw_port *mach_vcpu(machine_t *m, uint32_t vcpu);
bool mach_ended(const machine_t *m);

#define MACH_FAULT_RETRIES 4 /* re-executions of one access before the machine gives up */

#endif /* SNPSIM_SIM_MACHINE_PRIVATE_H */
