#!/usr/bin/env python3
"""Raw-socket IMAP client that records Dovecot's exact answers for the MIME corpus.

Usage: dovecot-fixtures.py PORT [EML...]   (normally run by dovecot-fixtures.sh)
DOVECOT_FIXTURES_OUT=DIR writes the answers there instead of test/fixtures/mime/dovecot.

For each message it writes test/fixtures/mime/dovecot/<name>.json with:
  ENVELOPE, BODYSTRUCTURE, BODY: the exact wire text of the value (literals as {n}CRLF + bytes),
  RFC822.SIZE: the number as text,
  sections: requested section -> the section's content (null for NIL).
Every string holds bytes decoded as latin-1 (one char per byte), so 8-bit data survives exactly.
"""
import glob, json, os, socket, sys, time

FIX = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "mime")
# Where the answers go; a test points this at a temporary folder to compare with the committed ones.
OUT = os.environ.get("DOVECOT_FIXTURES_OUT") or os.path.join(FIX, "dovecot")
TOP_SECTIONS = [
    "",
    "HEADER",
    "TEXT",
    "HEADER.FIELDS (From Subject Content-Type X-Folded)",
    "HEADER.FIELDS.NOT (From Subject Received)",
]


class Conn:
    def __init__(self, port):
        deadline = time.time() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.tag = 0
        self.readline()  # greeting

    def readline(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def readn(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self):
        """One server response, literals included."""
        out = b""
        while True:
            line = self.readline()
            out += line
            body = line[:-2]
            if body.endswith(b"}") and b"{" in body:
                n = int(body[body.rindex(b"{") + 1 : -1])
                out += self.readn(n)
                continue
            return out

    def command(self, text, literal=None):
        self.tag += 1
        tag = b"t%d" % self.tag
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            cont = self.read_response()
            if not cont.startswith(b"+"):
                raise RuntimeError("no continuation: %r" % cont)
            self.sock.sendall(literal + b"\r\n")
        untagged = []
        while True:
            resp = self.read_response()
            if resp.startswith(tag + b" "):
                if not resp[len(tag) + 1 :].startswith(b"OK"):
                    raise RuntimeError("%r failed: %r" % (text, resp))
                return untagged
            untagged.append(resp)


# --- a small reader of IMAP values that remembers the raw span of each value ---


def skip_sp(s, i):
    while i < len(s) and s[i : i + 1] == b" ":
        i += 1
    return i


def read_value(s, i):
    """Returns (python value, end index). Lists -> list, strings -> bytes, NIL -> None, atoms -> str."""
    c = s[i : i + 1]
    if c == b"(":
        items, i = [], i + 1
        while True:
            i = skip_sp(s, i)
            if s[i : i + 1] == b")":
                return items, i + 1
            v, i = read_value(s, i)
            items.append(v)
    if c == b'"':
        out, i = b"", i + 1
        while s[i : i + 1] != b'"':
            if s[i : i + 1] == b"\\":
                i += 1
            out += s[i : i + 1]
            i += 1
        return out, i + 1
    if c == b"{":
        j = s.index(b"}", i)
        n = int(s[i + 1 : j])
        start = j + 3  # "}\r\n"
        return s[start : start + n], start + n
    j = i
    depth = 0
    while j < len(s):
        ch = s[j : j + 1]
        if ch == b"[":
            depth += 1
        elif ch == b"]":
            depth -= 1
        elif depth == 0 and ch in (b" ", b")", b"\r"):
            break
        j += 1
    atom = s[i:j].decode("latin-1")
    return (None if atom == "NIL" else atom), j


def fetch_items(resp):
    """Item name -> (raw bytes of the value, parsed value) from one '* n FETCH (...)' response."""
    i = resp.index(b"FETCH (") + len(b"FETCH (")
    items = {}
    while True:
        i = skip_sp(resp, i)
        if resp[i : i + 1] == b")":
            return items
        name, i = read_value(resp, i)
        i = skip_sp(resp, i)
        start = i
        value, i = read_value(resp, i)
        items[name] = (resp[start:i], value)


def part_paths(bs):
    """IMAP part numbers (RFC 3501 §6.4.5) present in a parsed BODYSTRUCTURE, with their types."""
    out = []

    def is_multipart(b):
        return isinstance(b[0], list)

    def walk_multipart(b, prefix):
        children = []
        for x in b:
            if isinstance(x, list):
                children.append(x)
            else:
                break
        for n, child in enumerate(children, 1):
            p = prefix + [n]
            out.append((p, child))
            descend(child, p)

    def descend(b, p):
        if is_multipart(b):
            walk_multipart(b, p)
        elif b[0].lower() == b"message" and b[1].lower() == b"rfc822":
            inner = b[8]
            if is_multipart(inner):
                walk_multipart(inner, p)
            else:
                out.append((p + [1], inner))
                descend(inner, p + [1])

    if is_multipart(bs):
        walk_multipart(bs, [])
    else:
        out.append(([1], bs))
        descend(bs, [1])
    return out


def latin1(b):
    return None if b is None else b.decode("latin-1")


def record(conn, uid, name):
    first = conn.command(b"UID FETCH %d (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE)" % uid)
    items = fetch_items(first[0])
    result = {
        "ENVELOPE": latin1(items["ENVELOPE"][0]),
        "BODYSTRUCTURE": latin1(items["BODYSTRUCTURE"][0]),
        "BODY": latin1(items["BODY"][0]),
        "RFC822.SIZE": items["RFC822.SIZE"][1],
    }
    sections = list(TOP_SECTIONS)
    for path, b in part_paths(items["BODYSTRUCTURE"][1]):
        p = ".".join(str(n) for n in path)
        sections += [p, p + ".MIME"]
        if not isinstance(b[0], list) and b[0].lower() == b"message" and b[1].lower() == b"rfc822":
            sections += [p + ".HEADER", p + ".TEXT", p + ".HEADER.FIELDS (Subject From)"]
    request = " ".join("BODY.PEEK[%s]" % s for s in sections)
    resp = conn.command(("UID FETCH %d (%s)" % (uid, request)).encode())
    got = fetch_items(resp[0])
    by_section = {}
    for key, (_raw, value) in got.items():
        if key.startswith("BODY["):
            by_section[key[5 : key.rindex("]")].upper()] = value
    result["sections"] = {s: latin1(by_section[s.upper()]) for s in sections}
    return result


def main():
    port = int(sys.argv[1])
    files = sys.argv[2:] or sorted(glob.glob(os.path.join(FIX, "*.eml")))
    conn = Conn(port)
    conn.command(b"LOGIN alice secret")
    names = []
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        conn.command(b"APPEND INBOX", raw)
        names.append(os.path.basename(path)[: -len(".eml")])
    conn.command(b"SELECT INBOX")
    os.makedirs(OUT, exist_ok=True)
    for uid, name in enumerate(names, 1):
        result = record(conn, uid, name)
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("recorded", name)
    conn.command(b"LOGOUT")


if __name__ == "__main__":
    main()
