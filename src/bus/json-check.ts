// Checks that bytes are one well-formed JSON object (RFC 8259, UTF-8) without building it.
// The broker runs this on every PUB so that subscribers never receive a payload they cannot parse;
// a byte scanner allocates nothing and costs a fraction of JSON.parse.

// Byte classes used by the scanner.
const WS = 1;
const DIGIT = 2;
const CLASS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) CLASS[c] = WS;
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPES[c.charCodeAt(0)] = 1;

// Open containers are tracked as a bit stack (1 = object, 0 = array): nesting is bounded only by
// the payload size, and a 1 MiB payload needs at most 128 KiB of stack.
let stack = new Uint8Array(64);

function pushContainer(depth: number, isObject: boolean): void {
  const byte = depth >>> 3;
  if (byte >= stack.length) {
    const grown = new Uint8Array(stack.length * 2);
    grown.set(stack);
    stack = grown;
  }
  if (isObject) stack[byte] |= 1 << (depth & 7);
  else stack[byte] &= ~(1 << (depth & 7));
}

function isObjectAt(depth: number): boolean {
  return (stack[depth >>> 3] & (1 << (depth & 7))) !== 0;
}

/** Returns the index after a JSON string starting at `i` (which holds the opening quote), or -1. */
function scanString(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i];
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const e = b[i + 1];
      if (i + 1 >= end || ESCAPES[e] === 0) return -1;
      if (e === 0x75) {
        if (i + 6 > end || !HEX[b[i + 2]] || !HEX[b[i + 3]] || !HEX[b[i + 4]] || !HEX[b[i + 5]]) return -1;
        i += 6;
      } else {
        i += 2;
      }
      continue;
    }
    if (c < 0x20) return -1;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Multi-byte UTF-8: reject overlong forms, surrogates and code points above U+10FFFF.
    if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 >= end || (b[i + 1] & 0xc0) !== 0x80) return -1;
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (i + 2 >= end) return -1;
      const c1 = b[i + 1];
      if ((c1 & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80) return -1;
      if (c === 0xe0 && c1 < 0xa0) return -1;
      if (c === 0xed && c1 > 0x9f) return -1;
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (i + 3 >= end) return -1;
      const c1 = b[i + 1];
      if ((c1 & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return -1;
      if (c === 0xf0 && c1 < 0x90) return -1;
      if (c === 0xf4 && c1 > 0x8f) return -1;
      i += 4;
    } else {
      return -1;
    }
  }
  return -1;
}

/** Returns the index after a JSON number starting at `i`, or -1. */
function scanNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) {
    i++;
  } else if (CLASS[b[i]] === DIGIT) {
    while (i < end && CLASS[b[i]] === DIGIT) i++;
  } else {
    return -1;
  }
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || CLASS[b[i]] !== DIGIT) return -1;
    while (i < end && CLASS[b[i]] === DIGIT) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || CLASS[b[i]] !== DIGIT) return -1;
    while (i < end && CLASS[b[i]] === DIGIT) i++;
  }
  return i;
}

function scanLiteral(b: Uint8Array, i: number, end: number, word: string): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

const KEY = 0; // after '{' or ',' in an object
const VALUE = 1; // after ':' , '[' or ',' in an array
const AFTER = 2; // after a complete value: ',' or a closing bracket

/** True if b[start, end) is exactly one JSON object, optionally surrounded by whitespace. */
export function isJsonObject(b: Uint8Array, start = 0, end = b.length): boolean {
  let i = start;
  while (i < end && CLASS[b[i]] === WS) i++;
  if (i >= end || b[i] !== 0x7b) return false;
  pushContainer(0, true);
  let depth = 1;
  let state = KEY;
  let afterOpen = true; // right after '{' or '[': the container may close at once
  i++;
  while (depth > 0) {
    while (i < end && CLASS[b[i]] === WS) i++;
    if (i >= end) return false;
    const c = b[i];
    if (state === KEY) {
      if (c === 0x7d && afterOpen) {
        depth--;
        i++;
        state = AFTER;
        continue;
      }
      if (c !== 0x22) return false;
      i = scanString(b, i, end);
      if (i < 0) return false;
      while (i < end && CLASS[b[i]] === WS) i++;
      if (i >= end || b[i] !== 0x3a) return false;
      i++;
      state = VALUE;
      afterOpen = false;
    } else if (state === VALUE) {
      if (c === 0x7b) {
        pushContainer(depth++, true);
        i++;
        state = KEY;
        afterOpen = true;
      } else if (c === 0x5b) {
        pushContainer(depth++, false);
        i++;
        afterOpen = true;
      } else if (c === 0x5d && afterOpen) {
        depth--;
        i++;
        state = AFTER;
      } else {
        if (c === 0x22) i = scanString(b, i, end);
        else if (c === 0x2d || CLASS[c] === DIGIT) i = scanNumber(b, i, end);
        else if (c === 0x74) i = scanLiteral(b, i, end, 'true');
        else if (c === 0x66) i = scanLiteral(b, i, end, 'false');
        else if (c === 0x6e) i = scanLiteral(b, i, end, 'null');
        else return false;
        if (i < 0) return false;
        state = AFTER;
      }
    } else {
      const inObject = isObjectAt(depth - 1);
      if (c === 0x2c) {
        i++;
        state = inObject ? KEY : VALUE;
        afterOpen = false;
      } else if (c === (inObject ? 0x7d : 0x5d)) {
        depth--;
        i++;
      } else {
        return false;
      }
    }
  }
  while (i < end && CLASS[b[i]] === WS) i++;
  return i === end;
}
