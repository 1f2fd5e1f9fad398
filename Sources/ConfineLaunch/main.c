/*
 * confine-launch: the spawn helper. `confine-launch --serve` reads spawn requests from the
 * control socket on fd 0 and forks one monitor per request; the monitor forks, confines and
 * execs the command, reports on the status socket and kills the command's whole tree when it
 * ends or when the parent asks. The wire protocol is in confine_protocol.h.
 *
 * Process layout:  helper --fork--> monitor (child subreaper) --fork--> command (--exec-->)
 * With a PID namespace:  monitor --fork--> init (pid 1) --fork--> command (pid 2, --exec-->)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine_protocol.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* mount_setattr(2) (Linux 5.12) and Landlock (5.13; ABI 3 = 6.2, 5 = 6.10, 6 = 6.12), declared
 * here rather than taken from the C library's or the kernel's headers, which may predate them.
 * The syscall numbers are the same on every architecture. */
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
struct cfl_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_DIR (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_CHAR (1ull << 6)
#define LL_FS_MAKE_DIR (1ull << 7)
#define LL_FS_MAKE_REG (1ull << 8)
#define LL_FS_MAKE_SOCK (1ull << 9)
#define LL_FS_MAKE_FIFO (1ull << 10)
#define LL_FS_MAKE_BLOCK (1ull << 11)
#define LL_FS_MAKE_SYM (1ull << 12)
#define LL_FS_REFER (1ull << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
/* the rights that apply to a file (the kernel refuses others in a rule on a non-directory) */
#define LL_FS_FILE (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};
struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

_Static_assert(sizeof(struct cfl_request_header) == 72, "header layout");
_Static_assert(__builtin_offsetof(struct cfl_request_header, iso_flags) == 44, "header layout");
_Static_assert(__builtin_offsetof(struct cfl_request_header, tmp_size) == 64, "header layout");

#define CONTROL_FD_MIN 100                 /* the control socket moves at or above this fd */
#define STDIO_DUP_MIN 10                   /* stdio fds are staged at or above this fd */
#define INLINE_BUF_SIZE (256u * 1024u)     /* one datagram; larger requests come in a memfd */
#define MAX_MEMFD_REQUEST (64u << 20)      /* sanity cap on a memfd request */
#define MAX_RLIMITS 16u
#define MAX_RECV_FDS 16                    /* room to receive (and close) stray extra fds */
#define MAX_FS_RULES 4096u
#define MAX_CGROUPS 16u
#define CFL_ISO_ALL (CFL_ISO_NEWNS | CFL_ISO_NEWNET | CFL_ISO_NEWPID | CFL_ISO_NEWIPC | \
                     CFL_ISO_LANDLOCK | CFL_ISO_READONLY_ROOT | CFL_ISO_NEWUTS)
#define CFL_FS_ALL (CFL_FS_READ | CFL_FS_WRITE | CFL_FS_EXEC)

/* A validated request; all pointers point into the request buffer. */
struct request {
    struct cfl_request_header hdr;
    const unsigned char *rlimits;      /* hdr.nrlimits packed struct cfl_rlimit */
    const struct sock_filter *filter;  /* hdr.filter_len bytes */
    const char *path;
    const char *cwd;                   /* NULL: keep the helper's */
    const char *strings;               /* hdr.argc then hdr.envc NUL-terminated strings */
    const unsigned char *fs_rules;     /* hdr.fs_rules_len bytes: nfs_rules packed rules */
    uint32_t nfs_rules;
    const char *cgroups;               /* hdr.cgroup_len bytes: ncgroups NUL-terminated paths */
    uint32_t ncgroups;
    int status_fd;
    int stdio[3];
};

/* The monitor's view of the command tree. */
struct monitor {
    int status_fd;
    int sigfd;
    pid_t main;
    int main_status;       /* raw wait status of the main pid */
    bool main_reaped;
    bool tearing_down;     /* main gone or being killed: other pids reaped are descendants */
    uint32_t flags;        /* CFL_REPORT_FLAG_* */
    char children[64];     /* /proc/self/task/<tid>/children */
    int listener;          /* the seccomp listener in NOTIFY mode, else -1 */
    bool learn;            /* let notified calls proceed */
    int32_t notify_errno;
    unsigned reported;     /* REFUSED reports sent */
    uint64_t seen[32];     /* dedupe: hashes of (nr, arg0) reported */
};

