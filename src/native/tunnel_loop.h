/* The tunnels' own epoll set, one per thread, and the loop that serves it inside a turn of the worker's
 * libuv loop.
 *
 * Why: per relayed message the core makes the same reads and sends as nginx; what stayed above nginx was
 * Node's fixed work per loop turn (the check phase opens a callback scope on every turn, libuv's idle-time
 * probe, the other phases), paid on every wake-up while each fd had its own uv_poll. Here the tunnels' fds
 * are in a private epoll set, which Node's loop watches through one uv_poll. Once woken, the core stays in
 * its own loop (epoll_wait on the set) for as long as Node's loop has nothing to do: it knows that by
 * having Node's own epoll fd (uv_backend_fd) in the set while it stays, and by waiting no longer than
 * uv_backend_timeout (Node's next timer, or 0 when Node has work queued).
 *
 * Node's fd cannot be in the set while the set is in Node's epoll (a cycle: epoll_ctl refuses it with
 * ELOOP). So on entry the uv_poll is stopped (uv_poll_stop takes the fd out of libuv's epoll at once) and
 * Node's fd is added; on leaving, the reverse. Four epoll_ctl calls per stay, and a stay lasts until Node
 * has something to do (a timer, a message, a socket of its own). */
#ifndef WSPASS_TUNNEL_LOOP_H
#define WSPASS_TUNNEL_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Called for each ready fd of the set: `owner` and `side` as given to tunnel_loop_arm, `events` the
 * UV_READABLE / UV_WRITABLE bits the fd is ready for, within what it was armed with. */
typedef void (*tunnel_loop_cb)(void *owner, int side, int events);

struct tunnel_loop {
  uv_loop_t *loop;
  tunnel_loop_cb on_ready;
  uv_poll_t poll; /* the set in Node's loop, while the core is not staying */
  int epfd;
  bool staying;
};

/* Creates the set and its uv_poll (unreferenced: open tunnels do not keep a loop alive by themselves,
 * the worker's own handles do). `data` becomes the poll handle's data (for the close callback). 0 or a
 * libuv error (nothing left open). */
int tunnel_loop_start(struct tunnel_loop *tl, uv_loop_t *loop, tunnel_loop_cb on_ready, void *data);

/* Makes the fd's interest `want` (UV_READABLE | UV_WRITABLE, 0: out of the set), where it was `had`.
 * `owner` must be at least 2-byte aligned (its low bit carries `side`, 0 or 1). 0 or a libuv error. */
int tunnel_loop_arm(struct tunnel_loop *tl, int fd, void *owner, int side, int had, int want);

/* Worker exit: closes the set's handle (cb gets it) and the set. Not while staying (exit runs outside). */
void tunnel_loop_close(struct tunnel_loop *tl, uv_close_cb cb);

#endif
