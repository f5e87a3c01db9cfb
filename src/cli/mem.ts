// `decnet mem`: memory of the running fleet per process (PSS, Pss_Anon, USS, RSS) with totals and,
// for scale, an idle `node` measured now.
import type { ParsedArgs } from './args.ts';
import { listHostStates } from '../fleet/host-state.ts';
import { formatKiB, readMemory, type MemoryReading } from '../fleet/memory.ts';
import { measureIdleNode } from '../fleet/baseline.ts';
import { renderTable, colour } from './table.ts';

interface Row {
  process: string;
  pid: number;
  workers: string[];
  memory: MemoryReading;
}

function launcherPid(hosts: { role?: string; pid: number }[]): number | undefined {
  return hosts.find((h) => h.role === 'fleet')?.pid;
}

export default async function mem(args: ParsedArgs): Promise<number> {
  const rows: Row[] = [];
  const hosts = listHostStates();
  // `decnet up` hosts the broker's group itself: count that process once, under its group's name.
  const hostPids = new Set(hosts.filter((h) => h.role !== 'fleet').map((h) => h.pid));
  for (const host of hosts) {
    if (!host.alive) continue;
    if (host.role === 'fleet' && hostPids.has(host.pid)) continue;
    const memory = readMemory(host.pid);
    if (!memory) continue;
    rows.push({ process: host.role === 'fleet' ? `${host.name} (launcher)` : host.pid === launcherPid(hosts) ? `${host.name} (in launcher)` : host.name, pid: host.pid, workers: host.workers.map((w) => w.name), memory });
  }
  const total = rows.reduce<MemoryReading>(
    (sum, r) => ({ pss: sum.pss + r.memory.pss, pssAnon: sum.pssAnon + r.memory.pssAnon, uss: sum.uss + r.memory.uss, rss: sum.rss + r.memory.rss }),
    { pss: 0, pssAnon: 0, uss: 0, rss: 0 },
  );
  const baseline = args.options.baseline === false ? undefined : await measureIdleNode();
  if (args.options.json) {
    process.stdout.write(
      JSON.stringify(
        {
          unit: 'kB',
          processes: rows.map((r) => ({ process: r.process, pid: r.pid, workers: r.workers, pss: r.memory.pss, pss_anon: r.memory.pssAnon, uss: r.memory.uss, rss: r.memory.rss })),
          total: { pss: total.pss, pss_anon: total.pssAnon, uss: total.uss, rss: total.rss, processes: rows.length },
          idle_node: baseline ? { pss: baseline.pss, pss_anon: baseline.pssAnon, uss: baseline.uss, rss: baseline.rss } : null,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('No DECNET processes are running. Start the fleet with `decnet up`.\n');
  } else {
    const fmt = (m: MemoryReading) => [formatKiB(m.pss), formatKiB(m.pssAnon), formatKiB(m.uss), formatKiB(m.rss)];
    const body = rows.map((r) => [r.process, String(r.pid), ...fmt(r.memory), r.workers.join(', ')]);
    body.push([colour.bold('total'), `${rows.length} proc`, ...fmt(total), '']);
    process.stdout.write(renderTable(['PROCESS', 'PID', 'PSS', 'PSS_ANON', 'USS', 'RSS', 'WORKERS'], body, [2, 3, 4, 5]));
  }
  if (baseline) {
    process.stdout.write(`\nidle node (same flags, measured now): PSS ${formatKiB(baseline.pss)}, USS ${formatKiB(baseline.uss)}, RSS ${formatKiB(baseline.rss)}\n`);
    if (rows.length) process.stdout.write(`fleet PSS = ${(total.pss / baseline.pss).toFixed(2)} x an idle node; summed RSS would claim ${formatKiB(total.rss)}\n`);
  }
  return 0;
}
