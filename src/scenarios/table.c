/*
 * table.c - the scenario table: one line per scenario, in catalogue order.
 */
#include "../scenario.h"

extern const struct scenario scenario_prodcons;
extern const struct scenario scenario_zombie;           /* ch5 */
extern const struct scenario scenario_orphan;           /* ch5 */
extern const struct scenario scenario_fork;             /* ch5 */
extern const struct scenario scenario_signals;          /* ch6 */
extern const struct scenario scenario_process_pool;     /* ch5 */
extern const struct scenario scenario_nice;             /* ch5 */
extern const struct scenario scenario_semaphore;        /* ch6 */
extern const struct scenario scenario_shared_memory;    /* ch6 */
extern const struct scenario scenario_message_queue;    /* ch6 */
extern const struct scenario scenario_pipe;             /* ch6 */
extern const struct scenario scenario_states;           /* ch5 */
extern const struct scenario scenario_lock;             /* ch7 */
extern const struct scenario scenario_tcp_echo;         /* ch2 */
extern const struct scenario scenario_event;            /* ch7 */
extern const struct scenario scenario_deadlock;         /* ch7 */
extern const struct scenario scenario_philosophers;     /* ch7 */
extern const struct scenario scenario_tcp_handshake;    /* ch2 */
extern const struct scenario scenario_tcp_teardown;     /* ch2 */
extern const struct scenario scenario_threads;          /* ch8 */
extern const struct scenario scenario_condition;        /* ch9 */
extern const struct scenario scenario_udp_echo;         /* ch3 */
extern const struct scenario scenario_select_server;    /* ch4 */
extern const struct scenario scenario_poll_server;      /* ch4 */
extern const struct scenario scenario_epoll_server;     /* ch4 */
extern const struct scenario scenario_forking_server;   /* ch11 */
extern const struct scenario scenario_threading_server; /* ch11 */
extern const struct scenario scenario_concurrency;      /* ch10 */
extern const struct scenario scenario_reuseaddr;        /* ch3 */
extern const struct scenario scenario_epoll_et_lt;      /* ch4 */
extern const struct scenario scenario_udp_broadcast;    /* ch3 */
extern const struct scenario scenario_layers;           /* ch1 */
extern const struct scenario scenario_http;             /* ch2 */

const struct scenario *const scenario_table[] = {
    &scenario_prodcons,      &scenario_fork,           &scenario_orphan,
    &scenario_zombie,        &scenario_states,         &scenario_nice,
    &scenario_process_pool,  &scenario_pipe,           &scenario_message_queue,
    &scenario_shared_memory, &scenario_signals,        &scenario_semaphore,
    &scenario_lock,          &scenario_tcp_echo,       &scenario_event,
    &scenario_deadlock,      &scenario_philosophers,   &scenario_tcp_handshake,
    &scenario_tcp_teardown,  &scenario_threads,        &scenario_condition,
    &scenario_udp_echo,      &scenario_select_server,  &scenario_poll_server,
    &scenario_epoll_server,  &scenario_forking_server, &scenario_threading_server,
    &scenario_concurrency,   &scenario_reuseaddr,      &scenario_epoll_et_lt,
    &scenario_udp_broadcast, &scenario_layers,         &scenario_http,
};

const size_t scenario_count = sizeof(scenario_table) / sizeof(scenario_table[0]);
