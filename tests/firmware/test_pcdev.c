/* SPDX-License-Identifier: MIT */
/*
 * sim/pcdev.c through hv_model's GHCB path: every access below is an IOIO or
 * MMIO NAE event a guest's #VC handler would send, answered by the device table
 * after pc_attach. The values checked are QEMU's pc machine's, which OVMF's
 * QEMU platform code reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fw_hv.h"
#include "pcdev.h"

typedef struct rig {
	fw_hv_t *t;
	pc_t *pc;
	uint64_t now_ns;
	GString *serial;
} rig_t;

static uint64_t rig_clock(void *ctx)
{
	return ((rig_t *)ctx)->now_ns;
}

static void rig_serial(void *ctx, uint8_t b)
{
	g_string_append_c(((rig_t *)ctx)->serial, (char)b);
}

static rig_t *rig_new(uint64_t mem)
{
	rig_t *r = g_new0(rig_t, 1);
	r->t = fw_hv_new(mem, 0x37C000);
	r->serial = g_string_new(NULL);
	pc_config_t c;
	pc_config_defaults(&c);
	c.ram_below_4g = r->t->layout.below_4g;
	c.ram_above_4g = r->t->layout.above_4g;
	c.ncpus = 2;
	c.clock_ns = rig_clock;
	c.clock_ctx = r;
	c.serial_out = rig_serial;
	c.serial_ctx = r;
	GError *err = NULL;
	r->pc = pc_new(&c, &err);
	assert_non_null(r->pc);
	assert_true(pc_attach(r->pc, r->t->hv, &err));
	return r;
}

static int setup(void **state)
{
	*state = rig_new(512ull << 20);
	return 0;
}

static int teardown(void **state)
{
	rig_t *r = *state;
	pc_free(r->pc);
	fw_hv_free(r->t);
	g_string_free(r->serial, TRUE);
	g_free(r);
	return 0;
}

/* ------------------------------------------------------------------ UART */

static void uart_transmits_to_the_sink(void **state)
{
	rig_t *r = *state;
	/* what BaseSerialPortLib16550 does: LCR 8N1 with DLAB to set 115200, then data */
	fw_out(r->t, PC_PORT_COM1 + 3, 1, 0x83);
	fw_out(r->t, PC_PORT_COM1 + 0, 1, 0x01); /* DLL: not a data byte */
	fw_out(r->t, PC_PORT_COM1 + 1, 1, 0x00);
	fw_out(r->t, PC_PORT_COM1 + 3, 1, 0x03);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 3, 1), 0x03);
	const char *msg = "Shell> ";
	for (const char *p = msg; *p; p++) {
		/* the library polls LSR.THRE before each byte */
		assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 5, 1) & 0x20, 0x20);
		fw_out(r->t, PC_PORT_COM1, 1, (uint8_t)*p);
	}
	assert_string_equal(r->serial->str, msg);
	assert_int_equal(pc_serial_bytes(r->pc), strlen(msg));
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 5, 1), 0x60);
	/* no interrupt pending; FIFOs reported once enabled */
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 2, 1), 0x01);
	fw_out(r->t, PC_PORT_COM1 + 2, 1, 0x07);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 2, 1), 0xC1);
}

static void uart_scratch_and_loopback_prove_presence(void **state)
{
	rig_t *r = *state;
	/* PciSioSerialDxe's presence test: the scratch register holds what was written */
	fw_out(r->t, PC_PORT_COM1 + 7, 1, 0xAA);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 7, 1), 0xAA);
	fw_out(r->t, PC_PORT_COM1 + 7, 1, 0x55);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 7, 1), 0x55);
	/* loopback: RTS/DTR/OUT1/OUT2 come back as CTS/DSR/RI/DCD, and nothing is sent */
	fw_out(r->t, PC_PORT_COM1 + 4, 1, 0x10 | 0x0F);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 6, 1), 0xF0);
	fw_out(r->t, PC_PORT_COM1 + 4, 1, 0x10 | 0x02);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 6, 1), 0x10);
	size_t before = r->serial->len;
	fw_out(r->t, PC_PORT_COM1, 1, 'x');
	assert_int_equal(r->serial->len, before);
	fw_out(r->t, PC_PORT_COM1 + 4, 1, 0x0B);
	assert_int_equal(fw_in(r->t, PC_PORT_COM1 + 6, 1), 0xB0);
}

