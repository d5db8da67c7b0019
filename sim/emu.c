/* SPDX-License-Identifier: MIT */
/*
 * The emulator engine (emu.h): the one module that owns Unicorn and Capstone.
 *
 * Shape of a run: the machine runs emu's entry on the BSP's fiber
 * (machine_run_guest); the entry loops on uc_emu_start. Every hook only
 * *records* what happened (a trap, a fault, the budget) and stops the
 * emulation; the loop then calls the model (mach_*) outside Unicorn, sets
 * registers and resumes. So no model code, fiber switch or #VC delivery ever
 * runs inside Unicorn's call stack, and Unicorn 2.0.1's stop after every
 * handled #UD (research §1) costs nothing extra.
 */
#include "emu.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unicorn/unicorn.h>

#include "emu_guest/emu_abi.h"
#include "machine-private.h"
#include "simerr.h"

_Static_assert(EMU_ABI_CBIT == EMU_CBIT && EMU_ABI_FW_BASE == EMU_FW_BASE, "one layout for the engine and its image");

/* The embedded guestfw image (emu_image.S). */
extern const uint8_t emu_guest_image[];
extern const uint8_t emu_guest_image_end[];

#define PAGE 0x1000ull
#define DEFAULT_INSN_BUDGET (1ull << 40)
#define BCACHE_SIZE 4096u
#define MAX_SITES 4096u    /* bounded code hooks: each firing scans them all (research §2) */
#define STACK_SIZE 0x10000ull
#define IST_SIZE 0x10000ull
#define VC_VECTOR 29u

typedef enum pend {
	PEND_NONE = 0,
	PEND_INVALID, /* #UD: PVALIDATE, RMPADJUST, VMGEXIT, RDRAND/RDSEED, hypercall */
	PEND_SITE,    /* a bounded code hook: MSR, CPUID, I/O, WBINVD */
	PEND_VC,      /* a #VC to deliver at the faulting instruction */
	PEND_RETRY_WRITE, /* a write to a page mapped read-only: drop it and re-execute */
	PEND_HALT,    /* the model ended the run */
	PEND_BUDGET,
	PEND_CRASH,
} pend_t;

typedef struct lazy_map {
	uint64_t va; /* Unicorn address (= VA under the identity map) */
	bool write;
} lazy_map_t;

typedef struct bcache {
	uint64_t addr;
	uint32_t size;
	uint32_t ninsn;
} bcache_t;

struct emu {
	machine_t *m;
	uint32_t vcpu;
	uc_engine *uc;
	csh cs;
	bool cs_open;
	csh csd; /* with CS_OPT_DETAIL: operands, for locating a faulting access */
	bool csd_open;
	emu_opts_t o;
	emu_stats_t st;
	uint64_t budget;
	/* the engine's own region: image, boot block, stacks, tables */
	uint8_t *fw;
	uint64_t fw_size, fw_brk;
	struct emu_image_header hdr;
	/* lazily mapped guest RAM pages */
	GArray *maps;
	/* what a hook recorded for the run loop */
	pend_t pend;
	uint64_t pend_code, pend_gpa, pend_va, pend_site, pend_fault_addr;
	int tries;
	uint64_t last_fault_va;
	/* trap sites */
	GHashTable *sites; /* address -> 1 */
	bcache_t bcache[BCACHE_SIZE];
	uint64_t cs_base; /* linear address - EIP at the last block (real mode reset) */
	uint64_t rng;
	uint64_t trace_lines;
	bool done; /* EMU_HC_DONE */
	bool debug; /* SNPSIM_EMU_DEBUG, read once at emu_new: the run loop is hot */
	bool rdrand_site; /* RDRAND/RDSEED trapped as sites, not as #UD (newer Unicorn) */
	uint32_t stall; /* restarts without progress */
	char crash[512];
	uint64_t recent[8]; /* last trapped sites, for the dump */
	uint32_t nrecent;
	emu_setup_fn setup;
	void *setup_arg;
	GError *setup_err;
};

/* ------------------------------------------------------------------ small helpers */

static void crash(emu_t *e, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void crash(emu_t *e, const char *fmt, ...)
{
	if (e->crash[0])
		return; /* the first reason is the one that matters */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->crash, sizeof(e->crash), fmt, ap);
	va_end(ap);
}

/* Every Unicorn call goes through here: false (and a crash reason) on failure. */
static bool uc_ok(emu_t *e, uc_err err, const char *what)
{
	if (err == UC_ERR_OK)
		return true;
	crash(e, "unicorn: %s: %s", what, uc_strerror(err));
	return false;
}

static bool uc_gerr(uc_err err, const char *what, GError **gerr)
{
	if (err == UC_ERR_OK)
		return true;
	g_set_error(gerr, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "unicorn: %s: %s", what,
		    uc_strerror(err));
	return false;
}

static uint64_t reg(emu_t *e, int id)
{
	uint64_t v = 0;
	uc_ok(e, uc_reg_read(e->uc, id, &v), "reg_read");
	return v;
}

static void set_reg(emu_t *e, int id, uint64_t v)
{
	uc_ok(e, uc_reg_write(e->uc, id, &v), "reg_write");
}

static uint64_t rdmsr_uc(emu_t *e, uint32_t id)
{
	uc_x86_msr msr = {.rid = id};
	uc_ok(e, uc_reg_read(e->uc, UC_X86_REG_MSR, &msr), "msr read");
	return msr.value;
}

static bool long_mode(emu_t *e)
{
	return (rdmsr_uc(e, MSR_EFER) & (1u << 10)) != 0; /* EFER.LMA */
}

/* Host pointer of a Unicorn address in the engine region or guest RAM (no RMP check). */
static uint8_t *host_ptr(emu_t *e, uint64_t addr, uint64_t len)
{
	if (addr >= EMU_ABI_FW_BASE && addr - EMU_ABI_FW_BASE + len <= e->fw_size)
		return e->fw + (addr - EMU_ABI_FW_BASE);
	uint64_t gpa = addr & ~EMU_ABI_PRIV_BIT;
	physmem_t *pm = mach_physmem(e->m);
	uint8_t *h = physmem_ptr(pm, gpa);
	if (h && physmem_avail(pm, gpa) >= len)
		return h;
	return NULL;
}

static bool guest_read(emu_t *e, uint64_t addr, void *dst, size_t len)
{
	uint8_t *h = host_ptr(e, addr, len);
	if (h) {
		memcpy(dst, h, len);
		return true;
	}
	return uc_mem_read(e->uc, addr, dst, len) == UC_ERR_OK;
}

static bool guest_write(emu_t *e, uint64_t addr, const void *src, size_t len)
{
	uint8_t *h = host_ptr(e, addr, len);
	if (h) {
		memcpy(h, src, len);
		return true;
	}
	return uc_mem_write(e->uc, addr, src, len) == UC_ERR_OK;
}

/* The linear address of the next instruction. */
static uint64_t linear_pc(emu_t *e)
{
	uint64_t rip = reg(e, UC_X86_REG_RIP);
	return long_mode(e) ? rip : e->cs_base + (rip & 0xFFFFFFFFu);
}

static void note_site(emu_t *e, uint64_t pc)
{
	e->recent[e->nrecent++ % G_N_ELEMENTS(e->recent)] = pc;
}

/* ------------------------------------------------------------------ lazy RAM mappings */

static void unmap_all(emu_t *e)
{
	for (guint i = 0; i < e->maps->len; i++) {
		lazy_map_t *l = &g_array_index(e->maps, lazy_map_t, i);
		uc_ok(e, uc_mem_unmap(e->uc, l->va, PAGE), "unmap");
		e->st.unmaps++;
	}
	g_array_set_size(e->maps, 0);
}

static void unmap_one(emu_t *e, uint64_t va)
{
	for (guint i = 0; i < e->maps->len; i++) {
		lazy_map_t *l = &g_array_index(e->maps, lazy_map_t, i);
		if (l->va == va) {
			uc_ok(e, uc_mem_unmap(e->uc, va, PAGE), "unmap");
			e->st.unmaps++;
			g_array_remove_index_fast(e->maps, i);
			return;
		}
	}
}

/*
 * After a model operation: if it emitted any event, the RMP or NPT may have
 * changed (RMPUPDATE, PVALIDATE, a remap, a revoke), so every lazy mapping is
 * dropped and re-earned through mach_access on the next touch. The mapped set
 * is a handful of pages (GHCB, touched pages), so this stays cheap.
 */
