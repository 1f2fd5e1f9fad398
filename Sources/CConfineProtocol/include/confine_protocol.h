/*
 * The wire protocol between the Swift executor and `confine-launch`, the spawn helper.
 *
 * The helper is started (through Foundation's Process) as `confine-launch --serve` with its
 * standard input being one end of an AF_UNIX SOCK_SEQPACKET socketpair: the control socket.
 * Every message on it is one spawn request:
 *
 *   data:   struct cfl_request_header, then
 *           struct cfl_rlimit[nrlimits],
 *           filter_len bytes of struct sock_filter (the compiled seccomp program; 0 = none),
 *           path_len bytes: the executable's absolute path, NUL-terminated (length includes NUL),
 *           cwd_len bytes: the working directory, NUL-terminated (0 = keep the helper's),
 *           argc NUL-terminated strings, then envc NUL-terminated strings.
 *           The sizes must add up to the message length exactly.
 *   fds:    SCM_RIGHTS with exactly 4 fds: [status, stdin, stdout, stderr], or 5 fds where the
 *           5th is a memfd holding the whole request (header included) for requests too large
 *           for one datagram; the inline data is then just the header (magic + flags).
 *
 * For each request the helper forks a monitor, which becomes a child subreaper, forks the
 * command, applies the request (setsid, stdio, rlimits, groups/gid/uid, chdir, no_new_privs,
 * close-on-exec for every other fd, seccomp filter) and execs it. Exec errors travel back to
 * the monitor over a CLOEXEC pipe. The monitor writes struct cfl_report datagrams to the
 * status socket (also SOCK_SEQPACKET): STARTED (or FAILED), then EXITED once the command and
 * every descendant of it are gone. A byte 'K' from the parent on the status socket, or the
 * parent closing it, kills the whole tree at once.
 *
 * All integers are in host byte order: both ends run on the same machine.
 */
#ifndef CONFINE_PROTOCOL_H
#define CONFINE_PROTOCOL_H

#include <stdint.h>

#define CFL_MAGIC 0x314C4643u /* "CFL1" little-endian */

/* request flags */
#define CFL_FLAG_SETUID 0x1u   /* setgroups(0), setgid(gid), setuid(uid) */
#define CFL_FLAG_SETSID 0x2u   /* start a new session (and process group) */
#define CFL_FLAG_NOTIFY 0x4u   /* the filter's default action is SECCOMP_RET_USER_NOTIF: the monitor
                                  answers each such call with -notify_errno and reports it */
#define CFL_FLAG_LEARN 0x8u    /* with NOTIFY: let each such call proceed (and report it) */

/* In NOTIFY mode the child hands the seccomp listener to the monitor over this fd, with
 * sendmsg(2); the filter must allow sendmsg on it (and execve), so that nothing
 * between installing the filter and execve waits on the monitor. */
#define CFL_NOTIFY_FD 1021

#define CFL_MAX_INLINE_REQUEST (200u * 1024u)

struct cfl_request_header {
    uint32_t magic;
    uint32_t flags;
    uint32_t uid;
    uint32_t gid;
    uint32_t nrlimits;
    uint32_t filter_len;
    uint32_t path_len;
    uint32_t cwd_len;
    uint32_t argc;
    uint32_t envc;
    uint32_t notify_errno; /* with CFL_FLAG_NOTIFY: the errno refused calls get */
};

struct cfl_rlimit {
    uint32_t resource; /* RLIMIT_* */
    uint32_t pad;
    uint64_t soft;     /* RLIM_INFINITY for unlimited */
    uint64_t hard;
};

/* the step of the launch that failed */
enum cfl_stage {
    CFL_STAGE_REQUEST = 1,   /* malformed request */
    CFL_STAGE_FORK = 2,
    CFL_STAGE_STDIO = 3,
    CFL_STAGE_RLIMIT = 4,
    CFL_STAGE_SETGROUPS = 5,
    CFL_STAGE_SETGID = 6,
    CFL_STAGE_SETUID = 7,
    CFL_STAGE_CHDIR = 8,
    CFL_STAGE_NO_NEW_PRIVS = 9,
    CFL_STAGE_FDS = 10,
    CFL_STAGE_SECCOMP = 11,
    CFL_STAGE_EXEC = 12,
    CFL_STAGE_SETSID = 13
};

enum cfl_report_kind {
    CFL_REPORT_STARTED = 1, /* pid */
    CFL_REPORT_FAILED = 2,  /* stage, err (errno); for CFL_STAGE_RLIMIT, pid = the resource */
    CFL_REPORT_EXITED = 3,  /* status, flags, rusage of the whole tree */
    CFL_REPORT_REFUSED = 4  /* NOTIFY mode, each distinct call: pid (the caller), status (the
                               syscall number), err (the errno answered; 0 when learning),
                               utime_us, stime_us, maxrss_kb carry args 0, 1 and 2 */
};

#define CFL_REPORT_FLAG_KILLED 0x1u       /* the tree was killed on the parent's request */
#define CFL_REPORT_FLAG_DESCENDANTS 0x2u  /* descendants outlived the command and were killed */

struct cfl_report {
    uint32_t kind;
    int32_t pid;
    int32_t status;   /* raw wait status from waitpid */
    int32_t stage;
    int32_t err;
    uint32_t flags;
    int64_t utime_us; /* user CPU of the tree */
    int64_t stime_us; /* system CPU of the tree */
    int64_t maxrss_kb;
};

#endif
