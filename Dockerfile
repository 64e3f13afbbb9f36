# Rampart in a container: a release build, then a small runtime image running as a non-root user.
#   docker build -t rampart .
#   head -c 32 /dev/urandom | base64 > master-key && chmod 600 master-key
#   docker run --rm -v rampart-data:/var/lib/rampart -v "$PWD/master-key:/run/secrets/master-key:ro" \
#     -e RAMPART_MASTER_KEY_FILE=/run/secrets/master-key rampart init      # the admin key, once
#   docker run -d -p 8470:8470 -v rampart-data:/var/lib/rampart \
#     -v "$PWD/master-key:/run/secrets/master-key:ro" -e RAMPART_MASTER_KEY_FILE=/run/secrets/master-key rampart
# Probes: GET /v1/health/live and /v1/health/ready. Put TLS in front, or mount a certificate and
# set RAMPART_TLS_CERT and RAMPART_TLS_KEY.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p rampart \
 && install -m 0755 target/release/rampart /usr/local/bin/rampart

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/rampart --shell /usr/sbin/nologin rampart \
 && install -d -o rampart -g rampart -m 0700 /var/lib/rampart
COPY --from=build /usr/local/bin/rampart /usr/local/bin/rampart
USER 10001:10001
WORKDIR /var/lib/rampart
ENV RAMPART_DATA_DIR=/var/lib/rampart \
    RAMPART_LISTEN=0.0.0.0:8470
VOLUME ["/var/lib/rampart"]
EXPOSE 8470
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rampart"]
CMD ["serve"]
