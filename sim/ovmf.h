/* SPDX-License-Identifier: MIT */
/*
 * OVMF flash images: the metadata a VMM reads before it can launch one as an
 * SEV-SNP guest. The OVMF GUID table at the end of the image (footer GUID
 * 96b582de-1fb2-45f7-baea-a366c55a082d), the SEV-ES reset block in it, and the
 * SEV metadata ("ASEV") it points to, with the sections the VMM must prepare.
 * Facts sheet §10; the walk follows QEMU's hw/i386/pc_sysfw_ovmf.c, with every
 * length and offset bounds-checked, since the image is untrusted input.
 *
 * The image is mapped so that it ends at 4 GiB (the flash window); every GPA
 * below is a guest physical address.
 */
#ifndef SNPSIM_OVMF_H
#define SNPSIM_OVMF_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snp/pages.h"

/* The flash window ends here: the image's last byte is at 4 GiB - 1 (facts §10.1). */
#define OVMF_FLASH_END 0x100000000ull
/* The smallest image that holds the 48-byte trailer and one page: 4 KiB. */
#define OVMF_IMAGE_ALIGN 0x1000u
/* Largest image accepted: a 16 MiB window (0xFF00_0000 up) stays clear of the IOAPIC and
   LAPIC pages below it; real OVMF builds are 2, 4 or 8 MiB. */
#define OVMF_IMAGE_MAX (16u << 20)
/* ASEV sections in one image: current OVMF has 6-7; anything above this is corrupt. */
#define OVMF_MAX_SECTIONS 64u

/* GUIDs in the UEFI mixed-endian byte order they are stored in (facts §10.1). */
typedef struct ovmf_guid {
	uint8_t b[16];
} ovmf_guid_t;

extern const ovmf_guid_t OVMF_TABLE_FOOTER_GUID;  /* 96b582de-1fb2-45f7-baea-a366c55a082d */
extern const ovmf_guid_t SEV_ES_RESET_BLOCK_GUID; /* 00f771de-1a7e-4fcb-890e-68c77e2fb44e */
extern const ovmf_guid_t SEV_SECRET_BLOCK_GUID;   /* 4c2eb361-7d9b-4cc3-8081-127c90d3d294 */
extern const ovmf_guid_t SEV_HASH_TABLE_GUID;     /* 7255371f-3a3b-4b04-927b-1da6efa8d454 */
extern const ovmf_guid_t SEV_METADATA_GUID;       /* dc886566-984a-4798-a75e-5585a7bf67cc */

/*
 * Why an image was refused. Each has its own message; the CLI exits 2 for all.
 * The error domain is OVMF_ERROR, so tests and callers can tell them apart.
 */
typedef enum ovmf_error_code {
	OVMF_ERR_SIZE = 1,          /* empty, not a multiple of 4 KiB, or larger than a flash window */
	OVMF_ERR_NO_GUID_TABLE,     /* no footer GUID at end - 0x30: not an OVMF with a GUID table */
	OVMF_ERR_TABLE_BOUNDS,      /* the table's total length is < 18 or runs outside the image */
	OVMF_ERR_ENTRY_BOUNDS,      /* an entry's length is < 18 or runs outside the table */
	OVMF_ERR_NO_RESET_BLOCK,    /* no SEV-ES reset block entry, or its AP reset address is 0 */
	OVMF_ERR_NO_SEV_METADATA,   /* no SEV metadata entry: the build has no SNP support */
	OVMF_ERR_METADATA_BOUNDS,   /* the ASEV header or its sections lie outside the image */
	OVMF_ERR_METADATA_FORMAT,   /* wrong signature, version, length or section count */
	OVMF_ERR_SECTION_RANGE,     /* a section is empty, unaligned, or ends above 4 GiB */
	OVMF_ERR_SECTION_FLASH,     /* a section overlaps the flash window the image occupies */
	OVMF_ERR_SECTION_OVERLAP,   /* two sections overlap */
	OVMF_ERR_SECTION_TYPE,      /* unknown section type, or a second CPUID/SECRETS page */
	OVMF_ERR_IO,                /* the file cannot be read */
} ovmf_error_code_t;

#define OVMF_ERROR (ovmf_error_quark())
GQuark ovmf_error_quark(void);

typedef struct ovmf_section {
	uint64_t base; /* GPA */
	uint64_t size; /* bytes, a multiple of 4 KiB */
	uint32_t type; /* OVMF_SECTION_TYPE_* */
} ovmf_section_t;

typedef struct ovmf_info {
	uint64_t image_size;
	uint64_t flash_base;     /* GPA of the image's first byte: 4 GiB - image_size */
	uint32_t ap_reset;       /* SEV-ES reset block: CS base bits 31:16 | IP bits 15:0 */
	uint64_t meta_gpa;       /* the ASEV header: 4 GiB - metadata offset */
	uint32_t meta_version;
	/* optional entries (0 when the build has none or leaves them empty) */
	uint32_t secret_base, secret_size;
	uint32_t hashes_base, hashes_size;
	size_t nentries;         /* GUID table entries walked */
	size_t nsections;
	ovmf_section_t sections[OVMF_MAX_SECTIONS]; /* in metadata order */
} ovmf_info_t;

/* The reset block's CS base and IP, as QEMU splits it for the APs (facts §10.2). */
static inline uint32_t ovmf_ap_reset_cs_base(const ovmf_info_t *i)
{
	return i->ap_reset & 0xFFFF0000u;
}
static inline uint16_t ovmf_ap_reset_ip(const ovmf_info_t *i)
{
	return (uint16_t)(i->ap_reset & 0xFFFFu);
}

/* Parses an image in memory. false with an OVMF_ERROR set on any refusal. */
bool ovmf_parse(const uint8_t *img, size_t len, ovmf_info_t *out, GError **err);

/* Reads and parses a file; *img_out (g_free) receives its contents on success. */
bool ovmf_load_file(const char *path, uint8_t **img_out, size_t *len_out, ovmf_info_t *out,
		    GError **err);

/* "sec_mem", "secrets", "cpuid", "svsm_caa", "kernel_hashes"; NULL if unknown. */
const char *ovmf_section_type_to_string(uint32_t type);

/* Formats a GUID in its canonical text form (buf ≥ 37 bytes). */
void ovmf_guid_format(const ovmf_guid_t *g, char *buf);

#endif /* SNPSIM_OVMF_H */
