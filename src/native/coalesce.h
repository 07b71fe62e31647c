/* Write coalescing for `async` routes, per thread (see relay_set_async): the tunnels whose relay holds
 * bytes are listed here and flushed together, so the cost is one send per destination per loop turn (or
 * per asyncDelayMs), and nothing per idle tunnel and no timer work per chunk.
 *
 *   async, asyncDelayMs 0: flushed at the end of the loop turn that held them: a uv_check (after the I/O
 *                          callbacks) and a uv_prepare (before the loop waits again: bytes held outside
 *                          the I/O phase, by a call from JS, must not wait for the next event).
 *   asyncDelayMs N:        flushed N ms after the first byte was held (or as soon as hold_at bytes wait):
 *                          one uv_timer per thread, armed for the earliest due tunnel.
 *
 * The three handles belong to the thread; the lists grow to the number of tunnels holding at once. */
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
  uv_check_t check;
  uv_prepare_t prepare;
  uv_timer_t timer;
  struct tunnel **turn; /* held this turn (NULL entries: closed since) */
  uint32_t turn_len, turn_cap;
  struct coalesce_due *delayed;
  uint32_t delayed_len, delayed_cap;
  uint64_t timer_due; /* when the timer fires; 0: not armed */
};

/* Initialises the three handles (unref'd: they never keep a loop alive) with `ts` as their data. */
int coalesce_init(struct coalesce *c, uv_loop_t *loop, struct thread_state *ts);

/* Worker exit: stops and closes the handles (close_cb runs once for each) and frees the lists. */
void coalesce_close(struct coalesce *c, uv_close_cb close_cb);

/* `t` holds bytes and is not listed yet: list it for its flush (sets t->queued). */
void coalesce_add(struct thread_state *ts, struct tunnel *t);

/* `t` is closing while listed: forget it. */
void coalesce_remove(struct thread_state *ts, struct tunnel *t);

#endif
