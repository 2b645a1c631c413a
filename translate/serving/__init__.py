"""``translate serve``: a model behind an HTTP API (``POST /translate``, ``/health``, ``/info``) and a page at ``/``.

``model`` checks, decodes and translates uploads with predict's own steps, ``batching`` groups concurrent requests
of one translation and padded size, ``app`` is the FastAPI application, ``static/index.html`` the page.
"""
