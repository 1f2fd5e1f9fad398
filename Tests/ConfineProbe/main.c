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
#include "probe.h"

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
