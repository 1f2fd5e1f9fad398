/*
 * confine-launch: the spawn helper as a static executable (the launcher itself is the
 * CConfineLaunch target: see launch.h for the process layout and confine_protocol.h for the wire
 * protocol).
 */
#include "confine_launch.h"

int main(int argc, char **argv)
{
    return cfl_launch_main(argc, argv);
}
