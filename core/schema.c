/*
 * schema.c: the mapping from a JSON message to an event's parts (schema.h).
 *
 * schema_new() splits every dotted path into segments and every list into
 * items once, so mapping a message only walks cJSON's member lists: a role's
 * lookup costs O(keys on its path), with a duplicate check on the way. The
 * inference half (schema_infer) reads a few sample messages, keeps per-field
 * statistics and picks names and types; it runs once, in `driftdeck schema`.
 */
#include "schema.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Conventional names of each role, tried in order (the default shape). */
static const char *const conventional[SCHEMA_ROLE__COUNT][4] = {
    [SCHEMA_ID] = {"id", NULL},
    [SCHEMA_TS] = {"ts", "time", "timestamp", NULL},
    [SCHEMA_LABEL] = {"y", "label", "target", NULL},
    [SCHEMA_GROUP] = {"group", NULL},
    [SCHEMA_TEXT] = {"text", NULL},
    [SCHEMA_EMB] = {"emb", NULL},
    [SCHEMA_OP] = {"op", NULL},
};

static const char *const role_keys[SCHEMA_ROLE__COUNT] = {
    "id", "ts", "label", "group", "text", "embedding", "op",
};

#define MAX_SEGS 16
#define MAX_ITEMS 512

typedef struct path {
    uint32_t n;
    const char *seg[MAX_SEGS]; /* into the schema's copy of the text */
} path;

typedef enum role_mode { ROLE_CONVENTIONAL = 0, ROLE_OFF, ROLE_PATH } role_mode;
typedef enum feat_mode { FEAT_AUTO = 0, FEAT_FLAT, FEAT_PATH } feat_mode;

typedef struct list {
    uint32_t n;
    const char *item[MAX_ITEMS];
} list;

struct schema {
    schema_params p;
    char text[SCHEMA_ROLE__COUNT + 1][SCHEMA_NAME_MAX]; /* split copies of the paths */
    char lists[2][SCHEMA_LIST_MAX];
    role_mode rmode[SCHEMA_ROLE__COUNT];
    path role[SCHEMA_ROLE__COUNT];
    feat_mode fmode;
    path feat;
    list include, exclude;
};

/* The default schema: zeroed parameters mean every role conventional,
 * features auto, no lists; a zeroed compiled schema says the same. */
static const schema *default_schema(void)
{
    static const schema d;
    return &d;
}

void schema_params_default(schema_params *p)
{
    memset(p, 0, sizeof *p);
}

const char *schema_role_key(schema_role r)
{
    return (unsigned)r < SCHEMA_ROLE__COUNT ? role_keys[r] : "?";
}

static const char *const label_type_names[] = {"auto", "number", "class", "regression"};
static const char *const ts_unit_names[] = {"s", "ms", "us", "ns"};
static const double ts_unit_scale[] = {1.0, 1e-3, 1e-6, 1e-9};

const char *schema_label_type_name(schema_label_type t)
{
    return (unsigned)t < DD_ARRAY_LEN(label_type_names) ? label_type_names[t] : "?";
}

const char *schema_ts_unit_name(schema_ts_unit u)
{
    return (unsigned)u < DD_ARRAY_LEN(ts_unit_names) ? ts_unit_names[u] : "?";
}

/* ---- parameters ------------------------------------------------------------ */

static dd_err set_text(char *dst, size_t cap, const char *key, const char *value, char **cause)
{
    size_t n = strlen(value);
    if (n >= cap)
        return dd_fail(cause, DD_EINVAL, "schema.%s: value longer than %zu bytes", key, cap - 1);
    memcpy(dst, value, n + 1);
    return DD_OK;
}

static dd_err append_list(char *dst, const char *key, const char *value, char **cause)
{
    size_t have = strlen(dst), n = strlen(value);
    if (n == 0)
        return DD_OK;
    size_t need = have + (have ? 1 : 0) + n + 1;
    if (need > SCHEMA_LIST_MAX)
        return dd_fail(cause, DD_EINVAL, "schema.%s: list longer than %u bytes", key,
                       SCHEMA_LIST_MAX - 1);
    if (have)
        dst[have++] = ',';
    memcpy(dst + have, value, n + 1);
    return DD_OK;
}

