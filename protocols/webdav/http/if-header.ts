import { HttpError } from '../errors.js';
import { parseTarget } from './paths.js';

/**
 * The WebDAV If header (RFC 4918 §10.4): lists of state tokens and entity tags, optionally
 * tagged with the resource they apply to. Parsing never throws anything but HttpError(400).
 */
export interface IfCondition {
  readonly not: boolean;
  readonly kind: 'token' | 'etag';
  /** A state token (e.g. opaquelocktoken:…, DAV:no-lock) or an entity-tag with its quotes. */
  readonly value: string;
}

export interface IfList {
  /** Decoded view path of the tagged resource; null for a no-tag list (the request target). */
  readonly resource: string | null;
  readonly conditions: readonly IfCondition[];
}

const MAX_IF_LENGTH = 16 * 1024;

function bad(why: string): HttpError {
  return new HttpError(400, `malformed If header: ${why}`);
}

export function parseIfHeader(value: string): IfList[] {
  if (value.length > MAX_IF_LENGTH) throw bad('too long');
  const lists: IfList[] = [];
  let i = 0;
  let tagged: boolean | null = null;
  let resource: string | null = null;
  const skipSpace = () => {
    while (i < value.length && /\s/.test(value[i]!)) i++;
  };
  const until = (close: string): string => {
    const end = value.indexOf(close, i + 1);
    if (end < 0) throw bad(`missing ${close}`);
    const inner = value.slice(i + 1, end);
    i = end + 1;
    return inner;
  };
  for (;;) {
    skipSpace();
    if (i >= value.length) break;
    const c = value[i];
    if (c === '<') {
      if (tagged === false) throw bad('resource tag after an untagged list');
      tagged = true;
      const url = until('>');
      try {
        resource = parseTarget(url).path;
      } catch {
        throw bad('resource tag is not a URL');
      }
      skipSpace();
      if (value[i] !== '(') throw bad('resource tag without a list');
      continue;
    }
    if (c !== '(') throw bad(`unexpected ${JSON.stringify(c)}`);
    if (tagged === null) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      skipSpace();
      if (i >= value.length) throw bad('missing )');
      if (value[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (/^not\b/i.test(value.slice(i, i + 4)) && /\s|<|\[/.test(value[i + 3] ?? '')) {
        not = true;
        i += 3;
        skipSpace();
      }
      if (value[i] === '<') {
        const token = until('>');
        if (token === '' || /[\s<>]/.test(token)) throw bad('empty or malformed state token');
        conditions.push({ not, kind: 'token', value: token });
      } else if (value[i] === '[') {
        const tag = until(']').trim();
        if (!/^(W\/)?"[^"]*"$/.test(tag)) throw bad('malformed entity tag');
        conditions.push({ not, kind: 'etag', value: tag });
      } else {
        throw bad('expected <state-token> or [entity-tag]');
      }
    }
    if (conditions.length === 0) throw bad('empty list');
    lists.push({ resource: tagged ? resource : null, conditions });
  }
  if (lists.length === 0) throw bad('no lists');
  return lists;
}

/** Lock tokens named positively anywhere in the header: the tokens the client "submits". */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.kind === 'token' && !c.not) tokens.add(c.value);
  return tokens;
}
