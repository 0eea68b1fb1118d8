/**
 * Schema version 4: resident content. A blob of at most RESIDENT_MAX bytes lives in its data
 * row instead of a file, written by the same transaction as the change that references it:
 * the blob cannot be missing or torn after a crash, and a small file costs no file create,
 * fsync and close (blobs.ts).
 */
export default /* sql */ `
ALTER TABLE data ADD COLUMN content BLOB;
`;
