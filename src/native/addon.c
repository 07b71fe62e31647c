/* The Node-API module of the native tunnel engine (used by src/tunnel/native-engine.ts): its functions,
 * in one file per group (addon.h):
 *
 *   addon_tunnels.c   the relays: setCloseHandler, open, close, destroy, counters
 *   addon_legs.c      the backend legs of handshakes: setLegHandler, legOpen, legShutdown, legRelease,
 *                     legAbort, legSends
 *   addon_fds.c       the raw fds JavaScript holds (a released leg's, a held client's): closeFd, forgetFd,
 *                     peerState
 *   addon_front.c     the native front: setFrontHandlers, frontListen, frontClose, frontDrop
 *
 * Each file's head comment is the contract of its functions. The per-environment state they share is
 * thread_state.h's. */
#include <node_api.h>

#include "addon.h"

NAPI_MODULE_INIT() {
  if (addon_define_tunnels(env, exports) != napi_ok || addon_define_legs(env, exports) != napi_ok ||
      addon_define_fds(env, exports) != napi_ok || addon_define_front(env, exports) != napi_ok) {
    napi_throw_error(env, "WSP_NATIVE", "defining the addon's functions failed");
    return NULL;
  }
  return exports;
}
