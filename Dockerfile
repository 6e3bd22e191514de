# Conciergerie: one image for the web, worker and beat processes.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=conciergerie.settings

# Pango and HarfBuzz for WeasyPrint's PDFs, gettext for the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 conciergerie
WORKDIR /app

COPY pyproject.toml README.md ./
COPY conciergerie ./conciergerie
COPY patients ./patients
COPY specialists ./specialists
COPY appointments ./appointments
COPY teleconsult ./teleconsult
COPY billing ./billing
COPY reimbursements ./reimbursements
RUN pip install .

COPY . .
# Build-time only values: the real ones come from the environment at run time.
RUN DJANGO_SECRET_KEY=build DJANGO_DEBUG=false \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDAwMDAwMDAwMDAwMDAwMDA= \
    python manage.py compilemessages --ignore=.venv -v 0 \
    && DJANGO_SECRET_KEY=build DJANGO_DEBUG=false \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDAwMDAwMDAwMDAwMDAwMDA= \
    python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/var/media && chown -R conciergerie /app/var

USER conciergerie
EXPOSE 8000
CMD ["gunicorn", "conciergerie.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
