/*
 * ch1_2_net.c - the lessons of chapters 1 and 2 (network layers, TCP): layers, tcp-echo,
 * tcp-handshake, tcp-teardown, http.
 *
 * Listings follow the worker code in src/scenarios/ and the socket helpers in src/instr_net.c
 * (net_connect binds first, so a client's bind is a step of its own); questions ask what the
 * kernel does with the connection: its state after a call, who blocks, the accept queue,
 * which end waits in TIME-WAIT.
 */
#include "../lesson.h"
#include "../model.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- shared: the TCP echo client (src/instr_net.c net_echo_client) ---- */

const struct lesson_line lesson_echo_client[] = {
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);  /* a port */", EV_SOCK_BIND, "client-*"),
    LA("connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "client-*"),
    LFOR("for (i = 0; i < msgs; i++) {"),
    LA("    send(s, \"client-1-1\\n\");", EV_SOCK_SEND, "client-*"),
    LAR("    recv(s, back, len); /* echo */", EV_SOCK_RECV, "client-*"),
    LO("    sleep(gap_ms);", EV_SLEEP, NULL),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "client-*"),
};
const size_t lesson_echo_client_n = COUNT(lesson_echo_client);

/* The same, started after a delay (net_echo_client_run: the mux and socketserver clients). */
const struct lesson_line lesson_echo_client_late[] = {
    LO("sleep(stagger_ms * k);  /* its start */", EV_SLEEP, NULL),
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);  /* a port */", EV_SOCK_BIND, "client-*"),
    LA("connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "client-*"),
    LFOR("for (i = 0; i < msgs; i++) {"),
    LA("    send(s, \"client-1-1\\n\");", EV_SOCK_SEND, "client-*"),
    LAR("    recv(s, back, len); /* echo */", EV_SOCK_RECV, "client-*"),
    LO("    sleep(gap_ms);", EV_SLEEP, NULL),
    LEND("}"),
    LA("close(s);", EV_SOCK_CLOSE, "client-*"),
};
_Static_assert(COUNT(lesson_echo_client_late) == 10, "ch3_4_net.c counts on 10 lines");

/* The echo handler (net_echo_handle), then close: forking and threading servers' handlers. */
const struct lesson_line lesson_echo_handler[] = {
    LFOR("for (;;) {        /* handle(): echo */"),
    LAB("    n = recv(c, buf, 512); /* 0: EOF */", EV_SOCK_RECV, "conn-*"),
    LA("    send(c, buf, n);", EV_SOCK_SEND, "conn-*"),
    LEND("}"),
    LA("close(c);", EV_SOCK_CLOSE, "conn-*"),
};
_Static_assert(COUNT(lesson_echo_handler) == 5, "ch8_11.c counts on 5 lines");

/* ---- layers ---- */

static const struct lesson_line ly_client[] = {
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LN("setsockopt(s, IPPROTO_IP, IP_TTL, ttl);"),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "client"),
    LA("connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "client"),
    LA("send(s, \"GET /index.html HTTP/1.0..\");", EV_SOCK_SEND, "client"),
    LAR("while (recv(s, resp, n) > 0); /* EOF */", EV_SOCK_RECV, "client"),
    LA("close(s);", EV_SOCK_CLOSE, "client"),
    LFOR("for (l = APPLICATION; l >= LINK; l--) {"),
    LA("    explain(l);  /* a layer a step */", EV_VAR, "layer"),
    LEND("}"),
};

static const struct lesson_line ly_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "server-listen"),
    LA("listen(ls, 1);", EV_SOCK_LISTEN, "server-listen"),
    LA("c = accept(ls);", EV_SOCK_ACCEPT, "server-listen"),
    LAR("recv(c, req, ..); /* to \\r\\n\\r\\n */", EV_SOCK_RECV, "server-conn"),
    LA("send(c, \"HTTP/1.0 200 OK\\r\\n..\");", EV_SOCK_SEND, "server-conn"),
    LO("send(c, body, len);", EV_SOCK_SEND, "server-conn"),
    LA("close(c);   /* the end of the body */", EV_SOCK_CLOSE, "server-conn"),
    LA("close(ls);", EV_SOCK_CLOSE, "server-listen"),
};

