/* SPDX-License-Identifier: MIT */
/*
 * Trace encoding and decoding. Each event kind has a fixed list of fields; the
 * same table drives the writer (key order), the reader (which keys a kind may
 * have) and coalescing (which fields must match, which are ranges).
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker.h"
#include "guestfw.h"
#include "names.h"
#include "simerr.h"

typedef enum field {
	F_END = 0,
	F_VCPU,
	F_GHCB_GPA,
	F_EXIT_REASON,
	F_EXIT_NAME, /* derived from exit_reason, informational */
	F_INFO1,
	F_INFO2,
	F_REQUEST,   /* info1 */
	F_RESPONSE,  /* info2 */
	F_FUNCTION,  /* derived from the MSR request code */
	F_GFN,
	F_GPA,
	F_SPA,
	F_NPAGES,
	F_SIZE,      /* page_2m: "4k" / "2m" */
	F_PSC_OP,    /* op */
	F_PSC_STATUS,
	F_ASSIGNED,
	F_RESULT,    /* status */
	F_LAUNCH_TYPE, /* op */
	F_ERROR_CODE,  /* info1 */
	F_NPF_ACTION,  /* op */
	F_FAULT,
	F_ACTION,      /* op: hv action */
	F_SET,
	F_CODE,        /* reason */
	F_TERM_NAME,   /* derived */
	F_STOP,
	F_VALIDATE,
	F_RDX,         /* info1 */
	F_VC_CODE,     /* code */
	F_NOTE,        /* op */
	F_ARG,         /* info1 */
	F_INVARIANT,
	F_CAUSE_SEQ,
	F_REF_SEQ,
	F_REF_VCPU,
	F_REF_SPA,
	F_OUTCOME,     /* op */
	F_OLD_SPA,     /* info1 */
	F_SEV_FEATURES, /* info1 */
	F_MAX,
} field_t;

static const char *const field_key[F_MAX] = {
	[F_VCPU] = "vcpu",
	[F_GHCB_GPA] = "ghcb_gpa",
	[F_EXIT_REASON] = "exit_reason",
	[F_EXIT_NAME] = "exit",
	[F_INFO1] = "info1",
	[F_INFO2] = "info2",
	[F_REQUEST] = "request",
	[F_RESPONSE] = "response",
	[F_FUNCTION] = "function",
	[F_GFN] = "gfn",
	[F_GPA] = "gpa",
	[F_SPA] = "spa",
	[F_NPAGES] = "npages",
	[F_SIZE] = "size",
	[F_PSC_OP] = "op",
	[F_PSC_STATUS] = "status",
	[F_ASSIGNED] = "assigned",
	[F_RESULT] = "result",
	[F_LAUNCH_TYPE] = "type",
	[F_ERROR_CODE] = "error_code",
	[F_NPF_ACTION] = "action",
	[F_FAULT] = "fault",
	[F_ACTION] = "action",
	[F_SET] = "set",
	[F_CODE] = "code",
	[F_TERM_NAME] = "reason",
	[F_STOP] = "stop",
	[F_VALIDATE] = "validate",
	[F_RDX] = "rdx",
	[F_VC_CODE] = "code",
	[F_NOTE] = "note",
	[F_ARG] = "arg",
	[F_INVARIANT] = "invariant",
	[F_CAUSE_SEQ] = "cause_seq",
	[F_REF_SEQ] = "ref_seq",
	[F_REF_VCPU] = "ref_vcpu",
	[F_REF_SPA] = "ref_spa",
	[F_OUTCOME] = "outcome",
	[F_OLD_SPA] = "old_spa",
	[F_SEV_FEATURES] = "sev_features",
};

#define MAXF 12
typedef struct kind_desc {
	field_t fields[MAXF];
	bool coalesce; /* per-page events: runs merge into one range line */
} kind_desc_t;

