/*
 * ch3_4_net.c - the lessons of chapters 3 and 4 (UDP, I/O multiplexing): udp-echo,
 * reuseaddr, udp-broadcast, select-server, poll-server, epoll-server, epoll-et-lt.
 *
 * Listings follow src/scenarios/udp_echo.c, reuseaddr.c, udp_broadcast.c, mux_servers.c and
 * epoll_et_lt.c with the socket helpers of src/instr_net.c; questions ask what the kernel
 * does: a datagram socket's state, who binds a port in TIME-WAIT, how many receivers one
 * broadcast reaches, whether select/poll/epoll_wait returns at once, what edge triggering
 * reports.
 */
#include "../lesson.h"
#include "../run.h"

#include <limits.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define ECHO_CLIENT_LATE_N 10
extern const struct lesson_line lesson_echo_client_late[ECHO_CLIENT_LATE_N];

/* ---- udp-echo ---- */

static const struct lesson_line ue_server[] = {
    LA("s = socket(AF_INET, SOCK_DGRAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "server-udp"),
    LFOR("while (served < target) {"),
    LA("    n = recvfrom(s, buf, 512, &from);", EV_SOCK_RECV, "server-udp"),
    LA("    sendto(s, buf, n, from);  /* echo */", EV_SOCK_SEND, "server-udp"),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "server-udp"),
};

static const struct lesson_line ue_client[] = {
    LA("s = socket(AF_INET, SOCK_DGRAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "*-udp"),
    LFOR("for (i = 0; i < messages; i++) {"),
    LA("    sendto(s, line, len, server);", EV_SOCK_SEND, "*-udp"),
    LA("    recvfrom(s, back, 128, NULL);", EV_SOCK_RECV, "*-udp"),
    LO("    sleep(gap_ms);", EV_SLEEP, NULL),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "*-udp"),
};

static const struct lesson_role ue_roles[] = {
    {"server", "C", ue_server, COUNT(ue_server)},
    {"client", "C", ue_client, COUNT(ue_client)},
    {"extra", "C", ue_client, COUNT(ue_client)},
};

static int datagram_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    return lesson_ranges_none_some_all(
        scn_param(&c->r->ctx, "clients") * scn_param(&c->r->ctx, "messages"), out);
}

static const struct lesson_q ue_qs[] = {
    {.id = "recvfrom-blocks",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_RECV,
     .q_en = "{task} calls recvfrom(). No client has sent a datagram yet. Will it wait?",
     .q_zh = "{task} 调用 recvfrom()。还没有客户端发送数据报。它会等待吗？",
     .why_en = {"No datagram in the receive queue: recvfrom() sleeps until one arrives. There "
                "is no accept(): any client may send to this socket.",
                "A datagram was already queued, so recvfrom() returned it at once."},
     .why_zh = {"接收队列里没有数据报：recvfrom() 睡眠，直到有一个到达。没有 "
                "accept()：任何客户端都能发给这个套接字。",
                "已经有数据报在队列里，recvfrom() 立刻返回了它。"}},
    {.id = "no-connection",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_SEND,
     .choices = "ESTAB,UNCONN,SYN-SENT",
     .q_en = "{task} calls sendto() to the server. What does ss show for {obj} right after?",
     .q_zh = "{task} 调用 sendto() 发给服务端。紧接着 ss 显示 {obj} 处于什么状态？",
     .why_en = {"{answer}: UDP has no connection and no handshake; each sendto() names its "
                "destination, so the socket stays unconnected.",
                NULL},
     .why_zh = {"{answer}：UDP 没有连接，也没有握手；每次 sendto() "
                "都写明目的地址，套接字一直是未连接的。",
                NULL}},
    {.id = "boundaries",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "client",
     .ev = EV_SOCK_RECV,
     .target = "boundaries_kept",
     .ranges = datagram_ranges,
     .q_en = "Each client sends its lines as datagrams and reads the echoes. How many echoes "
             "will come back as exactly one whole datagram each?",
     .q_zh = "每个客户端把每行作为一个数据报发出并读取回显。会有多少个回显恰好是一个完整的数据报？",
     .why_en = {"{answer}: UDP keeps message boundaries: one sendto(), one recvfrom(), never "
                "merged or split as a TCP byte stream may be.",
                NULL},
     .why_zh = {"{answer}：UDP 保留消息边界：一次 sendto() 对应一次 recvfrom()，不会像 TCP "
                "字节流那样被合并或拆分。",
                NULL}},
};

