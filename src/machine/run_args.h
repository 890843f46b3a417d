/* run_args.h — the arguments a machine was booted with, kept in its directory
 * (the file `args`), so that every start parses them again; and the
 * machine's own options recorded with them (--no-sandbox, --user NAME).
 *
 *   0  "PLUTOARG"   8  u32 format (1)   12  u32 count
 *  16  each argument: u32 length, its bytes
 *   …  only when the machine has options of its own: u32 count, then each
 *      option word (u32 length, its bytes)
 *   …  u64 XXH3 of everything before (seed 0)
 *
 * A machine without options of its own has the same bytes as before the
 * options were recorded. Written atomically at boot (pm_disk_put_atomic),
 * before meta: a machine exists once its meta does, and then its args are
 * there too.
 */
#ifndef PLUTO_MACHINE_RUN_ARGS_H
#define PLUTO_MACHINE_RUN_ARGS_H

#include "machine/machine.h"

#define PM_ARGS_NAME "args"

/* The program's arguments (argc, argv) and the machine's option words
 * (optc, optv; 0 and NULL for none). 0 or a negative errno. */
int pm_args_write(pm_disk *d, int argc, char *const *argv, int optc, char *const *optv);
/* 0 and *argv (argc entries and a NULL, one malloc'd block: free(*argv)); -ENOENT
 * when missing, PM_E_CORRUPT or PM_E_FORMAT when damaged. */
int pm_args_read(pm_disk *d, int *argc, char ***argv);
/* The option words, the same way (0 of them when none were recorded). */
int pm_args_read_opts(pm_disk *d, int *optc, char ***optv);

#endif
