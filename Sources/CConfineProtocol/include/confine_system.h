/* System calls Swift's Glibc module does not expose: epoll(7), eventfd(2), pipe2(2), memfd_create(2),
 * and posix_spawn(2) with closefrom. */
#ifndef CONFINE_SYSTEM_H
#define CONFINE_SYSTEM_H
#include <sys/epoll.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>

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
/* Whether path (not followed) carries a file capability (the security.capability xattr): 1 yes,
 * 0 no, -1 with errno when that cannot be told. */
static inline int CConfine_hasFileCapability(const char *path) {
    if (lgetxattr(path, "security.capability", NULL, 0) >= 0)
        return 1;
    return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
}

/* The same for `name` in the directory `dirfd`: getxattrat(2) (Linux 6.13), else lgetxattr(2)
 * through /proc/self/fd/DIRFD/NAME (a path the kernel walks from that descriptor). */
struct cfl_xattr_args { unsigned long long value; unsigned int size; unsigned int flags; };
static inline int CConfine_hasFileCapabilityAt(int dirfd, const char *name) {
    static int lacks_getxattrat;
    if (!lacks_getxattrat) {
        struct cfl_xattr_args none = { 0, 0, 0 };
        long n = syscall(464 /* getxattrat */, dirfd, name, 0x100 /* AT_SYMLINK_NOFOLLOW */,
                         "security.capability", &none, sizeof none);
        if (n >= 0)
            return 1;
        if (errno != ENOSYS)
            return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
        lacks_getxattrat = 1;
    }
    char path[4096 + 32];
    if (snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return CConfine_hasFileCapability(path);
}

/* The statfs(2) f_type of the filesystem holding path; -1 with errno when it cannot be read. */
static inline long long CConfine_filesystemType(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (long long)info.f_type : -1;
}

static inline long cfl_landlock_abi(void) {
    long version = syscall(SYS_landlock_create_ruleset, (void *)0, 0UL,
                           (unsigned long)LL_CREATE_RULESET_VERSION);
    return version < 0 ? 0 : version;
}

/* Whether this process, not root, can make a user namespace that maps its uid to itself and,
 * inside it, mount and IPC namespaces (what the launcher's CFL_ISO_NEWUSER does): tried for
 * real in a child, since a sysctl, a container's seccomp filter or an LSM (Ubuntu's
 * apparmor_restrict_unprivileged_userns) may each forbid it. 1 or 0. The child shares our
 * memory and we wait until it is gone (CLONE_VM | CLONE_VFORK, on a stack of its own, raw
 * system calls only): no copy of a large process's page tables, which cost more than the
 * namespaces themselves. */
#ifndef CLONE_NEWUSER /* <sched.h> has them only with _GNU_SOURCE */
#define CLONE_NEWNS 0x00020000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#endif
#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#define CLONE_VFORK 0x00004000
#endif
struct cfl_userns_probe {
    char uid_map[32], gid_map[32];
};
static inline int cfl_userns_probe_child(void *raw) {
    const struct cfl_userns_probe *probe = raw;
    const char *files[3] = { "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map" };
    const char *texts[3] = { "deny", probe->uid_map, probe->gid_map };
    for (int i = 0; i < 3; i++) {
        long fd = syscall(SYS_openat, AT_FDCWD, files[i], O_WRONLY | O_CLOEXEC);
        long length = 0;
        while (texts[i][length] != 0)
            length++;
        if (fd < 0 || syscall(SYS_write, fd, texts[i], length) != length)
            syscall(SYS_exit, 1);
        syscall(SYS_close, fd);
    }
    /* a mount namespace shows the user namespace's capabilities are real (a network one
     * would too, at a far higher cost on every start: it is left to the launch) */
    syscall(SYS_exit, syscall(SYS_unshare, CLONE_NEWNS | CLONE_NEWIPC) == 0 ? 0 : 1);
    return 1;
}
static inline int CConfine_userNamespacesUsable(void) {
    extern int clone(int (*)(void *), void *, int, void *, ...);
    struct cfl_userns_probe probe;
    snprintf(probe.uid_map, sizeof probe.uid_map, "%u %u 1\n", (unsigned)getuid(), (unsigned)getuid());
    snprintf(probe.gid_map, sizeof probe.gid_map, "%u %u 1\n", (unsigned)getgid(), (unsigned)getgid());
    /* the child runs on it while this call waits (CLONE_VFORK): any thread may probe at once */
    char stack[16 * 1024] __attribute__((aligned(16)));
    int pid = clone(cfl_userns_probe_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | SIGCHLD, &probe);
    if (pid < 0)
        return 0;
    int status = -1;
    pid_t waited;
    while ((waited = waitpid((pid_t)pid, &status, 0)) < 0 && errno == EINTR)
        ;
    return waited == (pid_t)pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* pthread_setname_np(3), a GNU declaration the Glibc module leaves out. */
static inline int CConfine_setThreadName(pthread_t thread, const char *name) {
    extern int pthread_setname_np(pthread_t, const char *);
    return pthread_setname_np(thread, name);
}

/* Starts the spawn helper with posix_spawn(2) (a vfork and an exec, none of Foundation's
 * Process machinery): `control` becomes its stdin, /dev/null its stdout, stderr is shared,
 * every other descriptor is closed, the signal mask is empty and every signal is at its
 * default. It gets a process group of its own (as Process gave it), so that a terminal's ^C to
 * the caller's group does not kill the monitors: they see the caller's end of the status
 * socket close instead, and kill the command's tree. Returns 0 and the pid, or an errno. */
static inline int CConfine_spawn_helper(const char *path, char *const argv[], int control, int *pid) {
    extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int err = posix_spawn_file_actions_init(&actions);
    if (err != 0)
        return err;
    if ((err = posix_spawnattr_init(&attributes)) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return err;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    char *const env[] = { "PATH=/usr/bin:/bin", NULL };
    pid_t child = -1;
    if ((err = posix_spawn_file_actions_adddup2(&actions, control, 0)) == 0 &&
        (err = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)) == 0 &&
        (err = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0 &&
        (err = posix_spawnattr_setsigmask(&attributes, &none)) == 0 &&
        (err = posix_spawnattr_setsigdefault(&attributes, &all)) == 0 &&
        (err = posix_spawnattr_setpgroup(&attributes, 0)) == 0 &&
        (err = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) == 0)
        err = posix_spawn(&child, path, &actions, &attributes, argv, env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (err == 0)
        *pid = child;
    return err;
}

#endif
