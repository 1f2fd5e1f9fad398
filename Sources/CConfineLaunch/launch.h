/*
 * confine-launch: the spawn helper. `confine-launch --serve` reads spawn requests from the
 * control socket on fd 0 and forks one monitor per request; the monitor forks, confines and
 * execs the command, reports on the status socket and kills the command's whole tree when it
 * ends or when the parent asks. The wire protocol is in confine_protocol.h, the kernel
 * interfaces older headers lack in confine_kernel.h.
 *
 * Process layout:  helper --fork--> monitor (child subreaper) --fork--> command (--exec-->)
 * With a PID namespace:  monitor --fork--> init (pid 1) --fork--> command (pid 2, --exec-->)
 *
 * The launcher's one internal header: its shared types, limits and every function used across
 * its files. Each file:
 *   pool.c        the helper: start-up, the pool of spare monitors, taking a request
 *   request.c     validating a request (and reading a memfd one), argv/envp, the rules
 *   monitor.c     the monitor: start the command, watch, reap, kill the tree, report
 *   child.c       the command child: its steps in protocol order, up to execve
 *   namespaces.c  namespaces, mounts, loopback, the PID namespace's init
 *   cgroups.c     joining the cgroups
 *   landlock.c    the Landlock ruleset
 *   seccomp.c     the filter, and the listener's hand-off from the child to the monitor
 *
 * Every file includes this header, and only this one: it defines _GNU_SOURCE and includes the
 * system headers.
 */
#ifndef CONFINE_LAUNCH_H
#define CONFINE_LAUNCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Every system header the launcher uses, before the project's headers: with -fmodules those
 * come as the CConfineProtocol module, whose own system includes lack _GNU_SOURCE. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
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
#include "confine_kernel.h"

/* ---- internal limits --------------------------------------------------------------------- */

#define CONTROL_FD_MIN 100                 /* the control socket moves at or above this fd */
#define STDIO_DUP_MIN 10                   /* stdio fds are staged at or above this fd */
#define INLINE_BUF_SIZE (256u * 1024u)     /* one datagram; larger requests come in a memfd */
#define MAX_RECV_FDS 16                    /* room to receive (and close) stray extra fds */
#define MAX_INHERITED_FDS 64               /* inherited fds recorded (and closed in spares) */
#define SPARES 2                           /* monitors forked ahead of requests */

_Static_assert(INLINE_BUF_SIZE >= CFL_MAX_INLINE_REQUEST, "a whole inline request fits");
_Static_assert(offsetof(struct cfl_refusal, kind) == offsetof(struct cfl_report, kind),
               "a refusal is told from a report by its first field");

/* ---- state ------------------------------------------------------------------------------- */

/* The helper's process-wide state, set once by setup_helper before any fork: each spare (and
 * the monitor it becomes) has its own copy and only reads it. */
struct launcher {
    int ctl;                                 /* the control socket */
    int landlock_abi;                        /* Landlock ABI version; <= 0: -errno (none) */
    int inherited_count;
    int inherited_fds[MAX_INHERITED_FDS];    /* the fds the helper inherited (besides 0-2 and
                                                the control socket), closed in each spare */
    int host_net;                            /* `--net`: the host's network namespace, else -1 */
    bool net_made;                           /* this spare (or one-shot launcher) left it for a
                                                fresh one, lo up, while it waited for a request */
    bool user_made;                          /* `--once --user`: this launcher left the host's
                                                user namespace for the command's (make_user,
                                                pool.c), net_made then meaning a network
                                                namespace made in it; neither can be left */
    int ahead_error;                         /* why that went wrong half-way (an errno), told
                                                for the request instead of starting it; else 0 */
};

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
    uint32_t nmounts;                  /* how many of them are CFL_FS_MOUNT rules */
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
    uint64_t learned[16];  /* learning: a bitmap of the syscall numbers (< 1024) reported */
};

