/*
 * replay_main.c: runs a libFuzzer harness over its seed corpus and its
 * regression inputs in the ordinary test suite, built by gcc like any test
 * (and so also under --enable-sanitizers and `make check-valgrind`). Every
 * input that once crashed a harness stays here, and each file is one TAP
 * test: a harness aborts on a broken contract, which fails the run.
 *
 * Built once per harness with -DFUZZ_NAME="name"; reads
 * $DD_SRCDIR/tests/fuzz/corpus/NAME and $DD_SRCDIR/tests/fuzz/regress/NAME.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4u << 20)
#define REPLAY_MAX_FILES 4096
#define REPLAY_MAX_SECONDS 120 /* per input, generous for valgrind */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append the regular files of dir to paths; returns the new count. */
static int list_dir(const char *dir, char **paths, int n)
{
    DIR *d = opendir(dir);
    if (!d)
        return n;
    struct dirent *e;
    while ((e = readdir(d)) && n < REPLAY_MAX_FILES) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p)
            break;
        snprintf(p, len, "%s/%s", dir, e->d_name);
        paths[n++] = p;
    }
    closedir(d);
    return n;
}

/* Run one file through the harness. Returns 0, or -1 if it cannot be read. */
static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    size_t n = buf ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (!bad) {
        /* a copy of exactly n bytes, so reading past the input is caught */
        uint8_t *exact = malloc(n ? n : 1);
        if (exact) {
            memcpy(exact, buf, n);
            LLVMFuzzerTestOneInput(exact, n);
            free(exact);
        }
        bad = !exact;
    }
    free(buf);
    return bad ? -1 : 0;
}

int main(void)
{
    const char *src = getenv("DD_SRCDIR");
    if (!src)
        src = ".";
    static char *paths[REPLAY_MAX_FILES];
    int n = 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src, FUZZ_NAME);
    n = list_dir(dir, paths, n);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regress/%s", src, FUZZ_NAME);
    n = list_dir(dir, paths, n);
    qsort(paths, (size_t)n, sizeof *paths, by_name);
    printf("1..%d\n", n ? n : 1);
    if (n == 0) {
        printf("not ok 1 - no inputs found for fuzz_%s under %s/tests/fuzz\n", FUZZ_NAME, src);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        fflush(stdout);            /* a crash below leaves the earlier lines printed */
        alarm(REPLAY_MAX_SECONDS); /* a hang (an input that once looped) fails too */
        int rc = replay(paths[i]);
        alarm(0);
        printf("%s %d - fuzz_%s %s\n", rc ? "not ok" : "ok", i + 1, FUZZ_NAME,
               strstr(paths[i], "tests/fuzz/") ? strstr(paths[i], "tests/fuzz/") + 11 : paths[i]);
        failed |= rc != 0;
        free(paths[i]);
    }
    return failed;
}
