/* The raw fds JavaScript holds, in the Node-API surface (addon.h): a released backend leg's (legRelease)
 * and a client the front held (src/tunnel/raw-fd.ts owns their rules on the JS side). Each is marked in the
 * thread's held_fds until it goes on, so that a worker's exit closes what JS still held (held_fds.h).
 *
 *   forgetFd(fd)          a released leg's or held client's fd went to a net.Socket (Node closes it now)
 *   closeFd(fd)           closes such an fd (from JS, a worker's fs.closeSync warns about fds it did not
 *                         open)
 *   peerState(fd) -> n    what the peer of an fd no JS socket reads did so far (a zero-timeout poll): 0
 *                         nothing seen, 1 its FIN (POLLRDHUP), 2 gone (POLLHUP or POLLERR: reset, or
 *                         closed both ways) */
#define _GNU_SOURCE /* POLLRDHUP */
#include <node_api.h>
#include <poll.h>
#include <unistd.h>

#include "addon.h"
#include "thread_state.h"

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

napi_status addon_define_fds(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      ADDON_FN("closeFd", close_fd),
      ADDON_FN("forgetFd", forget_fd),
      ADDON_FN("peerState", peer_state),
  };
  return ADDON_DEFINE(env, exports, props);
}
