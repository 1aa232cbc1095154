/*
 * cmd_record.c: `driftdeck record URL -o FILE.jsonl` writes every message a
 * live WebSocket source sends, with its receive time, in the recording
 * envelope (recording.h), so the session replays later exactly as it ran.
 *
 * The client's loop thread formats and writes each line (stdio-buffered:
 * a slow disk slows reading, which TCP pushes back to the server; nothing is
 * dropped). The main thread waits for the end (a signal, --max-messages, the
 * connection ending with --no-reconnect, or giving up), flushes the file
 * every 100 ms so a killed recorder loses little, and prints status changes
 * on stderr.
 */
#include "commands.h"
#include "recording.h"
#include "wsclient.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

struct recorder {
    FILE *out;
    const char *path;
    source_stats stats;
    uint64_t max_messages;
    atomic_uint_fast64_t written, refused;
    atomic_bool write_failed, quiet;
    wsclient *client;
};

static bool rec_message(void *ud, const char *buf, size_t len, bool binary, double recv_ts)
{
    struct recorder *r = ud;
    atomic_fetch_add(&r->stats.messages, 1);
    atomic_fetch_add(&r->stats.bytes, len);
    if (r->max_messages && atomic_load(&r->written) >= r->max_messages)
        return true; /* past the limit: the main thread is stopping us */
    size_t n;
    char *line = recording_line(buf, len, binary, recv_ts, &n);
    if (!line || fwrite(line, 1, n, r->out) != n)
        atomic_store(&r->write_failed, true);
    else
        atomic_fetch_add(&r->written, 1);
    free(line);
    return true;
}

static void rec_reject(void *ud, const char *head, size_t len, size_t total, const char *reason)
{
    struct recorder *r = ud;
    (void)head;
    (void)len;
    (void)total;
    atomic_fetch_add(&r->refused, 1);
    if (!atomic_load(&r->quiet))
        fprintf(stderr, "driftdeck record: refused a message: %s\n", reason);
}

static const char *state_word(source_state st)
{
    switch (st) {
    case SOURCE_CONNECTED:
        return "connected";
    case SOURCE_ENDED:
        return "ended";
    case SOURCE_FAILED:
        return "failed";
    default:
        return "starting";
    }
}

static void rec_state(void *ud, source_state st, const char *detail)
{
    struct recorder *r = ud;
    if (atomic_load(&r->quiet))
        return;
    if (st == SOURCE_RECONNECTING)
        fprintf(stderr, "driftdeck record: reconnecting (attempt %u, next try in %.1f s): %s\n",
                (unsigned)atomic_load(&r->stats.attempt),
                (double)atomic_load(&r->stats.next_retry_ms) / 1000.0, detail ? detail : "");
    else if (st != SOURCE_STARTING)
        fprintf(stderr, "driftdeck record: %s%s%s\n", state_word(st), detail && *detail ? ": " : "",
                detail ? detail : "");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: driftdeck record URL -o FILE.jsonl [OPTIONS]\n"
            "Record every message of a ws:// or wss:// stream, with its receive time.\n"
            "  -o, --output FILE      the recording (JSON Lines, replay with --source file:FILE);\n"
            "                         - for stdout\n"
            "  --max-messages N       stop after N messages\n"
            "  --quiet                no status lines on stderr\n%s",
            wsclient_options_help);
}

