/* SPDX-License-Identifier: MIT */
/*
 * The PC devices an OVMF boot needs, as hv_model devices (hv_add_device): the
 * guest reaches them the SNP way, port I/O through #VC 0x7B and the GHCB IOIO
 * event, MMIO through #VC 0x400 and the GHCB MMIO events.
 *
 *   0x0080       POST code port (the last value is kept)
 *   0x0092       System Control Port A (A20, fast reset)
 *   0x0070-71    CMOS/RTC (MC146818): memory sizes as QEMU's pc machine sets them,
 *                a deterministic clock
 *   0x03F8-3FF   16550A UART (COM1); transmitted bytes go to a sink callback
 *   0x0510-511   QEMU fw_cfg, traditional interface (signature, id, RAM size, CPU
 *                counts, the file directory, etc/e820); no DMA (id bit 1 clear)
 *   0x0CF8-CFF   PCI configuration mechanism #1 and the reset control register 0xCF9:
 *                i440FX host bridge 00:00.0, PIIX3 ISA bridge 00:01.0, PIIX4 PM 00:01.3
 *                (the chipset OVMF's PlatformPei recognises as "i440fx")
 *   0xB000-B03F  PIIX4 power management I/O (PMBA as OVMF programs it), with the
 *                ACPI PM timer at +8
 *   0xFEC00000   IOAPIC (registers only), 0xFED00000 HPET (counter from the clock),
 *   0xFEE00000   local APIC (registers and the timer count; the machine delivers the
 *                interrupt, pc_lapic_timer_due says when)
 *
 * Time is virtual: every clock reading comes from the machine's callback (the
 * engine's instruction count, say), so a boot is deterministic and PM-timer
 * delay loops end. The devices do no I/O of their own.
 */
#ifndef SNPSIM_PCDEV_H
#define SNPSIM_PCDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"

/* ---- port and MMIO addresses (PC/QEMU conventions) */
#define PC_PORT_POST 0x80u
#define PC_PORT_SYSCTL_A 0x92u
#define PC_PORT_CMOS_INDEX 0x70u
#define PC_PORT_CMOS_DATA 0x71u
#define PC_PORT_COM1 0x3F8u
#define PC_PORT_FW_CFG_CTL 0x510u  /* selector, 16-bit */
#define PC_PORT_FW_CFG_DATA 0x511u /* data, 8-bit */
#define PC_PORT_PCI_CONFIG_ADDRESS 0xCF8u
#define PC_PORT_PCI_RESET_CONTROL 0xCF9u
#define PC_PORT_PCI_CONFIG_DATA 0xCFCu
/* OVMF's PcdAcpiPmBaseAddress for i440fx: it writes this to PIIX4 PMBA (config 0x40) */
#define PIIX4_PMBA_VALUE 0xB000u
#define PIIX4_PM_IO_SIZE 0x40u
#define ACPI_PM_TMR_OFFSET 0x08u
#define ACPI_PM_TIMER_HZ 3579545u
#define PC_IOAPIC_BASE 0xFEC00000ull
#define PC_HPET_BASE 0xFED00000ull
#define PC_LAPIC_BASE 0xFEE00000ull

/* ---- CMOS registers (QEMU hw/i386/pc.c pc_cmos_init) */
#define CMOS_RTC_SECONDS 0x00u
#define CMOS_RTC_REG_A 0x0Au
#define CMOS_RTC_REG_B 0x0Bu
#define CMOS_RTC_REG_C 0x0Cu
#define CMOS_RTC_REG_D 0x0Du
#define CMOS_BASE_MEM_LO 0x15u     /* KiB below 1 MiB (640) */
#define CMOS_EXT_MEM_LO 0x17u      /* KiB from 1 MiB, capped at 65535 (also 0x30/0x31) */
#define CMOS_EXT_MEM2_LO 0x30u
#define CMOS_CENTURY 0x32u
#define CMOS_MEM_ABOVE_16M_LO 0x34u /* 64 KiB units from 16 MiB to the end of low RAM */
#define CMOS_MEM_ABOVE_16M_HI 0x35u
#define CMOS_MEM_ABOVE_4G_LO 0x5Bu  /* 64 KiB units above 4 GiB, 3 bytes */
#define CMOS_MEM_ABOVE_4G_MID 0x5Cu
#define CMOS_MEM_ABOVE_4G_HI 0x5Du
#define CMOS_SMP_CPUS 0x5Fu         /* CPUs - 1 */

