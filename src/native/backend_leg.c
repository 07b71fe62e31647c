/* See backend_leg.h. One uv_poll per leg, its mask changed only when it changes (as tunnel.c does); the
 * struct is freed by the poll's close callback, so a JS call that releases or aborts the leg from inside an
 * event (the usual case: the answer arrives, JS takes the fd) leaves it valid until the event returns. */
#define _GNU_SOURCE
#include "backend_leg.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "thread_state.h"

/* The keep-alive the JavaScript path sets on backend sockets (setKeepAlive(true, 30 s) in libuv terms:
 * first probe after 30 s, then every second, 10 probes), so both paths leave the same socket behind. */
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTVL_S 1
#define KEEPALIVE_CNT 10

static void on_poll_closed(uv_handle_t *h) {
  struct leg *l = h->data;
  struct thread_state *ts = l->ts;
  free(l->out);
  free(l);
  thread_state_handle_closed(ts);
}

static void unlink_leg(struct leg *l) {
  struct thread_state *ts = l->ts;
  if (l->prev != NULL) l->prev->next = l->next;
  else if (ts->legs == l) ts->legs = l->next;
  if (l->next != NULL) l->next->prev = l->prev;
  l->prev = l->next = NULL;
}

/* Stops the poll (libuv drops the fd from epoll now, while the number is still ours) and hands the handle
 * back to libuv; the struct is freed by its close callback. */
static void finish(struct leg *l) {
  l->closing = true;
  unlink_leg(l);
  uv_poll_stop(&l->poll);
  l->mask = 0;
  uv_close((uv_handle_t *)&l->poll, on_poll_closed);
}

/* Calls the JS leg handler: (id, event, errno, length). An exception goes to the thread's uncaught-exception
 * path, as the tunnels' close handler does. */
static void report(struct leg *l, enum leg_event event, int err, size_t len) {
  struct thread_state *ts = l->ts;
  if (ts->tearing_down || ts->on_leg == NULL) return;
  napi_env env = ts->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[4];
  napi_create_double(env, l->id, &argv[0]);
  napi_create_uint32(env, (uint32_t)event, &argv[1]);
  napi_create_int32(env, err, &argv[2]);
  napi_create_uint32(env, (uint32_t)len, &argv[3]);
  thread_state_call(ts, ts->on_leg, 4, argv);
  napi_close_handle_scope(env, scope);
}

static void on_event(uv_poll_t *p, int status, int events);

static void set_mask(struct leg *l, unsigned want) {
  if (l->closing || want == l->mask) return;
  int rc = want == 0 ? uv_poll_stop(&l->poll) : uv_poll_start(&l->poll, (int)want, on_event);
  if (rc == 0) l->mask = want;
}

/* Nothing more will be read: the leg waits, polled for nothing, until JS releases or aborts it. */
static void end_with(struct leg *l, enum leg_event event, int err) {
  l->ended = true;
  set_mask(l, 0);
  report(l, event, err, 0);
}

