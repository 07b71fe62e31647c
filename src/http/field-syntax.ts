// The character classes of an HTTP/1.1 message head (RFC 9110 §5.5, RFC 9112 §4), shared by the parser of
// backend heads and the rules that accept them. Anything outside them could split or smuggle a head.

/** A token: field names and methods. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value or a reason phrase: tabs, spaces, visible characters and obs-text; no other controls. */
export const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;
