"""Python's imaplib against the extensions of issue 14: LITERAL- before login, MULTIAPPEND with
LITERAL+, BINARY (FETCH and a literal8 APPEND), PREVIEW, SAVEDATE and ESORT. imaplib knows none of
them by name: commands go through _simple_command and the answers are read from its untagged
responses, as a script of one's own would. Prints one line per step; exits non-zero at the first
surprise."""
import base64
import datetime
import imaplib
import re
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def fail(what, got):
    print(f"FAIL {what}: {got!r}")
    sys.exit(1)


def ok(what, result):
    typ, data = result
    if typ != "OK":
        fail(what, (typ, data))
    print(f"ok {what}")
    return data


def untagged(M, name):
    return M.untagged_responses.pop(name, [])


# LITERAL- before login: a non-synchronizing literal of a few bytes is taken without a "+".
M = imaplib.IMAP4("127.0.0.1", port)
if "LITERAL-" not in M.capabilities or "LITERAL+" in M.capabilities:
    fail("pre-login capabilities", M.capabilities)
login = b"{%d+}\r\n%s \"%s\"" % (len(user.encode()), user.encode(), password.encode())
ok("login with a LITERAL- user name", M._simple_command("LOGIN", login))
M.state = "AUTH"
caps = ok("capability", M.capability())[0].split()
for cap in [b"LITERAL+", b"MULTIAPPEND", b"BINARY", b"PREVIEW", b"SAVEDATE", b"ESORT"]:
    if cap not in caps:
        fail(f"capability {cap!r}", caps)
ok("create", M.create("Ext"))

# MULTIAPPEND: three messages in one command, LITERAL+ so that it is one round trip.
picture = bytes(range(256))
messages = [
    b"From: a@example.org\r\nSubject: Zebra\r\n\r\nStripes at dawn.\r\n> quoted\r\n",
    b"From: b@example.org\r\nSubject: Apple\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html\r\n\r\n<p>Red &amp; round</p>\r\n",
    b"From: c@example.org\r\nSubject: Mango\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nSee the picture.\r\n"
    b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(picture).replace(b"\n", b"\r\n")
    + b"--b--\r\n",
]
upload = b" ".join(b"(\\Seen) {%d+}\r\n%s" % (len(m), m) for m in messages)
typ, data = M._simple_command("APPEND", "Ext", upload)
if typ != "OK" or not re.search(rb"\[APPENDUID \d+ 1:3\]", data[0]):
    fail("multiappend", (typ, data))
print("ok multiappend")

count = int(ok("select", M.select("Ext"))[0])
if count != 3:
    fail("three messages after one MULTIAPPEND", count)

# PREVIEW
typ, data = M.fetch("1:3", "(PREVIEW)")
previews = [d for d in data if d]
want = [b'PREVIEW "Stripes at dawn."', b'PREVIEW "Red & round"', b'PREVIEW "See the picture."']
if typ != "OK" or [any(w in p for p in previews) for w in want] != [True] * 3:
    fail("preview", (typ, data))
print("ok preview")

# BINARY: the base64 part decoded, its size, and a partial of the decoded bytes.
typ, data = M.fetch("3", "(BINARY.PEEK[2] BINARY.SIZE[2])")
if typ != "OK" or data[0][1] != picture or b"BINARY.SIZE[2] 256" not in data[1]:
    fail("binary fetch", (typ, data))
print("ok binary fetch")
typ, data = M.fetch("3", "(BINARY.PEEK[2]<16.4>)")
if typ != "OK" or data[0][1] != bytes([16, 17, 18, 19]):
    fail("binary partial", (typ, data))
print("ok binary partial")
raw = b"Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
typ, data = M._simple_command("APPEND", "Ext", b"~{%d+}\r\n%s" % (len(raw), raw))
if typ != "OK":
    fail("literal8 append", (typ, data))
M.noop()
typ, data = M.fetch("4", "(BINARY.PEEK[1])")
if typ != "OK" or data[0][1] != b"a\x00b\r\n":
    fail("literal8 append read back", (typ, data))
print("ok literal8 append")

# SAVEDATE
typ, data = M.fetch("1:4", "(SAVEDATE)")
if typ != "OK" or not all(re.search(rb'SAVEDATE "[^"]+"', d) for d in data):
    fail("savedate fetch", (typ, data))
today = datetime.datetime.now(datetime.timezone.utc)
day = f"{today.day}-{today.strftime('%b')}-{today.year}"
typ, data = M.search(None, "SAVEDON", day)
if typ != "OK" or data[0].split() != [b"1", b"2", b"3", b"4"]:
    fail("search savedon", (typ, data))
typ, data = M.search(None, "SAVEDBEFORE", "1-Jan-2001")
if typ != "OK" or data[0].split() != []:
    fail("search savedbefore", (typ, data))
print("ok savedate")

# ESORT: by subject, ALL keeps the sort order; MIN and MAX are its ends.
typ, data = M._simple_command("SORT", "RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 NOT SUBJECT nul")
esearch = untagged(M, "ESEARCH")
if typ != "OK" or not esearch or not re.search(rb"MIN 2 MAX 1 ALL 2:3,1 COUNT 3$", esearch[0]):
    fail("esort", (typ, data, esearch))
print("ok esort")

typ, _ = M.logout()
print(f"ok logout {typ}")
