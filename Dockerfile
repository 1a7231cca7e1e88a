# syntax=docker/dockerfile:1
# siyu: the Siyu pipeline host (src/Host, AssemblyName siyu), production image.
#   docker build -t siyu:local .
#   docker run --rm -p 8080:8080 siyu:local            # runs: siyu run --config /etc/siyu/siyu.json
# docker-compose.yml builds this image and wires it to Kafka, ClickHouse and PostgreSQL.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Build settings first (central package versions, warnings as errors, SDK pin), then the sources.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
# The embedded ClickHouse engine (chDB) is not shipped: the container talks to a ClickHouse server.
RUN --mount=type=cache,id=siyu-nuget,target=/root/.nuget/packages \
    dotnet publish src/Host/Siyu.Host.csproj -c Release -p:SkipChDb=true -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl is only for the HEALTHCHECK below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
# Default settings; docker-compose.yml mounts deploy/siyu.production.json over it and adds SIYU_* overrides.
COPY deploy/siyu.production.json /etc/siyu/siyu.json
# Non-root: the `app` user (uid 1654) that the .NET images define as $APP_UID.
USER $APP_UID
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["dotnet", "/app/siyu.dll"]
CMD ["run", "--config", "/etc/siyu/siyu.json"]
