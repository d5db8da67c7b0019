/* SPDX-License-Identifier: MIT */
/*
 * The guestfw flows (see flows.h): each one a configuration, a program, what
 * the hypervisor does wrong and the exact guest actions that must result. The
 * expected sequences are written from the facts sheet (../shared/spec/
 * snp-facts.md), not from what guestfw happens to do: each block says which
 * rule it encodes. Both backends run every flow: test_gfw_flows.c (the scripted
 * mock port) and test_gfw_hv.c (hv_model + rmp), which also checks the final
 * RMP state against `rmp`.
 *
 * The machine all flows share (cfg_base), 16 MiB of RAM:
 *   [0, 2M)        RAM, validated at boot with one 2M PSC entry and a 2M PVALIDATE
 *   [2M, 4M)       the launch range (SNP_LAUNCH_UPDATE): CPUID page 0x200000,
 *                  secrets page 0x201000, GHCB 0x202000, the rest zero pages
 *   [4M, 16M)      RAM, validated at boot with six 2M entries in one batch
 */
#include "flows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snp/arch.h"

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define TiB(x) ((uint64_t)(x) << 40)

#define CPUID_PG 0x200000ull
#define SECRETS_PG 0x201000ull
#define GHCB0 0x202000ull
#define LAUNCH MiB(2)
#define RAM_TOP MiB(16)

/* ------------------------------------------------------------------ steps */

#define S_BOOT {.kind = GFW_STEP_BOOT}
#define S_SHARED(g, s) {.kind = GFW_STEP_SHARED, .gpa = (g), .size = (s)}
#define S_PRIVATE(g, s) {.kind = GFW_STEP_PRIVATE, .gpa = (g), .size = (s)}
#define S_ACCEPT(g, s) {.kind = GFW_STEP_ACCEPT, .gpa = (g), .size = (s)}
#define S_READ(g) {.kind = GFW_STEP_TOUCH, .gpa = (g), .size = 8, .arg = 0}
#define S_PRINT(n) {.kind = GFW_STEP_PRINT, .arg = (n)}

/* ------------------------------------------------------------------ configurations */

static void cfg_base(gfw_config_t *c)
{
	c->mem[0] = (gfw_mem_entry_t){0, RAM_TOP, GFW_MEM_RAM};
	c->nmem = 1;
	c->prevalidated[0] = (gfw_range_t){LAUNCH, MiB(2)};
	c->nprevalidated = 1;
	c->cpuid_page_gpa = CPUID_PG;
	c->secrets_page_gpa = SECRETS_PG;
	c->ghcb_gpa[0] = GHCB0;
}

/* The GHCB in RAM the launch did not validate: nothing to rescind. */
static void cfg_ghcb_outside(gfw_config_t *c)
{
	cfg_base(c);
	c->ghcb_gpa[0] = 0x8000;
}

/* Two more launch pages (kernel hashes, say) inside RAM, not 2M aligned. */
static void cfg_prevalidated(gfw_config_t *c)
{
	cfg_base(c);
	c->prevalidated[1] = (gfw_range_t){0x801000, 2 * SNP_PAGE_SIZE};
	c->nprevalidated = 2;
}

/* RAM on both sides of 4 GiB: [4G - 4M, 4G + 4M). */
static void cfg_4g(gfw_config_t *c)
{
	cfg_base(c);
	c->mem[1] = (gfw_mem_entry_t){GiB(4) - MiB(4), MiB(8), GFW_MEM_RAM};
	c->nmem = 2;
}

/* One RAM range of 4 GiB + 2 MiB above 4 GiB. */
static void cfg_4g_plus(gfw_config_t *c)
{
	cfg_base(c);
	c->mem[1] = (gfw_mem_entry_t){GiB(4), GiB(4) + MiB(2), GFW_MEM_RAM};
	c->nmem = 2;
}

/* RAM at 1 TiB: GFNs beyond 32 bits, GPAs beyond the 40 bits of the old OVMF shift. */
static void cfg_1t(gfw_config_t *c)
{
	cfg_base(c);
	c->mem[1] = (gfw_mem_entry_t){TiB(1), MiB(4), GFW_MEM_RAM};
	c->nmem = 2;
}

static void cfg_1t_msr(gfw_config_t *c)
{
	cfg_1t(c);
	c->policy.msr_only = true;
}

/* Two 2 MiB units, [8M, 12M), left unaccepted (Linux's bitmap, facts §11.2). */
static void cfg_lazy(gfw_config_t *c)
{
	cfg_base(c);
	c->policy.lazy = GFW_LAZY_RANGES;
	c->lazy[0] = (gfw_range_t){MiB(8), MiB(4)};
	c->nlazy = 1;
}

static void cfg_batch64(gfw_config_t *c)
{
	cfg_base(c);
	c->policy.batch = 64; /* Linux's descriptor size (facts §6.4) */
}

static void cfg_retries0(gfw_config_t *c)
{
	cfg_base(c);
	c->policy.psc_retries = 0;
}

static void cfg_retries1(gfw_config_t *c)
{
	cfg_base(c);
	c->policy.psc_retries = 1;
}

/* ------------------------------------------------------------------ machines */

#define SEV_SNP_STATUS (MSR_AMD64_SEV_ENABLED | MSR_AMD64_SEV_ES_ENABLED | MSR_AMD64_SEV_SNP_ENABLED)
#define HV_FEATURES (GHCB_HV_FT_SNP | GHCB_HV_FT_SNP_AP_CREATION)
#define MACHINE(...) {.sev_status = SEV_SNP_STATUS, .proto_min = 1, .proto_max = 2, __VA_ARGS__}

/* An honest SNP host: SEV information 1..2, features SNP | AP creation (KVM's 0x3). */
const flow_machine_t flow_machine_default = MACHINE(.features = HV_FEATURES);

static const flow_machine_t mach_evict = MACHINE(.features = HV_FEATURES, .cpuid_evict = true);
static const flow_machine_t mach_not_snp = {
	.sev_status = MSR_AMD64_SEV_ENABLED | MSR_AMD64_SEV_ES_ENABLED,
	.proto_min = 1, .proto_max = 2, .features = HV_FEATURES};
static const flow_machine_t mach_proto3 = {
	.sev_status = SEV_SNP_STATUS, .proto_min = 3, .proto_max = 3, .features = HV_FEATURES};
static const flow_machine_t mach_no_snp_feature = MACHINE(.features = GHCB_HV_FT_SNP_AP_CREATION);
static const flow_machine_t mach_no_ap_creation = MACHINE(.features = GHCB_HV_FT_SNP);
static const flow_machine_t mach_cpuid_empty = MACHINE(.features = HV_FEATURES,
						       .cpuid_count = FLOW_CPUID_EMPTY);
static const flow_machine_t mach_cpuid_65 = MACHINE(.features = HV_FEATURES,
						    .cpuid_count = SNP_CPUID_COUNT_MAX + 1);
static const flow_machine_t mach_secrets_zero = MACHINE(.features = HV_FEATURES,
							.secrets_zero = true);
static const flow_machine_t mach_term_resumes = MACHINE(.features = HV_FEATURES,
							.term_resumes = true);

/* ------------------------------------------------------------------ common sequences */

/*
 * SEC (facts §3.5, §7.1): SEV_STATUS (SNP bit), SEV information (0x002), the
 * hypervisor features (0x080), the VMPL0 test (RMPADJUST of a launch page for
 * VMPL1 with no permissions, §2.3), the GHCB page made shared: rescinded first
 * because the launch validated it, then PSC shared through the MSR protocol (no
 * GHCB yet, §6.7), then registered (0x012).
 */
#define BOOT_SEC                                                                                  \
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT), E_RMPADJ(CPUID_PG, 1),     \
		E_PVAL(GHCB0, 0, 0), E_RESC(GHCB0, 1), E_MSR(REQ_PSC(GHCB0, SHRD)),              \
		E_DONE(GHCB0, 1, SHRD), E_MSR(REQ_REG(GHCB0))

/*
 * PEI (facts §7.1, §7.2, §7.5): all RAM but the launch range, through the GHCB:
 * PSC private, then PVALIDATE; 2M entries and 2M PVALIDATEs where 2M aligned.
 */
#define BOOT_PEI                                                                                  \
	E_PSC(0, PRIV, 1, 1), E_DONE(0, 512, PRIV), E_PVAL(0, 1, 1), E_ACC(0, 512),               \
		E_PSC(MiB(4), PRIV, 6, 6), E_DONE(MiB(4), 6 * 512, PRIV),                        \
		E_PVAL_N(MiB(4), 1, 1, 6), E_ACC(MiB(4), 6 * 512)

/* ------------------------------------------------------------------ GHCB set-up */

static const gfw_step_t p_boot[] = {S_BOOT};

static const flow_exp_t seq_boot[] = {BOOT_SEC, BOOT_PEI};

static const flow_rmp_t rmp_boot[] = {
	R(0, 512, FR_VALIDATED, 1),
	R(CPUID_PG, 1, FR_VALIDATED, 0),
	R(SECRETS_PG, 1, FR_VALIDATED, 0),
	R(GHCB0, 1, FR_SHARED, FR_ANY_SIZE),
	R(GHCB0 + SNP_PAGE_SIZE, 509, FR_VALIDATED, 0),
	R(MiB(4), 6 * 512, FR_VALIDATED, 1),
};

/*
 * A GHCB the launch did not validate is not rescinded (PVALIDATE would report
 * no update, §7.3) and pre-validation skips it: [0, 0x8000) and [0x9000, 2M)
 * are validated with 4K entries (not 2M aligned), 503 of them in 253 + 250.
 */
