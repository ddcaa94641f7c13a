# contactlog API and scheduler image (the same image runs `migrate`, `serve` and later `scheduler`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 contactlog
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api api
COPY core core
COPY contacts contacts
COPY consent consent
COPY scheduler scheduler
COPY migrations migrations
RUN pip install .

USER contactlog
EXPOSE 8000
CMD ["contactlog", "serve", "--host", "0.0.0.0", "--port", "8000"]
