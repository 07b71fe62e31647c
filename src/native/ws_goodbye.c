/* A drain's goodbye on a WebSocket tunnel of the native engine (the JavaScript engine does the same in
 * src/tunnel/ws-goodbye.ts): instead of a bare FIN, which every client sees as 1006 (abnormal) and which
 * loses the messages in flight, both peers get a closing handshake.
 *
 *   client -> backend: the frame in progress is let through to its end, then the backend gets a masked
 *                      close 1001 (Going Away); whatever the client sends after it is read and dropped,
 *                      because nothing may follow a close frame, and its frames are counted.
 *   backend -> client: relayed frame by frame until the backend's close frame begins; that frame is not
 *                      passed on: the client gets a close frame with the configured code instead, and
 *                      nothing after it. The backend's FIN waits (maybe_shut in relay.c).
 *   done:              both close frames sent and the client's close (or FIN) received: relay_drain,
 *                      FIN both ways.
 *
 * Injected frames go through relay_pass: behind whatever of the lane still waits, so they land exactly
 * at the boundary the tracker saw. The tunnel (tunnel.c, thread_state.c) bounds the whole exchange. */
#define _GNU_SOURCE
#include <sys/random.h>

#include "relay.h"

enum { BACKEND_CLOSE_SENT = 1u, CLIENT_CLOSE_SENT = 2u, CLIENT_DONE = 4u };

#define BACKEND_CLOSE_CODE 1001 /* the proxy, as the backend's client, is going away */

static void end_goodbye(struct relay *r, uint8_t how) {
  r->goodbye = how;
  relay_drain(r, RELAY_CLOSED);
}

static void send_backend_close(struct relay *r) {
  uint8_t frame[8], mask[4] = {0x5a, 0x3c, 0xa5, 0xc3};
  /* A masking key should be unpredictable (RFC 6455 §5.3); the frame's content is fixed anyway, so a
   * failed getrandom only makes the key a constant. */
  (void)!getrandom(mask, sizeof mask, GRND_NONBLOCK);
  size_t len = ws_close_frame(frame, BACKEND_CLOSE_CODE, mask);
  r->goodbye_flags |= BACKEND_CLOSE_SENT;
  relay_pass(r, RELAY_CLIENT, (const char *)frame, len);
}

static void send_client_close(struct relay *r) {
  uint8_t frame[8];
  size_t len = ws_close_frame(frame, r->close_code, NULL);
  r->goodbye_flags |= CLIENT_CLOSE_SENT;
  relay_pass(r, RELAY_BACKEND, (const char *)frame, len);
}

static void check_done(struct relay *r) {
  const uint8_t all = BACKEND_CLOSE_SENT | CLIENT_CLOSE_SENT | CLIENT_DONE;
  if (!r->failed && r->goodbye == GOODBYE_ACTIVE && (r->goodbye_flags & all) == all) end_goodbye(r, GOODBYE_HANDSHAKE);
}

bool relay_goodbye(struct relay *r, uint16_t code) {
  if (r->failed || r->draining || r->goodbye != GOODBYE_NONE) return false;
  const struct ws_track *c = &r->track[RELAY_CLIENT], *b = &r->track[RELAY_BACKEND];
  /* Not WebSocket, framing that is not, a closing handshake already under way or a side already ended:
   * a bare FIN, as without a goodbye. */
  if (!r->websocket || ((c->flags | b->flags) & (WS_OFF | WS_CLOSE_SEEN)) || r->lane[RELAY_CLIENT].read_eof ||
      r->lane[RELAY_BACKEND].read_eof) {
    r->goodbye = GOODBYE_FIN;
    relay_drain(r, RELAY_CLOSED);
    return false;
  }
  /* The proxy closes this tunnel, whichever peer's FIN then ends the handshake: that is its reason (the
   * access log's "drain"), as the JavaScript engine records it. */
  relay_record(r, RELAY_CLOSED);
  r->goodbye = GOODBYE_ACTIVE;
  r->close_code = code;
  r->frames_dropped = 0;
  r->goodbye_flags = 0;
  if (ws_track_at_boundary(c)) send_backend_close(r);
  return !r->failed;
}

