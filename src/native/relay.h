/* One tunnel's byte relay between two connected, non-blocking stream fds.
 *
 * This file knows nothing of libuv or Node: the caller tells it which fd is ready (relay_on_ready) and
 * asks which readiness each fd should wait for next (relay_wants). That keeps the whole relay logic
 * testable by a plain C driver under AddressSanitizer (test/native/relay-driver.c), and keeps the
 * event-loop glue (tunnel.c) down to "change a poll mask when it changes".
 *
 *   fd[CLIENT] --read--> lane[CLIENT] --send--> fd[BACKEND]
 *   fd[CLIENT] <--send-- lane[BACKEND] <--read-- fd[BACKEND]
 */
#ifndef WSPASS_RELAY_H
#define WSPASS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum relay_side { RELAY_CLIENT = 0, RELAY_BACKEND = 1 };

/* Readiness, both as what an fd is ready for and as what the relay wants to wait for. */
enum { RELAY_READ = 1u, RELAY_WRITE = 2u };

/* What ended the tunnel first; the numbers are part of the JS interface (src/tunnel/native-tunnel.ts). */
enum relay_reason {
  RELAY_OPEN = 0,
  RELAY_CLIENT_CLOSED = 1,
  RELAY_BACKEND_CLOSED = 2,
  RELAY_IDLE_TIMEOUT = 3,
  RELAY_CLIENT_ERROR = 4,
  RELAY_BACKEND_ERROR = 5,
  RELAY_CLOSED = 6,
  RELAY_DESTROYED = 7,
};

/* One direction: reads fd[src], sends to the other fd. */
struct relay_lane {
  /* Bytes read but not yet accepted by the destination: the remainder of one partial send (or the bytes
   * handed over at start). Owned by the lane (malloc'd); NULL when nothing waits. While it is non-empty
   * the source is not read, so a lane never holds more than one read (plus the hand-off bytes). */
  char *pending;
  uint32_t pending_len;
  uint32_t pending_off;
  uint64_t bytes;  /* bytes the destination accepted */
  uint32_t sends;  /* successful send calls (reported as writes) */
  bool read_eof;   /* the source sent its FIN (or its end was seen before the hand-off) */
  bool dst_shut;   /* shutdown(dst, SHUT_WR) was done: the FIN went on */
};

struct relay {
  int fd[2];                  /* owned from relay_init until relay_close_fds */
  struct relay_lane lane[2];  /* lane[i] reads fd[i] */
  uint8_t reason;             /* enum relay_reason: the first one recorded wins */
  bool failed;                /* an error or a destroy: both sides close now, pending bytes are dropped */
  bool draining;              /* graceful close: FIN both ways after pending bytes; reads are discarded */
  int error;                  /* errno behind a *_ERROR reason, 0 otherwise */
};

/* Takes ownership of both fds (they must be non-blocking). */
void relay_init(struct relay *r, int client_fd, int backend_fd);

/* Queues bytes that go out before anything read later from `src`'s fd (the hand-off bytes). Copies them.
 * Returns 0 or -ENOMEM. */
int relay_queue(struct relay *r, enum relay_side src, const char *data, size_t len);

/* `src` already sent its FIN before the relay started. */
void relay_src_ended(struct relay *r, enum relay_side src);

/* Sends what the hand-off queued and passes on a FIN already seen. Call once after the queue/ended calls. */
void relay_start(struct relay *r);

/* fd[side] is ready for `ready` (RELAY_READ also for hang-up and error). `buf` is scratch space of
 * `buf_size` bytes, shared by every tunnel of the thread: nothing points into it after this returns. */
void relay_on_ready(struct relay *r, enum relay_side side, unsigned ready, char *buf, size_t buf_size);

/* The readiness fd[side] should be polled for now (0: none). */
unsigned relay_wants(const struct relay *r, enum relay_side side);

/* Both directions are finished (FIN passed on both ways), or the relay failed: close the fds. */
bool relay_finished(const struct relay *r);

/* Graceful close: stop relaying, pass a FIN on both ways after the pending bytes, read and drop until
 * both peers' FINs arrive. Records `reason` unless one is already recorded. */
void relay_drain(struct relay *r, enum relay_reason reason);

/* Forceful: both sides are finished now. Records `reason` (and `err`) unless one is already recorded. */
void relay_fail(struct relay *r, enum relay_reason reason, int err);

/* Closes both fds and frees pending bytes. The caller must have stopped polling them first. */
void relay_close_fds(struct relay *r);

#endif
