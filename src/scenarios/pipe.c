/*
 * pipe.c - a writer and a reader on a pipe (chapter 6).
 *
 * The pipe's fill level (bytes of its capacity, from FIONREAD and F_GETPIPE_SZ) is live on
 * screen. The reader starts late, so the writer fills the pipe and blocks in write(); then
 * the reader drains it and blocks in read() while the pipe is empty; closing the write end
 * gives the reader EOF. With duplex=1 the two talk both ways over a socketpair, as
 * multiprocessing.Pipe(duplex=True) does, and a half-close (shutdown) ends it.
 *
 * Stepped or paced, filling is not the lesson's action: the writer's first write is a step,
 * the chunks after it go at the machine's speed (unpaced), and the write that first finds the
 * pipe full is a step again (the writer blocks). A read and the reader's pause before it are
 * one step, so in step mode each Space is one read (the writer, woken, refills at once and
 * blocks again: the pipe stays full while the writer has more), and at the default speed the
 * pipe is seen full, with the writer blocked, for as many steps as the reader needs.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_CHUNK_MAX 65536

struct pipe_shared {
    long capacity, chunk, total, reader_delay_ms, read_ms, pause_ms, duplex, rounds;
    int fds[2];
    struct instr_obj *pipe, *back; /* back: the b->a direction (duplex) */
    _Atomic int32_t writer_pid;
    _Atomic long written, read, max_fill_at_block, fill_at_first_read;
    _Atomic int blocked_once; /* the writer has blocked on a full pipe */
    _Atomic int eof, replies;
    char writer_state_at_full;
    char writer_wchan[32];
};

static struct pipe_shared *S;
static char g_buf[PIPE_CHUNK_MAX];

static const struct scenario_param params[] = {
    {"capacity", "pipe capacity in bytes (F_SETPIPE_SZ)", "管道容量(字节,F_SETPIPE_SZ)", 4096,
     1048576, 16384},
    {"chunk", "bytes per write", "每次写入的字节数", 1, PIPE_CHUNK_MAX, 1024},
    {"total", "bytes the writer writes before pausing", "写端暂停前写入的总字节数", 1, 16777216,
     32768},
    {"reader_delay_ms", "how late the reader starts", "读端延迟开始的毫秒数", 0, 60000, 500},
    {"read_ms", "reader's pause between reads", "读端每次读取之间的停顿毫秒数", 0, 10000, 10},
    {"pause_ms", "writer's pause before its last message", "写端最后一条消息前的停顿毫秒数", 0,
     60000, 300},
    {"duplex", "1: a two-way socketpair instead of a pipe", "1:用双向 socketpair 代替管道", 0, 1,
     0},
    {"rounds", "duplex: request/reply rounds", "双向模式:请求/应答轮数", 1, 1000, 5},
};

/* ---- one-way pipe ---- */

static void note_block(int was_full)
{
    long prev = atomic_load(&S->max_fill_at_block);
    if (was_full > prev)
        atomic_store(&S->max_fill_at_block, was_full);
}

/* Enter (want 1) or leave (0) work the gate does not pace; *in is the current state. */
static void set_unpaced(int *in, int want)
{
    if (want && !*in)
        sclock_unpaced_begin();
    else if (!want && *in)
        sclock_unpaced_end();
    *in = want;
}