void relay_goodbye_timeout(struct relay *r) {
  if (r->goodbye == GOODBYE_ACTIVE) end_goodbye(r, GOODBYE_TIMEOUT);
}

bool ws_goodbye_dropping(const struct relay *r, enum relay_side side) {
  if (r->goodbye != GOODBYE_ACTIVE) return false;
  return r->goodbye_flags & (side == RELAY_CLIENT ? BACKEND_CLOSE_SENT : CLIENT_CLOSE_SENT);
}

/* Client bytes: the frame in progress passes, then the backend's close; the rest is counted, dropped. */
static void from_client(struct relay *r, const uint8_t *p, size_t n) {
  struct ws_track *t = &r->track[RELAY_CLIENT];
  size_t i = 0;
  if (!(r->goodbye_flags & BACKEND_CLOSE_SENT)) {
    i = ws_track_scan(t, p, n, true);
    if (t->flags & WS_OFF) {
      if (relay_pass(r, RELAY_CLIENT, (const char *)p, n)) end_goodbye(r, GOODBYE_FIN);
      return;
    }
    if (!relay_pass(r, RELAY_CLIENT, (const char *)p, i)) return;
    if (!ws_track_at_boundary(t)) return; /* the frame in progress goes on in the next read */
    send_backend_close(r);
  }
  while (i < n) {
    i += ws_track_scan(t, p + i, n - i, true);
    if (i >= n || (t->flags & WS_OFF)) break;
    if ((p[i] & 0x0fu) == WS_OP_CLOSE) r->goodbye_flags |= CLIENT_DONE;
    else r->frames_dropped++;
    i += ws_track_scan(t, p + i, 1, false);
  }
  check_done(r);
}

/* Backend bytes: frames pass until the backend's close begins; the client gets its close instead. */
static void from_backend(struct relay *r, const uint8_t *p, size_t n) {
  if (r->goodbye_flags & CLIENT_CLOSE_SENT) return; /* nothing follows the client's close frame */
  struct ws_track *t = &r->track[RELAY_BACKEND];
  size_t i = 0;
  while (i < n) {
    i += ws_track_scan(t, p + i, n - i, true);
    if (t->flags & WS_OFF) {
      if (relay_pass(r, RELAY_BACKEND, (const char *)p, n)) end_goodbye(r, GOODBYE_FIN);
      return;
    }
    if (i >= n) break;
    if ((p[i] & 0x0fu) == WS_OP_CLOSE) {
      if (!relay_pass(r, RELAY_BACKEND, (const char *)p, i)) return;
      send_client_close(r);
      check_done(r);
      return;
    }
    i += ws_track_scan(t, p + i, 1, false);
  }
  relay_pass(r, RELAY_BACKEND, (const char *)p, n);
}

void ws_goodbye_read(struct relay *r, enum relay_side src, const char *buf, size_t n) {
  if (src == RELAY_CLIENT) from_client(r, (const uint8_t *)buf, n);
  else from_backend(r, (const uint8_t *)buf, n);
}

void ws_goodbye_eof(struct relay *r, enum relay_side src) {
  if (src == RELAY_CLIENT) {
    /* The client sent its FIN: it will send no close frame. */
    if (!(r->goodbye_flags & BACKEND_CLOSE_SENT)) {
      if (!ws_track_at_boundary(&r->track[RELAY_CLIENT])) {
        end_goodbye(r, GOODBYE_FIN);
        return;
      }
      send_backend_close(r);
    }
    r->goodbye_flags |= CLIENT_DONE;
  } else if (!(r->goodbye_flags & CLIENT_CLOSE_SENT)) {
    /* The backend ended without a close frame: the client still gets one if a frame boundary allows. */
    if (!ws_track_at_boundary(&r->track[RELAY_BACKEND])) {
      end_goodbye(r, GOODBYE_FIN);
      return;
    }
    send_client_close(r);
  }
  check_done(r);
}
