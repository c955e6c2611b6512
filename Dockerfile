# One image for every process: the command picks the API, a worker, or both.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bin ./bin
RUN npm run build

FROM node:20-bookworm-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
# TypeScript comes along as valibot's optional peer (under @bull-board/api); nothing needs it at run time.
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/typescript

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 WORKER_METRICS_PORT=9464
WORKDIR /app
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
COPY console ./console
USER node
EXPOSE 3000 9464
# One probe for every command: the API's /health on PORT, or a worker's on WORKER_METRICS_PORT.
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s \
  CMD ["node", "dist/bin/healthcheck.js"]
# API: the default (it binds 0.0.0.0, so it needs API_KEYS and ADMIN_API_KEYS).
# Worker: `docker run IMAGE node dist/workers/calls/main.js` (no keys needed). See docker-compose.yml.
CMD ["node", "--max-old-space-size=1024", "dist/src/server.js"]
