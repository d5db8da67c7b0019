/* SPDX-License-Identifier: MIT */
/*
 * snpsim boot FIRMWARE: read the image's OVMF metadata (refusing a non-SNP or
 * corrupt image, exit 2), build the PC it expects (memory map, PC devices in
 * hv_model's device table, the engine's CPUID table), launch it as
 * SNP_LAUNCH_UPDATE would, and run it from the reset vector under the emulator
 * engine (emu.h) until the UEFI Shell prompt, a phase, or an instruction count.
 *
 * Without the engine in the build (SNPSIM_HAVE_EMU undefined) everything up to
 * the launch plan still works (--plan prints it), and a boot says plainly that
 * the engine is missing and exits 2.
 */
#include "boot.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwlaunch.h"
#include "ovmf.h"
#include "pcdev.h"
#include "simerr.h"
#include "snp/arch.h"

#if SNPSIM_HAVE_EMU
#include <json.h>

#include "emu.h"
#include "machine-private.h"
#include "machine.h"
#include "report.h"
#include "scenario.h"
#include "trace.h"
#endif

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* Default guest RAM: what the prototype booted to the Shell with (research §3). */
#define BOOT_DEFAULT_MEM (512ull << 20)
/* Default instruction budget: the prototype reached Shell> after ~940 M instructions. */
#define BOOT_DEFAULT_BUDGET 8000000000ull
/* Virtual time: one guest instruction is one nanosecond (a 1 GHz guest). */
#define BOOT_NS_PER_INSN 1u
/* What the UEFI Shell prints when it waits for a command. */
#define BOOT_SHELL_PROMPT "Shell> "

typedef enum boot_until {
	UNTIL_SHELL = 0,
	UNTIL_PEI,
	UNTIL_DXE,
	UNTIL_INSNS,
} boot_until_t;

typedef struct boot_opts {
	char *firmware;
	char *vars_path, *mem_str, *trace_path, *faults_path, *until_str, *serial_path;
	gboolean json, plan;
	uint64_t mem;
	boot_until_t until;
	uint64_t until_insns;
} boot_opts_t;

static int boot_usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int boot_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "snpsim boot: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'snpsim boot --help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

static int boot_refuse(GError *err)
{
	fprintf(stderr, "snpsim boot: %s\n", err->message);
	bool internal = err->domain == SNPSIM_ERROR && err->code == SNPSIM_ERROR_INTERNAL;
	g_error_free(err);
	return internal ? EXIT_FAILED : EXIT_USAGE;
}

/* "512M", "4G", "0x20000000", "1073741824": bytes, binary suffixes K M G T. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	if (!s || !*s || *s == '-')
		return false;
	uint64_t v = g_ascii_strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_until(boot_opts_t *o)
{
	const char *s = o->until_str;
	if (!s || strcmp(s, "shell") == 0) {
		o->until = UNTIL_SHELL;
		return true;
	}
	if (strcmp(s, "pei") == 0) {
		o->until = UNTIL_PEI;
		return true;
	}
	if (strcmp(s, "dxe") == 0) {
		o->until = UNTIL_DXE;
		return true;
	}
	if (g_str_has_prefix(s, "insns:") && parse_size(s + 6, &o->until_insns) && o->until_insns) {
		o->until = UNTIL_INSNS;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ the plan (no engine) */

