// A safe evaluator for $(( … )): integers, + - * / % ** , comparisons, parentheses and variables.
// Never calls eval; bounded by the input length the shell already caps.

type Lookup = (name: string) => number;

export function evalArithmetic(src: string, lookup: Lookup): number | undefined {
  const tokens = src.match(/\s*(0x[0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|\*\*|<=|>=|==|!=|&&|\|\||<<|>>|[-+*/%()<>!~&|^])/gy);
  if (!tokens || tokens.join('').trim() !== src.trim()) return src.trim() === '' ? 0 : undefined;
  const toks = tokens.map((t) => t.trim());
  let i = 0;
  const peek = (): string | undefined => toks[i];
  /** Binary operators by increasing precedence. */
  const BIN: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  const apply = (op: string, a: number, b: number): number => {
    switch (op) {
      case '||': return a || b ? 1 : 0;
      case '&&': return a && b ? 1 : 0;
      case '|': return a | b;
      case '^': return a ^ b;
      case '&': return a & b;
      case '==': return a === b ? 1 : 0;
      case '!=': return a !== b ? 1 : 0;
      case '<': return a < b ? 1 : 0;
      case '>': return a > b ? 1 : 0;
      case '<=': return a <= b ? 1 : 0;
      case '>=': return a >= b ? 1 : 0;
      case '<<': return a << b;
      case '>>': return a >> b;
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/': if (b === 0) throw new Error('division by 0'); return Math.trunc(a / b);
      case '%': if (b === 0) throw new Error('division by 0'); return a % b;
      default: throw new Error(op);
    }
  };
  let depth = 0;
  const level = (n: number): number => {
    if (n >= BIN.length) return power();
    let left = level(n + 1);
    while (peek() !== undefined && BIN[n]!.includes(peek()!)) {
      const op = toks[i++]!;
      left = apply(op, left, level(n + 1));
    }
    return left;
  };
  const power = (): number => {
    const base = unary();
    if (peek() === '**') { i++; return Math.trunc(base ** power()); }
    return base;
  };
  const unary = (): number => {
    const t = peek();
    if (t === '-') { i++; return -unary(); }
    if (t === '+') { i++; return unary(); }
    if (t === '!') { i++; return unary() ? 0 : 1; }
    if (t === '~') { i++; return ~unary(); }
    return primary();
  };
  const primary = (): number => {
    const t = toks[i++];
    if (t === undefined) throw new Error('eof');
    if (t === '(') {
      if (++depth > 32) throw new Error('deep');
      const v = level(0);
      depth--;
      if (toks[i++] !== ')') throw new Error(')');
      return v;
    }
    if (/^0x/i.test(t)) return parseInt(t, 16);
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return lookup(t);
    throw new Error(t);
  };
  try {
    const v = level(0);
    if (i !== toks.length || !Number.isFinite(v)) return undefined;
    return Math.trunc(v) | 0;
  } catch {
    return undefined;
  }
}
