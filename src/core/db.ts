import Database from 'better-sqlite3';
import initial from './schema/001_initial.js';
import replication from './schema/002_replication.js';
import links from './schema/003_links.js';
import resident from './schema/004_resident.js';

export type Db = Database.Database;

/** Numbered schema steps; entry i brings the database from user_version i to i + 1. */
const MIGRATIONS: readonly string[] = [initial, replication, links, resident];

/**
 * Opens (creating if needed) the instance database in WAL mode and brings its schema up
 * to date, each step in its own transaction. synchronous=NORMAL: a commit survives a
 * process crash; after power loss the newest commits may roll back but the database
 * stays consistent (blob files are fsynced before the commit that references them; resident
 * content is part of it). Where a client is promised durability (NFS COMMIT and stable
 * WRITEs) the log is fsynced too: Store.syncCommitted.
 */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // better-sqlite3 builds SQLite with a 16 MB page cache; resident content would fill it and
  // sit in the process's memory. 4 MB holds the hot metadata; content pages are read from the
  // OS page cache (a pread of a few microseconds).
  db.pragma('cache_size = -4096');
  db.pragma('foreign_keys = OFF');
  // One process owns the directory (marble.pid): no file locks per statement.
  db.pragma('locking_mode = EXCLUSIVE');
  let version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${file}: schema version ${version} is newer than this marble (${MIGRATIONS.length}); upgrade marble`);
  }
  for (; version < MIGRATIONS.length; version++) {
    const step = MIGRATIONS[version]!;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return db;
}
