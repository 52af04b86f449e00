/*
 * ch7_sync.c - the lessons of chapter 7 (synchronisation and mutual exclusion): lock, event,
 * deadlock, philosophers.
 *
 * Listings follow src/scenarios/lock.c, event.c, deadlock.c and philosophers.c (and the
 * team helpers of src/instr_sync.c: with threads=1 the workers are threads that "main" joins);
 * the event lesson follows the course's multiprocessing.Event in Python. Questions ask who
 * holds a lock, who blocks, how many an e.set() releases, whether a cycle of waits forms.
 */
#include "../lesson.h"
#include "../run.h"

#include <limits.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* With threads=1 the team's workers are threads of "main", which joins them. */
static const struct lesson_line team_main[] = {
    LFOR("for (k = 0; k < n; k++) {"),
    LN("    pthread_create(&th[k], body, k);"),
    LEND("}"),
    LFOR("for (k = 0; k < n; k++) {"),
    LA("    pthread_join(th[k], NULL);", EV_BLOCK, "join"),
    LEND("}"),
};

/* The mutex is held by someone (the caller will wait). */
static int when_held(const struct lesson_ctx *c)
{
    return c->o && c->o->holder < c->m->ntasks;
}

/* The mutex is held, and every other task of the caller's kind ("t1" and "t2": 't'; "phil-")
 * is already blocked: this wait closes the circle. */
static int when_last_to_wait(const struct lesson_ctx *c)
{
    if (!when_held(c))
        return 0;
    size_t kind = strcspn(c->t->name, "0123456789");
    int others = 0, blocked = 0;
    for (size_t i = 0; i < c->m->ntasks; i++) {
        const struct model_task *t = &c->m->tasks[i];
        if (t == c->t || strncmp(t->name, c->t->name, kind) != 0 || t->kind != c->t->kind)
            continue;
        others++;
        blocked += t->state == TS_BLOCKED && t->blocked_on != EV_NO_OBJ;
    }
    return others > 0 && blocked == others;
}

static int when_free(const struct lesson_ctx *c)
{
    return c->o && c->o->holder >= c->m->ntasks;
}

/* ---- lock ---- */

