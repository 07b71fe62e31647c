/* What the files of the Node-API surface share (addon.c registers them; each addon_*.c defines one
 * group of functions on the module's exports). */
#ifndef WSPASS_ADDON_H
#define WSPASS_ADDON_H

#include <node_api.h>

/* A Node-API call that must succeed: else a JS error (code WSP_NATIVE) and the function returns. */
#define CHECK(env, call)                                         \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error((env), "WSP_NATIVE", #call " failed");    \
      return NULL;                                               \
    }                                                            \
  } while (0)

/* One function of the module's exports, for the property tables of the addon_*.c files; ADDON_FN_DATA with
 * the data pointer the function gets (napi_get_cb_info). */
#define ADDON_FN_DATA(name, fn, data) {(name), NULL, (fn), NULL, NULL, NULL, napi_default, (data)}
#define ADDON_FN(name, fn) ADDON_FN_DATA(name, fn, NULL)
/* Defines a property table on `exports`. */
#define ADDON_DEFINE(env, exports, props) napi_define_properties((env), (exports), sizeof(props) / sizeof((props)[0]), (props))

/* addon_tunnels.c: setCloseHandler, open, close, destroy, counters. */
napi_status addon_define_tunnels(napi_env env, napi_value exports);
/* addon_legs.c: setLegHandler, legOpen, legShutdown, legRelease, legAbort, legSends. */
napi_status addon_define_legs(napi_env env, napi_value exports);
/* addon_fds.c: closeFd, forgetFd, peerState. */
napi_status addon_define_fds(napi_env env, napi_value exports);
/* addon_front.c: setFrontHandlers, frontListen, frontClose, frontDrop. */
napi_status addon_define_front(napi_env env, napi_value exports);

#endif
