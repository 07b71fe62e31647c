/* The native front (src/server/native-front.ts drives it): a plain listener's connections accepted in C
 * and their first bytes peeked, so that a WebSocket / Upgrade handshake reaches TypeScript without a
 * net.Socket and node:http's parser. TypeScript keeps every decision: for each connection it reads the
 * peeked head once and answers "take n bytes" (C reads and drops exactly those, the head it parsed) or
 * "give back" (nothing is read: the bytes stay in the socket for node:http). Either way C then closes its
 * poll and, from the poll's close callback, hands the fd over.
 *
 * Why the close callback: uv_poll_stop and uv_close drop the fd *number* from epoll; a poll closed after
 * Node wrapped the same fd in a net.Socket would take Node's registration away with it.
 *
 * A head that is still incomplete at its first readable event is given back (node:http reads heads in
 * pieces, with its own timeout); only a connection that sends nothing for headTimeoutMs is handed over by
 * the timer, as "timed out", so JS answers it as node:http's head timeout does. */
#ifndef WSPASS_FRONT_H
#define WSPASS_FRONT_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct thread_state;

/* How a connection is handed over to JS (part of the JS interface). */
enum front_handover { FRONT_GIVEN_BACK = 0, FRONT_TAKEN = 1, FRONT_TIMED_OUT = 2 };

struct front_listener {
  uv_poll_t poll;
  struct thread_state *ts;
  struct front_listener *prev, *next;
  double id;
  int fd;               /* our duplicate of the Node server's listening fd; closed with the poll */
  uint32_t peek_bytes;  /* the listener's head limit + 1: what one peek may show */
  uint64_t timeout_ms;  /* headTimeoutMs (0: none) */
  bool paused;          /* accept4 ran out of fds: polling resumes on the next timer tick */
  bool closing;
};

struct front_conn {
  uv_poll_t poll;
  struct thread_state *ts;
  struct front_conn *prev, *next;
  double id, listener_id;
  int fd;
  uint64_t deadline;    /* loop time at which a silent connection is handed over (0: never) */
  int handover;         /* enum front_handover, or -1: closed quietly (EOF, error, worker exit) */
  bool closing;
  struct sockaddr_storage peer, local;
};

/* Everything of the front on one thread (embedded in struct thread_state). */
struct front_state {
  struct front_listener *listeners;
  struct front_conn *conns;
  double seq;           /* the last id given to a listener or connection */
  char *buf;            /* the peek buffer, sized for the largest listener */
  size_t buf_len;
  uv_timer_t timer;     /* head timeouts and resuming a paused accept */
  bool timer_ready;
  napi_ref on_head;     /* JS (listenerId, connId, head, peerAddr, peerPort, localAddr, localPort) => n */
  napi_ref on_fd;       /* JS (listenerId, connId, fd, handover) => void */
};

/* Starts accepting on a duplicate of `fd`. Returns the listener id, or a negative errno. */
double front_listen(struct thread_state *ts, int fd, uint32_t peek_bytes, uint64_t timeout_ms);

/* Stops accepting on listener `id` (connections already accepted go on to their hand-over). */
void front_close(struct thread_state *ts, double id);

/* Closes, quietly, the connections of listener `id` still waiting for their first bytes (a server that is
 * destroyed, not drained: node:http closes its own connections then). */
void front_drop(struct thread_state *ts, double id);

/* Worker exit: closes every listener, connection and fd, calls no JS. */
void front_close_all(struct thread_state *ts);

#endif
