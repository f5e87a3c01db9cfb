// The yardstick for every memory figure: an idle `node` started in the same run, with the same
// flags as a fleet process (DESIGN §6 rule 5).
import { spawn } from 'node:child_process';
import { readMemory, type MemoryReading } from './memory.ts';
import { fleetNodeFlags } from './node-flags.ts';

export const IDLE_SCRIPT = 'setInterval(() => {}, 1 << 30)';

/** Starts an idle node, lets it settle, reads its memory, stops it. */
export async function measureIdleNode(flags: string[] = fleetNodeFlags(), settleMs = 1500): Promise<MemoryReading | undefined> {
  // Same environment as the fleet it is compared with (inherited), so the comparison stays fair.
  const child = spawn(process.execPath, [...flags, '-e', IDLE_SCRIPT], { stdio: 'ignore' });
  try {
    await new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    return child.pid ? readMemory(child.pid) : undefined;
  } finally {
    child.kill('SIGKILL');
  }
}
