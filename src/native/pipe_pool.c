/* The pipe pool (see pipe_pool.h). */
#define _GNU_SOURCE
#include "pipe_pool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

struct relay_pipe *pipe_pool_take(struct pipe_pool *pool) {
  if (pool->n_idle > 0) return pool->idle[--pool->n_idle];
  if (pool->n_open >= PIPE_POOL_MAX) return NULL;
  struct relay_pipe *p = malloc(sizeof *p);
  int fds[2];
  /* Non-blocking both ends: a splice must never wait; close-on-exec like every fd of the addon. */
  if (p == NULL || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    free(p);
    return NULL;
  }
  /* 64 KiB (the default) is one read's payload: with a frame header in front of it the last page does
   * not fit, and the rest would need one more splice each way. Twice that fits both; without it (a
   * tight pipe-max-size or pipe-user-pages-soft), splice still works, a little less well. */
  (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
  p->rd = fds[0];
  p->wr = fds[1];
  p->len = 0;
  p->pool = pool;
  pool->n_open++;
  return p;
}

static void close_pipe(struct relay_pipe *p) {
  p->pool->n_open--;
  (void)close(p->rd);
  (void)close(p->wr);
  free(p);
}

void pipe_pool_give(struct relay_pipe *p) {
  struct pipe_pool *pool = p->pool;
  if (p->len != 0 || pool->n_idle >= PIPE_POOL_MAX) {
    close_pipe(p);
    return;
  }
  pool->idle[pool->n_idle++] = p;
}

void pipe_pool_close(struct pipe_pool *pool) {
  while (pool->n_idle > 0) close_pipe(pool->idle[--pool->n_idle]);
}
