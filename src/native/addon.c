/* The Node-API surface of the native tunnel engine (used by src/tunnel/native-engine.ts):
 *
 *   setCloseHandler(fn)   fn(id, reason, bytesToBackend, bytesToClient, writes, errno, goodbye, framesDropped)
 *                         once per tunnel
 *   open(clientFd, backendFd, toBackend?, toClient?, clientEnded, backendEnded, idleMs, readMax, websocket,
 *        holdBytes, holdMs, greeting?, flags) -> id
 *                         holdBytes > 0 and holdMs > 0: async with asyncDelayMs, reads coalesced up to
 *                         holdBytes and flushed holdMs after the first (coalesce.h); else write-through.
 *                         greeting: bytes the client gets before toClient, not the tunnel's (relay_greet:
 *                         the 101 of a client the front held). flags: OPEN_OWN_CLIENT / OPEN_OWN_BACKEND
 *                         (that fd is given, not dup()ed), OPEN_CLIENT_KEEPALIVE (tcp_keepalive on it)
 *   close(id, graceMs, closeCode, handshakeMs)  FIN both ways after pending bytes; destroyed after graceMs;
 *                         with a closeCode (not 0), a WebSocket tunnel first exchanges close frames
 *                         (ws_goodbye.c), for at most handshakeMs
 *   destroy(id)           both sides closed now
 *   counters(Float64Array) -> n   [id, bytesToBackend, bytesToClient, sends] of each open tunnel, in
 *                         bulk (sends: successful send(2) and splice(2)-out calls, both directions)
 *
 * and the backend legs of handshakes (backend_leg.h; src/tunnel/native-backend-leg.ts):
 *
 *   setLegHandler(fn, buf) fn(id, event, errno, length) for every leg event; a DATA event's bytes are
 *                         the first `length` of `buf` (read into it: no Buffer made per read)
 *   legOpen(ip, port, request) -> id > 0, or a negative errno when no connect could even start
 *   legShutdown(id)       the client's FIN: passed on once the request is out
 *   legRelease(id) -> fd  the caller owns the connection now (-1: not connected, or the request not out)
 *   legAbort(id)          the connection is closed
 *   forgetFd(fd)          a released leg's or held client's fd went to a net.Socket (held_fds.h)
 *   closeFd(fd)           closes a released leg's fd (from JS, a worker's fs.closeSync warns about fds it
 *                         did not open)
 *   peerState(fd) -> n    what the peer of an fd no JS socket reads did so far (a zero-timeout poll): 0
 *                         nothing seen, 1 its FIN (POLLRDHUP), 2 gone (POLLHUP or POLLERR: reset, or
 *                         closed both ways)
 *   legSends() -> n       successful send(2) calls of this thread's legs so far (the request heads), for
 *                         the writes counters' once-a-second pull
 *
 * and the native front (front.h; src/server/native-front.ts):
 *
 *   setFrontHandlers(onHead, onFd)  onHead(listenerId, connId, head, peerAddr, peerPort, localAddr, localPort)
 *                         -> n (> 0: take n bytes, else give back); onFd(listenerId, connId, fd, handover)
 *   frontListen(fd, peekBytes, headTimeoutMs) -> listener id > 0, or a negative errno
 *   frontClose(id)        stops accepting on that listener
 *   frontDrop(id)         closes that listener's connections still waiting for their first bytes
 *
 * open() does not take a net.Socket's fd: it dup()s it and owns only the duplicate (closing it itself when
 * it fails), so the JS socket can be destroyed right after it returns without ending the connection:
 * closing the JS handle drops the old fd from Node's epoll, the duplicate keeps the socket. An fd no JS
 * handle holds (a backend leg's, a client the front held) is given with an OPEN_OWN_* flag: the tunnel takes
 * that fd itself when open() succeeds (one dup and one fd number less per tunnel), and leaves it to the
 * caller when it throws. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "thread_state.h"

#define CHECK(env, call)                                         \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error((env), "WSP_NATIVE", #call " failed");    \
      return NULL;                                               \
    }                                                            \
  } while (0)

static napi_value set_close_handler(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  if (ts->on_close != NULL) napi_delete_reference(env, ts->on_close);
  ts->on_close = NULL;
  CHECK(env, napi_create_reference(env, argv[0], 1, &ts->on_close));
  return NULL;
}

/* Copies a Buffer argument (undefined: nothing) into lane `src`; or, for `greeting`, the client's
 * greeting (relay_greet), which is not the tunnel's and so not frames. */