static const flow_exp_t seq_ghcb_outside[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT), E_RMPADJ(CPUID_PG, 1),
	E_MSR(REQ_PSC(0x8000, SHRD)), E_DONE(0x8000, 1, SHRD), E_MSR(REQ_REG(0x8000)),
	E_PSC(0, PRIV, 8, 0), E_DONE(0, 8, PRIV), E_PVAL_N(0, 0, 1, 8), E_ACC(0, 8),
	E_PSC(0x9000, PRIV, 253, 0), E_DONE(0x9000, 253, PRIV), E_PVAL_N(0x9000, 0, 1, 253),
	E_PSC(0x106000, PRIV, 250, 0), E_DONE(0x106000, 250, PRIV), E_PVAL_N(0x106000, 0, 1, 250),
	E_ACC(0x9000, 503),
	E_PSC(MiB(4), PRIV, 6, 6), E_DONE(MiB(4), 6 * 512, PRIV), E_PVAL_N(MiB(4), 1, 1, 6),
	E_ACC(MiB(4), 6 * 512),
};

static const flow_rmp_t rmp_ghcb_outside[] = {
	R(0, 8, FR_VALIDATED, 0),
	R(0x8000, 1, FR_SHARED, FR_ANY_SIZE),
	R(0x9000, 503, FR_VALIDATED, 0),
	R(GHCB0, 510, FR_VALIDATED, 0), /* a launch page like any other now */
};

/* ------------------------------------------------------------------ one page each way */

static const gfw_step_t p_to_shared[] = {S_BOOT, S_SHARED(0x10000, SNP_PAGE_SIZE)};
static const gfw_step_t p_each_way[] = {S_BOOT, S_SHARED(0x10000, SNP_PAGE_SIZE),
					S_PRIVATE(0x10000, SNP_PAGE_SIZE)};

/* §7.1 private -> shared: rescind (PVALIDATE validate = 0), then PSC shared. */
static const flow_exp_t seq_to_shared[] = {
	E_PVAL(0x10000, 0, 0), E_RESC(0x10000, 1), E_PSC(0x10000, SHRD, 1, 0),
	E_DONE(0x10000, 1, SHRD),
};

static const flow_rmp_t rmp_to_shared[] = {
	R(0x10000, 1, FR_SHARED, FR_ANY_SIZE),
	R(0, 16, FR_VALIDATED, 0), /* the 2M entry was smashed around it (§1.5) */
	R(0x11000, 495, FR_VALIDATED, 0),
};

/* §7.1 shared -> private: PSC private, then PVALIDATE validate = 1. */
static const flow_exp_t seq_to_private[] = {
	E_PSC(0x10000, PRIV, 1, 0), E_DONE(0x10000, 1, PRIV), E_PVAL(0x10000, 0, 1),
	E_ACC(0x10000, 1),
};

static const flow_rmp_t rmp_to_private[] = {
	R(0, 512, FR_VALIDATED, 0),
};

/* ------------------------------------------------------------------ 2M */

static const gfw_step_t p_2m_shared[] = {S_BOOT, S_SHARED(MiB(6), MiB(2))};
static const gfw_step_t p_2m_each_way[] = {S_BOOT, S_SHARED(MiB(6), MiB(2)),
					   S_PRIVATE(MiB(6), MiB(2))};

/* §7.2: a 2M-aligned 2M range is one 2M PSC entry and one 2M PVALIDATE. */
static const flow_exp_t seq_2m_each_way[] = {
	E_PVAL(MiB(6), 1, 0), E_RESC(MiB(6), 512), E_PSC(MiB(6), SHRD, 1, 1),
	E_DONE(MiB(6), 512, SHRD),
	E_PSC(MiB(6), PRIV, 1, 1), E_DONE(MiB(6), 512, PRIV), E_PVAL(MiB(6), 1, 1),
	E_ACC(MiB(6), 512),
};

static const flow_exp_t seq_2m_shared[] = {
	E_PVAL(MiB(6), 1, 0), E_RESC(MiB(6), 512), E_PSC(MiB(6), SHRD, 1, 1),
	E_DONE(MiB(6), 512, SHRD),
};

static const flow_rmp_t rmp_2m_shared[] = {R(MiB(6), 512, FR_SHARED, FR_ANY_SIZE)};
static const flow_rmp_t rmp_2m_each_way[] = {R(MiB(6), 512, FR_VALIDATED, 1)};

/* §7.2: FAIL_SIZEMISMATCH on the 2M PVALIDATE: the same range as 512 x 4K. */
static const flow_fault_t f_force_4k[] = {
	{.kind = FF_FORCE_4K, .from_step = 2, .match = MiB(6)},
};

static const flow_exp_t seq_fallback[] = {
	E_PSC(MiB(6), PRIV, 1, 1), E_DONE(MiB(6), 512, PRIV), E_PVAL(MiB(6), 1, 1),
	E_PVAL_N(MiB(6), 0, 1, 512), E_ACC(MiB(6), 512),
};

static const flow_rmp_t rmp_fallback[] = {R(MiB(6), 512, FR_VALIDATED, 0)};

/* §7.2 on the way out: a 4K-backed 2M range is rescinded as 512 x 4K too. */
static const gfw_step_t p_2m_there_and_back[] = {S_BOOT, S_SHARED(MiB(6), MiB(2)),
						 S_PRIVATE(MiB(6), MiB(2)), S_SHARED(MiB(6), MiB(2))};
static const flow_exp_t seq_fallback_rescind[] = {
	E_PVAL(MiB(6), 1, 0), E_PVAL_N(MiB(6), 0, 0, 512), E_RESC(MiB(6), 512),
	E_PSC(MiB(6), SHRD, 1, 1), E_DONE(MiB(6), 512, SHRD),
};

/* §7.2, §7.3: "Any failure in the 4K fallback is fatal", CF=1 included. */
static const gfw_step_t p_fallback_cf[] = {S_BOOT, S_SHARED(MiB(6), MiB(2)),
					   S_PRIVATE(MiB(6) + 0x5000, SNP_PAGE_SIZE),
					   S_PRIVATE(MiB(6), MiB(2))};
static const flow_fault_t f_fallback_cf[] = {
	{.kind = FF_FORCE_4K, .from_step = 3, .match = MiB(6)},
	{.kind = FF_PVALIDATE_NOUPDATE, .from_step = 3, .match = MiB(6) + 0x5000},
};

static const flow_exp_t seq_fallback_cf[] = {
	E_PSC(MiB(6), PRIV, 1, 1), E_DONE(MiB(6), 512, PRIV), E_PVAL(MiB(6), 1, 1),
	E_PVAL_N(MiB(6), 0, 1, 6), E_TERM(GFW_TERM_PVALIDATE),
};

static const flow_rmp_t rmp_fallback_cf[] = {
	R(MiB(6), 6, FR_VALIDATED, 0),
	R(MiB(6) + 0x6000, 506, FR_PRIVATE, 0),
};

/* ------------------------------------------------------------------ PSC batches */

/*
 * §6.4: at most 253 entries per descriptor (end_entry 252). 0x601000 is not 2M
 * aligned, so every entry is 4K. The mock checks end_entry < 253 on every exit.
 */
#define B0 0x601000ull
#define B253 (B0 + 253 * SNP_PAGE_SIZE)

static const gfw_step_t p_batch_252[] = {S_BOOT, S_SHARED(B0, 252 * SNP_PAGE_SIZE),
					 S_PRIVATE(B0, 252 * SNP_PAGE_SIZE)};
static const gfw_step_t p_batch_253[] = {S_BOOT, S_SHARED(B0, 253 * SNP_PAGE_SIZE),
					 S_PRIVATE(B0, 253 * SNP_PAGE_SIZE)};
static const gfw_step_t p_batch_254[] = {S_BOOT, S_SHARED(B0, 254 * SNP_PAGE_SIZE),
					 S_PRIVATE(B0, 254 * SNP_PAGE_SIZE)};
static const gfw_step_t p_batch_254_shared[] = {S_BOOT, S_SHARED(B0, 254 * SNP_PAGE_SIZE)};

static const flow_exp_t seq_batch_252[] = {
	E_PVAL_N(B0, 0, 0, 252), E_RESC(B0, 252), E_PSC(B0, SHRD, 252, 0), E_DONE(B0, 252, SHRD),
	E_PSC(B0, PRIV, 252, 0), E_DONE(B0, 252, PRIV), E_PVAL_N(B0, 0, 1, 252), E_ACC(B0, 252),
};

static const flow_exp_t seq_batch_253[] = {
	E_PVAL_N(B0, 0, 0, 253), E_RESC(B0, 253), E_PSC(B0, SHRD, 253, 0), E_DONE(B0, 253, SHRD),
	E_PSC(B0, PRIV, 253, 0), E_DONE(B0, 253, PRIV), E_PVAL_N(B0, 0, 1, 253), E_ACC(B0, 253),
};

/* 254 = 253 + 1: two descriptors each way, each rescinded/validated around its own PSC. */
static const flow_exp_t seq_batch_254[] = {
	E_PVAL_N(B0, 0, 0, 253), E_RESC(B0, 253), E_PSC(B0, SHRD, 253, 0), E_DONE(B0, 253, SHRD),
	E_PVAL(B253, 0, 0), E_RESC(B253, 1), E_PSC(B253, SHRD, 1, 0), E_DONE(B253, 1, SHRD),
	E_PSC(B0, PRIV, 253, 0), E_DONE(B0, 253, PRIV), E_PVAL_N(B0, 0, 1, 253),
	E_PSC(B253, PRIV, 1, 0), E_DONE(B253, 1, PRIV), E_PVAL(B253, 0, 1), E_ACC(B0, 254),
};

static const flow_rmp_t rmp_batch_252[] = {
	R(MiB(6), 1, FR_VALIDATED, 0),
	R(B0, 252, FR_VALIDATED, 0),
	R(B0 + 252 * SNP_PAGE_SIZE, 511 - 252, FR_VALIDATED, 0),
};
static const flow_rmp_t rmp_batch_253[] = {
	R(B0, 253, FR_VALIDATED, 0),
	R(B253, 511 - 253, FR_VALIDATED, 0),
};
static const flow_rmp_t rmp_batch_254[] = {
	R(B0, 254, FR_VALIDATED, 0),
	R(B253 + SNP_PAGE_SIZE, 511 - 254, FR_VALIDATED, 0),
};

