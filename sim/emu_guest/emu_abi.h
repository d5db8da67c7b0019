/* SPDX-License-Identifier: MIT */
/*
 * The contract between the emulator engine (sim/emu.c) and the guestfw image
 * it runs (sim/emu_guest/): where things are, the boot block the engine
 * writes, and the engine hypercalls. Freestanding: included by both sides.
 *
 * Addresses: Unicorn 2.0.1 looks up memory by the *virtual* address before it
 * translates (load_helper's memory_mapping(uc, addr)), so the engine's loader
 * uses an identity map: VA = Unicorn address. Shared access to GPA g is at g,
 * private access at g | 1 << EMU_ABI_CBIT (the C-bit of the identity page
 * tables); the image and everything the engine builds for it (boot block,
 * stacks, GDT, IDT, TSS, page tables) sit in the engine's own region at
 * EMU_ABI_FW_BASE, outside the modeled RMP, as guestfw's state is host memory
 * under the native engine.
 */
#ifndef SNPSIM_EMU_ABI_H
#define SNPSIM_EMU_ABI_H

#include <stdint.h>

#include "guestfw.h"

#define EMU_ABI_CBIT 39u
#define EMU_ABI_PRIV_BIT (1ull << EMU_ABI_CBIT)
#define EMU_ABI_FW_BASE 0x6000000000ull /* 384 GiB: clear of scenario RAM, C-bit clear */
#define EMU_ABI_MAGIC 0x31554d4550534e53ull /* "SNPSEMU1" */

/* Engine hypercalls: UD2 followed by "SH", function in EAX (non-architectural annotations). */
#define EMU_HC_BYTE0 0x0Fu
#define EMU_HC_BYTE1 0x0Bu
#define EMU_HC_BYTE2 'S'
#define EMU_HC_BYTE3 'H'
enum emu_hc {
	EMU_HC_DONE = 1, /* the vCPU's program ended */
	EMU_HC_NOTE,     /* RDI = VA of a gfw_note_t */
	EMU_HC_PAUSE,    /* spin-wait hint: a scheduling point */
	EMU_HC_FAIL,     /* the image could not start (gfw_init refused the config) */
	EMU_HC_BOUNDARY, /* a port boundary (before LOCK CMPXCHG): a scheduling point */
};

/* At the image's first byte (the linker script keeps it there). */
struct emu_image_header {
	uint64_t magic;
	uint64_t entry;    /* VA of the start routine: RDI = struct emu_boot * */
	uint64_t vc_entry; /* VA of the #VC (vector 29) entry */
	uint64_t file_end; /* VA just past the loaded bytes */
	uint64_t mem_end;  /* VA just past .bss */
};

/* Per-vCPU data the #VC entry reaches through GS.base. */
struct emu_percpu {
	uint64_t tss;      /* VA of this vCPU's TSS: the entry moves IST1 down while nested */
	uint64_t cpu;      /* gfw_cpu_t * */
	uint64_t vcpu;
};

/* Written by the engine before the vCPU starts; RDI points at it. */
struct emu_boot {
	uint64_t magic;
	uint32_t vcpu;
	uint32_t nsteps;
	uint64_t steps;    /* VA of gfw_step_t[nsteps] */
	uint64_t percpu;   /* VA of this vCPU's struct emu_percpu */
	gfw_config_t cfg;  /* read by the BSP only */
};

/* TSS: IST1 at offset 0x24 (APM vol. 2, 64-bit TSS). */
#define EMU_ABI_TSS_IST1 0x24u
/* How far the #VC entry moves IST1 down while a handler runs, for a nested #VC. */
#define EMU_ABI_VC_NEST_STACK 0x2000u

#endif /* SNPSIM_EMU_ABI_H */
