/* SPDX-License-Identifier: MIT */
/*
 * sim/ovmf.c against the reference image (Debian 13's OVMF_CODE_4M.fd, edk2
 * 2025.02) and against corrupt variants made from it here, at test time: each
 * variant changes one thing and must be refused with its own error code and a
 * message naming the problem. No firmware binary is committed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fw_image.h"
#include "ovmf.h"

static uint8_t *ref;     /* the reference image */
static size_t ref_len;

/* Offsets in the reference image found by a plain walk (the test's own, not ovmf.c's). */
static size_t off_table_len;   /* u16 total length of the GUID table */
static size_t off_reset_len;   /* u16 length of the SEV-ES reset block entry */
static size_t off_reset_data;  /* its u32 */
static size_t off_reset_guid;
static size_t off_meta_data;   /* u32 metadata offset */
static size_t off_meta_guid;
static size_t off_asev;        /* the ASEV header */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void locate(void)
{
	size_t end = ref_len;
	off_table_len = end - 0x32;
	size_t ptr = off_table_len, rem = get16(ref + off_table_len) - 18u;
	while (rem >= 18) {
		size_t guid = ptr - 16, len = get16(ref + ptr - 18);
		if (memcmp(ref + guid, SEV_ES_RESET_BLOCK_GUID.b, 16) == 0) {
			off_reset_len = ptr - 18;
			off_reset_data = ptr - len;
			off_reset_guid = guid;
		}
		if (memcmp(ref + guid, SEV_METADATA_GUID.b, 16) == 0) {
			off_meta_data = ptr - len;
			off_meta_guid = guid;
		}
		ptr -= len;
		rem -= len;
	}
	assert_true(off_reset_len && off_meta_data);
	off_asev = end - get32(ref + off_meta_data);
}

/* A private copy of the reference image to corrupt. */
static uint8_t *copy(void)
{
	uint8_t *p = g_malloc(ref_len);
	memcpy(p, ref, ref_len);
	return p;
}

/* Parses img and asserts the refusal code and a fragment of the message. */
#define EXPECT_REFUSED(img, len, code, fragment)                                               \
	expect_refused((img), (len), (code), (fragment), __FILE__, __LINE__)
static void expect_refused(const uint8_t *img, size_t len, ovmf_error_code_t code,
			   const char *fragment, const char *file, int line)
{
	ovmf_info_t info;
	GError *err = NULL;
	bool ok = ovmf_parse(img, len, &info, &err);
	if (ok)
		fail_msg("%s:%d: image accepted, expected error %d", file, line, code);
	if (err->domain != OVMF_ERROR || err->code != (int)code)
		fail_msg("%s:%d: error %d (%s), expected %d", file, line, err->code, err->message,
			 code);
	if (!strstr(err->message, fragment))
		fail_msg("%s:%d: message \"%s\" lacks \"%s\"", file, line, err->message, fragment);
	g_error_free(err);
}

/* ------------------------------------------------------------------ the reference image */

static void reference_image_parses_to_the_known_sections(void **state)
{
	(void)state;
	ovmf_info_t info;
	GError *err = NULL;
	assert_true(ovmf_parse(ref, ref_len, &info, &err));
	assert_null(err);
	assert_int_equal(info.image_size, 0x37C000);
	assert_int_equal(info.flash_base, 0xFFC84000ull);
	/* the AP reset address is the SEV-ES work area: CS base 0x80_0000, IP 0xB004 */
	assert_int_equal(info.ap_reset, 0x0080B004u);
	assert_int_equal(ovmf_ap_reset_cs_base(&info), 0x00800000u);
	assert_int_equal(ovmf_ap_reset_ip(&info), 0xB004u);
	assert_int_equal(info.meta_version, 1);
	assert_int_equal(info.meta_gpa, 0x100000000ull - 0x548);
	assert_int_equal(info.nentries, 5);
	/* firmware/README.md: the build's sections, in metadata order */
	static const ovmf_section_t want[] = {
		{0x800000, 0x9000, OVMF_SECTION_TYPE_SNP_SEC_MEM},
		{0x80A000, 0x3000, OVMF_SECTION_TYPE_SNP_SEC_MEM},
		{0x80D000, 0x1000, OVMF_SECTION_TYPE_SNP_SECRETS},
		{0x80E000, 0x1000, OVMF_SECTION_TYPE_CPUID},
		{0x80F000, 0x1000, OVMF_SECTION_TYPE_SVSM_CAA},
		{0x810000, 0x10000, OVMF_SECTION_TYPE_SNP_SEC_MEM},
	};
	assert_int_equal(info.nsections, G_N_ELEMENTS(want));
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		assert_int_equal(info.sections[i].base, want[i].base);
		assert_int_equal(info.sections[i].size, want[i].size);
		assert_int_equal(info.sections[i].type, want[i].type);
	}
	/* the first GHCB page (0x809000) is in no section: it must stay shared */
	for (size_t i = 0; i < info.nsections; i++)
		assert_false(0x809000 >= info.sections[i].base &&
			     0x809000 < info.sections[i].base + info.sections[i].size);
}