/* Linux's 64-entry descriptors (facts §6.4) as a policy: 254 = 64 + 64 + 64 + 62. */
static const flow_exp_t seq_batch64[] = {
	E_GROUP(4, 3, 64 * SNP_PAGE_SIZE),
	E_PVAL_N(B0, 0, 0, 64), E_RESC(B0, 64), E_PSC(B0, SHRD, 64, 0), E_DONE(B0, 64, SHRD),
	E_PVAL_N(B0 + 192 * SNP_PAGE_SIZE, 0, 0, 62), E_RESC(B0 + 192 * SNP_PAGE_SIZE, 62),
	E_PSC(B0 + 192 * SNP_PAGE_SIZE, SHRD, 62, 0), E_DONE(B0 + 192 * SNP_PAGE_SIZE, 62, SHRD),
};

static const flow_rmp_t rmp_batch64[] = {
	R(MiB(6), 1, FR_VALIDATED, 0),
	R(B0, 254, FR_SHARED, FR_ANY_SIZE),
	R(B253 + SNP_PAGE_SIZE, 511 - 254, FR_VALIDATED, 0),
};

/* ------------------------------------------------------------------ 4 GiB, 1 TiB */

#define G4 GiB(4)

/* the high range of cfg_4g, validated at boot: [4G - 4M, 4G + 4M) = four 2M entries */
#define BOOT_PEI_4G                                                                               \
	E_PSC(G4 - MiB(4), PRIV, 4, 4), E_DONE(G4 - MiB(4), 4 * 512, PRIV),                       \
		E_PVAL_N(G4 - MiB(4), 1, 1, 4), E_ACC(G4 - MiB(4), 4 * 512)

/* Four 4K pages, two each side of 4 GiB, one descriptor: no 32-bit wrap anywhere. */
static const gfw_step_t p_4g_4k[] = {S_BOOT, S_SHARED(G4 - 0x2000, 0x4000),
				     S_PRIVATE(G4 - 0x2000, 0x4000)};

static const flow_exp_t seq_4g_4k[] = {
	BOOT_SEC, BOOT_PEI, BOOT_PEI_4G,
	E_PVAL_N(G4 - 0x2000, 0, 0, 4), E_RESC(G4 - 0x2000, 4), E_PSC(G4 - 0x2000, SHRD, 4, 0),
	E_DONE(G4 - 0x2000, 4, SHRD),
	E_PSC(G4 - 0x2000, PRIV, 4, 0), E_DONE(G4 - 0x2000, 4, PRIV),
	E_PVAL_N(G4 - 0x2000, 0, 1, 4), E_ACC(G4 - 0x2000, 4),
};

static const flow_rmp_t rmp_4g_4k[] = {
	R(G4 - MiB(4), 512, FR_VALIDATED, 1),
	R(G4 - 0x2000, 4, FR_VALIDATED, 0),
	R(G4 + MiB(2), 512, FR_VALIDATED, 1),
};

/* Two 2M entries, one each side of 4 GiB. */
static const gfw_step_t p_4g_2m[] = {S_BOOT, S_SHARED(G4 - MiB(2), MiB(4)),
				     S_PRIVATE(G4 - MiB(2), MiB(4))};

static const flow_exp_t seq_4g_2m[] = {
	E_PVAL_N(G4 - MiB(2), 1, 0, 2), E_RESC(G4 - MiB(2), 1024), E_PSC(G4 - MiB(2), SHRD, 2, 2),
	E_DONE(G4 - MiB(2), 1024, SHRD),
	E_PSC(G4 - MiB(2), PRIV, 2, 2), E_DONE(G4 - MiB(2), 1024, PRIV),
	E_PVAL_N(G4 - MiB(2), 1, 1, 2), E_ACC(G4 - MiB(2), 1024),
};

static const flow_rmp_t rmp_4g_2m[] = {R(G4 - MiB(2), 1024, FR_VALIDATED, 1)};

/*
 * A 4 GiB + 2 MiB range (2049 2M entries: 8 x 253 + 25): its length in bytes
 * does not fit 32 bits (the Linux end-address bug the len-trunc32 mutant keeps).
 */
static const flow_exp_t seq_4g_plus[] = {
	BOOT_SEC, BOOT_PEI,
	E_GROUP(3, 8, 253 * MiB(2)),
	E_PSC(G4, PRIV, 253, 253), E_DONE(G4, 253 * 512, PRIV), E_PVAL_N(G4, 1, 1, 253),
	E_PSC(G4 + 2024 * MiB(2), PRIV, 25, 25), E_DONE(G4 + 2024 * MiB(2), 25 * 512, PRIV),
	E_PVAL_N(G4 + 2024 * MiB(2), 1, 1, 25),
	E_ACC(G4, 2049ull * 512),
};

static const flow_rmp_t rmp_4g_plus[] = {R(G4, 2049ull * 512, FR_VALIDATED, 1)};

/* A GFN at 1 TiB (0x10000001): the 40-bit GFN field and the PVALIDATE address intact. */
#define T1 TiB(1)

static const gfw_step_t p_1t[] = {S_BOOT, S_SHARED(T1 + 0x1000, SNP_PAGE_SIZE),
				  S_PRIVATE(T1 + 0x1000, SNP_PAGE_SIZE)};

static const flow_exp_t seq_1t[] = {
	BOOT_SEC, BOOT_PEI,
	E_PSC(T1, PRIV, 2, 2), E_DONE(T1, 1024, PRIV), E_PVAL_N(T1, 1, 1, 2), E_ACC(T1, 1024),
	E_PVAL(T1 + 0x1000, 0, 0), E_RESC(T1 + 0x1000, 1), E_PSC(T1 + 0x1000, SHRD, 1, 0),
	E_DONE(T1 + 0x1000, 1, SHRD),
	E_PSC(T1 + 0x1000, PRIV, 1, 0), E_DONE(T1 + 0x1000, 1, PRIV), E_PVAL(T1 + 0x1000, 0, 1),
	E_ACC(T1 + 0x1000, 1),
};

static const flow_rmp_t rmp_1t[] = {
	R(T1, 512, FR_VALIDATED, 0),
	R(T1 + MiB(2), 512, FR_VALIDATED, 1),
};

/* The same through the MSR protocol (§6.7): one page per request, GFN in [51:12]. */
static const flow_exp_t seq_1t_msr[] = {
	E_PVAL(T1 + 0x1000, 0, 0), E_MSR(REQ_PSC(T1 + 0x1000, SHRD)), E_RESC(T1 + 0x1000, 1),
	E_DONE(T1 + 0x1000, 1, SHRD),
	E_MSR(REQ_PSC(T1 + 0x1000, PRIV)), E_PVAL(T1 + 0x1000, 0, 1), E_DONE(T1 + 0x1000, 1, PRIV),
	E_ACC(T1 + 0x1000, 1),
};

static const flow_rmp_t rmp_1t_msr[] = {R(T1, 1024, FR_VALIDATED, 0)};

/* ------------------------------------------------------------------ pre-validated ranges */

/*
 * §7.5: launch pages are skipped, never PVALIDATEd again (CF=1 would end the
 * guest). [4M, 0x801000) is 2M + 2M + one 4K entry; [0x803000, 16M) is 509 4K
 * entries then three 2M entries: 253 + 253 + (3 + 3).
 */
static const flow_exp_t seq_prevalidated[] = {
	BOOT_SEC,
	E_PSC(0, PRIV, 1, 1), E_DONE(0, 512, PRIV), E_PVAL(0, 1, 1), E_ACC(0, 512),
	E_PSC(MiB(4), PRIV, 3, 2), E_DONE(MiB(4), 1025, PRIV), E_PVAL_N(MiB(4), 1, 1, 2),
	E_PVAL(MiB(8), 0, 1), E_ACC(MiB(4), 1025),
	E_PSC(0x803000, PRIV, 253, 0), E_DONE(0x803000, 253, PRIV), E_PVAL_N(0x803000, 0, 1, 253),
	E_PSC(0x900000, PRIV, 253, 0), E_DONE(0x900000, 253, PRIV), E_PVAL_N(0x900000, 0, 1, 253),
	E_PSC(0x9FD000, PRIV, 6, 3), E_DONE(0x9FD000, 3 + 3 * 512, PRIV),
	E_PVAL_N(0x9FD000, 0, 1, 3), E_PVAL_N(MiB(10), 1, 1, 3),
	E_ACC(0x803000, 2045),
};

static const flow_rmp_t rmp_prevalidated[] = {
	R(MiB(4), 1024, FR_VALIDATED, 1),
	R(MiB(8), 1, FR_VALIDATED, 0),
	R(0x801000, 2, FR_VALIDATED, 0),
	R(0x803000, 509, FR_VALIDATED, 0),
	R(MiB(10), 3 * 512, FR_VALIDATED, 1),
};

/* ------------------------------------------------------------------ lazy acceptance */

/* §11: the lazy units are announced, never validated at boot. */
static const flow_exp_t seq_lazy_boot[] = {
	BOOT_SEC,
	E_NOTE(GFW_NOTE_UNACCEPTED, MiB(8), 1024, 0),
	E_PSC(0, PRIV, 1, 1), E_DONE(0, 512, PRIV), E_PVAL(0, 1, 1), E_ACC(0, 512),
	E_PSC(MiB(4), PRIV, 2, 2), E_DONE(MiB(4), 1024, PRIV), E_PVAL_N(MiB(4), 1, 1, 2),
	E_ACC(MiB(4), 1024),
	E_PSC(MiB(12), PRIV, 2, 2), E_DONE(MiB(12), 1024, PRIV), E_PVAL_N(MiB(12), 1, 1, 2),
	E_ACC(MiB(12), 1024),
};

