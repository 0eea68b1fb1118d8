import { extname } from 'node:path';
import type { Change } from '../core/model.js';

/**
 * The name of one version under /.history/<path>/: sorts by time, says who wrote it,
 * keeps the file's extension so it opens with the right program, and is unique per file
 * (the change counter is unique per instance). e.g. 2026-11-24T10.31.05Z_laptop_003f.txt
 */
export function versionName(change: Change, instanceName: string): string {
  const time = new Date(change.hlc).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '.');
  const who = instanceName.replace(/[/\\\0_]/g, '-');
  return `${time}_${who}_${change.counter.toString(36).padStart(4, '0')}${extname(change.meta.name)}`;
}