/* ---- fw_cfg (QEMU docs/specs/fw_cfg.rst, include/standard-headers/linux/qemu_fw_cfg.h) */
#define FW_CFG_SIGNATURE 0x00u
#define FW_CFG_ID 0x01u
#define FW_CFG_RAM_SIZE 0x03u
#define FW_CFG_NOGRAPHIC 0x04u
#define FW_CFG_NB_CPUS 0x05u
#define FW_CFG_MAX_CPUS 0x0Fu
#define FW_CFG_FILE_DIR 0x19u
#define FW_CFG_FILE_FIRST 0x20u
#define FW_CFG_VERSION 0x01u   /* id bit 0: the traditional interface */
#define FW_CFG_MAX_FILE_PATH 56u
#define FW_CFG_MAX_FILES 32u
#define E820_RAM 1u
#define E820_RESERVED 2u

/* ---- PCI identities */
#define PCI_VENDOR_ID_INTEL 0x8086u
#define PCI_DEVICE_ID_INTEL_82441 0x1237u     /* i440FX host bridge */
#define PCI_DEVICE_ID_INTEL_82371SB_0 0x7000u /* PIIX3 ISA bridge */
#define PCI_DEVICE_ID_INTEL_82371AB_3 0x7113u /* PIIX4 power management */
#define PIIX4_PMBA 0x40u                      /* config offset of the PM I/O base */
#define PIIX4_PMREGMISC 0x80u                 /* bit 0: PM I/O space enable */

typedef struct pc pc_t;

typedef struct pc_config {
	uint64_t ram_below_4g;  /* RAM [0, ram_below_4g) */
	uint64_t ram_above_4g;  /* RAM [4 GiB, +ram_above_4g) */
	uint32_t ncpus;         /* ≥ 1 */
	/* virtual time in ns since reset; NULL: time stands still */
	uint64_t (*clock_ns)(void *ctx);
	void *clock_ctx;
	/* each byte the UART transmits; NULL: dropped */
	void (*serial_out)(void *ctx, uint8_t byte);
	void *serial_ctx;
	int64_t rtc_epoch;      /* the RTC reads this (seconds since 1970, UTC) at time 0 */
} pc_config_t;

/* Fills c with a 1-CPU machine, no RAM, epoch 2025-01-01T00:00:00Z. */
void pc_config_defaults(pc_config_t *c);

pc_t *pc_new(const pc_config_t *cfg, GError **err);
void pc_free(pc_t *pc);

/* Adds a fw_cfg file (copied) before attach; false if full, duplicate or too long a name. */
bool pc_fw_cfg_add_file(pc_t *pc, const char *name, const void *data, size_t len);

/* Adds every device to hv's device table (the devices refer to pc: keep it alive). */
bool pc_attach(pc_t *pc, hv_t *hv, GError **err);

/* The device table pc_attach adds, for tests that drive the callbacks directly. */
const hv_device_t *pc_devices(const pc_t *pc, size_t *n);

/* ---- state the machine reads */
typedef enum pc_reset_kind {
	PC_RESET_NONE = 0,
	PC_RESET_SYSTEM,   /* 0xCF9 or port 0x92 bit 0: reboot */
	PC_RESET_POWEROFF, /* PIIX4 PMCNTRL SLP_EN with sleep type S5 */
} pc_reset_kind_t;

pc_reset_kind_t pc_reset_requested(const pc_t *pc);
uint8_t pc_post_code(const pc_t *pc);
uint64_t pc_serial_bytes(const pc_t *pc);
/* True (and the vector) when the local APIC timer has expired unmasked at now_ns; the
   machine injects the interrupt and calls again for the next period. */
bool pc_lapic_timer_due(pc_t *pc, uint64_t now_ns, uint8_t *vector);
/* When the local APIC timer expires next (ns), 0 when it is not armed: a halted machine
   can skip its virtual clock ahead to it. */
uint64_t pc_lapic_timer_deadline(const pc_t *pc);

#endif /* SNPSIM_PCDEV_H */
