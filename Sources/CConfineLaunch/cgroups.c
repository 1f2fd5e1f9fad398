/* Joining the request's cgroups: a write of "0" to each of its cgroup.procs files. */
#include "launch.h"

/* Writes "0" to each cgroup.procs path: the calling process joins that cgroup. */
void join_cgroups(const struct child_args *a)
{
    const struct request *rq = a->rq;
    const char *path = rq->cgroups;
    for (uint32_t i = 0; i < rq->ncgroups; i++, path += strlen(path) + 1) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            child_fail(a, CFL_STAGE_CGROUP, errno, (int)i); /* exit closes fd */
        close(fd);
    }
}
