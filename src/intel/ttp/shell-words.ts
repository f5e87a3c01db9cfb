// Splits a shell command line the way an analyst reads it: into simple commands (at ; && || | &
// newlines, $( ) and backticks), each into words (quotes removed), and each simple command into the
// programs it runs: `sudo nohup busybox wget http://x/` runs sudo, nohup, busybox and wget, and the
// string given to `sh -c` / `bash -c` / `eval` is split again. Rules then ask "is wget run, and with
// what arguments" instead of regex-guessing word boundaries. Nothing is executed or expanded.
// Bounded: the line is capped and so are the numbers of simple commands and words.

export const MAX_COMMAND_CHARS = 4096;
const MAX_SIMPLE_COMMANDS = 64;
const MAX_WORDS = 512;
const MAX_NESTING = 2;

export interface ProgramCall {
  /** The program's base name: `/usr/bin/wget` → `wget`, `./x.sh` → `x.sh`. */
  name: string;
  /** The word as written: `/usr/bin/wget`, `./x.sh`. */
  raw: string;
  /** The words after the program (redirections included), joined by single spaces. */
  args: string;
}

export interface SimpleCommand {
  words: string[];
  /** The programs this simple command runs: wrappers first, then the real program. */
  calls: ProgramCall[];
  /** The words joined by spaces (for evidence). */
  text: string;
}

/** Programs that run another program given as their arguments. */
const WRAPPERS = new Set(['sudo', 'doas', 'busybox', 'nohup', 'env', 'exec', 'command', 'builtin', 'nice', 'ionice', 'timeout', 'time', 'stdbuf', 'setsid', 'xargs', 'watch']);
/** Options of wrappers that take a value (so the value is not mistaken for the program). */
const OPTION_WITH_VALUE: Record<string, ReadonlySet<string>> = {
  sudo: new Set(['-u', '-g', '-C', '-h', '-p', '-r', '-t', '-U', '-D']),
  doas: new Set(['-u', '-C']),
  nice: new Set(['-n']),
  ionice: new Set(['-c', '-n', '-p']),
  timeout: new Set(['-s', '-k', '--signal', '--kill-after']),
  xargs: new Set(['-I', '-n', '-P', '-L', '-d', '-E', '-s', '-a']),
  watch: new Set(['-n', '-d']),
  env: new Set(['-u', '-C', '-S']),
};
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const REDIRECTION = /^\d?(?:>>?|<<?|&>)&?$/;

interface Token {
  word: string;
  /** The token ends a simple command (; && || | & newline, parentheses, backticks). */
  separator?: boolean;
}

function basename(word: string): string {
  const slash = word.lastIndexOf('/');
  return slash >= 0 && slash < word.length - 1 ? word.slice(slash + 1) : word;
}

/** `{ cmd; }` groups: a brace that stands alone as a word (not `${VAR}` or `{a,b}`). */
function isBraceGroup(line: string, i: number): boolean {
  const c = line[i];
  const next = line[i + 1];
  return (c === '{' && (next === ' ' || next === '\t' || next === undefined)) || (c === '}' && (next === undefined || next === ' ' || next === ';'));
}

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let word = '';
  let inWord = false;
  const push = (): void => {
    if (inWord) tokens.push({ word });
    word = '';
    inWord = false;
  };
  const sep = (): void => {
    push();
    if (tokens.length > 0 && !tokens[tokens.length - 1]!.separator) tokens.push({ word: '', separator: true });
  };
  for (let i = 0; i < line.length && tokens.length < MAX_WORDS; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word += line.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      i = j;
    } else if (c === '\\') {
      if (i + 1 < line.length && line[i + 1] !== '\n') {
        word += line[i + 1];
        inWord = true;
      }
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      push();
    } else if (c === ';' || c === '\n' || c === '|' || c === '(' || c === ')' || c === '`' || (!inWord && isBraceGroup(line, i))) {
      sep();
      if (c === '|' && line[i + 1] === '|') i++;
    } else if (c === '&') {
      if (line[i + 1] === '>') {
        push();
        tokens.push({ word: '&>' });
        i++;
      } else {
        sep();
        if (line[i + 1] === '&') i++;
      }
    } else if (c === '$' && line[i + 1] === '(') {
      sep();
      i++;
    } else if (c === '>' || c === '<') {
      // Redirections become their own words so `echo x >>/etc/passwd` shows the target.
      const fd = /^\d$/.test(word) && inWord ? word : '';
      if (fd) {
        word = '';
        inWord = false;
      } else push();
      let op = c;
      if (line[i + 1] === c) op += line[++i];
      if (line[i + 1] === '&') op += line[++i];
      tokens.push({ word: fd + op });
    } else if (c === '#' && !inWord) {
      // A comment runs to the end of the line.
      const nl = line.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else {
      word += c;
      inWord = true;
    }
  }
  push();
  return tokens;
}

/** Follows wrappers (sudo, busybox, env …) from the first word; returns every program run. */
function programCalls(words: readonly string[]): { calls: ProgramCall[]; nested: string[] } {
  const calls: ProgramCall[] = [];
  const nested: string[] = [];
  let i = 0;
  // Leading assignments (FOO=bar cmd) and redirections (>/dev/null cmd) are not the program.
  while (i < words.length) {
    if (ASSIGNMENT.test(words[i]!)) i++;
    else if (REDIRECTION.test(words[i]!)) i += 2;
    else break;
  }
  while (i < words.length) {
    const raw = words[i]!;
    const name = basename(raw);
    calls.push({ name, raw, args: words.slice(i + 1).join(' ') });
    // `sh -c STRING`, `su -c STRING` and `eval STRING…` carry a command line of their own.
    if (SHELLS.has(name) || name === 'su') {
      const c = words.indexOf('-c', i + 1);
      if (c > 0 && c + 1 < words.length) nested.push(words[c + 1]!);
    } else if (name === 'eval' && i + 1 < words.length) {
      nested.push(words.slice(i + 1).join(' '));
    }
    // `command -v x` / `command -V x` only looks x up.
    if (!WRAPPERS.has(name) || (name === 'command' && /^-[vV]$/.test(words[i + 1] ?? ''))) break;
    // Skip the wrapper's options (and their values) and env-style assignments.
    i++;
    const withValue = OPTION_WITH_VALUE[name];
    while (i < words.length) {
      const w = words[i]!;
      if (name === 'timeout' && /^\d+(?:\.\d+)?[smhd]?$/.test(w)) i++;
      else if ((name === 'env' || name === 'sudo') && ASSIGNMENT.test(w)) i++;
      else if (w === '--') {
        i++;
        break;
      } else if (w.startsWith('-') && w.length > 1) i += withValue?.has(w) ? 2 : 1;
      else break;
    }
  }
  return { calls, nested };
}

/** Splits a command line into simple commands (including those inside `sh -c` strings). */
export function parseCommandLine(line: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  const visit = (text: string, depth: number): void => {
    const tokens = tokenize(text.length > MAX_COMMAND_CHARS ? text.slice(0, MAX_COMMAND_CHARS) : text);
    let words: string[] = [];
    const flush = (): void => {
      if (words.length === 0 || out.length >= MAX_SIMPLE_COMMANDS) {
        words = [];
        return;
      }
      const { calls, nested } = programCalls(words);
      out.push({ words, calls, text: words.join(' ') });
      words = [];
      if (depth < MAX_NESTING) for (const n of nested) visit(n, depth + 1);
    };
    for (const t of tokens) {
      if (t.separator) flush();
      else words.push(t.word);
    }
    flush();
  };
  visit(line, 0);
  return out;
}
