// A structural check of STIX 2.1 bundles (the parts of the specification our exports use): id
// formats, required and common properties, timestamps and their order, value ranges, custom
// property names, and that every reference resolves to an object inside the bundle. It returns the
// problems found; an empty list means the bundle passed.

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const ID = new RegExp(`^([a-z][a-z0-9-]{1,248}[a-z0-9])--${UUID}$`);
const TYPE = /^[a-z][a-z0-9-]{1,248}[a-z0-9]$/;
const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
const PROPERTY = /^[a-z0-9_]{3,250}$/;
const CUSTOM_PROPERTY = /^x_[a-z0-9_]{1,248}$/;

const SCO_TYPES = new Set([
  'artifact', 'autonomous-system', 'directory', 'domain-name', 'email-addr', 'email-message', 'file', 'ipv4-addr',
  'ipv6-addr', 'mac-addr', 'mutex', 'network-traffic', 'process', 'software', 'url', 'user-account',
  'windows-registry-key', 'x509-certificate',
]);
const SDO_TYPES = new Set([
  'attack-pattern', 'campaign', 'course-of-action', 'grouping', 'identity', 'incident', 'indicator', 'infrastructure',
  'intrusion-set', 'location', 'malware', 'malware-analysis', 'note', 'observed-data', 'opinion', 'report',
  'threat-actor', 'tool', 'vulnerability',
]);
const SRO_TYPES = new Set(['relationship', 'sighting']);

const COMMON = new Set([
  'type', 'spec_version', 'id', 'created_by_ref', 'created', 'modified', 'revoked', 'labels', 'confidence', 'lang',
  'external_references', 'object_marking_refs', 'granular_markings', 'extensions', 'defanged',
]);
/** Required and optional properties per type (beyond the common ones) for the types we check closely. */
const TYPE_PROPERTIES: Record<string, { required: string[]; optional: string[] }> = {
  identity: { required: ['name'], optional: ['description', 'roles', 'identity_class', 'sectors', 'contact_information'] },
  'attack-pattern': { required: ['name'], optional: ['description', 'aliases', 'kill_chain_phases'] },
  'observed-data': { required: ['first_observed', 'last_observed', 'number_observed', 'object_refs'], optional: [] },
  sighting: {
    required: ['sighting_of_ref'],
    optional: ['description', 'first_seen', 'last_seen', 'count', 'observed_data_refs', 'where_sighted_refs', 'summary'],
  },
  relationship: { required: ['relationship_type', 'source_ref', 'target_ref'], optional: ['description', 'start_time', 'stop_time'] },
  indicator: { required: ['pattern', 'pattern_type', 'valid_from'], optional: ['name', 'description', 'indicator_types', 'pattern_version', 'valid_until', 'kill_chain_phases'] },
  'ipv4-addr': { required: ['value'], optional: ['resolves_to_refs', 'belongs_to_refs'] },
  'ipv6-addr': { required: ['value'], optional: ['resolves_to_refs', 'belongs_to_refs'] },
};
/** Which object types a reference property may point at. */
const REF_TARGETS: Record<string, ReadonlySet<string>> = {
  created_by_ref: new Set(['identity']),
  where_sighted_refs: new Set(['identity', 'location']),
  observed_data_refs: new Set(['observed-data']),
  object_refs: new Set([...SCO_TYPES, ...SDO_TYPES, ...SRO_TYPES]),
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkTimestamp(problems: string[], where: string, name: string, value: unknown): number | undefined {
  if (typeof value !== 'string' || !TIMESTAMP.test(value) || !Number.isFinite(Date.parse(value))) {
    problems.push(`${where}: ${name} must be an RFC 3339 UTC timestamp ending in Z (got ${JSON.stringify(value)})`);
    return undefined;
  }
  return Date.parse(value);
}

function checkOrder(problems: string[], where: string, a: string, b: string, obj: Obj): void {
  const ta = typeof obj[a] === 'string' ? Date.parse(obj[a] as string) : NaN;
  const tb = typeof obj[b] === 'string' ? Date.parse(obj[b] as string) : NaN;
  if (Number.isFinite(ta) && Number.isFinite(tb) && tb < ta) problems.push(`${where}: ${b} is earlier than ${a}`);
}

function checkInt(problems: string[], where: string, name: string, v: unknown, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) {
    problems.push(`${where}: ${name} must be a whole number from ${min} to ${max}`);
  }
}