static void after_model(emu_t *e, uint64_t events_before)
{
	if (machine_stats(e->m)->events != events_before && e->maps->len && !e->o.rmp_transparent)
		unmap_all(e);
}

static uint64_t events_now(emu_t *e)
{
	return machine_stats(e->m)->events;
}

/* Would the RMP allow this access now? A pure query, to map writable only when a write would pass. */
static bool rmp_allows(emu_t *e, uint64_t gpa, const hv_npt_map_t *map, rmp_access_t acc,
		       bool private)
{
	const scenario_t *sc = machine_scenario(e->m);
	rmp_result_t r = rmp_check_access(machine_rmp(e->m), sc->asid, 0, gpa, map->spa,
					  map->level_2m, acc, private);
	return r.fault == RMP_FAULT_NONE;
}

/* An access missed the mapped set: ask the model (the slow path). */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			void *ctx)
{
	emu_t *e = ctx;
	(void)uc;
	(void)size;
	(void)value;
	if (type == UC_MEM_FETCH_UNMAPPED) {
		crash(e, "instruction fetch from unmapped address %#" PRIx64, addr);
		e->pend = PEND_CRASH;
		return false;
	}
	bool write = type == UC_MEM_WRITE_UNMAPPED;
	bool private = (addr & EMU_ABI_PRIV_BIT) != 0;
	uint64_t gpa = addr & ~EMU_ABI_PRIV_BIT;
	uint64_t page = addr & ~(PAGE - 1);
	if (e->o.rmp_transparent || gpa >= EMU_ABI_FW_BASE) {
		crash(e, "%s of unmapped address %#" PRIx64, write ? "write" : "read", addr);
		e->pend = PEND_CRASH;
		return false;
	}
	if (page != e->last_fault_va)
		e->tries = 0;
	e->last_fault_va = page;
	rmp_access_t acc = write ? RMP_ACCESS_WRITE : RMP_ACCESS_READ;
	hv_npt_map_t map;
	uint64_t vc = 0, before = events_now(e);
	macc_t a = mach_access(e->m, e->vcpu, gpa, acc, private, e->tries, &map, &vc);
	after_model(e, before);
	if (a == MACC_HALT) {
		e->pend = PEND_HALT;
		return false;
	}
	if (a == MACC_VC) {
		e->tries++;
		e->pend = PEND_VC;
		e->pend_code = vc;
		e->pend_gpa = gpa;
		e->pend_va = addr;
		return false;
	}
	uint8_t *host = physmem_ptr(mach_physmem(e->m), map.spa & ~(PAGE - 1));
	if (!host) {
		crash(e, "GPA %#" PRIx64 " maps to SPA %#" PRIx64 " without memory", gpa, map.spa);
		e->pend = PEND_CRASH;
		return false;
	}
	/* ROM ignores writes: map it read-only and let the write-protect hook drop them */
	bool rw = map.kind == HV_NPT_RAM &&
		  (write || rmp_allows(e, gpa, &map, RMP_ACCESS_WRITE, private));
	uint32_t prot = UC_PROT_READ | UC_PROT_EXEC | (rw ? UC_PROT_WRITE : 0);
	if (!uc_ok(e, uc_mem_map_ptr(e->uc, page, PAGE, prot, host), "map_ptr")) {
		e->pend = PEND_CRASH;
		return false;
	}
	lazy_map_t l = {.va = page, .write = rw};
	g_array_append_val(e->maps, l);
	if (private)
		e->st.map_private++;
	else
		e->st.map_shared++;
	e->tries = 0;
	e->last_fault_va = 0;
	return true;
}

/* A write to a page mapped read-only: ROM (dropped) or a page the model has not cleared for writes. */
static bool on_write_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			  void *ctx)
{
	emu_t *e = ctx;
	(void)uc;
	(void)type;
	(void)size;
	(void)value;
	uint64_t gpa = addr & ~EMU_ABI_PRIV_BIT;
	hv_npt_map_t map = hv_npt_translate(mach_hv(e->m), gpa);
	/* flash (emu_map_rom) and ROM: the write is discarded, as QEMU's ROM device does */
	if (map.kind == HV_NPT_ROM || !physmem_ptr(mach_physmem(e->m), gpa))
		return true;
	e->pend = PEND_RETRY_WRITE;
	e->pend_va = addr & ~(PAGE - 1);
	e->pend_fault_addr = addr;
	return false;
}

/* ------------------------------------------------------------------ trap sites */

static bool is_site(const emu_t *e, const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_RDRAND:
	case X86_INS_RDSEED:
		return e->rdrand_site;
	case X86_INS_RDMSR:
	case X86_INS_WRMSR:
	case X86_INS_CPUID:
	case X86_INS_IN:
	case X86_INS_OUT:
	case X86_INS_INSB:
	case X86_INS_INSW:
	case X86_INS_INSD:
	case X86_INS_OUTSB:
	case X86_INS_OUTSW:
	case X86_INS_OUTSD:
	case X86_INS_WBINVD:
		return true;
	default:
		return false;
	}
}

static void on_site(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx);

/* Disassembles a new block: instruction count for the budget, trap sites for hooks. */
static bool scan_block(emu_t *e, uint64_t addr, uint32_t size, bcache_t *bc)
{
	uint8_t buf[4096];
	if (size > sizeof(buf))
		size = sizeof(buf);
	if (!guest_read(e, addr, buf, size))
		return false;
	cs_mode mode = long_mode(e) ? CS_MODE_64 : (reg(e, UC_X86_REG_CR0) & 1) ? CS_MODE_32 : CS_MODE_16;
	cs_option(e->cs, CS_OPT_MODE, mode);
	cs_insn *insn = NULL;
	size_t n = cs_disasm(e->cs, buf, size, addr, 0, &insn);
	bool added = false;
	for (size_t i = 0; i < n; i++) {
		if (!is_site(e, &insn[i]))
			continue;
		gpointer key = GSIZE_TO_POINTER((gsize)insn[i].address);
		if (g_hash_table_contains(e->sites, key) || g_hash_table_size(e->sites) >= MAX_SITES)
			continue;
		uc_hook h;
		if (uc_ok(e, uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)on_site, e,
					 insn[i].address, insn[i].address),
			  "hook site")) {
			g_hash_table_add(e->sites, key);
			e->st.trap_sites++;
			added = true;
		}
	}
	cs_free(insn, n);
	e->st.blocks_scanned++;
	*bc = (bcache_t){.addr = addr, .size = size, .ninsn = n ? (uint32_t)n : 1};
	return added;
}

/*
 * The engine's own image is swept once before it runs, so the first execution
 * of every site is already hooked (a block scan can only hook a site for the
 * next translation of its block).
 */
static void prescan(emu_t *e, uint64_t start, uint64_t end)
{
	cs_option(e->cs, CS_OPT_MODE, CS_MODE_64);
	cs_option(e->cs, CS_OPT_SKIPDATA, CS_OPT_ON);
	const uint8_t *code = host_ptr(e, start, end - start);
	cs_insn *insn = NULL;
	size_t n = code ? cs_disasm(e->cs, code, end - start, start, 0, &insn) : 0;
	for (size_t i = 0; i < n; i++) {
		gpointer key = GSIZE_TO_POINTER((gsize)insn[i].address);
		uc_hook h;
		if (!is_site(e, &insn[i]) || g_hash_table_contains(e->sites, key))
			continue;
		if (uc_ok(e, uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)on_site, e,
					 insn[i].address, insn[i].address),
			  "hook site")) {
			g_hash_table_add(e->sites, key);
			e->st.trap_sites++;
		}
	}
	cs_free(insn, n);
	cs_option(e->cs, CS_OPT_SKIPDATA, CS_OPT_OFF);
}

static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx)
{
	emu_t *e = ctx;
	bcache_t *bc = &e->bcache[(addr ^ (addr >> 12)) & (BCACHE_SIZE - 1)];
	if (bc->addr != addr || bc->size != size) {
		if (scan_block(e, addr, size, bc)) {
			/* retranslate with the new hooks: drop the block and restart it */
			uc_ok(e, uc_ctl_remove_cache(uc, addr, addr + size), "remove_cache");
			uint64_t rip = reg(e, UC_X86_REG_RIP);
			uc_ok(e, uc_reg_write(uc, UC_X86_REG_RIP, &rip), "restart block");
			bc->addr = 0;
			return;
		}
	}
	uint64_t rip = reg(e, UC_X86_REG_RIP);
	e->cs_base = addr - (rip & 0xFFFFFFFFu) == addr ? 0 : addr - rip;
	e->st.blocks++;
	e->st.guest_insns += bc->ninsn;
	if (e->st.guest_insns >= e->budget && e->pend == PEND_NONE) {
		e->pend = PEND_BUDGET;
		uc_ok(e, uc_emu_stop(uc), "emu_stop");
	}
}

