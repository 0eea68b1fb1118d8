/** Test helper: hex fixtures may contain spaces and newlines for readability. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
