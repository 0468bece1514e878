# syntax=docker/dockerfile:1
# The rolecall image: one binary on distroless, run as the
# distroless `nonroot` user (UID/GID 65532, the chart's runAsUser). The same
# image runs `rolecall operator` and `rolecall scim`.
#
#   docker build -t ghcr.io/rolecall/rolecall:0.1.0 .
#
# (It is not built in CI: the machines that run `make test` have no container engine.)

# --- build: the release binary, with the dependencies cached in their own layer.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/.fingerprint/rolecall-*
COPY src ./src
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/rolecall /out/rolecall

# --- run: distroless cc (glibc, CA certificates, /etc/passwd with nonroot), no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/rolecall /usr/local/bin/rolecall
USER 65532:65532
# SCIM (HTTPS) and the operator's /metrics; the chart sets which address each listens on.
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/rolecall"]
CMD ["--help"]