/* ---- common ------------------------------------------------------------------------------ */

/* Prints "confine-launch: what: strerror" on stderr and exits 1 (helper start-up only). */
static _Noreturn void fatal(const char *what)
{
    dprintf(2, "confine-launch: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Sends one report datagram (send, MSG_NOSIGNAL); a vanished parent (EPIPE, ...) is ignored. */
static void send_report(int fd, const struct cfl_report *r, int flags)
{
    while (send(fd, r, sizeof *r, MSG_NOSIGNAL | flags) < 0 && errno == EINTR)
        ;
}

/* Sends a FAILED report; `resource` goes in `pid` (meaningful for CFL_STAGE_RLIMIT). */
static void report_failed(int fd, int stage, int err, int resource, int flags)
{
    struct cfl_report r = {
        .kind = CFL_REPORT_FAILED, .pid = resource, .stage = stage, .err = err,
    };
    send_report(fd, &r, flags);
}

/* ---- request parsing (helper) ------------------------------------------------------------ */

/* True if s[0..n) is a C string of exactly n-1 characters: NUL-terminated, no interior NUL. */
static bool exact_c_string(const char *s, size_t n)
{
    return n >= 1 && memchr(s, 0, n) == s + n - 1;
}

/* Steps *pos over `count` NUL-terminated strings; false if they overrun len. */
static bool skip_strings(const unsigned char *buf, size_t len, size_t *pos, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *nul = memchr(buf + *pos, 0, len - *pos);
        if (nul == NULL)
            return false;
        *pos = (size_t)(nul - buf) + 1;
    }
    return true;
}

/* Counts the packed { u32 access; absolute path } rules of a section; false if malformed. */
static bool parse_fs_rules(const unsigned char *p, size_t len, uint32_t *count)
{
    uint32_t n = 0;
    size_t pos = 0;
    while (pos < len) {
        uint32_t access;
        if (len - pos < sizeof access + 2 || ++n > MAX_FS_RULES)
            return false;
        memcpy(&access, p + pos, sizeof access);
        pos += sizeof access;
        const unsigned char *nul = memchr(p + pos, 0, len - pos);
        if (access == 0 || (access & ~CFL_FS_ALL) != 0 || nul == NULL || p[pos] != '/')
            return false;
        pos = (size_t)(nul - p) + 1;
    }
    *count = n;
    return true;
}

/* Counts the absolute paths of cgroup.procs files (NUL-terminated) filling a section exactly;
 * false if malformed. The name is checked so that a bad request cannot make the child, still
 * root, write "0" into some other file. */
static bool parse_cgroups(const unsigned char *p, size_t len, uint32_t *count)
{
    static const char procs[] = "/cgroup.procs";
    uint32_t n = 0;
    size_t pos = 0;
    while (pos < len) {
        const unsigned char *nul = memchr(p + pos, 0, len - pos);
        if (nul == NULL || ++n > MAX_CGROUPS)
            return false;
        size_t plen = (size_t)(nul - (p + pos));
        if (p[pos] != '/' || plen < sizeof procs ||
            memcmp(nul - (sizeof procs - 1), procs, sizeof procs - 1) != 0)
            return false;
        pos = (size_t)(nul - p) + 1;
    }
    *count = n;
    return true;
}

/* Checks the isolation fields and adds the implied NEWNS; false if malformed. */
static bool valid_isolation(struct cfl_request_header *h)
{
    if ((h->iso_flags & ~CFL_ISO_ALL) != 0 || h->iso_reserved != 0 ||
        (h->landlock_scopes != 0 && !(h->iso_flags & CFL_ISO_LANDLOCK)) ||
        (h->fs_rules_len != 0 && !(h->iso_flags & (CFL_ISO_LANDLOCK | CFL_ISO_READONLY_ROOT))))
        return false;
    /* a fresh /proc for the PID namespace, the read-only view and the private /tmp are all
     * mounts that must not be the host's */
    if ((h->iso_flags & (CFL_ISO_NEWPID | CFL_ISO_READONLY_ROOT)) || h->tmp_size != 0)
        h->iso_flags |= CFL_ISO_NEWNS;
    return true;
}

/* Validates a whole request (header and payload) of len bytes and fills rq's pointers. */
static bool parse_request(const unsigned char *buf, size_t len, struct request *rq)
{
    struct cfl_request_header *h = &rq->hdr;
    if (len < sizeof *h)
        return false;
    memcpy(h, buf, sizeof *h);
    if (h->magic != CFL_MAGIC || (h->flags & ~(CFL_FLAG_SETUID | CFL_FLAG_SETSID | CFL_FLAG_NOTIFY | CFL_FLAG_LEARN)) != 0 ||
        h->nrlimits > MAX_RLIMITS || h->filter_len % sizeof(struct sock_filter) != 0 ||
        h->filter_len / sizeof(struct sock_filter) > BPF_MAXINSNS || h->argc < 1 ||
        h->path_len < 2 || !valid_isolation(h))
        return false;

    uint64_t fixed = sizeof *h + (uint64_t)h->nrlimits * sizeof(struct cfl_rlimit) +
                     h->filter_len + h->path_len + h->cwd_len;
    uint64_t sections = (uint64_t)h->fs_rules_len + h->cgroup_len;
    if (fixed + sections > len)
        return false;
    size_t strings_end = len - (size_t)sections; /* the sections follow the strings */

    size_t pos = sizeof *h;
    rq->rlimits = buf + pos;
    pos += h->nrlimits * sizeof(struct cfl_rlimit);
    rq->filter = (const struct sock_filter *)(buf + pos); /* 8-aligned: buffers are aligned */
    pos += h->filter_len;
    rq->path = (const char *)buf + pos;
    if (!exact_c_string(rq->path, h->path_len) || rq->path[0] != '/')
        return false;
    pos += h->path_len;
    rq->cwd = NULL;
    if (h->cwd_len > 0) {
        rq->cwd = (const char *)buf + pos;
        if (h->cwd_len < 2 || !exact_c_string(rq->cwd, h->cwd_len))
            return false;
        pos += h->cwd_len;
    }
    rq->strings = (const char *)buf + pos;
    if (!skip_strings(buf, strings_end, &pos, (uint64_t)h->argc + h->envc) || pos != strings_end)
        return false;
    rq->fs_rules = buf + strings_end;
    rq->cgroups = (const char *)buf + strings_end + h->fs_rules_len;
    return parse_fs_rules(rq->fs_rules, h->fs_rules_len, &rq->nfs_rules) &&
           parse_cgroups((const unsigned char *)rq->cgroups, h->cgroup_len, &rq->ncgroups);
}

/* Reads a whole memfd request (fstat, pread) into a malloc'd buffer; 0 or an errno. */
static int read_memfd(int fd, unsigned char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct cfl_request_header) ||
        st.st_size > (off_t)MAX_MEMFD_REQUEST)
        return EINVAL;
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size);
    if (buf == NULL)
        return ENOMEM;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0 || errno != EINTR) {
            int err = n == 0 ? EINVAL : errno; /* n == 0: shrunk under us */
            free(buf);
            return err;
        }
    }
    *out = buf;
    *len = size;
    return 0;
}

