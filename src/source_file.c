/*
 * source_file.c: the recorded-file source (JSON Lines) and stdin.
 *
 * One thread reads lines with a bounded line reader (a line over the message
 * limit is skipped to its end and dead-lettered, never buffered whole), hands
 * each to ingest, and paces the events by their event time: at speed s an
 * event with time t is released at wall w0 + (t - t0) / s, where (t0, w0) is
 * re-anchored whenever the speed changes or the replay resumes. Pause and
 * single-step block the reader before the next event, so a paused replay
 * reads nothing. Waits are on a condition variable, so stop, resume and speed
 * changes take effect at once.
 *
 * Recordings made by `driftdeck record` (recording.h) are read too: a file
 * whose first line is the recording header is a recording, and each of its
 * lines is an envelope whose message, binary flag and receive time go to
 * ingest exactly as they arrived live. Their lines may be longer than a
 * message (escaping, base64): the line limit grows to fit, while ingest
 * still holds each message to the message limit.
 *
 * Gzip: a file that starts with the gzip magic bytes (1f 8b) is read through
 * zlib, whatever its name; positions are then offsets in the uncompressed
 * stream (resume seeks there with gzseek) and the size is unknown. CSV: a
 * PATH ending in .csv or .csv.gz (.tsv: tab-separated) is read by the CSV
 * reader (core/csv.c); its header names the columns, each row becomes a JSON
 * object and goes through ingest like a JSON line, a malformed row is
 * dead-lettered with its line number. Resuming a CSV reads the header first.
 *
 * Stdin is read with read(2) behind poll(2) with a short timeout instead of
 * stdio: a stop request (SIGTERM) is then seen while the producer is idle,
 * where a blocked fread() would keep the program from ever exiting.
 */
#include "source.h"

#include "csv.h"
#include "ingest.h"
#include "recording.h"

#include <cJSON.h>
#include <zlib.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STDIN_POLL_MS 100

typedef struct file_impl {
    FILE *f;
    gzFile gz; /* set instead of f for gzip files */
    uint64_t start_offset;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    double speed; /* <= 0: as fast as possible */
    double t0;    /* event time of the anchor */
    struct timespec w0;
    /* stdin: our own buffer (see the header comment) */
    size_t in_pos, in_len;
    char in_buf[1 << 16];
    int in_err;
    uint32_t steps; /* events allowed through while paused */
    uint32_t max_line;
    char csv_delim; /* 0: JSON Lines; ',' or '\t': CSV with a header row */
    bool is_stdin;
    bool started;
    bool stop, paused;
    bool anchored;
    bool in_eof, in_stopped;
    bool recording; /* envelopes (recording.h), not plain events */
} file_impl;

/* An envelope line can be ~6x its message (\u00XX escapes) plus the envelope. */
#define RECORDING_MAX_LINE (6u * EVENT_DEFAULT_MAX_BYTES + 4096u)

static double elapsed_since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) * 1e-9;
}

