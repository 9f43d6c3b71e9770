# The relay image: one image for `relay serve` and `relay worker`.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY relay ./relay
COPY workers ./workers
RUN pip install . && useradd --system --uid 10001 relay
USER relay
EXPOSE 8000
ENTRYPOINT ["relay", "--config", "/etc/relay/relay.toml"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
