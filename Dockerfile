# One image holding mipo, mipo-scanner (served to scanners by the ingest role) and the
# PostgreSQL client tools the backup role uses. The build stage runs the Makefile's own target.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=$VERSION

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/mipo --create-home --uid 10001 mipo
COPY --from=build /src/bin/mipo /src/bin/mipo-scanner /usr/local/bin/
USER mipo
WORKDIR /var/lib/mipo
ENV MIPO_DATA_DIR=/var/lib/mipo
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/mipo"]
CMD ["serve"]
