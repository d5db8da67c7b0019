/* SPDX-License-Identifier: MIT */
/*
 * guestfw's arch port as real x86-64: each gfw_port_* function executes the
 * instruction (the facts sheet's encodings, as .byte sequences so any
 * assembler takes them) and the emulator engine traps it into the model.
 * Memory is ordinary loads and stores through the engine's identity map, the
 * private alias selected by the C-bit (emu_abi.h); a #VC 0x404 on one of them
 * arrives through IDT vector 29 at emu_guest_vc_entry, and IRETQ re-executes
 * the access once guestfw's handler returned.
 *
 * Notes and scheduling points are non-architectural: an engine hypercall
 * (UD2 "SH") that changes no guest-visible state.
 */
#include <stddef.h>

#include "emu_abi.h"
#include "gfw_port.h"
#include "guestfw.h"

struct gfw_port {
	uint32_t vcpu;
};

/* The image's state: guestfw's own (one gfw_t, one gfw_cpu_t per vCPU) and the ports. */
static gfw_t emu_gfw;
static gfw_cpu_t emu_cpus[GFW_MAX_CPUS];
static struct gfw_port emu_ports[GFW_MAX_CPUS];

void emu_guest_main(struct emu_boot *b);
void emu_guest_vc(uint64_t *regs);

static inline void hypercall(uint32_t fn, uint64_t arg)
{
	__asm__ volatile(".byte 0x0f, 0x0b, 'S', 'H'" : : "a"(fn), "D"(arg) : "memory");
}

uint32_t gfw_port_pvalidate(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint32_t validate,
			    uint32_t *cf)
{
	(void)p;
	uint64_t rax = va | EMU_ABI_PRIV_BIT; /* guestfw's VA is the GPA: the private alias */
	uint8_t carry;
	/* PVALIDATE: F2 0F 01 FF; CF read by the very next instruction */
	__asm__ volatile(".byte 0xf2, 0x0f, 0x01, 0xff\n\tsetc %1"
			 : "+a"(rax), "=qm"(carry)
			 : "c"((uint64_t)page_2m), "d"((uint64_t)validate)
			 : "cc", "memory");
	*cf = carry;
	return (uint32_t)rax;
}

uint32_t gfw_port_rmpadjust(gfw_port_t *p, uint64_t va, uint32_t page_2m, uint64_t attrs)
{
	(void)p;
	uint64_t rax = va | EMU_ABI_PRIV_BIT;
	/* RMPADJUST: F3 0F 01 FE */
	__asm__ volatile(".byte 0xf3, 0x0f, 0x01, 0xfe"
			 : "+a"(rax)
			 : "c"((uint64_t)page_2m), "d"(attrs)
			 : "cc", "memory");
	return (uint32_t)rax;
}

void gfw_port_vmgexit(gfw_port_t *p)
{
	(void)p;
	/* VMGEXIT: F3 0F 01 D9 (REP VMMCALL); the hypervisor may have written any memory */
	__asm__ volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" : : : "memory");
}

uint64_t gfw_port_rdmsr(gfw_port_t *p, uint32_t msr)
{
	(void)p;
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((uint64_t)hi << 32) | lo;
}

void gfw_port_wrmsr(gfw_port_t *p, uint32_t msr, uint64_t value)
{
	(void)p;
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
}

static inline uint64_t alias(uint64_t gpa, bool private)
{
	return private ? gpa | EMU_ABI_PRIV_BIT : gpa;
}

/*
 * Byte copies in asm, each guest access the first instruction of its own
 * translation block (the jmp before it ends the previous block): Unicorn 2.0.1
 * reports a faulting access with RIP at the block start and registers as
 * they were there, so the #VC frame is exact and IRETQ re-executes just the
 * access. A fault cannot hit the other side of the copy (engine memory).
 */
void gfw_port_read(gfw_port_t *p, uint64_t gpa, void *dst, uint32_t len, bool private)
{
	(void)p;
	if (!len)
		return;
	uint64_t src = alias(gpa, private), n = len;
	__asm__ volatile("jmp 1f\n"
			 "1:\tmovzbl (%0), %%eax\n\t"
			 "movb %%al, (%1)\n\t"
			 "inc %0\n\tinc %1\n\tdec %2\n\t"
			 "jnz 1b"
			 : "+r"(src), "+r"(dst), "+r"(n)
			 :
			 : "rax", "cc", "memory");
}

