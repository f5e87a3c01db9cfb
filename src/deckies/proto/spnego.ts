// SPNEGO (RFC 4178, with Microsoft's NegTokenInit2): unwrap the NTLMSSP token a client sends inside
// GSS-API framing, and wrap the server's replies the way Windows does. Used by smb, rdp and ldap.
import {
  APPLICATION,
  BerError,
  BerReader,
  CONSTRUCTED,
  CONTEXT,
  T_SEQUENCE,
  context,
  enumerated,
  octetString,
  oid,
  readTlv,
  sequence,
  tlv,
} from './ber.ts';
import { NTLMSSP_SIGNATURE } from './ntlmssp.ts';

export const OID_SPNEGO = '1.3.6.1.5.5.2';
export const OID_NTLMSSP = '1.3.6.1.4.1.311.2.2.10';
export const OID_KRB5 = '1.2.840.113554.1.2.2';
export const OID_MS_KRB5 = '1.2.840.48018.1.2.2';

export interface UnwrappedToken {
  /** The NTLMSSP message inside, if any. */
  ntlm?: Buffer;
  /** How the client framed it: answer in the same framing. */
  framing: 'raw' | 'spnego';
  /** Mechanisms the client offered (negTokenInit only). */
  mechTypes: string[];
}

const A0 = CONTEXT | CONSTRUCTED | 0;
const A1 = CONTEXT | CONSTRUCTED | 1;
const A2 = CONTEXT | CONSTRUCTED | 2;

function readNegTokenInit(body: Buffer): UnwrappedToken {
  const outer = readTlv(body);
  if (outer.tag !== T_SEQUENCE) throw new BerError('negTokenInit is not a sequence');
  const seq = new BerReader(outer.value);
  const out: UnwrappedToken = { framing: 'spnego', mechTypes: [] };
  while (seq.hasMore()) {
    const el = seq.next();
    const inner = new BerReader(el.value);
    if (el.tag === A0) {
      const list = inner.sequence();
      while (list.hasMore() && out.mechTypes.length < 16) out.mechTypes.push(list.oid());
    } else if (el.tag === A2) {
      out.ntlm = inner.octetString();
    }
  }
  return out;
}

function readNegTokenResp(body: Buffer): UnwrappedToken {
  const outer = readTlv(body);
  if (outer.tag !== T_SEQUENCE) throw new BerError('negTokenResp is not a sequence');
  const seq = new BerReader(outer.value);
  const out: UnwrappedToken = { framing: 'spnego', mechTypes: [] };
  while (seq.hasMore()) {
    const el = seq.next();
    if (el.tag === A2) out.ntlm = new BerReader(el.value).octetString();
  }
  return out;
}

/** Finds the NTLMSSP message in a security blob (raw NTLMSSP, GSS-API initial token, negTokenInit or negTokenResp). */
export function unwrapSecurityToken(blob: Buffer): UnwrappedToken {
  if (blob.length >= 8 && blob.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return { ntlm: blob, framing: 'raw', mechTypes: [] };
  const top = readTlv(blob);
  if (top.tag === (APPLICATION | CONSTRUCTED | 0)) {
    const r = new BerReader(top.value);
    const mech = r.oid();
    if (mech !== OID_SPNEGO) return { framing: 'spnego', mechTypes: [mech] };
    const choice = r.next();
    if (choice.tag !== A0) throw new BerError('GSS token does not carry a negTokenInit');
    return readNegTokenInit(choice.value);
  }
  if (top.tag === A0) return readNegTokenInit(top.value);
  if (top.tag === A1) return readNegTokenResp(top.value);
  throw new BerError(`unrecognised security token (tag 0x${top.tag.toString(16)})`);
}

/** The server's NegTokenInit2 advertised in an SMB2 NEGOTIATE response. */
export function serverNegTokenInit(mechs: readonly string[] = [OID_NTLMSSP]): Buffer {
  const mechList = sequence(...mechs.map((m) => oid(m)));
  const hints = sequence(context(0, tlv(0x1b, Buffer.from('not_defined_in_RFC4178@please_ignore', 'latin1'))));
  const init = sequence(context(0, mechList), context(3, hints));
  return tlv(APPLICATION | CONSTRUCTED | 0, oid(OID_SPNEGO), context(0, init));
}

/** negTokenResp carrying the server's CHALLENGE (negState accept-incomplete). */
export function negTokenRespChallenge(challenge: Buffer): Buffer {
  return context(1, sequence(context(0, enumerated(1)), context(1, oid(OID_NTLMSSP)), context(2, octetString(challenge))));
}

/** negTokenResp rejecting the exchange (negState reject). */
export function negTokenRespReject(): Buffer {
  return context(1, sequence(context(0, enumerated(2))));
}
