// One decky's emulated machine: its profile, base filesystem image and command set, built once in
// a service's create() and shared by every session; `openShell` gives a session its own overlay.
import type { DeckyInfo } from '../service.ts';
import type { PersonaFacts } from '../personas/facts.ts';
import { buildProfile, type MachineProfile, type ProfileOptions, type UserEntry } from './profile.ts';
import { buildImage } from './fs-image.ts';
import { Vfs, type DirNode } from './vfs.ts';
import { Shell, BUILTIN_NAMES } from './shell.ts';
import { commandsFor, SBIN } from './commands/registry.ts';
import { recordMissingFetch } from './commands/net.ts';
import { DEFAULT_SHELL_LIMITS, type CommandFn, type ShellHost, type ShellLimits } from './types.ts';

export interface Machine {
  profile: MachineProfile;
  image: DirNode;
  commands: ReadonlyMap<string, CommandFn>;
}

/** Builtins that also exist as binaries in /usr/bin on a real system. */
const ALSO_BINARIES = ['echo', 'printf', 'test', '[', 'kill', 'pwd', 'true', 'false'];

export function createMachine(decky: DeckyInfo, facts: PersonaFacts, opts: ProfileOptions = {}): Machine {
  const profile = buildProfile(decky, facts, opts);
  const commands = commandsFor(profile.extras.family, facts.distro === 'kali');
  const binaries = [...commands.keys()].filter((n) => !BUILTIN_NAMES.has(n) || ALSO_BINARIES.includes(n));
  const image = buildImage(profile, { commands: binaries, sbin: SBIN });
  return { profile, image, commands };
}

export function openShell(machine: Machine, user: UserEntry, host: ShellHost, limits: Partial<ShellLimits> = {}): Shell {
  const l = { ...DEFAULT_SHELL_LIMITS, ...limits };
  const vfs = new Vfs(machine.image, { maxBytes: l.maxFsBytes, maxEntries: l.maxFsEntries });
  return new Shell({ profile: machine.profile, vfs, user, host, commands: machine.commands, limits: l, onMissing: recordMissingFetch });
}
