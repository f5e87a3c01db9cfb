// Modbus/TCP decoy (PLC): MBAP framing, function codes 1-6, 8 (echo), 15, 16, 17 (report server id)
// and 43/14 (read device identification), against a bounded per-decky data model whose values
// look like a running process (setpoints, drifting sensor readings, pump states). Writes change the
// model for every later connection to the decky, as they would on a real controller. Every read and
// write is recorded with unit id, address, count and (for writes) the values.
import type { Socket } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import { hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import type { DecoyService, Session } from '../service.ts';

const COILS = 256;
const DISCRETE_INPUTS = 256;
const HOLDING = 512;
const INPUT_REGS = 512;
const MAX_VALUES_LOGGED = 64;

const FUNCTION_NAMES: Record<number, string> = {
  1: 'read_coils',
  2: 'read_discrete_inputs',
  3: 'read_holding_registers',
  4: 'read_input_registers',
  5: 'write_single_coil',
  6: 'write_single_register',
  8: 'diagnostics',
  15: 'write_multiple_coils',
  16: 'write_multiple_registers',
  17: 'report_server_id',
  43: 'read_device_identification',
};

const EXC_ILLEGAL_FUNCTION = 1;
const EXC_ILLEGAL_ADDRESS = 2;
const EXC_ILLEGAL_VALUE = 3;

interface DataModel {
  coils: Uint8Array;
  discrete: Uint8Array;
  holding: Uint16Array;
  input: Uint16Array;
  /** Input registers that drift with time: base value and amplitude. */
  drifting: { base: number; amp: number; period: number }[];
}

function buildModel(seed: Seeded): DataModel {
  const coils = new Uint8Array(COILS);
  const discrete = new Uint8Array(DISCRETE_INPUTS);
  const holding = new Uint16Array(HOLDING);
  const input = new Uint16Array(INPUT_REGS);
  // Pump/valve states on the first coils, alarms and limit switches on the first inputs; the rest
  // of the memory is zero, as it mostly is on a real controller.
  for (let i = 0; i < 24; i++) coils[i] = seed.int(0, 3) === 0 ? 0 : 1;
  for (let i = 0; i < 16; i++) discrete[i] = seed.int(0, 5) === 0 ? 1 : 0;
  // Setpoints and configuration words: speeds (rpm), levels (0.1 %), temperatures (0.1 °C), timers (s).
  const templates = [1450, 1480, 750, 800, 215, 220, 60, 120, 3000, 1, 0, 5, 100, 35, 950, 400];
  templates.forEach((v, i) => (holding[i] = Math.max(0, v + seed.int(-5, 5))));
  for (let i = 16; i < 48; i++) holding[i] = seed.int(0, 3) === 0 ? seed.int(0, 1000) : 0;
  const drifting: DataModel['drifting'] = [];
  for (let i = 0; i < 16; i++) drifting.push({ base: seed.int(150, 900), amp: seed.int(2, 25), period: seed.int(30, 600) });
  for (let i = 16; i < 32; i++) input[i] = seed.int(0, 65535) & 0x0fff;
  return { coils, discrete, holding, input, drifting };
}

function inputRegister(model: DataModel, addr: number, now: number): number {
  const d = model.drifting[addr];
  if (!d) return model.input[addr]!;
  const t = now / 1000;
  return Math.max(0, Math.round(d.base + d.amp * Math.sin((2 * Math.PI * t) / d.period) + ((t * 7 + addr) % 3) - 1));
}

function packBits(bits: Uint8Array, start: number, count: number): Buffer {
  const out = Buffer.alloc(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (bits[start + i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

const service: DecoyService = {
  name: 'modbus',
  summary: 'Modbus/TCP PLC (register reads and writes)',
  listens: [{ port: 502, transport: 'tcp' }],
  personaKeys: {
    vendor: { summary: 'VendorName (device identification object 0)', default: 'Schneider Electric' },
    product_code: { summary: 'ProductCode (object 1)', default: 'BMX P34 2020' },
    revision: { summary: 'MajorMinorRevision (object 2)', default: 'v3.10' },
    vendor_url: { summary: 'VendorUrl (object 3)', default: 'http://www.schneider-electric.com' },
    product_name: { summary: 'ProductName (object 4)', default: 'Modicon M340' },
    model_name: { summary: 'ModelName (object 5)', default: 'BMX P34 2020' },
  },
  create(ctx) {
    const model = buildModel(new Seeded(ctx.decky.name, 'modbus'));
    const idObjects = [ctx.config.vendor!, ctx.config.product_code!, ctx.config.revision!, ctx.config.vendor_url!, ctx.config.product_name!, ctx.config.model_name!].map((s) =>
      Buffer.from(s, 'latin1').subarray(0, 64),
    );

    /** Returns the response PDU (or an exception PDU) for one request PDU and records it. */
    function execute(pdu: Buffer, unit: number, session: Session): Buffer {
      const fc = pdu[0]!;
      const name = FUNCTION_NAMES[fc] ?? `function_${fc}`;
      const base = { function: name, fc, unit_id: unit };
      const exception = (code: number, extra: Record<string, string | number> = {}): Buffer => {
        session.record('request', { ...base, ...extra, exception: code });
        return Buffer.from([fc | 0x80, code]);
      };
      const u16 = (at: number): number => pdu.readUInt16BE(at);

      switch (fc) {
        case 1:
        case 2:
        case 3:
        case 4: {
          if (pdu.length !== 5) return exception(EXC_ILLEGAL_VALUE);
          const address = u16(1);
          const count = u16(3);
          const bits = fc <= 2;
          const max = bits ? 2000 : 125;
          if (count < 1 || count > max) return exception(EXC_ILLEGAL_VALUE, { address, count });
          const size = fc === 1 ? COILS : fc === 2 ? DISCRETE_INPUTS : fc === 3 ? HOLDING : INPUT_REGS;
          if (address + count > size) return exception(EXC_ILLEGAL_ADDRESS, { address, count });
          session.record('request', { ...base, address, count });
          if (bits) {
            const data = packBits(fc === 1 ? model.coils : model.discrete, address, count);
            return Buffer.concat([Buffer.from([fc, data.length]), data]);
          }
          const data = Buffer.alloc(count * 2);
          const now = Date.now();
          for (let i = 0; i < count; i++) data.writeUInt16BE(fc === 3 ? model.holding[address + i]! : inputRegister(model, address + i, now), i * 2);
          return Buffer.concat([Buffer.from([fc, data.length]), data]);
        }
        case 5: {
          if (pdu.length !== 5) return exception(EXC_ILLEGAL_VALUE);
          const address = u16(1);
          const value = u16(3);
          if (value !== 0x0000 && value !== 0xff00) return exception(EXC_ILLEGAL_VALUE, { address, values: value });
          if (address >= COILS) return exception(EXC_ILLEGAL_ADDRESS, { address });
          model.coils[address] = value ? 1 : 0;
          session.record('write', { ...base, address, count: 1, values: value ? '1' : '0' });
          return Buffer.from(pdu);
        }
        case 6: {
          if (pdu.length !== 5) return exception(EXC_ILLEGAL_VALUE);
          const address = u16(1);
          const value = u16(3);
          if (address >= HOLDING) return exception(EXC_ILLEGAL_ADDRESS, { address });
          model.holding[address] = value;
          session.record('write', { ...base, address, count: 1, values: String(value) });
          return Buffer.from(pdu);
        }
        case 15:
        case 16: {
          if (pdu.length < 6) return exception(EXC_ILLEGAL_VALUE);
          const address = u16(1);
          const count = u16(3);
          const byteCount = pdu[5]!;
          const coils = fc === 15;
          const okCount = coils ? count >= 1 && count <= 1968 && byteCount === Math.ceil(count / 8) : count >= 1 && count <= 123 && byteCount === count * 2;
          if (!okCount || pdu.length !== 6 + byteCount) return exception(EXC_ILLEGAL_VALUE, { address, count });
          if (address + count > (coils ? COILS : HOLDING)) return exception(EXC_ILLEGAL_ADDRESS, { address, count });
          const values: number[] = [];
          for (let i = 0; i < count; i++) {
            const v = coils ? (pdu[6 + (i >> 3)]! >> (i & 7)) & 1 : pdu.readUInt16BE(6 + i * 2);
            if (coils) model.coils[address + i] = v;
            else model.holding[address + i] = v;
            values.push(v);
          }
          const shown = values.slice(0, MAX_VALUES_LOGGED).join(',') + (values.length > MAX_VALUES_LOGGED ? ',…' : '');
          session.record('write', { ...base, address, count, values: shown });
          return Buffer.from([fc, pdu[1]!, pdu[2]!, pdu[3]!, pdu[4]!]);
        }
        case 8: {
          // Only sub-function 0 (return query data) is answered, as on most PLC Ethernet modules.
          if (pdu.length < 3) return exception(EXC_ILLEGAL_VALUE);
          const sub = u16(1);
          if (sub !== 0) return exception(EXC_ILLEGAL_FUNCTION, { subfunction: sub });
          session.record('request', { ...base, subfunction: sub });
          return Buffer.from(pdu);
        }
        case 17: {
          if (pdu.length !== 1) return exception(EXC_ILLEGAL_VALUE);
          session.record('request', base);
          const text = Buffer.from(`${ctx.config.product_name} ${ctx.config.product_code}`, 'latin1').subarray(0, 240);
          return Buffer.concat([Buffer.from([fc, text.length + 2, unit === 0 ? 1 : unit, 0xff]), text]);
        }
        case 43: {
          if (pdu.length !== 4 || pdu[1] !== 0x0e) return exception(pdu[1] === 0x0e ? EXC_ILLEGAL_VALUE : EXC_ILLEGAL_FUNCTION, { mei_type: pdu[1] ?? -1 });
          const code = pdu[2]!;
          let objectId = pdu[3]!;
          if (code < 1 || code > 4) return exception(EXC_ILLEGAL_VALUE, { read_code: code });
          let ids: number[];
          if (code === 4) {
            if (objectId >= idObjects.length) return exception(EXC_ILLEGAL_ADDRESS, { read_code: code, object_id: objectId });
            ids = [objectId];
          } else {
            const last = code === 1 ? 2 : idObjects.length - 1;
            if (objectId > last) objectId = 0; // the standard says: restart at 0 for an unknown start object
            ids = [];
            for (let i = objectId; i <= last; i++) ids.push(i);
          }
          session.record('request', { ...base, read_code: code, object_id: objectId });
          const parts: Buffer[] = [Buffer.from([fc, 0x0e, code, 0x82, 0x00, 0x00, ids.length])];
          for (const i of ids) parts.push(Buffer.from([i, idObjects[i]!.length]), idObjects[i]!);
          return Buffer.concat(parts);
        }
        default:
          return exception(EXC_ILLEGAL_FUNCTION);
      }
    }

    function handle(socket: Socket, session: Session): void {
      const q = new ByteQueue(260);
      // Controllers are lenient about framing: a header with a foreign protocol id or an impossible
      // length still gets an "illegal function" exception echoing the first bytes, and so does a
      // fragment that stops short of a header (this is how nmap's probes recognise Modbus devices).
      let stall: NodeJS.Timeout | undefined;
      const rejectGarbage = (reason: string): void => {
        const junk = q.drain();
        const head = Buffer.alloc(8);
        junk.copy(head, 0, 0, 8);
        session.record('payload', { reason, data_hex: hexPreview(junk, 64) });
        const out = Buffer.alloc(9);
        head.copy(out, 0, 0, 4);
        out.writeUInt16BE(3, 4);
        out[6] = head[6]!;
        out[7] = head[7]! | 0x80;
        out[8] = EXC_ILLEGAL_FUNCTION;
        socket.write(out);
      };
      const drain = (): boolean => {
        clearTimeout(stall);
        while (q.length >= 7) {
          const head = q.peek(7);
          const protocol = head.readUInt16BE(2);
          const length = head.readUInt16BE(4);
          if (protocol !== 0 || length < 2 || length > 254) {
            rejectGarbage('bad_mbap');
            return true;
          }
          if (q.length < 6 + length) break;
          const frame = q.take(6 + length);
          const unit = frame[6]!;
          const response = execute(frame.subarray(7), unit, session);
          const mbap = Buffer.alloc(7);
          frame.copy(mbap, 0, 0, 4);
          mbap.writeUInt16BE(response.length + 1, 4);
          mbap[6] = unit;
          socket.write(Buffer.concat([mbap, response]));
        }
        if (q.length > 0 && q.length < 7) {
          stall = setTimeout(() => {
            if (!socket.destroyed && q.length > 0 && q.length < 7) rejectGarbage('short_frame');
          }, 300);
          stall.unref();
        }
        return true;
      };
      socket.on('data', (chunk: Buffer) => {
        if (!socket.destroyed && !q.feed(chunk, drain)) socket.destroy();
      });
      socket.on('close', () => clearTimeout(stall));
    }

    return { onConnection: handle };
  },
};

export default service;
