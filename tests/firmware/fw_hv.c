/* SPDX-License-Identifier: MIT */
/*
 * The firmware suite's small machine (fw_hv.h). It plays the guest's #VC
 * handler: each port or MMIO access becomes the GHCB fields a handler writes
 * (with their valid bits, facts §4.2) and a VMGEXIT through hv_model.
 */
#include "fw_hv.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "snp/arch.h"
#include "snp/ghcb.h"

static uint8_t *store_page(void *ctx, uint64_t spa, bool create)
{
	fw_hv_t *t = ctx;
	return fw_hv_page(t, spa, create);
}

static const hv_mem_ops_t store_ops = {.page = store_page};

static void capture(void *ctx, const hv_event_t *ev)
{
	fw_hv_t *t = ctx;
	g_array_append_val(t->events, *ev);
}

uint8_t *fw_hv_page(fw_hv_t *t, uint64_t spa, bool create)
{
	uint64_t key = spa & ~(uint64_t)(SNP_PAGE_SIZE - 1);
	uint8_t *p = g_hash_table_lookup(t->pages, &key);
	if (p || !create)
		return p;
	uint64_t *k = g_new(uint64_t, 1);
	*k = key;
	p = g_malloc0(SNP_PAGE_SIZE);
	g_hash_table_insert(t->pages, k, p);
	return p;
}

fw_hv_t *fw_hv_new(uint64_t mem_size, uint64_t code_size)
{
	fw_hv_t *t = g_new0(fw_hv_t, 1);
	t->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	t->events = g_array_new(FALSE, TRUE, sizeof(hv_event_t));
	GError *err = NULL;
	if (!fw_layout_init(&t->layout, mem_size, code_size, 0, &err))
		fail_msg("fw_layout_init: %s", err->message);
	uint64_t top = t->layout.above_4g ? FW_HIGHMEM_BASE + t->layout.above_4g : OVMF_FLASH_END;
	t->rmp = rmp_new(top);
	assert_non_null(t->rmp);
	t->ncpuid = fw_cpuid_table(FW_EMU_CBIT, t->cpuid, G_N_ELEMENTS(t->cpuid));
	assert_int_equal(t->ncpuid, FW_CPUID_ENTRIES);
	hv_config_t c;
	hv_config_defaults(&c);
	c.cbit = FW_EMU_CBIT;
	c.ranges = t->layout.ranges;
	c.nranges = t->layout.nranges;
	c.cpuid = t->cpuid;
	c.ncpuid = t->ncpuid;
	c.seed = 1;
	c.mem = &store_ops;
	c.mem_ctx = t;
	c.emit = capture;
	c.emit_ctx = t;
	const char *why = NULL;
	t->hv = hv_new(t->rmp, &c, &why);
	if (!t->hv)
		fail_msg("hv_new: %s", why ? why : "?");
	/* register the GHCB as SEC does (MSR protocol 0x012), so NAE events are accepted */
	hv_exit_t x = hv_vmgexit(t->hv, 0, ghcb_msr_gfn_val(FW_HV_GHCB >> SNP_PAGE_SHIFT,
							    GHCB_MSR_REG_GPA_REQ));
	assert_int_equal(x.ghcb_msr,
			 ghcb_msr_gfn_val(FW_HV_GHCB >> SNP_PAGE_SHIFT, GHCB_MSR_REG_GPA_RESP));
	return t;
}

void fw_hv_free(fw_hv_t *t)
{
	if (!t)
		return;
	hv_free(t->hv);
	rmp_free(t->rmp);
	g_hash_table_destroy(t->pages);
	g_array_unref(t->events);
	g_free(t);
}

static void ghcb_set(uint8_t *p, uint32_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
	p[GHCB_OFF_VALID_BITMAP + GHCB_BITMAP_IDX(off) / 8] |=
		(uint8_t)(1u << (GHCB_BITMAP_IDX(off) % 8));
}

