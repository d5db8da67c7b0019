/* SPDX-License-Identifier: MIT */
/*
 * The PC devices of an OVMF boot (pcdev.h). Each device is a read/write pair
 * over its window, switch (offset), as small as OVMF lets it be; every value a
 * register holds after reset is the one QEMU's pc machine shows, since that is
 * what OVMF's QEMU platform code was written against.
 */
#include "pcdev.h"

#include <string.h>
#include <time.h>

#include "simerr.h"

#define NS_PER_S 1000000000ull

/* ------------------------------------------------------------------ state */

typedef struct fw_cfg_file {
	char name[FW_CFG_MAX_FILE_PATH];
	GBytes *data;
} fw_cfg_file_t;

enum { PCI_FN_HOST, PCI_FN_ISA, PCI_FN_PM, PCI_NFN };

struct pc {
	pc_config_t cfg;
	hv_device_t devs[12];
	size_t ndevs;
	pc_reset_kind_t reset;
	uint8_t post;
	uint8_t sysctl_a;
	/* CMOS */
	uint8_t cmos_index;
	uint8_t cmos[128];
	/* UART (16550A) */
	uint8_t uart_ier, uart_lcr, uart_mcr, uart_scr, uart_fcr, uart_dll, uart_dlm;
	uint64_t serial_bytes;
	/* fw_cfg */
	fw_cfg_file_t files[FW_CFG_MAX_FILES];
	size_t nfiles;
	uint16_t fw_cfg_sel;
	GByteArray *fw_cfg_item; /* the selected item's contents */
	uint32_t fw_cfg_off;
	/* PCI */
	uint32_t pci_addr;
	uint8_t pci_cfg[PCI_NFN][256];
	uint8_t pci_wmask[PCI_NFN][256];
	/* PIIX4 PM */
	uint16_t pm_sts, pm_en, pm_cntrl;
	/* local APIC: one 32-bit register per 16-byte slot of the 4 KiB page (0x000-0x3F0) */
	uint32_t lapic[64];
	uint64_t lapic_timer_start; /* ns at the last initial-count write */
	uint64_t lapic_deadline;    /* ns; 0: disarmed */
	/* IOAPIC */
	uint32_t ioapic_sel;
	uint32_t ioapic_id;
	uint32_t ioapic_redir[48];
	/* HPET */
	uint64_t hpet_conf, hpet_isr;
	uint64_t hpet_timer[3][2];
};

static uint64_t clock_ns(const pc_t *pc)
{
	return pc->cfg.clock_ns ? pc->cfg.clock_ns(pc->cfg.clock_ctx) : 0;
}

/* ticks of a clock running at hz after ns, without overflowing for any 64-bit ns */
static uint64_t ticks(uint64_t ns, uint64_t hz)
{
	return ns / NS_PER_S * hz + ns % NS_PER_S * hz / NS_PER_S;
}

void pc_config_defaults(pc_config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->ncpus = 1;
	c->rtc_epoch = 1735689600; /* 2025-01-01T00:00:00Z */
}

/* ------------------------------------------------------------------ POST, port 0x92 */

static bool post_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)offset, (void)size;
	*val = pc->post;
	return true;
}

static bool post_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)offset, (void)size;
	pc->post = (uint8_t)val;
	return true;
}

#define SYSCTL_A_FAST_RESET 0x01u
#define SYSCTL_A_A20 0x02u

static bool sysctl_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)offset, (void)size;
	*val = pc->sysctl_a;
	return true;
}

static bool sysctl_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)offset, (void)size;
	if (val & SYSCTL_A_FAST_RESET)
		pc->reset = PC_RESET_SYSTEM;
	pc->sysctl_a = (uint8_t)(val & SYSCTL_A_A20);
	return true;
}

/* ------------------------------------------------------------------ CMOS / RTC */

#define RTC_REG_A_DEFAULT 0x26u /* 32.768 kHz time base, 1024 Hz rate; UIP never set */
#define RTC_REG_B_24H 0x02u
#define RTC_REG_B_DM_BINARY 0x04u
#define RTC_REG_D_VRT 0x80u     /* valid RAM and time: the battery is good */

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

