"""A stand-in for the legacy system behind the example (port 9000 by default).

GET /bookings/B<n> answers a made-up booking as JSON; every other GET serves the files of the
current folder, like `python3 -m http.server`.
"""
import datetime
import http.server
import json
import re
import sys

PASSENGERS = ["Ada", "Bob", "Chen", "Dana"]


class Legacy(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        match = re.fullmatch(r"/bookings/B([0-9]+)", self.path.split("?")[0])
        if not match:
            return super().do_GET()
        n = int(match.group(1))
        if n == 0:
            return self.answer(404, {"message": "No such booking"})
        self.answer(200, {
            "bookingId": f"B{n}",
            "flightId": "LH123-1",
            "passenger": PASSENGERS[n % len(PASSENGERS)],
            "seat": f"{n % 30 + 1}{'ABCDEF'[n % 6]}",
            "status": "confirmed",
            "fareClass": "Y",
            "updatedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        })

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Legacy)
    # Port 0 takes a free port; the first line says which.
    print(f"legacy backend on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