/* The command child's arguments, for clone(2). */
struct child_args {
    const struct launcher *launcher;
    const struct request *rq;
    char *const *argv;
    char *const *envp;
    /* Why the command child failed before execve: { stage, errno, index }, stage 0 until then.
     * The child writes it into memory it shares with the monitor (CLONE_VM), the monitor reads
     * it once the vfork-style clone returns. No syscall is needed to report, so a filter that
     * refuses write(2) cannot hide the failure, and nothing waits on a supervisor that is
     * asleep. With a PID namespace it points into a MAP_SHARED page instead (struct
     * ns_shared), which init and the command (init's CLONE_VM child) write alike. */
    volatile int32_t *error;
    int transfer;          /* NOTIFY mode: the child's end of the listener socketpair, else -1 */
    bool isolated;         /* init has already joined the cgroups and set up the namespaces */
    int started;           /* NEWPID: write end of the pipe whose EOF tells the monitor that
                              the command has exec'd (or failed), else -1 */
    char tmpfs_options[48];
    bool net_ready;        /* the monitor already sits in the fresh network namespace the
                              request asks for (lo up): no CLONE_NEWNET, no loopback_up */
    bool user_ready;       /* ... and in the user namespace it asks for, ids mapped: no
                              CLONE_NEWUSER, no map_self */
    uid_t outer_uid;       /* NEWUSER: the launcher's uid and gid, mapped to themselves */
    gid_t outer_gid;
};

/* What a PID namespace's init tells the monitor, in a MAP_SHARED page: why the launch failed
 * (child_args.error points here), and pid 2's wait status. */
struct ns_shared {
    int32_t error[3];
    int32_t status;   /* raw wait status of the command (pid 2), once `done` */
    uint32_t flags;   /* CFL_REPORT_FLAG_DESCENDANTS if other processes outlived it */
    int32_t done;
};

/* ---- pool.c ------------------------------------------------------------------------------ */

int serve(bool network);
_Noreturn void serve_once(bool network, bool user);

/* ---- request.c --------------------------------------------------------------------------- */

int load_request(const unsigned char *buf, size_t len, int msg_flags, const int *fds, int nfds,
                 unsigned char **big, struct request *rq);
const char *next_rule(const unsigned char *rules, size_t *pos, uint32_t *access);
void rule_identity(const char *path, uint64_t *dev, uint64_t *ino);
const char *rule_source(const char *path);
/* an O_PATH descriptor of path, opened without following any symbolic link in it */
int open_nofollow(const char *path);
/* mounts each CFL_FS_IDMAP rule's directory idmapped (namespaces.c); true if it mounted one */
bool idmap_writable(const struct child_args *a);
/* the seccomp filter that comes with an idmapped folder: no set-id mode, no device (seccomp.c) */
void install_setid_guard(const struct child_args *a);
char **build_vectors(const struct request *rq, char ***envp);

/* ---- monitor.c --------------------------------------------------------------------------- */

void send_report(int fd, const struct cfl_report *r, int flags);
void report_failed(int fd, int stage, int err, int resource, int flags);
_Noreturn void monitor(const struct launcher *l, const struct request *rq, int memfd);

/* ---- child.c ----------------------------------------------------------------------------- */

_Noreturn void child_fail(const struct child_args *a, int stage, int err, int resource);
pid_t start_command(struct child_args *a, int clone_flags);

/* ---- namespaces.c ------------------------------------------------------------------------ */

void isolate(const struct child_args *a, bool proc);
int namespace_flags(uint32_t iso);
int clone_namespaces(const struct child_args *a);
int loopback_up_here(void);
int enter_host_network(const struct launcher *l, const struct request *rq, bool *ready);
/* writes setgroups "deny" and the maps of uid and gid to themselves, for a process that has
 * just made a user namespace; 0, or -1 with errno (*which: 1 setgroups, 2 uid_map, 3 gid_map) */
int map_own_ids(uid_t uid, gid_t gid, int *which);
pid_t start_in_pid_namespace(struct child_args *a, struct ns_shared *shared, int started[2]);

/* ---- cgroups.c --------------------------------------------------------------------------- */

void join_cgroups(const struct child_args *a);

/* ---- landlock.c -------------------------------------------------------------------------- */

int landlock_abi_version(void);
int landlock_ruleset(const struct child_args *a);
void landlock_restrict(const struct child_args *a, int ruleset);

/* ---- seccomp.c --------------------------------------------------------------------------- */

int send_fd(int sock, int fd);
int recv_fd(int sock);
void prepare_listener_handoff(const struct child_args *a);
void install_filter(const struct child_args *a);

#endif
