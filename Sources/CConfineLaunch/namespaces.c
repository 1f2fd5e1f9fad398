/* Namespaces: the setup a new namespace needs (UTS hostname, loopback, the mounts), done by the
 * command child or by a PID namespace's init, and that init itself. The namespaces come from
 * the flags of the clone(2) that makes the command child (or init). */
#include "launch.h"

/* Brings `lo` up (SIOCGIFFLAGS, SIOCSIFFLAGS): a new network namespace starts with it down.
 * Returns 0, or -1 with errno. */
int loopback_up_here(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int err = errno;
    close(s);
    errno = err;
    return rc;
}

static void loopback_up(const struct child_args *a)
{
    if (loopback_up_here() < 0)
        child_fail(a, CFL_STAGE_NETWORK, errno, 0);
}

/* With `--net`, a spare (or the one-shot launcher) made a fresh network namespace while it
 * waited (make_network, pool.c), l->host_net holding the host's. A request that asks for a new
 * one (and no user namespace, which would have to own it) gets that one: *ready is set. Any
 * other goes back to the host's. The host's descriptor is closed either way, before anything
 * of the command starts. Returns 0, or -1 with errno. */
int enter_host_network(const struct launcher *l, const struct request *rq, bool *ready)
{
    *ready = false;
    if (l->host_net < 0)
        return 0;
    int rc = 0;
    if (l->net_made) {
        if ((rq->hdr.iso_flags & CFL_ISO_NEWNET) && !(rq->hdr.iso_flags & CFL_ISO_NEWUSER))
            *ready = true;
        else
            rc = setns(l->host_net, CLONE_NEWNET);
    }
    int err = errno;
    close(l->host_net);
    errno = err;
    return rc;
}

/* mount_setattr(2) on path and everything mounted below it. */
static int mount_setattr_tree(const char *path, uint64_t set, uint64_t clear)
{
    struct cfl_mount_attr attr = { .attr_set = set, .attr_clr = clear };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

/* Writes text to an existing file (a /proc map); -1 with errno on failure. */
static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The stack of idmap_userns's placeholder child. The child shares the memory of the command
 * child, which waits for it to go before it makes another: one stack serves them in turn. */
static char userns_stack[16 * 1024] __attribute__((aligned(16)));

/* The placeholder: waits until the other end of the pipe `raw` (int[2]) closes, then goes. */
static int hold_entry(void *raw)
{
    const int *hold = raw;
    close(hold[1]); /* its own copy of the write end */
    char c;
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {}
    return 0;
}

/* A user namespace in which the one uid and gid `from_*` are `to_*` outside: the idmapping of an
 * idmapped mount; and, unless it is (gid_t)-1, the gid `hidden` is the overflow group (65534,
 * nogroup) outside, so that what holds it is still mapped (the kernel refuses to write an inode
 * with an unmapped id) without giving the command that group. A child made in it waits while
 * its maps are written (by us, root in the parent namespace, through this PID namespace's
 * /proc), then goes. */
static int idmap_userns(const struct child_args *a, int index, uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid,
                        gid_t hidden)
{
    int hold[2];
    if (pipe2(hold, O_CLOEXEC) < 0)
        child_fail(a, CFL_STAGE_IDMAP, errno, index);
    /* sharing our memory (CLONE_VM, as posix_spawn does) on a stack of its own: no page tables
     * copied, which a fork-like copy of the launcher's spent about half a millisecond on; `hold`
     * stays as it is until the child is reaped below */
    pid_t pid = clone(hold_entry, userns_stack + sizeof userns_stack, CLONE_VM | CLONE_NEWUSER | SIGCHLD, hold);
    if (pid < 0)
        child_fail(a, CFL_STAGE_IDMAP, errno, index);
    close(hold[0]);
    char path[64], map[96];
    int err = 0, fd = -1;
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)from_uid, (unsigned)to_uid);
    if (write_text(path, map) < 0)
        err = errno;
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    if (hidden == (gid_t)-1 || hidden == from_gid)
        snprintf(map, sizeof map, "%u %u 1\n", (unsigned)from_gid, (unsigned)to_gid);
    else
        snprintf(map, sizeof map, "%u %u 1\n%u 65534 1\n", (unsigned)from_gid, (unsigned)to_gid, (unsigned)hidden);
    if (!err && write_text(path, map) < 0)
        err = errno;
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    if (!err && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        err = errno;
    close(hold[1]);
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {}
    if (err)
        child_fail(a, CFL_STAGE_IDMAP, err, index);
    return fd;
}

