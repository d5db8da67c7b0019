/* SPDX-License-Identifier: MIT */
/*
 * SEV-SNP architectural constants: MSRs, instruction encodings and return codes,
 * RMP entry fields, #NPF error-code bits, #VC error codes, SEV_STATUS bits.
 *
 * Freestanding: only <stdint.h>. Included by rmp/, hv_model/, guestfw/ and sim/.
 * Names follow the APM Vol 2 (pub. 24593) ch. 15 and the Linux definitions in
 * arch/x86/include/asm/{sev.h,sev-common.h,msr-index.h}; see ../shared/spec/snp-facts.md
 * sections 0-2 and 8 for sources.
 */
#ifndef SNP_ARCH_H
#define SNP_ARCH_H

#include <stdint.h>

#define SNP_PAGE_SHIFT 12
#define SNP_PAGE_SIZE (1ull << SNP_PAGE_SHIFT)
#define SNP_PAGE_2M_SHIFT 21
#define SNP_PAGE_2M_SIZE (1ull << SNP_PAGE_2M_SHIFT)
#define SNP_PAGES_PER_2M 512u

/* MSRs (facts §0) */
#define MSR_AMD64_SEV_ES_GHCB 0xC0010130u
#define MSR_AMD64_SEV 0xC0010131u /* SEV_STATUS: read-only, never intercepted */
#define MSR_AMD64_RMP_BASE 0xC0010132u
#define MSR_AMD64_RMP_END 0xC0010133u
#define MSR_AMD64_GUEST_TSC_FREQ 0xC0010134u
#define MSR_AMD64_VIRTUAL_TOM 0xC0010135u
#define MSR_AMD64_VM_PAGE_FLUSH 0xC001011Eu
#define MSR_AMD64_SYSCFG 0xC0010010u
#define MSR_IA32_APICBASE 0x0000001Bu
#define MSR_EFER 0xC0000080u
#define MSR_TSC_AUX 0xC0000103u
#define EFER_SVME (1ull << 12) /* required in an SEV-ES/SNP VMSA (Linux msr-index.h) */

/* SEV_STATUS bits (facts §8.1) */
#define MSR_AMD64_SEV_ENABLED (1ull << 0)
#define MSR_AMD64_SEV_ES_ENABLED (1ull << 1)
#define MSR_AMD64_SEV_SNP_ENABLED (1ull << 2)
#define MSR_AMD64_SNP_VTOM (1ull << 3)
#define MSR_AMD64_SNP_REFLECT_VC (1ull << 4)
#define MSR_AMD64_SNP_RESTRICTED_INJ (1ull << 5)
#define MSR_AMD64_SNP_ALT_INJ (1ull << 6)
#define MSR_AMD64_SNP_DEBUG_SWAP (1ull << 7)
#define MSR_AMD64_SNP_SECURE_TSC (1ull << 11)

/*
 * SEV_FEATURES of a VMSA (RAX of the AP-creation NAE event, facts §5.2): bit n is
 * SEV_STATUS bit n + 2, so a guest passes SEV_STATUS >> 2. Linux SVM_SEV_FEAT_*.
 */
#define SVM_SEV_FEAT_SNP_ACTIVE (1ull << 0)

/* Instruction encodings (facts §0) */
#define SNP_INSN_VMGEXIT {0xF3, 0x0F, 0x01, 0xD9}
#define SNP_INSN_PVALIDATE {0xF2, 0x0F, 0x01, 0xFF}
#define SNP_INSN_RMPADJUST {0xF3, 0x0F, 0x01, 0xFE}
#define SNP_INSN_RMPUPDATE {0xF2, 0x0F, 0x01, 0xFE}
#define SNP_INSN_PSMASH {0xF3, 0x0F, 0x01, 0xFF}
#define SNP_INSN_LEN 4u

/* Page-size operand of PVALIDATE/RMPADJUST (ECX/RCX bit 0) */
#define RMP_PG_SIZE_4K 0u
#define RMP_PG_SIZE_2M 1u

/*
 * Return codes in EAX (facts §2.1). The instructions share one code space; the
 * Linux names are PVALIDATE_FAIL_*, RMPADJUST_*, RMPUPDATE_FAIL_*, PSMASH_FAIL_*.
 */
#define SNP_RET_SUCCESS 0u
#define SNP_RET_FAIL_INPUT 1u
#define SNP_RET_FAIL_PERMISSION 2u
#define SNP_RET_FAIL_INUSE 3u
#define SNP_RET_FAIL_OVERLAP 4u
#define SNP_RET_FAIL_SIZEMISMATCH 6u
#define SNP_RET_FAIL_UNSUITABLE 7u /* PSMASH: entry not suitable for expansion */
/* Not a hardware code: guest wrappers (Linux, OVMF) fold CF=1 into 255. */
#define PVALIDATE_FAIL_NOUPDATE 255u

/* RMPADJUST RDX layout (facts §2.3) */
#define RMPADJUST_TARGET_VMPL_MASK 0xFFull
#define RMPADJUST_PERM_SHIFT 8
#define RMPADJUST_PERM_MASK (0xFFull << RMPADJUST_PERM_SHIFT)
#define RMPADJUST_VMSA_PAGE_BIT (1ull << 16)