static const struct lesson_line lk_worker[] = {
    LFOR("for (r = 0; r < rounds; r++) {"),
    LO("    if (use_lock) mutex_lock(&lock);", EV_MUTEX_WAIT, "lock"),
    LFOR("    for (i = 0; i <= width; i++) {"),
    LA("        out[pos++] = i < width ? c : '\\n';", EV_SHM_WRITE, "output"),
    LO("        sleep(char_ms);", EV_SLEEP, NULL),
    LEND("    }"),
    LO("    if (use_lock) mutex_unlock(&lock);", EV_MUTEX_RELEASE, "lock"),
    LO("    sleep(char_ms);  /* outside */", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_role lk_roles[] = {
    {"worker", "C", lk_worker, COUNT(lk_worker)},
    {"main", "C", team_main, COUNT(team_main)},
};

static const struct lesson_q lk_qs[] = {
    {.id = "lock-blocks",
     .kind = LQ_BLOCKS,
     .role = "worker",
     .ev = EV_MUTEX_WAIT,
     .obj = "lock",
     .when = when_held,
     .q_en = "Another worker holds lock and is printing its line. {task} calls {call}. What "
             "happens?",
     .q_zh = "另一个工作者持有 lock，正在打印它的一行。{task} 调用 {call}。会发生什么？",
     .why_en = {"The lock was held: {task} sleeps until the holder unlocks it; one worker at a "
                "time is in the critical section.",
                "The holder had just let go: {task} took the lock at once."},
     .why_zh = {"锁被占用：{task} 睡眠，直到持有者解锁；同一时刻只有一个工作者在临界区内。",
                "持有者刚好释放了：{task} 立刻拿到了锁。"}},
    {.id = "lock-holder",
     .kind = LQ_HOLDER,
     .role = "worker",
     .ev = EV_MUTEX_RELEASE,
     .obj = "lock",
     .when = lesson_when_waiters,
     .q_en = "{task} has printed its line and calls {call}; waiting for lock: {waiters}. Who holds "
             "lock right after?",
     .q_zh = "{task} 打印完它的一行，调用 {call}；{waiters} 在等 lock。紧接着谁持有 lock？",
     .why_en = {"Unlocking hands the lock to a waiter: {answer}.", "{answer}."},
     .why_zh = {"解锁把锁交给一个等待者：{answer}。", "{answer}。"}},
    {.id = "mixed-lines",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "worker",
     .ev = EV_SHM_WRITE,
     .target = "mixed_lines",
     .ranges = lesson_ranges_none_any,
     .q_en = "The workers print their lines one character at a time. How many lines of the "
             "output will come out mixed with another worker's characters?",
     .q_zh = "工作者一个字符一个字符地打印各自的行。输出中会有多少行混进了别的工作者的字符？",
     .why_en = {"{answer}: with the lock held for a whole line no other worker can print in "
                "between; without it (lock=0) the characters interleave.",
                NULL},
     .why_zh =
         {"{answer}：整行都持有锁时，别的工作者无法在中间打印；不加锁（lock=0）时字符会交错。",
          NULL}},
};

const struct lesson lesson_lock = {"lock", lk_roles, COUNT(lk_roles), lk_qs, COUNT(lk_qs)};

/* ---- event ---- */

static const struct lesson_line ev_waiter[] = {
    LFOR("for r in range(rounds):"),
    LN("    wait for the setter's round r"),
    LA("    e.is_set()", EV_NOTE, "e"),
    {.text = "    while not e.wait(timeout): pass", .ev = EV_EVENT_WAIT, .obj = "e", .again = 1},
    {.text = "    sleep(..)", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LEND(""),
};

static const struct lesson_line ev_setter[] = {
    LFOR("for r in range(rounds):"),
    {.text = "    sleep(delay_ms)   # the setter's pause", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LA("    e.is_set()", EV_NOTE, "e"),
    LA("    e.set()           # every waiter goes", EV_EVENT_SET, "e"),
    {.text = "    wait until all have passed", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LA("    e.clear()", EV_EVENT_CLEAR, "e"),
    LEND(""),
};

static const struct lesson_role ev_roles[] = {
    {"waiter", "Python", ev_waiter, COUNT(ev_waiter)},
    {"setter", "Python", ev_setter, COUNT(ev_setter)},
};

static int zero_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    (void)c;
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, 1};
    out[2] = (struct lesson_range){2, LONG_MAX};
    return 3;
}

static const struct lesson_q ev_qs[] = {
    {.id = "wait-blocks",
     .kind = LQ_BLOCKS,
     .role = "waiter",
     .ev = EV_EVENT_WAIT,
     .when = lesson_when_zero,
     .q_en = "e is not set. {task} calls e.wait(). What happens?",
     .q_zh = "e 没有被设置。{task} 调用 e.wait()。会发生什么？",
     .why_en = {"e.wait() sleeps while the flag is clear, until someone calls e.set().",
                "The flag had been set just before: e.wait() returned True at once."},
     .why_zh = {"标志清除时 e.wait() 睡眠，直到有人调用 e.set()。",
                "标志刚刚被设置：e.wait() 立刻返回 True。"}},
    {.id = "set-releases",
     .kind = LQ_WAITING,
     .role = "setter",
     .ev = EV_EVENT_SET,
     .when = lesson_when_waiters,
     .q_en = "Asleep in e.wait(): {waiters}. {task} calls e.set(). How many will still be "
             "waiting once it has settled?",
     .q_zh = "{waiters} 正睡在 e.wait() 中。{task} 调用 e.set()。稳定之后还有几个在等待？",
     .why_en = {"{answer}: e.set() wakes every waiter at once, not just one (unlike a semaphore "
                "post or a notify()).",
                "{answer}: e.set() wakes every waiter at once, not just one."},
     .why_zh =
         {"{answer}：e.set() 一次唤醒所有等待者，而不只是一个（不同于信号量的 post 或 notify()）。",
          "{answer}：e.set() 一次唤醒所有等待者。"}},
    {.id = "early",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "waiter",
     .ev = EV_EVENT_WAIT,
     .target = "released_early",
     .ranges = zero_ranges,
     .q_en = "Over all the rounds, how many e.wait() calls will return True before the setter's "
             "e.set() of their round?",
     .q_zh = "所有轮次中，会有多少次 e.wait() 在本轮的 e.set() 之前就返回 True？",
     .why_en = {"{answer}: e.wait() returns True only once the flag is set; the setter clears "
                "it only after every waiter has passed, so nobody gets through early.",
                NULL},
     .why_zh = {"{answer}：只有标志被设置后 e.wait() 才返回 "
                "True；设置者在所有等待者通过之后才清除它，所以没有人会提前通过。",
                NULL}},
};

const struct lesson lesson_event = {"event", ev_roles, COUNT(ev_roles), ev_qs, COUNT(ev_qs)};

/* ---- deadlock ---- */

static const struct lesson_line dl_t[] = {
    LFOR("for (r = 0; r < rounds; r++) {"),
    LO("    sleep(10);  /* work first */", EV_SLEEP, NULL),
    LN("    first = order ? A : own; second = other;"),
    LA("    pthread_mutex_lock(first);", EV_MUTEX_WAIT, NULL),
    LO("    sleep(hold_ms);", EV_SLEEP, NULL),
    LA("    pthread_mutex_lock(second);", EV_MUTEX_WAIT, NULL),
    LO("    sleep(20);  /* use both */", EV_SLEEP, NULL),
    LA("    pthread_mutex_unlock(second);", EV_MUTEX_RELEASE, NULL),
    LA("    pthread_mutex_unlock(first);", EV_MUTEX_RELEASE, NULL),
    LO("    sleep(10);", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_role dl_roles[] = {
    {"t", "C", dl_t, COUNT(dl_t)},
    {"main", "C", team_main, COUNT(team_main)},
};

static const struct lesson_q dl_qs[] = {
    {.id = "first-lock",
     .kind = LQ_BLOCKS,
     .role = "t",
     .ev = EV_MUTEX_WAIT,
     .when = when_free,
     .q_en = "{obj} is free. {task} calls {call}. What happens?",
     .q_zh = "{obj} 是空闲的。{task} 调用 {call}。会发生什么？",
     .why_en = {"It blocked: another task took {obj} first.",
                "{obj} was free: {task} took it and went on."},
     .why_zh = {"它阻塞了：另一个任务先拿到了 {obj}。", "{obj} 空闲：{task} 拿到它并继续。"}},
    {.id = "second-lock",
     .kind = LQ_BLOCKS,
     .role = "t",
     .ev = EV_MUTEX_WAIT,
     .when = when_held,
     .q_en = "{task} holds one lock and now calls {call}; {obj} is held by the other task. What "
             "happens?",
     .q_zh = "{task} 持有一把锁，现在调用 {call}；{obj} 被另一个任务持有。会发生什么？",
     .why_en = {"{obj} was held: {task} sleeps until its holder unlocks it, while keeping its "
                "own lock.",
                "The holder had let go just in time."},
     .why_zh = {"{obj} 被占用：{task} 睡眠，直到持有者解锁，同时仍持有自己那把锁。",
                "持有者刚好及时释放了。"}},
    {.id = "cycle",
     .kind = LQ_STATE,
     .role = "t",
     .ev = EV_MUTEX_WAIT,
     .when = when_last_to_wait,
     .choices = "alive,blocked,gone", /* about the task that closes the cycle, not the one
                                          already waiting: that one was blocked before */
     .q_en = "The other task already waits for a lock {task} holds; now {task} asks for {obj}, "
             "which the other holds. What will {task} be after this step?",
     .q_zh = "另一个任务已经在等 {task} 持有的锁；现在 {task} 申请另一个任务持有的 {obj}。"
             "这一步之后 {task} 会怎样？",
     .why_en = {"{answer}: each holds what the other waits for: a cycle of waits, a deadlock. "
                "Neither can ever move again unless one is killed.",
                NULL},
     .why_zh = {"{answer}"
                "：双方都持有对方在等的锁：等待形成环，即死锁。除非杀掉其中一个，否则谁也动不了。",
                NULL}},
};

const struct lesson lesson_deadlock = {"deadlock", dl_roles, COUNT(dl_roles), dl_qs, COUNT(dl_qs)};

/* ---- philosophers ---- */

static const struct lesson_line ph_phil[] = {
    LFOR("for (i = 0; i < meals; i++) {"),
    LO("    sleep(think_ms);  /* thinking */", EV_SLEEP, NULL),
    LN("    a = k, b = (k + 1) % n;  /* left, right */"),
    LO("    if (fix == WAITER) sem_wait(&waiter);", EV_SEM_WAIT, "waiter"),
    LA("    pthread_mutex_lock(&fork[a]);", EV_MUTEX_WAIT, "fork-*"),
    LO("    sleep(pause_ms);", EV_SLEEP, NULL),
    LA("    pthread_mutex_lock(&fork[b]);", EV_MUTEX_WAIT, "fork-*"),
    LA("    meals++;  /* eating */", EV_VAR, NULL),
    LO("    sleep(eat_ms);", EV_SLEEP, NULL),
    LA("    pthread_mutex_unlock(&fork[b]);", EV_MUTEX_RELEASE, "fork-*"),
    LA("    pthread_mutex_unlock(&fork[a]);", EV_MUTEX_RELEASE, "fork-*"),
    LO("    if (fix == WAITER) sem_post(&waiter);", EV_SEM_POST, "waiter"),
    LEND("}"),
};

static const struct lesson_role ph_roles[] = {
    {"phil", "C", ph_phil, COUNT(ph_phil)},
    {"main", "C", team_main, COUNT(team_main)},
};

static const struct lesson_q ph_qs[] = {
    {.id = "right-fork",
     .kind = LQ_BLOCKS,
     .role = "phil",
     .ev = EV_MUTEX_WAIT,
     .when = when_held,
     .q_en = "{task} holds its left fork and reaches for {obj}, which its neighbour holds. What "
             "happens?",
     .q_zh = "{task} 拿着左手的叉子，伸手去拿 {obj}，而邻座正拿着它。会发生什么？",
     .why_en = {"{obj} was held: {task} waits, still holding its left fork.",
                "The neighbour put it down just in time."},
     .why_zh = {"{obj} 被占用：{task} 等待，同时仍拿着左手的叉子。", "邻座刚好及时放下了它。"}},
    {.id = "left-fork",
     .kind = LQ_BLOCKS,
     .role = "phil",
     .ev = EV_MUTEX_WAIT,
     .when = when_free,
     .q_en = "{task} stops thinking and reaches for {obj}, which is free. What happens?",
     .q_zh = "{task} 停止思考，伸手去拿空闲的 {obj}。会发生什么？",
     .why_en = {"It blocked: a neighbour took {obj} first.", "{obj} was free: {task} took it."},
     .why_zh = {"它阻塞了：邻座先拿走了 {obj}。", "{obj} 空闲：{task} 拿起了它。"}},
    {.id = "fork-handover",
     .kind = LQ_HOLDER,
     .role = "phil",
     .ev = EV_MUTEX_RELEASE,
     .when = lesson_when_waiters,
     .q_en = "{task} puts {obj} down; waiting for it: {waiters}. Who holds {obj} right after?",
     .q_zh = "{task} 放下 {obj}；{waiters} 在等它。紧接着谁拿着 {obj}？",
     .why_en = {"The waiting neighbour gets it: {answer}.", "{answer}."},
     .why_zh = {"等待的邻座拿到了它：{answer}。", "{answer}。"}},
    {.id = "all-wait",
     .kind = LQ_STATE,
     .role = "phil",
     .ev = EV_MUTEX_WAIT,
     .when = when_last_to_wait,
     .choices = "alive,blocked,gone", /* about the one closing the circle (as deadlock's) */
     .q_en = "Each philosopher has taken the fork on the left. {task} now reaches for {obj}. "
             "What will {task} be after this step?",
     .q_zh = "每位哲学家都拿起了左手的叉子。{task} 现在伸手去拿 {obj}。这一步之后 {task} 会怎样？",
     .why_en = {"{answer}: when everyone holds one fork and waits for the next, the waits form a "
                "circle: a deadlock (fix=1 orders the forks, fix=2 seats at most N-1).",
                NULL},
     .why_zh = {"{answer}：每人都拿着一把叉子等下一把时，等待就形成了一个环：死锁（fix=1 "
                "给叉子排序，fix=2 最多坐 N-1 人）。",
                NULL}},
};

const struct lesson lesson_philosophers = {"philosophers", ph_roles, COUNT(ph_roles), ph_qs,
                                           COUNT(ph_qs)};
