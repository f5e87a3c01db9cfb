// The node flags of every fleet process (launcher, systemd units) and of the idle node that memory
// figures are compared with (DESIGN §6 rule 5: same flags). One list, so they cannot drift apart.
//   --max-semi-space-size: a small young generation; the fleet's processes are small and long-lived.
//   --expose-gc: idle compaction (idle-compaction.ts) calls gc() directly; without the flag it must
//     load node:v8 and node:vm and build a context to reach it (~0.8 MB PSS).
export function fleetNodeFlags(semiSpaceMb = 1): string[] {
  return [`--max-semi-space-size=${semiSpaceMb}`, '--expose-gc'];
}
