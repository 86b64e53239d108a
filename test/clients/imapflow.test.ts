import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import { ImapFlow, imapflowClient } from "../support/imapflowClient.ts";
import { imap4rev2Ready } from "../../src/server/imap/protocol/capabilities.ts";

let server: TestServer;
const clients: ImapFlow[] = [];

async function client(): Promise<ImapFlow> {
  const c = await imapflowClient(server);
  clients.push(c);
  return c;
}

function message(subject: string, body: string, from = "Bob <bob@example.org>"): string {
  return [
    `From: ${from}`,
    "To: Alice <alice@example.org>",
    `Subject: ${subject}`,
    "Date: Mon, 02 Nov 2026 10:00:00 +0000",
    "Message-ID: <" + subject.replace(/\W/g, "") + "@example.org>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "",
  ].join("\r\n");
}

before(async () => {
  server = await startTestServer();
});

after(async () => {
  for (const c of clients) await c.logout().catch(() => c.close());
  await server.close();
});

test("imapflow lists the default mailboxes with their special-use attributes", async () => {
  const c = await client();
  const list = await c.list();
  const byName = new Map(list.map((m) => [m.path, m]));
  for (const name of ["INBOX", "Sent", "Drafts", "Trash", "Archive", "Junk"])
    assert.ok(byName.has(name), name);
  assert.equal(byName.get("Sent")!.specialUse, "\\Sent");
  assert.equal(byName.get("Trash")!.specialUse, "\\Trash");
});

test("imapflow appends, fetches back byte-exact, searches, flags, copies, moves and expunges", async () => {
  const c = await client();
  const raw = message("Quarterly figures", "The numbers are in.\r\nSee you.");
  const appended = await c.append("INBOX", raw, ["\\Seen"]);
  assert.ok(appended && appended.uid && appended.uidValidity);
  await c.append("INBOX", message("Lunch on Friday", "Pizza or sushi?"));
  const lock = await c.getMailboxLock("INBOX");
  try {
    const mbx = c.mailbox as { exists: number; uidNext: number };
    assert.equal(mbx.exists, 2);
    const full = await c.fetchOne(
      String(appended.uid),
      { source: true, envelope: true, flags: true, uid: true },
      { uid: true },
    );
    assert.ok(full);
    assert.equal(full.source!.toString(), raw);
    assert.equal(full.envelope!.subject, "Quarterly figures");
    assert.ok(full.flags!.has("\\Seen"));

    assert.deepEqual(await c.search({ subject: "lunch" }, { uid: true }), [appended.uid + 1]);
    assert.deepEqual(await c.search({ body: "numbers" }, { uid: true }), [appended.uid]);
    assert.deepEqual(await c.search({ seen: false }, { uid: true }), [appended.uid + 1]);

    await c.messageFlagsAdd({ uid: `${appended.uid + 1}` }, ["\\Flagged"], { uid: true });
    const flagged = await c.fetchOne(String(appended.uid + 1), { flags: true }, { uid: true });
    assert.ok(flagged && flagged.flags!.has("\\Flagged"));

    const copied = await c.messageCopy({ uid: `${appended.uid}` }, "Archive", { uid: true });
    assert.ok(copied && copied.uidMap && copied.uidMap.size === 1);
    const moved = await c.messageMove({ uid: `${appended.uid + 1}` }, "Trash", { uid: true });
    assert.ok(moved && moved.uidMap && moved.uidMap.size === 1);
    assert.equal((c.mailbox as { exists: number }).exists, 1);

    await c.messageDelete({ uid: `${appended.uid}` }, { uid: true });
    assert.equal((c.mailbox as { exists: number }).exists, 0);
  } finally {
    lock.release();
  }
  const archive = await c.status("Archive", { messages: true });
  assert.ok(archive);
  assert.equal(archive.messages, 1);
  const trash = await c.status("Trash", { messages: true });
  assert.ok(trash);
  assert.equal(trash.messages, 1);
});

test("imapflow creates, renames with children and deletes mailboxes", async () => {
  const c = await client();
  await c.mailboxCreate("Projects/Kestrel");
  await c.append("Projects/Kestrel", message("Kestrel kickoff", "Hello"));
  await c.mailboxRename("Projects", "Work");
  const names = (await c.list()).map((m) => m.path);
  assert.ok(names.includes("Work/Kestrel"), names.join(","));
  assert.ok(!names.includes("Projects/Kestrel"));
  const st = await c.status("Work/Kestrel", { messages: true });
  assert.ok(st);
  assert.equal(st.messages, 1);
  await c.mailboxDelete("Work/Kestrel");
  assert.ok(!(await c.list()).map((m) => m.path).includes("Work/Kestrel"));
});

