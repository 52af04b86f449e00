/*
 * layers.c - one HTTP request on loopback, explained layer by layer (chapter 1, the five-layer
 * model).
 *
 * A server and a client exchange one HTTP/1.0 request and response on 127.0.0.1. When the
 * conductor may open an AF_PACKET socket (CAP_NET_RAW), a capture task decodes every frame
 * of that connection on lo: Ethernet header, IPv4 header, TCP header, payload. Without it the
 * transport layer comes from the client's TCP_INFO counters and the snapshot says why the
 * capture is off. Then the client walks down its stack, one step per layer: application,
 * transport, network, link, each narrated with the numbers of this very connection.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define LY_MAX_SEGS 24
#define LY_TEXT 160

enum { L_LINK = 2, L_NETWORK = 3, L_TRANSPORT = 4, L_APPLICATION = 5 };

struct ly_tcpinfo {
    uint32_t state, snd_mss, rcv_mss, rtt_us, segs_out, segs_in, retrans;
    uint64_t bytes_acked, bytes_received;
};

struct ly_shared {
    long body_bytes, ttl;
    int capture_fd, capture_errno; /* fd for the capture task; errno when it is off */
    _Atomic int port, cport, capture_ready, client_closed, capture_done, got_200, body_ok;
    int request_bytes, response_bytes, sent_ttl, mtu;
    int pinned;            /* conductor side: the lesson is pinned */
    uint32_t laddr, raddr; /* the client's socket addresses (host order) */
    char request_line[LY_TEXT], status_line[LY_TEXT];
    struct ly_tcpinfo ti;
    int nsegs;
    struct net_seg segs[LY_MAX_SEGS];
    struct instr_obj *stack; /* value: the layer being explained (5 ... 2), shown "= 5" */
};

static struct ly_shared *S;

static const struct scenario_param params[] = {
    {"capture", "1: capture the frames on lo when privileged", "1:有权限时在 lo 上抓包", 0, 1, 1},
    {"body_bytes", "bytes of the response body", "响应正文的字节数", 1, 4000, 48},
    {"ttl", "IP time-to-live of the client's packets", "客户端报文的 IP TTL", 1, 255, 64},
};

/* ---- the capture task ---- */

static void keep(const struct net_seg *g)
{
    if (S->nsegs < LY_MAX_SEGS)
        S->segs[S->nsegs++] = *g;
    net_pkt_emit(g, NULL);
}

/* Frames of the connection until the client is done and lo has been quiet a while. It
 * observes and never acts: held, it waits as long as the teacher does; the bound only guards
 * a free run against a client that never ends. */
static int capture(void *arg)
{
    (void)arg;
    int fd = S->capture_fd;
    if (!net_wait_flag(&S->port, "until the server listens")) {
        close(fd);
        net_flag_set(&S->capture_done, 1);
        return 1;
    }
    uint16_t port = (uint16_t)atomic_load(&S->port);
    net_flag_set(&S->capture_ready, 1);
    struct sclock_wait w;
    sclock_wait_begin(&w, 2 * NET_WAIT_MS, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    int quiet = 0;
    while (quiet < 2 && !net_stopping() && !sclock_wait_expired(&w)) {
        struct net_seg g; /* long slices while the teacher talks, short ones at the end */
        int r = net_capture_next(fd, port, &g, atomic_load(&S->client_closed) ? 50 : 500);
        if (r < 0)
            break;
        if (r == 1)
            keep(&g);
        quiet = atomic_load(&S->client_closed) && r == 0 ? quiet + 1 : 0;
    }
    sclock_wait_end(&w);
    close(fd);
    net_flag_set(&S->capture_done, 1);
    return 0;
}

/* ---- the server ---- */

static void first_line(const char *text, char *out, size_t n)
{
    size_t len = strcspn(text, "\r\n");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), text);
}