static int queue_arg(napi_env env, struct relay *r, enum relay_side src, napi_value v, bool greeting) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return 0;
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return -EINVAL;
  if (greeting) return relay_greet(r, data, len);
  /* Hand-off bytes are frames too: the tracker follows them as if they had been read. */
  if (r->websocket) ws_track_scan(&r->track[src], data, len, false);
  return relay_queue(r, src, data, len);
}

/* open()'s flags; the numbers are part of the JS interface (src/tunnel/native-tunnel.ts). */
enum { OPEN_OWN_CLIENT = 1, OPEN_OWN_BACKEND = 2, OPEN_CLIENT_KEEPALIVE = 4 };

/* The tunnel's fd for the caller's `fd`: the fd itself when given (OPEN_OWN_*), else a duplicate. */
static int take_fd(int fd, bool given) {
  return given ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* open() failed: the fds the caller gave are the caller's again (closed by it, or by its fallback). */
static void give_back(struct relay *r, uint32_t flags) {
  if (flags & OPEN_OWN_CLIENT) r->fd[RELAY_CLIENT] = -1;
  if (flags & OPEN_OWN_BACKEND) r->fd[RELAY_BACKEND] = -1;
}

static napi_value open_tunnel(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  int32_t fds[2] = {-1, -1};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok) {
    napi_throw_type_error(env, "WSP_NATIVE", "open(clientFd, backendFd, ...): bad arguments");
    return NULL;
  }
  bool client_ended = false, backend_ended = false, websocket = false;
  uint32_t idle_ms = 0, read_max = 0, hold_bytes = 0, hold_ms = 0, flags = 0;
  napi_get_value_bool(env, argv[4], &client_ended);
  napi_get_value_bool(env, argv[5], &backend_ended);
  napi_get_value_uint32(env, argv[6], &idle_ms);
  napi_get_value_uint32(env, argv[7], &read_max);
  napi_get_value_bool(env, argv[8], &websocket);
  if (argc >= 11) {
    napi_get_value_uint32(env, argv[9], &hold_bytes);
    napi_get_value_uint32(env, argv[10], &hold_ms);
  }
  if (argc >= 13) napi_get_value_uint32(env, argv[12], &flags);
  /* A hold buffer is one read at most: the thread buffer's size bounds what a lane keeps. Without a
   * delay there is nothing to hold for: a lane sends at most once per loop turn anyway (coalesce.h). */
  if (hold_bytes > THREAD_BUFFER_BYTES) hold_bytes = THREAD_BUFFER_BYTES;
  if (hold_ms == 0) hold_bytes = 0;
  if (read_max == 0 || read_max > THREAD_BUFFER_BYTES) read_max = THREAD_BUFFER_BYTES;

  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  int dups[2];
  dups[0] = take_fd(fds[0], flags & OPEN_OWN_CLIENT);
  if (dups[0] < 0) {
    napi_throw_error(env, "WSP_NATIVE", "dup of the client fd failed");
    return NULL;
  }
  dups[1] = take_fd(fds[1], flags & OPEN_OWN_BACKEND);
  if (dups[1] < 0) {
    if (!(flags & OPEN_OWN_CLIENT)) close(dups[0]);
    napi_throw_error(env, "WSP_NATIVE", "dup of the backend fd failed");
    return NULL;
  }
  /* Ownership: from here the fds belong to the tunnel (relay_close_fds closes them), except that a
   * failure gives the caller's own back to it (give_back). */
  struct tunnel *t = calloc(1, sizeof *t);
  if (t == NULL) {
    if (!(flags & OPEN_OWN_CLIENT)) close(dups[0]);
    if (!(flags & OPEN_OWN_BACKEND)) close(dups[1]);
    napi_throw_error(env, "WSP_NATIVE", "out of memory");
    return NULL;
  }
  relay_init(&t->relay, dups[0], dups[1]);
  t->idle_ms = idle_ms;
  t->read_max = read_max;
  if (websocket) relay_track_websocket(&t->relay);
  relay_set_async(&t->relay, hold_bytes, hold_ms);
  int rc = argc >= 12 ? queue_arg(env, &t->relay, RELAY_BACKEND, argv[11], true) : 0;
  if (rc == 0) rc = queue_arg(env, &t->relay, RELAY_CLIENT, argv[2], false);
  if (rc == 0) rc = queue_arg(env, &t->relay, RELAY_BACKEND, argv[3], false);
  if (rc == 0) rc = thread_state_add(ts, t) == 0 ? 0 : -ENOMEM;
  if (rc != 0) {
    give_back(&t->relay, flags);
    relay_close_fds(&t->relay); /* frees queued bytes too */
    free(t);
    napi_throw_error(env, "WSP_NATIVE", "native tunnel could not be created");
    return NULL;
  }
  if (client_ended) relay_src_ended(&t->relay, RELAY_CLIENT);
  if (backend_ended) relay_src_ended(&t->relay, RELAY_BACKEND);
  /* Everything that can throw happens before tunnel_start: once a byte is sent, open() must succeed,
   * or the caller's fallback would send the hand-off bytes a second time. */
  napi_value id;
  if (napi_create_double(env, thread_state_id(t), &id) != napi_ok) rc = -ENOMEM;
  if (rc == 0 && (flags & OPEN_CLIENT_KEEPALIVE)) tcp_keepalive(dups[0]);
  if (rc == 0) rc = tunnel_start(t, ts->loop);
  if (rc != 0) {
    give_back(&t->relay, flags);
    thread_state_discard(ts, t); /* closes the duplicates, frees t */
    napi_throw_error(env, "WSP_NATIVE", uv_strerror(rc));
    return NULL;
  }
  if (idle_ms != 0) thread_state_need_timer(ts, idle_ms);
  /* The tunnel owns the fds it was given: no longer raw fds of JS's (held_fds.h). */
  if (flags & OPEN_OWN_CLIENT) held_fds_forget(&ts->held, fds[0]);
  if (flags & OPEN_OWN_BACKEND) held_fds_forget(&ts->held, fds[1]);
  return id;
}

