/*
 * The launcher's entry points: cfl_launch_main (confine-launch's main), and the constructor that
 * runs it inside any program linking Confine when that program is re-executed with
 * CFL_EMBEDDED_MARKER (see confine_launch.h).
 */
#include "launch.h"
#include "confine_launch.h"

int cfl_launch_main(int argc, char **argv)
{
    /* --net: the requests are expected to ask for a network namespace; --once --user (not
     * root): for a user namespace too, made ahead in the launcher (see pool.c) */
    bool network = false, user = false, known = argc >= 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--net") == 0)
            network = true;
        else if (strcmp(argv[i], "--user") == 0 && strcmp(argv[1], "--once") == 0)
            user = true;
        else
            known = false;
    }
    if (known && strcmp(argv[1], "--serve") == 0)
        return serve(network);
    if (known && strcmp(argv[1], "--once") == 0)
        serve_once(network, user);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        dprintf(1, "confine-launch 1 (protocol CFL1)\n");
        return 0;
    }
    dprintf(2, "usage: confine-launch --serve [--net] | --once [--net] [--user] | --version\n");
    return 2;
}

int cfl_embedded_launcher(void)
{
    return 1;
}

/* glibc passes a constructor the program's argc, argv and envp. Only the marker is acted on, and
 * the process never returns to the program: the helper serves until its control socket closes. */
__attribute__((constructor)) static void cfl_embedded_entry(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc >= 2 && argv != NULL && argv[1] != NULL && strcmp(argv[1], CFL_EMBEDDED_MARKER) == 0)
        _exit(cfl_launch_main(argc - 1, argv + 1));
}
