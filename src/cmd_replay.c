/*
 * cmd_replay.c: `driftdeck replay FILE [OPTIONS]`, the same as
 * `driftdeck --source file:FILE [OPTIONS]`.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_replay(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fputs("usage: driftdeck replay FILE [OPTIONS]   (the options of driftdeck --help)\n",
              argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    size_t n = strlen(argv[1]) + 6;
    char *spec = malloc(n);
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!spec || !args) {
        free(spec);
        free(args);
        fputs("driftdeck: out of memory\n", stderr);
        return 2;
    }
    snprintf(spec, n, "file:%s", argv[1]);
    /* argv[0] "replay" stands in for the program name cmd_run skips */
    args[0] = argv[0];
    args[1] = "--source";
    args[2] = spec;
    for (int i = 2; i < argc; i++)
        args[i + 1] = argv[i];
    int rc = cmd_run(argc + 1, args);
    free(spec);
    free(args);
    return rc;
}
