/* The backend side of a handshake, done in C (src/tunnel/native-backend-leg.ts drives it): a non-blocking
 * connect, the request head written as soon as the connection is up, and what the backend sends read and
 * passed to JS until JS has its answer. JS keeps the policy: it parses the answer, runs the timers, and then
 * either takes the fd for a tunnel or a net.Socket (leg_release), or gives up (leg_abort).
 *
 * Why: a JavaScript net.Socket for the backend (its stream state, the connect and write requests, its
 * destruction at the hand-off) is a large share of a handshake's CPU, and a native tunnel only wants the fd.
 *
 * Events to JS, in order: CONNECTED once (or ERROR with `connected` false), then DATA as bytes come, and EOF
 * or ERROR (with `connected` true), until JS releases or aborts the leg. */
#ifndef WSPASS_BACKEND_LEG_H
#define WSPASS_BACKEND_LEG_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct thread_state;

/* The event numbers are part of the JS interface (src/tunnel/native-backend-leg.ts). */
enum leg_event { LEG_CONNECTED = 1, LEG_DATA = 2, LEG_EOF = 3, LEG_ERROR = 4 };

struct leg {
  uv_poll_t poll;
  struct thread_state *ts;
  struct leg *prev, *next; /* the thread's legs (lookup by id, worker exit) */
  double id;
  int fd;                  /* owned until released, closed by leg_close otherwise */
  char *out;               /* request bytes not yet sent (malloc'd) */
  uint32_t out_len, out_off;
  unsigned mask;           /* the mask the poll runs with (0: stopped) */
  bool connected;          /* the TCP connection is up: CONNECTED was reported */
  bool shut_asked;         /* JS passed on the client's FIN: shutdown(SHUT_WR) once the request is out */
  bool ended;              /* EOF or ERROR was reported: nothing more is read */
  bool closing;            /* released or aborted: the poll is closing, the struct goes with it */
};

/* Starts connecting to `addr` and queues `head` (copied). Returns the leg (linked into the thread's list)
 * or NULL with errno-style `*err` (negative) when the socket cannot even be created. */
struct leg *leg_open(struct thread_state *ts, const struct sockaddr *addr, unsigned addr_len, const char *head,
                     uint32_t head_len, int *err);

/* The leg named `id`, or NULL (unknown, released or aborted). */
struct leg *leg_find(struct thread_state *ts, double id);

/* Passes the client's FIN on: shutdown(SHUT_WR) once the request bytes are out. */
void leg_shutdown(struct leg *l);

/* Hands the fd to the caller (who now owns it) and frees the leg. Returns -1 when the request was not
 * sent in full (the caller must not take such a connection). */
int leg_release(struct leg *l);

/* Closes the connection and frees the leg. */
void leg_abort(struct leg *l);

/* Worker exit: abort every leg of the thread, call no JS. */
void leg_abort_all(struct thread_state *ts);

/* TCP_NODELAY and keep-alive as libuv's setNoDelay(true) and setKeepAlive(true, 30 s) set them (idle 30 s,
 * probes every second, ten of them), best effort: a backend leg's socket, and a client fd the front held
 * (no net.Socket ever set them on it). */
void tcp_keepalive(int fd);

#endif
