/*
 * panel_objects.c - the Objects panel: every instrumented object on one line.
 *
 * Semaphores are drawn as tokens (●●○○ 2/4) with their waiting tasks, mutexes with holder
 * and waiters, condition variables with waiters, queues/pipes/message queues as filled bars
 * with depth/capacity. One table says how each kind is drawn.
 */
#include "narrate.h"
#include "snapshot.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

#define TOKENS_MAX 16

typedef int (*obj_draw_fn)(struct ui *u, const struct model_obj *o, int y, int x, int w);

/* "●●○○ 2/4": value filled tokens out of capacity. */
static int draw_tokens(const struct model_obj *o, int y, int x, int w)
{
    int used = 0;
    if (o->capacity > 0 && o->capacity <= TOKENS_MAX) {
        for (int64_t i = 0; i < o->capacity && used < w; i++)
            used +=
                screen_put(y, x + used, w - used, i < o->value ? THEME[R_TOKEN] : THEME[R_EMPTY],
                           i < o->value ? "●" : "○");
        used += screen_putf(y, x + used, w - used, THEME[R_NORMAL], " %lld/%lld",
                            (long long)o->value, (long long)o->capacity);
    } else {
        used += screen_putf(y, x, w, THEME[R_NORMAL], "= %lld", (long long)o->value);
    }
    return used;
}

/* "[■■□□] 2/4": a fill bar of at most TOKENS_MAX cells, fewer when the numbers would not
 * fit beside it (the numbers are the fact; the bar only pictures them). */
static int draw_bar(const struct model_obj *o, int y, int x, int w, const char *unit)
{
    char num[64];
    if (o->capacity > 0)
        snprintf(num, sizeof(num), " %lld/%lld%s", (long long)o->value, (long long)o->capacity,
                 unit);
    else
        snprintf(num, sizeof(num), " %lld%s", (long long)o->value, unit);
    int cells = o->capacity > 0 && o->capacity <= TOKENS_MAX ? (int)o->capacity : TOKENS_MAX;
    if (cells > w - 2 - (int)strlen(num))
        cells = w - 2 - (int)strlen(num);
    if (o->capacity <= 0 || cells < 2)
        cells = 0;
    int filled = cells ? (int)((o->value * cells + o->capacity - 1) / o->capacity) : 0;
    int used = screen_put(y, x, w, THEME[R_BORDER], cells ? "[" : "");
    for (int i = 0; i < cells && used < w; i++)
        used += screen_put(y, x + used, w - used, i < filled ? THEME[R_TOKEN] : THEME[R_EMPTY],
                           i < filled ? "■" : "□");
    used += screen_put(y, x + used, w - used, THEME[R_BORDER], cells ? "]" : "");
    used += screen_put(y, x + used, w - used, THEME[R_NORMAL], num);
    return used;
}

/* "waiting: a, b" (or "waiting: —"); in a narrow panel "waiting: 2 tasks", then "2 waiting",
 * then nothing (the task list shows the waiters): never a word cut short. */
static int draw_waiters(struct ui *u, uint32_t id, int y, int x, int w)
{
    const struct model *m = &u->r->model;
    uint32_t idx[8];
    size_t n = model_waiters(m, id, idx, UI_COUNT(idx));
    char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < UI_COUNT(idx) && len < sizeof(buf); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "",
                                m->tasks[idx[i]].name);
    if (n > UI_COUNT(idx) && len < sizeof(buf))
        snprintf(buf + len, sizeof(buf) - len, " +%zu", n - UI_COUNT(idx));
    const char *label = TR(u, " waiting: ", " 等待：");
    int lw = screen_width(label);
    if (n && screen_width(buf) > w - lw) /* names do not fit: the count does */
        snprintf(buf, sizeof(buf), TR(u, "%zu tasks", "%zu 个任务"), n);
    if (lw + screen_width(n ? buf : "—") > w) { /* nor the label: the count alone, or nothing */
        snprintf(buf, sizeof(buf), TR(u, " %zu waiting", " %zu 个等待"), n);
        if (!n || screen_width(buf) > w)
            return 0; /* the task list shows each waiter blocked on the object */
        return screen_put(y, x, w, THEME[R_BLOCK], buf);
    }
    int used = screen_put(y, x, w, THEME[R_DIM], label);
    used += screen_put(y, x + used, w - used, n ? THEME[R_BLOCK] : THEME[R_DIM], n ? buf : "—");
    return used;
}

