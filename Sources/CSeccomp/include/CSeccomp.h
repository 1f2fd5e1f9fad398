/*
 * CSeccomp: the project's only include of <seccomp.h>. libseccomp's actions are function-like
 * macros that Swift cannot import; these shims give them names, and export a filter to memory.
 */
#ifndef CSECCOMP_H
#define CSECCOMP_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

/* Actions (SCMP_ACT_*). */
uint32_t CSeccomp_actAllow(void);
uint32_t CSeccomp_actErrno(uint16_t err);
uint32_t CSeccomp_actKillProcess(void);
uint32_t CSeccomp_actKillThread(void);
uint32_t CSeccomp_actTrap(void);
uint32_t CSeccomp_actLog(void);
uint32_t CSeccomp_actNotify(void);

/* Architecture tokens (SCMP_ARCH_*). */
uint32_t CSeccomp_archNative(void);
uint32_t CSeccomp_archX86_64(void);
uint32_t CSeccomp_archX86(void);
uint32_t CSeccomp_archX32(void);
uint32_t CSeccomp_archAArch64(void);

/* AUDIT_ARCH_* value of an arch token, as seen in seccomp_data.arch. */
uint32_t CSeccomp_auditArch(uint32_t token);

/* The syscall number of `name` on the native arch, or a negative value when unknown. */
int CSeccomp_resolve(const char *name);

/* The syscall number of `name` on the arch `token`, or a negative value when unknown. */
int CSeccomp_resolveArch(uint32_t token, const char *name);

/* The name of syscall `nr` on the native arch, malloc'd (free it), or NULL. */
char *CSeccomp_name(int nr);

/* Exports the filter as BPF into a malloc'd buffer (free it with free()); 0 or -errno. */
int CSeccomp_exportBPF(scmp_filter_ctx ctx, uint8_t **bytes, size_t *length);

/* Sets the action for a non-native architecture (SCMP_FLTATR_ACT_BADARCH); 0 or -errno. */
int CSeccomp_setBadArchAction(scmp_filter_ctx ctx, uint32_t action);

/* Disables libseccomp's "no-new-privs on load" attribute: the launcher sets it itself. */
int CSeccomp_setNoNewPrivs(scmp_filter_ctx ctx, int on);

/* Asks libseccomp for a binary tree of syscall numbers (SCMP_FLTATR_CTL_OPTIMIZE 2). */
int CSeccomp_optimizeBinaryTree(scmp_filter_ctx ctx);

#endif