/* Each CFL_FS_IDMAP rule's directory mounted onto itself with its owner's uid and gid mapped to
 * the command's: the command writes there as if it were the owner, and what it makes is the
 * owner's on disk. No set-uid or device file there takes effect (nosuid, nodev), and the command
 * child then installs install_setid_guard before its policy's filter, so none can be made. A directory the
 * command owns, or that others may write (o+w, such as /tmp: its owner could delete anyone's
 * files there), is left as it is. Run by the command child itself, as root, in the command's
 * mount namespace once it is set up: the waiting child then takes a pid after the command's
 * (pid 2 in a PID namespace), and /proc is that namespace's own. */
bool idmap_writable(const struct child_args *a)
{
    const struct request *rq = a->rq;
    bool mounted = false;
    size_t pos = 0;
    for (uint32_t i = 0; i < rq->nfs_rules; i++) {
        uint32_t access;
        const char *path = next_rule(rq->fs_rules, &pos, &access);
        if ((access & (CFL_FS_IDMAP | CFL_FS_WRITE)) != (CFL_FS_IDMAP | CFL_FS_WRITE))
            continue;
        int dir = (access & CFL_FS_NOFOLLOW) ? open_nofollow(path) : open(path, O_PATH | O_CLOEXEC);
        if (dir < 0) {
            if (errno == ENOENT)
                continue; /* as with Landlock: nothing there to write to */
            child_fail(a, CFL_STAGE_IDMAP, errno, (int)i);
        }
        struct stat st;
        if (fstat(dir, &st) < 0)
            child_fail(a, CFL_STAGE_IDMAP, errno, (int)i);
        if (!S_ISDIR(st.st_mode) || (st.st_mode & S_IWOTH) || st.st_uid == rq->hdr.uid) {
            close(dir);
            continue;
        }
        /* only the folder the executor checked: another swapped in at the path since is refused */
        uint64_t dev, ino;
        rule_identity(path, &dev, &ino);
        if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
            child_fail(a, CFL_STAGE_IDMAP, ESTALE, (int)i);
        /* The folder's group is mapped only when it is root's folder or the owner's own group
         * (gid = uid, a user private group): a folder of someone's with group root (mkdir as
         * root, then chown someone) must not give the command root's group there, which its
         * owner does not have. Otherwise the owner's private group number stands in: what the
         * command makes gets that group on disk, and the folder's own group shows as nogroup
         * (mapped, so that the folder stays writable, but not the command's). */
        bool own_group = st.st_uid == 0 || st.st_gid == (gid_t)st.st_uid;
        gid_t group = own_group ? st.st_gid : (gid_t)st.st_uid;
        int userns = idmap_userns(a, (int)i, st.st_uid, group, rq->hdr.uid, rq->hdr.gid, own_group ? (gid_t)-1 : st.st_gid);
        int tree = (int)syscall(SYS_open_tree, dir, "", CFL_OPEN_TREE_CLONE | CFL_OPEN_TREE_CLOEXEC | CFL_AT_EMPTY_PATH);
        if (tree < 0)
            child_fail(a, CFL_STAGE_IDMAP, errno, (int)i);
        struct cfl_mount_attr attr = {
            .attr_set = CFL_MOUNT_ATTR_IDMAP | CFL_MOUNT_ATTR_NOSUID | CFL_MOUNT_ATTR_NODEV,
            .userns_fd = (uint64_t)userns,
        };
        if (syscall(SYS_mount_setattr, tree, "", CFL_AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
            syscall(SYS_move_mount, tree, "", dir, "", CFL_MOVE_MOUNT_F_EMPTY_PATH | CFL_MOVE_MOUNT_T_EMPTY_PATH) < 0)
            child_fail(a, CFL_STAGE_IDMAP, errno, (int)i);
        close(tree);
        close(userns);
        close(dir);
        mounted = true;
    }
    return mounted;
}

/* A detached copy (open_tree OPEN_TREE_CLONE) of what is mounted at `name` in `dir`, with
 * everything mounted below it; -1 with errno. */
static int clone_tree(int dir, const char *name, unsigned int flags)
{
    return (int)syscall(SYS_open_tree, dir, name, CFL_OPEN_TREE_CLONE | CFL_OPEN_TREE_CLOEXEC | AT_RECURSIVE | flags);
}

/* Moves a detached tree onto `name` in `dir`. */
static int attach_tree(int tree, int dir, const char *name)
{
    return (int)syscall(SYS_move_mount, tree, "", dir, name, CFL_MOVE_MOUNT_F_EMPTY_PATH);
}

/* A new root for the CFL_FS_MOUNT rules: a tmpfs holding a bind of every top-level entry of the
 * host's root (a copy of each symbolic link), and each rule's source at its target in place of
 * any entry of that name; then pivot_root into it and drop the old root. The copies are this
 * namespace's own (private propagation): the host's root is never written, and the paths the
 * other steps use (rules, /tmp, /proc) mean what they meant. Works without malloc (the command
 * child shares the monitor's memory): getdents64 into a buffer on the stack. */
static void build_root(const struct child_args *a)
{
    const struct request *rq = a->rq;
    int trees[CFL_MAX_MOUNTS];
    const char *targets[CFL_MAX_MOUNTS];
    int ntrees = 0;
    /* each source first (it may lie under /tmp, which the staging tmpfs covers next) */
    size_t pos = 0;
    for (uint32_t i = 0; i < rq->nfs_rules; i++) {
        uint32_t access;
        const char *target = next_rule(rq->fs_rules, &pos, &access);
        if (!(access & CFL_FS_MOUNT))
            continue;
        int source = open_nofollow(rule_source(target));
        if (source < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, (int)i);
        struct stat st;
        if (fstat(source, &st) < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, (int)i);
        if (!S_ISDIR(st.st_mode))
            child_fail(a, CFL_STAGE_MOUNT, ENOTDIR, (int)i);
        int tree = clone_tree(source, "", CFL_AT_EMPTY_PATH);
        struct cfl_mount_attr attr = {
            .attr_set = CFL_MOUNT_ATTR_NOSUID | CFL_MOUNT_ATTR_NODEV | ((access & CFL_FS_WRITE) ? 0 : MOUNT_ATTR_RDONLY),
        };
        if (tree < 0 || syscall(SYS_mount_setattr, tree, "", CFL_AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, (int)i);
        close(source);
        trees[ntrees] = tree;
        targets[ntrees++] = target + 1;
    }
    int host = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int tmp = host < 0 ? -1 : clone_tree(host, "tmp", 0);
    if (host < 0 || (tmp < 0 && errno != ENOENT))
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    /* the staging root, on /tmp (its own copy is in `tmp`) */
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    int root = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    char buf[4096] __attribute__((aligned(8)));
    char link[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, host, buf, sizeof buf);
        if (n < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, -1);
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            const struct dirent64 *e = (const void *)(buf + off);
            off += e->d_reclen;
            const char *name = e->d_name;
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                continue;
            bool replaced = false;
            for (int t = 0; t < ntrees; t++)
                replaced |= strcmp(name, targets[t]) == 0;
            if (replaced)
                continue;
            struct stat st;
            if (fstatat(host, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue; /* gone meanwhile */
            if (S_ISLNK(st.st_mode)) {
                ssize_t len = readlinkat(host, name, link, sizeof link - 1);
                if (len < 0)
                    child_fail(a, CFL_STAGE_MOUNT, errno, -1);
                link[len] = '\0';
                if (symlinkat(link, root, name) < 0)
                    child_fail(a, CFL_STAGE_MOUNT, errno, -1);
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                if (mkdirat(root, name, 0755) < 0)
                    child_fail(a, CFL_STAGE_MOUNT, errno, -1);
            } else if (S_ISREG(st.st_mode)) {
                int file = openat(root, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (file < 0)
                    child_fail(a, CFL_STAGE_MOUNT, errno, -1);
                close(file);
            } else {
                continue; /* a device, socket or fifo at the top: left out */
            }
            int tree = strcmp(name, "tmp") == 0 ? tmp : clone_tree(host, name, AT_SYMLINK_NOFOLLOW);
            if (tree < 0 || attach_tree(tree, root, name) < 0)
                child_fail(a, CFL_STAGE_MOUNT, errno, -1);
            close(tree);
            if (tree == tmp)
                tmp = -1;
        }
    }
    if (tmp >= 0)
        close(tmp);
    for (int t = 0; t < ntrees; t++) {
        if (mkdirat(root, targets[t], 0755) < 0 || attach_tree(trees[t], root, targets[t]) < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, -1);
        close(trees[t]);
    }
    close(host);
    /* the old root stacked on the new one, then detached: only the copies remain */
    if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    close(root);
    /* nothing can be added at the top (the binds below keep their own flags) */
    struct cfl_mount_attr top = { .attr_set = MOUNT_ATTR_RDONLY };
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &top, sizeof top) < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
}

/* Sets up the new mount namespace: private propagation, then the read-only view with its
 * read-write binds, then the private tmpfs mounts (after, so they stay writable), then /proc. */
static void setup_mounts(const struct child_args *a, bool proc)
{
    const struct request *rq = a->rq;
    /* The namespace's mounts are copies of the host's, in the same peer groups: without this,
     * every mount below would propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    if (rq->nmounts > 0)
        build_root(a);
    if (rq->hdr.iso_flags & CFL_ISO_READONLY_ROOT) {
        /* The mounts here are this namespace's own copies: no bind of / is needed to make them
         * read-only without touching the host's (and the copies have no writers yet). */
        if (mount_setattr_tree("/", MOUNT_ATTR_RDONLY, 0) < 0)
            child_fail(a, CFL_STAGE_MOUNT, errno, -1);
        size_t pos = 0;
        for (uint32_t i = 0; i < rq->nfs_rules; i++) {
            uint32_t access;
            const char *path = next_rule(rq->fs_rules, &pos, &access);
            if (!(access & CFL_FS_WRITE))
                continue;
            if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                if (errno == ENOENT)
                    continue; /* as with Landlock: nothing there to write to */
                child_fail(a, CFL_STAGE_MOUNT, errno, (int)i);
            }
            /* a bind copies the read-only flag of its source */
            if (mount_setattr_tree(path, 0, MOUNT_ATTR_RDONLY) < 0)
                child_fail(a, CFL_STAGE_MOUNT, errno, (int)i);
        }
    }
    if (rq->hdr.tmp_size != 0 &&
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, a->tmpfs_options) < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    if (rq->hdr.tmp_size != 0 || rq->hdr.shm_size_mib != 0) {
        if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, a->tmpfs_options) < 0 &&
            errno != ENOENT) /* no /dev/shm: nothing shared to hide */
            child_fail(a, CFL_STAGE_MOUNT, errno, -1);
    }
    /* mounted by a process inside the new PID namespace, so it shows that namespace */
    if (proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(a, CFL_STAGE_MOUNT, errno, -1);
}

