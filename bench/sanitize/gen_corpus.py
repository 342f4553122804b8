#!/usr/bin/env python3
"""Writes a corpus of Japanese mails for the sanitize benchmark (Python standard library only).

Two sets, deterministic for a given seed:
  mixed/        plain (ISO-2022-JP, Shift_JIS, UTF-8), HTML-only, multipart/alternative and
                mails with attachments; each whole message (headers and transfer encoding
                included) is 2 KB to 2 MB, sizes spread log-uniformly
  attachments/  attachment-heavy mails: a short text and three base64 PDF attachments,
                1.5 to 2 MB each (so the set stays inside the same 2 KB - 2 MB range)

Usage: gen_corpus.py OUTDIR [--count N] [--seed S]
"""
import argparse
import base64
import os
import random

SENTENCES = [
    "いつもお世話になっております。峡南広域行政組合 総務課です。",
    "令和8年度の情報セキュリティ研修についてご案内いたします。",
    "添付の資料をご確認のうえ、期日までにご回答ください。",
    "住民の皆様への周知文案を作成しましたので、ご意見をお願いします。",
    "会議は第二会議室で午後二時から開催します。①資料 ②議事次第 をご持参ください。",
    "髙﨑様、先日の打合せではありがとうございました。",
    "詳細は https://www.example.lg.jp/info/2026/notice.html をご覧ください。",
    "ご不明な点がございましたら、担当までお問い合わせください。",
]


def paragraph(rng, n):
    return "".join(rng.choice(SENTENCES) for _ in range(n))


def body_text(rng, size):
    """Paragraphs of about `size` UTF-8 bytes (the last one cut at a character boundary)."""
    out = []
    total = 0
    while total < size:
        p = paragraph(rng, rng.randint(2, 6))
        room = size - total
        if len(p.encode("utf-8")) > room:
            p = p.encode("utf-8")[:max(room, 3)].decode("utf-8", errors="ignore")
        out.append(p)
        total += len(p.encode("utf-8")) + 4
    return "\r\n\r\n".join(out)


def html_of(text):
    parts = []
    for i, p in enumerate(text.split("\r\n\r\n")):
        p = p.replace("https://www.example.lg.jp/info/2026/notice.html",
                      '<a href="https://www.example.lg.jp/info/2026/notice.html">お知らせ</a>')
        if i % 5 == 4:
            parts.append("<table><tr><td>項目</td><td>%s</td></tr></table>" % p)
        elif i % 3 == 2:
            parts.append("<ul><li>%s</li></ul>" % p)
        else:
            parts.append("<p>%s</p>" % p)
    return ("<html><head><style>p{margin:0}</style></head><body><div>"
            + "\r\n".join(parts) + "</div></body></html>")


def b64_lines(data):
    s = base64.b64encode(data).decode("ascii")
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def enc_word(text, charset):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode("ascii"))


def headers(rng, i, charset, ctype):
    subject = enc_word("会議資料の送付 (%d)" % i, charset)
    return (
        "From: %s <sender%d@example.com>\r\n"
        "To: staff@kyonan.example.lg.jp\r\n"
        "Subject: %s\r\n"
        "Date: Wed, 25 Nov 2026 10:%02d:00 +0900\r\n"
        "Message-ID: <bench-%d@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: %s\r\n" % (enc_word("山田 太郎", charset), i, subject, i % 60, i, ctype)
    )


def text_part(text, charset):
    data = text.encode(charset, errors="replace")
    return ("Content-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            % (charset, b64_lines(data)))


def html_part(html, charset):
    data = html.encode(charset, errors="replace")
    return ("Content-Type: text/html; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            % (charset, b64_lines(data)))


def attachment(rng, name, size):
    data = bytes(rng.getrandbits(8) for _ in range(min(size, 4096))) * (size // 4096 + 1)
    data = b"%PDF-1.4\n" + data[:size]
    return ('Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n'
            'Content-Disposition: attachment; filename="%s"\r\n\r\n%s\r\n' % (name, b64_lines(data)))


def mail(rng, i, kind, size, charset):
    """A message whose text (and attachment) budget is `size` bytes before transfer encoding."""
    text = body_text(rng, max(size // 3 if kind == "attach" else size, 200))
    if kind == "plain":
        return headers(rng, i, charset, "text/plain; charset=%s" % charset).replace(
            "Content-Type: text/plain; charset=%s\r\n" % charset, "") + text_part(text, charset)
    if kind == "html":
        return headers(rng, i, charset, "text/html; charset=%s" % charset).replace(
            "Content-Type: text/html; charset=%s\r\n" % charset, "") + html_part(html_of(text), charset)
    b = "=_b%d" % i
    if kind == "alt":
        return (headers(rng, i, charset, 'multipart/alternative; boundary="%s"' % b) + "\r\n"
                + "--%s\r\n%s--%s\r\n%s--%s--\r\n" % (b, text_part(text, charset), b,
                                                         html_part(html_of(text), charset), b))
    att = attachment(rng, "shiryou-%d.pdf" % i, size // 2)
    return (headers(rng, i, charset, 'multipart/mixed; boundary="%s"' % b) + "\r\n"
            + "--%s\r\n%s--%s\r\n%s--%s--\r\n" % (b, text_part(text, charset), b, att, b))


def sized_mail(seed, i, kind, target):
    """A message of at most `target` bytes in total (and close to it): the content budget is
    shrunk until the encoded message fits. Each message has its own random stream, so rebuilding
    it is deterministic."""
    budget = target
    for _ in range(8):
        rng = random.Random(seed * 1_000_003 + i)
        charset = rng.choice(["iso-2022-jp", "shift_jis", "utf-8"])
        m = mail(rng, i, kind, budget, charset)
        if len(m) <= target:
            return m
        budget = max(int(budget * target / len(m) * 0.99), 1)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    mixed = os.path.join(a.out, "mixed")
    heavy = os.path.join(a.out, "attachments")
    os.makedirs(mixed, exist_ok=True)
    os.makedirs(heavy, exist_ok=True)
    kinds = ["plain", "html", "alt", "attach"]
    for i in range(a.count):
        # Whole-message sizes spread log-uniformly from 2 KB to 2 MB.
        size = int(2048 * (1024 ** rng.random()))
        with open(os.path.join(mixed, "m%04d.eml" % i), "w", encoding="ascii", newline="") as f:
            f.write(sized_mail(a.seed, i, kinds[i % 4], size))
    for i in range(max(a.count // 10, 5)):
        b = "=_h%d" % i
        # Three attachments of 360-480 KB: 1.5-2 MB per message once base64-encoded.
        parts = "".join("--%s\r\n%s" % (b, attachment(rng, "big-%d-%d.pdf" % (i, j),
                                                        rng.randint(360_000, 480_000)))
                        for j in range(3))
        body = text_part(body_text(rng, 3000), "utf-8")
        with open(os.path.join(heavy, "h%03d.eml" % i), "w", encoding="ascii", newline="") as f:
            f.write(headers(rng, i, "utf-8", 'multipart/mixed; boundary="%s"' % b) + "\r\n"
                    + "--%s\r\n%s%s--%s--\r\n" % (b, body, parts, b))


if __name__ == "__main__":
    main()
