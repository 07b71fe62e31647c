// The WebSocket frame tracker: boundaries found exactly wherever a stream is split (every byte), headers
// of every length form, fragments with control frames between them, permessage-deflate's RSV1, and
// framing that is not WebSocket turning it off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeFrame, FrameTracker } from '../../src/tunnel/ws-frame-tracker.js';

/** One frame: `b0` (FIN, RSV, opcode), a payload of `len` bytes, masked when `mask`. */
function frame(b0: number, len: number, mask: boolean): Buffer {
  const ext = len < 126 ? [] : len < 65536 ? [len >> 8, len & 0xff] : [0, 0, 0, 0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
  const len7 = len < 126 ? len : len < 65536 ? 126 : 127;
  const head = [b0, (mask ? 0x80 : 0) | len7, ...ext, ...(mask ? [1, 2, 3, 4] : [])];
  // Payload bytes that look like headers, so a tracker reading payload would be caught.
  return Buffer.concat([Buffer.from(head), Buffer.alloc(len, 0x88)]);
}

/** A stream of frames and the offsets where each frame begins (plus the end). */
function stream(mask: boolean): { buf: Buffer; starts: number[] } {
  const frames = [
    frame(0x81, 5, mask), // text
    frame(0x01, 0, mask), // first fragment, empty
    frame(0x89, 3, mask), // ping between fragments
    frame(0x00, 126, mask), // continuation, 16-bit length
    frame(0x8a, 125, mask), // pong, longest control payload
    frame(0x80, 127, mask), // last fragment
    frame(0xc2, 65535, mask), // binary, RSV1 (permessage-deflate)
    frame(0xc1, 65536, mask), // 64-bit length
    frame(0x82, 0, mask),
  ];
  const starts: number[] = [];
  let at = 0;
  for (const f of frames) {
    starts.push(at);
    at += f.length;
  }
  starts.push(at);
  return { buf: Buffer.concat(frames), starts };
}

/** Feeds `chunks` and lists the offsets at which the tracker reports a boundary before a frame. */
function boundaries(tracker: FrameTracker, chunks: Buffer[]): number[] {
  const found: number[] = [];
  let base = 0;
  for (const c of chunks) {
    let i = 0;
    for (;;) {
      i = tracker.scan(c, i, c.length, true);
      if (i >= c.length) break;
      if (found.at(-1) !== base + i) found.push(base + i);
      i = tracker.scan(c, i, i + 1, false);
    }
    base += c.length;
  }
  if (tracker.atBoundary) found.push(base);
  return found;
}

for (const mask of [true, false]) {
  test(`${mask ? 'masked' : 'unmasked'} frames: the same boundaries wherever the stream is split in two`, () => {
    const { buf, starts } = stream(mask);
    for (let s = 0; s <= buf.length; s++) {
      const t = new FrameTracker(mask);
      assert.deepEqual(boundaries(t, [buf.subarray(0, s), buf.subarray(s)]), starts, `split at ${s}`);
      assert.equal(t.off, false);
    }
  });

  test(`${mask ? 'masked' : 'unmasked'} frames fed one byte at a time: a boundary exactly between frames`, () => {
    const { buf, starts } = stream(mask);
    const t = new FrameTracker(mask);
    const at = new Set(starts);
    for (let i = 0; i < buf.length; i++) {
      assert.equal(t.atBoundary, at.has(i), `before byte ${i}`);
      assert.equal(t.scan(buf, i, i + 1, false), i + 1);
    }
    assert.equal(t.atBoundary, true);
    assert.equal(t.closeSeen, false);
  });
}

test('a whole stream in one scan is consumed, with the tracker ending at a boundary', () => {
  const { buf } = stream(true);
  const t = new FrameTracker(true);
  assert.equal(t.scan(buf, 0, buf.length, false), buf.length);
  assert.equal(t.atBoundary, true);
});

test('a close frame is noted as soon as its first byte is read', () => {
  const t = new FrameTracker(false);
  const close = closeFrame(1001, undefined);
  t.scan(close, 0, 1, false);
  assert.equal(t.closeSeen, true);
  assert.equal(t.atBoundary, false);
  t.scan(close, 1, close.length, false);
  assert.equal(t.atBoundary, true);
  assert.deepEqual([...close], [0x88, 0x02, 0x03, 0xe9]);
});

test('a masked close frame carries the code under its mask', () => {
  const f = closeFrame(1001, Uint8Array.from([9, 8, 7, 6]));
  assert.deepEqual([...f.subarray(0, 6)], [0x88, 0x82, 9, 8, 7, 6]);
  assert.equal(((f[6]! ^ 9) << 8) | (f[7]! ^ 8), 1001);
  const t = new FrameTracker(true);
  t.scan(f, 0, f.length, false);
  assert.ok(t.atBoundary && t.closeSeen);
});

test('a frame just under 4 GiB is tracked: its payload is skipped by arithmetic', () => {
  const t = new FrameTracker(false);
  const head = Buffer.from([0x82, 127, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  t.scan(head, 0, head.length, false);
  assert.equal(t.off, false);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < 4095; i++) t.scan(chunk, 0, chunk.length, false);
  assert.equal(t.atBoundary, false);
  t.scan(chunk, 0, chunk.length - 1, false);
  assert.equal(t.atBoundary, true);
});

test('framing that is not WebSocket turns the tracker off for good', () => {
  const bad: [string, Buffer, boolean][] = [
    ['reserved opcode 3', Buffer.from([0x83, 0x00]), false],
    ['reserved opcode 0xB', Buffer.from([0x8b, 0x00]), false],
    ['a fragmented ping', Buffer.from([0x09, 0x00]), false],
    ['a ping over 125 bytes', Buffer.from([0x89, 126, 0, 200]), false],
    ['a masked server frame', Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0]), false],
    ['an unmasked client frame', Buffer.from([0x81, 0x01, 0]), true],
    ['a 64-bit length with its top bit set', Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), false],
    ['a frame of 4 GiB', Buffer.from([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]), false],
    ['HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), false],
  ];
  for (const [what, buf, mask] of bad) {
    const t = new FrameTracker(mask);
    assert.equal(t.scan(buf, 0, buf.length, false), buf.length, what);
    assert.equal(t.off, true, what);
    assert.equal(t.atBoundary, false, what);
    const more = frame(0x81, 1, mask);
    assert.equal(t.scan(more, 0, more.length, true), more.length, `${what}: stays off`);
  }
});
