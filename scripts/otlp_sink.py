#!/usr/bin/env python3
"""A minimal OTLP/gRPC receiver for benchmarks: accepts every export (traces, metrics, logs), counts the bytes and
answers the empty success response, so a node's exporter does real work (batching, encoding, gRPC) without a
collector installed. Needs `pip install grpcio`. Not used by the tests (they have their own receiver in Rust).

    python3 scripts/otlp_sink.py 4317      # then VANE__TELEMETRY__OTLP_ENDPOINT=http://127.0.0.1:4317
"""
import signal
import sys
import threading
from concurrent import futures

import grpc

received = {"calls": 0, "bytes": 0}
lock = threading.Lock()


def export(request: bytes, _context) -> bytes:
    with lock:
        received["calls"] += 1
        received["bytes"] += len(request)
    return b""  # an empty Export*ServiceResponse: full success


class AnyExport(grpc.GenericRpcHandler):
    """Serves every method path with `export` on raw bytes (no protobuf classes needed)."""

    def service(self, _details):
        return grpc.unary_unary_rpc_method_handler(export)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4317
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[AnyExport()])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()

    def stop(*_):
        print(f"received {received['calls']} exports, {received['bytes']} bytes", flush=True)
        server.stop(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"otlp sink on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