static uint64_t ghcb_get(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* A fresh GHCB (protocol 2, usage 0) with the event's fields, then VMGEXIT. */
static uint8_t *nae(fw_hv_t *t, uint64_t code, uint64_t info1, uint64_t info2, bool rax,
		    uint64_t rax_val, bool scratch)
{
	uint8_t *p = fw_hv_page(t, FW_HV_GHCB, true);
	memset(p, 0, SNP_PAGE_SIZE);
	uint16_t ver = GHCB_PROTOCOL_SNP;
	memcpy(p + GHCB_OFF_PROTOCOL_VERSION, &ver, sizeof(ver));
	ghcb_set(p, GHCB_OFF_SW_EXITCODE, code);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO1, info1);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO2, info2);
	if (rax)
		ghcb_set(p, GHCB_OFF_RAX, rax_val);
	if (scratch)
		ghcb_set(p, GHCB_OFF_SW_SCRATCH, FW_HV_GHCB + GHCB_OFF_SHARED_BUFFER);
	hv_exit_t x = hv_vmgexit(t->hv, 0, FW_HV_GHCB);
	assert_int_equal(x.action, HV_RESUME);
	/* SW_EXITINFO1 = 0 on return: the hypervisor accepted the request (facts §4.5) */
	assert_int_equal(ghcb_get(p, GHCB_OFF_SW_EXITINFO1), 0);
	return p;
}

static uint64_t ioio_info(uint16_t port, uint32_t size)
{
	return (uint64_t)port << SVM_IOIO_PORT_SHIFT | (uint64_t)size << SVM_IOIO_SIZE_SHIFT;
}

void fw_out(fw_hv_t *t, uint16_t port, uint32_t size, uint32_t val)
{
	nae(t, SVM_EXIT_IOIO, ioio_info(port, size), 0, true, val, false);
}

uint32_t fw_in(fw_hv_t *t, uint16_t port, uint32_t size)
{
	uint8_t *p = nae(t, SVM_EXIT_IOIO, ioio_info(port, size) | SVM_IOIO_TYPE_IN, 0, false, 0,
			 false);
	uint64_t rax = ghcb_get(p, GHCB_OFF_RAX);
	return (uint32_t)(size == 4 ? rax : rax & ((1u << (8 * size)) - 1));
}

void fw_mmio_write(fw_hv_t *t, uint64_t gpa, uint32_t size, uint64_t val)
{
	uint8_t *p = fw_hv_page(t, FW_HV_GHCB, true);
	/* built by hand, not with nae(): the data must go in after the page reset */
	memset(p, 0, SNP_PAGE_SIZE);
	uint16_t ver = GHCB_PROTOCOL_SNP;
	memcpy(p + GHCB_OFF_PROTOCOL_VERSION, &ver, sizeof(ver));
	memcpy(p + GHCB_OFF_SHARED_BUFFER, &val, size);
	ghcb_set(p, GHCB_OFF_SW_EXITCODE, SVM_VMGEXIT_MMIO_WRITE);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO1, gpa);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO2, size);
	ghcb_set(p, GHCB_OFF_SW_SCRATCH, FW_HV_GHCB + GHCB_OFF_SHARED_BUFFER);
	hv_exit_t x = hv_vmgexit(t->hv, 0, FW_HV_GHCB);
	assert_int_equal(x.action, HV_RESUME);
	assert_int_equal(ghcb_get(p, GHCB_OFF_SW_EXITINFO1), 0);
}

uint64_t fw_mmio_read(fw_hv_t *t, uint64_t gpa, uint32_t size)
{
	uint8_t *p = nae(t, SVM_VMGEXIT_MMIO_READ, gpa, size, false, 0, true);
	uint64_t v = 0;
	memcpy(&v, p + GHCB_OFF_SHARED_BUFFER, size);
	return v;
}

bool fw_rdmsr(fw_hv_t *t, uint32_t msr, uint64_t *val)
{
	uint8_t *p = fw_hv_page(t, FW_HV_GHCB, true);
	memset(p, 0, SNP_PAGE_SIZE);
	uint16_t ver = GHCB_PROTOCOL_SNP;
	memcpy(p + GHCB_OFF_PROTOCOL_VERSION, &ver, sizeof(ver));
	ghcb_set(p, GHCB_OFF_SW_EXITCODE, SVM_EXIT_MSR);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO1, 0);
	ghcb_set(p, GHCB_OFF_SW_EXITINFO2, 0);
	ghcb_set(p, GHCB_OFF_RCX, msr);
	hv_exit_t x = hv_vmgexit(t->hv, 0, FW_HV_GHCB);
	assert_int_equal(x.action, HV_RESUME);
	if (ghcb_get(p, GHCB_OFF_SW_EXITINFO1) != 0)
		return false;
	*val = (ghcb_get(p, GHCB_OFF_RAX) & 0xFFFFFFFFu) | ghcb_get(p, GHCB_OFF_RDX) << 32;
	return true;
}
