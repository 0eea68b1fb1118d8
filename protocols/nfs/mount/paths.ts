import { invalid } from '../errors.js';

/**
 * The view path a MOUNT dirpath names. The one export is `/`; clients ask for it as
 * "/", "" or with a trailing slash, and for folders below it.
 */
export function exportPath(dirpath: string): string {
  if (dirpath.includes('\0')) throw invalid('NUL in mount path');
  const parts = dirpath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid('".." in mount path');
  return '/' + parts.join('/');
}
