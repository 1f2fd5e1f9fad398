/* The helper (`--serve`): start-up, then a pool of spare monitors blocked on the control
 * socket; the spare that receives a request becomes its monitor (monitor.c). With `--once` the
 * helper itself takes one request and becomes its monitor: no pool, no fork before the command. */
#include "launch.h"

/* Prints "confine-launch: what: strerror" on stderr and exits 1 (helper start-up only). */
static _Noreturn void fatal(const char *what)
{
    dprintf(2, "confine-launch: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Records every inherited fd >= 3 but `ctl` and marks it close-on-exec (via /proc/self/fd). */
static void record_inherited(struct launcher *l, int ctl)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name); /* "." and ".." give 0 */
        if (fd < 3 || fd == ctl || fd == dirfd(dir))
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (l->inherited_count < (int)(sizeof l->inherited_fds / sizeof l->inherited_fds[0]))
            l->inherited_fds[l->inherited_count++] = fd;
    }
    closedir(dir);
}

/* `--net`: the requests are expected to ask for a network namespace. Making a fresh one
 * (about 1 ms of the kernel's) while a spare or the one-shot launcher waits takes it off the
 * request's path. Only where that needs no user namespace (root); a request that asks for
 * none returns to the host's (enter_host_network). Any failure: the usual path, the clone
 * of the command's namespaces makes it. */
static void make_network(struct launcher *l)
{
    if (l->host_net < 0 || unshare(CLONE_NEWNET) < 0)
        return;
    if (loopback_up_here() == 0)
        l->net_made = true;
    else if (setns(l->host_net, CLONE_NEWNET) < 0)
        fatal("setns(the host's network namespace)");
}

/* `--once --user` (not root): the command's user namespace, this launcher's uid and gid
 * mapped to themselves as the clone's would be (map_self), made while the launcher waits, and
 * with `network` the command's network namespace in it, lo up: the clone of the command's
 * other namespaces then makes neither (about 1 ms of the kernel's, nearly all of it the network
 * namespace). Nothing leads back to the host's namespaces from there, so a request that asks
 * for no user namespace, or for no network namespace when one was made, is refused (the
 * executor sends none such to this launcher: it starts the launcher for its policy, and
 * another launcher for a request that does not fit). A failure before the launcher left the
 * host's user namespace leaves the usual path; one after is told for the request. */
static void make_user(struct launcher *l, bool network)
{
    if (geteuid() == 0)
        return;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) < 0)
        return;
    l->user_made = true;
    int which = 0;
    if (map_own_ids(uid, gid, &which) < 0) {
        l->ahead_error = errno;
        return;
    }
    if (network && unshare(CLONE_NEWNET) == 0) {
        l->net_made = true;
        if (loopback_up_here() < 0)
            l->ahead_error = errno;
    }
}

/* Prepares the helper: control socket to a high CLOEXEC fd, no stray fds, /dev/null on 0,
 * and with `network` (as root) the host's network namespace kept for make_network. */
static void setup_helper(struct launcher *l, bool network)
{
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
        dprintf(2, "confine-launch: --serve needs a SOCK_SEQPACKET socket on stdin\n");
        exit(2);
    }
    int ctl = fcntl(0, F_DUPFD_CLOEXEC, CONTROL_FD_MIN);
    if (ctl < 0)
        fatal("fcntl(F_DUPFD_CLOEXEC)");
    /* Inherited fds stay open: Foundation's Process watches its own end of a socket the
     * helper inherits to learn that the helper exited, and closing it makes Foundation think
     * the helper died (and block in waitpid). They are marked close-on-exec and recorded, and
     * each monitor closes them, so neither commands nor monitors hold them. */
    record_inherited(l, ctl);
    /* Not dumpable: a command running as the caller's uid (Confine not root) cannot open the
     * helper's or a monitor's memory through /proc or ptrace them. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* The listener hand-off uses fd CFL_NOTIFY_FD in the child: make sure it may exist. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0)
        fatal("/dev/null");
    if (null != 0)
        close(null);

    /* once, not per request: each command child only reads it */
    l->landlock_abi = landlock_abi_version();

    /* a dead peer is no signal */
    struct sigaction ign = { .sa_handler = SIG_IGN };
    if (sigaction(SIGPIPE, &ign, NULL) < 0)
        fatal("sigaction(SIGPIPE)");
    l->ctl = ctl;
    if (network && geteuid() == 0)
        l->host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* Collects the fds of every SCM_RIGHTS message in msg; returns how many. */
static int collect_fds(struct msghdr *msg, int fds[MAX_RECV_FDS])
{
    int nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n && nfds < MAX_RECV_FDS; i++)
            memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    return nfds;
}