/* ------------------------------------------------------------------ CMOS / RTC */

static uint8_t cmos(rig_t *r, uint8_t index)
{
	fw_out(r->t, PC_PORT_CMOS_INDEX, 1, index);
	return (uint8_t)fw_in(r->t, PC_PORT_CMOS_DATA, 1);
}

static void cmos_memory_size_registers_match_qemu(void **state)
{
	rig_t *r = *state;
	/* 512 MiB: (512 - 16) MiB in 64 KiB units = 0x1F00 */
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_16M_LO), 0x00);
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_16M_HI), 0x1F);
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_4G_LO), 0);
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_4G_MID), 0);
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_4G_HI), 0);
	/* 640 KiB base memory, extended memory capped at 65535 KiB */
	assert_int_equal(cmos(r, CMOS_BASE_MEM_LO) | cmos(r, CMOS_BASE_MEM_LO + 1) << 8, 640);
	assert_int_equal(cmos(r, CMOS_EXT_MEM2_LO) | cmos(r, CMOS_EXT_MEM2_LO + 1) << 8, 0xFFFF);
	assert_int_equal(cmos(r, CMOS_SMP_CPUS), 1);
	assert_int_equal(cmos(r, CMOS_RTC_REG_D), 0x80);
	/* bit 7 of the index port is the NMI mask: the index is the low 7 bits */
	fw_out(r->t, PC_PORT_CMOS_INDEX, 1, 0x80 | CMOS_MEM_ABOVE_16M_HI);
	assert_int_equal(fw_in(r->t, PC_PORT_CMOS_DATA, 1), 0x1F);
	/* plain CMOS RAM is storage */
	fw_out(r->t, PC_PORT_CMOS_INDEX, 1, 0x40);
	fw_out(r->t, PC_PORT_CMOS_DATA, 1, 0x5A);
	assert_int_equal(cmos(r, 0x40), 0x5A);
}

static void cmos_high_memory_is_counted_above_4g(void **state)
{
	(void)state;
	/* 6 GiB: QEMU keeps 3 GiB low (gigabyte aligned) and 3 GiB from 4 GiB */
	rig_t *r = rig_new(6ull << 30);
	assert_int_equal(r->t->layout.below_4g, 0xC0000000ull);
	assert_int_equal(r->t->layout.above_4g, 0xC0000000ull);
	uint32_t high = cmos(r, CMOS_MEM_ABOVE_4G_LO) | cmos(r, CMOS_MEM_ABOVE_4G_MID) << 8 |
			(uint32_t)cmos(r, CMOS_MEM_ABOVE_4G_HI) << 16;
	assert_int_equal(high, 0xC0000000ull >> 16);
	assert_int_equal(cmos(r, CMOS_MEM_ABOVE_16M_LO) | cmos(r, CMOS_MEM_ABOVE_16M_HI) << 8,
			 (0xC0000000ull - (16u << 20)) >> 16);
	void *s = r;
	teardown(&s);
}

static void rtc_follows_the_virtual_clock(void **state)
{
	rig_t *r = *state;
	r->now_ns = 3661ull * 1000000000ull + 500000000ull; /* 2025-01-01 01:01:01.5 */
	assert_int_equal(cmos(r, CMOS_RTC_REG_A) & 0x80, 0); /* never mid-update */
	assert_int_equal(cmos(r, 0x00), 0x01);
	assert_int_equal(cmos(r, 0x02), 0x01);
	assert_int_equal(cmos(r, 0x04), 0x01);
	assert_int_equal(cmos(r, 0x07), 0x01);
	assert_int_equal(cmos(r, 0x08), 0x01);
	assert_int_equal(cmos(r, 0x09), 0x25);
	assert_int_equal(cmos(r, CMOS_CENTURY), 0x20);
	assert_int_equal(cmos(r, 0x06), 4); /* a Wednesday: day 4 counting Sunday as 1 */
	r->now_ns += 58ull * 1000000000ull;
	assert_int_equal(cmos(r, 0x00), 0x59); /* BCD */
	/* binary mode (register B bit 2) */
	fw_out(r->t, PC_PORT_CMOS_INDEX, 1, CMOS_RTC_REG_B);
	fw_out(r->t, PC_PORT_CMOS_DATA, 1, 0x06);
	assert_int_equal(cmos(r, 0x00), 59);
	assert_int_equal(cmos(r, 0x09), 25);
}