static const struct lesson_role ly_roles[] = {
    {"client", "C", ly_client, COUNT(ly_client)},
    {"server", "C", ly_server, COUNT(ly_server)},
};

static const struct lesson_q ly_qs[] = {
    {.id = "connect-state",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_CONNECT,
     .choices = "SYN-SENT,ESTAB,CLOSE",
     .q_en = "{task} calls {call}: the kernel sends a SYN to the server. When connect() has "
             "returned, what does ss show for {obj}?",
     .q_zh = "{task} 调用 {call}：内核向服务端发出 SYN。connect() 返回之后，ss 显示 {obj} "
             "处于什么状态？",
     .why_en = {"{answer}: connect() returns once the three-way handshake (SYN, SYN+ACK, ACK) is "
                "done; the transport layer's connection is up before any HTTP byte is sent.",
                NULL},
     .why_zh = {"{answer}：三次握手（SYN、SYN+ACK、ACK）完成后 connect() 才返回；在发送任何 HTTP "
                "字节之前，传输层的连接已经建立。",
                NULL}},
    {.id = "accept-blocks",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_ACCEPT,
     .q_en = "{task} calls {call}. Will it wait?",
     .q_zh = "{task} 调用 {call}。它会等待吗？",
     .why_en = {"No connection was waiting in the accept queue, so accept() sleeps until a "
                "client's handshake completes.",
                "A client had already connected: its connection was in the accept queue, and "
                "accept() took it at once."},
     .why_zh = {"全连接队列里没有连接，accept() 睡眠，直到某个客户端完成握手。",
                "客户端已经连上：它的连接在全连接队列里，accept() 立刻取走了它。"}},
    {.id = "response-wait",
     .kind = LQ_BLOCKS,
     .role = "client",
     .ev = EV_SOCK_RECV,
     .q_en = "{task} has sent its GET request and calls {call}. Will it wait?",
     .q_zh = "{task} 已发出 GET 请求，现在调用 {call}。它会等待吗？",
     .why_en = {"The response had not arrived: recv() sleeps until the server's bytes come up "
                "the stack (link, IP, TCP) into the socket's receive queue.",
                "The server's bytes were already in the receive queue, so recv() returned them "
                "at once."},
     .why_zh =
         {"响应还没到：recv() 睡眠，直到服务端的字节经过链路层、IP、TCP 进入套接字的接收队列。",
          "服务端的字节已经在接收队列里，recv() 立刻返回。"}},
    {.id = "server-close",
     .kind = LQ_SOCK,
     .role = "server",
     .ev = EV_SOCK_CLOSE,
     .obj = "server-conn",
     .target = "client",
     .choices = "ESTAB,CLOSE-WAIT,TIME-WAIT",
     .q_en = "HTTP/1.0: the server closes its connection to end the body. What does ss show for "
             "the client's socket right after?",
     .q_zh = "HTTP/1.0：服务端关闭连接来表示正文结束。紧接着 ss 显示客户端套接字处于什么状态？",
     .why_en = {"{answer}: the server's FIN reached the client's kernel, which acknowledged it; "
                "until the client calls close() itself its socket stays in CLOSE-WAIT.",
                NULL},
     .why_zh = {"{answer}：服务端的 FIN 到达客户端内核并被确认；在客户端自己调用 close() 之前，"
                "它的套接字停在 CLOSE-WAIT。",
                NULL}},
};

const struct lesson lesson_layers = {"layers", ly_roles, COUNT(ly_roles), ly_qs, COUNT(ly_qs)};

/* ---- tcp-echo ---- */

