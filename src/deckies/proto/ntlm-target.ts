// What a decky says about itself in an NTLM CHALLENGE (names, domain, OS version), derived from its
// persona so that smb, rdp and ldap on one decky tell the same story: a Windows persona is a member
// of the AD domain and reports its Windows build; anything else is a stand-alone Samba server, which
// reports version 6.1 build 0 as Samba does.
import { personaFacts } from '../personas/facts.ts';
import type { Persona } from '../service.ts';
import type { ChallengeTarget, WindowsVersion } from './ntlmssp.ts';
import { deckyDomain, joinsDomain, netbiosDomain, netbiosName } from './site-domain.ts';

export function windowsVersionOf(persona: Persona): WindowsVersion {
  const w = personaFacts(persona).windows;
  if (!w) return { major: 6, minor: 1, build: 0 };
  const [major, minor, build] = w.version.split('.').map(Number);
  return { major: major ?? 10, minor: minor ?? 0, build: build ?? Number(w.build) };
}

export function ntlmTarget(persona: Persona, domainConfig = 'auto'): ChallengeTarget {
  const facts = personaFacts(persona);
  const domain = deckyDomain(persona, domainConfig);
  const computer = netbiosName(facts.shortHostname);
  const joined = joinsDomain(persona);
  return {
    computer,
    domain: joined ? netbiosDomain(domain) : computer,
    dnsComputer: joined ? `${facts.shortHostname.toLowerCase()}.${domain}` : facts.shortHostname.toLowerCase(),
    dnsDomain: joined ? domain : '',
    joined,
    version: windowsVersionOf(persona),
  };
}
