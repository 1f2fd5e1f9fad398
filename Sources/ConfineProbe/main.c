/*
 * confine-probe: attack programs that Confine's security tests run *inside* the sandbox.
 *
 *   confine-probe ATTACK [ARG...]
 *
 * Syscall attacks print exactly one line on stdout:
 *   refused errno=NAME (N) [label=ERR ...]        exit 0   the attempt failed with an errno the
 *                                                          sandbox uses (EPERM, EACCES, ENOSYS; a few
 *                                                          attacks accept one more, see each comment)
 *   allowed <label> [detail]                      exit 3   the attempt succeeded
 *   allowed reached-kernel errno=NAME (N) <label> exit 3   the attempt failed, but with an errno that
 *                                                          only the syscall's own handler returns
 *                                                          (EINVAL, EBADF, ENOENT, ...): the filter let it in
 * A seccomp kill (SIGSYS) ends the process without output; when an attempt runs in a forked child
 * and the child is killed by a signal, the probe re-raises that signal on itself.
 * When an attack tries several variants, it is "allowed" if any variant succeeded or reached the
 * kernel, and "refused" (with the first variant's errno) only if every variant was refused.
 *
 * Resource attacks print `contained <detail>` (exit 0) when a limit stopped them and
 * `allowed <detail>` (exit 3) when they reached their own hard cap; `cpu` prints nothing unless
 * it survives its cap. Informational commands (sleep, env, fds-open, whoami, daemon) exit 0.
 * Exit 1 (`error ...`) means the probe could not set the attack up; exit 2 is a usage error.
 *
 * Every attempt is made harmless even when it succeeds: bad magic numbers, nonexistent paths,
 * self-targets, immediate cleanup.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/perf_event.h>

/* ---- Constants older headers may lack (raw numbers, so no liburing/libkeyutils needed) ---- */

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425 /* same number on every architecture with the unified table */
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define X32_SYSCALL_BIT 0x40000000UL
#define CLONE_ARGS_SIZE_VER0 64
#define BPF_MAP_CREATE_CMD 0
#define BPF_PROG_LOAD_CMD 5
#define BPF_MAP_TYPE_ARRAY_ 2
#define BPF_PROG_TYPE_SOCKET_FILTER_ 1
#define UFFD_USER_MODE_ONLY_ 1
#define USERFAULTFD_IOC_NEW_ _IO(0xAA, 0x00)
#define KEY_SPEC_SESSION_KEYRING_ (-3)
#define KEYCTL_GET_KEYRING_ID_ 0
#define KEYCTL_UNLINK_ 9
#define KEYCTL_INVALIDATE_ 21
#define KEXEC_SEGMENT_MAX_ 16
#define LINUX_REBOOT_CMD_CAD_OFF_ 0
#define NONEXISTENT "/nonexistent-confine-probe"

enum { EXIT_REFUSED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_ALLOWED = 3 };

/* ---- errno names (own table: strerrorname_np is glibc >= 2.32 only) ---- */

#define E(x) { x, #x }
static const struct { int num; const char *name; } errno_names[] = {
    E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC), E(EBADF),
    E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY), E(EEXIST),
    E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY),
    E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE),
    E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOMSG),
    E(EOVERFLOW), E(EBADFD), E(ENOTSOCK), E(EPROTOTYPE), E(ENOPROTOOPT), E(EPROTONOSUPPORT),
    E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(EPFNOSUPPORT), E(EAFNOSUPPORT), E(EADDRINUSE),
    E(EADDRNOTAVAIL), E(ENETDOWN), E(ENETUNREACH), E(ENOBUFS), E(ENOTCONN), E(ETIMEDOUT),
    E(ECONNREFUSED), E(ESTALE), E(EDQUOT), E(ECANCELED), E(ENOKEY), E(EKEYEXPIRED),
    E(EKEYREVOKED), E(EKEYREJECTED), E(ENOTSUP),
};
#undef E

static const char *errname(int e) {
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].num == e) return errno_names[i].name;
    return "E?";
}

/* ---- Output ---- */

static int say(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return code;
}

/* ---- Attempts and verdicts ---- */

typedef struct {
    const char *label;
    int err;          /* 0: the call succeeded */
    long rc;          /* the call's return value */
    int also_refused; /* one extra errno that counts as a refusal for this attempt (0: none) */
} attempt;

/* Records a call's outcome; errno is read before anything else can change it. */
static attempt try_rc(const char *label, long rc) {
    attempt a = { label, rc < 0 ? errno : 0, rc, 0 };
    return a;
}

/* An attempt whose errno came from elsewhere (a child, or a raw -errno return). */
static attempt try_err(const char *label, int err, long rc) {
    attempt a = { label, err, rc, 0 };
    return a;
}

static int is_refusal(const attempt *a) {
    return a->err == EPERM || a->err == EACCES || a->err == ENOSYS ||
           (a->also_refused != 0 && a->err == a->also_refused);
}

