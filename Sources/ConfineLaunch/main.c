/*
 * confine-launch: the spawn helper (see launch.h for the process layout and the files, and
 * confine_protocol.h for the wire protocol).
 */
#include "launch.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--serve") == 0)
        return serve();
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        dprintf(1, "confine-launch 1 (protocol CFL1)\n");
        return 0;
    }
    dprintf(2, "usage: confine-launch --serve | --version\n");
    return 2;
}
