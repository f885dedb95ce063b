# syntax=docker/dockerfile:1

# ---- build: compile TypeScript to dist/ (with migrations) and the web UI to web/dist ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The Node-RED package is a workspace: npm needs its manifest, and the root
# `prepare` step its build script (it skips without the nodes' sources).
COPY node-red/package.json ./node-red/
COPY scripts ./scripts
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
# The hub and the web UI (web/ → web/dist, decision 0150).
RUN npm run build

# ---- runtime: production dependencies and the compiled hub only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` runs scripts/build-node-red.mjs (skips without sources) and
# scripts/build-web.mjs, which finds no vite here and keeps the built UI.
COPY node-red/package.json ./node-red/
COPY scripts/build-web.mjs scripts/build-node-red.mjs ./scripts/
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# DATA_DIR (compose sets /data): demo device credentials, spool, embedded database.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 1883 8080
CMD ["node", "dist/hub/main.js"]
