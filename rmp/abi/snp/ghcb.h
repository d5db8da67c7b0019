/* SPDX-License-Identifier: MIT */
/*
 * Guest-hypervisor wire format: GHCB MSR protocol, GHCB page layout, NAE exit
 * codes, Page State Change descriptor, error and termination codes.
 *
 * Sources: GHCB spec (AMD pub. 56421) §2-4; Linux arch/x86/include/asm/sev-common.h,
 * asm/svm.h, uapi/asm/svm.h; edk2 MdePkg/Include/Register/Amd/Ghcb.h. Facts sheet
 * sections 3-6. Freestanding: only <stdint.h>.
 */
#ifndef SNP_GHCB_H
#define SNP_GHCB_H

#include <stdint.h>

/* ---------------------------------------------------------------- MSR protocol (§3) */

#define GHCB_MSR_INFO_MASK 0xFFFull /* GHCBData[11:0]: function code */
#define GHCB_DATA_SHIFT 12

#define GHCB_MSR_SEV_INFO_RESP 0x001u
#define GHCB_MSR_SEV_INFO_REQ 0x002u
#define GHCB_MSR_CPUID_REQ 0x004u
#define GHCB_MSR_CPUID_RESP 0x005u
#define GHCB_MSR_AP_RESET_HOLD_REQ 0x006u
#define GHCB_MSR_AP_RESET_HOLD_RESP 0x007u
#define GHCB_MSR_PREF_GPA_REQ 0x010u
#define GHCB_MSR_PREF_GPA_RESP 0x011u
#define GHCB_MSR_REG_GPA_REQ 0x012u
#define GHCB_MSR_REG_GPA_RESP 0x013u
#define GHCB_MSR_PSC_REQ 0x014u
#define GHCB_MSR_PSC_RESP 0x015u
#define GHCB_MSR_VMPL_REQ 0x016u
#define GHCB_MSR_VMPL_RESP 0x017u
#define GHCB_MSR_HV_FT_REQ 0x080u
#define GHCB_MSR_HV_FT_RESP 0x081u
#define GHCB_MSR_TERM_REQ 0x100u

/* SEV information response: GHCBData[63:48] max, [47:32] min, [31:24] C-bit */
static inline uint64_t ghcb_msr_sev_info(uint16_t max, uint16_t min, uint8_t cbit)
{
	return ((uint64_t)max << 48) | ((uint64_t)min << 32) | ((uint64_t)cbit << 24) |
	       GHCB_MSR_SEV_INFO_RESP;
}
#define GHCB_MSR_PROTO_MAX(v) ((uint16_t)((v) >> 48))
#define GHCB_MSR_PROTO_MIN(v) ((uint16_t)((v) >> 32))
#define GHCB_MSR_CBIT(v) ((uint8_t)((v) >> 24))

/* CPUID request: GHCBData[63:32] leaf, [31:30] register (0 EAX .. 3 EDX) */
#define GHCB_CPUID_REQ_EAX 0u
#define GHCB_CPUID_REQ_EBX 1u
#define GHCB_CPUID_REQ_ECX 2u
#define GHCB_CPUID_REQ_EDX 3u
static inline uint64_t ghcb_msr_cpuid_req(uint32_t leaf, uint32_t reg)
{
	return ((uint64_t)leaf << 32) | ((uint64_t)(reg & 3u) << 30) | GHCB_MSR_CPUID_REQ;
}
#define GHCB_MSR_CPUID_REQ_LEAF(v) ((uint32_t)((v) >> 32))
#define GHCB_MSR_CPUID_REQ_REG(v) ((uint32_t)(((v) >> 30) & 3u))
#define GHCB_MSR_CPUID_RESP_VAL(v) ((uint32_t)((v) >> 32))

/* Register / preferred GHCB GPA: GHCBData[63:12] = GFN */
#define GHCB_MSR_GFN(v) ((uint64_t)(v) >> GHCB_DATA_SHIFT)
static inline uint64_t ghcb_msr_gfn_val(uint64_t gfn, uint32_t code)
{
	return (gfn << GHCB_DATA_SHIFT) | code;
}
#define GHCB_MSR_PREF_GPA_NONE 0xFFFFFFFFFFFFFull /* all ones in [63:12] */
#define GHCB_MSR_REG_GPA_FAIL 0xFFFFFFFFFFFFFull

