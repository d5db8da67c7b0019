/* SPDX-License-Identifier: MIT */
/*
 * The guest program: a list of steps run in order on one vCPU. Each step is
 * announced with a GFW_NOTE_STEP note (its index) so the machine's event
 * stream can be read step by step.
 */
#include "gfw-private.h"

static const char message[] = "snpsim guestfw: hello from an SEV-SNP guest\n";

/* Writes `count` bytes of the built-in message (0: all of it) to the debug port. */
static void print(gfw_cpu_t *c, uint32_t count)
{
	uint32_t len = sizeof(message) - 1;
	if (count == 0 || count > len)
		count = len;
	if (!c->ghcb_ready)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST); /* port I/O needs the GHCB */
	for (uint32_t i = 0; i < count; i++)
		gfw_ioio_out8(c, GFW_DEBUG_PORT, (uint8_t)message[i]);
}

/*
 * One access of up to 8 bytes: arg bit 0 write, bit 1 shared. A write stores
 * the GPA itself, so a later read of the same place can be checked by a test.
 */
static void touch(gfw_cpu_t *c, uint64_t gpa, uint64_t size, uint32_t arg)
{
	uint32_t len = (uint32_t)(size == 0 || size > 8 ? 8 : size);
	bool private = !(arg & 2u);
	if (gpa >= GFW_MAX_GPA || len > GFW_MAX_GPA - gpa)
		gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	uint64_t v = gpa;
	if (arg & 1u)
		gfw_write(c, gpa, &v, len, private);
	else
		gfw_read(c, gpa, &v, len, private);
}

static void run_step(gfw_cpu_t *c, const gfw_step_t *s)
{
	uint32_t regs[4];
	switch (s->kind) {
	case GFW_STEP_BOOT: gfw_boot(c); break;
	case GFW_STEP_ACCEPT: gfw_accept(c, s->gpa, s->size); break;
	case GFW_STEP_SHARED: gfw_set_shared(c, s->gpa, s->size); break;
	case GFW_STEP_PRIVATE: gfw_set_private(c, s->gpa, s->size); break;
	case GFW_STEP_TOUCH: touch(c, s->gpa, s->size, s->arg); break;
	case GFW_STEP_CREATE_AP: gfw_create_ap(c, s->arg); break;
	case GFW_STEP_DESTROY_AP: gfw_destroy_ap(c, s->arg); break;
	case GFW_STEP_CPUID: (void)gfw_cpuid(c, s->arg, 0, regs); break;
	case GFW_STEP_PRINT: print(c, s->arg); break;
	default: gfw_terminate(c, GFW_TERM_BAD_REQUEST);
	}
}

void gfw_run(gfw_cpu_t *c, const gfw_step_t *steps, uint32_t nsteps)
{
	for (uint32_t i = 0; i < nsteps; i++) {
		gfw_note(c, GFW_NOTE_STEP, i, 0, 0);
		run_step(c, &steps[i]);
	}
	gfw_note(c, GFW_NOTE_PHASE, GFW_PHASE_DONE, 0, 0);
}
