/*
 * narrate.c - what an event means, said plainly, in English and Chinese.
 *
 * One table maps (event kind, variant) to a sentence template per language; a small expander
 * fills in %T (task), %O (object), %V (value) and friends from the event and the model. The
 * scenario's narrate hook is asked first, so a lesson can speak in its own words.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "narrate.h"

#include "instr_net.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Unix-domain sockets: their proto (sources/sockdiag.h's SOCKDIAG_PROTO_UNIX) and the variant
 * their own sentences start at (UNIX_VARIANT + the TCP/UDP sentence's variant). */
#define PROTO_UNIX 255
#define UNIX_VARIANT 10

/* Placeholders: %T task  %O object  %M mutex (object id in item)  %K object kind word
 * %P pid  %D tid  %V val  %I item  %A aux  %S signal name  %X text  %C "/capacity" or ""
 * %N tcp state (val)  %Q old tcp state (item)  %L action label  %E errno name (-aux, else
 * -item)  %H shutdown's how (val)  %U multiplexing call (item)  %B fd bitmask (aux, hex)
 * %F tcp flags (val)  %Y source port  %Z destination port (extra)  %% percent */
static const char *const MUX_CALLS[] = {"select", "poll", "epoll_wait", "epoll_ctl"}; /* mux_call */
#define MUX_CALL_NAME(i) ((i) >= 0 && (i) < 4 ? MUX_CALLS[i] : "?")

struct narr {
    uint16_t kind;
    int8_t variant; /* -1: any */
    const char *en, *zh;
};

