import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { asInt, decode, int, seq, str, tlv, type Node } from './ber-support.ts';
import { RawTcp, sendGarbage } from './net-support.ts';
import { ntlmAuthenticate, ntlmNegotiate, parseChallenge, verifyNetNtlmV2 } from './ntlm-client.ts';

let ad: TestDecky;
let slapd: TestDecky;
before(async () => {
  ad = await startTestDecky({ services: ['ldap'], persona: { hostname: 'DC01', osFamily: 'windows', distro: 'win2019', archetype: 'domain-controller' } });
  slapd = await startTestDecky({ services: [{ name: 'ldap', config: { domain: 'example.org' } }], persona: { hostname: 'ldap01', distro: 'debian' } });
});
after(async () => {
  await ad.stop();
  await slapd.stop();
});

/** Reads one LDAPMessage: [messageID, protocolOp node]. */
async function readMessage(c: RawTcp): Promise<[number, Node]> {
  const head = await c.read(2);
  let len = head[1]!;
  let lenBytes: Buffer = Buffer.alloc(0);
  if (len & 0x80) {
    lenBytes = await c.read(len & 0x7f);
    len = 0;
    for (const b of lenBytes) len = len * 256 + b;
  }
  const body = await c.read(len);
  const [msg] = decode(Buffer.concat([head, lenBytes, body]));
  return [asInt(msg!.children[0]!), msg!.children[1]!];
}

const bindSimple = (id: number, dn: string, password: string, version = 3): Buffer => seq(int(id), tlv(0x60, int(version), str(dn), str(password, 0x80)));
const bindTag = (id: number, dn: string, tag: number, value: Buffer): Buffer => seq(int(id), tlv(0x60, int(3), str(dn), tlv(tag, value)));
const rootDseSearch = (id: number, attrs: string[] = []): Buffer =>
  seq(int(id), tlv(0x63, str(''), int(0, 0x0a), int(0, 0x0a), int(0), int(0), tlv(0x01, Buffer.from([0])), str('objectClass', 0x87), seq(...attrs.map((a) => str(a)))));
const resultCode = (op: Node): number => asInt(op.children[0]!);
const diag = (op: Node): string => op.children[2]!.value.toString();

function attributes(entryOp: Node): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of entryOp.children[1]!.children) out.set(a.children[0]!.value.toString(), a.children[1]!.children.map((v) => v.value.toString()));
  return out;
}

test('AD: root DSE names the domain like a DC (the data nmap identifies AD from)', async () => {
  const c = await RawTcp.open(ad.ip, ad.port('ldap'));
  c.write(rootDseSearch(7));
  const raw = await (async () => {
    const [id, op] = await readMessage(c);
    assert.equal(id, 7);
    assert.equal(op.tag, 0x64);
    return op;
  })();
  const attrs = attributes(raw);
  assert.deepEqual(attrs.get('defaultNamingContext'), ['DC=corp,DC=local']);
  assert.equal(attrs.get('dnsHostName')![0], 'dc01.corp.local');
  assert.match(attrs.get('dsServiceName')![0]!, /^CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=local$/);
  assert.deepEqual(attrs.get('domainFunctionality'), ['7']);
  const [, done] = await readMessage(c);
  assert.equal(done.tag, 0x65);
  assert.equal(resultCode(done), 0);
  // A search below the root needs a bind first, with AD's own diagnostic.
  c.write(seq(int(8), tlv(0x63, str('DC=corp,DC=local'), int(2, 0x0a), int(0, 0x0a), int(0), int(0), tlv(0x01, Buffer.from([0])), tlv(0xa3, str('sAMAccountName'), str('admin')), seq())));
  const [, denied] = await readMessage(c);
  assert.equal(resultCode(denied), 1);
  assert.match(diag(denied), /^000004DC: LdapErr: DSID-.*successful bind must be completed.*v4563\0$/);
  c.close();
  const e = await ad.waitForEvent((e) => e.service === 'ldap' && e.event === 'search' && e.fields.result === 'bind_required');
  assert.equal(e.fields.filter, '(sAMAccountName=admin)');
  assert.equal(e.fields.scope, 'sub');
});

test('AD: simple bind is recorded with the password and refused with data 52e', async () => {
  const c = await RawTcp.open(ad.ip, ad.port('ldap'));
  c.write(bindSimple(1, 'CN=svc_sql,CN=Users,DC=corp,DC=local', 'Summer2024!'));
  const [, op] = await readMessage(c);
  assert.equal(op.tag, 0x61);
  assert.equal(resultCode(op), 49);
  assert.match(diag(op), /AcceptSecurityContext error, data 52e, v4563/);
  c.close();
  const e = await ad.waitForEvent((e) => e.service === 'ldap' && e.event === 'auth_attempt' && e.fields.auth_method === 'simple');
  assert.equal(e.fields.dn, 'CN=svc_sql,CN=Users,DC=corp,DC=local');
  assert.equal(e.fields.username, 'svc_sql');
  assert.equal(e.secret!.toString(), 'Summer2024!');
});

