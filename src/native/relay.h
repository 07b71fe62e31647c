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
#include <sys/types.h>

#include "pipe_pool.h"
#include "ws_frames.h"

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
   * handed over at start), owned by the lane (malloc'd); or, with `spliced`, a pipe of the thread's pool
   * holding them (relay_splice.c). NULL when nothing waits. While something waits the source is not read,
   * so a lane never holds more than one read (plus the hand-off bytes). */
  union {
    char *pending;
    struct relay_pipe *pipe;
  };
  uint32_t pending_len;
  uint32_t pending_off;
  uint64_t bytes;      /* bytes the destination accepted */
  uint32_t sends;      /* successful send calls (reported as writes) */
  bool read_eof : 1;   /* the source sent its FIN (or its end was seen before the hand-off) */
  bool dst_shut : 1;   /* shutdown(dst, SHUT_WR) was done: the FIN went on */
  /* asyncDelayMs: `pending` holds coalesced reads (not yet offered to the destination, at most
   * hold_at bytes), rather than the remainder of a partial send. relay_flush_held sends them. */
  bool held : 1;
  bool bulk : 1;       /* the last read filled its buffer: the next one splices, if a pipe is free */
  bool spliced : 1;    /* `pipe`, not `pending`, holds what waits (pipe->len bytes) */
};

/* How a drain's goodbye (ws_goodbye.c) ended; the numbers are part of the JS interface. */
enum relay_goodbye {
  GOODBYE_NONE = 0,      /* no goodbye asked for */
  GOODBYE_HANDSHAKE = 1, /* close frames exchanged both ways, then FIN */
  GOODBYE_TIMEOUT = 2,   /* the handshake bound passed first: FIN */
  GOODBYE_FIN = 3,       /* a bare FIN: not WebSocket, framing that is not, or a close already under way */
  GOODBYE_ACTIVE = 4,    /* in progress */
};

struct relay {
  int fd[2];                  /* owned from relay_init until relay_close_fds */
  struct relay_lane lane[2];  /* lane[i] reads fd[i] */
  uint8_t reason;             /* enum relay_reason: the first one recorded wins */
  bool failed;                /* an error or a destroy: both sides close now, pending bytes are dropped */
  bool draining;              /* graceful close: FIN both ways after pending bytes; reads are discarded */
  bool websocket;             /* the tunnel carries WebSocket: track[] follows its frames */
  uint8_t goodbye;            /* enum relay_goodbye */
  uint8_t goodbye_flags;      /* ws_goodbye.c's progress */
  uint16_t close_code;        /* the close code the client gets during a goodbye */
  int error;                  /* errno behind a *_ERROR reason, 0 otherwise */
  uint32_t frames_dropped;    /* client frames dropped after the backend was sent its close (goodbye) */
  struct ws_track track[2];   /* websocket only: track[i] follows the frames read from fd[i] */
  uint32_t hold_at;           /* asyncDelayMs: reads are coalesced until this many bytes wait (or the
                                 caller flushes, after the delay); 0: write-through */
  uint32_t hold_ms;           /* asyncDelayMs, for the glue (coalesce.c); kept here because the relay
                                 struct has room for it and the tunnel struct does not */
  uint32_t greeting;          /* bytes at the front of lane[BACKEND]'s queue that are not the tunnel's
                                 (relay_greet: the 101): sent first, not in the byte counts (their sends
                                 are counted) */
};

/* asyncDelayMs (write coalescing): what each read brings is held in the lane instead of sent at once,
 * until `hold_at` bytes wait or the caller calls relay_flush_held (coalesce.c: `hold_ms` after the first
 * held byte). A FIN or a drain sends what is held at once. hold_at 0 turns it off. Call before
 * relay_start. */
void relay_set_async(struct relay *r, uint32_t hold_at, uint32_t hold_ms);

/* Sends what async held in either lane (one send per lane). */
void relay_flush_held(struct relay *r);

/* Whether either lane holds coalesced bytes waiting for relay_flush_held. */
static inline bool relay_holding(const struct relay *r) {
  return r->lane[0].held || r->lane[1].held;
}

/* Takes ownership of both fds (they must be non-blocking). */
void relay_init(struct relay *r, int client_fd, int backend_fd);

/* Queues bytes that go out before anything read later from `src`'s fd (the hand-off bytes). Copies them.
 * Returns 0 or -ENOMEM. */
int relay_queue(struct relay *r, enum relay_side src, const char *data, size_t len);

/* Queues bytes the client gets before anything else, outside the tunnel's byte counts and its frame
 * tracking (the 101 of a client the front held: no net.Socket wrote it). Call before any relay_queue of
 * RELAY_BACKEND. Copies them. Returns 0 or -ENOMEM. */
int relay_greet(struct relay *r, const char *data, size_t len);

/* `src` already sent its FIN before the relay started. */
void relay_src_ended(struct relay *r, enum relay_side src);

/* Sends what the hand-off queued and passes on a FIN already seen. Call once after the queue/ended calls. */
void relay_start(struct relay *r);

/* fd[side] is ready for `ready` (RELAY_READ also for hang-up and error). `buf` is scratch space of
 * `buf_size` bytes, shared by every tunnel of the thread: nothing points into it after this returns.
 * `pipes`: the thread's pipe pool for bulk reads (NULL: never splice). */
void relay_on_ready(struct relay *r, enum relay_side side, unsigned ready, char *buf, size_t buf_size,
                    struct pipe_pool *pipes);

/* The readiness fd[side] should be polled for now (0: none). */
unsigned relay_wants(const struct relay *r, enum relay_side side);

/* Both directions are finished (FIN passed on both ways), or the relay failed: close the fds. */
bool relay_finished(const struct relay *r);

/* Graceful close: stop relaying, pass a FIN on both ways after the pending bytes, read and drop until
 * both peers' FINs arrive. Records `reason` unless one is already recorded. */
void relay_drain(struct relay *r, enum relay_reason reason);

/* Records `reason` unless one is already recorded; changes nothing else. */
void relay_record(struct relay *r, enum relay_reason reason);

/* Forceful: both sides are finished now. Records `reason` (and `err`) unless one is already recorded. */
void relay_fail(struct relay *r, enum relay_reason reason, int err);

/* Closes both fds and frees pending bytes. The caller must have stopped polling them first. */
void relay_close_fds(struct relay *r);

/* The tunnel carries WebSocket: follow its frames from the first byte (call before relay_queue). */
void relay_track_websocket(struct relay *r);

/* A drain's goodbye instead of a bare FIN (ws_goodbye.c): close frames at frame boundaries, the client's
 * with `code`. Returns true while the closing handshake runs (the caller bounds it and calls
 * relay_goodbye_timeout); false when it fell back to relay_drain at once. */
bool relay_goodbye(struct relay *r, uint16_t code);

/* The handshake bound passed: FIN both ways as relay_drain does. */
void relay_goodbye_timeout(struct relay *r);

/* For ws_goodbye.c: send data on the lane reading `src` now, keeping what the destination does not take
 * (after whatever already waits). Returns false after failing the relay. */
bool relay_pass(struct relay *r, enum relay_side src, const char *data, size_t len);

/* For ws_goodbye.c: the lane reading `src` got `n` bytes during a goodbye; and its source's FIN. */
void ws_goodbye_read(struct relay *r, enum relay_side src, const char *buf, size_t n);
void ws_goodbye_eof(struct relay *r, enum relay_side src);
/* Whether the goodbye reads and drops what `side` sends (so its reads are not held by back-pressure). */
bool ws_goodbye_dropping(const struct relay *r, enum relay_side side);

#endif
