#!/usr/bin/env python3
"""Runs `mamori sanitize mail` and the Python baseline over the generated corpus, side by side,
and prints messages/s, MB/s and peak RSS (Python standard library only).

For each set, in one run:
  mamori per message          one `mamori sanitize mail IN -o OUT` process per message
  mamori batch, 1 job         `mamori sanitize mail --out-dir DIR --jobs 1 IN...` (one process)
  mamori batch, N jobs        the same on every core (`--jobs` left to its default)
  python per message          one interpreter per message
  python one interpreter      one interpreter for all messages
and the ratios: per message against per message, and batch against one interpreter (the
like-for-like comparison of the engines; 1 job is single-threaded like the interpreter).

Usage: bench.py MAMORI_BINARY CORPUS_DIR [--repeat N]   (each figure is the median of N runs)
"""
import argparse
import os
import statistics
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
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            failures += 1
        peak = max(peak, usage.ru_maxrss)
    return time.perf_counter() - start, peak, failures


def run_batch(cmd):
    """Runs one process for all messages; returns (seconds, peak RSS in KiB, failures)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss, 0 if code in (0, 1) else 1


def measure(repeat, once):
    """Median seconds, largest peak RSS and failures over `repeat` runs of `once(out_dir)`."""
    secs, peak, fail = [], 0, 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            s, rss, f = once(out)
        secs.append(s)
        peak = max(peak, rss)
        fail += f
    return statistics.median(secs), peak, fail


def row(name, files, total, secs, rss, failures):
    mb = total / 1e6
    print("  %-30s %8.2f s %8.1f msg/s %7.1f MB/s %8.1f MiB peak RSS%s"
          % (name, secs, len(files) / secs, mb / secs, rss / 1024,
             "" if not failures else "  (%d FAILURES)" % failures))
    return mb / secs


def verdict(ratio, target=20.0):
    return "%.1fx (target >= %.0fx %s)" % (ratio, target, "met" if ratio >= target else "NOT met")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mamori")
    ap.add_argument("corpus")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    mamori, corpus = a.mamori, a.corpus
    baseline = os.path.join(HERE, "baseline.py")
    jobs = os.cpu_count() or 1
    print("load average at start: %.2f %.2f %.2f; %d cores; median of %d run(s)"
          % (os.getloadavg() + (jobs, a.repeat)))
    for name in ("mixed", "attachments"):
        d = os.path.join(corpus, name)
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        total = sum(os.path.getsize(f) for f in files)
        largest = max(os.path.getsize(f) for f in files)
        limit_kib = (2 * largest) / 1024 + 64 * 1024
        print("== %s: %d messages, %.1f MB, %.1f KB to %.2f MB"
              % (name, len(files), total / 1e6, min(os.path.getsize(f) for f in files) / 1e3,
                 largest / 1e6))
        s, rss, fail = measure(a.repeat, lambda out: run_each(
            lambda i, o: [mamori, "sanitize", "mail", i, "-o", o], files, out))
        m_each = row("mamori, per message", files, total, s, rss, fail)
        rss_each = rss
        s, rss, fail = measure(a.repeat, lambda out: run_batch(
            [mamori, "sanitize", "mail", "--jobs", "1", "--out-dir", out] + files))
        m_b1 = row("mamori batch, 1 job", files, total, s, rss, fail)
        rss_b1 = rss
        s, rss, fail = measure(a.repeat, lambda out: run_batch(
            [mamori, "sanitize", "mail", "--out-dir", out] + files))
        m_bn = row("mamori batch, %d jobs" % jobs, files, total, s, rss, fail)
        rss_bn = rss
        s, rss, fail = measure(a.repeat, lambda out: run_each(
            lambda i, o: [sys.executable, baseline, i, o], files, out))
        p_each = row("python, per message", files, total, s, rss, fail)
        s, rss, fail = measure(a.repeat, lambda out: run_batch(
            [sys.executable, baseline, "--batch", d, out]))
        p_one = row("python, one interpreter", files, total, s, rss, fail)
        print("  mamori per message / python per message:   %s" % verdict(m_each / p_each))
        print("  mamori batch 1 job / python one interpreter: %s" % verdict(m_b1 / p_one))
        print("  mamori batch %d jobs / python one interpreter: %s" % (jobs, verdict(m_bn / p_one)))
        print("  peak RSS target 2 x largest + 64 MiB = %.1f MiB (per job in flight): "
              "per message %s, batch 1 job %s, batch %d jobs %s (limit x %d = %.1f MiB)"
              % (limit_kib / 1024,
                 "met" if rss_each <= limit_kib else "NOT met",
                 "met" if rss_b1 <= limit_kib else "NOT met",
                 jobs, "met" if rss_bn <= limit_kib * jobs else "NOT met",
                 jobs, limit_kib * jobs / 1024))
        if name == "attachments":
            for label, mbs in (("per message", m_each), ("batch 1 job", m_b1),
                               ("batch %d jobs" % jobs, m_bn)):
                print("  attachments removed, %s: %.1f MB/s (target >= 150 MB/s %s)"
                      % (label, mbs, "met" if mbs >= 150 else "NOT met"))
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
