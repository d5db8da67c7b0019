/* SPDX-License-Identifier: MIT */
/* A fixture for check_freestanding.sh (never compiled): a libc include it must reject. */
#include <stdint.h>
#include <stdio.h>
