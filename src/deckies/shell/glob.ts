// Shell pattern matching (*, ?, [...]) for filename globbing and `case`-like tests. Linear-time
// wildcard matching with single backtrack point, so hostile patterns cannot blow up.

export function hasGlob(text: string): boolean {
  return /[*?]|\[[^\]]*\]/.test(text);
}

/** Matches one bracket expression at pattern[pi] against ch; returns [matched, indexAfter] or undefined if malformed. */
function bracket(pattern: string, pi: number, ch: string): [boolean, number] | undefined {
  let i = pi + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') { negate = true; i++; }
  let matched = false;
  let first = true;
  while (i < pattern.length && (pattern[i] !== ']' || first)) {
    first = false;
    const lo = pattern[i]!;
    if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
      const hi = pattern[i + 2]!;
      if (ch >= lo && ch <= hi) matched = true;
      i += 3;
    } else {
      if (ch === lo) matched = true;
      i++;
    }
  }
  if (i >= pattern.length) return undefined;
  return [matched !== negate, i + 1];
}

export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
      continue;
    }
    if (pc === '?') { p++; t++; continue; }
    if (pc === '[') {
      const r = bracket(pattern, p, text[t]!);
      if (r && r[0]) { p = r[1]; t++; continue; }
      if (!r && text[t] === '[') { p++; t++; continue; }
    } else if (pc === '\\' && pattern[p + 1] === text[t]) { p += 2; t++; continue; }
    else if (pc !== undefined && pc === text[t]) { p++; t++; continue; }
    if (starP === -1) return false;
    p = starP + 1;
    t = ++starT;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