/* The time registers follow the virtual clock; writes to them are not modeled (XXX). */
static uint8_t rtc_time_reg(const pc_t *pc, uint8_t index)
{
	time_t t = (time_t)(pc->cfg.rtc_epoch + (int64_t)(clock_ns(pc) / NS_PER_S));
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return 0;
	unsigned v;
	switch (index) {
	case 0x00: v = (unsigned)tm.tm_sec; break;
	case 0x02: v = (unsigned)tm.tm_min; break;
	case 0x04: v = (unsigned)tm.tm_hour; break;
	case 0x06: v = (unsigned)tm.tm_wday + 1; break;
	case 0x07: v = (unsigned)tm.tm_mday; break;
	case 0x08: v = (unsigned)tm.tm_mon + 1; break;
	case 0x09: v = (unsigned)tm.tm_year % 100; break;
	case CMOS_CENTURY: v = (unsigned)(tm.tm_year + 1900) / 100; break;
	default: return pc->cmos[index]; /* the alarm registers are plain storage */
	}
	return (pc->cmos[CMOS_RTC_REG_B] & RTC_REG_B_DM_BINARY) ? (uint8_t)v : to_bcd(v);
}

static bool rtc_is_time(uint8_t index)
{
	return (index <= 0x09 && !(index & 1)) || index == 0x07 || index == 0x09 ||
	       index == CMOS_CENTURY;
}

static bool cmos_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset == 0) {
		*val = pc->cmos_index;
		return true;
	}
	uint8_t i = pc->cmos_index;
	if (rtc_is_time(i))
		*val = rtc_time_reg(pc, i);
	else
		*val = pc->cmos[i];
	if (i == CMOS_RTC_REG_C)
		pc->cmos[i] = 0; /* reading register C acknowledges the interrupt flags */
	return true;
}

static bool cmos_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset == 0) {
		pc->cmos_index = (uint8_t)(val & 0x7F); /* bit 7 is the NMI mask, not the index */
		return true;
	}
	uint8_t i = pc->cmos_index;
	if (rtc_is_time(i) || i == CMOS_RTC_REG_C || i == CMOS_RTC_REG_D)
		return true; /* read-only here */
	pc->cmos[i] = (uint8_t)val;
	return true;
}

static void cmos_init(pc_t *pc)
{
	uint8_t *c = pc->cmos;
	const pc_config_t *cfg = &pc->cfg;
	c[CMOS_RTC_REG_A] = RTC_REG_A_DEFAULT;
	c[CMOS_RTC_REG_B] = RTC_REG_B_24H;
	c[CMOS_RTC_REG_D] = RTC_REG_D_VRT;
	/* QEMU pc_cmos_init: 640 KiB base memory; KiB above 1 MiB capped at 65535 */
	c[CMOS_BASE_MEM_LO] = 640 & 0xFF;
	c[CMOS_BASE_MEM_LO + 1] = 640 >> 8;
	uint64_t ext = cfg->ram_below_4g / 1024;
	ext = ext > 1024 ? ext - 1024 : 0;
	if (ext > 65535)
		ext = 65535;
	c[CMOS_EXT_MEM_LO] = c[CMOS_EXT_MEM2_LO] = (uint8_t)ext;
	c[CMOS_EXT_MEM_LO + 1] = c[CMOS_EXT_MEM2_LO + 1] = (uint8_t)(ext >> 8);
	/* what OVMF's PlatformGetSystemMemorySizeBelow4gb reads without etc/e820 */
	uint64_t above16 = cfg->ram_below_4g > (16u << 20) ? (cfg->ram_below_4g - (16u << 20)) >> 16
							    : 0;
	if (above16 > 0xFFFF)
		above16 = 0xFFFF;
	c[CMOS_MEM_ABOVE_16M_LO] = (uint8_t)above16;
	c[CMOS_MEM_ABOVE_16M_HI] = (uint8_t)(above16 >> 8);
	uint64_t above4g = cfg->ram_above_4g >> 16;
	c[CMOS_MEM_ABOVE_4G_LO] = (uint8_t)above4g;
	c[CMOS_MEM_ABOVE_4G_MID] = (uint8_t)(above4g >> 8);
	c[CMOS_MEM_ABOVE_4G_HI] = (uint8_t)(above4g >> 16);
	c[CMOS_SMP_CPUS] = (uint8_t)(cfg->ncpus - 1);
}

/* ------------------------------------------------------------------ 16550A UART */

enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};
#define UART_LCR_DLAB 0x80u
#define UART_MCR_LOOP 0x10u
#define UART_LSR_THRE 0x20u  /* transmit holding register empty */
#define UART_LSR_TEMT 0x40u  /* transmitter empty: every byte leaves at once */
#define UART_IIR_NO_INT 0x01u
#define UART_IIR_FIFO 0xC0u
#define UART_FCR_ENABLE 0x01u
/* Modem status with no loopback: CTS, DSR and DCD asserted, so hardware flow control
   (if the firmware uses it) always lets bytes through. */
#define UART_MSR_LINES_UP 0xB0u

