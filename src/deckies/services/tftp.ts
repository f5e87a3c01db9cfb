// TFTP decoy (RFC 1350 with the option extension of RFC 2347-2349): read requests for a few bait
// files are served block by block from an ephemeral port on the decky's address, as tftpd does;
// write requests are accepted into the quarantine up to a size cap. Every request is recorded with
// file name, mode and options. Replies follow tftpd-hpa in --secure (chroot) mode: a path climbing
// out of the root is simply not found, and opcodes other than RRQ/WRQ get no answer at all.
// Transfers are bounded: how many run at once, how many bytes an upload may hold, how long one lives.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Cursor, TruncatedError } from '../proto/cursor.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import type { DecoyService, Peer, ServiceContext } from '../service.ts';

const RRQ = 1;
const WRQ = 2;
const DATA = 3;
const ACK = 4;
const ERROR = 5;
const OACK = 6;

const ERR_NOT_DEFINED = 0;
const ERR_NOT_FOUND = 1;
const ERR_DISK_FULL = 3;
const ERR_ILLEGAL = 4;
const ERR_UNKNOWN_TID = 5;

const MAX_TRANSFERS = 16;
const RETRY_MS = 1000;
const MAX_RETRIES = 5;
const TRANSFER_LIFETIME_MS = 120_000;

function errorPacket(code: number, message: string): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(ERROR, 0);
  head.writeUInt16BE(code, 2);
  return Buffer.concat([head, Buffer.from(message, 'latin1'), Buffer.from([0])]);
}

function ackPacket(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(ACK, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

function dataPacket(block: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(DATA, 0);
  head.writeUInt16BE(block & 0xffff, 2);
  return Buffer.concat([head, data]);
}

function oackPacket(options: Map<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from([0, OACK])];
  for (const [k, v] of options) parts.push(Buffer.from(`${k}\0${v}\0`, 'latin1'));
  return Buffer.concat(parts);
}

/** Bait files a network device or PXE server would offer, tailored to the decky. */
function baitFiles(ctx: ServiceContext): Map<string, Buffer> {
  const seed = new Seeded(ctx.decky.name, 'tftp');
  const host = ctx.decky.persona.hostname.split('.')[0]!;
  const md5 = `$1$${seed.base64id(3).slice(0, 4)}$${seed.base64id(16).slice(0, 22)}`;
  const community = seed.pick(['c0mmun1ty', 'netops', 'snmp-ro', 'monitor']);
  const gw = ctx.decky.ip.replace(/\.\d+$/, '.1');
  const ios = [
    '!',
    '! Last configuration change at 09:14:37 UTC Tue Mar 12 2024 by netadmin',
    '!',
    'version 15.2',
    'service timestamps debug datetime msec',
    'service timestamps log datetime msec',
    'service password-encryption',
    '!',
    `hostname ${host}-gw`,
    '!',
    'boot-start-marker',
    'boot-end-marker',
    '!',
    `enable secret 5 ${md5}`,
    '!',
    'username netadmin privilege 15 password 7 0822455D0A16544541',
    '!',
    'interface GigabitEthernet0/0',
    ` ip address ${gw} 255.255.255.0`,
    ' duplex auto',
    ' speed auto',
    '!',
    `snmp-server community ${community} RO`,
    'snmp-server location Server Room B',
    '!',
    'line vty 0 4',
    ' login local',
    ' transport input ssh telnet',
    '!',
    'end',
    '',
  ].join('\n');
  const pxe = [
    'DEFAULT menu.c32',
    'PROMPT 0',
    'TIMEOUT 300',
    'MENU TITLE PXE Boot Menu',
    '',
    'LABEL debian-install',
    '  MENU LABEL Install Debian 12 (preseed)',
    '  KERNEL debian-installer/amd64/linux',
    `  APPEND initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=http://${ctx.decky.ip}/preseed.cfg`,
    '',
    'LABEL local',
    '  MENU LABEL Boot from local disk',
    '  LOCALBOOT 0',
    '',
  ].join('\n');
  return new Map([
    ['startup-config', Buffer.from(ios)],
    ['running-config', Buffer.from(ios)],
    ['pxelinux.cfg/default', Buffer.from(pxe)],
  ]);
}

class Transfer {
  readonly sock: UdpSocket;
  readonly peerAddress: string;
  readonly peerPort: number;
  private timer: NodeJS.Timeout | undefined;
  private lifetime: NodeJS.Timeout;
  private retries = 0;
  private last: Buffer | undefined;
  closed = false;
  onClose: () => void = () => undefined;

  constructor(sock: UdpSocket, peerAddress: string, peerPort: number) {
    this.sock = sock;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
    this.lifetime = setTimeout(() => this.close(), TRANSFER_LIFETIME_MS);
    this.lifetime.unref();
  }

  /** Sends a packet that expects an answer, retransmitting until it comes or retries run out. */
  sendReliable(pkt: Buffer): void {
    this.last = pkt;
    this.retries = 0;
    this.send(pkt);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.closed || !this.last) return;
      if (++this.retries > MAX_RETRIES) {
        this.close();
        return;
      }
      this.send(this.last);
      this.arm();
    }, RETRY_MS);
    this.timer.unref();
  }

  send(pkt: Buffer): void {
    if (!this.closed) this.sock.send(pkt, this.peerPort, this.peerAddress, () => undefined);
  }

  /** Sends a final packet and ends the transfer. */
  finish(pkt?: Buffer): void {
    if (pkt && !this.closed) this.sock.send(pkt, this.peerPort, this.peerAddress, () => this.close());
    else this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.lifetime);
    try {
      this.sock.close();
    } catch {
      // already closed
    }
    this.onClose();
  }
}

