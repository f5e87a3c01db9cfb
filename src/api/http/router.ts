// Path matching over the route table: a segment trie where a literal segment wins over a {param}
// (so /attackers/export is never taken for an attacker uuid). Built once at start.
import type { Method, RouteDef } from './route.ts';

interface Node {
  literal: Map<string, Node>;
  param?: { name: string; node: Node };
  routes: Map<Method, RouteDef>;
}

const newNode = (): Node => ({ literal: new Map(), routes: new Map() });
const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export type Match = { route: RouteDef; params: Record<string, string> } | { allowed: Method[] } | undefined;

export class Router {
  private readonly root = newNode();
  readonly routes: readonly RouteDef[];

  constructor(routes: readonly RouteDef[]) {
    this.routes = routes;
    for (const r of routes) this.add(r);
  }

  private add(r: RouteDef): void {
    let node = this.root;
    for (const segment of r.path.split('/').slice(1)) {
      const param = PARAM.exec(segment);
      if (param) {
        if (node.param && node.param.name !== param[1]) throw new Error(`${r.path}: parameter {${param[1]}} clashes with {${node.param.name}} at the same place`);
        node.param ??= { name: param[1], node: newNode() };
        node = node.param.node;
      } else {
        if (segment.includes('{') || segment.includes('}')) throw new Error(`${r.path}: malformed segment ${segment}`);
        let next = node.literal.get(segment);
        if (!next) node.literal.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (node.routes.has(r.method)) throw new Error(`route ${r.method} ${r.path} is defined twice`);
    node.routes.set(r.method, r);
  }

  /** `path` is the raw (still percent-encoded) path without the query. */
  match(method: string, path: string): Match {
    const segments = path.split('/').slice(1);
    const params: Record<string, string> = {};
    const node = this.walk(this.root, segments, 0, params);
    if (!node) return undefined;
    const route = node.routes.get((method === 'HEAD' ? 'GET' : method) as Method);
    if (route) return { route, params };
    return { allowed: [...node.routes.keys()] };
  }

  private walk(node: Node, segments: string[], i: number, params: Record<string, string>): Node | undefined {
    if (i === segments.length) return node.routes.size > 0 ? node : undefined;
    const segment = segments[i];
    const literal = node.literal.get(segment);
    if (literal) {
      const found = this.walk(literal, segments, i + 1, params);
      if (found) return found;
    }
    if (node.param && segment !== '') {
      let value: string;
      try {
        value = decodeURIComponent(segment);
      } catch {
        return undefined; // malformed percent-encoding: no route has it
      }
      const found = this.walk(node.param.node, segments, i + 1, params);
      if (found) {
        params[node.param.name] = value;
        return found;
      }
    }
    return undefined;
  }
}
