/* SPDX-License-Identifier: MIT */
/*
 * The emulator engine: guest code as real x86-64 under Unicorn, with every
 * SNP-relevant instruction and fault routed into the same model operations
 * (machine-private.h, mach_*) the native port uses. This header is the whole
 * API; sim/emu.c is the only file that includes <unicorn/unicorn.h>.
 *
 * What the engine does on the guest's behalf, as SNP hardware would:
 *   PVALIDATE (F2 0F 01 FF), RMPADJUST (F3 0F 01 FE), VMGEXIT (F3 0F 01 D9):
 *     Unicorn 2.0.1 raises #UD for them; the invalid-instruction hook decodes
 *     the bytes, walks the guest's page tables from rAX to the GPA (PVALIDATE
 *     and RMPADJUST take a virtual address), calls the model, sets rAX/rFLAGS.CF
 *     and moves RIP on. RDRAND/RDSEED (missing in 2.0.1) the same way.
 *   RDMSR/WRMSR, CPUID, IN/OUT/INS/OUTS, WBINVD: trapped precisely at their
 *     address (each new translation block is disassembled with Capstone and a
 *     bounded code hook is put on every such site). The GHCB MSR and SEV_STATUS
 *     come from the model; the MSRs an SEV-ES guest reaches without a #VC (EFER,
 *     STAR..SFMASK, FS/GS/KERNEL_GS base, TSC_AUX, SYSENTER_*, PAT) execute
 *     natively; every other MSR, CPUID, port I/O and WBINVD raises #VC with its
 *     architectural error code (facts §2.6: 0x7C, 0x72, 0x7B, 0x89).
 *   #VC delivery through the guest's own IDT: 64-bit gates (with IST) in long
 *     mode, 32-bit gates in protected mode. A fault during delivery (bad IDTR,
 *     absent gate, unmapped stack) ends the run with a state dump
 *     (SIM_STOP_GUEST_EXCEPTION), never a hang.
 *   RMP enforcement: guest RAM appears twice in Unicorn's physical space, the
 *     shared alias at PA = GPA and the private alias at PA = GPA | 1 << EMU_CBIT.
 *     A page is mapped into an alias only after the model allowed that access
 *     (mach_access: NPT, RMP, NPF retries), so the hot path has no checks; a
 *     miss is Unicorn's unmapped-access hook, which asks the model: #VC 0x404
 *     on an unvalidated private page, #VC 0x400 on MMIO, #NPF to the
 *     hypervisor model otherwise. Every model operation that can change the
 *     RMP or the NPT drops the mappings it could have invalidated.
 *     A data fault's #VC frame (and a write-protect retry) points at the
 *     faulting instruction even mid-block: Unicorn 2.0.1 leaves RIP at the
 *     block start there, so emu.c finds the instruction again from the fault
 *     address (fault_rip; emu_stats_t.imprecise_faults counts the misses).
 *   Budget: a deterministic count of guest instructions (summed per executed
 *     translation block), never Unicorn's timer-thread timeout.
 *   Unicorn versions: written for 2.0.1 (Debian 12). With >= 2.1, RDRAND and
 *     RDSEED run natively, so they are trapped as code-hook sites instead
 *     (selected by uc_version at emu_new; emu_opts_t.rdrand_sites tests that
 *     path on 2.0.1). Not supported: page_access fault triggers (emu_new
 *     refuses them), more than one vCPU (emu_run_guestfw refuses).
 *
 * Engine-specific facts (documented for the differential test): the event
 * stream is the same as the native engine's; only the summary's engine
 * statistics (emu_stats_t) and the RIPs in crash dumps exist only here.
 *
 * Memory layout the engine uses for its own loader (emu_run_guestfw): see the
 * EMU_* constants below. Firmware that brings its own page tables (OVMF) only
 * needs to use C-bit EMU_CBIT (its CPUID page must say so: Unicorn's TCG has
 * 40 physical address bits, so the C-bit cannot be 51).
 */
#ifndef SNPSIM_SIM_EMU_H
#define SNPSIM_SIM_EMU_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machine.h"

/* The C-bit position the engine implements in guest page tables. */
#define EMU_CBIT 39u

/*
 * The engine's own loader (guestfw image) uses an identity map, because
 * Unicorn 2.0.1 looks memory up by virtual address: shared access to GPA g is
 * at VA g, private access at VA g | 1 << EMU_CBIT; the image (linked with the
 * large code model) and its stacks, GDT, IDT, TSS and page tables live in an
 * engine region at EMU_FW_BASE, outside the modeled RMP, the way guestfw's
 * state is host memory under the native engine. Scenario memory must keep
 * clear of that region and of address bit EMU_CBIT (emu_new refuses it).
 */
#define EMU_FW_BASE 0x6000000000ull /* 384 GiB */

typedef struct emu emu_t;

/* Called when the guest executes HLT with interrupts enabled (OVMF's idle loop). */
typedef enum emu_idle {
	EMU_IDLE_STOP = 0, /* end the run: SIM_STOP_HALTED */
	EMU_IDLE_INJECT,   /* deliver *vector through the IDT, then resume */
	EMU_IDLE_RESUME,   /* resume after the HLT */
} emu_idle_t;
typedef emu_idle_t (*emu_idle_fn)(void *ctx, emu_t *e, uint8_t *vector);

