/// Named sets of syscalls, in the manner of systemd's `SystemCallFilter=` groups.
///
/// The groups are Confine's own: `@process` holds no namespace or tracing calls, and the
/// calls every sandbox must refuse sit in groups of their own (`@mount`, `@debug`,
/// `@namespace`, `@keyring`, `@io-uring`, ...) so the audit can weigh them one by one.
public enum SyscallGroups {
    /// Every group: its name (with the `@`), what it is for, and its syscalls.
    public static let all: [String: (summary: String, syscalls: [String])] = [
        "@default": ("calls every program makes: memory, threads, time, identity, exit", [
            "arch_prctl", "brk", "clock_getres", "clock_gettime", "clock_nanosleep", "execve",
            "exit", "exit_group", "futex", "futex_waitv", "get_robust_list", "get_thread_area", "getegid",
            "geteuid", "getgid", "getgroups", "getpgid", "getpgrp", "getpid", "getppid", "getrandom",
            "getresgid", "getresuid", "getrlimit", "getsid", "gettid", "gettimeofday", "getuid",
            "madvise", "membarrier", "mincore", "mlock", "mlock2", "mmap", "mprotect", "mremap",
            "munlock", "munmap", "nanosleep", "pause", "prlimit64", "restart_syscall", "rseq",
            "rt_sigreturn", "sched_getaffinity", "sched_yield", "set_robust_list", "set_thread_area",
            "set_tid_address", "time", "uname", "sysinfo", "getcpu", "sched_getparam",
            "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min", "getpriority",
            "capget",
        ]),
        "@basic-io": ("reading and writing open file descriptors", [
            "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv", "preadv2",
            "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev", "sendfile",
            "copy_file_range", "splice", "tee", "vmsplice",
        ]),
        "@file-system": ("opening, reading and changing files and directories", [
            "access", "chdir", "chmod", "creat", "faccessat", "faccessat2", "fadvise64", "fallocate",
            "fchdir", "fchmod", "fchmodat", "fcntl", "fgetxattr", "flistxattr", "flock", "fremovexattr",
            "fsetxattr", "fstat", "fstatfs", "ftruncate", "getcwd", "getdents", "getdents64",
            "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
            "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lremovexattr", "lsetxattr",
            "lstat", "mkdir", "mkdirat", "newfstatat", "open", "openat", "openat2", "readahead",
            "readlink", "readlinkat", "removexattr", "rename", "renameat", "renameat2", "rmdir",
            "setxattr", "stat", "statfs", "statx", "symlink", "symlinkat", "truncate", "umask",
            "unlink", "unlinkat", "utime", "utimensat", "utimes", "futimesat", "fanotify_mark",
            "name_to_handle_at",
        ]),
        "@sync": ("flushing files to storage", [
            "fdatasync", "fsync", "msync", "sync", "sync_file_range", "syncfs",
        ]),
        "@chown": ("changing file ownership", ["chown", "fchown", "fchownat", "lchown"]),
        "@io-event": ("waiting on many descriptors", [
            "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
            "eventfd", "eventfd2", "poll", "ppoll", "pselect6", "select",
        ]),
        "@ipc": ("pipes and anonymous shared memory", ["pipe", "pipe2", "memfd_create"]),
        "@sysv-ipc": ("System V message queues, semaphores and shared memory: objects that outlive the command", [
            "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget",
        ]),
        "@mqueue": ("POSIX message queues: objects that outlive the command", [
            "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
        ]),
        "@process": ("creating, waiting for and signalling processes (no namespaces, no tracing; clone is separate: allow it with its namespace flags masked, as base.json does)", [
            "fork", "vfork", "execveat", "wait4", "waitid", "kill", "tgkill", "tkill",
            "getrusage", "times", "prctl", "pidfd_open", "pidfd_send_signal", "rt_sigqueueinfo",
            "rt_tgsigqueueinfo", "setpgid", "setsid", "sched_setaffinity",
        ]),
        "@signal": ("handling signals", [
            "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
            "sigaltstack", "signalfd", "signalfd4",
        ]),
        "@timer": ("timers and alarms", [
            "alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
        ]),
        "@network-io": ("sockets: creating, connecting, sending and receiving", [
            "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
            "listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto",
            "setsockopt", "shutdown", "socket", "socketpair",
        ]),
        "@resources": ("changing resource limits, scheduling and memory policy", [
            "setrlimit", "setpriority", "sched_setparam", "sched_setscheduler", "sched_setattr",
            "set_mempolicy", "mbind", "migrate_pages", "move_pages", "ioprio_set", "ioprio_get",
            "get_mempolicy", "sched_getattr",
        ]),
        "@aio": ("asynchronous I/O (io_setup family)", [
            "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
        ]),
        "@io-uring": ("io_uring: a second syscall interface that seccomp cannot see into", [
            "io_uring_enter", "io_uring_register", "io_uring_setup",
        ]),
        "@privileged": ("changing identity and capabilities; root-only administration", [
            "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
            "setfsuid", "setfsgid", "capset", "chroot", "acct", "quotactl", "quotactl_fd", "vhangup",
            "sethostname", "setdomainname", "nfsservctl", "syslog", "mknod", "mknodat",
            "fanotify_init", "open_by_handle_at", "bpf", "lookup_dcookie",
        ]),
        "@mount": ("mounting and changing the file-system tree", [
            "mount", "umount2", "pivot_root", "chroot", "fsconfig", "fsmount", "fsopen", "fspick",
            "move_mount", "open_tree", "mount_setattr",
        ]),
        "@namespace": ("entering and creating namespaces", ["unshare", "setns", "clone3"]),
        "@module": ("loading kernel modules", ["init_module", "finit_module", "delete_module", "create_module"]),
        "@raw-io": ("direct hardware access", ["ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write"]),
        "@reboot": ("rebooting and replacing the kernel", ["reboot", "kexec_load", "kexec_file_load"]),
        "@swap": ("enabling swap", ["swapon", "swapoff"]),
        "@clock": ("setting the system clock", ["adjtimex", "clock_adjtime", "clock_settime", "settimeofday"]),
        "@debug": ("tracing and reading other processes' memory", [
            "ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open", "kcmp", "pidfd_getfd",
            "process_madvise",
        ]),
        "@keyring": ("the kernel's key store", ["add_key", "keyctl", "request_key"]),
        "@memfault": ("user-space page-fault handling, a race-widening primitive", ["userfaultfd"]),
        "@cpu-emulation": ("legacy CPU modes", ["modify_ldt", "vm86", "vm86old"]),
        "@pkey": ("memory protection keys", ["pkey_alloc", "pkey_free", "pkey_mprotect"]),
        "@sandbox": ("the sandboxing calls themselves", [
            "seccomp", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        ]),
        "@obsolete": ("calls no current program needs", [
            "_sysctl", "afs_syscall", "bdflush", "get_kernel_syms", "getpmsg", "putpmsg",
            "query_module", "security", "sysfs", "tuxcall", "uselib", "ustat", "vserver", "personality",
        ]),
    ]

    /// The groups a policy may allow without the audit objecting.
    public static let harmless: Set<String> = [
        "@default", "@basic-io", "@file-system", "@sync", "@io-event", "@ipc", "@process", "@signal",
        "@timer", "@aio", "@pkey",
    ]

    /// The syscalls of a group, or `nil` when there is no such group.
    public static func syscalls(in group: String) -> [String]? {
        all[group]?.syscalls
    }

    /// Known group names, sorted, for error messages.
    public static var names: [String] { all.keys.sorted() }
}
