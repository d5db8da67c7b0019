/* SPDX-License-Identifier: MIT */
/* The simulator's GError domain. Bad input is SNPSIM_ERROR_INPUT (CLI exit 2). */
#ifndef SNPSIM_SIM_ERR_H
#define SNPSIM_SIM_ERR_H

#include <glib.h>

#define SNPSIM_ERROR (snpsim_error_quark())
GQuark snpsim_error_quark(void);

typedef enum snpsim_error_code {
	SNPSIM_ERROR_INPUT = 1, /* malformed file, bad option value, unknown name */
	SNPSIM_ERROR_IO,        /* cannot read or write a file */
	SNPSIM_ERROR_INTERNAL,  /* the model refused something it should not have */
} snpsim_error_code_t;

#endif /* SNPSIM_SIM_ERR_H */