static bool on_invalid(uc_engine *uc, void *ctx)
{
	emu_t *e = ctx;
	(void)uc;
	if (e->pend == PEND_NONE)
		e->pend = PEND_INVALID;
	uc_ok(e, uc_emu_stop(uc), "emu_stop");
	return true; /* 2.0.1 returns from uc_emu_start anyway; the loop handles it */
}

static void on_intr(uc_engine *uc, uint32_t intno, void *ctx)
{
	emu_t *e = ctx;
	crash(e, "guest exception, vector %u (Unicorn does not deliver it through the IDT)", intno);
	e->pend = PEND_CRASH;
	uc_ok(e, uc_emu_stop(uc), "emu_stop");
}

static void on_trace(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx)
{
	emu_t *e = ctx;
	(void)uc;
	if (addr < e->o.trace_from || (e->o.trace_to && addr >= e->o.trace_to))
		return;
	if (e->o.trace_max && e->trace_lines >= e->o.trace_max)
		return;
	uint8_t buf[16];
	if (size > sizeof(buf) || !guest_read(e, addr, buf, size))
		return;
	cs_insn *in = NULL;
	size_t n = cs_disasm(e->cs, buf, size, addr, 1, &in);
	fprintf(e->o.trace_insn, "%016" PRIx64 "  %-8s %s\n", addr, n ? in->mnemonic : "(bad)",
		n ? in->op_str : "");
	cs_free(in, n);
	e->trace_lines++;
}

/* ------------------------------------------------------------------ page walk */

/*
 * PVALIDATE and RMPADJUST take a guest virtual address: walk the guest's
 * 4-level tables from CR3 (APM vol. 2 §5.3). Returns false if not present.
 */
static bool walk(emu_t *e, uint64_t va, uint64_t *pa)
{
	/*
	 * Unicorn's UC_MODE_64 starts in long mode with CR0.PG clear, and raw CR0
	 * writes with PG stall it (tested on 2.0.1), so the engine's loader leaves
	 * PG alone and runs on an identity map; long mode implies paging
	 * architecturally, so the tables at CR3 are walked whenever it is set.
	 */
	if (!(reg(e, UC_X86_REG_CR0) & (1ull << 31)) &&
	    !(long_mode(e) && reg(e, UC_X86_REG_CR3))) {
		*pa = va;
		return true;
	}
	uint64_t table = reg(e, UC_X86_REG_CR3) & 0x000FFFFFFFFFF000ull;
	const uint64_t mask = 0x000FFFFFFFFFF000ull;
	for (int level = 3; level >= 0; level--) {
		uint64_t ent;
		if (!guest_read(e, table + ((va >> (12 + 9 * level)) & 0x1FF) * 8, &ent, 8))
			return false;
		if (!(ent & 1))
			return false;
		if (level > 0 && level < 3 && (ent & 0x80)) {
			uint64_t span = 1ull << (12 + 9 * level);
			*pa = (ent & mask & ~(span - 1)) | (va & (span - 1));
			return true;
		}
		table = ent & mask;
	}
	*pa = table | (va & 0xFFF);
	return true;
}

/* ------------------------------------------------------------------ #VC delivery */

