/*
 * http.c - a tiny HTTP/1.0 server and its clients on loopback (chapter 2, "TCP应用之http传输").
 *
 * HTTP is text carried by TCP. Each request is one connection: the client connects, sends
 * "GET /path HTTP/1.0", a few header lines and an empty line; the server reads up to that
 * empty line, parses the request line, answers with a status line, headers (Content-Length)
 * an empty line and the body, and closes, which is how an HTTP/1.0 client knows the body
 * has ended. The clients check that every answer is 200 and that every body is intact.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HT_LINE 128

struct ht_shared {
    long clients, requests, gap_ms;
    _Atomic int port, parsed, responses, ok_200, bodies_ok, not_200;
    _Atomic long bytes_sent, bytes_received;
    char request_line[HT_LINE], status_line[HT_LINE];
};

static struct ht_shared *S;

static const struct scenario_param params[] = {
    {"clients", "client processes", "客户端进程数", 1, 8, 2},
    {"requests", "requests each client makes (one connection each)",
     "每个客户端发出的请求数(每个请求一个连接)", 1, 10, 2},
    {"gap_ms", "pause between a client's requests", "客户端两次请求之间的停顿毫秒数", 0, 5000, 50},
};

/* The page the server has at path: a body the client can predict. */
static int body_for(const char *path, char *out, size_t n)
{
    return snprintf(out, n, "<html><body><h1>%s</h1><p>served by ipcscope</p></body></html>\n",
                    path);
}

static void first_line(const char *text, char *out, size_t n)
{
    size_t len = strcspn(text, "\r\n");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), text);
}

/* ---- the server ---- */

/* Parse "METHOD PATH VERSION" and pick the status. */
static int parse_request(const char *req, char path[HT_LINE])
{
    char method[8], version[16], line[HT_LINE];
    first_line(req, line, sizeof(line));
    if (!S->request_line[0])
        snprintf(S->request_line, sizeof(S->request_line), "%s", line);
    path[0] = '\0';
    if (sscanf(line, "%7s %127s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0)
        return 400;
    instr_note("%.4s %.26s", method, path); /* the request line, parsed */
    atomic_fetch_add(&S->parsed, 1);
    return strcmp(method, "GET") == 0 && path[0] == '/' ? 200 : 405;
}

/* The whole response in one send(): status line, headers, the empty line, the body. */
static void respond(struct net_sock *c, int status, const char *path)
{
    char resp[768], body[512];
    int bl = status == 200 ? body_for(path, body, sizeof(body))
                           : snprintf(body, sizeof(body), "error %d\n", status);
    int len = snprintf(resp, sizeof(resp),
                       "HTTP/1.0 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                       "Server: ipcscope\r\n\r\n%s",
                       status, status == 200 ? "OK" : "Error", bl, body);
    if (net_send(c, resp, (size_t)len) == len)
        atomic_fetch_add(&S->bytes_sent, len);
}

static void serve_one(struct net_sock *c)
{
    char req[1024], path[HT_LINE];
    ssize_t r = net_recv_until(c, req, sizeof(req), "\r\n\r\n");
    if (r > 0)
        respond(c, parse_request(req, path), path);
    net_close(c); /* HTTP/1.0: closing marks the end of the body */
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c;
    if (net_socket(&ls, "http-listen", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 8) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    long want = S->clients * S->requests;
    for (long k = 0; k < want; k++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "conn-%ld", k + 1);
        if (net_accept(&ls, &c, name) < 0)
            break;
        serve_one(&c);
    }
    net_close(&ls);
    return 0;
}

/* ---- the clients ---- */

/* Check one response against the page at path. */
static void judge(const char *resp, ssize_t n, const char *path)
{
    char want[512], line[HT_LINE];
    first_line(resp, line, sizeof(line));
    snprintf(S->status_line, sizeof(S->status_line), "%s", line);
    atomic_fetch_add(&S->responses, 1);
    atomic_fetch_add(&S->bytes_received, (long)n);
    if (strncmp(resp, "HTTP/1.0 200 ", 13) != 0) {
        atomic_fetch_add(&S->not_200, 1);
        return;
    }
    atomic_fetch_add(&S->ok_200, 1);
    const char *body = strstr(resp, "\r\n\r\n"), *cl = strcasestr(resp, "Content-Length:");
    int wl = body_for(path, want, sizeof(want));
    if (body && cl && atol(cl + 15) == wl && n - (body + 4 - resp) == wl &&
        memcmp(body + 4, want, (size_t)wl) == 0)
        atomic_fetch_add(&S->bodies_ok, 1);
}

static int fetch(int idx, int r)
{
    static char resp[2048];
    char name[INSTR_NAME_MAX], path[64], req[256];
    snprintf(name, sizeof(name), "c%d-req%d", idx + 1, r + 1);
    snprintf(path, sizeof(path), "/client-%d/page-%d.html", idx + 1, r + 1);
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: ipcscope\r\n\r\n",
                       path, atomic_load(&S->port));
    struct net_sock s;
    if (net_socket(&s, name, SOCK_STREAM) < 0)
        return -1;
    int rc = net_connect(&s, (uint16_t)atomic_load(&S->port));
    if (rc == 0 && net_send(&s, req, (size_t)len) == len) {
        ssize_t n = net_recv_until(&s, resp, sizeof(resp), NULL); /* until the server closes */
        if (n > 0)
            judge(resp, n, path);
    }
    net_close(&s);
    return rc;
}

static int client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    if (!net_wait_flag(&S->port, "until the server listens"))
        return 1;
    for (int r = 0; r < S->requests; r++)
        if (fetch(idx, r) < 0 || (r + 1 < S->requests && net_sleep_ms(S->gap_ms) < 0))
            return 1;
    return 0;
}

