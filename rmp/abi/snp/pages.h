/* SPDX-License-Identifier: MIT */
/*
 * Launch-time pages: the SNP CPUID page, the secrets page, the SVSM calling area,
 * SNP_LAUNCH_UPDATE page types and the OVMF SEV metadata section types.
 *
 * Sources: SNP Firmware ABI (AMD pub. 56860) CPUID function structure and secrets
 * page layout; Linux arch/x86/include/asm/sev.h (snp_cpuid_table, snp_secrets_page,
 * svsm_ca); edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.nasm.inc. Facts sheet §9-10.
 */
#ifndef SNP_PAGES_H
#define SNP_PAGES_H

#include <stdint.h>

/* ---------------------------------------------------------------- CPUID page (§9.1) */

#define SNP_CPUID_COUNT_MAX 64u

struct snp_cpuid_fn {
	uint32_t eax_in;
	uint32_t ecx_in;
	uint64_t xcr0_in;
	uint64_t xss_in;
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
	uint64_t reserved;
};

struct snp_cpuid_table {
	uint32_t count;
	uint32_t reserved_1;
	uint64_t reserved_2;
	struct snp_cpuid_fn fn[SNP_CPUID_COUNT_MAX];
};
_Static_assert(sizeof(struct snp_cpuid_fn) == 48, "CPUID entry is 48 bytes");
_Static_assert(__builtin_offsetof(struct snp_cpuid_table, fn) == 0x10, "CPUID header is 16 bytes");
_Static_assert(sizeof(struct snp_cpuid_table) == 0xC10, "64 entries end at 0xC10");

/* ---------------------------------------------------------------- secrets page (§9.2) */

#define SNP_VMPCK_LEN 32u

struct snp_secrets_page {
	uint32_t version;
	uint32_t imien; /* bit 0: IMI_EN; bits 31:1 reserved */
	uint32_t fms;
	uint32_t rsvd2;
	uint8_t gosvw[16];
	uint8_t vmpck[4][SNP_VMPCK_LEN];
	uint8_t os_area[96];
	uint8_t vmsa_tweak_bitmap[64];
	uint64_t svsm_base;
	uint64_t svsm_size;
	uint64_t svsm_caa;
	uint32_t svsm_max_version;
	uint8_t svsm_guest_vmpl;
	uint8_t rsvd3[3];
	uint32_t tsc_factor;
	uint8_t rsvd4[3740];
};
_Static_assert(__builtin_offsetof(struct snp_secrets_page, vmpck) == 0x20, "VMPCK0 at 0x20");
_Static_assert(__builtin_offsetof(struct snp_secrets_page, os_area) == 0xA0, "OS area at 0xA0");
_Static_assert(__builtin_offsetof(struct snp_secrets_page, svsm_base) == 0x140, "SVSM base at 0x140");
_Static_assert(__builtin_offsetof(struct snp_secrets_page, svsm_guest_vmpl) == 0x15C, "VMPL at 0x15C");
_Static_assert(__builtin_offsetof(struct snp_secrets_page, tsc_factor) == 0x160, "TSC factor at 0x160");
_Static_assert(sizeof(struct snp_secrets_page) == 4096, "secrets page is one page");

/* ---------------------------------------------------------------- SVSM calling area (§9.5) */

#define SVSM_CAA_OFF_CALL_PENDING 0x0u
#define SVSM_CAA_OFF_MEM_AVAILABLE 0x1u
#define SVSM_CAA_OFF_BUFFER 0x8u

/* ---------------------------------------------------------------- launch page types (§9.3) */

#define KVM_SEV_SNP_PAGE_TYPE_NORMAL 1u
#define KVM_SEV_SNP_PAGE_TYPE_VMSA 2u
#define KVM_SEV_SNP_PAGE_TYPE_ZERO 3u
#define KVM_SEV_SNP_PAGE_TYPE_UNMEASURED 4u
#define KVM_SEV_SNP_PAGE_TYPE_SECRETS 5u
#define KVM_SEV_SNP_PAGE_TYPE_CPUID 6u

/* ---------------------------------------------------------------- OVMF SEV metadata (§10.3) */

#define OVMF_SEV_META_SIGNATURE 0x56455341u /* "ASEV" little-endian */
#define OVMF_SECTION_TYPE_SNP_SEC_MEM 1u
#define OVMF_SECTION_TYPE_SNP_SECRETS 2u
#define OVMF_SECTION_TYPE_CPUID 3u
#define OVMF_SECTION_TYPE_SVSM_CAA 4u
#define OVMF_SECTION_TYPE_KERNEL_HASHES 0x10u

struct ovmf_sev_meta_hdr {
	uint32_t signature;
	uint32_t len;
	uint32_t version;
	uint32_t num_desc;
};
struct ovmf_sev_meta_desc {
	uint32_t base;
	uint32_t len;
	uint32_t type;
};
_Static_assert(sizeof(struct ovmf_sev_meta_hdr) == 16, "ASEV header is 16 bytes");
_Static_assert(sizeof(struct ovmf_sev_meta_desc) == 12, "ASEV section is 12 bytes");

#endif /* SNP_PAGES_H */