/* True if the inline part of a memfd request is a header stub: magic (and flags), no payload. */
static bool valid_stub(const unsigned char *buf, size_t len)
{
    uint32_t magic;
    if (len < 2 * sizeof(uint32_t) || len > sizeof(struct cfl_request_header))
        return false;
    memcpy(&magic, buf, sizeof magic);
    return magic == CFL_MAGIC;
}

/* ---- command child ----------------------------------------------------------------------- */

/* Why the command child failed before execve: written by the child into memory it shares with
 * the monitor (CLONE_VM), read by the monitor once the vfork-style clone returns. No syscall is
 * needed to report, so a filter that refuses write(2) cannot hide the failure, and nothing waits
 * on a supervisor that is asleep. With a PID namespace the monitor points child_error into a
 * MAP_SHARED page instead, which init and the command (init's CLONE_VM child) write alike. */
static volatile int32_t child_error_slot[3];
static volatile int32_t *child_error = child_error_slot;

static _Noreturn void child_fail(int stage, int err, int resource)
{
    child_error[1] = err;
    child_error[2] = resource;
    child_error[0] = stage;
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

/* ---- isolation (command child, or the PID namespace's init) ------------------------------ */

/* The Landlock ABI version, detected once at helper start-up; <= 0: -errno (no Landlock). */
static int landlock_abi;

/* The command child's arguments and stacks, for clone(2). */
struct child_args {
    const struct request *rq;
    char *const *argv;
    char *const *envp;
    int transfer;          /* NOTIFY mode: the child's end of the listener socketpair, else -1 */
    bool isolated;         /* init has already joined the cgroups and set up the namespaces */
    int started;           /* NEWPID: write end of the pipe whose EOF tells the monitor that
                              the command has exec'd (or failed), else -1 */
    char tmpfs_options[48];
};

/* Writes "0" to each cgroup.procs path: the calling process joins that cgroup. */
static void join_cgroups(const struct request *rq)
{
    const char *path = rq->cgroups;
    for (uint32_t i = 0; i < rq->ncgroups; i++, path += strlen(path) + 1) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            child_fail(CFL_STAGE_CGROUP, errno, (int)i); /* exit closes fd */
        close(fd);
    }
}