/* Prints the verdict over all attempts: allowed if any succeeded or reached the kernel, else refused. */
static int conclude(const attempt *a, size_t n) {
    char all[512] = "";
    size_t len = 0;
    if (n > 1)
        for (size_t i = 0; i < n && len < sizeof all; i++)
            len += (size_t)snprintf(all + len, sizeof all - len, " %s=%s", a[i].label,
                                    a[i].err ? errname(a[i].err) : "ok");
    for (size_t i = 0; i < n; i++)
        if (a[i].err == 0) return say(EXIT_ALLOWED, "allowed %s rc=%ld%s", a[i].label, a[i].rc, all);
    for (size_t i = 0; i < n; i++)
        if (!is_refusal(&a[i]))
            return say(EXIT_ALLOWED, "allowed reached-kernel errno=%s (%d) %s%s", errname(a[i].err),
                       a[i].err, a[i].label, all);
    return say(EXIT_REFUSED, "refused errno=%s (%d)%s", errname(a[0].err), a[0].err, all);
}

static int conclude1(attempt a) { return conclude(&a, 1); }

/* ---- Helpers ---- */

/* Dies by the given signal, so the test's parent sees the same fate as the attacking child had. */
__attribute__((noreturn)) static void die_by_signal(int sig) {
    sigset_t set;
    fflush(NULL);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

static int wait_child(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return st;
}

typedef struct { int err[4]; long val[4]; } child_result;
typedef void (*child_fn)(child_result *r, void *arg);

/* Runs fn in a forked child and returns its results; 0 or an errno if the child could not be run. */
static int in_child(child_fn fn, void *arg, child_result *out) {
    int p[2];
    memset(out, 0, sizeof *out);
    if (pipe2(p, O_CLOEXEC) != 0) return errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return e;
    }
    if (pid == 0) {
        child_result r;
        memset(&r, 0, sizeof r);
        close(p[0]);
        fn(&r, arg);
        ssize_t w = write(p[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(p[1]);
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t n = read(p[0], (char *)out + got, sizeof *out - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(p[0]);
    int st = wait_child(pid);
    if (WIFSIGNALED(st)) die_by_signal(WTERMSIG(st));
    return got == sizeof *out ? 0 : EIO;
}

/* Makes a fresh private directory under /tmp; returns 0 on failure. */
static int make_tmpdir(char *buf, size_t size) {
    snprintf(buf, size, "/tmp/confine-probe-XXXXXX");
    return mkdtemp(buf) != NULL;
}

static int error_out(const char *what, int err) {
    return say(EXIT_ERROR, "error %s errno=%s (%d)", what, errname(err), err);
}

static int __attribute__((unused)) need_arch(const char *what) {
    return say(EXIT_ERROR, "error %s is not available on this architecture", what);
}

/* ======================= Syscall attacks ======================= */

/* io_uring: io_uring_setup(4, zeroed params); success yields a ring fd, which is closed at once. */
static int attack_io_uring(int argc, char **argv) {
    (void)argc; (void)argv;
    uint64_t params[15]; /* struct io_uring_params is 120 bytes */
    memset(params, 0, sizeof params);
    attempt a = try_rc("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
    if (a.err == 0) close((int)a.rc);
    return conclude1(a);
}

/* clone3: raw clone3 with a minimal clone_args (exit_signal SIGCHLD); a created child exits at once. */
static int attack_clone3(int argc, char **argv) {
    (void)argc; (void)argv;
    uint64_t args[8]; /* flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls */
    memset(args, 0, sizeof args);
    args[4] = SIGCHLD;
    fflush(NULL);
    long rc = syscall(SYS_clone3, args, (size_t)CLONE_ARGS_SIZE_VER0);
    if (rc == 0) _exit(0);
    attempt a = try_rc("clone3", rc);
    if (a.err == 0) wait_child((pid_t)rc);
    return conclude1(a);
}

struct tiocsti_arg { const char *slave; int fallback_fd; };

/* Child: becomes a session leader with the pty slave as controlling tty, then tries both TIOCSTI forms. */
static void tiocsti_child(child_result *r, void *p) {
    struct tiocsti_arg *arg = p;
    int fd = arg->fallback_fd;
    char c = '#';
    if (arg->slave) {
        setsid();
        fd = open(arg->slave, O_RDWR); /* no O_NOCTTY: a session leader acquires it as ctty */
        if (fd < 0) { r->err[2] = errno; return; }
        ioctl(fd, TIOCSCTTY, 0);
    }
    r->err[0] = ioctl(fd, TIOCSTI, &c) == 0 ? 0 : errno;
#if ULONG_MAX > 0xffffffffUL
    r->err[1] = syscall(SYS_ioctl, fd, (unsigned long)TIOCSTI | (1UL << 32), &c) == 0 ? 0 : errno;
#else
    r->err[1] = r->err[0];
#endif
}

/* tiocsti: inject a byte into our *own* new pty (never the caller's terminal), plainly and with
 * bit 32 set in the request (the kernel truncates cmd to 32 bits; a 64-bit-compare filter might not).
 * Without a pty (no /dev/ptmx) it falls back to a pipe fd: ENOTTY then proves the filter let it in. */
static int attack_tiocsti(int argc, char **argv) {
    (void)argc; (void)argv;
    struct tiocsti_arg arg = { NULL, -1 };
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int pipefd[2] = { -1, -1 };
    if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) arg.slave = ptsname(master);
    if (!arg.slave) {
        if (pipe(pipefd) != 0) return error_out("pipe", errno);
        arg.fallback_fd = pipefd[1];
    }
    child_result r;
    int e = in_child(tiocsti_child, &arg, &r);
    if (e) return error_out("fork", e);
    if (r.err[2]) return error_out("open-pty-slave", r.err[2]);
    attempt a[2] = {
        try_err(arg.slave ? "tiocsti" : "tiocsti-nopty", r.err[0], r.err[0] ? -1 : 0),
        try_err(arg.slave ? "tiocsti-highbits" : "tiocsti-highbits-nopty", r.err[1], r.err[1] ? -1 : 0),
    };
    return conclude(a, 2);
}

/* Child: asks to be traced by the probe. */
static void traceme_child(child_result *r, void *arg) {
    (void)arg;
    r->err[0] = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : errno;
}

static attempt try_traceme(void) {
    child_result r;
    int e = in_child(traceme_child, NULL, &r);
    if (e) exit(error_out("fork", e));
    return try_err("traceme", r.err[0], r.err[0] ? -1 : 0);
}

/* ptrace: PTRACE_TRACEME in a forked child, and an attach to the parent pid. The attach uses
 * PTRACE_SEIZE (same permission checks as PTRACE_ATTACH) so the parent is never stopped; our exit
 * detaches it. */
static int attack_ptrace(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_traceme();
    a[1] = try_rc("seize-parent", ptrace(PTRACE_SEIZE, getppid(), NULL, NULL));
    return conclude(a, 2);
}

/* ptrace-traceme: PTRACE_TRACEME alone, in a forked child. */
static int attack_ptrace_traceme(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_traceme());
}

/* bpf: BPF_MAP_CREATE of a 1-entry array map, then BPF_PROG_LOAD of "r0 = 0; exit" as a socket
 * filter; fds are closed at once. */
static int attack_bpf(int argc, char **argv) {
    (void)argc; (void)argv;
    uint32_t attr[32]; /* larger than any field we set; the tail stays zero as the kernel requires */
    attempt a[2];
    memset(attr, 0, sizeof attr);
    attr[0] = BPF_MAP_TYPE_ARRAY_; /* map_type, key_size, value_size, max_entries */
    attr[1] = 4;
    attr[2] = 4;
    attr[3] = 1;
    a[0] = try_rc("map_create", syscall(SYS_bpf, BPF_MAP_CREATE_CMD, attr, sizeof attr));
    if (a[0].err == 0) close((int)a[0].rc);

    static const unsigned char insns[16] = { 0xb7, 0, 0, 0, 0, 0, 0, 0, /* mov64 r0, 0 */
                                             0x95, 0, 0, 0, 0, 0, 0, 0 }; /* exit */
    static const char license[] = "GPL";
    uint64_t insns_ptr = (uint64_t)(uintptr_t)insns, license_ptr = (uint64_t)(uintptr_t)license;
    memset(attr, 0, sizeof attr);
    attr[0] = BPF_PROG_TYPE_SOCKET_FILTER_; /* prog_type, insn_cnt, insns (u64), license (u64) */
    attr[1] = 2;
    memcpy(&attr[2], &insns_ptr, 8);
    memcpy(&attr[4], &license_ptr, 8);
    a[1] = try_rc("prog_load", syscall(SYS_bpf, BPF_PROG_LOAD_CMD, attr, sizeof attr));
    if (a[1].err == 0) close((int)a[1].rc);
    return conclude(a, 2);
}

/* perf_event_open: a disabled user-only software task-clock counter on ourselves; closed at once. */
static int attack_perf_event_open(int argc, char **argv) {
    (void)argc; (void)argv;
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attempt a = try_rc("perf_event_open",
                       syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (a.err == 0) close((int)a.rc);
    return conclude1(a);
}

/* userfaultfd: the syscall plainly, then with UFFD_USER_MODE_ONLY (which unprivileged users may
 * use even when vm.unprivileged_userfaultfd=0). */
static int attack_userfaultfd(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (a[0].err == 0) close((int)a[0].rc);
    a[1] = try_rc("userfaultfd-usermode",
                  syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY_));
    if (a[1].err == 0) close((int)a[1].rc);
    return conclude(a, 2);
}

/* userfaultfd-dev: open /dev/userfaultfd (ENOENT counts as refused: the sandbox does not expose it),
 * then USERFAULTFD_IOC_NEW on it for a real uffd. */
static int attack_userfaultfd_dev(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a = try_rc("open-dev-userfaultfd", open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
    a.also_refused = ENOENT;
    if (a.err) return conclude1(a);
    int dev = (int)a.rc;
    attempt b = try_rc("ioctl-userfaultfd-new", ioctl(dev, USERFAULTFD_IOC_NEW_, O_CLOEXEC));
    if (b.err == 0) close((int)b.rc);
    close(dev);
    return conclude1(b);
}

/* keyctl: add_key to the session keyring (the key is invalidated at once), then a read-only keyctl,
 * then request_key for a missing key without callout (ENOKEY = reached the kernel). First success wins. */
static int attack_keyctl(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[3];
    a[0] = try_rc("add_key", syscall(SYS_add_key, "user", "confine-probe", "x", (size_t)1,
                                     KEY_SPEC_SESSION_KEYRING_));
    if (a[0].err == 0) {
        syscall(SYS_keyctl, KEYCTL_INVALIDATE_, a[0].rc);
        syscall(SYS_keyctl, KEYCTL_UNLINK_, a[0].rc, KEY_SPEC_SESSION_KEYRING_);
        return conclude(a, 1);
    }
    a[1] = try_rc("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID_, KEY_SPEC_SESSION_KEYRING_, 0));
    if (a[1].err == 0) return conclude(&a[1], 1);
    a[2] = try_rc("request_key", syscall(SYS_request_key, "user", "confine-probe-missing", NULL, 0));
    return conclude(a, 3);
}

/* kexec: kexec_load with 17 segments (> KEXEC_SEGMENT_MAX) and an undefined flag, kexec_file_load
 * with fds -1 and an undefined flag: EINVAL after the CAP_SYS_BOOT check. Never nr_segments 0 with
 * valid flags: that would unload a loaded crash kernel. */
static int attack_kexec(int argc, char **argv) {
    (void)argc; (void)argv;
#if defined(SYS_kexec_load)
    attempt a[2];
    size_t n = 0;
    a[n++] = try_rc("kexec_load",
                    syscall(SYS_kexec_load, 0UL, (unsigned long)KEXEC_SEGMENT_MAX_ + 1, NULL, 0x8000UL));
#if defined(SYS_kexec_file_load)
    a[n++] = try_rc("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0x8000UL));
#endif
    return conclude(a, n);
#else
    return need_arch("kexec_load");
#endif
}

/* open_by_handle_at: a bogus 8-byte handle (type 1, inode 0) against a fd on "/" (AT_FDCWD if
 * "/" cannot be opened); ESTALE/EINVAL mean it reached the kernel. Anything opened is closed. */
static int attack_open_by_handle_at(int argc, char **argv) {
    (void)argc; (void)argv;
    struct file_handle *fh = calloc(1, sizeof *fh + 8);
    if (!fh) return error_out("calloc", ENOMEM);
    fh->handle_bytes = 8;
    fh->handle_type = 1; /* FILEID_INO32_GEN */
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    attempt a = try_rc("open_by_handle_at",
                       open_by_handle_at(root >= 0 ? root : AT_FDCWD, fh, O_RDONLY | O_CLOEXEC));
    if (a.err == 0) close((int)a.rc);
    if (root >= 0) close(root);
    free(fh);
    return conclude1(a);
}

/* process_vm_readv: read a buffer of our own process through the cross-memory interface. */
static int attack_process_vm_readv(int argc, char **argv) {
    (void)argc; (void)argv;
    char src[16] = "confine-probe", dst[16] = "";
    struct iovec local = { dst, sizeof dst }, remote = { src, sizeof src };
    return conclude1(try_rc("process_vm_readv", process_vm_readv(getpid(), &local, 1, &remote, 1, 0)));
}

/* process_vm_writev: write into a buffer of our own process through the cross-memory interface. */
static int attack_process_vm_writev(int argc, char **argv) {
    (void)argc; (void)argv;
    char src[16] = "confine-probe", dst[16] = "";
    struct iovec local = { src, sizeof src }, remote = { dst, sizeof dst };
    return conclude1(try_rc("process_vm_writev", process_vm_writev(getpid(), &local, 1, &remote, 1, 0)));
}

/* Child: unshare(flags). */
static void unshare_child(child_result *r, void *arg) {
    r->err[0] = unshare(*(int *)arg) == 0 ? 0 : errno;
}

/* unshare: CLONE_NEWUSER, then CLONE_NEWNS, each in its own child so the results are independent. */
static int attack_unshare(int argc, char **argv) {
    (void)argc; (void)argv;
    static const struct { const char *label; int flag; } tries[2] = {
        { "newuser", CLONE_NEWUSER }, { "newns", CLONE_NEWNS } };
    attempt a[2];
    for (int i = 0; i < 2; i++) {
        child_result r;
        int flag = tries[i].flag;
        int e = in_child(unshare_child, &flag, &r);
        if (e) return error_out("fork", e);
        a[i] = try_err(tries[i].label, r.err[0], r.err[0] ? -1 : 0);
    }
    return conclude(a, 2);
}

/* setns: re-join our own UTS namespace (a no-op if allowed); with no /proc, setns(-1) (EBADF =
 * reached the kernel). */
static int attack_setns(int argc, char **argv) {
    (void)argc; (void)argv;
    int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    attempt a = try_rc(fd >= 0 ? "setns-uts" : "setns-badfd", setns(fd, CLONE_NEWUTS));
    if (fd >= 0) close(fd);
    return conclude1(a);
}

/* mount: a 64 KiB tmpfs on a fresh dir under /tmp, unmounted and removed at once; with no writable
 * /tmp, a mount of a nonexistent fstype on "/" (ENODEV = reached the kernel, nothing mounted). */
static int attack_mount(int argc, char **argv) {
    (void)argc; (void)argv;
    char dir[64];
    const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (!make_tmpdir(dir, sizeof dir))
        return conclude1(try_rc("mount-nofs", mount("confine-probe", "/", "confine-probe-nofs", flags, NULL)));
    attempt a = try_rc("mount-tmpfs", mount("confine-probe", dir, "tmpfs", flags, "size=64k,mode=0700"));
    if (a.err == 0) umount2(dir, MNT_DETACH);
    rmdir(dir);
    return conclude1(a);
}

/* umount2: a fresh dir that is not a mount point (EINVAL = reached the kernel; never /proc); with
 * no writable /tmp, a nonexistent path (ENOENT). */
static int attack_umount2(int argc, char **argv) {
    (void)argc; (void)argv;
    char dir[64];
    if (!make_tmpdir(dir, sizeof dir))
        return conclude1(try_rc("umount2-nonexistent", umount2(NONEXISTENT, UMOUNT_NOFOLLOW)));
    attempt a = try_rc("umount2", umount2(dir, UMOUNT_NOFOLLOW));
    rmdir(dir);
    return conclude1(a);
}

/* pivot_root: nonexistent paths; the kernel checks CAP_SYS_ADMIN first, then fails ENOENT. */
static int attack_pivot_root(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("pivot_root", syscall(SYS_pivot_root, NONEXISTENT "/new", NONEXISTENT "/old")));
}

/* personality: PER_LINUX|READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE; each success is undone at once. */
static int attack_personality(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("read_implies_exec", syscall(SYS_personality, (unsigned long)PER_LINUX | (unsigned long)READ_IMPLIES_EXEC));
    if (a[0].err == 0) syscall(SYS_personality, a[0].rc);
    a[1] = try_rc("addr_no_randomize", syscall(SYS_personality, (unsigned long)PER_LINUX | (unsigned long)ADDR_NO_RANDOMIZE));
    if (a[1].err == 0) syscall(SYS_personality, a[1].rc);
    return conclude(a, 2);
}

/* personality-safe: the query (0xffffffff) and PER_LINUX must be allowed: `ok` exit 0, else exit 3. */
static int attack_personality_safe(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("query", syscall(SYS_personality, 0xffffffffUL));
    a[1] = try_rc("per_linux", syscall(SYS_personality, (unsigned long)PER_LINUX));
    if (a[0].err == 0 && a[1].err == 0) return say(EXIT_REFUSED, "ok");
    int e = a[0].err ? a[0].err : a[1].err;
    return say(EXIT_ALLOWED, "refused errno=%s (%d) query=%s per_linux=%s", errname(e), e,
               a[0].err ? errname(a[0].err) : "ok", a[1].err ? errname(a[1].err) : "ok");
}

/* int80: the i386 ABI from a 64-bit process: `int $0x80` with eax=20 (getpid on i386). */
static int attack_int80(int argc, char **argv) {
    (void)argc; (void)argv;
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");
    if (ret >= 0) return say(EXIT_ALLOWED, "allowed pid=%ld", ret);
    return conclude1(try_err("int80-getpid", (int)-ret, -1));
#else
    return need_arch("int $0x80");
#endif
}

/* x32: syscall(__X32_SYSCALL_BIT | 39), getpid in the x32 ABI. */
static int attack_x32(int argc, char **argv) {
    (void)argc; (void)argv;
#if defined(__x86_64__)
    long rc = syscall(X32_SYSCALL_BIT | 39UL);
    if (rc >= 0) return say(EXIT_ALLOWED, "allowed pid=%ld", rc);
    return conclude1(try_rc("x32-getpid", rc));
#else
    return need_arch("the x32 ABI");
#endif
}

/* A socket of the given kind, closed at once; EAFNOSUPPORT also counts as refused (the usual errno
 * of address-family filters). */
static int try_socket(const char *label, int domain, int type, int protocol) {
    attempt a = try_rc(label, socket(domain, type | SOCK_CLOEXEC, protocol));
    a.also_refused = EAFNOSUPPORT;
    if (a.err == 0) close((int)a.rc);
    return conclude1(a);
}

/* socket-inet: socket(AF_INET, SOCK_STREAM, 0). */
static int attack_socket_inet(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-inet", AF_INET, SOCK_STREAM, 0);
}

/* socket-inet6: socket(AF_INET6, SOCK_STREAM, 0). */
static int attack_socket_inet6(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-inet6", AF_INET6, SOCK_STREAM, 0);
}

/* socket-unix: socket(AF_UNIX, SOCK_STREAM, 0). */
static int attack_socket_unix(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-unix", AF_UNIX, SOCK_STREAM, 0);
}

/* socket-netlink: socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE). */
static int attack_socket_netlink(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-netlink", AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
}

/* chmod-setuid: chmod then fchmod 04755 on our own new file in /tmp; allowed only if the setuid
 * bit really sticks ("refused stripped" when the call succeeds but the bit is dropped). */
static int attack_chmod_setuid(int argc, char **argv) {
    (void)argc; (void)argv;
    char dir[64], file[96];
    if (!make_tmpdir(dir, sizeof dir)) return error_out("mkdtemp", errno);
    snprintf(file, sizeof file, "%s/setuid", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0) {
        int e = errno;
        rmdir(dir);
        return error_out("create", e);
    }
    attempt a[2];
    a[0] = try_rc("chmod", chmod(file, 04755));
    a[1] = try_rc("fchmod", fchmod(fd, 04755));
    struct stat st;
    int have = fstat(fd, &st) == 0 && (st.st_mode & S_ISUID);
    unsigned mode = (unsigned)(st.st_mode & 07777);
    close(fd);
    unlink(file);
    rmdir(dir);
    if (have) return say(EXIT_ALLOWED, "allowed mode=%04o chmod=%s fchmod=%s", mode,
                         a[0].err ? errname(a[0].err) : "ok", a[1].err ? errname(a[1].err) : "ok");
    if (a[0].err == 0 || a[1].err == 0) return say(EXIT_REFUSED, "refused stripped mode=%04o", mode);
    return conclude(a, 2);
}

/* setuid-root: setuid(0) (raw syscall; a no-op for root). */
static int attack_setuid_root(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("setuid", syscall(SYS_setuid, 0)));
}

/* chroot: chroot("/") (affects only this short-lived process). */
static int attack_chroot(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("chroot", syscall(SYS_chroot, "/")));
}

/* reboot: wrong magic numbers, so the kernel answers EINVAL right after its CAP_SYS_BOOT check. */
static int attack_reboot(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("reboot", syscall(SYS_reboot, 0x1badc0deUL, 0x1badc0deUL,
                                              (unsigned long)LINUX_REBOOT_CMD_CAD_OFF_, NULL)));
}

/* swapon: a nonexistent path (ENOENT after the CAP_SYS_ADMIN check). */
static int attack_swapon(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("swapon", syscall(SYS_swapon, NONEXISTENT "/swap", 0)));
}

/* init_module: an empty image (ENOEXEC after the CAP_SYS_MODULE check), and finit_module(-1) (EBADF). */
static int attack_init_module(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("init_module", syscall(SYS_init_module, "", 0UL, ""));
    a[1] = try_rc("finit_module", syscall(SYS_finit_module, -1, "", 0));
    return conclude(a, 2);
}

/* iopl: iopl(3); if granted, dropped back to 0 at once (no port is touched). */
static int attack_iopl(int argc, char **argv) {
    (void)argc; (void)argv;
#if defined(SYS_iopl)
    attempt a = try_rc("iopl", syscall(SYS_iopl, 3));
    if (a.err == 0) syscall(SYS_iopl, 0);
    return conclude1(a);
#else
    return need_arch("iopl");
#endif
}

/* settimeofday: settimeofday(NULL, NULL): the kernel still checks CAP_SYS_TIME but changes nothing. */
static int attack_settimeofday(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("settimeofday", syscall(SYS_settimeofday, NULL, NULL)));
}

