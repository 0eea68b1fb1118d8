import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { HttpError } from '../errors.js';
import { XmlSyntaxError, XmlTreeBuilder, type XmlElement } from '../xml/xml-parse.js';

/** True if the request announces a body (Content-Length > 0 or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len.trim() !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** A body we will not read: refuse it and close the connection instead of draining it. */
export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body larger than ${limit} bytes`, {}, undefined, true);
}

/**
 * Reads an XML body as it streams, never holding more than `limit` bytes: an announced
 * Content-Length over the limit is refused before reading anything. Returns null for an
 * empty body. Malformed XML, a DOCTYPE or entities: 400.
 */
export async function readXmlBody(
  req: IncomingMessage,
  limit: number,
  beforeRead: () => void = () => {},
): Promise<XmlElement | null> {
  const announced = req.headers['content-length'];
  if (announced !== undefined && Number(announced) > limit) throw tooLarge(limit);
  if (!hasBody(req)) return null;
  beforeRead();
  const builder = new XmlTreeBuilder();
  const decoder = new StringDecoder('utf8');
  let size = 0;
  let sawContent = false;
  await readChunks(req, (chunk) => {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    const text = decoder.write(chunk);
    if (!sawContent && text.trim() === '') return;
    sawContent = true;
    builder.write(text);
  });
  const tail = decoder.end();
  if (tail) {
    sawContent ||= tail.trim() !== '';
    builder.write(tail);
  }
  if (!sawContent) return null;
  try {
    return builder.end();
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new HttpError(400, `malformed XML body: ${e.message}`);
    throw e;
  }
}

/**
 * Calls onChunk for each chunk until the body ends. If onChunk throws, reading stops (the
 * request is paused, not destroyed, so the caller can still answer) and the promise rejects.
 */
export function readChunks(req: IncomingMessage, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      try {
        onChunk(chunk);
      } catch (e) {
        cleanup();
        req.pause();
        reject(e);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onAborted = () => onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