static const struct lesson_line te_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 5);", EV_SOCK_LISTEN, "listener"),
    LFOR("while (served < clients) {"),
    LA("    c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LFOR("    for (;;) {          /* echo */"),
    LAB("        n = recv(c, buf, 512); /* 0: EOF */", EV_SOCK_RECV, "conn-*"),
    LA("        send(c, buf, n);", EV_SOCK_SEND, "conn-*"),
    LEND("    }"),
    LA("    close(c);", EV_SOCK_CLOSE, "conn-*"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
};

extern const struct lesson_line lesson_echo_client[];
extern const size_t lesson_echo_client_n;

static const struct lesson_role te_roles[] = {
    {"server", "C", te_server, COUNT(te_server)},
    {"client", "C", lesson_echo_client, COUNT(lesson_echo_client)},
};

static const struct lesson_q te_qs[] = {
    {.id = "accept-blocks",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_ACCEPT,
     .q_en = "{task} calls {call}. Will it wait?",
     .q_zh = "{task} 调用 {call}。它会等待吗？",
     .why_en = {"No client had connected yet: the accept queue was empty, so accept() sleeps "
                "until a handshake completes.",
                "A client had already connected, so its connection was waiting in the accept "
                "queue and accept() returned it at once."},
     .why_zh = {"还没有客户端连上：全连接队列是空的，accept() 睡眠，直到有握手完成。",
                "客户端已经连上，它的连接在全连接队列里等着，accept() 立刻返回了它。"}},
    {.id = "recv-blocks",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_RECV,
     .q_en = "{task} calls {call} on the new connection. Will it wait?",
     .q_zh = "{task} 对新连接调用 {call}。它会等待吗？",
     .why_en = {"Nothing had arrived on {obj} yet: recv() sleeps until the client's line comes in.",
                "The client's line was already in the receive queue: recv() returned it at once."},
     .why_zh = {"{obj} 上还什么都没收到：recv() 睡眠，直到客户端的一行到达。",
                "客户端的一行已经在接收队列里：recv() 立刻返回了它。"}},
    {.id = "client-close",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_CLOSE,
     .choices = "FIN-WAIT-2,TIME-WAIT,CLOSE-WAIT,CLOSE",
     .q_en = "{task} has its echoes and calls {call}; the server has not closed its end. What "
             "does ss show for {obj} right after?",
     .q_zh = "{task} 收到了全部回显，调用 {call}；服务端还没关闭它那一端。紧接着 ss 显示 {obj} "
             "处于什么状态？",
     .why_en = {"{answer}: the client sent its FIN and the server's kernel acknowledged it; the "
                "client now waits for the server's own FIN.",
                NULL},
     .why_zh = {"{answer}：客户端发出 FIN，服务端内核确认了它；客户端现在等待服务端自己的 FIN。",
                NULL}},
    {.id = "time-wait",
     .kind = LQ_TIMEWAIT,
     .resolve = LR_UNTIL,
     .role = "server",
     .ev = EV_SOCK_CLOSE,
     .obj = "conn-*",
     .target = "client-*,conn-*",
     .q_en = "The server is about to close its end too. Which socket will wait in TIME-WAIT?",
     .q_zh = "服务端也要关闭它那一端了。哪个套接字会停在 TIME-WAIT？",
     .why_en = {"{answer}: TIME-WAIT is kept by the side that closed first (the active closer), "
                "so a late segment of this connection cannot be taken for a new one.",
                "No socket showed TIME-WAIT."},
     .why_zh = {"{answer}：TIME-WAIT "
                "由先关闭的一方（主动关闭方）保持，免得这条连接迟到的报文被当成新连接的。",
                "没有套接字出现 TIME-WAIT。"}},
};

const struct lesson lesson_tcp_echo = {"tcp-echo", te_roles, COUNT(te_roles), te_qs, COUNT(te_qs)};

/* ---- tcp-handshake ---- */

static const struct lesson_line th_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, backlog);", EV_SOCK_LISTEN, "listener"),
    LO("sleep(accept_delay_ms); /* clients come */", EV_SLEEP, NULL),
    LFOR("for (n = 0; n < clients; n++) {"),
    LA("    c[n] = accept(ls); /* from the queue */", EV_SOCK_ACCEPT, "listener"),
    LEND("}"),
    LFOR("for (i = 0; i < n; i++) {"),
    LA("    close(c[i]);", EV_SOCK_CLOSE, "conn-*"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
};

static const struct lesson_line th_client[] = {
    LO("sleep(20 * k);   /* one after another */", EV_SLEEP, NULL),
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "client-*"),
    LA("connect(s, port); /* SYN, SYN+ACK, ACK */", EV_SOCK_CONNECT, "client-*"),
    LAR("while (recv(s, buf, 16) > 0); /* EOF */", EV_SOCK_RECV, "client-*"),
    LA("close(s);", EV_SOCK_CLOSE, "client-*"),
};

