// MITRE ATT&CK (enterprise) tactics in the order of the matrix, and how techniques are labelled.
import type { TechniqueRow } from './types.ts';

export const TACTICS: readonly [id: string, name: string][] = [
  ['reconnaissance', 'Reconnaissance'],
  ['resource-development', 'Resource Development'],
  ['initial-access', 'Initial Access'],
  ['execution', 'Execution'],
  ['persistence', 'Persistence'],
  ['privilege-escalation', 'Privilege Escalation'],
  ['defense-evasion', 'Defense Evasion'],
  ['credential-access', 'Credential Access'],
  ['discovery', 'Discovery'],
  ['lateral-movement', 'Lateral Movement'],
  ['collection', 'Collection'],
  ['command-and-control', 'Command and Control'],
  ['exfiltration', 'Exfiltration'],
  ['impact', 'Impact'],
];

/** "credential-access", "Credential Access", "TA0006"-less names all become the short id. */
export function tacticId(tactic: string | null | undefined): string {
  return (tactic ?? '').trim().toLowerCase().replace(/[\s_]+/g, '-').replace(/&/g, 'and');
}

export function techniqueLabel(t: Pick<TechniqueRow, 'technique_name' | 'sub_technique_name' | 'sub_technique_id'>): string {
  if (t.sub_technique_id && t.sub_technique_name) return t.technique_name ? `${t.technique_name}: ${t.sub_technique_name}` : t.sub_technique_name;
  return t.technique_name ?? '';
}

export const mitreUrl = (id: string) => `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