/* ---- lifecycle ---- */

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "clients") + 16);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->clients = scn_param(ctx, "clients");
    S->requests = scn_param(ctx, "requests");
    S->gap_ms = scn_param(ctx, "gap_ms");
    return net_start_workers(server, client, S->clients, err, n);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    if (scn_workers_ended_well(m, why, n) < 0)
        return -1;
    long want = S->clients * S->requests;
    if (atomic_load(&S->responses) != want || atomic_load(&S->ok_200) != want) {
        snprintf(why, n, "%d of %ld requests answered 200 (%d responses)", atomic_load(&S->ok_200),
                 want, atomic_load(&S->responses));
        return -1;
    }
    if (atomic_load(&S->bodies_ok) != want) {
        snprintf(why, n, "%d of %ld bodies intact", atomic_load(&S->bodies_ok), want);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "requests", json_integer(atomic_load(&S->parsed)));
    json_object_set_new(out, "responses", json_integer(atomic_load(&S->responses)));
    json_object_set_new(out, "status_200", json_integer(atomic_load(&S->ok_200)));
    json_object_set_new(out, "not_200", json_integer(atomic_load(&S->not_200)));
    json_object_set_new(out, "bodies_intact", json_integer(atomic_load(&S->bodies_ok)));
    json_object_set_new(out, "bytes",
                        json_pack("{s:I, s:I}", "sent", (json_int_t)atomic_load(&S->bytes_sent),
                                  "received", (json_int_t)atomic_load(&S->bytes_received)));
    json_object_set_new(out, "request_line", json_string(S->request_line));
    json_object_set_new(out, "status_line", json_string(S->status_line));
}

/* Called at every turn of the conductor: once every request has its answer, pin what the
 * summary promises (status and body checked), with this run's counts. Never ends the run. */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    long want = S->clients * S->requests;
    if (!want || atomic_load(&S->responses) < want)
        return 0;
    int zh = ctx->lang == LANG_ZH;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "%ld 个请求,%ld 个 TCP 连接:%d 个回答是 \"HTTP/1.0 200 OK\",%d 个正文完整。"
                  "HTTP/1.0 的服务端关闭连接,就表示正文结束。"
                : "%ld requests, %ld TCP connections: %d answers were \"HTTP/1.0 200 OK\" and %d "
                  "bodies came intact. An HTTP/1.0 server marks the end of the body by closing "
                  "the connection.",
             want, want, atomic_load(&S->ok_200), atomic_load(&S->bodies_ok));
    return 0;
}

/* ---- narration ---- */

static int obj_is_client(const struct model *m, const struct ev *e)
{
    return e->obj < m->nobjs && m->objs[e->obj].name[0] == 'c' &&
           m->objs[e->obj].name[1] != 'o'; /* "c1-req2", not "conn-3" */
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_NOTE && strncmp(e->text, "GET ", 4) == 0) {
        snprintf(buf, n,
                 zh ? "服务端读到空行为止,解析请求行:方法 GET,路径 %.*s,版本 HTTP/1.0。"
                    : "The server read up to the empty line and parsed the request line: method "
                      "GET, path %.*s, version HTTP/1.0.",
                 EV_TEXT_MAX - 4, e->text + 4);
        return 1;
    }
    if (e->kind == EV_SOCK_SEND && e->item > 0) {
        int client = obj_is_client(m, e);
        snprintf(buf, n,
                 client ? (zh ? "客户端发送 %lld 字节的请求:请求行 GET 路径 HTTP/1.0,若干头部行,"
                                "最后一个空行。HTTP 就是 TCP 上的文本。"
                              : "The client sends its %lld-byte request: the request line GET "
                                "path HTTP/1.0, header lines, then an empty line. HTTP is just "
                                "text on a TCP connection.")
                        : (zh ? "服务端用一次 send() 发出 %lld 字节的响应:状态行 HTTP/1.0 200 OK、"
                                "头部(Content-Length 说明正文长度)、空行,然后是正文。"
                              : "The server sends its %lld-byte response in one send(): the "
                                "status line HTTP/1.0 200 OK, headers (Content-Length: how long "
                                "the body is), an empty line, then the body."),
                 (long long)e->item);
        return 1;
    }
    if (e->kind == EV_SOCK_RECV && e->item == 0 && obj_is_client(m, e)) {
        snprintf(buf, n,
                 zh ? "客户端读到 EOF:HTTP/1.0 的服务端发完响应就关闭连接,关闭就表示正文结束。"
                    : "The client reads EOF: an HTTP/1.0 server closes the connection after the "
                      "response, and that close is what marks the end of the body.");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

const struct scenario scenario_http = {
    .id = "http",
    .chapter = 2,
    .title_en = "HTTP/1.0 over TCP: request line, headers, body",
    .title_zh = "TCP 应用之 HTTP 传输:请求行、头部、正文",
    .summary_en = "A tiny HTTP/1.0 server on 127.0.0.1. Each client request is one TCP "
                  "connection: connect, send \"GET /path HTTP/1.0\", headers and an empty line; "
                  "the server reads to the empty line, parses the request line, answers with "
                  "\"HTTP/1.0 200 OK\", headers, an empty line and the body, then closes. The "
                  "client reads until EOF and checks status and body.",
    .summary_zh =
        "一个运行在 127.0.0.1 上的迷你 HTTP/1.0 服务端。每个请求一个 TCP 连接:connect,"
        "发送 \"GET /路径 HTTP/1.0\"、头部和一个空行;服务端读到空行,解析请求行,回答 "
        "\"HTTP/1.0 200 OK\"、头部、空行和正文,然后关闭。客户端读到 EOF,检查状态码和正文。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .shared_size = sizeof(struct ht_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
