/* The relay logic of one tunnel (see relay.h; asyncDelayMs holds in relay_hold.c, bulk splices in
 * relay_splice.c). Every syscall's failure is decided next to the call: EAGAIN/EINTR mean "not now"
 * (level-triggered polling brings us back), anything else fails the tunnel with the side it happened
 * on. */
#define _GNU_SOURCE
#include "relay.h"
#include "relay_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum relay_reason closed_reason(enum relay_side side) {
  return side == RELAY_CLIENT ? RELAY_CLIENT_CLOSED : RELAY_BACKEND_CLOSED;
}

static enum relay_reason error_reason(enum relay_side side) {
  return side == RELAY_CLIENT ? RELAY_CLIENT_ERROR : RELAY_BACKEND_ERROR;
}

static void record(struct relay *r, enum relay_reason reason, int err) {
  if (r->reason != RELAY_OPEN) return;
  r->reason = (uint8_t)reason;
  r->error = err;
}

void relay_fail_side(struct relay *r, enum relay_side side, int err) {
  r->failed = true;
  record(r, error_reason(side), err);
}

void relay_init(struct relay *r, int client_fd, int backend_fd) {
  memset(r, 0, sizeof *r);
  r->fd[RELAY_CLIENT] = client_fd;
  r->fd[RELAY_BACKEND] = backend_fd;
}

int relay_queue(struct relay *r, enum relay_side src, const char *data, size_t len) {
  struct relay_lane *lane = &r->lane[src];
  if (len == 0) return 0;
  size_t have = lane->pending_len - lane->pending_off;
  if (have + len > UINT32_MAX) return -ENOMEM;
  /* Ownership: the lane gets a fresh copy; the caller keeps `data`. */
  char *p = malloc(have + len);
  if (p == NULL) return -ENOMEM;
  if (have > 0) memcpy(p, lane->pending + lane->pending_off, have);
  memcpy(p + have, data, len);
  free(lane->pending);
  lane->pending = p;
  lane->pending_off = 0;
  lane->pending_len = (uint32_t)(have + len);
  return 0;
}

int relay_greet(struct relay *r, const char *data, size_t len) {
  int rc = relay_queue(r, RELAY_BACKEND, data, len);
  if (rc == 0) r->greeting += (uint32_t)len;
  return rc;
}

void relay_src_ended(struct relay *r, enum relay_side src) {
  r->lane[src].read_eof = true;
  record(r, closed_reason(src), 0);
}

static void drop_pending(struct relay_lane *lane) {
  if (lane->spliced) relay_unpipe(lane);
  free(lane->pending);
  lane->pending = NULL;
  lane->pending_len = lane->pending_off = 0;
  lane->held = false;
}

/* Passes the FIN of lane `src` on, once nothing of it waits to be sent. */
static void maybe_shut(struct relay *r, enum relay_side src) {
  struct relay_lane *lane = &r->lane[src];
  if (lane->dst_shut || lane->pending != NULL) return;
  if (!lane->read_eof && !r->draining) return;
  /* During a goodbye the backend's FIN waits until the client had its close frame and answered it. */
  if (src == RELAY_BACKEND && r->goodbye == GOODBYE_ACTIVE) return;
  lane->dst_shut = true;
  if (shutdown(r->fd[!src], SHUT_WR) != 0 && errno != ENOTCONN) {
    /* ENOTCONN: the peer is already gone; its read side reports how. */
    r->failed = true;
    record(r, error_reason((enum relay_side)!src), errno);
  }
}

/* Sends `len` bytes of `data` to the destination of lane `src`. Returns how many were accepted, or -1
 * after failing the relay. */
static ssize_t send_some(struct relay *r, enum relay_side src, const char *data, size_t len) {
  for (;;) {
    ssize_t n = send(r->fd[!src], data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      /* The greeting goes out first and its bytes are not the tunnel's; its send is one this process made,
       * so it counts as a write (the writes figures count system calls: on the socket path the 101's write
       * is counted as the socket's). */
      uint32_t greeted = 0;
      if (src == RELAY_BACKEND && r->greeting > 0) {
        greeted = (size_t)n < r->greeting ? (uint32_t)n : r->greeting;
        r->greeting -= greeted;
      }
      r->lane[src].bytes += (uint64_t)n - greeted;
      r->lane[src].sends++;
      return n;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    r->failed = true;
    record(r, error_reason((enum relay_side)!src), errno);
    return -1;
  }
}

/* The destination of lane `src` became writable: send what waits. */
void relay_flush_lane(struct relay *r, enum relay_side src) {
  struct relay_lane *lane = &r->lane[src];
  if (lane->pending == NULL) return;
  if (lane->spliced) {
    ssize_t n = relay_splice_out(r, src);
    if (n > 0) {
      lane->bytes += (uint64_t)n;
      lane->sends++;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      r->failed = true;
      record(r, error_reason((enum relay_side)!src), errno);
      return;
    }
    maybe_shut(r, src);
    return;
  }
  ssize_t n = send_some(r, src, lane->pending + lane->pending_off, lane->pending_len - lane->pending_off);
  if (n < 0) return;
  lane->pending_off += (uint32_t)n;
  if (lane->pending_off == lane->pending_len) drop_pending(lane);
  maybe_shut(r, src);
}

void relay_start(struct relay *r) {
  relay_flush_lane(r, RELAY_CLIENT);
  relay_flush_lane(r, RELAY_BACKEND);
  maybe_shut(r, RELAY_CLIENT);
  maybe_shut(r, RELAY_BACKEND);
}

/* What read_lane does with a read's result `n` from the source (read or splice). Returns true when there
 * are bytes to pass on. */
bool relay_read_result(struct relay *r, enum relay_side src, ssize_t n) {
  struct relay_lane *lane = &r->lane[src];
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    r->failed = true;
    record(r, error_reason(src), errno);
    return false;
  }
  if (n == 0) {
    lane->read_eof = true;
    record(r, closed_reason(src), 0);
    relay_release_held(r, src); /* the FIN goes on behind what is held, without waiting for the flush */
    if (r->goodbye == GOODBYE_ACTIVE) ws_goodbye_eof(r, src);
    maybe_shut(r, src);
    return false;
  }
  return !r->draining; /* after a graceful close the bytes have nowhere to go */
}

