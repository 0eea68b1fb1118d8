import type { RpcHandlerResult } from '../rpc/dispatcher.js';

/** EXPORT: the one export, `/`, with the allow-list entries as its groups (none: everyone). */
export function exportList(groups: readonly string[]): RpcHandlerResult {
  return (w) => {
    w.writeBool(true).writeString('/', 1024);
    for (const g of groups) w.writeBool(true).writeString(g, 255);
    w.writeBool(false);
    w.writeBool(false);
  };
}