/* The columns "waiting: …" needs at least: the count when there are waiters, else "—". */
static int waiters_min_width(struct ui *u, uint32_t id)
{
    uint32_t idx[8];
    size_t n = model_waiters(&u->r->model, id, idx, UI_COUNT(idx));
    char buf[64];
    snprintf(buf, sizeof(buf), TR(u, "%zu tasks", "%zu 个任务"), n);
    return screen_width(TR(u, " waiting: ", " 等待：")) + (n ? screen_width(buf) : 1);
}

/* A mutex's holder as drawn: "held by t1" or "free". */
static void holder_text(struct ui *u, const struct model_obj *o, char *buf, size_t n)
{
    const struct model *m = &u->r->model;
    if (o->holder < m->ntasks)
        snprintf(buf, n, TR(u, "held by %s", "持有者 %s"), m->tasks[o->holder].name);
    else
        snprintf(buf, n, "%s", TR(u, "free", "空闲"));
}

static int draw_sem(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    int used = draw_tokens(o, y, x, w);
    return used + draw_waiters(u, (uint32_t)(o - u->r->model.objs), y, x + used + 1, w - used - 1);
}

static int draw_mutex(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    char who[96];
    holder_text(u, o, who, sizeof(who));
    int used =
        screen_put(y, x, w, o->holder < u->r->model.ntasks ? THEME[R_RUN] : THEME[R_GOOD], who);
    return used + draw_waiters(u, (uint32_t)(o - u->r->model.objs), y, x + used + 1, w - used - 1);
}

static int draw_cond(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    return draw_waiters(u, (uint32_t)(o - u->r->model.objs), y, x, w);
}

static int draw_queue(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    (void)u;
    return draw_bar(o, y, x, w, "");
}

static int draw_pipe(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    int used = draw_bar(o, y, x, w, " B");
    return used + draw_waiters(u, (uint32_t)(o - u->r->model.objs), y, x + used + 1, w - used - 1);
}

static int draw_event(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    int used = screen_put(y, x, w, o->value ? THEME[R_TOKEN] : THEME[R_EMPTY],
                          o->value ? TR(u, "● set", "● 已置位") : TR(u, "○ clear", "○ 未置位"));
    return used + draw_waiters(u, (uint32_t)(o - u->r->model.objs), y, x + used + 1, w - used - 1);
}

static int draw_value(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    (void)u;
    return screen_putf(y, x, w, THEME[R_NORMAL], "= %lld", (long long)o->value);
}

/* A socket's state word as ss prints it ("ESTAB"), or what its closed socket is called. */
static const char *socket_state(struct ui *u, const struct model_obj *o)
{
    int udp = o->proto == 17;
    return o->in_kernel ? snapshot_ss_state(o->proto, o->tcp_state)
           : udp        ? (o->lport ? TR(u, "closed", "已关闭") : "UNCONN")
           : o->tcp_state == 7 || !o->tcp_state ? "CLOSE"
                                                : snapshot_ss_state(o->proto, o->tcp_state);
}

/* How a socket's facts shrink when the row is short, widest first: the spacing goes, then
 * the word TCP (its states say it; and UDP before UNCONN, a word only UDP uses), then the
 * "-Q" of the queue names, then the queues of a socket in TIME-WAIT (always 0 0: it holds no
 * data; at 80x24 they cut the names of forking-server's client sockets to "clie…" each). */
enum { SOCK_WIDE, SOCK_NARROW, SOCK_NO_PROTO, SOCK_SHORT_Q, SOCK_BARE, SOCK__LEVELS };

#define TCP_STATE_TIME_WAIT 6 /* the kernel's TCP_TIME_WAIT */

/* A socket's facts at a level: head (protocol and state, as ss prints it) and queues ("Recv-Q
 * 0 Send-Q 0", "accept queue 3/2" for a listener; "" when the kernel's table does not have
 * it). Returns whether it is a listener. */