/* Brings `lo` up (SIOCGIFFLAGS, SIOCSIFFLAGS): a new network namespace starts with it down. */
static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        child_fail(CFL_STAGE_NETWORK, errno, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        child_fail(CFL_STAGE_NETWORK, errno, 0);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        child_fail(CFL_STAGE_NETWORK, errno, 0);
    close(s);
}

/* mount_setattr(2) on path and everything mounted below it. */
static int mount_setattr_tree(const char *path, uint64_t set, uint64_t clear)
{
    struct cfl_mount_attr attr = { .attr_set = set, .attr_clr = clear };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

/* The rule at *pos (access, path); advances *pos past it. */
static const char *next_rule(const unsigned char *rules, size_t *pos, uint32_t *access)
{
    memcpy(access, rules + *pos, sizeof *access); /* unaligned */
    const char *path = (const char *)rules + *pos + sizeof *access;
    *pos += sizeof *access + strlen(path) + 1;
    return path;
}

/* Sets up the new mount namespace: private propagation, then the read-only view with its
 * read-write binds, then the private tmpfs mounts (after, so they stay writable), then /proc. */
static void setup_mounts(const struct child_args *a, bool proc)
{
    const struct request *rq = a->rq;
    /* The namespace's mounts are copies of the host's, in the same peer groups: without this,
     * every mount below would propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(CFL_STAGE_MOUNT, errno, -1);
    if (rq->hdr.iso_flags & CFL_ISO_READONLY_ROOT) {
        /* The mounts here are this namespace's own copies: no bind of / is needed to make them
         * read-only without touching the host's (and the copies have no writers yet). */
        if (mount_setattr_tree("/", MOUNT_ATTR_RDONLY, 0) < 0)
            child_fail(CFL_STAGE_MOUNT, errno, -1);
        size_t pos = 0;
        for (uint32_t i = 0; i < rq->nfs_rules; i++) {
            uint32_t access;
            const char *path = next_rule(rq->fs_rules, &pos, &access);
            if (!(access & CFL_FS_WRITE))
                continue;
            if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                if (errno == ENOENT)
                    continue; /* as with Landlock: nothing there to write to */
                child_fail(CFL_STAGE_MOUNT, errno, (int)i);
            }
            /* a bind copies the read-only flag of its source */
            if (mount_setattr_tree(path, 0, MOUNT_ATTR_RDONLY) < 0)
                child_fail(CFL_STAGE_MOUNT, errno, (int)i);
        }
    }
    if (rq->hdr.tmp_size != 0) {
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, a->tmpfs_options) < 0)
            child_fail(CFL_STAGE_MOUNT, errno, -1);
        if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, a->tmpfs_options) < 0 &&
            errno != ENOENT) /* no /dev/shm: nothing shared to hide */
            child_fail(CFL_STAGE_MOUNT, errno, -1);
    }
    /* mounted by a process inside the new PID namespace, so it shows that namespace */
    if (proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(CFL_STAGE_MOUNT, errno, -1);
}