static const flow_rmp_t rmp_lazy_boot[] = {R(MiB(8), 1024, FR_SHARED, FR_ANY_SIZE)};

/*
 * accept(range) converts the whole 2 MiB unit (PSC private + PVALIDATE); the
 * second accept of the same unit finds its bit clear and does nothing at all
 * (facts §11.2: never twice, which would be a fatal CF=1). The third accepts
 * only the unit still unaccepted.
 */
static const gfw_step_t p_accept_twice[] = {
	S_BOOT, S_ACCEPT(MiB(8) + 0x1000, SNP_PAGE_SIZE), S_ACCEPT(MiB(8) + 0x1000, SNP_PAGE_SIZE),
	S_ACCEPT(MiB(8), MiB(4))};

static const flow_exp_t seq_accept_twice[] = {
	E_PSC(MiB(8), PRIV, 1, 1), E_DONE(MiB(8), 512, PRIV), E_PVAL(MiB(8), 1, 1),
	E_ACC(MiB(8), 512),
	/* step 2: nothing */
	E_PSC(MiB(10), PRIV, 1, 1), E_DONE(MiB(10), 512, PRIV), E_PVAL(MiB(10), 1, 1),
	E_ACC(MiB(10), 512),
};

static const flow_rmp_t rmp_accept_twice[] = {R(MiB(8), 1024, FR_VALIDATED, 1)};

/* The #VC 0x404 path on an unaccepted unit: accept it, retry the access; once. */
static const gfw_step_t p_lazy_vc[] = {S_BOOT, S_READ(MiB(10) + 0x10), S_READ(MiB(10) + 0x10)};
static const flow_fault_t f_lazy_vc[] = {
	{.kind = FF_UNVALIDATED, .from_step = 1, .times = 1, .match = MiB(10)},
};

static const flow_exp_t seq_lazy_vc[] = {
	E_VC(SVM_EXIT_VMPL_NOT_VALIDATED, MiB(10) + 0x10),
	E_NOTE(GFW_NOTE_LAZY_FAULT, MiB(10) + 0x10, 1, 0),
	E_PSC(MiB(10), PRIV, 1, 1), E_DONE(MiB(10), 512, PRIV), E_PVAL(MiB(10), 1, 1),
	E_ACC(MiB(10), 512),
};

static const flow_exp_t hv_seq_lazy_vc[] = {
	E_VC(SVM_EXIT_VMPL_NOT_VALIDATED, MiB(10) + 0x10),
	E_NOTE(GFW_NOTE_LAZY_FAULT, MiB(10) + 0x10, 1, 0),
	E_PSC(MiB(10), PRIV, 1, 1), E_DONE(MiB(10), 512, PRIV), E_PVAL(MiB(10), 1, 1),
	E_PVAL_N(MiB(10), 0, 1, 512), E_ACC(MiB(10), 512),
};

static const flow_rmp_t rmp_lazy_vc[] = {
	R(MiB(8), 512, FR_SHARED, FR_ANY_SIZE),
	R(MiB(10), 512, FR_VALIDATED, FR_ANY_SIZE),
};

/* ------------------------------------------------------------------ hostile PSC (§6.6) */

static const gfw_step_t p_share2[] = {S_BOOT, S_SHARED(0x10000, 2 * SNP_PAGE_SIZE)};
static const gfw_step_t p_share1[] = {S_BOOT, S_SHARED(0x10000, SNP_PAGE_SIZE)};
static const gfw_step_t p_share5[] = {S_BOOT, S_SHARED(0x10000, 5 * SNP_PAGE_SIZE)};

/* every hostile PSC answer below comes after the rescind of both pages */
#define SHARE2_HEAD E_PVAL_N(0x10000, 0, 0, 2), E_RESC(0x10000, 2), E_PSC(0x10000, SHRD, 2, 0)

/* exit 1 does entry 0 only; exit 2 does entry 1, then cur_entry 2 - 2 = 0 < 1 */
static const flow_fault_t f_cur_back[] = {
	{.kind = FF_PSC_PARTIAL, .from_step = 1, .nth = 1, .arg = 1},
	{.kind = FF_PSC_CUR_BACK, .from_step = 1, .nth = 2, .arg = 2},
};
static const flow_exp_t seq_cur_back[] = {
	SHARE2_HEAD, E_PSC(0x11000, SHRD, 1, 0), E_TERM(GFW_TERM_PSC_BACKWARDS),
};
static const flow_rmp_t rmp_share2_done[] = {R(0x10000, 2, FR_SHARED, FR_ANY_SIZE)};
static const flow_rmp_t rmp_share2_undone[] = {R(0x10000, 2, FR_PRIVATE, 0)};

static const flow_fault_t f_end_grown[] = {
	{.kind = FF_PSC_END_CHANGE, .from_step = 1, .nth = 1, .arg = 1},
};
static const flow_fault_t f_end_shrunk[] = {
	{.kind = FF_PSC_END_CHANGE, .from_step = 1, .nth = 1, .arg = 0xFFFF}, /* end_entry - 1 */
};
static const flow_exp_t seq_end_changed[] = {SHARE2_HEAD, E_TERM(GFW_TERM_PSC_END_CHANGED)};

static const flow_fault_t f_reserved[] = {
	{.kind = FF_PSC_RESERVED, .from_step = 1, .nth = 1, .arg = 1},
};
static const flow_exp_t seq_reserved[] = {SHARE2_HEAD, E_TERM(GFW_TERM_PSC_RESERVED)};

static const flow_fault_t f_psc_invalid_entry[] = {
	{.kind = FF_PSC_FAIL, .from_step = 1, .nth = 1, .arg = VMGEXIT_PSC_ERROR_INVALID_ENTRY},
};
static const flow_fault_t f_psc_generic[] = {
	{.kind = FF_PSC_FAIL, .from_step = 1, .nth = 1, .arg = VMGEXIT_PSC_ERROR_GENERIC},
};
static const flow_fault_t f_psc_nae_error[] = {
	{.kind = FF_PSC_NAE_ERROR, .from_step = 1, .nth = 1, .arg = GHCB_HV_RESP_MALFORMED_INPUT},
};
static const flow_exp_t seq_psc_error[] = {SHARE2_HEAD, E_TERM(GFW_TERM_PSC)};

/*
 * No progress: the loop is bounded (neither Linux nor OVMF bound it, §6.6).
 * psc_retries = 16 exits without progress are tolerated, the 17th is fatal.
 */
static const flow_fault_t f_no_progress[] = {{.kind = FF_PSC_NO_PROGRESS, .from_step = 1}};
static const flow_exp_t seq_no_progress[] = {
	E_PVAL(0x10000, 0, 0), E_RESC(0x10000, 1), E_PSC_N(0x10000, SHRD, 1, 0, 17, 0),
	E_TERM(GFW_TERM_PSC_NO_PROGRESS),
};
static const flow_exp_t seq_no_progress_0[] = {
	E_PVAL(0x10000, 0, 0), E_RESC(0x10000, 1), E_PSC(0x10000, SHRD, 1, 0),
	E_TERM(GFW_TERM_PSC_NO_PROGRESS),
};
static const flow_rmp_t rmp_share1_undone[] = {R(0x10000, 1, FR_PRIVATE, 0)};

/* One entry per exit is progress every time: 5 exits with a bound of 1 complete. */
static const flow_fault_t f_partial1[] = {{.kind = FF_PSC_PARTIAL, .from_step = 1, .arg = 1}};
static const flow_exp_t seq_partial1[] = {
	E_PVAL_N(0x10000, 0, 0, 5), E_RESC(0x10000, 5),
	E_PSC(0x10000, SHRD, 5, 0), E_PSC(0x11000, SHRD, 4, 0), E_PSC(0x12000, SHRD, 3, 0),
	E_PSC(0x13000, SHRD, 2, 0), E_PSC(0x14000, SHRD, 1, 0), E_DONE(0x10000, 5, SHRD),
};
static const flow_rmp_t rmp_share5_done[] = {R(0x10000, 5, FR_SHARED, FR_ANY_SIZE)};

/* Partial progress inside a 2M entry (cur_page rising, §6.3) is progress too. */
static const flow_fault_t f_partial_2m[] = {
	{.kind = FF_PSC_PARTIAL_2M, .from_step = 1, .nth = 1, .arg = 100},
	{.kind = FF_PSC_PARTIAL_2M, .from_step = 1, .nth = 2, .arg = 100},
	{.kind = FF_PSC_PARTIAL_2M, .from_step = 1, .nth = 3, .arg = 300},
};
static const flow_exp_t seq_partial_2m[] = {
	E_PVAL(MiB(6), 1, 0), E_RESC(MiB(6), 512), E_PSC_N(MiB(6), SHRD, 1, 1, 4, 0),
	E_DONE(MiB(6), 512, SHRD),
};
static const flow_fault_t f_partial_2m_stall[] = {
	{.kind = FF_PSC_PARTIAL_2M, .from_step = 1, .arg = 100},
};
static const flow_exp_t seq_partial_2m_stall[] = {
	E_PVAL(MiB(6), 1, 0), E_RESC(MiB(6), 512), E_PSC_N(MiB(6), SHRD, 1, 1, 3, 0),
	E_TERM(GFW_TERM_PSC_NO_PROGRESS),
};

/* What the hypervisor writes back into the shared buffer is never validated (§6.6). */
static const flow_fault_t f_rewrite[] = {
	{.kind = FF_PSC_REWRITE_GFN, .from_step = 2, .arg = 0x100},
};

