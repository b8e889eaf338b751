# tacker-vim container image.
#
#   docker build -t tacker-vim .
#   docker run --rm -p 9890:9890 tacker-vim          # SQLite in /var/lib/tacker, no set-up
#
# Configuration: /etc/tacker/tacker.conf (oslo INI) and OS_<SECTION>__<OPTION> environment
# variables, e.g. OS_DATABASE__CONNECTION=postgresql+psycopg2://user:pw@db/tacker.
# docker-compose.yml runs two instances on PostgreSQL sharing one default key.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src

# Dependencies first, in their own layer: manifests and the lock file with placeholder sources,
# so that editing the service does not rebuild the whole dependency tree.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/
COPY migration/Cargo.toml migration/
RUN mkdir -p src entity/src migration/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && cargo build --release --locked --bin tacker-vim \
    && rm -rf src entity/src migration/src

COPY . .
# COPY keeps the context's timestamps, which may be older than the placeholder build.
RUN find src entity/src migration/src -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bin tacker-vim \
    && install -D -m 0755 target/release/tacker-vim /out/tacker-vim

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The key directory is created here, owned by the service user, so that a named volume mounted
# on it starts with that ownership and `tacker-vim keys generate` can write into it.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tacker --shell /usr/sbin/nologin tacker \
    && install -d -o tacker -g tacker -m 0750 /var/lib/tacker /etc/tacker/vim/fernet_keys \
    && printf '%s\n' \
        '# Container defaults; OS_<SECTION>__<OPTION> environment variables override them.' \
        '[DEFAULT]' \
        'bind_host = 0.0.0.0' \
        'bind_port = 9890' \
        'auth_strategy = noauth' \
        'state_path = /var/lib/tacker' \
        '' \
        '[database]' \
        'connection = sqlite:////var/lib/tacker/tacker.sqlite' \
        '' \
        '[vim_keys]' \
        'openstack = /etc/tacker/vim/fernet_keys' \
        > /etc/tacker/tacker.conf

COPY --from=build /out/tacker-vim /usr/local/bin/tacker-vim

USER tacker
WORKDIR /var/lib/tacker
EXPOSE 9890

# No curl in the image: bash's /dev/tcp is enough to ask for GET / and check the status line.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD timeout 4 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${OS_DEFAULT__BIND_PORT:-9890} \
        && printf "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" >&3 \
        && head -n 1 <&3 | grep -q " 200 "'

ENTRYPOINT ["tacker-vim"]
CMD ["serve", "--config-file", "/etc/tacker/tacker.conf"]
