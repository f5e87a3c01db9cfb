// LDAP decoy (TCP 389): Active Directory on Windows personas, OpenLDAP (slapd) elsewhere.
// Binds are recorded with their credentials and refused with the server's own wording: simple binds
// (DN and password), SASL PLAIN and DIGEST-MD5, and NTLM through GSS-SPNEGO or Microsoft's "Sicily"
// bind, whose AUTHENTICATE becomes a crackable NetNTLMv2 line. Anonymous searches of the root DSE
// are answered from the decky's domain (which is how nmap and enumeration tools identify a DC); an
// OpenLDAP persona also serves a small bait directory of people and groups to anonymous readers,
// while AD asks for a bind first, as it does. StartTLS upgrades with the decky's certificate.
// Like Microsoft's stack and liblber, constructed elements are written with four-byte lengths.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import {
  APPLICATION,
  BerError,
  BerReader,
  enumerated,
  integer,
  octetString,
  readTlv,
  tlv,
  tlvFrameLength,
  type Tlv,
} from '../proto/ber.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { decodeFilter, matches, renderFilter, type Entry, type Filter } from '../proto/ldap-filter.ts';
import { ntlmTarget } from '../proto/ntlm-target.ts';
import { buildChallenge, challengeOf, crackableHash, ntlmMessageType, parseAuthenticate, parseNegotiate, versionString } from '../proto/ntlmssp.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import { deckyDomain, domainDn } from '../proto/site-domain.ts';
import { negTokenRespChallenge, unwrapSecurityToken } from '../proto/spnego.ts';
import { personaFacts } from '../personas/facts.ts';
import type { DecoyService, ServiceContext, Session } from '../service.ts';

const MAX_MESSAGE = 256 * 1024;

// Protocol ops.
const BIND_REQ = APPLICATION | 0x20 | 0;
const BIND_RESP = APPLICATION | 0x20 | 1;
const UNBIND_REQ = APPLICATION | 2;
const SEARCH_REQ = APPLICATION | 0x20 | 3;
const SEARCH_ENTRY = APPLICATION | 0x20 | 4;
const SEARCH_DONE = APPLICATION | 0x20 | 5;
const MODIFY_REQ = APPLICATION | 0x20 | 6;
const ADD_REQ = APPLICATION | 0x20 | 8;
const DEL_REQ = APPLICATION | 10;
const MODDN_REQ = APPLICATION | 0x20 | 12;
const COMPARE_REQ = APPLICATION | 0x20 | 14;
const ABANDON_REQ = APPLICATION | 16;
const EXTENDED_REQ = APPLICATION | 0x20 | 23;
const EXTENDED_RESP = APPLICATION | 0x20 | 24;
const RESPONSE_OF: Record<number, number> = { [MODIFY_REQ]: 0x67, [ADD_REQ]: 0x69, [DEL_REQ]: 0x6b, [MODDN_REQ]: 0x6d, [COMPARE_REQ]: 0x6f };
const OP_NAMES: Record<number, string> = { [MODIFY_REQ]: 'modify', [ADD_REQ]: 'add', [DEL_REQ]: 'delete', [MODDN_REQ]: 'modify_dn', [COMPARE_REQ]: 'compare' };

// Result codes.
const SUCCESS = 0;
const OPERATIONS_ERROR = 1;
const PROTOCOL_ERROR = 2;
const AUTH_METHOD_NOT_SUPPORTED = 7;
const STRONGER_AUTH_REQUIRED = 8;
const SASL_BIND_IN_PROGRESS = 14;
const NO_SUCH_OBJECT = 32;
const INVALID_CREDENTIALS = 49;
const UNWILLING_TO_PERFORM = 53;

const OID_STARTTLS = '1.3.6.1.4.1.1466.20037';
const OID_WHOAMI = '1.3.6.1.4.1.4203.1.11.3';

