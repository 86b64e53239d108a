"""Stores an IMAP password in a Thunderbird profile's own login store, as Thunderbird would.

Thunderbird reads a server's password only from its login store: logins.json, whose fields are
encrypted with a key kept in the profile's NSS database (key4.db). This script opens that database
through the NSS library Thunderbird ships with (its folder is the first argument), creates it with
an empty primary password, encrypts the user name and password with NSS's SDR (the call the login
manager itself uses), and writes logins.json.

  python3 thunderbird_login.py NSS_LIB_DIR PROFILE_DIR ORIGIN USER PASSWORD
"""

import base64
import ctypes
import json
import os
import sys
import time
import uuid


class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint), ("data", ctypes.c_void_p), ("len", ctypes.c_uint)]


def main():
    lib_dir, profile, origin, user, password = sys.argv[1:6]
    nss = ctypes.CDLL(os.path.join(lib_dir, "libnss3.so"))
    nss.NSS_Initialize.argtypes = [ctypes.c_char_p] * 4 + [ctypes.c_uint]
    nss.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
    nss.PK11_NeedUserInit.argtypes = [ctypes.c_void_p]
    nss.PK11_InitPin.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    nss.PK11_FreeSlot.argtypes = [ctypes.c_void_p]
    nss.PK11SDR_Encrypt.argtypes = [ctypes.POINTER(SECItem)] * 3 + [ctypes.c_void_p]

    # Flags 0: read-write, and the databases are created when absent.
    if nss.NSS_Initialize(("sql:" + profile).encode(), b"", b"", b"secmod.db", 0) != 0:
        sys.exit("NSS_Initialize failed on " + profile)
    slot = nss.PK11_GetInternalKeySlot()
    if nss.PK11_NeedUserInit(slot) and nss.PK11_InitPin(slot, None, b"") != 0:
        sys.exit("PK11_InitPin failed")

    def encrypt(text):
        raw = text.encode()
        buf = ctypes.create_string_buffer(raw, len(raw))
        data = SECItem(0, ctypes.cast(buf, ctypes.c_void_p), len(raw))
        out = SECItem(0, None, 0)
        # An empty key id: the default SDR key, generated in key4.db on first use.
        if nss.PK11SDR_Encrypt(ctypes.byref(SECItem(0, None, 0)), ctypes.byref(data), ctypes.byref(out), None) != 0:
            sys.exit("PK11SDR_Encrypt failed")
        return base64.b64encode(ctypes.string_at(out.data, out.len)).decode()

    now = int(time.time() * 1000)
    login = {
        "id": 1,
        "hostname": origin,
        "httpRealm": origin,
        "formSubmitURL": None,
        "usernameField": "",
        "passwordField": "",
        "encryptedUsername": encrypt(user),
        "encryptedPassword": encrypt(password),
        "guid": "{%s}" % uuid.uuid4(),
        "encType": 1,
        "timeCreated": now,
        "timeLastUsed": now,
        "timePasswordChanged": now,
        "timesUsed": 1,
    }
    store = {
        "nextId": 2,
        "logins": [login],
        "potentiallyVulnerablePasswords": [],
        "dismissedBreachAlertsByLoginGUID": {},
        "version": 3,
    }
    with open(os.path.join(profile, "logins.json"), "w") as f:
        json.dump(store, f)
    nss.PK11_FreeSlot(slot)
    if nss.NSS_Shutdown() != 0:
        sys.exit("NSS_Shutdown failed")
    print("ok")


main()