/* ------------------------------------------------------------------ fw_cfg */

static void fw_cfg_select(rig_t *r, uint16_t key)
{
	fw_out(r->t, PC_PORT_FW_CFG_CTL, 2, key);
}

static void fw_cfg_read(rig_t *r, void *buf, size_t n)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)fw_in(r->t, PC_PORT_FW_CFG_DATA, 1);
}

static uint64_t le(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t be(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static void fw_cfg_answers_the_items_ovmf_reads(void **state)
{
	rig_t *r = *state;
	uint8_t b[16];
	fw_cfg_select(r, FW_CFG_SIGNATURE);
	fw_cfg_read(r, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	fw_cfg_select(r, FW_CFG_ID);
	fw_cfg_read(r, b, 4);
	assert_int_equal(le(b, 4), 1); /* traditional interface only: no DMA */
	fw_cfg_select(r, FW_CFG_RAM_SIZE);
	fw_cfg_read(r, b, 8);
	assert_int_equal(le(b, 8), 512ull << 20);
	fw_cfg_select(r, FW_CFG_NB_CPUS);
	fw_cfg_read(r, b, 2);
	assert_int_equal(le(b, 2), 2);
	fw_cfg_select(r, FW_CFG_MAX_CPUS);
	fw_cfg_read(r, b, 2);
	assert_int_equal(le(b, 2), 2);
	/* an unknown item and reads past an item's end are zeros */
	fw_cfg_select(r, 0x1234);
	fw_cfg_read(r, b, 4);
	assert_int_equal(le(b, 4), 0);
	fw_cfg_select(r, FW_CFG_SIGNATURE);
	fw_cfg_read(r, b, 6);
	assert_int_equal(b[4] | b[5], 0);
	/* the data port is one byte wide (QEMU's fw_cfg_comb_valid): a 32-bit IN there runs
	   past the device into unclaimed ports and reads all ones */
	fw_cfg_select(r, FW_CFG_SIGNATURE);
	assert_int_equal(fw_in(r->t, PC_PORT_FW_CFG_DATA, 4), 0xFFFFFFFFu);
	fw_cfg_read(r, b, 1);
	assert_int_equal(b[0], 'Q'); /* and took nothing from the item */
}

/* Finds name in the directory; returns its selector and size. */
static bool fw_cfg_find(rig_t *r, const char *name, uint16_t *sel, uint32_t *size)
{
	uint8_t hdr[4];
	fw_cfg_select(r, FW_CFG_FILE_DIR);
	fw_cfg_read(r, hdr, 4);
	uint32_t n = (uint32_t)be(hdr, 4);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[64];
		fw_cfg_read(r, e, 64);
		if (strncmp((const char *)e + 8, name, FW_CFG_MAX_FILE_PATH) == 0) {
			*size = (uint32_t)be(e, 4);
			*sel = (uint16_t)be(e + 4, 2);
			return true;
		}
	}
	return false;
}

static void fw_cfg_e820_describes_ram(void **state)
{
	(void)state;
	rig_t *r = rig_new(6ull << 30);
	uint16_t sel;
	uint32_t size;
	assert_true(fw_cfg_find(r, "etc/e820", &sel, &size));
	assert_int_equal(sel, FW_CFG_FILE_FIRST);
	assert_int_equal(size, 2 * 20);
	uint8_t e[40];
	fw_cfg_select(r, sel);
	fw_cfg_read(r, e, sizeof(e));
	assert_int_equal(le(e, 8), 0);
	assert_int_equal(le(e + 8, 8), 0xC0000000ull);
	assert_int_equal(le(e + 16, 4), E820_RAM);
	assert_int_equal(le(e + 20, 8), 0x100000000ull);
	assert_int_equal(le(e + 28, 8), 0xC0000000ull);
	assert_int_equal(le(e + 36, 4), E820_RAM);
	assert_false(fw_cfg_find(r, "etc/table-loader", &sel, &size));
	void *s = r;
	teardown(&s);
}

static void fw_cfg_files_can_be_added(void **state)
{
	rig_t *r = *state;
	static const uint8_t s3[6] = {0, 0, 0, 0, 0, 0};
	assert_true(pc_fw_cfg_add_file(r->pc, "etc/system-states", s3, sizeof(s3)));
	assert_false(pc_fw_cfg_add_file(r->pc, "etc/system-states", s3, sizeof(s3)));
	char longname[FW_CFG_MAX_FILE_PATH + 1];
	memset(longname, 'a', FW_CFG_MAX_FILE_PATH);
	longname[FW_CFG_MAX_FILE_PATH] = 0;
	assert_false(pc_fw_cfg_add_file(r->pc, longname, NULL, 0));
	uint16_t sel;
	uint32_t size;
	assert_true(fw_cfg_find(r, "etc/system-states", &sel, &size));
	assert_int_equal(sel, FW_CFG_FILE_FIRST + 1);
	assert_int_equal(size, 6);
}

/* ------------------------------------------------------------------ PCI and PM */

static uint32_t pci_read(rig_t *r, uint32_t dev, uint32_t fn, uint32_t reg, uint32_t size)
{
	fw_out(r->t, PC_PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xFC));
	return fw_in(r->t, (uint16_t)(PC_PORT_PCI_CONFIG_DATA + (reg & 3)), size);
}

static void pci_write(rig_t *r, uint32_t dev, uint32_t fn, uint32_t reg, uint32_t size,
		      uint32_t val)
{
	fw_out(r->t, PC_PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xFC));
	fw_out(r->t, (uint16_t)(PC_PORT_PCI_CONFIG_DATA + (reg & 3)), size, val);
}

