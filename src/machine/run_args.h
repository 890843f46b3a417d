/* run_args.h — the arguments a machine was booted with, kept in its directory
 * (the file `args`), so that every start parses them again.
 *
 *   0  "PLUTOARG"   8  u32 format (1)   12  u32 count
 *  16  each argument: u32 length, its bytes
 *   …  u64 XXH3 of everything before (seed 0)
 *
 * Written atomically at boot (pm_disk_put_atomic), before meta: a machine
 * exists once its meta does, and then its args are there too.
 */
#ifndef PLUTO_MACHINE_RUN_ARGS_H
#define PLUTO_MACHINE_RUN_ARGS_H

#include "machine/machine.h"

#define PM_ARGS_NAME "args"

int pm_args_write(pm_disk *d, int argc, char *const *argv);
/* 0 and *argv (argc entries and a NULL, one malloc'd block: free(*argv)); -ENOENT
 * when missing, PM_E_CORRUPT or PM_E_FORMAT when damaged. */
int pm_args_read(pm_disk *d, int *argc, char ***argv);

#endif
