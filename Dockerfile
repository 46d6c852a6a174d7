# lynkflow: API, control plane, dashboard and (unless LYNKFLOW_INPROC_WORKERS=0) in-process workers.
# ffmpeg comes from the imageio-ffmpeg wheel and PyAV, so pip alone installs the media stack.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LYNKFLOW_DATA_DIR=/data

RUN useradd --create-home --uid 10001 lynkflow

# A plain (non-editable) install: the `lynkflow` package carries its migrations and fixtures,
# so the sources are not needed once it is installed.
COPY pyproject.toml README.md /tmp/lynkflow-src/
COPY app /tmp/lynkflow-src/app
COPY migrations /tmp/lynkflow-src/migrations
COPY fixtures /tmp/lynkflow-src/fixtures
RUN pip install /tmp/lynkflow-src && rm -rf /tmp/lynkflow-src \
    && mkdir -p /data && chown lynkflow:lynkflow /data

USER lynkflow
WORKDIR /home/lynkflow
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/_lynkflow/ready', timeout=2).status == 200 else 1)"

CMD ["lynkflow", "serve", "--host", "0.0.0.0", "--port", "8080"]
