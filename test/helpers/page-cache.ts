import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The blob files under a data directory. */
export const blobPaths = (dir: string): string[] =>
  readdirSync(join(dir, 'blobs')).flatMap((d) => readdirSync(join(dir, 'blobs', d)).map((f) => join(dir, 'blobs', d, f)));

/** How many of a file's pages are in the page cache (util-linux fincore). */
export const cachedPages = (path: string): number =>
  Number(execFileSync('fincore', ['--noheadings', '--output', 'PAGES', path], { encoding: 'utf8' }).trim());
