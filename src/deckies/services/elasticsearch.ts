// Elasticsearch decoy on 9200: the REST API scanners and ransom bots use (banner, _cat, _cluster,
// _nodes, _search, index create/delete, document writes) over a few bait indices, answered in
// Elasticsearch's own shapes, headers and error bodies. Every request is recorded; credentials in
// an Authorization header become an auth_attempt.
//
// The default persona is an open 7.10.2 node (the last Apache-licensed release, the most common
// exposed one); with security=enabled every request needs credentials and none are accepted.
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts, type PersonaFacts } from '../personas/facts.ts';
import { serveHttp1, type HttpRequest, type HttpResponse } from '../proto/http1.ts';
import { decodeSegment, queryParams, recordAuth, recordRequest } from '../proto/http-record.ts';
import { Seeded } from '../proto/seed.ts';

interface Release {
  buildHash: string;
  buildDate: string;
  lucene: string;
  minWire: string;
  minIndex: string;
}

const RELEASES: Record<string, Release> = {
  '7.10.2': { buildHash: '747e1cc71def077253878a59143c1f785afa92b9', buildDate: '2021-01-13T00:42:12.435326Z', lucene: '8.7.0', minWire: '6.8.0', minIndex: '6.0.0-beta1' },
  '7.17.18': { buildHash: '8682172c2130b9a411b1bd5ff37c9792367de6b0', buildDate: '2024-02-02T12:04:59.691750271Z', lucene: '8.11.1', minWire: '6.8.0', minIndex: '6.0.0-beta1' },
  '8.12.2': { buildHash: '48a287ab9497e852de30327444b0809e55d46466', buildDate: '2024-02-19T10:04:32.774273190Z', lucene: '9.9.2', minWire: '7.17.0', minIndex: '7.0.0' },
};

interface BaitIndex {
  name: string;
  uuid: string;
  health: 'green' | 'yellow';
  docs: Record<string, unknown>[];
  storeBytes: number;
}

interface Profile {
  version: string;
  major: number;
  release: Release;
  clusterName: string;
  clusterUuid: string;
  nodeName: string;
  nodeId: string;
  security: boolean;
  productHeader: boolean;
  facts: PersonaFacts;
  indices: BaitIndex[];
  ip: string;
}

// ---- JSON rendering ------------------------------------------------------------------------------

/** Jackson's default pretty printer, which Elasticsearch uses: `"key" : value`, arrays inline. */
export function jacksonPretty(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const next = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]';
    return '[ ' + value.map((v) => jacksonPretty(v, indent)).join(', ') + ' ]';
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{ }';
  return '{\n' + entries.map(([k, v]) => `${next}${JSON.stringify(k)} : ${jacksonPretty(v, next)}`).join(',\n') + '\n' + indent + '}';
}

