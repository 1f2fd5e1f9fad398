/*
 * The wire protocol between the Swift executor and `confine-launch`, the spawn helper.
 *
 * The helper is started (through Foundation's Process) as `confine-launch --serve` with its
 * standard input being one end of an AF_UNIX SOCK_SEQPACKET socketpair: the control socket.
 * Every message on it is one spawn request:
 *
 *   data:   struct cfl_request_header, then
 *           struct cfl_rlimit[nrlimits] (at most CFL_MAX_RLIMITS),
 *           filter_len bytes of struct sock_filter (the compiled seccomp program; 0 = none),
 *           path_len bytes: the executable's absolute path, NUL-terminated (length includes NUL),
 *           cwd_len bytes: the working directory, NUL-terminated (0 = keep the helper's),
 *           argc NUL-terminated strings, then envc NUL-terminated strings,
 *           fs_rules_len bytes of filesystem rules: repeated { uint32_t access (CFL_FS_*, not 0);
 *             absolute path, NUL-terminated; with CFL_FS_IDMAP, u64 dev and u64 ino; with
 *             CFL_FS_MOUNT, the source's absolute path, NUL-terminated }, packed
 *             (the access word is not aligned), at
 *             most CFL_MAX_FS_RULES (4096),
 *           cgroup_len bytes: absolute paths of cgroup.procs files (ending in "/cgroup.procs"),
 *             each NUL-terminated; at most CFL_MAX_CGROUPS (16).
 *           The sizes must add up to the message length exactly.
 *   fds:    SCM_RIGHTS with exactly 4 fds: [status, stdin, stdout, stderr], or 5 fds where the
 *           5th is a memfd holding the whole request (header included) for requests too large
 *           for one datagram; the inline data is then just the header (magic + flags).
 *
 * For each request the helper forks a monitor, which becomes a child subreaper, forks the
 * command, applies the request and execs it. The command child, in this order: joins the
 * cgroups (writes "0" to each cgroup.procs), sets the hostname (NEWUTS), brings up loopback
 * (NEWNET), sets up the mounts (NEWNS: private propagation, read-only root with read-write
 * binds, private /tmp and /dev/shm, a fresh /proc for NEWPID), starts a new session, installs
 * stdio, builds the Landlock ruleset (still root, so every rule path can be opened), sets the
 * rlimits, drops groups/gid/uid, changes directory, sets no_new_privs, marks every other fd
 * close-on-exec, enforces the Landlock ruleset, installs the seccomp filter and execs.
 * Exec errors travel back to the monitor through shared memory. The monitor writes struct
 * cfl_report datagrams to the status socket (also SOCK_SEQPACKET): STARTED (or FAILED), then
 * EXITED once the command and every descendant of it are gone. A byte 'K' from the parent on
 * the status socket, or the parent closing it, kills the whole tree at once.
 *
 * Isolation (iso_flags) is all off by default. Namespaces come from the flags of the clone(2)
 * that makes the command child (or init). With CFL_ISO_NEWPID the clone'd child is pid 1 of
 * the new PID namespace and stays a tiny init: it joins the cgroups, sets up the namespaces
 * (mounting a fresh /proc), forks the command as pid 2 (which does the rest, from the new
 * session on), reaps every process of the namespace and exits when pid 2 does, recording
 * pid 2's wait status for the monitor; the kernel then kills whatever else is left in the
 * namespace. With CFL_FLAG_SETUID the command runs as another uid than init, so it cannot
 * signal it (EPERM); SIGKILL to init from the monitor (or the monitor's death) kills the
 * whole namespace. NEWPID, READONLY_ROOT and a non-zero tmp_size each imply NEWNS. A
 * non-empty rules section needs LANDLOCK or READONLY_ROOT, non-zero landlock_scopes need
 * LANDLOCK; a CFL_FS_MOUNT rule implies NEWNS; other combinations are malformed requests.
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
#define CFL_FLAG_SETID_GUARD 0x10u /* before the request's filter, the launcher's own: no set-uid or
                                      set-gid mode, no device node, no namespace, no openat2,
                                      io_uring or foreign ABI (seccomp.c, install_setid_guard).
                                      For every command of a leased uid: an idmapped mount made for
                                      one of them can outlive it (an fd passed out) and serve a
                                      later command of the same uid. Implied by a CFL_FS_IDMAP
                                      mount being made */

/* In NOTIFY mode the child hands the seccomp listener to the monitor over this fd, with
 * sendmsg(2); the filter must allow sendmsg on it (and execve), so that nothing
 * between installing the filter and execve waits on the monitor. */
#define CFL_NOTIFY_FD 1021