static const struct narr NARR[] = {
    {EV_TASK_START, 0,
     "%T started (pid %P, parent %A). A new process is a copy of its parent with its own "
     "memory; from here on the two run independently.",
     "%T 启动了（pid %P，父进程 %A）。新进程是父进程的副本，拥有自己的内存；从此两者各自运行。"},
    {EV_TASK_START, 1,
     "%T started as a thread (tid %D) inside process %P. Threads of one process share its "
     "memory, so they need locks to touch shared data safely.",
     "%T 作为线程启动（tid %D），属于进程 %P。同一进程的线程共享内存，访问共享数据时需要加锁。"},
    {EV_TASK_EXIT, 0,
     "%T exited with status %V. Until its parent calls wait(), it stays a zombie: dead, but "
     "its exit status is kept for the parent.",
     "%T 以状态 %V 退出。在父进程调用 wait() "
     "之前，它是僵尸进程：已经结束，但退出状态为父进程保留着。"},
    {EV_TASK_EXIT, 1, "%T, a thread, returned %V. Its result waits for pthread_join.",
     "线程 %T 返回了 %V，结果等待 pthread_join 取走。"},
    {EV_TASK_REAPED, REAP_WAIT,
     "%T was reaped (status %V): its parent collected the exit status with wait(), and the "
     "kernel freed its process entry.",
     "%T 被回收（状态 %V）：父进程用 wait() 取走了退出状态，内核释放了它的进程表项。"},
    {EV_TASK_REAPED, REAP_JOIN,
     "%T was joined: pthread_join in %J collected its result (%V) and the thread is gone.",
     "%T 被 join 了：%J 中的 pthread_join 取走了它的结果（%V），这个线程不复存在。"},
    {EV_TASK_REAPED, REAP_WITH_PROCESS,
     "%T ended with its process: it was never joined, and when the process exited the kernel "
     "ended every thread still in it.",
     "%T 随所属进程一起结束：它从未被 join，进程退出时内核结束了其中所有仍在运行的线程。"},
    {EV_NOTE, -1, "%T: %X", "%T：%X"},
    {EV_OBJ_CREATE, -1, "A %K named %O was created with value %V%C.", "创建了%K %O，初值为 %V%C。"},
    {EV_OBJ_DESTROY, -1, "%O was destroyed.", "%O 被销毁。"},
    {EV_SEM_WAIT, 0,
     "%T called sem_wait on %O: the value was %V, more than 0, so it takes one and goes on "
     "without waiting.",
     "%T 对 %O 执行 sem_wait：值为 %V，大于 0，于是拿走一个，无需等待，继续执行。"},
    {EV_SEM_WAIT, 1,
     "%T called sem_wait on %O, but the value is 0: there is nothing to take, so %T blocks "
     "until another task posts %O.",
     "%T 对 %O 执行 sem_wait，但值为 0：没有可拿的，于是 %T 阻塞，直到别的任务对 %O 执行 "
     "sem_post。"},
    {EV_SEM_ACQUIRED, -1, "%T got past sem_wait on %O; its value is now %V.",
     "%T 通过了 %O 上的 sem_wait；%O 的值现在是 %V。"},
    {EV_SEM_POST, -1,
     "%T posted %O: the value is now %V. If a task was blocked on %O, the kernel wakes one.",
     "%T 对 %O 执行 sem_post：值变为 %V。如果有任务阻塞在 %O 上，内核会唤醒其中一个。"},
    {EV_MUTEX_WAIT, 0, "%T asks for the lock %O; it is free, so %T will get it at once.",
     "%T 请求锁 %O；锁是空闲的，%T 会立刻得到它。"},
    {EV_MUTEX_WAIT, 1,
     "%T asks for the lock %O, but another task holds it: %T blocks until it is unlocked.",
     "%T 请求锁 %O，但锁被别的任务持有：%T 阻塞，直到锁被释放。"},
    {EV_MUTEX_ACQUIRED, -1,
     "%T holds the lock %O: no other task can enter this critical section until it unlocks.",
     "%T 持有锁 %O：在它解锁之前，其他任务都不能进入这个临界区。"},
    {EV_MUTEX_RELEASE, -1, "%T unlocked %O; a task waiting for it (if any) can now take it.",
     "%T 释放了锁 %O；如果有任务在等它，现在可以拿到了。"},
    {EV_COND_WAIT, -1,
     "%T waits on condition %O: it releases the lock %M and sleeps until another task "
     "signals %O.",
     "%T 在条件变量 %O 上等待：它释放锁 %M 并睡眠，直到别的任务通知 %O。"},
    {EV_COND_WAKE, -1,
     "%T woke up from %O and holds %M again; it must re-check its condition, because the "
     "state may have changed meanwhile.",
     "%T 从 %O 上醒来，重新持有 %M；它必须再检查一次条件，因为状态可能已经变了。"},
    {EV_COND_SIGNAL, -1, "%T signalled %O: one task waiting on it will wake.",
     "%T 通知了 %O：一个在其上等待的任务会被唤醒。"},
    {EV_COND_BROADCAST, -1,
     "%T broadcast on %O: every waiting task wakes and competes for the lock.",
     "%T 在 %O 上广播：所有等待的任务都会醒来并争夺锁。"},
    {EV_QUEUE_PUT, -1, "%T put item %I into %O, which now holds %V%C.",
     "%T 把第 %I 项放入 %O，现在共有 %V%C 项。"},
    {EV_QUEUE_GET, -1, "%T took item %I from %O; %V%C left.",
     "%T 从 %O 取走第 %I 项；还剩 %V%C 项。"},
    {EV_BLOCK, -1, "%T blocks on %O: it sleeps in the kernel and uses no CPU until woken.",
     "%T 阻塞在 %O 上：它在内核中睡眠，被唤醒之前不占用 CPU。"},
    {EV_UNBLOCK, -1, "%T was woken and continues past %O.", "%T 被唤醒，越过 %O 继续执行。"},
    {EV_PIPE_WRITE, -1, "%T wrote %I bytes into pipe %O; %V bytes wait to be read.",
     "%T 向管道 %O 写入 %I 字节；有 %V 字节等待读取。"},
    {EV_PIPE_READ, 0, "%T read %I bytes from pipe %O; %V bytes remain.",
     "%T 从管道 %O 读出 %I 字节；还剩 %V 字节。"},
    {EV_PIPE_READ, 1,
     "%T read end-of-file from pipe %O: every write end is closed, so no more data can come.",
     "%T 从管道 %O 读到文件结束：所有写端都已关闭，不会再有数据。"},
    {EV_PIPE_CLOSE, 0, "%T closed the read end of pipe %O.", "%T 关闭了管道 %O 的读端。"},
    {EV_PIPE_CLOSE, 1,
     "%T closed the write end of pipe %O; once every write end is closed, readers see EOF.",
     "%T 关闭了管道 %O 的写端；所有写端都关闭后，读者会读到文件结束。"},
    {EV_MQ_SEND, 1, "%T sent a message of %I bytes to queue %O; %V%C are queued.",
     "%T 向消息队列 %O 发送了一条 %I 字节的消息；队列中有 %V%C 条。"},
    {EV_MQ_RECV, 1, "%T received a message of %I bytes from queue %O; %V%C left.",
     "%T 从消息队列 %O 收到一条 %I 字节的消息；还剩 %V%C 条。"},
    {EV_MQ_SEND, -1, "%T sent message %I to queue %O; %V%C are queued.",
     "%T 向消息队列 %O 发送了消息 %I；队列中有 %V%C 条。"},
    {EV_MQ_RECV, -1, "%T received message %I from queue %O; %V%C left.",
     "%T 从消息队列 %O 收到消息 %I；还剩 %V%C 条。"},
    {EV_SHM_WRITE, -1,
     "%T wrote %V into %O[%I]: other processes mapping %O see it at once, without a copy.",
     "%T 把 %V 写入 %O[%I]：映射了 %O 的其他进程立刻就能看到，无需复制。"},
    {EV_SHM_READ, -1, "%T read %V from %O[%I].", "%T 从 %O[%I] 读到 %V。"},
    {EV_SIG_SEND, -1, "%T sent signal %S to pid %A.", "%T 向 pid %A 发送了信号 %S。"},
    {EV_SIG_HANDLE, -1,
     "%T is running its handler for %S: the signal interrupted whatever it was doing.",
     "%T 正在执行 %S 的信号处理函数：信号打断了它原来正在做的事。"},
    {EV_EVENT_WAIT, 0, "%T checks event %O: it is set, so %T goes on.",
     "%T 检查事件 %O：事件已置位，%T 继续执行。"},
    {EV_EVENT_WAIT, 1, "%T waits for event %O, which is not set: %T blocks until it is.",
     "%T 等待事件 %O，但它未置位：%T 阻塞，直到事件被置位。"},
    {EV_EVENT_SET, -1, "%T set event %O: every task waiting on it may proceed.",
     "%T 置位了事件 %O：所有等待它的任务都可以继续。"},
    {EV_EVENT_CLEAR, -1, "%T cleared event %O: tasks that wait on it will now block.",
     "%T 清除了事件 %O：之后等待它的任务会阻塞。"},
    {EV_PROC_FORK, 0, "The kernel saw %T created as a new process (parent %A).",
     "内核看到 %T 作为新进程被创建（父进程 %A）。"},
    {EV_PROC_FORK, 1, "The kernel saw %T created as a new thread of process %P.",
     "内核看到 %T 作为进程 %P 的新线程被创建。"},
    {EV_PROC_EXEC, -1, "%T called exec: same pid, a new program (%X).",
     "%T 调用了 exec：pid 不变，换成了新程序（%X）。"},
    {EV_PROC_EXIT, -1, "The kernel saw %T exit (code %V).", "内核看到 %T 退出（代码 %V）。"},
    {EV_SIG_GENERATE, 0, "The kernel queued signal %S for %T (sent by pid %A).",
     "内核为 %T 挂起了信号 %S（由 pid %A 发送）。"},
    {EV_SIG_GENERATE, 1,
     "The kernel itself raised %S for %T (a timer, a fault, a child's end, or its terminal "
     "hanging up as its session ends).",
     "内核自己为 %T 产生了信号 %S（定时器、异常、子进程结束，或会话结束时终端挂断）。"},
    {EV_SIG_GENERATE, 3,
     "The kernel raised %S for %T: a terminal's driver does so for a key typed on it (Ctrl-C "
     "SIGINT, Ctrl-\\ SIGQUIT, Ctrl-Z SIGTSTP), to every process of its foreground group.",
     "内核为 %T 产生了 %S：在终端上按下按键时（Ctrl-C 是 SIGINT，Ctrl-\\ 是 SIGQUIT，Ctrl-Z 是 "
     "SIGTSTP），终端驱动把它发给终端前台进程组的每个进程。"},
    {EV_SIG_GENERATE, 2,
     "The kernel queued SIGCHLD for %T: its child (pid %A) has ended or stopped.",
     "内核为 %T 挂起了 SIGCHLD：它的子进程（pid %A）已结束或停止。"},
    {EV_TCP_STATE, 1,
     "The kernel: a connection :%Y → :%Z went %Q → %N on its own (no socket of the scenario "
     "has it yet: accept() has not taken it).",
     "内核：连接 :%Y → :%Z 自行从 %Q 变为 %N（场景的套接字还没有拿到它：accept() 尚未取走）。"},
    {EV_SIG_DELIVER, 0, "The kernel delivered %S to %T.", "内核把 %S 递送给了 %T。"},
    {EV_SIG_DELIVER, 1,
     "The kernel delivered %S to %T: it has no handler, and the default action ends the "
     "process.",
     "内核把 %S 递送给了 %T：它没有处理函数，默认动作是结束进程。"},
    {EV_TCP_STATE, 0, "%O: TCP state %Q → %N.", "%O：TCP 状态 %Q → %N。"},
    {EV_TCP_STATE, 3,
     "%O: closed in %Q, the kernel freed the socket and keeps a small stand-in, still %N (ss "
     "shows it with a timewait timer), until the peer's FIN comes.",
     "%O：在 %Q 状态下被关闭，内核释放了套接字，只留下一个小的替身，仍是 %N（ss 显示它带着 "
     "timewait 计时器），直到对方的 FIN 到来。"},
    {EV_TCP_STATE, 2,
     "%O: the kernel's socket table now shows %N (it showed %Q when last looked at; a state in "
     "between lasts too little for a look to catch).",
     "%O：内核的套接字表现在显示 %N（上次查看时是 %Q；中间的状态太短，查看时未能看到）。"},
    {EV_TCP_STATE, 4,
     "%O: TCP state %Q → %N (read from the kernel's socket table, as ss reads it).",
     "%O：TCP 状态 %Q → %N（从内核的套接字表读到，与 ss 读的一样）。"},
    {EV_FORK_RET, 0,
     "fork() returned 0 in %T: 0 means \"I am the child\". Both copies continue from the same "
     "line.",
     "fork() 在 %T 中返回 0：0 表示“我是子进程”。两个副本从同一行继续执行。"},
    {EV_FORK_RET, 1, "fork() returned %V in %T: the child's pid, so this copy is the parent.",
     "fork() 在 %T 中返回 %V：这是子进程的 pid，所以这个副本是父进程。"},
    {EV_FORK_RET, 2, "fork() failed in %T (%V): no child was created.",
     "fork() 在 %T 中失败（%V）：没有创建子进程。"},
    {EV_VAR, -1, "%T set %O to %V.", "%T 把 %O 设为 %V。"},
    {EV_REPARENT, -1,
     "%T became an orphan: its parent %A died, so it was adopted by %V, which will reap it.",
     "%T 成了孤儿进程：父进程 %A 已经结束，它被 %V 收养，将由 %V 回收。"},
    {EV_ACTION, -1, "The teacher pressed '%I': %L.", "老师按下了“%I”：%L。"},
    /* Unix-domain sockets (variants UNIX_VARIANT + the TCP/UDP variant): no ports, no network */
    {EV_SOCK_BIND, UNIX_VARIANT,
     "%T bound %O to a name: other processes on this machine connect to it by that name.",
     "%T 给 %O 绑定了一个名字：本机的其他进程通过这个名字连接它。"},
    {EV_SOCK_CONNECT, UNIX_VARIANT,
     "%T connected %O to a Unix socket: no handshake on a wire, the kernel joins the two ends "
     "at once.",
     "%T 把 %O 连接到一个 Unix 套接字：没有线路上的握手，内核直接把两端连起来。"},
    {EV_SOCK_ACCEPT, UNIX_VARIANT,
     "%T accepted a connection on %O: accept() returns a new socket, %M, for this one client, "
     "while %O goes on listening.",
     "%T 在 %O 上接受了一个连接：accept() 返回一个新的套接字 %M 专门服务这个客户端，%O "
     "继续监听。"},
    {EV_SOCK_SEND, UNIX_VARIANT,
     "%T sent %I bytes on %O: the kernel puts them straight into the peer's receive queue, in "
     "order (no network, no acknowledgements).",
     "%T 在 %O 上发送了 %I "
     "字节：内核把数据直接放进对端的接收队列，按序到达（不经过网络，没有确认）。"},
    {EV_SOCK_SEND, UNIX_VARIANT + 2,
     "%T sent one datagram of %I bytes on %O: it arrives whole, or not at all.",
     "%T 在 %O 上发送了一个 %I 字节的数据报：它要么完整到达，要么根本不到。"},
    {EV_SOCK_RECV, UNIX_VARIANT + 1,
     "%T read end-of-file on %O: recv() returned 0 because the peer closed its end; no more "
     "data will come.",
     "%T 在 %O 上读到文件结束：recv() 返回 0，因为对端关闭了，不会再有数据。"},
    {EV_SOCK_RECV, UNIX_VARIANT + 2, "%T received one whole datagram of %I bytes on %O.",
     "%T 在 %O 上收到一个 %I 字节的完整数据报。"},
    {EV_SOCK_CLOSE, UNIX_VARIANT,
     "%T closed %O: the descriptor is gone; once the last one is, the socket goes and its peer "
     "reads end-of-file.",
     "%T 关闭了 %O：文件描述符已释放；最后一个关闭后套接字就没有了，对端会读到文件结束。"},
    {EV_SOCK_BIND, 0,
     "%T bound %O to 127.0.0.1:%V: this address and port are how other sockets reach it.",
     "%T 把 %O 绑定到 127.0.0.1:%V：别的套接字通过这个地址和端口找到它。"},
    {EV_SOCK_BIND, 1, "%T could not bind %O to port %I: %E.", "%T 无法把 %O 绑定到端口 %I：%E。"},
    {EV_SOCK_LISTEN, -1,
     "%T called listen(%V) on %O: it now only accepts. The kernel completes handshakes for it "
     "and queues the connections until accept() takes one.",
     "%T 对 %O 调用 listen(%V)：它成为监听套接字。内核替它完成三次握手，把连接排进队列，等 "
     "accept() 取走。"},
    {EV_SOCK_ACCEPT, -1,
     "%T accepted a connection on %O from port %V: accept() returns a new socket, %M, for "
     "this one client, while %O goes on listening.",
     "%T 在 %O 上接受了来自端口 %V 的连接：accept() 返回一个新的套接字 %M 专门服务这个客户端，"
     "%O 继续监听。"},
    {EV_SOCK_CONNECT, 0,
     "%T connected %O to 127.0.0.1:%V: connect() sent SYN, got SYN-ACK and answered ACK "
     "before returning.",
     "%T 把 %O 连接到 127.0.0.1:%V：connect() 发出 SYN，收到 SYN-ACK 并回复 ACK 后返回。"},
    {EV_SOCK_CONNECT, 1, "%T could not connect %O to port %V: %E.",
     "%T 无法把 %O 连接到端口 %V：%E。"},
    {EV_SOCK_SEND, 0,
     "%T sent %I bytes on %O: they are copied into the kernel's send buffer (%V bytes not yet "
     "acknowledged) and TCP delivers them in order.",
     "%T 在 %O 上发送了 %I 字节：数据被复制进内核发送缓冲区（还有 %V 字节未被确认），由 TCP "
     "按序送达。"},
    {EV_SOCK_SEND, 1, "%T could not send on %O: %E.", "%T 在 %O 上发送失败：%E。"},
    {EV_SOCK_SEND, 2,
     "%T sent one datagram of %I bytes from %O to port %A: no connection, no handshake, no "
     "acknowledgement.",
     "%T 从 %O 向端口 %A 发送了一个 %I 字节的数据报：无连接、无握手、无确认。"},
    {EV_SOCK_RECV, 0,
     "%T received %I bytes on %O (%V more wait unread): recv() returns what has arrived, "
     "which need not be what one send() sent.",
     "%T 在 %O 上收到 %I 字节（还有 %V 字节未读）：recv() 返回已到达的数据，不一定等于对方一次 "
     "send() 的内容。"},
    {EV_SOCK_RECV, 1,
     "%T read end-of-file on %O: recv() returned 0 because the peer sent FIN; no more data "
     "will come.",
     "%T 在 %O 上读到文件结束：recv() 返回 0，因为对方发送了 FIN，不会再有数据。"},
    {EV_SOCK_RECV, 2,
     "%T received one whole datagram of %I bytes on %O from port %A: recvfrom also says who "
     "sent it.",
     "%T 在 %O 上收到一个 %I 字节的完整数据报，来自端口 %A：recvfrom 同时告诉它发送方是谁。"},
    {EV_SOCK_SHUTDOWN, -1,
     "%T called shutdown(%H) on %O: a half-close. With SHUT_WR a FIN goes out, but this side "
     "can still read what the peer sends.",
     "%T 对 %O 调用 shutdown(%H)：半关闭。SHUT_WR 发出 FIN，但本端仍然可以读取对方发送的数据。"},
    {EV_SOCK_CLOSE, 0,
     "%T closed %O: the descriptor is gone; the kernel finishes the TCP goodbye on its own.",
     "%T 关闭了 %O：文件描述符已释放，内核自己完成 TCP 的挥手。"},
    {EV_SOCK_CLOSE, 1,
     "%T closed %O: the descriptor and the socket are gone; UDP has no connection to end.",
     "%T 关闭了 %O：文件描述符和套接字都没有了；UDP 没有连接需要结束。"},
    {EV_MUX_WAIT, 0,
     "%T hands %U its interest set %O: %G (mask %B). It sleeps until at least one of "
     "them is ready.",
     "%T 把关注集合 %O 交给 %U：%V 个 fd（位图 %B）。它睡眠，直到其中至少一个就绪。"},
    {EV_MUX_WAIT, 1,
     "%T adds %W to the interest set %O with epoll_ctl. The set lives in the kernel and now "
     "holds %G (mask %B): epoll_wait() watches them without being handed the set again.",
     "%T 用 epoll_ctl 把 %W 加入关注集合 %O。这个集合保存在内核中，现在有 %V 个 fd（位图 %B）："
     "epoll_wait() 直接监视它们，不必每次重新传入。"},
    {EV_MUX_WAIT, 2, "%T removes %W from the interest set %O with epoll_ctl: %G left (mask %B).",
     "%T 用 epoll_ctl 把 %W 从关注集合 %O 中删除：剩下 %V 个 fd（位图 %B）。"},
    {EV_MUX_WAIT, 3,
     "%T changes what the interest set %O watches %W for, with epoll_ctl: still %G (mask "
     "%B).",
     "%T 用 epoll_ctl 修改关注集合 %O 对 %W 监视的事件：仍然 %V 个 fd（位图 %B）。"},
    {EV_MUX_WAIT, 4, "%T closed its epoll instance: the interest set %O is gone with it.",
     "%T 关闭了它的 epoll 实例：关注集合 %O 随之消失。"},
    {EV_MUX_WAIT, 5,
     "%T calls epoll_wait(): the kernel already holds its interest set %O (%G, mask %B), so "
     "nothing is handed over. It sleeps until at least one of them is ready.",
     "%T 调用 epoll_wait()：内核里已经保存着它的关注集合 %O（%V 个 fd，位图 %B），无需再传入。"
     "它睡眠，直到其中至少一个就绪。"},
    {EV_MUX_READY, 0, "%U returned: the ready set %O holds %G (mask %B); %T serves only these.",
     "%U 返回：就绪集合 %O 中有 %V 个 fd（位图 %B）；%T 只处理这些。"},
    {EV_MUX_READY, 1, "%U timed out with nothing ready; %T loops and asks again.",
     "%U 超时返回，没有就绪的 fd；%T 循环再问一次。"},
    {EV_PKT, 0,
     "On lo: SYN %Y → %Z, seq %I. Handshake step 1: the client offers its initial sequence "
     "number x.",
     "lo 上：SYN %Y → %Z，seq %I。第一次握手：客户端给出初始序号 x。"},
    {EV_PKT, 1,
     "On lo: SYN|ACK %Y → %Z, seq %I, ack %A. Handshake step 2: the server's own y, and "
     "ack = x+1.",
     "lo 上：SYN|ACK %Y → %Z，seq %I，ack %A。第二次握手：服务端的序号 y，ack = x+1。"},
    {EV_PKT, 2, "On lo: %F %Y → %Z, seq %I, ack %A: this side has nothing more to send.",
     "lo 上：%F %Y → %Z，seq %I，ack %A：这一端不再发送数据。"},
    {EV_PKT, 3, "On lo: %F %Y → %Z, seq %I, ack %A: the connection is reset.",
     "lo 上：%F %Y → %Z，seq %I，ack %A：连接被重置。"},
    {EV_PKT, 4, "On lo: %F %Y → %Z, seq %I, ack %A.", "lo 上：%F %Y → %Z，seq %I，ack %A。"},
    {EV_SLEEP, -1, "%T slept %V ms and goes on.", "%T 睡眠了 %V 毫秒，继续执行。"},
    {EV_TIMEOUT, -1, "%T gave up waiting on %O: its %V ms timeout expired.",
     "%T 不再等待 %O：%V 毫秒的超时到了。"},
    /* the kinds `ipcscope exec` adds */
    {EV_SHM_MAP, -1,
     "%T mapped %I bytes of %O into its address space: %V mappings now share the same memory.",
     "%T 把 %O 的 %I 字节映射进自己的地址空间：现在有 %V 个映射共享同一块内存。"},
    {EV_SHM_UNMAP, -1, "%T unmapped %O; %V mappings remain.",
     "%T 解除了对 %O 的映射；还剩 %V 个映射。"},
    {EV_OBJ_SIZE, -1, "%O is now %V bytes long.", "%O 的大小现在是 %V 字节。"},
    {EV_OBJ_UNLINK, -1,
     "%T removed the name of %O: whoever has it open keeps using it; it disappears with the "
     "last user.",
     "%T 删除了 %O 的名字：已经打开它的进程仍可继续使用；最后一个使用者退出后它才消失。"},
    {EV_OBJ_SET, -1, "%T set %O to %V.", "%T 把 %O 设为 %V。"},
    {EV_RW_WAIT, 0, "%T asks to read under %O; a writer holds or awaits it, so %T waits.",
     "%T 请求以读方式进入 %O；有写者持有或在等待，%T 只能等待。"},
    {EV_RW_WAIT, 1, "%T asks to write under %O; readers or a writer are inside, so %T waits.",
     "%T 请求以写方式进入 %O；里面有读者或写者，%T 只能等待。"},
    {EV_RW_ACQUIRED, 0, "%T reads under %O: %V readers at once, no writer.",
     "%T 以读方式进入 %O：同时有 %V 个读者，没有写者。"},
    {EV_RW_ACQUIRED, 1, "%T writes under %O: alone, no reader, no other writer.",
     "%T 以写方式进入 %O：独占，没有读者，也没有别的写者。"},
    {EV_RW_RELEASE, -1, "%T left %O; %V readers remain.", "%T 离开了 %O；还剩 %V 个读者。"},
    {EV_BARRIER_WAIT, 0, "%T reached barrier %O: %V%C have arrived.",
     "%T 到达屏障 %O：已到达 %V%C 个。"},
    {EV_BARRIER_WAIT, 1,
     "%T reached barrier %O and waits: only %V%C have arrived, and it opens when all have.",
     "%T 到达屏障 %O 并等待：只到了 %V%C 个，全部到齐屏障才打开。"},
    {EV_BARRIER_PASS, -1, "%T passed barrier %O: everyone arrived, so all go on together.",
     "%T 通过了屏障 %O：所有任务都已到达，一起继续。"},
    {EV_JOIN, 0, "%T joins %O, which has already finished: it collects the result at once.",
     "%T 等待线程 %O 结束，而它已经结束：立刻取走结果。"},
    {EV_JOIN, 1, "%T waits in pthread_join until thread %O finishes.",
     "%T 在 pthread_join 中等待，直到线程 %O 结束。"},
    {EV_JOINED, -1, "%T joined %O, which returned %V.", "%T 回收了线程 %O，它的返回值是 %V。"},
    {EV_MUTEX_PAIRS, -1,
     "%T locked and unlocked %O %I more times, nobody else wanting it: one record for them "
     "all, so following them costs little.",
     "%T 又对 %O 加锁、解锁了 %I "
     "次，没有别的任务来争：这些操作合成一条记录，跟踪它们几乎不花代价。"},
    {EV_SEM_PAIRS, -1,
     "%T took a token of %O and posted it back %I more times, nobody waiting: one record for "
     "them all; the value is %V again.",
     "%T 又从 %O 取走一个令牌再放回了 %I 次，没有任务在等：这些操作合成一条记录；值仍是 %V。"},
    {EV_SEM_SEEN_TAKEN, -1,
     "%T keeps a token of %O (the value is %V) and has made no call since: ipcscope read it in "
     "%T's slot. Its sem_wait is recorded, with the time it was taken, when %T posts.",
     "%T 拿着 %O 的一个令牌（值为 %V），之后没有再调用任何被跟踪的函数：ipcscope 从 %T "
     "的槽位读到了这一点。这次 sem_wait 会在 %T 执行 sem_post 时连同取走的时刻一起记录。"},
    {EV_COND_RELOCK, -1,
     "%T was woken on %O and now waits for %M: wait() returns only once it holds the lock "
     "again (the kernel shows %T asleep on %M's futex).",
     "%T 在 %O 上被唤醒，现在等待 %M：wait() 要重新持有锁之后才返回（内核显示 %T 睡在 %M 的 "
     "futex 上）。"},
    {EV_MUTEX_SEEN_HELD, -1,
     "%T holds %O and has made no call since: ipcscope read it in %T's slot. Its lock is "
     "recorded, with the time it was taken, when %T unlocks.",
     "%T 持有 %O，之后没有再调用任何被跟踪的函数：ipcscope 从 %T 的槽位读到了这一点。"
     "这次加锁会在 %T 解锁时连同加锁时刻一起记录。"},
};

