/**
 * Headers a proxy may pass on: RFC 9110 §7.6.1 hop-by-hop headers (`Connection`, `Keep-Alive`,
 * `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, and every header `Connection` names)
 * are removed, with whatever else the caller asks to drop.
 * @module
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * @example
 * endToEndHeaders(req.headers, ['authorization', 'cookie', 'host']);
 */
export function endToEndHeaders(
  headers: IncomingHttpHeaders,
  drop: readonly string[] = [],
): OutgoingHttpHeaders {
  const named = new Set(drop);
  const connection = headers.connection;
  if (connection) for (const n of connection.split(',')) named.add(n.trim().toLowerCase());
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}
