// The command that runs one worker standalone (`decnet <worker>`), built from the worker registry.
// The entry point uses it directly, so starting a worker reads no other part of the command table.
import type { CommandRun, CommandSpec } from './commands.ts';
import { findWorker, type WorkerEntry } from '../fleet/registry.ts';

export function workerCommand(w: WorkerEntry): CommandSpec {
  return {
    name: w.name,
    group: 'workers',
    summary: w.summary,
    hidden: w.hidden,
    worker: w.name,
    options: [...(w.options ?? [])],
    load: async (): Promise<CommandRun> => {
      const { runStandaloneCommand } = await import('../fleet/standalone.ts');
      return (args) => runStandaloneCommand(w.name, args);
    },
  };
}

/** The plain worker command named `name`, if there is one (workers with actions are in the table). */
export function findWorkerCommand(name: string): CommandSpec | undefined {
  const entry = findWorker(name);
  return entry && !entry.commandHasActions ? workerCommand(entry) : undefined;
}