static void pci_shows_the_i440fx_chipset(void **state)
{
	rig_t *r = *state;
	/* PlatformPei tells i440FX from Q35 by the host bridge's device ID */
	assert_int_equal(pci_read(r, 0, 0, 0, 4), 0x12378086u);
	assert_int_equal(pci_read(r, 0, 0, 0x0A, 2), 0x0600);
	assert_int_equal(pci_read(r, 1, 0, 0, 4), 0x70008086u);
	assert_int_equal(pci_read(r, 1, 0, 0x0A, 2), 0x0601); /* ISA bridge: serial console */
	assert_int_equal(pci_read(r, 1, 0, 0x0E, 1), 0x80);   /* multi-function */
	assert_int_equal(pci_read(r, 1, 3, 0, 4), 0x71138086u);
	/* empty slots and other buses read all ones */
	assert_int_equal(pci_read(r, 2, 0, 0, 4), 0xFFFFFFFFu);
	fw_out(r->t, PC_PORT_PCI_CONFIG_ADDRESS, 4, 0x80010000u);
	assert_int_equal(fw_in(r->t, PC_PORT_PCI_CONFIG_DATA, 4), 0xFFFFFFFFu);
	/* without the enable bit the data port decodes nothing */
	fw_out(r->t, PC_PORT_PCI_CONFIG_ADDRESS, 4, 0);
	assert_int_equal(fw_in(r->t, PC_PORT_PCI_CONFIG_DATA, 4), 0xFFFFFFFFu);
	assert_int_equal(fw_in(r->t, PC_PORT_PCI_CONFIG_ADDRESS, 4), 0);
	/* IDs are read-only, the command register and chipset registers are not */
	pci_write(r, 0, 0, 0, 4, 0);
	assert_int_equal(pci_read(r, 0, 0, 0, 4), 0x12378086u);
	pci_write(r, 0, 0, 0x04, 2, 0x0007);
	assert_int_equal(pci_read(r, 0, 0, 0x04, 2), 0x0007);
	pci_write(r, 0, 0, 0x59, 1, 0x30); /* PAM0, as OVMF programs it */
	assert_int_equal(pci_read(r, 0, 0, 0x59, 1), 0x30);
	/* BARs are not implemented: sizing reads back 0 */
	pci_write(r, 1, 3, 0x10, 4, 0xFFFFFFFFu);
	assert_int_equal(pci_read(r, 1, 3, 0x10, 4), 0);
}

