#!/usr/bin/env python3
"""Baseline for the sanitize benchmark, Python standard library only (email + html.parser).

Does the same text conversion as `mamori sanitize mail`: parse the message, take text/plain or
else HTML converted to text (paragraphs, list items and table rows on their own lines, script and
style dropped), drop attachments and list them, keep From/To/Cc/Subject/Date/Message-ID, and write
a new text/plain UTF-8 message.

Usage: baseline.py IN OUT            one message
       baseline.py --batch INDIR OUTDIR   every *.eml in one interpreter
"""
import email
import email.policy
import hashlib
import os
import sys
from email.message import EmailMessage
from html.parser import HTMLParser

BLOCK = {"p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
         "blockquote", "pre", "hr"}
SKIP = {"script", "style", "head", "title"}


class ToText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skip += 1
        elif tag in BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("・")
        if tag == "td" or tag == "th":
            self.out.append(" | ")
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.out.append(" <%s> " % href.replace("http", "hxxp").replace(".", "[.]"))

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(" ".join(data.split()))

    def text(self):
        lines = [l.strip() for l in "".join(self.out).split("\n")]
        return "\n".join(l for l in lines if l)


def convert(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    if plain is not None:
        body = plain.get_content()
    elif html is not None:
        p = ToText()
        p.feed(html.get_content())
        p.close()
        body = p.text()
    else:
        body = ""
    listed = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        listed.append("%s (%d バイト, SHA-256: %s) → 削除しました"
                      % (part.get_filename(), len(data), hashlib.sha256(data).hexdigest()))
    out = EmailMessage()
    for h in ("From", "To", "Cc", "Subject", "Date", "Message-ID"):
        if msg[h] is not None:
            out[h] = str(msg[h])
    text = "【無害化通知】テキスト形式に変換しました。\n\n" + body
    if listed:
        text += "\n\n■ 添付ファイル\n" + "\n".join(listed)
    out.set_content(text, charset="utf-8")
    return out.as_bytes()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--batch":
        src, dst = sys.argv[2], sys.argv[3]
        os.makedirs(dst, exist_ok=True)
        for name in sorted(os.listdir(src)):
            with open(os.path.join(src, name), "rb") as f:
                data = convert(f.read())
            with open(os.path.join(dst, name), "wb") as f:
                f.write(data)
        return
    with open(sys.argv[1], "rb") as f:
        data = convert(f.read())
    with open(sys.argv[2], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
