#define _GNU_SOURCE
#include "CSeccomp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint32_t CSeccomp_actAllow(void) { return SCMP_ACT_ALLOW; }
uint32_t CSeccomp_actErrno(uint16_t err) { return SCMP_ACT_ERRNO(err); }
uint32_t CSeccomp_actKillProcess(void) { return SCMP_ACT_KILL_PROCESS; }
uint32_t CSeccomp_actKillThread(void) { return SCMP_ACT_KILL_THREAD; }
uint32_t CSeccomp_actTrap(void) { return SCMP_ACT_TRAP; }
uint32_t CSeccomp_actLog(void) { return SCMP_ACT_LOG; }
uint32_t CSeccomp_actNotify(void) { return SCMP_ACT_NOTIFY; }

uint32_t CSeccomp_archNative(void) { return SCMP_ARCH_NATIVE; }
uint32_t CSeccomp_archX86_64(void) { return SCMP_ARCH_X86_64; }
uint32_t CSeccomp_archX86(void) { return SCMP_ARCH_X86; }
uint32_t CSeccomp_archX32(void) { return SCMP_ARCH_X32; }
uint32_t CSeccomp_archAArch64(void) { return SCMP_ARCH_AARCH64; }

uint32_t CSeccomp_auditArch(uint32_t token) {
    return token == SCMP_ARCH_NATIVE ? seccomp_arch_native() : token;
}

int CSeccomp_resolve(const char *name) { return seccomp_syscall_resolve_name(name); }

int CSeccomp_resolveArch(uint32_t token, const char *name) {
    return seccomp_syscall_resolve_name_arch(token, name);
}

char *CSeccomp_name(int nr) { return seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr); }

/* seccomp_export_bpf(3) writes to an fd; a memfd keeps it in memory. */
int CSeccomp_exportBPF(scmp_filter_ctx ctx, uint8_t **bytes, size_t *length) {
    int fd = memfd_create("confine-bpf", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) { close(fd); return rc; }
    struct stat st;
    if (fstat(fd, &st) != 0) { rc = -errno; close(fd); return rc; }
    uint8_t *buffer = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buffer == NULL) { close(fd); return -ENOMEM; }
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = pread(fd, buffer + done, (size_t)st.st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { rc = n < 0 ? -errno : -EIO; free(buffer); close(fd); return rc; }
        done += (size_t)n;
    }
    close(fd);
    *bytes = buffer;
    *length = done;
    return 0;
}

int CSeccomp_setBadArchAction(scmp_filter_ctx ctx, uint32_t action) {
    return seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, action);
}

int CSeccomp_setNoNewPrivs(scmp_filter_ctx ctx, int on) {
    return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, on ? 1 : 0);
}

int CSeccomp_optimizeBinaryTree(scmp_filter_ctx ctx) {
    return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
}