static void pm_timer_appears_where_ovmf_puts_pmba(void **state)
{
	rig_t *r = *state;
	uint16_t tmr = PIIX4_PMBA_VALUE + ACPI_PM_TMR_OFFSET;
	/* not decoded before PMBA and PMREGMISC are set */
	assert_int_equal(fw_in(r->t, tmr, 4), 0xFFFFFFFFu);
	assert_int_equal(pci_read(r, 1, 3, PIIX4_PMBA, 4), 1); /* I/O space indicator */
	pci_write(r, 1, 3, PIIX4_PMBA, 4, PIIX4_PMBA_VALUE | 0x3F);
	assert_int_equal(pci_read(r, 1, 3, PIIX4_PMBA, 4), PIIX4_PMBA_VALUE | 1);
	assert_int_equal(fw_in(r->t, tmr, 4), 0xFFFFFFFFu);
	pci_write(r, 1, 3, PIIX4_PMREGMISC, 1, 1);
	assert_int_equal(fw_in(r->t, tmr, 4), 0);
	r->now_ns = 1000000000ull; /* one second: 3579545 ticks */
	assert_int_equal(fw_in(r->t, tmr, 4), ACPI_PM_TIMER_HZ);
	r->now_ns = 10ull * 1000000000ull; /* 24 bits wrap after 4.69 s */
	assert_int_equal(fw_in(r->t, tmr, 4), (10ull * ACPI_PM_TIMER_HZ) & 0xFFFFFF);
	/* elsewhere in the window: plain registers */
	fw_out(r->t, PIIX4_PMBA_VALUE + 2, 2, 0x0121);
	assert_int_equal(fw_in(r->t, PIIX4_PMBA_VALUE + 2, 2), 0x0121);
	/* moving PMBA away stops the fixed window decoding */
	pci_write(r, 1, 3, PIIX4_PMBA, 4, 0x600);
	assert_int_equal(fw_in(r->t, tmr, 4), 0xFFFFFFFFu);
}

static void resets_and_power_off_are_recorded(void **state)
{
	rig_t *r = *state;
	assert_int_equal(pc_reset_requested(r->pc), PC_RESET_NONE);
	fw_out(r->t, PC_PORT_POST, 1, 0x42);
	assert_int_equal(pc_post_code(r->pc), 0x42);
	assert_int_equal(fw_in(r->t, PC_PORT_POST, 1), 0x42);
	fw_out(r->t, PC_PORT_SYSCTL_A, 1, 0x02); /* A20 on, no reset */
	assert_int_equal(fw_in(r->t, PC_PORT_SYSCTL_A, 1), 0x02);
	assert_int_equal(pc_reset_requested(r->pc), PC_RESET_NONE);
	/* S5 through PIIX4 PMCNTRL: SLP_TYP 0, SLP_EN */
	pci_write(r, 1, 3, PIIX4_PMBA, 4, PIIX4_PMBA_VALUE);
	pci_write(r, 1, 3, PIIX4_PMREGMISC, 1, 1);
	fw_out(r->t, PIIX4_PMBA_VALUE + 4, 2, 1u << 13);
	assert_int_equal(pc_reset_requested(r->pc), PC_RESET_POWEROFF);
	void *s = r;
	teardown(&s);
	/* 0xCF9 = 0x06 (ResetSystemLib's cold reset) */
	r = rig_new(512ull << 20);
	fw_out(r->t, PC_PORT_PCI_RESET_CONTROL, 1, 0x06);
	assert_int_equal(pc_reset_requested(r->pc), PC_RESET_SYSTEM);
	s = r;
	teardown(&s);
	r = rig_new(512ull << 20);
	fw_out(r->t, PC_PORT_SYSCTL_A, 1, 0x01);
	assert_int_equal(pc_reset_requested(r->pc), PC_RESET_SYSTEM);
	*state = r;
}

/* ------------------------------------------------------------------ MMIO devices */