/* Joins the cgroups and sets up the new namespaces; runs as root, before anything else, so
 * that the cgroup files are still reachable (not yet read-only) and everything after runs in
 * the cgroups. `proc`: mount a fresh /proc (the caller is a new PID namespace's init). */
static void isolate(const struct child_args *a, bool proc)
{
    const struct request *rq = a->rq;
    join_cgroups(rq);
    if ((rq->hdr.iso_flags & CFL_ISO_NEWUTS) && sethostname("confine", 7) < 0)
        child_fail(CFL_STAGE_NAMESPACE, errno, 0);
    if (rq->hdr.iso_flags & CFL_ISO_NEWNET)
        loopback_up();
    if (rq->hdr.iso_flags & CFL_ISO_NEWNS)
        setup_mounts(a, proc);
}

/* The fs rights Landlock ABI `abi` knows, all handled: what no rule grants is denied. */
static uint64_t landlock_fs_rights(int abi)
{
    uint64_t rights = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2)
        rights |= LL_FS_REFER;
    if (abi >= 3)
        rights |= LL_FS_TRUNCATE;
    if (abi >= 5)
        rights |= LL_FS_IOCTL_DEV;
    return rights;
}

/* The Landlock rights a rule's CFL_FS_* bits grant (before masking to what the ABI knows). */
static uint64_t landlock_rule_rights(uint32_t access)
{
    uint64_t rights = 0;
    if (access & CFL_FS_READ)
        rights |= LL_FS_READ_FILE | LL_FS_READ_DIR;
    if (access & CFL_FS_WRITE)
        rights |= LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE |
                  LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK |
                  LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM | LL_FS_REFER;
    if (access & CFL_FS_EXEC)
        rights |= LL_FS_EXECUTE;
    return rights;
}

/* Builds the Landlock ruleset of the request (one path_beneath rule per existing rule path);
 * returns its fd, enforced later by landlock_restrict_self. Any failure fails the child. */
static int landlock_ruleset(const struct request *rq)
{
    if (landlock_abi <= 0)
        child_fail(CFL_STAGE_LANDLOCK, -landlock_abi, -1);
    if (rq->hdr.landlock_scopes != 0 && landlock_abi < 6)
        child_fail(CFL_STAGE_LANDLOCK, EOPNOTSUPP, -1);
    uint64_t handled = landlock_fs_rights(landlock_abi);
    /* the full struct even for an older ABI: the kernel accepts trailing zero fields */
    struct ll_ruleset_attr attr = { .handled_access_fs = handled, .scoped = rq->hdr.landlock_scopes };
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0)
        child_fail(CFL_STAGE_LANDLOCK, errno, -1);
    size_t pos = 0;
    for (uint32_t i = 0; i < rq->nfs_rules; i++) {
        uint32_t access;
        const char *path = next_rule(rq->fs_rules, &pos, &access);
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* nothing there to allow */
            child_fail(CFL_STAGE_LANDLOCK, errno, (int)i);
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
            child_fail(CFL_STAGE_LANDLOCK, errno, (int)i);
        struct ll_path_beneath_attr rule = {
            .allowed_access = landlock_rule_rights(access) & handled &
                              (S_ISDIR(st.st_mode) ? ~0ull : LL_FS_FILE),
            .parent_fd = fd,
        };
        /* a write-only rule on a file of an ABI 1 kernel grants WRITE_FILE: never empty */
        if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) < 0)
            child_fail(CFL_STAGE_LANDLOCK, errno, (int)i);
        close(fd);
    }
    return ruleset;
}

/* Drops to uid/gid: setgroups(0), setgid, setuid, then checks getresuid/getresgid. */
static void drop_privileges(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0)
        child_fail(CFL_STAGE_SETGROUPS, errno, 0);
    if (setgid(gid) < 0)
        child_fail(CFL_STAGE_SETGID, errno, 0);
    if (setuid(uid) < 0)
        child_fail(CFL_STAGE_SETUID, errno, 0);
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
        child_fail(CFL_STAGE_SETGID, EPERM, 0);
    if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid)
        child_fail(CFL_STAGE_SETUID, EPERM, 0);
}