static int writer(void *arg)
{
    (void)arg;
    ipc_set_comm("pipe-writer");
    close(S->fds[0]);
    memset(g_buf, 'x', sizeof(g_buf));
    int unpaced = 0;
    for (long done = 0; done < S->total && !ipc_stopping();) {
        long n = S->total - done < S->chunk ? S->total - done : S->chunk;
        int full = ipc_pipe_fill(S->fds[1]) + n > S->capacity;
        set_unpaced(&unpaced, done > 0 && !(full && !atomic_load(&S->blocked_once)));
        int was_full = -1;
        if (ipc_pipe_write(S->pipe, S->fds[1], g_buf, (size_t)n, &was_full) < 0) {
            set_unpaced(&unpaced, 0);
            return 1;
        }
        note_block(was_full);
        if (was_full >= 0)
            atomic_store(&S->blocked_once, 1);
        done += n;
        atomic_fetch_add(&S->written, n);
    }
    set_unpaced(&unpaced, 0);
    sclock_sleep(S->pause_ms, 0, "the writer's pause"); /* the reader empties the pipe */
    if (ipc_pipe_write(S->pipe, S->fds[1], "bye\n", 4, NULL) == 4)
        atomic_fetch_add(&S->written, 4);
    ipc_pipe_close(S->pipe, S->fds[1], 1);
    return 0;
}

/* What the kernel says about the writer while the pipe is full (before the first read). */
static void look_at_writer(void)
{
    pid_t w = atomic_load(&S->writer_pid);
    atomic_store(&S->fill_at_first_read, ipc_pipe_fill(S->fds[0]));
    S->writer_state_at_full = ipc_proc_state(w);
    ipc_proc_wchan(w, S->writer_wchan, sizeof(S->writer_wchan));
}

/* One read of a chunk, ms after the last one. Held, the pause and the read are one step due
 * ms from now on the scenario clock (then the read itself passes unpaced); free, a real pause
 * first. Returns what read(2) did, or -1 when the run stops. */
static ssize_t read_after(long ms)
{
    if (ms <= 0)
        return ipc_pipe_read(S->pipe, S->fds[0], g_buf, (size_t)S->chunk);
    if (!instr_gate_timed(EV_PIPE_READ, S->pipe->id, sclock_now() + (uint64_t)ms * 1000000ull, ms,
                          NULL) &&
        sclock_sleep(ms, 0, NULL) < 0)
        return -1;
    sclock_unpaced_begin(); /* its step was the one just granted */
    ssize_t r = ipc_pipe_read(S->pipe, S->fds[0], g_buf, (size_t)S->chunk);
    sclock_unpaced_end();
    return r;
}

static int reader(void *arg)
{
    (void)arg;
    ipc_set_comm("pipe-reader");
    close(S->fds[1]);
    sclock_sleep(S->reader_delay_ms, 0, "the reader starts late");
    look_at_writer();
    for (long pause = 0;; pause = S->read_ms) {
        ssize_t r = read_after(pause);
        if (r <= 0) {
            atomic_store(&S->eof, r == 0);
            break;
        }
        atomic_fetch_add(&S->read, r);
    }
    ipc_pipe_close(S->pipe, S->fds[0], 0);
    return 0;
}

/* ---- duplex: a socketpair ---- */

static int send_msg(struct instr_obj *o, int fd, const char *msg)
{
    instr_gate(EV_PIPE_WRITE, o->id);
    ssize_t w = write(fd, msg, strlen(msg));
    if (w < 0)
        return -errno;
    o->value += w;
    instr_op(o, EV_PIPE_WRITE, o->value, w, 0);
    atomic_fetch_add(&S->written, w);
    return 0;
}

static ssize_t recv_msg(struct instr_obj *o, int fd, char *buf, size_t n)
{
    instr_gate(EV_PIPE_READ, o->id);
    int empty = ipc_pipe_fill(fd) == 0;
    if (empty)
        instr_block(o, 0);
    ssize_t r = read(fd, buf, n - 1);
    if (empty)
        instr_unblock(o);
    buf[r > 0 ? r : 0] = '\0';
    o->value = ipc_pipe_fill(fd);
    instr_op(o, EV_PIPE_READ, o->value, r, 0);
    if (r > 0)
        atomic_fetch_add(&S->read, r);
    return r;
}