void tcp_keepalive(int fd) {
  int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;
  /* Best effort, as setKeepAlive/setNoDelay are: a socket that refuses them still carries the tunnel. */
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

/* Sends what is left of the request; then passes a FIN on if JS asked for one. */
static void send_out(struct leg *l) {
  while (l->out != NULL) {
    ssize_t n = send(l->fd, l->out + l->out_off, l->out_len - l->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* writable again later */
      end_with(l, LEG_ERROR, -errno);
      return;
    }
    /* Counted per call, not per leg: the figure is the syscalls the proxy makes (a partial send is two),
     * which /proc/<pid>/io's syscw does not see for send(2). A plain add: no JS work per send. */
    l->ts->leg_sends++;
    l->out_off += (uint32_t)n;
    if (l->out_off == l->out_len) {
      free(l->out);
      l->out = NULL;
    }
  }
  if (l->shut_asked) (void)shutdown(l->fd, SHUT_WR);
}

/* The socket's pending error, or 0. */
static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

static void on_writable(struct leg *l) {
  if (!l->connected) {
    int err = socket_error(l->fd);
    if (err != 0) {
      end_with(l, LEG_ERROR, -err);
      return;
    }
    l->connected = true;
    tcp_keepalive(l->fd);
    report(l, LEG_CONNECTED, 0, 0);
    if (l->closing) return;
  }
  send_out(l);
}

static void on_readable(struct leg *l) {
  struct thread_state *ts = l->ts;
  if (ts->leg_buf == NULL) {
    end_with(l, LEG_ERROR, -EINVAL); /* no handler buffer: setLegHandler was not called */
    return;
  }
  for (;;) {
    /* Straight into the handler's Buffer: JS copies out what it keeps, so no Buffer is made per read. */
    ssize_t n = read(l->fd, ts->leg_buf, ts->leg_buf_len);
    if (n > 0) {
      report(l, LEG_DATA, 0, (size_t)n);
      return; /* one read per event: JS usually takes the fd on the first */
    }
    if (n == 0) {
      end_with(l, LEG_EOF, 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) end_with(l, LEG_ERROR, -errno);
    return;
  }
}

static void on_event(uv_poll_t *p, int status, int events) {
  struct leg *l = p->data;
  if (l->closing || l->ended) return;
  if (status < 0) {
    /* libuv reports EPOLLERR (a refused connect, a reset) as UV_EBADF: the socket knows the real cause. */
    int err = socket_error(l->fd);
    end_with(l, LEG_ERROR, err != 0 ? -err : status);
    return;
  }
  if ((events & UV_WRITABLE) && (!l->connected || l->out != NULL)) on_writable(l);
  if (l->closing || l->ended || !l->connected) return;
  /* Reads wait for the connection; the request need not be out (a backend may answer early). */
  if (events & (UV_READABLE | UV_DISCONNECT)) on_readable(l);
  if (l->closing || l->ended) return;
  set_mask(l, UV_READABLE | (l->out != NULL ? UV_WRITABLE : 0u));
}

struct leg *leg_open(struct thread_state *ts, const struct sockaddr *addr, unsigned addr_len, const char *head,
                     uint32_t head_len, int *err) {
  struct leg *l = calloc(1, sizeof *l);
  char *out = head_len > 0 ? malloc(head_len) : NULL;
  if (l == NULL || (head_len > 0 && out == NULL)) {
    free(l);
    free(out);
    *err = -ENOMEM;
    return NULL;
  }
  if (head_len > 0) memcpy(out, head, head_len);
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || (connect(fd, addr, addr_len) != 0 && errno != EINPROGRESS)) {
    *err = -errno;
    if (fd >= 0) close(fd);
    free(l);
    free(out);
    return NULL;
  }
  int rc = uv_poll_init(ts->loop, &l->poll, fd);
  if (rc != 0) {
    *err = rc;
    close(fd);
    free(l);
    free(out);
    return NULL;
  }
  l->poll.data = l;
  l->ts = ts;
  l->fd = fd;
  l->out = out;
  l->out_len = head_len;
  l->id = ++ts->leg_seq;
  ts->handles_open++;
  l->next = ts->legs;
  if (ts->legs != NULL) ts->legs->prev = l;
  ts->legs = l;
  /* Connected or not, writability is the next thing to wait for (a connect in progress reports its
   * outcome as writability). */
  set_mask(l, UV_WRITABLE);
  if (l->mask == 0) {
    *err = -EIO;
    leg_abort(l);
    return NULL;
  }
  return l;
}

struct leg *leg_find(struct thread_state *ts, double id) {
  for (struct leg *l = ts->legs; l != NULL; l = l->next)
    if (l->id == id) return l;
  return NULL;
}

void leg_shutdown(struct leg *l) {
  l->shut_asked = true;
  if (l->connected && l->out == NULL && !l->ended) (void)shutdown(l->fd, SHUT_WR);
}

int leg_release(struct leg *l) {
  if (l->out != NULL || !l->connected) return -1;
  int fd = l->fd;
  l->fd = -1;
  /* A raw fd in JS (ReleasedLeg) until its tunnel or socket takes it. */
  (void)held_fds_add(&l->ts->held, fd);
  finish(l);
  return fd;
}

void leg_abort(struct leg *l) {
  int fd = l->fd;
  l->fd = -1;
  finish(l); /* stop the poll before close(): libuv must drop the fd while the number is ours */
  if (fd >= 0) close(fd);
}

void leg_abort_all(struct thread_state *ts) {
  while (ts->legs != NULL) leg_abort(ts->legs);
}
