# wsrelay in a container: a build stage compiles the TypeScript, the runtime stage holds only
# dist/, the production node_modules and a config, and runs as the unprivileged `node` user of
# node:20-slim. Build and run from the repository root:
#   docker build -t wsrelay .
#   docker run --rm -e INGEST_TOKEN=... -p 24224:24224 -p 5170:5170 -p 2020:2020 \
#     -v wsrelay-chunks:/var/lib/wsrelay wsrelay
# Another config: -v /path/to/wsrelay.conf:/etc/wsrelay/wsrelay.conf:ro. Health: GET :2020/healthz.
# Kept minimal on purpose: it is not built by the test suite (the development machine has no
# container runtime), so it has never been built there; see docs/OPERATIONS.md.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY examples/wsrelay.conf /etc/wsrelay/wsrelay.conf
RUN mkdir -p /var/lib/wsrelay && chown node:node /var/lib/wsrelay
USER node
VOLUME ["/var/lib/wsrelay"]
EXPOSE 24224 5170 2020
# SIGTERM (docker stop) delivers what is buffered within Grace seconds, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["-c", "/etc/wsrelay/wsrelay.conf"]
