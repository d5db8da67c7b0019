/* SPDX-License-Identifier: MIT */
/*
 * OVMF image metadata (facts §10). Every offset and length read from the image
 * is checked before it is used: the image is a file the user hands us, and a
 * VMM that trusted it would read outside its own buffer.
 */
#include "ovmf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Distances from the end of the image (facts §10.1). */
#define OVMF_FOOTER_GUID_FROM_END 0x30u
#define OVMF_TABLE_LEN_FROM_END 0x32u
/* An entry is data, a u16 length and a 16-byte GUID; the length counts all three. */
#define OVMF_ENTRY_TRAILER 18u

const ovmf_guid_t OVMF_TABLE_FOOTER_GUID = {{0xDE, 0x82, 0xB5, 0x96, 0xB2, 0x1F, 0xF7, 0x45, 0xBA,
					     0xEA, 0xA3, 0x66, 0xC5, 0x5A, 0x08, 0x2D}};
const ovmf_guid_t SEV_ES_RESET_BLOCK_GUID = {{0xDE, 0x71, 0xF7, 0x00, 0x7E, 0x1A, 0xCB, 0x4F, 0x89,
					      0x0E, 0x68, 0xC7, 0x7E, 0x2F, 0xB4, 0x4E}};
const ovmf_guid_t SEV_SECRET_BLOCK_GUID = {{0x61, 0xB3, 0x2E, 0x4C, 0x9B, 0x7D, 0xC3, 0x4C, 0x80,
					    0x81, 0x12, 0x7C, 0x90, 0xD3, 0xD2, 0x94}};
const ovmf_guid_t SEV_HASH_TABLE_GUID = {{0x1F, 0x37, 0x55, 0x72, 0x3B, 0x3A, 0x04, 0x4B, 0x92,
					  0x7B, 0x1D, 0xA6, 0xEF, 0xA8, 0xD4, 0x54}};
const ovmf_guid_t SEV_METADATA_GUID = {{0x66, 0x65, 0x88, 0xDC, 0x4A, 0x98, 0x98, 0x47, 0xA7,
					0x5E, 0x55, 0x85, 0xA7, 0xBF, 0x67, 0xCC}};