static int socket_text(struct ui *u, const struct model_obj *o, int level, char *head, char *q,
                       size_t n)
{
    int udp = o->proto == 17, listener = !udp && o->tcp_state == 10;
    const char *sep = level == SOCK_WIDE ? "  " : " ";
    const char *state = socket_state(u, o);
    int unconn = udp && strcmp(state, "UNCONN") == 0; /* UDP's own word: TCP never says it */
    snprintf(head, n, "%s%s",
             level >= SOCK_NO_PROTO && (!udp || unconn) ? ""
             : udp                                      ? "UDP "
             : o->proto == MODEL_PROTO_UNIX             ? "UNIX "
                                                        : "TCP ",
             state);
    q[0] = '\0';
    if (!o->in_kernel || (level == SOCK_BARE && !udp && o->tcp_state == TCP_STATE_TIME_WAIT &&
                          !o->recv_q && !o->send_q))
        return 0;
    if (listener)
        snprintf(q, n, TR(u, "%s%s %lld/%lld", "%s%s %lld/%lld"), sep,
                 level >= SOCK_SHORT_Q ? TR(u, "queue", "队列")
                                       : TR(u, "accept queue", "全连接队列"),
                 (long long)o->recv_q, (long long)o->send_q);
    else
        snprintf(q, n,
                 level >= SOCK_SHORT_Q ? "%sRecv %lld Send %lld" : "%sRecv-Q %lld Send-Q %lld", sep,
                 (long long)o->recv_q, (long long)o->send_q);
    return listener;
}

/* The columns a socket's facts take at a level. */
static int socket_facts_width(struct ui *u, const struct model_obj *o, int level)
{
    char head[64], q[96];
    socket_text(u, o, level, head, q, sizeof(q));
    return screen_width(head) + screen_width(q);
}

/* A Unix socket's ends after its facts, in w columns: its name and its peer object
 * ("  /tmp/srv.sock  ↔ unix>srv.sock@2"), else the peer alone, else the name alone (each whole:
 * a cut path names another file); "" when none fits or it has neither. */
static void unix_ends(struct ui *u, const struct model_obj *o, int w, char *buf, size_t n)
{
    const struct model *m = &u->r->model;
    uint32_t peer = model_socket_peer(m, (uint32_t)(o - m->objs));
    const char *pname = peer != MODEL_NO_OBJ ? m->objs[peer].name : "";
    for (int form = 0; form < 3; form++) {
        const char *name = form == 1 ? "" : o->lname, *other = form == 2 ? "" : pname;
        snprintf(buf, n, "%s%s%s%s", name[0] ? "  " : "", name, other[0] ? "  ↔ " : "", other);
        if (screen_width(buf) <= w)
            return;
    }
    buf[0] = '\0';
}

/* "TCP ESTAB  Recv-Q 0 Send-Q 0  :5000→:41234", "TCP LISTEN  accept queue 3/2", "UDP UNCONN",
 * "UNIX ESTAB  Recv-Q 0 Send-Q 0  /tmp/srv.sock  ↔ unix>srv.sock@2". The queues are the facts:
 * when the row is short, the ports or Unix ends go first (whole, or not at all), then the
 * facts take their narrower forms ("FIN-WAIT-2 Recv 0 Send 0"). */
static int draw_socket(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    char head[64], q[96];
    int level = SOCK_WIDE;
    while (level < SOCK_BARE && socket_facts_width(u, o, level) > w)
        level++;
    int listener = socket_text(u, o, level, head, q, sizeof(q));
    int used = screen_put(y, x, w, THEME[R_NORMAL], head);
    used += screen_put(y, x + used, w - used, listener ? THEME[R_TOKEN] : THEME[R_DIM], q);
    char ends[MODEL_SOCK_NAME_MAX + MODEL_NAME_MAX + 16];
    if (o->in_kernel && o->proto == MODEL_PROTO_UNIX) {
        unix_ends(u, o, w - used, ends, sizeof(ends));
        return used + screen_put(y, x + used, w - used, THEME[R_DIM], ends);
    }
    if (!o->in_kernel || listener || !o->lport)
        return used;
    char ports[40];
    if (o->rport)
        snprintf(ports, sizeof(ports), "  :%u→:%u", o->lport, o->rport);
    else
        snprintf(ports, sizeof(ports), "  :%u", o->lport);
    if (screen_width(ports) <= w - used) /* whole or not at all: never a bare ':' or ':45' */
        used += screen_put(y, x + used, w - used, THEME[R_DIM], ports);
    return used;
}

