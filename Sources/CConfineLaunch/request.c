/* Validating a spawn request (and reading one that came in a memfd), and reading it: the
 * filesystem rules one by one, the argv and envp vectors. */
#include "launch.h"

_Static_assert(sizeof(struct cfl_request_header) == 72, "header layout");
_Static_assert(__builtin_offsetof(struct cfl_request_header, iso_flags) == 44, "header layout");
_Static_assert(__builtin_offsetof(struct cfl_request_header, tmp_size) == 64, "header layout");

/* True if s[0..n) is a C string of exactly n-1 characters: NUL-terminated, no interior NUL. */
static bool exact_c_string(const char *s, size_t n)
{
    return n >= 1 && memchr(s, 0, n) == s + n - 1;
}

/* Steps *pos over `count` NUL-terminated strings; false if they overrun len. */
static bool skip_strings(const unsigned char *buf, size_t len, size_t *pos, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *nul = memchr(buf + *pos, 0, len - *pos);
        if (nul == NULL)
            return false;
        *pos = (size_t)(nul - buf) + 1;
    }
    return true;
}

/* Whether a CFL_FS_MOUNT target is a top-level path of one component: "/name", not "/." or "/..". */
static bool valid_mount_target(const char *path)
{
    return path[0] == '/' && path[1] != '\0' && strchr(path + 1, '/') == NULL &&
           strcmp(path, "/.") != 0 && strcmp(path, "/..") != 0;
}

/* Counts the packed { u32 access; absolute path; with CFL_FS_IDMAP u64 dev, u64 ino; with
 * CFL_FS_MOUNT the source's absolute path } rules of a section, and the MOUNT ones among them;
 * false if malformed. */
static bool parse_fs_rules(const unsigned char *p, size_t len, uint32_t iso_flags, uint32_t *count, uint32_t *mounts)
{
    uint32_t n = 0, m = 0;
    size_t pos = 0;
    while (pos < len) {
        uint32_t access;
        if (len - pos < sizeof access + 2 || ++n > CFL_MAX_FS_RULES)
            return false;
        memcpy(&access, p + pos, sizeof access);
        pos += sizeof access;
        const unsigned char *nul = memchr(p + pos, 0, len - pos);
        if (access == 0 || (access & ~CFL_FS_ALL) != 0 || nul == NULL || p[pos] != '/')
            return false;
        const char *path = (const char *)p + pos;
        pos = (size_t)(nul - p) + 1;
        if (access & CFL_FS_MOUNT) {
            if ((access & CFL_FS_IDMAP) || ++m > CFL_MAX_MOUNTS || !valid_mount_target(path) || pos >= len || p[pos] != '/')
                return false;
            const unsigned char *end = memchr(p + pos, 0, len - pos);
            if (end == NULL)
                return false;
            pos = (size_t)(end - p) + 1;
        }
        if (access & CFL_FS_IDMAP) {
            if (len - pos < 2 * sizeof(uint64_t) || (iso_flags & CFL_ISO_NEWUSER))
                return false;
            pos += 2 * sizeof(uint64_t);
        }
    }
    *count = n;
    *mounts = m;
    return true;
}

/* Counts the absolute paths of cgroup.procs files (NUL-terminated) filling a section exactly;
 * false if malformed. The name is checked so that a bad request cannot make the child, still
 * root, write "0" into some other file. */
static bool parse_cgroups(const unsigned char *p, size_t len, uint32_t *count)
{
    static const char procs[] = "/cgroup.procs";
    uint32_t n = 0;
    size_t pos = 0;
    while (pos < len) {
        const unsigned char *nul = memchr(p + pos, 0, len - pos);
        if (nul == NULL || ++n > CFL_MAX_CGROUPS)
            return false;
        size_t plen = (size_t)(nul - (p + pos));
        if (p[pos] != '/' || plen < sizeof procs ||
            memcmp(nul - (sizeof procs - 1), procs, sizeof procs - 1) != 0)
            return false;
        pos = (size_t)(nul - p) + 1;
    }
    *count = n;
    return true;
}

