"""Python imaplib against aerogramme-local, using extensions: SEARCHRES (RFC 5182), WITHIN (RFC 5032),
OBJECTID (RFC 8474), UNAUTHENTICATE (RFC 8437) and UTF8=ACCEPT (RFC 6855). Prints one line per
step; exits non-zero at the first surprise."""
import imaplib
import re
import sys
import time

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
DAY = 86_400

# imaplib sends only the commands it knows; these are the extensions' own.
imaplib.Commands.setdefault("UNAUTHENTICATE", ("AUTH", "SELECTED"))


def fail(why):
    print(f"FAIL {why}")
    sys.exit(1)


def check(what, result):
    typ, data = result
    if typ != "OK":
        fail(f"{what}: {typ} {data}")
    print(f"ok {what}")
    return data


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: got {got!r}, wanted {wanted!r}")
    print(f"ok {what}")


def message(subject):
    return (
        f"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
        f"Date: Tue, 03 Nov 2026 09:00:00 +0000\r\n\r\nAbout {subject}.\r\n"
    ).encode()


M = imaplib.IMAP4("127.0.0.1", port)
check("login", M.login(user, password))
caps = M.capabilities
for cap in ("SEARCHRES", "WITHIN", "OBJECTID", "UNAUTHENTICATE", "UTF8=ACCEPT"):
    if cap not in caps:
        fail(f"{cap} is not announced: {caps}")
check("create", M.create("Birds"))
now = time.time()
# Internal dates 10, 5, 2 and 1 days ago; the second and fourth are about herons.
for days, subject in ((10, "Kingfisher"), (5, "Heron nest"), (2, "Kingfisher again"), (1, "Heron chicks")):
    check(f"append {subject}", M.append("Birds", None, now - days * DAY, message(subject)))
check("select", M.select("Birds"))

# WITHIN: YOUNGER and OLDER count seconds back from now.
expect("search YOUNGER 3 days", check("search younger", M.search(None, "YOUNGER", str(3 * DAY))), [b"3 4"])
expect("search OLDER 3 days", check("search older", M.search(None, "OLDER", str(3 * DAY))), [b"1 2"])
expect(
    "search heron YOUNGER 3 days",
    check("search both", M.search(None, "SUBJECT", "heron", "YOUNGER", str(3 * DAY))),
    [b"4"],
)

# SEARCHRES: RETURN (SAVE) keeps the result as $, which later commands use.
check("uid search save", M.uid("SEARCH", "RETURN", "(SAVE)", "SUBJECT", "heron"))
check("store $", M.uid("STORE", "$", "+FLAGS.SILENT", r"(\Flagged)"))
expect("flagged by $", check("search flagged", M.search(None, "FLAGGED")), [b"2 4"])
fetched = check("fetch $", M.uid("FETCH", "$", "(FLAGS)"))
if len(fetched) != 2 or not all(b"\\Flagged" in f for f in fetched):
    fail(f"UID FETCH $ gave {fetched!r}")
# SAVE and other return options: $ is the whole result (RFC 5182 §2.4, with MIN and MAX: both).
check("search save min max", M._simple_command("SEARCH", "RETURN", "(SAVE MIN MAX)", "SUBJECT", "kingfisher"))
check("copy $", M.uid("COPY", "$", "INBOX"))
status = check("status inbox", M.status("INBOX", "(MESSAGES)"))
expect("copied by $", re.search(rb"MESSAGES (\d+)", status[0]).group(1), b"2")

# OBJECTID: EMAILID and THREADID in FETCH, SEARCH EMAILID, MAILBOXID in STATUS.
fetched = check("fetch emailid", M.fetch("1:4", "(EMAILID THREADID)"))
ids = [re.search(rb"EMAILID \((\S+)\)", f).group(1) for f in fetched]
if len(set(ids)) != 4 or not all(b"THREADID NIL" in f for f in fetched):
    fail(f"FETCH EMAILID gave {fetched!r}")
expect("search by emailid", check("search emailid", M.search(None, "EMAILID", ids[2].decode())), [b"3"])
box_id = re.search(rb"MAILBOXID \((\S+)\)", check("status mailboxid", M.status("Birds", "(MAILBOXID)"))[0])
if not box_id:
    fail("STATUS gave no MAILBOXID")

# UNAUTHENTICATE: back to not authenticated on the same connection, then a new login works.
check("unauthenticate", M._simple_command("UNAUTHENTICATE"))
# imaplib tracks the state itself and would not send SELECT now: let it, the server must refuse.
M.state = "AUTH"
try:
    typ, data = M._simple_command("SELECT", "Birds")
except M.error as e:
    typ, data = "BAD", [str(e)]
if typ == "OK":
    fail("SELECT after UNAUTHENTICATE was accepted")
print(f"ok select refused after unauthenticate ({typ} {data})")
M.state = "NONAUTH"
check("login again", M.login(user, password))

# UTF8=ACCEPT: imaplib switches to UTF-8 mailbox names and strings after ENABLE.
check("enable utf8", M.enable("UTF8=ACCEPT"))
check("create utf8", M.create('"Vögel/Eisvögel"'))
listed = check("list utf8", M.list('""', '"Vögel/*"'))
expect("utf8 name listed", [l.decode("utf-8") for l in listed], ['(\\HasNoChildren) "/" "Vögel/Eisvögel"'])
check("select birds", M.select("Birds"))
check("copy into utf8", M.copy("1", '"Vögel/Eisvögel"'))
check("select utf8", M.select('"Vögel/Eisvögel"'))
expect("search utf8 string", check("search", M.search(None, "SUBJECT", '"Kingfisher"')), [b"1"])
typ, _ = M.logout()
print(f"ok logout {typ}")