static bool uart_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)size;
	bool dlab = pc->uart_lcr & UART_LCR_DLAB;
	switch (offset) {
	case UART_RBR_THR: *val = dlab ? pc->uart_dll : 0; break; /* nothing is ever received */
	case UART_IER: *val = dlab ? pc->uart_dlm : pc->uart_ier; break;
	case UART_IIR_FCR:
		*val = UART_IIR_NO_INT | ((pc->uart_fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
		break;
	case UART_LCR: *val = pc->uart_lcr; break;
	case UART_MCR: *val = pc->uart_mcr; break;
	case UART_LSR: *val = UART_LSR_THRE | UART_LSR_TEMT; break;
	case UART_MSR:
		/* loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (the 16550 data sheet) */
		if (pc->uart_mcr & UART_MCR_LOOP) {
			uint8_t m = pc->uart_mcr;
			*val = (uint64_t)(((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) |
					  ((m & 0x08) << 4));
		} else {
			*val = UART_MSR_LINES_UP;
		}
		break;
	case UART_SCR: *val = pc->uart_scr; break;
	default: return false;
	}
	return true;
}

static bool uart_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	bool dlab = pc->uart_lcr & UART_LCR_DLAB;
	uint8_t b = (uint8_t)val;
	switch (offset) {
	case UART_RBR_THR:
		if (dlab) {
			pc->uart_dll = b;
		} else if (!(pc->uart_mcr & UART_MCR_LOOP)) {
			/* in loopback the byte goes back to the receiver, not to the line */
			pc->serial_bytes++;
			if (pc->cfg.serial_out)
				pc->cfg.serial_out(pc->cfg.serial_ctx, b);
		}
		break;
	case UART_IER:
		if (dlab)
			pc->uart_dlm = b;
		else
			pc->uart_ier = b & 0x0F;
		break;
	case UART_IIR_FCR: pc->uart_fcr = b; break;
	case UART_LCR: pc->uart_lcr = b; break;
	case UART_MCR: pc->uart_mcr = b & 0x1F; break;
	case UART_SCR: pc->uart_scr = b; break;
	case UART_LSR:
	case UART_MSR: break; /* read-only */
	default: return false;
	}
	return true;
}

/* ------------------------------------------------------------------ fw_cfg */

static void put_le(GByteArray *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i));
		g_byte_array_append(a, &b, 1);
	}
}

static void put_be(GByteArray *a, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0;) {
		uint8_t b = (uint8_t)(v >> (8 * i));
		g_byte_array_append(a, &b, 1);
	}
}

/* The selected item's bytes; an unknown selector reads as zeros, as QEMU's does. */
static void fw_cfg_select(pc_t *pc, uint16_t sel)
{
	GByteArray *a = pc->fw_cfg_item;
	g_byte_array_set_size(a, 0);
	pc->fw_cfg_sel = sel;
	pc->fw_cfg_off = 0;
	uint64_t ram = pc->cfg.ram_below_4g + pc->cfg.ram_above_4g;
	switch (sel) {
	case FW_CFG_SIGNATURE: g_byte_array_append(a, (const guint8 *)"QEMU", 4); break;
	case FW_CFG_ID: put_le(a, FW_CFG_VERSION, 4); break;
	case FW_CFG_RAM_SIZE: put_le(a, ram, 8); break;
	case FW_CFG_NOGRAPHIC: put_le(a, 1, 2); break;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS: put_le(a, pc->cfg.ncpus, 2); break;
	case FW_CFG_FILE_DIR:
		/* struct FWCfgFiles: big-endian count, then {be32 size, be16 select, u16, name} */
		put_be(a, pc->nfiles, 4);
		for (size_t i = 0; i < pc->nfiles; i++) {
			put_be(a, g_bytes_get_size(pc->files[i].data), 4);
			put_be(a, FW_CFG_FILE_FIRST + i, 2);
			put_be(a, 0, 2);
			g_byte_array_append(a, (const guint8 *)pc->files[i].name,
					    FW_CFG_MAX_FILE_PATH);
		}
		break;
	default:
		if (sel >= FW_CFG_FILE_FIRST && sel < FW_CFG_FILE_FIRST + pc->nfiles) {
			gsize n;
			const guint8 *d = g_bytes_get_data(pc->files[sel - FW_CFG_FILE_FIRST].data, &n);
			g_byte_array_append(a, d, (guint)n);
		}
		break;
	}
}

