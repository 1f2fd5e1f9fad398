/* System calls Swift's Glibc module does not expose: epoll(7), eventfd(2), pipe2(2), memfd_create(2). */
#ifndef CONFINE_SYSTEM_H
#define CONFINE_SYSTEM_H
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "confine_kernel.h"

/* pipe2(2) and memfd_create(2) are _GNU_SOURCE declarations the Glibc module leaves out. */
static inline int CConfine_pipe2(int fds[2], int flags) {
    extern int pipe2(int fds[2], int flags);
    return pipe2(fds, flags);
}
static inline int CConfine_memfd(const char *name) {
    extern int memfd_create(const char *name, unsigned int flags);
    return memfd_create(name, 1u /* MFD_CLOEXEC */);
}
/* Landlock's ABI version (0 when the kernel has none): landlock_create_ruleset(NULL, 0,
 * LANDLOCK_CREATE_RULESET_VERSION); Debian 12's headers have no wrapper. */
static inline long cfl_landlock_abi(void) {
    long version = syscall(SYS_landlock_create_ruleset, (void *)0, 0UL,
                           (unsigned long)LL_CREATE_RULESET_VERSION);
    return version < 0 ? 0 : version;
}

#endif
