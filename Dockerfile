# voki in a container: build with the Rust toolchain, run on a small Debian image as a
# non-root user with the data dir on a volume.
#   docker build -t voki .
#   docker run -d -p 8080:8080 -v voki-data:/data -e VOKI_PUBLIC_URL=https://video.clinic.example voki
#   docker exec -it <container> voki tenant create clinic --name "Clinic" --owner-email … --owner-password …

FROM rust:1.92-bookworm AS build
WORKDIR /src
# Dependencies first, so a change to the sources does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for b in reports socket writes tenants; do echo 'fn main() {}' > benches/$b.rs; done \
    && cargo fetch --locked
COPY . .
RUN cargo build --release --locked --bin voki && strip target/release/voki

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin voki \
    && mkdir -p /data && chown voki:voki /data
COPY --from=build /src/target/release/voki /usr/local/bin/voki
USER voki
ENV VOKI_DATA_DIR=/data \
    VOKI_LISTEN=0.0.0.0:8080 \
    VOKI_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/voki"]
CMD ["serve"]
