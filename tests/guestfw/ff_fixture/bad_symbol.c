/* SPDX-License-Identifier: MIT */
/*
 * A fixture for check_freestanding.sh (not part of guestfw): code that calls a
 * libc function, which the symbol check must reject. It also calls the port,
 * as guestfw does, so that only memcpy is the offender.
 */
#include <stddef.h>

typedef struct gfw_port gfw_port_t;
void gfw_port_vmgexit(gfw_port_t *p);
void *memcpy(void *dst, const void *src, size_t n);
void ff_fixture_copy(gfw_port_t *p, void *dst, const void *src, size_t n);

void ff_fixture_copy(gfw_port_t *p, void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	gfw_port_vmgexit(p);
}