/* rwlock: "2 readers" or "writer: t1", and its waiters. */
static int draw_rwlock(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    const struct model *m = &u->r->model;
    int used;
    if (o->holder < m->ntasks)
        used = screen_putf(y, x, w, THEME[R_RUN], TR(u, "writer %s", "写者 %s"),
                           m->tasks[o->holder].name);
    else if (o->value > 0)
        used = screen_putf(y, x, w, THEME[R_RUN], TR(u, "%lld readers", "%lld 个读者"),
                           (long long)o->value);
    else
        used = screen_put(y, x, w, THEME[R_GOOD], TR(u, "free", "空闲"));
    return used + draw_waiters(u, (uint32_t)(o - m->objs), y, x + used + 1, w - used - 1);
}

/* shm: "4096 B · 2 maps" (SysV ones say so). */
static int draw_shm(struct ui *u, const struct model_obj *o, int y, int x, int w)
{
    if (!(o->flags & MODEL_OBJ_SIZED)) /* a scenario's shared variable: its value */
        return draw_value(u, o, y, x, w);
    return screen_putf(y, x, w, THEME[R_NORMAL],
                       TR(u, "%lld B · %d maps%s", "%lld 字节 · %d 个映射%s"), (long long)o->value,
                       (int)o->users, (o->flags & OBJF_SYSV) ? " · SysV" : "");
}

static const obj_draw_fn DRAW[OK__COUNT] = {
    [OK_RWLOCK] = draw_rwlock, [OK_BARRIER] = draw_sem,   [OK_SPINLOCK] = draw_mutex,
    [OK_THREAD] = draw_cond,   [OK_SEMAPHORE] = draw_sem, [OK_MUTEX] = draw_mutex,
    [OK_CONDVAR] = draw_cond,  [OK_EVENT] = draw_event,   [OK_QUEUE] = draw_queue,
    [OK_PIPE] = draw_pipe,     [OK_MQ] = draw_queue,      [OK_SHM] = draw_shm,
    [OK_SOCKET] = draw_socket, [OK_PROCESS] = draw_value, [OK_SIGNAL] = draw_value,
};

int panel_objects_count(const struct ui *u)
{
    int n = 0;
    for (size_t i = 0; i < u->r->model.nobjs; i++)
        n += u->r->model.objs[i].name[0] != '\0';
    return n;
}

uint32_t panel_objects_id(const struct ui *u, int k)
{
    for (size_t i = 0; i < u->r->model.nobjs; i++)
        if (u->r->model.objs[i].name[0] && k-- == 0)
            return (uint32_t)i;
    return EV_NO_OBJ;
}

/* The columns an object's facts need at least (queues, holder, and with waiters set who
 * waits: what the line is for), so that a long name gives way to them; 0 for kinds whose line
 * is short anyway. */
static int facts_width(struct ui *u, const struct model_obj *o, int waiters)
{
    uint32_t id = (uint32_t)(o - u->r->model.objs);
    char buf[96];
    switch (o->kind) {
    case OK_SOCKET:
        return socket_facts_width(u, o, SOCK_BARE);
    case OK_MUTEX:
    case OK_SPINLOCK:
        holder_text(u, o, buf, sizeof(buf));
        return screen_width(buf) + (waiters ? 1 + waiters_min_width(u, id) : 0);
    case OK_SEMAPHORE:
    case OK_BARRIER:
        snprintf(buf, sizeof(buf), " %lld/%lld", (long long)o->value, (long long)o->capacity);
        return (o->capacity > 0 && o->capacity <= TOKENS_MAX ? (int)o->capacity : 0) +
               screen_width(buf) + (waiters ? 1 + waiters_min_width(u, id) : 0);
    case OK_QUEUE:
    case OK_MQ: /* the numbers (the bar only pictures them) */
        if (o->capacity > 0)
            snprintf(buf, sizeof(buf), " %lld/%lld", (long long)o->value, (long long)o->capacity);
        else
            snprintf(buf, sizeof(buf), " %lld", (long long)o->value);
        return screen_width(buf);
    default:
        return 0;
    }
}