static const char *const KIND_ZH[OK__COUNT] = {
    "信号量", "互斥锁", "条件变量", "事件",   "队列", "管道",   "消息队列", "共享内存",
    "套接字", "进程",   "信号",     "读写锁", "屏障", "自旋锁", "线程",
};

static const char *const TCP_STATES[] = {
    "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

const char *narrate_kind_word(unsigned obj_kind, int lang)
{
    if (obj_kind >= OK__COUNT)
        return "?";
    return lang == LANG_ZH ? KIND_ZH[obj_kind] : obj_kind_name(obj_kind);
}

static const char *tcp_state_name(int64_t s)
{
    if (s < 0 || (size_t)s >= sizeof(TCP_STATES) / sizeof(TCP_STATES[0]))
        return "?";
    return TCP_STATES[s];
}

const char *narrate_task_name(const struct model *m, const struct ev *e, char *buf, size_t n)
{
    if (e->kind == EV_TCP_STATE || e->kind == EV_SOCK_INFO || e->kind == EV_SOCK_NAME) {
        snprintf(buf, n, "kernel"); /* the TCP stack, in whatever context it ran */
        return buf;
    }
    uint32_t idx = MODEL_NO_TASK;
    if (e->task != EV_NO_TASK)
        idx = model_task_by_slot(m, e->task);
    if (idx == MODEL_NO_TASK && e->tid)
        idx = model_task_by_tid(m, e->tid);
    if (idx != MODEL_NO_TASK && idx < m->ntasks && m->tasks[idx].name[0])
        snprintf(buf, n, "%s", m->tasks[idx].name);
    else if (e->tid && e->src == EV_SRC_INSTR)
        snprintf(buf, n, "tid %d", (int)e->tid);
    else
        snprintf(buf, n, "kernel"); /* a kernel source, about no task of the run */
    return buf;
}

static const struct model_task *event_task(const struct model *m, const struct ev *e)
{
    uint32_t idx = MODEL_NO_TASK;
    if (e->task != EV_NO_TASK)
        idx = model_task_by_slot(m, e->task);
    if (idx == MODEL_NO_TASK && e->tid)
        idx = model_task_by_tid(m, e->tid);
    return idx < m->ntasks ? &m->tasks[idx] : NULL;
}

static const struct model_obj *obj_at(const struct model *m, uint64_t id)
{
    return id < m->nobjs ? &m->objs[id] : NULL;
}

static const char *obj_name(const struct model *m, uint64_t id)
{
    const struct model_obj *o = obj_at(m, id);
    return o && o->name[0] ? o->name : "?";
}

/* The variant of a socket, multiplexing or packet event. */
static int sock_variant(const struct ev *e)
{
    switch (e->kind) {
    case EV_SOCK_BIND:
    case EV_SOCK_CONNECT:
        return e->aux != 0;
    case EV_SOCK_SEND:
        return e->item < 0 ? 1 : e->extra ? 2 : 0;
    case EV_SOCK_RECV:
        return e->extra ? 2 : e->item == 0;
    case EV_MUX_READY: /* returned (0), timed out (1), nothing ready yet: it sleeps (2, untold:
                          its block is) */
        return e->extra == MUX_READY_NONE_YET ? 2 : e->val == 0;
    case EV_MUX_WAIT: /* select or poll (0), epoll_wait (5), or epoll_ctl: ADD 1, DEL 2, MOD 3,
                         the instance closed 4 */
        if (e->item != MUX_EPOLL_CTL)
            return e->item == MUX_EPOLL ? 5 : 0;
        return MUX_CTL_OP(e->extra) >= 1 && MUX_CTL_OP(e->extra) <= 3 ? MUX_CTL_OP(e->extra) : 4;
    case EV_PKT:
        if (e->val & 0x04)
            return 3; /* RST */
        if (e->val & 0x02)
            return (e->val & 0x10) ? 1 : 0; /* SYN|ACK, SYN */
        return (e->val & 0x01) ? 2 : 4;     /* FIN, other */
    default:
        return 0;
    }
}

/* Is from -> to one step of TCP's state machine (RFC 9293 with Linux's names), so that a look
 * at the kernel's table that saw both missed no state in between? States: instr_net.h. */
static int tcp_one_step(int64_t from, int64_t to)
{
    static const int8_t STEPS[][2] = {
        {NET_CLOSE, NET_LISTEN},          {NET_CLOSE, NET_SYN_SENT},
        {NET_LISTEN, NET_CLOSE},          {NET_SYN_SENT, NET_ESTABLISHED},
        {NET_SYN_SENT, NET_CLOSE},        {NET_SYN_RECV, NET_ESTABLISHED},
        {NET_ESTABLISHED, NET_FIN_WAIT1}, {NET_ESTABLISHED, NET_CLOSE_WAIT},
        {NET_FIN_WAIT1, NET_FIN_WAIT2},   {NET_FIN_WAIT1, NET_CLOSING},
        {NET_FIN_WAIT1, NET_TIME_WAIT},   {NET_FIN_WAIT2, NET_TIME_WAIT},
        {NET_CLOSING, NET_TIME_WAIT},     {NET_CLOSE_WAIT, NET_LAST_ACK},
        {NET_LAST_ACK, NET_CLOSE},        {NET_TIME_WAIT, NET_CLOSE},
        {NET_FIN_WAIT2, NET_CLOSE}, /* its timeout (tcp_fin_timeout) */
    };
    for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]); i++)
        if (STEPS[i][0] == from && STEPS[i][1] == to)
            return 1;
    return 0;
}

