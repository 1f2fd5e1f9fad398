/* confine-probe: attacks on the kernel's attack surface (io_uring, clone3, TIOCSTI, ptrace, bpf,
 * perf events, userfaultfd, keys, kexec, file handles, cross-process memory). */
#include "probe.h"

/* Constants older headers may lack (raw numbers, so no liburing/libkeyutils needed) */
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425 /* same number on every architecture with the unified table */
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
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

/* io_uring: io_uring_setup(4, zeroed params); success yields a ring fd, which is closed at once. */
int attack_io_uring(int argc, char **argv) {
    (void)argc; (void)argv;
    uint64_t params[15]; /* struct io_uring_params is 120 bytes */
    memset(params, 0, sizeof params);
    attempt a = try_rc("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
    if (a.err == 0) close((int)a.rc);
    return conclude1(a);
}

/* clone3: raw clone3 with a minimal clone_args (exit_signal SIGCHLD); a created child exits at once. */
int attack_clone3(int argc, char **argv) {
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
int attack_tiocsti(int argc, char **argv) {
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
int attack_ptrace(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_traceme();
    a[1] = try_rc("seize-parent", ptrace(PTRACE_SEIZE, getppid(), NULL, NULL));
    return conclude(a, 2);
}

/* ptrace-traceme: PTRACE_TRACEME alone, in a forked child. */
int attack_ptrace_traceme(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_traceme());
}

/* bpf: BPF_MAP_CREATE of a 1-entry array map, then BPF_PROG_LOAD of "r0 = 0; exit" as a socket
 * filter; fds are closed at once. */
int attack_bpf(int argc, char **argv) {
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
int attack_perf_event_open(int argc, char **argv) {
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
int attack_userfaultfd(int argc, char **argv) {
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
int attack_userfaultfd_dev(int argc, char **argv) {
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
int attack_keyctl(int argc, char **argv) {
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
int attack_kexec(int argc, char **argv) {
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
int attack_open_by_handle_at(int argc, char **argv) {
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
int attack_process_vm_readv(int argc, char **argv) {
    (void)argc; (void)argv;
    char src[16] = "confine-probe", dst[16] = "";
    struct iovec local = { dst, sizeof dst }, remote = { src, sizeof src };
    return conclude1(try_rc("process_vm_readv", process_vm_readv(getpid(), &local, 1, &remote, 1, 0)));
}

/* process_vm_writev: write into a buffer of our own process through the cross-memory interface. */
int attack_process_vm_writev(int argc, char **argv) {
    (void)argc; (void)argv;
    char src[16] = "confine-probe", dst[16] = "";
    struct iovec local = { src, sizeof src }, remote = { dst, sizeof dst };
    return conclude1(try_rc("process_vm_writev", process_vm_writev(getpid(), &local, 1, &remote, 1, 0)));
}
