/**
 * What the server announces (issue 3). STARTTLS only when a certificate is configured; no COMPRESS
 * on loopback. What a client may do before login is announced as it is (issue 12): LITERAL- (RFC
 * 7888 §4: non-synchronizing literals up to 4096 bytes, the parser's limit before login) until the
 * login, LITERAL+ after it; and where TLS is configured but not active yet, LOGINDISABLED without
 * AUTH=PLAIN (RFC 3501 §6.2.3, §7.2.1), so that the password never crosses in clear.
 */
const ALWAYS = [
  "ID",
  "ENABLE",
  "IDLE",
  "NAMESPACE",
  "UNSELECT",
  "UIDPLUS",
  "MOVE",
  "CONDSTORE",
  "QRESYNC",
  "SPECIAL-USE",
  "CHILDREN",
  "LIST-EXTENDED",
  "LIST-STATUS",
  "ESEARCH",
  "SEARCHRES",
  "SORT",
  "THREAD=ORDEREDSUBJECT",
  "THREAD=REFERENCES",
  "STATUS=SIZE",
  "UNAUTHENTICATE",
  "OBJECTID",
  "WITHIN",
  "UTF8=ACCEPT",
];

/**
 * RFC 9051 folds these extensions into IMAP4rev2 (Appendix E): IMAP4rev2 is announced, and can be
 * ENABLEd, only when all of them are announced. LITERAL- is met before login, and by LITERAL+ after.
 */
const REV2_NEEDS = [
  "ENABLE",
  "IDLE",
  "NAMESPACE",
  "UNSELECT",
  "UIDPLUS",
  "MOVE",
  "SPECIAL-USE",
  "LIST-EXTENDED",
  "LIST-STATUS",
  "ESEARCH",
  "SEARCHRES",
  "STATUS=SIZE",
  "BINARY",
];

export function capabilities(opts: {
  tlsAvailable: boolean;
  tlsActive: boolean;
  loggedIn: boolean;
  appendLimit: number;
}): string[] {
  const caps = [
    "IMAP4rev1",
    opts.loggedIn ? "LITERAL+" : "LITERAL-",
    "SASL-IR",
    loginNeedsTls(opts) ? "LOGINDISABLED" : "AUTH=PLAIN",
    ...ALWAYS,
    ...CONTENT_EXTENSIONS,
    `APPENDLIMIT=${opts.appendLimit}`,
  ];
  if (opts.tlsAvailable && !opts.tlsActive) caps.push("STARTTLS");
  if (REV2_NEEDS.every((c) => caps.includes(c))) caps.splice(1, 0, "IMAP4rev2");
  return caps;
}

/** What a logged-in client is told of (ENABLE turns on only what was announced). */
export function announcedAfterLogin(cap: string): boolean {
  return capabilities({ tlsAvailable: false, tlsActive: false, loggedIn: true, appendLimit: 0 }).includes(
    cap,
  );
}

export function imap4rev2Ready(): boolean {
  return announcedAfterLogin("IMAP4rev2");
}

/**
 * A certificate is configured and this connection is not under TLS yet: LOGIN and AUTHENTICATE
 * are refused (NO [PRIVACYREQUIRED], RFC 5530) until STARTTLS. Without a certificate, plain-text
 * login stays allowed: the server listens on loopback unless told otherwise in so many words.
 */
export function loginNeedsTls(opts: { tlsAvailable: boolean; tlsActive: boolean }): boolean {
  return opts.tlsAvailable && !opts.tlsActive;
}

/** Extensions about messages' content and uploads (issue 14), each listed once it is complete. */
const CONTENT_EXTENSIONS = ["MULTIAPPEND", "BINARY", "PREVIEW", "SAVEDATE", "ESORT"];
