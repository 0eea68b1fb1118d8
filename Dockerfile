# Marble Synch: one instance per container, data on the /data volume.
#   docker build -t marble .
#   docker run -d -v marble-data:/data -p 8437:8437 -p 8438:8438 -p 8439:8439 \
#     -e MARBLE_NAME=nas -e MARBLE_API_TOKEN=... marble
# Settings come from MARBLE_* variables (README, "Running an instance"): MARBLE_API_TOKEN
# protects the HTTP API (it listens beyond loopback here), MARBLE_USERS names a users file
# (mount it) for WebDAV and the API, MARBLE_NFS_ALLOW the NFS clients, MARBLE_PEERS and
# MARBLE_TRUST the peers.

# ---- build: dev dependencies, the native addons (better-sqlite3, marble-native), TypeScript ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
# toolchain for marble-native, and for better-sqlite3 when no prebuilt binary fits
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# native/ is a local package (marble-native, built by node-gyp during npm ci)
COPY native native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin bin
COPY src src
COPY protocols protocols
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and the build output only ------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# a fixed uid, so volumes can be prepared for it (docker-compose.yml does)
RUN groupadd --system --gid 10001 marble \
    && useradd --system --uid 10001 --gid marble --home-dir /data --no-create-home --shell /usr/sbin/nologin marble \
    && mkdir -p /data && chown marble:marble /data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/native/package.json /app/native/index.cjs native/
COPY --from=build /app/native/build/Release/marble_native.node native/build/Release/
COPY --from=build /app/dist/src dist/src
COPY --from=build /app/dist/protocols dist/protocols
COPY bin bin
USER marble
VOLUME ["/data"]
# WebDAV, HTTP API (status page, /metrics, peers at /peer), NFS v3 + MOUNT
EXPOSE 8437 8438 8439
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8438/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/marble.js", "serve", "--data", "/data", "--webdav", "0.0.0.0:8437", "--http", "0.0.0.0:8438", "--nfs", "0.0.0.0:8439"]