/* MSR PSC (§6.7): response 0x015 with [63:32] ≠ 0 is a failure (Linux: term 1/1). */
static const flow_fault_t f_msr_psc_error[] = {
	{.kind = FF_MSR_RESPONSE, .match = GHCB_MSR_PSC_REQ, .arg = GHCB_MSR_PSC_RESP_ERROR},
};
static const flow_fault_t f_msr_psc_echo[] = {
	{.kind = FF_MSR_RESPONSE, .match = GHCB_MSR_PSC_REQ, .arg = 0x0020000000202014ull},
};
#define SEC_TO_GHCB_PSC                                                                           \
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT), E_RMPADJ(CPUID_PG, 1),     \
		E_PVAL(GHCB0, 0, 0), E_RESC(GHCB0, 1), E_MSR(REQ_PSC(GHCB0, SHRD))
static const flow_exp_t seq_msr_psc_error[] = {SEC_TO_GHCB_PSC, E_TERM(GFW_TERM_PSC)};
static const flow_exp_t seq_msr_psc_echo[] = {SEC_TO_GHCB_PSC, E_TERM(GFW_TERM_MSR_RESPONSE)};

/* ------------------------------------------------------------------ hostile PVALIDATE, #VC */

/* §7.3: CF=1 (no update) is a double validation: fatal. */
static const gfw_step_t p_private_again[] = {S_BOOT, S_PRIVATE(0x10000, SNP_PAGE_SIZE)};
static const flow_fault_t f_noupdate[] = {
	{.kind = FF_PVALIDATE_NOUPDATE, .from_step = 1, .match = 0x10000},
};
static const flow_exp_t seq_noupdate[] = {
	E_PSC(0x10000, PRIV, 1, 0), E_DONE(0x10000, 1, PRIV), E_PVAL(0x10000, 0, 1),
	E_TERM(GFW_TERM_PVALIDATE),
};
static const flow_rmp_t rmp_noupdate[] = {R(0x10000, 1, FR_VALIDATED, FR_ANY_SIZE)};

static const flow_fault_t f_pval_input[] = {
	{.kind = FF_PVALIDATE_RESULT, .from_step = 1, .match = 0x10000, .arg = SNP_RET_FAIL_INPUT},
};
static const flow_exp_t seq_pval_input[] = {E_PVAL(0x10000, 0, 0), E_TERM(GFW_TERM_PVALIDATE)};

/* §2.5: #VC 0x404 on a page the guest validated means the hypervisor took it away. */
static const gfw_step_t p_read_twice[] = {S_BOOT, S_READ(0x10000), S_READ(0x10000)};
static const flow_fault_t f_revoke[] = {
	{.kind = FF_REVOKE, .from_step = 1, .nth = 2, .match = 0x10000},
};
static const flow_exp_t seq_revoke[] = {
	E_VC(SVM_EXIT_VMPL_NOT_VALIDATED, 0x10000), E_TERM(GFW_TERM_VC_VALIDATED),
};
static const flow_rmp_t rmp_revoke[] = {R(0x10000, 1, FR_PRIVATE, 0)};

/* §2.6: #VC codes guestfw has no use for, and codes that do not fit what it was executing. */
static const gfw_step_t p_print1[] = {S_BOOT, S_PRINT(1)};
#define IOIO_DEBUG_OUT8 (((uint64_t)GFW_DEBUG_PORT << 16) | SVM_IOIO_SIZE8 | SVM_IOIO_ASZ64)
static const flow_fault_t f_vc_rdtsc[] = {
	{.kind = FF_INJECT_VC_EXIT, .from_step = 1, .nth = 1, .arg = SVM_EXIT_RDTSC},
};
static const flow_exp_t seq_vc_rdtsc[] = {
	E_NAE(SVM_EXIT_IOIO, IOIO_DEBUG_OUT8, 0, 's'), E_VC(SVM_EXIT_RDTSC, 0),
	E_TERM(GFW_TERM_VC_UNEXPECTED),
};
static const flow_fault_t f_vc_cpuid[] = {
	{.kind = FF_INJECT_VC_EXIT, .from_step = 1, .nth = 1, .arg = SVM_EXIT_CPUID},
};
static const flow_exp_t seq_vc_cpuid[] = {
	E_NAE(SVM_EXIT_IOIO, IOIO_DEBUG_OUT8, 0, 's'), E_VC(SVM_EXIT_CPUID, 0),
	E_TERM(GFW_TERM_VC_MISMATCH),
};
static const gfw_step_t p_read1[] = {S_BOOT, S_READ(0x10000)};
static const flow_fault_t f_vc_npf_on_ram[] = {
	{.kind = FF_INJECT_VC_ACCESS, .from_step = 1, .nth = 1, .match = 0x10000,
	 .arg = SVM_EXIT_NPF},
};
static const flow_exp_t seq_vc_npf_on_ram[] = {
	E_VC(SVM_EXIT_NPF, 0x10000), E_TERM(GFW_TERM_VC_UNEXPECTED),
};

/* A non-PSC NAE event answered with SW_EXITINFO1 = 2 (§4.5). */
static const flow_fault_t f_ioio_error[] = {
	{.kind = FF_NAE_RESULT, .from_step = 1, .match = SVM_EXIT_IOIO,
	 .arg = GHCB_HV_RESP_MALFORMED_INPUT, .arg2 = GHCB_ERR_INVALID_INPUT},
};
static const flow_exp_t seq_ioio_error[] = {
	E_NAE(SVM_EXIT_IOIO, IOIO_DEBUG_OUT8, 0, 's'), E_TERM(GFW_TERM_NAE_ERROR),
};

/* ------------------------------------------------------------------ hostile MSR protocol (§3) */

#define MSR_FAULT(name, fn, resp) \
	static const flow_fault_t name[] = {{.kind = FF_MSR_RESPONSE, .match = (fn), .arg = (resp)}}

/* KVM echoes a request it does not serve: the response code is then wrong (§3.1, §3.2) */
MSR_FAULT(f_sev_info_echo, GHCB_MSR_SEV_INFO_REQ, GHCB_MSR_SEV_INFO_REQ);
MSR_FAULT(f_sev_info_v1, GHCB_MSR_SEV_INFO_REQ, 0x0001000133000001ull); /* max 1 min 1 */
MSR_FAULT(f_sev_info_min_gt_max, GHCB_MSR_SEV_INFO_REQ, 0x0001000233000001ull); /* 1 < 2 */
MSR_FAULT(f_hv_ft_echo, GHCB_MSR_HV_FT_REQ, GHCB_MSR_HV_FT_REQ);
MSR_FAULT(f_hv_ft_garbage, GHCB_MSR_HV_FT_REQ, 0xFFFFFFFFFFFFE081ull); /* bit 0 clear */
MSR_FAULT(f_reg_other_gfn, GHCB_MSR_REG_GPA_REQ, 0x203013ull);
MSR_FAULT(f_reg_all_ones, GHCB_MSR_REG_GPA_REQ, 0xFFFFFFFFFFFFF013ull);
MSR_FAULT(f_reg_echo, GHCB_MSR_REG_GPA_REQ, 0x202012ull);

static const flow_exp_t seq_sev_info_term_msr[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_TERM(GFW_TERM_MSR_RESPONSE),
};
static const flow_exp_t seq_sev_info_term_proto[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_TERM(GFW_TERM_PROTOCOL),
};
static const flow_exp_t seq_hv_ft_term_msr[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT),
	E_TERM(GFW_TERM_MSR_RESPONSE),
};
static const flow_exp_t seq_hv_ft_term_snp[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT),
	E_TERM(GFW_TERM_SNP_UNSUPPORTED),
};
static const flow_exp_t seq_reg_term[] = {BOOT_SEC, E_TERM(GFW_TERM_REGISTER)};
static const flow_exp_t seq_reg_term_msr[] = {BOOT_SEC, E_TERM(GFW_TERM_MSR_RESPONSE)};

/* ------------------------------------------------------------------ the rest of the table */

static const flow_exp_t seq_not_snp[] = {
	E_RDMSR(MSR_AMD64_SEV), E_TERM(GFW_TERM_SNP_UNSUPPORTED),
};
static const flow_fault_t f_not_vmpl0[] = {
	{.kind = FF_RMPADJUST_RESULT, .match = CPUID_PG, .arg = SNP_RET_FAIL_PERMISSION},
};
#define SEC_TO_VMPL0                                                                              \
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_MSR(REQ_HV_FT), E_RMPADJ(CPUID_PG, 1)
static const flow_exp_t seq_not_vmpl0[] = {SEC_TO_VMPL0, E_TERM(GFW_TERM_NOT_VMPL0)};
static const flow_exp_t seq_cpuid_bad[] = {SEC_TO_VMPL0, E_TERM(GFW_TERM_CPUID)};
static const flow_exp_t seq_secrets_bad[] = {SEC_TO_VMPL0, E_TERM(GFW_TERM_SECRETS)};

static const gfw_step_t p_unaligned[] = {S_BOOT, S_SHARED(0x10800, SNP_PAGE_SIZE)};
static const gfw_step_t p_share_ghcb[] = {S_BOOT, S_SHARED(GHCB0 - 0x1000, 0x2000)};
static const gfw_step_t p_accept_mmio_hole[] = {S_BOOT, S_ACCEPT(RAM_TOP, SNP_PAGE_SIZE)};
static const flow_exp_t seq_bad_request[] = {E_TERM(GFW_TERM_BAD_REQUEST)};

/* Linux: no AP-creation feature (§3.3 bit 1), no AP creation NAE event. */
static const gfw_step_t p_create_ap[] = {S_BOOT, {.kind = GFW_STEP_CREATE_AP, .arg = 1}};
static const flow_exp_t seq_ap_create_term[] = {E_TERM(GFW_TERM_AP_CREATE)};
static const flow_exp_t seq_accept_term[] = {E_TERM(GFW_TERM_ACCEPT)};