static int find_name(const char *const *names, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], value))
            return (int)i;
    return -1;
}

dd_err schema_params_set(schema_params *p, const char *key, const char *value, char **cause)
{
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++)
        if (!strcmp(key, role_keys[r]))
            return set_text(p->field[r], SCHEMA_NAME_MAX, key, value, cause);
    if (!strcmp(key, "features"))
        return set_text(p->features, SCHEMA_NAME_MAX, key, value, cause);
    if (!strcmp(key, "include"))
        return append_list(p->include, key, value, cause);
    if (!strcmp(key, "exclude"))
        return append_list(p->exclude, key, value, cause);
    if (!strcmp(key, "label_type")) {
        int i = find_name(label_type_names, DD_ARRAY_LEN(label_type_names), value);
        if (i < 0)
            return dd_fail(cause, DD_EINVAL,
                           "schema.label_type: '%s' is not auto, number, class or regression",
                           value);
        p->label_type = (schema_label_type)i;
        return DD_OK;
    }
    if (!strcmp(key, "ts_unit")) {
        int i = find_name(ts_unit_names, DD_ARRAY_LEN(ts_unit_names), value);
        if (i < 0)
            return dd_fail(cause, DD_EINVAL, "schema.ts_unit: '%s' is not s, ms, us or ns", value);
        p->ts_unit = (schema_ts_unit)i;
        return DD_OK;
    }
    return dd_fail(cause, DD_ENOTFOUND, "schema: unknown key '%s'", key);
}

/* Write "key = a,b,c" lines of at most ~150 bytes of list each. */
static void write_list(FILE *out, const char *key, const char *listv)
{
    if (!*listv) {
        fprintf(out, "%s =\n", key);
        return;
    }
    const char *p = listv;
    while (*p) {
        size_t take = 0, last_comma = 0;
        while (take < 150 && p[take]) {
            if (p[take] == ',')
                last_comma = take;
            take++;
        }
        if (p[take] && last_comma)
            take = last_comma;
        fprintf(out, "%s = %.*s\n", key, (int)take, p);
        p += take;
        if (*p == ',')
            p++;
    }
}

/* A value one INI line carries as it is: inih strips blanks at its edges
 * and starts comments at ';' and '#'; control bytes do not belong there. */
static bool ini_value_ok(const char *v)
{
    size_t n = strlen(v);
    if (n && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == ';' || v[i] == '#')
            return false;
    return true;
}

dd_err schema_params_write(const schema_params *p, const char *notes, FILE *out)
{
    bool ok = ini_value_ok(p->features) && ini_value_ok(p->include) && ini_value_ok(p->exclude);
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++)
        ok = ok && ini_value_ok(p->field[r]);
    if (!ok) /* a field name an INI file cannot carry: writing it would change it */
        return DD_EINVAL;
    if (notes)
        fputs(notes, out);
    fputs("[schema]\n"
          "# where the features are: empty = x when present, else every other top-level\n"
          "# field; \".\" = top level; or a dotted path to an object\n",
          out);
    fprintf(out, "features = %s\n", p->features);
    fputs("# fields of each role: empty = conventional names, \"-\" = none\n", out);
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++) {
        fprintf(out, "%s = %s\n", role_keys[r], p->field[r]);
        if (r == SCHEMA_TS)
            fprintf(out, "ts_unit = %s\n", schema_ts_unit_name(p->ts_unit));
        if (r == SCHEMA_LABEL)
            fprintf(out, "label_type = %s\n", schema_label_type_name(p->label_type));
    }
    fputs("# features by flattened name (a.b); a name covers its subtree, pre* a prefix\n", out);
    write_list(out, "include", p->include);
    write_list(out, "exclude", p->exclude);
    return ferror(out) ? DD_EIO : DD_OK;
}

/* ---- compiling ----------------------------------------------------------------- */

