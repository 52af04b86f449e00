/*
 * panel_flow.c - the packet flow graph of a TCP lesson: client on the left, server on the
 * right, one arrow per captured segment (SYN, SYN-ACK, ACK, data, FIN) with its sequence and
 * acknowledgement numbers, interleaved with each side's TCP state changes.
 *
 * Numbers are relative, as Wireshark's flow graph shows them: each direction counts from its
 * own SYN (seq 0, then ack 1); `n` shows the absolute ones. The segments are the capture's
 * (EV_PKT, CAP_NET_RAW); without a capture the state changes alone are drawn, and the title
 * says why.
 */
#include "snapshot.h"
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOW_MAX 256
#define CONN_MAX 16

/* One connection's numbering base: the initial sequence number of each direction. */
struct conn {
    uint16_t cport, sport; /* client and server ports */
    uint32_t isn_c, isn_s;
    int have_c, have_s;
};

struct flow {
    struct conn c[CONN_MAX];
    int n;
    uint16_t server_port; /* the listener's, or the first SYN's destination */
};

static uint16_t pkt_sport(const struct ev *e)
{
    return (uint16_t)((uint64_t)e->extra >> 16);
}

static uint16_t pkt_dport(const struct ev *e)
{
    return (uint16_t)e->extra;
}

/* The connection of segment e (created at its SYN, or at the first segment seen). */
static struct conn *conn_of(struct flow *f, const struct ev *e)
{
    uint16_t a = pkt_sport(e), b = pkt_dport(e);
    int from_client = b == f->server_port;
    uint16_t cport = from_client ? a : b, sport = from_client ? b : a;
    for (int i = 0; i < f->n; i++)
        if (f->c[i].cport == cport && f->c[i].sport == sport)
            return &f->c[i];
    if (f->n == CONN_MAX)
        return NULL;
    struct conn *c = &f->c[f->n++];
    memset(c, 0, sizeof(*c));
    c->cport = cport;
    c->sport = sport;
    return c;
}

/* The server's port: a listening socket's, else the destination of the first SYN. */
static uint16_t server_port(const struct model *m)
{
    for (size_t i = 0; i < m->nobjs; i++)
        if (m->objs[i].kind == OK_SOCKET && m->objs[i].lport && m->objs[i].tcp_state == 10)
            return m->objs[i].lport;
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->kind == EV_PKT && (e->val & 0x12) == 0x02)
            return pkt_dport(e);
    }
    return 0;
}

static const char *flags_text(int64_t fl, char *buf, size_t n)
{
    static const struct {
        int bit;
        const char *name;
    } F[] = {{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(F) / sizeof(F[0]) && used < n; i++)
        if (fl & F[i].bit)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "|" : "", F[i].name);
    return buf;
}

/* "SYN seq 0" / "ACK seq 1 ack 1" / "PSH|ACK seq 1 ack 1 len 67". */
static void seg_label(struct flow *f, const struct ev *e, int absolute, char *buf, size_t n)
{
    struct conn *c = conn_of(f, e);
    int from_client = pkt_dport(e) == f->server_port;
    uint32_t seq = (uint32_t)e->item, ack = (uint32_t)e->aux;
    if (c && (e->val & 0x02)) { /* a SYN starts its direction's numbering */
        if (from_client && !c->have_c)
            c->isn_c = seq, c->have_c = 1;
        if (!from_client && !c->have_s)
            c->isn_s = seq, c->have_s = 1;
    }
    if (c && !absolute) {
        uint32_t mine = from_client ? c->isn_c : c->isn_s,
                 theirs = from_client ? c->isn_s : c->isn_c;
        int have_mine = from_client ? c->have_c : c->have_s;
        int have_theirs = from_client ? c->have_s : c->have_c;
        if (have_mine)
            seq -= mine;
        if (have_theirs)
            ack -= theirs;
    }
    char fl[32];
    flags_text(e->val, fl, sizeof(fl));
    if (e->val & 0x10)
        snprintf(buf, n, "%s seq %u ack %u", fl, seq, ack);
    else
        snprintf(buf, n, "%s seq %u", fl, seq);
}

/* One arrow across the middle: "──SYN seq 0──────▶" or "◀──SYN|ACK seq 0 ack 1────". */
static void draw_arrow(int y, int x, int w, int rightwards, const char *label, attr_t a)
{
    if (w < 8)
        return;
    char line[512];
    int lw = screen_width(label);
    int dashes = w - lw - 3;
    if (dashes < 2)
        dashes = 2;
    size_t len = 0;
    line[0] = '\0';
    if (!rightwards)
        len += (size_t)snprintf(line + len, sizeof(line) - len, "◀");
    len += (size_t)snprintf(line + len, sizeof(line) - len, "──%s", label);
    for (int i = 0; i < dashes - 2 + 1 && len + 4 < sizeof(line); i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, "─");
    if (rightwards)
        snprintf(line + len, sizeof(line) - len, "▶");
    screen_put(y, x, w, a, line);
}