static bool fw_cfg_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	if (offset == 0) {
		*val = 0; /* the selector register is write-only */
		return true;
	}
	/* the data port hands out the item byte by byte; a wider read takes several, LE */
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++) {
		uint8_t b = pc->fw_cfg_off < pc->fw_cfg_item->len ? pc->fw_cfg_item->data[pc->fw_cfg_off]
								   : 0;
		if (pc->fw_cfg_off < UINT32_MAX)
			pc->fw_cfg_off++;
		v |= (uint64_t)b << (8 * i);
	}
	*val = v;
	return true;
}

static bool fw_cfg_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset == 0)
		fw_cfg_select(pc, (uint16_t)val);
	/* data writes: the traditional interface is read-only since QEMU 2.4 */
	return true;
}

bool pc_fw_cfg_add_file(pc_t *pc, const char *name, const void *data, size_t len)
{
	if (!pc || !name || pc->nfiles >= FW_CFG_MAX_FILES || strlen(name) >= FW_CFG_MAX_FILE_PATH ||
	    (len && !data))
		return false;
	for (size_t i = 0; i < pc->nfiles; i++)
		if (strcmp(pc->files[i].name, name) == 0)
			return false;
	fw_cfg_file_t *f = &pc->files[pc->nfiles++];
	memset(f->name, 0, sizeof(f->name));
	memcpy(f->name, name, strlen(name));
	f->data = g_bytes_new(data, len);
	return true;
}

/* etc/e820: packed {u64 address, u64 length, u32 type} little-endian (QEMU e820_entry). */
static void fw_cfg_add_e820(pc_t *pc)
{
	GByteArray *a = g_byte_array_new();
	put_le(a, 0, 8);
	put_le(a, pc->cfg.ram_below_4g, 8);
	put_le(a, E820_RAM, 4);
	if (pc->cfg.ram_above_4g) {
		put_le(a, 0x100000000ull, 8);
		put_le(a, pc->cfg.ram_above_4g, 8);
		put_le(a, E820_RAM, 4);
	}
	(void)pc_fw_cfg_add_file(pc, "etc/e820", a->data, a->len);
	g_byte_array_unref(a);
}

/* ------------------------------------------------------------------ PCI */

#define PCI_CONFIG_ENABLE 0x80000000u
#define PIIX_RCR_RST_CPU 0x04u
#define PCI_COMMAND 0x04u
#define PCI_CLASS_REVISION 0x08u
#define PCI_HEADER_TYPE 0x0Eu
#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80u
#define PCI_INTERRUPT_LINE 0x3Cu

static int pci_fn(uint32_t addr)
{
	uint32_t bus = (addr >> 16) & 0xFF, dev = (addr >> 11) & 0x1F, fn = (addr >> 8) & 7;
	if (bus != 0)
		return -1;
	if (dev == 0 && fn == 0)
		return PCI_FN_HOST;
	if (dev == 1 && fn == 0)
		return PCI_FN_ISA;
	if (dev == 1 && fn == 3)
		return PCI_FN_PM;
	return -1;
}

static void pci_set_id(pc_t *pc, int fn, uint16_t device, uint32_t class_rev, uint8_t header)
{
	uint8_t *c = pc->pci_cfg[fn];
	c[0] = PCI_VENDOR_ID_INTEL & 0xFF;
	c[1] = PCI_VENDOR_ID_INTEL >> 8;
	c[2] = device & 0xFF;
	c[3] = device >> 8;
	for (int i = 0; i < 4; i++)
		c[PCI_CLASS_REVISION + i] = (uint8_t)(class_rev >> (8 * i));
	c[PCI_HEADER_TYPE] = header;
	/* writable: command, cache line/latency, interrupt line, and the chipset registers
	   from 0x40 up (PAM, SMRAM, PMBA, ...) that OVMF programs; IDs, class, status and
	   the (unimplemented, so zero-sized) BARs stay as they are */
	uint8_t *w = pc->pci_wmask[fn];
	w[PCI_COMMAND] = w[PCI_COMMAND + 1] = 0xFF;
	w[0x0C] = w[0x0D] = 0xFF;
	w[PCI_INTERRUPT_LINE] = 0xFF;
	memset(w + 0x40, 0xFF, 0xC0);
}

static void pci_init(pc_t *pc)
{
	pci_set_id(pc, PCI_FN_HOST, PCI_DEVICE_ID_INTEL_82441, 0x06000002, 0);
	pci_set_id(pc, PCI_FN_ISA, PCI_DEVICE_ID_INTEL_82371SB_0, 0x06010000,
		   PCI_HEADER_TYPE_MULTI_FUNCTION); /* without the ISA class: no serial console */
	pci_set_id(pc, PCI_FN_PM, PCI_DEVICE_ID_INTEL_82371AB_3, 0x06800003, 0);
	/* PMBA: bit 0 is the hard-wired I/O space indicator, bits 15:6 the base (64 bytes) */
	pc->pci_cfg[PCI_FN_PM][PIIX4_PMBA] = 0x01;
	pc->pci_wmask[PCI_FN_PM][PIIX4_PMBA] = 0xC0;
	pc->pci_wmask[PCI_FN_PM][PIIX4_PMBA + 2] = 0;
	pc->pci_wmask[PCI_FN_PM][PIIX4_PMBA + 3] = 0;
}

