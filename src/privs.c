/*
 * privs.c - raised privileges: detecting them (AT_SECURE, sudo), ignoring the environment
 * while they are held, dropping capabilities in children, and giving created files back to
 * the user under sudo.
 */
#define _GNU_SOURCE
#include "privs.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int g_raised = -1;
static char *g_home; /* HOME while hidden */

int privs_sudo_user(uid_t *uid, gid_t *gid)
{
    const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
    if (geteuid() != 0 || !u || !g || !*u || !*g)
        return -1;
    char *end1, *end2;
    unsigned long uv = strtoul(u, &end1, 10), gv = strtoul(g, &end2, 10);
    if (*end1 || *end2 || uv == 0 || uv > 0x7fffffff || gv > 0x7fffffff)
        return -1;
    *uid = (uid_t)uv;
    *gid = (gid_t)gv;
    return 0;
}

int privs_raised(void)
{
    if (g_raised < 0) {
        uid_t u;
        gid_t g;
        g_raised = getauxval(AT_SECURE) != 0 || privs_sudo_user(&u, &g) == 0;
    }
    return g_raised;
}

const char *privs_getenv(const char *name)
{
    return privs_raised() ? NULL : getenv(name);
}

void privs_sanitize_env(void)
{
    static const char *const vars[] = {"TERMINFO", "TERMINFO_DIRS", "TERMCAP",
                                       "TERMPATH", "LOCPATH",       "NLSPATH"};
    if (!privs_raised())
        return;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

void privs_hide_home(int hide)
{
    if (!privs_raised())
        return;
    if (hide && !g_home) {
        const char *h = getenv("HOME");
        g_home = h ? strdup(h) : NULL;
        unsetenv("HOME");
    } else if (!hide && g_home) {
        setenv("HOME", g_home, 1);
        free(g_home);
        g_home = NULL;
    }
}

int privs_drop_caps(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (getuid() == 0 || geteuid() == 0)
        return 0;
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    if (!(data[0].permitted | data[1].permitted | data[0].inheritable | data[1].inheritable))
        return 0;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    memset(data, 0, sizeof(data));
    return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

void privs_give_to_user(int fd)
{
    uid_t uid;
    gid_t gid;
    if (fd >= 0 && privs_sudo_user(&uid, &gid) == 0 && fchown(fd, uid, gid) < 0) {
        /* the file stays root's: the user can still read it through sudo */
    }
}
