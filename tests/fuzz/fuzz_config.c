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
 * FUZZ_SOURCES: src/config.c
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

/* Known, reported, open: a string value near the 199-character line limit
 * prints as a longer line ("key = value"), which config_load() refuses (see
 * doc/RELIABILITY.md). Until src/config.c settles it, such outputs are not
 * round-tripped, so the fuzzer goes on finding other mismatches. */
static bool has_overlong_line(const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > 199)
            return true;
        p += n + (p[n] == '\n');
    }
    return false;
}

/* Known, reported, open: a string value is stored verbatim (from --set, or
 * from a file where inih keeps a leading ';' right after the '='), but a
 * printed "key = value" line cannot carry leading or trailing blanks or a
 * ';' / '#' that starts a comment (inih strips them), so --print-config does
 * not reproduce such a value. Round trips are checked for the other values
 * only. */
static bool ini_safe(const char *v)
{
    size_t n = strlen(v);
    if (n && (strchr(" \t", v[0]) || strchr(" \t", v[n - 1])))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((v[i] == ';' || v[i] == '#') && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t'))
            return false;
    return true;
}

/* Every "key = value" line of a printed configuration has an INI-safe value. */
static bool printed_values_safe(const char *text)
{
    char value[1100];
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        const char *eq = memchr(p, '=', n);
        if (p[0] != '#' && p[0] != '[' && eq && eq + 2 <= p + n) {
            size_t vlen = (size_t)(p + n - (eq + 2));
            if (vlen < sizeof value) {
                memcpy(value, eq + 2, vlen);
                value[vlen] = '\0';
                if (!ini_safe(value))
                    return false;
            }
        }
        p += n + (p[n] == '\n');
    }
    return true;
}

static void check_round_trip(const dd_config *cfg)
{
    char *one = printed(cfg, out_path); /* and leaves it in out_path to load */
    if (has_overlong_line(one) || !printed_values_safe(one)) {
        free(one);
        return;
    }
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
    const char *eq = strchr(line, '=');
    if (err == DD_OK && eq && ini_safe(eq + 1))
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
