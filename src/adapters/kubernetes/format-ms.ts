/** A duration for the Kubernetes adapter's messages: `800 ms`, `1.5 s`, `10 s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
