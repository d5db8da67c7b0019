/* SPDX-License-Identifier: MIT */
#include "hv.h"
