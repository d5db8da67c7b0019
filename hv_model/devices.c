/* SPDX-License-Identifier: MIT */
/*
 * The device table behind the IOIO and MMIO NAE events (and the emulator's
 * port/MMIO exits). A handful of devices at most, so a linear search: the
 * order of the table is the order they were added. An access no device claims
 * reads all ones and its writes are dropped, as on a PC bus with nothing behind it.
 */
#include "hv-private.h"

#define HV_PIO_LIMIT 0x10000u

/* the debug port: QEMU's isa-debugcon, iobase 0x402 as OVMF's debug builds use it */
static bool debug_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	(void)opaque, (void)offset, (void)size;
	*val = HV_DEBUG_READBACK;
	return true;
}

static bool debug_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	hv_t *hv = opaque;
	(void)offset;
	/* debugcon takes one byte per access whatever the width; wider OUTs send the low byte */
	(void)size;
	uint8_t b = (uint8_t)val;
	g_byte_array_append(hv->debug, &b, 1);
	return true;
}

static bool dev_overlaps(const hv_device_t *a, const hv_device_t *b)
{
	return a->kind == b->kind && a->base < b->base + b->size && b->base < a->base + a->size;
}

bool hv_add_device(hv_t *hv, const hv_device_t *dev)
{
	if (!hv || !dev || !dev->name || dev->size == 0 || dev->base + dev->size < dev->base)
		return false;
	if (dev->kind != HV_DEV_PIO && dev->kind != HV_DEV_MMIO)
		return false;
	if (dev->kind == HV_DEV_PIO && dev->base + dev->size > HV_PIO_LIMIT)
		return false;
	for (guint i = 0; i < hv->devices->len; i++)
		if (dev_overlaps(dev, &g_array_index(hv->devices, hv_device_t, i)))
			return false;
	hv_device_t d = *dev;
	d.name = g_strdup(dev->name);
	g_array_append_val(hv->devices, d);
	return true;
}

bool hv_devices_init(hv_t *hv)
{
	hv_device_t dbg = {.name = "debugcon",
			   .kind = HV_DEV_PIO,
			   .base = HV_DEBUG_PORT,
			   .size = 1,
			   .read = debug_read,
			   .write = debug_write,
			   .opaque = hv};
	return hv_add_device(hv, &dbg);
}

void hv_devices_free(hv_t *hv)
{
	if (!hv->devices)
		return;
	for (guint i = 0; i < hv->devices->len; i++)
		g_free((char *)g_array_index(hv->devices, hv_device_t, i).name);
	g_array_unref(hv->devices);
	hv->devices = NULL;
}

/* The device whose window holds the whole access [addr, addr + size), or NULL. */
static const hv_device_t *dev_find(const hv_t *hv, hv_dev_kind_t kind, uint64_t addr,
				   uint32_t size)
{
	for (guint i = 0; i < hv->devices->len; i++) {
		const hv_device_t *d = &g_array_index(hv->devices, hv_device_t, i);
		if (d->kind == kind && addr >= d->base && addr - d->base < d->size &&
		    size <= d->size - (addr - d->base))
			return d;
	}
	return NULL;
}

uint64_t hv_dev_read(hv_t *hv, hv_dev_kind_t kind, uint64_t addr, uint32_t size)
{
	uint64_t mask = hv_size_mask(size);
	const hv_device_t *d = dev_find(hv, kind, addr, size);
	uint64_t val = 0;
	if (!d || !d->read || !d->read(d->opaque, addr - d->base, size, &val))
		return mask;
	return val & mask;
}

void hv_dev_write(hv_t *hv, hv_dev_kind_t kind, uint64_t addr, uint32_t size, uint64_t val)
{
	const hv_device_t *d = dev_find(hv, kind, addr, size);
	if (d && d->write)
		(void)d->write(d->opaque, addr - d->base, size, val & hv_size_mask(size));
}

const uint8_t *hv_debug_output(const hv_t *hv, size_t *len)
{
	*len = hv->debug->len;
	return hv->debug->data;
}