static dd_err split_path(char *text, path *out, const char *key, char **cause)
{
    out->n = 0;
    char *p = text;
    for (;;) {
        char *dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        if (!*p)
            return dd_fail(cause, DD_EINVAL, "schema.%s: empty segment in the path", key);
        if (out->n == MAX_SEGS)
            return dd_fail(cause, DD_EINVAL, "schema.%s: more than %d segments", key, MAX_SEGS);
        out->seg[out->n++] = p;
        if (!dot)
            return DD_OK;
        p = dot + 1;
    }
}

static dd_err split_list(char *text, list *out, const char *key, char **cause)
{
    out->n = 0;
    char *p = text;
    while (*p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*p) {
            if (out->n == MAX_ITEMS)
                return dd_fail(cause, DD_EINVAL, "schema.%s: more than %d names", key, MAX_ITEMS);
            out->item[out->n++] = p;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return DD_OK;
}

schema *schema_new(const schema_params *p, char **cause)
{
    schema *s = calloc(1, sizeof *s);
    if (!s) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    s->p = *p;
    dd_err err = DD_OK;
    for (int r = 0; r < SCHEMA_ROLE__COUNT && !err; r++) {
        const char *f = p->field[r];
        memcpy(s->text[r], f, SCHEMA_NAME_MAX);
        s->text[r][SCHEMA_NAME_MAX - 1] = '\0';
        if (!*f)
            s->rmode[r] = ROLE_CONVENTIONAL;
        else if (!strcmp(f, "-"))
            s->rmode[r] = ROLE_OFF;
        else {
            s->rmode[r] = ROLE_PATH;
            err = split_path(s->text[r], &s->role[r], role_keys[r], cause);
        }
    }
    char *ft = s->text[SCHEMA_ROLE__COUNT];
    memcpy(ft, p->features, SCHEMA_NAME_MAX);
    ft[SCHEMA_NAME_MAX - 1] = '\0';
    if (!err) {
        if (!*ft)
            s->fmode = FEAT_AUTO;
        else if (!strcmp(ft, "."))
            s->fmode = FEAT_FLAT;
        else {
            s->fmode = FEAT_PATH;
            err = split_path(ft, &s->feat, "features", cause);
        }
    }
    memcpy(s->lists[0], p->include, SCHEMA_LIST_MAX);
    memcpy(s->lists[1], p->exclude, SCHEMA_LIST_MAX);
    s->lists[0][SCHEMA_LIST_MAX - 1] = s->lists[1][SCHEMA_LIST_MAX - 1] = '\0';
    if (!err)
        err = split_list(s->lists[0], &s->include, "include", cause);
    if (!err)
        err = split_list(s->lists[1], &s->exclude, "exclude", cause);
    if (err) {
        free(s);
        return NULL;
    }
    return s;
}

void schema_free(schema *s)
{
    free(s);
}

const schema_params *schema_get_params(const schema *s)
{
    return s ? &s->p : &default_schema()->p;
}

/* ---- mapping ------------------------------------------------------------------ */

/* Member key of obj, or NULL; DD_EPARSE when the key appears twice. */
static dd_err member(const cJSON *obj, const char *key, const cJSON **out, char **cause)
{
    *out = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!c->string || strcmp(c->string, key) != 0)
            continue;
        if (*out)
            return dd_fail(cause, DD_EPARSE, "duplicate key '%s'", key);
        *out = c;
    }
    return DD_OK;
}

static dd_err walk(const cJSON *obj, const path *pth, const cJSON **out, char **cause)
{
    const cJSON *cur = obj;
    *out = NULL;
    for (uint32_t i = 0; i < pth->n; i++) {
        if (!cJSON_IsObject(cur))
            return DD_OK;
        const cJSON *next = NULL;
        dd_err err = member(cur, pth->seg[i], &next, cause);
        if (err)
            return err;
        if (!next)
            return DD_OK;
        cur = next;
    }
    *out = cur;
    return DD_OK;
}

dd_err schema_find(const schema *s, const cJSON *obj, schema_role r, const cJSON **out,
                   char **cause)
{
    if (!s)
        s = default_schema();
    *out = NULL;
    const cJSON *v = NULL;
    dd_err err = DD_OK;
    if (s->rmode[r] == ROLE_OFF)
        return DD_OK;
    if (s->rmode[r] == ROLE_PATH) {
        err = walk(obj, &s->role[r], &v, cause);
    } else {
        for (int i = 0; conventional[r][i] && !v && !err; i++)
            err = member(obj, conventional[r][i], &v, cause);
    }
    if (err)
        return err;
    *out = (v && !cJSON_IsNull(v)) ? v : NULL;
    return DD_OK;
}

