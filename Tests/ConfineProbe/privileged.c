/* confine-probe: sockets and privileged calls (setuid bits, setuid(0), chroot, reboot, swap,
 * modules, port I/O, the clock, accounting, device nodes). */
#include "probe.h"

#define LINUX_REBOOT_CMD_CAD_OFF_ 0

/* A socket of the given kind, closed at once; EAFNOSUPPORT also counts as refused (the usual errno
 * of address-family filters). */
static int try_socket(const char *label, int domain, int type, int protocol) {
    attempt a = try_rc(label, socket(domain, type | SOCK_CLOEXEC, protocol));
    a.also_refused = EAFNOSUPPORT;
    if (a.err == 0) close((int)a.rc);
    return conclude1(a);
}

/* socket-inet: socket(AF_INET, SOCK_STREAM, 0). */
int attack_socket_inet(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-inet", AF_INET, SOCK_STREAM, 0);
}

/* socket-inet6: socket(AF_INET6, SOCK_STREAM, 0). */
int attack_socket_inet6(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-inet6", AF_INET6, SOCK_STREAM, 0);
}

/* socket-unix: socket(AF_UNIX, SOCK_STREAM, 0). */
int attack_socket_unix(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-unix", AF_UNIX, SOCK_STREAM, 0);
}

/* socket-netlink: socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE). */
int attack_socket_netlink(int argc, char **argv) {
    (void)argc; (void)argv;
    return try_socket("socket-netlink", AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
}

/* chmod-setuid: chmod then fchmod 04755 on our own new file in /tmp; allowed only if the setuid
 * bit really sticks ("refused stripped" when the call succeeds but the bit is dropped). */
int attack_chmod_setuid(int argc, char **argv) {
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
int attack_setuid_root(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("setuid", syscall(SYS_setuid, 0)));
}

/* chroot: chroot("/") (affects only this short-lived process). */
int attack_chroot(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("chroot", syscall(SYS_chroot, "/")));
}

/* reboot: wrong magic numbers, so the kernel answers EINVAL right after its CAP_SYS_BOOT check. */
int attack_reboot(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("reboot", syscall(SYS_reboot, 0x1badc0deUL, 0x1badc0deUL,
                                              (unsigned long)LINUX_REBOOT_CMD_CAD_OFF_, NULL)));
}

/* swapon: a nonexistent path (ENOENT after the CAP_SYS_ADMIN check). */
int attack_swapon(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("swapon", syscall(SYS_swapon, NONEXISTENT "/swap", 0)));
}

/* init_module: an empty image (ENOEXEC after the CAP_SYS_MODULE check), and finit_module(-1) (EBADF). */
int attack_init_module(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("init_module", syscall(SYS_init_module, "", 0UL, ""));
    a[1] = try_rc("finit_module", syscall(SYS_finit_module, -1, "", 0));
    return conclude(a, 2);
}

/* iopl: iopl(3); if granted, dropped back to 0 at once (no port is touched). */
int attack_iopl(int argc, char **argv) {
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
int attack_settimeofday(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("settimeofday", syscall(SYS_settimeofday, NULL, NULL)));
}

/* acct: a nonexistent accounting file (ENOENT after the CAP_SYS_PACCT check; accounting unchanged). */
int attack_acct(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("acct", syscall(SYS_acct, NONEXISTENT "/acct")));
}

/* mknod-dev: a char device (1,3 = /dev/null) in a fresh /tmp dir, removed at once; with no writable
 * /tmp, in a nonexistent dir (ENOENT = reached the kernel). */
int attack_mknod_dev(int argc, char **argv) {
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
