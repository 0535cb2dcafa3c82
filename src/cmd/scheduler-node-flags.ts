/**
 * V8 flags the scheduler's process runs with (`npm start`, the Helm chart's scheduler, the scale bench): a young
 * generation of up to 128 MiB per semi-space instead of V8's 16 MiB. A task and its operation live for seconds (queued,
 * then running), longer than 16 MiB of allocation lasts at a thousand workers' pace, so most were copied by two
 * scavenges into the old generation before they died there. Scale bench, same trace: 121 → 73 MB promoted per replay
 * (deterministic); decisions per CPU s, 5 interleaved process pairs: medians 25,100 → 29,400, though single pairs
 * ranged from +30 % to −19 % on this noisy machine. Costs up to ~256 MiB more memory under load (V8 grows the young
 * generation only while allocation is fast).
 */
export const SCHEDULER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=128'];
