// The shipped fleet spec (format: docs/fleet-spec.md). Each issue that adds workers adds them here.
export const DEFAULT_SPEC_SOURCE = '<default fleet spec>';

export const DEFAULT_SPEC = `# DECNET fleet spec: which processes exist, which workers each hosts, and each one's memory cap.
[fleet]
layout = grouped
semi_space = 1

# The broker: alone, because every other process depends on it.
[process bus]
workers = bus
memory_max = 96M

# The decoy host parses attacker input, so it gets its own process and cap.
[process deckies]
workers = deckies
memory_max = 192M
`;