const struct lesson lesson_udp_echo = {"udp-echo", ue_roles, COUNT(ue_roles), ue_qs, COUNT(ue_qs)};

/* ---- reuseaddr ---- */

static const struct lesson_line ra_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LO("setsockopt(ls, SO_REUSEADDR, 1);", EV_NOTE, "listener"),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 1);", EV_SOCK_LISTEN, "listener"),
    LA("c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LA("recv(c, buf, 64);", EV_SOCK_RECV, "server-conn"),
    LA("close(c);    /* the server closes first */", EV_SOCK_CLOSE, "server-conn"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
    LO("sleep(..);   /* TIME-WAIT shows */", EV_SLEEP, NULL),
    LA("s = socket(..);   /* a restart, plain */", EV_OBJ_CREATE, NULL),
    LA("bind(s, port);    /* TIME-WAIT: ? */", EV_SOCK_BIND, "restart-plain"),
    LO("listen(s, 1);", EV_SOCK_LISTEN, "restart-plain"),
    LA("close(s);", EV_SOCK_CLOSE, "restart-plain"),
    LA("s = socket(..);  /* restart: REUSEADDR */", EV_OBJ_CREATE, NULL),
    LA("setsockopt(s, SO_REUSEADDR, 1);", EV_NOTE, "restart-reuse"),
    LA("bind(s, port);", EV_SOCK_BIND, "restart-reuse"),
    LO("listen(s, 1);", EV_SOCK_LISTEN, "restart-reuse"),
    LA("close(s);", EV_SOCK_CLOSE, "restart-reuse"),
};

static const struct lesson_line ra_client[] = {
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "client-conn"),
    LA("connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "client-conn"),
    LA("send(s, \"hello\\n\", 6);", EV_SOCK_SEND, "client-conn"),
    LAR("while (recv(s, buf, 64) > 0); /* FIN */", EV_SOCK_RECV, "client-conn"),
    LA("close(s);", EV_SOCK_CLOSE, "client-conn"),
};

static const struct lesson_role ra_roles[] = {
    {"server", "C", ra_server, COUNT(ra_server)},
    {"client", "C", ra_client, COUNT(ra_client)},
};

static const struct lesson_q ra_qs[] = {
    {.id = "who-time-waits",
     .kind = LQ_TIMEWAIT,
     .resolve = LR_UNTIL,
     .role = "server",
     .ev = EV_SOCK_CLOSE,
     .obj = "server-conn",
     .target = "client-conn,server-conn",
     .q_en = "The server closes its connection first. Which socket will end in TIME-WAIT?",
     .q_zh = "服务端先关闭它的连接。哪个套接字最后会处于 TIME-WAIT？",
     .why_en = {"{answer}: the side that closes first keeps TIME-WAIT, here the server, on its "
                "own port: that is what gets in the way of a restart.",
                "No socket showed TIME-WAIT."},
     .why_zh = {"{answer}：先关闭的一方保持 "
                "TIME-WAIT，这里是服务端，占着它自己的端口：这正是重启时的障碍。",
                "没有套接字出现 TIME-WAIT。"}},
    {.id = "plain-bind",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "server",
     .ev = EV_SOCK_BIND,
     .obj = "restart-plain",
     .target = "bind_without_reuseaddr",
     .choices = "ok,EADDRINUSE",
     .q_en = "The old connection is in TIME-WAIT on the port. A new socket without SO_REUSEADDR "
             "calls bind() on that port. What does bind() return?",
     .q_zh = "旧连接在这个端口上处于 TIME-WAIT。一个没设 SO_REUSEADDR 的新套接字对该端口调用 "
             "bind()。bind() 返回什么？",
     .why_en = {"{answer}: without SO_REUSEADDR the kernel refuses a local address that a "
                "TIME-WAIT socket still holds.",
                NULL},
     .why_zh = {"{answer}：没有 SO_REUSEADDR 时，内核拒绝绑定仍被 TIME-WAIT 套接字占用的本地地址。",
                NULL}},
    {.id = "reuse-bind",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "server",
     .ev = EV_SOCK_BIND,
     .obj = "restart-reuse",
     .target = "bind_with_reuseaddr",
     .choices = "ok,EADDRINUSE",
     .q_en = "Now the same, but the new socket set SO_REUSEADDR first. What does bind() return?",
     .q_zh = "同样的情况，但新套接字先设置了 SO_REUSEADDR。bind() 返回什么？",
     .why_en = {"{answer}: SO_REUSEADDR lets a listener bind an address whose old connection is "
                "only in TIME-WAIT (when the first server set it too).",
                NULL},
     .why_zh = {"{answer}：SO_REUSEADDR 允许监听套接字绑定旧连接只处于 TIME-WAIT "
                "的地址（当第一个服务端也设置了它时）。",
                NULL}},
    {.id = "client-close",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_CLOSE,
     .choices = "TIME-WAIT,CLOSE,FIN-WAIT-2",
     .q_en = "The server closed first. {task} now calls {call}. What does ss show for {obj} "
             "right after?",
     .q_zh = "服务端先关闭了。{task} 现在调用 {call}。紧接着 ss 显示 {obj} 处于什么状态？",
     .why_en = {"{answer}: the client closes second (the passive closer): after its FIN is "
                "acknowledged its socket is gone; TIME-WAIT stays with the server.",
                NULL},
     .why_zh = {"{answer}：客户端后关闭（被动关闭方）：它的 FIN 被确认后套接字就消失了；TIME-WAIT "
                "留在服务端。",
                NULL}},
};

const struct lesson lesson_reuseaddr = {"reuseaddr", ra_roles, COUNT(ra_roles), ra_qs,
                                        COUNT(ra_qs)};

/* ---- udp-broadcast ---- */

static const struct lesson_line ub_receiver[] = {
    LA("s = socket(AF_INET, SOCK_DGRAM, 0);", EV_OBJ_CREATE, NULL),
    LA("setsockopt(s, SO_REUSEADDR, 1);", EV_NOTE, "rx-*"),
    LA("bind(s, 127.255.255.255:port);", EV_SOCK_BIND, "rx-*"),
    LA("u = socket(AF_INET, SOCK_DGRAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(u, 127.0.0.1:0);  /* a fallback */", EV_SOCK_BIND, "rx-*-unicast"),
    LFOR("while (got < total) {"),
    LA("    recvfrom(s or u, buf, 128, NULL);", EV_SOCK_RECV, "rx-*"),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "rx-*"),
    LA("close(u);", EV_SOCK_CLOSE, "rx-*-unicast"),
};