static bool pci_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	if (offset == 0 && size == 4) {
		*val = pc->pci_addr;
		return true;
	}
	if (offset < 4)
		return false; /* 0xCF9 reads and odd CONFIG_ADDRESS widths: nothing behind them */
	int fn = pci_fn(pc->pci_addr);
	uint32_t reg = (pc->pci_addr & 0xFC) + (uint32_t)(offset - 4);
	if (!(pc->pci_addr & PCI_CONFIG_ENABLE) || fn < 0 || reg + size > 256)
		return false; /* no such function: all ones, how firmware sees an empty slot */
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint64_t)pc->pci_cfg[fn][reg + i] << (8 * i);
	*val = v;
	return true;
}

static bool pci_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	if (offset == 0 && size == 4) {
		pc->pci_addr = (uint32_t)val;
		return true;
	}
	if (offset == PC_PORT_PCI_RESET_CONTROL - PC_PORT_PCI_CONFIG_ADDRESS && size == 1) {
		/* RST_CPU starts the reset; SYS_RST only chooses hard over soft, both reboot */
		if (val & PIIX_RCR_RST_CPU)
			pc->reset = PC_RESET_SYSTEM;
		return true;
	}
	if (offset < 4)
		return false;
	int fn = pci_fn(pc->pci_addr);
	uint32_t reg = (pc->pci_addr & 0xFC) + (uint32_t)(offset - 4);
	if (!(pc->pci_addr & PCI_CONFIG_ENABLE) || fn < 0 || reg + size > 256)
		return false;
	for (uint32_t i = 0; i < size; i++) {
		uint8_t m = pc->pci_wmask[fn][reg + i];
		uint8_t *b = &pc->pci_cfg[fn][reg + i];
		*b = (uint8_t)((*b & ~m) | ((uint8_t)(val >> (8 * i)) & m));
	}
	return true;
}

/* ------------------------------------------------------------------ PIIX4 PM and PM timer */

enum { PM_STS = 0x00, PM_EN = 0x02, PM_CNTRL = 0x04, PM_TMR = ACPI_PM_TMR_OFFSET };
#define PM_CNTRL_SLP_EN (1u << 13)
#define PM_CNTRL_SLP_TYP_SHIFT 10
#define PM_CNTRL_SLP_TYP_MASK 7u
#define PIIX4_SLP_TYP_S5 0u  /* QEMU's PIIX4 _S5 package */
#define PM_TMR_MASK 0xFFFFFFu /* 24-bit timer (FADT TMR_VAL_EXT = 0) */

/* The PM window is decoded only where the guest put it and only once it enabled it. */
static bool pm_decoded(const pc_t *pc)
{
	const uint8_t *c = pc->pci_cfg[PCI_FN_PM];
	uint16_t base = (uint16_t)((c[PIIX4_PMBA] | c[PIIX4_PMBA + 1] << 8) & 0xFFC0);
	return base == PIIX4_PMBA_VALUE && (c[PIIX4_PMREGMISC] & 1);
}

static bool pm_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)size;
	if (!pm_decoded(pc))
		return false;
	switch (offset) {
	case PM_STS: *val = pc->pm_sts; break;
	case PM_EN: *val = pc->pm_en; break;
	case PM_CNTRL: *val = pc->pm_cntrl; break;
	case PM_TMR: *val = ticks(clock_ns(pc), ACPI_PM_TIMER_HZ) & PM_TMR_MASK; break;
	default: *val = 0; break; /* GPE and the rest: no events are ever raised */
	}
	return true;
}

static bool pm_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	if (!pm_decoded(pc))
		return false;
	switch (offset) {
	case PM_STS: pc->pm_sts &= (uint16_t)~val; break; /* write one to clear */
	case PM_EN: pc->pm_en = (uint16_t)val; break;
	case PM_CNTRL:
		if ((val & PM_CNTRL_SLP_EN) &&
		    ((val >> PM_CNTRL_SLP_TYP_SHIFT) & PM_CNTRL_SLP_TYP_MASK) == PIIX4_SLP_TYP_S5)
			pc->reset = PC_RESET_POWEROFF;
		pc->pm_cntrl = (uint16_t)(val & ~PM_CNTRL_SLP_EN);
		break;
	default: break;
	}
	return true;
}

