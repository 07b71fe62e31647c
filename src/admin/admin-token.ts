// The admin endpoint's optional bearer token. Compared in constant time: both sides are hashed first, so
// neither the content nor the length of the expected token shows in how long a refusal takes.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readTokenFile } from '../config/endpoint-checks.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of `admin` (its `token`, or the trimmed content of its `tokenFile`); undefined: none. Throws when the file cannot be read or is empty. */
export function adminToken(admin: { readonly token?: string | undefined; readonly tokenFile?: string | undefined }): string | undefined {
  if (admin.token !== undefined) return admin.token;
  if (admin.tokenFile === undefined) return undefined;
  return readTokenFile(admin.tokenFile);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class TokenCheck {
  readonly #expected: Buffer;

  constructor(token: string) {
    this.#expected = digest(token);
  }

  /** True when `req` carries the token; otherwise answers 401 with WWW-Authenticate and returns false. */
  allows(req: IncomingMessage, res: ServerResponse): boolean {
    const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), this.#expected)) return true;
    const body = `${JSON.stringify({ error: given === undefined ? 'this admin endpoint needs Authorization: Bearer TOKEN' : 'wrong token' })}\n`;
    res.writeHead(401, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'www-authenticate': given === undefined ? 'Bearer realm="wspass admin"' : 'Bearer realm="wspass admin", error="invalid_token"',
    });
    res.end(body);
    return false;
  }
}
