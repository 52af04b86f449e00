/*
 * narrate.h - plain-language narration of events and task states, in English and Chinese.
 *
 * Turns a `struct ev` (plus the model, for names and values) into a sentence a student can
 * read: what happened and why it matters. The scenario's own narrate hook speaks first; the
 * generic text covers every kind in event.h. No curses here, so headless code can use it.
 */
#ifndef IPCSCOPE_NARRATE_H
#define IPCSCOPE_NARRATE_H

#include "model.h"
#include "scenario.h"

#include <stddef.h>

/*
 * Narrate event e in lang (enum lang) into buf. ctx (may be NULL) gives the scenario whose
 * narrate hook is asked first and whose action labels are used. Returns 1 when buf holds a
 * sentence, 0 when the event is scheduler noise not worth narrating (buf is then "").
 */
int narrate_event(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                  char *buf, size_t n);

/* The same without the scenario's own hook: the generic sentence only. */
int narrate_generic(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                    char *buf, size_t n);

/* One compact, language-neutral line for the event log, e.g. "sem_wait(empty) =3 blocks".
 * Returns the length written. */
int narrate_brief(const struct model *m, const struct ev *e, char *buf, size_t n);

/* Why task t is in its current state, e.g. "consumer-1 is blocked on semaphore full (value
 * 0): ...". Returns the length written. */
int narrate_task(const struct model *m, const struct model_task *t, int lang, char *buf, size_t n);

/* The call a task held at the step gate will make next (kind, obj, the gate's value), as
 * the course writes it: "sem_wait(empty)", "socket()", "epoll_wait()", "sleep(600 ms)".
 * Returns the length written. */
int narrate_call(const struct model *m, unsigned kind, uint32_t obj, int64_t val, char *buf,
                 size_t n);

/* The name of the task event e concerns ("producer-1"; "tid 4242" when unnamed). */
const char *narrate_task_name(const struct model *m, const struct ev *e, char *buf, size_t n);

/* The object kind as a word in lang ("semaphore" / "信号量"). */
const char *narrate_kind_word(unsigned obj_kind, int lang);

/* "SIGINT", or "signal 77" for a number with no name, in buf. Returns buf. */
const char *narrate_signal_name(int sig, char *buf, size_t n);

#endif