/* Applies the request in protocol order and execve()s; any failure goes to child_error. */
static _Noreturn void command_child(const struct child_args *a)
{
    const struct request *rq = a->rq;
    const struct cfl_request_header *h = &rq->hdr;

    reset_signals();
    if (!a->isolated && (rq->ncgroups > 0 || h->iso_flags != 0))
        isolate(a, false);
    if ((h->flags & CFL_FLAG_SETSID) && setsid() < 0)
        child_fail(CFL_STAGE_SETSID, errno, 0);
    if (install_stdio(rq->stdio) < 0)
        child_fail(CFL_STAGE_STDIO, errno, 0);
    /* the listener's way out, at the fd the filter allows sendmsg on (close-on-exec below) */
    if (a->transfer >= 0 && dup2(a->transfer, CFL_NOTIFY_FD) < 0)
        child_fail(CFL_STAGE_SECCOMP, errno, 0);
    /* built while still root (every rule path can be opened) and before RLIMIT_NOFILE, after
     * the mounts (a rule for /tmp means the private one); enforced once unprivileged */
    int ruleset = (h->iso_flags & CFL_ISO_LANDLOCK) ? landlock_ruleset(rq) : -1;
    for (uint32_t i = 0; i < h->nrlimits; i++) {
        struct cfl_rlimit rl;
        memcpy(&rl, rq->rlimits + i * sizeof rl, sizeof rl);
        struct rlimit lim = { .rlim_cur = rl.soft, .rlim_max = rl.hard };
        if (setrlimit(rl.resource, &lim) < 0)
            child_fail(CFL_STAGE_RLIMIT, errno, (int)rl.resource);
    }
    if (h->flags & CFL_FLAG_SETUID)
        drop_privileges(h->uid, h->gid);
    if (rq->cwd != NULL && chdir(rq->cwd) < 0) /* after the drop: the target user must reach it */
        child_fail(CFL_STAGE_CHDIR, errno, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(CFL_STAGE_NO_NEW_PRIVS, errno, 0);
    if (cloexec_from_3() < 0)
        child_fail(CFL_STAGE_FDS, errno, 0);
    if (ruleset >= 0) {
        if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
            child_fail(CFL_STAGE_LANDLOCK, errno, -1);
        close(ruleset);
    }
    if (h->filter_len > 0) {
        struct sock_fprog prog = {
            .len = (unsigned short)(h->filter_len / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)rq->filter,
        };
        bool notify = (h->flags & CFL_FLAG_NOTIFY) != 0;
        long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
        if (listener < 0)
            child_fail(CFL_STAGE_SECCOMP, errno, 0);
        if (notify) {
            /* sendmsg(2) the listener to the monitor; the filter allows exactly this */
            int fd = (int)listener;
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
            if (sendmsg(CFL_NOTIFY_FD, &msg, MSG_NOSIGNAL) < 0)
                child_fail(CFL_STAGE_SECCOMP, errno, 0);
            /* no close(2): the listener is close-on-exec, and close may be one of the calls
             * the filter notifies, which nobody can answer before execve */
        }
    }
    execve(rq->path, a->argv, a->envp);
    child_fail(CFL_STAGE_EXEC, errno, 0);
}

/* ---- monitor ----------------------------------------------------------------------------- */

/* Points v[0..count) at `count` consecutive NUL-terminated strings, NULL-terminates v. */
static const char *fill_vector(char **v, const char *s, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        v[i] = (char *)s;
        s += strlen(s) + 1;
    }
    v[count] = NULL;
    return s;
}

