/*
 * fuzz_config.c: libFuzzer harness for the configuration reader
 * (src/config.c: the INI file through inih, and --set assignments).
 *
 * The input is written to a scratch file (in /dev/shm when it exists) and
 * loaded over the defaults, as `--config FILE` does; its first line is also
 * applied as a command-line assignment ("section.key=value"). Contract: every refusal has a cause;
 * an accepted configuration passes through config_check() without crashing; and what --print-config
 * prints loads back to the same configuration (printing it again gives the same text, but for the
 * first line: a comment naming the file), so a printed configuration is always a valid
 * configuration file.
 *
 * FUZZ_SOURCES: src/config.c src/kstore.c src/queue.c src/vindex.cpp
 */
#include "../../src/config.h" /* not the autoconf config.h of the build dir */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[64], out_path[64], again_path[64];

static void remove_scratch(void)
{
    unlink(in_path);
    unlink(out_path);
    unlink(again_path);
}

static void scratch_paths(void)
{
    if (in_path[0])
        return;
    atexit(remove_scratch);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(in_path, sizeof in_path, "%.40s/ddfuzz-%ld.ini", dir, (long)getpid());
    snprintf(out_path, sizeof out_path, "%.40s/ddfuzz-%ld.out", dir, (long)getpid());
    snprintf(again_path, sizeof again_path, "%.40s/ddfuzz-%ld.again", dir, (long)getpid());
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort(); /* the harness's own failure, not the code's */
}

/* The text --print-config gives for cfg, printed to path and read back;
 * free() it. */
static char *printed(const dd_config *cfg, const char *path)
{
    FILE *f = fopen(path, "w+b");
    if (!f)
        abort();
    config_print(cfg, f);
    long n = ftell(f);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!text || fseek(f, 0, SEEK_SET) || fread(text, 1, (size_t)n, f) != (size_t)n || fclose(f))
        abort();
    text[n] = '\0';
    return text;
}

static void check_round_trip(const dd_config *cfg)
{
    char *one = printed(cfg, out_path); /* and leaves it in out_path to load */
    dd_config back;
    config_defaults(&back);
    char *cause = NULL;
    if (config_load(&back, out_path, &cause) != DD_OK) {
        fprintf(stderr, "printed configuration does not load: %s\n", cause ? cause : "?");
        abort();
    }
    char *two = printed(&back, again_path);
    /* the first line is a comment naming where the values came from */
    const char *body1 = strchr(one, '\n'), *body2 = strchr(two, '\n');
    if (!body1 || !body2 || strcmp(body1, body2)) {
        fprintf(stderr, "printed configuration changes when loaded back\n");
        abort();
    }
    free(cause);
    free(one);
    free(two);
}

static void try_assignment(const uint8_t *data, size_t size)
{
    size_t n = 0;
    while (n < size && n < 512 && data[n] != '\n')
        n++;
    char line[513];
    memcpy(line, data, n);
    line[n] = '\0';
    dd_config cfg;
    config_defaults(&cfg);
    char *cause = NULL;
    dd_err err = config_set(&cfg, line, &cause);
    if (err != DD_OK && !cause)
        abort();
    free(cause);
    if (err == DD_OK) /* every value config_set() accepts must print and load back */
        check_round_trip(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scratch_paths();
    try_assignment(data, size);
    write_file(in_path, data, size);
    dd_config cfg;
    config_defaults(&cfg);
    char *cause = NULL;
    dd_err err = config_load(&cfg, in_path, &cause);
    if (err != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return 0;
    }
    free(cause);
    cause = NULL;
    if (config_check(&cfg, &cause) != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return 0;
    }
    check_round_trip(&cfg);
    return 0;
}
