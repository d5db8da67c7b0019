/* SPDX-License-Identifier: MIT */
#include "guestfw.h"
