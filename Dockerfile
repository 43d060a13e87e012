# The steward image: built on Debian 12 (bookworm) with the packages scripts/setup.sh lists, run on
# bookworm-slim with only the runtime libraries, as a non-root user (uid 10001, which the Kubernetes
# manifests in k8s/ run as).
#
#   docker build -t steward:latest .
#   docker run --rm -p 50051:50051 -p 9464:9464 steward:latest    # every service, in-memory store
#
# The configuration of config/ and playbooks/ is in the image at the binary's default paths
# (/opt/steward/config, /opt/steward/playbooks); the Kubernetes manifests mount their own copies from
# ConfigMaps and pass --config_dir and --playbooks_dir. k8s/README.md says how to deploy it.

FROM debian:bookworm AS build
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
# The packages of scripts/setup.sh (STEWARD_DEBIAN_PACKAGES), the one list, less those that only the
# tests and tools need (redis-server, nodejs, npm). The test libraries stay: CMake looks for them.
COPY scripts/setup.sh /tmp/setup.sh
RUN source /tmp/setup.sh; \
    packages=(); \
    for package in "${STEWARD_DEBIAN_PACKAGES[@]}"; do \
      case "$package" in redis-server|nodejs|npm) ;; *) packages+=("$package") ;; esac; \
    done; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"; \
    rm -rf /var/lib/apt/lists/*
# Built where the runtime stage puts config/ and playbooks/, so that the binary's default
# --config_dir and --playbooks_dir (the source tree's, compiled in) are right in the image too.
WORKDIR /opt/steward
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTEWARD_WERROR=OFF; \
    cmake --build build --target steward; \
    strip build/server/steward

FROM debian:bookworm-slim
# The shared libraries the binary links (readelf -d: NEEDED), by their bookworm package names; apt brings
# their own dependencies. ca-certificates: webhooks go out over HTTPS (libcurl).
RUN apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libcpp-httplib0.11 \
      libcurl4 \
      libgrpc++1.51 \
      libgrpc29 \
      libhiredis0.14 \
      libprotobuf32 \
      libssl3; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --gid 10001 steward; \
    useradd --uid 10001 --gid steward --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin steward
COPY --from=build /opt/steward/build/server/steward /usr/local/bin/steward
COPY --from=build /opt/steward/config /opt/steward/config
COPY --from=build /opt/steward/playbooks /opt/steward/playbooks
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# gRPC, and Prometheus metrics (GET /metrics).
EXPOSE 50051 9464
ENTRYPOINT ["/usr/local/bin/steward"]
# Kubernetes' args: replace these; they repeat both addresses.
CMD ["--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9464"]
