# syntax=docker/dockerfile:1
# The wspass container image. Three stages:
#   build      the full `npm ci` (its `install` script builds the native tunnel engine, `prepare` runs tsc),
#              against the Node headers of this image itself (/usr/local/include/node), not the `node`
#              devDependency's, so the addon matches the runtime it ships with;
#   prod-deps  production node_modules only, without install scripts (none of them has one), so nothing
#              of the `node` devDependency is in the image;
#   runtime    Node 22 on Debian slim: dist/, the built addon and production node_modules; tini as PID 1
#              (it forwards SIGTERM to wspass and reaps); a non-root user; nothing written under /app, so
#              it runs with a read-only root filesystem.
# Build: docker build -t wspass .   Run: docker run -p 8080:8080 -v $PWD/wspass.yaml:/etc/wspass/wspass.yaml:ro wspass

FROM node:22-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json binding.gyp ./
COPY scripts/ scripts/
COPY src/ src/
ENV WSPASS_NODEDIR=/usr/local
RUN npm ci
# build-native.mjs never fails (wspass then runs its JavaScript engine); an image must carry the addon.
RUN test -f build/Release/wspass_native.node && test -f dist/src/cli/main.js

FROM node:22-bookworm AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:22-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=prod-deps /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY --from=build /src/build/Release/wspass_native.node build/Release/wspass_native.node
COPY deploy/image/entrypoint.sh /usr/local/bin/wspass-entrypoint
# The `node` user of the base image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 9901 9902
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/wspass-entrypoint"]
CMD ["run", "--config", "/etc/wspass/wspass.yaml"]
