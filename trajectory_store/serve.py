"""`memup serve-redis`: the store's Redis in the foreground, e.g. on a cluster's head node.

    serve_redis("~/memup-redis", bind="0.0.0.0", advertise_host="10.0.0.1")   # blocks

It starts the embedded server (`start_embedded_redis`), writes its URL (password included) to
`<data_dir>/url` (mode 0600) for the jobs that use it, and runs until SIGTERM or SIGINT, then
stops Redis cleanly (SIGTERM to the child: Redis flushes its AOF) and returns 0. The signal
handler only sets an event; the main loop does the stopping, so a signal can never wait on the
child from inside a handler while the main thread waits on it too.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from trajectory_store.redis_server import start_embedded_redis, write_private_file

URL_FILE = "url"
"""Name of the file in the data dir that holds the server's URL."""
_POLL_S = 0.5


def serve_redis(data_dir: str | os.PathLike, *, port: int | None = None, bind: str = "127.0.0.1",
                advertise_host: str | None = None) -> int:
    """Serves until SIGTERM/SIGINT (exit status 0) or until redis-server exits by itself (1)."""
    stop = threading.Event()
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in handled}
    try:
        server = start_embedded_redis(data_dir, port=port, bind=bind,
                                      advertise_host=advertise_host)
        try:
            url_file = Path(data_dir) / URL_FILE
            write_private_file(url_file, server.url + "\n")
            print(f"redis-server pid {server.pid} on {server.host}:{server.port}; URL in "
                  f"{url_file}", flush=True)
            while not stop.is_set() and server.running():
                stop.wait(_POLL_S)
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        return 0
    print(f"redis-server exited by itself (code {server.process.returncode}); see "
          f"{server.log_file}", flush=True)
    return 1
