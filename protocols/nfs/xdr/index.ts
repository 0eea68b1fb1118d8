export { XdrError, isXdrDecodeError } from './errors.js';
export type { XdrErrorCode, XdrDecodeErrorCode, XdrEncodeErrorCode } from './errors.js';
export { XdrReader, XDR_UINT_MAX, xdrPad } from './reader.js';
export { XdrWriter } from './writer.js';
export type { XdrWriterOptions } from './writer.js';