typedef struct emu_opts {
	uint64_t insn_budget; /* guest instructions before SIM_STOP_BUDGET; 0: 2^40 */
	/*
	 * Bring-up aid: no RMP enforcement on guest accesses; both aliases map
	 * every RAM page at once (the C-bit is transparent). PVALIDATE, PSC and
	 * #VC still go to the model. Off by default.
	 */
	bool rmp_transparent;
	/* --trace-insn: one line per guest instruction with its disassembly */
	FILE *trace_insn;       /* NULL: off */
	uint64_t trace_from;    /* RIP window [from, to); to == 0: no upper bound */
	uint64_t trace_to;
	uint64_t trace_max;     /* lines at most; 0: unlimited */
	FILE *dump;             /* crash dumps; NULL: stderr */
	/*
	 * Trap RDRAND/RDSEED by a code hook at the site rather than via #UD: always
	 * so on Unicorn >= 2.1 (it runs them natively); set here to exercise that
	 * path on 2.0.1 (tests).
	 */
	bool rdrand_sites;
	emu_idle_fn idle;       /* NULL: HLT with IF=1 ends the run (SIM_STOP_HALTED) */
	void *idle_ctx;
} emu_opts_t;

/* Engine statistics (the machine's own counters cover VMGEXITs, #VCs, PVALIDATEs). */
typedef struct emu_stats {
	uint64_t guest_insns;     /* executed, from translation-block sizes */
	uint64_t blocks;          /* translation blocks executed */
	uint64_t blocks_scanned;  /* new blocks disassembled for trap sites */
	uint64_t trap_sites;      /* bounded code hooks installed */
	uint64_t restarts;        /* uc_emu_start calls (2.0.1 stops after each #UD trap) */
	uint64_t traps_pvalidate, traps_rmpadjust, traps_vmgexit, traps_msr, traps_cpuid,
		traps_io, traps_wbinvd, traps_rdrand, hypercalls;
	uint64_t vc_delivered;    /* #VCs delivered through the IDT */
	uint64_t vc_by_code[8];   /* 0x72, 0x7B, 0x7C, 0x89, 0x400, 0x404, other */
	uint64_t map_private, map_shared, unmaps; /* lazy alias mappings made/dropped */
	uint64_t imprecise_faults; /* data faults not located past the block start (emu.c) */
} emu_stats_t;

/* ---- one engine on one vCPU of a machine (created before machine_run_guest) ---- */

/* A Unicorn engine for the machine's vCPU 0, with guest RAM mapped; NULL with err. */
emu_t *emu_new(machine_t *m, const emu_opts_t *opts, GError **err);
void emu_free(emu_t *e);

/*
 * Maps read-only memory outside guest RAM (a flash window) at gpa, from a
 * host buffer that must outlive the engine; writes are discarded (OVMF then
 * detects "ROM" and uses its emulated variable store). Call before running.
 */
bool emu_map_rom(emu_t *e, uint64_t gpa, const uint8_t *host, uint64_t size, GError **err);

/*
 * Maps the engine's own region (read/write/execute, zeroed) at EMU_FW_BASE,
 * outside the modeled RMP, for a loader's code, stacks and descriptor tables
 * (the guestfw loader uses it; so do tests with hand-written guest code).
 * Returns the host view of [EMU_FW_BASE, EMU_FW_BASE + size rounded up to
 * 2M), owned by the engine; NULL with err. Once per engine.
 */
void *emu_map_engine_region(emu_t *e, uint64_t size, GError **err);

/* Copies bytes into guest RAM (the machine's memory) at gpa, bypassing the RMP. */
bool emu_poke(emu_t *e, uint64_t gpa, const void *src, size_t len, GError **err);

/* The architectural reset state: real mode, CS.base 0xFFFF0000, IP 0xFFF0. */
bool emu_set_reset_state(emu_t *e, GError **err);

/* A long-mode entry: GDT (code selector 0x08, data 0x10), IDT, TR, GS.base, IF=0, CS=0x08. */
typedef struct emu_long_entry {
	uint64_t rip, rsp, cr3;
	uint64_t rdi, rsi;        /* arguments for the entry point */
	uint64_t idt_base;        /* 0: none (a #VC then ends the run) */
	uint16_t idt_limit;
	uint64_t gdt_base;        /* 0: the engine's own */
	uint16_t gdt_limit;
	uint16_t tr;              /* task register selector (0: none) */
	uint64_t tss_base;        /* base of the TSS for IST lookups */
	uint64_t gs_base;
} emu_long_entry_t;
bool emu_set_long_state(emu_t *e, const emu_long_entry_t *st, GError **err);

/*
 * Runs the engine as the machine's BSP: launch, then setup(e, arg) (may be
 * NULL; it can poke memory and set the entry state), then guest code until the
 * run ends (termination, stop, budget, crash). Returns the machine's result.
 */
typedef bool (*emu_setup_fn)(emu_t *e, void *arg, GError **err);
const machine_result_t *emu_run(emu_t *e, emu_setup_fn setup, void *arg);

/* Delivers an external interrupt through the IDT now (between instructions). */
bool emu_inject_interrupt(emu_t *e, uint8_t vector);

const emu_stats_t *emu_stats(const emu_t *e);
/* Registers, control state, GHCB MSR and contents, last trapped sites, disassembly at RIP. */
void emu_dump_state(emu_t *e, FILE *out);
/* A crash message of the last run (state dump already written), or NULL. */
const char *emu_crash_reason(const emu_t *e);

/* ---- the scenario runner: guestfw's freestanding image under the engine ---- */

/* Runs the scenario's guest program as real code (snpsim run --engine emu). */
const machine_result_t *emu_run_guestfw(emu_t *e, GError **err);

/* The Unicorn and Capstone versions in use, for reports: "unicorn 2.0.1, capstone 4.0". */
const char *emu_versions(void);

#endif /* SNPSIM_SIM_EMU_H */