static const kind_desc_t kinds[SIM_EV_KIND_MAX] = {
	[SIM_EV_VMGEXIT] = {{F_VCPU, F_GHCB_GPA, F_EXIT_REASON, F_EXIT_NAME, F_INFO1, F_INFO2}},
	[SIM_EV_MSR_PROTOCOL] = {{F_VCPU, F_FUNCTION, F_REQUEST, F_RESPONSE}},
	[SIM_EV_PSC_ENTRY] = {{F_VCPU, F_GFN, F_NPAGES, F_SIZE, F_PSC_OP, F_PSC_STATUS}, true},
	[SIM_EV_RMPUPDATE] = {{F_VCPU, F_SPA, F_GPA, F_NPAGES, F_SIZE, F_ASSIGNED, F_RESULT}, true},
	[SIM_EV_PSMASH] = {{F_VCPU, F_SPA, F_NPAGES, F_RESULT}, true},
	[SIM_EV_UNSMASH] = {{F_VCPU, F_SPA, F_NPAGES, F_RESULT}, true},
	[SIM_EV_NPT_REMAP] = {{F_VCPU, F_GFN, F_SPA, F_OLD_SPA}},
	[SIM_EV_LAUNCH_UPDATE] = {{F_VCPU, F_GPA, F_SPA, F_NPAGES, F_LAUNCH_TYPE}, true},
	[SIM_EV_NPF] = {{F_VCPU, F_GPA, F_ERROR_CODE, F_NPF_ACTION}},
	[SIM_EV_FAULT] = {{F_VCPU, F_FAULT, F_ACTION, F_GFN}},
	[SIM_EV_AP_CREATE] = {{F_VCPU, F_GPA, F_SEV_FEATURES}},
	[SIM_EV_AP_DESTROY] = {{F_VCPU}},
	[SIM_EV_TERMINATE] = {{F_VCPU, F_SET, F_CODE, F_TERM_NAME}},
	[SIM_EV_STOP] = {{F_VCPU, F_STOP}},
	[SIM_EV_PVALIDATE] = {{F_VCPU, F_GPA, F_SPA, F_NPAGES, F_SIZE, F_VALIDATE, F_RESULT}, true},
	[SIM_EV_RMPADJUST] = {{F_VCPU, F_GPA, F_SPA, F_SIZE, F_RDX, F_RESULT}},
	[SIM_EV_VC] = {{F_VCPU, F_VC_CODE, F_GPA}},
	[SIM_EV_NOTE] = {{F_VCPU, F_NOTE, F_GPA, F_NPAGES, F_ARG}, true},
	[SIM_EV_VIOLATION] = {{F_VCPU, F_INVARIANT, F_GPA, F_SPA, F_CAUSE_SEQ, F_REF_SEQ,
			       F_REF_VCPU, F_REF_SPA}},
	[SIM_EV_END] = {{F_OUTCOME, F_SET, F_CODE, F_TERM_NAME, F_STOP}},
};

/* ------------------------------------------------------------------ formatting */

static void put_key(GString *s, const char *key)
{
	g_string_append_c(s, ',');
	g_string_append_c(s, '"');
	g_string_append(s, key);
	g_string_append_c(s, '"');
	g_string_append_c(s, ':');
}

static void put_u64(GString *s, uint64_t v)
{
	char buf[24];
	int i = sizeof(buf);
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	g_string_append_len(s, buf + i, (gssize)sizeof(buf) - i);
}