dd_err schema_features(const schema *s, const cJSON *obj, const cJSON **container, bool *flat,
                       char **cause)
{
    if (!s)
        s = default_schema();
    *container = NULL;
    *flat = false;
    const cJSON *x = NULL;
    dd_err err;
    switch (s->fmode) {
    case FEAT_FLAT:
        *container = obj;
        *flat = true;
        return DD_OK;
    case FEAT_AUTO:
        if ((err = member(obj, "x", &x, cause)))
            return err;
        if (!x) {
            *container = obj;
            *flat = true;
            return DD_OK;
        }
        if (!cJSON_IsObject(x))
            return dd_fail(cause, DD_ETYPE, "x must be an object of features");
        *container = x;
        return DD_OK;
    case FEAT_PATH:
        if ((err = walk(obj, &s->feat, &x, cause)))
            return err;
        if (x && !cJSON_IsNull(x) && !cJSON_IsObject(x))
            return dd_fail(cause, DD_ETYPE, "%s must be an object of features", s->p.features);
        *container = cJSON_IsObject(x) ? x : NULL;
        return DD_OK;
    }
    return DD_OK;
}

bool schema_is_role_key(const schema *s, const char *key)
{
    if (!s)
        s = default_schema();
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++) {
        if (s->rmode[r] == ROLE_CONVENTIONAL) {
            for (int i = 0; conventional[r][i]; i++)
                if (!strcmp(key, conventional[r][i]))
                    return true;
        } else if (s->rmode[r] == ROLE_PATH && s->role[r].n == 1 &&
                   !strcmp(key, s->role[r].seg[0])) {
            return true;
        }
    }
    return false;
}

static bool item_matches(const char *item, const char *name)
{
    size_t n = strlen(item);
    if (n && item[n - 1] == '*')
        return strncmp(item, name, n - 1) == 0;
    return strncmp(item, name, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* Whether the dotted name (after prefix segments pre[0..npre)) spells path. */
static bool path_equals(const path *pth, const path *pre, uint32_t npre, const char *name)
{
    if (pth->n <= npre)
        return false;
    for (uint32_t i = 0; i < npre; i++)
        if (strcmp(pth->seg[i], pre->seg[i]) != 0)
            return false;
    const char *p = name;
    for (uint32_t i = npre; i < pth->n; i++) {
        size_t n = strlen(pth->seg[i]);
        if (strncmp(p, pth->seg[i], n) != 0)
            return false;
        p += n;
        if (i + 1 < pth->n) {
            if (*p != '.')
                return false;
            p++;
        }
    }
    return *p == '\0';
}

bool schema_keeps(const schema *s, const char *name, bool flat)
{
    if (!s)
        s = default_schema();
    static const path x_path = {1, {"x"}};
    const path *pre = flat ? NULL : (s->fmode == FEAT_PATH ? &s->feat : &x_path);
    uint32_t npre = pre ? pre->n : 0;
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++)
        if (s->rmode[r] == ROLE_PATH && path_equals(&s->role[r], pre, npre, name))
            return false;
    for (uint32_t i = 0; i < s->exclude.n; i++)
        if (item_matches(s->exclude.item[i], name))
            return false;
    if (s->include.n == 0)
        return true;
    for (uint32_t i = 0; i < s->include.n; i++)
        if (item_matches(s->include.item[i], name))
            return true;
    return false;
}

/* ---- values ---------------------------------------------------------------------- */

/* A whole-string decimal number (no hex, inf or nan, no spaces). */
static bool parse_number(const char *text, double *out)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return false;
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v))
        return false;
    for (const char *q = text; q < end; q++)
        if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'i' || *q == 'I')
            return false;
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date: the days_from_civil
 * algorithm of H. Hinnant, "chrono-Compatible Low-Level Date Algorithms". */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static bool parse_zone(const char *p, int *offset_s)
{
    *offset_s = 0;
    if (*p == '\0')
        return true;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1, hh, mm = 0;
    p++;
    if (!digits(&p, 2, &hh))
        return false;
    if (*p == ':')
        p++;
    if (*p && !digits(&p, 2, &mm))
        return false;
    if (*p || hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return true;
}

bool schema_parse_iso8601(const char *text, double *out)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec))
                return false;
            if (*p == '.' || *p == ',') {
                double scale = 0.1;
                p++;
                if (!isdigit((unsigned char)*p))
                    return false;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p++ - '0') * scale;
                    scale /= 10;
                }
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return false;
    }
    int off;
    if (!parse_zone(p, &off))
        return false;
    double days = (double)days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac - off;
    return true;
}