/* Checks the isolation fields and adds the implied NEWNS; false if malformed. */
static bool valid_isolation(struct cfl_request_header *h)
{
    if ((h->iso_flags & ~CFL_ISO_ALL) != 0 ||
        (h->landlock_scopes != 0 && !(h->iso_flags & (CFL_ISO_LANDLOCK | CFL_ISO_SCOPES))) ||
        ((h->iso_flags & CFL_ISO_SCOPES) && (h->landlock_scopes == 0 || (h->iso_flags & CFL_ISO_LANDLOCK))))
        return false;
    /* a fresh /proc for the PID namespace, the read-only view, the private /tmp and /dev/shm
     * are all mounts that must not be the host's */
    if ((h->iso_flags & (CFL_ISO_NEWPID | CFL_ISO_READONLY_ROOT)) || h->tmp_size != 0 || h->shm_size_mib != 0)
        h->iso_flags |= CFL_ISO_NEWNS;
    return true;
}

/* Validates a whole request (header and payload) of len bytes and fills rq's pointers. */
static bool parse_request(const unsigned char *buf, size_t len, struct request *rq)
{
    struct cfl_request_header *h = &rq->hdr;
    if (len < sizeof *h)
        return false;
    memcpy(h, buf, sizeof *h);
    if (h->magic != CFL_MAGIC || (h->flags & ~(CFL_FLAG_SETUID | CFL_FLAG_SETSID | CFL_FLAG_NOTIFY | CFL_FLAG_LEARN | CFL_FLAG_SETID_GUARD)) != 0 ||
        ((h->iso_flags & CFL_ISO_NEWUSER) && (h->flags & CFL_FLAG_SETUID)) ||
        h->nrlimits > CFL_MAX_RLIMITS || h->filter_len % sizeof(struct sock_filter) != 0 ||
        h->filter_len / sizeof(struct sock_filter) > BPF_MAXINSNS || h->argc < 1 ||
        h->path_len < 2 || !valid_isolation(h))
        return false;

    uint64_t fixed = sizeof *h + (uint64_t)h->nrlimits * sizeof(struct cfl_rlimit) +
                     h->filter_len + h->path_len + h->cwd_len;
    uint64_t sections = (uint64_t)h->fs_rules_len + h->cgroup_len;
    if (fixed + sections > len)
        return false;
    size_t strings_end = len - (size_t)sections; /* the sections follow the strings */

    size_t pos = sizeof *h;
    rq->rlimits = buf + pos;
    pos += h->nrlimits * sizeof(struct cfl_rlimit);
    rq->filter = (const struct sock_filter *)(buf + pos); /* 8-aligned: buffers are aligned */
    pos += h->filter_len;
    rq->path = (const char *)buf + pos;
    if (!exact_c_string(rq->path, h->path_len) || rq->path[0] != '/')
        return false;
    pos += h->path_len;
    rq->cwd = NULL;
    if (h->cwd_len > 0) {
        rq->cwd = (const char *)buf + pos;
        if (h->cwd_len < 2 || !exact_c_string(rq->cwd, h->cwd_len))
            return false;
        pos += h->cwd_len;
    }
    rq->strings = (const char *)buf + pos;
    if (!skip_strings(buf, strings_end, &pos, (uint64_t)h->argc + h->envc) || pos != strings_end)
        return false;
    rq->fs_rules = buf + strings_end;
    rq->cgroups = (const char *)buf + strings_end + h->fs_rules_len;
    if (!parse_fs_rules(rq->fs_rules, h->fs_rules_len, h->iso_flags, &rq->nfs_rules, &rq->nmounts))
        return false;
    uint32_t mounts = rq->nmounts;
    /* rules need something to apply them: Landlock, the read-only view or a folder to mount */
    if (rq->nfs_rules != 0 && mounts == 0 && !(h->iso_flags & (CFL_ISO_LANDLOCK | CFL_ISO_READONLY_ROOT)))
        return false;
    if (mounts != 0)
        h->iso_flags |= CFL_ISO_NEWNS;
    return parse_cgroups((const unsigned char *)rq->cgroups, h->cgroup_len, &rq->ncgroups);
}