/* Which template of a kind applies to e (see NARR's variants). */
static int variant_of(const struct model *m, const struct ev *e)
{
    const struct model_task *t = event_task(m, e);
    switch (e->kind) {
    case EV_TASK_START:
        return e->item == TK_THREAD;
    case EV_TASK_EXIT:
        return t && t->kind == TK_THREAD;
    case EV_TASK_REAPED:
        return (int)e->extra;
    case EV_SEM_WAIT:
    case EV_MUTEX_WAIT:
    case EV_EVENT_WAIT:
    case EV_BARRIER_WAIT:
    case EV_JOIN:
        return e->aux != 0;
    case EV_RW_WAIT:
    case EV_RW_ACQUIRED:
        return e->item != 0;
    case EV_PIPE_READ:
        return e->item == 0;
    case EV_PIPE_CLOSE:
        return e->aux != 0;
    case EV_PROC_FORK:
        return e->item != 0;
    case EV_FORK_RET:
        return e->val == 0 ? 0 : e->val > 0 ? 1 : 2;
    case EV_SIG_DELIVER: /* 1: fatal by its default action */
        return e->extra == 1;
    case EV_SIG_GENERATE: /* 0 a task sent it, 1 the kernel raised it, 2 a child's SIGCHLD,
                           * 3 the kernel raised a terminal's key signal (only a tty does) */
        if (e->val == SIGCHLD && e->aux)
            return 2;
        if (e->aux != 0)
            return 0;
        return e->val == SIGINT || e->val == SIGQUIT || e->val == SIGTSTP ? 3 : 1;
    case EV_TCP_STATE: /* 1: no socket object has it yet (a half-open request); 2: sampled,
                        * states skipped; 4: sampled, one step; 3: freed in FIN_WAIT2, its
                        * timewait stand-in keeps the state */
        return e->obj == EV_NO_OBJ             ? 1
               : e->src != EV_SRC_PROCFS       ? (e->item == e->val ? 3 : 0)
               : tcp_one_step(e->item, e->val) ? 4
                                               : 2;
    case EV_MQ_SEND: /* 1: a program's message, its length (no id) */
    case EV_MQ_RECV:
        return e->extra == MQ_ITEM_BYTES;
    case EV_SOCK_CLOSE: { /* 1: a UDP socket (no goodbye) */
        const struct model_obj *o = obj_at(m, e->obj);
        if (o && o->kind == OK_SOCKET && o->proto == PROTO_UNIX)
            return UNIX_VARIANT;
        return o && o->kind == OK_SOCKET && o->proto == 17;
    }
    case EV_SOCK_BIND:
    case EV_SOCK_CONNECT:
    case EV_SOCK_ACCEPT:
    case EV_SOCK_SEND:
    case EV_SOCK_RECV: { /* a Unix socket's own words where TCP's would mislead */
        const struct model_obj *o = obj_at(m, e->obj);
        int v = e->kind == EV_SOCK_ACCEPT ? 0 : sock_variant(e);
        int own = e->kind == EV_SOCK_RECV ? v != 0 : v != 1; /* failures keep TCP's words */
        return o && o->kind == OK_SOCKET && o->proto == PROTO_UNIX && own ? UNIX_VARIANT + v : v;
    }
    default:
        return sock_variant(e);
    }
}

