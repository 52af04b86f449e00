/*
 * cgroup.c - the run's own cgroup v2: found next to ours through /proc/self/cgroup and the
 * cgroup2 mount in /proc/self/mountinfo, joined at fork, killed with cgroup.kill, removed
 * when empty.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_DEPTH 8 /* how deep cgroups below the run's are looked for */

/* The cgroup2 mount point and its root, from mountinfo. 0 or -ENOENT. */
static int cgroup2_mount(char *mnt, size_t mn, char *root, size_t rn)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -ENOENT;
    char line[1024];
    int rc = -ENOENT;
    while (rc < 0 && fgets(line, sizeof(line), f)) {
        char r[512], m[512], type[64];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", r, m) != 2 ||
            sscanf(dash + 3, "%63s", type) != 1 || strcmp(type, "cgroup2") != 0 ||
            strchr(m, '\\') || strchr(r, '\\'))
            continue;
        snprintf(mnt, mn, "%s", m);
        snprintf(root, rn, "%s", r);
        rc = 0;
    }
    fclose(f);
    return rc;
}

/* The directory of the cgroup this process is in (unified hierarchy). 0 or -errno. */
static int own_cgroup_dir(char *out, size_t n)
{
    char mnt[512], root[512], line[1024], path[512] = "";
    if (cgroup2_mount(mnt, sizeof(mnt), root, sizeof(root)) < 0)
        return -ENOENT;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0 && sscanf(line + 3, "%511s", path) == 1)
            break;
    fclose(f);
    if (path[0] != '/')
        return -ENOENT;
    const char *rel = path;
    size_t rl = strlen(root);
    if (strcmp(root, "/") != 0) {
        if (strncmp(path, root, rl) != 0 || (path[rl] && path[rl] != '/'))
            return -ENOENT; /* our cgroup is outside what is mounted */
        rel = path + rl;
    }
    int len = snprintf(out, n, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
    return len > 0 && (size_t)len < n ? 0 : -ENAMETOOLONG;
}

static int open_in(const char *dir, const char *name, int flags)
{
    char p[1024];
    int len = snprintf(p, sizeof(p), "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(p, flags | O_CLOEXEC);
}

static int write_str(int fd, const char *s)
{
    size_t len = strlen(s);
    ssize_t w = write(fd, s, len);
    return w == (ssize_t)len ? 0 : (w < 0 ? -errno : -EIO);
}

/* Remove the cgroups below dir, deepest first (a cgroup directory holds only the kernel's
 * files, which rmdir ignores; one still holding a process stays). depth bounds the walk: a
 * program may make cgroups of its own inside the one it runs in. */
static void rmdir_children(const char *dir, int depth)
{
    DIR *d = depth > 0 ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        char p[1024];
        int len = snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (len < 0 || (size_t)len >= sizeof(p))
            continue;
        rmdir_children(p, depth - 1);
        rmdir(p);
    }
    closedir(d);
}

/* Processes listed in dir's cgroup.procs and in those of the cgroups below it. */
static int count_procs(const char *dir, int depth)
{
    int count = 0, fd = open_in(dir, "cgroup.procs", O_RDONLY);
    if (fd >= 0) {
        char buf[4096];
        ssize_t got;
        while ((got = read(fd, buf, sizeof(buf))) > 0)
            for (ssize_t i = 0; i < got; i++)
                count += buf[i] == '\n';
        close(fd);
    }
    DIR *d = depth > 0 ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[1024];
        int len = snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (de->d_type == DT_DIR && de->d_name[0] != '.' && len > 0 && (size_t)len < sizeof(p))
            count += count_procs(p, depth - 1);
    }
    if (d)
        closedir(d);
    return count;
}

/* This process's PID namespace (the inode of /proc/self/ns/pid), 0 when it cannot be told.
 * A pid in a cgroup's name means something only in the namespace that wrote it. */