/* The open tunnel named by argv[0], or NULL (closed already, or unknown). */
static struct tunnel *tunnel_arg(napi_env env, napi_value v) {
  double id;
  if (napi_get_value_double(env, v, &id) != napi_ok) return NULL;
  struct thread_state *ts = thread_state_get(env);
  return ts == NULL ? NULL : thread_state_find(ts, id);
}

static napi_value close_tunnel(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct tunnel *t = argc < 2 ? NULL : tunnel_arg(env, argv[0]);
  if (t == NULL) return NULL;
  uint32_t grace = 0, code = 0, handshake = 0;
  napi_get_value_uint32(env, argv[1], &grace);
  if (argc >= 4) {
    napi_get_value_uint32(env, argv[2], &code);
    napi_get_value_uint32(env, argv[3], &handshake);
  }
  tunnel_graceful_close(t, grace, (uint16_t)(code <= 0xffff ? code : 0), handshake);
  return NULL;
}

static napi_value destroy_tunnel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct tunnel *t = argc < 1 ? NULL : tunnel_arg(env, argv[0]);
  if (t == NULL) return NULL;
  relay_fail(&t->relay, RELAY_DESTROYED, 0);
  tunnel_update(t);
  return NULL;
}

static napi_value counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array) {
    napi_throw_type_error(env, "WSP_NATIVE", "counters(Float64Array)");
    return NULL;
  }
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  double *out = data;
  uint32_t n = 0;
  for (struct tunnel *t = ts->head; t != NULL && (size_t)(n + 1) * 4 <= length; t = t->next, n++) {
    double *row = out + (size_t)n * 4;
    row[0] = thread_state_id(t);
    row[1] = (double)t->relay.lane[RELAY_CLIENT].bytes;
    row[2] = (double)t->relay.lane[RELAY_BACKEND].bytes;
    row[3] = (double)t->relay.lane[RELAY_CLIENT].sends + (double)t->relay.lane[RELAY_BACKEND].sends;
  }
  napi_value result;
  CHECK(env, napi_create_uint32(env, n, &result));
  return result;
}