static void guid_constants_format_as_their_names(void **state)
{
	(void)state;
	char s[37];
	ovmf_guid_format(&OVMF_TABLE_FOOTER_GUID, s);
	assert_string_equal(s, "96b582de-1fb2-45f7-baea-a366c55a082d");
	ovmf_guid_format(&SEV_ES_RESET_BLOCK_GUID, s);
	assert_string_equal(s, "00f771de-1a7e-4fcb-890e-68c77e2fb44e");
	ovmf_guid_format(&SEV_SECRET_BLOCK_GUID, s);
	assert_string_equal(s, "4c2eb361-7d9b-4cc3-8081-127c90d3d294");
	ovmf_guid_format(&SEV_HASH_TABLE_GUID, s);
	assert_string_equal(s, "7255371f-3a3b-4b04-927b-1da6efa8d454");
	ovmf_guid_format(&SEV_METADATA_GUID, s);
	assert_string_equal(s, "dc886566-984a-4798-a75e-5585a7bf67cc");
	assert_string_equal(ovmf_section_type_to_string(OVMF_SECTION_TYPE_CPUID), "cpuid");
	assert_null(ovmf_section_type_to_string(7));
}

static void load_file_names_the_path(void **state)
{
	(void)state;
	uint8_t *img = NULL;
	size_t len = 0;
	ovmf_info_t info;
	GError *err = NULL;
	assert_false(ovmf_load_file("/nonexistent/OVMF.fd", &img, &len, &info, &err));
	assert_int_equal(err->code, OVMF_ERR_IO);
	assert_non_null(strstr(err->message, "/nonexistent/OVMF.fd"));
	g_clear_error(&err);
}

/* ------------------------------------------------------------------ size */

static void truncated_and_empty_images_are_refused(void **state)
{
	(void)state;
	EXPECT_REFUSED(ref, 0, OVMF_ERR_SIZE, "multiple of 4 KiB");
	EXPECT_REFUSED(ref, ref_len - 1, OVMF_ERR_SIZE, "truncated");
	EXPECT_REFUSED(ref, 100, OVMF_ERR_SIZE, "100 bytes");
	/* cut at a page boundary: the end (and with it the table) is gone */
	EXPECT_REFUSED(ref, ref_len - 0x1000, OVMF_ERR_NO_GUID_TABLE, "footer GUID");
	EXPECT_REFUSED(NULL, 0x1000, OVMF_ERR_SIZE, "size");
}

static void oversized_image_is_refused(void **state)
{
	(void)state;
	size_t len = OVMF_IMAGE_MAX + 0x1000;
	uint8_t *p = g_malloc0(len);
	memcpy(p + len - ref_len, ref, ref_len);
	EXPECT_REFUSED(p, len, OVMF_ERR_SIZE, "16 MiB");
	g_free(p);
}

/* ------------------------------------------------------------------ the GUID table */

static void zero_filled_image_has_no_table(void **state)
{
	(void)state;
	uint8_t *p = g_malloc0(ref_len);
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_NO_GUID_TABLE, "96b582de-1fb2-45f7-baea-a366c55a082d");
	g_free(p);
}

static void flipped_footer_guid_is_no_table(void **state)
{
	(void)state;
	uint8_t *p = copy();
	p[ref_len - 0x30] ^= 0xFF;
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_NO_GUID_TABLE, "footer GUID");
	g_free(p);
}

