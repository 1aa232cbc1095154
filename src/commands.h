/*
 * commands.h: the subcommands of the driftdeck program, one file each
 * (src/cmd_<name>.c). Each takes the arguments after its name (argv[0] is the
 * subcommand's name) and returns the process exit code: 0 success, 1 a
 * negative answer (verify found tampering), 2 a usage or input error.
 */
#ifndef DD_COMMANDS_H
#define DD_COMMANDS_H

int cmd_run(int argc, char **argv);      /* the console or --headless pipeline */
int cmd_gen(int argc, char **argv);      /* write a generated drifting stream */
int cmd_audit(int argc, char **argv);    /* verify the workspace's audit chain */
int cmd_rollback(int argc, char **argv); /* make a clone of an earlier version active */
int cmd_export(int argc, char **argv);   /* a session's metrics, versions and decisions */
int cmd_search(int argc, char **argv);   /* query the knowledge store */
int cmd_attach(int argc, char **argv);   /* the console on a running instance */
int cmd_replay(int argc, char **argv);   /* the pipeline on a recorded file */
int cmd_schema(int argc, char **argv);   /* print the [schema] inferred from a file */
int cmd_detect(int argc, char **argv);   /* run one drift detector over a series of numbers */
int cmd_record(int argc, char **argv);   /* record a live WebSocket stream to a file */

#endif
