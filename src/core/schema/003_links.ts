/**
 * Schema version 3: hard links and symbolic links as replicated node properties.
 * A hard link is a node of its own (own id, parent, name) whose link_to names the file
 * node it shows; a symbolic link is a file whose content is its target, flagged symlink.
 */
export default /* sql */ `
ALTER TABLE changes ADD COLUMN link_to TEXT;
ALTER TABLE changes ADD COLUMN symlink INTEGER NOT NULL DEFAULT 0;
ALTER TABLE heads ADD COLUMN link_to TEXT;
ALTER TABLE heads ADD COLUMN symlink INTEGER NOT NULL DEFAULT 0;
-- The links naming a file: its link count, and who inherits it when its primary name goes.
CREATE INDEX heads_link_to ON heads (link_to) WHERE link_to IS NOT NULL;
-- Before this version NFS marked a symbolic link with a local dead property (never
-- replicated): the current heads take the flag, and the next change carries it to peers.
UPDATE heads SET symlink = 1 WHERE is_dir = 0 AND node_id IN (SELECT node_id FROM props WHERE name = '{urn:marble:nfs}symlink');
`;
