// NATS subject grammar (DESIGN §3): tokens separated by '.', '*' matches exactly one token,
// '>' matches one or more trailing tokens and must be last; names starting with '$' are reserved.

export const MAX_SUBJECT_BYTES = 512;

const BAD_TOKEN_CHARS = /[\s*>]/;

export class SubjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectError';
  }
}

function checkCommon(kind: string, text: string): string[] {
  if (typeof text !== 'string' || text.length === 0) throw new SubjectError(`${kind} must be a non-empty string`);
  if (Buffer.byteLength(text) > MAX_SUBJECT_BYTES) throw new SubjectError(`${kind} is longer than ${MAX_SUBJECT_BYTES} bytes`);
  if (text.startsWith('$')) throw new SubjectError(`${kind} ${JSON.stringify(text)}: names starting with '$' are reserved`);
  const tokens = text.split('.');
  for (const token of tokens) {
    if (token.length === 0) throw new SubjectError(`${kind} ${JSON.stringify(text)} has an empty token`);
  }
  return tokens;
}

/** A subject a publisher may use: no wildcards, no whitespace, no empty tokens. */
export function assertSubject(subject: string): void {
  const tokens = checkCommon('subject', subject);
  for (const token of tokens) {
    if (BAD_TOKEN_CHARS.test(token)) {
      throw new SubjectError(`subject ${JSON.stringify(subject)}: token ${JSON.stringify(token)} contains a wildcard or whitespace`);
    }
  }
}

/** A subscription pattern: '*' and '>' only as whole tokens, '>' only last. */
export function assertPattern(pattern: string): void {
  const tokens = checkCommon('pattern', pattern);
  tokens.forEach((token, i) => {
    if (token === '*') return;
    if (token === '>') {
      if (i !== tokens.length - 1) throw new SubjectError(`pattern ${JSON.stringify(pattern)}: '>' must be the last token`);
      return;
    }
    if (BAD_TOKEN_CHARS.test(token)) {
      throw new SubjectError(`pattern ${JSON.stringify(pattern)}: token ${JSON.stringify(token)} mixes a wildcard with text or has whitespace`);
    }
  });
}

export function isValidSubject(subject: string): boolean {
  try {
    assertSubject(subject);
    return true;
  } catch {
    return false;
  }
}

export function isValidPattern(pattern: string): boolean {
  try {
    assertPattern(pattern);
    return true;
  } catch {
    return false;
  }
}

/** Does `pattern` match the full subject `subject`? Both are assumed valid. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i; // one or more remaining tokens
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
