/* SPDX-License-Identifier: MIT */
/* Run summaries: the human one and the same as JSON. */
#ifndef SNPSIM_SIM_REPORT_H
#define SNPSIM_SIM_REPORT_H

#include <stdio.h>

#include "machine.h"

/* Human-readable summary of a finished run. */
void report_human(FILE *out, const machine_t *m, double seconds);
/* The same as one JSON object (g_free); deterministic apart from "seconds". */
char *report_json(const machine_t *m, double seconds, bool met, const char *why);
/* "GFW_TERM_PSC (1/1): Page State Change failed ..." style decoding (g_free). */
char *report_outcome(const machine_result_t *r);

#endif /* SNPSIM_SIM_REPORT_H */
