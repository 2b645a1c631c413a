"""The HTTP API and the page: ``GET /`` (the page), ``POST /translate``, ``GET /health``, ``GET /info``.

FastAPI on uvicorn (one process, so the model is in memory once): requests are read on the event loop, decoded by a
few threads, translated by the batcher's one thread, and encoded by the few threads again.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import ClientDisconnect

from translate.serving.batching import Batcher
from translate.serving.model import RequestError, ServedModel, Translation

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 2**20  # a 16-megapixel PNG is under 50 MB; larger uploads are refused before they are read
_RAW_TYPES = ("image/", "application/octet-stream")


def create_app(
    served: ServedModel, *, max_batch: int = 8, max_wait_s: float = 0.005, decode_threads: int = 4
) -> FastAPI:
    """The server's app for ``served``: requests of equal translation and padded size are translated together,
    up to ``max_batch`` at a time, after waiting at most ``max_wait_s`` for a batch to fill. Uploads are decoded and
    answers encoded by ``decode_threads`` threads: a few keep the cores for the model and bound the decodes running
    at once (a 16-megapixel upload is 200 MB as floats)."""

    lifespan = _lifespan(served, max_batch, max_wait_s, decode_threads)
    app = FastAPI(title="translate", lifespan=lifespan, docs_url=None, redoc_url=None)
    page = files("translate.serving").joinpath("static", "index.html").read_text(encoding="utf-8")
    app.add_exception_handler(RequestError, _refused)
    app.add_exception_handler(ClientDisconnect, _disconnected)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    @app.get("/health")
    async def health(request: Request) -> dict:
        return {"status": "ok", **vars(request.app.state.batcher.stats)}  # requests, batches, largest_batch

    @app.get("/info")
    async def info() -> dict:
        return served.info() | {"max_batch": max_batch}

    @app.post("/translate")
    async def translate_image(
        request: Request, direction: str | None = None, target_domain: str | None = None, attrs: str | None = None
    ) -> Response:
        """An image (the body, or the multipart field ``image``) -> its translation, PNG (JPEG for a JPEG)."""
        translation = served.translation(direction, target_domain, attrs)
        return await _translated(request, served, translation)

    return app


def _lifespan(served: ServedModel, max_batch: int, max_wait_s: float, decode_threads: int):
    """The batcher and the coder threads, started with the server and stopped after its last request."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # a batch's key: (its Translation, the padded image shape)
        app.state.batcher = Batcher(lambda key, batch: served.translate(key[0], batch), max_batch=max_batch,
                                    max_wait_s=max_wait_s)  # fmt: skip
        app.state.coders = ThreadPoolExecutor(decode_threads, thread_name_prefix="translate-decode")
        yield
        app.state.batcher.close()
        app.state.coders.shutdown()

    return lifespan


async def _refused(request: Request, error: RequestError) -> JSONResponse:
    return JSONResponse({"detail": error.reason}, status_code=error.status)


async def _disconnected(request: Request, error: ClientDisconnect) -> Response:
    """A client that hangs up mid-upload is one log line, not uvicorn's 30-line traceback; no one reads the answer."""
    client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
    log.warning("%s disconnected during its upload to %s %s: nothing translated", client, request.method,
                request.url.path)  # fmt: skip
    return Response(status_code=400)


async def _translated(request: Request, served: ServedModel, translation: Translation) -> Response:
    """Decode the upload on the coder threads, translate it in a batch of its key, encode the answer."""
    loop, coders = asyncio.get_running_loop(), request.app.state.coders
    prepared = await loop.run_in_executor(coders, served.prepare, await _upload(request))
    key = (translation, tuple(prepared.image.shape))
    try:
        result = await asyncio.wrap_future(request.app.state.batcher.submit(key, prepared))
    except Exception as error:  # noqa: BLE001 (the model failed: one line for the client, the traceback logged)
        log.exception("translation failed")
        raise HTTPException(500, f"the translation failed: {type(error).__name__}: {error}") from None
    body = await loop.run_in_executor(coders, served.encode, result, prepared.jpeg)
    return Response(body, media_type="image/jpeg" if prepared.jpeg else "image/png")


async def _upload(request: Request) -> bytes:
    """The image bytes of a raw body (image/*, application/octet-stream) or of the multipart field ``image``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise RequestError(413, f"the upload is {int(length)} bytes, over this server's limit of {MAX_BODY_BYTES}")
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8)
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "the multipart form has no file field 'image'; send the image as 'image'")
        return await upload.read()
    if content_type and not content_type.startswith(_RAW_TYPES):
        raise RequestError(415, f"Content-Type {content_type} is not an image; send image/* (or application/"
                           "octet-stream) as the body, or multipart/form-data with the field 'image'")  # fmt: skip
    body = bytearray()
    async for chunk in request.stream():  # counted as it arrives: a chunked upload without a length is capped too
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(413, f"the upload is over this server's limit of {MAX_BODY_BYTES} bytes")
    return bytes(body)
