/* The monitor: one per request, a child subreaper. It starts the command (directly, or under a
 * PID namespace's init), reports STARTED or FAILED, watches the status socket, SIGCHLD and the
 * seccomp listener, answers and reports the notified calls, kills the whole tree when the
 * command ends or the parent asks, and reports EXITED. */
#include "launch.h"

/* Sends one report datagram (send, MSG_NOSIGNAL); a vanished parent (EPIPE, ...) is ignored. */
void send_report(int fd, const struct cfl_report *r, int flags)
{
    while (send(fd, r, sizeof *r, MSG_NOSIGNAL | flags) < 0 && errno == EINTR)
        ;
}

/* Sends a REFUSED record; never blocks (a full socket drops it). */
static void send_refusal(int fd, const struct cfl_refusal *r)
{
    while (send(fd, r, sizeof *r, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR)
        ;
}

/* Sends a FAILED report; `resource` goes in `pid` (meaningful for CFL_STAGE_RLIMIT). */
void report_failed(int fd, int stage, int err, int resource, int flags)
{
    struct cfl_report r = {
        .kind = CFL_REPORT_FAILED, .pid = resource, .stage = stage, .err = err,
    };
    send_report(fd, &r, flags);
}

/* Records a reaped pid: the main pid's status, or a descendant reaped once the main is gone. */
static void note_exit(struct monitor *m, pid_t pid, int status)
{
    if (pid == m->main) {
        m->main_status = status;
        m->main_reaped = true;
        m->tearing_down = true;
    } else if (m->tearing_down) {
        m->flags |= CFL_REPORT_FLAG_DESCENDANTS;
    }
}

/*
 * Reaps every child that has already exited: waitid(WNOWAIT) peeks first so that the main
 * pid's process group is SIGKILLed while its zombie still pins the pid (no pid reuse race).
 */
static void reap_exited(struct monitor *m)
{
    for (;;) {
        siginfo_t si;
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 || si.si_pid == 0)
            return;
        if (si.si_pid == m->main)
            kill(-m->main, SIGKILL);
        int status;
        if (waitpid(si.si_pid, &status, __WALL) == si.si_pid)
            note_exit(m, si.si_pid, status);
    }
}

/* SIGKILLs every direct child listed in /proc/self/task/<tid>/children (space-separated). */
static void kill_children(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    pid_t pid = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                pid = pid * 10 + (buf[i] - '0');
            } else {
                if (pid > 0) /* never kill(0): that is our own process group */
                    kill(pid, SIGKILL);
                pid = 0;
            }
        }
    }
    if (pid > 0)
        kill(pid, SIGKILL);
    close(fd);
}

/*
 * Kills the whole tree: the main pid and its process group, then, until waitpid says ECHILD,
 * every direct child (orphaned descendants re-parent here: we are a child subreaper).
 */
static void kill_tree(struct monitor *m)
{
    m->tearing_down = true;
    if (!m->main_reaped) { /* else reap_exited already killed the group */
        kill(m->main, SIGKILL);
        kill(-m->main, SIGKILL);
    }
    for (;;) {
        kill_children(m->children);
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nothing left */
        }
        note_exit(m, pid, status);
        reap_exited(m);
    }
}

/* True if the parent asked for a kill on the status socket: a 'K', EOF or an error. */
static bool parent_wants_kill(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 1)
        return c == 'K';
    if (n == 0)
        return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* Sends a REFUSED report for a call not seen before (at most 32, or 512 when learning). */
static void report_refused(struct monitor *m, const struct seccomp_notif *req)
{
    uint64_t key = ((uint64_t)(uint32_t)req->data.nr << 32) ^ (uint32_t)req->data.args[0];
    unsigned limit = m->learn ? 512 : 32;
    for (unsigned i = 0; i < m->reported && i < 32; i++)
        if (m->seen[i] == key)
            return;
    if (m->reported >= limit)
        return;
    if (m->learn && req->data.nr != SYS_socket) {
        /* learning wants each syscall once (socket once per family): a bitmap of numbers */
        unsigned nr = (unsigned)req->data.nr;
        if (nr < 1024) {
            if (m->learned[nr / 64] & (1ull << (nr % 64)))
                return;
            m->learned[nr / 64] |= 1ull << (nr % 64);
        }
    } else {
        m->seen[m->reported % 32] = key;
    }
    m->reported++;
    struct cfl_refusal r = {
        .kind = CFL_REPORT_REFUSED, .pid = (int32_t)req->pid, .nr = req->data.nr,
        .arch = req->data.arch, .err = m->learn ? 0 : m->notify_errno,
        .args = { req->data.args[0], req->data.args[1], req->data.args[2] },
    };
    send_refusal(m->status_fd, &r);
}

