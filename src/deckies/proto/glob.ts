// Redis-style glob matching (KEYS, SCAN MATCH, CONFIG GET): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
// Iterative with a single backtrack point, so a hostile pattern like `*a*a*a*a*b` costs
// O(pattern × text) at worst, never exponential time; both lengths are capped by the caller.

export function globMatch(pattern: string, text: string, nocase = false): boolean {
  const p = nocase ? pattern.toLowerCase() : pattern;
  const t = nocase ? text.toLowerCase() : text;
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length) {
      const c = p[pi]!;
      if (c === '*') {
        while (pi < p.length && p[pi] === '*') pi++;
        if (pi === p.length) return true;
        starP = pi;
        starT = ti;
        continue;
      }
      const step = matchOne(p, pi, t[ti]!);
      if (step > 0) {
        pi += step;
        ti++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP;
    ti = ++starT;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Length of the pattern element at `pi` if it matches `ch`, else 0. */
function matchOne(p: string, pi: number, ch: string): number {
  const c = p[pi]!;
  if (c === '?') return 1;
  if (c === '\\' && pi + 1 < p.length) return p[pi + 1] === ch ? 2 : 0;
  if (c !== '[') return c === ch ? 1 : 0;
  let i = pi + 1;
  let negate = false;
  if (p[i] === '^') {
    negate = true;
    i++;
  }
  let hit = false;
  while (i < p.length && p[i] !== ']') {
    if (p[i] === '\\' && i + 1 < p.length) {
      if (p[i + 1] === ch) hit = true;
      i += 2;
    } else if (i + 2 < p.length && p[i + 1] === '-' && p[i + 2] !== ']') {
      let lo = p[i]!;
      let hi = p[i + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (ch >= lo && ch <= hi) hit = true;
      i += 3;
    } else {
      if (p[i] === ch) hit = true;
      i++;
    }
  }
  // An unterminated class matches like Redis: up to the end of the pattern.
  const len = (i < p.length ? i + 1 : i) - pi;
  return hit !== negate ? len : 0;
}
