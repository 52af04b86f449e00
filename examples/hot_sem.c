/*
 * hot_sem.c - semaphores used as locks, taken and posted back as fast as a loop can, then
 * one token kept while its thread computes.
 *
 * Two threads each take and post back a semaphore of their own (value 1) PAIRS times; two
 * more share one semaphore, SHARED_PAIRS times each (now and then one waits for the other);
 * then main takes `big` 1,000 times and keeps its token for 300 ms of computing, making no
 * call ipcscope follows. With the argument `hold`, main keeps the token until it is killed.
 * With `steal`, a thread loops on a fresh semaphore each round while another thread (with
 * `steal-fork`, a child process, on process-shared ones) takes it 5 times in the middle of
 * the loop (which goes on until it has): 64 rounds of a fold broken into from outside.
 *     cc -pthread -o hot_sem hot_sem.c && ipcscope exec -- ./hot_sem
 *
 * Under ipcscope: take/post pairs nobody waits for are counted, not recorded one by one (a
 * sem_pairs record stands for the pairs of one clock tick), every value in the trace still
 * follows from the one before, and the token main keeps shows taken (big at 0) throughout.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 300000
#define SHARED_PAIRS 50000

static sem_t sa, sb, shared, big;
static long done_sa, done_sb, done_shared;
static pthread_barrier_t start; /* the four loops begin together, so the sharers overlap */

struct job {
    sem_t *s;
    long n, *done;
};

static void *loop(void *arg)
{
    struct job *j = arg;
    pthread_barrier_wait(&start);
    for (long i = 0; i < j->n; i++) {
        sem_wait(j->s);
        ++*j->done;
        sem_post(j->s);
    }
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- steal ---- */

#define ROUNDS 64
#define OWNER_PAIRS 20000
#define STEALS 5

struct steal {
    sem_t sems[ROUNDS];
    pthread_barrier_t round; /* both sides begin and end each round together */
    long owner, stealer;     /* pairs made on the round's semaphore by each side */
    volatile int looping;    /* the round the owner's loop is well into */
    volatile int stolen;     /* the round whose takes the stealer has made */
};

static void steal_side(struct steal *st, int owner)
{
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&st->round);
        if (owner) {
            /* on until the stealer is done: it breaks into the loop, not after it */
            for (int i = 0; i < OWNER_PAIRS || st->stolen != r + 1; i++) {
                sem_wait(&st->sems[r]);
                st->owner++;
                sem_post(&st->sems[r]);
                if (i == 100)
                    st->looping = r + 1;
            }
        } else {
            while (st->looping != r + 1) /* until the owner is into its loop */
                ;
            for (int i = 0; i < STEALS; i++) {
                sem_wait(&st->sems[r]);
                st->stealer++;
                sem_post(&st->sems[r]);
            }
            st->stolen = r + 1;
        }
        pthread_barrier_wait(&st->round);
    }
}

static void *stealer(void *arg)
{
    steal_side(arg, 0);
    return NULL;
}

static int steal(int fork_it)
{
    struct steal *st =
        mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
             fork_it ? MAP_SHARED | MAP_ANONYMOUS : MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        return 1;
    pthread_barrierattr_t ba;
    pthread_barrierattr_init(&ba);
    pthread_barrierattr_setpshared(&ba, fork_it);
    pthread_barrier_init(&st->round, &ba, 2);
    for (int r = 0; r < ROUNDS; r++)
        sem_init(&st->sems[r], fork_it, 1);
    pid_t child = -1;
    pthread_t t;
    if (fork_it) {
        child = fork();
        if (child == 0) {
            steal_side(st, 0);
            _exit(0);
        }
    } else {
        pthread_create(&t, NULL, stealer, st);
    }
    steal_side(st, 1);
    if (fork_it)
        waitpid(child, NULL, 0);
    else
        pthread_join(t, NULL);
    int v = -1, ok = 1;
    for (int r = 0; r < ROUNDS; r++)
        ok &= sem_getvalue(&st->sems[r], &v) == 0 && v == 1;
    printf("steal: %d rounds, owner %ld, stealer %ld, every value 1: %s\n", ROUNDS, st->owner,
           st->stealer, ok ? "yes" : "no");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "steal", 5) == 0)
        return steal(strcmp(argv[1], "steal-fork") == 0);
    int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
    sem_init(&sa, 0, 1);
    sem_init(&sb, 0, 1);
    sem_init(&shared, 0, 1);
    sem_init(&big, 0, 1);
    if (!hold) {
        struct job jobs[] = {{&sa, PAIRS, &done_sa},
                             {&sb, PAIRS, &done_sb},
                             {&shared, SHARED_PAIRS, &done_shared},
                             {&shared, SHARED_PAIRS, &done_shared}};
        pthread_t t[4];
        pthread_barrier_init(&start, NULL, 4);
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, loop, &jobs[i]);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    for (int i = 0; i < 1000; i++) {
        sem_wait(&big);
        sem_post(&big);
    }
    sem_wait(&big);
    double t0 = now_ms();
    volatile unsigned long sum = 0;
    while (hold || now_ms() - t0 < 300) /* computing, the token kept */
        for (int i = 0; i < 10000; i++)
            sum += (unsigned long)i;
    sem_post(&big);
    printf("pairs: sa %ld, sb %ld, shared %ld, big 1001 (kept %.0f ms)\n", done_sa, done_sb,
           done_shared, now_ms() - t0);
    return 0;
}