static void put_hex(GString *s, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[20];
	int i = sizeof(buf);
	buf[--i] = '"';
	do {
		buf[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	buf[--i] = '"';
	g_string_append_len(s, buf + i, (gssize)sizeof(buf) - i);
}

static void put_str(GString *s, const char *v)
{
	/* names come from fixed tables: no escaping needed, but be safe with NULL */
	g_string_append_c(s, '"');
	g_string_append(s, v ? v : "unknown");
	g_string_append_c(s, '"');
}

static uint64_t npages_of(const sim_event_t *ev)
{
	return ev->npages ? ev->npages : (ev->page_2m ? SNP_PAGES_PER_2M : 1);
}

static const char *term_name(uint32_t set, uint32_t code)
{
	const char *n = gfw_term_name(set, code);
	return n ? n : "unknown";
}

static void put_field(GString *s, field_t f, const sim_event_t *ev)
{
	switch (f) {
	case F_VCPU: put_key(s, "vcpu"); put_u64(s, ev->vcpu); break;
	case F_GHCB_GPA: put_key(s, field_key[f]); put_hex(s, ev->ghcb_gpa); break;
	case F_EXIT_REASON: put_key(s, field_key[f]); put_hex(s, ev->exit_reason); break;
	case F_EXIT_NAME: put_key(s, field_key[f]); put_str(s, hv_exit_code_to_string(ev->exit_reason)); break;
	case F_INFO1: case F_REQUEST: case F_ERROR_CODE: case F_RDX: case F_OLD_SPA:
	case F_SEV_FEATURES:
		put_key(s, field_key[f]); put_hex(s, ev->info1); break;
	case F_INFO2: case F_RESPONSE: put_key(s, field_key[f]); put_hex(s, ev->info2); break;
	case F_ARG: put_key(s, field_key[f]); put_u64(s, ev->info1); break;
	case F_FUNCTION:
		put_key(s, field_key[f]);
		put_str(s, hv_msr_code_to_string((uint32_t)(ev->info1 & GHCB_MSR_INFO_MASK)));
		break;
	case F_GFN: put_key(s, field_key[f]); put_hex(s, ev->gfn); break;
	case F_GPA: put_key(s, field_key[f]); put_hex(s, ev->gpa); break;
	case F_SPA: put_key(s, field_key[f]); put_hex(s, ev->spa); break;
	case F_NPAGES: put_key(s, field_key[f]); put_u64(s, npages_of(ev)); break;
	case F_SIZE: put_key(s, field_key[f]); put_str(s, ev->page_2m ? "2m" : "4k"); break;
	case F_PSC_OP: {
		const char *n = sim_psc_op_to_string(ev->op);
		put_key(s, field_key[f]);
		if (n)
			put_str(s, n);
		else
			put_u64(s, ev->op); /* an invalid op the guest sent, kept as a number */
		break;
	}
	case F_PSC_STATUS: put_key(s, field_key[f]); put_hex(s, ev->psc_status); break;
	case F_ASSIGNED: put_key(s, field_key[f]); g_string_append(s, ev->assigned ? "true" : "false"); break;
	case F_VALIDATE: put_key(s, field_key[f]); g_string_append(s, ev->validate ? "true" : "false"); break;
	case F_RESULT: put_key(s, field_key[f]); put_str(s, rmp_result_to_string(ev->status)); break;
	case F_LAUNCH_TYPE:
		/* a type without a name (a hand-written line that left it out) as its number */
		put_key(s, field_key[f]);
		if (sim_launch_type_to_string(ev->op))
			put_str(s, sim_launch_type_to_string(ev->op));
		else
			put_u64(s, ev->op);
		break;
	case F_NPF_ACTION: put_key(s, field_key[f]); put_str(s, hv_npf_action_to_string((hv_npf_action_t)ev->op)); break;
	case F_FAULT: put_key(s, field_key[f]); put_u64(s, ev->fault); break;
	case F_ACTION: put_key(s, field_key[f]); put_str(s, hv_action_to_string((hv_action_t)ev->op)); break;
	case F_SET: put_key(s, field_key[f]); put_u64(s, ev->set); break;
	case F_CODE: put_key(s, field_key[f]); put_u64(s, ev->reason); break;
	case F_TERM_NAME: put_key(s, field_key[f]); put_str(s, term_name(ev->set, ev->reason)); break;
	case F_STOP: put_key(s, field_key[f]); put_str(s, sim_stop_to_string(ev->stop)); break;
	case F_VC_CODE: put_key(s, field_key[f]); put_hex(s, ev->code); break;
	case F_NOTE: put_key(s, field_key[f]); put_str(s, sim_note_to_string(ev->op)); break;
	case F_INVARIANT: put_key(s, field_key[f]); put_str(s, sim_invariant_to_string((sim_invariant_t)ev->invariant)); break;
	case F_CAUSE_SEQ: put_key(s, field_key[f]); put_u64(s, ev->cause_seq); break;
	case F_REF_SEQ: put_key(s, field_key[f]); put_u64(s, ev->ref_seq); break;
	case F_REF_VCPU: put_key(s, field_key[f]); put_u64(s, ev->ref_vcpu); break;
	case F_REF_SPA: put_key(s, field_key[f]); put_hex(s, ev->ref_spa); break;
	case F_OUTCOME: put_key(s, field_key[f]); put_str(s, sim_outcome_to_string((sim_outcome_t)ev->op)); break;
	default: break;
	}
}

/* The end event names only the reason its outcome has. */
static bool end_has(const sim_event_t *ev, field_t f)
{
	if (f == F_SET || f == F_CODE || f == F_TERM_NAME)
		return ev->op == SIM_OUTCOME_TERMINATED;
	if (f == F_STOP)
		return ev->op == SIM_OUTCOME_STOPPED;
	return true;
}

static void format_event(GString *s, const sim_event_t *ev)
{
	g_string_append(s, "{\"seq\":");
	put_u64(s, ev->seq);
	if (ev->seq_last && ev->seq_last != ev->seq) {
		g_string_append(s, ",\"seq_last\":");
		put_u64(s, ev->seq_last);
	}
	g_string_append(s, ",\"ev\":");
	put_str(s, sim_ev_kind_to_string((sim_ev_kind_t)ev->kind));
	if (ev->kind > 0 && ev->kind < SIM_EV_KIND_MAX) {
		for (int i = 0; i < MAXF && kinds[ev->kind].fields[i] != F_END; i++) {
			field_t f = kinds[ev->kind].fields[i];
			if (ev->kind == SIM_EV_END && !end_has(ev, f))
				continue;
			put_field(s, f, ev);
		}
	}
	g_string_append_c(s, '}');
}

char *trace_event_to_line(const sim_event_t *ev)
{
	GString *s = g_string_sized_new(160);
	format_event(s, ev);
	return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------------ coalescing */

struct trace_enc {
	bool coalesce;
	trace_line_fn fn;
	void *ctx;
	bool have;
	sim_event_t pend; /* the run being built */
	GString *buf;
	uint64_t lines, events;
};

trace_enc_t *trace_enc_new(bool coalesce, trace_line_fn fn, void *ctx)
{
	trace_enc_t *enc = g_new0(trace_enc_t, 1);
	enc->coalesce = coalesce;
	enc->fn = fn;
	enc->ctx = ctx;
	enc->buf = g_string_sized_new(256);
	return enc;
}

void trace_enc_free(trace_enc_t *enc)
{
	if (!enc)
		return;
	g_string_free(enc->buf, TRUE);
	g_free(enc);
}

static void emit(trace_enc_t *enc, const sim_event_t *ev)
{
	g_string_truncate(enc->buf, 0);
	format_event(enc->buf, ev);
	enc->lines++;
	enc->fn(enc->ctx, enc->buf->str, enc->buf->len);
}

/* b continues run a: same everything, addresses contiguous, next in sequence */
static bool continues(const sim_event_t *a, const sim_event_t *b)
{
	if (a->kind != b->kind || a->vcpu != b->vcpu || !kinds[a->kind].coalesce)
		return false;
	uint64_t last = a->seq_last ? a->seq_last : a->seq;
	if (b->seq != last + 1)
		return false;
	if (a->page_2m != b->page_2m || a->op != b->op || a->validate != b->validate ||
	    a->assigned != b->assigned || a->psc_status != b->psc_status ||
	    memcmp(&a->status, &b->status, sizeof(a->status)) != 0 || a->info1 != b->info1)
		return false;
	uint64_t span = npages_of(a) << SNP_PAGE_SHIFT;
	switch (a->kind) {
	case SIM_EV_PSC_ENTRY:
		return b->gfn == a->gfn + npages_of(a);
	case SIM_EV_PSMASH:
	case SIM_EV_UNSMASH:
		return b->spa == a->spa + span;
	case SIM_EV_NOTE:
		/* only the range notes; a note's arg is part of its identity */
		if (a->op != GFW_NOTE_ACCEPTED && a->op != GFW_NOTE_RESCINDED &&
		    a->op != GFW_NOTE_UNACCEPTED && a->op != GFW_NOTE_PSC_DONE)
			return false;
		return b->gpa == a->gpa + span;
	default: /* pvalidate, rmpupdate, launch_update: GPA and SPA both contiguous */
		return b->gpa == a->gpa + span && b->spa == a->spa + span;
	}
}

void trace_enc_event(trace_enc_t *enc, const sim_event_t *ev)
{
	enc->events++;
	if (!enc->coalesce) {
		emit(enc, ev);
		return;
	}
	if (enc->have && continues(&enc->pend, ev)) {
		enc->pend.npages = npages_of(&enc->pend) + npages_of(ev);
		enc->pend.seq_last = ev->seq;
		return;
	}
	trace_enc_flush(enc);
	if (ev->kind > 0 && ev->kind < SIM_EV_KIND_MAX && kinds[ev->kind].coalesce) {
		enc->pend = *ev;
		enc->pend.npages = npages_of(ev);
		enc->have = true;
		return;
	}
	emit(enc, ev);
}

void trace_enc_flush(trace_enc_t *enc)
{
	if (!enc->have)
		return;
	enc->have = false;
	emit(enc, &enc->pend);
}

uint64_t trace_enc_lines(const trace_enc_t *enc)
{
	return enc->lines;
}

uint64_t trace_enc_events(const trace_enc_t *enc)
{
	return enc->events;
}

char *trace_header_line(const char *scenario_json, const char *engine, bool coalesce)
{
	return g_strdup_printf("{\"snpsim_trace\":%d,\"generator\":\"snpsim\",\"engine\":\"%s\","
			       "\"coalesce\":%s,\"scenario\":%s}",
			       TRACE_VERSION, engine, coalesce ? "true" : "false", scenario_json);
}

/* ------------------------------------------------------------------ files */

struct trace_file {
	char *path;
	char *tmp;
	FILE *f;
	bool failed;
	int err;
};

trace_file_t *trace_file_open(const char *path, GError **err)
{
	trace_file_t *tf = g_new0(trace_file_t, 1);
	tf->path = g_strdup(path);
	tf->tmp = g_strdup_printf("%s.tmp.XXXXXX", path);
	/* the mode a plain creat() would give, not mkstemp's private 0600 */
	mode_t mask = umask(0);
	umask(mask);
	int fd = g_mkstemp_full(tf->tmp, O_RDWR, 0666 & ~mask);
	if (fd < 0) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_IO, "%s: cannot create: %s", path,
			    g_strerror(errno));
		g_free(tf->tmp);
		g_free(tf->path);
		g_free(tf);
		return NULL;
	}
	tf->f = fdopen(fd, "w");
	setvbuf(tf->f, NULL, _IOFBF, 1 << 20);
	return tf;
}

void trace_file_line(trace_file_t *tf, const char *line, size_t len)
{
	if (tf->failed)
		return;
	if (fwrite(line, 1, len, tf->f) != len || fputc('\n', tf->f) == EOF) {
		tf->failed = true;
		tf->err = errno;
	}
}

void trace_file_line_cb(void *tf, const char *line, size_t len)
{
	trace_file_line(tf, line, len);
}

bool trace_file_commit(trace_file_t *tf, GError **err)
{
	bool ok = !tf->failed;
	int e = tf->err;
	if (fflush(tf->f) != 0 || fsync(fileno(tf->f)) != 0) {
		ok = false;
		e = errno;
	}
	if (fclose(tf->f) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (ok && rename(tf->tmp, tf->path) != 0) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_IO, "%s: cannot write trace: %s",
			    tf->path, g_strerror(e));
		unlink(tf->tmp);
	}
	g_free(tf->tmp);
	g_free(tf->path);
	g_free(tf);
	return ok;
}

