import type { ServerResponse } from 'node:http';

/** Small response writers; every body gets a Content-Length so keep-alive stays cheap. */

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Length': '0' });
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(body);
}

export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(XML_DECL + xml, 'utf8');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/xml; charset=utf-8',
    'Content-Length': String(body.length),
  });
  res.end(body);
}