static napi_value set_leg_handler(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  if (argc < 2 || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, "WSP_NATIVE", "setLegHandler(fn, buffer): bad arguments");
    return NULL;
  }
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  if (ts->on_leg != NULL) napi_delete_reference(env, ts->on_leg);
  if (ts->leg_buf_ref != NULL) napi_delete_reference(env, ts->leg_buf_ref);
  ts->on_leg = NULL;
  ts->leg_buf_ref = NULL;
  ts->leg_buf = NULL;
  CHECK(env, napi_create_reference(env, argv[0], 1, &ts->on_leg));
  CHECK(env, napi_create_reference(env, argv[1], 1, &ts->leg_buf_ref));
  ts->leg_buf = data;
  ts->leg_buf_len = len;
  return NULL;
}

static napi_value leg_open_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ip[INET6_ADDRSTRLEN + 1];
  size_t ip_len = 0;
  uint32_t port = 0;
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  if (argc < 3 || napi_get_value_string_latin1(env, argv[0], ip, sizeof ip, &ip_len) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port == 0 || port > 65535 ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok || len > UINT32_MAX) {
    napi_throw_type_error(env, "WSP_NATIVE", "legOpen(ip, port, request): bad arguments");
    return NULL;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned ss_len;
  if (memchr(ip, ':', ip_len) != NULL) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    ss_len = sizeof *a;
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) ss_len = 0;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    ss_len = sizeof *a;
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) ss_len = 0;
  }
  if (ss_len == 0) {
    napi_throw_type_error(env, "WSP_NATIVE", "legOpen: not an IP address");
    return NULL;
  }
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  int err = 0;
  struct leg *l = leg_open(ts, (struct sockaddr *)&ss, ss_len, data, (uint32_t)len, &err);
  napi_value result;
  CHECK(env, napi_create_double(env, l != NULL ? l->id : (double)err, &result));
  return result;
}

/* The leg named by argv[0], or NULL (unknown, released or aborted). */
static struct leg *leg_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &id) != napi_ok)
    return NULL;
  struct thread_state *ts = thread_state_get(env);
  return ts == NULL ? NULL : leg_find(ts, id);
}

static napi_value leg_shutdown_js(napi_env env, napi_callback_info info) {
  struct leg *l = leg_arg(env, info);
  if (l != NULL) leg_shutdown(l);
  return NULL;
}

static napi_value leg_release_js(napi_env env, napi_callback_info info) {
  struct leg *l = leg_arg(env, info);
  napi_value result;
  CHECK(env, napi_create_int32(env, l != NULL ? leg_release(l) : -1, &result));
  return result;
}

static napi_value leg_abort_js(napi_env env, napi_callback_info info) {
  struct leg *l = leg_arg(env, info);
  if (l != NULL) leg_abort(l);
  return NULL;
}

/* The fd argument of closeFd, forgetFd and peerState, or -1. */
static int32_t fd_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok)
    return -1;
  return fd < 0 ? -1 : fd;
}

/* A raw fd JS held is done with: no longer the cleanup hook's to close (held_fds.h). */
static void forget(napi_env env, int32_t fd) {
  struct thread_state *ts = thread_state_get(env);
  if (ts != NULL) held_fds_forget(&ts->held, fd);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd >= 0) {
    forget(env, fd);
    close(fd);
  }
  return NULL;
}