void trace_file_abort(trace_file_t *tf)
{
	if (!tf)
		return;
	fclose(tf->f);
	unlink(tf->tmp);
	g_free(tf->tmp);
	g_free(tf->path);
	g_free(tf);
}

/* ------------------------------------------------------------------ reading */

void trace_free(trace_t *t)
{
	if (!t)
		return;
	g_free(t->path);
	g_free(t->engine);
	g_free(t->scenario_json);
	if (t->lines)
		g_ptr_array_free(t->lines, TRUE);
	if (t->line_no)
		g_array_free(t->line_no, TRUE);
	g_free(t);
}

static bool bad(GError **err, const char *where, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool bad(GError **err, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_INPUT, "%s: %s", where, msg);
	g_free(msg);
	return false;
}

trace_t *trace_read_file(const char *path, GError **err)
{
	char *data = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(path, &data, &len, &e)) {
		g_set_error(err, SNPSIM_ERROR, SNPSIM_ERROR_IO, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	trace_t *t = trace_read_buffer(data, len, path, err);
	g_free(data);
	return t;
}

trace_t *trace_read_buffer(const char *data, size_t len, const char *path, GError **err)
{
	if (memchr(data, '\0', len)) {
		bad(err, path, "not a text file (contains NUL bytes)");
		return NULL;
	}
	trace_t *t = g_new0(trace_t, 1);
	t->path = g_strdup(path);
	t->lines = g_ptr_array_new_with_free_func(g_free);
	t->line_no = g_array_new(FALSE, FALSE, sizeof(guint));
	char *text = g_strndup(data, len);
	char **lines = g_strsplit(text, "\n", -1);
	g_free(text);
	guint n = g_strv_length(lines);
	bool ok = true;
	guint first = 0;
	while (first < n && lines[first][0] == '\0')
		first++;
	if (first >= n) {
		ok = bad(err, path, "empty file: no trace header");
		goto out;
	}
	{
		char *where = g_strdup_printf("%s:%u", path, first + 1);
		json_tokener *tok = json_tokener_new();
		json_object *h = json_tokener_parse_ex(tok, lines[first], (int)strlen(lines[first]));
		enum json_tokener_error je = json_tokener_get_error(tok);
		json_tokener_free(tok);
		json_object *v;
		if (!h || je != json_tokener_success || !json_object_is_type(h, json_type_object)) {
			ok = bad(err, where, "not an snpsim trace: the header line is not a JSON object%s%s",
				 je != json_tokener_success ? ": " : "",
				 je != json_tokener_success ? json_tokener_error_desc(je) : "");
		} else if (!json_object_object_get_ex(h, "snpsim_trace", &v) ||
			   !json_object_is_type(v, json_type_int)) {
			ok = bad(err, where, "missing \"snpsim_trace\" version: not an snpsim trace");
		} else if (json_object_get_int(v) != TRACE_VERSION) {
			ok = bad(err, where, "trace version %d is not supported (this snpsim reads %d)",
				 json_object_get_int(v), TRACE_VERSION);
		} else {
			t->version = TRACE_VERSION;
			if (json_object_object_get_ex(h, "engine", &v) &&
			    json_object_is_type(v, json_type_string))
				t->engine = g_strdup(json_object_get_string(v));
			else
				t->engine = g_strdup("native");
			t->coalesce = json_object_object_get_ex(h, "coalesce", &v) &&
				      json_object_get_boolean(v);
			if (json_object_object_get_ex(h, "scenario", &v) &&
			    json_object_is_type(v, json_type_object))
				t->scenario_json = g_strdup(
					json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		}
		if (h)
			json_object_put(h);
		g_free(where);
	}
	if (!ok)
		goto out;
	for (guint i = first + 1; i < n; i++) {
		if (lines[i][0] == '\0')
			continue;
		guint no = i + 1;
		g_ptr_array_add(t->lines, g_strdup(lines[i]));
		g_array_append_val(t->line_no, no);
	}
out:
	g_strfreev(lines);
	if (!ok) {
		trace_free(t);
		return NULL;
	}
	return t;
}

static bool get_u64(json_object *v, uint64_t *out)
{
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x < 0)
			return false;
		*out = (uint64_t)x;
		return true;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end = NULL;
		if (!s[0] || s[0] == '-')
			return false;
		errno = 0;
		*out = g_ascii_strtoull(s, &end, 0);
		return errno == 0 && end && *end == '\0';
	}
	return false;
}