void gfw_port_write(gfw_port_t *p, uint64_t gpa, const void *src, uint32_t len, bool private)
{
	(void)p;
	if (!len)
		return;
	uint64_t dst = alias(gpa, private), n = len;
	__asm__ volatile("movzbl (%0), %%eax\n\t"
			 "jmp 1f\n"
			 "1:\tmovb %%al, (%1)\n\t"
			 "inc %0\n\tinc %1\n\tdec %2\n\t"
			 "jz 2f\n\t"
			 "movzbl (%0), %%eax\n\t"
			 "jmp 1b\n"
			 "2:"
			 : "+r"(src), "+r"(dst), "+r"(n)
			 :
			 : "rax", "cc", "memory");
}

void gfw_port_pause(gfw_port_t *p)
{
	(void)p;
	__asm__ volatile("pause" ::: "memory");
	hypercall(EMU_HC_PAUSE, 0);
}

bool gfw_port_cas32(gfw_port_t *p, volatile uint32_t *ptr, uint32_t expected, uint32_t desired)
{
	(void)p;
	hypercall(EMU_HC_BOUNDARY, 0);
	uint32_t old = expected;
	__asm__ volatile("lock cmpxchgl %2, %1"
			 : "+a"(old), "+m"(*ptr)
			 : "r"(desired)
			 : "cc", "memory");
	return old == expected;
}

_Noreturn void gfw_port_halt(gfw_port_t *p)
{
	(void)p;
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

void gfw_port_note(gfw_port_t *p, const gfw_note_t *note)
{
	(void)p;
	hypercall(EMU_HC_NOTE, (uint64_t)(uintptr_t)note);
}

/* ------------------------------------------------------------------ #VC */

/* The entry's frame: 15 saved GPRs (r15 first), then the hardware frame. */
enum { VC_ERR = 15, VC_RIP = 16 };

/* What the faulting instruction is, from its bytes (Linux vc_check_opcode_bytes). */
static uint32_t insn_at(uint64_t rip)
{
	const volatile uint8_t *b = (const volatile uint8_t *)(uintptr_t)rip;
	uint8_t b0 = b[0];
	if (b0 == 0xF2 || b0 == 0xF3) {
		if (b[1] == 0x0F && b[2] == 0x01)
			return b[3] == 0xD9 ? GFW_INSN_VMGEXIT : GFW_INSN_PVALIDATE;
	}
	if (b0 == 0x0F) {
		if (b[1] == 0x30 || b[1] == 0x32)
			return GFW_INSN_MSR;
		if (b[1] == 0xA2)
			return GFW_INSN_CPUID;
	}
	if ((b0 >= 0xE4 && b0 <= 0xE7) || (b0 >= 0xEC && b0 <= 0xEF) || (b0 >= 0x6C && b0 <= 0x6F))
		return GFW_INSN_IO;
	return GFW_INSN_MEM;
}

void emu_guest_vc(uint64_t *regs)
{
	/* this vCPU's struct emu_percpu, through GS.base (the engine sets it per vCPU) */
	uint64_t tssv, cpuv;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(tssv));
	__asm__ volatile("mov %%gs:8, %0" : "=r"(cpuv));
	/* a nested #VC must not land on this frame: move IST1 down while the handler runs */
	volatile uint64_t *ist1 = (volatile uint64_t *)(uintptr_t)(tssv + EMU_ABI_TSS_IST1);
	*ist1 -= EMU_ABI_VC_NEST_STACK;
	uint64_t code = regs[VC_ERR];
	uint64_t cr2 = 0;
	if (code == 0x404 || code == 0x400) {
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		cr2 &= ~EMU_ABI_PRIV_BIT; /* the identity map: VA without the C-bit is the GPA */
	}
	gfw_vc_frame_t f = {.error_code = code, .fault_va = cr2, .insn = insn_at(regs[VC_RIP])};
	gfw_vc_handler((gfw_cpu_t *)(uintptr_t)cpuv, &f);
	*ist1 += EMU_ABI_VC_NEST_STACK;
}

/* ------------------------------------------------------------------ start */

void emu_guest_main(struct emu_boot *b)
{
	uint32_t v = b->vcpu;
	if (b->magic != EMU_ABI_MAGIC || v >= GFW_MAX_CPUS) {
		hypercall(EMU_HC_FAIL, 1);
		gfw_port_halt(NULL);
	}
	if (v == 0 && !gfw_init(&emu_gfw, &b->cfg)) {
		hypercall(EMU_HC_FAIL, 2);
		gfw_port_halt(NULL);
	}
	emu_ports[v].vcpu = v;
	gfw_cpu_init(&emu_cpus[v], &emu_gfw, &emu_ports[v], v);
	struct emu_percpu *pc = (struct emu_percpu *)(uintptr_t)b->percpu;
	pc->cpu = (uint64_t)(uintptr_t)&emu_cpus[v];
	gfw_run(&emu_cpus[v], (const gfw_step_t *)(uintptr_t)b->steps, b->nsteps);
	hypercall(EMU_HC_DONE, 0);
	gfw_port_halt(NULL);
}