static const struct lesson_role th_roles[] = {
    {"server", "C", th_server, COUNT(th_server)},
    {"client", "C", th_client, COUNT(th_client)},
};

static const struct lesson_q th_qs[] = {
    {.id = "connected-before-accept",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_CONNECT,
     .choices = "SYN-SENT,ESTAB,CLOSE",
     .q_en = "The server has not called accept() yet. {task} calls {call}. Once it returns, "
             "what does ss show for {obj}?",
     .q_zh =
         "服务端还没有调用 accept()。{task} 调用 {call}。返回之后，ss 显示 {obj} 处于什么状态？",
     .why_en = {"{answer}: the kernel completes the handshake by itself; accept() only takes an "
                "established connection out of the queue later.",
                NULL},
     .why_zh = {"{answer}：握手由内核自己完成；accept() 只是之后从队列里取走一个已建立的连接。",
                NULL}},
    {.id = "queue-grows",
     .kind = LQ_VALUE,
     .role = "client",
     .ev = EV_SOCK_CONNECT,
     .target = "listener",
     .field = "accept_queue",
     .choices = "0,1,2",
     .q_en = "{value} connection(s) wait in the listener's accept queue. {task} calls {call}. "
             "How many wait after it?",
     .q_zh = "监听套接字的全连接队列里有 {value} 个连接在等。{task} 调用 {call}。之后有几个在等？",
     .why_en = {"{answer}: each completed handshake adds one established connection to the "
                "accept queue (ss shows it as the listener's Recv-Q), up to about the backlog.",
                NULL},
     .why_zh = {"{answer}：每完成一次握手，全连接队列就多一个已建立的连接（ss 中监听套接字的 "
                "Recv-Q），最多约为 backlog。",
                NULL}},
    {.id = "queue-shrinks",
     .kind = LQ_VALUE,
     .role = "server",
     .ev = EV_SOCK_ACCEPT,
     .target = "listener",
     .field = "accept_queue",
     .choices = "-1,0,1",
     .q_en = "{value} connection(s) wait in the accept queue. {task} calls {call}. How many "
             "wait after it?",
     .q_zh = "全连接队列里有 {value} 个连接在等。{task} 调用 {call}。之后有几个在等？",
     .why_en = {"{answer}: accept() takes the oldest connection out of the queue and gives it a "
                "socket of its own.",
                NULL},
     .why_zh = {"{answer}：accept() 从队列里取出最早的连接，并给它一个自己的套接字。", NULL}},
    {.id = "peer-closed",
     .kind = LQ_SOCK,
     .role = "server",
     .ev = EV_SOCK_CLOSE,
     .obj = "conn-1",
     .target = "client-1-sock",
     .choices = "ESTAB,CLOSE-WAIT,TIME-WAIT",
     .q_en = "The server closes conn-1, its end of client-1's connection. What does ss show "
             "for client-1-sock right after?",
     .q_zh = "服务端关闭 conn-1，也就是它与 client-1 连接的这一端。紧接着 ss 显示 client-1-sock "
             "处于什么状态？",
     .why_en = {"{answer}: the server's FIN arrived; client-1 reads end-of-file and stays in "
                "CLOSE-WAIT until it calls close() itself.",
                NULL},
     .why_zh = {"{answer}：服务端的 FIN 到了；client-1 读到文件结束，在自己调用 close() 之前停在 "
                "CLOSE-WAIT。",
                NULL}},
};

const struct lesson lesson_tcp_handshake = {"tcp-handshake", th_roles, COUNT(th_roles), th_qs,
                                            COUNT(th_qs)};

/* ---- tcp-teardown ---- */

