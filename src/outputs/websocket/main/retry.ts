// Fluent Bit's retry schedule: full jitter between base and min(cap, base·2^attempt), plus one
// second. With its defaults (base 5, cap 2000) the first retry waits 6–11 s.

export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  capSeconds: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.min(attempt, 30));
  const low = Math.min(baseSeconds, ceiling);
  return Math.floor(low + random() * (ceiling - low)) + 1;
}