GQuark ovmf_error_quark(void)
{
	return g_quark_from_static_string("snpsim-ovmf-error-quark");
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool guid_eq(const uint8_t *p, const ovmf_guid_t *g)
{
	return memcmp(p, g->b, sizeof(g->b)) == 0;
}

void ovmf_guid_format(const ovmf_guid_t *g, char *buf)
{
	const uint8_t *b = g->b;
	snprintf(buf, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", rd32(b), rd16(b + 4),
		 rd16(b + 6), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

const char *ovmf_section_type_to_string(uint32_t type)
{
	switch (type) {
	case OVMF_SECTION_TYPE_SNP_SEC_MEM: return "sec_mem";
	case OVMF_SECTION_TYPE_SNP_SECRETS: return "secrets";
	case OVMF_SECTION_TYPE_CPUID: return "cpuid";
	case OVMF_SECTION_TYPE_SVSM_CAA: return "svsm_caa";
	case OVMF_SECTION_TYPE_KERNEL_HASHES: return "kernel_hashes";
	default: return NULL;
	}
}

/* A GUID table entry as found by the walk: data inside the image. */
typedef struct entry {
	const uint8_t *data;
	size_t len;
} entry_t;

/*
 * Walks the GUID table backwards from the footer (facts §10.2), recording the
 * first occurrence of each entry we use, as QEMU's pc_system_ovmf_table_find does.
 */
static bool walk_table(const uint8_t *img, size_t len, ovmf_info_t *info, entry_t *reset,
		       entry_t *meta, entry_t *secret, entry_t *hashes, GError **err)
{
	if (!guid_eq(img + len - OVMF_FOOTER_GUID_FROM_END, &OVMF_TABLE_FOOTER_GUID)) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_NO_GUID_TABLE,
			    "no OVMF GUID table: footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d "
			    "missing at image end - 0x%x (not an OVMF build with SEV support)",
			    OVMF_FOOTER_GUID_FROM_END);
		return false;
	}
	size_t table_len = rd16(img + len - OVMF_TABLE_LEN_FROM_END);
	size_t body_end = len - OVMF_TABLE_LEN_FROM_END;
	if (table_len < OVMF_ENTRY_TRAILER || table_len - OVMF_ENTRY_TRAILER > body_end) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_TABLE_BOUNDS,
			    "corrupt OVMF GUID table: total length %zu (at image end - 0x%x) is "
			    "below %u or runs outside the %zu-byte image",
			    table_len, OVMF_TABLE_LEN_FROM_END, OVMF_ENTRY_TRAILER, len);
		return false;
	}
	size_t remaining = table_len - OVMF_ENTRY_TRAILER;
	size_t ptr = body_end;
	while (remaining > 0) {
		/* ptr ≥ remaining always holds: the body start was checked above */
		if (remaining < OVMF_ENTRY_TRAILER) {
			g_set_error(err, OVMF_ERROR, OVMF_ERR_ENTRY_BOUNDS,
				    "corrupt OVMF GUID table: %zu stray bytes at image offset 0x%zx, "
				    "too few for an entry",
				    remaining, ptr - remaining);
			return false;
		}
		const uint8_t *guid = img + ptr - 16;
		size_t elen = rd16(img + ptr - OVMF_ENTRY_TRAILER);
		if (elen < OVMF_ENTRY_TRAILER || elen > remaining) {
			ovmf_guid_t g;
			char s[37];
			memcpy(g.b, guid, sizeof(g.b));
			ovmf_guid_format(&g, s);
			g_set_error(err, OVMF_ERROR, OVMF_ERR_ENTRY_BOUNDS,
				    "corrupt OVMF GUID table: entry %zu (GUID %s, at image offset "
				    "0x%zx) has length %zu, outside [%u, %zu]",
				    info->nentries, s, ptr - OVMF_ENTRY_TRAILER, elen,
				    OVMF_ENTRY_TRAILER, remaining);
			return false;
		}
		entry_t e = {.data = img + ptr - elen, .len = elen - OVMF_ENTRY_TRAILER};
		if (guid_eq(guid, &SEV_ES_RESET_BLOCK_GUID) && !reset->data)
			*reset = e;
		else if (guid_eq(guid, &SEV_METADATA_GUID) && !meta->data)
			*meta = e;
		else if (guid_eq(guid, &SEV_SECRET_BLOCK_GUID) && !secret->data)
			*secret = e;
		else if (guid_eq(guid, &SEV_HASH_TABLE_GUID) && !hashes->data)
			*hashes = e;
		info->nentries++;
		ptr -= elen;
		remaining -= elen;
	}
	return true;
}

