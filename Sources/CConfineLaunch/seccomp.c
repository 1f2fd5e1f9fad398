/* The seccomp filter, and in NOTIFY mode the hand-off of its listener from the command child to
 * the monitor: the child sendmsg(2)s it over fd CFL_NOTIFY_FD (send_fd), the monitor receives it
 * once the child has exec'd (recv_fd). */
#include "launch.h"

/* sendmsg(2) one byte with `fd` as SCM_RIGHTS on `sock` (MSG_NOSIGNAL); sendmsg's result. The
 * child calls it after installing the filter, which allows exactly this sendmsg: no other
 * syscall on the way. */
int send_fd(int sock, int fd)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    char byte = 'L';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.space, .msg_controllen = sizeof control.space };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return (int)sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* recvmsg(2) the fd send_fd sent on `sock` (MSG_DONTWAIT, close-on-exec); -1 if none came. */
int recv_fd(int sock)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.space, .msg_controllen = sizeof control.space };
    if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* NOTIFY mode: dup2(2)s the child's end of the listener socketpair to CFL_NOTIFY_FD. */
void prepare_listener_handoff(const struct child_args *a)
{
    /* the listener's way out, at the fd the filter allows sendmsg on (close-on-exec below) */
    if (a->transfer >= 0 && dup2(a->transfer, CFL_NOTIFY_FD) < 0)
        child_fail(a, CFL_STAGE_SECCOMP, errno, 0);
}

/* Installs the request's filter (seccomp(2) SECCOMP_SET_MODE_FILTER); in NOTIFY mode with a
 * new listener, which it hands to the monitor. */
void install_filter(const struct child_args *a)
{
    const struct request *rq = a->rq;
    const struct cfl_request_header *h = &rq->hdr;
    struct sock_fprog prog = {
        .len = (unsigned short)(h->filter_len / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)rq->filter,
    };
    bool notify = (h->flags & CFL_FLAG_NOTIFY) != 0;
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
    if (listener < 0)
        child_fail(a, CFL_STAGE_SECCOMP, errno, 0);
    if (notify) {
        /* sendmsg(2) the listener to the monitor; the filter allows exactly this */
        if (send_fd(CFL_NOTIFY_FD, (int)listener) < 0)
            child_fail(a, CFL_STAGE_SECCOMP, errno, 0);
        /* no close(2): the listener is close-on-exec, and close may be one of the calls
         * the filter notifies, which nobody can answer before execve */
    }
}

#if defined(__x86_64__)
#define GUARD_ARCH AUDIT_ARCH_X86_64
#define GUARD_FOREIGN_NR 0x40000000u /* x32 calls share the arch, with this bit set */
#elif defined(__aarch64__)
#define GUARD_ARCH AUDIT_ARCH_AARCH64
#define GUARD_FOREIGN_NR 0xffffffffu
#endif

#define GUARD_EPERM (SECCOMP_RET_ERRNO | EPERM)
#define GUARD_LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
/* the low 32 bits of argument n (little-endian): a mode_t is narrower */
#define GUARD_LOAD_ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
/* nr: argument n must have none of `bits` (5 instructions) */
#define GUARD_BITS(nr, n, bits)                                 \
    GUARD_LOAD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 3), \
    GUARD_LOAD_ARG(n), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1), \
    BPF_STMT(BPF_RET | BPF_K, GUARD_EPERM)
/* nr: the mode in argument n must have neither S_ISUID nor S_ISGID */
#define GUARD_MODE(nr, n) GUARD_BITS(nr, n, S_ISUID | S_ISGID)
/* CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET */
#define GUARD_NAMESPACE_FLAGS 0x7E020000u
/* mknod-style nr: no set-id mode and no device node; FIFOs, sockets, plain files pass (8) */
#define GUARD_NODE(nr, n)                                       \
    GUARD_LOAD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 6), \
    GUARD_LOAD_ARG(n), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 3, 0), \
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 1, 0), \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 0, 1), BPF_STMT(BPF_RET | BPF_K, GUARD_EPERM)
/* nr refused outright with errno e (3) */
#define GUARD_REFUSE(nr, e)                                     \
    GUARD_LOAD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))

/*
 * The filter an idmapped folder comes with, installed before the policy's own (the kernel runs
 * both; the stricter answer wins): a file the command makes there is the folder owner's on disk,
 * so whatever the policy allows, no call may give a file a set-uid or set-gid mode or make a
 * device node. The calls that set a mode: chmod, fchmod, fchmodat, fchmodat2, creat, open,
 * openat, mknod, mknodat; openat2 carries its mode in a struct seccomp cannot read, so it answers
 * ENOSYS (callers fall back to openat); io_uring can open files with a mode, so it is refused;
 * calls of another ABI (x32, a 32-bit arch) are refused. And no namespace: in a user namespace
 * of its own the command would hold CAP_SETFCAP, and a file capability it wrote on the mapped
 * folder would come out as the owner's (unshare and setns refused, clone with a namespace flag
 * refused, clone3 ENOSYS so that callers fall back to clone). Failure fails the child.
 */
void install_setid_guard(const struct child_args *a)
{
    struct sock_filter guard[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GUARD_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, GUARD_EPERM),
        GUARD_LOAD_NR,
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, GUARD_FOREIGN_NR, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, GUARD_EPERM),
#ifdef __NR_chmod
        GUARD_MODE(__NR_chmod, 1),
#endif
#ifdef __NR_creat
        GUARD_MODE(__NR_creat, 1),
#endif
#ifdef __NR_open
        GUARD_MODE(__NR_open, 2),
#endif
#ifdef __NR_mknod
        GUARD_NODE(__NR_mknod, 1),
#endif
        GUARD_MODE(__NR_fchmod, 1),
        GUARD_MODE(__NR_fchmodat, 2),
        GUARD_MODE(452 /* fchmodat2, Linux 6.6 */, 2),
        GUARD_MODE(__NR_openat, 3),
        GUARD_NODE(__NR_mknodat, 2),
        GUARD_REFUSE(SYS_openat2, ENOSYS),
        GUARD_REFUSE(__NR_io_uring_setup, EPERM),
        GUARD_REFUSE(__NR_unshare, EPERM),
        GUARD_REFUSE(__NR_setns, EPERM),
        GUARD_REFUSE(__NR_clone3, ENOSYS),
        GUARD_BITS(__NR_clone, 0, GUARD_NAMESPACE_FLAGS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = (unsigned short)(sizeof guard / sizeof guard[0]), .filter = guard };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        child_fail(a, CFL_STAGE_SECCOMP, errno, 0);
}