/* fd[src] is readable: one read into the thread's buffer (or, for bulk, a splice), sent on at once. */
static void read_lane(struct relay *r, enum relay_side src, char *buf, size_t buf_size, struct pipe_pool *pipes) {
  if (relay_may_splice(r, src, pipes) && relay_splice_lane(r, src, buf, buf_size, pipes)) return;
  ssize_t n;
  do n = read(r->fd[src], buf, buf_size);
  while (n < 0 && errno == EINTR);
  if (!relay_read_result(r, src, n)) return;
  r->lane[src].bulk = (size_t)n == buf_size;
  if (r->websocket) {
    if (r->goodbye == GOODBYE_ACTIVE) {
      ws_goodbye_read(r, src, buf, (size_t)n);
      return;
    }
    ws_track_scan(&r->track[src], (const uint8_t *)buf, (size_t)n, false);
  }
  relay_pass(r, src, buf, (size_t)n);
}

bool relay_pass(struct relay *r, enum relay_side src, const char *data, size_t len) {
  struct relay_lane *lane = &r->lane[src];
  if (len == 0) return true;
  /* Bytes queued behind a pipe's: bring those back to user space first (a goodbye's frame). */
  if (lane->spliced) {
    int rc = relay_unsplice(r, src);
    if (rc != 0) {
      r->failed = true;
      record(r, error_reason(src), -rc);
      return false;
    }
  }
  if (r->hold_at != 0 && (lane->pending == NULL || lane->held)) {
    int held = relay_hold(r, src, data, len);
    if (held != 0) return held > 0;
  }
  ssize_t sent = 0;
  /* Bytes already waiting go first: then these wait behind them. */
  if (lane->pending == NULL) {
    sent = send_some(r, src, data, len);
    if (sent < 0) return false;
    if ((size_t)sent == len) return true;
  }
  /* A partial send: keep only the remainder (the buffer is reused by the next read of any tunnel). Reads
   * happen only while nothing of the lane waits (a goodbye's injected frame aside), so a lane holds at
   * most one read. */
  if (relay_queue(r, src, data + sent, len - (size_t)sent) != 0) {
    r->failed = true;
    record(r, error_reason(src), ENOMEM);
    return false;
  }
  return true;
}

void relay_on_ready(struct relay *r, enum relay_side side, unsigned ready, char *buf, size_t buf_size,
                    struct pipe_pool *pipes) {
  /* Writes first: a lane that empties may let its source be read in this same turn. (Bytes async holds
   * wait for their flush, not for writability.) */
  if ((ready & RELAY_WRITE) && !r->failed && !r->lane[!side].held) relay_flush_lane(r, (enum relay_side)!side);
  if ((ready & RELAY_READ) && !r->failed && (relay_wants(r, side) & RELAY_READ)) read_lane(r, side, buf, buf_size, pipes);
}

unsigned relay_wants(const struct relay *r, enum relay_side side) {
  if (r->failed) return 0;
  unsigned want = 0;
  const struct relay_lane *from = &r->lane[side];
  /* Back-pressure: a source is read only while nothing of it waits to be sent (draining reads and drops;
   * bytes async holds were not offered yet, so they hold nothing back). */
  if (!from->read_eof && (from->pending == NULL || from->held || r->draining || ws_goodbye_dropping(r, side)))
    want |= RELAY_READ;
  if (r->lane[!side].pending != NULL && !r->lane[!side].held) want |= RELAY_WRITE;
  return want;
}

bool relay_finished(const struct relay *r) {
  if (r->failed) return true;
  for (int i = 0; i < 2; i++)
    if (!r->lane[i].read_eof || !r->lane[i].dst_shut) return false;
  return true;
}

void relay_track_websocket(struct relay *r) {
  r->websocket = true;
  /* Client frames are masked, server frames are not (RFC 6455 §5.1). */
  ws_track_init(&r->track[RELAY_CLIENT], true);
  ws_track_init(&r->track[RELAY_BACKEND], false);
}

void relay_drain(struct relay *r, enum relay_reason reason) {
  record(r, reason, 0);
  if (r->goodbye == GOODBYE_ACTIVE) r->goodbye = GOODBYE_FIN;
  r->draining = true;
  relay_flush_held(r); /* the FIN goes behind what async holds, at once */
  maybe_shut(r, RELAY_CLIENT);
  maybe_shut(r, RELAY_BACKEND);
}

void relay_record(struct relay *r, enum relay_reason reason) {
  record(r, reason, 0);
}

void relay_fail(struct relay *r, enum relay_reason reason, int err) {
  record(r, reason, err);
  r->failed = true;
}

void relay_close_fds(struct relay *r) {
  for (int i = 0; i < 2; i++) {
    drop_pending(&r->lane[i]);
    /* close() errors (EINTR, EIO) leave nothing to retry on Linux: the fd is released either way. */
    if (r->fd[i] >= 0) (void)close(r->fd[i]);
    r->fd[i] = -1;
  }
}