function sizeHuman(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}gb`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)}mb`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)}kb`;
  return `${bytes}b`;
}

function baitIndices(decky: string): BaitIndex[] {
  const s = new Seeded(decky, 'elasticsearch', 'indices');
  const names = ['Acme Logistics', 'Northwind Traders', 'Globex Corp', 'Initech', 'Umbrella Health', 'Stark Supplies', 'Wayne Freight'];
  const customers = Array.from({ length: 6 }, (_, i) => ({
    name: names[i % names.length],
    email: `billing@${names[i % names.length]!.toLowerCase().replace(/\s+/g, '')}.example`,
    phone: `+1-555-${s.int(100, 999)}-${s.int(1000, 9999)}`,
    card_last4: String(s.int(1000, 9999)),
    plan: s.pick(['enterprise', 'pro', 'starter']),
  }));
  const users = Array.from({ length: 4 }, (_, i) => ({
    username: ['admin', 'jsmith', 'ops', 'svc_report'][i],
    password_hash: `$2a$10$${s.base64id(40).slice(0, 53)}`,
    last_login: new Date(Date.now() - s.int(1, 40) * 86_400_000).toISOString(),
  }));
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10).replace(/-/g, '.');
  return [
    { name: 'customers', uuid: s.base64id(16), health: 'yellow', docs: customers, storeBytes: s.int(2_000_000, 90_000_000) },
    { name: 'users', uuid: s.base64id(16), health: 'yellow', docs: users, storeBytes: s.int(40_000, 900_000) },
    { name: `logstash-${day}`, uuid: s.base64id(16), health: 'yellow', docs: [], storeBytes: s.int(50_000_000, 900_000_000) },
    { name: '.kibana_1', uuid: s.base64id(16), health: 'green', docs: [], storeBytes: s.int(20_000, 200_000) },
  ];
}

// ---- request handling ----------------------------------------------------------------------------

function handler(p: Profile, session: Session) {
  const json = (status: number, body: unknown, req: HttpRequest, forcePretty = false): HttpResponse => {
    const pretty = forcePretty || queryParams(req.query).has('pretty');
    const text = pretty ? jacksonPretty(body) + '\n' : JSON.stringify(body);
    return respond(status, text, p.major >= 8 ? 'application/json' : 'application/json; charset=UTF-8');
  };
  const respond = (status: number, text: string, contentType: string, extra: [string, string][] = []): HttpResponse => {
    const headers: [string, string][] = [];
    if (p.productHeader) headers.push(['X-elastic-product', 'Elasticsearch']);
    headers.push(...extra, ['content-type', contentType], ['content-length', String(Buffer.byteLength(text))]);
    return { status, headers, body: text };
  };
  const error = (status: number, type: string, reason: string, req: HttpRequest, more: Record<string, unknown> = {}): HttpResponse => {
    const cause = { type, reason, ...more };
    return json(status, { error: { root_cause: [cause], ...cause }, status }, req);
  };
  const noHandler = (req: HttpRequest): HttpResponse => json(400, { error: `no handler found for uri [${req.target}] and method [${req.method}]`, status: 400 }, req);
  const indexNotFound = (name: string, req: HttpRequest): HttpResponse =>
    error(404, 'index_not_found_exception', `no such index [${name}]`, req, { 'resource.type': 'index_or_alias', 'resource.id': name, index_uuid: '_na_', index: name });

  const root = () => ({
    name: p.nodeName,
    cluster_name: p.clusterName,
    cluster_uuid: p.clusterUuid,
    version: {
      number: p.version,
      build_flavor: p.major >= 8 ? undefined : 'default',
      build_type: 'deb',
      build_hash: p.release.buildHash,
      build_date: p.release.buildDate,
      build_snapshot: false,
      lucene_version: p.release.lucene,
      minimum_wire_compatibility_version: p.release.minWire,
      minimum_index_compatibility_version: p.release.minIndex,
    },
    tagline: 'You Know, for Search',
  });

  const catTable = (req: HttpRequest, columns: string[], rows: (string | number)[][]): HttpResponse => {
    const params = queryParams(req.query);
    if (params.get('format') === 'json') {
      return json(200, rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, String(r[i])]))), req);
    }
    const all = params.has('v') ? [columns, ...rows.map((r) => r.map(String))] : rows.map((r) => r.map(String));
    const widths = columns.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
    const text = all.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join(' ').trimEnd() + '\n').join('');
    return respond(200, text, 'text/plain; charset=UTF-8');
  };

  const hitsFor = (indices: BaitIndex[]) => {
    const hits = indices.flatMap((ix) => ix.docs.map((doc, i) => ({ _index: ix.name, _type: p.major >= 8 ? undefined : '_doc', _id: new Seeded(ix.uuid, String(i)).base64id(15), _score: 1.0, _source: doc })));
    return {
      took: 3,
      timed_out: false,
      _shards: { total: indices.length, successful: indices.length, skipped: 0, failed: 0 },
      hits: { total: { value: hits.length, relation: 'eq' }, max_score: hits.length ? 1.0 : null, hits: hits.slice(0, 10) },
    };
  };

  const resolveIndices = (expr: string): BaitIndex[] | string => {
    const out: BaitIndex[] = [];
    for (const part of expr.split(',')) {
      const name = decodeSegment(part);
      if (name === '_all' || name === '*') out.push(...p.indices.filter((i) => !i.name.startsWith('.')));
      else if (name.includes('*')) {
        const re = new RegExp('^' + name.slice(0, 128).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
        out.push(...p.indices.filter((i) => re.test(i.name)));
      } else {
        const ix = p.indices.find((i) => i.name === name);
        if (!ix) return name;
        out.push(ix);
      }
    }
    return out;
  };

  return (req: HttpRequest): HttpResponse => {
    const segments = req.path.split('/').filter(Boolean);
    const first = segments[0] ?? '';
    const kind = first === '' ? 'root' : first.startsWith('_') ? first.slice(1) : 'index';
    recordRequest(session, req, { api: kind.slice(0, 32) });
    const auth = recordAuth(session, req);
    if (p.security) {
      const realm = 'Basic realm="security" charset="UTF-8"';
      const reason = auth
        ? `unable to authenticate user [${auth.username ?? ''}] for REST request [${req.path}]`
        : `missing authentication credentials for REST request [${req.target}]`;
      const cause = { type: 'security_exception', reason, header: { 'WWW-Authenticate': p.major >= 8 ? [realm, 'Bearer realm="security"', 'ApiKey'] : realm } };
      const text = JSON.stringify({ error: { root_cause: [cause], ...cause }, status: 401 });
      return respond(401, text, p.major >= 8 ? 'application/json' : 'application/json; charset=UTF-8', [['WWW-Authenticate', realm]]);
    }
    const m = req.method;
    if (segments.length === 0) {
      if (m === 'GET' || m === 'HEAD') return json(200, root(), req, true);
      return json(405, { error: `Incorrect HTTP method for uri [${req.target}] and method [${m}], allowed: [HEAD, GET]`, status: 405 }, req);
    }
    if (first === '_cat') {
      if (m !== 'GET' && m !== 'HEAD') return noHandler(req);
      const what = segments[1] ?? '';
      if (what === '') return respond(200, '=^.^=\n' + ['allocation', 'shards', 'master', 'nodes', 'tasks', 'indices', 'segments', 'count', 'recovery', 'health', 'pending_tasks', 'aliases', 'thread_pool', 'plugins', 'fielddata', 'nodeattrs', 'repositories', 'snapshots', 'templates'].map((x) => `/_cat/${x}\n`).join(''), 'text/plain; charset=UTF-8');
      if (what === 'indices') {
        return catTable(req, ['health', 'status', 'index', 'uuid', 'pri', 'rep', 'docs.count', 'docs.deleted', 'store.size', 'pri.store.size'],
          p.indices.map((ix) => [ix.health, 'open', ix.name, ix.uuid, 1, ix.health === 'green' ? 0 : 1, ix.docs.length ? ix.docs.length * 1000 + 17 : Math.floor(ix.storeBytes / 900), 0, sizeHuman(ix.storeBytes), sizeHuman(ix.storeBytes)]));
      }
      if (what === 'health') {
        const now = Math.floor(Date.now() / 1000);
        return catTable(req, ['epoch', 'timestamp', 'cluster', 'status', 'node.total', 'node.data', 'shards', 'pri', 'relo', 'init', 'unassign', 'pending_tasks', 'max_task_wait_time', 'active_shards_percent'],
          [[now, new Date().toISOString().slice(11, 19), p.clusterName, 'yellow', 1, 1, p.indices.length, p.indices.length, 0, 0, 3, 0, '-', '57.1%']]);
      }
      if (what === 'nodes') {
        return catTable(req, ['ip', 'heap.percent', 'ram.percent', 'cpu', 'load_1m', 'load_5m', 'load_15m', 'node.role', 'master', 'name'], [[p.ip, 41, 93, 3, '0.08', '0.11', '0.09', 'cdhilmrstw', '*', p.nodeName]]);
      }
      if (what === 'master') return catTable(req, ['id', 'host', 'ip', 'node'], [[p.nodeId.slice(0, 22), p.ip, p.ip, p.nodeName]]);
      if (what === 'count') return catTable(req, ['epoch', 'timestamp', 'count'], [[Math.floor(Date.now() / 1000), new Date().toISOString().slice(11, 19), p.indices.reduce((a, i) => a + i.docs.length, 0)]]);
      return catTable(req, ['id'], []);
    }
    if (first === '_cluster') {
      const what = segments[1] ?? '';
      if (what === 'health') {
        return json(200, { cluster_name: p.clusterName, status: 'yellow', timed_out: false, number_of_nodes: 1, number_of_data_nodes: 1, active_primary_shards: p.indices.length, active_shards: p.indices.length, relocating_shards: 0, initializing_shards: 0, unassigned_shards: 3, delayed_unassigned_shards: 0, number_of_pending_tasks: 0, number_of_in_flight_fetch: 0, task_max_waiting_in_queue_millis: 0, active_shards_percent_as_number: 57.14285714285714 }, req);
      }
      if (what === 'settings') return json(200, { persistent: {}, transient: {} }, req);
      if (what === 'state' || what === 'stats') return json(200, { cluster_name: p.clusterName, cluster_uuid: p.clusterUuid, master_node: p.nodeId, nodes: { [p.nodeId]: { name: p.nodeName, transport_address: `${p.ip}:9300` } } }, req);
      return noHandler(req);
    }
    if (first === '_nodes') {
      return json(200, {
        _nodes: { total: 1, successful: 1, failed: 0 },
        cluster_name: p.clusterName,
        nodes: {
          [p.nodeId]: {
            name: p.nodeName,
            transport_address: `${p.ip}:9300`,
            host: p.ip,
            ip: p.ip,
            version: p.version,
            build_flavor: 'default',
            build_type: 'deb',
            build_hash: p.release.buildHash,
            roles: ['data', 'ingest', 'master', 'ml', 'remote_cluster_client', 'transform'],
            os: { refresh_interval_in_millis: 1000, name: 'Linux', pretty_name: p.facts.prettyName, arch: 'amd64', version: p.facts.kernelRelease, available_processors: 4, allocated_processors: 4 },
            process: { refresh_interval_in_millis: 1000, id: new Seeded(p.nodeId).int(900, 9000), mlockall: false },
            jvm: { version: '15.0.1', vm_name: 'OpenJDK 64-Bit Server VM', vm_vendor: 'AdoptOpenJDK', mem: { heap_init_in_bytes: 1073741824, heap_max_in_bytes: 1073741824 } },
            http: { bound_address: ['0.0.0.0:9200'], publish_address: `${p.ip}:9200`, max_content_length_in_bytes: 104857600 },
          },
        },
      }, req);
    }
    if (first === '_security' || first === '_xpack') {
      if (first === '_xpack' && segments.length === 1) {
        return json(200, { build: { hash: p.release.buildHash, date: p.release.buildDate }, license: { uid: p.clusterUuid, type: 'basic', mode: 'basic', status: 'active' }, features: { security: { available: true, enabled: false }, monitoring: { available: true, enabled: true }, ml: { available: false, enabled: true } }, tagline: 'You know, for X' }, req);
      }
      return error(500, 'security_exception', 'Security must be explicitly enabled when using a [basic] license. Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.', req);
    }
    if (first === '_search' || first === '_msearch' || first === '_count') {
      const all = p.indices.filter((i) => !i.name.startsWith('.'));
      if (first === '_count') return json(200, { count: all.reduce((a, i) => a + i.docs.length, 0), _shards: { total: all.length, successful: all.length, skipped: 0, failed: 0 } }, req);
      return json(200, hitsFor(all), req);
    }
    if (first === '_aliases' || first === '_alias') return json(200, Object.fromEntries(p.indices.map((i) => [i.name, { aliases: {} }])), req);
    if (first === '_mapping' || first === '_mappings') return json(200, Object.fromEntries(p.indices.map((i) => [i.name, { mappings: {} }])), req);
    if (first === '_stats') return json(200, { _shards: { total: p.indices.length * 2, successful: p.indices.length, failed: 0 }, _all: { primaries: {}, total: {} }, indices: {} }, req);
    if (first === '_snapshot') return json(200, {}, req);
    if (first === '_all' || first === '*' || !first.startsWith('_')) {
      // Index-level APIs: /<index>, /<index>/_search, /<index>/_doc[/<id>], /<index>/_mapping …
      const action = segments[1] ?? '';
      const target = resolveIndices(first);
      if (m === 'DELETE' && segments.length === 1) {
        return typeof target === 'string' ? indexNotFound(target, req) : json(200, { acknowledged: true }, req);
      }
      if (m === 'PUT' && segments.length === 1) {
        const name = decodeSegment(first);
        if (typeof target !== 'string') return error(400, 'resource_already_exists_exception', `index [${name}/${target[0]?.uuid ?? '_na_'}] already exists`, req, { index_uuid: target[0]?.uuid, index: name });
        return json(200, { acknowledged: true, shards_acknowledged: true, index: name }, req);
      }
      if ((m === 'POST' || m === 'PUT') && (action === '_doc' || action === '_create' || action === '_update')) {
        const id = segments[2] ? decodeSegment(segments[2]) : new Seeded(String(Date.now()), String(Math.random())).base64id(15);
        return json(201, { _index: decodeSegment(first), _type: p.major >= 8 ? undefined : '_doc', _id: id, _version: 1, result: 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1 }, req);
      }
      if (m === 'POST' && action === '_bulk') return json(200, { took: 4, errors: false, items: [] }, req);
      if (typeof target === 'string') return indexNotFound(target, req);
      if (action === '_search' || action === '') {
        if (action === '' && (m === 'GET' || m === 'HEAD')) {
          return json(200, Object.fromEntries(target.map((ix) => [ix.name, { aliases: {}, mappings: { properties: {} }, settings: { index: { number_of_shards: '1', number_of_replicas: '1', uuid: ix.uuid, provided_name: ix.name, version: { created: '7100299' } } } }])), req);
        }
        return json(200, hitsFor(target), req);
      }
      if (action === '_count') return json(200, { count: target.reduce((a, i) => a + i.docs.length, 0), _shards: { total: target.length, successful: target.length, skipped: 0, failed: 0 } }, req);
      if (action === '_mapping' || action === '_settings') return json(200, Object.fromEntries(target.map((ix) => [ix.name, { mappings: { properties: {} } }])), req);
      if (action === '_delete_by_query') return json(200, { took: 12, timed_out: false, total: target.reduce((a, i) => a + i.docs.length, 0), deleted: target.reduce((a, i) => a + i.docs.length, 0), batches: 1, failures: [] }, req);
      return noHandler(req);
    }
    return noHandler(req);
  };
}

const elasticsearch: DecoyService = {
  name: 'elasticsearch',
  summary: 'Elasticsearch REST API with bait indices',
  listens: [{ port: 9200, transport: 'tcp' }],
  personaKeys: {
    version: { summary: 'Elasticsearch version in the banner', default: '7.10.2' },
    cluster_name: { summary: 'cluster name in the banner', default: 'elasticsearch' },
    security: { summary: 'disabled: the open cluster bots look for; enabled: every request needs (and fails) authentication', default: 'disabled', choices: ['disabled', 'enabled'] },
  },
  create(ctx: ServiceContext) {
    const facts = personaFacts(ctx.decky.persona);
    const seed = new Seeded(ctx.decky.name, 'elasticsearch');
    const version = ctx.config.version;
    const [major = 7, minor = 0] = version.split('.').map((x) => Number(x) || 0);
    const release = RELEASES[version] ?? {
      buildHash: new Seeded('es-release', version).hex(40),
      buildDate: '2024-01-11T10:05:27.953830042Z',
      lucene: major >= 8 ? '9.9.1' : '8.11.1',
      minWire: major >= 8 ? '7.17.0' : '6.8.0',
      minIndex: major >= 8 ? '7.0.0' : '6.0.0-beta1',
    };
    const profile: Profile = {
      version,
      major,
      release,
      clusterName: ctx.config.cluster_name,
      clusterUuid: seed.base64id(16),
      nodeName: facts.shortHostname,
      nodeId: seed.base64id(16),
      security: ctx.config.security === 'enabled',
      // Elasticsearch sends X-elastic-product from 7.14 on.
      productHeader: major > 7 || (major === 7 && minor >= 14),
      facts,
      indices: baitIndices(ctx.decky.name),
      ip: ctx.decky.ip,
    };
    return {
      onConnection(socket, session) {
        const handle = handler(profile, session);
        serveHttp1(socket, {
          onRequest: handle,
          onError: (kind, raw) => {
            session.record('protocol_error', { error: kind, raw: raw.subarray(0, 256).toString('latin1') });
            // Netty answers unparseable requests with a bare 400 and closes.
            return { status: kind === 'head_too_large' ? 413 : 400, headers: [['content-length', '0']], close: true };
          },
        });
      },
    };
  },
};

export default elasticsearch;
