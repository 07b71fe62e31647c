/* A small per-thread pool of pipes for splice(2) (see relay.c): a lane borrows one only while it moves
 * bulk (a read filled its buffer) and gives it back once the pipe is empty again, so an idle tunnel holds
 * no pipe, and a thread never holds more than PIPE_POOL_MAX pipes (2 fds each) however many tunnels it
 * has; they are closed when the thread's last tunnel closes. A lane that finds the pool empty relays
 * with read/send, as without splice.
 *
 * Pure C (no libuv): the sanitizer driver (test/native/relay-driver.c) uses it as the addon does. */
#ifndef WSPASS_PIPE_POOL_H
#define WSPASS_PIPE_POOL_H

#include <stdint.h>

#define PIPE_POOL_MAX 8
#define PIPE_BYTES (128 * 1024) /* each pipe's capacity (F_SETPIPE_SZ) */

struct pipe_pool;

struct relay_pipe {
  int rd, wr;
  uint32_t len;           /* bytes in the pipe: read from the source, not yet taken by the destination */
  struct pipe_pool *pool; /* where it goes back */
};

struct pipe_pool {
  struct relay_pipe *idle[PIPE_POOL_MAX]; /* empty pipes ready for the next bulk lane */
  uint32_t n_idle;
  uint32_t n_open; /* pipes that exist: idle, or lent to a lane */
};

/* An empty pipe for a lane, or NULL (PIPE_POOL_MAX lent, or pipe2 failed: the lane goes on without). */
struct relay_pipe *pipe_pool_take(struct pipe_pool *pool);

/* The lane is done with `p`: an empty pipe goes back to the pool; one with bytes left in it (the tunnel
 * failed) is closed, its bytes dropped with it. */
void pipe_pool_give(struct relay_pipe *p);

/* Closes the idle pipes (worker exit; pipes still lent are closed by their lanes). */
void pipe_pool_close(struct pipe_pool *pool);

#endif
