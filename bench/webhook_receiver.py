#!/usr/bin/env python3
"""A webhook receiver on loopback for bench/monitor.sh: answers 204 to every POST and appends
one JSON line per delivery to LOG: {"at": arrival (time.time()), "type", "group"}.
Usage: webhook_receiver.py PORT LOG"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path = int(sys.argv[1]), sys.argv[2]
log = open(log_path, "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        at = time.time()
        try:
            event = json.loads(body)
            line = {"at": at, "type": event.get("type"), "group": event.get("data", {}).get("group")}
        except ValueError:
            line = {"at": at, "type": None, "group": None}
        log.write(json.dumps(line) + "\n")
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
