/* cmd_gen.c: placeholder until the pipeline lands (replaced in the next commits). */
#include "commands.h"
#include <stdio.h>
int cmd_gen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("driftdeck: 'gen' is being built\n", stderr);
    return 2;
}
