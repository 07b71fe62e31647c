/* The WebSocket frame tracker (see ws_frames.h). One loop step per header byte, one per payload run. */
#include "ws_frames.h"

#include <string.h>

void ws_track_init(struct ws_track *t, bool masked) {
  memset(t, 0, sizeof *t);
  t->need = 2;
  t->flags = masked ? WS_MASKED : 0;
}

static size_t turn_off(struct ws_track *t, size_t n) {
  t->flags |= WS_OFF;
  return n;
}

/* The header is complete: an empty payload ends the frame at once. */
static void header_done(struct ws_track *t) {
  if (t->left == 0) t->hdr = 0;
}

size_t ws_track_scan(struct ws_track *t, const uint8_t *p, size_t n, bool stop_at_boundary) {
  if (t->flags & WS_OFF) return n;
  const unsigned mask_len = (t->flags & WS_MASKED) ? 4u : 0u;
  size_t i = 0;
  while (i < n) {
    if (t->hdr == 0) {
      if (stop_at_boundary) return i;
      uint8_t b0 = p[i++];
      unsigned op = b0 & 0x0fu;
      /* Reserved opcodes 3-7 and 0xB-0xF, RSV2/RSV3 (no extension in use has them), fragmented control. */
      if ((op > 2 && op < 8) || op > 10 || (b0 & 0x30u) || (op >= 8 && !(b0 & 0x80u))) return turn_off(t, n);
      if (op == WS_OP_CLOSE) t->flags |= WS_CLOSE_SEEN;
      t->b0 = b0;
      t->hdr = 1;
    } else if (t->hdr == 1) {
      uint8_t b1 = p[i++];
      if (((b1 & 0x80u) != 0) != (mask_len != 0)) return turn_off(t, n);
      unsigned len7 = b1 & 0x7fu;
      if ((t->b0 & 0x08u) && len7 > 125) return turn_off(t, n);
      t->need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + mask_len);
      t->left = len7 < 126 ? len7 : 0;
      t->hdr = 2;
      if (t->need == 2) header_done(t);
    } else if (t->hdr < t->need - mask_len) {
      /* Extended length, most significant byte first; 4 GiB or more is not tracked (see ws_frames.h). */
      if (t->left >> 24) return turn_off(t, n);
      t->left = (t->left << 8) | p[i++];
      if (++t->hdr == t->need) header_done(t);
    } else if (t->hdr < t->need) {
      /* The masking key: skipped. */
      size_t k = (size_t)(t->need - t->hdr);
      if (k > n - i) k = n - i;
      i += k;
      t->hdr = (uint8_t)(t->hdr + k);
      if (t->hdr == t->need) header_done(t);
    } else {
      /* Payload: skipped by arithmetic. */
      size_t k = (size_t)t->left < n - i ? (size_t)t->left : n - i;
      i += k;
      t->left -= (uint32_t)k;
      if (t->left == 0) t->hdr = 0;
    }
  }
  return i;
}

size_t ws_close_frame(uint8_t out[8], uint16_t code, const uint8_t *mask) {
  out[0] = 0x88; /* FIN + close */
  if (mask == NULL) {
    out[1] = 2;
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    return 4;
  }
  out[1] = 0x82;
  memcpy(out + 2, mask, 4);
  out[6] = (uint8_t)((code >> 8) ^ mask[0]);
  out[7] = (uint8_t)(code ^ mask[1]);
  return 8;
}