/* acct: a nonexistent accounting file (ENOENT after the CAP_SYS_PACCT check; accounting unchanged). */
static int attack_acct(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("acct", syscall(SYS_acct, NONEXISTENT "/acct")));
}

/* mknod-dev: a char device (1,3 = /dev/null) in a fresh /tmp dir, removed at once; with no writable
 * /tmp, in a nonexistent dir (ENOENT = reached the kernel). */
static int attack_mknod_dev(int argc, char **argv) {
    (void)argc; (void)argv;
    char dir[64], node[96];
    if (!make_tmpdir(dir, sizeof dir))
        return conclude1(try_rc("mknod-nodir", mknod(NONEXISTENT "/null", S_IFCHR | 0600, makedev(1, 3))));
    snprintf(node, sizeof node, "%s/null", dir);
    attempt a = try_rc("mknod", mknod(node, S_IFCHR | 0600, makedev(1, 3)));
    if (a.err == 0) unlink(node);
    rmdir(dir);
    return conclude1(a);
}

/* ======================= Resource attacks ======================= */

#define MiB (1024UL * 1024UL)
#define FORK_CAP 5000
#define MEMORY_CAP (8192UL * MiB)
#define CPU_CAP_SECONDS 120
#define FORK_CHILD_LIFETIME 120
#define BIGFILE_CAP (2048UL * MiB)
#define FDS_CAP 1000000L
#define FLOOD_CAP (8192ULL * MiB)

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps the given seconds, resuming after signals. */
static void sleep_for(double seconds) {
    double end = now_seconds() + seconds;
    for (double left = seconds; left > 0; left = end - now_seconds()) {
        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* forkbomb: fork sleeping children (they die with us via PDEATHSIG, and after 120 s anyway) until
 * fork fails or FORK_CAP; every child is killed and reaped before the verdict is printed. */
static int attack_forkbomb(int argc, char **argv) {
    (void)argc; (void)argv;
    pid_t *pids = calloc(FORK_CAP, sizeof *pids);
    if (!pids) return error_out("calloc", ENOMEM);
    pid_t self = getpid();
    int n = 0, err = 0;
    fflush(NULL);
    for (; n < FORK_CAP; n++) {
        pid_t p = fork();
        if (p == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != self) _exit(0);
            alarm(FORK_CHILD_LIFETIME);
            for (;;) pause();
        }
        if (p < 0) { err = errno; break; }
        pids[n] = p;
    }
    for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++) wait_child(pids[i]);
    free(pids);
    if (err) return say(EXIT_REFUSED, "contained forks=%d errno=%s (%d)", n, errname(err), err);
    return say(EXIT_ALLOWED, "allowed forks=%d", n);
}

