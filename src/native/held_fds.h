/* Fds this thread gave to JavaScript raw: a client the native front took (src/server/native-front.ts holds
 * it as a HeldClient) and a backend leg released after its 101 (a ReleasedLeg), while no net.Socket and no
 * tunnel owns them yet (from milliseconds to a backend's handshake timeout). When a worker exits, Node
 * closes the worker's own handles and the cleanup hook closes the tunnels and legs, but an fd held by a
 * JavaScript object would stay open: its client left waiting with nobody reading, its fd leaked in a
 * process that lives on. So the thread marks each such fd, JavaScript says when it goes on (to a tunnel,
 * which takes it; to a net.Socket; or closed), and the cleanup hook closes the ones still marked.
 *
 * A mark left behind after the fd went elsewhere would make the cleanup hook close a number that may by
 * then belong to another thread's connection (fds are process-wide), so every path that takes a raw fd
 * clears its mark first: open() with an OPEN_OWN_* flag, closeFd(), forgetFd(). */
#ifndef WSPASS_HELD_FDS_H
#define WSPASS_HELD_FDS_H

#include <stddef.h>
#include <stdint.h>

struct held_fds {
  uint8_t *bits;     /* one bit per fd number, grown on demand (fds are small, dense integers) */
  size_t cap_bytes;
  uint32_t count;    /* fds marked now */
};

/* Marks `fd` as given to JavaScript raw. Returns 0 or -ENOMEM (then it is not marked: best effort). */
int held_fds_add(struct held_fds *h, int fd);

/* `fd` went on (a tunnel, a socket, closed): not this thread's to close at exit any more. */
void held_fds_forget(struct held_fds *h, int fd);

/* Worker exit: closes every fd still marked and frees the bitmap. */
void held_fds_close_all(struct held_fds *h);

#endif