static const struct narr *find_template(unsigned kind, int variant)
{
    for (size_t i = 0; i < sizeof(NARR) / sizeof(NARR[0]); i++)
        if (NARR[i].kind == kind && (NARR[i].variant < 0 || NARR[i].variant == variant))
            return &NARR[i];
    return NULL;
}

static const char *action_label(const struct scn_ctx *ctx, int64_t key, int lang)
{
    if (!ctx || !ctx->sc)
        return "";
    for (size_t i = 0; i < ctx->sc->nactions; i++)
        if (ctx->sc->actions[i].key == key)
            return lang == LANG_ZH ? ctx->sc->actions[i].label_zh : ctx->sc->actions[i].label_en;
    return "";
}

struct expand_ctx {
    const struct scn_ctx *ctx;
    const struct model *m;
    const struct ev *e;
    int lang;
};

/* Format a TCP flags byte as "SYN|ACK" into tmp. */
static const char *tcp_flags_text(int64_t flags, char *tmp, size_t n)
{
    static const char *const names[] = {"SYN", "FIN", "RST", "PSH", "URG", "ACK"};
    static const int bits[] = {0x02, 0x01, 0x04, 0x08, 0x20, 0x10};
    size_t used = 0;
    tmp[0] = '\0';
    for (size_t i = 0; i < 6 && used < n; i++)
        if (flags & bits[i])
            used += (size_t)snprintf(tmp + used, n - used, "%s%s", used ? "|" : "", names[i]);
    return tmp;
}

/* The name of the error a call returned as -errno; "?" for anything else (a record from a
 * program's ring can hold any value, INT64_MIN included, which cannot be negated). */
static const char *errno_word(int64_t ret)
{
    const char *s = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
    return s ? s : "?";
}

/* The placeholders of the socket, multiplexing and packet events. */
static const char *placeholder_net(const struct ev *e, char c, char *tmp, size_t n)
{
    switch (c) {
    case 'E': {
        snprintf(tmp, n, "%s", errno_word(e->aux < 0 ? e->aux : e->item));
        return tmp;
    }
    case 'H':
        return e->val == SHUT_RD ? "SHUT_RD" : e->val == SHUT_WR ? "SHUT_WR" : "SHUT_RDWR";
    case 'U':
        return MUX_CALL_NAME(e->item);
    case 'B':
        snprintf(tmp, n, "0x%llx", (unsigned long long)e->aux);
        return tmp;
    case 'F':
        return tcp_flags_text(e->val, tmp, n);
    case 'Y': /* a segment's ports are in extra, a TCP state change's in aux */
        snprintf(tmp, n, "%u",
                 e->kind == EV_TCP_STATE ? (unsigned)((uint64_t)e->aux >> 48 & 0xffff)
                                         : (unsigned)((uint64_t)e->extra >> 16 & 0xffff));
        return tmp;
    case 'Z':
        snprintf(tmp, n, "%u",
                 e->kind == EV_TCP_STATE ? (unsigned)((uint64_t)e->aux >> 32 & 0xffff)
                                         : (unsigned)((uint64_t)e->extra & 0xffff));
        return tmp;
    default:
        snprintf(tmp, n, "%c", c);
        return tmp;
    }
}

/* A signal's name, "SIGUSR1", or "signal 32" for one without a name (glibc keeps 32 and 33
 * for itself: 32 is what its SIGEV_THREAD timers are told by). */
const char *narrate_signal_name(int sig, char *buf, size_t n)
{
    const char *ab = sigabbrev_np(sig);
    if (ab)
        snprintf(buf, n, "SIG%s", ab);
    else
        snprintf(buf, n, "signal %d", sig);
    return buf;
}

