/** Schema version 2: what replication needs (DESIGN §6). */
export default /* sql */ `
-- Local arrival order: a change is stored only after its parent, so sending in seq order
-- never sends a change before the one it modifies.
ALTER TABLE changes ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX changes_seq ON changes (seq);
-- Other heads this change closes (a split resolution): JSON array of change ids.
ALTER TABLE changes ADD COLUMN merges TEXT;

-- The change whose content a head shows, and whether that content is still being fetched
-- (then data_id is the base it will be built on).
ALTER TABLE heads ADD COLUMN content_change TEXT;
ALTER TABLE heads ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

-- Highest change counter held per origin; each origin's changes are a gap-free prefix.
CREATE TABLE version_vector (
  origin  TEXT PRIMARY KEY,
  counter INTEGER NOT NULL
) STRICT;
INSERT INTO version_vector (origin, counter) SELECT origin, max(counter) FROM changes GROUP BY origin;
UPDATE changes SET seq = rowid;
UPDATE heads SET content_change = (
  SELECT c.id FROM changes c WHERE c.node_id = heads.node_id AND c.kind IN ('create', 'write') ORDER BY c.hlc DESC LIMIT 1);
-- Where each block's content can be found locally, so a fetch copies what it already has.
CREATE TABLE block_index (
  hash    BLOB NOT NULL,
  data_id INTEGER NOT NULL,
  idx     INTEGER NOT NULL
) STRICT;
CREATE INDEX block_index_hash ON block_index (hash);
CREATE INDEX block_index_data ON block_index (data_id);

INSERT OR IGNORE INTO counters (name, value) SELECT 'seq', coalesce(max(seq), 0) FROM changes;
`;
