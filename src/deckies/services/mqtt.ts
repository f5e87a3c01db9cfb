// MQTT broker decoy (3.1, 3.1.1 and 5): CONNECT credentials, SUBSCRIBE filters and PUBLISH topics
// and payloads are recorded; retained "process" topics of an IoT/ICS persona (plus $SYS, like
// Mosquitto) are delivered to subscribers so a scanner sees a live broker. Attacker messages are
// echoed only to the same connection's own subscriptions and never stored for other clients: an
// open broker must not become a relay or command channel between attacker machines.
import type { Socket } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import { Cursor, TruncatedError } from '../proto/cursor.ts';
import { clip, hexPreview, textPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import type { DecoyService, Session } from '../service.ts';

const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;
const SUBSCRIBE = 8;
const SUBACK = 9;
const UNSUBSCRIBE = 10;
const UNSUBACK = 11;
const PINGREQ = 12;
const PINGRESP = 13;
const DISCONNECT = 14;

const MAX_SUBSCRIPTIONS = 64;
const MAX_OWN_RETAINED = 32;

class ProtocolError extends Error {}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function packet(type: number, flags: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(type << 4) | flags]), varint(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u16(b.length), b]);
}

function readVarint(c: Cursor): number {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8('variable byte integer');
    n += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return n;
  }
  throw new ProtocolError('malformed variable byte integer');
}

function readString(c: Cursor, what: string): string {
  return c.bytes(c.u16(what), what).toString('utf8');
}

function skipProperties(c: Cursor): void {
  const len = readVarint(c);
  c.bytes(len, 'properties');
}

/** Topic filter validity per MQTT 4.7.1. */
function validFilter(f: string): boolean {
  if (f.length === 0 || f.length > 1024 || f.includes('\0')) return false;
  const levels = f.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}

/** Does a topic name match a filter? Wildcards at the first level do not match $-topics (4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

type PersonaName = 'water_plant' | 'building_hvac' | 'solar_farm' | 'factory_line' | 'smart_home';

/** Retained topics of each persona: [topic, base value, jitter (0 = fixed text)]. */
const PERSONA_TOPICS: Record<PersonaName, [string, string, number][]> = {
  water_plant: [
    ['plant/{site}/pump/1/status', 'RUNNING', 0],
    ['plant/{site}/pump/1/speed_rpm', '1450', 12],
    ['plant/{site}/pump/2/status', 'STANDBY', 0],
    ['plant/{site}/tank/1/level_pct', '72.4', 1.5],
    ['plant/{site}/chlorine/residual_ppm', '1.8', 0.1],
    ['plant/{site}/flow/inlet_lps', '36.2', 2],
    ['plant/{site}/valve/3/state', 'OPEN', 0],
    ['plant/{site}/alarms/active', '0', 0],
  ],
  building_hvac: [
    ['bms/{site}/ahu/1/supply_temp_c', '16.5', 0.4],
    ['bms/{site}/ahu/1/fan_speed_pct', '65', 3],
    ['bms/{site}/zone/3f-east/temp_c', '22.1', 0.5],
    ['bms/{site}/zone/3f-east/setpoint_c', '21.5', 0],
    ['bms/{site}/chiller/1/status', 'ON', 0],
    ['bms/{site}/boiler/1/status', 'OFF', 0],
    ['bms/{site}/alarms/active', '1', 0],
  ],
  solar_farm: [
    ['solar/{site}/inverter/1/ac_power_kw', '412.7', 25],
    ['solar/{site}/inverter/1/status', 'GRID_CONNECTED', 0],
    ['solar/{site}/inverter/2/ac_power_kw', '398.2', 25],
    ['solar/{site}/meteo/irradiance_wm2', '736', 40],
    ['solar/{site}/meteo/panel_temp_c', '41.3', 1.5],
    ['solar/{site}/tracker/azimuth_deg', '182.4', 2],
    ['solar/{site}/grid/export_mwh_today', '3.82', 0.05],
  ],
  factory_line: [
    ['factory/{site}/line1/state', 'PRODUCING', 0],
    ['factory/{site}/line1/oee_pct', '78.2', 1],
    ['factory/{site}/line1/count_good', '18244', 40],
    ['factory/{site}/line1/count_reject', '213', 2],
    ['factory/{site}/press/2/pressure_bar', '182.5', 3],
    ['factory/{site}/robot/4/mode', 'AUTO', 0],
    ['factory/{site}/conveyor/1/speed_mps', '0.85', 0.02],
  ],
  smart_home: [
    ['homeassistant/status', 'online', 0],
    ['zigbee2mqtt/bridge/state', '{"state":"online"}', 0],
    ['home/livingroom/temperature', '21.4', 0.3],
    ['home/livingroom/humidity', '46', 2],
    ['home/frontdoor/lock', 'LOCKED', 0],
    ['home/garage/door', 'CLOSED', 0],
    ['tele/tasmota_{id}/STATE', '{"POWER":"ON","Wifi":{"RSSI":68}}', 0],
  ],
};

