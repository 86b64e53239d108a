/**
 * STARTTLS (RFC 3501 §6.2.1) with the self-signed certificate `init --tls` makes: announced only
 * when a certificate is configured and before TLS, the session continues encrypted on the same
 * connection, and bytes pipelined after STARTTLS before the handshake close the connection.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { after, before, test } from "node:test";
import { makeSelfSignedCertificate } from "../../../src/cli/setup/tlsCertificate.ts";
import { startTestServer, type TestServer } from "../../support/testServer.ts";
import { imapflowClient } from "../../support/imapflowClient.ts";
import { connected, tagged } from "./scenarioHelpers.ts";

let server: TestServer;
let dir: string;
let cert: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agl-tls-"));
  const made = await makeSelfSignedCertificate(join(dir, "cert.pem"), join(dir, "key.pem"));
  cert = await readFile(made.certFile);
  server = await startTestServer({ tls: { cert, key: await readFile(made.keyFile) } });
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test("STARTTLS is announced, upgrades the connection, and is no longer announced after", async () => {
  const c = await connected(server);
  const caps = await c.command("CAPABILITY");
  assert.match(caps[0]!, / STARTTLS/);
  assert.equal(tagged(await c.command("STARTTLS")), "OK begin TLS negotiation now");
  c.close();

  const client = await imapflowClient(server, {
    doSTARTTLS: true,
    tls: { ca: [cert], servername: "localhost" },
  });
  assert.ok(!client.capabilities.has("STARTTLS"), "STARTTLS still announced under TLS");
  const status = await client.status("INBOX", { messages: true });
  assert.ok(status);
  await client.logout();
});

test("bytes sent after STARTTLS before the handshake close the connection (no command injection)", async () => {
  const c = await connected(server);
  c.write("S1 STARTTLS\r\nS2 LOGIN alice x\r\n");
  const lines: string[] = [];
  try {
    for (;;) lines.push(await c.readLine(3000));
  } catch {
    // closed
  }
  assert.ok(c.isClosed, `still open after ${lines.join(" | ")}`);
  assert.ok(!lines.some((l) => l.startsWith("S2")), "the injected command was answered");
});

test("a TLS handshake straight away is not IMAP: the server stays up", async () => {
  const s = tlsConnect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
  await new Promise<void>((resolve) => {
    s.once("error", () => resolve());
    s.once("close", () => resolve());
    setTimeout(() => {
      s.destroy();
      resolve();
    }, 3000);
  });
  const c = await connected(server);
  assert.match(tagged(await c.command("NOOP")), /^OK /);
  c.close();
});

test("before STARTTLS, LOGINDISABLED is announced without AUTH=PLAIN, and LOGIN and AUTHENTICATE get NO [PRIVACYREQUIRED]", async () => {
  const c = await connected(server);
  const caps = (await c.command("CAPABILITY"))[0]!.split(" ");
  assert.ok(caps.includes("LOGINDISABLED") && caps.includes("STARTTLS"), caps.join(" "));
  assert.ok(!caps.includes("AUTH=PLAIN"), caps.join(" "));
  const login = await c.command(`LOGIN ${server.user} "${server.password}"`);
  assert.match(tagged(login), /^NO \[PRIVACYREQUIRED\] /);
  const plain = Buffer.from(`\0${server.user}\0${server.password}`).toString("base64");
  assert.match(tagged(await c.command(`AUTHENTICATE PLAIN ${plain}`)), /^NO \[PRIVACYREQUIRED\] /);
  // Without an initial response: refused before the continuation that would invite the password.
  c.write("T1 AUTHENTICATE PLAIN\r\n");
  assert.match(await c.readLine(), /^T1 NO \[PRIVACYREQUIRED\] /);
  assert.match(tagged(await c.command("SELECT INBOX")), /^BAD .*log in first/);
  c.close();
});

test("under TLS, AUTH=PLAIN is back, LOGINDISABLED gone, and LOGIN works", async () => {
  const c = await connected(server);
  assert.equal(tagged(await c.command("STARTTLS")), "OK begin TLS negotiation now");
  const secure = await c.upgradeToTls({ ca: [cert], servername: "localhost" });
  const caps = (await secure.command("CAPABILITY"))[0]!.split(" ");
  assert.ok(caps.includes("AUTH=PLAIN"), caps.join(" "));
  assert.ok(!caps.includes("LOGINDISABLED") && !caps.includes("STARTTLS"), caps.join(" "));
  assert.match(tagged(await secure.command(`LOGIN ${server.user} "${server.password}"`)), /^OK /);
  secure.close();
});

test("under TLS, the idle timer before login runs on the TLS socket, and after login it is the long one", async () => {
  const key = await readFile(join(dir, "key.pem"));
  // The connection, STARTTLS, the handshake and LOGIN must fit in the timer: 400 ms did not at a
  // load of 15-20 (the owner's connection closed before its STARTTLS answer).
  const loginIdleTimeoutMs = 1500;
  const quick = await startTestServer({ tls: { cert, key }, limits: { loginIdleTimeoutMs } });
  try {
    const open = async () => {
      const c = await connected(quick);
      assert.equal(tagged(await c.command("STARTTLS")), "OK begin TLS negotiation now");
      return c.upgradeToTls({ ca: [cert], servername: "localhost" });
    };
    const silent = await open();
    assert.match(await silent.readLine(loginIdleTimeoutMs + 3000), /^\* BYE autologout: no login /);
    const owner = await open();
    assert.match(tagged(await owner.command(`LOGIN ${quick.user} "${quick.password}"`)), /^OK /);
    // Idle past the timer before login, which would have closed it by now.
    await new Promise((r) => setTimeout(r, loginIdleTimeoutMs + 300));
    assert.match(tagged(await owner.command("NOOP")), /^OK /, "closed by the timer of the socket under TLS");
    owner.close();
  } finally {
    await quick.close();
  }
});