/* Objects a cut name is compared with (a row is drawn every frame: a program with thousands of
 * objects gets the plain cut). */
#define ABBREV_OBJS_MAX 512

/* 1 when another object of self's kind has a name that begins with head (hlen bytes) and ends
 * with tail. */
static int abbrev_taken(const struct model *m, const struct model_obj *self, const char *head,
                        size_t hlen, const char *tail)
{
    size_t tlen = strlen(tail);
    for (size_t i = 0; i < m->nobjs; i++) {
        const char *other = m->objs[i].name;
        size_t olen = strlen(other);
        if (&m->objs[i] != self && m->objs[i].kind == self->kind && other[0] &&
            olen >= hlen + tlen && strncmp(other, head, hlen) == 0 &&
            strcmp(other + olen - tlen, tail) == 0)
            return 1;
    }
    return 0;
}

/* The name in w columns: whole, or cut with "…": at its end ("select-…") unless another
 * object's of its kind would read the same, then keeping the part that tells them apart
 * ("cl…1-udp" and "cl…2-udp", not "client…" twice). */
static void put_name(const struct model *m, const struct model_obj *o, int y, int x, int w,
                     attr_t a)
{
    const char *name = o->name;
    char buf[sizeof(o->name) + 4];
    snprintf(buf, sizeof(buf), "%s", name);
    size_t len = strlen(name);
    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        ascii &= (unsigned char)name[i] < 0x80;
    if (screen_width(buf) > w && w > 1 && ascii && m->nobjs <= ABBREV_OBJS_MAX) {
        size_t keep = (size_t)w - 1; /* the characters beside the "…" */
        for (size_t head = keep + 1; head-- > 0;) {
            const char *tail = name + len - (keep - head);
            if (!abbrev_taken(m, o, name, head, tail) || head == 0) {
                if (head == 0 && abbrev_taken(m, o, name, 0, tail))
                    head = keep; /* nothing tells it apart: the plain cut */
                snprintf(buf, sizeof(buf), "%.*s…%s", (int)head, name, name + len - (keep - head));
                break;
            }
        }
    } else if (screen_width(buf) > w && w > 1) {
        while (len > 0 && screen_width(buf) > w - 1) {
            do
                len--;
            while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80);
            buf[len] = '\0';
        }
        strcat(buf, "…");
    }
    screen_put(y, x, w, a, buf);
}

void panel_object_line(struct ui *u, uint32_t id, int y, int x, int w, attr_t base)
{
    const struct model_obj *o = &u->r->model.objs[id];
    int used = screen_putf(y, x, w, o->live ? THEME[R_DIM] : THEME[R_EXIT], "%-5s ",
                           obj_kind_prefix(o->kind));
    int name_w = 8, cap = w / 3 > 12 ? w / 3 : 12; /* whole names when there is room */
    int nw = screen_width(o->name);
    name_w = nw > name_w ? (nw > cap ? cap : nw) : name_w;
    int masked = ui_predict_masks(u, id);
    int room = w - used - 1 - (masked ? 0 : facts_width(u, o, 1));
    if (nw > name_w && nw <= room && (o->kind == OK_QUEUE || o->kind == OK_MQ))
        name_w = nw; /* whole when it fits beside its numbers: at 80x24 'epoll_wait-interest'
                      * and 'epoll_wait-ready' were both 'epoll_wait-…' */
    if (name_w > room) {
        /* The facts stay whole; the name gives way to them, but a short name (8 columns)
         * stays whole before the waiters' words (which shrink to a count or nothing: the
         * task list shows each waiter), down to the holder or the value itself. */
        int core = w - used - 1 - (masked ? 0 : facts_width(u, o, 0)), keep = nw < 8 ? nw : 8;
        name_w = room > keep ? room : keep;
        name_w = name_w > core ? core : name_w;
        name_w = name_w > 4 ? name_w : 4;
    }
    put_name(&u->r->model, o, y, x + used, name_w, base);
    used += name_w + 1;
    if (used < w && ui_predict_masks(u, id)) /* asked about: hidden until the class answers */
        screen_put(y, x + used, w - used, THEME[R_WARN], TR(u, "? (predict)", "?（预测中）"));
    else if (used < w && o->kind < OK__COUNT && DRAW[o->kind])
        DRAW[o->kind](u, o, y, x + used, w - used);
}