static int answer(struct net_sock *c)
{
    char req[1024], head[256], body[4096];
    ssize_t r = net_recv_until(c, req, sizeof(req), "\r\n\r\n");
    if (r <= 0)
        return 1;
    S->request_bytes = (int)r;
    first_line(req, S->request_line, sizeof(S->request_line));
    int len = (int)S->body_bytes;
    for (int i = 0; i < len; i++)
        body[i] = (char)('a' + i % 26);
    int hl =
        snprintf(head, sizeof(head),
                 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", len);
    if (net_send(c, head, (size_t)hl) < 0 || net_send(c, body, (size_t)len) < 0)
        return 1;
    S->response_bytes = hl + len;
    return 0;
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c;
    if (net_socket(&ls, "server-listen", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 1) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    if (net_accept(&ls, &c, "server-conn") < 0)
        return 1;
    int rc = answer(&c);
    net_close(&c); /* HTTP/1.0: the end of the body is the end of the connection */
    net_close(&ls);
    return rc;
}

/* ---- the client ---- */

static void read_tcp_info(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return;
    S->ti = (struct ly_tcpinfo){ti.tcpi_state,         ti.tcpi_snd_mss,     ti.tcpi_rcv_mss,
                                ti.tcpi_rtt,           ti.tcpi_segs_out,    ti.tcpi_segs_in,
                                ti.tcpi_total_retrans, ti.tcpi_bytes_acked, ti.tcpi_bytes_received};
}

static void read_link_facts(int fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        S->laddr = ntohl(a.sin_addr.s_addr);
    alen = sizeof(a);
    if (getpeername(fd, (struct sockaddr *)&a, &alen) == 0)
        S->raddr = ntohl(a.sin_addr.s_addr);
    int ttl = 0;
    socklen_t len = sizeof(ttl);
    if (getsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, &len) == 0)
        S->sent_ttl = ttl;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
        S->mtu = ifr.ifr_mtu;
}

/* Check the response: status 200 and the body the server was asked to send. */
static void judge(const char *resp, ssize_t n)
{
    first_line(resp, S->status_line, sizeof(S->status_line));
    atomic_store(&S->got_200, strncmp(resp, "HTTP/1.0 200 ", 13) == 0);
    const char *body = strstr(resp, "\r\n\r\n");
    int ok = body && n - (body + 4 - resp) == S->body_bytes;
    for (long i = 0; ok && i < S->body_bytes; i++)
        ok = body[4 + i] == (char)('a' + i % 26);
    atomic_store(&S->body_ok, ok);
}

/* Walk down the stack, one gated step per layer. */
static void explain_layers(void)
{
    static const char *const name[] = {[L_LINK] = "link",
                                       [L_NETWORK] = "network",
                                       [L_TRANSPORT] = "transport",
                                       [L_APPLICATION] = "application"};
    for (int layer = L_APPLICATION; layer >= L_LINK; layer--) {
        /* the gate hint says what the step does ("→ layer 3 network"), not "an update of
         * layer"; the number first, so that a short task row still says which layer
         * ("→ layer 5…", as the objects panel's "layer = 5"), not "→ explain the…"; no
         * colon, which the task row kept before its ellipsis ("→ layer 5:…") */
        instr_gate_label(EV_VAR, S->stack->id, "layer %d %s", layer, name[layer]);
        S->stack->value = layer;
        instr_op(S->stack, EV_VAR, layer, 0, 0);
    }
}

static int client_body(void)
{
    static char resp[8192];
    struct net_sock s;
    if (!net_wait_flag(&S->port, "until the server listens") ||
        !net_wait_flag(&S->capture_ready, "until the capture starts") ||
        net_socket(&s, "client", SOCK_STREAM) < 0)
        return 1;
    setsockopt(s.fd, IPPROTO_IP, IP_TTL, &(int){(int)S->ttl}, sizeof(int));
    if (net_connect(&s, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    atomic_store(&S->cport, s.lport);
    static const char req[] = "GET /index.html HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                              "User-Agent: ipcscope\r\n\r\n";
    if (net_send(&s, req, sizeof(req) - 1) < 0)
        return 1;
    ssize_t n = net_recv_until(&s, resp, sizeof(resp), NULL); /* until the server's FIN */
    if (n > 0)
        judge(resp, n);
    read_tcp_info(s.fd);
    read_link_facts(s.fd);
    net_close(&s);
    return 0;
}

static int client(void *arg)
{
    (void)arg;
    int rc = client_body();
    atomic_store(&S->client_closed, 1); /* the capture may finish once lo is quiet */
    if (rc != 0)
        return rc;
    if (S->capture_fd >= 0)
        net_wait_flag(&S->capture_done, "until the capture ends");
    explain_layers();
    return 0;
}

/* ---- setup ---- */

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->body_bytes = scn_param(ctx, "body_bytes");
    S->ttl = scn_param(ctx, "ttl");
    S->stack = instr_obj_new("layer", OK_SHM, 0, 0);
    if (!S->stack) {
        snprintf(err, n, "layers: no object slot left");
        return -ENOMEM;
    }
    int rc = net_capture_start((int)scn_param(ctx, "capture"), &S->capture_fd, &S->capture_errno,
                               &S->capture_ready, capture, err, n);
    if (rc == 0)
        rc = ipc_start("server", server, NULL, err, n);
    if (rc == 0)
        rc = ipc_start("client", client, NULL, err, n);
    return rc;
}

/* ---- what each layer showed ---- */

/* The first segment carrying the request (payload from the client), or NULL. */
static const struct net_seg *request_seg(void)
{
    for (int i = 0; i < S->nsegs; i++)
        if (S->segs[i].payload_len && S->segs[i].dport == atomic_load(&S->port))
            return &S->segs[i];
    return NULL;
}

static const struct net_seg *seg_with(uint8_t flags)
{
    for (int i = 0; i < S->nsegs; i++)
        if (S->segs[i].flags == flags)
            return &S->segs[i];
    return NULL;
}

static int captured(void)
{
    return S->capture_errno == 0 && S->nsegs > 0;
}

static const char *capture_word(void)
{
    int e = S->capture_errno;
    return !e             ? "on"
           : e == EPERM   ? "off: needs CAP_NET_RAW (run as root)"
           : e == ENOTSUP ? "off: capture=0"
                          : strerrorname_np(e);
}

static json_t *seg_json(const struct net_seg *g)
{
    char fl[32];
    return json_pack("{s:s, s:i, s:i, s:I, s:I, s:i, s:i, s:i}", "flags",
                     net_tcp_flags(g->flags, fl, sizeof(fl)), "sport", g->sport, "dport", g->dport,
                     "seq", (json_int_t)g->seq, "ack", (json_int_t)g->ack, "len", g->payload_len,
                     "ttl", g->ttl, "ip_len", g->ip_len);
}

static json_t *layer_app(void)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:i, s:b, s:b}", "protocol", "HTTP/1.0", "request_line",
                     S->request_line, "request_bytes", S->request_bytes, "status_line",
                     S->status_line, "response_bytes", S->response_bytes, "status_200",
                     atomic_load(&S->got_200), "body_intact", atomic_load(&S->body_ok));
}

