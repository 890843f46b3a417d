/* lib_machine.h — the command line of durable machines (lib_machine.c), for
 * pl_main and for the pluto command. */
#ifndef PLUTO_CLI_LIB_MACHINE_H
#define PLUTO_CLI_LIB_MACHINE_H

#include "pluto/pluto.h"

/* `boot DIR [APP] [ARGS]` (boot true) or `start DIR`, argv after the
 * subcommand. progs: the programs that may run (one for pl_main, and then
 * boot takes no APP). argv0 names the command in messages ("pluto boot").
 * Returns the exit code. */
int pl__machine_cli(const pl_program *const *progs, size_t nprogs, const char *argv0,
                    bool boot, int argc, char **argv);

#endif
