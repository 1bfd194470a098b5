# syntax=docker/dockerfile:1
# Baton's image: the TypeScript compiled to JavaScript (dist/) on Node.js 22 LTS, production dependencies only,
# running as uid 10001 with nothing writable but what Kubernetes mounts (manifests/base: readOnlyRootFilesystem,
# an emptyDir on /tmp).
#
#   docker build -t registry.example.com/platform/baton:0.1.0 .
#   docker run --rm -v "$PWD/baton.yaml:/baton.yaml:ro" registry.example.com/platform/baton:0.1.0 check-config /baton.yaml --skip-env
#
# The roles are arguments: `web`, `worker`, or `start` (both, the default).
#
# npm ci: exactly the lockfile, which holds every platform's optional packages (amd64 and arm64 builds alike).
# --ignore-scripts: nothing Baton runs needs an install script (the optional native msgpack build falls back to its
# JavaScript implementation).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production
# A 2 MB young generation instead of 16: Baton allocates little, and each process stays well under its 150 MB
# budget (bench/cold-start.ts reads this line and the ENTRYPOINT, and measures the image's way of running).
ENV NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1"
RUN groupadd --system --gid 10001 baton \
  && useradd --system --uid 10001 --gid baton --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin baton
WORKDIR /app
# Owned by root and not writable by Baton.
COPY package.json ./
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 3000
# --optimize-for-size: V8 favours memory over speed (Baton is idle between incidents and I/O-bound during one).
# No --enable-source-maps: it keeps every source map in memory (about 10 MB); stack traces name dist/ files.
ENTRYPOINT ["node", "--optimize-for-size", "dist/cli.js"]
CMD ["start"]
