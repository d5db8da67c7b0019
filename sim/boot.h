/* SPDX-License-Identifier: MIT */
/*
 * snpsim boot: an unmodified OVMF image as an SEV-SNP guest under the emulator
 * engine (issue 9). The command lives in boot.c; cli.c only dispatches to it.
 */
#ifndef SNPSIM_SIM_BOOT_H
#define SNPSIM_SIM_BOOT_H

/* `snpsim boot FIRMWARE [options]`; argv[0] is "snpsim boot". Exit 0, 1 or 2 as in cli.c. */
int cmd_boot(int argc, char **argv);

#endif /* SNPSIM_SIM_BOOT_H */
