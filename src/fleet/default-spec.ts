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

# The API: REST, live event stream and the dashboard, on 127.0.0.1:8000 (DECNET_API_HOST/PORT).
# Database reads run in two reader threads, so a slow query never stalls the event loop.
[process api]
workers = api
memory_max = 192M

# The decoy host parses attacker input, so it gets its own process and cap.
[process deckies]
workers = deckies
memory_max = 192M

# Capture: the ingester (event logs into the database, exactly once) and the collector (syslog from
# other sources, normalised into the collector log).
[process capture]
workers = ingester, collector
memory_max = 128M

# Intelligence: attacker profiles and behaviour, credential reuse, ATT&CK tagging.
[process intel]
workers = profiler, reuse-correlator, ttp
memory_max = 192M

# The herd: enrichment and webhook delivery. The offline country/AS tables are read from compiled
# files (page cache, not process memory); compiling them runs once per dataset in a short-lived
# child process (about 80 MB at its peak), which the cap leaves room for.
[process herd]
workers = enrich, webhook
memory_max = 160M
`;
