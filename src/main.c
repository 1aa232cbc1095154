/*
 * main.c: the driftdeck command line. Finds the subcommand in a table and
 * runs it; with no subcommand (or only options) it runs the pipeline, on the
 * console or --headless. The table also drives `driftdeck help`.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run the pipeline (the default; see --help)"},
    {"gen", cmd_gen, "write a generated drifting stream (sea, hyperplane, agrawal, stagger)"},
    {"search", cmd_search, "query the knowledge store of a workspace (JSON Lines)"},
    {"attach", cmd_attach, "open the console on a running instance (--workspace DIR)"},
    {"replay", cmd_replay, "run on a recorded file: replay FILE is --source file:FILE"},
    {"schema", cmd_schema, "print the [schema] mapping inferred from a file's first lines"},
    {"detect", cmd_detect, "run one drift detector over numbers, one per line (tuning)"},
    {"record", cmd_record, "record a live ws:// or wss:// stream to a JSON Lines file"},
};

static void usage(FILE *out)
{
    fputs("usage: driftdeck [OPTIONS]            run on the demo stream or --source\n"
          "       driftdeck COMMAND [ARGS...]\n\ncommands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n`driftdeck COMMAND --help` describes one command.\n", out);
}

int main(int argc, char **argv)
{
    /* Everything driftdeck creates (workspace, database and its WAL, dead
     * letters, exports) holds stream data or models: owner only (issue 10). */
    umask(077);
    if (argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(argv[1], commands[i].name))
                return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "driftdeck: unknown command '%s' (try 'driftdeck help')\n", argv[1]);
        return 2;
    }
    return cmd_run(argc, argv);
}