/* MSR PSC request: GHCBData[51:12] GFN, [55:52] operation, [63:56] reserved */
#define GHCB_MSR_PSC_GFN_MASK ((1ull << 40) - 1)
#define GHCB_MSR_PSC_OP_SHIFT 52
#define GHCB_MSR_PSC_OP_MASK 0xFull
static inline uint64_t ghcb_msr_psc_req(uint64_t gfn, uint32_t op)
{
	return ((uint64_t)(op & GHCB_MSR_PSC_OP_MASK) << GHCB_MSR_PSC_OP_SHIFT) |
	       ((gfn & GHCB_MSR_PSC_GFN_MASK) << GHCB_DATA_SHIFT) | GHCB_MSR_PSC_REQ;
}
#define GHCB_MSR_PSC_REQ_GFN(v) (((uint64_t)(v) >> GHCB_DATA_SHIFT) & GHCB_MSR_PSC_GFN_MASK)
#define GHCB_MSR_PSC_REQ_OP(v) ((uint32_t)(((v) >> GHCB_MSR_PSC_OP_SHIFT) & GHCB_MSR_PSC_OP_MASK))
#define GHCB_MSR_PSC_REQ_RSVD(v) ((uint64_t)(v) >> 56)
/* MSR PSC response: GHCBData[63:32] error code (0 = success), [31:12] reserved */
#define GHCB_MSR_PSC_RESP_VAL(v) ((uint32_t)((uint64_t)(v) >> 32))
/* KVM's generic error response: bit 63 set in the error code field (facts §3.2) */
#define GHCB_MSR_PSC_RESP_ERROR ((1ull << 63) | GHCB_MSR_PSC_RESP)

/* AP reset hold response: GHCBData[63:12] nonzero = woken */
#define GHCB_MSR_AP_RESET_HOLD_RESULT(v) ((uint64_t)(v) >> GHCB_DATA_SHIFT)

/* Hypervisor features: GHCBData[63:12] bitmap (§3.3) */
#define GHCB_HV_FT_SNP (1ull << 0)
#define GHCB_HV_FT_SNP_AP_CREATION (1ull << 1)
#define GHCB_HV_FT_SNP_RESTRICTED_INJ (1ull << 2)
#define GHCB_HV_FT_SNP_RESTRICTED_INJ_TIMER (1ull << 3)
#define GHCB_HV_FT_APIC_ID_LIST (1ull << 4)
#define GHCB_HV_FT_SNP_MULTI_VMPL (1ull << 5)

/* Termination request: GHCBData[15:12] reason set, [23:16] reason code */
static inline uint64_t ghcb_msr_term_req(uint32_t set, uint32_t code)
{
	return ((uint64_t)(code & 0xFFu) << 16) | ((uint64_t)(set & 0xFu) << 12) |
	       GHCB_MSR_TERM_REQ;
}
#define GHCB_MSR_TERM_SET(v) ((uint32_t)(((v) >> 12) & 0xFu))
#define GHCB_MSR_TERM_CODE(v) ((uint32_t)(((v) >> 16) & 0xFFu))

/* Termination reason sets and codes of the GHCB spec and Linux (§3.4). */
#define SEV_TERM_SET_GEN 0u
#define GHCB_SEV_ES_GEN_REQ 0u
#define GHCB_SEV_ES_PROT_UNSUPPORTED 1u
#define GHCB_SNP_UNSUPPORTED 2u
#define SEV_TERM_SET_LINUX 1u
#define GHCB_TERM_REGISTER 0u
#define GHCB_TERM_PSC 1u
#define GHCB_TERM_PVALIDATE 2u
#define GHCB_TERM_NOT_VMPL0 3u
#define GHCB_TERM_CPUID 4u
#define GHCB_TERM_CPUID_HV 5u
#define GHCB_TERM_SECRETS_PAGE 6u

/* Protocol versions (§4.4) */
#define GHCB_PROTOCOL_MIN 1u
#define GHCB_PROTOCOL_MAX 2u
#define GHCB_PROTOCOL_SNP 2u

/* ---------------------------------------------------------------- GHCB page (§4) */

#define GHCB_PAGE_SIZE 4096u
#define GHCB_OFF_CPL 0x0CBu
#define GHCB_OFF_XSS 0x140u
#define GHCB_OFF_DR7 0x160u
#define GHCB_OFF_RIP 0x178u
#define GHCB_OFF_RSP 0x1D8u
#define GHCB_OFF_RAX 0x1F8u
#define GHCB_OFF_RCX 0x308u
#define GHCB_OFF_RDX 0x310u
#define GHCB_OFF_RBX 0x318u
#define GHCB_OFF_RBP 0x328u
#define GHCB_OFF_RSI 0x330u
#define GHCB_OFF_RDI 0x338u
#define GHCB_OFF_R8 0x340u
#define GHCB_OFF_SW_EXITCODE 0x390u
#define GHCB_OFF_SW_EXITINFO1 0x398u
#define GHCB_OFF_SW_EXITINFO2 0x3A0u
#define GHCB_OFF_SW_SCRATCH 0x3A8u
#define GHCB_OFF_XCR0 0x3E8u
#define GHCB_OFF_VALID_BITMAP 0x3F0u
#define GHCB_VALID_BITMAP_SIZE 16u
#define GHCB_OFF_X87_STATE_GPA 0x400u
#define GHCB_OFF_SHARED_BUFFER 0x800u
#define GHCB_SHARED_BUFFER_SIZE 0x7F0u /* 2032 bytes, ends at 0xFF0 */
#define GHCB_OFF_PROTOCOL_VERSION 0xFFAu
#define GHCB_OFF_USAGE 0xFFCu
#define GHCB_DEFAULT_USAGE 0u