test("a second session's append reaches an IDLE client within 2 s", async () => {
  const watcher = await client();
  const writer = await client();
  await watcher.mailboxOpen("Drafts");
  const seen = new Promise<number>((resolve) => {
    watcher.on("exists", (e: { count: number }) => resolve(e.count));
  });
  const idling = watcher.idle();
  await new Promise((r) => setTimeout(r, 100));
  await writer.append("Drafts", message("Draft one", "..."));
  const count = await Promise.race([
    seen,
    new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error("no EXISTS within 2 s")), 2000).unref(),
    ),
  ]);
  assert.equal(count, 1);
  void idling;
});

test("a wrong password gets NO [AUTHENTICATIONFAILED]", async () => {
  const c = new ImapFlow({
    host: "127.0.0.1",
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: "wrong" },
    logger: false,
  });
  await assert.rejects(
    c.connect(),
    (err: { authenticationFailed?: boolean; serverResponseCode?: string }) => {
      return err.authenticationFailed === true || err.serverResponseCode === "AUTHENTICATIONFAILED";
    },
  );
  c.close();
});

test("imapflow uses BINARY: a literal8 APPEND of a message with NUL, and FETCH BINARY of a base64 part", async () => {
  const c = await client();
  await c.mailboxCreate("Binary");
  const picture = Buffer.from([...Array(256).keys()]);
  const mixed = [
    "From: Bob <bob@example.org>",
    "Subject: picture",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b"',
    "",
    "--b",
    "Content-Type: text/plain",
    "",
    "see below",
    "--b",
    "Content-Type: image/png",
    "Content-Transfer-Encoding: base64",
    "",
    picture.toString("base64"),
    "--b--",
    "",
  ].join("\r\n");
  const withNul = Buffer.from(
    "Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n",
    "latin1",
  );
  const first = await c.append("Binary", mixed);
  const second = await c.append("Binary", withNul);
  assert.ok(first && second, "both appends answered");
  const lock = await c.getMailboxLock("Binary");
  try {
    const part = await c.fetchOne(String(first.uid), { bodyParts: ["2"] }, { uid: true, binary: true });
    assert.ok(part);
    assert.deepEqual(part.bodyParts?.get("2"), picture);
    const raw = await c.fetchOne(String(second.uid), { source: true }, { uid: true });
    assert.ok(raw);
    // Stored as sent; BODY[] turns the NUL into 0x80 (RFC 3501 literals cannot carry it).
    assert.equal(raw.source?.length, withNul.length);
    const body = await c.fetchOne(String(second.uid), { bodyParts: ["1"] }, { uid: true, binary: true });
    assert.ok(body);
    assert.deepEqual(body.bodyParts?.get("1"), Buffer.from("a\x00b\r\n", "latin1"));
  } finally {
    lock.release();
  }
});

test("imapflow enables UTF8=ACCEPT (and IMAP4rev2 once announced) and works with a UTF-8 mailbox in that mode", async () => {
  const c = await client();
  const enabled = (c as unknown as { enabled: Set<string> }).enabled;
  assert.ok(enabled.has("UTF8=ACCEPT"), [...enabled].join(" "));
  assert.equal(enabled.has("IMAP4REV2"), imap4rev2Ready(), [...enabled].join(" "));
  await c.mailboxCreate("Reisen/Köln & Düsseldorf");
  const listed = (await c.list()).map((m) => m.path);
  assert.ok(listed.includes("Reisen/Köln & Düsseldorf"), listed.join(", "));
  await c.append("Reisen/Köln & Düsseldorf", message("Zugfahrt", "Gleis 5."));
  const lock = await c.getMailboxLock("Reisen/Köln & Düsseldorf");
  try {
    // An IMAP4rev2 session gets ESEARCH; imapflow reads either answer.
    assert.deepEqual(await c.search({ subject: "Zugfahrt" }, { uid: true }), [1]);
  } finally {
    lock.release();
  }
  const status = await c.status("Reisen/Köln & Düsseldorf", { messages: true });
  assert.ok(status);
  assert.equal(status.messages, 1);
});
