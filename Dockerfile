# Hookyard's gateway (`hookyard serve`) as an image. It ships no configuration: mount yours at
# /etc/hookyard/hookyard.yaml (compose.yaml mounts the example). Events are stored in SQLite
# under the /data volume unless HOOKYARD_STORAGE names a PostgreSQL database.
#
#   docker build -t hookyard .
#   docker run -p 127.0.0.1:8787:8787 -v hookyard-data:/data \
#     -v "$PWD/hookyard.yaml:/etc/hookyard/hookyard.yaml:ro" hookyard

# Production dependencies only, from the lockfile. --ignore-scripts: the package's `prepare`
# builds with TypeScript, which is a dev dependency (the build stage runs it).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The build, with dev dependencies; only its dist/ reaches the image.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production \
    HOOKYARD_STORAGE=sqlite:/data/hookyard.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/LICENSE ./
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The one writable place, owned by the unprivileged `node` user of the base image (created
# before VOLUME so that a new volume starts with this owner). It is also the working
# directory, so a relative path in a mounted config lands in the volume too.
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787
# node:24-slim has no curl: Node's own fetch asks /readyz, which fails while the store cannot
# take a write. Plain HTTP on loopback; set HOOKYARD_PORT when the config listens elsewhere.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HOOKYARD_PORT || 8787) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: it stops accepting, answers what is in flight and
# commits what is queued (give it time: `docker stop -t 20`, compose's stop_grace_period).
ENTRYPOINT ["node", "/app/bin/hookyard.js"]
# --host 0.0.0.0: inside a container, 127.0.0.1 cannot be reached through a published port.
CMD ["serve", "--config", "/etc/hookyard/hookyard.yaml", "--host", "0.0.0.0"]