export function validateStixBundle(bundle: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(bundle)) return ['the bundle must be a JSON object'];
  if (bundle.type !== 'bundle') problems.push('bundle: type must be "bundle"');
  if (typeof bundle.id !== 'string' || !ID.test(bundle.id) || !bundle.id.startsWith('bundle--')) problems.push(`bundle: id ${JSON.stringify(bundle.id)} must be bundle--<RFC 4122 UUID>`);
  if ('spec_version' in bundle) problems.push('bundle: a STIX 2.1 bundle has no spec_version');
  if (!Array.isArray(bundle.objects) || bundle.objects.length === 0) {
    problems.push('bundle: objects must be a non-empty list');
    return problems;
  }
  const objects = bundle.objects as unknown[];
  const types = new Map<string, string>();
  objects.forEach((o, n) => {
    if (!isObj(o) || typeof o.id !== 'string') return;
    if (types.has(o.id)) problems.push(`objects[${n}]: id ${o.id} appears more than once`);
    types.set(o.id, String(o.type));
  });

  objects.forEach((raw, n) => {
    if (!isObj(raw)) {
      problems.push(`objects[${n}]: must be an object`);
      return;
    }
    const o = raw;
    const type = o.type;
    const where = `objects[${n}] (${typeof o.id === 'string' ? o.id : typeof type === 'string' ? type : '?'})`;
    if (typeof type !== 'string' || !TYPE.test(type)) {
      problems.push(`${where}: type must be 3-250 characters of a-z, 0-9 and "-"`);
      return;
    }
    const m = typeof o.id === 'string' ? ID.exec(o.id) : null;
    if (!m) problems.push(`${where}: id must be ${type}--<RFC 4122 UUID>`);
    else if (m[1] !== type) problems.push(`${where}: id prefix "${m[1]}" does not match type "${type}"`);

    const isSco = SCO_TYPES.has(type);
    if (isSco) {
      if (o.spec_version !== undefined && o.spec_version !== '2.1') problems.push(`${where}: spec_version must be "2.1"`);
      for (const p of ['created', 'modified', 'created_by_ref']) if (p in o) problems.push(`${where}: a cyber-observable has no ${p}`);
    } else {
      if (o.spec_version !== '2.1') problems.push(`${where}: spec_version must be "2.1"`);
      const c = checkTimestamp(problems, where, 'created', o.created);
      const md = checkTimestamp(problems, where, 'modified', o.modified);
      if (c !== undefined && md !== undefined && md < c) problems.push(`${where}: modified is earlier than created`);
      if (typeof o.created === 'string' && !/\.\d{3}/.test(o.created)) problems.push(`${where}: created must be precise to the millisecond`);
    }

    const props = TYPE_PROPERTIES[type];
    if (props) {
      for (const p of props.required) if (o[p] === undefined) problems.push(`${where}: required property ${p} is missing`);
      const known = new Set([...COMMON, ...props.required, ...props.optional]);
      for (const key of Object.keys(o)) {
        if (known.has(key)) continue;
        if (!PROPERTY.test(key) || !CUSTOM_PROPERTY.test(key)) problems.push(`${where}: property ${key} is not defined for ${type} and is not a custom x_ property`);
      }
    } else if (!SDO_TYPES.has(type) && !SRO_TYPES.has(type) && !isSco && !type.startsWith('x-')) {
      problems.push(`${where}: unknown object type ${type} (custom types start with x-)`);
    }
    for (const key of Object.keys(o)) if (key !== 'id' && !PROPERTY.test(key)) problems.push(`${where}: property name ${key} must be 3-250 characters of a-z, 0-9 and _`);

    if (typeof o.name === 'string' && o.name.trim() === '') problems.push(`${where}: name must not be empty`);
    checkInt(problems, where, 'confidence', o.confidence, 0, 100);

    if (o.external_references !== undefined) {
      if (!Array.isArray(o.external_references)) problems.push(`${where}: external_references must be a list`);
      else
        o.external_references.forEach((r: unknown, k: number) => {
          if (!isObj(r) || typeof r.source_name !== 'string' || r.source_name === '') problems.push(`${where}: external_references[${k}] needs a source_name`);
          else if (r.source_name === 'mitre-attack' && (typeof r.external_id !== 'string' || !/^T\d{4}(\.\d{3})?$|^TA\d{4}$/.test(r.external_id))) {
            problems.push(`${where}: external_references[${k}] from mitre-attack needs an ATT&CK external_id`);
          }
          if (isObj(r) && r.url !== undefined && (typeof r.url !== 'string' || !/^https?:\/\//.test(r.url))) problems.push(`${where}: external_references[${k}].url must be an http(s) URL`);
        });
    }
    if (o.kill_chain_phases !== undefined) {
      if (!Array.isArray(o.kill_chain_phases)) problems.push(`${where}: kill_chain_phases must be a list`);
      else
        o.kill_chain_phases.forEach((k: unknown, i: number) => {
          if (!isObj(k) || typeof k.kill_chain_name !== 'string' || typeof k.phase_name !== 'string') problems.push(`${where}: kill_chain_phases[${i}] needs kill_chain_name and phase_name`);
        });
    }

    if (type === 'observed-data') {
      checkTimestamp(problems, where, 'first_observed', o.first_observed);
      checkTimestamp(problems, where, 'last_observed', o.last_observed);
      checkOrder(problems, where, 'first_observed', 'last_observed', o);
      checkInt(problems, where, 'number_observed', o.number_observed, 1, 999_999_999);
      if (!Array.isArray(o.object_refs) || o.object_refs.length === 0) problems.push(`${where}: object_refs must be a non-empty list`);
    }
    if (type === 'sighting') {
      if (o.first_seen !== undefined) checkTimestamp(problems, where, 'first_seen', o.first_seen);
      if (o.last_seen !== undefined) checkTimestamp(problems, where, 'last_seen', o.last_seen);
      checkOrder(problems, where, 'first_seen', 'last_seen', o);
      checkInt(problems, where, 'count', o.count, 0, 999_999_999);
      const target = typeof o.sighting_of_ref === 'string' ? types.get(o.sighting_of_ref) : undefined;
      if (target && (SCO_TYPES.has(target) || SRO_TYPES.has(target))) problems.push(`${where}: sighting_of_ref must point at a domain object, not ${target}`);
    }
    if ((type === 'ipv4-addr' || type === 'ipv6-addr') && typeof o.value !== 'string') problems.push(`${where}: value must be a string`);

    // Every reference must resolve inside the bundle, to an object of an allowed type.
    for (const [key, value] of Object.entries(o)) {
      const single = key.endsWith('_ref');
      const many = key.endsWith('_refs');
      if (!single && !many) continue;
      const refs = single ? [value] : Array.isArray(value) ? value : null;
      if (!refs || (many && refs.length === 0)) {
        problems.push(`${where}: ${key} must be ${single ? 'an id' : 'a non-empty list of ids'}`);
        continue;
      }
      for (const ref of refs) {
        if (typeof ref !== 'string' || !ID.test(ref)) {
          problems.push(`${where}: ${key} holds ${JSON.stringify(ref)}, not a STIX id`);
          continue;
        }
        const refType = types.get(ref);
        if (!refType) problems.push(`${where}: ${key} → ${ref} is not in the bundle`);
        else if (REF_TARGETS[key] && !REF_TARGETS[key]!.has(refType)) problems.push(`${where}: ${key} → ${ref} must not point at a ${refType}`);
        else if (refType !== ref.slice(0, ref.indexOf('--'))) problems.push(`${where}: ${key} → ${ref} has the wrong type prefix`);
      }
    }
  });
  return problems;
}
