/* See front.h. One uv_poll per listener and per connection waiting for its head; a connection's struct is
 * freed by its poll's close callback, which is also where its fd is handed to JS (or closed). */
#define _GNU_SOURCE
#include "front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thread_state.h"

/* Connections accepted per wake-up at most, so one busy listener cannot hold the loop (libuv's own accept
 * loop also stops at a bound). */
#define ACCEPT_BATCH 64
/* The timer's tick: node:http checks head timeouts every headTimeoutMs / 10, within [100, 1000] ms. */
#define TICK_MIN_MS 100u
#define TICK_MAX_MS 1000u

/* An address and port as Node reports them (IPv4-mapped IPv6 stays as such, like remoteAddress). */
static void address_values(napi_env env, const struct sockaddr_storage *ss, napi_value *addr, napi_value *port) {
  char text[INET6_ADDRSTRLEN] = "";
  unsigned p = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    p = ntohs(a->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    p = ntohs(a->sin6_port);
  }
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, addr);
  napi_create_uint32(env, p, port);
}

static void unlink_conn(struct front_conn *c) {
  struct front_state *fs = &c->ts->front;
  if (c->prev != NULL) c->prev->next = c->next;
  else if (fs->conns == c) fs->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* The poll is closed, so its fd is out of epoll: now Node may wrap it. */
static void on_conn_closed(uv_handle_t *h) {
  struct front_conn *c = h->data;
  struct thread_state *ts = c->ts;
  if (c->handover >= 0 && !ts->tearing_down && ts->front.on_fd != NULL) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(ts->env, &scope) == napi_ok) {
      napi_value argv[4];
      napi_create_double(ts->env, c->listener_id, &argv[0]);
      napi_create_double(ts->env, c->id, &argv[1]);
      napi_create_int32(ts->env, c->fd, &argv[2]);
      napi_create_int32(ts->env, c->handover, &argv[3]);
      /* A taken client stays a raw fd in JS (HeldClient) until its tunnel or socket takes it. */
      if (c->handover == FRONT_TAKEN) (void)held_fds_add(&ts->held, c->fd);
      thread_state_call(ts, ts->front.on_fd, 4, argv); /* the fd is JS's from here, even if the handler threw */
      napi_close_handle_scope(ts->env, scope);
    } else {
      close(c->fd);
    }
  } else if (c->fd >= 0) {
    close(c->fd);
  }
  free(c);
  thread_state_handle_closed(ts);
}

/* Stops the poll and closes it; the fd goes to JS (handover >= 0) or is closed, from the close callback. */
static void finish_conn(struct front_conn *c, int handover) {
  if (c->closing) return;
  c->closing = true;
  c->handover = handover;
  unlink_conn(c);
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_conn_closed);
}

/* JS's verdict on the peeked head: n > 0 take n bytes, anything else give back. */
static int64_t ask_js(struct front_conn *c, const char *head, size_t len) {
  struct thread_state *ts = c->ts;
  napi_env env = ts->env;
  int64_t verdict = 0;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  napi_value argv[7];
  napi_create_double(env, c->listener_id, &argv[0]);
  napi_create_double(env, c->id, &argv[1]);
  napi_create_string_latin1(env, head, len, &argv[2]);
  address_values(env, &c->peer, &argv[3], &argv[4]);
  address_values(env, &c->local, &argv[5], &argv[6]);
  napi_value result = thread_state_call(ts, ts->front.on_head, 7, argv);
  if (result == NULL || napi_get_value_int64(env, result, &verdict) != napi_ok) verdict = 0;
  napi_close_handle_scope(env, scope);
  return verdict;
}