/* ioctl(2) SECCOMP_IOCTL_NOTIF_RECV one notification, answer it (the policy's errno, or
 * "continue" when learning), and report the call. */
static void answer_notification(struct monitor *m)
{
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return; /* ENOENT: the caller died meanwhile */
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (m->learn)
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
        resp.error = -m->notify_errno;
    ioctl(m->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    report_refused(m, &req);
}

/* Waits (poll on status socket + signalfd) until the main pid exits or the parent kills it. */
static void watch(struct monitor *m)
{
    struct pollfd pfd[3] = {
        { .fd = m->status_fd, .events = POLLIN },
        { .fd = m->sigfd, .events = POLLIN },
        { .fd = m->listener, .events = POLLIN }, /* fd -1 is ignored by poll(2) */
    };
    while (!m->main_reaped) {
        if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN))
            answer_notification(m);
        if (pfd[2].revents & (POLLHUP | POLLERR))
            pfd[2].fd = -1; /* every filtered task is gone */
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return; /* cannot watch any more: kill_tree follows */
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si[8];
            while (read(m->sigfd, si, sizeof si) > 0)
                ;
            reap_exited(m);
        }
        if (!m->main_reaped && pfd[0].revents && parent_wants_kill(m->status_fd)) {
            m->flags |= CFL_REPORT_FLAG_KILLED;
            return;
        }
    }
}

static int64_t timeval_us(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Reports EXITED with the main pid's status and the tree's rusage (RUSAGE_CHILDREN). */
static _Noreturn void report_exited(const struct monitor *m)
{
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_CHILDREN, &ru);
    struct cfl_report r = {
        .kind = CFL_REPORT_EXITED,
        .pid = m->main,
        .status = m->main_status,
        .flags = m->flags,
        .utime_us = timeval_us(ru.ru_utime),
        .stime_us = timeval_us(ru.ru_stime),
        .maxrss_kb = ru.ru_maxrss,
    };
    send_report(m->status_fd, &r, 0);
    _exit(0);
}