static bool deliver(emu_t *e, uint8_t vector, bool has_error, uint64_t error, uint64_t ret_rip)
{
	uc_x86_mmr idtr = {0};
	if (!uc_ok(e, uc_reg_read(e->uc, UC_X86_REG_IDTR, &idtr), "idtr"))
		return false;
	uint64_t rflags = reg(e, UC_X86_REG_EFLAGS);
	if (long_mode(e)) {
		uint8_t g[16];
		if ((uint64_t)vector * 16 + 15 > idtr.limit ||
		    !guest_read(e, idtr.base + (uint64_t)vector * 16, g, 16)) {
			crash(e, "delivering vector %u: IDT entry outside IDTR (base %#" PRIx64
				 " limit %#x)", vector, idtr.base, idtr.limit);
			return false;
		}
		uint8_t type = g[5] & 0xF;
		if (!(g[5] & 0x80) || (type != 0xE && type != 0xF)) {
			crash(e, "delivering vector %u: gate not present or not a 64-bit gate (%#x)",
			      vector, g[5]);
			return false;
		}
		uint64_t target = (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 |
				  (uint64_t)g[7] << 24 | (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 |
				  (uint64_t)g[10] << 48 | (uint64_t)g[11] << 56;
		uint16_t sel = (uint16_t)(g[2] | g[3] << 8);
		uint32_t ist = g[4] & 7;
		uint64_t rsp = reg(e, UC_X86_REG_RSP);
		if (ist) {
			uc_x86_mmr tr = {0};
			if (!uc_ok(e, uc_reg_read(e->uc, UC_X86_REG_TR, &tr), "tr") ||
			    !guest_read(e, tr.base + 0x24 + (ist - 1) * 8, &rsp, 8)) {
				crash(e, "delivering vector %u: IST%u unreadable (TR base %#" PRIx64 ")",
				      vector, ist, tr.base);
				return false;
			}
		}
		rsp &= ~0xFull;
		uint64_t frame[6] = {error, ret_rip, reg(e, UC_X86_REG_CS), rflags,
				     reg(e, UC_X86_REG_RSP), reg(e, UC_X86_REG_SS)};
		size_t off = has_error ? 0 : 1, len = (6 - off) * 8;
		rsp -= len;
		if (!guest_write(e, rsp, frame + off, len)) {
			crash(e, "delivering vector %u: stack %#" PRIx64 " not writable", vector, rsp);
			return false;
		}
		set_reg(e, UC_X86_REG_RSP, rsp);
		if (sel != reg(e, UC_X86_REG_CS))
			set_reg(e, UC_X86_REG_CS, sel);
		set_reg(e, UC_X86_REG_RIP, target);
	} else if (reg(e, UC_X86_REG_CR0) & 1) {
		/* 32-bit protected mode: 8-byte gates, a 4-dword frame on the current stack */
		uint8_t g[8];
		if ((uint64_t)vector * 8 + 7 > idtr.limit ||
		    !guest_read(e, idtr.base + (uint64_t)vector * 8, g, 8)) {
			crash(e, "delivering vector %u: IDT entry outside IDTR", vector);
			return false;
		}
		uint8_t type = g[5] & 0xF;
		if (!(g[5] & 0x80) || (type != 0xE && type != 0xF)) {
			crash(e, "delivering vector %u: 32-bit gate not present (%#x)", vector, g[5]);
			return false;
		}
		uint32_t target = (uint32_t)(g[0] | g[1] << 8 | g[6] << 16 | (uint32_t)g[7] << 24);
		uint16_t sel = (uint16_t)(g[2] | g[3] << 8);
		uint32_t esp = (uint32_t)reg(e, UC_X86_REG_RSP);
		uint32_t frame[4] = {(uint32_t)error, (uint32_t)ret_rip, (uint32_t)reg(e, UC_X86_REG_CS),
				     (uint32_t)rflags};
		size_t off = has_error ? 0 : 1, len = (4 - off) * 4;
		esp -= (uint32_t)len;
		if (!guest_write(e, esp, frame + off, len)) {
			crash(e, "delivering vector %u: stack %#x not writable", vector, esp);
			return false;
		}
		set_reg(e, UC_X86_REG_RSP, esp);
		if (sel != reg(e, UC_X86_REG_CS))
			set_reg(e, UC_X86_REG_CS, sel);
		set_reg(e, UC_X86_REG_RIP, target);
	} else {
		crash(e, "delivering vector %u in real mode: SNP has no #VC there", vector);
		return false;
	}
	/* interrupt gates clear IF; every delivery clears TF, NT and RF */
	rflags &= ~((1ull << 8) | (1ull << 14) | (1ull << 16));
	rflags &= ~(1ull << 9);
	set_reg(e, UC_X86_REG_EFLAGS, rflags);
	return true;
}

static int vc_slot(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_CPUID: return 0;
	case SVM_EXIT_IOIO: return 1;
	case SVM_EXIT_MSR: return 2;
	case SVM_EXIT_WBINVD: return 3;
	case SVM_EXIT_NPF: return 4;
	case SVM_EXIT_VMPL_NOT_VALIDATED: return 5;
	default: return 6;
	}
}

/* A #VC: recorded in the stream (as the native port does), then through the IDT. */
static mstat_t raise_vc(emu_t *e, uint64_t code, uint64_t gpa, uint64_t fault_va, uint64_t ret_rip)
{
	mach_vc_event(e->m, e->vcpu, code, gpa);
	if (code == SVM_EXIT_NPF || code == SVM_EXIT_VMPL_NOT_VALIDATED)
		set_reg(e, UC_X86_REG_CR2, fault_va);
	if (!deliver(e, VC_VECTOR, true, code, ret_rip))
		return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
	e->st.vc_delivered++;
	e->st.vc_by_code[vc_slot(code)]++;
	return mach_boundary(e->m, e->vcpu, false);
}

bool emu_inject_interrupt(emu_t *e, uint8_t vector)
{
	return deliver(e, vector, false, 0, reg(e, UC_X86_REG_RIP));
}

/* ------------------------------------------------------------------ trap handlers */

static void set_cf(emu_t *e, bool cf)
{
	uint64_t f = reg(e, UC_X86_REG_EFLAGS);
	/* PVALIDATE/RMPADJUST/RDRAND define CF and clear ZF, SF, OF, AF, PF */
	f &= ~(uint64_t)(0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800);
	if (cf)
		f |= 1;
	set_reg(e, UC_X86_REG_EFLAGS, f);
}

static mstat_t do_rmp_insn(emu_t *e, bool pvalidate, uint64_t rip, uint32_t len)
{
	uint64_t va = reg(e, UC_X86_REG_RAX), pa;
	if (!long_mode(e))
		va &= 0xFFFFFFFFu;
	if (!walk(e, va, &pa)) {
		crash(e, "%s: rAX %#" PRIx64 " is not mapped (#PF)", pvalidate ? "PVALIDATE" : "RMPADJUST",
		      va);
		return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
	}
	uint64_t gpa = pa & ~(EMU_ABI_PRIV_BIT | (PAGE - 1));
	bool page_2m = reg(e, UC_X86_REG_RCX) & 1;
	rmp_result_t r = {0};
	if (mach_boundary(e->m, e->vcpu, false) == MS_HALT)
		return MS_HALT;
	uint64_t before = events_now(e);
	mstat_t st = pvalidate ? mach_pvalidate(e->m, e->vcpu, gpa, page_2m,
						reg(e, UC_X86_REG_RDX) & 1, &r)
			       : mach_rmpadjust(e->m, e->vcpu, gpa, page_2m, reg(e, UC_X86_REG_RDX), &r);
	after_model(e, before);
	if (pvalidate)
		e->st.traps_pvalidate++;
	else
		e->st.traps_rmpadjust++;
	if (st == MS_HALT)
		return MS_HALT;
	set_reg(e, UC_X86_REG_RAX, r.ret);
	set_cf(e, pvalidate && r.cf);
	set_reg(e, UC_X86_REG_RIP, rip + len);
	return mach_boundary(e->m, e->vcpu, false);
}

static mstat_t do_vmgexit(emu_t *e, uint64_t rip)
{
	uint64_t vc = 0;
	e->st.traps_vmgexit++;
	if (mach_boundary(e->m, e->vcpu, false) == MS_HALT)
		return MS_HALT;
	uint64_t before = events_now(e);
	mstat_t st = mach_vmgexit(e->m, e->vcpu, &vc);
	after_model(e, before);
	if (st == MS_HALT)
		return MS_HALT;
	set_reg(e, UC_X86_REG_RIP, rip + 4);
	if (mach_boundary(e->m, e->vcpu, false) == MS_HALT)
		return MS_HALT;
	if (vc) /* injected between instructions: the frame returns after the VMGEXIT */
		return raise_vc(e, vc, 0, 0, rip + 4);
	return MS_OK;
}

static mstat_t do_hypercall(emu_t *e, uint64_t rip)
{
	uint32_t fn = (uint32_t)reg(e, UC_X86_REG_RAX);
	uint64_t arg = reg(e, UC_X86_REG_RDI);
	e->st.hypercalls++;
	set_reg(e, UC_X86_REG_RIP, rip + 4);
	switch (fn) {
	case EMU_HC_DONE:
		e->done = true;
		return MS_OK;
	case EMU_HC_NOTE: {
		gfw_note_t n;
		if (!guest_read(e, arg, &n, sizeof(n))) {
			crash(e, "note hypercall: %#" PRIx64 " unreadable", arg);
			return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
		}
		mach_note(e->m, e->vcpu, &n);
		return mach_boundary(e->m, e->vcpu, false);
	}
	case EMU_HC_PAUSE:
		return mach_boundary(e->m, e->vcpu, true);
	case EMU_HC_BOUNDARY:
		return mach_boundary(e->m, e->vcpu, false);
	case EMU_HC_FAIL:
		crash(e, "the guest image refused to start (reason %" PRIu64 ")", arg);
		return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
	default:
		crash(e, "unknown engine hypercall %u", fn);
		return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
	}
}

/* RDRAND/RDSEED (0F C7 /6, /7 with a register operand): missing in 2.0.1, deterministic here. */
static bool do_rdrand(emu_t *e, const uint8_t *b, uint64_t rip)
{
	size_t i = 0;
	bool opsize16 = false, rexw = false, rexb = false;
	if (b[i] == 0x66) {
		opsize16 = true;
		i++;
	}
	if (long_mode(e) && (b[i] & 0xF0) == 0x40) {
		rexw = b[i] & 8;
		rexb = b[i] & 1;
		i++;
	}
	if (b[i] != 0x0F || b[i + 1] != 0xC7)
		return false;
	uint8_t modrm = b[i + 2];
	uint8_t regop = (modrm >> 3) & 7;
	if ((modrm >> 6) != 3 || (regop != 6 && regop != 7))
		return false;
	static const int regs[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				     UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				     UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
				     UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
	/* splitmix64 on the scenario seed: the same run gives the same numbers */
	uint64_t z = (e->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	int r = regs[(modrm & 7) | (rexb ? 8 : 0)];
	uint64_t old = reg(e, r);
	uint64_t v = rexw ? z : opsize16 ? (old & ~0xFFFFull) | (z & 0xFFFF) : (uint32_t)z;
	set_reg(e, r, v);
	set_cf(e, true);
	set_reg(e, UC_X86_REG_RIP, rip + i + 3);
	e->st.traps_rdrand++;
	return true;
}

static mstat_t handle_invalid(emu_t *e)
{
	uint64_t rip = reg(e, UC_X86_REG_RIP), pc = linear_pc(e);
	uint8_t b[8] = {0};
	if (!guest_read(e, pc, b, sizeof(b)) && !guest_read(e, pc, b, 4)) {
		crash(e, "#UD at %#" PRIx64 " with unreadable bytes", pc);
		return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
	}
	note_site(e, pc);
	if (b[0] == 0xF2 && b[1] == 0x0F && b[2] == 0x01 && b[3] == 0xFF)
		return do_rmp_insn(e, true, rip, 4);
	if (b[0] == 0xF3 && b[1] == 0x0F && b[2] == 0x01 && b[3] == 0xFE)
		return do_rmp_insn(e, false, rip, 4);
	if (b[0] == 0xF3 && b[1] == 0x0F && b[2] == 0x01 && b[3] == 0xD9)
		return do_vmgexit(e, rip);
	if (b[0] == EMU_HC_BYTE0 && b[1] == EMU_HC_BYTE1 && b[2] == EMU_HC_BYTE2 && b[3] == EMU_HC_BYTE3)
		return do_hypercall(e, rip);
	if (do_rdrand(e, b, rip))
		return MS_OK;
	crash(e, "#UD at %#" PRIx64 ": %02x %02x %02x %02x", pc, b[0], b[1], b[2], b[3]);
	return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
}

static mstat_t handle_site(emu_t *e)
{
	uint64_t pc = e->pend_site, rip = reg(e, UC_X86_REG_RIP);
	uint8_t b[4] = {0};
	guest_read(e, pc, b, sizeof(b));
	note_site(e, pc);
	if (mach_boundary(e->m, e->vcpu, false) == MS_HALT)
		return MS_HALT;
	if (b[0] == 0x0F && (b[1] == 0x30 || b[1] == 0x32)) {
		bool write = b[1] == 0x30;
		uint32_t msr = (uint32_t)reg(e, UC_X86_REG_RCX);
		struct gfw_port *p = mach_vcpu(e->m, e->vcpu);
		e->st.traps_msr++;
		if (msr == MSR_AMD64_SEV_ES_GHCB || (msr == MSR_AMD64_SEV && !write)) {
			if (write) {
				p->ghcb_msr = (reg(e, UC_X86_REG_RDX) << 32) |
					      (reg(e, UC_X86_REG_RAX) & 0xFFFFFFFFu);
			} else {
				uint64_t v = msr == MSR_AMD64_SEV ? machine_scenario(e->m)->sev_status
								 : p->ghcb_msr;
				set_reg(e, UC_X86_REG_RAX, v & 0xFFFFFFFFu);
				set_reg(e, UC_X86_REG_RDX, v >> 32);
			}
			set_reg(e, UC_X86_REG_RIP, rip + 2);
			return MS_OK;
		}
		if (msr == MSR_AMD64_SEV) { /* read-only: #GP, which guestfw does not handle */
			crash(e, "WRMSR to SEV_STATUS at %#" PRIx64 " (#GP)", pc);
			return mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
		}
		return raise_vc(e, SVM_EXIT_MSR, 0, 0, rip);
	}
	if (b[0] == 0x0F && b[1] == 0xA2) {
		e->st.traps_cpuid++;
		return raise_vc(e, SVM_EXIT_CPUID, 0, 0, rip);
	}
	if (b[0] == 0x0F && b[1] == 0x09) {
		e->st.traps_wbinvd++;
		return raise_vc(e, SVM_EXIT_WBINVD, 0, 0, rip);
	}
	e->st.traps_io++;
	return raise_vc(e, SVM_EXIT_IOIO, 0, 0, rip);
}

/*
 * A bounded code hook at a trap site fires before the instruction. Unicorn
 * 2.0.1 honours uc_emu_stop only at the end of the block, and writing RIP
 * redirects at once only when the value changes; so the site is handled here,
 * and the handler always moves RIP (past the instruction, or to the #VC
 * handler), which is the precise-trap primitive (research §2).
 */
static void on_site(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx)
{
	emu_t *e = ctx;
	(void)size;
	if (e->pend != PEND_NONE || mach_ended(e->m))
		return;
	/* MSRs an SEV-ES guest reaches without a #VC execute natively (research §3) */
	uint8_t b[2];
	if (guest_read(e, addr, b, 2) && b[0] == 0x0F && (b[1] == 0x30 || b[1] == 0x32)) {
		uint32_t msr = (uint32_t)reg(e, UC_X86_REG_RCX);
		bool native = msr == MSR_EFER || (msr >= 0xC0000081u && msr <= 0xC0000084u) ||
			      (msr >= 0xC0000100u && msr <= 0xC0000103u) ||
			      (msr >= 0x174u && msr <= 0x176u) || msr == 0x277u;
		if (native)
			return;
	}
	/* RDRAND/RDSEED as a site (newer Unicorn runs them natively): the same deterministic values */
	uint8_t rb[8] = {0};
	if (e->rdrand_site && guest_read(e, addr, rb, sizeof(rb)) && do_rdrand(e, rb, addr))
		return;
	e->pend_site = addr;
	if (handle_site(e) == MS_HALT || e->crash[0]) {
		e->pend = PEND_HALT;
		uc_ok(e, uc_emu_stop(uc), "emu_stop");
	}
}

/* ------------------------------------------------------------------ precise data faults */

/*
 * Unicorn 2.0.1 stops a translation block at a data access its unmapped or
 * write-protect hook refused, with every register as it was just before that
 * access (the rest of the block does not run: measured), but RIP still at the
 * block's start. Restarting there would run the block's earlier instructions
 * twice, and a #VC frame would point at the wrong instruction. So the
 * faulting instruction is found again: the block is decoded from its start
 * and the first instruction whose memory operand, computed from the current
 * registers, covers the fault address is it, unless a register its address
 * uses is written before the next such candidate (then it ran earlier with
 * other values, and the next candidate is taken). Accesses without a memory
 * operand in Capstone's view (implicit stack accesses of PUSH/CALL) fall back
 * to the block start and are counted in imprecise_faults.
 */

/* Capstone register -> (GPR family 0..15, 16 = RIP); -1 if none. */
static int gpr_family(unsigned r)
{
	static const unsigned fam[17][5] = {
		{X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
		{X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
		{X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
		{X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
		{X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, 0},
		{X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, 0},
		{X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, 0},
		{X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, 0},
		{X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, 0},
		{X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, 0},
		{X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, 0},
		{X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, 0},
		{X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, 0},
		{X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, 0},
		{X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, 0},
		{X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, 0},
		{X86_REG_RIP, X86_REG_EIP, X86_REG_IP, 0, 0},
	};
	if (r == X86_REG_INVALID)
		return -1;
	for (int f = 0; f < 17; f++)
		for (int v = 0; v < 5; v++)
			if (fam[f][v] && fam[f][v] == r)
				return f;
	return -1;
}

static uint64_t gpr_value(emu_t *e, int fam)
{
	static const int ids[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				    UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
				    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
	return fam >= 0 && fam < 16 ? reg(e, ids[fam]) : 0;
}

/* The RIP of the instruction whose access to addr faulted, from the block at the current RIP. */
static uint64_t fault_rip(emu_t *e, uint64_t addr)
{
	uint64_t start = reg(e, UC_X86_REG_RIP);
	bool lm = long_mode(e);
	if (!lm && e->cs_base) /* real mode: the reset path has no RMP faults to locate */
		return start;
	uint8_t buf[512];
	size_t len = sizeof(buf);
	while (len && !guest_read(e, start, buf, len))
		len /= 2;
	cs_option(e->csd, CS_OPT_MODE, lm ? CS_MODE_64 : CS_MODE_32);
	cs_insn *in = NULL;
	size_t n = len ? cs_disasm(e->csd, buf, len, start, 64, &in) : 0;
	uint64_t found = start;
	bool have = false;
	uint32_t dirty = 0; /* families written since the current candidate */
	int cand = -1;
	uint32_t cand_regs = 0;
	for (size_t i = 0; i < n; i++) {
		const cs_x86 *x = &in[i].detail->x86;
		bool hit = false;
		uint32_t uses = 0;
		for (uint8_t o = 0; o < x->op_count && !hit; o++) {
			const cs_x86_op *op = &x->operands[o];
			if (op->type != X86_OP_MEM)
				continue;
			int bf = gpr_family(op->mem.base), xf = gpr_family(op->mem.index);
			uint64_t ea = (uint64_t)op->mem.disp;
			if (bf == 16)
				ea += in[i].address + in[i].size;
			else if (bf >= 0)
				ea += gpr_value(e, bf);
			if (xf >= 0 && xf < 16)
				ea += gpr_value(e, xf) * (uint64_t)op->mem.scale;
			if (op->mem.segment == X86_REG_FS)
				ea += reg(e, UC_X86_REG_FS_BASE);
			else if (op->mem.segment == X86_REG_GS)
				ea += reg(e, UC_X86_REG_GS_BASE);
			if (!lm || x->addr_size == 4)
				ea &= 0xFFFFFFFFu;
			uint64_t sz = op->size ? op->size : 8;
			if (addr >= ea && addr < ea + sz) {
				hit = true;
				uses = (bf >= 0 && bf < 16 ? 1u << bf : 0) | (xf >= 0 && xf < 16 ? 1u << xf : 0);
			}
		}
		if (hit) {
			/* the earlier candidate stands if its address registers stayed unwritten */
			if (cand >= 0 && !(cand_regs & dirty))
				break;
			cand = (int)i;
			cand_regs = uses;
			dirty = 0;
			found = in[i].address;
			have = true;
		}
		cs_regs rr, rw;
		uint8_t nr = 0, nw = 0;
		if (cs_regs_access(e->csd, &in[i], rr, &nr, rw, &nw) == CS_ERR_OK)
			for (uint8_t w = 0; w < nw; w++) {
				int f = gpr_family(rw[w]);
				if (f >= 0 && f < 16)
					dirty |= 1u << f;
			}
		/* the block ends at the first control transfer */
		if (cs_insn_group(e->csd, &in[i], CS_GRP_JUMP) || cs_insn_group(e->csd, &in[i], CS_GRP_CALL) ||
		    cs_insn_group(e->csd, &in[i], CS_GRP_RET) || cs_insn_group(e->csd, &in[i], CS_GRP_IRET) ||
		    cs_insn_group(e->csd, &in[i], CS_GRP_INT))
			break;
	}
	cs_free(in, n);
	if (!have)
		e->st.imprecise_faults++;
	return found;
}

/* ------------------------------------------------------------------ the run loop */

static const char *pend_name(pend_t p)
{
	static const char *n[] = {"none", "invalid", "site", "vc", "retry-write", "halt", "budget",
				  "crash"};
	return p < G_N_ELEMENTS(n) ? n[p] : "?";
}

static void run_loop(emu_t *e)
{
	while (!mach_ended(e->m) && !e->done) {
		e->pend = PEND_NONE;
		uint64_t rip = reg(e, UC_X86_REG_RIP);
		e->st.restarts++;
		uc_err err = uc_emu_start(e->uc, rip, UINT64_MAX, 0, 0);
		pend_t p = e->pend;
		mstat_t st = MS_OK;
		if (e->debug)
			fprintf(stderr, "emu: start %#" PRIx64 " -> %s, pend %s, rip %#" PRIx64 "\n", rip,
				uc_strerror(err), pend_name(p), reg(e, UC_X86_REG_RIP));
		switch (p) {
		case PEND_INVALID: st = handle_invalid(e); break;
		case PEND_SITE: st = handle_site(e); break;
		case PEND_VC: {
			/* a fault: the frame returns to the faulting instruction */
			uint64_t at = fault_rip(e, e->pend_va);
			set_reg(e, UC_X86_REG_RIP, at);
			st = raise_vc(e, e->pend_code, e->pend_gpa, e->pend_va, at);
			break;
		}
		case PEND_RETRY_WRITE:
			/* re-executed from the write, not the block start (fault_rip says why) */
			set_reg(e, UC_X86_REG_RIP, fault_rip(e, e->pend_fault_addr));
			unmap_one(e, e->pend_va);
			break;
		case PEND_HALT: st = MS_HALT; break;
		case PEND_BUDGET: st = mach_stop(e->m, e->vcpu, SIM_STOP_BUDGET); break;
		case PEND_CRASH:
			st = mach_stop(e->m, e->vcpu,
				       strstr(e->crash, "unmapped") ? SIM_STOP_BAD_ACCESS
								     : SIM_STOP_GUEST_EXCEPTION);
			break;
		case PEND_NONE:
			if (err != UC_ERR_OK) {
				crash(e, "unicorn stopped: %s at %#" PRIx64, uc_strerror(err), linear_pc(e));
				st = mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
				break;
			}
			uint64_t pc = linear_pc(e);
			if (reg(e, UC_X86_REG_RIP) == rip) {
				/*
				 * No progress: a RIP written inside a hook leaves Unicorn 2.0.1
				 * leaving the next translated block at once; dropping that block
				 * from the cache lets it run. Bounded: a second time is a crash.
				 */
				if (e->stall++ > 2) {
					crash(e, "no progress at %#" PRIx64, pc);
					st = mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
				}
				uc_ok(e, uc_ctl_remove_cache(e->uc, pc, pc + 1), "remove_cache");
				break;
			}
			e->stall = 0;
			/* Unicorn returns after HLT with RIP past it */
			uint8_t b = 0;
			if (guest_read(e, pc - 1, &b, 1) && b == 0xF4) {
				uint8_t vec = 0;
				bool irq = reg(e, UC_X86_REG_EFLAGS) & (1u << 9);
				emu_idle_t a = irq && e->o.idle ? e->o.idle(e->o.idle_ctx, e, &vec)
								: EMU_IDLE_STOP;
				if (a == EMU_IDLE_INJECT && !emu_inject_interrupt(e, vec))
					a = EMU_IDLE_STOP;
				if (a == EMU_IDLE_STOP) {
					if (e->debug)
						emu_dump_state(e, stderr);
					st = mach_stop(e->m, e->vcpu, SIM_STOP_HALTED);
				}
				break;
			}
			break;
		}
		if (e->crash[0] && p != PEND_CRASH && st != MS_HALT)
			st = mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
		if (st == MS_HALT)
			break;
	}
	if (e->crash[0])
		emu_dump_state(e, e->o.dump ? e->o.dump : stderr);
	(void)pend_name;
}

static void engine_entry(gfw_port_t *port, void *arg)
{
	emu_t *e = arg;
	(void)port;
	if (e->setup && !e->setup(e, e->setup_arg, &e->setup_err)) {
		mach_stop(e->m, e->vcpu, SIM_STOP_GUEST_EXCEPTION);
		return;
	}
	run_loop(e);
}

const machine_result_t *emu_run(emu_t *e, emu_setup_fn setup, void *arg)
{
	e->setup = setup;
	e->setup_arg = arg;
	return machine_run_guest(e->m, engine_entry, e);
}

/* ------------------------------------------------------------------ set-up */

const char *emu_versions(void)
{
	static char buf[64];
	unsigned umaj, umin, cmaj, cmin;
	uc_version(&umaj, &umin);
	cs_version((int *)&cmaj, (int *)&cmin);
	snprintf(buf, sizeof(buf), "unicorn %u.%u, capstone %u.%u", umaj, umin, cmaj, cmin);
	return buf;
}

static bool map_ram_transparent(emu_t *e, GError **err)
{
	const scenario_t *sc = machine_scenario(e->m);
	physmem_t *pm = mach_physmem(e->m);
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *me = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		if (me->type != GFW_MEM_RAM)
			continue;
		uint8_t *h = physmem_ptr(pm, me->gpa);
		if (!h)
			continue;
		if (!uc_gerr(uc_mem_map_ptr(e->uc, me->gpa, me->size, UC_PROT_ALL, h), "map RAM", err) ||
		    !uc_gerr(uc_mem_map_ptr(e->uc, me->gpa | EMU_ABI_PRIV_BIT, me->size, UC_PROT_ALL, h),
			     "map RAM (private alias)", err))
			return false;
	}
	return true;
}

emu_t *emu_new(machine_t *m, const emu_opts_t *opts, GError **err)
{
	const scenario_t *sc = machine_scenario(m);
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *me = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		if (me->gpa + me->size > EMU_ABI_FW_BASE && me->gpa < EMU_ABI_FW_BASE + (1ull << 32)) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
				    "%s: engine emu: memory at %#" PRIx64 " overlaps the engine's region",
				    sc->origin, me->gpa);
			return NULL;
		}
		if ((me->gpa | (me->gpa + me->size - 1)) & EMU_ABI_PRIV_BIT) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
				    "%s: engine emu: memory at %#" PRIx64 " has address bit %u set, "
				    "which the engine uses as the C-bit",
				    sc->origin, me->gpa, EMU_CBIT);
			return NULL;
		}
	}
	/*
	 * Page-access fault triggers need a report after every guest access; the
	 * engine sees only the first touch of a page (lazy mapping), so such a
	 * plan would silently never fire. Refused rather than run unfaithfully.
	 */
	if (hv_wants_access_events(mach_hv(m))) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "%s: engine emu does not support \"page_access\" fault triggers "
			    "(use --engine native)", sc->origin);
		return NULL;
	}
	emu_t *e = g_new0(emu_t, 1);
	e->m = m;
	if (opts)
		e->o = *opts;
	e->budget = e->o.insn_budget ? e->o.insn_budget : DEFAULT_INSN_BUDGET;
	e->maps = g_array_new(FALSE, FALSE, sizeof(lazy_map_t));
	e->sites = g_hash_table_new(g_direct_hash, g_direct_equal);
	e->rng = sc->seed;
	e->debug = getenv("SNPSIM_EMU_DEBUG") != NULL;
	/*
	 * Version-selected behaviour. Unicorn >= 2.1 no longer hard-codes CPUID
	 * (upstream PR #1791), so RDRAND/RDSEED execute natively there: random,
	 * hence not reproducible. They are then trapped as sites instead of
	 * through #UD, with the same seeded values. Other differences need no
	 * switch: 2.1.2 resumes after a handled #UD where 2.0.1 stops, but
	 * on_invalid stops either way and the run loop restarts.
	 */
	unsigned umaj = 0, umin = 0;
	uc_version(&umaj, &umin);
	e->rdrand_site = e->o.rdrand_sites || umaj > 2 || (umaj == 2 && umin >= 1);
	if (!uc_gerr(uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc), "open", err))
		goto fail;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &e->cs) != CS_ERR_OK) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "capstone: cannot open x86-64");
		goto fail;
	}
	e->cs_open = true;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &e->csd) != CS_ERR_OK ||
	    cs_option(e->csd, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "capstone: cannot open x86-64");
		goto fail;
	}
	e->csd_open = true;
	uc_hook h;
	if (!uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, e, 1, 0),
		     "hook unmapped", err) ||
	    !uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)on_write_prot, e, 1, 0),
		     "hook write-prot", err) ||
	    !uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_BLOCK, (void *)on_block, e, 1, 0), "hook block",
		     err) ||
	    !uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_INSN_INVALID, (void *)on_invalid, e, 1, 0),
		     "hook invalid", err) ||
	    !uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_INTR, (void *)on_intr, e, 1, 0), "hook intr", err))
		goto fail;
	if (e->o.trace_insn &&
	    !uc_gerr(uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)on_trace, e, 1, 0), "hook trace",
		     err))
		goto fail;
	if (e->o.rmp_transparent && !map_ram_transparent(e, err))
		goto fail;
	return e;