static void on_conn_event(uv_poll_t *p, int status, int events) {
  struct front_conn *c = p->data;
  struct thread_state *ts = c->ts;
  (void)events;
  if (c->closing) return;
  if (status < 0) {
    finish_conn(c, -1); /* reset before a byte: nothing to answer */
    return;
  }
  ssize_t n;
  do n = recv(c->fd, ts->front.buf, ts->front.buf_len, MSG_PEEK);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    finish_conn(c, -1); /* EOF or error before any byte: a port probe, closed quietly as node:http does */
    return;
  }
  int64_t take = ask_js(c, ts->front.buf, (size_t)n);
  if (c->closing) return; /* worker exit from inside the call */
  if (take > 0 && take <= n) {
    /* The peek showed these bytes are queued, so one recv returns exactly them. */
    ssize_t got;
    do got = recv(c->fd, ts->front.buf, (size_t)take, 0);
    while (got < 0 && errno == EINTR);
    finish_conn(c, got == take ? FRONT_TAKEN : -1);
    return;
  }
  finish_conn(c, FRONT_GIVEN_BACK);
}

static void on_tick(uv_timer_t *timer);

/* Runs the timer while something needs it: a connection with a deadline or a paused listener. */
static void need_tick(struct thread_state *ts, uint64_t timeout_ms) {
  struct front_state *fs = &ts->front;
  if (!fs->timer_ready || uv_is_active((uv_handle_t *)&fs->timer)) return;
  uint64_t tick = timeout_ms / 10;
  if (tick < TICK_MIN_MS) tick = TICK_MIN_MS;
  if (tick > TICK_MAX_MS) tick = TICK_MAX_MS;
  uv_timer_start(&fs->timer, on_tick, tick, tick);
}

static void on_accept(uv_poll_t *p, int status, int events);

static void on_tick(uv_timer_t *timer) {
  struct thread_state *ts = timer->data;
  struct front_state *fs = &ts->front;
  uint64_t now = uv_now(ts->loop);
  bool needed = false;
  struct front_conn *next;
  for (struct front_conn *c = fs->conns; c != NULL; c = next) {
    next = c->next; /* finish_conn unlinks c */
    if (c->deadline != 0 && now >= c->deadline) finish_conn(c, FRONT_TIMED_OUT);
    else if (c->deadline != 0) needed = true;
  }
  for (struct front_listener *l = fs->listeners; l != NULL; l = l->next) {
    if (l->paused && !l->closing && uv_poll_start(&l->poll, UV_READABLE, on_accept) == 0) l->paused = false;
    needed = needed || l->paused;
  }
  if (!needed) uv_timer_stop(&fs->timer);
}

/* The socket options node:http's server gives an accepted socket (noDelay: true; keepAlive is off). */
static void set_options(int fd) {
  int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static void add_conn(struct front_listener *l, int fd, const struct sockaddr_storage *peer) {
  struct thread_state *ts = l->ts;
  struct front_conn *c = calloc(1, sizeof *c);
  if (c == NULL || uv_poll_init(ts->loop, &c->poll, fd) != 0) {
    free(c);
    close(fd);
    return;
  }
  c->poll.data = c;
  c->ts = ts;
  c->fd = fd;
  c->id = ++ts->front.seq;
  c->listener_id = l->id;
  c->peer = *peer;
  socklen_t len = sizeof c->local;
  if (getsockname(fd, (struct sockaddr *)&c->local, &len) != 0) c->local.ss_family = AF_UNSPEC;
  c->handover = -1;
  ts->handles_open++;
  c->next = ts->front.conns;
  if (ts->front.conns != NULL) ts->front.conns->prev = c;
  ts->front.conns = c;
  set_options(fd);
  if (l->timeout_ms != 0) {
    c->deadline = uv_now(ts->loop) + l->timeout_ms;
    need_tick(ts, l->timeout_ms);
  }
  if (uv_poll_start(&c->poll, UV_READABLE, on_conn_event) != 0) finish_conn(c, -1);
}

static void on_accept(uv_poll_t *p, int status, int events) {
  struct front_listener *l = p->data;
  (void)events;
  if (l->closing || status < 0) return;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      add_conn(l, fd, &peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      /* Out of fds: the listening socket stays readable, and level-triggered epoll would spin on it.
       * Stop polling it until the next tick (the pending connections wait in the backlog). */
      uv_poll_stop(&l->poll);
      l->paused = true;
      need_tick(l->ts, 0);
    }
    return; /* EAGAIN: all accepted */
  }
}

