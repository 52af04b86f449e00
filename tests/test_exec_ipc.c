/*
 * test_exec_ipc.c - `ipcscope exec` on the examples' FIFOs, POSIX message queues, POSIX
 * shared memory and System V IPC, compared with ground truth gathered without ipcscope.
 *
 * Each example runs once under ipcscope (headless, --json and --record) and once under
 * `strace -f` alone: the number of operations ipcscope recorded on each object equals the
 * number of the matching system calls strace saw complete, the objects' last values are
 * what the program itself reports, and nothing the program made is left behind.
 */
#include "exec_common.h"

#include <sys/ipc.h>
#include <sys/sem.h>

TestSuite(exec_ipc, .init = setup_dir, .fini = teardown_dir);

/* The one object of kind in the snapshot (asserts there is exactly one). */
static json_t *only_object(json_t *snap, const char *kind)
{
    size_t i, n = 0;
    json_t *o, *found = NULL;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (!strcmp(ts_str(o, "kind"), kind)) {
            n++;
            found = o;
        }
    }
    cr_assert_eq(n, 1, "%zu objects of kind %s", n, kind);
    return found;
}

/* The task blocked on obj at some point: a block (or *_wait with aux 1) event on it. */
static int someone_blocked_on(json_t *evs, const char *obj)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev");
        if (strcmp(ts_str(e, "obj"), obj) == 0 &&
            (!strcmp(ev, "block") || (strstr(ev, "_wait") && ts_int(e, "aux") == 1)))
            return 1;
    }
    return 0;
}

Test(exec_ipc, fifo_bytes_and_blocking_opens_match_strace, .timeout = 90)
{
    json_t *snap = exec_example("fifo");
    json_t *fifo = only_object(snap, "pipe");
    cr_expect(strstr(ts_str(fifo, "name"), "-fifo"), "named after the FIFO: %s",
              ts_str(fifo, "name"));
    cr_expect(json_is_true(json_object_get(fifo, "unlinked")), "unlink was seen");
    cr_expect_eq(ts_int(fifo, "bytes"), 0);
    json_t *evs = load_trace();
    const char *name = ts_str(fifo, "name");
    long long wrote = sum_events(evs, "pipe_write", name, "item");
    long long read = sum_events(evs, "pipe_read", name, "item");
    cr_expect(printed("read 50 bytes"), "%s", g_out);
    cr_expect_eq(wrote, 50, "bytes written into the FIFO");
    cr_expect_eq(read, 50, "bytes read from it");
    cr_expect(someone_blocked_on(evs, name), "an open waited for the other end");

    /* strace: the FIFO is descriptor 3 in both processes */
    long long writes = strace_count("fifo", NULL, "write", "write(3,", "= 10");
    long long reads = strace_count("fifo", NULL, "read", "read(3,", ", 256)");
    cr_expect_eq(count_events(evs, "pipe_write", name), writes, "writes: strace saw %lld", writes);
    cr_expect_eq(count_events(evs, "pipe_read", name), reads, "reads: strace saw %lld", reads);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_ipc, mq_depth_capacity_blocking_and_timeout, .timeout = 90)
{
    json_t *snap = exec_example("mqueue");
    json_t *q = only_object(snap, "mq");
    cr_expect_eq(ts_int(q, "capacity"), 4);
    cr_expect_eq(ts_int(q, "max_depth"), 4, "the producer filled the queue");
    cr_expect_eq(ts_int(q, "depth"), 0);
    cr_expect(json_is_true(json_object_get(q, "unlinked")));
    const char *name = ts_str(q, "name");
    json_t *evs = load_trace();
    cr_expect(someone_blocked_on(evs, name), "the producer blocked on the full queue");
    /* the consumer's last timed receive gave up with ETIMEDOUT */
    size_t n, timeouts = 0;
    json_t **ops = object_events(evs, name, &n);
    for (size_t i = 0; i < n; i++)
        timeouts += !strcmp(ts_str(ops[i], "ev"), "unblock") && ts_int(ops[i], "aux") == ETIMEDOUT;
    free(ops);
    cr_expect_eq(timeouts, 1, "one receive timed out");
    cr_expect(printed("receive gave up: timed out"));
    long long sends = strace_count("mqueue", NULL, "mq_timedsend", "mq_timedsend(", "= 0");
    long long recvs = strace_count("mqueue", NULL, "mq_timedreceive", "mq_timedreceive(", "!= -1");
    cr_expect_eq(count_events(evs, "mq_send", name), sends, "sends: strace saw %lld", sends);
    cr_expect_eq(count_events(evs, "mq_recv", name), recvs, "receives: strace saw %lld", recvs);
    /* a program's messages have no ids: item is each one's length ("item 0" and its NUL: 7
     * bytes), marked so by extra, and the narration says "a message of 7 bytes" */
    cr_expect_eq(sum_events(evs, "mq_send", name, "item"), 70, "10 messages of 7 bytes");
    cr_expect_eq(sum_events(evs, "mq_send", name, "extra"), 10, "each marked as a length");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* Paced, as the dashboard runs a program by default (one action per --delay ms): the
 * program's sleeps and timeouts are on the run's clock, which stands still between steps, so
 * its events keep the order of a plain run. mqueue's consumer sleeps 100 ms "to let the queue
 * fill": that ends after the producer's sends (a sleep is a step of its own, due when its
 * time comes), and its last timed receive gives up only once nothing else can move. Before,
 * the paced run hung: the consumer slept and timed out while the producer's sends waited at
 * the gate, then waited for a producer blocked on the full queue. */
