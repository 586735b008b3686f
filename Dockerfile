# The one controller image. Each Deployment runs its own bundle from it:
#   node dist/controllers/<name>.js   (backup, restore, offset-reset, offset-rollback, validation,
#                                      and console: the optional read-only web console)
# and the CLI is dist/cli/kafka-backup.js. The bundles carry every dependency except the two
# native addons (lz4-napi, snappy, @node-rs/crc32), which are installed for the image's own
# platform; code they load only on first use (storage SDKs, the data path) sits beside them in
# dist/chunks/.
#
#   docker build -t registry.example.com/kafka-backup-operator:0.1.0 .
#
# BASE is any image with Node.js 24, npm and a uid 1000 user; the local stack, which cannot pull,
# builds on a base of its own (test/stack/images/images.ts).
ARG BASE=node:24-slim

FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the image's own Node runs the build (the `node` devDependency is not needed).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY build.ts tsconfig.json ./
COPY controllers controllers
COPY engine engine
COPY crds crds
RUN node build.ts
# The native addons at the locked versions, with their prebuilt binary for this platform only.
RUN mkdir /natives && cd /natives \
 && node -e 'const p = require("/src/package-lock.json").packages; const v = (n) => p["node_modules/" + n].version; require("fs").writeFileSync("package.json", JSON.stringify({ private: true, dependencies: { "lz4-napi": v("lz4-napi"), snappy: v("snappy"), "@node-rs/crc32": v("@node-rs/crc32") } }))' \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /natives/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The base image's `node` user (uid/gid 1000), matching the Deployments' runAsUser.
USER 1000:1000
EXPOSE 8080
CMD ["node", "--max-semi-space-size=2", "--v8-pool-size=1", "--expose-gc", "dist/controllers/backup.js"]
