# ClassMentor in a container: slim Python, non-root user, the database on a volume,
# the token from the environment (DISCORD_TOKEN) or a mounted secret file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md config.example.toml ./
COPY bot ./bot
COPY cogs ./cogs
COPY db ./db
# DejaVu Sans draws emoji in names on letters home (the other scripts' fonts come from PyPI).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN pip install . \
    && useradd --create-home --uid 10001 classmentor \
    && mkdir -p /data \
    && chown classmentor /data
# The example config with the database moved onto the volume.
RUN sed -e 's|^path = "classmentor.db"|path = "/data/classmentor.db"|' \
        -e 's|^backup_dir = "backups"|backup_dir = "/data/backups"|' \
        config.example.toml > /app/config.toml
USER classmentor
VOLUME ["/data"]
ENV CLASSMENTOR_CONFIG=/app/config.toml
ENTRYPOINT ["classmentor"]
CMD ["run"]