static const struct lesson_line ub_sender[] = {
    {.text = "sleep(..);  /* until all are bound */", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LA("s = socket(AF_INET, SOCK_DGRAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "sender"),
    LA("sendto(s, .., 127.255.255.255:port);", EV_SOCK_SEND, "sender"),
    LA("setsockopt(s, SO_BROADCAST, 1);", EV_NOTE, "sender"),
    LFOR("for (k = 0; k < total; k++) {"),
    LA("    sendto(s, msg, len, 127.255.255.255);", EV_SOCK_SEND, "sender"),
    LO("    sleep(..);", EV_SLEEP, NULL),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "sender"),
};

static const struct lesson_role ub_roles[] = {
    {"receiver", "C", ub_receiver, COUNT(ub_receiver)},
    {"sender", "C", ub_sender, COUNT(ub_sender)},
};

static int receivers_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long n = scn_param(&c->r->ctx, "receivers");
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, 1};
    out[2] = (struct lesson_range){n, n};
    return n > 1 ? 3 : 2;
}

static const struct lesson_q ub_qs[] = {
    {.id = "shared-port",
     .kind = LQ_SOCK,
     .role = "receiver",
     .ev = EV_SOCK_BIND,
     .obj = "rx-2",
     .choices = "UNCONN,CLOSE",
     .q_en = "rx-1 is already bound to the broadcast address and port. rx-2 set SO_REUSEADDR and "
             "binds the same. What does ss show for rx-2 right after?",
     .q_zh = "rx-1 已经绑定了广播地址和端口。rx-2 设置了 SO_REUSEADDR，绑定同一个地址。紧接着 ss "
             "显示 rx-2 处于什么状态？",
     .why_en = {"{answer}: with SO_REUSEADDR several datagram sockets may bind the same address "
                "and port; each gets its own copy of a broadcast.",
                NULL},
     .why_zh =
         {"{answer}：有了 "
          "SO_REUSEADDR，多个数据报套接字可以绑定同一个地址和端口；每个都会收到广播的一份拷贝。",
          NULL}},
    {.id = "no-permission",
     .kind = LQ_KEY,
     .role = "sender",
     .ev = EV_SOCK_SEND,
     .target = "without_so_broadcast",
     .choices = "ok,EACCES",
     .q_en = "{task} sends to 127.255.255.255 before setting SO_BROADCAST. What does sendto() "
             "return?",
     .q_zh = "{task} 在设置 SO_BROADCAST 之前就向 127.255.255.255 发送。sendto() 返回什么？",
     .why_en = {"{answer}: the kernel refuses a broadcast from a socket that did not ask for it "
                "with SO_BROADCAST.",
                NULL},
     .why_zh = {"{answer}：套接字没有用 SO_BROADCAST 申请，内核就拒绝它发广播。", NULL}},
    {.id = "one-to-all",
     .kind = LQ_KEY,
     .role = "sender",
     .ev = EV_SOCK_SEND,
     .skip = 1,
     .target = "arrived", /* in the receivers' sockets: recvfrom() is a step of its own */
     .ranges = receivers_ranges,
     .q_en = "Now SO_BROADCAST is set. {task} makes ONE sendto() to 127.255.255.255. How many "
             "datagrams will have arrived at the receivers' sockets in all, once it has settled?",
     .q_zh = "现在设置了 SO_BROADCAST。{task} 只调用一次 sendto() 发往 "
             "127.255.255.255。稳定之后，接收者的套接字一共收到多少个数据报？",
     .why_en = {"{answer}: one broadcast datagram is delivered to every socket bound to that "
                "address and port: each receiver gets its own copy, which waits in its socket "
                "until it calls recvfrom().",
                NULL},
     .why_zh = {"{answer}：一个广播数据报会送到绑定该地址和端口的每个套接字：每个接收者都得到一份，"
                "在它调用 recvfrom() 之前一直留在它的套接字里。",
                NULL}},
};