/* The workers' notes, in Chinese: "PREFIX X SUFFIX" in English becomes "BEFORE X AFTER";
 * a note no line matches stays as it is (it is code: "pool.close()", "alarm(1)"). */
static const struct {
    const char *prefix, *suffix, *before, *after;
} NOTES_ZH[] = {
    {"s key: set it now", "", "按下 s：现在就置位", ""},
    {"my parent is now ", "", "我的父进程现在是 ", ""},
    {"adopted: my parent is now ", "", "被收养：父进程现在是 ", ""},
    {"my parent is ", "", "我的父进程是 ", ""},
    {"killing myself with SIGKILL", "", "用 SIGKILL 结束自己", ""},
    {"exiting without waiting for child", "", "不等待子进程就退出", ""},
    {"exiting with ", " zombie children", "带着 ", " 个僵尸子进程退出"},
    {"nice ", " refused: needs CAP_SYS_NICE", "nice ", " 被拒绝：需要 CAP_SYS_NICE"},
    {"busy: task ", "", "忙：任务 ", ""},
    {"fork failed: ", "", "fork 失败：", ""},
    {"map over ", " items", "对 ", " 项执行 map"},
    {"posting an extra permit", "", "多发放一个许可", ""},
    {"", " more at full speed", "其余 ", " 次全速执行"},
    {"unblocking SIGHUP", "", "解除对 SIGHUP 的屏蔽", ""},
    {"parent closes its ", "", "父进程关闭自己的 ", ""},
    {"burst ", "", "计算段 ", ""},
    {"nanosleep ", " ms", "nanosleep ", " 毫秒"},
    {"capture off: ", "", "抓包关闭：", ""},
    {"main returns: ", " daemons die", "主线程返回：", " 个守护线程随之结束"},
    {"no broadcast on lo: unicast", "", "lo 上不能广播：改用单播", ""},
    {"remedy: ", "", "补救：", ""},
    {"", ": owner died", "", "：持有者已退出（锁由下一个等待者接手）"},
};

static const char *note_zh(const char *en, char *buf, size_t n)
{
    size_t len = strlen(en);
    for (size_t i = 0; i < sizeof(NOTES_ZH) / sizeof(NOTES_ZH[0]); i++) {
        size_t p = strlen(NOTES_ZH[i].prefix), s = strlen(NOTES_ZH[i].suffix);
        if (len < p + s || strncmp(en, NOTES_ZH[i].prefix, p) != 0 ||
            strcmp(en + len - s, NOTES_ZH[i].suffix) != 0)
            continue;
        snprintf(buf, n, "%s%.*s%s", NOTES_ZH[i].before, (int)(len - p - s), en + p,
                 NOTES_ZH[i].after);
        return buf;
    }
    snprintf(buf, n, "%s", en);
    return buf;
}

/* The text one placeholder letter stands for, into tmp. */
static const char *placeholder(const struct expand_ctx *x, char c, char *tmp, size_t n)
{
    const struct ev *e = x->e;
    const struct model_obj *o = obj_at(x->m, e->obj);
    switch (c) {
    case 'T':
        return narrate_task_name(x->m, e, tmp, n);
    case 'O':
        return obj_name(x->m, e->obj);
    case 'M':
        return obj_name(x->m, (uint64_t)e->item);
    case 'K':
        return narrate_kind_word(o ? o->kind : (unsigned)e->aux, x->lang);
    case 'P':
        snprintf(tmp, n, "%d", (int)e->pid);
        return tmp;
    case 'D':
        snprintf(tmp, n, "%d", (int)e->tid);
        return tmp;
    case 'V':
        snprintf(tmp, n, "%lld", (long long)e->val);
        return tmp;
    case 'I':
        if (e->kind == EV_ACTION && e->item > ' ' && e->item < 127)
            snprintf(tmp, n, "%c", (int)e->item);
        else
            snprintf(tmp, n, "%lld", (long long)e->item);
        return tmp;
    case 'A':
        snprintf(tmp, n, "%lld", (long long)e->aux);
        return tmp;
    case 'J': { /* the task whose kernel id is aux (a joiner), by name */
        uint32_t idx = model_task_by_tid(x->m, (int32_t)e->aux);
        if (idx != MODEL_NO_TASK && x->m->tasks[idx].name[0])
            snprintf(tmp, n, "%s", x->m->tasks[idx].name);
        else
            snprintf(tmp, n, "%lld", (long long)e->aux);
        return tmp;
    }
    case 'S': {
        return narrate_signal_name((int)e->val, tmp, n);
    }
    case 'X': {
        char text[EV_TEXT_MAX + 1];
        snprintf(text, sizeof(text), "%.*s", EV_TEXT_MAX, (e->flags & EVF_TEXT) ? e->text : "");
        if (x->lang == LANG_ZH && e->kind == EV_NOTE)
            return note_zh(text, tmp, n);
        snprintf(tmp, n, "%s", text);
        return tmp;
    }
    case 'C': {
        int64_t cap = e->kind == EV_OBJ_CREATE ? e->item : o ? o->capacity : 0;
        if (cap > 0)
            snprintf(tmp, n, "/%lld", (long long)cap);
        else
            tmp[0] = '\0';
        return tmp;
    }
    case 'N':
        return tcp_state_name(e->val);
    case 'Q':
        return tcp_state_name(e->item);
    case 'L':
        return action_label(x->ctx, e->item, x->lang);
    case 'G': /* a count of descriptors: "1 fd", "2 fds" (Chinese has no plural) */
        snprintf(tmp, n, "%lld %s", (long long)e->val,
                 x->lang == LANG_ZH || e->val != 1 ? "fds" : "fd");
        return tmp;
    case 'W': { /* epoll_ctl's descriptor, and how an ADD or MOD has it watched */
        int op = MUX_CTL_OP(e->extra), zh = x->lang == LANG_ZH;
        if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD)
            snprintf(tmp, n, "fd %d", MUX_CTL_FD(e->extra));
        else if (MUX_CTL_EDGE(e->extra))
            snprintf(tmp, n, zh ? "fd %d（边缘触发，EPOLLET）" : "fd %d, edge-triggered (EPOLLET),",
                     MUX_CTL_FD(e->extra));
        else
            snprintf(tmp, n,
                     zh ? "fd %d（水平触发，默认方式）" : "fd %d, level-triggered (the default),",
                     MUX_CTL_FD(e->extra));
        return tmp;
    }
    default:
        return placeholder_net(e, c, tmp, n);
    }
}

/* Expand tmpl into buf, never past n bytes. */
static void expand(const struct expand_ctx *x, const char *tmpl, char *buf, size_t n)
{
    size_t len = 0;
    char tmp[96];
    buf[0] = '\0';
    for (const char *p = tmpl; *p && len + 1 < n; p++) {
        const char *s;
        size_t sl;
        if (*p == '%' && p[1]) {
            p++;
            s = placeholder(x, *p, tmp, sizeof(tmp));
            sl = strlen(s);
        } else {
            s = p;
            sl = 1;
        }
        if (len + sl >= n)
            sl = n - 1 - len;
        memcpy(buf + len, s, sl);
        len += sl;
    }
    buf[len] = '\0';
}

int narrate_event(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                  char *buf, size_t n)
{
    if (!n)
        return 0;
    buf[0] = '\0';
    if (ctx && ctx->sc && ctx->sc->narrate && ctx->sc->narrate(ctx, m, e, lang, buf, n) == 1)
        return 1;
    return narrate_generic(ctx, m, e, lang, buf, n);
}

int narrate_generic(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                    char *buf, size_t n)
{
    if (!n)
        return 0;
    buf[0] = '\0';
    const struct narr *t = find_template(e->kind, variant_of(m, e));
    if (!t)
        return 0; /* state samples, scheduler switches and wakeups: noise here */
    if (e->src != EV_SRC_INSTR && !event_task(m, e) &&
        (e->kind == EV_TASK_REAPED || e->kind == EV_PROC_EXIT || e->kind == EV_SIG_DELIVER ||
         e->kind == EV_SIG_GENERATE))
        return 0; /* about a process that is not the run's (ipcscope's own helpers) */
    struct expand_ctx x = {ctx, m, e, lang};
    expand(&x, lang == LANG_ZH ? t->zh : t->en, buf, n);
    return 1;
}