static void on_listener_closed(uv_handle_t *h) {
  struct front_listener *l = h->data;
  struct thread_state *ts = l->ts;
  free(l);
  thread_state_handle_closed(ts);
}

static void on_timer_closed(uv_handle_t *h) {
  thread_state_handle_closed(h->data);
}

double front_listen(struct thread_state *ts, int fd, uint32_t peek_bytes, uint64_t timeout_ms) {
  struct front_state *fs = &ts->front;
  if (peek_bytes == 0) return -EINVAL;
  if (!fs->timer_ready) {
    int rc = uv_timer_init(ts->loop, &fs->timer);
    if (rc != 0) return rc;
    fs->timer.data = ts;
    uv_unref((uv_handle_t *)&fs->timer); /* the listeners' polls keep the loop alive, not the timer */
    fs->timer_ready = true;
    ts->handles_open++;
  }
  if (peek_bytes > fs->buf_len) {
    char *buf = realloc(fs->buf, peek_bytes);
    if (buf == NULL) return -ENOMEM;
    fs->buf = buf;
    fs->buf_len = peek_bytes;
  }
  struct front_listener *l = calloc(1, sizeof *l);
  if (l == NULL) return -ENOMEM;
  /* A duplicate: the caller closes Node's handle (and its fd) right after, the socket stays ours. */
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    int err = -errno;
    free(l);
    return err;
  }
  int rc = uv_poll_init(ts->loop, &l->poll, dup_fd);
  if (rc != 0) {
    close(dup_fd);
    free(l);
    return rc;
  }
  l->poll.data = l;
  l->ts = ts;
  l->fd = dup_fd;
  l->peek_bytes = peek_bytes;
  l->timeout_ms = timeout_ms;
  l->id = ++fs->seq;
  ts->handles_open++;
  l->next = fs->listeners;
  if (fs->listeners != NULL) fs->listeners->prev = l;
  fs->listeners = l;
  rc = uv_poll_start(&l->poll, UV_READABLE, on_accept);
  if (rc != 0) {
    front_close(ts, l->id);
    return rc;
  }
  return l->id;
}

void front_close(struct thread_state *ts, double id) {
  struct front_state *fs = &ts->front;
  struct front_listener *l = fs->listeners;
  while (l != NULL && l->id != id) l = l->next;
  if (l == NULL || l->closing) return;
  l->closing = true;
  if (l->prev != NULL) l->prev->next = l->next;
  else fs->listeners = l->next;
  if (l->next != NULL) l->next->prev = l->prev;
  uv_poll_stop(&l->poll); /* out of epoll while the number is still ours, then closed */
  close(l->fd);
  l->fd = -1;
  uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}

void front_drop(struct thread_state *ts, double id) {
  struct front_conn *next;
  for (struct front_conn *c = ts->front.conns; c != NULL; c = next) {
    next = c->next; /* finish_conn unlinks c */
    if (c->listener_id == id) finish_conn(c, -1);
  }
}

void front_close_all(struct thread_state *ts) {
  struct front_state *fs = &ts->front;
  while (fs->listeners != NULL) front_close(ts, fs->listeners->id);
  while (fs->conns != NULL) finish_conn(fs->conns, -1);
  if (fs->timer_ready) {
    uv_timer_stop(&fs->timer);
    uv_close((uv_handle_t *)&fs->timer, on_timer_closed);
    fs->timer_ready = false;
  }
  if (fs->on_head != NULL) napi_delete_reference(ts->env, fs->on_head);
  if (fs->on_fd != NULL) napi_delete_reference(ts->env, fs->on_fd);
  fs->on_head = fs->on_fd = NULL;
  free(fs->buf);
  fs->buf = NULL;
  fs->buf_len = 0;
}
