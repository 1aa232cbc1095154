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
 */
#include "source.h"

#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct file_impl {
    FILE *f;
    bool is_stdin;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, paused;
    uint32_t steps; /* events allowed through while paused */
    double speed;   /* <= 0: as fast as possible */
    bool anchored;
    double t0;      /* event time of the anchor */
    struct timespec w0;
    uint32_t max_line;
} file_impl;

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

/* Read one line into *buf (NUL-terminated, without its newline). Returns its
 * length, -1 at end of file, or -2 for a line longer than max (skipped to its
 * end; *len_seen says how long it was). *consumed: bytes read from f. */
static long read_line(FILE *f, char **buf, size_t *cap, uint32_t max, uint64_t *consumed,
                      uint64_t *len_seen)
{
    size_t n = 0;
    int c;
    bool too_long = false;
    *len_seen = 0;
    while ((c = getc_unlocked(f)) != EOF) {
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

static void *file_thread(void *arg)
{
    source *s = arg;
    file_impl *fi = s->impl;
    char *buf = NULL;
    size_t cap = 0;
    uint64_t pos = atomic_load(&s->stats.position), seen;
    atomic_store(&s->stats.state, SOURCE_CONNECTED);
    while (!should_stop(fi)) {
        uint64_t start = pos;
        s->line++;
        long n = read_line(fi->f, &buf, &cap, fi->max_line, &pos, &seen);
        if (n == -1)
            break;
        if (n == -2 || n == -3) {
            char why[96];
            snprintf(why, sizeof why, n == -2 ? "line of %llu bytes exceeds the limit of %u"
                                              : "out of memory for a line of %llu bytes (%u)",
                     (unsigned long long)seen, fi->max_line);
            ingest_reject(s->ing, s, NULL, 0, why, start);
        } else { /* an empty line is a malformed message too: counted, dead-lettered */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            double recv = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
            if (ingest_message(s->ing, s, buf, (size_t)n, false, recv, start, INGEST_BLOCK) < 0)
                break; /* the run is ending */
        }
        atomic_store(&s->stats.position, pos);
    }
    if (ferror(fi->f))
        snprintf(s->last_error, sizeof s->last_error, "read error: %s", strerror(errno));
    free(buf);
    atomic_store(&s->stats.state, ferror(fi->f) ? SOURCE_FAILED : SOURCE_ENDED);
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
    if (fi->f && !fi->is_stdin)
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
        free(fi);
        free(s);
        return NULL;
    }
    struct stat st;
    if (!fi->is_stdin && fstat(fileno(fi->f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            dd_fail(cause, DD_EIO, "cannot read %s: it is a directory", path);
            fclose(fi->f);
            free(fi);
            free(s);
            return NULL;
        }
        atomic_store(&s->stats.size, (uint64_t)st.st_size);
    }
    if (opt && opt->start_offset && !fi->is_stdin) {
        if (fseeko(fi->f, (off_t)opt->start_offset, SEEK_SET)) {
            dd_fail(cause, DD_EIO, "cannot seek %s to %llu", path,
                    (unsigned long long)opt->start_offset);
            fclose(fi->f);
            free(fi);
            free(s);
            return NULL;
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
    fi->max_line = EVENT_DEFAULT_MAX_BYTES;
    s->ops = &file_ops;
    s->impl = fi;
    s->pace = file_pace;
    return s;
}
