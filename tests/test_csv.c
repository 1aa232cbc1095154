/*
 * test_csv.c: the CSV reader. RFC 4180 quoting, line breaks of every kind,
 * chunk boundaries anywhere, malformed records with their line numbers and
 * resynchronization, limits, and rows mapped to JSON and on to events.
 */
#include "csv.h"
#include "event.h"

#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records flattened to text: "L<line>:" then fields joined by '|', or
 * "L<line>!<error>"; one per line. */
typedef struct sink {
    char out[8192];
    size_t len;
    int records, stop_after;
} sink;

static int collect(void *ctx, const csv_record *rec)
{
    sink *k = ctx;
    k->records++;
    k->len += (size_t)snprintf(k->out + k->len, sizeof k->out - k->len, "L%llu%s",
                               (unsigned long long)rec->line, rec->error ? "!" : ":");
    if (rec->error)
        k->len += (size_t)snprintf(k->out + k->len, sizeof k->out - k->len, "%s", rec->error);
    for (uint32_t i = 0; i < rec->nfield; i++)
        k->len += (size_t)snprintf(k->out + k->len, sizeof k->out - k->len, "%s%.*s",
                                   i ? "|" : "", (int)rec->field[i].len, rec->field[i].s);
    k->len += (size_t)snprintf(k->out + k->len, sizeof k->out - k->len, "\n");
    return k->stop_after && k->records == k->stop_after;
}

/* Feed text in chunks of the given size (0: all at once). */
static const char *run(sink *k, const char *text, size_t chunk, size_t max_record,
                       uint32_t max_fields)
{
    memset(k, 0, sizeof *k);
    csv *c = csv_new(0, max_record, max_fields);
    size_t n = strlen(text);
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk)
        assert_int_equal(csv_feed(c, text + i, n - i < chunk ? n - i : chunk, collect, k), DD_OK);
    assert_int_equal(csv_finish(c, collect, k), DD_OK);
    csv_free(c);
    return k->out;
}

static const char *quoting_input =
    "\xef\xbb\xbfid,note,v\r\n"
    "1,\"a, b\",2\r\n"
    "\r\n"
    "2,\"say \"\"hi\"\"\",3\n"
    "3,\"two\nlines\",\n"
    "4,,\"\"\r"
    "5,last,9";

static const char *quoting_expected = "L1:id|note|v\n"
                                      "L2:1|a, b|2\n"
                                      "L4:2|say \"hi\"|3\n"
                                      "L5:3|two\nlines|\n"
                                      "L7:4||\n"
                                      "L7:5|last|9\n";

static void rfc4180_quoting_and_line_breaks(void **state)
{
    sink k;
    assert_string_equal(run(&k, quoting_input, 0, 0, 0), quoting_expected);
}

static void any_chunk_boundary_gives_the_same_records(void **state)
{
    sink k;
    for (size_t chunk = 1; chunk <= 9; chunk++)
        assert_string_equal(run(&k, quoting_input, chunk, 0, 0), quoting_expected);
}

static void malformed_records_are_reported_and_skipped(void **state)
{
    sink k;
    const char *in = "a,b\n"
                     "1,x\"y\n"           /* quote inside an unquoted field */
                     "2,\"ok\"junk\n"     /* text after a closing quote */
                     "3,fine\n"
                     "4,\"never closed\n"
                     "5,gone";
    assert_string_equal(run(&k, in, 0, 0, 0),
                        "L1:a|b\n"
                        "L2!quote inside an unquoted field\n"
                        "L3!text after a closing quote\n"
                        "L4:3|fine\n"
                        "L5!unterminated quote at the end of input\n");
}

static void limits_resynchronize_at_the_next_line(void **state)
{
    sink k;
    assert_string_equal(run(&k, "a,b\n0123456789012345678901234567890,x\nc,d\n", 0, 16, 0),
                        "L1:a|b\nL2!record longer than the limit\nL3:c|d\n");
    assert_string_equal(run(&k, "a,b,c\n1,2\n", 0, 0, 2),
                        "L1!more fields than the limit\nL2:1|2\n");
}

static void callback_can_stop_the_feed(void **state)
{
    sink k;
    memset(&k, 0, sizeof k);
    k.stop_after = 2;
    csv *c = csv_new(';', 0, 0);
    const char *in = "a;b\n1;2\n3;4\n";
    assert_int_equal(csv_feed(c, in, strlen(in), collect, &k), DD_ESTATE);
    assert_int_equal(k.records, 2);
    assert_string_equal(k.out, "L1:a|b\nL2:1|2\n");
    csv_free(c);
    csv_free(NULL);
}

static int note_end(void *ctx, const csv_record *rec)
{
    uint64_t *ends = ctx;
    ends[++ends[0]] = rec->end;
    return 0;
}

/* Each record reports the offset just past its line break: where a resumed
 * reader starts. */
static void record_end_offsets_allow_resuming(void **state)
{
    uint64_t ends[8] = {0};
    csv *c = csv_new(0, 0, 0);
    const char *in = "a,b\n\"1\n2\",3\nx\"y,4\n5,6";
    assert_int_equal(csv_feed(c, in, strlen(in), note_end, ends), DD_OK);
    assert_int_equal(csv_finish(c, note_end, ends), DD_OK);
    csv_free(c);
    assert_int_equal(ends[0], 4);
    assert_int_equal(ends[1], 4);  /* "a,b\n" */
    assert_int_equal(ends[2], 12); /* the quoted line break is inside */
    assert_int_equal(ends[4], 21); /* the last record, without a line break */
}

