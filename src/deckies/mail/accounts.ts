// Weak accounts a mail decoy accepts (so a visitor who guesses them sees a believable mailbox), parsed from
// the `users` persona key: "user:password" pairs separated by commas.

export function parseAccounts(spec: string, service: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of spec.split(',')) {
    const t = item.trim();
    if (!t) continue;
    const colon = t.indexOf(':');
    if (colon <= 0 || colon === t.length - 1) throw new Error(`${service} users must be "user:password" pairs separated by commas; bad entry ${JSON.stringify(t)}`);
    out.set(t.slice(0, colon).toLowerCase(), t.slice(colon + 1));
  }
  return out;
}

/** Local part of "user@domain" (mail clients log in with either). */
export function localPart(login: string): string {
  const at = login.lastIndexOf('@');
  return (at > 0 ? login.slice(0, at) : login).toLowerCase();
}

/** True when `login`/`password` match a configured account. */
export function accountMatches(accounts: Map<string, string>, login: string, password: string): boolean {
  const expected = accounts.get(localPart(login));
  return expected !== undefined && expected === password;
}
