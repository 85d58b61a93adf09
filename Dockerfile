FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/app/var
WORKDIR /app

# Exactly the locked versions (make lock), hash-checked; then the project without resolving again.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY bonding bonding
COPY customers customers
COPY nps nps
COPY programs programs
RUN pip install --no-deps .
COPY . .
RUN useradd --system --home /app bonding \
    && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p var && chown -R bonding var
USER bonding

EXPOSE 8000
CMD ["gunicorn", "bonding.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