/* Reads a whole memfd request (fstat, pread) into a malloc'd buffer; 0 or an errno. */
static int read_memfd(int fd, unsigned char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct cfl_request_header) ||
        st.st_size > (off_t)CFL_MAX_MEMFD_REQUEST)
        return EINVAL;
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size);
    if (buf == NULL)
        return ENOMEM;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0 || errno != EINTR) {
            int err = n == 0 ? EINVAL : errno; /* n == 0: shrunk under us */
            free(buf);
            return err;
        }
    }
    *out = buf;
    *len = size;
    return 0;
}

/* True if the inline part of a memfd request is a header stub: magic (and flags), no payload. */
static bool valid_stub(const unsigned char *buf, size_t len)
{
    uint32_t magic;
    if (len < 2 * sizeof(uint32_t) || len > sizeof(struct cfl_request_header))
        return false;
    memcpy(&magic, buf, sizeof magic);
    return magic == CFL_MAGIC;
}

/* Validates a datagram and its fds into rq (a memfd request is read into *big); 0 or errno. */
int load_request(const unsigned char *buf, size_t len, int msg_flags, const int *fds, int nfds,
                 unsigned char **big, struct request *rq)
{
    if ((msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (nfds != 4 && nfds != 5))
        return EINVAL;
    if (nfds == 5) {
        if (!valid_stub(buf, len))
            return EINVAL;
        int err = read_memfd(fds[4], big, &len);
        if (err != 0)
            return err;
        buf = *big;
    }
    if (!parse_request(buf, len, rq))
        return EINVAL;
    rq->status_fd = fds[0];
    memcpy(rq->stdio, fds + 1, sizeof rq->stdio);
    return 0;
}

/* The rule at *pos (access, path); advances *pos past it. */
const char *next_rule(const unsigned char *rules, size_t *pos, uint32_t *access)
{
    memcpy(access, rules + *pos, sizeof *access); /* unaligned */
    const char *path = (const char *)rules + *pos + sizeof *access;
    *pos += sizeof *access + strlen(path) + 1 + ((*access & CFL_FS_IDMAP) ? 2 * sizeof(uint64_t) : 0);
    if (*access & CFL_FS_MOUNT)
        *pos += strlen(rule_source(path)) + 1;
    return path;
}

/* The source folder that follows a CFL_FS_MOUNT rule's path (its target). */
const char *rule_source(const char *path)
{
    return path + strlen(path) + 1;
}

/* The device and inode that follow a CFL_FS_IDMAP rule's path. */
void rule_identity(const char *path, uint64_t *dev, uint64_t *ino)
{
    const char *after = path + strlen(path) + 1;
    memcpy(dev, after, sizeof *dev); /* unaligned */
    memcpy(ino, after + sizeof *dev, sizeof *ino);
}

/* Points v[0..count) at `count` consecutive NUL-terminated strings, NULL-terminates v. */
static const char *fill_vector(char **v, const char *s, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        v[i] = (char *)s;
        s += strlen(s) + 1;
    }
    v[count] = NULL;
    return s;
}

/* Builds the argv and envp arrays (one malloc) from the request's strings. */
char **build_vectors(const struct request *rq, char ***envp)
{
    size_t argc = rq->hdr.argc, envc = rq->hdr.envc;
    char **v = malloc((argc + envc + 2) * sizeof *v);
    if (v == NULL)
        return NULL;
    *envp = v + argc + 1;
    fill_vector(*envp, fill_vector(v, rq->strings, argc), envc);
    return v;
}
