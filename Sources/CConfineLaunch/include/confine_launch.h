#ifndef CONFINE_LAUNCH_PUBLIC_H
#define CONFINE_LAUNCH_PUBLIC_H

/* The spawn helper as a library: the static `confine-launch` executable calls cfl_launch_main,
 * and so does any program linking Confine when it is re-executed (/proc/self/exe) with
 * CFL_EMBEDDED_MARKER as its first argument: a constructor catches that before Swift starts,
 * the way runc runs `runc init`. A program that depends on Confine thus needs no launcher file. */

#define CFL_EMBEDDED_MARKER "--confine-embedded-launch"

/* confine-launch's main: `--serve` serves requests on fd 0 (a pool of monitors); `--once` takes
 * one request on fd 0 and becomes its monitor; `--version`. Returns the exit status. */
int cfl_launch_main(int argc, char **argv);

/* 1: the embedded launcher (and its constructor) is linked into this program. */
int cfl_embedded_launcher(void);

#endif
