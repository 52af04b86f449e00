/*
 * ch6_ipc.c - the lessons of chapter 6 (inter-process communication): prodcons, pipe,
 * message-queue, shared-memory, signals, semaphore.
 *
 * Each lesson gives its roles' code, written from the worker code in src/scenarios/ (every
 * line that performs an action names its event kind and object, and tests/test_code_panel.c
 * checks that a recorded run walks the lines in order), and the questions predict mode asks.
 */
#include "../lesson.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- prodcons ---- */

static const struct lesson_line pc_producer[] = {
    LN("void producer(long k)"),
    LN("{"),
    LFOR("    for (id = k; id < items; id += producers) {"),
    LA("        sem_wait(&empty);          /* a free slot */", EV_SEM_WAIT, "empty"),
    LA("        pthread_mutex_lock(&buf);", EV_MUTEX_WAIT, "buf"),
    LA("        put(buffer, id);", EV_QUEUE_PUT, "buffer"),
    LA("        pthread_mutex_unlock(&buf);", EV_MUTEX_RELEASE, "buf"),
    LA("        sem_post(&full);           /* one more item */", EV_SEM_POST, "full"),
    LEND("    }"),
    LN("}"),
};

static const struct lesson_line pc_consumer[] = {
    LN("void consumer(void)"),
    LN("{"),
    LFOR("    while (claims++ < items) {"),
    LA("        sem_wait(&full);           /* an item */", EV_SEM_WAIT, "full"),
    LA("        pthread_mutex_lock(&buf);", EV_MUTEX_WAIT, "buf"),
    LA("        id = get(buffer);", EV_QUEUE_GET, "buffer"),
    LA("        pthread_mutex_unlock(&buf);", EV_MUTEX_RELEASE, "buf"),
    LA("        sem_post(&empty);          /* a free slot again */", EV_SEM_POST, "empty"),
    LN("        seen[id]++;"),
    LEND("    }"),
    LN("}"),
};

static const struct lesson_role pc_roles[] = {
    {"producer", "C", pc_producer, COUNT(pc_producer)},
    {"consumer", "C", pc_consumer, COUNT(pc_consumer)},
};

static const struct lesson_q pc_qs[] = {
    {.id = "full-blocks",
     .kind = LQ_BLOCKS,
     .role = "consumer",
     .ev = EV_SEM_WAIT,
     .obj = "full",
     .q_en = "{task} is about to call {call}. full counts the items in the buffer and is "
             "{value} now. What happens?",
     .q_zh = "{task} 即将调用 {call}。full 记录缓冲区中的物品数，现在是 {value}。会发生什么？",
     .why_en = {"full was 0: there is nothing to take, so sem_wait puts {task} to sleep until a "
                "producer posts full.",
                "full was {value}: sem_wait takes one item's token and {task} goes on at once."},
     .why_zh = {"full 为 0：没有物品可取，sem_wait 让 {task} 睡眠，直到生产者对 full 执行 post。",
                "full 为 {value}：sem_wait 拿走一个令牌，{task} 立刻继续。"}},
    {.id = "post-wakes",
     .kind = LQ_WAKES,
     .role = "producer",
     .ev = EV_SEM_POST,
     .obj = "full",
     .when = lesson_when_waiters,
     .q_en = "{task} is about to call {call}; {waiters} sleep on full. Who gets through?",
     .q_zh = "{task} 即将调用 {call}；{waiters} 正睡在 full 上。谁能继续？",
     .why_en = {"sem_post wakes one sleeper on full, and it takes the new token: {answer}.",
                "Nobody woke: the token stayed on full."},
     .why_zh = {"sem_post 唤醒一个在 full 上睡眠的任务，它拿走新令牌：{answer}。",
                "没有任务被唤醒：令牌留在 full 上。"}},
    {.id = "post-value",
     .kind = LQ_VALUE,
     .role = "producer",
     .ev = EV_SEM_POST,
     .obj = "full",
     .when = lesson_when_waiters,
     .q_en = "full is {value} and {waiters} sleep on it. {task} calls {call}. What is full right "
             "after?",
     .q_zh = "full 现在是 {value}，{waiters} 正睡在它上面。{task} 调用 {call}。之后 full 是多少？",
     .why_en = {"{answer}: the post adds one, but a sleeper wakes and takes that token at once, so "
                "the value a waiter finds is used up before anyone else sees it.",
                NULL},
     .why_zh = {"{answer}：post 加一，但一个睡眠者立刻醒来拿走这个令牌，所以值马上又被用掉。",
                NULL}},
    {.id = "buf-holder",
     .kind = LQ_HOLDER,
     .ev = EV_MUTEX_RELEASE,
     .obj = "buf",
     .when = lesson_when_waiters,
     .q_en = "{task} holds buf and {waiters} wait for it. {task} calls {call}. Who holds buf next?",
     .q_zh = "{task} 持有 buf，{waiters} 在等它。{task} 调用 {call}。接下来谁持有 buf？",
     .why_en = {"Unlocking hands buf to a waiter, which returns from pthread_mutex_lock: {answer}.",
                "Nobody took it yet: {answer}."},
     .why_zh = {"解锁把 buf 交给一个等待者，它从 pthread_mutex_lock 返回：{answer}。",
                "还没有人拿到：{answer}。"}},
    {.id = "empty-blocks",
     .kind = LQ_BLOCKS,
     .role = "producer",
     .ev = EV_SEM_WAIT,
     .obj = "empty",
     .when = lesson_when_zero,
     .q_en = "The buffer is full: empty is {value}. {task} calls {call}. What happens?",
     .q_zh = "缓冲区满了：empty 是 {value}。{task} 调用 {call}。会发生什么？",
     .why_en = {"empty counts free slots and was 0: {task} sleeps until a consumer posts empty.",
                "empty was {value}: a slot was free and {task} took it."},
     .why_zh = {"empty 记录空槽位，为 0：{task} 睡眠，直到消费者对 empty 执行 post。",
                "empty 为 {value}：有空槽位，{task} 拿走了它。"}},
};

const struct lesson lesson_prodcons = {"prodcons", pc_roles, COUNT(pc_roles), pc_qs, COUNT(pc_qs)};
