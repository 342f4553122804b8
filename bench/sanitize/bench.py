#!/usr/bin/env python3
"""Runs `mamori sanitize mail` and the Python baseline over the generated corpus, side by side,
and prints messages/s, MB/s and peak RSS (Python standard library only).

Usage: bench.py MAMORI_BINARY CORPUS_DIR [--repeat N]
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_each(cmd_of, files, out_dir):
    """Runs one process per message; returns (seconds, peak RSS in KiB, failures)."""
    peak = 0
    failures = 0
    start = time.perf_counter()
    for f in files:
        p = subprocess.Popen(cmd_of(f, os.path.join(out_dir, os.path.basename(f))),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode not in (0, 1):
            failures += 1
        peak = max(peak, usage.ru_maxrss)
    return time.perf_counter() - start, peak, failures


def run_batch(cmd, out_dir):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss, 0 if status == 0 else 1


def row(name, files, total, secs, rss, failures):
    mb = total / 1e6
    print("%-34s %6d msgs %8.1f MB %8.2f s %9.1f msg/s %8.1f MB/s %8.1f MiB peak RSS%s"
          % (name, len(files), mb, secs, len(files) / secs, mb / secs, rss / 1024,
             "" if not failures else "  (%d failures)" % failures))
    return mb / secs


def main():
    mamori, corpus = sys.argv[1], sys.argv[2]
    baseline = os.path.join(HERE, "baseline.py")
    for name in ("mixed", "attachments"):
        d = os.path.join(corpus, name)
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        total = sum(os.path.getsize(f) for f in files)
        largest = max(os.path.getsize(f) for f in files)
        print("== %s: %d messages, %.1f MB, largest %.2f MB" % (name, len(files), total / 1e6, largest / 1e6))
        with tempfile.TemporaryDirectory() as out:
            s, rss, fail = run_each(lambda i, o: [mamori, "sanitize", "mail", i, "-o", o], files, out)
            m = row("mamori sanitize mail (per message)", files, total, s, rss, fail)
            limit = (2 * largest) / 1024 + 64 * 1024
            print("   peak RSS target <= 2 x largest + 64 MiB = %.1f MiB: %s"
                  % (limit / 1024, "met" if rss <= limit else "NOT met"))
        with tempfile.TemporaryDirectory() as out:
            s, rss, fail = run_each(lambda i, o: [sys.executable, baseline, i, o], files, out)
            p1 = row("python baseline (per message)", files, total, s, rss, fail)
        with tempfile.TemporaryDirectory() as out:
            s, rss, fail = run_batch([sys.executable, baseline, "--batch", d, out], out)
            p2 = row("python baseline (one interpreter)", files, total, s, rss, fail)
        print("   mamori / python: %.1fx (per message), %.1fx (against one interpreter)"
              % (m / p1, m / p2))


if __name__ == "__main__":
    main()