static void *volatile memory_sink; /* keeps the compiler from eliding the allocations */

/* memory: malloc + memset 16 MiB chunks until malloc fails or MEMORY_CAP (an OOM kill shows as SIGKILL). */
static int attack_memory(int argc, char **argv) {
    (void)argc; (void)argv;
    const size_t chunk = 16 * MiB;
    size_t total = 0;
    while (total < MEMORY_CAP) {
        void *p = malloc(chunk);
        if (!p) return say(EXIT_REFUSED, "contained allocated=%zuMiB", total / MiB);
        memset(p, 0xa5, chunk);
        memory_sink = p;
        total += chunk;
    }
    return say(EXIT_ALLOWED, "allowed allocated=%zuMiB", total / MiB);
}

/* cpu: spin until a CPU limit kills us (SIGXCPU/SIGKILL, no output); after CPU_CAP_SECONDS of wall time, allowed. */
static int attack_cpu(int argc, char **argv) {
    (void)argc; (void)argv;
    volatile unsigned long spin = 0;
    double start = now_seconds();
    for (;;) {
        for (unsigned long i = 0; i < 10000000UL; i++) spin += i;
        if (now_seconds() - start >= CPU_CAP_SECONDS) break;
    }
    return say(EXIT_ALLOWED, "allowed spun=%ds", CPU_CAP_SECONDS);
}

