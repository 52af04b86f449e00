/*
 * phrase_zh.c - the Chinese of the short English phrases scenarios give their steps: a
 * sleep's reason ("the child lingers"), a step's label ("set its x to 11"), a deadline's
 * ("the alarm fires"). The workers write them in English into their task slots and the trace
 * (they are data, read by tests and by replays of old traces); the dashboard shows them in
 * the narration's language.
 *
 * A pattern's "%" stands for a word (up to the pattern's next character); the template's
 * "%1", "%2" put the words back, themselves translated when they are phrases of the table
 * ("network" in "layer 3: network"). Calls and names ("Thread-1.join()", "epoll_ctl(...)")
 * match nothing and stay as they are.
 */
#include "phrase_zh.h"

#include <stdio.h>
#include <string.h>

struct phrase {
    const char *en, *zh;
};

static const struct phrase PHRASES[] = {
    /* sleeps */
    {"making an item", "生产一个数据项"},
    {"using the item", "使用这个数据项"},
    {"work before the locks", "加锁之前的工作"},
    {"holding the first lock", "拿着第一把锁"},
    {"using both locks", "使用两把锁"},
    {"the client's pause", "客户端的停顿"},
    {"the setter's pause ends", "设置者的停顿结束"},
    {"the child lingers", "子进程再停留一会儿"},
    {"outside the lock", "在锁外"},
    {"the senders' pause", "发送者的停顿"},
    {"receivers start late", "接收者晚些开始"},
    {"between messages", "两条消息之间"},
    {"the orphan lives on", "孤儿进程继续运行"},
    {"eating", "吃饭"},
    {"between the forks", "拿起两把叉子之间"},
    {"thinking", "思考"},
    {"the writer's pause", "写者的停顿"},
    {"the reader starts late", "读者晚些开始"},
    {"between rounds", "两轮之间"},
    {"working on the task", "处理任务"},
    {"working inside", "在里面工作"},
    {"the sender's pause", "发送者的停顿"},
    {"asleep in nanosleep", "在 nanosleep 中睡眠"},
    {"the device's delay", "设备的延迟"},
    {"the accept delay", "accept 之前的延迟"},
    {"its turn to connect", "轮到它 connect"},
    {"CLOSE_WAIT, no close() yet", "CLOSE_WAIT，还没有 close()"},
    {"a daemon's tick", "守护线程的一拍"},
    {"a thread's tick", "线程的一拍"},
    {"the pause between datagrams", "两个数据报之间的停顿"},
    {"before the next wait()", "下一次 wait() 之前"},
    /* deadlines */
    {"the alarm fires", "闹钟响起"},
    /* step labels */
    {"start % ms of CPU work", "开始 %1 毫秒的 CPU 工作"},
    {"report the overlap", "报告重叠的时间"},
    {"set its x to %", "把自己的 x 设为 %1"},
    {"fork() returns 0", "fork() 返回 0"},
    {"layer % %", "第 %1 层：%2层"},
    {"eat (meal %)", "吃饭（第 %1 顿）"},
    {"count itself inside", "把自己计入里面的人数"},
    {"wait for others", "等待其他任务"},
    {"unblock SIGHUP", "解除对 SIGHUP 的阻塞"},
    {"install handlers", "安装信号处理函数"},
    {"wait for receiver", "等待接收者"},
    {"wait for SIGHUP", "等待 SIGHUP"},
    {"the next burst", "下一轮计算"},
    {"look up its state", "查看它的 TCP 状态"},
    {"start spinning", "开始空转"},
    /* what a task waits for (sclock_waits_for) */
    {"until the server listens", "直到服务器开始监听"},
    {"until the server binds", "直到服务器绑定端口"},
    {"until the capture starts", "直到抓包开始"},
    {"until the capture ends", "直到抓包结束"},
    {"until the client closes", "直到客户端关闭连接"},
    {"until the other end closes", "直到对端关闭连接"},
    {"until both ends are up", "直到两端都已建立"},
    {"until receiver-1 binds", "直到 receiver-1 绑定端口"},
    {"until receivers bind", "直到接收者都绑定端口"},
    {"until receivers got it", "直到接收者都收到"},
    {"until alarm time", "直到闹钟到期"},
    {"until a packet on lo", "直到 lo 上出现报文"},
    {"until an alarm() call", "直到有人调用 alarm()"},
    /* calls that are not calls (narrate_call) */
    {"a store to %", "写入 %1"},
    {"a load from %", "读取 %1"},
    {"an update of %", "更新 %1"},
    {"its next step", "它的下一步"},
    {"a blocking call on %", "在 %1 上的阻塞调用"},
    /* words inside labels */
    {"application", "应用"},
    {"transport", "传输"},
    {"network", "网络"},
    {"link", "链路"},
    {"physical", "物理"},
};

#define NPHRASES (sizeof(PHRASES) / sizeof(PHRASES[0]))
#define MAX_WORDS 4

/* The table's Chinese for the whole of en (no words taken), or NULL. */
static const char *exact(const char *en)
{
    for (size_t i = 0; i < NPHRASES; i++)
        if (!strchr(PHRASES[i].en, '%') && strcmp(PHRASES[i].en, en) == 0)
            return PHRASES[i].zh;
    return NULL;
}

/* 1 when en matches pattern p: words[k] = (start, length) of each "%". */
static int match(const char *p, const char *en, const char *word[], size_t len[], int *nwords)
{
    *nwords = 0;
    while (*p) {
        if (*p != '%') {
            if (*en++ != *p++)
                return 0;
            continue;
        }
        if (*nwords == MAX_WORDS)
            return 0;
        char stop = p[1]; /* the word runs to the pattern's next character, or the end */
        const char *end = stop ? strchr(en, stop) : en + strlen(en);
        if (!end || end == en)
            return 0;
        word[*nwords] = en;
        len[(*nwords)++] = (size_t)(end - en);
        en = end;
        p++;
    }
    return *en == '\0';
}

/* Fill tmpl into buf with the words (each translated when the table has it). */
static void fill(const char *tmpl, const char *word[], const size_t len[], int nwords, char *buf,
                 size_t n)
{
    size_t o = 0;
    for (const char *t = tmpl; *t && o + 1 < n; t++) {
        int k = t[0] == '%' && t[1] >= '1' && t[1] <= '0' + nwords ? t[1] - '1' : -1;
        if (k < 0) {
            buf[o++] = *t;
            continue;
        }
        char w[64];
        snprintf(w, sizeof(w), "%.*s", (int)len[k], word[k]);
        const char *zh = exact(w);
        o += (size_t)snprintf(buf + o, n - o, "%s", zh ? zh : w);
        if (o >= n)
            o = n - 1;
        t++;
    }
    buf[o < n ? o : n - 1] = '\0';
}

const char *phrase_zh(const char *en, char *buf, size_t n)
{
    if (!en || !en[0] || n == 0)
        return en;
    for (size_t i = 0; i < NPHRASES; i++) {
        const char *word[MAX_WORDS];
        size_t len[MAX_WORDS];
        int nwords;
        if (match(PHRASES[i].en, en, word, len, &nwords)) {
            fill(PHRASES[i].zh, word, len, nwords, buf, n);
            return buf;
        }
    }
    return en;
}

const char *phrase_in(const char *en, int zh, char *buf, size_t n)
{
    return zh ? phrase_zh(en, buf, n) : en;
}