static int parse_args(int argc, char **argv, struct recorder *r, wsclient_params *p,
                      const char **url, const char **hfile)
{
    char *cause = NULL;
    for (int i = 1; i < argc; i++) {
        int got = wsclient_option(argc, argv, &i, p, hfile, &cause);
        if (got < 0) {
            fprintf(stderr, "driftdeck record: %s\n", cause);
            free(cause);
            return 2;
        }
        if (got)
            continue;
        const char *a = argv[i];
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            r->path = argv[++i];
        } else if (!strcmp(a, "--max-messages") && i + 1 < argc) {
            char *end;
            r->max_messages = strtoull(argv[++i], &end, 10);
            if (*end || !*argv[i]) {
                fprintf(stderr, "driftdeck record: --max-messages wants a count\n");
                return 2;
            }
        } else if (!strcmp(a, "--quiet")) {
            atomic_store(&r->quiet, true);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && !*url) {
            *url = a;
        } else {
            fprintf(stderr, "driftdeck record: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!*url || !r->path) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static void wait_until_done(struct recorder *r)
{
    struct timespec tick = {0, 100 * 1000000L};
    while (!got_signal && !wsclient_finished(r->client) && !atomic_load(&r->write_failed) &&
           !(r->max_messages && atomic_load(&r->written) >= r->max_messages)) {
        nanosleep(&tick, NULL);
        fflush(r->out);
    }
}

static int run(struct recorder *r, const char *url, wsclient_params *p)
{
    char *cause = NULL;
    wsclient_handler h = {r, rec_message, rec_reject, NULL, NULL, rec_state};
    r->client = wsclient_new(url, p, &h, &r->stats, &cause);
    if (!r->client || wsclient_start(r->client, &cause)) {
        fprintf(stderr, "driftdeck record: %s\n", cause ? cause : "cannot start");
        free(cause);
        wsclient_free(r->client);
        return 2;
    }
    wait_until_done(r);
    wsclient_stop(r->client);
    char err[256];
    wsclient_last_error(r->client, err, sizeof err);
    int failed = atomic_load(&r->stats.state) == SOURCE_FAILED;
    wsclient_free(r->client);
    if (!atomic_load(&r->quiet))
        fprintf(stderr,
                "driftdeck record: %llu messages written to %s (%llu bytes received, %llu "
                "refused, %llu reconnects)\n",
                (unsigned long long)atomic_load(&r->written), r->path,
                (unsigned long long)atomic_load(&r->stats.bytes),
                (unsigned long long)atomic_load(&r->refused),
                (unsigned long long)atomic_load(&r->stats.reconnects));
    if (failed)
        fprintf(stderr, "driftdeck record: gave up: %s\n", err);
    return failed ? 1 : 0;
}

int cmd_record(int argc, char **argv)
{
    struct recorder r;
    memset(&r, 0, sizeof r);
    wsclient_params p;
    wsclient_params_default(&p);
    const char *url = NULL, *hfile = NULL;
    int rc = parse_args(argc, argv, &r, &p, &url, &hfile);
    if (rc >= 0)
        return rc;
    char *cause = NULL, *headers = NULL;
    if (wsclient_load_headers(hfile, &headers, &cause)) {
        fprintf(stderr, "driftdeck record: %s\n", cause);
        free(cause);
        return 2;
    }
    p.headers = headers;
    if (p.insecure)
        fputs("driftdeck record: WARNING: --insecure: the server's TLS certificate is NOT "
              "verified; anyone on the path can read and alter this stream\n",
              stderr);
    bool to_stdout = !strcmp(r.path, "-");
    r.out = to_stdout ? stdout : fopen(r.path, "w");
    size_t hn;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char *hdr = recording_header(url, (double)now.tv_sec + (double)now.tv_nsec * 1e-9, &hn);
    if (!r.out || !hdr || fwrite(hdr, 1, hn, r.out) != hn) {
        fprintf(stderr, "driftdeck record: %s: %s\n", r.path, strerror(errno));
        free(hdr);
        free(headers);
        if (r.out && !to_stdout)
            fclose(r.out);
        return 2;
    }
    free(hdr);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = run(&r, url, &p);
    free(headers);
    if ((to_stdout ? fflush(r.out) : fclose(r.out)) != 0 || atomic_load(&r.write_failed)) {
        fprintf(stderr, "driftdeck record: writing %s failed: %s\n", r.path, strerror(errno));
        return 2;
    }
    return rc;
}
