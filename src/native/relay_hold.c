/* asyncDelayMs in the relay (see relay_set_async in relay.h): reads held in the lane, in a block that
 * exists only while bytes are held, and offered to the destination when coalesce.c flushes them, when
 * they reach hold_at, or at a FIN or a drain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "relay_internal.h"

void relay_set_async(struct relay *r, uint32_t hold_at, uint32_t hold_ms) {
  r->hold_at = hold_at;
  r->hold_ms = hold_ms;
}

/* Offers what is held to the destination now: it becomes an ordinary remainder if not all is taken. */
void relay_release_held(struct relay *r, enum relay_side src) {
  if (!r->lane[src].held) return;
  r->lane[src].held = false;
  relay_flush_lane(r, src);
}

void relay_flush_held(struct relay *r) {
  if (r->failed) return;
  relay_release_held(r, RELAY_CLIENT);
  relay_release_held(r, RELAY_BACKEND);
}

/* The hold buffer's size for `len` bytes: 4 KiB, doubled as needed, at most hold_at. Derived rather than
 * stored (the lane has no room for a capacity). Small messages get a small block that malloc serves from
 * its caches; a 64 KiB block per turn would be trimmed and faulted in again each time. */
static size_t hold_size(const struct relay *r, size_t len) {
  size_t size = 4096;
  while (size < len) size *= 2;
  return size < r->hold_at ? size : r->hold_at;
}

/* Copies data behind what the lane holds. Returns 1 (held), 0 (not held: the caller sends it the
 * usual way, behind whatever the lane still has) or -1 (the relay failed). A chunk that would take the
 * lane past hold_at is not copied: what is held goes out first, then the chunk as it is, so bulk reads
 * (one read of hold_at bytes or more) cost no copy at all. */
int relay_hold(struct relay *r, enum relay_side src, const char *data, size_t len) {
  struct relay_lane *lane = &r->lane[src];
  size_t have = lane->pending_len; /* pending_off is 0 while held: nothing of it was offered yet */
  if (have + len > r->hold_at || (have == 0 && len == r->hold_at)) {
    relay_release_held(r, src);
    return r->failed ? -1 : 0;
  }
  /* Allocated while bytes are held only: an idle or write-through lane has no hold buffer. */
  if (lane->pending == NULL || hold_size(r, have + len) > hold_size(r, have)) {
    char *p = realloc(lane->pending, hold_size(r, have + len));
    if (p == NULL) {
      relay_fail_side(r, src, ENOMEM);
      return -1;
    }
    lane->pending = p;
    lane->pending_off = 0;
  }
  memcpy(lane->pending + have, data, len);
  lane->pending_len = (uint32_t)(have + len);
  lane->held = true;
  if (lane->pending_len == r->hold_at) relay_release_held(r, src);
  return r->failed ? -1 : 1;
}
