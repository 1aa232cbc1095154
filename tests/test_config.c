/*
 * test_config.c: the settings table: defaults are valid, a file sets values,
 * and each kind of bad file gets an error naming the file, the line, the key
 * and what is allowed (never a silent default).
 */
#include "../src/config.h" /* by path: a stale autoconf config.h in a build dir must not shadow it */

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static dd_err load_text(dd_config *cfg, const char *text, char **cause)
{
    snprintf(path, sizeof path, "/tmp/test_config.%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_defaults(cfg);
    dd_err err = config_load(cfg, path, cause);
    unlink(path);
    return err;
}

/* Load text, expect failure whose cause contains want (after the file name). */
static void expect_error(const char *text, const char *want)
{
    dd_config cfg;
    char *cause = NULL;
    assert_int_not_equal(load_text(&cfg, text, &cause), DD_OK);
    assert_non_null(cause);
    if (!strstr(cause, want) || strncmp(cause, path, strlen(path)))
        fail_msg("cause '%s' does not start with the file and contain '%s'", cause, want);
    free(cause);
}

static void defaults_are_valid(void **state)
{
    dd_config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_check(&cfg, NULL), DD_OK);
    assert_int_equal(cfg.pipe.feat.hash_bits, FEATPIPE_HASH_BITS_AUTO);
    assert_int_equal(cfg.queue_capacity, 4096);
    assert_true(cfg.speed < 0); /* auto: by mode */
}

static void file_sets_values(void **state)
{
    dd_config cfg;
    const char *text = "; a comment\n[model]\nlr = 0.25\noptimizer = adam\n\n"
                       "[features]\nstandardize = false\nhash_bits = 10\n[run]\nspeed = 10x\n";
    assert_int_equal(load_text(&cfg, text, NULL), DD_OK);
    assert_close(cfg.pipe.model.lr, 0.25, 0);
    assert_int_equal(cfg.pipe.model.optim, OPTIM_ADAM);
    assert_false(cfg.pipe.feat.standardize);
    assert_int_equal(cfg.pipe.feat.hash_bits, 10);
    assert_close(cfg.speed, 10, 0);
    assert_string_equal(cfg.config_path, path);
}

static void bad_files_name_line_and_key(void **state)
{
    expect_error("[model]\nlr = 0.1\nbogus = 1\n", ":3: unknown key 'bogus' in [model]");
    expect_error("[nowhere]\nx = 1\n", ":2: unknown section [nowhere]");
    expect_error("[features]\nhash_bits = 40\n", ":2: [features] hash_bits = 40: must be a whole number in 0..24");
    expect_error("[features]\nhash_bits = 1.5\n", "must be a whole number");
    expect_error("[model]\nlr = abc\n", "[model] lr = abc: must be a number");
    expect_error("[features]\nstandardize = maybe\n", "must be true or false");
    expect_error("[model]\ntask = ranking\n", "must be one of binary, multiclass, regression");
    expect_error("[run]\nspeed = fast\n", "must be max, auto, or a factor");
    expect_error("lr = 1\n", ":1: 'lr' is outside any [section]");
    expect_error("[model]\nthis line has no equals sign\n", ":2:");
}

static void long_lines_are_refused_not_split(void **state)
{
    /* inih would silently split a line over 200 characters into two. */
    char text[512];
    int n = snprintf(text, sizeof text, "[run]\nsource = file:");
    memset(text + n, 'a', 250);
    text[n + 250] = '\n';
    text[n + 251] = '\0';
    expect_error(text, ":2: line longer than 199 characters");
}

static void command_line_assignments(void **state)
{
    dd_config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "model.l2=0.001", NULL), DD_OK);
    assert_close(cfg.pipe.model.l2, 0.001, 0);
    char *cause = NULL;
    assert_int_equal(config_set(&cfg, "model.l2", &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "section.key=value"));
    free(cause);
    cause = NULL;
    assert_int_equal(config_set(&cfg, "model.l2=-1", &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "[model] l2 = -1"));
    free(cause);
    assert_close(cfg.pipe.model.l2, 0.001, 0); /* unchanged by the failed set */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_valid),
        cmocka_unit_test(file_sets_values),
        cmocka_unit_test(bad_files_name_line_and_key),
        cmocka_unit_test(long_lines_are_refused_not_split),
        cmocka_unit_test(command_line_assignments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