/* ------------------------------------------------------------------ local APIC */

enum {
	LAPIC_ID = 0x020, LAPIC_VERSION = 0x030, LAPIC_TPR = 0x080, LAPIC_PPR = 0x0A0,
	LAPIC_EOI = 0x0B0, LAPIC_SVR = 0x0F0, LAPIC_ISR = 0x100, LAPIC_ICR_LO = 0x300,
	LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_ERROR = 0x370, /* timer, thermal, PMC, LINT0/1, error */
	LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390, LAPIC_TIMER_DIV = 0x3E0,
};
#define LAPIC_VERSION_VALUE 0x00050014u /* version 0x14, 6 LVT entries (QEMU) */
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)
#define LAPIC_ICR_DELIVERY_PENDING (1u << 12)
/* QEMU's APIC bus runs at 1 GHz; OVMF's PcdFSBClock says the same */
#define LAPIC_BUS_NS 1u

static uint64_t lapic_period_ns(const pc_t *pc)
{
	uint32_t d = pc->lapic[LAPIC_TIMER_DIV >> 4];
	uint32_t v = (d & 3) | ((d & 8) >> 1); /* divide configuration bits 3,1:0 */
	uint32_t shift = (v + 1) & 7;          /* 0b111: divide by 1 */
	return (uint64_t)pc->lapic[LAPIC_TIMER_INIT >> 4] * LAPIC_BUS_NS << shift;
}

static uint32_t lapic_current_count(const pc_t *pc)
{
	uint64_t period = lapic_period_ns(pc);
	uint32_t init = pc->lapic[LAPIC_TIMER_INIT >> 4];
	if (period == 0)
		return 0;
	uint64_t elapsed = clock_ns(pc) - pc->lapic_timer_start;
	bool periodic = pc->lapic[LAPIC_LVT_TIMER >> 4] & LAPIC_LVT_PERIODIC;
	if (!periodic && elapsed >= period)
		return 0;
	elapsed %= period;
	return (uint32_t)(init - elapsed * init / period);
}

static bool lapic_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset >= 0x400 || (offset & 0xF))
		return false;
	switch (offset) {
	case LAPIC_TIMER_CUR: *val = lapic_current_count(pc); break;
	case LAPIC_PPR: *val = pc->lapic[LAPIC_TPR >> 4]; break; /* nothing in service */
	default: *val = pc->lapic[offset >> 4]; break;
	}
	return true;
}

static bool lapic_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset >= 0x400 || (offset & 0xF))
		return false;
	uint32_t v = (uint32_t)val;
	switch (offset) {
	case LAPIC_ID:
	case LAPIC_VERSION:
	case LAPIC_PPR:
	case LAPIC_TIMER_CUR: break; /* read-only */
	case LAPIC_EOI: break;       /* the machine tracks in-service vectors */
	case LAPIC_ICR_LO:
		/* IPIs are the machine's business (one vCPU here); delivery is immediate */
		pc->lapic[offset >> 4] = v & ~LAPIC_ICR_DELIVERY_PENDING;
		break;
	case LAPIC_TIMER_INIT:
		pc->lapic[offset >> 4] = v;
		pc->lapic_timer_start = clock_ns(pc);
		pc->lapic_deadline = v ? pc->lapic_timer_start + lapic_period_ns(pc) : 0;
		break;
	default:
		if (offset >= LAPIC_ISR && offset < LAPIC_ICR_LO)
			break; /* ISR, TMR, IRR, ESR: read-only views */
		pc->lapic[offset >> 4] = v;
		break;
	}
	return true;
}

bool pc_lapic_timer_due(pc_t *pc, uint64_t now_ns, uint8_t *vector)
{
	uint32_t lvt = pc->lapic[LAPIC_LVT_TIMER >> 4];
	if (!pc->lapic_deadline || now_ns < pc->lapic_deadline)
		return false;
	uint64_t period = lapic_period_ns(pc);
	if ((lvt & LAPIC_LVT_PERIODIC) && period)
		pc->lapic_deadline += ((now_ns - pc->lapic_deadline) / period + 1) * period;
	else
		pc->lapic_deadline = 0;
	if (lvt & LAPIC_LVT_MASKED)
		return false;
	*vector = (uint8_t)lvt;
	return true;
}

uint64_t pc_lapic_timer_deadline(const pc_t *pc)
{
	return pc->lapic_deadline;
}