Test(exec_ipc, a_paced_run_keeps_the_programs_sleeps_and_timeouts_in_order, .timeout = 90)
{
    cr_assert_eq(compile("mqueue", NULL), 0, "cc mqueue failed");
    char *const opts[] = {"--delay", "150", "--duration", "30", NULL}; /* the dashboard's pace */
    json_t *snap = exec_run_opts("mqueue", opts, NULL, 0);
    cr_expect(printed("received 10 messages"), "as in a plain run: %s", g_out);
    cr_expect(printed("receive gave up: timed out"), "%s", g_out);
    json_t *evs = load_trace();
    long long sleeps = strace_count("mqueue", NULL, "clock_nanosleep,nanosleep", "sleep(", NULL);
    cr_expect_eq(count_events(evs, "sleep", NULL), sleeps,
                 "each usleep a step of the run's clock: strace saw %lld sleeps", sleeps);
    const char *name = ts_str(only_object(snap, "mq"), "name");
    size_t n, timeouts = 0, received = 0, after = 0;
    json_t **ops = object_events(evs, name, &n);
    for (size_t i = 0; i < n; i++) {
        int timeout =
            !strcmp(ts_str(ops[i], "ev"), "unblock") && ts_int(ops[i], "aux") == ETIMEDOUT;
        timeouts += timeout;
        received += !strcmp(ts_str(ops[i], "ev"), "mq_recv");
        after += timeouts && !strcmp(ts_str(ops[i], "ev"), "mq_recv");
    }
    free(ops);
    cr_expect_eq(timeouts, 1, "one receive timed out");
    cr_expect_eq(received, 10, "every message was received");
    cr_expect_eq(after, 0, "the timeout came last, as in a plain run");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_ipc, posix_shm_size_and_mappings_match_strace, .timeout = 90)
{
    json_t *snap = exec_example("posix_shm");
    json_t *shm = only_object(snap, "shm");
    cr_expect_eq(ts_int(shm, "size"), 4096);
    cr_expect_eq(ts_int(shm, "mappings"), 0, "every mapping was undone");
    cr_expect(json_is_true(json_object_get(shm, "unlinked")));
    cr_expect(!json_object_get(shm, "sysv"));
    const char *name = ts_str(shm, "name");
    json_t *evs = load_trace();
    size_t n;
    long long most = 0;
    json_t **ops = object_events(evs, name, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ts_str(ops[i], "ev"), "shm_map") && ts_int(ops[i], "val") > most)
            most = ts_int(ops[i], "val");
    free(ops);
    cr_expect_eq(most, 2, "both processes mapped it at once");
    long long maps = strace_count("posix_shm", NULL, "mmap", "MAP_SHARED,", NULL);
    long long unmaps = strace_count("posix_shm", NULL, "munmap", "munmap(", "4096)");
    cr_expect_eq(count_events(evs, "shm_map", name), maps, "mmap: strace saw %lld", maps);
    cr_expect_eq(count_events(evs, "shm_unmap", name), unmaps, "munmap: strace saw %lld", unmaps);
    cr_expect(printed("parent read: hello from child"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* The sysv object of kind whose name starts with prefix. */
static json_t *sysv_object(json_t *snap, const char *kind, const char *prefix)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (!strcmp(ts_str(o, "kind"), kind) && !strncmp(ts_str(o, "name"), prefix, strlen(prefix)))
            return o;
    }
    cr_assert_fail("no %s object named %s*", kind, prefix);
    return NULL;
}