fail:
	emu_free(e);
	return NULL;
}

void emu_free(emu_t *e)
{
	if (!e)
		return;
	if (e->uc)
		uc_close(e->uc);
	if (e->cs_open)
		cs_close(&e->cs);
	if (e->csd_open)
		cs_close(&e->csd);
	if (e->fw)
		munmap(e->fw, e->fw_size);
	if (e->maps)
		g_array_free(e->maps, TRUE);
	if (e->sites)
		g_hash_table_destroy(e->sites);
	g_clear_error(&e->setup_err);
	g_free(e);
}

bool emu_map_rom(emu_t *e, uint64_t gpa, const uint8_t *host, uint64_t size, GError **err)
{
	/* read+exec only: writes reach on_write_prot and are dropped */
	return uc_gerr(uc_mem_map_ptr(e->uc, gpa, size, UC_PROT_READ | UC_PROT_EXEC, (void *)host),
		       "map ROM", err);
}

bool emu_poke(emu_t *e, uint64_t gpa, const void *src, size_t len, GError **err)
{
	physmem_t *pm = mach_physmem(e->m);
	uint8_t *h = physmem_ptr(pm, gpa);
	if (!h || physmem_avail(pm, gpa) < len) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "poke: [%#" PRIx64 ", +%#zx) is not guest RAM", gpa, len);
		return false;
	}
	memcpy(h, src, len);
	return true;
}