static void lapic_init(pc_t *pc)
{
	pc->lapic[LAPIC_ID >> 4] = 0; /* the BSP's APIC ID */
	pc->lapic[LAPIC_VERSION >> 4] = LAPIC_VERSION_VALUE;
	pc->lapic[LAPIC_SVR >> 4] = 0xFF;
	for (uint32_t o = LAPIC_LVT_TIMER; o <= LAPIC_LVT_ERROR; o += 0x10)
		pc->lapic[o >> 4] = LAPIC_LVT_MASKED;
}

/* ------------------------------------------------------------------ IOAPIC */

enum { IOAPIC_REGSEL = 0x00, IOAPIC_WINDOW = 0x10 };
enum { IOAPIC_REG_ID = 0, IOAPIC_REG_VER = 1, IOAPIC_REG_ARB = 2, IOAPIC_REG_REDTBL = 0x10 };
#define IOAPIC_VERSION_VALUE 0x00170011u /* version 0x11, 24 redirection entries */

static bool ioapic_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset == IOAPIC_REGSEL) {
		*val = pc->ioapic_sel;
	} else if (offset == IOAPIC_WINDOW) {
		uint32_t r = pc->ioapic_sel;
		if (r == IOAPIC_REG_ID)
			*val = pc->ioapic_id;
		else if (r == IOAPIC_REG_VER)
			*val = IOAPIC_VERSION_VALUE;
		else if (r >= IOAPIC_REG_REDTBL && r < IOAPIC_REG_REDTBL + 48)
			*val = pc->ioapic_redir[r - IOAPIC_REG_REDTBL];
		else
			*val = 0;
	} else {
		*val = 0;
	}
	return true;
}

static bool ioapic_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	(void)size;
	if (offset == IOAPIC_REGSEL) {
		pc->ioapic_sel = (uint32_t)val & 0xFF;
	} else if (offset == IOAPIC_WINDOW) {
		uint32_t r = pc->ioapic_sel;
		if (r == IOAPIC_REG_ID)
			pc->ioapic_id = (uint32_t)val & 0x0F000000u;
		else if (r >= IOAPIC_REG_REDTBL && r < IOAPIC_REG_REDTBL + 48)
			pc->ioapic_redir[r - IOAPIC_REG_REDTBL] = (uint32_t)val;
	}
	return true;
}

/* ------------------------------------------------------------------ HPET */

enum { HPET_CAP = 0x000, HPET_CONF = 0x010, HPET_ISR = 0x020, HPET_COUNTER = 0x0F0,
       HPET_TIMER0 = 0x100, HPET_TIMER_STRIDE = 0x20 };
/* vendor 8086, legacy replacement capable, 64-bit counter, 3 timers, revision 1 */
#define HPET_CAP_LO 0x8086A201u
#define HPET_PERIOD_FS 100000000u /* 10 MHz, QEMU's HPET */
#define HPET_HZ 10000000u
#define HPET_CONF_ENABLE 1u

static uint64_t hpet_reg(const pc_t *pc, uint64_t off)
{
	uint64_t q = off & ~7ull;
	if (q == HPET_CAP)
		return (uint64_t)HPET_PERIOD_FS << 32 | HPET_CAP_LO;
	if (q == HPET_CONF)
		return pc->hpet_conf;
	if (q == HPET_ISR)
		return pc->hpet_isr;
	if (q == HPET_COUNTER)
		return (pc->hpet_conf & HPET_CONF_ENABLE) ? ticks(clock_ns(pc), HPET_HZ) : 0;
	if (q >= HPET_TIMER0 && q < HPET_TIMER0 + 3 * HPET_TIMER_STRIDE) {
		uint64_t t = (q - HPET_TIMER0) / HPET_TIMER_STRIDE, r = (q - HPET_TIMER0) % 0x20;
		return r < 0x10 ? pc->hpet_timer[t][r / 8] : 0;
	}
	return 0;
}

static bool hpet_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	pc_t *pc = opaque;
	uint64_t q = hpet_reg(pc, offset);
	*val = size == 8 ? q : q >> (8 * (offset & 7));
	return true;
}

static bool hpet_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	pc_t *pc = opaque;
	uint64_t q = offset & ~7ull;
	unsigned shift = (unsigned)(offset & 7) * 8;
	uint64_t mask = (size == 8 ? ~0ull : ((1ull << (8 * size)) - 1)) << shift;
	uint64_t *r = NULL;
	if (q == HPET_CONF)
		r = &pc->hpet_conf;
	else if (q >= HPET_TIMER0 && q < HPET_TIMER0 + 3 * HPET_TIMER_STRIDE &&
		 (q - HPET_TIMER0) % HPET_TIMER_STRIDE < 0x10)
		r = &pc->hpet_timer[(q - HPET_TIMER0) / HPET_TIMER_STRIDE]
				   [((q - HPET_TIMER0) % HPET_TIMER_STRIDE) / 8];
	else if (q == HPET_ISR)
		pc->hpet_isr &= ~((val << shift) & mask); /* write one to clear */
	if (r)
		*r = (*r & ~mask) | ((val << shift) & mask);
	return true; /* the counter does not count under writes: not modeled (XXX) */
}