static int duplex_a(void *arg)
{
    (void)arg;
    char msg[64], reply[64];
    ipc_set_comm("pipe-writer");
    close(S->fds[1]);
    for (long i = 0; i < S->rounds && !ipc_stopping(); i++) {
        snprintf(msg, sizeof(msg), "ping %ld\n", i);
        if (send_msg(S->pipe, S->fds[0], msg) < 0 || recv_msg(S->back, S->fds[0], reply, 64) <= 0)
            return 1;
        atomic_fetch_add(&S->replies, 1);
        sclock_sleep(S->read_ms, 0, "between rounds");
    }
    instr_gate(EV_PIPE_CLOSE, S->pipe->id);
    shutdown(S->fds[0], SHUT_WR); /* half-close: b reads EOF, a can still read */
    instr_op(S->pipe, EV_PIPE_CLOSE, 0, 0, 1);
    while (recv_msg(S->back, S->fds[0], reply, 64) > 0)
        ;
    close(S->fds[0]);
    return 0;
}

static int duplex_b(void *arg)
{
    (void)arg;
    char msg[64], reply[80];
    ipc_set_comm("pipe-reader");
    close(S->fds[0]);
    for (;;) {
        ssize_t r = recv_msg(S->pipe, S->fds[1], msg, sizeof(msg));
        if (r <= 0) {
            atomic_store(&S->eof, r == 0);
            break;
        }
        snprintf(reply, sizeof(reply), "pong %s", msg + 5);
        send_msg(S->back, S->fds[1], reply);
    }
    ipc_pipe_close(S->back, S->fds[1], 1);
    return 0;
}

/* ---- conductor side ---- */

static int make_channel(char *err, size_t n)
{
    if (S->duplex) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, S->fds) < 0)
            goto fail;
        S->pipe = instr_obj_new("a->b", OK_PIPE, 0, 0);
        S->back = instr_obj_new("b->a", OK_PIPE, 0, 0);
        return S->pipe && S->back ? 0 : -ENOMEM;
    }
    if (pipe2(S->fds, O_CLOEXEC) < 0)
        goto fail;
    if (fcntl(S->fds[1], F_SETPIPE_SZ, (int)S->capacity) < 0)
        goto fail;
    S->capacity = fcntl(S->fds[1], F_GETPIPE_SZ);
    S->pipe = ipc_pipe_obj("pipe", S->fds[1]);
    return S->pipe ? 0 : -ENOMEM;
fail:
    snprintf(err, n, "cannot create the %s: %s", S->duplex ? "socketpair" : "pipe",
             strerror(errno));
    return -errno;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->capacity = scn_param(ctx, "capacity");
    S->chunk = scn_param(ctx, "chunk");
    S->total = scn_param(ctx, "total");
    S->reader_delay_ms = scn_param(ctx, "reader_delay_ms");
    S->read_ms = scn_param(ctx, "read_ms");
    S->pause_ms = scn_param(ctx, "pause_ms");
    S->duplex = scn_param(ctx, "duplex");
    S->rounds = scn_param(ctx, "rounds");
    S->max_fill_at_block = -1;
    int rc = make_channel(err, n);
    if (rc < 0)
        return rc;

    pid_t w = instr_spawn(S->duplex ? "end-a" : "writer", S->duplex ? duplex_a : writer, NULL, 0);
    atomic_store(&S->writer_pid, w);
    pid_t r = instr_spawn(S->duplex ? "end-b" : "reader", S->duplex ? duplex_b : reader, NULL, 0);
    close(S->fds[0]); /* the conductor keeps no end open: EOF depends on the workers only */
    close(S->fds[1]);
    if (w < 0 || r < 0) {
        snprintf(err, n, "cannot fork the workers: %s", strerror((int)-(w < 0 ? w : r)));
        return w < 0 ? (int)w : (int)r;
    }
    return 0;
}

static int act_stop_reader(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    S->read_ms = S->read_ms < 1000 ? 1000 : S->read_ms;
    snprintf(msg, n, "the reader now reads once a second: watch the pipe fill up");
    return 0;
}

static int act_fast_reader(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    S->read_ms = 0;
    snprintf(msg, n, "the reader reads as fast as it can");
    return 0;
}

