/* SPDX-License-Identifier: MIT */
/*
 * Where the firmware suite finds the reference OVMF image: $SNPSIM_OVMF, else
 * the candidates meson passes (firmware-cache/ that ./dev.sh fetches into, then
 * ../shared/firmware/). No image is a failure, not a skip: the suite must run.
 */
#ifndef SNPSIM_TESTS_FW_IMAGE_H
#define SNPSIM_TESTS_FW_IMAGE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline char *fw_image_find(int argc, char **argv)
{
	const char *env = getenv("SNPSIM_OVMF");
	if (env && *env)
		return g_strdup(env);
	for (int i = 1; i < argc; i++)
		if (g_file_test(argv[i], G_FILE_TEST_IS_REGULAR))
			return g_strdup(argv[i]);
	fprintf(stderr, "no reference OVMF image: set SNPSIM_OVMF or run ./dev.sh firmware "
			"(candidates:");
	for (int i = 1; i < argc; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, ")\n");
	return NULL;
}

static inline bool fw_image_load(const char *path, uint8_t **img, size_t *len)
{
	gchar *buf = NULL;
	gsize n = 0;
	if (!g_file_get_contents(path, &buf, &n, NULL))
		return false;
	*img = (uint8_t *)buf;
	*len = n;
	return true;
}

#endif /* SNPSIM_TESTS_FW_IMAGE_H */
