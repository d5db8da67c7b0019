/* SPDX-License-Identifier: MIT */
/*
 * The scripted mock machine for guestfw: it implements gfw_port.h (the test
 * executable defines the gfw_port_* symbols), records every guest action as a
 * flow_ev_t, and behaves as a simple, honest hypervisor unless a flow fault
 * says otherwise: SEV information 1..2, features SNP | AP creation, register
 * echoes the GFN, every PSC completes in one exit, PVALIDATE and RMPADJUST
 * succeed, memory is a plain sparse store (private and shared alike).
 *
 * It also checks the guest's side of the protocol on every NAE event (valid
 * bits, protocol version, usage, scratch pointer, PSC descriptor sanity) and
 * counts violations; every test asserts there are none.
 */
#ifndef SNPSIM_TESTS_GUESTFW_MOCK_PORT_H
#define SNPSIM_TESTS_GUESTFW_MOCK_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"
#include "guestfw.h"

typedef struct mock mock_t;

/* How a run of guest code ended. */
typedef enum mock_exit {
	MOCK_RETURNED = 0, /* the guest code returned */
	MOCK_TERMINATED,   /* it sent a termination request (mock_term) */
	MOCK_HALTED,       /* gfw_port_halt without a termination request */
	MOCK_SPINNING,     /* it executed PAUSE: in a single-threaded mock it waits for another vCPU */
	MOCK_STOPPED,      /* the mock stopped it: budget, #VC loop, unknown GHCB */
} mock_exit_t;

/* A mock for cfg (copied; policy included) with the machine and faults given. */
mock_t *mock_new(const gfw_config_t *cfg, const flow_machine_t *machine, const flow_fault_t *faults,
		 uint32_t nfaults, uint32_t record);
void mock_free(mock_t *m);

gfw_t *mock_gfw(mock_t *m);
gfw_cpu_t *mock_cpu(mock_t *m, uint32_t cpu);

void mock_set_program(mock_t *m, uint32_t cpu, const gfw_step_t *steps, uint32_t n);
/* Runs `nsteps` steps (0: the rest) of cpu's program; a step that spins is retried next time. */
mock_exit_t mock_run_steps(mock_t *m, uint32_t cpu, uint32_t nsteps);
/* Runs fn(c, arg) on cpu under the mock's halt/termination handling. */
mock_exit_t mock_call(mock_t *m, uint32_t cpu, void (*fn)(gfw_cpu_t *c, void *arg), void *arg);
/* Delivers a #VC to cpu as the machine would (for direct handler tests). */
mock_exit_t mock_deliver_vc(mock_t *m, uint32_t cpu, uint64_t code, uint64_t gpa, uint32_t insn);

/* Runs a whole flow; returns true when everything it expects held (messages on stdout). */
bool mock_run_flow(const flow_t *f);

const flow_ev_t *mock_log(const mock_t *m, size_t *n);
/* Log index where cpu's step `step` began; SIZE_MAX if it never ran. */
size_t mock_step_mark(const mock_t *m, uint32_t cpu, uint32_t step);
/* Compares the log from `from` with exp (all of it, or its first part with prefix). */
bool mock_expect(const mock_t *m, size_t from, const flow_exp_t *exp, size_t nexp, bool prefix);
/* The termination request seen, if any. */
bool mock_term(const mock_t *m, uint32_t *cpu, uint32_t *set, uint32_t *code);
/* Guest protocol violations the mock hypervisor saw; the first message. */
uint32_t mock_violations(const mock_t *m, const char **first);

void mock_mem_read(const mock_t *m, uint64_t gpa, void *dst, size_t len);
void mock_mem_write(mock_t *m, uint64_t gpa, const void *src, size_t len);
const uint8_t *mock_debug(const mock_t *m, size_t *len);
uint64_t mock_ghcb_msr(const mock_t *m, uint32_t cpu); /* what cpu's GHCB MSR holds now */
uint32_t mock_fired(const mock_t *m, uint32_t fault);

/* The CPUID table the mock writes into the CPUID page. */
void mock_default_cpuid(struct snp_cpuid_table *t, const flow_machine_t *machine);

const char *mock_ev_kind_name(uint32_t kind);
void mock_ev_print(const flow_ev_t *e);

#endif /* SNPSIM_TESTS_GUESTFW_MOCK_PORT_H */