static json_t *layer_transport(void)
{
    json_t *t = json_pack("{s:s, s:s, s:i, s:i}", "protocol", "TCP", "source",
                          captured() ? "capture" : "tcp_info", "client_port",
                          atomic_load(&S->cport), "server_port", atomic_load(&S->port));
    json_t *segs = json_array();
    for (int i = 0; i < S->nsegs; i++)
        json_array_append_new(segs, seg_json(&S->segs[i]));
    json_object_set_new(t, "segments", segs);
    const struct ly_tcpinfo *ti = &S->ti;
    json_object_set_new(t, "tcp_info",
                        json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I}", "state",
                                  net_state_name((int)ti->state), "snd_mss", ti->snd_mss, "rcv_mss",
                                  ti->rcv_mss, "rtt_us", ti->rtt_us, "segs_out", ti->segs_out,
                                  "segs_in", ti->segs_in, "retrans", ti->retrans, "bytes_acked",
                                  (json_int_t)ti->bytes_acked, "bytes_received",
                                  (json_int_t)ti->bytes_received));
    return t;
}

static void ip_text(uint32_t a, char *out, size_t n)
{
    snprintf(out, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* How the request's packet adds up: IP header + TCP header + payload = IP total length. */
static json_t *sizes_json(const struct net_seg *g)
{
    char sum[64];
    snprintf(sum, sizeof(sum), "%d + %d + %d = %d", g->ihl, g->thl, g->payload_len, g->ip_len);
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "ip_header", g->ihl, "tcp_header",
                     g->thl, "tcp_options", g->thl - 20, "payload", g->payload_len, "ip_total",
                     g->ip_len, "frame", 14 + g->ip_len, "sum", sum);
}

static json_t *layer_network(void)
{
    const struct net_seg *g = request_seg();
    char src[16], dst[16];
    ip_text(g ? g->saddr : S->laddr, src, sizeof(src));
    ip_text(g ? g->daddr : S->raddr, dst, sizeof(dst));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "protocol", "IPv4", "src", src, "dst", dst,
                          "source", g ? "capture" : "socket addresses");
    json_object_set_new(j, "ttl", json_integer(g ? g->ttl : S->sent_ttl));
    json_object_set_new(j, "total_length", g ? json_integer(g->ip_len) : json_null());
    json_object_set_new(j, "header_bytes", json_integer(g ? g->ihl : 20));
    json_object_set_new(j, "request_packet", g ? sizes_json(g) : json_null());
    return j;
}

