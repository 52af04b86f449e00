/*
 * snapshot.h - the final snapshot (DESIGN.md section 3), built from a model.
 *
 * Shared by a live run and by replay, so a replayed trace gives the same snapshot as the run
 * that recorded it.
 */
#ifndef IPCSCOPE_SNAPSHOT_H
#define IPCSCOPE_SNAPSHOT_H

#include "model.h"

#include <jansson.h>
#include <stdint.h>

/* Add "events", "tasks" and "objects" for m to out, with times settled at now (ns). */
void snapshot_fill(json_t *out, const struct model *m, uint64_t now);

/* One task / one object as JSON. */
json_t *snapshot_task(const struct model *m, const struct model_task *t, uint64_t now);
json_t *snapshot_object(const struct model *m, const struct model_obj *o);

/* ss's word for a socket's state (proto 6 TCP, 17 UDP; TCP numbering): "ESTAB",
 * "TIME-WAIT", "LISTEN", "UNCONN" ... */
const char *snapshot_ss_state(int proto, int state);

/* A socket's two ends as ss prints them, into local and peer (n bytes each,
 * SNAPSHOT_END_MAX is room for any): "127.0.0.1:5000", "*" when unbound or unconnected; a
 * Unix socket's name ("*" unnamed) and inode, "/tmp/srv.sock 5610210", "* 5610211", and "*"
 * for no inode (never in the table; no peer). */
#define SNAPSHOT_END_MAX (MODEL_SOCK_NAME_MAX + 16)
void snapshot_socket_ends(const struct model_obj *o, char *local, char *peer, size_t n);

#endif