/* bigfile PATH: ignore SIGXFSZ and write 1 MiB blocks until EFBIG or BIGFILE_CAP; PATH is unlinked. */
static int attack_bigfile(int argc, char **argv) {
    if (argc < 1) return -1;
    const char *path = argv[0];
    signal(SIGXFSZ, SIG_IGN);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return error_out("open", errno);
    char *block = malloc(MiB);
    if (!block) return error_out("malloc", ENOMEM);
    memset(block, 'b', MiB);
    size_t total = 0;
    int err = 0;
    while (total < BIGFILE_CAP) {
        ssize_t w = write(fd, block + total % MiB, MiB - total % MiB);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) { err = errno; break; }
        total += (size_t)w;
    }
    close(fd);
    unlink(path);
    free(block);
    if (err == EFBIG) return say(EXIT_REFUSED, "contained bytes=%zu errno=EFBIG (%d)", total, err);
    if (err) return say(EXIT_ERROR, "error write bytes=%zu errno=%s (%d)", total, errname(err), err);
    return say(EXIT_ALLOWED, "allowed bytes=%zu", total);
}

/* fds: open /dev/null until EMFILE/ENFILE or FDS_CAP; the count excludes already open fds. */
static int attack_fds(int argc, char **argv) {
    (void)argc; (void)argv;
    long n = 0;
    for (; n < FDS_CAP; n++) {
        if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) {
            int e = errno;
            if (e == EMFILE || e == ENFILE)
                return say(EXIT_REFUSED, "contained fds=%ld errno=%s (%d)", n, errname(e), e);
            return say(EXIT_ERROR, "error open fds=%ld errno=%s (%d)", n, errname(e), e);
        }
    }
    return say(EXIT_ALLOWED, "allowed fds=%ld", n);
}