static const char *get_str(json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool kind_has(uint32_t kind, field_t f)
{
	for (int i = 0; i < MAXF && kinds[kind].fields[i] != F_END; i++)
		if (kinds[kind].fields[i] == f)
			return true;
	return false;
}

/* The field of this kind that uses key, or F_END. */
static field_t field_for_key(uint32_t kind, const char *key)
{
	for (int i = 0; i < MAXF && kinds[kind].fields[i] != F_END; i++)
		if (strcmp(field_key[kinds[kind].fields[i]], key) == 0)
			return kinds[kind].fields[i];
	return F_END;
}

static bool parse_field(field_t f, json_object *v, sim_event_t *ev, const char *where,
			const char *key, GError **err)
{
	uint64_t u = 0;
	const char *s;
	switch (f) {
	case F_EXIT_NAME:
	case F_FUNCTION:
	case F_TERM_NAME:
		return true; /* derived from other fields */
	case F_VALIDATE:
	case F_ASSIGNED:
		if (!json_object_is_type(v, json_type_boolean))
			return bad(err, where, "\"%s\" must be true or false", key);
		if (f == F_VALIDATE)
			ev->validate = json_object_get_boolean(v);
		else
			ev->assigned = json_object_get_boolean(v);
		return true;
	case F_SIZE:
		s = get_str(v);
		if (!s || (strcmp(s, "4k") && strcmp(s, "2m")))
			return bad(err, where, "\"size\" must be \"4k\" or \"2m\"");
		ev->page_2m = strcmp(s, "2m") == 0;
		return true;
	case F_RESULT:
		s = get_str(v);
		if (!s || !rmp_result_from_string(s, &ev->status))
			return bad(err, where, "\"result\": unknown outcome %s",
				   json_object_to_json_string(v));
		return true;
	case F_PSC_OP:
		if ((s = get_str(v))) {
			if (!sim_psc_op_from_string(s, &ev->op))
				return bad(err, where, "\"op\": unknown PSC operation \"%s\"", s);
			return true;
		}
		if (!get_u64(v, &u) || u > 15)
			return bad(err, where, "\"op\" must be a PSC operation name or 0..15");
		ev->op = (uint32_t)u;
		return true;
	case F_LAUNCH_TYPE:
		s = get_str(v);
		if (!s && get_u64(v, &u) && u <= UINT32_MAX) { /* as written for an unnamed type */
			ev->op = (uint32_t)u;
			return true;
		}
		if (!s || !sim_launch_type_from_string(s, &ev->op))
			return bad(err, where, "\"type\": unknown launch page type %s",
				   json_object_to_json_string(v));
		return true;
	case F_NPF_ACTION:
	case F_ACTION: {
		s = get_str(v);
		bool ok = false;
		if (s && f == F_ACTION) {
			hv_action_t a;
			ok = hv_action_from_string(s, &a);
			ev->op = a;
		} else if (s) {
			for (uint32_t a = HV_NPF_RETRY; a <= HV_NPF_STOP && !ok; a++) {
				const char *n = hv_npf_action_to_string((hv_npf_action_t)a);
				if (n && strcmp(n, s) == 0) {
					ev->op = a;
					ok = true;
				}
			}
		}
		if (!ok)
			return bad(err, where, "\"action\": unknown name %s",
				   json_object_to_json_string(v));
		return true;
	}
	case F_STOP:
		s = get_str(v);
		if (!s || !sim_stop_from_string(s, &ev->stop))
			return bad(err, where, "\"stop\": unknown stop reason %s",
				   json_object_to_json_string(v));
		return true;
	case F_NOTE:
		s = get_str(v);
		if (!s || !sim_note_from_string(s, &ev->op))
			return bad(err, where, "\"note\": unknown note %s", json_object_to_json_string(v));
		return true;
	case F_INVARIANT: {
		sim_invariant_t inv;
		s = get_str(v);
		if (!s || !sim_invariant_from_string(s, &inv))
			return bad(err, where, "\"invariant\": unknown invariant %s",
				   json_object_to_json_string(v));
		ev->invariant = inv;
		return true;
	}
	case F_OUTCOME: {
		sim_outcome_t o;
		s = get_str(v);
		if (!s || !sim_outcome_from_string(s, &o))
			return bad(err, where, "\"outcome\": unknown outcome %s",
				   json_object_to_json_string(v));
		ev->op = o;
		return true;
	}
	default:
		break;
	}
	if (!get_u64(v, &u))
		return bad(err, where, "\"%s\" must be a non-negative integer or a \"0x\" string", key);
	switch (f) {
	case F_VCPU: ev->vcpu = (uint32_t)u; break;
	case F_GHCB_GPA: ev->ghcb_gpa = u; break;
	case F_EXIT_REASON: ev->exit_reason = u; break;
	case F_INFO1: case F_REQUEST: case F_ERROR_CODE: case F_RDX: case F_ARG: case F_OLD_SPA:
	case F_SEV_FEATURES:
		ev->info1 = u; break;
	case F_INFO2: case F_RESPONSE: ev->info2 = u; break;
	case F_GFN: ev->gfn = u; break;
	case F_GPA: ev->gpa = u; break;
	case F_SPA: ev->spa = u; break;
	case F_NPAGES: ev->npages = u; break;
	case F_PSC_STATUS: ev->psc_status = u; break;
	case F_FAULT: ev->fault = (uint32_t)u; break;
	case F_SET: ev->set = (uint32_t)u; break;
	case F_CODE: ev->reason = (uint32_t)u; break;
	case F_VC_CODE: ev->code = u; break;
	case F_CAUSE_SEQ: ev->cause_seq = u; break;
	case F_REF_SEQ: ev->ref_seq = u; break;
	case F_REF_VCPU: ev->ref_vcpu = (uint32_t)u; break;
	case F_REF_SPA: ev->ref_spa = u; break;
	default: return bad(err, where, "\"%s\": unexpected field", key);
	}
	return true;
}

bool trace_parse_event(const char *line, const char *where, sim_event_t *ev, GError **err)
{
	memset(ev, 0, sizeof(*ev));
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, line, (int)strlen(line));
	enum json_tokener_error je = json_tokener_get_error(tok);
	json_tokener_free(tok);
	bool ok = true;
	if (!o || je != json_tokener_success || !json_object_is_type(o, json_type_object)) {
		ok = bad(err, where, "not a JSON object%s%s", je != json_tokener_success ? ": " : "",
			 je != json_tokener_success ? json_tokener_error_desc(je) : "");
		goto out;
	}
	json_object *v;
	const char *kname;
	sim_ev_kind_t kind;
	if (!json_object_object_get_ex(o, "ev", &v) || !(kname = get_str(v))) {
		ok = bad(err, where, "missing \"ev\" (the event kind)");
		goto out;
	}
	if (!sim_ev_kind_from_string(kname, &kind)) {
		ok = bad(err, where, "unknown event kind \"%s\"", kname);
		goto out;
	}
	ev->kind = kind;
	bool have_spa = false, have_npages = false;
	json_object_object_foreach(o, key, val)
	{
		if (strcmp(key, "ev") == 0)
			continue;
		if (strcmp(key, "seq") == 0 || strcmp(key, "seq_last") == 0) {
			uint64_t u;
			if (!get_u64(val, &u)) {
				ok = bad(err, where, "\"%s\" must be a non-negative integer", key);
				goto out;
			}
			if (key[3] == '\0')
				ev->seq = u;
			else
				ev->seq_last = u;
			continue;
		}
		field_t f = field_for_key(kind, key);
		if (f == F_END) {
			ok = bad(err, where, "\"%s\" events have no field \"%s\"", kname, key);
			goto out;
		}
		if (!parse_field(f, val, ev, where, key, err)) {
			ok = false;
			goto out;
		}
		have_spa |= f == F_SPA;
		have_npages |= f == F_NPAGES;
	}
	if (!have_spa && kind_has(kind, F_SPA) && kind_has(kind, F_GPA))
		ev->spa = ev->gpa; /* identity NPT */
	if (!have_npages && kind_has(kind, F_NPAGES))
		ev->npages = ev->page_2m ? SNP_PAGES_PER_2M : 1;
	if (ev->npages > (1ull << 40)) {
		ok = bad(err, where, "\"npages\" %" G_GUINT64_FORMAT " is absurd", ev->npages);
		goto out;
	}
	if (ev->seq_last && ev->seq_last < ev->seq) {
		ok = bad(err, where, "\"seq_last\" is before \"seq\"");
		goto out;
	}
out:
	if (o)
		json_object_put(o);
	return ok;
}

