/* The backend legs of handshakes in the Node-API surface (addon.h; backend_leg.h;
 * src/tunnel/native-backend-leg.ts):
 *
 *   setLegHandler(fn, buf) fn(id, event, errno, length) for every leg event; a DATA event's bytes are
 *                         the first `length` of `buf` (read into it: no Buffer made per read)
 *   legOpen(ip, port, request) -> id > 0, or a negative errno when no connect could even start
 *   legShutdown(id)       the client's FIN: passed on once the request is out
 *   legRelease(id) -> fd  the caller owns the connection now (-1: not connected, or the request not out)
 *   legAbort(id)          the connection is closed
 *   legSends() -> n       successful send(2) calls of this thread's legs so far (the request heads), for
 *                         the writes counters' once-a-second pull */
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <string.h>

#include "addon.h"
#include "thread_state.h"

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

static napi_value leg_sends(napi_env env, napi_callback_info info) {
  (void)info;
  struct thread_state *ts = thread_state_get(env);
  if (ts == NULL) return NULL;
  napi_value result;
  CHECK(env, napi_create_double(env, ts->leg_sends, &result));
  return result;
}

napi_status addon_define_legs(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      ADDON_FN("setLegHandler", set_leg_handler),
      ADDON_FN("legOpen", leg_open_js),
      ADDON_FN("legShutdown", leg_shutdown_js),
      ADDON_FN("legRelease", leg_release_js),
      ADDON_FN("legAbort", leg_abort_js),
      ADDON_FN("legSends", leg_sends),
  };
  return ADDON_DEFINE(env, exports, props);
}
