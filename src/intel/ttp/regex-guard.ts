// Compiles rule regular expressions once, after a static check against the shapes that make a
// backtracking engine blow up on attacker-chosen text. What it refuses:
//   - a quantified group that itself contains a quantifier, e.g. (a+)+ or (\w*\s)* (exponential);
//   - a group with alternatives repeated without bound, e.g. (a|ab)* (exponential when they overlap);
//   - backreferences (\1, \k<name>): not regular, no useful bound;
//   - more than MAX_LONG_QUANTIFIERS quantifiers that may repeat many times (*, +, {n,}, {n,m} with
//     m > 16): each one multiplies the worst case by the length of the text.
// The text handed to a regex is capped as well (MAX_MATCH_CHARS), so the remaining polynomial cases
// stay bounded; test/intel/ttp-regex-safety.test.ts measures every shipped pattern on adversarial input.

export const MAX_PATTERN_CHARS = 512;
export const MAX_LONG_QUANTIFIERS = 3;
/** Longest text any rule regex is run on. */
export const MAX_MATCH_CHARS = 2048;

export class RegexRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexRuleError';
  }
}

interface GroupFrame {
  hasQuantifier: boolean;
  hasUnboundedQuantifier: boolean;
  hasAlternation: boolean;
}

/** Reads a quantifier at `i`; returns its end index and whether it repeats without (or with a large) bound. */
function readQuantifier(src: string, i: number): { end: number; long: boolean; unbounded: boolean } | undefined {
  const c = src[i];
  let end: number;
  let long: boolean;
  let unbounded: boolean;
  if (c === '*' || c === '+') {
    end = i + 1;
    long = true;
    unbounded = true;
  } else if (c === '?') {
    end = i + 1;
    long = false;
    unbounded = false;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 16));
    if (!m) return undefined; // a literal brace
    end = i + m[0].length;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    unbounded = max === Infinity;
    long = max > 16;
  } else return undefined;
  if (src[end] === '?') end++; // lazy form
  return { end, long, unbounded };
}

/** Throws RegexRuleError when the pattern has a shape listed above. */
export function checkPatternSafety(src: string): void {
  if (src.length === 0) throw new RegexRuleError('empty pattern');
  if (src.length > MAX_PATTERN_CHARS) throw new RegexRuleError(`pattern longer than ${MAX_PATTERN_CHARS} characters`);
  const stack: GroupFrame[] = [{ hasQuantifier: false, hasUnboundedQuantifier: false, hasAlternation: false }];
  let longQuantifiers = 0;
  let i = 0;
  // After an atom, a quantifier may follow; `closed` carries the frame of a group that just ended.
  const afterAtom = (closed?: GroupFrame): void => {
    const q = readQuantifier(src, i);
    if (!q) return;
    const top = stack[stack.length - 1]!;
    if (closed && (q.long || q.unbounded) && (closed.hasUnboundedQuantifier || closed.hasQuantifier && q.unbounded)) {
      throw new RegexRuleError(`nested quantifier at offset ${i}: a repeated group contains a repetition (catastrophic backtracking)`);
    }
    if (closed && q.unbounded && closed.hasAlternation) {
      throw new RegexRuleError(`alternatives repeated without bound at offset ${i}; list them without the outer repetition`);
    }
    if (q.long) longQuantifiers++;
    top.hasQuantifier = true;
    if (q.unbounded || q.long) top.hasUnboundedQuantifier = true;
    i = q.end;
  };

  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const next = src[i + 1];
      if (next === undefined) throw new RegexRuleError('pattern ends with a lone backslash');
      if (/[1-9]/.test(next) || (next === 'k' && src[i + 2] === '<')) throw new RegexRuleError(`backreference at offset ${i} is not allowed`);
      let len = 2;
      if (next === 'x') len = 4;
      else if (next === 'c') len = 3;
      else if (next === 'u' || next === 'p' || next === 'P') {
        if (src[i + 2] === '{') {
          const close = src.indexOf('}', i);
          len = close < 0 ? src.length - i : close + 1 - i;
        } else if (next === 'u') len = 6;
      }
      i += len;
      afterAtom();
    } else if (c === '[') {
      // Character class: skip to the closing bracket, honouring escapes.
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) throw new RegexRuleError('unterminated character class');
      i++;
      afterAtom();
    } else if (c === '(') {
      stack.push({ hasQuantifier: false, hasUnboundedQuantifier: false, hasAlternation: false });
      i++;
      if (src[i] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name>
        if (src[i + 1] === '<' && src[i + 2] !== '=' && src[i + 2] !== '!') {
          const close = src.indexOf('>', i);
          i = close < 0 ? src.length : close + 1;
        } else i += src[i + 1] === '<' ? 3 : 2;
      }
    } else if (c === ')') {
      if (stack.length === 1) throw new RegexRuleError(`unbalanced ")" at offset ${i}`);
      const closed = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      i++;
      afterAtom(closed);
      // What was inside still counts for enclosing groups.
      if (closed.hasQuantifier) parent.hasQuantifier = true;
      if (closed.hasUnboundedQuantifier) parent.hasUnboundedQuantifier = true;
    } else if (c === '|') {
      stack[stack.length - 1]!.hasAlternation = true;
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      throw new RegexRuleError(`quantifier "${c}" at offset ${i} has nothing to repeat`);
    } else {
      i++;
      afterAtom();
    }
  }
  if (stack.length !== 1) throw new RegexRuleError('unbalanced "(" in pattern');
  if (longQuantifiers > MAX_LONG_QUANTIFIERS) {
    throw new RegexRuleError(
      `${longQuantifiers} long repetitions (*, +, {n,} or more than 16); at most ${MAX_LONG_QUANTIFIERS} are allowed: bound them, e.g. .{0,16}`,
    );
  }
}

/** Checks and compiles a rule pattern. Case-insensitive unless asked otherwise; never global/sticky. */
export function compileRulePattern(src: string, caseSensitive: boolean): RegExp {
  checkPatternSafety(src);
  try {
    return new RegExp(src, caseSensitive ? '' : 'i');
  } catch (err) {
    throw new RegexRuleError(`not a valid JavaScript regular expression: ${(err as Error).message}`);
  }
}

/** Runs a compiled rule pattern on text capped at MAX_MATCH_CHARS; returns the match or null. */
export function boundedExec(re: RegExp, text: string): RegExpExecArray | null {
  return re.exec(text.length > MAX_MATCH_CHARS ? text.slice(0, MAX_MATCH_CHARS) : text);
}