/* ------------------------------------------------------------------ comparison */

bool trace_lines_equal(const char *expected, const char *got, char **diff)
{
	if (strcmp(expected, got) == 0)
		return true;
	json_object *a = json_tokener_parse(expected), *b = json_tokener_parse(got);
	bool eq = false;
	char *msg = NULL;
	if (!a || !b || !json_object_is_type(a, json_type_object) ||
	    !json_object_is_type(b, json_type_object)) {
		msg = g_strdup("lines differ and are not both JSON objects");
		goto out;
	}
	json_object_object_foreach(a, ka, va)
	{
		json_object *vb;
		if (!json_object_object_get_ex(b, ka, &vb)) {
			msg = g_strdup_printf("field \"%s\": expected %s, got nothing", ka,
					      json_object_to_json_string(va));
			goto out;
		}
		if (!json_object_equal(va, vb)) {
			msg = g_strdup_printf("field \"%s\": expected %s, got %s", ka,
					      json_object_to_json_string(va),
					      json_object_to_json_string(vb));
			goto out;
		}
	}
	json_object_object_foreach(b, kb, vb2)
	{
		json_object *va2;
		if (!json_object_object_get_ex(a, kb, &va2)) {
			msg = g_strdup_printf("field \"%s\": expected nothing, got %s", kb,
					      json_object_to_json_string(vb2));
			goto out;
		}
	}
	eq = true;
out:
	if (a)
		json_object_put(a);
	if (b)
		json_object_put(b);
	if (diff)
		*diff = msg;
	else
		g_free(msg);
	return eq;
}