Test(exec_ipc, sysv_semaphores_segment_and_queue, .timeout = 90)
{
    json_t *snap = exec_example("sysv");
    json_t *ready = sysv_object(snap, "semaphore", "sem#"), *seg = sysv_object(snap, "shm", "shm#"),
           *q = sysv_object(snap, "mq", "msg#");
    cr_expect(strstr(ts_str(ready, "name"), "[0]"), "%s", ts_str(ready, "name"));
    json_t *objs[] = {ready, seg, q};
    for (int i = 0; i < 3; i++) {
        cr_expect(json_is_true(json_object_get(objs[i], "sysv")), "%s", ts_str(objs[i], "name"));
        cr_expect(json_is_true(json_object_get(objs[i], "unlinked")), "IPC_RMID seen");
    }
    cr_expect_eq(ts_int(seg, "size"), sizeof(int));
    cr_expect_eq(ts_int(seg, "mappings"), 0);
    cr_expect_eq(ts_int(q, "depth"), 0);
    cr_expect_eq(ts_int(q, "max_depth"), 5, "five replies waited for the child");
    cr_expect(printed("replies add up to 150"));
    cr_expect(printed("the segment has 2 attaches"));

    json_t *evs = load_trace();
    /* the semaphores' values recompute from their operations (SETVAL included) */
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (strcmp(ts_str(o, "kind"), "semaphore"))
            continue;
        size_t n;
        json_t **ops = object_events(evs, ts_str(o, "name"), &n);
        long long v = n ? ts_int(ops[0], "val") : -1;
        for (size_t k = 1; k < n; k++) {
            const char *ev = ts_str(ops[k], "ev");
            if (!strcmp(ev, "obj_set"))
                v = ts_int(ops[k], "val");
            else if (!strcmp(ev, "sem_acquired"))
                v -= ts_int(ops[k], "item");
            else if (!strcmp(ev, "sem_post"))
                v += ts_int(ops[k], "item");
            if (!strcmp(ev, "sem_acquired") || !strcmp(ev, "sem_post"))
                cr_expect_eq(ts_int(ops[k], "val"), v, "%s seq %lld", ts_str(o, "name"),
                             ts_int(ops[k], "seq"));
        }
        free(ops);
        cr_expect_eq(v, ts_int(o, "value"));
    }
    /* strace: every semop completes once (semtimedop on x86-64), each attach, each message */
    long long semops = strace_count("sysv", NULL, "semop,semtimedop", "semtimedop(", "= 0") +
                       strace_count("sysv", NULL, "semop,semtimedop", "semop(", "= 0");
    long long recorded =
        count_events(evs, "sem_acquired", NULL) + count_events(evs, "sem_post", NULL);
    cr_expect_eq(recorded, semops, "semaphore operations: strace saw %lld", semops);
    long long attaches = strace_count("sysv", NULL, "shmat", "shmat(", NULL);
    cr_expect_eq(count_events(evs, "shm_map", ts_str(seg, "name")), attaches, "shmat: %lld",
                 attaches);
    long long sends = strace_count("sysv", NULL, "msgsnd", "msgsnd(", "= 0");
    long long recvs = strace_count("sysv", NULL, "msgrcv", "msgrcv(", NULL);
    cr_expect_eq(count_events(evs, "mq_send", ts_str(q, "name")), sends);
    cr_expect_eq(count_events(evs, "mq_recv", ts_str(q, "name")), recvs);
    json_t *left = json_object_get(snap, "program_leftovers");
    cr_expect_eq(json_array_size(left), 0, "the program removed everything it made");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_ipc, the_programs_own_leftovers_are_listed_apart, .timeout = 90)
{
    cr_assert_eq(compile("leftovers", NULL), 0);
    json_t *snap = exec_run("leftovers", NULL, NULL, 0);
    json_t *left = json_object_get(snap, "program_leftovers");
    cr_assert(json_is_array(left), "no program_leftovers in the snapshot");
    cr_expect_eq(json_array_size(left), 4,
                 "a shm, a queue, a named semaphore and a System V set: %s", json_dumps(left, 0));
    json_t *leaks = json_object_get(snap, "leaks");
    cr_expect_eq(ts_int(leaks, "ipc_objects"), 0, "not ipcscope's leaks");
    /* they are really there, and the test removes them */
    size_t i, named_sems = 0;
    json_t *l;
    json_array_foreach(left, i, l)
    {
        const char *kind = ts_str(l, "kind"), *path = ts_str(l, "path");
        if (strcmp(kind, "semaphore") == 0 && strncmp(path, "/dev/shm/sem.", 13) == 0) {
            named_sems++;
            cr_expect_str_eq(path + 13, ts_str(l, "name"), "the file of sem_open's name");
        }
        if (path[0]) {
            cr_expect_eq(access(path, F_OK), 0, "%s is not there", path);
            unlink(path);
        } else {
            cr_expect_str_eq(kind, "semaphore");
            cr_expect_eq(semctl((int)ts_int(l, "id"), 0, IPC_RMID), 0, "semid %lld",
                         ts_int(l, "id"));
        }
    }
    cr_expect_eq(named_sems, 1, "the named semaphore, as /dev/shm/sem.NAME: %s",
                 json_dumps(left, 0));
    json_decref(snap);
}

