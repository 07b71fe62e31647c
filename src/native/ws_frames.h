/* Where the WebSocket frames of one tunnel direction begin and end (RFC 6455 §5.2): the same tracker as
 * src/tunnel/ws-frame-tracker.ts, for the native engine. A drain needs it to put a close frame between
 * two frames instead of cutting one (a cut frame is a protocol error: the client sees 1006).
 *
 * Only headers are read (2 to 14 bytes, possibly split across reads); payloads are skipped by arithmetic,
 * whatever their encoding (permessage-deflate compresses payloads only; control frames are never
 * compressed or fragmented and may sit between fragments: all are plain frames here). The state is 8
 * bytes per direction (the tunnel's whole C state stays within 512 bytes) and nothing is allocated: it runs on every read of a WebSocket tunnel. Framing that
 * cannot be WebSocket (a reserved opcode, RSV2/RSV3, a fragmented or long control frame, the wrong mask
 * bit for the direction, a frame of 4 GiB or more, which no WebSocket peer sends and which would need a
 * wider counter) turns it off for good: the drain then
 * falls back to a plain FIN. */
#ifndef WSPASS_WS_FRAMES_H
#define WSPASS_WS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_OP_CLOSE 0x8u

enum { WS_MASKED = 1u, WS_OFF = 2u, WS_CLOSE_SEEN = 4u };

struct ws_track {
  uint32_t left; /* payload bytes left in the current frame (in its header: the extended length so far) */
  uint8_t hdr;   /* header bytes seen of the current frame; 0: at a frame boundary */
  uint8_t need;  /* the current frame's header length, known after its second byte */
  uint8_t b0;    /* the current frame's first byte: FIN, RSV, opcode */
  uint8_t flags; /* WS_MASKED (frames in this direction are masked: client to server), WS_OFF, WS_CLOSE_SEEN */
};

void ws_track_init(struct ws_track *t, bool masked);

/* Tracks p[0..n). With stop_at_boundary, stops at the first frame boundary (before the next frame's first
 * byte) and returns its offset; else consumes everything. Returns n when no boundary was found or the
 * tracker is (or turned) off. */
size_t ws_track_scan(struct ws_track *t, const uint8_t *p, size_t n, bool stop_at_boundary);

static inline bool ws_track_at_boundary(const struct ws_track *t) {
  return t->hdr == 0 && !(t->flags & WS_OFF);
}

/* Payload bytes of the current frame that may pass unseen (spliced): 0 at or inside a header, or off. */
static inline uint32_t ws_track_payload_left(const struct ws_track *t) {
  return (t->flags & WS_OFF) || t->hdr == 0 || t->hdr < t->need ? 0 : t->left;
}

/* `n` (at most ws_track_payload_left) payload bytes passed unseen. */
static inline void ws_track_skip(struct ws_track *t, uint32_t n) {
  t->left -= n;
  if (t->left == 0) t->hdr = 0;
}

/* The longest frame header (2 + 8 bytes of length + 4 of mask). */
#define WS_MAX_HEADER 14

/* Writes a close frame with `code` and no reason into out[0..8): masked with mask[0..4) when mask is
 * not NULL (a client's frame). Returns its length (4 or 8). */
size_t ws_close_frame(uint8_t out[8], uint16_t code, const uint8_t *mask);

#endif
