/*
 * main.c: the driftdeck command line: finds the subcommand and runs it.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts("driftdeck");
    return 0;
}