/* Valid-bitmap bit of a field = its offset / 8 (§4.2). */
#define GHCB_BITMAP_IDX(off) ((off) / 8u)

/* The page as a C struct, only to pin the layout; code uses the offsets. */
struct ghcb_page {
	uint8_t save_area[GHCB_OFF_SHARED_BUFFER];
	uint8_t shared_buffer[GHCB_SHARED_BUFFER_SIZE];
	uint8_t reserved[10];
	uint16_t protocol_version;
	uint32_t ghcb_usage;
};
_Static_assert(sizeof(struct ghcb_page) == GHCB_PAGE_SIZE, "GHCB is one page");
_Static_assert(__builtin_offsetof(struct ghcb_page, protocol_version) == GHCB_OFF_PROTOCOL_VERSION,
	       "GHCB protocol version offset");
_Static_assert(__builtin_offsetof(struct ghcb_page, ghcb_usage) == GHCB_OFF_USAGE, "GHCB usage offset");
_Static_assert(GHCB_BITMAP_IDX(GHCB_OFF_SW_EXITCODE) == 114, "SW_EXITCODE valid bit");
_Static_assert(GHCB_BITMAP_IDX(GHCB_OFF_SW_SCRATCH) == 117, "SW_SCRATCH valid bit");
_Static_assert(GHCB_BITMAP_IDX(GHCB_OFF_XCR0) == 125, "XCR0 valid bit");
_Static_assert(GHCB_BITMAP_IDX(GHCB_OFF_CPL) == 25, "CPL valid bit");

/* SW_EXITINFO1[31:0] result convention on return (§4.5) */
#define GHCB_HV_RESP_NO_ACTION 0u
#define GHCB_HV_RESP_ISSUE_EXCEPTION 1u
#define GHCB_HV_RESP_MALFORMED_INPUT 2u
/* GHCB error codes in SW_EXITINFO2 when SW_EXITINFO1 = 2 */
#define GHCB_ERR_NOT_REGISTERED 1u
#define GHCB_ERR_INVALID_USAGE 2u
#define GHCB_ERR_INVALID_SCRATCH_AREA 3u
#define GHCB_ERR_MISSING_INPUT 4u
#define GHCB_ERR_INVALID_INPUT 5u
#define GHCB_ERR_INVALID_EVENT 6u

/* ---------------------------------------------------------------- NAE exit codes (§5) */

#define SVM_VMGEXIT_MMIO_READ 0x80000001u
#define SVM_VMGEXIT_MMIO_WRITE 0x80000002u
#define SVM_VMGEXIT_NMI_COMPLETE 0x80000003u
#define SVM_VMGEXIT_AP_HLT_LOOP 0x80000004u
#define SVM_VMGEXIT_AP_JUMP_TABLE 0x80000005u
#define SVM_VMGEXIT_SET_AP_JUMP_TABLE 0u /* SW_EXITINFO1 of the AP jump table event */
#define SVM_VMGEXIT_GET_AP_JUMP_TABLE 1u
#define SVM_VMGEXIT_PSC 0x80000010u
#define SVM_VMGEXIT_GUEST_REQUEST 0x80000011u
#define SVM_VMGEXIT_EXT_GUEST_REQUEST 0x80000012u
#define SVM_VMGEXIT_AP_CREATION 0x80000013u
#define SVM_VMGEXIT_HV_FEATURES 0x8000FFFDu
#define SVM_VMGEXIT_TERM_REQUEST 0x8000FFFEu
#define SVM_VMGEXIT_UNSUPPORTED_EVENT 0x8000FFFFu

