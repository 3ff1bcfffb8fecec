FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HANDOFF_VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crm crm
COPY leads leads
COPY sla sla
RUN pip install --no-cache-dir .
COPY . .
# The app runs from /app: its own modules compiled once here, as pip did for the packages.
RUN python -m compileall -q crm leads sla
RUN DEBUG=false SECRET_KEY=build-only-secret-key-for-collectstatic-not-used-at-runtime-xx \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput
RUN useradd --create-home handoff && mkdir -p /app/var && chown -R handoff /app/var
USER handoff
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--preload"]