test('AD: NTLM via Sicily and via SASL GSS-SPNEGO yields a NetNTLMv2 line that verifies', async () => {
  const c = await RawTcp.open(ad.ip, ad.port('ldap'));
  c.write(bindTag(1, '', 0x89, Buffer.alloc(0)));
  const [, disc] = await readMessage(c);
  assert.equal(resultCode(disc), 0);
  assert.equal(disc.children[1]!.value.toString(), 'NTLM');
  c.write(bindTag(2, '', 0x8a, ntlmNegotiate()));
  const [, neg] = await readMessage(c);
  assert.equal(resultCode(neg), 0);
  const ch = parseChallenge(neg.children[1]!.value);
  assert.equal(ch.targetName, 'CORP');
  assert.equal(ch.av.get(3)!.toString('utf16le'), 'dc01.corp.local');
  assert.deepEqual(ch.version, { major: 10, minor: 0, build: 17763 });
  c.write(bindTag(3, '', 0x8b, ntlmAuthenticate(ch, 'jdoe', 'CORP', 'ATTACKER-PC', 'Passw0rd!')));
  const [, fin] = await readMessage(c);
  assert.equal(resultCode(fin), 49);

  // The same through SASL GSS-SPNEGO with a raw NTLMSSP token.
  const sasl = (id: number, token: Buffer): Buffer => seq(int(id), tlv(0x60, int(3), str(''), tlv(0xa3, str('GSS-SPNEGO'), str(token))));
  c.write(sasl(4, ntlmNegotiate()));
  const [, inProgress] = await readMessage(c);
  assert.equal(resultCode(inProgress), 14);
  const creds = inProgress.children.find((n) => n.tag === 0x87)!;
  const ch2 = parseChallenge(creds.value);
  c.write(sasl(5, ntlmAuthenticate(ch2, 'mallory', 'CORP', 'KALI', 'hunter2')));
  const [, fin2] = await readMessage(c);
  assert.equal(resultCode(fin2), 49);
  c.close();

  const sicily = await ad.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.via === 'sicily' && e.fields.username === 'jdoe');
  assert.deepEqual([sicily.fields.domain, sicily.fields.workstation, sicily.fields.principal, sicily.fields.client_os], ['CORP', 'ATTACKER-PC', 'CORP\\jdoe', '10.0.22631']);
  const v = verifyNetNtlmV2(sicily.secret!.toString(), 'Passw0rd!');
  assert.ok(v.ok, 'recorded NetNTLMv2 verifies against the password');
  assert.equal(sicily.secret!.toString().split(':')[3], ch.serverChallenge.toString('hex'));
  assert.ok(!verifyNetNtlmV2(sicily.secret!.toString(), 'wrong').ok);
  const viaSasl = await ad.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.via === 'sasl' && e.fields.username === 'mallory');
  assert.ok(verifyNetNtlmV2(viaSasl.secret!.toString(), 'hunter2').ok);
});

test('OpenLDAP: v2 bind refused like slapd, anonymous bind and bait directory search', async () => {
  const c = await RawTcp.open(slapd.ip, slapd.port('ldap'));
  c.write(bindSimple(1, '', '', 2));
  const [, v2] = await readMessage(c);
  assert.deepEqual([resultCode(v2), diag(v2)], [2, 'historical protocol version requested, use LDAPv3 instead']);
  c.write(bindSimple(2, '', ''));
  assert.equal(resultCode((await readMessage(c))[1]), 0);
  c.write(rootDseSearch(3, ['namingContexts', 'supportedSASLMechanisms']));
  const [, dse] = await readMessage(c);
  assert.deepEqual(attributes(dse).get('namingContexts'), ['dc=example,dc=org']);
  await readMessage(c);
  // (&(objectClass=posixAccount)(uid=*)) under ou=people.
  const filter = tlv(0xa0, tlv(0xa3, str('objectClass'), str('posixAccount')), str('uid', 0x87));
  c.write(seq(int(4), tlv(0x63, str('ou=people,dc=example,dc=org'), int(1, 0x0a), int(0, 0x0a), int(0), int(0), tlv(0x01, Buffer.from([0])), filter, seq(str('uid'), str('mail')))));
  const users: string[] = [];
  for (;;) {
    const [, op] = await readMessage(c);
    if (op.tag === 0x65) {
      assert.equal(resultCode(op), 0);
      break;
    }
    const attrs = attributes(op);
    assert.deepEqual([...attrs.keys()].sort(), ['mail', 'uid']);
    users.push(attrs.get('uid')![0]!);
  }
  assert.ok(users.length >= 1);
  c.write(bindSimple(5, 'cn=admin,dc=example,dc=org', 'admin'));
  const [, bad] = await readMessage(c);
  assert.deepEqual([resultCode(bad), diag(bad)], [49, '']);
  c.close();
  const s = await slapd.waitForEvent((e) => e.service === 'ldap' && e.event === 'search' && e.fields.result === 'entries');
  assert.equal(s.fields.filter, '(&(objectClass=posixAccount)(uid=*))');
  assert.equal(s.fields.entries, String(users.length));
  const a = await slapd.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.dn === 'cn=admin,dc=example,dc=org');
  assert.equal(a.secret!.toString(), 'admin');
});

test('garbage gets a notice of disconnection; the server keeps serving', async () => {
  await sendGarbage(ad.ip, ad.port('ldap'), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await sendGarbage(ad.ip, ad.port('ldap'), Buffer.from('3084ffffffff', 'hex'));
  await ad.waitForEvent((e) => e.service === 'ldap' && e.event === 'payload' && e.fields.reason === 'protocol_error');
  const t = await RawTcp.open(ad.ip, ad.port('ldap'));
  t.write(bindSimple(1, 'x', 'y').subarray(0, 6));
  t.close();
  const c = await RawTcp.open(ad.ip, ad.port('ldap'));
  c.write(bindSimple(9, '', ''));
  const [id, op] = await readMessage(c);
  assert.deepEqual([id, resultCode(op)], [9, 0]);
  c.close();
});
