/*
 * confine-probe's shared declarations: the verdict helpers (common.c) and the attacks, one file
 * per family: kernel.c (kernel attack surface), escape.c (namespaces, mounts, personality and
 * foreign syscall ABIs), privileged.c (sockets and privileged calls), resources.c (resource
 * exhaustion), main.c (informational commands and the dispatch table). The output contract is
 * described in main.c.
 */
#ifndef CONFINE_PROBE_H
#define CONFINE_PROBE_H

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

/* a path that does not exist: calls on it fail ENOENT once they reach the kernel */
#define NONEXISTENT "/nonexistent-confine-probe"

enum { EXIT_REFUSED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_ALLOWED = 3 };

/* ---- Attempts and verdicts (common.c) ---- */

typedef struct {
    const char *label;
    int err;          /* 0: the call succeeded */
    long rc;          /* the call's return value */
    int also_refused; /* one extra errno that counts as a refusal for this attempt (0: none) */
} attempt;

typedef struct { int err[4]; long val[4]; } child_result;
typedef void (*child_fn)(child_result *r, void *arg);

const char *errname(int e);
int say(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
attempt try_rc(const char *label, long rc);
attempt try_err(const char *label, int err, long rc);
int conclude(const attempt *a, size_t n);
int conclude1(attempt a);
__attribute__((noreturn)) void die_by_signal(int sig);
int wait_child(pid_t pid);
int in_child(child_fn fn, void *arg, child_result *out);
int make_tmpdir(char *buf, size_t size);
int error_out(const char *what, int err);
int need_arch(const char *what);
double now_seconds(void);
void sleep_for(double seconds);

/* ---- Attacks: int NAME(int argc, char **argv), the exit code, -1 for a usage error ---- */

/* kernel.c */
int attack_io_uring(int argc, char **argv);
int attack_clone3(int argc, char **argv);
int attack_tiocsti(int argc, char **argv);
int attack_ptrace(int argc, char **argv);
int attack_ptrace_traceme(int argc, char **argv);
int attack_bpf(int argc, char **argv);
int attack_perf_event_open(int argc, char **argv);
int attack_userfaultfd(int argc, char **argv);
int attack_userfaultfd_dev(int argc, char **argv);
int attack_keyctl(int argc, char **argv);
int attack_kexec(int argc, char **argv);
int attack_open_by_handle_at(int argc, char **argv);
int attack_process_vm_readv(int argc, char **argv);
int attack_process_vm_writev(int argc, char **argv);
/* escape.c */
int attack_unshare(int argc, char **argv);
int attack_setns(int argc, char **argv);
int attack_mount(int argc, char **argv);
int attack_umount2(int argc, char **argv);
int attack_pivot_root(int argc, char **argv);
int attack_personality(int argc, char **argv);
int attack_personality_safe(int argc, char **argv);
int attack_int80(int argc, char **argv);
int attack_x32(int argc, char **argv);
/* privileged.c */
int attack_socket_inet(int argc, char **argv);
int attack_socket_inet6(int argc, char **argv);
int attack_socket_unix(int argc, char **argv);
int attack_socket_netlink(int argc, char **argv);
int attack_chmod_setuid(int argc, char **argv);
int attack_setuid_root(int argc, char **argv);
int attack_chroot(int argc, char **argv);
int attack_reboot(int argc, char **argv);
int attack_swapon(int argc, char **argv);
int attack_init_module(int argc, char **argv);
int attack_iopl(int argc, char **argv);
int attack_settimeofday(int argc, char **argv);
int attack_acct(int argc, char **argv);
int attack_mknod_dev(int argc, char **argv);
/* resources.c */
int attack_forkbomb(int argc, char **argv);
int attack_memory(int argc, char **argv);
int attack_cpu(int argc, char **argv);
int attack_bigfile(int argc, char **argv);
int attack_fds(int argc, char **argv);
int attack_flood(int argc, char **argv);
int attack_daemon(int argc, char **argv);

#endif