/* A hypervisor that resumes the guest after its termination request gets a halted vCPU. */
static const flow_exp_t seq_term_resumed[] = {
	E_RDMSR(MSR_AMD64_SEV), E_MSR(REQ_SEV_INFO), E_TERM(GFW_TERM_MSR_RESPONSE),
};

/* §7.4: after validating, the first and the last byte of every page are read. */
static const gfw_step_t p_evict[] = {S_BOOT, S_SHARED(0x10000, 0x2000), S_PRIVATE(0x10000, 0x2000)};
static const flow_exp_t seq_evict[] = {
	E_PSC(0x10000, PRIV, 2, 0), E_DONE(0x10000, 2, PRIV), E_PVAL(0x10000, 0, 1),
	E_PVAL(0x11000, 0, 1), E_READ(0x10000, 1), E_READ(0x10FFF, 1), E_READ(0x11000, 1),
	E_READ(0x11FFF, 1), E_ACC(0x10000, 2),
};
static const flow_rmp_t rmp_evict[] = {R(0x10000, 2, FR_VALIDATED, 0)};

/* ... unless CPUID 8000_001F EBX[31] (COHERENCY_SFW_NO) says it is not needed. */
static const flow_exp_t seq_no_evict[] = {
	E_PSC(0x10000, PRIV, 2, 0), E_DONE(0x10000, 2, PRIV), E_PVAL(0x10000, 0, 1),
	E_PVAL(0x11000, 0, 1), E_ACC(0x10000, 2),
};

/* ------------------------------------------------------------------ the table */

#define PROG(p) .program = {p}, .nprogram = {N(p)}
#define SEQ(s) .seq = s, .nseq = N(s)
#define FAULTS(f) .faults = f, .nfaults = N(f)
#define RMP(r) .rmp = r, .nrmp = N(r)
#define DONE_OK .outcome = FLOW_COMPLETED
#define TERM(t) .outcome = FLOW_TERMINATED, .term = (t)