const struct lesson lesson_udp_broadcast = {"udp-broadcast", ub_roles, COUNT(ub_roles), ub_qs,
                                            COUNT(ub_qs)};

/* ---- select-server, poll-server, epoll-server ---- */

/* What the three servers' listings share: the listener, and (select, poll) the echo of a
 * ready connection and the end. */
#define MX_LISTEN                                                                                  \
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),                              \
        LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),                                    \
        LA("listen(ls, 16);", EV_SOCK_LISTEN, "listener")
#define MX_ECHO_AND_CLOSE                                                                          \
    LO("        else if ((r = recv(fd, buf)) > 0)", EV_SOCK_RECV, "conn-*"),                       \
        LO("            send(fd, buf, r);  /* echo */", EV_SOCK_SEND, "conn-*"),                   \
        LO("        else close(fd);        /* EOF */", EV_SOCK_CLOSE, "conn-*"), LEND("    }"),    \
        LEND("}"), LA("close(ls);", EV_SOCK_CLOSE, "listener")

static const struct lesson_line mx_select[] = {
    MX_LISTEN,
    LFOR("for (;;) {"),
    LN("    FD_SET(ls and each c, &set);"),
    LA("    n = select(maxfd + 1, &set, 0, 0, 0);", EV_MUX_WAIT, "select-interest"),
    LFOR("    for (fd = 0; fd <= maxfd; fd++) {"),
    LN("        if (!FD_ISSET(fd, &set)) continue;"),
    LO("        if (fd == ls) c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    MX_ECHO_AND_CLOSE,
};

static const struct lesson_line mx_poll[] = {
    MX_LISTEN,
    LFOR("for (;;) {"),
    LN("    p = {ls, POLLIN}, {each c, POLLIN};"),
    LA("    n = poll(p, count, -1);", EV_MUX_WAIT, "poll-interest"),
    LFOR("    for (i = 0; i < count; i++) {"),
    LN("        if (!p[i].revents) continue;"),
    LO("        if (p[i].fd == ls) c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    MX_ECHO_AND_CLOSE,
};

static const struct lesson_line mx_epoll[] = {
    MX_LISTEN,
    LA("epoll_ctl(ep, ADD, ls, EPOLLIN);", EV_NOTE, NULL),
    LFOR("for (;;) {"),
    LA("    n = epoll_wait(ep, evs, 64, -1);", EV_MUX_WAIT, "epoll_wait-interest"),
    LFOR("    for (i = 0; i < n; i++) {"),
    LO("        if (fd == ls) c = accept(ls),", EV_SOCK_ACCEPT, "listener"),
    LO("            epoll_ctl(ep, ADD, c, EPOLLIN);", EV_NOTE, NULL),
    LO("        else if ((r = recv(fd, buf)) > 0)", EV_SOCK_RECV, "conn-*"),
    LO("            send(fd, buf, r);  /* echo */", EV_SOCK_SEND, "conn-*"),
    LO("        else epoll_ctl(ep, DEL, fd, 0),", EV_NOTE, NULL),
    LO("            close(fd);         /* EOF */", EV_SOCK_CLOSE, "conn-*"),
    LEND("    }"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
};

static const struct lesson_role mx_select_roles[] = {
    {"server", "C", mx_select, COUNT(mx_select)},
    {"client", "C", lesson_echo_client_late, ECHO_CLIENT_LATE_N},
};
static const struct lesson_role mx_poll_roles[] = {
    {"server", "C", mx_poll, COUNT(mx_poll)},
    {"client", "C", lesson_echo_client_late, ECHO_CLIENT_LATE_N},
};
static const struct lesson_role mx_epoll_roles[] = {
    {"server", "C", mx_epoll, COUNT(mx_epoll)},
    {"client", "C", lesson_echo_client_late, ECHO_CLIENT_LATE_N},
};

static int ready_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    (void)c;
    out[0] = (struct lesson_range){1, 1};
    out[1] = (struct lesson_range){2, 2};
    out[2] = (struct lesson_range){3, LONG_MAX};
    return 3;
}

/* The three servers ask the same questions about their own call. */
#define MX_QS(call)                                                                                                                    \
    {.id = "first-wait",                                                                                                               \
     .kind = LQ_BLOCKS,                                                                                                                \
     .role = "server",                                                                                                                 \
     .ev = EV_MUX_WAIT,                                                                                                                \
     .target =                                                                                                                         \
         call "-ready", /* what the call sleeps on (the action's object is the interest set) */                                        \
     .q_en = "{task} calls " call "() on its interest set (the listener only, so far). Will it "                                       \
             "wait?",                                                                                                                  \
     .q_zh = "{task} 对兴趣集合（目前只有监听套接字）调用 " call "()。它会等待吗？",                                                   \
     .why_en = {"Nothing in the set was ready: " call "() sleeps until a client connects or "                                          \
                "sends, one sleep for all the descriptors.",                                                                           \
                "Something in the set was already ready, so " call "() returned at once."},                                            \
     .why_zh = {"集合里没有就绪的：" call                                                                                              \
                "() 睡眠，直到有客户端连接或发送——所有描述符共用一次睡眠。",                                                           \
                "集合里已经有就绪的，" call "() 立刻返回。"}},                                                                         \
        {.id = "ready-recv",                                                                                                           \
         .kind = LQ_BLOCKS,                                                                                                            \
         .role = "server",                                                                                                             \
         .ev = EV_SOCK_RECV,                                                                                                           \
         .q_en = call "() reported {obj} readable. {task} calls recv() on it. Will recv() "                                            \
                      "wait?",                                                                                                         \
         .q_zh = call "() 报告 {obj} 可读。{task} 对它调用 recv()。recv() 会等待吗？",                                                 \
         .why_en = {"It waited, which readiness should have prevented.",                                                               \
                    "No: readable means recv() has something to return at once (bytes, or 0 "                                          \
                    "for a closed peer). That is how one process serves many clients without "                                         \
                    "ever sleeping in the wrong call."},                                                                               \
         .why_zh = {"它等待了，而就绪本应避免这种情况。",                                                                              \
                    "不会：可读意味着 recv() 能立刻返回（字节，或对方关闭时的 "                                \
                    "0）。这就是一个进程服务多个客户端、"                                                             \
                    "却从不在错误的调用里睡眠的方法。"}},                                                                              \
        {.id = "again-wait",                                                                                                           \
         .kind = LQ_BLOCKS,                                                                                                            \
         .role = "server",                                                                                                             \
         .ev = EV_MUX_WAIT,                                                                                                            \
         .target = call "-ready",                                                                                                      \
         .skip = 3,                                                                                                                    \
         .q_en = "{task} calls " call "() again. Will it return at once or wait?",                                                     \
         .q_zh = "{task} 再次调用 " call "()。它会立刻返回，还是等待？",                                                               \
         .why_en =                                                                                                                     \
             {"Every client was quiet: it waited.",                                                                                    \
              "A client had sent (or connected) meanwhile: its descriptor was ready and " call                                         \
              "() returned at once."},                                                                                                 \
         .why_zh = {"所有客户端都安静：它等待了。",                                                                                    \
                    "其间有客户端发送了数据（或连接）：它的描述符就绪，" call "() 立刻返回。"}},                                       \
    {                                                                                                                                  \
        .id = "max-ready", .kind = LQ_KEY, .resolve = LR_END, .role = "server", .ev = EV_MUX_WAIT,                                     \
        .target = "max_ready", .ranges = ready_ranges,                                                                                 \
        .q_en = "Over the whole run, at most how many descriptors will one " call "() call "                                           \
                "report ready at once?",                                                                                               \
        .q_zh = "整个运行过程中，一次 " call "() 调用最多会同时报告几个就绪的描述符？",                                                \
        .why_en = {"{answer}: the clients' messages came apart in time, so each call found one "                                       \
                   "descriptor ready and the loop served it; clients that send while the server "                                      \
                   "is busy are reported together by the next call.",                                                                  \
                   "{answer}: clients that sent meanwhile are all reported by the same call, "                                         \
                   "and served one after another in the loop."},                                                                       \
        .why_zh = {                                                                                                                    \
            "{answer}"                                                                                                                 \
            "：客户端的消息在时间上是分开的，所以每次调用只发现一个就绪的描述符，由循环处理；" \
            "服务器忙时发送的客户端会在下一次调用中一起被报告。",                                                                      \
            "{answer}：其间发送数据的客户端会在同一次调用中一起被报告，然后在循环里依次处理。"     \
        }                                                                                                                              \
    }

static const struct lesson_q mx_select_qs[] = {MX_QS("select")};
static const struct lesson_q mx_poll_qs[] = {MX_QS("poll")};
static const struct lesson_q mx_epoll_qs[] = {MX_QS("epoll_wait")};

const struct lesson lesson_select_server = {"select-server", mx_select_roles, 2, mx_select_qs,
                                            COUNT(mx_select_qs)};
const struct lesson lesson_poll_server = {"poll-server", mx_poll_roles, 2, mx_poll_qs,
                                          COUNT(mx_poll_qs)};
const struct lesson lesson_epoll_server = {"epoll-server", mx_epoll_roles, 2, mx_epoll_qs,
                                           COUNT(mx_epoll_qs)};

/* ---- epoll-et-lt ---- */

static const struct lesson_line el_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 2);", EV_SOCK_LISTEN, "listener"),
    LFOR("for (k = LT; k <= ET; k++) {"),
    LA("    c[k] = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LA("    epoll_ctl(ep, ADD, c[k], IN | ET?);", EV_NOTE, NULL),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
    LFOR("while (!client_done) {"),
    {.text = "    n = epoll_wait(ep, evs, 2, timeout);",
     .ev = EV_MUX_WAIT,
     .obj = "epoll-interest",
     .again = 1},
    LFOR("    for (i = 0; i < n; i++) {  /* a part */"),
    LO("        recv(lt, buf, read_size);", EV_SOCK_RECV, "lt-conn"),
    LO("        recv(et, buf, read_size);", EV_SOCK_RECV, "et-conn"),
    LEND("    }"),
    LEND("}"),
    LFOR("for (each c) {   /* drain what is left */"),
    {.text = "    while (recv(c, buf, 256) > 0);",
     .ev = EV_SOCK_RECV,
     .obj = "*-conn",
     .opt = 1,
     .again = 1},
    LO("    epoll_ctl(ep, DEL, c, 0);", EV_NOTE, NULL),
    LO("    close(c);", EV_SOCK_CLOSE, "*-conn"),
    LEND("}"),
};

static const struct lesson_line el_client[] = {
    LFOR("for (k = LT; k <= ET; k++) {"),
    LA("    s[k] = socket(AF_INET, SOCK_STREAM);", EV_OBJ_CREATE, NULL),
    LA("    bind(s[k], 127.0.0.1:0);", EV_SOCK_BIND, "*-client"),
    LA("    connect(s[k], 127.0.0.1:port);", EV_SOCK_CONNECT, "*-client"),
    LO("    sleep(..);", EV_SLEEP, NULL),
    LEND("}"),
    LFOR("for (round = 0; round < 2; round++) {"),
    LA("    send(s[LT], data, chunk);", EV_SOCK_SEND, "lt-client"),
    LA("    send(s[ET], data, chunk);", EV_SOCK_SEND, "et-client"),
    {.text = "    sleep(pause_ms);  /* the pause */", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LEND("}"),
    LA("close(s[LT]);", EV_SOCK_CLOSE, "lt-client"),
    LA("close(s[ET]);", EV_SOCK_CLOSE, "et-client"),
};

static const struct lesson_role el_roles[] = {
    {"server", "C", el_server, COUNT(el_server)},
    {"client", "C", el_client, COUNT(el_client)},
};

/* Both connections hold bytes the server has not read yet. */
static int when_both_unread(const struct lesson_ctx *c)
{
    int both = 0;
    for (size_t i = 0; i < c->m->nobjs; i++) {
        const struct model_obj *o = &c->m->objs[i];
        if (o->kind == OK_SOCKET && o->in_kernel && o->recv_q > 0 &&
            (lesson_name_matches("lt-conn", o->name) || lesson_name_matches("et-conn", o->name)))
            both++;
    }
    return both == 2;
}

/* Only the edge-triggered connection holds unread bytes (the level-triggered one is drained):
 * the moment edge-triggered epoll goes silent. */
static int when_only_et_unread(const struct lesson_ctx *c)
{
    int et = 0;
    for (size_t i = 0; i < c->m->nobjs; i++) {
        const struct model_obj *o = &c->m->objs[i];
        if (o->kind != OK_SOCKET || !o->in_kernel)
            continue;
        if (lesson_name_matches("lt-conn", o->name) && o->recv_q > 0)
            return 0;
        if (lesson_name_matches("et-conn", o->name) && o->recv_q > 0)
            et = 1;
    }
    return et;
}

static int unread_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long chunk = scn_param(&c->r->ctx, "chunk");
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, chunk > 1 ? chunk - 1 : 1};
    out[2] = (struct lesson_range){chunk > 1 ? chunk : 2, LONG_MAX};
    return 3;
}

