/* cmd_run.c: placeholder until the pipeline lands (replaced in the next commits). */
#include "commands.h"
#include <stdio.h>
int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("driftdeck: 'run' is being built\n", stderr);
    return 2;
}
