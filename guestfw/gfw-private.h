/* SPDX-License-Identifier: MIT */
/*
 * guestfw internals shared by its source files. Not an API: tests use guestfw.h.
 *
 * Every port operation goes through the wrappers below, which record in
 * c->cur_insn what the vCPU is executing. That is guestfw's own view of the
 * faulting instruction, the one the #VC handler trusts (real code decodes the
 * instruction bytes at RIP for the same reason, Linux vc_check_opcode_bytes).
 */
#ifndef SNPSIM_GFW_PRIVATE_H
#define SNPSIM_GFW_PRIVATE_H

#include <stddef.h>

#include "guestfw.h"
#include "snp/arch.h"
#include "snp/ghcb.h"
#include "snp/pages.h"

/* ------------------------------------------------------------------ freestanding helpers */

/* No libc: the freestanding build has none, and -fno-builtin keeps GCC from assuming one. */
static inline void gfw_memset(void *dst, int v, size_t n)
{
	volatile uint8_t *d = dst; /* volatile: never turned back into a memset call */
	while (n--)
		*d++ = (uint8_t)v;
}

static inline void gfw_memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

static inline int gfw_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (int)(uint8_t)*a - (int)(uint8_t)*b;
}

static inline uint64_t gfw_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t gfw_max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline bool gfw_aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

static inline bool gfw_bug(const gfw_cpu_t *c, uint32_t bug)
{
	return (c->g->cfg.policy.bugs & bug) != 0;
}

/* The highest GPA guestfw accepts in its configuration: 52-bit physical space. */
#define GFW_MAX_GPA (1ull << 52)

/* ------------------------------------------------------------------ port wrappers */

static inline uint32_t gfw_insn_enter(gfw_cpu_t *c, uint32_t insn)
{
	uint32_t saved = c->cur_insn;
	c->cur_insn = insn;
	return saved;
}

static inline void gfw_read(gfw_cpu_t *c, uint64_t gpa, void *dst, uint32_t len, bool private)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_MEM);
	gfw_port_read(c->port, gpa, dst, len, private);
	c->cur_insn = s;
}

static inline void gfw_write(gfw_cpu_t *c, uint64_t gpa, const void *src, uint32_t len,
			     bool private)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_MEM);
	gfw_port_write(c->port, gpa, src, len, private);
	c->cur_insn = s;
}

static inline uint64_t gfw_read64(gfw_cpu_t *c, uint64_t gpa, bool private)
{
	uint64_t v = 0;
	gfw_read(c, gpa, &v, sizeof(v), private);
	return v;
}

static inline void gfw_write64(gfw_cpu_t *c, uint64_t gpa, uint64_t v, bool private)
{
	gfw_write(c, gpa, &v, sizeof(v), private);
}

static inline uint64_t gfw_rdmsr(gfw_cpu_t *c, uint32_t msr)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_MSR);
	uint64_t v = gfw_port_rdmsr(c->port, msr);
	c->cur_insn = s;
	return v;
}

static inline void gfw_wrmsr(gfw_cpu_t *c, uint32_t msr, uint64_t v)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_MSR);
	gfw_port_wrmsr(c->port, msr, v);
	c->cur_insn = s;
}

static inline void gfw_vmgexit(gfw_cpu_t *c)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_VMGEXIT);
	gfw_port_vmgexit(c->port);
	c->cur_insn = s;
}

static inline uint32_t gfw_pvalidate_raw(gfw_cpu_t *c, uint64_t va, bool page_2m, bool validate,
					 uint32_t *cf)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_PVALIDATE);
	*cf = 0;
	uint32_t r = gfw_port_pvalidate(c->port, va, page_2m ? RMP_PG_SIZE_2M : RMP_PG_SIZE_4K,
					validate ? 1u : 0u, cf);
	c->cur_insn = s;
	return r;
}

static inline uint32_t gfw_rmpadjust(gfw_cpu_t *c, uint64_t va, bool page_2m, uint64_t attrs)
{
	/* RMPADJUST is not in gfw_insn_t: it takes no #VC of its own (facts §2.3) */
	uint32_t s = gfw_insn_enter(c, GFW_INSN_NONE);
	uint32_t r = gfw_port_rmpadjust(c->port, va, page_2m ? RMP_PG_SIZE_2M : RMP_PG_SIZE_4K,
					attrs);
	c->cur_insn = s;
	return r;
}

/* A lock CMPXCHG on guestfw's own memory: a memory access for the #VC checks. */
static inline bool gfw_cas32(gfw_cpu_t *c, volatile uint32_t *p, uint32_t expected,
			     uint32_t desired)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_MEM);
	bool ok = gfw_port_cas32(c->port, p, expected, desired);
	c->cur_insn = s;
	return ok;
}