static void numbers_in_json_syntax_only(void **state)
{
    const char *yes[] = {"0", "-0", "7", "-12.5", "1e3", "2.5E-3", "0.001"};
    const char *no[] = {"007", "+1", "1.", ".5", "0x10", "inf", "nan", "1e", " 1", "1 ", "--1",
                        "1,5", ""};
    double v;
    for (size_t i = 0; i < DD_ARRAY_LEN(yes); i++)
        if (!csv_number(yes[i], strlen(yes[i]), &v))
            fail_msg("'%s' refused", yes[i]);
    for (size_t i = 0; i < DD_ARRAY_LEN(no); i++)
        if (csv_number(no[i], strlen(no[i]), &v))
            fail_msg("'%s' accepted", no[i]);
    assert_true(csv_number("-12.5", 5, &v));
    assert_close(v, -12.5, 0);
}

/* Header + rows through csv_row_json(), kept for the checks below. */
typedef struct rows {
    csv_header *h;
    cJSON *row[8];
    int n;
    char *err[8];
    int nerr;
} rows;

static int to_json(void *ctx, const csv_record *rec)
{
    rows *r = ctx;
    char *cause = NULL;
    if (!r->h) {
        assert_int_equal(csv_header_new(rec, &r->h, &cause), DD_OK);
        return 0;
    }
    cJSON *obj = NULL;
    if (csv_row_json(r->h, rec, &obj, &cause) == DD_OK)
        r->row[r->n++] = obj;
    else
        r->err[r->nerr++] = cause;
    return 0;
}

static void rows_become_json_objects_and_events(void **state)
{
    rows r = {0};
    csv *c = csv_new(0, 0, 0);
    const char *in = "id,ts,temp,device,y,\n"
                     "e1,1700000000,21.5,a7,1,x\n"
                     "e2,1700000001,,007,,\n"
                     "e3,1700000002,1\n";
    assert_int_equal(csv_feed(c, in, strlen(in), to_json, &r), DD_OK);
    assert_int_equal(csv_finish(c, to_json, &r), DD_OK);
    csv_free(c);
    assert_int_equal(csv_header_columns(r.h), 6);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.nerr, 1);
    assert_non_null(strstr(r.err[0], "line 4"));
    assert_non_null(strstr(r.err[0], "3 fields, the header has 6"));
    free(r.err[0]);

    dd_event *ev = NULL;
    assert_int_equal(event_from_json(r.row[0], NULL, NULL, &ev, NULL), DD_OK);
    assert_string_equal(ev->id, "e1");
    assert_close(ev->ts, 1700000000, 0);
    assert_close(ev->y.num, 1, 0);
    assert_int_equal(ev->nfeat, 3); /* temp, device, column6 */
    assert_close(event_find(ev, "temp")->num, 21.5, 0);
    assert_string_equal(event_find(ev, "device")->str, "a7");
    assert_string_equal(event_find(ev, "column6")->str, "x");
    event_free(ev);
    /* Empty cells are missing: no label (a delayed one), a missing feature. */
    assert_int_equal(event_from_json(r.row[1], NULL, NULL, &ev, NULL), DD_OK);
    assert_int_equal(ev->y.kind, DD_LABEL_NONE);
    assert_int_equal(event_find(ev, "temp")->kind, DD_VAL_MISSING);
    assert_string_equal(event_find(ev, "device")->str, "007"); /* not a JSON number */
    event_free(ev);
    for (int i = 0; i < r.n; i++)
        cJSON_Delete(r.row[i]);
    csv_header_free(r.h);
}

static void invalid_utf8_cells_are_refused(void **state)
{
    rows r = {0};
    csv *c = csv_new(0, 0, 0);
    const char *in = "id,a\n1,caf\xc3\xa9\n2,\xff\xfe\n3,\xc0\xaf\n";
    assert_int_equal(csv_feed(c, in, strlen(in), to_json, &r), DD_OK);
    csv_free(c);
    assert_int_equal(r.n, 1); /* cafe with its accent is fine */
    assert_int_equal(r.nerr, 2);
    assert_non_null(strstr(r.err[0], "line 3: column 'a' is not valid UTF-8"));
    for (int i = 0; i < r.nerr; i++)
        free(r.err[i]);
    cJSON_Delete(r.row[0]);
    csv_header_free(r.h);
}

static void duplicate_header_names_are_refused(void **state)
{
    csv_field f[] = {{"a", 1}, {"b", 1}, {"a", 1}};
    csv_record rec = {1, 3, f, NULL, 0};
    csv_header *h = NULL;
    char *cause = NULL;
    assert_int_equal(csv_header_new(&rec, &h, &cause), DD_EPARSE);
    assert_null(h);
    assert_non_null(strstr(cause, "'a' appears twice"));
    free(cause);
    cause = NULL;
    csv_record bad = {3, 0, NULL, "quote inside an unquoted field", 0};
    assert_int_equal(csv_header_new(&bad, &h, &cause), DD_EPARSE);
    free(cause);
    csv_header_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4180_quoting_and_line_breaks),
        cmocka_unit_test(any_chunk_boundary_gives_the_same_records),
        cmocka_unit_test(malformed_records_are_reported_and_skipped),
        cmocka_unit_test(limits_resynchronize_at_the_next_line),
        cmocka_unit_test(callback_can_stop_the_feed),
        cmocka_unit_test(record_end_offsets_allow_resuming),
        cmocka_unit_test(numbers_in_json_syntax_only),
        cmocka_unit_test(rows_become_json_objects_and_events),
        cmocka_unit_test(invalid_utf8_cells_are_refused),
        cmocka_unit_test(duplicate_header_names_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
