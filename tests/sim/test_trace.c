/* SPDX-License-Identifier: MIT */
/* Trace encoding, coalescing, parsing, comparison and atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gfw_port.h"
#include "simerr.h"
#include "checker.h"
#include "trace.h"

static void collect(void *ctx, const char *line, size_t len)
{
	g_ptr_array_add(ctx, g_strndup(line, len));
}

static sim_event_t pv(uint64_t seq, uint64_t gpa, bool validate, const char *result)
{
	sim_event_t ev = {.seq = seq, .kind = SIM_EV_PVALIDATE, .gpa = gpa, .spa = gpa,
			  .npages = 1, .validate = validate};
	assert_true(rmp_result_from_string(result, &ev.status));
	return ev;
}

static void line_format_is_fixed(void **state)
{
	(void)state;
	sim_event_t ev = pv(7, 0x100000, true, "SUCCESS_NOUPDATE");
	ev.vcpu = 2;
	char *line = trace_event_to_line(&ev);
	assert_string_equal(line, "{\"seq\":7,\"ev\":\"pvalidate\",\"vcpu\":2,\"gpa\":\"0x100000\","
				  "\"spa\":\"0x100000\",\"npages\":1,\"size\":\"4k\","
				  "\"validate\":true,\"result\":\"SUCCESS_NOUPDATE\"}");
	g_free(line);
}

static void contiguous_identical_events_coalesce(void **state)
{
	(void)state;
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	trace_enc_t *enc = trace_enc_new(true, collect, lines);
	for (uint64_t i = 0; i < 512; i++) {
		sim_event_t ev = pv(10 + i, 0x200000 + i * 4096, true, "SUCCESS");
		trace_enc_event(enc, &ev);
	}
	/* a gap in addresses breaks the run */
	sim_event_t gap = pv(522, 0x500000, true, "SUCCESS"); /* run ended at 0x400000 */
	trace_enc_event(enc, &gap);
	/* a different outcome breaks it too */
	sim_event_t other = pv(523, 0x501000, true, "FAIL_INPUT");
	trace_enc_event(enc, &other);
	/* a non-coalescible kind in between */
	sim_event_t vc = {.seq = 524, .kind = SIM_EV_VC, .code = 0x404, .gpa = 0x502000};
	trace_enc_event(enc, &vc);
	trace_enc_flush(enc);
	assert_int_equal(lines->len, 4);
	assert_int_equal(trace_enc_events(enc), 515);
	assert_int_equal(trace_enc_lines(enc), 4);
	sim_event_t back;
	GError *err = NULL;
	assert_true(trace_parse_event(g_ptr_array_index(lines, 0), "t:1", &back, &err));
	assert_int_equal(back.seq, 10);
	assert_int_equal(back.seq_last, 521);
	assert_int_equal(back.npages, 512);
	assert_int_equal(back.gpa, 0x200000);
	assert_string_equal(rmp_result_to_string(back.status), "SUCCESS");
	trace_enc_free(enc);
	g_ptr_array_free(lines, TRUE);
}

static void no_coalesce_writes_every_event(void **state)
{
	(void)state;
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	trace_enc_t *enc = trace_enc_new(false, collect, lines);
	for (uint64_t i = 0; i < 5; i++) {
		sim_event_t ev = pv(1 + i, 0x200000 + i * 4096, true, "SUCCESS");
		trace_enc_event(enc, &ev);
	}
	trace_enc_flush(enc);
	assert_int_equal(lines->len, 5);
	trace_enc_free(enc);
	g_ptr_array_free(lines, TRUE);
}

static void sequence_gap_breaks_a_run(void **state)
{
	(void)state;
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	trace_enc_t *enc = trace_enc_new(true, collect, lines);
	sim_event_t a = pv(1, 0x200000, true, "SUCCESS"), b = pv(3, 0x201000, true, "SUCCESS");
	trace_enc_event(enc, &a);
	trace_enc_event(enc, &b);
	trace_enc_flush(enc);
	assert_int_equal(lines->len, 2);
	trace_enc_free(enc);
	g_ptr_array_free(lines, TRUE);
}

