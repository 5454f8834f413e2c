# The classroom gateway: python -m venice_nb.classroom serve, holding the teacher's key.
#   docker build -t venice-classroom .
#   docker run -d --name classroom -e VENICE_API_KEY -v classroom:/data -p 127.0.0.1:8800:8800 venice-classroom
#   docker exec classroom python -m venice_nb.classroom add ada --budget 2
# Put a TLS reverse proxy in front (README, "Classroom"); the key comes from the environment only.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    XDG_DATA_HOME=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY venice_nb ./venice_nb
RUN pip install ".[classroom]" \
    && useradd --create-home --uid 10001 classroom \
    && mkdir -p /data \
    && chown classroom /data

USER classroom
VOLUME ["/data"]
EXPOSE 8800

# The ledger lives in /data/venice_nb/classroom.sqlite3 (the default under XDG_DATA_HOME);
# admin commands run in the same container with docker exec and find it there.
ENTRYPOINT ["python", "-m", "venice_nb.classroom"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8800"]