/* flood: write 64 KiB blocks of 'x' to stdout until the pipe breaks (SIGPIPE kills us, or EPIPE if
 * the caller left SIGPIPE ignored) or FLOOD_CAP. The verdict goes to stderr: stdout is the flood. */
static int attack_flood(int argc, char **argv) {
    (void)argc; (void)argv;
    static char block[64 * 1024];
    memset(block, 'x', sizeof block);
    unsigned long long total = 0;
    while (total < FLOOD_CAP) {
        ssize_t w = write(STDOUT_FILENO, block + total % sizeof block, sizeof block - total % sizeof block);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int e = errno;
            fprintf(stderr, "contained bytes=%llu errno=%s (%d)\n", total, errname(e), e);
            return EXIT_REFUSED;
        }
        total += (unsigned long long)w;
    }
    fprintf(stderr, "allowed bytes=%llu\n", total);
    return EXIT_ALLOWED;
}

/* Reads the pid from PIDFILE; 0 if absent or incomplete. */
static long read_pidfile(const char *path) {
    char buf[32] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* daemon PIDFILE: double fork + setsid; the grandchild publishes its pid atomically (temp + rename),
 * closes stdio and sleeps 600 s; we wait for the child and up to 2 s for PIDFILE. */
static int attack_daemon(int argc, char **argv) {
    if (argc < 1) return -1;
    const char *pidfile = argv[0];
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) return error_out("fork", errno);
    if (child == 0) {
        setsid();
        pid_t g = fork();
        if (g != 0) _exit(g < 0 ? 1 : 0);
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", pidfile, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dprintf(fd, "%d\n", (int)getpid());
            close(fd);
            rename(tmp, pidfile);
        }
        int null = open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++) {
            if (null >= 0 && null != i) dup2(null, i);
            else if (null < 0) close(i);
        }
        if (null > 2) close(null);
        sleep_for(600);
        _exit(0);
    }
    wait_child(child);
    long pid = 0;
    for (int i = 0; i < 200 && (pid = read_pidfile(pidfile)) <= 0; i++) sleep_for(0.01);
    if (pid <= 0) return say(EXIT_ERROR, "error daemon pidfile-missing");
    return say(EXIT_REFUSED, "daemon pid=%ld", pid);
}