/* Every kind survives line -> event -> line unchanged. */
static void every_kind_round_trips(void **state)
{
	(void)state;
	sim_event_t evs[] = {
		{.kind = SIM_EV_VMGEXIT, .vcpu = 1, .ghcb_gpa = 0x809000, .exit_reason = SVM_VMGEXIT_PSC,
		 .info1 = 0, .info2 = VMGEXIT_PSC_ERROR_GENERIC},
		{.kind = SIM_EV_MSR_PROTOCOL, .info1 = GHCB_MSR_SEV_INFO_REQ, .info2 = 0x2000100330001},
		{.kind = SIM_EV_PSC_ENTRY, .gfn = 0x200, .npages = 512, .page_2m = true,
		 .op = SNP_PAGE_STATE_PRIVATE},
		{.kind = SIM_EV_PSC_ENTRY, .gfn = 0x201, .npages = 1, .op = 9,
		 .psc_status = VMGEXIT_PSC_ERROR_INVALID_ENTRY},
		{.kind = SIM_EV_RMPUPDATE, .spa = 0x200000, .gpa = 0x200000, .npages = 1, .assigned = true},
		{.kind = SIM_EV_PSMASH, .spa = 0x200000, .npages = 512},
		{.kind = SIM_EV_UNSMASH, .spa = 0x400000, .npages = 512,
		 .status = {.ret = SNP_RET_FAIL_INPUT}},
		{.kind = SIM_EV_NPT_REMAP, .gfn = 0x123, .spa = 0x9000000, .info1 = 0x123000},
		{.kind = SIM_EV_LAUNCH_UPDATE, .gpa = 0x800000, .spa = 0x800000, .npages = 9,
		 .op = 3 /* zero */},
		{.kind = SIM_EV_NPF, .gpa = 0x5000, .info1 = PFERR_RMP | PFERR_GUEST_SIZEM,
		 .op = HV_NPF_RETRY},
		{.kind = SIM_EV_AP_CREATE, .vcpu = 1, .gpa = 0x1001000, .info1 = 1},
		{.kind = SIM_EV_AP_DESTROY, .vcpu = 1},
		{.kind = SIM_EV_TERMINATE, .set = 1, .reason = 2},
		{.kind = SIM_EV_STOP, .stop = HV_STOP_GHCB_PRIVATE},
		{.kind = SIM_EV_PVALIDATE, .gpa = 0x10000000000ull, .spa = 0x10000000000ull,
		 .npages = 512, .page_2m = true, .validate = true},
		{.kind = SIM_EV_RMPADJUST, .gpa = 0x3000, .spa = 0x3000, .info1 = 0x10001},
		{.kind = SIM_EV_VC, .code = 0x404, .gpa = 0x7000},
		{.kind = SIM_EV_NOTE, .op = GFW_NOTE_PSC_DONE, .gpa = 0x1000, .npages = 3, .info1 = 2},
		{.kind = SIM_EV_VIOLATION, .invariant = SIM_INV_DOUBLE_VALIDATION, .gpa = 0x1000,
		 .spa = 0x1000, .cause_seq = 9, .ref_seq = 3, .ref_vcpu = 1, .ref_spa = 0x1000},
		{.kind = SIM_EV_END, .op = SIM_OUTCOME_TERMINATED, .set = 2, .reason = 6},
		{.kind = SIM_EV_END, .op = SIM_OUTCOME_STOPPED, .stop = SIM_STOP_VC_LOOP},
		{.kind = SIM_EV_END, .op = SIM_OUTCOME_COMPLETED},
	};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		evs[i].seq = i + 1;
		char *line = trace_event_to_line(&evs[i]);
		sim_event_t back;
		GError *err = NULL;
		if (!trace_parse_event(line, "rt", &back, &err))
			fail_msg("%s: %s", line, err->message);
		char *again = trace_event_to_line(&back);
		assert_string_equal(line, again);
		g_free(line);
		g_free(again);
	}
}