/** A constructed element with a four-byte length, as Active Directory and liblber write them. */
function cons(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(6);
  head[0] = tag;
  head[1] = 0x84;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

const message = (id: number, op: Buffer): Buffer => cons(0x30, integer(id), op);
const result = (tag: number, code: number, matched: string | Buffer, diag: string, ...extra: Buffer[]): Buffer =>
  cons(tag, enumerated(code), octetString(matched), octetString(diag), ...extra);
const entry = (dn: string, attrs: [string, string[]][]): Buffer =>
  cons(SEARCH_ENTRY, octetString(dn), cons(0x30, ...attrs.map(([t, vals]) => cons(0x30, octetString(t), cons(0x31, ...vals.map((v) => octetString(v)))))));

function generalizedTime(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, '.0Z');
}

/** The user name inside a bind DN: CN=/uid= value, DOMAIN\user or user@domain. */
function principalOf(dn: string): string {
  const rdn = /^(?:cn|uid)=((?:[^,\\]|\\.)*)/i.exec(dn);
  if (rdn) return rdn[1]!.replace(/\\(.)/g, '$1');
  return dn;
}

interface Directory {
  ad: boolean;
  baseDn: string;
  rootDse(): [string, string[]][];
  /** Attributes OpenLDAP returns only when asked for '+' (operational); AD returns all by default. */
  operational: Set<string>;
  entries: Entry[];
  /** `v4563`-style build tag AD appends to its diagnostic messages. */
  adTag: string;
}

