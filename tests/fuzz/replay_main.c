/* SPDX-License-Identifier: MIT */
/*
 * A main for a fuzz harness without libFuzzer: runs each file given (or every
 * regular file of each directory given, in name order) once through
 * LLVMFuzzerTestOneInput. A finding traps, so `meson test` sees the crash, and
 * the file being run is printed first, so the log names it.
 *
 *   replay_main [--emit-scenario FILE] [--bench SECONDS] PATH...
 *
 * --emit-scenario FILE  fuzz_pagestate writes the scenario it builds to FILE
 *                       (meant for one input)
 * --bench SECONDS       loop over the inputs for that long and print the rate
 *                       as a JSON line (the fuzz.* benchmarks)
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct input {
	char *path;
	uint8_t *data;
	size_t len;
} input_t;

static void add_file(GArray *inputs, const char *path)
{
	input_t in = {0};
	gchar *data = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(path, &data, &len, &err)) {
		fprintf(stderr, "replay: %s\n", err->message);
		g_error_free(err);
		exit(2);
	}
	in.path = g_strdup(path);
	in.data = (uint8_t *)data;
	in.len = len;
	g_array_append_val(inputs, in);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(GArray *inputs, const char *path)
{
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		add_file(inputs, path);
		return;
	}
	GDir *d = g_dir_open(path, 0, NULL);
	if (!d) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		exit(2);
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(d)))
		if (n[0] != '.')
			g_ptr_array_add(names, g_build_filename(path, n, NULL));
	g_dir_close(d);
	g_ptr_array_sort(names, by_name);
	for (guint i = 0; i < names->len; i++)
		if (g_file_test(g_ptr_array_index(names, i), G_FILE_TEST_IS_REGULAR))
			add_file(inputs, g_ptr_array_index(names, i));
	g_ptr_array_free(names, TRUE);
}

int main(int argc, char **argv)
{
	double bench = 0;
	const char *name = "fuzz";
	GArray *inputs = g_array_new(FALSE, TRUE, sizeof(input_t));
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--emit-scenario") == 0 && i + 1 < argc) {
			g_setenv(FZ_EMIT_ENV, argv[++i], TRUE);
		} else if (strcmp(argv[i], "--bench") == 0 && i + 2 < argc) {
			name = argv[++i];
			bench = g_ascii_strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [--emit-scenario FILE] [--bench NAME SECONDS] PATH...\n",
				argv[0]);
			return 2;
		} else {
			break;
		}
	}
	for (; i < argc; i++)
		add_path(inputs, argv[i]);
	if (inputs->len == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 2;
	}
	if (LLVMFuzzerInitialize) {
		int one = 1;
		char *self[] = {argv[0], NULL};
		char **pself = self;
		LLVMFuzzerInitialize(&one, &pself);
	}
	if (bench > 0) {
		uint64_t execs = 0;
		gint64 t0 = g_get_monotonic_time(), end = t0 + (gint64)(bench * 1e6);
		gint64 t = t0;
		while (t < end) {
			for (guint k = 0; k < inputs->len; k++) {
				const input_t *in = &g_array_index(inputs, input_t, k);
				LLVMFuzzerTestOneInput(in->data, in->len);
			}
			execs += inputs->len;
			t = g_get_monotonic_time();
		}
		double secs = (double)(t - t0) / 1e6;
		printf("{\"name\":\"%s\",\"value\":%.0f,\"unit\":\"exec/s\"}\n", name,
		       (double)execs / secs);
	} else {
		for (guint k = 0; k < inputs->len; k++) {
			const input_t *in = &g_array_index(inputs, input_t, k);
			fprintf(stderr, "replay: %s (%zu bytes)\n", in->path, in->len);
			LLVMFuzzerTestOneInput(in->data, in->len);
		}
		printf("replay: %u input(s), no finding\n", inputs->len);
	}
	for (guint k = 0; k < inputs->len; k++) {
		input_t *in = &g_array_index(inputs, input_t, k);
		g_free(in->path);
		g_free(in->data);
	}
	g_array_free(inputs, TRUE);
	return 0;
}
