/* The command child: applies the request in protocol order and execs. It runs as the monitor's
 * CLONE_VM|CLONE_VFORK child (or init's, with a PID namespace), on child_stack, and reports a
 * failure through child_args.error (see launch.h), never by a syscall. */
#include "launch.h"

/* Records why the child failed in a->error (stage last: the monitor tests it) and exits. */
_Noreturn void child_fail(const struct child_args *a, int stage, int err, int resource)
{
    a->error[1] = err;
    a->error[2] = resource;
    a->error[0] = stage;
    syscall(SYS_exit_group, 127); /* exit_group is allowed by every compiled filter */
    for (;;)
        ;
}

/* Resets every disposition to SIG_DFL (sigaction) and unblocks all signals (sigprocmask). */
static void reset_signals(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* glibc-reserved signals fail with EINVAL: fine */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Puts the three stdio fds on 0, 1, 2: staged high first (F_DUPFD_CLOEXEC) so aliases survive. */
static int install_stdio(const int stdio[3])
{
    int staged[3];
    for (int i = 0; i < 3; i++)
        if ((staged[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, STDIO_DUP_MIN)) < 0)
            return -1;
    for (int i = 0; i < 3; i++)
        if (dup2(staged[i], i) < 0) /* dup2 leaves the target without CLOEXEC */
            return -1;
    return 0;
}

/* Marks every fd >= 3 close-on-exec: close_range(CLOSE_RANGE_CLOEXEC), else via /proc/self/fd. */
static int cloexec_from_3(void)
{
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL) /* EINVAL: kernel < 5.11 lacks the flag */
        return -1;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name); /* "." and ".." give 0 */
        if (fd >= 3 && fd != dirfd(dir) && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            rc = -1;
    }
    int err = errno;
    closedir(dir);
    errno = err;
    return rc;
}

/* Sets the request's rlimits (setrlimit), in order. */
static void set_rlimits(const struct child_args *a)
{
    const struct request *rq = a->rq;
    const struct cfl_request_header *h = &rq->hdr;
    for (uint32_t i = 0; i < h->nrlimits; i++) {
        struct cfl_rlimit rl;
        memcpy(&rl, rq->rlimits + i * sizeof rl, sizeof rl);
        struct rlimit lim = { .rlim_cur = rl.soft, .rlim_max = rl.hard };
        if (setrlimit(rl.resource, &lim) < 0)
            child_fail(a, CFL_STAGE_RLIMIT, errno, (int)rl.resource);
    }
}

/* Drops to uid/gid: setgroups(0), setgid, setuid, then checks getresuid/getresgid. */
static void drop_privileges(const struct child_args *a, uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0)
        child_fail(a, CFL_STAGE_SETGROUPS, errno, 0);
    if (setgid(gid) < 0)
        child_fail(a, CFL_STAGE_SETGID, errno, 0);
    if (setuid(uid) < 0)
        child_fail(a, CFL_STAGE_SETUID, errno, 0);
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
        child_fail(a, CFL_STAGE_SETGID, EPERM, 0);
    if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid)
        child_fail(a, CFL_STAGE_SETUID, EPERM, 0);
}

/* The process's working directory is exactly `path` (getcwd(3) spells it without links). */
static bool cwd_is(const char *path)
{
    char here[4096];
    return getcwd(here, sizeof here) != NULL && strcmp(here, path) == 0;
}

/* Applies the request in protocol order and execve()s; any failure goes to a->error. */
static _Noreturn void command_child(const struct child_args *a)
{
    const struct request *rq = a->rq;
    const struct cfl_request_header *h = &rq->hdr;

    reset_signals();
    if (!a->isolated && (rq->ncgroups > 0 || h->iso_flags != 0))
        isolate(a, false);
    /* folders shown to the command as their owner's: set-id modes refused below, whatever the policy */
    bool idmapped = (h->iso_flags & CFL_ISO_NEWNS) && (h->flags & CFL_FLAG_SETUID) && idmap_writable(a);
    if ((h->flags & CFL_FLAG_SETSID) && setsid() < 0)
        child_fail(a, CFL_STAGE_SETSID, errno, 0);
    if (install_stdio(rq->stdio) < 0)
        child_fail(a, CFL_STAGE_STDIO, errno, 0);
    prepare_listener_handoff(a);
    /* built while still root (every rule path can be opened) and before RLIMIT_NOFILE, after
     * the mounts (a rule for /tmp means the private one); enforced once unprivileged */
    int ruleset = (h->iso_flags & (CFL_ISO_LANDLOCK | CFL_ISO_SCOPES)) ? landlock_ruleset(a) : -1;
    set_rlimits(a);
    if (h->flags & CFL_FLAG_SETUID)
        drop_privileges(a, h->uid, h->gid);
    /* the monitor's (or init's) death kills the command (set after the drop, which clears it) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (rq->cwd != NULL && chdir(rq->cwd) < 0) /* after the drop: the target user must reach it */
        child_fail(a, CFL_STAGE_CHDIR, errno, 0);
    if (rq->cwd != NULL && !cwd_is(rq->cwd)) /* a link swapped into the path since the executor resolved it */
        child_fail(a, CFL_STAGE_CHDIR, ELOOP, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(a, CFL_STAGE_NO_NEW_PRIVS, errno, 0);
    if (cloexec_from_3() < 0)
        child_fail(a, CFL_STAGE_FDS, errno, 0);
    if (ruleset >= 0)
        landlock_restrict(a, ruleset);
    if (idmapped || (h->flags & CFL_FLAG_SETID_GUARD))
        install_setid_guard(a);
    if (h->filter_len > 0)
        install_filter(a);
    execve(rq->path, a->argv, a->envp);
    child_fail(a, CFL_STAGE_EXEC, errno, 0);
}

/* The command's stack. Static, not the caller's stack nor a malloc: the vfork-style child runs
 * on it while the monitor (or init) sleeps in clone(2), and a .bss buffer costs no syscall in
 * the monitor. It is used by one child at a time per address space: the monitor's, or, with a
 * PID namespace, init's own (copy-on-write) copy of it. */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

static int child_entry(void *raw)
{
    command_child(raw);
}

/* clone(2) CLONE_VM|CLONE_VFORK of the command child (plus clone_flags: namespaces): returns
 * once the child has exec'd or failed (then a->error says which), with its pid or -1 (errno). */
pid_t start_command(struct child_args *a, int clone_flags)
{
    return clone(child_entry, child_stack + sizeof child_stack,
                 CLONE_VM | CLONE_VFORK | SIGCHLD | clone_flags, a);
}
