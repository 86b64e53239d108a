"""A Python imaplib session against aerogramme-local: login, list, select, fetch, search, store,
append, expunge, logout. Prints one line per step; exits non-zero at the first surprise."""
import imaplib
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def check(what, result):
    typ, data = result
    if typ != "OK":
        print(f"FAIL {what}: {typ} {data}")
        sys.exit(1)
    print(f"ok {what}")
    return data


M = imaplib.IMAP4("127.0.0.1", port)
check("login", M.login(user, password))
boxes = check("list", M.list())
if not any(b'"INBOX"' in b or b" INBOX" in b for b in boxes):
    print(f"FAIL list has no INBOX: {boxes}")
    sys.exit(1)
msg = (
    b"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: Heron sighting\r\n"
    b"Date: Tue, 03 Nov 2026 09:00:00 +0000\r\n\r\nA grey heron by the canal.\r\n"
)
check("append", M.append("INBOX", r"(\Flagged)", imaplib.Time2Internaldate(1_700_000_000), msg))
data = check("select", M.select("INBOX"))
count = int(data[0])
fetched = check("fetch", M.fetch(str(count), "(RFC822 FLAGS)"))
if fetched[0][1] != msg or b"\\Flagged" not in fetched[0][0]:
    print(f"FAIL fetch returned {fetched!r}")
    sys.exit(1)
found = check("search", M.search(None, "SUBJECT", "heron"))
if found[0].split()[-1] != str(count).encode():
    print(f"FAIL search found {found}")
    sys.exit(1)
check("store", M.store(str(count), "+FLAGS", r"(\Deleted)"))
expunged = check("expunge", M.expunge())
if expunged[0] != str(count).encode():
    print(f"FAIL expunge said {expunged}")
    sys.exit(1)
check("close", M.close())
typ, _ = M.logout()
print(f"ok logout {typ}")