/* Builds the argv and envp arrays (one malloc) from the request's strings. */
static char **build_vectors(const struct request *rq, char ***envp)
{
    size_t argc = rq->hdr.argc, envc = rq->hdr.envc;
    char **v = malloc((argc + envc + 2) * sizeof *v);
    if (v == NULL)
        return NULL;
    *envp = v + argc + 1;
    fill_vector(*envp, fill_vector(v, rq->strings, argc), envc);
    return v;
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

/* Waits (poll on status socket + signalfd) until the main pid exits or the parent kills it. */
/* recvmsg(2) the seccomp listener the child sent before exec; -1 if none came. */
static int receive_listener(int sock)
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
        static uint64_t learned[16];
        unsigned nr = (unsigned)req->data.nr;
        if (nr < 1024) {
            if (learned[nr / 64] & (1ull << (nr % 64)))
                return;
            learned[nr / 64] |= 1ull << (nr % 64);
        }
    } else {
        m->seen[m->reported % 32] = key;
    }
    m->reported++;
    struct cfl_report r = {
        .kind = CFL_REPORT_REFUSED, .pid = (int32_t)req->pid, .status = req->data.nr,
        .stage = (int32_t)req->data.arch, .err = m->learn ? 0 : m->notify_errno,
        .utime_us = (int64_t)req->data.args[0], .stime_us = (int64_t)req->data.args[1],
        .maxrss_kb = (int64_t)req->data.args[2],
    };
    send_report(m->status_fd, &r, MSG_DONTWAIT);
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

static char child_stack[256 * 1024] __attribute__((aligned(16)));
static char init_stack[64 * 1024] __attribute__((aligned(16)));

static int child_entry(void *raw)
{
    command_child(raw);
}

/* What a PID namespace's init tells the monitor, in a MAP_SHARED page: why the launch failed
 * (child_error points here), and pid 2's wait status. */
struct ns_shared {
    int32_t error[3];
    int32_t status;   /* raw wait status of the command (pid 2), once `done` */
    uint32_t flags;   /* CFL_REPORT_FLAG_DESCENDANTS if other processes outlived it */
    int32_t done;
};

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
    pid_t pid = clone(child_entry, child_stack + sizeof child_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &command);
    if (pid < 0)
        child_fail(CFL_STAGE_FORK, errno, 0);
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
static int namespace_flags(uint32_t iso)
{
    return ((iso & CFL_ISO_NEWNS) ? CLONE_NEWNS : 0) | ((iso & CFL_ISO_NEWNET) ? CLONE_NEWNET : 0) |
           ((iso & CFL_ISO_NEWPID) ? CLONE_NEWPID : 0) | ((iso & CFL_ISO_NEWIPC) ? CLONE_NEWIPC : 0) |
           ((iso & CFL_ISO_NEWUTS) ? CLONE_NEWUTS : 0);
}

/* Starts the command with a PID namespace: init is a plain (copy-on-write) clone, since it
 * never execs and a vfork-style clone would leave the monitor suspended for good. `shared` is
 * where child_error points; `started`, a CLOEXEC pipe. Returns init's pid once the command
 * has exec'd or failed (then child_error says which), or -1 (errno). */
