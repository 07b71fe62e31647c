/* splice(2) for bulk transfers (see pipe_pool.h): a lane whose last read filled its buffer moves the
 * next bytes socket -> pipe -> socket inside the kernel instead of copying them out to the thread buffer
 * and back. The pipe holds them only while the destination has not taken them all; it goes back to the
 * thread's pool as soon as it is empty, so a lane holds a pipe only while bytes wait in it. Anything
 * that must queue behind those bytes (a goodbye's close frame) first brings them back into an ordinary
 * pending block (relay_unsplice).
 *
 * These functions do the syscalls and keep the pipe's books; relay.c decides when to use them and
 * treats their results as it treats read() and send(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "relay.h"

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