/* VMPL permission mask bits (RDX[15:8] of RMPADJUST, stored per VMPL in the RMP) */
#define VMPL_PERM_READ 0x01u
#define VMPL_PERM_WRITE 0x02u
#define VMPL_PERM_EXEC_USER 0x04u
#define VMPL_PERM_EXEC_SUPER 0x08u
#define VMPL_PERM_SSS 0x10u
#define VMPL_PERM_ALL 0x1Fu
#define SNP_NUM_VMPLS 4u

/* ASID field width in the RMP entry (Zen 3/4 raw format, facts §1.4) */
#define RMP_ASID_BITS 10u
#define RMP_ASID_MAX ((1u << RMP_ASID_BITS) - 1u)

/* #NPF EXITINFO1 error-code bits (facts §2.5), Linux PFERR_*_MASK */
#define PFERR_PRESENT (1ull << 0)
#define PFERR_WRITE (1ull << 1)
#define PFERR_USER (1ull << 2)
#define PFERR_RSVD (1ull << 3)
#define PFERR_FETCH (1ull << 4)
#define PFERR_SS (1ull << 6)
#define PFERR_RMP (1ull << 31)
#define PFERR_GUEST_FINAL (1ull << 32)
#define PFERR_GUEST_PAGE (1ull << 33)
#define PFERR_GUEST_ENC (1ull << 34)
#define PFERR_GUEST_SIZEM (1ull << 35)
#define PFERR_GUEST_VMPL (1ull << 36)
#define PFERR_GUEST_SSS (1ull << 37)
/* Host #PF error code bit 31: the access failed the RMP check. */
#define PF_HOST_RMP (1ull << 31)

/* Exceptions */
#define X86_TRAP_GP 13u
#define X86_TRAP_PF 14u
#define X86_TRAP_UD 6u
#define X86_TRAP_VC 29u

/*
 * SVM exit codes: #VC error codes (facts §2.6) and automatic exits.
 * The #VC error code is the exit code the event would have had.
 */
#define SVM_EXIT_READ_DR7 0x027u
#define SVM_EXIT_WRITE_DR7 0x037u
#define SVM_EXIT_EXCP_DB 0x041u
#define SVM_EXIT_RDTSC 0x06Eu
#define SVM_EXIT_RDPMC 0x06Fu
#define SVM_EXIT_CPUID 0x072u
#define SVM_EXIT_INVD 0x076u
#define SVM_EXIT_HLT 0x078u
#define SVM_EXIT_IOIO 0x07Bu
#define SVM_EXIT_MSR 0x07Cu
#define SVM_EXIT_SHUTDOWN 0x07Fu
#define SVM_EXIT_VMMCALL 0x081u
#define SVM_EXIT_RDTSCP 0x087u
#define SVM_EXIT_WBINVD 0x089u
#define SVM_EXIT_MONITOR 0x08Au
#define SVM_EXIT_MWAIT 0x08Bu
#define SVM_EXIT_NPF 0x400u
#define SVM_EXIT_VMGEXIT 0x403u
#define SVM_EXIT_VMPL_NOT_VALIDATED 0x404u /* #VC: private page accessed while not validated */
#define SVM_EXIT_NOT_RESTARTABLE 0x406u

/* IOIO EXITINFO1 bits (facts §5.1) */
#define SVM_IOIO_TYPE_IN (1u << 0)
#define SVM_IOIO_STR (1u << 2)
#define SVM_IOIO_REP (1u << 3)
#define SVM_IOIO_SIZE_SHIFT 4
#define SVM_IOIO_SIZE_MASK (7u << SVM_IOIO_SIZE_SHIFT)
#define SVM_IOIO_SIZE8 (1u << 4)
#define SVM_IOIO_SIZE16 (1u << 5)
#define SVM_IOIO_SIZE32 (1u << 6)
#define SVM_IOIO_ASZ16 (1u << 7)
#define SVM_IOIO_ASZ32 (1u << 8)
#define SVM_IOIO_ASZ64 (1u << 9)
#define SVM_IOIO_SEG_SHIFT 10
#define SVM_IOIO_PORT_SHIFT 16
#define SVM_IOIO_PORT_MASK (0xFFFFu << SVM_IOIO_PORT_SHIFT)

/*
 * Event-injection format (facts §4.5), used in SW_EXITINFO2 when SW_EXITINFO1 = 1
 * asks the guest to raise an exception. Linux asm/svm.h SVM_EVTINJ_*.
 */
#define SVM_EVTINJ_VEC_MASK 0xFFu
#define SVM_EVTINJ_TYPE_SHIFT 8
#define SVM_EVTINJ_TYPE_EXEPT (3u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_VALID_ERR (1u << 11)
#define SVM_EVTINJ_VALID (1u << 31)

/* CPUID Fn8000_001F (facts §8.2) */
#define CPUID_FN_SEV 0x8000001Fu
#define CPUID_SEV_EAX_SEV (1u << 1)
#define CPUID_SEV_EAX_SEV_ES (1u << 3)
#define CPUID_SEV_EAX_SNP (1u << 4)
#define CPUID_SEV_EAX_VMPL (1u << 5)
#define CPUID_SEV_EBX_CBIT_MASK 0x3Fu
#define CPUID_SEV_EBX_COHERENCY_SFW_NO (1u << 31)

#endif /* SNP_ARCH_H */
