/*
 * exec.c - "your program": run an unmodified program under ipcscope (`ipcscope exec`).
 *
 * Setup forks one worker that execs PROGRAM with libipcscope_preload.so in LD_PRELOAD and
 * the run's shared region passed as an inherited memfd (IPCSCOPE_SHM_FD); the library then
 * reports the program's processes, threads, semaphores, mutexes, condition variables and
 * pipes like any scenario's workers. The program's stdin is /dev/null and its stdout and
 * stderr go to a file in $TMPDIR, reported in the snapshot with its exit status.
 */
#define _GNU_SOURCE
#include "exec.h"

#include "../instr.h"
#include "../instr_attach.h"
#include "../model.h"
#include "../privs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXEC_MAX_TASKS 127 /* with the conductor: 128 slots */
#define TAIL_LINES 10
#define TAIL_BYTES 4096

/* Provided by instr.c once the region keeps its memfd (see the report to the lead); until
 * then the mapping is reopened through /proc/self/map_files. */
int instr_region_fd(void) __attribute__((weak));

static struct exec_program g_prog;
static pid_t g_pid;
static char g_out[PATH_MAX];

struct exec_child {
    int shm_fd, out_fd;
    size_t map_off;
};

void exec_scenario_set(const struct exec_program *p)
{
    g_prog = *p;
}

const char *exec_scenario_program(void)
{
    return g_prog.argv && g_prog.argv[0] ? g_prog.argv[0] : NULL;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    (void)ctx;
    return EXEC_MAX_TASKS;
}

/* A descriptor for the region's memory, close-on-exec; -errno on failure. */
static int region_fd(struct instr_shared *sh)
{
    int fd = instr_region_fd ? instr_region_fd() : -1;
    if (fd >= 0)
        return fcntl(fd, F_DUPFD_CLOEXEC, 3);
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)sh, end = start + ((sh->size + page - 1) & ~(size_t)(page - 1));
    char path[96];
    snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)start,
             (unsigned long)end);
    fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Create $TMPDIR/ipcscope-exec-XXXXXX.out for the program's output. fd or -errno. */
static int open_output(void)
{
    const char *dir = getenv("TMPDIR");
    snprintf(g_out, sizeof(g_out), "%s/ipcscope-exec-XXXXXX.out", dir && *dir ? dir : "/tmp");
    int fd = mkostemps(g_out, 4, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    privs_give_to_user(fd); /* under sudo: the user's program writes it, the user reads it */
    return fd;
}

static void set_env_num(const char *key, unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", v);
    setenv(key, buf, 1);
}

/* LD_PRELOAD=<existing>:<ours> (ours last, so sanitizer runtimes stay first). */
static void set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    char buf[2 * PATH_MAX];
    if (old && *old)
        snprintf(buf, sizeof(buf), "%s:%s", old, lib);
    else
        snprintf(buf, sizeof(buf), "%s", lib);
    setenv("LD_PRELOAD", buf, 1);
}

/* In the worker: stdio, the one inherited memfd, the environment, then exec. */
static int exec_child(void *arg)
{
    const struct exec_child *a = arg;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->out_fd, 2) < 0)
        return 126;

    int shm = -1;
    if (g_prog.preload[0]) {
        shm = fcntl(a->shm_fd, F_DUPFD, 3); /* without FD_CLOEXEC: it must survive execv */
        set_env_num(INSTR_ATTACH_ENV_FD, (unsigned long long)shm);
        set_env_num(INSTR_ATTACH_ENV_SIZE, instr_region()->size);
        set_env_num(INSTR_ATTACH_ENV_MAP, a->map_off);
        set_preload(g_prog.preload);
    }
    if (shm > 3)
        close_range(3, (unsigned)shm - 1, 0);
    close_range(shm > 3 ? (unsigned)shm + 1 : 3, ~0u, 0);

    execv(g_prog.path, g_prog.argv);
    fprintf(stderr, "ipcscope exec: cannot run %s: %s\n", g_prog.path, strerror(errno));
    return 127;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    struct instr_shared *sh = instr_region();
    struct instr_attach_map *map = ctx->shared;
    map->magic = INSTR_ATTACH_MAGIC;

    struct exec_child a = {
        .shm_fd = -1, .out_fd = -1, .map_off = (size_t)((char *)map - (char *)sh)};
    int rc = 0;
    if (g_prog.preload[0] && (a.shm_fd = region_fd(sh)) < 0) {
        rc = a.shm_fd;
        snprintf(err, n, "cannot hand the shared region to the program: %s", strerror(-rc));
        goto cleanup;
    }
    if ((a.out_fd = open_output()) < 0) {
        rc = a.out_fd;
        snprintf(err, n, "cannot create the output file %s: %s", g_out, strerror(-rc));
        goto cleanup;
    }

    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", g_prog.path);
    g_pid = instr_spawn(basename(base), exec_child, &a, 0);
    if (g_pid < 0) {
        rc = g_pid;
        snprintf(err, n, "cannot start %s: %s", g_prog.path, strerror(-rc));
    }