/* A socket the kernel's table had and no longer has (closed, its goodbye over). */
static int gone(const struct model_obj *o)
{
    return o->kind == OK_SOCKET && !o->in_kernel && o->lport;
}

/* The rows the panel shows when it is not focused and the objects do not fit: sockets the
 * kernel no longer has give their rows to the others (a closed socket must not hide the one
 * being used), first-come. Returns how many objects are not shown. */
static int visible_ids(struct ui *u, int rows, uint32_t *ids, int *nids)
{
    int n = panel_objects_count(u), skipped = 0;
    *nids = 0;
    for (int i = 0; i < n; i++) {
        uint32_t id = panel_objects_id(u, i);
        if (n - skipped > rows && gone(&u->r->model.objs[id])) {
            skipped++;
            continue;
        }
        if (*nids < rows)
            ids[(*nids)++] = id;
    }
    return n - *nids;
}

void panel_objects_draw(struct ui *u, struct rect r)
{
    int n = panel_objects_count(u);
    char title[96];
    struct rect in = screen_inner(r);
    if (u->sel_obj >= n)
        u->sel_obj = n ? n - 1 : 0;
    if (u->sel_obj < u->obj_top)
        u->obj_top = u->sel_obj;
    if (u->sel_obj >= u->obj_top + in.h)
        u->obj_top = u->sel_obj - in.h + 1;
    struct ui_meter meters[UI_METERS_MAX];
    int nm = panel_meters_collect(u, meters, UI_METERS_MAX);
    /* the result first (it is the lesson); the objects scroll in what is left, at least one row */
    int mrows = nm ? (nm + 1 < in.h - 1 ? nm + 1 : in.h - 1) : 0;
    u->obj_rows = n + (nm ? nm + 1 : 0); /* the next layout makes room if it can */
    int rows = in.h - mrows;
    uint32_t ids[64];
    int nids = 0, hidden = 0, k = 0;
    if (u->focus != P_OBJECTS && n > rows && rows > 0 && rows <= (int)UI_COUNT(ids))
        hidden = visible_ids(u, rows, ids, &nids);
    if (hidden) /* Tab to the panel scrolls through all of them */
        snprintf(title, sizeof(title),
                 TR(u, " Objects (%d, %d not shown) ", " 对象（%d，%d 个未显示）"), n, hidden);
    else
        snprintf(title, sizeof(title), TR(u, " Objects (%d) ", " 对象（%d）"), n);
    screen_box(r, title, u->focus == P_OBJECTS);
    for (; hidden && k < nids; k++) {
        screen_put(in.y + k, in.x, 1, THEME[R_FOCUS], " ");
        panel_object_line(u, ids[k], in.y + k, in.x + 1, in.w - 1, THEME[R_TITLE]);
    }
    for (; !hidden && k < rows && u->obj_top + k < n; k++) {
        int i = u->obj_top + k;
        int sel = u->focus == P_OBJECTS && i == u->sel_obj;
        screen_put(in.y + k, in.x, 1, THEME[R_FOCUS], sel ? "▸" : " ");
        panel_object_line(u, panel_objects_id(u, i), in.y + k, in.x + 1, in.w - 1,
                          sel ? THEME[R_SEL] : THEME[R_TITLE]);
    }
    if (nm)
        panel_meters_draw(u, in.y + k, in.x + 1, in.w - 1, in.h - k);
    if (!n)
        screen_put(in.y, in.x + 1, in.w - 1, THEME[R_DIM], TR(u, "no objects yet", "还没有对象"));
}
