/* Everything the addon keeps per Node environment (main thread or worker), found through
 * napi_get_instance_data: the one read buffer, the open tunnels and their epoll set, the coarse idle timer, the flush of
 * asyncDelayMs routes, the pipes for splice, the backend legs of handshakes in progress, the native front
 * (front.h), the JS handlers. No globals: each worker thread relays on its own loop with its own state. */
#ifndef WSPASS_THREAD_STATE_H
#define WSPASS_THREAD_STATE_H

#include <node_api.h>
#include <uv.h>

#include "backend_leg.h"
#include "coalesce.h"
#include "front.h"
#include "held_fds.h"
#include "tunnel.h"
#include "tunnel_loop.h"

/* The thread's read buffer: one read of any tunnel, sent on before the next read. */
#define THREAD_BUFFER_BYTES (64 * 1024)
/* Ids are slot + generation * 2^24, exact in a JS number. */
#define SLOT_BITS 24

struct thread_state {
  napi_env env;
  uv_loop_t *loop;
  char *buf;                     /* THREAD_BUFFER_BYTES, owned here */
  struct tunnel *head;           /* open tunnels, not yet closing */
  struct tunnel **slots;         /* slot -> tunnel (NULL: free); owned here, tunnels are not */
  uint32_t *slot_gen;            /* generation of each slot, bumped when it is freed */
  uint32_t slot_count;
  uint32_t free_slot;            /* a hint: the lowest slot that may be free */
  uv_timer_t timer;              /* the coarse idle / grace timer, one per thread */
  struct tunnel_loop tl;         /* the tunnels' epoll set and its stay in the loop (tunnel_loop.h) */
  uv_idle_t reaper;              /* reports and frees retired tunnels, on the loop turn after their close */
  struct tunnel *retired;        /* closed tunnels waiting for the reaper (linked through `retired_next`) */
  uint64_t timer_period;         /* ms; 0: not running */
  struct coalesce coalesce;      /* asyncDelayMs: the tunnels holding bytes and their flush timer */
  struct pipe_pool pipes;        /* splice(2) pipes lent to bulk lanes (at most PIPE_POOL_MAX) */
  uint32_t live;                 /* tunnels whose close was not reported yet */
  uint32_t handles_open;         /* libuv handles whose close callback has not run (worker exit waits) */
  napi_ref on_close;             /* JS (id, reason, toBackend, toClient, writes, errno) => void */
  struct leg *legs;              /* backend legs of handshakes in progress (backend_leg.h) */
  double leg_seq;                /* the last leg id given out */
  double leg_sends;              /* successful send(2) calls of every leg so far (a double: exact to 2^53, as JS reads it) */
  napi_ref on_leg;               /* JS (id, event, errno, length) => void */
  napi_ref leg_buf_ref;          /* the JS Buffer legs read into (kept alive by the reference) */
  char *leg_buf;                 /* its bytes */
  size_t leg_buf_len;
  struct front_state front;      /* the native front: listeners and connections before their head (front.h) */
  struct held_fds held;          /* raw fds JS holds that no socket or tunnel owns yet (held_fds.h) */
  napi_async_context async_ctx;  /* for napi_make_callback from libuv callbacks */
  napi_async_cleanup_hook_handle cleanup;
  bool tearing_down;             /* worker exit: close everything, call no JS */
};

/* The state of `env`, created on first use. NULL with a pending JS exception on failure. */
struct thread_state *thread_state_get(napi_env env);

/* Slot table: an id for a new tunnel, and the tunnel behind an id (NULL: unknown or already closed). */
int thread_state_add(struct thread_state *ts, struct tunnel *t);
struct tunnel *thread_state_find(struct thread_state *ts, double id);

/* The JS id of a tunnel. */
double thread_state_id(const struct tunnel *t);

/* Calls the JS handler `ref` with `argc` values through napi_make_callback (the global object as its
 * receiver, as make_callback wants an object), inside the caller's handle scope. Returns its result, or
 * NULL when there is no handler or it threw: the exception goes to the thread's uncaught-exception path
 * (a worker that throws dies and takes exactly its own tunnels with it) and none is left pending for the
 * next call into this addon. The tunnels' close handler, the backend legs and the front all call JS so. */
napi_value thread_state_call(struct thread_state *ts, napi_ref ref, size_t argc, napi_value *argv);

/* A tunnel that never started (open() failed before tunnel_start): unlink it, free its slot, close its fds, free it. */
void thread_state_discard(struct thread_state *ts, struct tunnel *t);

/* A tunnel finished relaying: unlink it (its slot stays until its close is reported). */
void thread_state_unlink(struct thread_state *ts, struct tunnel *t);

/* A closed tunnel (fds closed, out of the set): the reaper reports it to JS (unless tearing down) and frees
 * its slot and memory on the loop's next turn, so an event already fetched for it in the batch being
 * served still finds it (marked closing). */
void thread_state_retire(struct thread_state *ts, struct tunnel *t);

/* One of the thread's libuv handles is closed (counted for worker exit, which frees the state after the
 * last one). Call it last in a close callback: it may free `ts`. */
void thread_state_handle_closed(struct thread_state *ts);

/* A tunnel with this idle timeout or grace deadline exists: make sure the coarse timer ticks often
 * enough for it. */
void thread_state_need_timer(struct thread_state *ts, uint64_t within_ms);

#endif