static unsigned long own_pidns(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Remove ipcscope-PID-N-NS cgroups in dir whose conductor is gone. Only those made in our own
 * PID namespace are judged: a conductor in another one (a run under `unshare -p`, a container
 * sharing the cgroup tree) has a pid that kill() here cannot see, and its live workers must
 * not be killed for that. */
static void sweep_stale(const char *dir)
{
    unsigned long ns = own_pidns();
    DIR *d = ns ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int pid;
        unsigned serial;
        unsigned long their_ns;
        if (sscanf(de->d_name, "ipcscope-%d-%u-%lu", &pid, &serial, &their_ns) != 3 || pid <= 0 ||
            their_ns != ns)
            continue;
        if (kill(pid, 0) == 0 || errno == EPERM)
            continue;
        char p[1024];
        int len = snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (len < 0 || (size_t)len >= sizeof(p))
            continue;
        int kfd = open_in(p, "cgroup.kill", O_WRONLY);
        if (kfd >= 0) {
            write_str(kfd, "1");
            close(kfd);
        }
        rmdir_children(p, CG_DEPTH);
        rmdir(p); /* fails while its processes are still dying: the next sweep retries */
    }
    closedir(d);
}

int cg_plan(struct cg *cg)
{
    static unsigned serial;
    char dir[512];
    *cg = (struct cg)CG_NONE;
    int rc = own_cgroup_dir(dir, sizeof(dir));
    if (rc < 0)
        return rc;
    sweep_stale(dir);
    int len = snprintf(cg->path, sizeof(cg->path), "%s/ipcscope-%d-%u-%lu", dir, (int)getpid(),
                       serial++, own_pidns());
    if (len <= 0 || (size_t)len >= sizeof(cg->path) - 32) {
        cg->path[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

int cg_make(struct cg *cg)
{
    if (!cg->path[0])
        return -ENOENT;
    if (mkdir(cg->path, 0755) < 0) {
        int rc = -errno;
        cg->path[0] = '\0';
        return rc;
    }
    cg->procs_fd = open_in(cg->path, "cgroup.procs", O_WRONLY);
    cg->kill_fd = open_in(cg->path, "cgroup.kill", O_WRONLY);
    cg->events_fd = open_in(cg->path, "cgroup.events", O_RDONLY);
    if (cg->procs_fd < 0 || cg->kill_fd < 0 || cg->events_fd < 0) {
        int rc = -errno;
        cg_destroy(cg);
        return rc ? rc : -ENOENT;
    }
    return 0;
}

void cg_end_path(const char *path, int wait_ms)
{
    struct cg c = CG_NONE;
    if (!path[0])
        return;
    snprintf(c.path, sizeof(c.path), "%s", path);
    c.kill_fd = open_in(path, "cgroup.kill", O_WRONLY);
    c.events_fd = open_in(path, "cgroup.events", O_RDONLY);
    if (c.kill_fd < 0 && errno == ENOENT)
        return; /* never made */
    cg_kill(&c);
    struct timespec nap = {0, 5000000};
    for (int waited = 0; waited < wait_ms && cg_populated(&c) == 1; waited += 5) {
        nanosleep(&nap, NULL);
        if (waited % 100 == 95)
            cg_kill(&c); /* again: a worker that moved itself in after the first one (it was
                            forked just before the conductor died) is not killed by it */
    }
    cg_destroy(&c);
}

int cg_add(const struct cg *cg, pid_t pid)
{
    if (cg->procs_fd < 0)
        return -ENOENT;
    char buf[16];
    int i = (int)sizeof(buf) - 1;
    unsigned long v = pid > 0 ? (unsigned long)pid : 0;
    buf[i] = '\0';
    do
        buf[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    return write_str(cg->procs_fd, buf + i);
}

int cg_kill(const struct cg *cg)
{
    return cg->kill_fd >= 0 ? write_str(cg->kill_fd, "1") : -ENOENT;
}

int cg_populated(const struct cg *cg)
{
    if (cg->events_fd < 0)
        return -ENOENT;
    char buf[256];
    ssize_t n = pread(cg->events_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    const char *p = strstr(buf, "populated ");
    return p ? p[10] == '1' : -EIO;
}

void cg_close_fds(struct cg *cg)
{
    int *fds[] = {&cg->procs_fd, &cg->kill_fd, &cg->events_fd};
    for (size_t i = 0; i < 3; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

void cg_destroy(struct cg *cg)
{
    if (!cg->path[0])
        return;
    int populated = cg_populated(cg);
    cg_close_fds(cg);
    if (populated <= 0) {
        rmdir_children(cg->path, CG_DEPTH);
        rmdir(cg->path);
    }
    cg->path[0] = '\0';
}

int cg_count(const struct cg *cg)
{
    return cg->path[0] ? count_procs(cg->path, CG_DEPTH) : 0;
}
