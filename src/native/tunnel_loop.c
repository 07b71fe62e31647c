/* The tunnels' epoll set and the stay inside a libuv turn (see tunnel_loop.h). */
#include "tunnel_loop.h"

#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Events fetched per epoll_wait; more wait for the next one (level-triggered, nothing is lost). */
#define BATCH 128

static void on_set_ready(uv_poll_t *p, int status, int events);

int tunnel_loop_start(struct tunnel_loop *tl, uv_loop_t *loop, tunnel_loop_cb on_ready, void *data) {
  tl->loop = loop;
  tl->on_ready = on_ready;
  tl->staying = false;
  tl->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (tl->epfd < 0) return -errno;
  int rc = uv_poll_init(loop, &tl->poll, tl->epfd);
  if (rc != 0) {
    close(tl->epfd);
    tl->epfd = -1;
    return rc;
  }
  tl->poll.data = data;
  /* uv_poll_start cannot fail on an initialised handle (libuv aborts on the allocation it may need). */
  uv_poll_start(&tl->poll, UV_READABLE, on_set_ready);
  uv_unref((uv_handle_t *)&tl->poll);
  return 0;
}

static uint32_t to_epoll(int want) {
  return ((want & UV_READABLE) ? (uint32_t)EPOLLIN : 0u) | ((want & UV_WRITABLE) ? (uint32_t)EPOLLOUT : 0u);
}

int tunnel_loop_arm(struct tunnel_loop *tl, int fd, void *owner, int side, int had, int want) {
  if (want == had) return 0;
  /* An fd with no interest leaves the set: epoll reports hang-ups and errors whatever the mask, level-
   * triggered, so a paused fd left in it would wake the loop for nothing until it is read (libuv does the
   * same with a stopped poll). */
  struct epoll_event ev = {0};
  ev.events = to_epoll(want);
  ev.data.u64 = (uint64_t)(uintptr_t)owner | (uint64_t)(side & 1);
  int op = want == 0 ? EPOLL_CTL_DEL : had == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  return epoll_ctl(tl->epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

/* One fetched event to the owner, as libuv would give it: an error or hang-up reports whatever the fd was
 * armed for, so the read or send that follows meets the error. */
static void deliver(struct tunnel_loop *tl, const struct epoll_event *e) {
  void *owner = (void *)(uintptr_t)(e->data.u64 & ~(uint64_t)1);
  int side = (int)(e->data.u64 & 1);
  uint32_t ev = e->events;
  int events = ((ev & EPOLLIN) ? UV_READABLE : 0) | ((ev & EPOLLOUT) ? UV_WRITABLE : 0);
  if (ev & (EPOLLERR | EPOLLHUP)) events |= UV_READABLE | UV_WRITABLE;
  tl->on_ready(owner, side, events);
}

/* Enters the stay: the set leaves Node's epoll, Node's epoll joins the set (entry 0). */
static bool stay(struct tunnel_loop *tl) {
  uv_poll_stop(&tl->poll);
  struct epoll_event ev = {0};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (epoll_ctl(tl->epfd, EPOLL_CTL_ADD, uv_backend_fd(tl->loop), &ev) == 0) {
    tl->staying = true;
    return true;
  }
  uv_poll_start(&tl->poll, UV_READABLE, on_set_ready);
  return false;
}

static void leave(struct tunnel_loop *tl) {
  struct epoll_event ev = {0};
  epoll_ctl(tl->epfd, EPOLL_CTL_DEL, uv_backend_fd(tl->loop), &ev);
  tl->staying = false;
  /* Back in Node's epoll: anything ready in the set meanwhile wakes Node's loop, and this, again. */
  uv_poll_start(&tl->poll, UV_READABLE, on_set_ready);
}

/* Node's loop found the set ready. Serve it, then stay: wait on the set (with Node's epoll in it) no longer
 * than Node's next timer, serving tunnels, until Node's epoll is ready or Node has work queued. The owners'
 * callbacks call no JS (a closed tunnel is reported by the thread's reaper, an idle handle, on the next
 * turn; its memory lasts until then, so an event already fetched for it finds it marked closing). */
static void on_set_ready(uv_poll_t *p, int status, int events) {
  (void)status; /* an error on the set itself: the epoll_wait below meets it and leaves */
  (void)events;
  struct tunnel_loop *tl = (struct tunnel_loop *)((char *)p - offsetof(struct tunnel_loop, poll));
  struct epoll_event evs[BATCH];
  int timeout = 0;
  for (;;) {
    int n = epoll_wait(tl->epfd, evs, BATCH, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    /* The tunnels' idle clocks read uv_now, and Node's next timer below is measured from it. */
    uv_update_time(tl->loop);
    bool node_ready = false;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 0) node_ready = true;
      else deliver(tl, &evs[i]);
    }
    if (node_ready) break;
    if (!tl->staying && !stay(tl)) return;
    timeout = uv_backend_timeout(tl->loop);
    if (timeout == 0) break;
  }
  if (tl->staying) leave(tl);
}

void tunnel_loop_close(struct tunnel_loop *tl, uv_close_cb cb) {
  if (tl->epfd < 0) return;
  uv_close((uv_handle_t *)&tl->poll, cb);
  close(tl->epfd);
  tl->epfd = -1;
}
