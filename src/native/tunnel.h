/* A relay on a libuv loop: its fds in the thread's epoll set (tunnel_loop.h), masks changed only when they
 * change. */
#ifndef WSPASS_TUNNEL_H
#define WSPASS_TUNNEL_H

#include <uv.h>

#include "relay.h"

struct thread_state;

struct tunnel {
  struct relay relay;
  unsigned mask[2];            /* each fd's interest in the set now (UV_READABLE | UV_WRITABLE; 0: out) */
  struct thread_state *ts;
  struct tunnel *prev, *next;  /* the thread's open tunnels (timer scan, worker exit) */
  struct tunnel *retired_next; /* once closed: the thread's retired tunnels (thread_state_retire) */
  uint64_t last_active;        /* uv_now() of the last readiness: the idle clock, no timer per tunnel */
  uint64_t deadline;           /* after a graceful close: destroy at this uv_now() (during a goodbye: its
                                  bound, then FIN and grace_ms more); 0: none */
  uint32_t idle_ms;            /* 0: no idle timeout */
  uint32_t read_max;           /* bytes per read: min(thread buffer, highWaterMarkBytes) */
  uint32_t slot;               /* index in the thread's slot table; the JS id is slot + gen * 2^24 */
  uint32_t gen;
  uint32_t grace_ms;           /* during a goodbye: the grace the FIN gets once the handshake is over */
  bool goodbye;                /* `deadline` is a goodbye's bound (relay.goodbye was GOODBYE_ACTIVE) */
  bool closing;                /* fds closed, waiting for the thread's reaper */
  bool queued;                 /* listed in the thread's coalesce lists (async: bytes held) */
};

/* The thread's epoll set found one of the tunnel's fds ready (tunnel_loop_cb; `owner` is the tunnel). */
void tunnel_on_ready(void *owner, int side, int events);

/* Starts relaying. The tunnel must be set up (relay_init/queue/src_ended) and linked by the caller. It
 * then belongs to the loop, even if it fails at once (its close is reported like any other). */
void tunnel_start(struct tunnel *t, uv_loop_t *loop);

/* Forceful close now (worker exit, destroy from JS): fds out of the set and closed, the tunnel retired. */
void tunnel_close(struct tunnel *t);

/* Re-arms the fds' interest after something outside a readiness callback changed the relay (drain, fail).
 * Closes the tunnel when it is finished. */
void tunnel_update(struct tunnel *t);

/* Graceful close (see relay_drain): destroyed `grace_ms` after the FIN. With a close code (not 0), a
 * WebSocket tunnel first says goodbye (relay_goodbye), bounded by `handshake_ms`. */
void tunnel_graceful_close(struct tunnel *t, uint32_t grace_ms, uint16_t close_code, uint32_t handshake_ms);

#endif
