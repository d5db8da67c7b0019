/* SPDX-License-Identifier: MIT */
#include "simerr.h"

GQuark snpsim_error_quark(void)
{
	return g_quark_from_static_string("snpsim-error-quark");
}