const service: DecoyService = {
  name: 'tftp',
  summary: 'TFTP server',
  listens: [{ port: 69, transport: 'udp' }],
  personaKeys: {
    allow_write: { summary: 'accept write requests (uploads go to the quarantine)', default: 'true', choices: ['true', 'false'] },
    max_upload: { summary: 'largest upload kept, in bytes', default: '1048576' },
  },
  create(ctx) {
    const files = baitFiles(ctx);
    const allowWrite = ctx.config.allow_write === 'true';
    const maxUpload = Math.min(Math.max(Number(ctx.config.max_upload) || 1048576, 512), 64 * 1024 * 1024);
    const transfers = new Set<Transfer>();

    const openTransfer = async (peer: Peer): Promise<Transfer> => {
      const sock = createSocket(isIPv6(ctx.decky.ip) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: ctx.decky.ip, port: 0 }, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      const t = new Transfer(sock, peer.srcIp, peer.srcPort);
      sock.on('error', () => t.close());
      transfers.add(t);
      t.onClose = () => transfers.delete(t);
      return t;
    };

    /** Parses options we support; returns the accepted set for an OACK. */
    const negotiate = (opts: Map<string, string>, size: number | undefined): { blksize: number; oack: Map<string, string> } => {
      const oack = new Map<string, string>();
      let blksize = 512;
      const b = Number(opts.get('blksize'));
      if (opts.has('blksize') && Number.isInteger(b) && b >= 8) {
        blksize = Math.min(b, 1428);
        oack.set('blksize', String(blksize));
      }
      // tsize: for a read we state the size; for a write the client states it and we echo it.
      const announced = Number(opts.get('tsize'));
      if (opts.has('tsize') && size !== undefined) oack.set('tsize', String(size));
      else if (opts.has('tsize') && Number.isSafeInteger(announced) && announced >= 0) oack.set('tsize', String(announced));
      const to = Number(opts.get('timeout'));
      if (opts.has('timeout') && Number.isInteger(to) && to >= 1 && to <= 255) oack.set('timeout', String(to));
      return { blksize, oack };
    };

    const serveRead = async (peer: Peer, filename: string, data: Buffer, opts: Map<string, string>): Promise<void> => {
      const t = await openTransfer(peer);
      const { blksize, oack } = negotiate(opts, data.length);
      let block = 0; // last block sent
      let sent = 0;
      const sendBlock = (n: number): void => {
        const chunk = data.subarray((n - 1) * blksize, n * blksize);
        t.sendReliable(dataPacket(n, chunk));
      };
      const lastBlock = Math.floor(data.length / blksize) + 1;
      t.sock.on('message', (msg, rinfo) => {
        if (rinfo.address !== t.peerAddress || rinfo.port !== t.peerPort) {
          t.sock.send(errorPacket(ERR_UNKNOWN_TID, 'Unknown transfer ID'), rinfo.port, rinfo.address, () => undefined);
          return;
        }
        if (msg.length < 4) return;
        const op = msg.readUInt16BE(0);
        if (op === ERROR) {
          t.close();
          return;
        }
        if (op !== ACK) return;
        const acked = msg.readUInt16BE(2);
        if (acked !== (block & 0xffff)) return; // duplicate or stale ACK: the timer retransmits
        if (block >= 1) sent = Math.min(data.length, block * blksize);
        if (block === lastBlock) {
          ctx.record('file_download', peer, { filename: clip(filename), size: data.length, bytes_sent: sent, complete: true });
          t.close();
          return;
        }
        block++;
        sendBlock(block);
      });
      const origClose = t.onClose;
      t.onClose = () => {
        origClose();
        if (block < lastBlock || sent < data.length) ctx.record('file_download', peer, { filename: clip(filename), size: data.length, bytes_sent: sent, complete: false });
      };
      if (oack.size > 0) {
        t.sendReliable(oackPacket(oack));
      } else {
        block = 1;
        sendBlock(1);
      }
    };

    const receiveWrite = async (peer: Peer, filename: string, opts: Map<string, string>): Promise<void> => {
      const t = await openTransfer(peer);
      const { blksize, oack } = negotiate(opts, undefined);
      const chunks: Buffer[] = [];
      let size = 0;
      let expected = 1;
      let truncated = false;
      let stored = false;
      const store = async (complete: boolean): Promise<void> => {
        if (stored) return;
        stored = true;
        const data = Buffer.concat(chunks, size);
        const base = filename.split('/').pop() || 'upload.bin';
        try {
          const q = await ctx.quarantine('tftp', base, data, maxUpload);
          ctx.record('file_upload', peer, {
            filename: clip(filename),
            size: q.size,
            sha256: q.sha256,
            file_truncated: truncated || q.truncated,
            complete,
            stored: q.stored !== false,
            stored_as: q.path || undefined,
          });
        } catch (err) {
          ctx.log.warn('tftp upload could not be stored', { err });
          ctx.record('file_upload', peer, { filename: clip(filename), size, file_truncated: truncated, complete, stored: false });
        }
      };
      t.sock.on('message', (msg, rinfo) => {
        if (rinfo.address !== t.peerAddress || rinfo.port !== t.peerPort) {
          t.sock.send(errorPacket(ERR_UNKNOWN_TID, 'Unknown transfer ID'), rinfo.port, rinfo.address, () => undefined);
          return;
        }
        if (msg.length < 4) return;
        const op = msg.readUInt16BE(0);
        if (op === ERROR) {
          t.close();
          return;
        }
        if (op !== DATA) return;
        const n = msg.readUInt16BE(2);
        const payload = msg.subarray(4);
        if (n === ((expected - 1) & 0xffff)) {
          t.send(ackPacket(n)); // our ACK was lost: acknowledge again
          return;
        }
        if (n !== (expected & 0xffff) || payload.length > blksize) return;
        if (size + payload.length > maxUpload) {
          truncated = true;
          const room = maxUpload - size;
          if (room > 0) {
            chunks.push(Buffer.from(payload.subarray(0, room)));
            size += room;
          }
          void store(false);
          t.finish(errorPacket(ERR_DISK_FULL, 'Disk full or allocation exceeded'));
          return;
        }
        chunks.push(Buffer.from(payload));
        size += payload.length;
        expected++;
        if (payload.length < blksize) {
          void store(true);
          t.finish(ackPacket(n));
        } else {
          t.sendReliable(ackPacket(n));
        }
      });
      const origClose = t.onClose;
      t.onClose = () => {
        origClose();
        if (!stored && size > 0) void store(false);
      };
      t.sendReliable(oack.size > 0 ? oackPacket(oack) : ackPacket(0));
    };

    const onRequest = (op: number, c: Cursor, peer: Peer, reply: (b: Buffer) => void): void => {
      const filename = c.cstring('file name', 512).toString('latin1');
      if (c.remaining === 0) {
        ctx.record('request', peer, { op: op === RRQ ? 'read' : 'write', filename: clip(filename) });
        reply(errorPacket(ERR_ILLEGAL, 'Missing mode'));
        return;
      }
      const mode = c.cstring('mode', 32).toString('latin1').toLowerCase();
      const opts = new Map<string, string>();
      while (c.remaining > 0 && opts.size < 8) {
        const k = c.cstring('option name', 64).toString('latin1').toLowerCase();
        const v = c.cstring('option value', 64).toString('latin1');
        opts.set(k, v);
      }
      const options = [...opts].map(([k, v]) => `${k}=${v}`).join(',');
      ctx.record('request', peer, { op: op === RRQ ? 'read' : 'write', filename: clip(filename), mode: clip(mode, 32), options: options || undefined });
      if (mode !== 'octet' && mode !== 'netascii') {
        reply(errorPacket(ERR_ILLEGAL, 'Unknown mode'));
        return;
      }
      const path = filename.replace(/^\/+/, '').replace(/^(srv\/)?tftp(boot)?\//, '');
      const traversal = path.split(/[/\\]/).includes('..');
      if (transfers.size >= MAX_TRANSFERS) return; // saturated: the request is dropped, as an overloaded inetd would
      if (traversal) {
        // Inside the chroot, ../../etc/shadow is just a file that is not there.
        reply(errorPacket(ERR_NOT_FOUND, 'File not found'));
        return;
      }
      if (op === RRQ) {
        const file = files.get(path);
        if (!file) {
          reply(errorPacket(ERR_NOT_FOUND, 'File not found'));
          return;
        }
        const data = mode === 'netascii' ? Buffer.from(file.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : file;
        serveRead(peer, filename, data, opts).catch((err) => {
          ctx.log.warn('tftp transfer socket failed', { err });
          reply(errorPacket(ERR_NOT_DEFINED, 'Server error'));
        });
        return;
      }
      if (!allowWrite) {
        // Without --create, tftpd-hpa cannot open a file that does not exist yet.
        reply(errorPacket(ERR_NOT_FOUND, 'File not found'));
        return;
      }
      receiveWrite(peer, filename, opts).catch((err) => {
        ctx.log.warn('tftp transfer socket failed', { err });
        reply(errorPacket(ERR_NOT_DEFINED, 'Server error'));
      });
    };

    ctx.signal.addEventListener('abort', () => {
      for (const t of [...transfers]) t.close();
    });

    return {
      onDatagram(msg, peer, reply) {
        if (msg.length < 2) {
          ctx.record('payload', peer, { reason: 'short', data_hex: hexPreview(msg) });
          return;
        }
        const c = new Cursor(msg);
        const op = c.u16();
        try {
          if (op === RRQ || op === WRQ) {
            onRequest(op, c, peer, reply);
            return;
          }
        } catch (err) {
          if (!(err instanceof TruncatedError)) throw err;
          ctx.record('payload', peer, { reason: 'malformed_request', opcode: op, data_hex: hexPreview(msg) });
          reply(errorPacket(ERR_ILLEGAL, 'Request not null-terminated'));
          return;
        }
        // DATA/ACK/ERROR on port 69 belong to no transfer and anything else is not TFTP: silence.
        ctx.record('payload', peer, { reason: op >= DATA && op <= OACK ? 'stray_packet' : 'unknown_opcode', opcode: op, data_hex: hexPreview(msg) });
      },
      async close() {
        for (const t of [...transfers]) t.close();
      },
    };
  },
};

export default service;