bool emu_set_reset_state(emu_t *e, GError **err)
{
	(void)e;
	g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL,
		    "engine emu: the real-mode reset state is not implemented yet");
	return false;
}

void *emu_map_engine_region(emu_t *e, uint64_t size, GError **err)
{
	if (e->fw) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: region already mapped");
		return NULL;
	}
	size = (size + SNP_PAGE_2M_SIZE - 1) & ~(SNP_PAGE_2M_SIZE - 1);
	if (!size || size > (1ull << 32)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "engine emu: region size %#" PRIx64,
			    size);
		return NULL;
	}
	void *h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: out of memory");
		return NULL;
	}
	if (!uc_gerr(uc_mem_map_ptr(e->uc, EMU_ABI_FW_BASE, size, UC_PROT_ALL, h),
		     "map engine region", err)) {
		munmap(h, size);
		return NULL;
	}
	e->fw = h;
	e->fw_size = size;
	e->fw_brk = 0;
	return h;
}

/* The engine region: allocate within it (page aligned). */
static uint64_t fw_alloc(emu_t *e, uint64_t size)
{
	uint64_t off = (e->fw_brk + PAGE - 1) & ~(PAGE - 1);
	if (off + size > e->fw_size)
		return 0;
	e->fw_brk = off + size;
	return EMU_ABI_FW_BASE + off;
}

