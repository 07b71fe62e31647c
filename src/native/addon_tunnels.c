/* The relays in the Node-API surface (addon.h; src/tunnel/native-engine.ts):
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
 * open() does not take a net.Socket's fd: it dup()s it and owns only the duplicate (closing it itself when
 * it fails), so the JS socket can be destroyed right after it returns without ending the connection:
 * closing the JS handle drops the old fd from Node's epoll, the duplicate keeps the socket. An fd no JS
 * handle holds (a backend leg's, a client the front held) is given with an OPEN_OWN_* flag: the tunnel takes
 * that fd itself when open() succeeds (one dup and one fd number less per tunnel), and leaves it to the
 * caller when it throws. */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addon.h"
#include "thread_state.h"

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
  if (rc != 0) {
    give_back(&t->relay, flags);
    thread_state_discard(ts, t); /* closes the duplicates, frees t */
    napi_throw_error(env, "WSP_NATIVE", uv_strerror(rc));
    return NULL;
  }
  if (flags & OPEN_CLIENT_KEEPALIVE) tcp_keepalive(dups[0]);
  tunnel_start(t, ts->loop);
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

napi_status addon_define_tunnels(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      ADDON_FN("setCloseHandler", set_close_handler),
      ADDON_FN("open", open_tunnel),
      ADDON_FN("close", close_tunnel),
      ADDON_FN("destroy", destroy_tunnel),
      ADDON_FN("counters", counters),
  };
  return ADDON_DEFINE(env, exports, props);
}
