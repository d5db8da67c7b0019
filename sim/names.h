/* SPDX-License-Identifier: MIT */
/*
 * Names of the small enumerations that scenarios and traces spell out: PSC
 * operations, launch page types, guest notes, memory types, program steps.
 * Each *_from_string is the exact inverse of its *_to_string.
 */
#ifndef SNPSIM_SIM_NAMES_H
#define SNPSIM_SIM_NAMES_H

#include <stdbool.h>
#include <stdint.h>

const char *sim_psc_op_to_string(uint32_t op); /* "private", "shared", "psmash", "unsmash" */
bool sim_psc_op_from_string(const char *s, uint32_t *out);
const char *sim_launch_type_to_string(uint32_t type); /* "normal", "zero", "cpuid", ... */
bool sim_launch_type_from_string(const char *s, uint32_t *out);
const char *sim_note_to_string(uint32_t kind); /* gfw_note_kind_t: "psc_done", ... */
bool sim_note_from_string(const char *s, uint32_t *out);
const char *sim_mem_type_to_string(uint32_t type); /* gfw_mem_type_t: "ram", "mmio", ... */
bool sim_mem_type_from_string(const char *s, uint32_t *out);
const char *sim_step_to_string(uint32_t kind); /* gfw_step_kind_t: "boot", "accept", ... */
bool sim_step_from_string(const char *s, uint32_t *out);

#endif /* SNPSIM_SIM_NAMES_H */