static void print_plan(const boot_opts_t *o, const ovmf_info_t *info, const fw_layout_t *l,
		       const fw_launch_step_t *steps, size_t n)
{
	printf("firmware: %s (%" G_GUINT64_FORMAT " bytes at 0x%" G_GINT64_MODIFIER "x)\n",
	       o->firmware, info->image_size, info->flash_base);
	printf("  GUID table: %zu entries; SEV-ES AP reset CS base 0x%08x IP 0x%04x\n",
	       info->nentries, ovmf_ap_reset_cs_base(info), ovmf_ap_reset_ip(info));
	printf("  SEV metadata at 0x%" G_GINT64_MODIFIER "x, version %u, %zu sections\n",
	       info->meta_gpa, info->meta_version, info->nsections);
	printf("memory: %" G_GUINT64_FORMAT " MiB (0x%" G_GINT64_MODIFIER "x below 4 GiB, 0x%"
	       G_GINT64_MODIFIER "x above)\n",
	       l->mem_size >> 20, l->below_4g, l->above_4g);
	printf("launch plan (SNP_LAUNCH_UPDATE):\n");
	static const char *const type_name[] = {
		[KVM_SEV_SNP_PAGE_TYPE_NORMAL] = "normal",
		[KVM_SEV_SNP_PAGE_TYPE_VMSA] = "vmsa",
		[KVM_SEV_SNP_PAGE_TYPE_ZERO] = "zero",
		[KVM_SEV_SNP_PAGE_TYPE_UNMEASURED] = "unmeasured",
		[KVM_SEV_SNP_PAGE_TYPE_SECRETS] = "secrets",
		[KVM_SEV_SNP_PAGE_TYPE_CPUID] = "cpuid",
	};
	for (size_t i = 0; i < n; i++)
		printf("  %-13s [0x%08" G_GINT64_MODIFIER "x, 0x%08" G_GINT64_MODIFIER
		       "x) %5" G_GUINT64_FORMAT " pages, type %s\n",
		       steps[i].what, steps[i].gpa, steps[i].gpa + steps[i].size,
		       (uint64_t)(steps[i].size / SNP_PAGE_SIZE), type_name[steps[i].type]);
	printf("  %" G_GUINT64_FORMAT " pages in all\n", fw_launch_pages(steps, n));
}

#if SNPSIM_HAVE_EMU
/* ------------------------------------------------------------------ the boot (engine) */

typedef struct boot {
	const boot_opts_t *o;
	emu_t *e;
	machine_t *m;
	pc_t *pc;
	uint64_t idle_ns;     /* virtual time skipped while the guest waited in HLT */
	FILE *serial;         /* --serial FILE, or stdout */
	char tail[16];        /* the last bytes sent, to spot the prompt */
	bool shell;           /* BOOT_SHELL_PROMPT seen */
	uint64_t shell_insns; /* guest instructions when it was */
	uint64_t interrupts;  /* timer interrupts injected */
	bool tty;
	double start;
	trace_enc_t *enc;
	trace_file_t *trace;
	char *setup_error;    /* the engine could not enter the reset state */
} boot_t;

