/* confine-probe: errno names, output, attempts and verdicts, and the helpers every attack uses. */
#include "probe.h"

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

const char *errname(int e) {
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].num == e) return errno_names[i].name;
    return "E?";
}

/* ---- Output ---- */

int say(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return code;
}

/* ---- Attempts and verdicts ---- */

/* Records a call's outcome; errno is read before anything else can change it. */
attempt try_rc(const char *label, long rc) {
    attempt a = { label, rc < 0 ? errno : 0, rc, 0 };
    return a;
}

/* An attempt whose errno came from elsewhere (a child, or a raw -errno return). */
attempt try_err(const char *label, int err, long rc) {
    attempt a = { label, err, rc, 0 };
    return a;
}

static int is_refusal(const attempt *a) {
    return a->err == EPERM || a->err == EACCES || a->err == ENOSYS ||
           (a->also_refused != 0 && a->err == a->also_refused);
}

/* Prints the verdict over all attempts: allowed if any succeeded or reached the kernel, else refused. */
int conclude(const attempt *a, size_t n) {
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

int conclude1(attempt a) { return conclude(&a, 1); }

/* ---- Helpers ---- */

/* Dies by the given signal, so the test's parent sees the same fate as the attacking child had. */
__attribute__((noreturn)) void die_by_signal(int sig) {
    sigset_t set;
    fflush(NULL);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

int wait_child(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return st;
}

/* Runs fn in a forked child and returns its results; 0 or an errno if the child could not be run. */
int in_child(child_fn fn, void *arg, child_result *out) {
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
int make_tmpdir(char *buf, size_t size) {
    snprintf(buf, size, "/tmp/confine-probe-XXXXXX");
    return mkdtemp(buf) != NULL;
}

int error_out(const char *what, int err) {
    return say(EXIT_ERROR, "error %s errno=%s (%d)", what, errname(err), err);
}

int need_arch(const char *what) {
    return say(EXIT_ERROR, "error %s is not available on this architecture", what);
}

/* ---- Time ---- */

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps the given seconds, resuming after signals. */
void sleep_for(double seconds) {
    double end = now_seconds() + seconds;
    for (double left = seconds; left > 0; left = end - now_seconds()) {
        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