/* A request longer than this goes in a memfd (the 5th fd); the datagram is then a stub of the
 * header's first two words, magic and flags. The helper receives datagrams of up to 256 KiB. */
#define CFL_MAX_INLINE_REQUEST (200u * 1024u)
#define CFL_MAX_MEMFD_REQUEST (64u << 20) /* the largest memfd request the helper reads */

/* limits on a request's sections */
#define CFL_MAX_RLIMITS 16u   /* nrlimits */
#define CFL_MAX_FS_RULES 4096u /* filesystem rules */
#define CFL_MAX_CGROUPS 16u   /* cgroup.procs paths */
#define CFL_MAX_MOUNTS 8u     /* CFL_FS_MOUNT rules */

/* isolation flags (iso_flags) */
#define CFL_ISO_NEWNS 0x1u          /* mount namespace with private propagation; with tmp_size, a
                                       private tmpfs (mode 1777) on /tmp and another on /dev/shm */
#define CFL_ISO_NEWNET 0x2u         /* network namespace: only `lo`, brought up */
#define CFL_ISO_NEWPID 0x4u         /* PID namespace under a tiny init (see above); implies NEWNS
                                       (for a fresh /proc) */
#define CFL_ISO_NEWIPC 0x8u         /* SysV IPC and POSIX message queue namespace */
#define CFL_ISO_LANDLOCK 0x10u      /* Landlock: only the rules' paths are reachable (every fs
                                       right the kernel's ABI knows is handled), plus
                                       landlock_scopes; a path that does not exist is skipped */
#define CFL_ISO_READONLY_ROOT 0x20u /* implies NEWNS: every mount read-only (recursively), then
                                       each rule path with CFL_FS_WRITE bound read-write onto
                                       itself (a path that does not exist is skipped); the
                                       private /tmp and /dev/shm stay writable */
#define CFL_ISO_NEWUTS 0x40u        /* UTS namespace, hostname "confine" */
#define CFL_ISO_NEWUSER 0x80u       /* for a launcher that is not root: a user namespace, made by
                                       the same clone as the others (which it then owns), that
                                       maps the launcher's uid and gid to themselves and nothing
                                       else (setgroups denied), as bwrap does without privilege:
                                       the namespaces' setup runs with capabilities in it, and
                                       the command, a non-zero uid there, loses them at execve.
                                       Not with CFL_FLAG_SETUID, nor with a CFL_FS_IDMAP rule */
#define CFL_ISO_SCOPES 0x100u      /* without LANDLOCK: a Landlock domain that handles no
                                       filesystem right, only landlock_scopes (ABI 6): a command
                                       with no filesystem view still cannot signal, or reach the
                                       abstract sockets of, anything outside its own domain */
#define CFL_ISO_ALL (CFL_ISO_NEWNS | CFL_ISO_NEWNET | CFL_ISO_NEWPID | CFL_ISO_NEWIPC | \
                     CFL_ISO_LANDLOCK | CFL_ISO_READONLY_ROOT | CFL_ISO_NEWUTS | CFL_ISO_NEWUSER | CFL_ISO_SCOPES)

/* filesystem rule access bits; with LANDLOCK: READ = READ_FILE|READ_DIR, WRITE = WRITE_FILE,
 * TRUNCATE, REMOVE_*, MAKE_*, REFER, EXEC = EXECUTE (those the ABI knows; on a non-directory
 * only the file rights). IOCTL_DEV (ABI 5) is handled and never granted. */
#define CFL_FS_READ 0x1u
#define CFL_FS_WRITE 0x2u
#define CFL_FS_EXEC 0x4u
/* open the rule's path without following any symbolic link in it (openat2 RESOLVE_NO_SYMLINKS):
 * for paths the executor resolved itself, such as the working directory, so that a link swapped
 * in after the check cannot widen the view */
#define CFL_FS_NOFOLLOW 0x8u
/* with WRITE, in a mount namespace, for a command with its own uid (the executor sets it on the
 * working directory's rule when asked, after checking the directory): the rule's directory is
 * mounted onto itself idmapped (open_tree, mount_setattr MOUNT_ATTR_IDMAP|NOSUID|NODEV,
 * move_mount), its owner's uid and gid mapped to the command's, so that the command writes
 * there and what it creates is owned by the directory's owner. Skipped for a directory the
 * command already owns or that others may write (mode o+w, such as /tmp). A command with such a
 * mount gets, before its policy's filter, one of the launcher's own that refuses set-uid/set-gid
 * modes and device nodes (a file made there is the owner's on disk). Such a rule's path is
 * followed by two u64 (native order, unaligned): the device and inode of the directory the
 * executor checked; a directory found at the path with another identity fails the launch
 * (CFL_STAGE_IDMAP, ESTALE): one swapped in after the check is never mapped */