int map_own_ids(uid_t uid, gid_t gid, int *which)
{
    /* The launcher is not dumpable (pool.c), so its /proc files are root's and the maps could
     * not be opened: dumpable only while they are opened (the kernel checks the opener, not the
     * writer, so they are written after), a window of three open(2) calls. */
    static const char *const files[3] = { "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map" };
    int fds[3];
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        fds[i] = open(files[i], O_WRONLY | O_CLOEXEC);
    int opened = errno;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    char text[3][64];
    snprintf(text[0], sizeof text[0], "deny");
    snprintf(text[1], sizeof text[1], "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    snprintf(text[2], sizeof text[2], "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    int err = 0;
    for (int i = 0; i < 3; i++) {
        if (err == 0 && fds[i] < 0) {
            err = opened;
            *which = i + 1;
        } else if (err == 0) {
            ssize_t n = write(fds[i], text[i], strlen(text[i]));
            if (n != (ssize_t)strlen(text[i])) {
                err = n < 0 ? errno : EIO;
                *which = i + 1;
            }
        }
        if (fds[i] >= 0)
            close(fds[i]);
    }
    errno = err;
    return err == 0 ? 0 : -1;
}

/* In a new user namespace: the launcher's uid and gid mapped to themselves, nothing else (the
 * one mapping a process without privilege may write, setgroups denied first, as the kernel
 * asks), written by the namespace's first process itself, which holds every capability there. */
static void map_self(const struct child_args *a)
{
    int which = 0;
    if (map_own_ids(a->outer_uid, a->outer_gid, &which) < 0)
        child_fail(a, CFL_STAGE_NAMESPACE, errno, which);
}

/* Joins the cgroups and sets up the new namespaces; runs as root, before anything else, so
 * that the cgroup files are still reachable (not yet read-only) and everything after runs in
 * the cgroups. `proc`: mount a fresh /proc (the caller is a new PID namespace's init). */
void isolate(const struct child_args *a, bool proc)
{
    const struct request *rq = a->rq;
    if ((rq->hdr.iso_flags & CFL_ISO_NEWUSER) && !a->user_ready)
        map_self(a);
    join_cgroups(a);
    if ((rq->hdr.iso_flags & CFL_ISO_NEWUTS) && sethostname("confine", 7) < 0)
        child_fail(a, CFL_STAGE_NAMESPACE, errno, 0);
    if ((rq->hdr.iso_flags & CFL_ISO_NEWNET) && !a->net_ready)
        loopback_up(a);
    if (rq->hdr.iso_flags & CFL_ISO_NEWNS)
        setup_mounts(a, proc);
}

/* init's stack. Static for the same reasons as child_stack (child.c): init runs on it in its
 * own copy-on-write copy of the monitor's memory, one init per monitor. */
static char init_stack[64 * 1024] __attribute__((aligned(16)));

/*
 * pid 1 of the new PID namespace. The command must not be pid 1 (it would see getppid() == 0,
 * could kill(0) its own namespace's init, and would have to reap orphans), so init stays
 * behind as root while the command (pid 2, its CLONE_VM|CLONE_VFORK child) drops privileges:
 * the command then cannot signal it. Init reaps every orphan of the namespace and, when pid 2
 * ends, records pid 2's status and exits; the kernel kills what is left in the namespace.
 */
static _Noreturn void namespace_init(const struct child_args *a, struct ns_shared *shared)
{
    /* the monitor's death (never expected) kills init, and with it the namespace */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_NAME, "confine-init", 0, 0, 0);
    isolate(a, true);
    struct child_args command = *a;
    command.isolated = true;
    pid_t pid = start_command(&command, 0);
    if (pid < 0)
        child_fail(a, CFL_STAGE_FORK, errno, 0);
    /* pid 2 has exec'd or failed: drop every fd, among them the pipe whose EOF tells the
     * monitor so, the stdio copies and the status socket */
    if (syscall(SYS_close_range, 0U, ~0U, 0U) < 0)
        close(a->started);
    for (;;) {
        int status;
        pid_t done = waitpid(-1, &status, __WALL);
        if (done == pid) {
            siginfo_t si;
            si.si_pid = 0;
            /* pid 2's children were re-parented to init before it became a zombie */
            shared->flags = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0
                                ? CFL_REPORT_FLAG_DESCENDANTS : 0;
            shared->status = status;
            __atomic_store_n(&shared->done, 1, __ATOMIC_RELEASE);
            _exit(0);
        }
        if (done < 0 && errno != EINTR)
            _exit(1); /* ECHILD: cannot happen while pid 2 is unreaped */
    }
}

