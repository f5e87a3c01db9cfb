// systemd units for a fleet layout (DESIGN §2 "Production"): one unit per process plus decnet.target.
// A group unit conflicts with the single-worker units it replaces, so a host never runs a worker twice.
import type { FleetSpec, Layout, ProcessSpec } from './spec.ts';
import { resolveProcesses } from './spec.ts';
import { findWorker } from './registry.ts';
import { fleetNodeFlags } from './node-flags.ts';

export interface RenderOptions {
  spec: FleetSpec;
  layout: Layout;
  /** The spec file to pass to `decnet supervise` (absent: the shipped spec). */
  specFile?: string;
  nodePath: string;
  decnetPath: string;
  user: string;
  dataDir?: string;
}

export interface RenderedUnit {
  file: string;
  content: string;
}

export const unitName = (process: string) => `decnet-${process}.service`;

/** Quotes an ExecStart argument for systemd when it needs it. */
function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

function capabilities(p: ProcessSpec): string[] {
  const caps = new Set<string>();
  for (const w of p.workers) for (const c of findWorker(w)?.capabilities ?? []) caps.add(c);
  return [...caps].sort();
}

function renderProcessUnit(p: ProcessSpec, opts: RenderOptions, hasBusProcess: boolean): string {
  const isBroker = p.workers.some((w) => findWorker(w)?.providesBus);
  // Units this one replaces: the single-worker units of the workers it hosts, when it hosts them under another name.
  const replaced = p.workers.filter((w) => w !== p.name).map(unitName);
  const exec = [
    opts.nodePath,
    ...fleetNodeFlags(opts.spec.semiSpaceMb),
    `--max-old-space-size=${p.oldSpaceMb}`,
    opts.decnetPath,
    'supervise',
    p.name,
    '--layout',
    opts.layout,
    ...(opts.specFile ? ['--fleet', opts.specFile] : []),
  ].map(quoteArg);
  const caps = capabilities(p);
  const dataDir = opts.dataDir ?? '/var/lib/decnet';
  const lines = [
    '# Rendered by `decnet init`; edit the fleet spec and re-run instead of editing this file.',
    '[Unit]',
    `Description=DECNET ${p.name} (${p.workers.join(', ')})`,
    'PartOf=decnet.target',
    'After=network-online.target',
    'Wants=network-online.target',
  ];
  if (!isBroker && hasBusProcess) lines.push('After=decnet-bus.service');
  if (replaced.length) lines.push(`Conflicts=${replaced.join(' ')}`);
  lines.push(
    '',
    '[Service]',
    'Type=simple',
    `User=${opts.user}`,
    `Group=${opts.user}`,
    `Environment=DECNET_DATA_DIR=${dataDir}`,
    'Environment=DECNET_RUN_DIR=/run/decnet',
    'EnvironmentFile=-/etc/decnet/decnet.env',
    `ExecStart=${exec.join(' ')}`,
    'Restart=on-failure',
    'RestartSec=2',
    'TimeoutStopSec=20',
    'KillMode=mixed',
    `MemoryMax=${p.memoryMax}`,
    'RuntimeDirectory=decnet',
    'RuntimeDirectoryMode=0750',
    'RuntimeDirectoryPreserve=yes',
    'StateDirectory=decnet',
    'StateDirectoryMode=0750',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    `ReadWritePaths=${dataDir}`,
  );
  if (caps.length) lines.push(`AmbientCapabilities=${caps.join(' ')}`, `CapabilityBoundingSet=${caps.join(' ')}`);
  else lines.push('CapabilityBoundingSet=');
  lines.push('', '[Install]', 'WantedBy=decnet.target', '');
  return lines.join('\n');
}

export function renderUnits(opts: RenderOptions): RenderedUnit[] {
  const processes = resolveProcesses(opts.spec, opts.layout);
  const hasBusProcess = processes.some((p) => p.name === 'bus');
  const units = processes.map((p) => ({ file: unitName(p.name), content: renderProcessUnit(p, opts, hasBusProcess) }));
  const target = [
    '# Rendered by `decnet init`.',
    '[Unit]',
    'Description=DECNET honeypot fleet',
    `Wants=${units.map((u) => u.file).join(' ')}`,
    'After=network-online.target',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return [...units, { file: 'decnet.target', content: target }];
}
