/* splice(2) for bulk transfers (see pipe_pool.h): a lane whose last read filled its buffer moves the
 * next bytes socket -> pipe -> socket inside the kernel instead of copying them out to the thread buffer
 * and back. The pipe holds them only while the destination has not taken them all; it goes back to the
 * thread's pool as soon as it is empty, so a lane holds a pipe only while bytes wait in it. Anything
 * that must queue behind those bytes (a goodbye's close frame) first brings them back into an ordinary
 * pending block (relay_unsplice).
 *
 * relay_splice_lane decides, per readiness of a bulk lane, what to read and what to splice; the other
 * functions do the syscalls and keep the pipe's books, their results read as read() and send() do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "relay.h"
#include "relay_internal.h"

/* The lane's pipe, taking one from `pipes` if it has none. NULL when none is free. */
static struct relay_pipe *lane_pipe(struct relay_lane *lane, struct pipe_pool *pipes) {
  if (lane->spliced) return lane->pipe;
  struct relay_pipe *p = pipe_pool_take(pipes);
  if (p == NULL) return NULL;
  lane->pipe = p;
  lane->spliced = true;
  lane->pending_len = lane->pending_off = 0;
  return p;
}

/* An empty pipe goes straight back: a lane holds one only while bytes wait in it. */
static void keep_if_used(struct relay_lane *lane) {
  if (lane->spliced && lane->pipe->len == 0) {
    pipe_pool_give(lane->pipe);
    lane->pipe = NULL;
    lane->spliced = false;
  }
}

bool relay_splice_put(struct relay *r, enum relay_side src, const char *data, size_t len, struct pipe_pool *pipes) {
  struct relay_lane *lane = &r->lane[src];
  struct relay_pipe *p = lane_pipe(lane, pipes);
  if (p == NULL) return false;
  /* A frame header (at most 14 bytes) into a pipe with nothing in it: always taken whole (PIPE_BUF). */
  ssize_t n;
  do n = write(p->wr, data, len);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)len) {
    keep_if_used(lane);
    return false;
  }
  p->len += (uint32_t)len;
  return true;
}