struct init_args {
    const struct child_args *command;
    struct ns_shared *shared;
};

static int init_entry(void *raw)
{
    const struct init_args *i = raw;
    namespace_init(i->command, i->shared);
}

/* The clone(2) flags of the request's namespaces. */
int namespace_flags(uint32_t iso)
{
    return ((iso & CFL_ISO_NEWNS) ? CLONE_NEWNS : 0) | ((iso & CFL_ISO_NEWNET) ? CLONE_NEWNET : 0) |
           ((iso & CFL_ISO_NEWPID) ? CLONE_NEWPID : 0) | ((iso & CFL_ISO_NEWIPC) ? CLONE_NEWIPC : 0) |
           ((iso & CFL_ISO_NEWUTS) ? CLONE_NEWUTS : 0) | ((iso & CFL_ISO_NEWUSER) ? CLONE_NEWUSER : 0);
}

/* The namespaces the command's (or init's) clone makes: the request's, less a network (and a
 * user) namespace the monitor already sits in (`net_ready`, `user_ready`). */
int clone_namespaces(const struct child_args *a)
{
    return namespace_flags(a->rq->hdr.iso_flags) & ~(a->net_ready ? CLONE_NEWNET : 0) &
           ~(a->user_ready ? CLONE_NEWUSER : 0);
}

/* Starts the command with a PID namespace: init is a plain (copy-on-write) clone, since it
 * never execs and a vfork-style clone would leave the monitor suspended for good. `shared` is
 * where a->error points; `started`, a CLOEXEC pipe. Returns init's pid once the command
 * has exec'd or failed (then a->error says which), or -1 (errno). */
pid_t start_in_pid_namespace(struct child_args *a, struct ns_shared *shared, int started[2])
{
    a->started = started[1];
    struct init_args init = { a, shared };
    pid_t pid = clone(init_entry, init_stack + sizeof init_stack,
                      clone_namespaces(a) | SIGCHLD, &init);
    int err = errno;
    close(started[1]);
    if (pid > 0) {
        /* EOF once init and pid 2 have both let go of the write end: pid 2 by exec (or exit),
         * init right after (or by failing) */
        char byte;
        while (read(started[0], &byte, 1) < 0 && errno == EINTR)
            ;
    }
    close(started[0]);
    errno = err;
    return pid;
}