const flow_t gfw_flows[] = {
	/* GHCB set-up and pre-validation */
	{.name = "boot_ghcb_setup", .what = "SEV_STATUS, SEV info v2, HV features, VMPL0 test, "
	 "GHCB rescind + MSR PSC shared + register, then PEI validation",
	 .config = cfg_base, PROG(p_boot), DONE_OK, SEQ(seq_boot), RMP(rmp_boot)},
	{.name = "boot_ghcb_outside_launch", .what = "a GHCB not validated at launch is not "
	 "rescinded, and pre-validation skips it",
	 .config = cfg_ghcb_outside, PROG(p_boot), DONE_OK, SEQ(seq_ghcb_outside),
	 RMP(rmp_ghcb_outside)},
	{.name = "prevalidated_range_skipped", .what = "launch ranges are never validated again",
	 .config = cfg_prevalidated, PROG(p_boot), DONE_OK, SEQ(seq_prevalidated),
	 RMP(rmp_prevalidated)},
	/* conversions */
	{.name = "convert_private_to_shared_one_page", .what = "rescind, then PSC shared",
	 .config = cfg_base, PROG(p_to_shared), DONE_OK, SEQ(seq_to_shared), .seq_from = 1,
	 RMP(rmp_to_shared)},
	{.name = "convert_shared_to_private_one_page", .what = "PSC private, then validate",
	 .config = cfg_base, PROG(p_each_way), DONE_OK, SEQ(seq_to_private), .seq_from = 2,
	 RMP(rmp_to_private)},
	{.name = "convert_2m_to_shared", .what = "a 2M-aligned range is one 2M entry",
	 .config = cfg_base, PROG(p_2m_shared), DONE_OK, SEQ(seq_2m_shared), .seq_from = 1,
	 RMP(rmp_2m_shared)},
	{.name = "convert_2m_each_way", .what = "2M PSC entries and 2M PVALIDATEs succeed",
	 .config = cfg_base, PROG(p_2m_each_way), DONE_OK, SEQ(seq_2m_each_way), .seq_from = 1,
	 RMP(rmp_2m_each_way)},
	{.name = "fallback_2m_sizemismatch", .what = "FAIL_SIZEMISMATCH falls back to 512 x 4K",
	 .config = cfg_base, PROG(p_2m_each_way), FAULTS(f_force_4k), DONE_OK, SEQ(seq_fallback),
	 .seq_from = 2, RMP(rmp_fallback)},
	{.name = "fallback_2m_rescind_sizemismatch", .what = "a 2M rescind on 4K entries falls "
	 "back to 512 x 4K",
	 .config = cfg_base, PROG(p_2m_there_and_back), FAULTS(f_force_4k), DONE_OK,
	 SEQ(seq_fallback_rescind), .seq_from = 3, RMP(rmp_2m_shared)},
	{.name = "fallback_4k_double_validation_fatal", .what = "CF=1 inside the 4K fallback "
	 "is fatal",
	 .config = cfg_base, PROG(p_fallback_cf), FAULTS(f_fallback_cf),
	 TERM(GFW_TERM_PVALIDATE), SEQ(seq_fallback_cf), .seq_from = 3, RMP(rmp_fallback_cf)},
	/* batches */
	{.name = "psc_batch_252", .what = "252 entries: one descriptor each way",
	 .config = cfg_base, PROG(p_batch_252), DONE_OK, SEQ(seq_batch_252), .seq_from = 1,
	 RMP(rmp_batch_252)},
	{.name = "psc_batch_253", .what = "253 entries fill the shared buffer exactly",
	 .config = cfg_base, PROG(p_batch_253), DONE_OK, SEQ(seq_batch_253), .seq_from = 1,
	 RMP(rmp_batch_253)},
	{.name = "psc_batch_254", .what = "254 entries need a second descriptor",
	 .config = cfg_base, PROG(p_batch_254), DONE_OK, SEQ(seq_batch_254), .seq_from = 1,
	 RMP(rmp_batch_254)},
	{.name = "psc_batch_policy_64", .what = "batch policy 64 (Linux): 64+64+64+62",
	 .config = cfg_batch64, PROG(p_batch_254_shared), DONE_OK, SEQ(seq_batch64),
	 .seq_from = 1, RMP(rmp_batch64)},
	/* no 32-bit truncation */
	{.name = "range_crossing_4g_4k", .what = "4K pages on both sides of 4 GiB, one descriptor",
	 .config = cfg_4g, PROG(p_4g_4k), DONE_OK, SEQ(seq_4g_4k), RMP(rmp_4g_4k)},
	{.name = "range_crossing_4g_2m", .what = "2M entries on both sides of 4 GiB",
	 .config = cfg_4g, PROG(p_4g_2m), DONE_OK, SEQ(seq_4g_2m), .seq_from = 1,
	 RMP(rmp_4g_2m)},
	{.name = "range_4gib_plus_at_boot", .what = "a 4 GiB + 2 MiB range validated whole",
	 .config = cfg_4g_plus, PROG(p_boot), DONE_OK, SEQ(seq_4g_plus), RMP(rmp_4g_plus)},
	{.name = "gfn_above_1tib", .what = "GFN 0x10000001 through GHCB PSC and PVALIDATE",
	 .config = cfg_1t, PROG(p_1t), DONE_OK, SEQ(seq_1t), RMP(rmp_1t)},
	{.name = "gfn_above_1tib_msr_protocol", .what = "GFN 0x10000001 through MSR PSC",
	 .config = cfg_1t_msr, PROG(p_1t), DONE_OK, SEQ(seq_1t_msr), .seq_from = 1,
	 RMP(rmp_1t_msr)},
	/* lazy */
	{.name = "lazy_boot_leaves_units_unaccepted", .what = "lazy units are not validated",
	 .config = cfg_lazy, PROG(p_boot), DONE_OK, SEQ(seq_lazy_boot), RMP(rmp_lazy_boot)},
	{.name = "lazy_accept_same_unit_twice", .what = "the second accept of a unit is a no-op",
	 .config = cfg_lazy, PROG(p_accept_twice), DONE_OK, SEQ(seq_accept_twice), .seq_from = 1,
	 RMP(rmp_accept_twice)},
	{.name = "lazy_vc_accepts_unit", .what = "#VC 0x404 on an unaccepted unit accepts it once",
	 .config = cfg_lazy, PROG(p_lazy_vc), FAULTS(f_lazy_vc), DONE_OK, SEQ(seq_lazy_vc),
	 .seq_from = 1, RMP(rmp_lazy_vc), .hv_seq = hv_seq_lazy_vc, .nhv_seq = N(hv_seq_lazy_vc),
	 .hv_seq_why = "the hypervisor backs the faulting page with a 4K private RMP entry on "
		       "the #NPF (KVM's conversion on fault), so the unit's 2M PVALIDATE "
		       "mismatches and falls back to 512 x 4K"},
	/* hostile PSC */
	{.name = "psc_cur_entry_backwards", .what = "cur_entry moved back: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_cur_back), TERM(GFW_TERM_PSC_BACKWARDS),
	 SEQ(seq_cur_back), .seq_from = 1, RMP(rmp_share2_done)},
	{.name = "psc_end_entry_grown", .what = "end_entry increased: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_end_grown), TERM(GFW_TERM_PSC_END_CHANGED),
	 SEQ(seq_end_changed), .seq_from = 1, RMP(rmp_share2_done)},
	{.name = "psc_end_entry_shrunk", .what = "end_entry decreased: terminate (Linux misses it)",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_end_shrunk),
	 TERM(GFW_TERM_PSC_END_CHANGED), SEQ(seq_end_changed), .seq_from = 1,
	 RMP(rmp_share2_done)},
	{.name = "psc_reserved_bits", .what = "header reserved field set: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_reserved), TERM(GFW_TERM_PSC_RESERVED),
	 SEQ(seq_reserved), .seq_from = 1, RMP(rmp_share2_done)},
	{.name = "psc_error_invalid_entry", .what = "SW_EXITINFO2 = INVALID_ENTRY: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_psc_invalid_entry), TERM(GFW_TERM_PSC),
	 SEQ(seq_psc_error), .seq_from = 1, RMP(rmp_share2_undone)},
	{.name = "psc_error_generic", .what = "SW_EXITINFO2 = KVM's generic error: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_psc_generic), TERM(GFW_TERM_PSC),
	 SEQ(seq_psc_error), .seq_from = 1, RMP(rmp_share2_undone)},
	{.name = "psc_nae_error", .what = "SW_EXITINFO1 = 2 on the PSC event: terminate",
	 .config = cfg_base, PROG(p_share2), FAULTS(f_psc_nae_error), TERM(GFW_TERM_PSC),
	 SEQ(seq_psc_error), .seq_from = 1},
	{.name = "psc_no_progress_bounded", .what = "no progress: 1 + 16 retries, then terminate",
	 .config = cfg_base, PROG(p_share1), FAULTS(f_no_progress),
	 TERM(GFW_TERM_PSC_NO_PROGRESS), SEQ(seq_no_progress), .seq_from = 1,
	 RMP(rmp_share1_undone)},
	{.name = "psc_no_progress_retries_0", .what = "retry bound 0: the first stall is fatal",
	 .config = cfg_retries0, PROG(p_share1), FAULTS(f_no_progress),
	 TERM(GFW_TERM_PSC_NO_PROGRESS), SEQ(seq_no_progress_0), .seq_from = 1,
	 RMP(rmp_share1_undone)},
	{.name = "psc_partial_progress_not_a_stall", .what = "one entry per exit completes",
	 .config = cfg_retries1, PROG(p_share5), FAULTS(f_partial1), DONE_OK, SEQ(seq_partial1),
	 .seq_from = 1, RMP(rmp_share5_done)},
	{.name = "psc_partial_2m_progress", .what = "cur_page rising inside a 2M entry is progress",
	 .config = cfg_retries1, PROG(p_2m_shared), FAULTS(f_partial_2m), DONE_OK,
	 SEQ(seq_partial_2m), .seq_from = 1},
	{.name = "psc_partial_2m_stalled", .what = "cur_page stuck inside a 2M entry is a stall",
	 .config = cfg_retries1, PROG(p_2m_shared), FAULTS(f_partial_2m_stall),
	 TERM(GFW_TERM_PSC_NO_PROGRESS), SEQ(seq_partial_2m_stall), .seq_from = 1},
	{.name = "psc_rewritten_buffer_ignored", .what = "PVALIDATE uses the private copy",
	 .config = cfg_base, PROG(p_each_way), FAULTS(f_rewrite), DONE_OK, SEQ(seq_to_private),
	 .seq_from = 2, RMP(rmp_to_private)},
	{.name = "msr_psc_error", .what = "MSR PSC response with an error code: terminate",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_msr_psc_error), TERM(GFW_TERM_PSC),
	 SEQ(seq_msr_psc_error)},
	{.name = "msr_psc_wrong_code", .what = "MSR PSC answered with the request code",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_msr_psc_echo), TERM(GFW_TERM_MSR_RESPONSE),
	 SEQ(seq_msr_psc_echo)},
	/* hostile PVALIDATE and #VC */
	{.name = "pvalidate_cf1_double_validation", .what = "CF=1 on validate: terminate",
	 .config = cfg_base, PROG(p_private_again), FAULTS(f_noupdate), TERM(GFW_TERM_PVALIDATE),
	 SEQ(seq_noupdate), .seq_from = 1, RMP(rmp_noupdate)},
	{.name = "pvalidate_fail_input", .what = "PVALIDATE FAIL_INPUT: terminate",
	 .config = cfg_base, PROG(p_share1), FAULTS(f_pval_input), TERM(GFW_TERM_PVALIDATE),
	 SEQ(seq_pval_input), .seq_from = 1},
	{.name = "vc_404_on_validated_page", .what = "#VC 0x404 on a validated page: terminate",
	 .config = cfg_base, PROG(p_read_twice), FAULTS(f_revoke), TERM(GFW_TERM_VC_VALIDATED),
	 SEQ(seq_revoke), .seq_from = 1, RMP(rmp_revoke)},
	{.name = "vc_unexpected_code", .what = "#VC RDTSC (never executed): terminate",
	 .config = cfg_base, PROG(p_print1), FAULTS(f_vc_rdtsc), TERM(GFW_TERM_VC_UNEXPECTED),
	 SEQ(seq_vc_rdtsc), .seq_from = 1},
	{.name = "vc_code_mismatch", .what = "#VC CPUID during a VMGEXIT: terminate",
	 .config = cfg_base, PROG(p_print1), FAULTS(f_vc_cpuid), TERM(GFW_TERM_VC_MISMATCH),
	 SEQ(seq_vc_cpuid), .seq_from = 1},
	{.name = "vc_npf_code_on_ram", .what = "#VC 0x400 (MMIO) on a RAM access: terminate",
	 .config = cfg_base, PROG(p_read1), FAULTS(f_vc_npf_on_ram), TERM(GFW_TERM_VC_UNEXPECTED),
	 SEQ(seq_vc_npf_on_ram), .seq_from = 1},
	{.name = "nae_error_on_ioio", .what = "IOIO answered with SW_EXITINFO1 = 2: terminate",
	 .config = cfg_base, PROG(p_print1), FAULTS(f_ioio_error), TERM(GFW_TERM_NAE_ERROR),
	 SEQ(seq_ioio_error), .seq_from = 1},
	/* hostile MSR protocol */
	{.name = "sev_info_wrong_code", .what = "SEV info answered with the request code",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_sev_info_echo), TERM(GFW_TERM_MSR_RESPONSE),
	 SEQ(seq_sev_info_term_msr)},
	{.name = "sev_info_version_1_only", .what = "protocol range 1..1 excludes version 2",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_sev_info_v1), TERM(GFW_TERM_PROTOCOL),
	 SEQ(seq_sev_info_term_proto)},
	{.name = "sev_info_min_above_max", .what = "garbage range min 2 > max 1",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_sev_info_min_gt_max), TERM(GFW_TERM_PROTOCOL),
	 SEQ(seq_sev_info_term_proto)},
	{.name = "sev_info_versions_3_only", .what = "a hypervisor offering only version 3",
	 .config = cfg_base, .machine = &mach_proto3, PROG(p_boot), TERM(GFW_TERM_PROTOCOL),
	 SEQ(seq_sev_info_term_proto)},
	{.name = "hv_features_wrong_code", .what = "HV features answered with the request code",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_hv_ft_echo), TERM(GFW_TERM_MSR_RESPONSE),
	 SEQ(seq_hv_ft_term_msr)},
	{.name = "hv_features_garbage", .what = "HV features garbage without the SNP bit",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_hv_ft_garbage),
	 TERM(GFW_TERM_SNP_UNSUPPORTED), SEQ(seq_hv_ft_term_snp)},
	{.name = "hv_features_without_snp", .what = "a hypervisor without the SNP feature",
	 .config = cfg_base, .machine = &mach_no_snp_feature, PROG(p_boot),
	 TERM(GFW_TERM_SNP_UNSUPPORTED), SEQ(seq_hv_ft_term_snp)},
	{.name = "register_other_gfn", .what = "register answered with another GFN",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_reg_other_gfn), TERM(GFW_TERM_REGISTER),
	 SEQ(seq_reg_term)},
	{.name = "register_all_ones", .what = "register answered with the failure value",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_reg_all_ones), TERM(GFW_TERM_REGISTER),
	 SEQ(seq_reg_term)},
	{.name = "register_wrong_code", .what = "register answered with the request code",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_reg_echo), TERM(GFW_TERM_MSR_RESPONSE),
	 SEQ(seq_reg_term_msr)},
	{.name = "termination_resumed_guest_halts", .what = "nothing runs after a termination "
	 "request, even if the hypervisor resumes the guest",
	 .config = cfg_base, .machine = &mach_term_resumes, PROG(p_boot), FAULTS(f_sev_info_echo),
	 TERM(GFW_TERM_MSR_RESPONSE), SEQ(seq_term_resumed)},
	/* the rest of the termination table */
	{.name = "not_snp", .what = "SEV_STATUS without the SNP bit",
	 .config = cfg_base, .machine = &mach_not_snp, PROG(p_boot),
	 TERM(GFW_TERM_SNP_UNSUPPORTED), SEQ(seq_not_snp)},
	{.name = "not_vmpl0", .what = "RMPADJUST VMPL0 test fails",
	 .config = cfg_base, PROG(p_boot), FAULTS(f_not_vmpl0), TERM(GFW_TERM_NOT_VMPL0),
	 SEQ(seq_not_vmpl0)},
	{.name = "cpuid_table_empty", .what = "CPUID page with count 0",
	 .config = cfg_base, .machine = &mach_cpuid_empty, PROG(p_boot), TERM(GFW_TERM_CPUID),
	 SEQ(seq_cpuid_bad)},
	{.name = "cpuid_table_too_big", .what = "CPUID page with count 65",
	 .config = cfg_base, .machine = &mach_cpuid_65, PROG(p_boot), TERM(GFW_TERM_CPUID),
	 SEQ(seq_cpuid_bad)},
	{.name = "secrets_page_zero", .what = "secrets page without VMPCK0",
	 .config = cfg_base, .machine = &mach_secrets_zero, PROG(p_boot), TERM(GFW_TERM_SECRETS),
	 SEQ(seq_secrets_bad)},
	{.name = "bad_request_unaligned", .what = "a conversion of an unaligned range",
	 .config = cfg_base, PROG(p_unaligned), TERM(GFW_TERM_BAD_REQUEST), SEQ(seq_bad_request),
	 .seq_from = 1},
	{.name = "bad_request_ghcb", .what = "a conversion that includes the GHCB",
	 .config = cfg_base, PROG(p_share_ghcb), TERM(GFW_TERM_BAD_REQUEST), SEQ(seq_bad_request),
	 .seq_from = 1},
	{.name = "ap_create_without_feature", .what = "AP creation the hypervisor does not offer",
	 .config = cfg_base, .machine = &mach_no_ap_creation, PROG(p_create_ap),
	 TERM(GFW_TERM_AP_CREATE), SEQ(seq_ap_create_term), .seq_from = 1},
	{.name = "accept_outside_ram", .what = "an accept beyond RAM",
	 .config = cfg_base, PROG(p_accept_mmio_hole), TERM(GFW_TERM_ACCEPT),
	 SEQ(seq_accept_term), .seq_from = 1},
	/* eviction */
	{.name = "eviction_touch_after_validation", .what = "first and last byte of each page",
	 .config = cfg_base, .machine = &mach_evict, .record = FLOW_REC_READS, PROG(p_evict),
	 DONE_OK, SEQ(seq_evict), .seq_from = 2, RMP(rmp_evict)},
	{.name = "eviction_skipped_with_coherency_sfw_no", .what = "no touch when CPUID says so",
	 .config = cfg_base, .record = FLOW_REC_READS, PROG(p_evict), DONE_OK, SEQ(seq_no_evict),
	 .seq_from = 2, RMP(rmp_evict)},
};

