/* SPDX-License-Identifier: MIT */
/*
 * The VMSA (VM save area of an SEV-ES/SNP vCPU): the offsets a guest writes when
 * it creates an AP through the AP-creation NAE event, SEV_FEATURES bits, and
 * the architectural INIT values Linux uses for a new AP.
 *
 * Sources: APM Vol 2 (pub. 24593) Table B-4 "VMSA layout, state save area for
 * SEV-ES"; Linux arch/x86/include/asm/svm.h (struct sev_es_save_area, SVM_SEV_FEAT_*,
 * SVM_SELECTOR_*) and arch/x86/coco/sev/core.c (AP_INIT_*, wakeup_cpu_via_vmgexit).
 * The save-area part of the GHCB (facts §4.1) mirrors this layout: RIP 0x178,
 * RSP 0x1D8, RAX 0x1F8, XCR0 0x3E8 are the same in both.
 * Freestanding: only <stdint.h>.
 */
#ifndef SNP_VMSA_H
#define SNP_VMSA_H

#include <stdint.h>

#define VMSA_PAGE_SIZE 4096u

/* A segment register (struct vmcb_seg): u16 selector, u16 attrib, u32 limit, u64 base */
#define VMSA_SEG_SELECTOR 0x0u
#define VMSA_SEG_ATTRIB 0x2u
#define VMSA_SEG_LIMIT 0x4u
#define VMSA_SEG_BASE 0x8u
#define VMSA_SEG_SIZE 16u

#define VMSA_OFF_ES 0x000u
#define VMSA_OFF_CS 0x010u
#define VMSA_OFF_SS 0x020u
#define VMSA_OFF_DS 0x030u
#define VMSA_OFF_FS 0x040u
#define VMSA_OFF_GS 0x050u
#define VMSA_OFF_GDTR 0x060u
#define VMSA_OFF_LDTR 0x070u
#define VMSA_OFF_IDTR 0x080u
#define VMSA_OFF_TR 0x090u
#define VMSA_OFF_VMPL 0x0CAu /* u8 */
#define VMSA_OFF_CPL 0x0CBu  /* u8 */
#define VMSA_OFF_EFER 0x0D0u
#define VMSA_OFF_XSS 0x140u
#define VMSA_OFF_CR4 0x148u
#define VMSA_OFF_CR3 0x150u
#define VMSA_OFF_CR0 0x158u
#define VMSA_OFF_DR7 0x160u
#define VMSA_OFF_DR6 0x168u
#define VMSA_OFF_RFLAGS 0x170u
#define VMSA_OFF_RIP 0x178u
#define VMSA_OFF_RSP 0x1D8u
#define VMSA_OFF_RAX 0x1F8u
#define VMSA_OFF_G_PAT 0x268u
#define VMSA_OFF_SEV_FEATURES 0x3B0u
#define VMSA_OFF_XCR0 0x3E8u
#define VMSA_OFF_MXCSR 0x408u   /* u32 */
#define VMSA_OFF_X87_FTW 0x40Cu /* u16 */
#define VMSA_OFF_X87_FCW 0x410u /* u16 */

/* SEV_FEATURES bit n is SEV_STATUS bit n + 2 (facts §8.1); Linux svm.h names */
#define SVM_SEV_FEAT_SNP_ACTIVE (1ull << 0)
#define SVM_SEV_FEAT_VTOM (1ull << 1)
#define SVM_SEV_FEAT_REFLECT_VC (1ull << 2)
#define SVM_SEV_FEAT_RESTRICTED_INJECTION (1ull << 3)
#define SVM_SEV_FEAT_ALTERNATE_INJECTION (1ull << 4)
#define SVM_SEV_FEAT_DEBUG_SWAP (1ull << 5)
#define SEV_STATUS_TO_SEV_FEATURES_SHIFT 2

/* Segment attribute bits in the VMCB's compressed format (Linux SVM_SELECTOR_*) */
#define SVM_SELECTOR_S_MASK (1u << 4)
#define SVM_SELECTOR_P_MASK (1u << 7)
#define SVM_SELECTOR_WRITE_MASK (1u << 1)
#define SVM_SELECTOR_READ_MASK SVM_SELECTOR_WRITE_MASK
#define SVM_SELECTOR_CODE_MASK (1u << 3)
#define INIT_CS_ATTRIBS \
	(SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | SVM_SELECTOR_READ_MASK | SVM_SELECTOR_CODE_MASK)
#define INIT_DS_ATTRIBS (SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | SVM_SELECTOR_WRITE_MASK)
#define INIT_LDTR_ATTRIBS (SVM_SELECTOR_P_MASK | 2u)
#define INIT_TR_ATTRIBS (SVM_SELECTOR_P_MASK | 3u)

/* AP INIT values, APM Vol 2 "Processor Initialization State" (Linux AP_INIT_*) */
#define AP_INIT_CS_LIMIT 0xFFFFu
#define AP_INIT_DS_LIMIT 0xFFFFu
#define AP_INIT_LDTR_LIMIT 0xFFFFu
#define AP_INIT_GDTR_LIMIT 0xFFFFu
#define AP_INIT_IDTR_LIMIT 0xFFFFu
#define AP_INIT_TR_LIMIT 0xFFFFu
#define AP_INIT_RFLAGS_DEFAULT 0x2ull
#define AP_INIT_DR6_DEFAULT 0xFFFF0FF0ull
#define AP_INIT_DR7_DEFAULT 0x400ull
#define AP_INIT_GPAT_DEFAULT 0x0007040600070406ull
#define AP_INIT_XCR0_DEFAULT 0x1ull
#define AP_INIT_X87_FTW_DEFAULT 0x5555u
#define AP_INIT_X87_FCW_DEFAULT 0x0040u
#define AP_INIT_CR0_DEFAULT 0x60000010ull
#define AP_INIT_MXCSR_DEFAULT 0x1F80u
/* the reset vector: CS base 0xFFFF0000, selector 0xF000, RIP 0xFFF0 (APM Vol 2 §14.1.3) */
#define AP_RESET_CS_SELECTOR 0xF000u
#define AP_RESET_CS_BASE 0xFFFF0000ull
#define AP_RESET_RIP 0xFFF0ull

#endif /* SNP_VMSA_H */
