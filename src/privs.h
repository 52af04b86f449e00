/*
 * privs.h - running with more privilege than the user who started ipcscope.
 *
 * With `setcap cap_bpf,cap_perfmon+ep` (AT_SECURE) or through sudo, the conductor holds
 * privileges its user does not: then no environment variable may steer what it loads, reads
 * or writes, the terminal library gets a clean environment, children drop every capability,
 * and the files a run creates belong to the user who asked for them.
 */
#ifndef IPCSCOPE_PRIVS_H
#define IPCSCOPE_PRIVS_H

#include <sys/types.h>

/* 1 when this process holds privilege its user does not have: started from a setuid or
 * file-capability binary (the kernel's AT_SECURE), or as root through sudo (SUDO_UID names
 * another user). Computed once. */
int privs_raised(void);

/* getenv, except that it returns NULL when privileges are raised (secure_getenv widened to
 * sudo): for variables that steer files, paths or debugging. */
const char *privs_getenv(const char *name);

/* When raised: remove the variables through which ncurses would read a terminal description
 * chosen by the user (TERMINFO, TERMINFO_DIRS, TERMCAP, TERMPATH). Call before curses starts.
 * HOME also leads ncurses to ~/.terminfo: use privs_hide_home around the terminal setup. */
void privs_sanitize_env(void);

/* When raised: unset HOME (hide 1) and put it back (hide 0), so that ncurses does not read
 * $HOME/.terminfo while it loads the terminal description. No-op otherwise. */
void privs_hide_home(int hide);

/* Drop every capability of the calling thread (effective, permitted, inheritable and
 * ambient) when it holds any without being root by uid: the setcap case. Root keeps its
 * powers (sudo workers lose them when they change uid). 0, or -errno. */
int privs_drop_caps(void);

/* The user who invoked sudo (SUDO_UID/SUDO_GID while the effective uid is 0). 0 with *uid and
 * *gid set, or -1 when not under sudo. */
int privs_sudo_user(uid_t *uid, gid_t *gid);

/* Under sudo, give the file behind fd to the invoking user (it was created for them). */
void privs_give_to_user(int fd);

#endif
