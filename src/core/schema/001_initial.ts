/** Schema version 1: the data model of DESIGN.md §2. */
export default /* sql */ `
CREATE TABLE config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- node, change and data counters; taken inside the transaction that uses them
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;

CREATE TABLE instances (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  prune_mode  INTEGER NOT NULL DEFAULT 0,
  public_key  TEXT
) STRICT;

-- One row per committed modification. Metadata columns hold the node's state after it.
-- ranges: JSON [[offset, length], ...] of bytes written; block_hashes: the new hash of every
-- block the write touched, as repeated (uint32 BE block index, 32-byte SHA-256).
CREATE TABLE changes (
  id           TEXT PRIMARY KEY,
  origin       TEXT NOT NULL,
  counter      INTEGER NOT NULL,
  node_id      TEXT NOT NULL,
  parent_id    TEXT,
  kind         TEXT NOT NULL CHECK (kind IN ('create', 'write', 'meta', 'delete')),
  name         TEXT NOT NULL,
  parent_dir   TEXT NOT NULL,
  is_dir       INTEGER NOT NULL,
  mode         INTEGER NOT NULL,
  mtime_s      INTEGER NOT NULL,
  mtime_ns     INTEGER NOT NULL,
  size         INTEGER NOT NULL,
  ranges       TEXT,
  block_hashes BLOB,
  hlc          INTEGER NOT NULL,
  UNIQUE (origin, counter)
) STRICT;
CREATE INDEX changes_node ON changes (node_id, hlc);

-- Current state of each node; several rows for one node = a split.
CREATE TABLE heads (
  node_id    TEXT NOT NULL,
  change_id  TEXT NOT NULL,
  origin     TEXT NOT NULL,
  name       TEXT NOT NULL,
  parent_dir TEXT NOT NULL,
  is_dir     INTEGER NOT NULL,
  deleted    INTEGER NOT NULL DEFAULT 0,
  data_id    INTEGER,
  writable   INTEGER NOT NULL DEFAULT 1,
  mode       INTEGER NOT NULL,
  mtime_s    INTEGER NOT NULL,
  mtime_ns   INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  hlc        INTEGER NOT NULL,
  birth_hlc  INTEGER NOT NULL,
  PRIMARY KEY (node_id, change_id)
) STRICT;
CREATE INDEX heads_name ON heads (parent_dir, name);

-- Changes known whose content this instance does not hold yet.
CREATE TABLE missing (
  change_id      TEXT PRIMARY KEY,
  node_id        TEXT NOT NULL,
  base_change_id TEXT,
  base_data_id   INTEGER
) STRICT;

-- One row per content blob (file blobs/<hh>/<id>). refs counts heads, missings and
-- retained history versions that use it; at zero the row and the file go.
CREATE TABLE data (
  id        INTEGER PRIMARY KEY,
  change_id TEXT NOT NULL,
  refs      INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  hashes    BLOB NOT NULL
) STRICT;

-- Content versions kept for history (retention), each holding a reference on its data.
CREATE TABLE retained (
  node_id   TEXT NOT NULL,
  change_id TEXT NOT NULL,
  data_id   INTEGER NOT NULL,
  hlc       INTEGER NOT NULL,
  PRIMARY KEY (node_id, change_id)
) STRICT;
CREATE INDEX retained_data ON retained (data_id);

-- When a folder's children last changed on this instance (POSIX folder mtime); local only,
-- so concurrent creates in one folder do not split the folder itself.
CREATE TABLE dir_times (
  node_id  TEXT PRIMARY KEY,
  hlc      INTEGER NOT NULL
) STRICT;

-- Dead properties (WebDAV) kept with a node; local to this instance.
CREATE TABLE props (
  node_id TEXT NOT NULL,
  name    TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (node_id, name)
) STRICT;
`;
