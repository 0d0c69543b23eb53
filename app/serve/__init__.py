"""`glmv serve`: the resident local model behind an OpenAI-compatible HTTP API, for other tools.

Qt-free, like ``app.core``. ``service`` holds what a server runs on (an ``Engine``, its request queue, the
limits), ``app`` the Starlette routes, ``server`` runs them with uvicorn (in the foreground for `glmv serve`, on
a thread for the window's "share" setting), ``cli`` is the command. Starlette and uvicorn are the optional
``serve`` extra: nothing here is imported unless a server is started.
"""

# Defaults that `glmv serve --help` shows, here so the help does not import the server to show them.
DEFAULT_MAX_QUEUE = 16
DEFAULT_MAX_REQUEST_MB = 32
