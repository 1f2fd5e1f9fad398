/*
 * Kernel interfaces newer than the C library's or the kernel's headers may be: close_range(2)
 * (Linux 5.9; CLOSE_RANGE_CLOEXEC 5.11), mount_setattr(2) (5.12) and Landlock (5.13; ABI 3 =
 * 6.2, 5 = 6.10, 6 = 6.12), declared here once rather than taken from those headers, which may
 * predate them. The syscall numbers are the same on every architecture (the unified table).
 *
 * Shared by confine-launch and, through confine_system.h and module.modulemap, by Swift: keep
 * it to #defines and plain structs, valid C for Swift's clang importer.
 */
#ifndef CONFINE_KERNEL_H
#define CONFINE_KERNEL_H

#include <stdint.h>
/* first, so that the SYS_* numbers below only fill in what the C library lacks (its own
 * definitions, `__NR_...`, would otherwise clash with these) */
#include <sys/syscall.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
struct cfl_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* idmapped mounts (Linux 5.12): open_tree(2), move_mount(2), mount_setattr's MOUNT_ATTR_IDMAP */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#define CFL_OPEN_TREE_CLONE 1u
#define CFL_OPEN_TREE_CLOEXEC 02000000u
#define CFL_AT_EMPTY_PATH 0x1000u
#define CFL_MOVE_MOUNT_F_EMPTY_PATH 0x4u
#define CFL_MOVE_MOUNT_T_EMPTY_PATH 0x40u
#define CFL_MOUNT_ATTR_NOSUID 0x2ull
#define CFL_MOUNT_ATTR_NODEV 0x4ull
#define CFL_MOUNT_ATTR_IDMAP 0x00100000ull

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_DIR (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_CHAR (1ull << 6)
#define LL_FS_MAKE_DIR (1ull << 7)
#define LL_FS_MAKE_REG (1ull << 8)
#define LL_FS_MAKE_SOCK (1ull << 9)
#define LL_FS_MAKE_FIFO (1ull << 10)
#define LL_FS_MAKE_BLOCK (1ull << 11)
#define LL_FS_MAKE_SYM (1ull << 12)
#define LL_FS_REFER (1ull << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
/* the rights that apply to a file (the kernel refuses others in a rule on a non-directory) */
#define LL_FS_FILE (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};
struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* openat2(2) (Linux 5.6) */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct cfl_open_how {
    uint64_t flags, mode, resolve;
};
#define CFL_RESOLVE_NO_SYMLINKS 0x04

#endif