static uint64_t *fw_ptr64(emu_t *e, uint64_t va)
{
	return (uint64_t *)(void *)(e->fw + (va - EMU_ABI_FW_BASE));
}

/* A page-table page (zeroed, from the region): 0 when the pool is exhausted. */
static uint64_t pt_page(emu_t *e)
{
	return fw_alloc(e, PAGE);
}

/* Identity-maps [va, va + size) with 2M pages (4K at unaligned edges are rounded out). */
static bool pt_map(emu_t *e, uint64_t cr3, uint64_t va, uint64_t size, uint64_t flags)
{
	for (uint64_t a = va & ~(SNP_PAGE_2M_SIZE - 1); a < va + size; a += SNP_PAGE_2M_SIZE) {
		uint64_t t = cr3;
		for (int level = 3; level >= 2; level--) {
			uint64_t *ent = fw_ptr64(e, t) + ((a >> (12 + 9 * level)) & 0x1FF);
			if (!(*ent & 1)) {
				uint64_t n = pt_page(e);
				if (!n)
					return false;
				*ent = n | 3;
			}
			t = *ent & 0x000FFFFFFFFFF000ull;
		}
		fw_ptr64(e, t)[(a >> 21) & 0x1FF] = a | flags | 0x83;
	}
	return true;
}

bool emu_set_long_state(emu_t *e, const emu_long_entry_t *st, GError **err)
{
	uc_x86_mmr gdtr = {.base = st->gdt_base, .limit = st->gdt_limit};
	uc_x86_mmr idtr = {.base = st->idt_base, .limit = st->idt_limit};
	uc_x86_mmr tr = {.selector = st->tr, .base = st->tss_base, .limit = 0x67, .flags = 0x8b};
	if (!uc_gerr(uc_reg_write(e->uc, UC_X86_REG_GDTR, &gdtr), "gdtr", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_IDTR, &idtr), "idtr", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_TR, &tr), "tr", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_CR3, &st->cr3), "cr3", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_RSP, &st->rsp), "rsp", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_RDI, &st->rdi), "rdi", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_RSI, &st->rsi), "rsi", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_GS_BASE, &st->gs_base), "gs_base", err) ||
	    !uc_gerr(uc_reg_write(e->uc, UC_X86_REG_RIP, &st->rip), "rip", err))
		return false;
	uint64_t fl = 0x2; /* IF=0: guestfw runs with interrupts off */
	/*
	 * CS is already a 64-bit code segment in UC_MODE_64; only the selector is
	 * set, to the GDT's code descriptor, so IRETQ from a #VC reloads the same.
	 */
	uint64_t cs = 0x08;
	return uc_gerr(uc_reg_write(e->uc, UC_X86_REG_EFLAGS, &fl), "rflags", err) &&
	       uc_gerr(uc_reg_write(e->uc, UC_X86_REG_CS, &cs), "cs", err);
}

/* ------------------------------------------------------------------ the guestfw loader */

