# syntax=docker/dockerfile:1
# Airclutch server image: `airclutch server` on compiled JavaScript, as a non-root user, without dev
# dependencies. The project (airclutch.config.ts, dags/, policies/) is mounted or copied at /project;
# see compose.yaml and the README's "Container image" section.

# Build tools for better-sqlite3's native addon, which compiles when no prebuilt binary fits.
FROM node:20-bookworm-slim AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

# Compiles src/ to dist/ with the dev dependencies (TypeScript).
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime dependencies only, native addons built here where the tools are.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    AIRCLUTCH_HOST=0.0.0.0 \
    AIRCLUTCH_PORT=8080 \
    AIRCLUTCH_DATA_DIR=/var/lib/airclutch
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin/airclutch.js ./bin/airclutch.js
COPY templates ./templates
RUN ln -s /app/bin/airclutch.js /usr/local/bin/airclutch \
  && mkdir -p /project /var/lib/airclutch \
  && chown node:node /var/lib/airclutch
# The node image's unprivileged user (uid 1000). The code under /app stays owned by root, read-only to it.
USER node
WORKDIR /project
VOLUME ["/var/lib/airclutch"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AIRCLUTCH_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["airclutch"]
CMD ["server"]