/* True if the peer of the control socket is gone (poll POLLHUP/POLLRDHUP, no wait). */
static bool peer_closed(int ctl)
{
    struct pollfd p = { .fd = ctl, .events = POLLRDHUP };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* Becomes the monitor of one received request, or reports FAILED/REQUEST and exits. */
static _Noreturn void take_request(const struct launcher *l, const unsigned char *buf, size_t len,
                                   int msg_flags, const int *fds, int nfds)
{
    unsigned char *big = NULL;
    struct request rq;
    int err = load_request(buf, len, msg_flags, fds, nfds, &big, &rq);
    if (err != 0) {
        if (nfds > 0)
            report_failed(fds[0], CFL_STAGE_REQUEST, err, 0, MSG_DONTWAIT);
        _exit(0);
    }
    for (int i = 5; i < nfds; i++) /* stray extra fds */
        close(fds[i]);
    monitor(l, &rq, nfds == 5 ? fds[4] : -1);
}

/* A spare: a monitor forked ahead of time, blocked in recvmsg(2) on the shared control socket.
 * The kernel hands each datagram to exactly one reader; the spare that gets it tells the pool
 * (its pid on `taken`, unless `taken` is -1: the one-shot helper) and becomes that request's
 * monitor, so the fork of a monitor is never on the path of a request. */
static _Noreturn void spare(const struct launcher *l, int taken)
{
    int ctl = l->ctl;
    /* before any fd is received, so no received fd can take one of these numbers */
    for (int i = 0; i < l->inherited_count; i++)
        close(l->inherited_fds[i]);
    /* static, not on the stack: 256 KiB; the request (struct request points into it) lives as
     * long as this process, which only ever takes one */
    static unsigned char buf[INLINE_BUF_SIZE] __attribute__((aligned(16)));
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(MAX_RECV_FDS * sizeof(int))];
    } control;
    for (;;) {
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control.space, .msg_controllen = sizeof control.space,
        };
        ssize_t n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        int fds[MAX_RECV_FDS];
        int nfds = n < 0 ? 0 : collect_fds(&msg, fds);
        if (n <= 0 && nfds == 0) {
            if (n == 0 && !peer_closed(ctl))
                continue; /* an empty datagram */
            _exit(0);     /* the executor closed the control socket */
        }
        if (taken >= 0) {
            pid_t self = getpid();
            (void)!write(taken, &self, sizeof self);
            close(taken);
        }
        take_request(l, buf, (size_t)n, msg.msg_flags, fds, nfds);
    }
}

/* The pool: keeps SPARES spares waiting, replaces each one as it takes a request or dies, and
 * exits when the executor closes the control socket (the spares see EOF and exit too). */
int serve(bool network)
{
    struct launcher l = { .ctl = -1, .host_net = -1 };
    setup_helper(&l, network);
    int ctl = l.ctl;
    int taken[2];
    if (pipe2(taken, O_CLOEXEC | O_NONBLOCK) < 0)
        fatal("pipe2");
    /* SIGCHLD through a signalfd: reaps monitors, and notices a spare that died unused */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigaction(SIGCHLD, &dfl, NULL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0)
        fatal("signalfd");

    pid_t waiting[SPARES] = { 0 };
    for (;;) {
        for (int i = 0; i < SPARES; i++) {
            if (waiting[i] != 0)
                continue;
            pid_t pid = fork();
            if (pid == 0) {
                sigprocmask(SIG_UNBLOCK, &chld, NULL);
                close(sigfd);
                close(taken[0]);
                struct launcher mine = l;
                make_network(&mine);
                spare(&mine, taken[1]);
            }
            if (pid > 0)
                waiting[i] = pid;
        }
        struct pollfd p[3] = {
            { .fd = ctl, .events = POLLRDHUP },
            { .fd = taken[0], .events = POLLIN },
            { .fd = sigfd, .events = POLLIN },
        };
        /* a failed fork is retried after a short pause rather than in a tight loop */
        bool short_of_spares = false;
        for (int i = 0; i < SPARES; i++)
            short_of_spares |= waiting[i] == 0;
        if (poll(p, 3, short_of_spares ? 10 : -1) < 0 && errno != EINTR)
            fatal("poll");
        if (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR))
            return 0;
        pid_t pid;
        while (read(taken[0], &pid, sizeof pid) == (ssize_t)sizeof pid)
            for (int i = 0; i < SPARES; i++)
                if (waiting[i] == pid)
                    waiting[i] = 0;
        struct signalfd_siginfo info;
        while (read(sigfd, &info, sizeof info) > 0)
            ;
        while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
            for (int i = 0; i < SPARES; i++)
                if (waiting[i] == pid)
                    waiting[i] = 0;
    }
}

/* The one-shot helper (`--once`): takes the first request on the control socket and becomes its
 * monitor; exits when the command's tree is gone (or, with no request, when the socket closes). */
_Noreturn void serve_once(bool network, bool user)
{
    struct launcher l = { .ctl = -1, .host_net = -1 };
    setup_helper(&l, network);
    if (user)
        make_user(&l, network);
    else
        make_network(&l);
    spare(&l, -1);
}
