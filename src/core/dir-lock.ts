import { openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'marble.pid';

/** Another live process serves this data directory. */
export class DirLocked extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(`${dir} is in use by marble process ${pid}; stop it first or use another --data directory`);
    this.name = 'DirLocked';
  }
}

/** The pid holding the data directory, or null if none (a stale lock of a dead process counts as none). */
export function lockHolder(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? -1 : null;
  }
}

/**
 * Takes the data directory for this process (a pid file created exclusively), so two
 * servers, or start-up cleanup, never run against a directory another process writes.
 * Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = lockHolder(dataDir);
      if (holder !== null) throw new DirLocked(dataDir, holder);
      unlinkSync(file); // left by a process that died (kill -9): take over
    }
  }
  throw new Error(`${dataDir}: could not take ${LOCK_FILE}`);
}