#define CFL_FS_IDMAP 0x10u
/* a folder shown at another path (Function Compute's /code): the rule's path is the target, a
 * top-level path of one component ("/code"), and it is followed by a second absolute path,
 * NUL-terminated: the source folder, opened without following links. The command's root then
 * becomes a fresh read-only tmpfs holding a bind of every top-level entry of the host's root
 * (recursive, except those a target replaces) and each source at its target: read-only unless
 * the rule has WRITE, always nosuid and nodev. Everything else (Landlock, the read-only view,
 * the private /tmp) then applies to the target's path. A source beneath a folder the command's
 * uid cannot enter is reachable there all the same: only the source's own modes apply. Not
 * with IDMAP; at most CFL_MAX_MOUNTS; implies NEWNS */
#define CFL_FS_MOUNT 0x20u
#define CFL_FS_ALL (CFL_FS_READ | CFL_FS_WRITE | CFL_FS_EXEC | CFL_FS_NOFOLLOW | CFL_FS_IDMAP | CFL_FS_MOUNT)

/* Landlock scopes (landlock_scopes, Landlock ABI 6+; asking for one on an older kernel fails) */
#define CFL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET 0x1u
#define CFL_LANDLOCK_SCOPE_SIGNAL 0x2u

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
    uint32_t iso_flags;       /* CFL_ISO_* */
    uint32_t landlock_scopes; /* CFL_LANDLOCK_SCOPE_* (LANDLOCK_SCOPE_*) to apply; 0 = none */
    uint32_t fs_rules_len;    /* bytes of the filesystem rules section */
    uint32_t cgroup_len;      /* bytes of the cgroup section */
    uint32_t shm_size_mib;    /* with tmp_size 0: size in MiB of a private tmpfs on /dev/shm alone
                                 (POSIX shared memory and semaphores; implies NEWNS); 0 = none.
                                 Ignored when tmp_size is set (/dev/shm then gets tmp_size).
                                 Keeps tmp_size 8-aligned (offset 64, header 72 bytes) */
    uint64_t tmp_size;        /* size in bytes of each private tmpfs on /tmp and /dev/shm (implies
                                 NEWNS); 0 = none */
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
    CFL_STAGE_SETSID = 13,
    CFL_STAGE_NAMESPACE = 14, /* creating the namespaces (clone), or the UTS hostname */
    CFL_STAGE_MOUNT = 15,     /* propagation, read-only root, read-write binds, tmpfs, /proc */
    CFL_STAGE_LANDLOCK = 16,  /* no Landlock (err = ENOSYS/EOPNOTSUPP), scopes on ABI < 6, a rule */
    CFL_STAGE_CGROUP = 17,    /* joining a cgroup (writing "0" to its cgroup.procs) */
    CFL_STAGE_NETWORK = 18,   /* bringing up loopback in the new network namespace */
    CFL_STAGE_IDMAP = 19      /* mounting a CFL_FS_IDMAP rule's directory idmapped */
};

enum cfl_report_kind {
    CFL_REPORT_STARTED = 1, /* pid (with NEWPID: the namespace init's, as the helper sees it) */
    CFL_REPORT_FAILED = 2,  /* stage, err (errno); pid = for CFL_STAGE_RLIMIT the resource, for
                               CFL_STAGE_MOUNT, CFL_STAGE_IDMAP and CFL_STAGE_LANDLOCK the index of the filesystem
                               rule (-1: not a rule's), for CFL_STAGE_CGROUP the index of the
                               path; else 0 */
    CFL_REPORT_EXITED = 3,  /* status (with NEWPID, of the command, pid 2, not of init), flags,
                               rusage of the whole tree */
    CFL_REPORT_REFUSED = 4  /* NOTIFY mode, each distinct call: a struct cfl_refusal */
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

/* A call the seccomp filter refused (CFL_REPORT_REFUSED), reported by the monitor in NOTIFY mode
 * once per distinct call (number and first argument), as a datagram of its own on the status
 * socket. The receiver tells it from a struct cfl_report by `kind`, the first field of both. */
struct cfl_refusal {
    uint32_t kind;    /* CFL_REPORT_REFUSED */
    int32_t pid;      /* the calling process, as the helper sees it */
    int32_t nr;       /* the syscall number */
    uint32_t arch;    /* the AUDIT_ARCH_* of the call */
    int32_t err;      /* the errno the call was answered with; 0 when learning (allowed) */
    uint32_t reserved;
    uint64_t args[3]; /* the call's arguments 0, 1 and 2 */
};

#endif