/* ======================= Informational commands ======================= */

/* sleep SECONDS: print `sleeping` (flushed) and sleep. */
static int cmd_sleep(int argc, char **argv) {
    if (argc < 1) return -1;
    char *end;
    double s = strtod(argv[0], &end);
    if (end == argv[0] || s < 0) return -1;
    say(0, "sleeping");
    sleep_for(s);
    return 0;
}

/* env: the environment, one variable a line. */
static int cmd_env(int argc, char **argv) {
    (void)argc; (void)argv;
    extern char **environ;
    for (char **e = environ; e && *e; e++) puts(*e);
    fflush(stdout);
    return 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* fds-open: the open fd numbers from /proc/self/fd, ascending, space-separated (minus the dir's own fd). */
static int cmd_fds_open(int argc, char **argv) {
    (void)argc; (void)argv;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return error_out("opendir /proc/self/fd", errno);
    int self = dirfd(d), fds[4096], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 4096) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        int fd = atoi(de->d_name);
        if (fd != self) fds[n++] = fd;
    }
    closedir(d);
    qsort(fds, (size_t)n, sizeof fds[0], cmp_int);
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", fds[i]);
    return say(0, "%s", "");
}

/* Copies the value of "Key:" in /proc/self/status into out ("?" if unavailable). */
static void status_field(const char *key, char *out, size_t size) {
    snprintf(out, size, "?");
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return;
    char line[256];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != ':') continue;
        char *v = line + klen + 1;
        v += strspn(v, " \t");
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, size, "%s", v);
        break;
    }
    fclose(f);
}