ssize_t relay_splice_in(struct relay *r, enum relay_side src, size_t max, struct pipe_pool *pipes) {
  struct relay_lane *lane = &r->lane[src];
  struct relay_pipe *p = lane_pipe(lane, pipes);
  if (p == NULL) {
    errno = ENOBUFS;
    return -1;
  }
  ssize_t n;
  do n = splice(r->fd[src], NULL, p->wr, NULL, max, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  while (n < 0 && errno == EINTR);
  int err = errno;
  if (n > 0) p->len += (uint32_t)n;
  keep_if_used(lane);
  errno = err;
  return n;
}

ssize_t relay_splice_out(struct relay *r, enum relay_side src) {
  struct relay_lane *lane = &r->lane[src];
  struct relay_pipe *p = lane->pipe;
  ssize_t n;
  /* A destination that is gone gives EPIPE; Node ignores SIGPIPE, and the driver does the same. */
  do n = splice(p->rd, NULL, r->fd[!src], NULL, p->len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  while (n < 0 && errno == EINTR);
  if (n > 0) p->len -= (uint32_t)n;
  keep_if_used(lane);
  return n;
}

int relay_unsplice(struct relay *r, enum relay_side src) {
  struct relay_lane *lane = &r->lane[src];
  struct relay_pipe *p = lane->pipe;
  uint32_t len = p->len, got = 0;
  char *block = malloc(len);
  if (block == NULL) return -ENOMEM;
  /* The bytes are in the pipe already: a non-blocking read returns them all. */
  while (got < len) {
    ssize_t n = read(p->rd, block + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(block);
      return n < 0 ? -errno : -EIO;
    }
    got += (uint32_t)n;
  }
  p->len = 0;
  pipe_pool_give(p);
  lane->spliced = false;
  lane->pending = block;
  lane->pending_len = len;
  lane->pending_off = 0;
  return 0;
}

void relay_unpipe(struct relay_lane *lane) {
  pipe_pool_give(lane->pipe); /* not empty: closed, its bytes with it */
  lane->pipe = NULL;
  lane->spliced = false;
}

/* Whether lane `src` may move its next bytes with splice: its last read filled the buffer (bulk), and
 * nothing needs to see or hold them (not async, no drain, no goodbye). */
bool relay_may_splice(const struct relay *r, enum relay_side src, const struct pipe_pool *pipes) {
  return pipes != NULL && r->lane[src].bulk && r->hold_at == 0 && !r->draining && r->goodbye != GOODBYE_ACTIVE;
}

/* Below this many bytes a splice saves too little copying to pay for its extra syscalls (a WebSocket
 * header read, two splices): small frames are read as usual, many per read. */
#define SPLICE_MIN (16 * 1024)

/* Bulk: the bytes go socket -> pipe -> socket. A WebSocket lane splices payload only: at a frame
 * header it reads just the header (the tracker must see it) and puts it in the pipe ahead of the
 * payload, so header and payload leave in one send. Returns false when it did not touch the source (no
 * pipe free, too little to splice): the caller reads as usual. */
bool relay_splice_lane(struct relay *r, enum relay_side src, char *buf, size_t buf_size, struct pipe_pool *pipes) {
  struct relay_lane *lane = &r->lane[src];
  struct ws_track *track = &r->track[src];
  bool tracked = r->websocket && !(track->flags & WS_OFF);
  if (buf_size < SPLICE_MIN) return false;
  if (tracked && ws_track_payload_left(track) == 0) {
    ssize_t n;
    do n = read(r->fd[src], buf, WS_MAX_HEADER);
    while (n < 0 && errno == EINTR);
    if (!relay_read_result(r, src, n)) return true;
    ws_track_scan(track, (const uint8_t *)buf, (size_t)n, false);
    tracked = !(track->flags & WS_OFF);
    if (tracked && ws_track_payload_left(track) < SPLICE_MIN) {
      /* A small frame (or a header still incomplete): passed as read; the next readiness reads as usual
       * (mid-header: it reads the rest of the header first). */
      lane->bulk = ws_track_payload_left(track) == 0 && track->hdr != 0;
      relay_pass(r, src, buf, (size_t)n);
      return true;
    }
    if (!relay_splice_put(r, src, buf, (size_t)n, pipes)) {
      relay_pass(r, src, buf, (size_t)n);
      return true;
    }
  }
  size_t max = buf_size;
  if (tracked && ws_track_payload_left(track) < max) max = ws_track_payload_left(track);
  if (max < SPLICE_MIN && !lane->spliced) {
    /* The tail of a frame a plain read cut: read just that tail (copied), so the next readiness starts
     * at a header and splices the next payload whole. */
    ssize_t n;
    do n = read(r->fd[src], buf, max);
    while (n < 0 && errno == EINTR);
    if (relay_read_result(r, src, n)) {
      ws_track_scan(track, (const uint8_t *)buf, (size_t)n, false);
      relay_pass(r, src, buf, (size_t)n);
    }
    return true;
  }
  ssize_t n = relay_splice_in(r, src, max, pipes);
  if (n < 0 && (errno == ENOBUFS || errno == EINVAL)) {
    /* No pipe free (or a socket that cannot splice, which TCP always can): read as usual next time. */
    lane->bulk = false;
    if (!lane->spliced) return false;
  } else if (relay_read_result(r, src, n)) {
    if (tracked) ws_track_skip(track, (uint32_t)n);
    /* Less than asked may only mean the pipe is full: still bulk unless the source ran nearly dry. */
    lane->bulk = (size_t)n >= SPLICE_MIN;
  }
  /* Whatever the pipe holds (a header at least) goes out now. */
  if (!r->failed && lane->spliced) relay_flush_lane(r, src);
  return true;
}
