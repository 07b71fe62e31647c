/* The raw fds a thread gave to JavaScript and must close if the worker exits first (held_fds.h). A bitmap,
 * not a list: marking and clearing are O(1) whatever the number of handshakes in flight, and fd numbers
 * are dense, so it stays small (128 KiB would cover a million fds). */
#include "held_fds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int held_fds_add(struct held_fds *h, int fd) {
  if (fd < 0) return 0;
  size_t byte = (size_t)fd / 8;
  if (byte >= h->cap_bytes) {
    size_t cap = h->cap_bytes == 0 ? 128 : h->cap_bytes;
    while (cap <= byte) cap *= 2;
    uint8_t *bits = realloc(h->bits, cap);
    if (bits == NULL) return -ENOMEM;
    memset(bits + h->cap_bytes, 0, cap - h->cap_bytes);
    h->bits = bits;
    h->cap_bytes = cap;
  }
  uint8_t mask = (uint8_t)(1u << (fd % 8));
  if (!(h->bits[byte] & mask)) h->count++;
  h->bits[byte] |= mask;
  return 0;
}

void held_fds_forget(struct held_fds *h, int fd) {
  if (fd < 0 || (size_t)fd / 8 >= h->cap_bytes) return;
  uint8_t mask = (uint8_t)(1u << (fd % 8));
  if (h->bits[fd / 8] & mask) h->count--;
  h->bits[fd / 8] &= (uint8_t)~mask;
}

void held_fds_close_all(struct held_fds *h) {
  for (size_t byte = 0; h->count > 0 && byte < h->cap_bytes; byte++) {
    if (h->bits[byte] == 0) continue;
    for (int bit = 0; bit < 8; bit++) {
      if (h->bits[byte] & (1u << bit)) {
        close((int)(byte * 8) + bit);
        h->count--;
      }
    }
  }
  free(h->bits);
  h->bits = NULL;
  h->cap_bytes = 0;
  h->count = 0;
}
