# syntax=docker/dockerfile:1
# The production image: the same steps as `npm run test:build` (build, then `npm ci --omit=dev` and `node dist/main.js`).
ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# The install runs the postinstall (Prisma client generation), which needs the schema and its script.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# src/ and scripts/ stay beside dist/ for the operator commands (`npm run -s apikey`, `db:setup-admin`,
# `db:sync-stripe`, ...), which run through tsx, a runtime dependency.
COPY src ./src
COPY --from=build /app/dist ./dist
# Local file storage (and the embedded PostgreSQL, if ever allowed here) live in DATA_DIR, the only writable path.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=5s --start-period=90s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