#define TD_ENDPOINT(side, conn)                                                                    \
    LA("send(s, \"hello from " side "\\n\");", EV_SOCK_SEND, conn),                                \
        LAR("recv(s, hello, 18);   /* the peer's */", EV_SOCK_RECV, conn),                         \
        LN("if (closer == me) {    /* active close */"),                                           \
        LO("    if (half_close) shutdown(s, SHUT_WR);", EV_SOCK_SHUTDOWN, conn),                   \
        {.text = "    while (half_close && recv(..) > 0);",                                        \
         .ev = EV_SOCK_RECV,                                                                       \
         .obj = conn,                                                                              \
         .opt = 1,                                                                                 \
         .again = 1},                                                                              \
        LO("    close(s);            /* FIN */", EV_SOCK_CLOSE, conn),                             \
        LO("    look(s);  /* after the peer's FIN */", EV_TCP_STATE, conn),                        \
        LN("} else {                /* passive close */"),                                         \
        {.text = "    while (recv(s, buf) > 0); /* EOF */",                                        \
         .ev = EV_SOCK_RECV,                                                                       \
         .obj = conn,                                                                              \
         .opt = 1,                                                                                 \
         .again = 1},                                                                              \
        LO("    sleep(hold_ms);       /* CLOSE-WAIT */", EV_SLEEP, NULL),                          \
        LO("    if (half_close) send(s, \"still here\");", EV_SOCK_SEND, conn),                    \
        LO("    close(s);", EV_SOCK_CLOSE, conn), LN("}")

static const struct lesson_line td_client[] = {
    LA("s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "client-conn"),
    LA("connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "client-conn"),
    TD_ENDPOINT("client", "client-conn"),
};

static const struct lesson_line td_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 1);", EV_SOCK_LISTEN, "listener"),
    LA("s = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
    TD_ENDPOINT("server", "server-conn"),
};

static const struct lesson_role td_roles[] = {
    {"client", "C", td_client, COUNT(td_client)},
    {"server", "C", td_server, COUNT(td_server)},
};

/* The socket being closed is in CLOSE-WAIT: the peer closed first. */
static int when_close_wait(const struct lesson_ctx *c)
{
    return c->o && c->o->in_kernel && c->o->tcp_state == 8;
}

static const struct lesson_q td_qs[] = {
    {.id = "who-time-waits",
     .kind = LQ_TIMEWAIT,
     .resolve = LR_UNTIL,
     .ev = EV_SOCK_CLOSE,
     .obj = "*-conn",
     .target = "client-conn,server-conn",
     .q_en = "{task} is the first to call {call}. Which socket will end in TIME-WAIT?",
     .q_zh = "{task} 第一个调用 {call}。哪个套接字最后会处于 TIME-WAIT？",
     .why_en = {"{answer}: the side that closes first (the active closer) keeps TIME-WAIT for "
                "2×MSL, so that late segments of this connection die out.",
                "No socket showed TIME-WAIT."},
     .why_zh =
         {"{answer}：先关闭的一方（主动关闭方）保持 TIME-WAIT 2×MSL，让这条连接迟到的报文消失。",
          "没有套接字出现 TIME-WAIT。"}},
    {.id = "passive-recv",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_RECV,
     .obj = "server-conn",
     .skip = 1,
     .q_en = "The hellos are exchanged. {task} calls recv() again, waiting for what the client "
             "does next. Will it wait?",
     .q_zh = "双方已互致问候。{task} 再次调用 recv()，等待客户端的下一步。它会等待吗？",
     .why_en = {"Nothing was there: recv() sleeps until data or the client's FIN arrives; the "
                "FIN makes it return 0 (end of file).",
                "The client's FIN was already in: recv() returned 0 (end of file) at once."},
     .why_zh =
         {"什么都没有：recv() 睡眠，直到数据或客户端的 FIN 到达；FIN 让它返回 0（文件结束）。",
          "客户端的 FIN 已经到了：recv() 立刻返回 0（文件结束）。"}},
    {.id = "passive-close",
     .kind = LQ_SOCK,
     .ev = EV_SOCK_CLOSE,
     .obj = "*-conn",
     .when = when_close_wait,
     .choices = "LAST-ACK,CLOSE,TIME-WAIT",
     .q_en = "{obj} is in CLOSE-WAIT. {task} now calls {call}. What does ss show for {obj} "
             "once the step has settled?",
     .q_zh = "{obj} 处于 CLOSE-WAIT。{task} 现在调用 {call}。这一步稳定之后，ss 显示 {obj} "
             "处于什么状态？",
     .why_en = {"{answer}: the passive closer sends its FIN (LAST-ACK) and, once the active side "
                "acknowledges it, its socket is gone; the waiting is left to the other side.",
                NULL},
     .why_zh = {"{answer}：被动关闭方发出 FIN（LAST-ACK），主动方确认后，它的套接字就消失了；"
                "等待留给了另一方。",
                NULL}},
};

const struct lesson lesson_tcp_teardown = {"tcp-teardown", td_roles, COUNT(td_roles), td_qs,
                                           COUNT(td_qs)};

/* ---- http ---- */

static const struct lesson_line ht_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "http-listen"),
    LA("listen(ls, 8);", EV_SOCK_LISTEN, "http-listen"),
    LFOR("for (k = 0; k < clients * reqs; k++) {"),
    LA("    c = accept(ls);", EV_SOCK_ACCEPT, "http-listen"),
    LAR("    recv(c, req, ..); /* to \\r\\n\\r\\n */", EV_SOCK_RECV, "conn-*"),
    LAR("    send(c, \"HTTP/1.0 200 OK\\r\\n..\");", EV_SOCK_SEND, "conn-*"),
    LA("    close(c);  /* the end of the body */", EV_SOCK_CLOSE, "conn-*"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "http-listen"),
};

