/* Write coalescing for routes with `async` and `asyncDelayMs` N > 0, per thread (see relay_set_async):
 * the tunnels whose relay holds bytes are listed here with the time they are due, and one uv_timer per
 * thread, armed for the earliest, flushes them: one send per destination per N ms (or sooner, once a
 * lane holds hold_at bytes), nothing per idle tunnel, no timer work per chunk.
 *
 * `async` without a delay needs nothing here: a lane reads its source at most once per loop turn, so
 * write-through already sends at most once per destination per turn (what the JavaScript engine gets by
 * corking until setImmediate). Holding to the end of the turn was measured: the same sends per message
 * and a copy more (native-notes/native-tunnel-engine.md), so the addon relays such routes write-through.
 *
 * The list grows to the number of tunnels holding at once. */
#ifndef WSPASS_COALESCE_H
#define WSPASS_COALESCE_H

#include <stdint.h>
#include <uv.h>

struct thread_state;
struct tunnel;

struct coalesce_due {
  struct tunnel *t; /* NULL: the tunnel closed before its flush */
  uint64_t due;     /* uv_now() at which it is flushed */
};

struct coalesce {
  uv_timer_t timer;
  struct coalesce_due *list;
  uint32_t len, cap;
  uint64_t timer_due; /* when the timer fires; 0: not armed */
};

/* Initialises the timer (unref'd: it never keeps a loop alive) with `ts` as its data. */
int coalesce_init(struct coalesce *c, uv_loop_t *loop, struct thread_state *ts);

/* Worker exit: stops and closes the timer (close_cb runs once) and frees the list. */
void coalesce_close(struct coalesce *c, uv_close_cb close_cb);

/* `t` holds bytes and is not listed yet: list it, due relay.hold_ms from now (sets t->queued). */
void coalesce_add(struct thread_state *ts, struct tunnel *t);

/* `t` is closing while listed: forget it. */
void coalesce_remove(struct thread_state *ts, struct tunnel *t);

#endif
