/* Landlock: the ABI version (detected once by the helper), the ruleset of a request's
 * filesystem rules (built by the command child while still root) and its enforcement. */
#include "launch.h"

/* The Landlock ABI version (landlock_create_ruleset(NULL, 0, VERSION)); <= 0: -errno. */
int landlock_abi_version(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    return abi < 0 ? -errno : (int)abi;
}

/* The fs rights Landlock ABI `abi` knows, all handled: what no rule grants is denied. */
static uint64_t landlock_fs_rights(int abi)
{
    uint64_t rights = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2)
        rights |= LL_FS_REFER;
    if (abi >= 3)
        rights |= LL_FS_TRUNCATE;
    if (abi >= 5)
        rights |= LL_FS_IOCTL_DEV;
    return rights;
}

/* The Landlock rights a rule's CFL_FS_* bits grant (before masking to what the ABI knows). */
static uint64_t landlock_rule_rights(uint32_t access)
{
    uint64_t rights = 0;
    if (access & CFL_FS_READ)
        rights |= LL_FS_READ_FILE | LL_FS_READ_DIR;
    if (access & CFL_FS_WRITE)
        rights |= LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE |
                  LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK |
                  LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM | LL_FS_REFER;
    if (access & CFL_FS_EXEC)
        rights |= LL_FS_EXECUTE;
    return rights;
}

/* open(path, O_PATH) refusing a symbolic link in any component: openat2(2) with
 * RESOLVE_NO_SYMLINKS (Linux 5.6); where openat2 is missing, O_NOFOLLOW guards the last one. */
int open_nofollow(const char *path)
{
    struct cfl_open_how how = { .flags = O_PATH | O_CLOEXEC, .mode = 0, .resolve = CFL_RESOLVE_NO_SYMLINKS };
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS)
        fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
    return fd;
}

/* Builds the Landlock ruleset of the request (one path_beneath rule per existing rule path);
 * returns its fd, enforced later by landlock_restrict_self. Any failure fails the child. */
int landlock_ruleset(const struct child_args *a)
{
    const struct request *rq = a->rq;
    int landlock_abi = a->launcher->landlock_abi;
    if (landlock_abi <= 0)
        child_fail(a, CFL_STAGE_LANDLOCK, -landlock_abi, -1);
    if (rq->hdr.landlock_scopes != 0 && landlock_abi < 6)
        child_fail(a, CFL_STAGE_LANDLOCK, EOPNOTSUPP, -1);
    /* scopes alone (CFL_ISO_SCOPES): no filesystem right handled, so no path is denied */
    uint64_t handled = (rq->hdr.iso_flags & CFL_ISO_LANDLOCK) ? landlock_fs_rights(landlock_abi) : 0;
    /* the full struct even for an older ABI: the kernel accepts trailing zero fields */
    struct ll_ruleset_attr attr = { .handled_access_fs = handled, .scoped = rq->hdr.landlock_scopes };
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0)
        child_fail(a, CFL_STAGE_LANDLOCK, errno, -1);
    /* scopes alone: no filesystem right is handled, so a path rule (a mount's target, say)
     * would grant nothing and the kernel would refuse it */
    if (handled == 0)
        return ruleset;
    size_t pos = 0;
    for (uint32_t i = 0; i < rq->nfs_rules; i++) {
        uint32_t access;
        const char *path = next_rule(rq->fs_rules, &pos, &access);
        int fd = (access & CFL_FS_NOFOLLOW) ? open_nofollow(path) : open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* nothing there to allow */
            child_fail(a, CFL_STAGE_LANDLOCK, errno, (int)i);
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
            child_fail(a, CFL_STAGE_LANDLOCK, errno, (int)i);
        struct ll_path_beneath_attr rule = {
            .allowed_access = landlock_rule_rights(access) & handled &
                              (S_ISDIR(st.st_mode) ? ~0ull : LL_FS_FILE),
            .parent_fd = fd,
        };
        /* a write-only rule on a file of an ABI 1 kernel grants WRITE_FILE: never empty */
        if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) < 0)
            child_fail(a, CFL_STAGE_LANDLOCK, errno, (int)i);
        close(fd);
    }
    return ruleset;
}

/* Enforces the ruleset (landlock_restrict_self) and closes it. */
void landlock_restrict(const struct child_args *a, int ruleset)
{
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
        child_fail(a, CFL_STAGE_LANDLOCK, errno, -1);
    close(ruleset);
}