/* Paced, the other timed waits: pthread_timedjoin_np and System V's semtimedop give up, or
 * not, as in a plain run (the plain run's output is the ground truth). */
Test(exec_ipc, paced_timedjoin_and_semtimedop_time_out_as_in_a_plain_run, .timeout = 90)
{
    compile_source(
        "late",
        "#define _GNU_SOURCE\n#include <errno.h>\n#include <pthread.h>\n#include <stdio.h>\n"
        "#include <sys/sem.h>\n#include <sys/wait.h>\n#include <time.h>\n#include <unistd.h>\n"
        "static void *late(void *a) { (void)a; usleep(30000); return NULL; }\n"
        "static struct timespec in_ms(int ms) { struct timespec t;\n"
        "  clock_gettime(CLOCK_REALTIME, &t); t.tv_nsec += ms * 1000000L;\n"
        "  t.tv_sec += t.tv_nsec / 1000000000L; t.tv_nsec %= 1000000000L; return t; }\n"
        "int main(void) { pthread_t th; pthread_create(&th, NULL, late, NULL);\n"
        "  struct timespec t = in_ms(20);\n"
        "  printf(\"join 20 ms: %s\\n\", pthread_timedjoin_np(th, NULL, &t) ? \"timed out\" : "
        "\"joined\");\n"
        "  t = in_ms(120);\n"
        "  printf(\"join 120 ms: %s\\n\", pthread_timedjoin_np(th, NULL, &t) ? \"timed out\" : "
        "\"joined\");\n"
        "  int id = semget(IPC_PRIVATE, 1, 0600); pid_t pid = fork();\n"
        "  if (pid == 0) { usleep(30000); struct sembuf up = {0, 1, 0}; semop(id, &up, 1); "
        "_exit(0); }\n"
        "  struct sembuf down = {0, -1, 0}; struct timespec rel = {0, 20000000L};\n"
        "  printf(\"semtimedop 20 ms: %s\\n\", semtimedop(id, &down, 1, &rel) ? \"timed out\" : "
        "\"taken\");\n"
        "  rel.tv_nsec = 120000000L;\n"
        "  printf(\"semtimedop 120 ms: %s\\n\", semtimedop(id, &down, 1, &rel) ? \"timed out\" : "
        "\"taken\");\n"
        "  waitpid(pid, NULL, 0); semctl(id, 0, IPC_RMID); return 0; }\n");
    char *const plain[] = {"./late", NULL};
    struct ts_result r = run_argv(plain, NULL);
    expect_exit(&r, 0);
    char *want = strdup(r.out);
    ts_free_result(&r);
    cr_assert(strstr(want, "join 20 ms: timed out") && strstr(want, "semtimedop 120 ms: taken"),
              "plainly: %s", want);
    char *const opts[] = {"--delay", "150", "--duration", "60", NULL};
    json_t *snap = exec_run_opts("late", opts, NULL, 0);
    cr_expect_str_eq(g_out, want, "paced, the program printed otherwise than plainly");
    free(want);
    json_decref(snap);
}

/* Paced, alarm(1); sleep(10): the alarm's timer runs on the wall clock, so with one pending
 * the sleep is a real one, and the alarm cuts it short as plainly (a sleep on the run's
 * clock alone ended at the next step, before the alarm, with nothing left). */
