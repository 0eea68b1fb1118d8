export * from './auth.js';
export * from './message.js';
export * from './record.js';
export * from './dispatcher.js';
export type { FileTail } from './file-tail.js';
export * from './server.js';
export * from './client.js';