static pid_t start_in_pid_namespace(struct child_args *a, struct ns_shared *shared, int started[2])
{
    a->started = started[1];
    struct init_args init = { a, shared };
    pid_t pid = clone(init_entry, init_stack + sizeof init_stack,
                      namespace_flags(a->rq->hdr.iso_flags) | SIGCHLD, &init);
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

/* The fds the helper inherited (besides 0-2 and the control socket), closed in each monitor. */
static int inherited_fds[64];
static int inherited_count;

/* The monitor: sets up, forks the command, reports STARTED/FAILED, watches, kills, reports. */
static _Noreturn void monitor(const struct request *rq, int ctl, int memfd)
{
    struct monitor m = {
        .status_fd = rq->status_fd,
        .main_status = SIGKILL, /* raw status "killed by SIGKILL" should it never be reaped */
    };
    close(ctl);
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

    /* with a PID namespace: the page init reports in (and child_error points to), and the
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

    struct child_args args = { rq, argv, envp, transfer[1], false, -1, "" };
    if (rq->hdr.tmp_size != 0)
        snprintf(args.tmpfs_options, sizeof args.tmpfs_options, "size=%llu,mode=1777",
                 (unsigned long long)rq->hdr.tmp_size);
    int ns_flags = namespace_flags(rq->hdr.iso_flags);
    if (shared != NULL) {
        child_error = shared->error;
        m.main = start_in_pid_namespace(&args, shared, exec_pipe);
    } else {
        /* clone(2) CLONE_VM|CLONE_VFORK, as posix_spawn does: no page tables copied; the
         * monitor sleeps until the child has exec'd or failed (then child_error says which).
         * Namespaces other than PID come with the same clone (as cheap as unshare(2) in the
         * child, and one call fewer). */
        m.main = clone(child_entry, child_stack + sizeof child_stack,
                       CLONE_VM | CLONE_VFORK | SIGCHLD | ns_flags, &args);
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

    /* the command has exec'd, or failed and said why in child_error */
    if (child_error[0] != 0) {
        while (waitpid(m.main, NULL, __WALL) < 0 && errno == EINTR)
            ;
        int stage = child_error[0];
        bool indexed = stage == CFL_STAGE_RLIMIT || stage == CFL_STAGE_MOUNT ||
                       stage == CFL_STAGE_LANDLOCK || stage == CFL_STAGE_CGROUP;
        report_failed(m.status_fd, stage, child_error[1], indexed ? child_error[2] : 0, 0);
        _exit(0);
    }
    if (transfer[0] >= 0) {
        close(transfer[1]);
        m.listener = receive_listener(transfer[0]);
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

/* ---- helper ------------------------------------------------------------------------------ */

/* Prepares the helper: control socket to a high CLOEXEC fd, no stray fds, /dev/null on 0. */
/* Records every inherited fd >= 3 but `ctl` and marks it close-on-exec (via /proc/self/fd). */
static void record_inherited(int ctl)
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
        if (inherited_count < (int)(sizeof inherited_fds / sizeof inherited_fds[0]))
            inherited_fds[inherited_count++] = fd;
    }
    closedir(dir);
}

static int setup_helper(void)
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
    record_inherited(ctl);
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
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    landlock_abi = abi < 0 ? -errno : (int)abi;

    /* a dead peer is no signal */
    struct sigaction ign = { .sa_handler = SIG_IGN };
    if (sigaction(SIGPIPE, &ign, NULL) < 0)
        fatal("sigaction(SIGPIPE)");
    return ctl;
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

/* Validates a datagram and its fds into rq (a memfd request is read into *big); 0 or errno. */
static int load_request(const unsigned char *buf, size_t len, int msg_flags, const int *fds,
                        int nfds, unsigned char **big, struct request *rq)
{
    if ((msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (nfds != 4 && nfds != 5))
        return EINVAL;
    if (nfds == 5) {
        if (!valid_stub(buf, len))
            return EINVAL;
        int err = read_memfd(fds[4], big, &len);
        if (err != 0)
            return err;
        buf = *big;
    }
    if (!parse_request(buf, len, rq))
        return EINVAL;
    rq->status_fd = fds[0];
    memcpy(rq->stdio, fds + 1, sizeof rq->stdio);
    return 0;
}

/* Becomes the monitor of one received request, or reports FAILED/REQUEST and exits. */
static _Noreturn void take_request(int ctl, const unsigned char *buf, size_t len, int msg_flags,
                                   const int *fds, int nfds)
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
    monitor(&rq, ctl, nfds == 5 ? fds[4] : -1);
}

/* A spare: a monitor forked ahead of time, blocked in recvmsg(2) on the shared control socket.
 * The kernel hands each datagram to exactly one reader; the spare that gets it tells the pool
 * (its pid on `taken`) and becomes that request's monitor, so the fork of a monitor is never
 * on the path of a request. */
static _Noreturn void spare(int ctl, int taken)
{
    /* before any fd is received, so no received fd can take one of these numbers */
    for (int i = 0; i < inherited_count; i++)
        close(inherited_fds[i]);
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
        pid_t self = getpid();
        (void)!write(taken, &self, sizeof self);
        close(taken);
        take_request(ctl, buf, (size_t)n, msg.msg_flags, fds, nfds);
    }
}

#define SPARES 2

/* The pool: keeps SPARES spares waiting, replaces each one as it takes a request or dies, and
 * exits when the executor closes the control socket (the spares see EOF and exit too). */
static int serve(void)
{
    int ctl = setup_helper();
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
                spare(ctl, taken[1]);
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

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--serve") == 0)
        return serve();
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        dprintf(1, "confine-launch 1 (protocol CFL1)\n");
        return 0;
    }
    dprintf(2, "usage: confine-launch --serve | --version\n");
    return 2;
}
