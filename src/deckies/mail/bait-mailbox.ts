// The bait mailbox POP3 and IMAP visitors find after a successful login: a handful of plausible messages
// (password resets, key rotations, a failed backup job, shared credentials) addressed to the logged-in
// user. Generated per decky from a seed, so deckies differ but a decky looks the same after a restart.
// Every secret in it is fake.
import { createHash } from 'node:crypto';

export interface BaitMessage {
  uid: number;
  /** Receive time (INTERNALDATE), epoch ms. */
  date: number;
  from: string;
  to: string;
  subject: string;
  messageId: string;
  /** Full RFC 5322 text with CRLF line endings. */
  raw: Buffer;
  /** Offset of the body in `raw` (after the blank line). */
  bodyOffset: number;
  /** Read before the visitor arrived. */
  seen: boolean;
}

export interface MailboxContext {
  /** The decky's fully qualified host name. */
  hostname: string;
  domain: string;
  /** The mailbox owner's local part. */
  user: string;
  seed: number;
  now?: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pickChars(r: () => number, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function rfc2822(ts: number): string {
  const d = new Date(ts);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

interface Draft {
  from: string;
  subject: string;
  body: string;
  ageHours: number;
  seen: boolean;
}

function drafts(c: MailboxContext, r: () => number): Draft[] {
  const short = c.hostname.split('.')[0]!;
  const tempPass = `${pickChars(r, 'ABCDEFGHJKLMNPQRSTUVWXYZ', 3)}-${pickChars(r, '23456789', 4)}-${pickChars(r, 'abcdefghjkmnpqrstuvwxyz', 3)}`;
  const akid = `AKIA${pickChars(r, ALNUM, 16)}`;
  const secret = pickChars(r, B64, 40);
  const dbPass = `${['Orion', 'Falcon', 'Maple', 'Harbor', 'Cobalt'][Math.floor(r() * 5)]}#${Math.floor(1000 + r() * 9000)}`;
  const pat = `ghp_${pickChars(r, ALNUM + 'abcdefghijklmnopqrstuvwxyz', 36)}`;
  const colleague = ['j.miller', 'a.novak', 's.patel', 'm.rossi', 'k.tanaka'][Math.floor(r() * 5)]!;
  return [
    {
      from: `"IT Service Desk" <it-support@${c.domain}>`,
      subject: 'Your VPN password has been reset',
      body: `Hello ${c.user},\r\n\r\nAs requested, the password for your VPN / remote access account has been reset.\r\n\r\nTemporary password: ${tempPass}\r\nPortal: https://vpn.${c.domain}/\r\n\r\nYou will be asked to choose a new password at the first login.\r\n\r\nIT Service Desk\r\n`,
      ageHours: 6 + r() * 30,
      seen: false,
    },
    {
      from: `"Cloud Ops" <cloudops@${c.domain}>`,
      subject: 'AWS access key rotation - new key for the backup user',
      body: `Hi,\r\n\r\nthe old key of the s3-backup IAM user was deactivated this morning. Please update the backup\r\nscript on ${short} with the new one:\r\n\r\n  aws_access_key_id     = ${akid}\r\n  aws_secret_access_key = ${secret}\r\n  region                = eu-central-1\r\n\r\nDelete this mail once done.\r\n\r\nThanks\r\n`,
      ageHours: 40 + r() * 60,
      seen: true,
    },
    {
      from: `root@${c.hostname}`,
      subject: `Cron <root@${short}> /usr/local/bin/nightly-backup.sh`,
      body: `rsync: [sender] write error: Broken pipe (32)\r\nrsync error: error in socket IO (code 10) at io.c(848) [sender=3.2.7]\r\nmysqldump: Got error: 1045: "Access denied for user 'backup'@'localhost' (using password: YES)" when trying to connect\r\nbackup FAILED for ${short} at ${new Date((c.now ?? Date.now()) - 26 * 3600_000).toISOString()}\r\n`,
      ageHours: 20 + r() * 10,
      seen: false,
    },
    {
      from: `"${colleague}" <${colleague}@${c.domain}>`,
      subject: 'Re: access to the reporting database',
      body: `Sure, use the read-only account for now:\r\n\r\n  host: db01.${c.domain}\r\n  user: report_ro\r\n  pass: ${dbPass}\r\n\r\nDon't share it outside the team, we'll move it to the vault next sprint.\r\n\r\n> Could you send me the credentials for the reporting DB?\r\n`,
      ageHours: 70 + r() * 100,
      seen: true,
    },
    {
      from: `"GitHub" <noreply@github.com>`,
      subject: '[GitHub] A new personal access token was added to your account',
      body: `Hey ${c.user}!\r\n\r\nA personal access token (classic) named "deploy-${short}" with scopes repo, workflow was recently\r\nadded to your account. For your records: ${pat.slice(0, 8)}... (full token: ${pat})\r\n\r\nIf you did not do this, revoke it at https://github.com/settings/tokens\r\n`,
      ageHours: 200 + r() * 200,
      seen: true,
    },
    {
      from: `"Security Monitoring" <alerts@${c.domain}>`,
      subject: `[ALERT] Multiple failed SSH logins on ${short}`,
      body: `Host: ${c.hostname}\r\nRule: sshd brute force (>= 20 failures / 5 min)\r\nSource: 185.220.101.${Math.floor(2 + r() * 250)}\r\nAction: none (monitor only)\r\n`,
      ageHours: 100 + r() * 50,
      seen: true,
    },
    {
      from: `"Finance" <finance@${c.domain}>`,
      subject: 'Q3 payroll file moved to the finance share',
      body: `Hi all,\r\n\r\nthe Q3 payroll spreadsheet is now on \\\\files.${c.domain}\\finance\\payroll\\2026-Q3.xlsx\r\n(password for the file: the usual one + quarter).\r\n\r\nRegards,\r\nFinance\r\n`,
      ageHours: 300 + r() * 300,
      seen: true,
    },
  ];
}

/** The messages of the bait INBOX, oldest first, UIDs from 1. */
export function baitMailbox(c: MailboxContext): BaitMessage[] {
  const now = c.now ?? Date.now();
  const r = rng(c.seed ^ createHash('sha256').update(c.user).digest().readUInt32BE(0));
  const to = `${c.user}@${c.domain}`;
  const list = drafts(c, r).sort((a, b) => b.ageHours - a.ageHours);
  return list.map((d, i) => {
    const date = Math.floor((now - d.ageHours * 3600_000) / 1000) * 1000;
    const messageId = `<${createHash('sha1').update(`${c.seed}:${i}:${d.subject}`).digest('hex').slice(0, 16)}@${d.from.includes('github.com') ? 'github.com' : c.hostname}>`;
    const head = [
      `Return-Path: <${/<([^>]+)>/.exec(d.from)?.[1] ?? d.from}>`,
      `Delivered-To: ${to}`,
      `Received: from localhost (localhost [127.0.0.1])\r\n\tby ${c.hostname} (Postfix) with ESMTP id ${createHash('md5').update(messageId).digest('hex').slice(0, 11).toUpperCase()}\r\n\tfor <${to}>; ${rfc2822(date)}`,
      `Date: ${rfc2822(date - 2000)}`,
      `From: ${d.from}`,
      `To: ${to}`,
      `Subject: ${d.subject}`,
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
    ].join('\r\n');
    const raw = Buffer.from(`${head}\r\n\r\n${d.body}`);
    return { uid: i + 1, date, from: d.from, to, subject: d.subject, messageId, raw, bodyOffset: Buffer.byteLength(head) + 4, seen: d.seen };
  });
}

/** Message text with lines starting with "." doubled, for POP3 multi-line replies. */
export function dotStuff(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'latin1');
}
