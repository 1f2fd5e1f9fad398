/* confine-probe: resource attacks (forks, memory, CPU, file size, fds, output flood, a daemon). */
#include "probe.h"

#define MiB (1024UL * 1024UL)
#define FORK_CAP 5000
#define MEMORY_CAP (8192UL * MiB)
#define CPU_CAP_SECONDS 120
#define FORK_CHILD_LIFETIME 120
#define BIGFILE_CAP (2048UL * MiB)
#define FDS_CAP 1000000L
#define FLOOD_CAP (8192ULL * MiB)

/* forkbomb: fork sleeping children (they die with us via PDEATHSIG, and after 120 s anyway) until
 * fork fails or FORK_CAP; every child is killed and reaped before the verdict is printed. */
int attack_forkbomb(int argc, char **argv) {
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
int attack_memory(int argc, char **argv) {
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
int attack_cpu(int argc, char **argv) {
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
int attack_bigfile(int argc, char **argv) {
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
int attack_fds(int argc, char **argv) {
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
int attack_flood(int argc, char **argv) {
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
int attack_daemon(int argc, char **argv) {
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