static bool guestfw_setup(emu_t *e, void *arg, GError **err)
{
	(void)arg;
	const scenario_t *sc = machine_scenario(e->m);
	size_t img_len = (size_t)(emu_guest_image_end - emu_guest_image);
	if (img_len < sizeof(struct emu_image_header)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: no guest image");
		return false;
	}
	memcpy(&e->hdr, emu_guest_image, sizeof(e->hdr));
	if (e->hdr.magic != EMU_ABI_MAGIC || e->hdr.mem_end <= EMU_ABI_FW_BASE ||
	    e->hdr.file_end - EMU_ABI_FW_BASE > img_len) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: bad guest image header");
		return false;
	}
	/* region: image, then boot data, stacks and tables; page tables need ~2 pages per GiB */
	uint64_t ram_top = 0;
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *me = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		ram_top += me->size;
	}
	uint64_t image = (e->hdr.mem_end - EMU_ABI_FW_BASE + PAGE - 1) & ~(PAGE - 1);
	if (!emu_map_engine_region(e, image + (4ull << 20) + 2 * 2 * PAGE * (ram_top >> 30) + 64 * PAGE,
				   err))
		return false;
	memcpy(e->fw, emu_guest_image, e->hdr.file_end - EMU_ABI_FW_BASE);
	e->fw_brk = image;
	prescan(e, EMU_ABI_FW_BASE, e->hdr.file_end);

	/* GDT: null, code64 0x08, data 0x10, TSS 0x18 (16 bytes) */
	uint64_t gdt = fw_alloc(e, PAGE), tss = fw_alloc(e, PAGE), idt = fw_alloc(e, PAGE);
	uint64_t stack = fw_alloc(e, STACK_SIZE), ist = fw_alloc(e, IST_SIZE);
	uint64_t percpu = fw_alloc(e, PAGE), boot = fw_alloc(e, PAGE);
	uint64_t steps = fw_alloc(e, sc->program[0]->len * sizeof(gfw_step_t) + 1);
	uint64_t cr3 = pt_page(e);
	if (!gdt || !tss || !idt || !stack || !ist || !percpu || !boot || !steps || !cr3) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: region too small");
		return false;
	}
	uint64_t *g = fw_ptr64(e, gdt);
	g[1] = 0x00AF9A000000FFFFull; /* 64-bit code, DPL0 */
	g[2] = 0x00CF92000000FFFFull; /* data */
	g[3] = 0x0000890000000067ull | ((tss & 0xFFFFFFull) << 16) | ((tss >> 24 & 0xFF) << 56);
	g[4] = tss >> 32;
	/* IST1 sits at TSS offset 0x24: architecturally misaligned, so no typed store */
	uint64_t ist_top = ist + IST_SIZE;
	memcpy(e->fw + (tss - EMU_ABI_FW_BASE) + EMU_ABI_TSS_IST1, &ist_top, sizeof(ist_top));
	/* IDT vector 29: interrupt gate, IST1, to the image's #VC entry */
	uint64_t *gate = fw_ptr64(e, idt) + 2 * VC_VECTOR;
	uint64_t t = e->hdr.vc_entry;
	gate[0] = (t & 0xFFFF) | (0x08ull << 16) | (1ull << 32) | (0x8Eull << 40) |
		  ((t >> 16 & 0xFFFF) << 48);
	gate[1] = t >> 32;
	/* identity map: shared at GPA, private at GPA | C-bit, and the engine region */
	for (guint i = 0; i < sc->mem->len; i++) {
		const gfw_mem_entry_t *me = &g_array_index(sc->mem, gfw_mem_entry_t, i);
		if (me->type == GFW_MEM_RESERVED)
			continue;
		if (!pt_map(e, cr3, me->gpa, me->size, 0) ||
		    !pt_map(e, cr3, me->gpa | EMU_ABI_PRIV_BIT, me->size, 0)) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL,
				    "engine emu: page-table pool exhausted");
			return false;
		}
	}
	if (!pt_map(e, cr3, EMU_ABI_FW_BASE, e->fw_size, 0)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL, "engine emu: page tables");
		return false;
	}
	struct emu_percpu *pc = (struct emu_percpu *)(void *)(e->fw + (percpu - EMU_ABI_FW_BASE));
	pc->tss = tss;
	pc->vcpu = 0;
	struct emu_boot *b = (struct emu_boot *)(void *)(e->fw + (boot - EMU_ABI_FW_BASE));
	b->magic = EMU_ABI_MAGIC;
	b->vcpu = 0;
	b->nsteps = sc->program[0]->len;
	b->steps = steps;
	b->percpu = percpu;
	scenario_gfw_config(sc, &b->cfg);
	if (sc->program[0]->len)
		memcpy(e->fw + (steps - EMU_ABI_FW_BASE), sc->program[0]->data,
		       sc->program[0]->len * sizeof(gfw_step_t));
	emu_long_entry_t le = {.rip = e->hdr.entry, .rsp = stack + STACK_SIZE, .cr3 = cr3,
			       .rdi = boot, .idt_base = idt, .idt_limit = 256 * 16 - 1,
			       .gdt_base = gdt, .gdt_limit = 5 * 8 - 1, .tr = 0x18,
			       .tss_base = tss, .gs_base = percpu};
	return emu_set_long_state(e, &le, err);
}

const machine_result_t *emu_run_guestfw(emu_t *e, GError **err)
{
	const scenario_t *sc = machine_scenario(e->m);
	if (sc->vcpus > 1) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "%s: engine emu runs one vCPU; the scenario has %u", sc->origin, sc->vcpus);
		return NULL;
	}
	const machine_result_t *r = emu_run(e, guestfw_setup, NULL);
	if (e->setup_err) {
		g_propagate_error(err, e->setup_err);
		e->setup_err = NULL;
		return NULL;
	}
	return r;
}

/* ------------------------------------------------------------------ reports */

const emu_stats_t *emu_stats(const emu_t *e)
{
	return &e->st;
}

const char *emu_crash_reason(const emu_t *e)
{
	return e->crash[0] ? e->crash : NULL;
}

void emu_dump_state(emu_t *e, FILE *out)
{
	static const struct {
		const char *name;
		int id;
	} regs[] = {{"rax", UC_X86_REG_RAX}, {"rbx", UC_X86_REG_RBX}, {"rcx", UC_X86_REG_RCX},
		    {"rdx", UC_X86_REG_RDX}, {"rsi", UC_X86_REG_RSI}, {"rdi", UC_X86_REG_RDI},
		    {"rbp", UC_X86_REG_RBP}, {"rsp", UC_X86_REG_RSP}, {"r8", UC_X86_REG_R8},
		    {"r9", UC_X86_REG_R9},   {"r10", UC_X86_REG_R10}, {"r11", UC_X86_REG_R11},
		    {"r12", UC_X86_REG_R12}, {"r13", UC_X86_REG_R13}, {"r14", UC_X86_REG_R14},
		    {"r15", UC_X86_REG_R15}, {"rip", UC_X86_REG_RIP}, {"rflags", UC_X86_REG_EFLAGS},
		    {"cr0", UC_X86_REG_CR0}, {"cr2", UC_X86_REG_CR2}, {"cr3", UC_X86_REG_CR3},
		    {"cr4", UC_X86_REG_CR4}, {"cs", UC_X86_REG_CS},   {"ss", UC_X86_REG_SS}};
	fprintf(out, "snpsim emu: guest crash: %s\n", e->crash[0] ? e->crash : "(no reason)");
	for (size_t i = 0; i < G_N_ELEMENTS(regs); i++)
		fprintf(out, "  %-6s %016" PRIx64 "%s", regs[i].name, reg(e, regs[i].id),
			i % 3 == 2 ? "\n" : "");
	fprintf(out, "\n  efer   %016" PRIx64 "  guest insns %" PRIu64 "  blocks %" PRIu64 "\n",
		rdmsr_uc(e, MSR_EFER), e->st.guest_insns, e->st.blocks);
	struct gfw_port *p = mach_vcpu(e->m, e->vcpu);
	uint64_t ghcb = p->ghcb_msr;
	fprintf(out, "  ghcb msr %016" PRIx64 "\n", ghcb);
	if ((ghcb & 0xFFF) == 0 && ghcb) {
		uint8_t *h = physmem_ptr(mach_physmem(e->m), ghcb);
		if (h) { /* the save area's exit fields: SW_EXITCODE, SW_EXITINFO1/2 (GHCB 0x390) */
			uint64_t f[3];
			memcpy(f, h + 0x390, sizeof(f));
			fprintf(out, "  ghcb sw_exitcode %#" PRIx64 " info1 %#" PRIx64 " info2 %#" PRIx64
				     "\n", f[0], f[1], f[2]);
		}
	}
	fprintf(out, "  last trap sites:");
	for (uint32_t i = 0; i < G_N_ELEMENTS(e->recent) && i < e->nrecent; i++)
		fprintf(out, " %#" PRIx64, e->recent[(e->nrecent - 1 - i) % G_N_ELEMENTS(e->recent)]);
	uint64_t pc = linear_pc(e);
	uint8_t code[32];
	fprintf(out, "\n  code at %#" PRIx64 ":\n", pc);
	if (guest_read(e, pc, code, sizeof(code))) {
		cs_insn *in = NULL;
		size_t n = cs_disasm(e->cs, code, sizeof(code), pc, 4, &in);
		for (size_t i = 0; i < n; i++)
			fprintf(out, "    %016" PRIx64 "  %s %s\n", in[i].address, in[i].mnemonic,
				in[i].op_str);
		cs_free(in, n);
	}
	fflush(out);
}