/* whoami: uid, gid, number of supplementary groups, CapEff, NoNewPrivs and Seccomp mode. */
static int cmd_whoami(int argc, char **argv) {
    (void)argc; (void)argv;
    char cap[64], nnp[16], sec[16];
    status_field("CapEff", cap, sizeof cap);
    status_field("NoNewPrivs", nnp, sizeof nnp);
    status_field("Seccomp", sec, sizeof sec);
    return say(0, "uid=%u gid=%u groups=%d capeff=%s nnp=%s seccomp=%s", (unsigned)getuid(),
               (unsigned)getgid(), getgroups(0, NULL), cap, nnp, sec);
}

/* ======================= Dispatch ======================= */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv); /* returns the exit code; -1 for a usage error */
    const char *args;
} attacks[] = {
    { "io_uring", attack_io_uring, "" },
    { "clone3", attack_clone3, "" },
    { "tiocsti", attack_tiocsti, "" },
    { "ptrace", attack_ptrace, "" },
    { "ptrace-traceme", attack_ptrace_traceme, "" },
    { "bpf", attack_bpf, "" },
    { "perf_event_open", attack_perf_event_open, "" },
    { "userfaultfd", attack_userfaultfd, "" },
    { "userfaultfd-dev", attack_userfaultfd_dev, "" },
    { "keyctl", attack_keyctl, "" },
    { "kexec", attack_kexec, "" },
    { "open_by_handle_at", attack_open_by_handle_at, "" },
    { "process_vm_readv", attack_process_vm_readv, "" },
    { "process_vm_writev", attack_process_vm_writev, "" },
    { "unshare", attack_unshare, "" },
    { "setns", attack_setns, "" },
    { "mount", attack_mount, "" },
    { "umount2", attack_umount2, "" },
    { "pivot_root", attack_pivot_root, "" },
    { "personality", attack_personality, "" },
    { "personality-safe", attack_personality_safe, "" },
    { "int80", attack_int80, "" },
    { "x32", attack_x32, "" },
    { "socket-inet", attack_socket_inet, "" },
    { "socket-inet6", attack_socket_inet6, "" },
    { "socket-unix", attack_socket_unix, "" },
    { "socket-netlink", attack_socket_netlink, "" },
    { "chmod-setuid", attack_chmod_setuid, "" },
    { "setuid-root", attack_setuid_root, "" },
    { "chroot", attack_chroot, "" },
    { "reboot", attack_reboot, "" },
    { "swapon", attack_swapon, "" },
    { "init_module", attack_init_module, "" },
    { "iopl", attack_iopl, "" },
    { "settimeofday", attack_settimeofday, "" },
    { "acct", attack_acct, "" },
    { "mknod-dev", attack_mknod_dev, "" },
    { "forkbomb", attack_forkbomb, "" },
    { "memory", attack_memory, "" },
    { "cpu", attack_cpu, "" },
    { "bigfile", attack_bigfile, " PATH" },
    { "fds", attack_fds, "" },
    { "flood", attack_flood, "" },
    { "daemon", attack_daemon, " PIDFILE" },
    { "sleep", cmd_sleep, " SECONDS" },
    { "env", cmd_env, "" },
    { "fds-open", cmd_fds_open, "" },
    { "whoami", cmd_whoami, "" },
};

static int usage(void) {
    fprintf(stderr, "usage: confine-probe ATTACK [ARG...]\nattacks:");
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++)
        fprintf(stderr, "%s %s%s", i % 6 ? "" : "\n ", attacks[i].name, attacks[i].args);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        if (strcmp(argv[1], attacks[i].name) != 0) continue;
        int rc = attacks[i].fn(argc - 2, argv + 2);
        return rc < 0 ? usage() : rc;
    }
    return usage();
}