/* The call a gate action stands for, as the course writes it: "%s" is the object's name. */
static const struct {
    uint16_t kind;
    const char *call;
} CALLS[] = {
    {EV_SEM_WAIT, "sem_wait(%s)"},
    {EV_SEM_POST, "sem_post(%s)"},
    {EV_MUTEX_WAIT, "lock(%s)"},
    {EV_MUTEX_RELEASE, "unlock(%s)"},
    {EV_COND_WAIT, "wait(%s)"},
    {EV_COND_SIGNAL, "notify(%s)"},
    {EV_COND_BROADCAST, "notify_all(%s)"},
    {EV_QUEUE_PUT, "put(%s)"},
    {EV_QUEUE_GET, "get(%s)"},
    {EV_PIPE_WRITE, "write(%s)"},
    {EV_PIPE_READ, "read(%s)"},
    {EV_PIPE_CLOSE, "close(%s)"},
    {EV_MQ_SEND, "mq_send(%s)"},
    {EV_MQ_RECV, "mq_receive(%s)"},
    {EV_SHM_WRITE, "a store to %s"},
    {EV_SHM_READ, "a load from %s"},
    {EV_SIG_SEND, "kill()"},
    {EV_EVENT_WAIT, "%s.wait()"},
    {EV_EVENT_SET, "%s.set()"},
    {EV_EVENT_CLEAR, "%s.clear()"},
    {EV_SOCK_BIND, "bind(%s)"},
    {EV_SOCK_LISTEN, "listen(%s)"},
    {EV_SOCK_ACCEPT, "accept(%s)"},
    {EV_SOCK_CONNECT, "connect(%s)"},
    {EV_SOCK_SEND, "send(%s)"},
    {EV_SOCK_RECV, "recv(%s)"},
    {EV_SOCK_SHUTDOWN, "shutdown(%s)"},
    {EV_SOCK_CLOSE, "close(%s)"},
    {EV_FORK_RET, "fork()"},
    {EV_TASK_EXIT, "exit()"},
    {EV_TASK_REAPED, "wait()"},
    {EV_REPARENT, "getppid()"},
    {EV_VAR, "an update of %s"},
    {EV_NOTE, "its next step"},
    {EV_BLOCK, "a blocking call on %s"},
    {EV_SLEEP, "sleep()"},
    {EV_OBJ_CREATE, "socket()"},
};

int narrate_call(const struct model *m, unsigned kind, uint32_t obj, int64_t val, char *buf,
                 size_t n)
{
    if (kind == EV_MUX_WAIT)
        return snprintf(buf, n, "%s()", val >= 0 && val < 3 ? MUX_CALLS[val] : "select");
    const char *name = obj != EV_NO_OBJ ? obj_name(m, obj) : "";
    for (size_t i = 0; i < sizeof(CALLS) / sizeof(CALLS[0]); i++) {
        if (CALLS[i].kind != kind)
            continue;
        if (kind == EV_SLEEP && val > 0)
            return snprintf(buf, n, "sleep(%lld ms)", (long long)val);
        if (kind == EV_VAR && obj == EV_NO_OBJ)
            return snprintf(buf, n, "its next step");
        return snprintf(buf, n, CALLS[i].call, name);
    }
    const char *k = ev_kind_name(kind);
    if (obj != EV_NO_OBJ)
        return snprintf(buf, n, "%s(%s)", k ? k : "?", name);
    return snprintf(buf, n, "%s", k ? k : "?");
}

/* The value part of a brief line for the socket, multiplexing and packet kinds. */
static int brief_sock_value(const struct ev *e, char *buf, size_t n)
{
    char tmp[32];
    switch (e->kind) {
    case EV_SOCK_BIND:
    case EV_SOCK_CONNECT:
        if (e->aux)
            return snprintf(buf, n, " :%lld %s",
                            (long long)(e->kind == EV_SOCK_BIND ? e->item : e->val),
                            errno_word(e->aux));
        return snprintf(buf, n, " :%lld", (long long)e->val);
    case EV_SOCK_LISTEN:
        return snprintf(buf, n, " backlog %lld", (long long)e->val);
    case EV_SOCK_ACCEPT:
        return snprintf(buf, n, " ← :%lld", (long long)e->val);
    case EV_SOCK_SEND:
    case EV_SOCK_RECV:
        if (e->item < 0)
            return snprintf(buf, n, " %s", errno_word(e->item));
        if (e->kind == EV_SOCK_RECV && e->item == 0)
            return snprintf(buf, n, " EOF");
        return snprintf(buf, n, " %lldB %s :%lld", (long long)e->item,
                        e->kind == EV_SOCK_SEND ? "→" : "←", (long long)e->aux);
    case EV_SOCK_SHUTDOWN:
        return snprintf(buf, n, " %s",
                        e->val == SHUT_RD   ? "SHUT_RD"
                        : e->val == SHUT_WR ? "SHUT_WR"
                                            : "SHUT_RDWR");
    case EV_MUX_WAIT:
    case EV_MUX_READY:
        if (e->kind == EV_MUX_WAIT && e->item == MUX_EPOLL_CTL) {
            static const char *const ops[] = {"close", "ADD", "DEL", "MOD"};
            int op = MUX_CTL_OP(e->extra);
            return snprintf(buf, n, " epoll_ctl %s fd %d%s → %lld %s 0x%llx",
                            op >= 0 && op < 4 ? ops[op] : "?", MUX_CTL_FD(e->extra),
                            MUX_CTL_EDGE(e->extra) ? " ET" : "", (long long)e->val,
                            e->val == 1 ? "fd" : "fds", (unsigned long long)e->aux);
        }
        if (e->kind == EV_MUX_READY && e->extra == MUX_READY_NONE_YET)
            return snprintf(buf, n, " %s: nothing ready yet, it sleeps", MUX_CALL_NAME(e->item));
        return snprintf(buf, n, " %s %lld %s 0x%llx", MUX_CALL_NAME(e->item), (long long)e->val,
                        e->val == 1 ? "fd" : "fds", (unsigned long long)e->aux);
    case EV_PKT:
        return snprintf(
            buf, n, " %s %u→%u seq %lld ack %lld", tcp_flags_text(e->val, tmp, sizeof(tmp)),
            (unsigned)((uint64_t)e->extra >> 16 & 0xffff), (unsigned)((uint64_t)e->extra & 0xffff),
            (long long)e->item, (long long)e->aux);
    default:
        buf[0] = '\0';
        return 0;
    }
}

/* The value part of a brief line. */
static int brief_value(const struct ev *e, char *buf, size_t n)
{
    switch (e->kind) {
    case EV_SEM_WAIT:
        return snprintf(buf, n, " =%lld%s", (long long)e->val, e->aux ? " blocks" : "");
    case EV_MUTEX_WAIT:
        return snprintf(buf, n, "%s", e->aux ? " contended, blocks" : "");
    case EV_MUTEX_PAIRS:
        return snprintf(buf, n, " ×%lld", (long long)e->item);
    case EV_SEM_PAIRS:
        return snprintf(buf, n, " ×%lld =%lld", (long long)e->item, (long long)e->val);
    case EV_SEM_SEEN_TAKEN:
        return snprintf(buf, n, " =%lld", (long long)e->val);
    case EV_EVENT_WAIT:
        return snprintf(buf, n, "%s", e->aux ? " blocks" : "");
    case EV_SEM_ACQUIRED:
    case EV_SEM_POST:
    case EV_EVENT_SET:
    case EV_EVENT_CLEAR:
    case EV_VAR:
        return snprintf(buf, n, " → %lld", (long long)e->val);
    case EV_MQ_SEND:
    case EV_MQ_RECV:
        if (e->extra == MQ_ITEM_BYTES)
            return snprintf(buf, n, " %lldB, depth %lld", (long long)e->item, (long long)e->val);
        /* fall through */
    case EV_QUEUE_PUT:
    case EV_QUEUE_GET:
        return snprintf(buf, n, " #%lld depth %lld", (long long)e->item, (long long)e->val);
    case EV_PIPE_WRITE:
    case EV_PIPE_READ:
        return snprintf(buf, n, " %lldB, %lldB in pipe", (long long)e->item, (long long)e->val);
    case EV_SHM_WRITE:
    case EV_SHM_READ:
        return snprintf(buf, n, " [%lld]=%lld", (long long)e->item, (long long)e->val);
    case EV_OBJ_CREATE:
        return snprintf(buf, n, " =%lld", (long long)e->val);
    default:
        return brief_sock_value(e, buf, n);
    }
}

