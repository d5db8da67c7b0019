/* SPDX-License-Identifier: MIT */
/*
 * The arch port: the only way guestfw reaches the machine.
 *
 * Natively (sim/), each function is a call into the modeled RMP and mock
 * hypervisor. Under the emulator, the same guestfw sources are compiled
 * freestanding and each function executes the real instruction (inline asm with
 * the encodings of snp/arch.h); the emulator traps it into the same model.
 * Freestanding: <stdint.h> and <stdbool.h> only.
 *
 * Memory is guest-physical through the guest's identity map: address = GPA,
 * `private` selects the C-bit. guestfw's own state (struct gfw, struct gfw_cpu,
 * the private copy of a PSC request) is ordinary memory of the guest image and
 * is never reached through these functions.
 */
#ifndef SNPSIM_GFW_PORT_H
#define SNPSIM_GFW_PORT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gfw_port gfw_port_t; /* the machine's per-vCPU context, opaque to guestfw */

/* PVALIDATE (F2 0F 01 FF): returns EAX; *cf receives rFLAGS.CF read right after it. */
uint32_t gfw_port_pvalidate(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint32_t validate,
			    uint32_t *cf);

/* RMPADJUST (F3 0F 01 FE): returns EAX. attrs = RDX (target VMPL, permissions, VMSA bit). */
uint32_t gfw_port_rmpadjust(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint64_t attrs);

/* VMGEXIT (F3 0F 01 D9) with whatever the GHCB MSR holds. */
void gfw_port_vmgexit(gfw_port_t *p);

/* RDMSR/WRMSR of the MSRs an SNP guest reads without a #VC (GHCB MSR, SEV_STATUS). */
uint64_t gfw_port_rdmsr(gfw_port_t *p, uint32_t msr);
void gfw_port_wrmsr(gfw_port_t *p, uint32_t msr, uint64_t value);

/*
 * Guest-physical memory. An access may take a #VC (0x404 on an unvalidated
 * private page; the machine then calls gfw_vc_handler and retries the access)
 * or stop the vCPU; it returns only once the access has been performed.
 */
void gfw_port_read(gfw_port_t *p, uint64_t gpa, void *dst, uint32_t len, bool private);
void gfw_port_write(gfw_port_t *p, uint64_t gpa, const void *src, uint32_t len, bool private);

/* A preemption point (spin-wait hint, PAUSE): the scheduler may switch vCPUs here. */
void gfw_port_pause(gfw_port_t *p);

/* Compare-and-swap on guestfw's own shared state (LOCK CMPXCHG); also a preemption point. */
bool gfw_port_cas32(gfw_port_t *p, volatile uint32_t *ptr, uint32_t expected, uint32_t desired);

/* The vCPU stops for good (HLT loop after a termination request, or an AP that is done). */
_Noreturn void gfw_port_halt(gfw_port_t *p);

/*
 * Annotations of what the guest believes, for the machine's event stream and
 * invariant checker. Not architectural: the emulator port encodes them as a
 * trapped hypercall that touches no guest-visible state.
 */
typedef enum gfw_note_kind {
	GFW_NOTE_STEP = 1,      /* arg = program step index about to run */
	GFW_NOTE_PSC_DONE,      /* a PSC completed: [gpa, gpa + npages*4K) is now op (1 private, 2 shared) */
	GFW_NOTE_ACCEPTED,      /* [gpa, +npages) validated and believed accepted */
	GFW_NOTE_UNACCEPTED,    /* [gpa, +npages) left unaccepted (lazy) */
	GFW_NOTE_RESCINDED,     /* [gpa, +npages) rescinded (on its way to shared) */
	GFW_NOTE_LAZY_FAULT,    /* #VC 0x404 at gpa handled by the lazy-accept path */
	GFW_NOTE_PHASE,         /* arg = gfw_phase_t */
} gfw_note_kind_t;

typedef struct gfw_note {
	uint32_t kind; /* gfw_note_kind_t */
	uint32_t arg;
	uint64_t gpa;
	uint64_t npages;
} gfw_note_t;

void gfw_port_note(gfw_port_t *p, const gfw_note_t *note);

#endif /* SNPSIM_GFW_PORT_H */