/* ------------------------------------------------------------------ life cycle */

static void add_dev(pc_t *pc, const char *name, hv_dev_kind_t kind, uint64_t base, uint64_t size,
		    bool (*rd)(void *, uint64_t, uint32_t, uint64_t *),
		    bool (*wr)(void *, uint64_t, uint32_t, uint64_t))
{
	g_assert(pc->ndevs < G_N_ELEMENTS(pc->devs));
	pc->devs[pc->ndevs++] = (hv_device_t){.name = name,
					      .kind = kind,
					      .base = base,
					      .size = size,
					      .read = rd,
					      .write = wr,
					      .opaque = pc};
}

pc_t *pc_new(const pc_config_t *cfg, GError **err)
{
	if (!cfg || cfg->ncpus == 0 || cfg->ncpus > 255 || cfg->ram_below_4g > 0x100000000ull) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT,
			    "PC devices: need 1..255 CPUs and at most 4 GiB of low RAM");
		return NULL;
	}
	pc_t *pc = g_new0(pc_t, 1);
	pc->cfg = *cfg;
	pc->fw_cfg_item = g_byte_array_new();
	cmos_init(pc);
	pci_init(pc);
	lapic_init(pc);
	for (size_t i = 0; i < 24; i++)
		pc->ioapic_redir[2 * i] = LAPIC_LVT_MASKED; /* every pin masked at reset */
	fw_cfg_add_e820(pc);
	fw_cfg_select(pc, FW_CFG_SIGNATURE);
	add_dev(pc, "post", HV_DEV_PIO, PC_PORT_POST, 1, post_read, post_write);
	add_dev(pc, "sysctl_a", HV_DEV_PIO, PC_PORT_SYSCTL_A, 1, sysctl_read, sysctl_write);
	add_dev(pc, "cmos", HV_DEV_PIO, PC_PORT_CMOS_INDEX, 2, cmos_read, cmos_write);
	add_dev(pc, "serial0", HV_DEV_PIO, PC_PORT_COM1, 8, uart_read, uart_write);
	add_dev(pc, "fw_cfg", HV_DEV_PIO, PC_PORT_FW_CFG_CTL, 2, fw_cfg_read, fw_cfg_write);
	add_dev(pc, "pci", HV_DEV_PIO, PC_PORT_PCI_CONFIG_ADDRESS, 8, pci_read, pci_write);
	add_dev(pc, "piix4_pm", HV_DEV_PIO, PIIX4_PMBA_VALUE, PIIX4_PM_IO_SIZE, pm_read, pm_write);
	add_dev(pc, "ioapic", HV_DEV_MMIO, PC_IOAPIC_BASE, 0x1000, ioapic_read, ioapic_write);
	add_dev(pc, "hpet", HV_DEV_MMIO, PC_HPET_BASE, 0x1000, hpet_read, hpet_write);
	add_dev(pc, "lapic", HV_DEV_MMIO, PC_LAPIC_BASE, 0x1000, lapic_read, lapic_write);
	return pc;
}

void pc_free(pc_t *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->nfiles; i++)
		g_bytes_unref(pc->files[i].data);
	g_byte_array_unref(pc->fw_cfg_item);
	g_free(pc);
}

bool pc_attach(pc_t *pc, hv_t *hv, GError **err)
{
	for (size_t i = 0; i < pc->ndevs; i++) {
		if (!hv_add_device(hv, &pc->devs[i])) {
			g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INTERNAL,
				    "hv_add_device(%s at 0x%" G_GINT64_MODIFIER "x) refused: "
				    "overlaps another device",
				    pc->devs[i].name, pc->devs[i].base);
			return false;
		}
	}
	return true;
}

const hv_device_t *pc_devices(const pc_t *pc, size_t *n)
{
	*n = pc->ndevs;
	return pc->devs;
}

pc_reset_kind_t pc_reset_requested(const pc_t *pc)
{
	return pc->reset;
}

uint8_t pc_post_code(const pc_t *pc)
{
	return pc->post;
}

uint64_t pc_serial_bytes(const pc_t *pc)
{
	return pc->serial_bytes;
}