static bool need_data(const entry_t *e, size_t n, const char *what, GError **err)
{
	if (e->len >= n)
		return true;
	g_set_error(err, OVMF_ERROR, OVMF_ERR_ENTRY_BOUNDS,
		    "corrupt OVMF GUID table: the %s entry has %zu data bytes, needs %zu", what,
		    e->len, n);
	return false;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static bool check_sections(ovmf_info_t *info, GError **err)
{
	unsigned ncpuid = 0, nsecrets = 0;
	for (size_t i = 0; i < info->nsections; i++) {
		const ovmf_section_t *s = &info->sections[i];
		const char *tn = ovmf_section_type_to_string(s->type);
		if (!tn) {
			g_set_error(err, OVMF_ERROR, OVMF_ERR_SECTION_TYPE,
				    "SEV metadata section %zu (0x%" G_GINT64_MODIFIER "x+0x%"
				    G_GINT64_MODIFIER "x) has unknown type 0x%x",
				    i, s->base, s->size, s->type);
			return false;
		}
		/* SNP_LAUNCH_UPDATE works on whole pages; the CPUID and secrets pages are one each */
		bool single = s->type == OVMF_SECTION_TYPE_CPUID ||
			      s->type == OVMF_SECTION_TYPE_SNP_SECRETS;
		if (s->size == 0 || (s->base | s->size) % OVMF_IMAGE_ALIGN ||
		    s->base + s->size > OVMF_FLASH_END || (single && s->size != OVMF_IMAGE_ALIGN)) {
			g_set_error(err, OVMF_ERROR, OVMF_ERR_SECTION_RANGE,
				    "SEV metadata section %zu (%s) 0x%" G_GINT64_MODIFIER "x+0x%"
				    G_GINT64_MODIFIER "x is empty, not page aligned, %sor ends above "
				    "4 GiB",
				    i, tn, s->base, s->size, single ? "not exactly one page, " : "");
			return false;
		}
		if (ranges_overlap(s->base, s->size, info->flash_base, info->image_size)) {
			g_set_error(err, OVMF_ERROR, OVMF_ERR_SECTION_FLASH,
				    "SEV metadata section %zu (%s) 0x%" G_GINT64_MODIFIER "x+0x%"
				    G_GINT64_MODIFIER "x overlaps the flash window [0x%"
				    G_GINT64_MODIFIER "x, 4 GiB)",
				    i, tn, s->base, s->size, info->flash_base);
			return false;
		}
		for (size_t j = 0; j < i; j++) {
			const ovmf_section_t *o = &info->sections[j];
			if (ranges_overlap(s->base, s->size, o->base, o->size)) {
				g_set_error(err, OVMF_ERROR, OVMF_ERR_SECTION_OVERLAP,
					    "SEV metadata sections %zu (0x%" G_GINT64_MODIFIER
					    "x+0x%" G_GINT64_MODIFIER "x) and %zu (0x%"
					    G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
					    "x) overlap",
					    j, o->base, o->size, i, s->base, s->size);
				return false;
			}
		}
		ncpuid += s->type == OVMF_SECTION_TYPE_CPUID;
		nsecrets += s->type == OVMF_SECTION_TYPE_SNP_SECRETS;
	}
	if (ncpuid > 1 || nsecrets > 1) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_SECTION_TYPE,
			    "SEV metadata has %u CPUID and %u SECRETS sections (at most one each)",
			    ncpuid, nsecrets);
		return false;
	}
	return true;
}

static bool parse_metadata(const uint8_t *img, size_t len, const entry_t *meta, ovmf_info_t *info,
			   GError **err)
{
	if (!need_data(meta, 4, "SEV metadata offset", err))
		return false;
	/* the offset counts back from the end of the image, i.e. from 4 GiB (facts §10.2) */
	uint32_t off = rd32(meta->data);
	if (off < sizeof(struct ovmf_sev_meta_hdr) || off > len) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_METADATA_BOUNDS,
			    "SEV metadata offset 0x%x points outside the image (size 0x%zx): the "
			    "ASEV header needs 16 bytes inside it",
			    off, len);
		return false;
	}
	const uint8_t *h = img + len - off;
	info->meta_gpa = OVMF_FLASH_END - off;
	uint32_t sig = rd32(h), hlen = rd32(h + 4), ver = rd32(h + 8), num = rd32(h + 12);
	if (sig != OVMF_SEV_META_SIGNATURE) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_METADATA_FORMAT,
			    "SEV metadata at GPA 0x%" G_GINT64_MODIFIER "x has signature 0x%08x, "
			    "not \"ASEV\"",
			    info->meta_gpa, sig);
		return false;
	}
	if (ver != 1 || hlen < sizeof(struct ovmf_sev_meta_hdr) ||
	    (hlen - sizeof(struct ovmf_sev_meta_hdr)) % sizeof(struct ovmf_sev_meta_desc) ||
	    num != (hlen - sizeof(struct ovmf_sev_meta_hdr)) / sizeof(struct ovmf_sev_meta_desc) ||
	    num == 0 || num > OVMF_MAX_SECTIONS) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_METADATA_FORMAT,
			    "SEV metadata at GPA 0x%" G_GINT64_MODIFIER "x: version %u, length %u, "
			    "%u sections is not a version-1 header with 1..%u 12-byte sections",
			    info->meta_gpa, ver, hlen, num, OVMF_MAX_SECTIONS);
		return false;
	}
	if (hlen > off) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_METADATA_BOUNDS,
			    "SEV metadata at GPA 0x%" G_GINT64_MODIFIER "x: its %u sections (%u "
			    "bytes) run past the end of the image",
			    info->meta_gpa, num, hlen);
		return false;
	}
	info->meta_version = ver;
	info->nsections = num;
	for (uint32_t i = 0; i < num; i++) {
		const uint8_t *d = h + sizeof(struct ovmf_sev_meta_hdr) +
				   i * sizeof(struct ovmf_sev_meta_desc);
		info->sections[i] = (ovmf_section_t){
			.base = rd32(d), .size = rd32(d + 4), .type = rd32(d + 8)};
	}
	return check_sections(info, err);
}

