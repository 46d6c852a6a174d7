# lynkflow: API, control plane, dashboard and (unless LYNKFLOW_INPROC_WORKERS=0) in-process workers.
# ffmpeg comes from the imageio-ffmpeg wheel and PyAV, so pip alone installs the media stack.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LYNKFLOW_DATA_DIR=/data

RUN useradd --create-home --uid 10001 lynkflow
WORKDIR /srv/lynkflow

COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY fixtures ./fixtures
# Editable install keeps migrations/ and fixtures/ next to the package, where the app finds them.
RUN pip install -e . && mkdir -p /data && chown lynkflow:lynkflow /data

USER lynkflow
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/_lynkflow/ready', timeout=2).status == 200 else 1)"

CMD ["lynkflow", "serve", "--host", "0.0.0.0", "--port", "8080"]
