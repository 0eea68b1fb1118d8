/** Single byte-range requests (RFC 9110 §14). Multiple ranges are answered with the whole file. */
export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/**
 * Parses a Range header against a file size. A malformed `bytes=` range is answered 416
 * (the RFC allows ignoring it; refusing tells a broken client clearly); other units are ignored.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'whole' };
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'unsatisfiable' };
  if (specs.length > 1) {
    for (const s of specs) if (!/^(\d+-\d*|-\d+)$/.test(s)) return { kind: 'unsatisfiable' };
    return { kind: 'whole' };
  }
  const spec = specs[0]!;
  const suffix = /^-(\d{1,15})$/.exec(spec);
  if (suffix) {
    const n = Number(suffix[1]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const r = /^(\d{1,15})-(\d{0,15})$/.exec(spec);
  if (!r) return { kind: 'unsatisfiable' };
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (r[2] !== '' && Number(r[2]) < start) return { kind: 'unsatisfiable' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