/* Segments and state changes in time order (stable: same-time records keep their order). */
static int by_time(const void *a, const void *b)
{
    const struct ev *x = *(const struct ev *const *)a, *y = *(const struct ev *const *)b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* "client-2-sock :36097", or ":36097" when no socket of the run has that port, in w columns:
 * a long name is cut ("client-c… :39095"), never the port (a cut port is a wrong number). */
static void end_label(const struct model *m, uint16_t port, char *buf, size_t n, int w)
{
    char num[16];
    snprintf(num, sizeof(num), ":%u", port);
    snprintf(buf, n, "%s", num);
    for (size_t i = 0; i < m->nobjs; i++) {
        const struct model_obj *o = &m->objs[i];
        if (o->kind != OK_SOCKET || o->lport != port || !o->rport)
            continue;
        int room = w - screen_width(num) - 1; /* the name's columns */
        if (room < 2)
            return;
        if (screen_width(o->name) <= room) {
            snprintf(buf, n, "%s %s", o->name, num);
            return;
        }
        char name[MODEL_NAME_MAX + 4];
        snprintf(name, sizeof(name), "%s", o->name);
        size_t len = strlen(name);
        while (len > 0 && screen_width(name) > room - 1) {
            do
                len--;
            while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80);
            name[len] = '\0';
        }
        snprintf(buf, n, "%s… %s", name, num);
        return;
    }
}

/* Drop a state row that says what the lane last said for its socket: the probe's change, the
 * socket table's sighting of the same change, and a socket freed in FIN_WAIT2 whose stand-in
 * keeps the state each made a "client-conn FIN-WAIT-2" row, and three of them pushed the
 * segments off the lane. Returns the rows kept, in order. */
static int drop_repeated_states(const struct ev **lines, int n)
{
    struct {
        uint32_t obj;
        int64_t state;
    } last[CONN_MAX * 2];
    int nlast = 0, kept = 0;
    for (int k = 0; k < n; k++) {
        const struct ev *e = lines[k];
        int i = 0;
        if (e->kind == EV_TCP_STATE) {
            while (i < nlast && last[i].obj != e->obj)
                i++;
            if (i < nlast && last[i].state == e->val)
                continue;
            if (i == nlast && nlast < CONN_MAX * 2)
                last[nlast++].obj = e->obj;
            if (i < nlast)
                last[i].state = e->val;
        }
        lines[kept++] = e;
    }
    return kept;
}

int panel_flow_has_packets(const struct ui *u)
{
    const struct model *m = &u->r->model;
    for (size_t i = m->hist_len; i-- > 0;)
        if (model_hist(m, i)->kind == EV_PKT)
            return 1;
    return 0;
}

/* The socket object of a TCP state change: is it the client's side (its local port is not
 * the server's)? */
static int state_on_client(const struct model *m, const struct ev *e, uint16_t sport)
{
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    return o && o->lport && o->lport != sport;
}

void panel_flow_draw(struct ui *u, struct rect r)
{
    const struct model *m = &u->r->model;
    struct flow f = {.server_port = server_port(m)};
    int any = panel_flow_has_packets(u);
    char title[160];
    snprintf(title, sizeof(title), "%s",
             any ? TR(u,
                      " Packets on lo · client ◀──▶ server · seq/ack relative (n: absolute) · f: "
                      "timeline ",
                      " lo 上的报文 · 客户端 ◀──▶ 服务端 · 相对 seq/ack（n：绝对值）· f：时间线 ")
                 : TR(u,
                      " TCP states · segments show here when captured (CAP_NET_RAW) · f: timeline ",
                      " TCP 状态 · 抓到报文（需要 CAP_NET_RAW）时显示在这里 · f：时间线 "));
    screen_box(r, title, u->focus == P_TIMELINE);
    struct rect in = screen_inner(r);
    if (in.h <= 0 || in.w < 30)
        return;

    /* the newest lines that fit: walk back to find where to start, numbering from the start */
    const struct ev *lines[FLOW_MAX];
    int n = 0;
    for (size_t i = 0; i < m->hist_len && n < FLOW_MAX; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->kind == EV_PKT || (e->kind == EV_TCP_STATE && e->obj < m->nobjs))
            lines[n++] = e;
    }
    qsort(lines, (size_t)n, sizeof(lines[0]), by_time); /* the capture's records come late */
    n = drop_repeated_states(lines, n);
    int first = n > in.h ? n - in.h : 0;
    int side = in.w >= 100 ? 22 : 16, mid = in.w - 2 * side - 2;
    for (int k = 0; k < first; k++) /* the numbering bases come from the earliest segments */
        if (lines[k]->kind == EV_PKT) {
            char tmp[64];
            seg_label(&f, lines[k], u->flow_absolute, tmp, sizeof(tmp));
        }
    for (int k = first, y = in.y; k < n; k++, y++) {
        const struct ev *e = lines[k];
        if (e->kind == EV_PKT) {
            char label[96];
            seg_label(&f, e, u->flow_absolute, label, sizeof(label));
            int rightwards = pkt_dport(e) == f.server_port;
            uint16_t cport = rightwards ? pkt_sport(e) : pkt_dport(e);
            char who[48];
            end_label(m, cport, who, sizeof(who), side);
            screen_put(y, in.x, side, THEME[R_DIM], who);
            draw_arrow(y, in.x + side + 1, mid, rightwards, label,
                       (e->val & 0x05) ? THEME[R_WARN] : THEME[R_NORMAL]);
            screen_putf(y, in.x + in.w - side, side, THEME[R_DIM], ":%u", f.server_port);
        } else {
            const struct model_obj *o = &m->objs[e->obj];
            char st[64];
            snprintf(st, sizeof(st), "%s %s", o->name, snapshot_ss_state(6, (int)e->val));
            if (state_on_client(m, e, f.server_port))
                screen_put(y, in.x, in.w / 2, THEME[R_TITLE], st);
            else
                screen_put(y,
                           in.x + in.w - screen_width(st) > in.x + in.w / 2
                               ? in.x + in.w - screen_width(st)
                               : in.x + in.w / 2,
                           in.w / 2, THEME[R_TITLE], st);
        }
    }
    if (!n)
        screen_put(in.y, in.x, in.w, THEME[R_DIM], TR(u, "no segment yet", "还没有报文"));
}
