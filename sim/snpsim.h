/* SPDX-License-Identifier: MIT */
/*
 * libsnpsim: run your own SNP guest code under snpsim.
 *
 * Write guest code against the arch port (gfw_port.h: PVALIDATE, RMPADJUST,
 * VMGEXIT, the GHCB MSR, guest-physical memory) and hand its entry point to
 * snpsim_run(). It then runs in place of snpsim's own guest firmware, against the
 * same modeled RMP and mock hypervisor, with the scenario's launch, fault plan,
 * invariant checker and trace. The SNP constants (GHCB MSR protocol, GHCB layout,
 * PSC, return codes) come with it.
 *
 *   pkg-config --cflags --libs snpsim
 */
#ifndef SNPSIM_H
#define SNPSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "gfw_port.h"
#include "snp/arch.h"
#include "snp/ghcb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snpsim snpsim_t;

typedef struct snpsim_options {
	const char *trace_path; /* write the event trace here (NULL: none) */
	bool stop_on_violation;
	bool no_coalesce;
} snpsim_options_t;

/*
 * A machine for scenario_path (a scenario file; NULL: the built-in default).
 * The scenario's program is not used: your guest replaces it. NULL on error,
 * with a message in *error (free it with snpsim_free_string).
 */
snpsim_t *snpsim_new(const char *scenario_path, const snpsim_options_t *opts, char **error);

/* Runs guest(port, arg) on the boot vCPU; returning from it completes the run. */
void snpsim_run(snpsim_t *s, void (*guest)(gfw_port_t *port, void *arg), void *arg);

/* "completed", "terminated", "stopped", "stopped_on_violation" */
const char *snpsim_outcome(const snpsim_t *s);
/* Invariant violations the checker reported. */
uint64_t snpsim_violations(const snpsim_t *s);
/* The run summary as JSON (free with snpsim_free_string). */
char *snpsim_summary_json(const snpsim_t *s);
/* Did the trace get written? NULL if so, else the reason (owned by s). */
const char *snpsim_trace_error(const snpsim_t *s);

void snpsim_free(snpsim_t *s);
void snpsim_free_string(char *str);

#ifdef __cplusplus
}
#endif

#endif /* SNPSIM_H */