/* The lesson's result, pinned at the end over the exit lines (the one-way pipe). */
static void pin_result(struct scn_ctx *ctx)
{
    long full = atomic_load(&S->max_fill_at_block), got = atomic_load(&S->read);
    int zh = ctx->lang == LANG_ZH;
    const char *end = atomic_load(&S->eof)
                          ? (zh ? "写端关闭后 read() 返回 0:文件结束(EOF)。"
                                : "; once the writer closed its end, read() returned 0: end of "
                                  "file.")
                          : (zh ? "没有读到 EOF。" : ", but never saw EOF.");
    if (full >= 0)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "写端在管道装有 %ld/%ld 字节时阻塞在 write() 中;读端读完了全部 %ld 字节,%s"
                    : "The writer blocked in write() with the pipe holding %ld of %ld bytes; the "
                      "reader got all %ld bytes%s",
                 full, S->capacity, got, end);
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "读端读完了全部 %ld 字节,%s" : "The reader got all %ld bytes%s", got, end);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    if (!S->duplex)
        pin_result(ctx);
    if (atomic_load(&S->read) != atomic_load(&S->written) || !atomic_load(&S->eof)) {
        snprintf(why, n, "wrote %ld bytes, read %ld, EOF %s", atomic_load(&S->written),
                 atomic_load(&S->read), atomic_load(&S->eof) ? "seen" : "not seen");
        return -1;
    }
    if (!S->duplex && S->total > S->capacity && S->reader_delay_ms >= 200 &&
        atomic_load(&S->max_fill_at_block) != S->capacity) {
        snprintf(why, n, "the writer never blocked on a full pipe (fill %ld of %ld)",
                 atomic_load(&S->max_fill_at_block), S->capacity);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    char st[2] = {S->writer_state_at_full, 0};
    long full = atomic_load(&S->max_fill_at_block);
    json_object_set_new(out, "duplex", json_boolean(S->duplex));
    json_object_set_new(out, "capacity", json_integer(S->capacity));
    json_object_set_new(out, "bytes_written", json_integer(atomic_load(&S->written)));
    json_object_set_new(out, "bytes_read", json_integer(atomic_load(&S->read)));
    json_object_set_new(out, "eof", json_boolean(atomic_load(&S->eof)));
    json_object_set_new(out, "max_fill_at_block", json_integer(full));
    json_object_set_new(out, "writer_blocked_full", json_boolean(full == S->capacity));
    json_object_set_new(out, "fill_at_first_read",
                        json_integer(atomic_load(&S->fill_at_first_read)));
    json_object_set_new(out, "writer_state_at_full", json_string(st));
    json_object_set_new(out, "writer_wchan_at_full", json_string(S->writer_wchan));
    if (S->duplex)
        json_object_set_new(out, "replies", json_integer(atomic_load(&S->replies)));
}

/* 1 when, after the read e, a writer still sleeps on the pipe because the free space is less
 * than a page: the kernel frees a full pipe's buffer a whole page at a time (a partly read page
 * stays taken), so the writer wakes only once a page has been read to its end. */
static int still_blocked(const struct model *m, const struct ev *e, long long cap)
{
    uint32_t idx[4];
    long page = sysconf(_SC_PAGESIZE);
    return e->item > 0 && e->val > 0 && page > 0 && cap - e->val < page &&
           model_waiters(m, e->obj, idx, 4) > 0;
}