/* AP creation: SW_EXITINFO1[15:0] request, [19:16] VMPL, [63:32] APIC ID (§5.2) */
#define SVM_VMGEXIT_AP_CREATE_ON_INIT 0u
#define SVM_VMGEXIT_AP_CREATE 1u
#define SVM_VMGEXIT_AP_DESTROY 2u
static inline uint64_t svm_vmgexit_ap_info(uint32_t apic_id, uint32_t vmpl, uint32_t req)
{
	return ((uint64_t)apic_id << 32) | ((uint64_t)(vmpl & 0xFu) << 16) | (req & 0xFFFFu);
}
#define SVM_VMGEXIT_AP_REQ(i) ((uint32_t)((i)&0xFFFFu))
#define SVM_VMGEXIT_AP_VMPL(i) ((uint32_t)(((i) >> 16) & 0xFu))
#define SVM_VMGEXIT_AP_APIC_ID(i) ((uint32_t)((i) >> 32))

/* Termination NAE: SW_EXITINFO1[3:0] set, [11:4] code */
#define SVM_VMGEXIT_TERM_SET(i) ((uint32_t)((i)&0xFu))
#define SVM_VMGEXIT_TERM_CODE(i) ((uint32_t)(((i) >> 4) & 0xFFu))

/* ---------------------------------------------------------------- Page State Change (§6) */

#define SNP_PAGE_STATE_PRIVATE 1u
#define SNP_PAGE_STATE_SHARED 2u
#define SNP_PAGE_STATE_PSMASH 3u
#define SNP_PAGE_STATE_UNSMASH 4u

struct psc_hdr {
	uint16_t cur_entry;
	uint16_t end_entry; /* inclusive */
	uint32_t reserved;
};

/*
 * Entry bits: [11:0] cur_page, [51:12] gfn, [55:52] operation, [56] page size,
 * [63:57] reserved. Kept as a raw u64: bit-fields have no portable layout.
 */
#define PSC_ENTRY_CUR_PAGE_MASK 0xFFFull
#define PSC_ENTRY_GFN_SHIFT 12
#define PSC_ENTRY_GFN_MASK ((1ull << 40) - 1)
#define PSC_ENTRY_OP_SHIFT 52
#define PSC_ENTRY_OP_MASK 0xFull
#define PSC_ENTRY_PSIZE_SHIFT 56
#define PSC_ENTRY_RSVD_SHIFT 57

static inline uint64_t psc_entry(uint64_t gfn, uint32_t op, uint32_t size_2m, uint32_t cur_page)
{
	return ((uint64_t)(cur_page & PSC_ENTRY_CUR_PAGE_MASK)) |
	       ((gfn & PSC_ENTRY_GFN_MASK) << PSC_ENTRY_GFN_SHIFT) |
	       ((uint64_t)(op & PSC_ENTRY_OP_MASK) << PSC_ENTRY_OP_SHIFT) |
	       ((uint64_t)(size_2m & 1u) << PSC_ENTRY_PSIZE_SHIFT);
}
/* The 64-bit cast happens before any shift: a GFN at or above 1 TiB stays intact. */
#define PSC_ENTRY_CUR_PAGE(e) ((uint32_t)((e)&PSC_ENTRY_CUR_PAGE_MASK))
#define PSC_ENTRY_GFN(e) (((uint64_t)(e) >> PSC_ENTRY_GFN_SHIFT) & PSC_ENTRY_GFN_MASK)
#define PSC_ENTRY_OP(e) ((uint32_t)(((uint64_t)(e) >> PSC_ENTRY_OP_SHIFT) & PSC_ENTRY_OP_MASK))
#define PSC_ENTRY_2M(e) ((uint32_t)(((uint64_t)(e) >> PSC_ENTRY_PSIZE_SHIFT) & 1u))
#define PSC_ENTRY_RSVD(e) ((uint64_t)(e) >> PSC_ENTRY_RSVD_SHIFT)

#define VMGEXIT_PSC_MAX_ENTRY 253u
#define VMGEXIT_PSC_MAX_COUNT VMGEXIT_PSC_MAX_ENTRY

struct snp_psc_desc {
	struct psc_hdr hdr;
	uint64_t entries[VMGEXIT_PSC_MAX_ENTRY];
};
_Static_assert(sizeof(struct psc_hdr) == 8, "PSC header is 8 bytes");
_Static_assert(sizeof(struct snp_psc_desc) == GHCB_SHARED_BUFFER_SIZE,
	       "253 PSC entries fill the GHCB shared buffer exactly");

/* PSC status in SW_EXITINFO2 (§6.5) */
#define VMGEXIT_PSC_ERROR_GENERIC (0x100ull << 32)
#define VMGEXIT_PSC_ERROR_INVALID_HDR ((1ull << 32) | 1u)
#define VMGEXIT_PSC_ERROR_INVALID_ENTRY ((1ull << 32) | 2u)

#endif /* SNP_GHCB_H */
