/* The loop side of a tunnel (see tunnel.h). The relay decides; this file only keeps each fd's interest in
 * the thread's epoll set (tunnel_loop.h) equal to what the relay wants, changed only when it changes (with
 * libuv, re-registering the fd on every event made relaying slower than JS). */
#include "tunnel.h"

#include <stddef.h>

#include "thread_state.h"

static unsigned to_uv(unsigned want) {
  return ((want & RELAY_READ) ? UV_READABLE : 0u) | ((want & RELAY_WRITE) ? UV_WRITABLE : 0u);
}

/* Takes both fds out of the set and closes them; the tunnel is reported and freed by the thread's reaper
 * (thread_state_retire), after whatever batch of events is being served. */
void tunnel_close(struct tunnel *t) {
  if (t->closing) return;
  t->closing = true;
  thread_state_unlink(t->ts, t);
  if (t->queued) coalesce_remove(t->ts, t);
  for (int i = 0; i < 2; i++) {
    /* Out of the set before close(fd), while the number is still ours. */
    tunnel_loop_arm(&t->ts->tl, t->relay.fd[i], t, i, (int)t->mask[i], 0);
    t->mask[i] = 0;
  }
  relay_close_fds(&t->relay);
  thread_state_retire(t->ts, t);
}

/* Brings one fd's interest to what the relay wants. */
static int set_mask(struct tunnel *t, int side) {
  unsigned want = to_uv(relay_wants(&t->relay, (enum relay_side)side));
  if (want == t->mask[side]) return 0;
  int rc = tunnel_loop_arm(&t->ts->tl, t->relay.fd[side], t, side, (int)t->mask[side], (int)want);
  if (rc != 0) return rc;
  t->mask[side] = want;
  return 0;
}

void tunnel_update(struct tunnel *t) {
  if (t->closing) return;
  if (t->goodbye && t->relay.goodbye != GOODBYE_ACTIVE) {
    /* The goodbye is over (handshake done, or a fallback): the FIN gets the usual grace from now. */
    t->goodbye = false;
    t->deadline = uv_now(t->ts->loop) + t->grace_ms;
  }
  /* async: bytes held by this change are flushed with the others at the end of the turn. */
  if (!t->queued && !t->relay.failed && relay_holding(&t->relay)) coalesce_add(t->ts, t);
  if (!relay_finished(&t->relay)) {
    int rc = set_mask(t, RELAY_CLIENT);
    if (rc == 0) rc = set_mask(t, RELAY_BACKEND);
    if (rc == 0) return;
    /* A poll that cannot be armed would leave the tunnel stuck: fail it instead. */
    relay_fail(&t->relay, RELAY_DESTROYED, -rc);
  }
  tunnel_close(t);
}

void tunnel_on_ready(void *owner, int side, int events) {
  struct tunnel *t = owner;
  /* An event fetched in the same batch as the one that closed the tunnel: its memory lasts until the
   * thread's reaper runs, after the batch. */
  if (t->closing) return;
  events &= (int)t->mask[side];
  if (events == 0) return;
  t->last_active = uv_now(t->ts->loop);
  unsigned ready = 0;
  if (events & UV_READABLE) ready |= RELAY_READ;
  if (events & UV_WRITABLE) ready |= RELAY_WRITE;
  relay_on_ready(&t->relay, (enum relay_side)side, ready, t->ts->buf, t->read_max, &t->ts->pipes);
  tunnel_update(t);
}

void tunnel_start(struct tunnel *t, uv_loop_t *loop) {
  /* Every fd given here is non-blocking already (libuv's sockets, whose duplicates share that flag;
   * the front's accept4 and the legs' socket, both SOCK_NONBLOCK), and the relay's calls say so again
   * (MSG_DONTWAIT, SPLICE_F_NONBLOCK): nothing to set. A failure to arm an fd fails the tunnel, which is
   * then reported like any other close. */
  t->last_active = uv_now(loop);
  uv_ref((uv_handle_t *)&t->ts->tl.poll); /* open tunnels keep the loop alive (thread_state_unlink) */
  relay_start(&t->relay);
  tunnel_update(t);
}

void tunnel_graceful_close(struct tunnel *t, uint32_t grace_ms, uint16_t close_code, uint32_t handshake_ms) {
  uint64_t now = uv_now(t->ts->loop);
  if (close_code != 0 && t->deadline == 0 && relay_goodbye(&t->relay, close_code)) {
    t->goodbye = true;
    t->grace_ms = grace_ms;
    t->deadline = now + handshake_ms;
    thread_state_need_timer(t->ts, handshake_ms < grace_ms ? handshake_ms : grace_ms);
  } else {
    uint64_t deadline = now + grace_ms;
    if (t->deadline == 0 || deadline < t->deadline) t->deadline = deadline;
    relay_drain(&t->relay, RELAY_CLOSED);
    thread_state_need_timer(t->ts, grace_ms);
  }
  tunnel_update(t);
}
