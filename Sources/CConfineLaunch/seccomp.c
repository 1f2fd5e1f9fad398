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
