/*
 * csv.h: a streaming CSV reader (RFC 4180) and the mapping of a row to a
 * JSON object by the header's column names.
 *
 * Bytes are fed in chunks of any size; a state machine (field start,
 * unquoted, quoted, quote-in-quoted) splits them into records and calls back
 * once per record, so quoted fields may hold delimiters, doubled quotes and
 * line breaks. Records end at LF, CRLF or CR; blank lines are skipped. A
 * malformed record (a quote inside an unquoted field, text after a closing
 * quote, an unterminated quote at the end, a record over the size or field
 * limit) is reported with its line number and the reader resynchronizes at
 * the next line. Memory is one record's bytes, bounded by max_record.
 *
 * A row becomes a JSON object: a cell in JSON number syntax is a number,
 * an empty cell is null (a missing value), anything else a string; so a CSV
 * file maps through the same schema as JSON Lines. Pure code, no I/O: the
 * fuzz harness drives csv_feed() directly.
 */
#ifndef DD_CSV_H
#define DD_CSV_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

typedef struct csv_field {
    const char *s; /* NUL-terminated (a field may also hold NULs: use len) */
    size_t len;
} csv_field;

typedef struct csv_record {
    uint64_t line; /* physical line (1-based) where the record starts */
    uint32_t nfield;
    const csv_field *field;
    const char *error; /* NULL, or why the record is malformed (then nfield is 0) */
    uint64_t end;      /* bytes fed (BOM included) up to and including the record's end */
} csv_record;

/* Called once per record; the record is valid only during the call. Return
 * 0 to go on, non-zero to stop csv_feed() at once. */
typedef int (*csv_record_fn)(void *ctx, const csv_record *rec);

typedef struct csv csv;

#define CSV_DEFAULT_MAX_RECORD (1u << 20)
#define CSV_DEFAULT_MAX_FIELDS 4096u

/* Returns a new reader splitting on delim (',' when 0), or NULL on no
 * memory. max_record: bytes of one record, max_fields: fields of one record
 * (0: the defaults above). Free with csv_free(). */
csv *csv_new(char delim, size_t max_record, uint32_t max_fields);
void csv_free(csv *c);

/* Feed len bytes, calling fn for each record they complete. Returns DD_OK,
 * DD_ESTATE when fn asked to stop (the rest of buf is not consumed: feed
 * nothing more), or DD_ENOMEM (the record under way is lost). */
dd_err csv_feed(csv *c, const char *buf, size_t len, csv_record_fn fn, void *ctx);

/* End of input: report the last record if it had no line break (or an
 * unterminated quote as a malformed record). Same returns as csv_feed(). */
dd_err csv_finish(csv *c, csv_record_fn fn, void *ctx);

/* Lines consumed so far (newlines seen). */
uint64_t csv_lines(const csv *c);

typedef struct csv_header csv_header;

/* Returns in *out a new header made from a record's fields (the column
 * names; an empty name becomes "columnN", 1-based). DD_EPARSE for a
 * duplicated name (the duplicate-key rule of schema.h) or a malformed
 * record. Free with csv_header_free(). */
dd_err csv_header_new(const csv_record *rec, csv_header **out, char **cause);
void csv_header_free(csv_header *h);
uint32_t csv_header_columns(const csv_header *h);

/* Returns in *out a new JSON object for one data record (free with
 * cJSON_Delete()). DD_EPARSE when the record is malformed or its field count
 * differs from the header's (cause names the line). */
dd_err csv_row_json(const csv_header *h, const csv_record *rec, struct cJSON **out, char **cause);

/* Whether s (len bytes) is a number in JSON syntax; its value in *v. */
bool csv_number(const char *s, size_t len, double *v);

#endif
