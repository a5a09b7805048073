# The model API in a container: `lifecycle serve` on port 8000 with the packages of the runtime
# lock (requirements/runtime.txt: the base install, no extra, no test or lint tool), serving the
# trained model in models/ (run `dvc repro` or `dvc pull` before building). docs/deployment.md,
# "Run it in a container", has the commands; .dockerignore keeps data, caches and tooling out.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The pinned packages first, every file checked against the lock's hashes; then the library from
# src/ without dependencies, built by the setuptools the lock pins (nothing fetched unchecked).
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && rm -rf build src/*.egg-info
COPY . .

# Not root: a compromised server can neither change the model nor the installed packages.
RUN useradd --system --uid 10001 --no-create-home lifecycle
USER lifecycle

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# Arguments given to `docker run IMAGE ...` are added to these (e.g. --workers 2).
ENTRYPOINT ["lifecycle", "serve", "--host", "0.0.0.0", "--port", "8000"]
