/*
 * cmd_attach.c: `driftdeck attach [--workspace DIR]`: the console on a
 * running instance, through its control socket (control.h). Detaching (d,
 * q, or closing the terminal) leaves the instance running.
 */
#include "commands.h"
#include "config.h"
#include "console.h"
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck attach [--workspace DIR]\n"
          "  Open the console on the instance running in DIR (default: the configured\n"
          "  workspace, else the current directory). d detaches; the instance keeps running.\n",
          out);
}

/* The workspace: --workspace, else the configuration's [run] workspace. */
static int find_workspace(int argc, char **argv, char *buf, size_t n)
{
    dd_config cfg;
    config_defaults(&cfg);
    char path[CONFIG_PATH_MAX];
    if (config_default_path(path, sizeof path))
        config_load(&cfg, path, NULL); /* a broken file: the default workspace will do */
    snprintf(buf, n, "%s", cfg.workspace);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--workspace") && i + 1 < argc)
            snprintf(buf, n, "%s", argv[++i]);
        else if (!strncmp(argv[i], "--workspace=", 12))
            snprintf(buf, n, "%s", argv[i] + 12);
        else {
            fprintf(stderr, "driftdeck attach: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

int cmd_attach(int argc, char **argv)
{
    char ws[CONFIG_PATH_MAX], path[CONFIG_PATH_MAX + 32], *cause = NULL;
    int rc = find_workspace(argc, argv, ws, sizeof ws);
    if (rc >= 0)
        return rc;
    console_link *link = NULL;
    if (control_path(ws, path, sizeof path, &cause) == DD_OK)
        link = control_attach(path, &cause);
    if (!link) {
        fprintf(stderr, "driftdeck attach: %s\n", cause ? cause : "out of memory");
        free(cause);
        return 2;
    }
    console_end end = CONSOLE_QUIT;
    dd_err err = console_run(link, NULL, &end, &cause);
    console_link_free(link);
    if (err) {
        fprintf(stderr, "driftdeck attach: %s\n", cause ? cause : dd_strerror(err));
        free(cause);
        return 2;
    }
    if (end == CONSOLE_LINK_CLOSED) {
        fprintf(stderr, "driftdeck attach: the instance closed the connection\n");
        return 1;
    }
    return 0;
}