static inline void gfw_pause(gfw_cpu_t *c)
{
	uint32_t s = gfw_insn_enter(c, GFW_INSN_NONE);
	gfw_port_pause(c->port);
	c->cur_insn = s;
}

static inline void gfw_note(gfw_cpu_t *c, uint32_t kind, uint32_t arg, uint64_t gpa,
			    uint64_t npages)
{
	gfw_note_t n = {.kind = kind, .arg = arg, .gpa = gpa, .npages = npages};
	gfw_port_note(c->port, &n);
}

/* ------------------------------------------------------------------ ghcb.c */

/* One MSR-protocol exchange; terminates with GFW_TERM_MSR_RESPONSE unless the response
 * carries resp_code. Saves and restores the GHCB GPA around it once a GHCB is in use. */
uint64_t gfw_msr_protocol(gfw_cpu_t *c, uint64_t request, uint32_t resp_code);

/* A GHCB NAE event: the inputs the guest marks valid, the outputs it reads back. */
typedef struct gfw_nae {
	uint64_t exit_code;
	uint64_t info1;
	uint64_t info2;
	uint64_t rax;
	uint64_t scratch;
	bool has_rax;
	bool has_scratch;
} gfw_nae_t;

/* Writes the request into the GHCB, VMGEXITs, reads SW_EXITINFO1/2 back into nae. */
void gfw_nae_call(gfw_cpu_t *c, gfw_nae_t *nae);
/* IOIO NAE event for OUT imm8 of one byte (what the #VC handler would send). */
void gfw_ioio_out8(gfw_cpu_t *c, uint16_t port, uint8_t value);

/* ------------------------------------------------------------------ psc.c */

/* Builds one batch of [gpa, end) into c->psc; returns the entry count, *next the end. */
uint32_t gfw_psc_build(gfw_cpu_t *c, uint64_t gpa, uint64_t end, uint32_t op, uint64_t *next);
/* Sends c->psc (n entries) through the GHCB with every check of facts §6.6. */
void gfw_psc_ghcb(gfw_cpu_t *c, uint32_t n);
/* One 4 KiB page through the MSR protocol (facts §6.7). */
void gfw_psc_msr(gfw_cpu_t *c, uint64_t gpa, uint32_t op);

/* ------------------------------------------------------------------ validate.c */

/* PVALIDATE one page; CF=1 and failures other than FAIL_SIZEMISMATCH terminate. */
uint32_t gfw_pvalidate(gfw_cpu_t *c, uint64_t va, bool page_2m, bool validate);
/* [gpa, +npages) to op: ordering of facts §7.1, 2M handling of §7.2, eviction touch §7.4. */
void gfw_change_state(gfw_cpu_t *c, uint64_t gpa, uint64_t npages, uint32_t op);
/* PEI: validate all RAM except launch ranges, GHCBs and lazy units. */
void gfw_prevalidate_ram(gfw_cpu_t *c);
/* The memory map entry containing gpa, or NULL. */
const gfw_mem_entry_t *gfw_mem_find(const gfw_t *g, uint64_t gpa);
/* [gpa, gpa + size) is entirely RAM of the memory map. */
bool gfw_range_is_ram(const gfw_t *g, uint64_t gpa, uint64_t size);
/* [gpa, end) intersects a configured GHCB page. */
bool gfw_range_has_ghcb(const gfw_t *g, uint64_t gpa, uint64_t end);
/* gpa lies in a launch (pre-validated) range. */
bool gfw_in_prevalidated(const gfw_t *g, uint64_t gpa);

/* ------------------------------------------------------------------ accept.c */

/* Builds the unaccepted bitmap from the configuration; false if the lazy ranges are bad. */
bool gfw_bitmap_init(gfw_t *g);
/* The unit of gpa is in the bitmap and still unaccepted. */
bool gfw_unit_unaccepted(const gfw_t *g, uint64_t gpa);
/* [gpa, end) intersects an unaccepted unit. */
bool gfw_range_has_unaccepted(const gfw_t *g, uint64_t gpa, uint64_t end);
/* The first run of unaccepted units meeting [gpa, end), as GPAs; false if none. */
bool gfw_bitmap_next_run(const gfw_t *g, uint64_t gpa, uint64_t end, uint64_t *run_start,
			 uint64_t *run_end);
/* The #VC 0x404 lazy path: gpa's unit is unaccepted; accept it or terminate. */
void gfw_accept_fault(gfw_cpu_t *c, uint64_t gpa);

/* ------------------------------------------------------------------ cpuid.c */

/* CPUID page count sanity (facts §9.1); terminates with GFW_TERM_CPUID. */
void gfw_cpuid_check_table(gfw_cpu_t *c);

#endif /* SNPSIM_GFW_PRIVATE_H */