static void mac_text(const uint8_t *m, char *out, size_t n)
{
    snprintf(out, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static json_t *layer_link(void)
{
    const struct net_seg *g = request_seg();
    static const uint8_t zero[6];
    char src[18], dst[18];
    mac_text(g ? g->eth_src : zero, src, sizeof(src));
    mac_text(g ? g->eth_dst : zero, dst, sizeof(dst));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "interface", "lo", "ethertype",
                          "0x0800", "src_mac", src, "dst_mac", dst, "header_bytes", 14, "mtu",
                          S->mtu, "source", g ? "capture" : "lo's fixed header");
    json_object_set_new(j, "frame_bytes", g ? json_integer(14 + g->ip_len) : json_null());
    return j;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *l = json_object();
    json_object_set_new(l, "application", layer_app());
    json_object_set_new(l, "transport", layer_transport());
    json_object_set_new(l, "network", layer_network());
    json_object_set_new(l, "link", layer_link());
    json_object_set_new(out, "layers", l);
    json_object_set_new(out, "capture", json_string(capture_word()));
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    if (scn_workers_ended_well(m, why, n) < 0)
        return -1;
    if (!atomic_load(&S->got_200) || !atomic_load(&S->body_ok)) {
        snprintf(why, n, "the response was not 200 with the body intact (%s)", S->status_line);
        return -1;
    }
    if (S->capture_errno)
        return 0;
    const struct net_seg *syn = seg_with(0x02), *synack = seg_with(0x12);
    if (!syn || !synack || synack->ack != syn->seq + 1 || syn->dport != atomic_load(&S->port)) {
        snprintf(why, n, "the capture did not show SYN, SYN|ACK (ack = x+1) to the server port");
        return -1;
    }
    const struct net_seg *g = request_seg();
    if (!g || g->ihl + g->thl + g->payload_len != g->ip_len || g->payload_len != S->request_bytes) {
        snprintf(why, n,
                 "the request's packet does not add up: IP header + TCP header + %d-byte "
                 "request != IP total length",
                 S->request_bytes);
        return -1;
    }
    return 0;
}

/* ---- narration ---- */

static int say_application(int zh, char *buf, size_t n)
{
    return snprintf(buf, n,
                    zh ? "应用层(HTTP):客户端发送 %d 字节的请求,第一行是 \"%s\";服务端回答 %d "
                         "字节,状态行 \"%s\"。这些字节就是程序交给 send() 的全部内容,下面各层"
                         "只负责把它们送到。"
                       : "Application layer (HTTP): the client sent %d bytes, request line "
                         "\"%s\"; the server answered %d bytes, status line \"%s\". These bytes "
                         "are all the program gave send(); the layers below only deliver them.",
                    S->request_bytes, S->request_line, S->response_bytes, S->status_line);
}

static int say_transport(int zh, char *buf, size_t n)
{
    const struct net_seg *syn = seg_with(0x02), *synack = seg_with(0x12);
    if (captured() && syn && synack)
        return snprintf(
            buf, n,
            zh ? "传输层(TCP):端口 %u → %u。抓包看到三次握手:SYN seq=%u,SYN|ACK seq=%u "
                 "ack=%u(=x+1),然后 ACK;共 %d 个报文段,每个都带序号和确认号。"
               : "Transport layer (TCP): ports %u → %u. The capture shows the handshake: SYN "
                 "seq=%u, SYN|ACK seq=%u ack=%u (= x+1), then ACK; %d segments in all, each "
                 "with its sequence and acknowledgement numbers.",
            syn->sport, syn->dport, syn->seq, synack->seq, synack->ack, S->nsegs);
    return snprintf(buf, n,
                    zh ? "传输层(TCP):端口 %d → %d。没有抓包(%s),所以看内核的 TCP_INFO:发出 "
                         "%u 个报文段,收到 %u 个,对方确认了 %llu 字节,MSS %u。"
                       : "Transport layer (TCP): ports %d → %d. Capture is %s, so the kernel's "
                         "TCP_INFO tells: %u segments out, %u in, %llu bytes acknowledged, MSS "
                         "%u.",
                    atomic_load(&S->cport), atomic_load(&S->port), capture_word(), S->ti.segs_out,
                    S->ti.segs_in, (unsigned long long)S->ti.bytes_acked, S->ti.snd_mss);
}

static int say_network(int zh, char *buf, size_t n)
{
    const struct net_seg *g = request_seg();
    if (g)
        return snprintf(buf, n,
                        zh ? "网络层(IP):源地址 127.0.0.1,目的地址 127.0.0.1,TTL %d。请求所在的包"
                             "总长 %d 字节 = %d 字节 IP 头 + %d 字节 TCP 头(20 字节固定部分 + %d "
                             "字节选项)+ %d 字节请求:%d + %d + %d = %d。IP 只管把包送到那台主机。"
                           : "Network layer (IP): source 127.0.0.1, destination 127.0.0.1, TTL "
                             "%d. The request's packet is %d bytes long = a %d-byte IP header + a "
                             "%d-byte TCP header (20 fixed + %d of options) + the %d-byte request: "
                             "%d + %d + %d = %d. IP only gets the packet to the right host.",
                        g->ttl, g->ip_len, g->ihl, g->thl, g->thl - 20, g->payload_len, g->ihl,
                        g->thl, g->payload_len, g->ip_len);
    return snprintf(buf, n,
                    zh ? "网络层(IP):源和目的都是 127.0.0.1(回环地址,数据不离开本机),TTL %d。"
                         "没有抓包时看不到每个包的总长度。"
                       : "Network layer (IP): source and destination are both 127.0.0.1 "
                         "(loopback: nothing leaves the machine), TTL %d. Without a capture the "
                         "total length of each packet is not visible.",
                    S->sent_ttl);
}

static int say_link(int zh, char *buf, size_t n)
{
    const struct net_seg *g = request_seg();
    char frame[96] = "";
    if (g)
        snprintf(frame, sizeof(frame),
                 zh ? "请求的帧是 14 + %d = %d 字节。"
                    : " The request's frame: 14 + %d = %d bytes.",
                 g->ip_len, 14 + g->ip_len);
    return snprintf(buf, n,
                    zh ? "链路层:接口 lo,MTU %d。内核在 lo 上也构造 14 字节的以太网头:目的和源 "
                         "MAC 都是 00:00:00:00:00:00,类型 0x0800(IPv4)。%slo 没有物理层:帧直接"
                         "交回本机的接收路径。"
                       : "Link layer: interface lo, MTU %d. Even on lo the kernel builds a "
                         "14-byte Ethernet header: destination and source MAC "
                         "00:00:00:00:00:00, EtherType 0x0800 (IPv4).%s lo has no physical "
                         "layer: the frame goes straight back into this machine's receive path.",
                    S->mtu, frame);
}

/* The lesson in one line for the pin (ctx->pin holds ~250 bytes): how the request was
 * wrapped, layer by layer, with this connection's sizes. */
static void pin_encapsulation(struct scn_ctx *ctx)
{
    int zh = ctx->lang == LANG_ZH;
    const struct net_seg *g = request_seg();
    if (g)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "一个请求,层层封装:HTTP %d 字节 → TCP 报文段 %d + %d = %d → IP 包 %d + %d = "
                      "%d → lo 上的以太网帧 14 + %d = %d 字节。"
                    : "One request, wrapped layer by layer: HTTP %d bytes → TCP segment %d + %d = "
                      "%d → IP packet %d + %d = %d → Ethernet frame on lo 14 + %d = %d bytes.",
                 g->payload_len, g->thl, g->payload_len, g->thl + g->payload_len, g->ihl,
                 g->thl + g->payload_len, g->ip_len, g->ip_len, 14 + g->ip_len);
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "一个请求,层层封装:HTTP %d 字节,放进 TCP(端口 %d → %d),再放进 IP(127.0.0.1 "
                      "→ 127.0.0.1,TTL %d),经 lo 送达。没有抓包(%s),看不到各层头部的大小。"
                    : "One request, wrapped layer by layer: %d bytes of HTTP in TCP (port %d → %d) "
                      "in IP (127.0.0.1 → 127.0.0.1, TTL %d) over lo. Capture is %s, so the "
                      "header sizes are not seen.",
                 S->request_bytes, atomic_load(&S->cport), atomic_load(&S->port), S->sent_ttl,
                 capture_word());
}

