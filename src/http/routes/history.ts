import type { FastifyInstance } from 'fastify';
import { IsDir, isFsError, NotFound } from '../../fs/errors.js';
import { HISTORY_DIR, splitPath } from '../../fs/paths.js';
import type { MarbleView } from '../../fs/view.js';
import { davLink, PATH } from './schemas.js';

export interface HistoryVersion {
  /** Name of the version under /.history/<path>/. */
  readonly name: string;
  readonly path: string;
  readonly url: string | null;
  readonly change: string;
  readonly kind: string;
  /** Name of the instance where the version was written. */
  readonly instance: string;
  readonly time: string;
  readonly size: number;
  /** Whether its content is still kept (older versions stay listed but cannot be opened). */
  readonly kept: boolean;
}

/** GET /api/history?path=/a/b.txt: a file's versions, oldest first. */
export function historyRoutes(app: FastifyInstance, view: MarbleView, webdavUrl: string | undefined): void {
  app.get<{ Querystring: { path: string } }>(
    '/api/history',
    {
      schema: {
        querystring: { type: 'object', required: ['path'], additionalProperties: false, properties: { path: PATH } },
      },
    },
    async (req) => {
      const path = req.query.path;
      const parts = splitPath(path);
      let target;
      try {
        target = view.tree.resolve([HISTORY_DIR, ...parts]);
      } catch (e) {
        throw isFsError(e, 'MARBLE_NOT_FOUND') ? NotFound(`${path} (never existed here)`) : e;
      }
      if (target.kind !== 'history-file') throw IsDir(`${path} (history lists the versions of a file)`);
      const base = `/${HISTORY_DIR}/${parts.join('/')}`;
      const versions: HistoryVersion[] = view.tree.versions(target.head).map((v) => ({
        name: v.name,
        path: `${base}/${v.name}`,
        url: davLink(webdavUrl, `${base}/${v.name}`),
        change: v.change.id,
        kind: v.change.kind,
        instance: view.store.instanceNameOf(v.change.origin),
        time: new Date(v.change.hlc).toISOString(),
        size: v.change.meta.size,
        kept: v.dataId !== null,
      }));
      return { path, deleted: target.head.deleted, versions };
    },
  );
}
