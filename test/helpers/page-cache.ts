import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The blob files under a data directory. */
export const blobPaths = (dir: string): string[] =>
  readdirSync(join(dir, 'blobs')).flatMap((d) => readdirSync(join(dir, 'blobs', d)).map((f) => join(dir, 'blobs', d, f)));

/** How many of a file's pages are in the page cache (util-linux fincore). */
export const cachedPages = (path: string): number =>
  Number(execFileSync('fincore', ['--noheadings', '--output', 'PAGES', path], { encoding: 'utf8' }).trim());

/** A file's cached page count once `want` holds of it (pages leave the cache asynchronously), or after ~2 s. */
export async function cachedPagesSettle(path: string, want: (pages: number) => boolean): Promise<number> {
  let pages = cachedPages(path);
  for (let i = 0; i < 100 && !want(pages); i++) {
    await sleep(20);
    pages = cachedPages(path);
  }
  return pages;
}
