import { extname } from 'node:path';

/**
 * Two nodes whose heads come from one instance can end up with the same name in one folder
 * (a file kept alive in a concurrently deleted folder, next to its namesake in the re-created
 * folder shown merged with it). Ranking by instance cannot tell them apart, so under
 * /.splits/<instance>/ every such node but the first is shown under its name with the node's
 * id added before the extension, the same on every instance: `report (2947d962-52).txt`.
 */
export function sameNameAlias(name: string, nodeId: string): string {
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)} (${nodeTag(nodeId)})${ext}`;
}

/** The name an alias was made from and the node it names, or null if `name` is no alias. */
export function parseSameNameAlias(name: string): { name: string; matches: (nodeId: string) => boolean } | null {
  const m = /^(.*) \(([0-9a-z]{1,8}-[0-9a-z]+)\)(\.[^.]*)?$/.exec(name);
  if (!m) return null;
  const tag = m[2]!;
  return { name: m[1]! + (m[3] ?? ''), matches: (nodeId) => nodeTag(nodeId) === tag };
}

function nodeTag(nodeId: string): string {
  const at = nodeId.lastIndexOf(':');
  return at < 0 ? nodeId.slice(0, 8) : `${nodeId.slice(0, Math.min(at, 8))}-${nodeId.slice(at + 1)}`;
}