/* A raw fd JS held went to a net.Socket: Node closes it from now on, not the cleanup hook. */
static napi_value forget_fd(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd >= 0) forget(env, fd);
  return NULL;
}

static napi_value peer_state(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  int state = 0;
  if (fd >= 0) {
    /* One syscall, no registration: the held client is checked once, when its handshake's answer comes. */
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) == 1) state = (p.revents & (POLLHUP | POLLERR | POLLNVAL)) ? 2 : (p.revents & POLLRDHUP) ? 1 : 0;
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, state, &out));
  return out;
}

static napi_value leg_sends(napi_env env, napi_callback_info info) {
  (void)info;
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  napi_value result;
  CHECK(env, napi_create_double(env, ts->leg_sends, &result));
  return result;
}

static napi_value set_front_handlers(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "WSP_NATIVE", "setFrontHandlers(onHead, onFd): bad arguments");
    return NULL;
  }
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  if (ts->front.on_head != NULL) napi_delete_reference(env, ts->front.on_head);
  if (ts->front.on_fd != NULL) napi_delete_reference(env, ts->front.on_fd);
  ts->front.on_head = ts->front.on_fd = NULL;
  CHECK(env, napi_create_reference(env, argv[0], 1, &ts->front.on_head));
  CHECK(env, napi_create_reference(env, argv[1], 1, &ts->front.on_fd));
  return NULL;
}

static napi_value front_listen_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  uint32_t peek = 0, timeout = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_uint32(env, argv[1], &peek) != napi_ok || peek == 0 ||
      napi_get_value_uint32(env, argv[2], &timeout) != napi_ok) {
    napi_throw_type_error(env, "WSP_NATIVE", "frontListen(fd, peekBytes, headTimeoutMs): bad arguments");
    return NULL;
  }
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  napi_value result;
  CHECK(env, napi_create_double(env, front_listen(ts, fd, peek, timeout), &result));
  return result;
}

/* frontClose(id) and frontDrop(id): `data` is the function to run on the listener id. */
static napi_value front_by_id(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double id = 0;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, &data));
  if (argc < 1 || napi_get_value_double(env, argv[0], &id) != napi_ok) return NULL;
  struct thread_state *ts = thread_state_get(env);
  if (ts != NULL) ((void (*)(struct thread_state *, double))data)(ts, id);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setCloseHandler", NULL, set_close_handler, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_tunnel, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_tunnel, NULL, NULL, NULL, napi_default, NULL},
      {"destroy", NULL, destroy_tunnel, NULL, NULL, NULL, napi_default, NULL},
      {"counters", NULL, counters, NULL, NULL, NULL, napi_default, NULL},
      {"setLegHandler", NULL, set_leg_handler, NULL, NULL, NULL, napi_default, NULL},
      {"legOpen", NULL, leg_open_js, NULL, NULL, NULL, napi_default, NULL},
      {"legShutdown", NULL, leg_shutdown_js, NULL, NULL, NULL, napi_default, NULL},
      {"legRelease", NULL, leg_release_js, NULL, NULL, NULL, napi_default, NULL},
      {"legAbort", NULL, leg_abort_js, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"forgetFd", NULL, forget_fd, NULL, NULL, NULL, napi_default, NULL},
      {"peerState", NULL, peer_state, NULL, NULL, NULL, napi_default, NULL},
      {"legSends", NULL, leg_sends, NULL, NULL, NULL, napi_default, NULL},
      {"setFrontHandlers", NULL, set_front_handlers, NULL, NULL, NULL, napi_default, NULL},
      {"frontListen", NULL, front_listen_js, NULL, NULL, NULL, napi_default, NULL},
      {"frontClose", NULL, front_by_id, NULL, NULL, NULL, napi_default, (void *)front_close},
      {"frontDrop", NULL, front_by_id, NULL, NULL, NULL, napi_default, (void *)front_drop},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