static double now_s(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

static uint64_t boot_insns(const boot_t *b)
{
	return b->e ? emu_stats(b->e)->guest_insns : 0;
}

static uint64_t boot_clock(void *ctx)
{
	const boot_t *b = ctx;
	return boot_insns(b) * BOOT_NS_PER_INSN + b->idle_ns;
}

static void boot_serial(void *ctx, uint8_t byte)
{
	boot_t *b = ctx;
	fputc(byte, b->serial);
	if (byte == '\n')
		fflush(b->serial);
	size_t n = strlen(b->tail);
	if (n + 1 >= sizeof(b->tail)) {
		memmove(b->tail, b->tail + 1, n);
		n--;
	}
	b->tail[n] = (char)byte;
	b->tail[n + 1] = 0;
	if (!b->shell && g_str_has_suffix(b->tail, BOOT_SHELL_PROMPT)) {
		b->shell = true;
		b->shell_insns = boot_insns(b);
	}
}

/*
 * HLT with interrupts on: OVMF's idle loop. At the Shell prompt the boot is done;
 * otherwise the local APIC timer is the only thing that wakes the CPU, so the
 * virtual clock jumps to its deadline and the tick is delivered.
 */
static emu_idle_t boot_idle(void *ctx, emu_t *e, uint8_t *vector)
{
	boot_t *b = ctx;
	(void)e;
	if (b->shell && b->o->until == UNTIL_SHELL)
		return EMU_IDLE_STOP;
	uint64_t t = boot_clock(b), deadline = pc_lapic_timer_deadline(b->pc);
	if (!deadline)
		return EMU_IDLE_STOP; /* nothing can ever wake it: SIM_STOP_HALTED */
	if (deadline > t)
		b->idle_ns += deadline - t;
	if (pc_lapic_timer_due(b->pc, boot_clock(b), vector)) {
		b->interrupts++;
		return EMU_IDLE_INJECT;
	}
	return EMU_IDLE_RESUME; /* masked: it halts again and ends up here */
}

static void boot_progress(void *ctx, uint32_t step, uint32_t nsteps, uint64_t events)
{
	boot_t *b = ctx;
	(void)step, (void)nsteps;
	if (!b->tty)
		return;
	/* XXX: the firmware phase (SEC/PEI/DXE/BDS) needs a phase report from the engine */
	fprintf(stderr, "\r[boot] %.1f s, %" G_GUINT64_FORMAT " M insns, %" G_GUINT64_FORMAT
			" events   ",
		now_s() - b->start, boot_insns(b) / 1000000, events);
}

static void boot_observe(void *ctx, const sim_event_t *ev)
{
	boot_t *b = ctx;
	if (b->enc)
		trace_enc_event(b->enc, ev);
}

static bool boot_setup(emu_t *e, void *arg, GError **err)
{
	boot_t *b = arg;
	GError *local = NULL;
	if (emu_set_reset_state(e, &local))
		return true;
	/* kept: the machine only records a guest_exception stop for a failed set-up */
	b->setup_error = g_strdup(local ? local->message : "emu_set_reset_state failed");
	g_propagate_error(err, local);
	return false;
}

/* The scenario of a boot: the PC's memory map and the metadata's launch ranges. */
static scenario_t *boot_scenario(const boot_opts_t *o, const fw_layout_t *l,
				 const fw_launch_step_t *steps, size_t n)
{
	scenario_t *sc = scenario_new();
	g_free(sc->origin);
	sc->origin = g_strdup(o->firmware);
	g_free(sc->name);
	sc->name = g_strdup("ovmf-boot");
	sc->vcpus = 1;
	sc->cbit = EMU_CBIT;
	sc->sev_status = MSR_AMD64_SEV_ENABLED | MSR_AMD64_SEV_ES_ENABLED |
			 MSR_AMD64_SEV_SNP_ENABLED;
	/* OVMF's first GHCB page (between SEC_MEM 1 and 2, facts §10.3) */
	sc->ghcb[0] = 0x809000;
	for (size_t i = 0; i < l->nranges; i++) {
		const hv_mem_range_t *r = &l->ranges[i];
		if (r->kind == HV_MEM_ROM)
			continue; /* the flash is the engine's ROM mapping (emu_map_rom) */
		gfw_mem_entry_t e = {.gpa = r->gpa, .size = r->size,
				     .type = r->kind == HV_MEM_RAM ? GFW_MEM_RAM : GFW_MEM_MMIO};
		g_array_append_val(sc->mem, e);
	}
	for (size_t i = 0; i < n; i++) {
		/* the firmware pages live in the engine's ROM, outside the RMP (emu.h) */
		if (steps[i].type == KVM_SEV_SNP_PAGE_TYPE_NORMAL && steps[i].gpa >= l->flash_base)
			continue;
		/* the CPUID page is launched by boot_run with the engine's table */
		if (steps[i].type == KVM_SEV_SNP_PAGE_TYPE_CPUID)
			continue;
		sc_launch_t la = {.gpa = steps[i].gpa, .size = steps[i].size, .type = steps[i].type};
		g_array_append_val(sc->launch, la);
	}
	return sc;
}

static uint64_t validated_pages(machine_t *m, const fw_layout_t *l, uint64_t *total)
{
	rmp_t *rmp = machine_rmp(m);
	uint64_t v = 0;
	*total = 0;
	for (size_t i = 0; i < l->nranges; i++) {
		const hv_mem_range_t *r = &l->ranges[i];
		if (r->kind != HV_MEM_RAM)
			continue;
		for (uint64_t a = r->gpa; a < r->gpa + r->size; a += SNP_PAGE_SIZE) {
			rmp_entry_t e;
			(*total)++;
			if (rmp_lookup(rmp, a, &e) && e.assigned && e.validated)
				v++;
		}
	}
	return v;
}

static bool target_reached(const boot_t *b, const machine_result_t *res)
{
	switch (b->o->until) {
	case UNTIL_SHELL: return b->shell;
	case UNTIL_INSNS:
		return res->outcome == SIM_OUTCOME_STOPPED && res->stop == SIM_STOP_BUDGET;
	default: return false;
	}
}

static int boot_run(const boot_opts_t *o, const uint8_t *code, const uint8_t *vars,
		    const fw_layout_t *l, const fw_launch_step_t *steps, size_t n)
{
	GError *err = NULL;
	int rc = EXIT_USAGE;
	boot_t b = {.o = o, .serial = stdout, .tty = isatty(2) && !o->json, .start = now_s()};
	scenario_t *sc = boot_scenario(o, l, steps, n);
	if (o->faults_path && !scenario_load_faults_file(sc, o->faults_path, &err)) {
		rc = boot_refuse(err);
		goto out;
	}
	if (o->serial_path) {
		b.serial = fopen(o->serial_path, "w");
		if (!b.serial) {
			fprintf(stderr, "snpsim boot: --serial %s: %s\n", o->serial_path,
				g_strerror(errno));
			b.serial = stdout;
			goto out;
		}
	} else if (o->json) {
		b.serial = stderr; /* stdout carries the JSON summary only */
	}
	if (o->trace_path) {
		b.trace = trace_file_open(o->trace_path, &err);
		if (!b.trace) {
			rc = boot_refuse(err);
			goto out;
		}
		char *sj = scenario_to_json(sc, false);
		char *hdr = trace_header_line(sj, "emu", true);
		trace_file_line(b.trace, hdr, strlen(hdr));
		g_free(hdr);
		g_free(sj);
		b.enc = trace_enc_new(true, trace_file_line_cb, b.trace);
	}
	machine_opts_t mo = {.observe = boot_observe, .observe_ctx = &b,
			     .progress = boot_progress, .progress_ctx = &b};
	b.m = machine_new(sc, &mo, &err);
	if (!b.m) {
		rc = boot_refuse(err);
		goto out;
	}
	pc_config_t pcc;
	pc_config_defaults(&pcc);
	pcc.ram_below_4g = l->below_4g;
	pcc.ram_above_4g = l->above_4g;
	pcc.clock_ns = boot_clock;
	pcc.clock_ctx = &b;
	pcc.serial_out = boot_serial;
	pcc.serial_ctx = &b;
	b.pc = pc_new(&pcc, &err);
	if (!b.pc || !pc_attach(b.pc, mach_hv(b.m), &err)) {
		rc = boot_refuse(err);
		goto out;
	}
	if (!fw_platform_msrs(mach_hv(b.m))) {
		fprintf(stderr, "snpsim boot: the hypervisor refused the platform MSRs\n");
		rc = EXIT_FAILED;
		goto out;
	}
	/*
	 * The CPUID page with the table the engine executes (fwlaunch.h). The machine
	 * builds its hypervisor with its own CPUID table and offers no override, so the
	 * page is launched here with the engine's table as its contents (type NORMAL:
	 * same RMP result, a different measurement); the hypervisor's CPUID NAE answers
	 * still come from the machine's table. XXX: needs a CPUID table in machine_opts.
	 */
	struct snp_cpuid_fn cpuid[FW_CPUID_ENTRIES];
	size_t ncpuid = fw_cpuid_table(EMU_CBIT, cpuid, G_N_ELEMENTS(cpuid));
	struct snp_cpuid_table page;
	memset(&page, 0, sizeof(page));
	page.count = (uint32_t)ncpuid;
	memcpy(page.fn, cpuid, ncpuid * sizeof(cpuid[0]));
	for (size_t i = 0; i < n; i++)
		if (steps[i].type == KVM_SEV_SNP_PAGE_TYPE_CPUID &&
		    !hv_launch_update(mach_hv(b.m), steps[i].gpa, SNP_PAGE_SIZE,
				      KVM_SEV_SNP_PAGE_TYPE_NORMAL, &page, sizeof(page))) {
			fprintf(stderr, "snpsim boot: launching the CPUID page at 0x%" G_GINT64_MODIFIER
					"x failed\n", steps[i].gpa);
			goto out;
		}
	emu_opts_t eo = {.insn_budget = o->until == UNTIL_INSNS ? o->until_insns
								 : BOOT_DEFAULT_BUDGET,
			 .idle = boot_idle,
			 .idle_ctx = &b};
	b.e = emu_new(b.m, &eo, &err);
	if (!b.e) {
		rc = boot_refuse(err);
		goto out;
	}
	/*
	 * The flash at its GPA and at its private alias (GPA | C-bit, emu.h): before
	 * paging the reset vector fetches from 0xFFFFFFF0, afterwards OVMF's page
	 * tables map all of 0-4 GiB with the C-bit set, and SEC reads its firmware
	 * volumes through them. SNP launches the flash as private pages; both views
	 * are the same bytes here.
	 */
	const uint64_t priv = 1ull << EMU_CBIT;
	if ((l->vars_size && (!emu_map_rom(b.e, l->flash_base, vars, l->vars_size, &err) ||
			      !emu_map_rom(b.e, l->flash_base | priv, vars, l->vars_size, &err))) ||
	    !emu_map_rom(b.e, l->code_base, code, l->code_size, &err) ||
	    !emu_map_rom(b.e, l->code_base | priv, code, l->code_size, &err)) {
		rc = boot_refuse(err);
		goto out;
	}
	double t0 = now_s();
	const machine_result_t *res = emu_run(b.e, boot_setup, &b);
	double secs = now_s() - t0;
	if (b.tty)
		fprintf(stderr, "\r\033[K");
	if (b.setup_error) {
		/* the engine cannot run firmware from the reset vector: not a guest outcome */
		fprintf(stderr, "snpsim boot: %s: the emulator engine cannot start firmware at the "
				"reset vector: %s\n", o->firmware, b.setup_error);
		rc = EXIT_USAGE;
		goto out;
	}
	fflush(b.serial);
	if (b.enc) {
		trace_enc_flush(b.enc);
		bool ok = trace_file_commit(b.trace, &err);
		b.trace = NULL;
		if (!ok) {
			rc = boot_refuse(err);
			goto out;
		}
	}
	bool reached = target_reached(&b, res);
	const emu_stats_t *es = emu_stats(b.e);
	uint64_t total = 0, valid = validated_pages(b.m, l, &total);
	const char *crash = emu_crash_reason(b.e);
	if (o->json) {
		char *rj = report_json(b.m, secs, reached && res->violations == 0, NULL);
		json_object *j = json_tokener_parse(rj);
		g_free(rj);
		json_object *bj = json_object_new_object();
		json_object_object_add(bj, "firmware", json_object_new_string(o->firmware));
		json_object_object_add(bj, "until", json_object_new_string(o->until_str
									 ? o->until_str
									 : "shell"));
		json_object_object_add(bj, "reached", json_object_new_boolean(reached));
		json_object_object_add(bj, "shell", json_object_new_boolean(b.shell));
		json_object_object_add(bj, "guest_insns", json_object_new_int64((int64_t)es->guest_insns));
		json_object_object_add(bj, "shell_insns", json_object_new_int64((int64_t)b.shell_insns));
		json_object_object_add(bj, "vc_delivered",
				       json_object_new_int64((int64_t)es->vc_delivered));
		json_object_object_add(bj, "timer_interrupts",
				       json_object_new_int64((int64_t)b.interrupts));
		json_object_object_add(bj, "serial_bytes",
				       json_object_new_int64((int64_t)pc_serial_bytes(b.pc)));
		json_object_object_add(bj, "ram_pages", json_object_new_int64((int64_t)total));
		json_object_object_add(bj, "validated_ram_pages", json_object_new_int64((int64_t)valid));
		json_object_object_add(bj, "engine", json_object_new_string(emu_versions()));
		if (crash)
			json_object_object_add(bj, "crash", json_object_new_string(crash));
		if (j)
			json_object_object_add(j, "boot", bj);
		else
			j = bj;
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		printf("\n");
		report_human(stdout, b.m, secs);
		printf("boot: %s %s after %.2f s, %" G_GUINT64_FORMAT " guest instructions (%.1f M/s)\n",
		       reached ? "reached" : "did NOT reach", o->until_str ? o->until_str : "shell",
		       secs, es->guest_insns, secs > 0 ? (double)es->guest_insns / secs / 1e6 : 0.0);
		printf("  #VC delivered %" G_GUINT64_FORMAT ", timer interrupts %" G_GUINT64_FORMAT
		       ", serial bytes %" G_GUINT64_FORMAT "\n",
		       es->vc_delivered, b.interrupts, pc_serial_bytes(b.pc));
		printf("  validated RAM %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
		       " pages (%.1f %%)\n",
		       valid, total, total ? 100.0 * (double)valid / (double)total : 0.0);
		if (crash)
			printf("  engine: %s\n", crash);
	}
	rc = reached && res->violations == 0 ? EXIT_OK : EXIT_FAILED;
out:
	if (b.trace)
		trace_file_abort(b.trace);
	trace_enc_free(b.enc);
	emu_free(b.e);
	pc_free(b.pc);
	machine_free(b.m);
	scenario_free(sc);
	if (b.serial && b.serial != stdout && b.serial != stderr)
		fclose(b.serial);
	g_free(b.setup_error);
	return rc;
}
#endif /* SNPSIM_HAVE_EMU */

/* ------------------------------------------------------------------ the command */

int cmd_boot(int argc, char **argv)
{
	boot_opts_t o = {0};
	GOptionEntry entries[] = {
		{"vars", 0, 0, G_OPTION_ARG_FILENAME, &o.vars_path,
		 "Map the variable store VARS below the code (OVMF_VARS_4M.fd)", "VARS"},
		{"mem", 'm', 0, G_OPTION_ARG_STRING, &o.mem_str,
		 "Guest RAM, a multiple of 2 MiB (default 512M)", "SIZE"},
		{"trace", 't', 0, G_OPTION_ARG_FILENAME, &o.trace_path,
		 "Write the event trace (JSON Lines) to FILE, atomically", "FILE"},
		{"faults", 'f', 0, G_OPTION_ARG_FILENAME, &o.faults_path,
		 "Apply the fault plan in FILE (as snpsim run --faults)", "FILE"},
		{"until", 'u', 0, G_OPTION_ARG_STRING, &o.until_str,
		 "Stop at: shell (default), pei, dxe, insns:N", "WHEN"},
		{"serial", 's', 0, G_OPTION_ARG_FILENAME, &o.serial_path,
		 "Write the guest's serial output to FILE (default stdout)", "FILE"},
		{"json", 'j', 0, G_OPTION_ARG_NONE, &o.json, "Print the summary as JSON", NULL},
		{"plan", 0, 0, G_OPTION_ARG_NONE, &o.plan,
		 "Print the image's metadata and the launch plan, and stop", NULL},
		{NULL}};
	GOptionContext *ctx = g_option_context_new("FIRMWARE - boot an OVMF image as an SNP guest");
	g_option_context_set_summary(
		ctx, "Boots FIRMWARE (an OVMF image with SEV-SNP support, such as Debian 13's\n"
		     "OVMF_CODE_4M.fd) from the reset vector under the emulator engine, with every\n"
		     "PVALIDATE, page state change and VMGEXIT going through the modeled RMP and the\n"
		     "mock hypervisor and the invariant checker on.");
	g_option_context_set_description(
		ctx, "Exit status: 0 the boot reached its target with no invariant violation; 1 it\n"
		     "did not; 2 bad input (an image without SNP metadata, truncated or corrupt)\n"
		     "or usage, or no emulator engine in this build.\n");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = EXIT_USAGE;
	uint8_t *code = NULL;
	gchar *vars = NULL;
	size_t code_len = 0;
	gsize vars_len = 0;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = boot_usage("%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (argc != 2) {
		rc = boot_usage("expected one FIRMWARE image, got %d arguments", argc - 1);
		goto out;
	}
	o.firmware = argv[1];
	o.mem = BOOT_DEFAULT_MEM;
	if (o.mem_str && !parse_size(o.mem_str, &o.mem)) {
		rc = boot_usage("--mem: \"%s\" is not a size (512M, 4G, 0x20000000)", o.mem_str);
		goto out;
	}
	if (!parse_until(&o)) {
		rc = boot_usage("--until: \"%s\" is not shell, pei, dxe or insns:N (N > 0)",
				o.until_str);
		goto out;
	}
	ovmf_info_t info;
	if (!ovmf_load_file(o.firmware, &code, &code_len, &info, &err)) {
		rc = boot_refuse(err);
		goto out;
	}
	if (o.vars_path) {
		if (!g_file_get_contents(o.vars_path, &vars, &vars_len, &err)) {
			rc = boot_refuse(err);
			goto out;
		}
		if (vars_len == 0 || vars_len % SNP_PAGE_SIZE) {
			fprintf(stderr, "snpsim boot: --vars %s: %zu bytes is not a non-zero multiple "
					"of 4 KiB\n", o.vars_path, (size_t)vars_len);
			goto out;
		}
	}
	fw_layout_t layout;
	if (!fw_layout_init(&layout, o.mem, code_len, vars_len, &err)) {
		rc = boot_refuse(err);
		goto out;
	}
	/* the sections must be RAM the guest has: a 64 MiB guest still holds OVMF's MEMFD */
	for (size_t i = 0; i < info.nsections; i++) {
		const ovmf_section_t *s = &info.sections[i];
		if (s->base + s->size > layout.below_4g) {
			fprintf(stderr, "snpsim boot: %s: SEV metadata section %zu (0x%"
					G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x) is not "
					"in the guest's RAM below 4 GiB (0x%" G_GINT64_MODIFIER "x)\n",
				o.firmware, i, s->base, s->size, layout.below_4g);
			goto out;
		}
	}
	fw_launch_step_t steps[FW_MAX_STEPS];
	size_t nsteps = fw_launch_plan(&layout, &info, code, (const uint8_t *)vars, steps);
	if (o.plan) {
		print_plan(&o, &info, &layout, steps, nsteps);
		rc = EXIT_OK;
		goto out;
	}
#if SNPSIM_HAVE_EMU
	if (o.until == UNTIL_PEI || o.until == UNTIL_DXE) {
		/* XXX: the engine reports no firmware phase yet (emu.h); refuse rather than guess */
		rc = boot_usage("--until %s: the emulator engine does not report firmware phases "
				"yet; use shell or insns:N",
				o.until_str);
		goto out;
	}
	rc = boot_run(&o, code, (const uint8_t *)vars, &layout, steps, nsteps);
#else
	fprintf(stderr, "snpsim boot: %s: the image is a valid SEV-SNP OVMF (%zu sections), but "
			"this snpsim was built without the emulator engine (sim/emu.c, issue 8), "
			"so it cannot execute firmware; 'snpsim boot --plan' shows the launch plan\n",
		o.firmware, info.nsections);
	rc = EXIT_USAGE;
#endif
out:
	g_free(code);
	g_free(vars);
	g_free(o.vars_path);
	g_free(o.mem_str);
	g_free(o.trace_path);
	g_free(o.faults_path);
	g_free(o.until_str);
	g_free(o.serial_path);
	g_option_context_free(ctx);
	return rc;
}
