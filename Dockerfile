# contactlog's image: one image runs `contactlog migrate`, `serve` and `scheduler`.
# It is built from the project's own wheel, so whatever the package holds, the image holds:
# no list of folders here to fall out of date (.dockerignore keeps the rest out).
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 CONTACTLOG_ENVIRONMENT=production
RUN useradd --create-home --uid 10001 contactlog \
    && mkdir /keys && chown contactlog /keys  # the checkpoint key's volume (docker-compose)
# Every dependency from the lock, at its pinned version and hash; then contactlog's own wheel,
# which adds nothing the lock did not hold.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -rf /wheels

USER contactlog
WORKDIR /home/contactlog
EXPOSE 8000
CMD ["contactlog", "serve", "--host", "0.0.0.0", "--port", "8000"]