static void table_length_outside_the_image_is_refused(void **state)
{
	(void)state;
	uint8_t *p = copy();
	put16(p + off_table_len, 17);
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_TABLE_BOUNDS, "total length 17");
	g_free(p);
	/* a 4 KiB image (the reference's last page) whose table claims 64 KiB */
	p = g_malloc(0x1000);
	memcpy(p, ref + ref_len - 0x1000, 0x1000);
	put16(p + 0x1000 - 0x32, 0xFFFF);
	EXPECT_REFUSED(p, 0x1000, OVMF_ERR_TABLE_BOUNDS, "outside the 4096-byte image");
	g_free(p);
}

static void entry_length_out_of_bounds_is_refused(void **state)
{
	(void)state;
	uint8_t *p = copy();
	put16(p + off_reset_len, 5); /* below the 18-byte trailer */
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_ENTRY_BOUNDS, "has length 5");
	put16(p + off_reset_len, 0xFFFF); /* beyond the table */
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_ENTRY_BOUNDS, "00f771de-1a7e-4fcb-890e-68c77e2fb44e");
	g_free(p);
	/* the table one byte longer than its entries: a stray byte */
	p = copy();
	put16(p + off_table_len, (uint16_t)(get16(ref + off_table_len) + 1));
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_ENTRY_BOUNDS, "stray");
	g_free(p);
}

/* Debian 12's OVMF has no SNP support: the same image without the metadata entry. */
static void image_without_sev_metadata_is_not_snp(void **state)
{
	(void)state;
	uint8_t *p = copy();
	p[off_meta_guid] ^= 0x01;
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_NO_SEV_METADATA, "no SEV-SNP support");
	g_free(p);
}

static void image_without_reset_block_is_refused(void **state)
{
	(void)state;
	uint8_t *p = copy();
	p[off_reset_guid + 15] ^= 0x80;
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_NO_RESET_BLOCK, "SEV-ES reset block");
	g_free(p);
	p = copy();
	put32(p + off_reset_data, 0);
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_NO_RESET_BLOCK, "address is 0");
	g_free(p);
}

/* ------------------------------------------------------------------ the ASEV metadata */

static void metadata_offset_outside_the_image_is_refused(void **state)
{
	(void)state;
	static const uint32_t bad[] = {0, 8, 15, 0x37C001, 0xFFFFFFFFu};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		uint8_t *p = copy();
		put32(p + off_meta_data, bad[i]);
		EXPECT_REFUSED(p, ref_len, OVMF_ERR_METADATA_BOUNDS, "points outside the image");
		g_free(p);
	}
}

static void metadata_sections_running_past_the_end_are_refused(void **state)
{
	(void)state;
	/* an ASEV header 0x100 bytes before the end (in the reset-vector code, below the
	   GUID table) that claims 64 sections, 784 bytes */
	uint8_t *p = copy();
	uint8_t *h = p + ref_len - 0x100;
	memcpy(h, ref + off_asev, 16);
	put32(h + 4, 16 + 64 * 12);
	put32(h + 12, 64);
	put32(p + off_meta_data, 0x100);
	EXPECT_REFUSED(p, ref_len, OVMF_ERR_METADATA_BOUNDS, "run past the end");
	g_free(p);
}

static void metadata_format_errors_are_refused(void **state)
{
	(void)state;
	struct {
		size_t field; /* offset in the header */
		uint32_t value;
		const char *fragment;
	} rows[] = {
		{0, 0x56455342u, "not \"ASEV\""},  /* "BSEV" */
		{8, 2, "version 2"},
		{4, 17, "length 17"},             /* not 16 + 12n */
		{12, 5, "5 sections"},            /* count disagrees with the length */
		{4, 16, "length 16"},             /* zero sections */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		uint8_t *p = copy();
		uint8_t *h = p + off_asev;
		if (rows[i].field == 4 && rows[i].value == 16)
			put32(h + 12, 0);
		put32(h + rows[i].field, rows[i].value);
		EXPECT_REFUSED(p, ref_len, OVMF_ERR_METADATA_FORMAT, rows[i].fragment);
		g_free(p);
	}
}

/* Rewrites section i of a copy: base, size, type. */
static uint8_t *with_section(size_t i, uint32_t base, uint32_t size, uint32_t type)
{
	uint8_t *p = copy();
	uint8_t *d = p + off_asev + 16 + 12 * i;
	put32(d, base);
	put32(d + 4, size);
	put32(d + 8, type);
	return p;
}