function buildDirectory(ctx: ServiceContext): Directory {
  const facts = personaFacts(ctx.decky.persona);
  const ad = ctx.config.server === 'ad' || (ctx.config.server === 'auto' && facts.windows !== undefined);
  const domain = deckyDomain(ctx.decky.persona, ctx.config.domain);
  const baseDn = domainDn(domain);
  const seed = new Seeded(ctx.decky.name, 'ldap');
  if (ad) {
    const host = facts.shortHostname.toUpperCase();
    const build = Number(facts.windows?.build ?? 17763);
    const level = build >= 14393 ? '7' : build >= 9600 ? '6' : '4';
    const adTag = build >= 14393 ? 'v4563' : build >= 9600 ? 'v2580' : 'v1db1';
    const config = `CN=Configuration,${baseDn}`;
    const site = 'Default-First-Site-Name';
    const server = `CN=${host},CN=Servers,CN=${site},CN=Sites,${config}`;
    const usn = String(seed.int(20_000, 900_000));
    const rootDse = (): [string, string[]][] => [
      ['currentTime', [generalizedTime()]],
      ['subschemaSubentry', [`CN=Aggregate,CN=Schema,${config}`]],
      ['dsServiceName', [`CN=NTDS Settings,${server}`]],
      ['namingContexts', [baseDn, config, `CN=Schema,${config}`, `DC=DomainDnsZones,${baseDn}`, `DC=ForestDnsZones,${baseDn}`]],
      ['defaultNamingContext', [baseDn]],
      ['rootDomainNamingContext', [baseDn]],
      ['configurationNamingContext', [config]],
      ['schemaNamingContext', [`CN=Schema,${config}`]],
      ['serverName', [server]],
      ['supportedControl', ['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.801', '1.2.840.113556.1.4.473', '1.2.840.113556.1.4.528', '1.2.840.113556.1.4.417', '1.2.840.113556.1.4.619', '1.2.840.113556.1.4.841', '1.2.840.113556.1.4.529', '1.2.840.113556.1.4.805', '1.2.840.113556.1.4.521', '1.2.840.113556.1.4.970', '1.2.840.113556.1.4.1338', '1.2.840.113556.1.4.474', '1.2.840.113556.1.4.1339', '1.2.840.113556.1.4.1340', '1.2.840.113556.1.4.1413', '2.16.840.1.113730.3.4.9', '2.16.840.1.113730.3.4.10', '1.2.840.113556.1.4.1504', '1.2.840.113556.1.4.1852', '1.2.840.113556.1.4.802', '1.2.840.113556.1.4.1907', '1.2.840.113556.1.4.1948', '1.2.840.113556.1.4.1974', '1.2.840.113556.1.4.1341', '1.2.840.113556.1.4.2026', '1.2.840.113556.1.4.2064', '1.2.840.113556.1.4.2065', '1.2.840.113556.1.4.2066', '1.2.840.113556.1.4.2090', '1.2.840.113556.1.4.2205', '1.2.840.113556.1.4.2204', '1.2.840.113556.1.4.2206', '1.2.840.113556.1.4.2211', '1.2.840.113556.1.4.2239', '1.2.840.113556.1.4.2255', '1.2.840.113556.1.4.2256', '1.2.840.113556.1.4.2309']],
      ['supportedLDAPVersion', ['3', '2']],
      ['supportedLDAPPolicies', ['MaxPoolThreads', 'MaxPercentDirSyncRequests', 'MaxDatagramRecv', 'MaxReceiveBuffer', 'InitRecvTimeout', 'MaxConnections', 'MaxConnIdleTime', 'MaxPageSize', 'MaxBatchReturnMessages', 'MaxQueryDuration', 'MaxDirSyncDuration', 'MaxTempTableSize', 'MaxResultSetSize', 'MinResultSets', 'MaxResultSetsPerConn', 'MaxNotificationPerConn', 'MaxValRange', 'MaxValRangeTransitive', 'ThreadMemoryLimit', 'SystemMemoryLimitPercent']],
      ['highestCommittedUSN', [usn]],
      ['supportedSASLMechanisms', ['GSSAPI', 'GSS-SPNEGO', 'EXTERNAL', 'DIGEST-MD5']],
      ['dnsHostName', [`${facts.shortHostname.toLowerCase()}.${domain}`]],
      ['ldapServiceName', [`${domain}:${facts.shortHostname.toLowerCase()}$@${domain.toUpperCase()}`]],
      ['supportedCapabilities', ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791', '1.2.840.113556.1.4.1935', '1.2.840.113556.1.4.2080', '1.2.840.113556.1.4.2237']],
      ['isSynchronized', ['TRUE']],
      ['isGlobalCatalogReady', ['TRUE']],
      ['domainFunctionality', [level]],
      ['forestFunctionality', [level]],
      ['domainControllerFunctionality', [level]],
    ];
    return { ad, baseDn, rootDse, operational: new Set(), entries: [], adTag };
  }

  // OpenLDAP as Debian installs it: the admin role object, people and groups, readable anonymously.
  const org = domain.split('.')[0]!;
  const rootDse = (): [string, string[]][] => [
    ['objectClass', ['top', 'OpenLDAProotDSE']],
    ['structuralObjectClass', ['OpenLDAProotDSE']],
    ['configContext', ['cn=config']],
    ['namingContexts', [baseDn.toLowerCase()]],
    ['supportedControl', ['2.16.840.1.113730.3.4.18', '2.16.840.1.113730.3.4.2', '1.3.6.1.4.1.4203.1.10.1', '1.3.6.1.1.22', '1.2.840.113556.1.4.319', '1.2.826.0.1.3344810.2.3', '1.3.6.1.1.13.2', '1.3.6.1.1.13.1', '1.3.6.1.1.12']],
    ['supportedExtension', ['1.3.6.1.4.1.4203.1.11.1', OID_WHOAMI, '1.3.6.1.1.8', OID_STARTTLS]],
    ['supportedFeatures', ['1.3.6.1.1.14', '1.3.6.1.4.1.4203.1.5.1', '1.3.6.1.4.1.4203.1.5.2', '1.3.6.1.4.1.4203.1.5.3', '1.3.6.1.4.1.4203.1.5.4', '1.3.6.1.4.1.4203.1.5.5']],
    ['supportedLDAPVersion', ['3']],
    ['supportedSASLMechanisms', ['DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'EXTERNAL']],
    ['entryDN', ['']],
    ['subschemaSubentry', ['cn=Subschema']],
  ];
  const base = baseDn.toLowerCase();
  const entries: Entry[] = [
    { dn: base, attrs: { objectClass: ['top', 'dcObject', 'organization'], o: [org], dc: [org] } },
    { dn: `cn=admin,${base}`, attrs: { objectClass: ['simpleSecurityObject', 'organizationalRole'], cn: ['admin'], description: ['LDAP administrator'] } },
    { dn: `ou=people,${base}`, attrs: { objectClass: ['organizationalUnit'], ou: ['people'] } },
    { dn: `ou=groups,${base}`, attrs: { objectClass: ['organizationalUnit'], ou: ['groups'] } },
  ];
  const people: [string, string][] = [['jsmith', 'John Smith'], ['mgarcia', 'Maria Garcia'], ['akumar', 'Anil Kumar'], ['lchen', 'Li Chen'], ['svc_backup', 'Backup Service'], ['tnguyen', 'Thanh Nguyen'], ['ebrown', 'Emily Brown'], ['rmuller', 'Ralf Muller']];
  const chosen = people.filter(() => seed.int(0, 3) !== 0);
  chosen.forEach(([uid, cn], i) => {
    const [given, sn] = cn.split(' ');
    entries.push({
      dn: `uid=${uid},ou=people,${base}`,
      attrs: {
        objectClass: ['inetOrgPerson', 'posixAccount', 'shadowAccount'],
        uid: [uid],
        cn: [cn],
        sn: [sn ?? cn],
        givenName: [given ?? cn],
        mail: [`${uid}@${domain}`],
        uidNumber: [String(10001 + i)],
        gidNumber: [uid.startsWith('svc_') ? '10100' : '10000'],
        homeDirectory: [`/home/${uid}`],
        loginShell: ['/bin/bash'],
      },
    });
  });
  entries.push(
    { dn: `cn=staff,ou=groups,${base}`, attrs: { objectClass: ['posixGroup'], cn: ['staff'], gidNumber: ['10000'], memberUid: chosen.filter(([u]) => !u.startsWith('svc_')).map(([u]) => u) } },
    { dn: `cn=admins,ou=groups,${base}`, attrs: { objectClass: ['posixGroup'], cn: ['admins'], gidNumber: ['10001'], memberUid: chosen.slice(0, 2).map(([u]) => u) } },
  );
  const operational = new Set(['structuralobjectclass', 'configcontext', 'namingcontexts', 'supportedcontrol', 'supportedextension', 'supportedfeatures', 'supportedldapversion', 'supportedsaslmechanisms', 'entrydn', 'subschemasubentry']);
  return { ad, baseDn: base, rootDse, operational, entries, adTag: '' };
}

/** Attributes of an entry to return, per the requested list (RFC 4511 §4.5.1.8). */
function select(attrs: [string, string[]][], requested: string[], operational: Set<string>, allByDefault: boolean): [string, string[]][] {
  const want = requested.map((a) => a.toLowerCase());
  if (want.includes('1.1') && want.length === 1) return [];
  const all = want.length === 0 || want.includes('*');
  return attrs.filter(([name]) => {
    const n = name.toLowerCase();
    if (want.includes(n)) return true;
    if (operational.has(n)) return want.includes('+') || (allByDefault && all && want.length === 0);
    return all;
  });
}

interface NtlmPending {
  challenge: Buffer;
  framing: 'raw' | 'spnego';
  via: 'sasl' | 'sicily';
}

const service: DecoyService = {
  name: 'ldap',
  summary: 'LDAP directory (bind DN and password)',
  listens: [{ port: 389, transport: 'tcp' }],
  personaKeys: {
    domain: { summary: 'directory domain (auto: from the host name, else corp.local)', default: 'auto' },
    server: { summary: 'which server to imitate', default: 'auto', choices: ['auto', 'ad', 'openldap'] },
    allow_anonymous: { summary: 'accept anonymous binds (both AD and OpenLDAP do by default)', default: 'true', choices: ['true', 'false'] },
  },
  create(ctx) {
    const dir = buildDirectory(ctx);
    const target = ntlmTarget(ctx.decky.persona, ctx.config.domain);
    const domain = deckyDomain(ctx.decky.persona, ctx.config.domain);
    const allowAnonymous = ctx.config.allow_anonymous === 'true';
    const adDiag = (code: string, dsid: string, comment: string, data: string): string => `${code}: LdapErr: DSID-${dsid}, comment: ${comment}, data ${data}, ${dir.adTag}\u0000`;
    const badCreds = dir.ad ? adDiag('80090308', '0C09044E', 'AcceptSecurityContext error', '52e') : '';
    const needBind = adDiag('000004DC', '0C090CF4', 'In order to perform this operation a successful bind must be completed on the connection.', '0');
    let tlsHelpers: Promise<typeof import('../tls-server.ts')> | undefined;
    let secureContext: (() => Promise<import('node:tls').SecureContext>) | undefined;

    function serve(io: Duplex, raw: Socket, session: Session, encrypted: boolean): void {
      const q = new ByteQueue(MAX_MESSAGE + 16);
      let ntlm: NtlmPending | undefined;
      let digestNonce: string | undefined;
      let anonymousBound = true; // LDAP sessions start anonymous
      let stopped = false;

      const send = (b: Buffer): void => void io.write(b);

      const onBind = (id: number, op: Tlv): void => {
        const r = new BerReader(op.value);
        const version = r.integer();
        const name = r.octetString().toString('utf8');
        const auth = r.next();
        const reply = (code: number, diag = '', matched: string | Buffer = '', creds?: Buffer): void =>
          send(message(id, result(BIND_RESP, code, matched, diag, ...(creds ? [tlv(0x87, creds)] : []))));
        if (version < 2 || version > 3 || (version === 2 && !dir.ad)) {
          session.record('auth_attempt', { auth_method: 'simple', dn: clip(name), ldap_version: version, success: false, reason: 'protocol_version' });
          reply(PROTOCOL_ERROR, dir.ad ? '' : 'historical protocol version requested, use LDAPv3 instead');
          return;
        }
        anonymousBound = false;
        if (auth.tag === 0x80) {
          const password = auth.value;
          if (password.length === 0) {
            // Anonymous (no DN) or "unauthenticated" (DN, no password) bind.
            const ok = allowAnonymous && (name === '' || dir.ad);
            session.record('auth_attempt', { auth_method: 'anonymous', dn: clip(name) || undefined, ldap_version: version, success: ok });
            anonymousBound = ok;
            if (ok) reply(SUCCESS);
            else if (name !== '') reply(UNWILLING_TO_PERFORM, 'unauthenticated bind (DN with no password) disallowed');
            else reply(INVALID_CREDENTIALS, badCreds);
            return;
          }
          session.record('auth_attempt', { auth_method: 'simple', dn: clip(name), username: clip(principalOf(name)), ldap_version: version, encrypted, success: false }, { secret: password });
          reply(INVALID_CREDENTIALS, badCreds);
          return;
        }
        if (auth.tag === 0xa3) {
          const sr = new BerReader(auth.value);
          const mech = sr.octetString().toString('latin1').toUpperCase();
          const creds = sr.hasMore() ? sr.octetString() : undefined;
          onSasl(mech, creds, name, version, reply);
          return;
        }
        if (dir.ad && (auth.tag === 0x89 || auth.tag === 0x8a || auth.tag === 0x8b)) {
          // Microsoft "Sicily" NTLM bind (MS-ADTS 5.1.1.1.3): discovery, negotiate, response.
          if (auth.tag === 0x89) {
            session.record('auth_attempt', { auth_method: 'ntlm', stage: 'package_discovery', dn: clip(name) || undefined, success: false });
            reply(SUCCESS, '', 'NTLM');
          } else if (auth.tag === 0x8a) {
            const challenge = startNtlm(auth.value, 'raw', 'sicily');
            if (challenge) reply(SUCCESS, '', challenge);
            else reply(PROTOCOL_ERROR, '');
          } else {
            finishNtlm(auth.value, reply);
          }
          return;
        }
        session.record('auth_attempt', { auth_method: `choice_${auth.number}`, dn: clip(name), success: false });
        reply(AUTH_METHOD_NOT_SUPPORTED, dir.ad ? adDiag('00002027', '0C090A1B', 'Unsupported authentication choice', '0') : 'unsupported authentication method');
      };

      const startNtlm = (token: Buffer, framing: 'raw' | 'spnego', via: 'sasl' | 'sicily'): Buffer | undefined => {
        if (ntlmMessageType(token) !== 1) return undefined;
        const negotiate = parseNegotiate(token);
        const challengeMsg = buildChallenge(negotiate, target);
        ntlm = { challenge: challengeOf(challengeMsg), framing, via };
        session.record('auth_attempt', { auth_method: 'ntlm', stage: 'negotiate', via, client_os: versionString(negotiate.version), success: false });
        return framing === 'spnego' ? negTokenRespChallenge(challengeMsg) : challengeMsg;
      };

      const finishNtlm = (token: Buffer, reply: (code: number, diag?: string) => void): void => {
        if (!ntlm || ntlmMessageType(token) !== 3) {
          reply(PROTOCOL_ERROR, dir.ad ? adDiag('80090308', '0C0906B5', 'AcceptSecurityContext error', '0') : '');
          return;
        }
        const auth = parseAuthenticate(token);
        const hash = crackableHash(auth, ntlm.challenge);
        session.record(
          'auth_attempt',
          {
            auth_method: 'ntlm',
            via: ntlm.via,
            username: clip(auth.user),
            domain: clip(auth.domain),
            workstation: clip(auth.workstation),
            principal: auth.domain ? clip(`${auth.domain}\\${auth.user}`) : clip(auth.user),
            client_os: versionString(auth.version),
            secret_kind: auth.kind === 'v2' ? 'ntlmssp_v2' : auth.kind === 'v1' ? 'ntlmssp_v1' : undefined,
            success: false,
          },
          hash ? { secret: hash } : undefined,
        );
        ntlm = undefined;
        reply(INVALID_CREDENTIALS, dir.ad ? adDiag('8009030C', '0C0906B5', 'AcceptSecurityContext error', '52e') : '');
      };

      const onSasl = (mech: string, creds: Buffer | undefined, name: string, version: number, reply: (code: number, diag?: string, matched?: string, creds?: Buffer) => void): void => {
        if ((mech === 'GSS-SPNEGO' || mech === 'NTLM') && dir.ad && creds) {
          let unwrapped;
          try {
            unwrapped = unwrapSecurityToken(creds);
          } catch {
            unwrapped = undefined;
          }
          const token = unwrapped?.ntlm;
          if (token && ntlmMessageType(token) === 1) {
            const out = startNtlm(token, unwrapped!.framing, 'sasl');
            reply(SASL_BIND_IN_PROGRESS, '', '', out);
            return;
          }
          if (token && ntlmMessageType(token) === 3) {
            finishNtlm(token, reply);
            return;
          }
          session.record('auth_attempt', { auth_method: 'sasl', mechanism: mech, dn: clip(name) || undefined, success: false, reason: 'kerberos_or_unknown_token' });
          reply(INVALID_CREDENTIALS, adDiag('80090308', '0C0904D5', 'AcceptSecurityContext error', '0'));
          return;
        }
        if (mech === 'PLAIN' && !dir.ad) {
          const parts = (creds ?? Buffer.alloc(0)).toString('utf8').split('\u0000');
          const user = parts[1] ?? '';
          session.record('auth_attempt', { auth_method: 'sasl', mechanism: mech, username: clip(user), authzid: clip(parts[0] ?? '') || undefined, encrypted, success: false }, parts[2] ? { secret: parts[2] } : undefined);
          reply(INVALID_CREDENTIALS, 'SASL(-13): user not found: Password verification failed');
          return;
        }
        if (mech === 'DIGEST-MD5') {
          if (!creds || creds.length === 0) {
            digestNonce = randomBytes(dir.ad ? 24 : 18).toString('base64');
            const challenge = dir.ad
              ? `qop="auth,auth-int,auth-conf",cipher="3des,rc4",nonce="${digestNonce}",charset=utf-8,algorithm=md5-sess`
              : `realm="${domain}",nonce="${digestNonce}",qop="auth,auth-int,auth-conf",cipher="rc4-40,rc4-56,rc4,des,3des",maxbuf=65536,charset=utf-8,algorithm=md5-sess`;
            session.record('auth_attempt', { auth_method: 'sasl', mechanism: mech, stage: 'challenge', success: false });
            reply(SASL_BIND_IN_PROGRESS, '', '', Buffer.from(challenge));
            return;
          }
          const text = creds.toString('utf8').slice(0, 2048);
          const field = (k: string): string | undefined => new RegExp(`(?:^|,)\\s*${k}="?([^",]*)"?`, 'i').exec(text)?.[1];
          session.record(
            'auth_attempt',
            { auth_method: 'sasl', mechanism: mech, username: clip(field('username') ?? ''), realm: clip(field('realm') ?? '') || undefined, digest_uri: clip(field('digest-uri') ?? '') || undefined, nonce_ok: field('nonce') === digestNonce, secret_kind: 'sasl_digest_md5', success: false },
            { secret: text },
          );
          reply(INVALID_CREDENTIALS, dir.ad ? adDiag('8009030C', '0C0906B5', 'AcceptSecurityContext error', '52e') : 'SASL(-13): authentication failure: client response doesn\'t match what we generated');
          return;
        }
        session.record('auth_attempt', { auth_method: 'sasl', mechanism: clip(mech, 32), dn: clip(name) || undefined, ldap_version: version, success: false });
        reply(AUTH_METHOD_NOT_SUPPORTED, dir.ad ? '' : 'SASL(-4): no mechanism available: ');
      };

      const onSearch = (id: number, op: Tlv): void => {
        const r = new BerReader(op.value);
        const base = r.octetString().toString('utf8');
        const scope = r.enumerated();
        r.enumerated(); // derefAliases
        const sizeLimit = r.integer();
        r.integer(); // timeLimit
        const typesOnly = r.boolean();
        const filter: Filter = decodeFilter(r.next());
        const attrList = r.sequence();
        const attrs: string[] = [];
        while (attrList.hasMore() && attrs.length < 64) attrs.push(attrList.octetString().toString('utf8'));
        const scopeName = ['base', 'one', 'sub'][scope] ?? String(scope);
        const fields = { base: clip(base, 256), scope: scopeName, filter: clip(renderFilter(filter), 1024), attributes: clip(attrs.join(','), 512) || undefined, size_limit: sizeLimit || undefined };
        const done = (code: number, diag = '', matched = ''): void => send(message(id, result(SEARCH_DONE, code, matched, diag)));
        const send1 = (dn: string, list: [string, string[]][]): void => send(message(id, entry(dn, typesOnly ? list.map(([n]) => [n, []]) : list)));

        if (base === '' && scope === 0) {
          session.record('search', { ...fields, result: 'root_dse' });
          send1('', select(dir.rootDse(), attrs, dir.operational, dir.ad));
          done(SUCCESS);
          return;
        }
        if (dir.ad) {
          session.record('search', { ...fields, result: 'bind_required' });
          done(OPERATIONS_ERROR, needBind);
          return;
        }
        const b = base.toLowerCase().replace(/\s*,\s*/g, ',');
        const baseEntry = dir.entries.find((e) => e.dn === b);
        if (!baseEntry) {
          session.record('search', { ...fields, result: 'no_such_object' });
          done(NO_SUCH_OBJECT, '', b.endsWith(dir.baseDn) ? dir.baseDn : '');
          return;
        }
        const depth = (dn: string): number => dn.split(',').length;
        const inScope = dir.entries.filter((e) => {
          if (scope === 0) return e.dn === b;
          if (scope === 1) return e.dn.endsWith(`,${b}`) && depth(e.dn) === depth(b) + 1;
          return e.dn === b || e.dn.endsWith(`,${b}`);
        });
        const hits = inScope.filter((e) => matches(filter, e)).slice(0, sizeLimit > 0 ? Math.min(sizeLimit, 500) : 500);
        session.record('search', { ...fields, result: 'entries', entries: hits.length });
        for (const e of hits) send1(e.dn, select(Object.entries(e.attrs), attrs, dir.operational, false));
        done(SUCCESS);
      };

      const onExtended = (id: number, op: Tlv): void => {
        const r = new BerReader(op.value);
        const name = r.hasMore() && r.peekTag() === 0x80 ? r.next().value.toString('latin1') : '';
        session.record('request', { op: 'extended', oid: clip(name, 128) });
        const reply = (code: number, diag = '', value?: Buffer): void =>
          send(message(id, result(EXTENDED_RESP, code, '', diag, ...(name ? [tlv(0x8a, Buffer.from(name, 'latin1'))] : []), ...(value ? [tlv(0x8b, value)] : []))));
        if (name === OID_STARTTLS && !encrypted) {
          reply(SUCCESS);
          upgrade();
          return;
        }
        if (name === OID_WHOAMI) {
          reply(SUCCESS, '', Buffer.alloc(0));
          return;
        }
        reply(PROTOCOL_ERROR, dir.ad ? adDiag('0000203D', '0C0C0956', 'Unknown extended request OID', '0') : 'unsupported extended operation');
      };

      const upgrade = (): void => {
        stopped = true;
        io.removeListener('data', onData);
        const leftover = q.drain();
        if (leftover.length > 0) raw.unshift(leftover);
        tlsHelpers ??= import('../tls-server.ts');
        tlsHelpers
          .then(async (tls) => {
            secureContext ??= tls.secureContextProvider(ctx);
            const secure = await tls.acceptTls(raw, { session, context: secureContext, via: 'starttls', log: ctx.log });
            if (secure) serve(secure, raw, session, true);
          })
          .catch((err: unknown) => {
            ctx.log.warn('ldap: StartTLS failed', { err });
            raw.destroy();
          });
      };

      const dispatch = (frame: Buffer): void => {
        const outer = readTlv(frame);
        if (outer.tag !== 0x30) throw new BerError('LDAPMessage is not a sequence');
        const r = new BerReader(outer.value);
        const id = r.integer();
        const op = r.next();
        switch (op.tag) {
          case BIND_REQ:
            onBind(id, op);
            return;
          case SEARCH_REQ:
            onSearch(id, op);
            return;
          case UNBIND_REQ:
            stopped = true;
            io.end();
            return;
          case ABANDON_REQ:
            return;
          case EXTENDED_REQ:
            onExtended(id, op);
            return;
          default: {
            const respTag = RESPONSE_OF[op.tag];
            if (respTag === undefined) throw new BerError(`unknown protocol op 0x${op.tag.toString(16)}`);
            let dn = '';
            try {
              dn = op.tag === DEL_REQ ? op.value.toString('utf8') : new BerReader(op.value).octetString().toString('utf8');
            } catch {
              dn = '';
            }
            session.record('request', { op: OP_NAMES[op.tag], dn: clip(dn, 256) });
            if (dir.ad) send(message(id, result(respTag, OPERATIONS_ERROR, '', needBind)));
            else send(message(id, result(respTag, STRONGER_AUTH_REQUIRED, '', anonymousBound ? 'modifications require authentication' : 'authentication required')));
          }
        }
      };

      const drain = (): boolean => {
        while (!stopped && q.length > 0) {
          const need = tlvFrameLength(q.peek(16));
          if (need < 0 || need > MAX_MESSAGE) throw new BerError('LDAPMessage framing is invalid or too large');
          if (need === 0 || q.length < need) return true;
          dispatch(q.take(need));
        }
        return !stopped;
      };

      function onData(chunk: Buffer): void {
        if (stopped) return;
        try {
          if (!q.feed(chunk, drain)) throw new BerError('LDAPMessage too large');
        } catch (err) {
          if (!(err instanceof BerError || err instanceof RangeError)) {
            if (!encrypted) throw err; // the host records it and closes the connection
            ctx.log.warn('ldap: error on a TLS connection', { err });
          }
          session.record('payload', { reason: 'protocol_error', error: clip((err as Error).message, 128), data_hex: hexPreview(q.peek(64)) });
          stopped = true;
          // Both servers answer an undecodable PDU with a notice of disconnection before closing.
          send(message(0, result(EXTENDED_RESP, PROTOCOL_ERROR, '', dir.ad ? adDiag('00000057', '0C0C0FAE', 'Error decoding ldap message', '0') : 'decoding error', tlv(0x8a, Buffer.from('1.3.6.1.4.1.1466.20036')))));
          io.end();
        }
      }
      io.on('data', onData);
    }

    return {
      onConnection(socket, session) {
        serve(socket, socket, session, false);
      },
    };
  },
};

export default service;