static const struct lesson_q el_qs[] = {
    {.id = "who-is-reported",
     .kind = LQ_VALUE,
     .role = "server",
     .ev = EV_MUX_WAIT,
     .when = when_both_unread,
     .target = "epoll-ready",
     .choices = "=0,=1,=2",
     .q_en = "Both connections hold unread bytes: lt-conn is level-triggered, et-conn "
             "edge-triggered (EPOLLET). How many will epoll_wait() report ready?",
     .q_zh = "两个连接都有未读的字节：lt-conn 是水平触发，et-conn 是边缘触发（EPOLLET）。"
             "epoll_wait() 会报告几个就绪？",
     .why_en = {"{answer}: level-triggered reports lt-conn as long as bytes are unread; "
                "edge-triggered reports et-conn only when new bytes have arrived since it was "
                "last reported (an edge), not for what is merely left unread.",
                NULL},
     .why_zh = {"{answer}：水平触发只要 lt-conn "
                "还有未读字节就报告；边缘触发只在上次报告之后又有新字节到达"
                "（一个边沿）时才报告 et-conn，仅仅剩下未读的数据不算。",
                NULL}},
    {.id = "quiet-wait",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_MUX_WAIT,
     .when = when_only_et_unread,
     .target = "epoll-ready", /* what epoll_wait() sleeps on */
     .q_en = "lt-conn is drained, but et-conn (EPOLLET) still holds unread bytes and nothing new "
             "arrives. {task} calls epoll_wait() with a timeout. Will it return at once?",
     .q_zh = "lt-conn 已经读空，et-conn（EPOLLET）还有未读字节，也没有新数据到达。{task} "
             "带超时调用 epoll_wait()。它会立刻返回吗？",
     .why_en = {"No: edge-triggered reported et-conn once, when its bytes arrived; bytes merely "
                "left unread are no new edge, so it sleeps until its timeout (returns 0).",
                "It returned at once: new bytes had just arrived (a new edge) or lt-conn had "
                "data again."},
     .why_zh = {"不会：边缘触发只在字节到达时报告过 et-conn 一次；仅仅剩下未读的字节不是新的边沿，"
                "所以它一直睡到超时（返回 0）。",
                "它立刻返回了：刚好有新字节到达（新的边沿），或者 lt-conn 又有了数据。"}},
    {.id = "left-unread",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "server",
     .ev = EV_MUX_WAIT,
     .target = "et.unread_while_silent",
     .ranges = unread_ranges,
     .q_en = "The server reads only read_size bytes per wakeup. When epoll_wait() times out in "
             "silence, how many bytes will still be unread on the edge-triggered connection?",
     .q_zh = "服务端每次被唤醒只读 read_size 个字节。当 epoll_wait() "
             "在安静中超时时，边缘触发的连接上还会有多少字节没读？",
     .why_en = {"{answer}: after its one edge the ET connection is not reported again, so the "
                "rest of the chunk waits unread; an ET reader must read until EAGAIN.",
                NULL},
     .why_zh = {"{answer}：边缘触发的连接只在那一个边沿报告一次，数据块剩下的部分就一直没被读；ET "
                "读者必须读到 EAGAIN 为止。",
                NULL}},
};

const struct lesson lesson_epoll_et_lt = {"epoll-et-lt", el_roles, COUNT(el_roles), el_qs,
                                          COUNT(el_qs)};
