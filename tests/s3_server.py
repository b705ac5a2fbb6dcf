"""An S3 server on 127.0.0.1 for the tests: moto in server mode, in a thread of the test process.

moto 5.2.1 answers CompleteMultipartUpload with a `<CompleteMultipartUploadResponse>` root
where S3 (and the AWS C++ SDK inside pyarrow) has `<CompleteMultipartUploadResult>`; pyarrow
then takes the answer for an error embedded in a 200 and fails every multipart upload. The
server here renames that root element, and nothing else.

    python tests/s3_server.py 5123     # the same server on its own, for trying a sweep by hand
"""

from __future__ import annotations

import sys
import threading

MOTO_ROOT = b"CompleteMultipartUploadResponse"
S3_ROOT = b"CompleteMultipartUploadResult"
# what a sweep needs to reach the server (moto accepts any key pair)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # no credential lookups on the network
}


def _s3_roots(app):
    def wrapped(environ, start_response):
        held = {}

        def hold(status, headers, exc_info=None):
            held["status"], held["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, hold))
        headers = held["headers"]
        if MOTO_ROOT in body:
            body = body.replace(MOTO_ROOT, S3_ROOT)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
        start_response(held["status"], headers)
        return [body]

    return wrapped


class S3Server:
    """`with S3Server() as s3:` serves on 127.0.0.1:`s3.port` (a free port) until the block ends."""

    def __init__(self, port: int = 0):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", port, _s3_roots(DomainDispatcherApplication(create_backend_app)), threaded=True)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-server", daemon=True)

    def create_bucket(self, name: str) -> None:
        import pyarrow.fs

        pyarrow.fs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{self.port}", scheme="http", access_key="testing", secret_key="testing", region="us-east-1",
            allow_bucket_creation=True,
        ).create_dir(name)

    def __enter__(self) -> "S3Server":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


if __name__ == "__main__":
    server = S3Server(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"S3 on {server.endpoint}", flush=True)
    server._server.serve_forever()
