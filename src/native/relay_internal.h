/* What relay.c, relay_hold.c (asyncDelayMs) and relay_splice.c (bulk) share: not part of the relay's
 * interface (relay.h), which the glue and the driver use. */
#ifndef WSPASS_RELAY_INTERNAL_H
#define WSPASS_RELAY_INTERNAL_H

#include "relay.h"

/* The relay failed on `side`'s socket with errno `err` (recorded unless a reason already is). */
void relay_fail_side(struct relay *r, enum relay_side side, int err);

/* The destination of lane `src` can take bytes: send (or splice) what waits; the FIN after it. */
void relay_flush_lane(struct relay *r, enum relay_side src);

/* What a read (or splice) from fd[src] that returned `n` means: EOF and errors handled here. Returns
 * true when there are n bytes to pass on. */
bool relay_read_result(struct relay *r, enum relay_side src, ssize_t n);

/* relay_hold.c: copy data behind what lane `src` holds. Returns 1 (held), 0 (not held: send it the usual
 * way, behind whatever the lane still has) or -1 (the relay failed). */
int relay_hold(struct relay *r, enum relay_side src, const char *data, size_t len);

/* relay_hold.c: offer what lane `src` holds to the destination now. */
void relay_release_held(struct relay *r, enum relay_side src);

/* relay_splice.c: whether lane `src` splices its next bytes; and doing so for one readiness (false: it
 * did not touch the source, read as usual). */
bool relay_may_splice(const struct relay *r, enum relay_side src, const struct pipe_pool *pipes);
bool relay_splice_lane(struct relay *r, enum relay_side src, char *buf, size_t buf_size, struct pipe_pool *pipes);

/* relay_splice.c (the lane must have nothing pending but its pipe for the first two,
 * and be spliced for the others): put a frame header just read into the lane's pipe, taking one from
 * `pipes` (false: none free); splice up to `max` bytes from fd[src] into it (as read() returns; -1 with
 * ENOBUFS when no pipe is free); splice the pipe's bytes to the destination (as send() returns); move the
 * pipe's bytes into a pending block (0 or -errno); drop the pipe with its bytes (a failed tunnel). A
 * lane's pipe goes back to the pool whenever it is empty. */
bool relay_splice_put(struct relay *r, enum relay_side src, const char *data, size_t len, struct pipe_pool *pipes);
ssize_t relay_splice_in(struct relay *r, enum relay_side src, size_t max, struct pipe_pool *pipes);
ssize_t relay_splice_out(struct relay *r, enum relay_side src);
int relay_unsplice(struct relay *r, enum relay_side src);
void relay_unpipe(struct relay_lane *lane);

#endif
