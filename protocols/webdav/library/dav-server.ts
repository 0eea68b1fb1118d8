import { v2 as dav } from 'webdav-server';
import type { FileSystemView } from '../../../src/fs/types.js';
import { stateOf, type DavContext, type DavServices } from '../dav-context.js';
import { METHOD_TABLE } from '../methods/method-table.js';
import { handleNotImplemented } from '../methods/not-implemented.js';
import { runHandler, type MethodHandler } from '../methods/run-handler.js';
import { ViewFileSystem } from './view-filesystem.js';

/**
 * The webdav-server instance: our FileSystem over the view as its root, our
 * authentication, and every method replaced by our handlers (see README.md for why).
 * What stays the library's: per-request context (auth challenge and user, the Allow
 * header, common DAV headers) and dispatch by method name.
 */
export function createDavServer(
  view: FileSystemView,
  services: DavServices,
  authentication: dav.HTTPAuthentication,
  requireAuthentication: boolean,
): dav.WebDAVServer {
  const server = new dav.WebDAVServer({
    rootFileSystem: new ViewFileSystem(view),
    httpAuthentication: authentication,
    requireAuthentification: requireAuthentication,
    serverName: 'marble-synch',
    version: '1',
  });
  // Drop the library's own commands (POST among them, an alias of its PUT) before adding ours.
  for (const name of Object.keys(server.methods)) delete server.methods[name];
  for (const [name, handler] of Object.entries(METHOD_TABLE)) server.method(name, asLibraryMethod(handler, services));
  server.onUnknownMethod(asLibraryMethod(handleNotImplemented, services));
  return server;
}

/**
 * The library sets `Access-Control-Allow-Origin: *` on every response, which would let any
 * web page a user visits read their files from a loopback server; and a second DAV header.
 */
const LIBRARY_HEADERS_WE_DROP = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Access-Control-Expose-Headers',
  'DAV',
];

/**
 * Adapts one of our handlers to webdav-server's method interface. Always `chunked`, so the
 * library hands us the request stream instead of buffering Content-Length bytes first.
 */
function asLibraryMethod(handler: MethodHandler, services: DavServices): dav.HTTPMethod {
  return {
    chunked(lctx: dav.HTTPRequestContext, _input, done: () => void): void {
      const state = stateOf(lctx.request);
      if (!state) {
        lctx.response.statusCode = 500;
        done();
        return;
      }
      for (const h of LIBRARY_HEADERS_WE_DROP) lctx.response.removeHeader(h);
      const ctx: DavContext = {
        req: lctx.request,
        res: lctx.response,
        services,
        state,
        path: state.path,
        user: lctx.user?.username ?? null,
      };
      void runHandler(ctx, handler).then(() => {
        if (!lctx.response.writableEnded && !lctx.response.destroyed) done();
      });
    },
  };
}
