/* SPDX-License-Identifier: MIT */
/*
 * Traces: JSON Lines. Line 1 is a versioned header embedding the scenario the
 * trace came from; every other line is one event (sim_event_t), keys in a fixed
 * order, addresses as hex strings, no wall-clock time, so identical input gives
 * identical bytes. Runs of consecutive per-page events with identical outcome
 * and contiguous addresses are coalesced into one range line ("npages", with
 * "seq" .. "seq_last") unless coalescing is off. Format: traces/README.md.
 */
#ifndef SNPSIM_SIM_TRACE_H
#define SNPSIM_SIM_TRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define TRACE_VERSION 1

/* ---- encoding: events -> lines ---- */

typedef struct trace_enc trace_enc_t;

/* Receives each finished line, without the newline. */
typedef void (*trace_line_fn)(void *ctx, const char *line, size_t len);

trace_enc_t *trace_enc_new(bool coalesce, trace_line_fn fn, void *ctx);
void trace_enc_free(trace_enc_t *enc);
void trace_enc_event(trace_enc_t *enc, const sim_event_t *ev);
/* Emits a pending coalesced line (end of run, before a divergence report ...). */
void trace_enc_flush(trace_enc_t *enc);
uint64_t trace_enc_lines(const trace_enc_t *enc);
uint64_t trace_enc_events(const trace_enc_t *enc);

/* One event as a line, not coalesced (g_free). */
char *trace_event_to_line(const sim_event_t *ev);

/* The header line: scenario_json is the embedded scenario (compact JSON). */
char *trace_header_line(const char *scenario_json, const char *engine, bool coalesce);

/* ---- files: written atomically ---- */

typedef struct trace_file trace_file_t;

/* Opens PATH.tmp.XXXXXX beside path; nothing appears at path until commit. */
trace_file_t *trace_file_open(const char *path, GError **err);
void trace_file_line(trace_file_t *tf, const char *line, size_t len);
/* Flushes, syncs and renames into place; false (and the file removed) on error. */
bool trace_file_commit(trace_file_t *tf, GError **err);
void trace_file_abort(trace_file_t *tf);
/* A trace_line_fn writing to a trace_file_t. */
void trace_file_line_cb(void *tf, const char *line, size_t len);

/* ---- reading ---- */

typedef struct trace {
	char *path;
	int version;
	char *engine;
	bool coalesce;
	char *scenario_json; /* the embedded scenario, re-serialised compactly */
	GPtrArray *lines;    /* char*: event lines as in the file (no newline) */
	GArray *line_no;     /* guint: file line number of each event line */
} trace_t;

/* Reads and checks the header; event lines are kept raw. SNPSIM_ERROR_INPUT on bad input. */
trace_t *trace_read_file(const char *path, GError **err);
/* The same from len bytes in memory (need not be NUL-terminated); path names it in messages. */
trace_t *trace_read_buffer(const char *data, size_t len, const char *path, GError **err);
void trace_free(trace_t *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(trace_t, trace_free)

/*
 * Parses one event line. Strict: unknown keys, wrong types or unknown names are
 * errors. Missing fields default to 0 (spa defaults to gpa, npages to 1 or 512).
 * where: "FILE:LINE" for messages.
 */
bool trace_parse_event(const char *line, const char *where, sim_event_t *ev, GError **err);

/*
 * Compares two event lines as JSON objects (key order and spacing aside).
 * Returns true if equal; otherwise *diff (g_free) describes the first field that
 * differs: "field \"result\": expected \"SUCCESS\", got \"FAIL_INPUT\"".
 */
bool trace_lines_equal(const char *expected, const char *got, char **diff);

#endif /* SNPSIM_SIM_TRACE_H */
