/*
 * fork_buffer.c - a bounded buffer between two processes: unnamed semaphores made with
 * sem_init(&s, 1, n) ("pshared") in a MAP_SHARED mapping that fork hands to the child.
 *
 * The parent produces ITEMS numbers into a ring of SLOTS, the child consumes them: `empty`
 * counts free slots, `full` filled ones, `mutex` guards the ring's indices. Both processes use
 * the very same three semaphores (the mapping is shared, not copied). At the end the parent
 * prints how many each side moved and the semaphores' values (sem_getvalue).
 *     cc -pthread -o fork_buffer fork_buffer.c && ipcscope exec -- ./fork_buffer
 *
 * Under ipcscope: three semaphores, each one object seen by both processes (a private
 * semaphore copied by fork would be two), ending at empty 4, full 0, mutex 1.
 */
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 4
#define ITEMS 40

struct ring {
    sem_t empty, full, mutex;
    int slot[SLOTS];
    int in, out;
    long consumed_sum;
};

int main(void)
{
    struct ring *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    sem_init(&r->empty, 1, SLOTS);
    sem_init(&r->full, 1, 0);
    sem_init(&r->mutex, 1, 1);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) { /* the consumer */
        for (int i = 0; i < ITEMS; i++) {
            sem_wait(&r->full);
            sem_wait(&r->mutex);
            r->consumed_sum += r->slot[r->out];
            r->out = (r->out + 1) % SLOTS;
            sem_post(&r->mutex);
            sem_post(&r->empty);
            if (i % 8 == 0)
                usleep(2000); /* now and then slower than the producer: the buffer fills */
        }
        _exit(0);
    }
    for (int i = 1; i <= ITEMS; i++) { /* the producer */
        sem_wait(&r->empty);
        sem_wait(&r->mutex);
        r->slot[r->in] = i;
        r->in = (r->in + 1) % SLOTS;
        sem_post(&r->mutex);
        sem_post(&r->full);
    }
    int status = 0;
    waitpid(child, &status, 0);
    int e, f, m;
    sem_getvalue(&r->empty, &e);
    sem_getvalue(&r->full, &f);
    sem_getvalue(&r->mutex, &m);
    printf("produced %d, consumed sum %ld; empty %d full %d mutex %d\n", ITEMS, r->consumed_sum, e,
           f, m);
    sem_destroy(&r->empty);
    sem_destroy(&r->full);
    sem_destroy(&r->mutex);
    munmap(r, sizeof *r);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