Test(exec_ipc, paced_an_alarm_still_cuts_a_sleep_short, .timeout = 90)
{
    compile_source(
        "alarm",
        "#include <signal.h>\n#include <stdio.h>\n#include <unistd.h>\n"
        "static volatile sig_atomic_t rang;\n"
        "static void ring(int s) { (void)s; rang = 1; }\n"
        "int main(void) { signal(SIGALRM, ring); alarm(1); unsigned left = sleep(10);\n"
        "  printf(\"left %s, alarm %s\\n\", left >= 8 && left < 10 ? \"8-9 s\" : \"other\",\n"
        "         rang ? \"rang\" : \"silent\"); return 0; }\n");
    char *const opts[] = {"--delay", "150", "--duration", "30", NULL};
    json_t *snap = exec_run_opts("alarm", opts, NULL, 0);
    cr_expect(printed("left 8-9 s, alarm rang"), "as plainly: %s", g_out);
    json_decref(snap);
}

/* Paced, POSIX timers (examples/timers.c) end pause(), a sleep and a timed semaphore wait as
 * they do plainly: they run on the wall clock, so while one is armed the program's sleeps and
 * timeouts are real. Before, the 5 s sleep was one step on the run's clock (0 s left, the
 * 300 ms timer had not fired) and the 2 s sem_timedwait ran out before the 200 ms timer. */
Test(exec_ipc, paced_posix_timers_end_sleeps_and_waits_as_plainly_and_their_threads_are_seen,
     .timeout = 90)
{
    char *want = plain_output("timers");
    cr_assert(strstr(want, "4 s left") && strstr(want, "in time"), "plainly: %s", want);
    char *const opts[] = {"--delay", "150", "--duration", "60", NULL};
    json_t *snap = exec_run_opts("timers", opts, NULL, 0);
    cr_expect_str_eq(g_out, want, "paced, the program printed otherwise than plainly");
    /* the SIGEV_THREAD timer's function runs in a thread glibc starts, not the program: it is
     * a task all the same, and its post is seen (before, the semaphore ended at -1) */
    json_t *fired = ts_find_named(json_object_get(snap, "objects"), "fired");
    cr_assert_not_null(fired, "no semaphore 'fired' in the snapshot");
    cr_expect_eq(ts_int(fired, "value"), 0, "posted once, taken once");
    cr_expect_eq(ts_int(fired, "max"), 1);
    json_t *poster = ts_find_named(json_object_get(snap, "tasks"), "timers-t1");
    cr_assert_not_null(poster, "the thread that ran the timer's function is no task");
    cr_expect_str_eq(ts_str(poster, "kind"), "thread");
    cr_expect_str_eq(ts_str(poster, "state"), "reaped", "its end was recorded");
    free(want);
    json_decref(snap);
}

/* Stepped or paced, a pipe's fill is the kernel's at every call once a reader the run cannot
 * see has read it (readv here): each write finds the pipe as the reader left it, 10 bytes
 * after each 10-byte write. In a free run the counts are checked every 256 calls; paced, they
 * said 10, 20, ... 50. */
Test(exec_ipc, paced_a_pipe_read_unseen_shows_the_kernels_fill, .timeout = 90)
{
    compile_source(
        "unseen",
        "#include <stdio.h>\n#include <sys/uio.h>\n#include <sys/wait.h>\n#include <unistd.h>\n"
        "int main(void) { int data[2], ack[2]; char buf[10], a;\n"
        "  if (pipe(data) || pipe(ack)) return 1;\n"
        "  if (fork() == 0) { struct iovec v = {buf, sizeof(buf)};\n"
        "    for (int i = 0; i < 5; i++) { if (readv(data[0], &v, 1) != 10) _exit(1);\n"
        "      if (write(ack[1], \"k\", 1) != 1) _exit(1); }\n"
        "    _exit(0); }\n"
        "  for (int i = 0; i < 5; i++) { if (write(data[1], \"0123456789\", 10) != 10) return 1;\n"
        "    if (read(ack[0], &a, 1) != 1) return 1; }\n"
        "  wait(NULL); puts(\"done\"); return 0; }\n");
    char *const opts[] = {"--delay", "20", "--duration", "60", NULL};
    json_t *snap = exec_run_opts("unseen", opts, NULL, 0);
    cr_expect(printed("done"), "%s", g_out);
    json_t *evs = load_trace();
    size_t i, writes = 0;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "pipe_write") != 0 || ts_int(e, "item") != 10)
            continue;
        writes++;
        cr_expect_leq(ts_int(e, "val"), 10, "write %zu: %lld bytes in the pipe, the kernel had 10",
                      writes, ts_int(e, "val"));
    }
    cr_expect_eq(writes, 5);
    json_decref(evs);
    json_decref(snap);
}