bool ovmf_parse(const uint8_t *img, size_t len, ovmf_info_t *out, GError **err)
{
	memset(out, 0, sizeof(*out));
	if (!img || len == 0 || len % OVMF_IMAGE_ALIGN || len > OVMF_IMAGE_MAX) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_SIZE,
			    "image size %zu bytes is not a non-zero multiple of 4 KiB up to %u MiB: "
			    "truncated or not a flash image",
			    len, OVMF_IMAGE_MAX >> 20);
		return false;
	}
	out->image_size = len;
	out->flash_base = OVMF_FLASH_END - len;
	entry_t reset = {0}, meta = {0}, secret = {0}, hashes = {0};
	if (!walk_table(img, len, out, &reset, &meta, &secret, &hashes, err))
		return false;
	/* Metadata first: its absence says "no SNP support", the more useful message. */
	if (!meta.data) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_NO_SEV_METADATA,
			    "no SEV metadata (GUID dc886566-984a-4798-a75e-5585a7bf67cc) in the "
			    "OVMF GUID table: this build has no SEV-SNP support");
		return false;
	}
	if (!reset.data) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_NO_RESET_BLOCK,
			    "no SEV-ES reset block (GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e) in "
			    "the OVMF GUID table: the APs would have no reset vector");
		return false;
	}
	if (!need_data(&reset, 4, "SEV-ES reset block", err))
		return false;
	out->ap_reset = rd32(reset.data);
	if (out->ap_reset == 0) {
		/* QEMU refuses a zero reset address too: the AP would start at 0:0 */
		g_set_error(err, OVMF_ERROR, OVMF_ERR_NO_RESET_BLOCK,
			    "the SEV-ES reset block's AP reset address is 0");
		return false;
	}
	if (secret.data) {
		if (!need_data(&secret, 8, "SEV secret block", err))
			return false;
		out->secret_base = rd32(secret.data);
		out->secret_size = rd32(secret.data + 4);
	}
	if (hashes.data) {
		if (!need_data(&hashes, 8, "SEV hash table", err))
			return false;
		out->hashes_base = rd32(hashes.data);
		out->hashes_size = rd32(hashes.data + 4);
	}
	return parse_metadata(img, len, &meta, out, err);
}

bool ovmf_load_file(const char *path, uint8_t **img_out, size_t *len_out, ovmf_info_t *out,
		    GError **err)
{
	gchar *buf = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(path, &buf, &len, &e)) {
		g_set_error(err, OVMF_ERROR, OVMF_ERR_IO, "%s", e->message);
		g_error_free(e);
		return false;
	}
	if (!ovmf_parse((const uint8_t *)buf, len, out, &e)) {
		g_set_error(err, OVMF_ERROR, e->code, "%s: %s", path, e->message);
		g_error_free(e);
		g_free(buf);
		return false;
	}
	*img_out = (uint8_t *)buf;
	*len_out = len;
	return true;
}