/* Called at every turn of the conductor: once the client starts down the stack (it sets the
 * layer object in that step), pin the lesson. Never ends the run. */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    if (!S->pinned && S->stack && S->stack->value >= L_LINK) {
        pin_encapsulation(ctx);
        S->pinned = 1;
    }
    return 0;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_TASK_EXIT) {
        /* a worker's end is not this lesson: the client exits in the step that explains the
         * link layer, and "client exited ..." would push that paragraph out of the panel */
        buf[0] = '\0';
        return 1;
    }
    if (e->kind == EV_VAR && S && S->stack && e->obj == S->stack->id) {
        switch (e->val) {
        case L_APPLICATION:
            return say_application(zh, buf, n) > 0;
        case L_TRANSPORT:
            return say_transport(zh, buf, n) > 0;
        case L_NETWORK:
            return say_network(zh, buf, n) > 0;
        default:
            return say_link(zh, buf, n) > 0;
        }
    }
    return net_narrate(m, e, lang, buf, n);
}

const struct scenario scenario_layers = {
    .id = "layers",
    .chapter = 1,
    .title_en = "The five layers of one HTTP request",
    .title_zh = "一次 HTTP 请求中的五层模型",
    .summary_en = "A client fetches one page from a server on 127.0.0.1, then the run walks "
                  "down the stack with the numbers of that very connection: the HTTP bytes "
                  "(application), ports, seq/ack and flags (TCP), addresses, TTL and length "
                  "(IP), and the Ethernet header the kernel builds even on lo (link). With "
                  "CAP_NET_RAW the frames are captured on lo; without it TCP_INFO stands in.",
    .summary_zh = "客户端从 127.0.0.1 上的服务端取一个页面,然后用这条连接的真实数据逐层向下讲解:"
                  "HTTP 字节(应用层),端口、seq/ack 和标志位(TCP 传输层),地址、TTL 和长度(IP "
                  "网络层),以及内核在 lo 上也会构造的以太网头(链路层)。有 CAP_NET_RAW 时在 lo "
                  "上抓包;没有时用 TCP_INFO 代替。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .shared_size = sizeof(struct ly_shared),
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
