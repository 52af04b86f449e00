/*
 * phrase_zh.h - the Chinese of the short English phrases scenarios give their steps (sleep
 * reasons, step labels, deadlines), for a dashboard in Chinese.
 */
#ifndef IPCSCOPE_PHRASE_ZH_H
#define IPCSCOPE_PHRASE_ZH_H

#include <stddef.h>

/* en in Chinese, written into buf (n bytes), when the table knows it; else en itself (calls,
 * names, phrases it does not know). Returns what to show. */
const char *phrase_zh(const char *en, char *buf, size_t n);

/* phrase_zh when zh, else en. */
const char *phrase_in(const char *en, int zh, char *buf, size_t n);

#endif
