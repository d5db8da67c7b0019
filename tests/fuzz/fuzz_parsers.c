/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parsers: the scenario parser and the trace reader on arbitrary bytes.
 * Every input goes through all of them, so plain scenario files and trace files
 * are seeds as they are:
 *  - scenario_load_string, then scenario_validate, then a round trip: the
 *    canonical JSON of a parsed scenario must parse again and print the same;
 *  - trace_read_buffer, then trace_parse_event on every event line, the
 *    embedded scenario through scenario_load_string, and a round trip of each
 *    event: trace_event_to_line of a parsed line must parse again and print the
 *    same line;
 *  - trace_parse_event on the first line alone (a hand-written event), and
 *    trace_lines_equal on the first two lines.
 * Findings: crashes, sanitizer reports, and round trips that fail.
 */
#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "scenario.h"
#include "trace.h"

static void scenario_round_trip(const char *text, const char *origin)
{
	GError *err = NULL;
	scenario_t *sc = scenario_load_string(text, origin, &err);
	if (!sc) {
		g_clear_error(&err);
		return;
	}
	if (!scenario_validate(sc, &err))
		g_clear_error(&err);
	char *j1 = scenario_to_json(sc, false);
	scenario_t *sc2 = scenario_load_string(j1, "round trip", &err);
	if (!sc2)
		FZ_FINDING("the canonical JSON of a parsed scenario does not parse: %s\n%s",
			   err->message, j1);
	char *j2 = scenario_to_json(sc2, false);
	if (strcmp(j1, j2) != 0)
		FZ_FINDING("scenario JSON is not a fixed point:\n%s\n%s", j1, j2);
	g_free(j2);
	g_free(j1);
	scenario_free(sc2);
	scenario_free(sc);
}

static void event_round_trip(const char *line, const char *where)
{
	GError *err = NULL;
	sim_event_t ev;
	if (!trace_parse_event(line, where, &ev, &err)) {
		g_clear_error(&err);
		return;
	}
	char *l1 = trace_event_to_line(&ev);
	sim_event_t ev2;
	if (!trace_parse_event(l1, "round trip", &ev2, &err))
		FZ_FINDING("a printed event line does not parse: %s\n%s", err->message, l1);
	char *l2 = trace_event_to_line(&ev2);
	if (strcmp(l1, l2) != 0)
		FZ_FINDING("event line is not a fixed point:\n%s\n%s", l1, l2);
	char *diff = NULL;
	(void)trace_lines_equal(line, l1, &diff);
	g_free(diff);
	g_free(l2);
	g_free(l1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1u << 20)
		return 0;
	char *text = g_strndup((const char *)data, size); /* stops at a NUL, as a C string */
	scenario_round_trip(text, "fuzz");

	GError *err = NULL;
	trace_t *t = trace_read_buffer((const char *)data, size, "fuzz", &err);
	if (t) {
		for (guint i = 0; i < t->lines->len && i < 4096; i++)
			event_round_trip(g_ptr_array_index(t->lines, i), "fuzz:line");
		if (t->scenario_json)
			scenario_round_trip(t->scenario_json, "fuzz (embedded)");
		trace_free(t);
	} else {
		g_clear_error(&err);
	}

	char **lines = g_strsplit(text, "\n", 3);
	if (lines[0]) {
		event_round_trip(lines[0], "fuzz:1");
		if (lines[1]) {
			char *diff = NULL;
			(void)trace_lines_equal(lines[0], lines[1], &diff);
			g_free(diff);
		}
	}
	g_strfreev(lines);
	g_free(text);
	return 0;
}
