/* The per-thread flush of async routes (see coalesce.h). */
#include "coalesce.h"

#include <stdlib.h>

#include "thread_state.h"

int coalesce_init(struct coalesce *c, uv_loop_t *loop, struct thread_state *ts) {
  int rc = uv_check_init(loop, &c->check);
  if (rc == 0) rc = uv_prepare_init(loop, &c->prepare);
  if (rc == 0) rc = uv_timer_init(loop, &c->timer);
  if (rc != 0) return rc; /* libuv's unix init functions do not fail; kept for the contract */
  c->check.data = c->prepare.data = c->timer.data = ts;
  uv_unref((uv_handle_t *)&c->check);
  uv_unref((uv_handle_t *)&c->prepare);
  uv_unref((uv_handle_t *)&c->timer);
  return 0;
}

void coalesce_close(struct coalesce *c, uv_close_cb close_cb) {
  uv_check_stop(&c->check);
  uv_prepare_stop(&c->prepare);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->check, close_cb);
  uv_close((uv_handle_t *)&c->prepare, close_cb);
  uv_close((uv_handle_t *)&c->timer, close_cb);
  free(c->turn);
  free(c->delayed);
  c->turn = NULL;
  c->delayed = NULL;
  c->turn_len = c->turn_cap = c->delayed_len = c->delayed_cap = 0;
}

/* Sends what t holds and re-arms its polls (or closes it, if that finished it). */
static void flush_one(struct tunnel *t) {
  t->queued = false;
  relay_flush_held(&t->relay);
  tunnel_update(t);
}

static void flush_turn(struct thread_state *ts) {
  struct coalesce *c = &ts->coalesce;
  /* A flush never holds new bytes, so the list cannot grow while it is walked. */
  for (uint32_t i = 0; i < c->turn_len; i++)
    if (c->turn[i] != NULL) flush_one(c->turn[i]);
  c->turn_len = 0;
  /* Nothing to flush: no callback per loop turn until something is held again. */
  uv_check_stop(&c->check);
  uv_prepare_stop(&c->prepare);
}

static void on_check(uv_check_t *h) {
  flush_turn(h->data);
}

static void on_prepare(uv_prepare_t *h) {
  flush_turn(h->data);
}

static void on_timer(uv_timer_t *h);

static void arm_timer(struct coalesce *c, uint64_t due, uint64_t now) {
  c->timer_due = due;
  uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *h) {
  struct thread_state *ts = h->data;
  struct coalesce *c = &ts->coalesce;
  uint64_t now = uv_now(ts->loop), next = 0;
  uint32_t kept = 0;
  c->timer_due = 0;
  for (uint32_t i = 0; i < c->delayed_len; i++) {
    struct coalesce_due e = c->delayed[i];
    if (e.t == NULL) continue;
    if (e.due <= now) {
      flush_one(e.t);
    } else {
      c->delayed[kept++] = e;
      if (next == 0 || e.due < next) next = e.due;
    }
  }
  c->delayed_len = kept;
  if (next != 0) arm_timer(c, next, now);
}

/* Grows a list to hold one more entry. Returns false when out of memory. */
static bool grow(void **list, uint32_t *cap, uint32_t len, size_t size) {
  if (len < *cap) return true;
  uint32_t n = *cap == 0 ? 64 : *cap * 2;
  void *p = realloc(*list, (size_t)n * size);
  if (p == NULL) return false;
  *list = p;
  *cap = n;
  return true;
}

void coalesce_add(struct thread_state *ts, struct tunnel *t) {
  struct coalesce *c = &ts->coalesce;
  uint32_t delay = t->relay.hold_ms;
  if (delay == 0) {
    if (!grow((void **)&c->turn, &c->turn_cap, c->turn_len, sizeof *c->turn)) {
      relay_flush_held(&t->relay); /* no room to wait for the turn's end: write-through for now */
      return;
    }
    c->turn[c->turn_len++] = t;
    uv_check_start(&c->check, on_check);
    uv_prepare_start(&c->prepare, on_prepare);
  } else {
    if (!grow((void **)&c->delayed, &c->delayed_cap, c->delayed_len, sizeof *c->delayed)) {
      relay_flush_held(&t->relay);
      return;
    }
    uint64_t now = uv_now(ts->loop), due = now + delay;
    c->delayed[c->delayed_len++] = (struct coalesce_due){t, due};
    /* Re-armed only for an earlier deadline: with one delay per thread, deadlines come in order and
     * the timer is started once per batch, not per tunnel. */
    if (c->timer_due == 0 || due < c->timer_due) arm_timer(c, due, now);
  }
  t->queued = true;
}

void coalesce_remove(struct thread_state *ts, struct tunnel *t) {
  struct coalesce *c = &ts->coalesce;
  for (uint32_t i = 0; i < c->turn_len; i++)
    if (c->turn[i] == t) c->turn[i] = NULL;
  for (uint32_t i = 0; i < c->delayed_len; i++)
    if (c->delayed[i].t == t) c->delayed[i].t = NULL;
  t->queued = false;
}