const size_t gfw_nflows = sizeof(gfw_flows) / sizeof(gfw_flows[0]);

const flow_t *flow_find(const char *name)
{
	for (size_t i = 0; i < gfw_nflows; i++)
		if (strcmp(gfw_flows[i].name, name) == 0)
			return &gfw_flows[i];
	return NULL;
}

void flow_config(const flow_t *f, gfw_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	gfw_policy_defaults(&cfg->policy);
	f->config(cfg);
	cfg->policy.bugs |= f->bugs;
}

/* ------------------------------------------------------------------ the CPUID page */

void flow_default_cpuid(struct snp_cpuid_table *t, const flow_machine_t *mach)
{
	memset(t, 0, sizeof(*t));
	uint32_t n = 0;
	t->fn[n++] = (struct snp_cpuid_fn){.eax_in = 0, .eax = 0xD, .ebx = 0x68747541,
					   .ecx = 0x444D4163, .edx = 0x69746E65};
	t->fn[n++] = (struct snp_cpuid_fn){.eax_in = 1, .eax = 0x00A10F11, .ebx = 0x00010800,
					   .ecx = 0x7ED8320B, .edx = 0x178BFBFF};
	t->fn[n++] = (struct snp_cpuid_fn){.eax_in = 7, .ecx_in = 0, .ebx = 0x219C97A9};
	t->fn[n++] = (struct snp_cpuid_fn){.eax_in = 0x80000000, .eax = 0x8000001F};
	t->fn[n++] = (struct snp_cpuid_fn){
		.eax_in = CPUID_FN_SEV,
		.eax = CPUID_SEV_EAX_SEV | CPUID_SEV_EAX_SEV_ES | CPUID_SEV_EAX_SNP |
		       CPUID_SEV_EAX_VMPL,
		.ebx = 51u | (1u << 6) | (4u << 12) |
		       (mach->cpuid_evict ? 0u : CPUID_SEV_EBX_COHERENCY_SFW_NO)};
	t->count = mach->cpuid_count == FLOW_CPUID_EMPTY ? 0
		   : mach->cpuid_count			 ? mach->cpuid_count
							 : n;
}

/* ------------------------------------------------------------------ checking */

const char *flow_ev_kind_name(uint32_t kind)
{
	static const char *const names[FE_KIND_MAX] = {
		[FE_MSR] = "msr",	    [FE_NAE] = "nae",	[FE_PSC] = "psc",
		[FE_PVALIDATE] = "pvalidate", [FE_RMPADJUST] = "rmpadjust",
		[FE_VC] = "vc",		    [FE_NOTE] = "note", [FE_READ] = "read",
		[FE_WRITE] = "write",	    [FE_PAUSE] = "pause", [FE_RDMSR] = "rdmsr",
	};
	return kind < FE_KIND_MAX && names[kind] ? names[kind] : "?";
}

void flow_ev_print(const flow_ev_t *e)
{
	printf("cpu%u %-9s gpa 0x%" PRIx64 " x 0x%" PRIx64 " y 0x%" PRIx64 " z 0x%" PRIx64
	       " w 0x%" PRIx64,
	       e->cpu, flow_ev_kind_name(e->kind), e->gpa, e->x, e->y, e->z, e->w);
}

/* Expands repeats and groups into one flat list. */
static flow_ev_t *expand(const flow_exp_t *exp, size_t nexp, int **lines, size_t *nout)
{
	size_t cap = 64, n = 0;
	flow_ev_t *out = malloc(cap * sizeof(*out));
	int *ln = malloc(cap * sizeof(*ln));
	if (!out || !ln)
		abort();
	for (size_t i = 0; i < nexp; i++) {
		size_t k = 1, reps = 1;
		uint64_t gstride = 0;
		const flow_exp_t *body = &exp[i];
		if (exp[i].ev.kind == FE_GROUP) {
			k = exp[i].ev.x;
			reps = exp[i].repeat;
			gstride = exp[i].stride;
			body = &exp[i + 1];
			i += k;
		}
		for (size_t r = 0; r < reps; r++) {
			for (size_t b = 0; b < k; b++) {
				for (uint32_t c = 0; c < body[b].repeat; c++) {
					if (n == cap) {
						cap *= 2;
						out = realloc(out, cap * sizeof(*out));
						ln = realloc(ln, cap * sizeof(*ln));
						if (!out || !ln)
							abort();
					}
					out[n] = body[b].ev;
					out[n].gpa += r * gstride + (uint64_t)c * body[b].stride;
					ln[n] = body[b].line;
					n++;
				}
			}
		}
	}
	*lines = ln;
	*nout = n;
	return out;
}

static bool ev_equal(const flow_ev_t *a, const flow_ev_t *b)
{
	return a->kind == b->kind && a->cpu == b->cpu && a->gpa == b->gpa && a->x == b->x &&
	       a->y == b->y && a->z == b->z && a->w == b->w;
}

bool flow_log_expect(const flow_ev_t *log, size_t nlog, size_t from, const flow_exp_t *exp,
		     size_t nexp, bool prefix)
{
	int *lines;
	size_t n;
	flow_ev_t *want = expand(exp, nexp, &lines, &n);
	size_t have = from <= nlog ? nlog - from : 0;
	bool ok = true;
	size_t bad = 0;
	for (size_t i = 0; i < n && ok; i++) {
		if (i >= have) {
			printf("  action %zu missing; expected (flows.c:%d): ", i, lines[i]);
			flow_ev_print(&want[i]);
			printf("\n");
			ok = false;
			bad = i;
			break;
		}
		const flow_ev_t *g = &log[from + i];
		if (!ev_equal(g, &want[i])) {
			printf("  action %zu differs\n    expected (flows.c:%d): ", i, lines[i]);
			flow_ev_print(&want[i]);
			printf("\n    got:                   ");
			flow_ev_print(g);
			printf("\n");
			ok = false;
			bad = i;
		}
	}
	if (ok && !prefix && have > n) {
		printf("  %zu unexpected action(s) after the expected %zu; the first: ", have - n, n);
		flow_ev_print(&log[from + n]);
		printf("\n");
		ok = false;
		bad = n;
	}
	if (!ok) {
		/* the recorded actions around the first difference */
		size_t lo = bad > 8 ? bad - 8 : 0;
		printf("  recorded from %zu (%zu actions), around action %zu:\n", from, have, bad);
		for (size_t i = lo; i < have && i < lo + 24; i++) {
			printf("    [%zu] ", i);
			flow_ev_print(&log[from + i]);
			printf("\n");
		}
	}
	free(want);
	free(lines);
	return ok;
}

bool flow_verify(const flow_t *f, const flow_run_t *r)
{
	bool ok = true;
	const char *want_name = gfw_term_name(GFW_TERM_SET(f->term), GFW_TERM_CODE(f->term));
	const char *got_name = r->terminated ? gfw_term_name(r->set, r->code) : NULL;
	if (f->outcome == FLOW_COMPLETED && (!r->completed || r->terminated)) {
		printf("  %s: expected completion, got %s", f->name, r->how ? r->how : "?");
		if (r->terminated)
			printf(" with %s (%u/%u)", got_name ? got_name : "?", r->set, r->code);
		printf("\n");
		ok = false;
	}
	if (f->outcome == FLOW_TERMINATED &&
	    (!r->terminated || r->set != GFW_TERM_SET(f->term) ||
	     r->code != GFW_TERM_CODE(f->term))) {
		printf("  %s: expected %s (%u/%u), got ", f->name, want_name ? want_name : "?",
		       GFW_TERM_SET(f->term), GFW_TERM_CODE(f->term));
		if (r->terminated)
			printf("%s (%u/%u)\n", got_name ? got_name : "?", r->set, r->code);
		else
			printf("%s without termination\n", r->how ? r->how : "?");
		ok = false;
	}
	if (r->violations) {
		printf("  %s: %u guest protocol violation(s), the first: %s\n", f->name,
		       r->violations, r->violation ? r->violation : "?");
		ok = false;
	}
	const flow_exp_t *seq = r->hv && f->hv_seq ? f->hv_seq : f->seq;
	uint32_t nseq = r->hv && f->hv_seq ? f->nhv_seq : f->nseq;
	if (seq) {
		if (r->from == SIZE_MAX) {
			printf("  %s: step %u never ran\n", f->name, f->seq_from);
			ok = false;
		} else if (!flow_log_expect(r->log, r->n, r->from, seq, nseq, f->seq_prefix)) {
			printf("  %s: the action sequence differs (above)\n", f->name);
			ok = false;
		}
	}
	return ok;
}
