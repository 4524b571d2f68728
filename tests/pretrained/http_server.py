"""A local HTTP server for the download tests: 127.0.0.1, a free port, a thread.

It serves the files the tests write under `root` (URL paths percent-decoded,
query strings ignored), counts the requests per raw path, and can cut a
response short: `cut(name, size, times, send_length)` sends only `size`
bytes of `name` for its next `times` requests, announcing the full length
(`Content-Length`, so the client sees the connection close early) or none.
"""

import collections
import http.server
import os
import threading
import urllib.parse


class Server:
    """`with Server(root) as server: server.url("a.npz")`."""

    def __init__(self, root):
        self.root = os.fspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.requests = collections.Counter()  # raw request path (query kept) -> count
        self.cuts = {}  # file name -> [bytes to send, requests left, send Content-Length]
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        """Stops serving: later requests find the port closed, as offline."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def url(self, name):
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def write(self, name, data):
        """Writes `data` (bytes) as the served file `name` (decoded path)."""
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)

    def cut(self, name, size, times=1, send_length=True):
        self.cuts[name] = [size, times, send_length]

    def count(self, name):
        """Requests for `name` (decoded path), whatever their query."""
        return sum(count for raw, count in self.requests.items()
                   if urllib.parse.unquote(urllib.parse.urlsplit(raw).path) == "/" + name)


def _handler(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            server.requests[self.path] += 1
            name = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            path = os.path.join(server.root, name)
            if not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as handle:
                data = handle.read()
            size, send_length = len(data), True
            cut = server.cuts.get(name)
            if cut is not None and cut[1] > 0:
                cut[1] -= 1
                size, send_length = cut[0], cut[2]
            self.send_response(200)
            if send_length:
                self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[:size])
            self.close_connection = True

        def log_message(self, *args):  # keeps the test output quiet
            pass

    return Handler
