// A bounded look at an RFC 5322 message received by the SMTP decoy: the header fields an analyst triages
// on (Subject, From, Message-ID, X-Mailer …), attachment and URL counts. Never throws; only the first
// 64 KiB of headers and 1 MiB of body are examined.

export interface MessageSummary {
  subject?: string;
  from?: string;
  to?: string;
  date?: string;
  messageId?: string;
  xMailer?: string;
  contentType?: string;
  attachments: number;
  attachmentNames: string[];
  urls: number;
  firstUrls: string[];
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY_SCAN = 1024 * 1024;

/** Decodes RFC 2047 encoded words (=?charset?B|Q?...?=) in a header value; unknown charsets as latin1. */
export function decodeEncodedWords(value: string): string {
  return value.replace(/=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]{0,2000})\?=/g, (_m, charset: string, enc: string, text: string) => {
    try {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return /^utf-?8$/i.test(charset) ? bytes.toString('utf8') : bytes.toString('latin1');
    } catch {
      return text;
    }
  });
}

/** Header fields of the message head (unfolded), names lower-cased, first occurrence wins. */
export function parseHeaders(head: string): Map<string, string> {
  const out = new Map<string, string>();
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  let n = 0;
  for (const line of unfolded.split(/\r?\n/)) {
    if (n++ > 500) break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]{1,76}$/.test(name) || out.has(name)) continue;
    out.set(name, line.slice(colon + 1).trim().slice(0, 2048));
  }
  return out;
}

export function summarizeMessage(data: Buffer): MessageSummary {
  const window = data.subarray(0, MAX_HEAD + MAX_BODY_SCAN);
  let split = window.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (split === -1 || split > MAX_HEAD) {
    const lf = window.indexOf('\n\n');
    if (lf !== -1 && lf <= MAX_HEAD) {
      split = lf;
      sepLen = 2;
    }
  }
  const head = split === -1 ? window.subarray(0, MAX_HEAD).toString('latin1') : window.subarray(0, split).toString('latin1');
  const body = split === -1 ? '' : window.subarray(split + sepLen).toString('latin1');
  const h = parseHeaders(head);
  const get = (k: string): string | undefined => {
    const v = h.get(k);
    return v === undefined ? undefined : decodeEncodedWords(v).slice(0, 512);
  };

  const attachmentNames: string[] = [];
  let attachments = 0;
  for (const m of body.matchAll(/Content-Disposition:\s*attachment[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gi)) {
    attachments++;
    const name = /filename\*?="?([^";\r\n]{1,255})/i.exec(m[0])?.[1];
    if (name && attachmentNames.length < 10) attachmentNames.push(decodeEncodedWords(name));
    if (attachments >= 1000) break;
  }
  const urls = new Set<string>();
  for (const m of body.matchAll(/\bhttps?:\/\/[^\s"'<>)\]]{1,512}/gi)) {
    urls.add(m[0]);
    if (urls.size >= 1000) break;
  }
  const summary: MessageSummary = { attachments, attachmentNames, urls: urls.size, firstUrls: [...urls].slice(0, 5) };
  const fields: Array<[keyof MessageSummary, string]> = [
    ['subject', 'subject'],
    ['from', 'from'],
    ['to', 'to'],
    ['date', 'date'],
    ['messageId', 'message-id'],
    ['xMailer', 'x-mailer'],
    ['contentType', 'content-type'],
  ];
  for (const [key, name] of fields) {
    const v = get(name);
    if (v !== undefined) (summary as unknown as Record<string, string>)[key] = v;
  }
  return summary;
}
