import type { FastifyInstance } from 'fastify';
import { SPLITS_DIR } from '../../fs/paths.js';
import { MAIN } from '../../fs/tree.js';
import type { MarbleView } from '../../fs/view.js';
import { davLink, NO_QUERY, PATH } from './schemas.js';

/** Splits listed per request at most (the rest is counted in `total`). */
const MAX_LISTED = 1000;

export interface SplitVersion {
  readonly instance: string;
  /** Where this instance's version is readable: /.splits/<instance>/<path>. */
  readonly path: string | null;
  /** The same on the WebDAV front end. */
  readonly url: string | null;
  readonly deleted: boolean;
}

export interface SplitReport {
  /** The path in the main tree (null when no version is live there). */
  readonly path: string | null;
  readonly versions: SplitVersion[];
}

/** GET /api/splits: split paths with a link to each version; POST /api/splits/resolve keeps one. */
export function splitsRoutes(app: FastifyInstance, view: MarbleView, webdavUrl: string | undefined): void {
  app.get('/api/splits', { schema: NO_QUERY }, async () => {
    const byName = view.tree.splitInstances();
    const nameOf = new Map([...byName].map(([name, id]) => [id, name]));
    const ids = [...view.store.splitNodeIds()];
    const splits: SplitReport[] = ids.slice(0, MAX_LISTED).map((nodeId) => {
      const main = view.tree.segmentsOf(nodeId, MAIN);
      const origins = [...new Set(view.store.headsOf(nodeId).map((h) => h.origin))];
      const versions = origins.map((origin) => {
        const instance = nameOf.get(origin) ?? view.store.instanceNameOf(origin);
        const parts = view.tree.segmentsOf(nodeId, { kind: 'split', instanceId: origin });
        const path = parts ? `/${SPLITS_DIR}/${instance}/${parts.join('/')}` : null;
        const deleted = view.store.headsOf(nodeId).filter((h) => h.origin === origin).every((h) => h.deleted);
        return { instance, path, url: path && davLink(webdavUrl, path), deleted };
      });
      return { path: main ? '/' + main.join('/') : null, versions };
    });
    return { instances: [...byName.keys()].sort(), total: ids.length, splits };
  });

  app.post<{ Body: { path: string; keep: string } }>(
    '/api/splits/resolve',
    {
      schema: {
        ...NO_QUERY,
        body: {
          type: 'object',
          required: ['path', 'keep'],
          additionalProperties: false,
          properties: { path: PATH, keep: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (req) => {
      const entry = await view.keepVersion(req.body.path, req.body.keep);
      return { kept: req.body.keep, path: req.body.path, version: entry.versionTag };
    },
  );
}
