#!/usr/bin/env python3
"""A loopback SMTP server for mamori's tests (the standard library's SMTP server, independent of
mamori's own code). It accepts every message and writes it as received to DIR/<n>.eml, with the
envelope in two leading lines (X-Envelope-From, X-Envelope-To). It prints the port it listens on
and serves until it is killed.

    scripts/smtp-sink.py DIR
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import asyncore  # noqa: E402
import smtpd  # noqa: E402


class Sink(smtpd.SMTPServer):
    def __init__(self, outdir):
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.outdir = outdir
        self.count = 0

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.count += 1
        path = os.path.join(self.outdir, "%06d.eml" % self.count)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-From: " + mailfrom.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(rcpttos).encode() + b"\r\n")
            f.write(data)
        os.rename(tmp, path)
        return None


def main():
    if len(sys.argv) != 2:
        print("usage: smtp-sink.py DIR", file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    server = Sink(sys.argv[1])
    print(server.socket.getsockname()[1], flush=True)
    asyncore.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
