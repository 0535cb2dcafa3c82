/** Splits "host:port" / "[v6]:port"; tells whether the host is a loopback address. */
export function parseListenAddress(listen: string): { host: string; port: number; loopback: boolean } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen address "${listen}" is not host:port`);
  const host = m[1].replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return { host, port: Number(m[2]), loopback };
}
