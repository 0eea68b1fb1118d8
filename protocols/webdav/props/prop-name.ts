/** A property name: namespace URI + local name; stored by the view in Clark notation `{ns}local`. */
export interface PropName {
  readonly ns: string;
  readonly local: string;
}

export function clarkKey(name: PropName): string {
  return `{${name.ns}}${name.local}`;
}

const XML_NAME = /^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*$/;

/** The property name stored under `key`, or null for keys that are not WebDAV properties (e.g. xattrs). */
export function fromClarkKey(key: string): PropName | null {
  const m = /^\{([^}]*)\}(.+)$/.exec(key);
  if (!m || !XML_NAME.test(m[2]!)) return null;
  return { ns: m[1]!, local: m[2]! };
}