static void bad_lines_are_named_errors(void **state)
{
	(void)state;
	static const struct {
		const char *line, *needle;
	} rows[] = {
		{"not json", "not a JSON object"},
		{"[1,2]", "not a JSON object"},
		{"{\"seq\":1}", "missing \"ev\""},
		{"{\"ev\":\"warp\"}", "unknown event kind \"warp\""},
		{"{\"ev\":\"pvalidate\",\"color\":\"red\"}", "have no field \"color\""},
		{"{\"ev\":\"pvalidate\",\"gpa\":-1}", "non-negative integer"},
		{"{\"ev\":\"pvalidate\",\"gpa\":\"0xzz\"}", "\"gpa\""},
		{"{\"ev\":\"pvalidate\",\"result\":\"MAYBE\"}", "unknown outcome"},
		{"{\"ev\":\"pvalidate\",\"size\":\"1g\"}", "\"size\""},
		{"{\"ev\":\"pvalidate\",\"validate\":1}", "true or false"},
		{"{\"ev\":\"pvalidate\",\"npages\":\"0xffffffffffff\"}", "absurd"},
		{"{\"ev\":\"note\",\"note\":\"bogus\"}", "unknown note"},
		{"{\"ev\":\"violation\",\"invariant\":\"x\"}", "unknown invariant"},
		{"{\"ev\":\"psc_entry\",\"op\":99}", "\"op\""},
		{"{\"seq\":5,\"seq_last\":2,\"ev\":\"vc\"}", "seq_last"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		sim_event_t ev;
		GError *err = NULL;
		if (trace_parse_event(rows[i].line, "f.jsonl:3", &ev, &err))
			fail_msg("accepted: %s", rows[i].line);
		if (!strstr(err->message, rows[i].needle) || !strstr(err->message, "f.jsonl:3"))
			fail_msg("%s: message \"%s\" lacks \"%s\"", rows[i].line, err->message,
				 rows[i].needle);
		assert_int_equal(err->code, SNPSIM_ERROR_INPUT);
		g_error_free(err);
	}
}

static void defaults_for_hand_written_lines(void **state)
{
	(void)state;
	sim_event_t ev;
	GError *err = NULL;
	assert_true(trace_parse_event("{\"ev\":\"pvalidate\",\"gpa\":\"0x5000\",\"validate\":true}",
				      "x", &ev, &err));
	assert_int_equal(ev.spa, 0x5000);
	assert_int_equal(ev.npages, 1);
	assert_true(trace_parse_event("{\"ev\":\"pvalidate\",\"gpa\":\"0x200000\",\"size\":\"2m\"}",
				      "x", &ev, &err));
	assert_int_equal(ev.npages, 512);
}

static void lines_compare_as_json(void **state)
{
	(void)state;
	char *diff = NULL;
	assert_true(trace_lines_equal("{\"a\":1,\"b\":\"x\"}", "{ \"b\" : \"x\", \"a\" : 1 }", &diff));
	assert_null(diff);
	assert_false(trace_lines_equal("{\"a\":1,\"result\":\"SUCCESS\"}",
				       "{\"a\":1,\"result\":\"FAIL_INPUT\"}", &diff));
	assert_non_null(strstr(diff, "field \"result\": expected \"SUCCESS\", got \"FAIL_INPUT\""));
	g_free(diff);
	assert_false(trace_lines_equal("{\"a\":1}", "{\"a\":1,\"b\":2}", &diff));
	assert_non_null(strstr(diff, "\"b\""));
	g_free(diff);
}

static void files_appear_only_when_committed(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("snpsim-trace-XXXXXX", NULL);
	char *path = g_build_filename(dir, "t.jsonl", NULL);
	GError *err = NULL;
	trace_file_t *tf = trace_file_open(path, &err);
	assert_non_null(tf);
	char *hdr = trace_header_line("{\"x\":1}", "native", true);
	trace_file_line(tf, hdr, strlen(hdr));
	assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	assert_true(trace_file_commit(tf, &err));
	assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	trace_t *t = trace_read_file(path, &err);
	assert_non_null(t);
	assert_int_equal(t->version, TRACE_VERSION);
	assert_true(t->coalesce);
	assert_string_equal(t->engine, "native");
	assert_string_equal(t->scenario_json, "{\"x\":1}");
	trace_free(t);
	/* an aborted file leaves nothing behind, not even its temporary */
	char *path2 = g_build_filename(dir, "u.jsonl", NULL);
	tf = trace_file_open(path2, &err);
	trace_file_line(tf, hdr, strlen(hdr));
	trace_file_abort(tf);
	assert_false(g_file_test(path2, G_FILE_TEST_EXISTS));
	GDir *d = g_dir_open(dir, 0, NULL);
	int n = 0;
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	assert_int_equal(n, 1);
	g_unlink(path);
	g_rmdir(dir);
	g_free(hdr);
	g_free(path);
	g_free(path2);
	g_free(dir);
}

static void bad_headers_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *content, *needle;
	} rows[] = {
		{"", "empty file"},
		{"hello\n", "not a JSON object"},
		{"{\"x\":1}\n", "not an snpsim trace"},
		{"{\"snpsim_trace\":99}\n", "version 99 is not supported"},
	};
	char *dir = g_dir_make_tmp("snpsim-trace-XXXXXX", NULL);
	char *path = g_build_filename(dir, "bad.jsonl", NULL);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		GError *err = NULL;
		assert_true(g_file_set_contents(path, rows[i].content, -1, NULL));
		trace_t *t = trace_read_file(path, &err);
		assert_null(t);
		if (!strstr(err->message, rows[i].needle) || !strstr(err->message, "bad.jsonl"))
			fail_msg("\"%s\": message \"%s\"", rows[i].content, err->message);
		g_error_free(err);
	}
	GError *err = NULL;
	assert_null(trace_read_file("/nonexistent/x.jsonl", &err));
	assert_int_equal(err->code, SNPSIM_ERROR_IO);
	g_error_free(err);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_format_is_fixed),
		cmocka_unit_test(contiguous_identical_events_coalesce),
		cmocka_unit_test(no_coalesce_writes_every_event),
		cmocka_unit_test(sequence_gap_breaks_a_run),
		cmocka_unit_test(every_kind_round_trips),
		cmocka_unit_test(bad_lines_are_named_errors),
		cmocka_unit_test(defaults_for_hand_written_lines),
		cmocka_unit_test(lines_compare_as_json),
		cmocka_unit_test(files_appear_only_when_committed),
		cmocka_unit_test(bad_headers_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
