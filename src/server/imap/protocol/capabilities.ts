/** What the server announces (issue 3). STARTTLS only when a certificate is configured; no COMPRESS on loopback. */
const ALWAYS = [
  "IMAP4rev1",
  "LITERAL+",
  "SASL-IR",
  "AUTH=PLAIN",
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
  "STATUS=SIZE",
];

export function capabilities(opts: {
  tlsAvailable: boolean;
  tlsActive: boolean;
  appendLimit: number;
}): string[] {
  const caps = [...ALWAYS, `APPENDLIMIT=${opts.appendLimit}`];
  if (opts.tlsAvailable && !opts.tlsActive) caps.push("STARTTLS");
  return caps;
}