const SITES = ['north', 'riverside', 'site2', 'plant-a', 'eastfield', 'hq'];

interface Retained {
  topic: string;
  payload: () => Buffer;
}

const service: DecoyService = {
  name: 'mqtt',
  summary: 'MQTT broker (CONNECT credentials, topics)',
  listens: [{ port: 1883, transport: 'tcp' }],
  personaKeys: {
    allow_anonymous: { summary: 'accept CONNECT without a user name', default: 'true', choices: ['true', 'false'] },
    credentials: { summary: 'user:password pairs accepted (comma separated); empty with anonymous allowed = any credentials work', default: '' },
    topics: { summary: 'retained topic set', default: 'auto', choices: ['auto', 'water_plant', 'building_hvac', 'solar_farm', 'factory_line', 'smart_home'] },
    broker_version: { summary: 'value of $SYS/broker/version', default: 'mosquitto version 2.0.18' },
    max_packet: { summary: 'largest packet accepted, in bytes', default: '262144' },
  },
  create(ctx) {
    const seed = new Seeded(ctx.decky.name, 'mqtt');
    const archetype = ctx.decky.persona.archetype;
    const persona: PersonaName =
      ctx.config.topics !== 'auto'
        ? (ctx.config.topics as PersonaName)
        : archetype === 'industrial-control'
          ? seed.pick(['water_plant', 'factory_line', 'solar_farm'] as const)
          : archetype === 'iot-device'
            ? 'smart_home'
            : seed.pick(Object.keys(PERSONA_TOPICS) as PersonaName[]);
    const site = seed.pick(SITES);
    const devId = seed.hex(6).toUpperCase();
    const allowAnonymous = ctx.config.allow_anonymous === 'true';
    const accepted = new Map<string, string>();
    for (const pair of ctx.config.credentials!.split(',')) {
      const i = pair.indexOf(':');
      if (i > 0) accepted.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
    const maxPacket = Math.min(Math.max(Number(ctx.config.max_packet) || 262144, 1024), 16 * 1024 * 1024);
    const started = Date.now() - seed.int(3, 90) * 86_400_000;
    let connected = seed.int(2, 9);

    const retained: Retained[] = PERSONA_TOPICS[persona].map(([t, base, jitter]) => ({
      topic: t.replace('{site}', site).replace('{id}', devId),
      payload: () => {
        if (!jitter) return Buffer.from(base);
        const decimals = (base.split('.')[1] ?? '').length;
        const v = Number(base) + jitter * Math.sin(Date.now() / 60_000 + base.length);
        return Buffer.from(v.toFixed(decimals));
      },
    }));
    retained.push(
      { topic: '$SYS/broker/version', payload: () => Buffer.from(ctx.config.broker_version!) },
      { topic: '$SYS/broker/uptime', payload: () => Buffer.from(`${Math.floor((Date.now() - started) / 1000)} seconds`) },
      { topic: '$SYS/broker/clients/connected', payload: () => Buffer.from(String(connected)) },
      { topic: '$SYS/broker/subscriptions/count', payload: () => Buffer.from(String(connected * 3 + 2)) },
    );

    function handle(socket: Socket, session: Session): void {
      const q = new ByteQueue(maxPacket + 5);
      let level = 0;
      let connectedSession = false;
      let closed = false;
      const subscriptions = new Map<string, number>();
      const own = new Map<string, Buffer>();

      const close = (): void => {
        if (!closed) {
          closed = true;
          if (connectedSession) connected = Math.max(0, connected - 1);
        }
        socket.end();
      };

      const deliver = (topic: string, payload: Buffer, retain: boolean): void => {
        const props = level === 5 ? Buffer.from([0]) : Buffer.alloc(0);
        socket.write(packet(PUBLISH, retain ? 1 : 0, Buffer.concat([str(topic), props, payload])));
      };

      const onConnect = (c: Cursor): void => {
        const protocol = readString(c, 'protocol name');
        level = c.u8('protocol level');
        const flags = c.u8('connect flags');
        const keepalive = c.u16('keepalive');
        const supported = (protocol === 'MQTT' && (level === 4 || level === 5)) || (protocol === 'MQIsdp' && level === 3);
        if (!supported) {
          session.record('auth_attempt', { protocol: clip(protocol, 32), protocol_level: level, success: false, reason: 'unsupported_protocol' });
          socket.write(packet(CONNACK, 0, level === 5 ? Buffer.from([0, 0x84, 0]) : Buffer.from([0, 1])));
          close();
          return;
        }
        if (flags & 1) throw new ProtocolError('reserved connect flag set');
        if (level === 5) skipProperties(c);
        const clientId = readString(c, 'client id');
        let willTopic: string | undefined;
        if (flags & 0x04) {
          if (level === 5) skipProperties(c);
          willTopic = readString(c, 'will topic');
          c.bytes(c.u16('will payload'), 'will payload');
        }
        const username = flags & 0x80 ? readString(c, 'user name') : undefined;
        const password = flags & 0x40 ? c.bytes(c.u16('password'), 'password') : undefined;
        if (clientId === '' && level < 5 && (flags & 0x02) === 0) {
          // 3.1.1 §3.1.3.1: an empty client id needs a clean session; Mosquitto answers "identifier rejected".
          session.record('auth_attempt', { client_id: '', protocol, protocol_level: level, success: false, reason: 'identifier_rejected' });
          socket.write(packet(CONNACK, 0, Buffer.from([0, 2])));
          close();
          return;
        }
        let ok: boolean;
        if (username === undefined) ok = allowAnonymous;
        else if (accepted.size > 0) ok = accepted.get(username) === password?.toString('utf8');
        else ok = allowAnonymous;
        session.record(
          'auth_attempt',
          {
            auth_method: username === undefined && password === undefined ? 'anonymous' : 'password',
            username: username === undefined ? undefined : clip(username),
            client_id: clip(clientId),
            protocol,
            protocol_level: level,
            keepalive,
            clean_session: (flags & 0x02) !== 0,
            will_topic: willTopic === undefined ? undefined : clip(willTopic),
            success: ok,
          },
          password && password.length > 0 ? { secret: password } : undefined,
        );
        if (!ok) {
          const code = level === 5 ? (username === undefined ? 0x87 : 0x86) : username === undefined ? 5 : 4;
          socket.write(packet(CONNACK, 0, level === 5 ? Buffer.from([0, code, 0]) : Buffer.from([0, code])));
          close();
          return;
        }
        connectedSession = true;
        connected++;
        socket.write(packet(CONNACK, 0, level === 5 ? Buffer.from([0, 0, 0]) : Buffer.from([0, 0])));
      };

      const onSubscribe = (c: Cursor): void => {
        const id = c.u16('packet id');
        if (level === 5) skipProperties(c);
        const filters: string[] = [];
        const codes: number[] = [];
        while (c.remaining > 0) {
          const f = readString(c, 'topic filter');
          const qos = c.u8('subscription options') & 0x03;
          filters.push(f);
          if (!validFilter(f) || qos > 2 || (subscriptions.size >= MAX_SUBSCRIPTIONS && !subscriptions.has(f))) {
            codes.push(level === 5 ? 0x8f : 0x80);
          } else {
            subscriptions.set(f, qos);
            codes.push(qos);
          }
        }
        if (filters.length === 0) throw new ProtocolError('SUBSCRIBE without topics');
        session.record('subscribe', { topics: clip(filters.slice(0, 16).join(','), 1024), count: filters.length });
        socket.write(packet(SUBACK, 0, Buffer.concat([u16(id), level === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from(codes)])));
        for (const f of filters) {
          if (!subscriptions.has(f)) continue;
          for (const r of retained) if (topicMatches(f, r.topic)) deliver(r.topic, r.payload(), true);
          for (const [t, p] of own) if (topicMatches(f, t)) deliver(t, p, true);
        }
      };

      const onPublish = (c: Cursor, flags: number): void => {
        const qos = (flags >> 1) & 3;
        const retain = (flags & 1) !== 0;
        if (qos === 3) throw new ProtocolError('PUBLISH with QoS 3');
        const topic = readString(c, 'topic');
        if (topic.includes('+') || topic.includes('#') || topic.length === 0) throw new ProtocolError('PUBLISH to a wildcard topic');
        const id = qos > 0 ? c.u16('packet id') : 0;
        if (level === 5) skipProperties(c);
        const payload = c.rest();
        session.record('publish', { topic: clip(topic, 1024), qos, retain, size: payload.length, payload: textPreview(payload, 512) });
        if (retain) {
          if (payload.length === 0) own.delete(topic);
          else if (own.size < MAX_OWN_RETAINED || own.has(topic)) own.set(topic, Buffer.from(payload.subarray(0, 4096)));
        }
        if (qos === 1) socket.write(packet(PUBACK, 0, u16(id)));
        if (qos === 2) socket.write(packet(PUBREC, 0, u16(id)));
        for (const f of subscriptions.keys()) {
          if (topicMatches(f, topic)) {
            deliver(topic, payload, false);
            break;
          }
        }
      };

      const dispatch = (type: number, flags: number, body: Buffer): void => {
        const c = new Cursor(body);
        if (!connectedSession) {
          if (type !== CONNECT) throw new ProtocolError(`packet type ${type} before CONNECT`);
          onConnect(c);
          return;
        }
        switch (type) {
          case PUBLISH:
            onPublish(c, flags);
            return;
          case SUBSCRIBE:
            onSubscribe(c);
            return;
          case UNSUBSCRIBE: {
            const id = c.u16('packet id');
            if (level === 5) skipProperties(c);
            const topics: string[] = [];
            while (c.remaining > 0) topics.push(readString(c, 'topic filter'));
            for (const t of topics) subscriptions.delete(t);
            session.record('unsubscribe', { topics: clip(topics.slice(0, 16).join(','), 1024), count: topics.length });
            socket.write(packet(UNSUBACK, 0, Buffer.concat([u16(id), level === 5 ? Buffer.concat([Buffer.from([0]), Buffer.alloc(topics.length)]) : Buffer.alloc(0)])));
            return;
          }
          case PUBREL:
            socket.write(packet(PUBCOMP, 0, u16(c.u16('packet id'))));
            return;
          case PUBACK:
          case PUBREC:
          case PUBCOMP:
            return;
          case PINGREQ:
            socket.write(packet(PINGRESP, 0, Buffer.alloc(0)));
            return;
          case DISCONNECT:
            close();
            return;
          default:
            throw new ProtocolError(`unexpected packet type ${type}`);
        }
      };

      const drain = (): boolean => {
        try {
          while (q.length >= 2 && !closed) {
            const head = q.peek(5);
            let len = 0;
            let i = 1;
            for (; i < 5; i++) {
              if (i >= head.length) return true; // need more bytes for the length
              const b = head[i]!;
              len += (b & 0x7f) * 128 ** (i - 1);
              if ((b & 0x80) === 0) break;
              if (i === 4) throw new ProtocolError('malformed remaining length');
            }
            if (len > maxPacket) throw new ProtocolError(`packet of ${len} bytes exceeds ${maxPacket}`);
            if (q.length < i + 1 + len) return true;
            const frame = q.take(i + 1 + len);
            dispatch(frame[0]! >> 4, frame[0]! & 0x0f, frame.subarray(i + 1));
          }
          return !closed;
        } catch (err) {
          if (!(err instanceof ProtocolError || err instanceof TruncatedError)) throw err;
          session.record('payload', { reason: 'protocol_error', error: err.message, data_hex: hexPreview(q.peek(32)) });
          if (connectedSession && !closed) connected = Math.max(0, connected - 1);
          closed = true;
          socket.destroy();
          return false;
        }
      };
      socket.on('data', (chunk: Buffer) => {
        if (closed) return;
        if (!q.feed(chunk, drain)) {
          session.record('payload', { reason: 'packet_too_large', data_hex: hexPreview(q.peek(32)) });
          if (connectedSession && !closed) connected = Math.max(0, connected - 1);
          closed = true;
          socket.destroy();
        }
      });
      socket.on('close', () => {
        if (!closed && connectedSession) connected = Math.max(0, connected - 1);
        closed = true;
      });
    }

    return { onConnection: handle };
  },
};

export default service;
