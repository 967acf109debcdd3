# syntax=docker/dockerfile:1.7
# aomi's container image: the `aomi` binary and the built web page on a slim, shell-less runtime
# that runs as a non-root user. Build: `docker build -t aomi .` (see docs/ops.md).
#
# Stages: `web` builds the page with npm, `build` the binary with cargo; the runtime copies only
# their outputs, so no compiler, package manager, source or secret reaches the final image.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
# The page's types come from the committed OpenAPI document.
COPY docs/openapi.json /src/docs/openapi.json
RUN npm run build

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml clippy.toml ./
COPY crates ./crates
COPY contracts ./contracts
# The registry and target caches persist between builds (BuildKit); the binary is copied out of
# the cached target directory, which the final stage never sees.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p aomi --bin aomi \
    && install -D -m 0755 target/release/aomi /out/aomi \
    && install -d /out/data

# Distroless "cc": glibc, libgcc, CA certificates and a `nonroot` user (65532), no shell and no
# package manager. aomi links TLS (rustls) and SQLite statically.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="aomi" \
      org.opencontainers.image.description="A chat assistant for EVM blockchains" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/aomi /usr/local/bin/aomi
COPY --from=web /src/web/dist /srv/aomi/web
# SQLite's directory when no AOMI_DATABASE_URL is set: the only place the process writes.
COPY --from=build --chown=65532:65532 /out/data /srv/aomi/data
VOLUME ["/srv/aomi/data"]
WORKDIR /srv/aomi
ENV AOMI_BIND=0.0.0.0:8080 \
    AOMI_WEB_DIR=/srv/aomi/web \
    AOMI_DATA_DIR=/srv/aomi/data \
    AOMI_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
# `aomi probe` asks this instance's /readyz: unhealthy while the store is unreachable or the
# instance drains for a shutdown (the image has no shell and no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/aomi", "probe", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/aomi"]
CMD ["serve"]