static void lapic_registers_and_timer(void **state)
{
	rig_t *r = *state;
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0x30, 4), 0x00050014u);
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0x20, 4), 0);
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0x320, 4), 1u << 16); /* masked */
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0xF0, 4, 0x1FF);
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0xF0, 4), 0x1FF);
	/* periodic, vector 0x30, divide by 1, 1000 bus cycles (1 GHz bus: 1 µs) */
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x3E0, 4, 0xB);
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x320, 4, (1u << 17) | 0x30);
	r->now_ns = 5000;
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x380, 4, 1000);
	uint8_t vec = 0;
	assert_false(pc_lapic_timer_due(r->pc, 5999, &vec));
	r->now_ns = 5250;
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0x390, 4), 750);
	assert_true(pc_lapic_timer_due(r->pc, 6000, &vec));
	assert_int_equal(vec, 0x30);
	assert_false(pc_lapic_timer_due(r->pc, 6500, &vec)); /* next period at 7000 */
	assert_int_equal(pc_lapic_timer_deadline(r->pc), 7000);
	assert_true(pc_lapic_timer_due(r->pc, 9500, &vec));  /* late: one interrupt, not three */
	assert_false(pc_lapic_timer_due(r->pc, 9900, &vec));
	/* divide by 2 doubles the period */
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x3E0, 4, 0x0);
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x380, 4, 1000);
	assert_false(pc_lapic_timer_due(r->pc, 5250 + 1999, &vec));
	assert_true(pc_lapic_timer_due(r->pc, 5250 + 2000, &vec));
	/* masked: the deadline passes without an interrupt */
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x320, 4, (1u << 16) | 0x30);
	assert_false(pc_lapic_timer_due(r->pc, 1000000, &vec));
	/* one-shot: counts down to 0 and stays there */
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x320, 4, 0x31);
	r->now_ns = 0;
	fw_mmio_write(r->t, PC_LAPIC_BASE + 0x380, 4, 100);
	r->now_ns = 1000;
	assert_int_equal(fw_mmio_read(r->t, PC_LAPIC_BASE + 0x390, 4), 0);
	assert_true(pc_lapic_timer_due(r->pc, 1000, &vec));
	assert_int_equal(vec, 0x31);
	assert_false(pc_lapic_timer_due(r->pc, 100000, &vec));
}

static void ioapic_and_hpet_registers(void **state)
{
	rig_t *r = *state;
	fw_mmio_write(r->t, PC_IOAPIC_BASE, 4, 1);
	assert_int_equal(fw_mmio_read(r->t, PC_IOAPIC_BASE + 0x10, 4), 0x00170011u);
	fw_mmio_write(r->t, PC_IOAPIC_BASE, 4, 0x10);
	assert_int_equal(fw_mmio_read(r->t, PC_IOAPIC_BASE + 0x10, 4), 1u << 16);
	fw_mmio_write(r->t, PC_IOAPIC_BASE + 0x10, 4, 0x20);
	assert_int_equal(fw_mmio_read(r->t, PC_IOAPIC_BASE + 0x10, 4), 0x20);
	assert_int_equal(fw_mmio_read(r->t, PC_HPET_BASE, 4), 0x8086A201u);
	assert_int_equal(fw_mmio_read(r->t, PC_HPET_BASE + 4, 4), 100000000u);
	assert_int_equal(fw_mmio_read(r->t, PC_HPET_BASE, 8), 0x05F5E1008086A201ull);
	r->now_ns = 1000;
	assert_int_equal(fw_mmio_read(r->t, PC_HPET_BASE + 0xF0, 8), 0); /* not enabled */
	fw_mmio_write(r->t, PC_HPET_BASE + 0x10, 8, 1);
	assert_int_equal(fw_mmio_read(r->t, PC_HPET_BASE + 0xF0, 8), 10); /* 10 MHz */
	/* the TPM window and other holes read all ones (no device behind them) */
	assert_int_equal(fw_mmio_read(r->t, 0xFED40000ull, 4), 0xFFFFFFFFu);
}

static void attaching_twice_is_refused(void **state)
{
	rig_t *r = *state;
	GError *err = NULL;
	assert_false(pc_attach(r->pc, r->t->hv, &err));
	assert_non_null(strstr(err->message, "post"));
	g_clear_error(&err);
	size_t n;
	const hv_device_t *d = pc_devices(r->pc, &n);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_non_null(d[i].name);
	pc_config_t c;
	pc_config_defaults(&c);
	c.ncpus = 0;
	assert_null(pc_new(&c, &err));
	g_clear_error(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uart_transmits_to_the_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(uart_scratch_and_loopback_prove_presence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cmos_memory_size_registers_match_qemu, setup,
						teardown),
		cmocka_unit_test(cmos_high_memory_is_counted_above_4g),
		cmocka_unit_test_setup_teardown(rtc_follows_the_virtual_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(fw_cfg_answers_the_items_ovmf_reads, setup, teardown),
		cmocka_unit_test(fw_cfg_e820_describes_ram),
		cmocka_unit_test_setup_teardown(fw_cfg_files_can_be_added, setup, teardown),
		cmocka_unit_test_setup_teardown(pci_shows_the_i440fx_chipset, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_timer_appears_where_ovmf_puts_pmba, setup,
						teardown),
		cmocka_unit_test_setup_teardown(resets_and_power_off_are_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(lapic_registers_and_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(ioapic_and_hpet_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(attaching_twice_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
