/* The libuv side of a tunnel (see tunnel.h). The relay decides; this file only keeps each uv_poll's
 * mask equal to what the relay wants. uv_poll_start re-registers the fd with epoll on every call, so it
 * is called only when a mask really changes: calling it on every event made relaying slower than JS. */
#include "tunnel.h"

#include <stddef.h>

#include "thread_state.h"

static unsigned to_uv(unsigned want) {
  return ((want & RELAY_READ) ? UV_READABLE : 0u) | ((want & RELAY_WRITE) ? UV_WRITABLE : 0u);
}

static void on_handle_closed(uv_handle_t *h) {
  struct tunnel *t = h->data;
  struct thread_state *ts = t->ts;
  if (--t->handles_open == 0) thread_state_closed(ts, t); /* frees t */
  thread_state_handle_closed(ts);
}

/* Stops both polls, closes both fds, hands the handles back to libuv. The tunnel is freed (and its
 * close reported) by the last close callback. */
void tunnel_close(struct tunnel *t) {
  if (t->closing) return;
  t->closing = true;
  thread_state_unlink(t->ts, t);
  if (t->queued) coalesce_remove(t->ts, t);
  for (int i = 0; i < 2; i++) {
    /* Stop before close(fd): libuv must drop the fd from epoll while the number is still ours. */
    uv_poll_stop(&t->poll[i]);
    t->mask[i] = 0;
  }
  relay_close_fds(&t->relay);
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&t->poll[i], on_handle_closed);
}

static void on_ready(uv_poll_t *p, int status, int events);

/* Brings one poll's mask to what the relay wants. */
static int set_mask(struct tunnel *t, int side) {
  unsigned want = to_uv(relay_wants(&t->relay, (enum relay_side)side));
  if (want == t->mask[side]) return 0;
  int rc = want == 0 ? uv_poll_stop(&t->poll[side]) : uv_poll_start(&t->poll[side], (int)want, on_ready);
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

static void on_ready(uv_poll_t *p, int status, int events) {
  struct tunnel *t = p->data;
  int side = p == &t->poll[RELAY_CLIENT] ? RELAY_CLIENT : RELAY_BACKEND;
  t->last_active = uv_now(t->ts->loop);
  if (status < 0) {
    /* libuv reports poll errors (EBADF and the like) here; the socket error itself comes from read(). */
    relay_fail(&t->relay, side == RELAY_CLIENT ? RELAY_CLIENT_ERROR : RELAY_BACKEND_ERROR, -status);
  } else {
    unsigned ready = 0;
    if (events & (UV_READABLE | UV_DISCONNECT)) ready |= RELAY_READ;
    if (events & UV_WRITABLE) ready |= RELAY_WRITE;
    size_t n = t->read_max;
    relay_on_ready(&t->relay, (enum relay_side)side, ready, t->ts->buf, n, &t->ts->pipes);
  }
  tunnel_update(t);
}

int tunnel_start(struct tunnel *t, uv_loop_t *loop) {
  int rc = uv_poll_init(loop, &t->poll[RELAY_CLIENT], t->relay.fd[RELAY_CLIENT]);
  if (rc != 0) return rc; /* nothing of libuv's holds the tunnel yet: the caller frees it */
  t->poll[RELAY_CLIENT].data = t;
  t->handles_open = 1;
  t->ts->handles_open++;
  t->last_active = uv_now(loop);
  rc = uv_poll_init(loop, &t->poll[RELAY_BACKEND], t->relay.fd[RELAY_BACKEND]);
  if (rc != 0) {
    /* The client handle exists and must be closed through libuv: the tunnel closes as destroyed and its
     * close is reported from the handle's close callback, like any other. */
    t->closing = true;
    thread_state_unlink(t->ts, t);
    relay_fail(&t->relay, RELAY_DESTROYED, -rc);
    relay_close_fds(&t->relay);
    uv_close((uv_handle_t *)&t->poll[RELAY_CLIENT], on_handle_closed);
    return 0;
  }
  t->poll[RELAY_BACKEND].data = t;
  t->handles_open = 2;
  t->ts->handles_open++;
  relay_start(&t->relay);
  tunnel_update(t);
  return 0;
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