/* Brief lines of events that do not touch an object. */
static int brief_task_event(const struct ev *e, const char *k, char *buf, size_t n)
{
    char label[32];
    const char *sig = narrate_signal_name((int)e->val, label, sizeof(label));
    switch (e->kind) {
    case EV_TASK_START:
        return snprintf(buf, n, "%s pid %d ppid %lld", k, (int)e->pid, (long long)e->aux);
    case EV_TASK_EXIT:
    case EV_PROC_EXIT:
        return snprintf(buf, n, "%s status %lld", k, (long long)e->val);
    case EV_TASK_REAPED:
        if (e->extra == REAP_JOIN)
            return snprintf(buf, n, "%s joined by tid %lld", k, (long long)e->aux);
        if (e->extra == REAP_WITH_PROCESS)
            return snprintf(buf, n, "%s with its process", k);
        return snprintf(buf, n, "%s status %lld by %lld", k, (long long)e->val, (long long)e->aux);
    case EV_STATE: {
        const char *s = task_state_name((unsigned)e->val);
        return snprintf(buf, n, "state → %s (%s)", s ? s : "?", ev_src_name(e->src));
    }
    case EV_NOTE:
    case EV_PROC_EXEC:
        return snprintf(buf, n, "%s \"%.*s\"", k, EV_TEXT_MAX, e->text);
    case EV_FORK_RET:
        return snprintf(buf, n, "fork() = %lld", (long long)e->val);
    case EV_SLEEP:
        return snprintf(buf, n, "%s %lld ms", k, (long long)e->val);
    case EV_SIG_SEND:
        return snprintf(buf, n, "%s %s → %lld", k, sig, (long long)e->aux);
    case EV_SIG_GENERATE: /* the task is the target; aux the sender (0: the kernel) */
        if (!e->aux)
            return snprintf(buf, n, "%s %s from the kernel", k, sig);
        return snprintf(buf, n, "%s %s from %lld", k, sig, (long long)e->aux);
    case EV_SIG_HANDLE:
    case EV_SIG_DELIVER:
        return snprintf(buf, n, "%s %s", k, sig);
    case EV_REPARENT:
        return snprintf(buf, n, "reparent %lld → %lld", (long long)e->aux, (long long)e->val);
    case EV_ACTION:
        return snprintf(buf, n, "action '%c'",
                        (e->item > ' ' && e->item < 127) ? (int)e->item : '?');
    case EV_SCHED_IN:
    case EV_WAKEUP:
        return snprintf(buf, n, "%s cpu%lld", k, (long long)e->aux);
    case EV_PKT: {
        char val[96];
        brief_sock_value(e, val, sizeof(val));
        return snprintf(buf, n, "%s%s", k, val);
    }
    case EV_TCP_STATE: /* no socket object has it yet (a half-open request): its ports */
        return snprintf(buf, n, "tcp :%u→:%u %s → %s", (unsigned)((uint64_t)e->aux >> 48 & 0xffff),
                        (unsigned)((uint64_t)e->aux >> 32 & 0xffff), tcp_state_name(e->item),
                        tcp_state_name(e->val));
    default:
        return snprintf(buf, n, "%s", k);
    }
}

int narrate_brief(const struct model *m, const struct ev *e, char *buf, size_t n)
{
    const char *k = ev_kind_name(e->kind);
    if (!k)
        k = "?";
    if (!(model_event_touches_object(e->kind) && e->obj != EV_NO_OBJ))
        return brief_task_event(e, k, buf, n);
    if (e->kind == EV_TCP_STATE)
        return snprintf(buf, n, "tcp(%s) %s → %s", obj_name(m, e->obj), tcp_state_name(e->item),
                        tcp_state_name(e->val));
    if (e->kind == EV_SOCK_NAME) /* a piece of the name: the first, or what follows it */
        return snprintf(buf, n, "ss(%s) name %.*s", obj_name(m, e->obj), EV_TEXT_MAX,
                        (e->flags & EVF_TEXT) ? e->text : "");
    if (e->kind == EV_SOCK_INFO) {
        if (!e->val)
            return snprintf(buf, n, "ss(%s) gone", obj_name(m, e->obj));
        return snprintf(buf, n, "ss(%s) %s Recv-Q %llu Send-Q %llu", obj_name(m, e->obj),
                        tcp_state_name(e->val),
                        (unsigned long long)((uint64_t)e->item & 0xffffffffu),
                        (unsigned long long)((uint64_t)e->item >> 32));
    }
    char val[64];
    brief_value(e, val, sizeof(val));
    return snprintf(buf, n, "%s(%s)%s", k, obj_name(m, e->obj), val);
}

/* Why a task is blocked on object o. */
static int narrate_blocked(const struct model *m, const struct model_task *t,
                           const struct model_obj *o, int lang, char *buf, size_t n)
{
    const char *holder = o->holder < m->ntasks ? m->tasks[o->holder].name : "-";
    int zh = lang == LANG_ZH;
    switch (o->kind) {
    case OK_SEMAPHORE:
        return snprintf(buf, n,
                        zh ? "%s 阻塞在信号量 %s 上（值 %lld）：值为 0 时 sem_wait 只能等待，"
                             "直到别的任务执行 sem_post(%s)。它在内核里睡眠，不占 CPU。"
                           : "%s is blocked on semaphore %s (value %lld): sem_wait cannot take "
                             "from 0, so it sleeps in the kernel, using no CPU, until another "
                             "task calls sem_post(%s).",
                        t->name, o->name, (long long)o->value, o->name);
    case OK_MUTEX:
        return snprintf(buf, n,
                        zh ? "%s 在等待锁 %s，锁现在由 %s 持有；持有者解锁后它才能继续。"
                           : "%s waits for the lock %s, held by %s; it continues only after the "
                             "holder unlocks it.",
                        t->name, o->name, holder);
    case OK_SOCKET:
        return snprintf(buf, n,
                        zh ? "%s 阻塞在套接字 %s 上（TCP 状态 %s）：它在内核中睡眠，直到有连接、"
                             "数据或空间到来，不占 CPU。"
                           : "%s is blocked on socket %s (TCP state %s): it sleeps in the kernel, "
                             "using no CPU, until a connection, data or buffer space arrives.",
                        t->name, o->name, o->tcp_state > 0 ? tcp_state_name(o->tcp_state) : "-");
    case OK_CONDVAR:
        return snprintf(buf, n,
                        zh ? "%s 在条件变量 %s 上睡眠，等待别的任务 signal 或 broadcast。"
                           : "%s sleeps on condition %s until another task signals or "
                             "broadcasts it.",
                        t->name, o->name);
    default:
        return snprintf(buf, n,
                        zh ? "%s 阻塞在%s %s 上（值 %lld），被唤醒之前不占用 CPU。"
                           : "%s is blocked on %s %s (value %lld) and uses no CPU until woken.",
                        t->name, narrate_kind_word(o->kind, lang), o->name, (long long)o->value);
    }
}

int narrate_task(const struct model *m, const struct model_task *t, int lang, char *buf, size_t n)
{
    int zh = lang == LANG_ZH;
    if (t->state == TS_BLOCKED && t->blocked_on < m->nobjs)
        return narrate_blocked(m, t, &m->objs[t->blocked_on], lang, buf, n);
    switch (t->state) {
    case TS_NEW:
        return snprintf(buf, n,
                        zh ? "%s 刚被创建，还没有运行。"
                           : "%s was just created and has "
                             "not run yet.",
                        t->name);
    case TS_READY:
        return snprintf(buf, n,
                        zh ? "%s 已就绪：它可以运行，正在等待一个空闲的 CPU。"
                           : "%s is ready: it could run and waits for a free CPU.",
                        t->name);
    case TS_RUNNING:
        return snprintf(buf, n, zh ? "%s 正在运行。" : "%s is running.", t->name);
    case TS_BLOCKED:
        return snprintf(buf, n,
                        zh ? "%s 在内核中睡眠（%s），被唤醒之前不占用 CPU。"
                           : "%s sleeps in the kernel (%s) and uses no CPU until woken.",
                        t->name, t->wchan[0] ? t->wchan : "?");
    case TS_ZOMBIE:
        return snprintf(buf, n,
                        zh ? "%s 已退出（状态 %d），但父进程还没有调用 wait()：它是僵尸进程，"
                             "只剩一个进程表项保存退出状态。"
                           : "%s has exited (status %d) but its parent has not called wait() "
                             "yet: it is a zombie, only a process entry holding its status.",
                        t->name, (int)t->exit_status);
    case TS_EXITED:
        return snprintf(buf, n, zh ? "%s 已结束（状态 %d）。" : "%s has finished (status %d).",
                        t->name, (int)t->exit_status);
    default:
        return snprintf(buf, n,
                        zh ? "%s 已退出并被父进程回收（状态 %d）。"
                           : "%s has exited and was reaped by its parent (status %d).",
                        t->name, (int)t->exit_status);
    }
}
