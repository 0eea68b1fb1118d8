import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Entry, FileSystemView } from '../../src/fs/types.js';
import { isFsError } from '../../src/fs/errors.js';
import type { LockTable } from './locks/lock-table.js';
import type { Logger } from './options.js';

/** What every method handler gets: the request, its decoded target, and the shared services. */
export interface DavServices {
  readonly view: FileSystemView;
  readonly locks: LockTable;
  readonly logger: Logger;
  /** Cap on XML request bodies (PROPFIND, PROPPATCH, LOCK), bytes. */
  readonly maxXmlBytes: number;
}

/** Per-request state, created by the request listener before the handler runs. */
export class DavRequestState {
  private readonly stats = new Map<string, Promise<Entry | null>>();
  /** The client sent Expect: 100-continue; answer it only once we really read the body. */
  expectsContinue = false;
  private res: ServerResponse | null = null;

  constructor(
    readonly view: FileSystemView,
    /** Decoded view path of the request target. */
    readonly path: string,
  ) {}

  bindResponse(res: ServerResponse): void {
    this.res = res;
  }

  /** Call right before reading the request body: sends 100 Continue if the client waits for it. */
  continueBody(): void {
    if (this.expectsContinue && this.res && !this.res.headersSent) {
      this.expectsContinue = false;
      this.res.writeContinue();
    }
  }

  /**
   * stat() of a path, null if it does not exist; remembered for the rest of the request so
   * the handler's checks (preconditions, If header, locks) share one view call.
   * Only for reads before the handler changes anything.
   */
  statOrNull(path: string): Promise<Entry | null> {
    let p = this.stats.get(path);
    if (!p) {
      p = this.view.stat(path).catch((e: unknown) => {
        if (isFsError(e, 'MARBLE_NOT_FOUND') || isFsError(e, 'MARBLE_NOT_DIR')) return null;
        throw e;
      });
      p.catch(() => undefined); // a failure is reported by whoever awaits it
      this.stats.set(path, p);
    }
    return p;
  }
}

export interface DavContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly services: DavServices;
  readonly state: DavRequestState;
  /** Decoded view path of the request target. */
  readonly path: string;
  /** Authenticated user name, null without authentication. */
  readonly user: string | null;
}
