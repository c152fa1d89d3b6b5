# The altsim release binary on a small base image, for sweeps on a batch cluster
# (deploy/kubernetes, deploy/slurm; docs/scale-out.md).
#   docker build -t altsim .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
COPY examples examples
RUN cargo build --release --locked --bin altsim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/altsim /usr/local/bin/altsim
ENTRYPOINT ["altsim"]
