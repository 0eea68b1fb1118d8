import sax from 'sax';

/**
 * A small namespace-resolved XML tree for WebDAV request bodies, built by a streaming
 * sax parser. Safe by construction: a DOCTYPE is refused (so no external entities and no
 * entity expansion), only the five predefined entities and character references are
 * understood, and the caller bounds the input size.
 */
export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  readonly attrs: readonly XmlAttr[];
  readonly children: (XmlElement | string)[];
}

export interface XmlAttr {
  readonly ns: string;
  readonly local: string;
  readonly value: string;
}

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const MAX_DEPTH = 100;

/** Feeds chunks as they arrive; `end()` returns the root element (throws XmlSyntaxError). */
export class XmlTreeBuilder {
  private readonly parser = sax.parser(true, { xmlns: true, trim: false, normalize: false });
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | null = null;
  private failure: Error | null = null;

  constructor() {
    const p = this.parser;
    p.onerror = (e) => {
      this.failure ??= new XmlSyntaxError(e.message.split('\n')[0] ?? 'malformed XML');
    };
    p.ondoctype = () => {
      this.failure ??= new XmlSyntaxError('DOCTYPE is not allowed in WebDAV request bodies');
    };
    p.onopentag = (tag) => {
      const t = tag as sax.QualifiedTag;
      const attrs: XmlAttr[] = [];
      for (const a of Object.values(t.attributes)) {
        if (a.prefix === 'xmlns' && a.local !== '' && a.value === '') {
          this.failure ??= new XmlSyntaxError(`empty namespace name for prefix ${a.local}`);
        }
        if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
        attrs.push({ ns: a.uri, local: a.local, value: a.value });
      }
      const el: XmlElement = { ns: t.uri, local: t.local, attrs, children: [] };
      const parent = this.stack[this.stack.length - 1];
      if (parent) parent.children.push(el);
      else if (this.root) this.failure ??= new XmlSyntaxError('more than one root element');
      else this.root = el;
      this.stack.push(el);
      if (this.stack.length > MAX_DEPTH) this.failure ??= new XmlSyntaxError('XML nested too deeply');
    };
    p.onclosetag = () => {
      this.stack.pop();
    };
    const onText = (text: string) => {
      const parent = this.stack[this.stack.length - 1];
      if (parent) parent.children.push(text);
    };
    p.ontext = onText;
    p.oncdata = onText;
  }

  write(chunk: string): void {
    if (this.failure) return;
    try {
      this.parser.write(chunk);
    } catch (e) {
      this.failure ??= new XmlSyntaxError((e as Error).message.split('\n')[0] ?? 'malformed XML');
    }
  }

  end(): XmlElement {
    if (!this.failure) {
      try {
        this.parser.close();
      } catch (e) {
        this.failure ??= new XmlSyntaxError((e as Error).message.split('\n')[0] ?? 'malformed XML');
      }
    }
    if (this.failure) throw this.failure;
    if (!this.root) throw new XmlSyntaxError('no root element');
    return this.root;
  }
}

export function parseXml(text: string): XmlElement {
  const b = new XmlTreeBuilder();
  b.write(text);
  return b.end();
}

export const DAV_NS = 'DAV:';

export function isDav(el: XmlElement, local: string): boolean {
  return el.ns === DAV_NS && el.local === local;
}

export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function findDavChild(el: XmlElement, local: string): XmlElement | undefined {
  return childElements(el).find((c) => isDav(c, local));
}

/** Text content of an element and its descendants. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
