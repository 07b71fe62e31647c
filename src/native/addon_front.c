/* The native front in the Node-API surface (addon.h; front.h; src/server/native-front.ts):
 *
 *   setFrontHandlers(onHead, onFd)  onHead(listenerId, connId, head, peerAddr, peerPort, localAddr, localPort)
 *                         -> n (> 0: take n bytes, else give back); onFd(listenerId, connId, fd, handover)
 *   frontListen(fd, peekBytes, headTimeoutMs) -> listener id > 0, or a negative errno
 *   frontClose(id)        stops accepting on that listener
 *   frontDrop(id)         closes that listener's connections still waiting for their first bytes */
#include <node_api.h>

#include "addon.h"
#include "thread_state.h"

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

napi_status addon_define_front(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      ADDON_FN("setFrontHandlers", set_front_handlers),
      ADDON_FN("frontListen", front_listen_js),
      ADDON_FN_DATA("frontClose", front_by_id, (void *)front_close),
      ADDON_FN_DATA("frontDrop", front_by_id, (void *)front_drop),
  };
  return ADDON_DEFINE(env, exports, props);
}