static struct timespec monotonic_after(double secs)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double whole = (double)(long)secs;
    t.tv_sec += (time_t)whole;
    t.tv_nsec += (long)((secs - whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Block while paused (unless a step is due) and until ev's release time. */
static void file_pace(source *s, const dd_event *ev)
{
    file_impl *fi = s->impl;
    pthread_mutex_lock(&fi->lock);
    for (;;) {
        if (fi->stop)
            break;
        if (fi->paused && fi->steps == 0) {
            atomic_store(&s->stats.state, SOURCE_PAUSED);
            fi->anchored = false;
            pthread_cond_wait(&fi->wake, &fi->lock);
            continue;
        }
        atomic_store(&s->stats.state, SOURCE_CONNECTED);
        if (fi->paused) {
            fi->steps--;
            break;
        }
        if (fi->speed <= 0)
            break;
        if (!fi->anchored) {
            fi->t0 = ev->ts;
            clock_gettime(CLOCK_MONOTONIC, &fi->w0);
            fi->anchored = true;
        }
        double wait = (ev->ts - fi->t0) / fi->speed - elapsed_since(&fi->w0);
        if (wait <= 0)
            break;
        struct timespec until = monotonic_after(wait > 1.0 ? 1.0 : wait);
        pthread_cond_timedwait(&fi->wake, &fi->lock, &until);
    }
    pthread_mutex_unlock(&fi->lock);
}

static bool should_stop(file_impl *fi);

/* The next byte of stdin, or EOF at its end, on an error (in_err) or when
 * the source is asked to stop (in_stopped). */
static int stdin_byte(file_impl *fi)
{
    while (fi->in_pos == fi->in_len) {
        if (fi->in_eof || fi->in_err)
            return EOF;
        if (should_stop(fi)) {
            fi->in_stopped = true;
            return EOF;
        }
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&pfd, 1, STDIN_POLL_MS);
        if (r <= 0) {
            if (r < 0 && errno != EINTR)
                fi->in_err = errno;
            continue;
        }
        ssize_t n = read(STDIN_FILENO, fi->in_buf, sizeof fi->in_buf);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            fi->in_err = errno;
        else if (n == 0)
            fi->in_eof = true;
        else if (n > 0)
            fi->in_pos = 0, fi->in_len = (size_t)n;
    }
    return (unsigned char)fi->in_buf[fi->in_pos++];
}

static inline int next_byte(file_impl *fi)
{
    if (fi->is_stdin)
        return stdin_byte(fi);
    return fi->gz ? gzgetc(fi->gz) : getc_unlocked(fi->f);
}

static bool read_failed(file_impl *fi)
{
    if (fi->is_stdin)
        return fi->in_err != 0;
    int zerr = Z_OK;
    if (fi->gz)
        gzerror(fi->gz, &zerr);
    /* Z_BUF_ERROR at the end: the compressed stream was cut short. */
    return fi->gz ? zerr != Z_OK : ferror(fi->f) != 0;
}

/* Read one line into *buf (NUL-terminated, without its newline). Returns its
 * length, -1 at end of file, or -2 for a line longer than max (skipped to its
 * end; *len_seen says how long it was). *consumed: bytes read from f. */
static long read_line(file_impl *fi, char **buf, size_t *cap, uint32_t max, uint64_t *consumed,
                      uint64_t *len_seen)
{
    size_t n = 0;
    int c;
    bool too_long = false;
    *len_seen = 0;
    while ((c = next_byte(fi)) != EOF) {
        (*consumed)++;
        if (c == '\n')
            break;
        (*len_seen)++;
        if (too_long)
            continue;
        if (n == max) {
            too_long = true;
            continue;
        }
        if (n + 1 >= *cap) {
            size_t ncap = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                return -3;
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0 && !too_long && *len_seen == 0)
        return -1;
    if (too_long)
        return -2;
    if (!*buf) { /* an empty first line: nothing was stored yet */
        if (!(*buf = malloc(4096)))
            return -3;
        *cap = 4096;
    }
    (*buf)[n] = '\0';
    return (long)n;
}

static bool should_stop(file_impl *fi)
{
    pthread_mutex_lock(&fi->lock);
    bool stop = fi->stop;
    pthread_mutex_unlock(&fi->lock);
    return stop;
}

/* Hand a recorded message to ingest as it arrived live. Returns
 * ingest_message()'s result, or 0 for a line that is not an envelope
 * (counted and dead-lettered). */
static int replay_envelope(source *s, const char *line, size_t n, uint64_t pos)
{
    recording_msg m;
    char *cause = NULL;
    if (recording_parse(line, n, &m, &cause)) {
        ingest_reject(s->ing, s, line, n, cause ? cause : "bad recording line", pos);
        free(cause);
        return 0;
    }
    int r = ingest_message(s->ing, s, m.data, m.len, m.binary, m.recv_ts, pos, INGEST_BLOCK);
    recording_msg_clear(&m);
    return r;
}

/* A recording resumed at an offset: its header is not read by the thread.
 * Reads the first line (the caller seeks afterwards). */
static bool file_is_recording(file_impl *fi)
{
    char *buf = NULL;
    size_t cap = 0;
    uint64_t consumed = 0, seen;
    long n = read_line(fi, &buf, &cap, 4096, &consumed, &seen);
    bool yes = n > 0 && recording_is_header(buf, (size_t)n);
    free(buf);
    return yes;
}

static double wall_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* ---- CSV ------------------------------------------------------------------------ */

typedef struct csv_ctx {
    source *s;
    csv_header *h;
    uint64_t base;     /* file offset of byte 0 as the reader counts (resume) */
    uint64_t prev_end; /* where the previous record ended (a row's raw bytes) */
    bool skip_rows;    /* resuming: the header is read from the start, then seek */
    bool ended;        /* the run is ending, or the header was bad */
} csv_ctx;

static int csv_row(void *ctx, const csv_record *rec)
{
    csv_ctx *c = ctx;
    source *s = c->s;
    file_impl *fi = s->impl;
    char *cause = NULL;
    s->line = rec->line;
    uint64_t pos = c->base + rec->end;
    if (!c->h) {
        c->prev_end = rec->end;
        if (csv_header_new(rec, &c->h, &cause)) {
            snprintf(s->last_error, sizeof s->last_error, "%s", cause ? cause : "bad header");
            c->ended = true;
        }
        free(cause);
        return c->ended || c->skip_rows;
    }
    cJSON *obj = NULL;
    if (csv_row_json(c->h, rec, &obj, &cause)) {
        const char *why = cause ? cause : "malformed row";
        ingest_reject(s->ing, s, NULL, 0, why, pos);
    } else if (ingest_object(s->ing, s, obj, (size_t)(rec->end - c->prev_end), wall_now(), pos,
                             INGEST_BLOCK) < 0) {
        c->ended = true;
    }
    c->prev_end = rec->end;
    cJSON_Delete(obj);
    free(cause);
    atomic_store(&s->stats.position, pos);
    return c->ended || should_stop(fi);
}

static long read_chunk(file_impl *fi, char *buf, size_t n)
{
    if (fi->gz) {
        int r = gzread(fi->gz, buf, (unsigned)n);
        return r < 0 ? -1 : r;
    }
    size_t r = fread(buf, 1, n, fi->f);
    return r == 0 && ferror(fi->f) ? -1 : (long)r;
}

static dd_err seek_to(file_impl *fi, uint64_t off)
{
    if (fi->gz)
        return gzseek(fi->gz, (z_off_t)off, SEEK_SET) < 0 ? DD_EIO : DD_OK;
    return fseeko(fi->f, (off_t)off, SEEK_SET) ? DD_EIO : DD_OK;
}

/* Read the whole file as CSV. Returns false on a read error or a bad header. */
static bool csv_loop(source *s)
{
    file_impl *fi = s->impl;
    csv_ctx c = {.s = s, .skip_rows = fi->start_offset > 0};
    csv *r = csv_new(fi->csv_delim, fi->max_line, 0);
    char *buf = malloc(1 << 16);
    bool ok = r && buf;
    if (!ok)
        snprintf(s->last_error, sizeof s->last_error, "out of memory");
    if (ok && c.skip_rows) { /* the header first, then where we left off */
        long n;
        dd_err e = DD_OK;
        while (!c.h && !c.ended && (n = read_chunk(fi, buf, 1 << 16)) > 0)
            e = csv_feed(r, buf, (size_t)n, csv_row, &c);
        (void)e;
        ok = c.h && seek_to(fi, fi->start_offset) == DD_OK;
        if (!ok && !c.ended)
            snprintf(s->last_error, sizeof s->last_error, "cannot resume the CSV at %llu",
                     (unsigned long long)fi->start_offset);
        csv_free(r);
        r = csv_new(fi->csv_delim, fi->max_line, 0);
        ok = ok && r;
        c.base = fi->start_offset;
        c.prev_end = 0;
        c.skip_rows = false;
    }
    while (ok && !c.ended && !should_stop(fi)) {
        long n = read_chunk(fi, buf, 1 << 16);
        if (n < 0 || (n == 0 && read_failed(fi))) {
            snprintf(s->last_error, sizeof s->last_error, "read error: %s",
                     fi->gz ? gzerror(fi->gz, &(int){0}) : strerror(errno));
            ok = false;
        } else if (n == 0) {
            csv_finish(r, csv_row, &c);
            break;
        } else if (csv_feed(r, buf, (size_t)n, csv_row, &c) == DD_ENOMEM) {
            ingest_reject(s->ing, s, NULL, 0, "out of memory for a CSV record",
                          c.base + csv_lines(r));
        }
    }
    if (c.ended && !c.h)
        ok = false;
    csv_free(r);
    csv_header_free(c.h);
    free(buf);
    return ok;
}

static void *file_thread(void *arg)
{
    source *s = arg;
    file_impl *fi = s->impl;
    if (fi->csv_delim) {
        atomic_store(&s->stats.state, SOURCE_CONNECTED);
        bool ok = csv_loop(s);
        atomic_store(&s->stats.state, ok ? SOURCE_ENDED : SOURCE_FAILED);
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    uint64_t pos = atomic_load(&s->stats.position), seen;
    atomic_store(&s->stats.state, SOURCE_CONNECTED);
    while (!should_stop(fi)) {
        uint64_t start = pos;
        s->line++;
        long n = read_line(fi, &buf, &cap, fi->max_line, &pos, &seen);
        if (n == -1 || fi->in_stopped)
            break; /* end of file, or stopped while waiting for stdin (a partial line) */
        if (n == -2 || n == -3) {
            char why[96];
            snprintf(why, sizeof why,
                     n == -2 ? "line of %llu bytes exceeds the limit of %u"
                             : "out of memory for a line of %llu bytes (%u)",
                     (unsigned long long)seen, fi->max_line);
            ingest_reject(s->ing, s, NULL, 0, why, start);
        } else if (s->line == 1 && recording_is_header(buf, (size_t)n)) {
            fi->recording = true;
            fi->max_line = RECORDING_MAX_LINE;
        } else if (fi->recording) {
            if (replay_envelope(s, buf, (size_t)n, start) < 0)
                break;
        } else { /* an empty line is a malformed message too: counted, dead-lettered */
            if (ingest_message(s->ing, s, buf, (size_t)n, false, wall_now(), start, INGEST_BLOCK) <
                0)
                break; /* the run is ending */
        }
        atomic_store(&s->stats.position, pos);
    }
    bool failed = read_failed(fi);
    if (failed)
        snprintf(s->last_error, sizeof s->last_error, "read error: %s",
                 fi->gz ? gzerror(fi->gz, &(int){0}) : strerror(fi->is_stdin ? fi->in_err : errno));
    free(buf);
    atomic_store(&s->stats.state, failed ? SOURCE_FAILED : SOURCE_ENDED);
    return NULL;
}

static dd_err file_start(source *s, char **cause)
{
    file_impl *fi = s->impl;
    if (pthread_create(&fi->thread, NULL, file_thread, s))
        return dd_fail(cause, DD_ENOMEM, "cannot start the file source thread");
    fi->started = true;
    return DD_OK;
}

static void file_stop(source *s)
{
    file_impl *fi = s->impl;
    pthread_mutex_lock(&fi->lock);
    fi->stop = true;
    pthread_cond_broadcast(&fi->wake);
    pthread_mutex_unlock(&fi->lock);
    if (fi->started) {
        pthread_join(fi->thread, NULL);
        fi->started = false;
    }
}

static void file_destroy(source *s)
{
    file_impl *fi = s->impl;
    if (!fi)
        return;
    if (fi->gz)
        gzclose(fi->gz);
    else if (fi->f && !fi->is_stdin)
        fclose(fi->f);
    pthread_cond_destroy(&fi->wake);
    pthread_mutex_destroy(&fi->lock);
    free(fi);
    s->impl = NULL;
}

static void file_control(source *s, source_ctl_kind kind, double arg)
{
    file_impl *fi = s->impl;
    pthread_mutex_lock(&fi->lock);
    switch (kind) {
    case SOURCE_CTL_PAUSE:
        fi->paused = true;
        break;
    case SOURCE_CTL_RESUME:
        fi->paused = false;
        fi->anchored = false;
        break;
    case SOURCE_CTL_STEP:
        if (fi->paused)
            fi->steps++;
        break;
    case SOURCE_CTL_SPEED:
        fi->speed = arg;
        fi->anchored = false;
        break;
    }
    pthread_cond_broadcast(&fi->wake);
    pthread_mutex_unlock(&fi->lock);
}

static const struct source_ops file_ops = {
    .kind = "file",
    .start = file_start,
    .stop = file_stop,
    .destroy = file_destroy,
    .control = file_control,
    .ack = NULL,
};

/* ',' for .csv / .csv.gz, '\t' for .tsv / .tsv.gz, 0 for anything else. */
static char csv_kind(const char *path)
{
    size_t n = strlen(path);
    if (n > 3 && !strcasecmp(path + n - 3, ".gz"))
        n -= 3;
    if (n > 4 && !strncasecmp(path + n - 4, ".csv", 4))
        return ',';
    if (n > 4 && !strncasecmp(path + n - 4, ".tsv", 4))
        return '\t';
    return 0;
}

/* Switch to zlib when the file starts with the gzip magic bytes. */
static dd_err open_gzip_if_compressed(file_impl *fi, source *s, const char *path, char **cause)
{
    unsigned char magic[2] = {0};
    size_t got = fread(magic, 1, 2, fi->f);
    rewind(fi->f);
    if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        return DD_OK;
    fclose(fi->f);
    fi->f = NULL;
    fi->gz = gzopen(path, "rb");
    if (!fi->gz)
        return dd_fail(cause, DD_EIO, "cannot open %s: %s", path, strerror(errno));
    gzbuffer(fi->gz, 1 << 17);
    atomic_store(&s->stats.size, 0); /* the uncompressed size is not known */
    return DD_OK;
}

static source *open_failed(source *s, file_impl *fi)
{
    if (fi->gz)
        gzclose(fi->gz);
    else if (fi->f && !fi->is_stdin)
        fclose(fi->f);
    free(fi);
    free(s);
    return NULL;
}

source *source_file_open(const char *path, const source_options *opt, char **cause)
{
    source *s = calloc(1, sizeof *s);
    file_impl *fi = calloc(1, sizeof *fi);
    if (!s || !fi) {
        free(s);
        free(fi);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    fi->is_stdin = !strcmp(path, "-");
    fi->f = fi->is_stdin ? stdin : fopen(path, "rb");
    if (!fi->f) {
        dd_fail(cause, DD_EIO, "cannot open %s: %s", path, strerror(errno));
        return open_failed(s, fi);
    }
    struct stat st;
    if (!fi->is_stdin && fstat(fileno(fi->f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            dd_fail(cause, DD_EIO, "cannot read %s: it is a directory", path);
            return open_failed(s, fi);
        }
        atomic_store(&s->stats.size, (uint64_t)st.st_size);
    }
    if (!fi->is_stdin) {
        if (open_gzip_if_compressed(fi, s, path, cause))
            return open_failed(s, fi);
        fi->csv_delim = csv_kind(path);
    }
    if (opt && opt->start_offset && !fi->is_stdin && !fi->csv_delim && file_is_recording(fi)) {
        fi->recording = true;
        fi->max_line = RECORDING_MAX_LINE;
    }
    if (opt && opt->start_offset && !fi->is_stdin) {
        /* A CSV seeks after reading its header (csv_loop). */
        fi->start_offset = opt->start_offset;
        if (!fi->csv_delim && seek_to(fi, opt->start_offset)) {
            dd_fail(cause, DD_EIO, "cannot seek %s to %llu", path,
                    (unsigned long long)opt->start_offset);
            return open_failed(s, fi);
        }
        atomic_store(&s->stats.position, opt->start_offset);
    }
    pthread_mutex_init(&fi->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fi->wake, &ca);
    pthread_condattr_destroy(&ca);
    fi->speed = opt ? opt->speed : 0;
    fi->paused = opt && opt->start_paused;
    if (!fi->recording)
        fi->max_line = EVENT_DEFAULT_MAX_BYTES;
    s->ops = &file_ops;
    s->impl = fi;
    s->pace = file_pace;
    return s;
}