cleanup:
    if (a.shm_fd >= 0)
        close(a.shm_fd);
    if (a.out_fd >= 0)
        close(a.out_fd);
    return rc;
}

/* ---- the snapshot: the program, its exit status and the end of its output ---- */

/* A JSON string for a line of program output (invalid UTF-8 bytes shown as '?'). */
static json_t *line_json(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char buf[TAIL_BYTES];
    size_t k = 0;
    for (size_t i = 0; i < len && k < sizeof(buf); i++)
        buf[k++] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    return json_stringn(buf, k);
}

/* The last TAIL_LINES lines of buf (len bytes; partial: the first line is cut, skip it). */
static json_t *tail_json(const char *buf, size_t len, int partial)
{
    json_t *tail = json_array();
    const char *nl = partial ? memchr(buf, '\n', len) : NULL;
    size_t start = partial ? (nl ? (size_t)(nl - buf) + 1 : len) : 0;
    if (len > start && buf[len - 1] == '\n')
        len--;
    size_t first = len, lines = 0;
    while (first > start && !(buf[first - 1] == '\n' && ++lines == TAIL_LINES))
        first--;
    for (size_t i = first, from = first; first < len && i <= len; i++) {
        if (i == len || buf[i] == '\n') {
            json_array_append_new(tail, line_json(buf + from, i - from));
            from = i + 1;
        }
    }
    return tail;
}

static json_t *output_json(void)
{
    json_t *o = json_pack("{s:s}", "path", g_out);
    char buf[TAIL_BYTES];
    size_t len = 0;
    off_t from = 0;
    struct stat st;
    int fd = open(g_out, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0) {
        from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
        ssize_t got = pread(fd, buf, sizeof(buf), from);
        len = got > 0 ? (size_t)got : 0;
        json_object_set_new(o, "bytes", json_integer((json_int_t)st.st_size));
    }
    if (fd >= 0)
        close(fd);
    json_object_set_new(o, "tail", tail_json(buf, len, from > 0));
    return o;
}

static json_t *exit_json(const struct model *m)
{
    json_t *o = json_pack("{s:i}", "pid", (int)g_pid);
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid != g_pid || t->tid != g_pid)
            continue;
        json_object_set_new(o, "state", json_string(task_state_name(t->state)));
        json_object_set_new(o, "status", t->has_exit ? json_integer(t->exit_status) : json_null());
        return o;
    }
    json_object_set_new(o, "status", json_null());
    return o;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    json_t *argv = json_array();
    for (char *const *a = g_prog.argv; a && *a; a++)
        json_array_append_new(argv, line_json(*a, strlen(*a)));
    json_object_set_new(out, "program",
                        json_pack("{s:s, s:o, s:b}", "path", g_prog.path, "argv", argv,
                                  "instrumented", g_prog.preload[0] != 0));
    json_object_set_new(out, "program_exit", exit_json(m));
    json_object_set_new(out, "program_output", output_json());
}

const struct scenario scenario_exec = {
    .id = "exec",
    .chapter = 0,
    .title_en = "Your program",
    .title_zh = "你的程序",
    .summary_en = "Your own program, unmodified, under ipcscope: its processes and threads, and "
                  "the semaphores, mutexes, condition variables and pipes it uses, appear as it "
                  "runs. Objects are named after your variables when the program has symbols, "
                  "else in order of first use (sem@1, mutex@1...). Its output goes to a file.",
    .summary_zh = "在 ipcscope 下运行你自己的、未经修改的程序:它的进程和线程,以及它使用的信号量、"
                  "互斥锁、条件变量和管道,都会在运行时显示出来。程序带符号时对象以你的变量命名,"
                  "否则按首次使用的顺序命名(sem@1、mutex@1……)。程序的输出写入一个文件。",
    .shared_size = sizeof(struct instr_attach_map),
    .max_tasks = max_tasks,
    .setup = setup,
    .snapshot = snapshot,
};
