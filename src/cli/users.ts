import { readFileSync } from 'node:fs';

/**
 * The users file for WebDAV Basic auth: one `name:password` a line, `#` comments.
 * Keep it readable by the service user only (chmod 600).
 */
export function loadUsers(file: string): Map<string, string> {
  const users = new Map<string, string>();
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      const t = line.trim();
      if (!t || t.startsWith('#')) return;
      const at = t.indexOf(':');
      if (at <= 0) throw new Error(`${file}:${i + 1}: expected name:password`);
      users.set(t.slice(0, at), t.slice(at + 1));
    });
  if (!users.size) throw new Error(`${file}: no users`);
  return users;
}