static const struct lesson_line ht_client[] = {
    LFOR("for (r = 0; r < requests; r++) {"),
    LA("    s = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("    bind(s, 127.0.0.1:0);", EV_SOCK_BIND, "c*"),
    LA("    connect(s, 127.0.0.1:port);", EV_SOCK_CONNECT, "c*"),
    LA("    send(s, \"GET /client-1/page-1..\");", EV_SOCK_SEND, "c*"),
    LAR("    while (recv(s, resp, n) > 0); /* EOF */", EV_SOCK_RECV, "c*"),
    LA("    close(s);", EV_SOCK_CLOSE, "c*"),
    LO("    sleep(gap_ms);", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_role ht_roles[] = {
    {"server", "C", ht_server, COUNT(ht_server)},
    {"client", "C", ht_client, COUNT(ht_client)},
};

static const struct lesson_q ht_qs[] = {
    {.id = "accept-blocks",
     .kind = LQ_BLOCKS,
     .role = "server",
     .ev = EV_SOCK_ACCEPT,
     .q_en = "{task} calls {call}. Will it wait?",
     .q_zh = "{task} 调用 {call}。它会等待吗？",
     .why_en = {"No request's connection was waiting yet: accept() sleeps until a client "
                "connects.",
                "A client had connected already: accept() returned its connection at once."},
     .why_zh = {"还没有连接在等：accept() 睡眠，直到有客户端连上。",
                "客户端已经连上：accept() 立刻返回了它的连接。"}},
    {.id = "response-wait",
     .kind = LQ_BLOCKS,
     .role = "client",
     .ev = EV_SOCK_RECV,
     .q_en = "{task} has sent its request line and headers and calls {call}. Will it wait?",
     .q_zh = "{task} 已发送请求行和头部，现在调用 {call}。它会等待吗？",
     .why_en = {"The response had not arrived: the server still had to read the request up to "
                "the empty line and answer it.",
                "The response was already in the receive queue."},
     .why_zh = {"响应还没到：服务端还要把请求读到空行为止再作答。", "响应已经在接收队列里了。"}},
    {.id = "client-close",
     .kind = LQ_SOCK,
     .role = "client",
     .ev = EV_SOCK_CLOSE,
     .choices = "TIME-WAIT,CLOSE,CLOSE-WAIT",
     .q_en = "HTTP/1.0: the server closed first to end the body. {task} now calls {call}. What "
             "does ss show for {obj} right after?",
     .q_zh = "HTTP/1.0：服务端先关闭来结束正文。{task} 现在调用 {call}。紧接着 ss 显示 {obj} "
             "处于什么状态？",
     .why_en = {"{answer}: the server closed first, so the server's end keeps TIME-WAIT; the "
                "client, closing second, sends its FIN, gets the ACK and its socket is gone.",
                NULL},
     .why_zh = {"{answer}：服务端先关闭，所以 TIME-WAIT 留在服务端；客户端后关闭，发出 FIN、收到 "
                "ACK 后套接字就消失了。",
                NULL}},
};

const struct lesson lesson_http = {"http", ht_roles, COUNT(ht_roles), ht_qs, COUNT(ht_qs)};
