/* The per-thread delayed flush of async routes (see coalesce.h). */
#include "coalesce.h"

#include <stdlib.h>

#include "thread_state.h"

int coalesce_init(struct coalesce *c, uv_loop_t *loop, struct thread_state *ts) {
  int rc = uv_timer_init(loop, &c->timer);
  if (rc != 0) return rc;
  c->timer.data = ts;
  uv_unref((uv_handle_t *)&c->timer);
  return 0;
}

void coalesce_close(struct coalesce *c, uv_close_cb close_cb) {
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, close_cb);
  free(c->list);
  c->list = NULL;
  c->len = c->cap = 0;
}

static void on_timer(uv_timer_t *h);

static void arm(struct coalesce *c, uint64_t due, uint64_t now) {
  c->timer_due = due;
  uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

/* Flushes every listed tunnel that is due, keeps the others in order, re-arms for the earliest. */
static void on_timer(uv_timer_t *h) {
  struct thread_state *ts = h->data;
  struct coalesce *c = &ts->coalesce;
  uint64_t now = uv_now(ts->loop), next = 0;
  uint32_t kept = 0;
  c->timer_due = 0;
  /* A flush never holds new bytes, so nothing is added to the list while it is walked. */
  for (uint32_t i = 0; i < c->len; i++) {
    struct coalesce_due e = c->list[i];
    if (e.t == NULL) continue;
    if (e.due <= now) {
      e.t->queued = false;
      relay_flush_held(&e.t->relay);
      tunnel_update(e.t); /* re-arms its polls, or closes it if that finished it */
    } else {
      c->list[kept++] = e;
      if (next == 0 || e.due < next) next = e.due;
    }
  }
  c->len = kept;
  if (next != 0) arm(c, next, now);
}

void coalesce_add(struct thread_state *ts, struct tunnel *t) {
  struct coalesce *c = &ts->coalesce;
  if (c->len == c->cap) {
    uint32_t n = c->cap == 0 ? 64 : c->cap * 2;
    struct coalesce_due *p = realloc(c->list, (size_t)n * sizeof *p);
    if (p == NULL) {
      relay_flush_held(&t->relay); /* no room to wait: write-through for this chunk */
      return;
    }
    c->list = p;
    c->cap = n;
  }
  uint64_t now = uv_now(ts->loop), due = now + t->relay.hold_ms;
  c->list[c->len++] = (struct coalesce_due){t, due};
  t->queued = true;
  /* Re-armed only for an earlier deadline: with one delay on a thread, deadlines come in order and the
   * timer is started once per flush, not per tunnel. */
  if (c->timer_due == 0 || due < c->timer_due) arm(c, due, now);
}

void coalesce_remove(struct thread_state *ts, struct tunnel *t) {
  struct coalesce *c = &ts->coalesce;
  for (uint32_t i = 0; i < c->len; i++)
    if (c->list[i].t == t) c->list[i].t = NULL;
  t->queued = false;
}