/* The monitor: sets up, forks the command, reports STARTED/FAILED, watches, kills, reports. */
_Noreturn void monitor(const struct launcher *l, const struct request *rq, int memfd)
{
    struct monitor m = {
        .status_fd = rq->status_fd,
        .main_status = SIGKILL, /* raw status "killed by SIGKILL" should it never be reaped */
    };
    close(l->ctl);
    if (memfd >= 0)
        close(memfd);

    /* sigaction SIG_DFL for SIGCHLD (no auto-reap) and SIGPIPE; sends use MSG_NOSIGNAL */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigaction(SIGCHLD, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    char **envp = NULL, **argv = NULL;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ||
        sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
        (m.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
        (argv = build_vectors(rq, &envp)) == NULL) {
        report_failed(m.status_fd, CFL_STAGE_FORK, errno, 0, 0);
        _exit(0);
    }
    snprintf(m.children, sizeof m.children, "/proc/self/task/%d/children", (int)getpid());
    m.listener = -1;
    m.learn = (rq->hdr.flags & CFL_FLAG_LEARN) != 0;
    m.notify_errno = (int32_t)rq->hdr.notify_errno;
    int transfer[2] = { -1, -1 };
    if ((rq->hdr.flags & CFL_FLAG_NOTIFY) && rq->hdr.filter_len > 0 &&
        socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, transfer) < 0) {
        report_failed(m.status_fd, CFL_STAGE_FORK, errno, 0, 0);
        _exit(0);
    }

    /* with a PID namespace: the page init reports in (and args.error points to), and the
     * pipe that tells when the command has exec'd; the mapping goes when the monitor exits */
    struct ns_shared *shared = NULL;
    int exec_pipe[2] = { -1, -1 };
    if ((rq->hdr.iso_flags & CFL_ISO_NEWPID) &&
        ((shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0)) == MAP_FAILED ||
         pipe2(exec_pipe, O_CLOEXEC) < 0)) {
        report_failed(m.status_fd, CFL_STAGE_FORK, errno, 0, 0);
        _exit(0);
    }

    /* where the command child says why it failed (in this stack frame, shared through
     * CLONE_VM), unless a PID namespace's init says it in `shared` */
    volatile int32_t child_error[3] = { 0, 0, 0 };
    struct child_args args = {
        .launcher = l, .rq = rq, .argv = argv, .envp = envp,
        .error = shared != NULL ? shared->error : child_error,
        .transfer = transfer[1], .isolated = false, .started = -1, .tmpfs_options = "",
        .outer_uid = getuid(), .outer_gid = getgid(),
    };
    if (rq->hdr.tmp_size != 0)
        snprintf(args.tmpfs_options, sizeof args.tmpfs_options, "size=%llu,mode=1777",
                 (unsigned long long)rq->hdr.tmp_size);
    else if (rq->hdr.shm_size_mib != 0)
        snprintf(args.tmpfs_options, sizeof args.tmpfs_options, "size=%llum,mode=1777",
                 (unsigned long long)rq->hdr.shm_size_mib);
    if (l->user_made) {
        /* the user namespace (and network namespace) made ahead (`--once --user`): the
         * request's own, or nothing fits it */
        int err = l->ahead_error;
        if (err == 0 && (!(rq->hdr.iso_flags & CFL_ISO_NEWUSER) ||
                         (l->net_made && !(rq->hdr.iso_flags & CFL_ISO_NEWNET))))
            err = EINVAL;
        if (err != 0) {
            report_failed(m.status_fd, CFL_STAGE_NAMESPACE, err, 0, 0);
            _exit(0);
        }
        args.user_ready = true;
        args.net_ready = l->net_made;
    } else if (enter_host_network(l, rq, &args.net_ready) < 0) {
        /* a network namespace made ahead of the request (`--net`): kept, or left for the host's */
        report_failed(m.status_fd, CFL_STAGE_NAMESPACE, errno, 0, 0);
        _exit(0);
    }
    int ns_flags = clone_namespaces(&args);
    if (shared != NULL) {
        m.main = start_in_pid_namespace(&args, shared, exec_pipe);
    } else {
        /* clone(2) CLONE_VM|CLONE_VFORK, as posix_spawn does: no page tables copied; the
         * monitor sleeps until the child has exec'd or failed (then args.error says which).
         * Namespaces other than PID come with the same clone (as cheap as unshare(2) in the
         * child, and one call fewer). */
        m.main = start_command(&args, ns_flags);
    }
    int fork_errno = errno;
    /* drop our stdio copies now, so the parent sees EOF exactly when the tree is done */
    for (int i = 0; i < 3; i++)
        close(rq->stdio[i]);
    if (m.main < 0) {
        report_failed(m.status_fd, ns_flags != 0 ? CFL_STAGE_NAMESPACE : CFL_STAGE_FORK,
                      fork_errno, 0, 0);
        _exit(0);
    }

    /* the command has exec'd, or failed and said why in args.error */
    if (args.error[0] != 0) {
        while (waitpid(m.main, NULL, __WALL) < 0 && errno == EINTR)
            ;
        int stage = args.error[0];
        bool indexed = stage == CFL_STAGE_RLIMIT || stage == CFL_STAGE_MOUNT ||
                       stage == CFL_STAGE_LANDLOCK || stage == CFL_STAGE_CGROUP;
        report_failed(m.status_fd, stage, args.error[1], indexed ? args.error[2] : 0, 0);
        _exit(0);
    }
    if (transfer[0] >= 0) {
        close(transfer[1]);
        m.listener = recv_fd(transfer[0]);
        close(transfer[0]);
    }
    struct cfl_report started = { .kind = CFL_REPORT_STARTED, .pid = m.main };
    send_report(m.status_fd, &started, 0);

    watch(&m);
    kill_tree(&m);
    /* init has been reaped: its record of the command, if it lived to make one, is final */
    if (shared != NULL && __atomic_load_n(&shared->done, __ATOMIC_ACQUIRE)) {
        m.main_status = shared->status;
        m.flags |= shared->flags;
    }
    report_exited(&m);
}