dd_err schema_ts(const schema *s, const cJSON *v, double *ts, char **cause)
{
    if (!s)
        s = default_schema();
    double scale = ts_unit_scale[s->p.ts_unit];
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble))
            return dd_fail(cause, DD_ENONFINITE, "ts is not a finite number");
        *ts = v->valuedouble * scale;
        return DD_OK;
    }
    if (cJSON_IsString(v)) {
        double t;
        if (parse_number(v->valuestring, &t)) {
            *ts = t * scale;
            return DD_OK;
        }
        if (schema_parse_iso8601(v->valuestring, &t)) {
            *ts = t;
            return DD_OK;
        }
    }
    return dd_fail(cause, DD_ETYPE, "ts must be a number (%s) or an ISO 8601 date-time string",
                   schema_ts_unit_name(s->p.ts_unit));
}

static dd_err label_number(const cJSON *v, bool allow_bool, dd_label *y, char **cause)
{
    double num;
    if (cJSON_IsBool(v) && allow_bool)
        num = cJSON_IsTrue(v) ? 1.0 : 0.0;
    else if (cJSON_IsNumber(v))
        num = v->valuedouble;
    else if (cJSON_IsString(v) && parse_number(v->valuestring, &num))
        ;
    else
        return dd_fail(cause, DD_ETYPE, "label must be a number%s",
                       allow_bool ? " or a boolean" : "");
    if (!isfinite(num))
        return dd_fail(cause, DD_ENONFINITE, "label is not a finite number");
    y->kind = DD_LABEL_NUM;
    y->num = num;
    y->str = NULL;
    return DD_OK;
}

static dd_err label_class(const cJSON *v, dd_label *y, char *buf, size_t buflen, char **cause)
{
    y->kind = DD_LABEL_STR;
    y->num = 0;
    if (cJSON_IsString(v)) {
        y->str = v->valuestring;
        return DD_OK;
    }
    if (cJSON_IsBool(v)) {
        y->str = cJSON_IsTrue(v) ? "true" : "false";
        return DD_OK;
    }
    if (!cJSON_IsNumber(v))
        return dd_fail(cause, DD_ETYPE, "label must be a class name, a number or a boolean");
    double d = v->valuedouble;
    if (!isfinite(d))
        return dd_fail(cause, DD_ENONFINITE, "label is not a finite number");
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        snprintf(buf, buflen, "%lld", (long long)d);
    else
        snprintf(buf, buflen, "%.17g", d);
    y->str = buf;
    return DD_OK;
}

dd_err schema_label(const schema *s, const cJSON *v, dd_label *y, char *buf, size_t buflen,
                    char **cause)
{
    if (!s)
        s = default_schema();
    switch (s->p.label_type) {
    case SCHEMA_LABEL_NUMBER:
        return label_number(v, true, y, cause);
    case SCHEMA_LABEL_REGRESSION:
        return label_number(v, false, y, cause);
    case SCHEMA_LABEL_CLASS:
        return label_class(v, y, buf, buflen, cause);
    case SCHEMA_LABEL_AUTO:
        break;
    }
    if (cJSON_IsString(v)) {
        y->kind = DD_LABEL_STR;
        y->str = v->valuestring;
        return DD_OK;
    }
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        return label_number(v, true, y, cause);
    return dd_fail(cause, DD_ETYPE, "label y must be a number, a boolean or a string");
}
