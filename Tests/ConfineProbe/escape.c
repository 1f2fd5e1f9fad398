/* confine-probe: escapes: namespaces, mounts, personality and foreign syscall ABIs (int $0x80, x32). */
#include "probe.h"

#define X32_SYSCALL_BIT 0x40000000UL

/* Child: unshare(flags). */
static void unshare_child(child_result *r, void *arg) {
    r->err[0] = unshare(*(int *)arg) == 0 ? 0 : errno;
}

/* unshare: CLONE_NEWUSER, then CLONE_NEWNS, each in its own child so the results are independent. */
int attack_unshare(int argc, char **argv) {
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
int attack_setns(int argc, char **argv) {
    (void)argc; (void)argv;
    int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    attempt a = try_rc(fd >= 0 ? "setns-uts" : "setns-badfd", setns(fd, CLONE_NEWUTS));
    if (fd >= 0) close(fd);
    return conclude1(a);
}

/* mount: a 64 KiB tmpfs on a fresh dir under /tmp, unmounted and removed at once; with no writable
 * /tmp, a mount of a nonexistent fstype on "/" (ENODEV = reached the kernel, nothing mounted). */
int attack_mount(int argc, char **argv) {
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
int attack_umount2(int argc, char **argv) {
    (void)argc; (void)argv;
    char dir[64];
    if (!make_tmpdir(dir, sizeof dir))
        return conclude1(try_rc("umount2-nonexistent", umount2(NONEXISTENT, UMOUNT_NOFOLLOW)));
    attempt a = try_rc("umount2", umount2(dir, UMOUNT_NOFOLLOW));
    rmdir(dir);
    return conclude1(a);
}

/* pivot_root: nonexistent paths; the kernel checks CAP_SYS_ADMIN first, then fails ENOENT. */
int attack_pivot_root(int argc, char **argv) {
    (void)argc; (void)argv;
    return conclude1(try_rc("pivot_root", syscall(SYS_pivot_root, NONEXISTENT "/new", NONEXISTENT "/old")));
}

/* personality: PER_LINUX|READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE; each success is undone at once. */
int attack_personality(int argc, char **argv) {
    (void)argc; (void)argv;
    attempt a[2];
    a[0] = try_rc("read_implies_exec", syscall(SYS_personality, (unsigned long)PER_LINUX | (unsigned long)READ_IMPLIES_EXEC));
    if (a[0].err == 0) syscall(SYS_personality, a[0].rc);
    a[1] = try_rc("addr_no_randomize", syscall(SYS_personality, (unsigned long)PER_LINUX | (unsigned long)ADDR_NO_RANDOMIZE));
    if (a[1].err == 0) syscall(SYS_personality, a[1].rc);
    return conclude(a, 2);
}

/* personality-safe: the query (0xffffffff) and PER_LINUX must be allowed: `ok` exit 0, else exit 3. */
int attack_personality_safe(int argc, char **argv) {
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
int attack_int80(int argc, char **argv) {
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
int attack_x32(int argc, char **argv) {
    (void)argc; (void)argv;
#if defined(__x86_64__)
    long rc = syscall(X32_SYSCALL_BIT | 39UL);
    if (rc >= 0) return say(EXIT_ALLOWED, "allowed pid=%ld", rc);
    return conclude1(try_rc("x32-getpid", rc));
#else
    return need_arch("the x32 ABI");
#endif
}