static int narrate_page(const struct model *m, const struct ev *e, long long cap, int zh, char *buf,
                        size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    snprintf(buf, n,
             zh ? "%s 读出了 %lld 字节:管道里还有 %lld/%lld 字节。写端仍然阻塞:内核按整页(%ld "
                  "字节)归还空间,读完一整页后写端才会被唤醒。"
                : "%s read %lld bytes: the pipe still holds %lld of %lld. The writer stays "
                  "blocked: the kernel frees pipe space a whole page (%ld bytes) at a time, so it "
                  "wakes once a page has been read to its end.",
             ipc_ev_task_name(m, e), (long long)e->item, (long long)e->val, cap, page);
    return 1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    long long cap = e->obj < m->nobjs ? (long long)m->objs[e->obj].capacity : 0;
    if (e->kind == EV_BLOCK && e->val > 0) {
        snprintf(buf, n,
                 zh ? "管道里已有 %lld/%lld 字节,装不下了:%s 在 write() 中阻塞,直到读端取走数据。"
                    : "The pipe holds %lld of %lld bytes and cannot take more: %s blocks in "
                      "write() until the reader takes some out.",
                 (long long)e->val, cap, who);
        return 1;
    }
    if (e->kind == EV_BLOCK) {
        snprintf(buf, n,
                 zh ? "管道是空的:%s 在 read() 中阻塞,直到写端写入数据或关闭写端。"
                    : "The pipe is empty: %s blocks in read() until the writer writes or closes "
                      "its end.",
                 who);
        return 1;
    }
    if (e->kind == EV_PIPE_READ && e->item == 0) {
        snprintf(buf, n,
                 zh ? "read() 返回 0:所有写端都已关闭,%s 读到了文件结束(EOF)。"
                    : "read() returned 0: every write end is closed, so %s sees end of file "
                      "(EOF).",
                 who);
        return 1;
    }
    if ((e->kind == EV_PIPE_WRITE || e->kind == EV_PIPE_READ) && cap > 0) {
        int w = e->kind == EV_PIPE_WRITE;
        if (!w && still_blocked(m, e, cap))
            return narrate_page(m, e, cap, zh, buf, n);
        snprintf(buf, n,
                 zh ? "%s %s了 %lld 字节:管道里现在有 %lld 字节,容量是 %lld(F_GETPIPE_SZ)%s"
                    : "%s %s %lld bytes: the pipe now holds %lld of its %lld bytes (its capacity, "
                      "F_GETPIPE_SZ)%s",
                 who, zh ? (w ? "写入" : "读出") : (w ? "wrote" : "read"), (long long)e->item,
                 (long long)e->val, cap,
                 e->val >= cap ? (zh ? ":满了。" : ": full.")
                 : e->val == 0 ? (zh ? ":空了。" : ": empty.")
                               : (zh ? "。" : "."));
        return 1;
    }
    if (e->kind == EV_PIPE_CLOSE && e->aux == 1) {
        snprintf(buf, n,
                 zh ? "%s 关闭了写端;读端读完剩余数据后会读到 EOF。"
                    : "%s closed the write end; once the rest is read the reader gets EOF.",
                 who);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'s', "slow the reader down (1 read/s)", "让读端变慢(每秒读一次)", act_stop_reader},
    {'f', "let the reader read at full speed", "让读端全速读取", act_fast_reader},
};

const struct scenario scenario_pipe = {
    .id = "pipe",
    .chapter = 6,
    .title_en = "Pipe: a writer, a reader, a bounded kernel buffer",
    .title_zh = "管道:写端、读端和有限的内核缓冲区",
    .summary_en = "A writer and a reader share a pipe whose capacity is fixed by the kernel "
                  "(F_GETPIPE_SZ). The reader starts late: the writer fills the pipe and blocks "
                  "in write(). Then the reader drains it and blocks in read() while it is empty. "
                  "When the writer closes its end, read() returns 0: end of file. duplex=1 shows "
                  "the two-way version (a socketpair), like multiprocessing.Pipe(duplex=True).",
    .summary_zh = "写端和读端共享一个管道,容量由内核决定(F_GETPIPE_SZ)。读端晚些开始:写端写满"
                  "管道后在 write() 中阻塞;随后读端取走数据,管道空时在 read() 中阻塞。写端关闭"
                  "后 read() 返回 0,即文件结束。duplex=1 展示双向版本(socketpair),就像 "
                  "multiprocessing.Pipe(duplex=True)。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct pipe_shared),
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