static void bad_sections_are_refused(void **state)
{
	(void)state;
	struct {
		size_t i;
		uint32_t base, size, type;
		ovmf_error_code_t code;
		const char *fragment;
	} rows[] = {
		{0, 0x800000, 0, 1, OVMF_ERR_SECTION_RANGE, "is empty"},
		{0, 0x800800, 0x1000, 1, OVMF_ERR_SECTION_RANGE, "not page aligned"},
		{0, 0xFFFFF000u, 0x2000, 1, OVMF_ERR_SECTION_RANGE, "above 4 GiB"},
		{3, 0x80E000, 0x2000, 3, OVMF_ERR_SECTION_RANGE, "exactly one page"},
		{0, 0xFFC84000u, 0x1000, 1, OVMF_ERR_SECTION_FLASH, "flash window"},
		{0, 0xFFFFE000u, 0x2000, 1, OVMF_ERR_SECTION_FLASH, "flash window"},
		{1, 0x808000, 0x3000, 1, OVMF_ERR_SECTION_OVERLAP, "overlap"},
		{5, 0x80F000, 0x1000, 1, OVMF_ERR_SECTION_OVERLAP, "overlap"},
		{4, 0x80F000, 0x1000, 7, OVMF_ERR_SECTION_TYPE, "unknown type 0x7"},
		{4, 0x80F000, 0x1000, 3, OVMF_ERR_SECTION_TYPE, "2 CPUID"},
	};
	for (size_t r = 0; r < G_N_ELEMENTS(rows); r++) {
		uint8_t *p = with_section(rows[r].i, rows[r].base, rows[r].size, rows[r].type);
		EXPECT_REFUSED(p, ref_len, rows[r].code, rows[r].fragment);
		g_free(p);
	}
}

/* Every single-byte flip inside the table and the metadata: refused or parsed, never
   out of bounds (ASan watches), and when parsed, still self-consistent. */
static void every_byte_flip_in_the_metadata_is_handled(void **state)
{
	(void)state;
	size_t table_start = off_table_len - (get16(ref + off_table_len) - 18u);
	size_t ranges[2][2] = {{table_start, ref_len - 0x20}, {off_asev, off_asev + 16 + 6 * 12}};
	uint8_t *p = copy();
	size_t refused = 0, accepted = 0;
	for (size_t r = 0; r < 2; r++) {
		for (size_t o = ranges[r][0]; o < ranges[r][1]; o++) {
			for (unsigned bit = 0; bit < 8; bit += 3) {
				p[o] ^= (uint8_t)(1u << bit);
				ovmf_info_t info;
				GError *err = NULL;
				if (ovmf_parse(p, ref_len, &info, &err)) {
					accepted++;
					assert_true(info.nsections >= 1);
					for (size_t i = 0; i < info.nsections; i++)
						assert_true(info.sections[i].base +
								    info.sections[i].size <=
							    info.flash_base);
				} else {
					refused++;
					assert_true(err->domain == OVMF_ERROR);
					g_error_free(err);
				}
				p[o] ^= (uint8_t)(1u << bit);
			}
		}
	}
	/* flips in unused entries' data (e.g. the zero secret block) are harmless */
	assert_true(refused > 0 && accepted > 0);
	g_free(p);
}

int main(int argc, char **argv)
{
	char *path = fw_image_find(argc, argv);
	if (!path)
		return 1;
	if (!fw_image_load(path, &ref, &ref_len)) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	printf("# reference image: %s (%zu bytes)\n", path, ref_len);
	g_free(path);
	locate();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_image_parses_to_the_known_sections),
		cmocka_unit_test(guid_constants_format_as_their_names),
		cmocka_unit_test(load_file_names_the_path),
		cmocka_unit_test(truncated_and_empty_images_are_refused),
		cmocka_unit_test(oversized_image_is_refused),
		cmocka_unit_test(zero_filled_image_has_no_table),
		cmocka_unit_test(flipped_footer_guid_is_no_table),
		cmocka_unit_test(table_length_outside_the_image_is_refused),
		cmocka_unit_test(entry_length_out_of_bounds_is_refused),
		cmocka_unit_test(image_without_sev_metadata_is_not_snp),
		cmocka_unit_test(image_without_reset_block_is_refused),
		cmocka_unit_test(metadata_offset_outside_the_image_is_refused),
		cmocka_unit_test(metadata_sections_running_past_the_end_are_refused),
		cmocka_unit_test(metadata_format_errors_are_refused),
		cmocka_unit_test(bad_sections_are_refused),
		cmocka_unit_test(every_byte_flip_in_the_metadata_is_handled),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(ref);
	return rc;
}
