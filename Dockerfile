# easegress-rs in a container: a build stage with the Rust toolchain, then a small runtime
# image running as an unprivileged user.
#
#   docker build -t easegress-rs .
#   docker run -p 2381:2381 -p 10080:10080 easegress-rs
#
# The admin API listens on all interfaces inside the container so that a published port
# reaches it; set basic-auth (or keep the port unpublished) before exposing it further.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# With the committed profile of the request path when this rustc's LLVM can read it
# (pgo/README.md); without it otherwise.
RUN RUSTFLAGS="$(sh pgo/rustflags.sh)" cargo build --release --locked -p easegress-server -p egctl

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/easegress --shell /usr/sbin/nologin easegress \
 && mkdir -p /var/lib/easegress /var/log/easegress \
 && chown easegress:easegress /var/lib/easegress /var/log/easegress
COPY --from=build /src/target/release/easegress-server /src/target/release/egctl /usr/local/bin/
USER easegress
WORKDIR /var/lib/easegress
EXPOSE 2381
HEALTHCHECK --interval=10s --timeout=3s CMD ["egctl", "--server", "127.0.0.1:2381", "health"]
ENTRYPOINT ["easegress-server"]
CMD ["--home-dir", "/var/lib/easegress", "--api-addr", "0.0.0.0:2381"]
