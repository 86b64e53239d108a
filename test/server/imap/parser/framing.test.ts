import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { CommandReader } from "../../../../src/server/imap/parser/commandReader.ts";
import { harness, isFailure, readAll } from "./readerHarness.ts";

const WITH_LITERALS = [
  "a1 LOGIN {3}\r\nbob {5}\r\ns3cr3\r\n",
  "a2 APPEND Drafts (\\Seen) {12+}\r\nSubject: x\r\n\r\n",
  'a3 SEARCH CHARSET UTF-8 SUBJECT {6}\r\nnaïve FROM "a b"\r\n',
  "a4 UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From)]<0.10>)\r\n",
];

test("commands with literals parse the same whatever byte boundary the input is split at", async () => {
  for (const text of WITH_LITERALS) {
    const bytes = Buffer.from(text, "utf8");
    const whole = await readAll([bytes]);
    assert.equal(whole.results.length, 1);
    assert.ok("command" in whole.results[0]!, `${text}: ${JSON.stringify(whole.results[0])}`);
    for (let i = 1; i < bytes.length; i++) {
      const split = await readAll([bytes.subarray(0, i), bytes.subarray(i)]);
      assert.deepEqual(split.results, whole.results, `split at ${i} of ${JSON.stringify(text)}`);
      assert.deepEqual(split.continuations, whole.continuations);
    }
    const oneByOne = await readAll([...bytes].map((b) => Buffer.from([b])));
    assert.deepEqual(oneByOne.results, whole.results);
  }
});

test("pipelined commands in one chunk come out in order, and a bare LF ends a line too", async () => {
  const { results } = await readAll([
    "p1 NOOP\r\np2 LOGIN {1+}\r\nx y\r\np3 SELECT inbox\np4 CAPABILITY\r\n\r\np5 LOGOUT\r\n",
  ]);
  assert.deepEqual(
    results.map((r) => ("command" in r ? `${r.tag} ${r.command.name}` : "failure")),
    ["p1 NOOP", "p2 LOGIN", "p3 SELECT", "p4 CAPABILITY", "p5 LOGOUT"],
  );
});

test("LITERAL+ sends no continuation; a synchronizing literal gets exactly one per literal", async () => {
  assert.deepEqual((await readAll(["a LOGIN {3+}\r\nbob {2+}\r\npw\r\n"])).continuations, []);
  assert.deepEqual((await readAll(["a LOGIN {3}\r\nbob {2}\r\npw\r\n"])).continuations, [
    "Ready for literal data",
    "Ready for literal data",
  ]);
});

test("the end of input in the middle of a command or a literal gives null, not a failure", async () => {
  for (const text of [
    "a NOOP",
    "a LOGIN {3}\r\nbo",
    "a LOGIN {3+}\r\nbob {10+}\r\nabc",
    "a LOGIN {3}\r\nbob ",
  ]) {
    const h = harness();
    h.input.end(text);
    assert.equal(await h.reader.next(), null, JSON.stringify(text));
  }
});

test("a line over maxLineBytes is BAD with its tag, is not buffered, and the next command parses", async () => {
  const h = harness({ maxLineBytes: 1000 });
  let peak = 0;
  const line = "big1 SEARCH SUBJECT " + "x".repeat(50_000) + "\r\n";
  const pieces = Buffer.from(line + "ok1 NOOP\r\n");
  const reading = h.reader.next();
  for (let i = 0; i < pieces.length; i += 512) {
    h.input.write(pieces.subarray(i, i + 512));
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, h.reader.bufferedBytes);
  }
  const first = await reading;
  assert.ok(isFailure(first));
  assert.deepEqual(first, { tag: "big1", status: "BAD", text: "command line too long (at most 1000 bytes)" });
  assert.ok(peak <= 1002 + 512, `held ${peak} bytes`);
  const next = await h.reader.next();
  assert.deepEqual(next, { tag: "ok1", command: { name: "NOOP" } });
});

test("an overlong line ending in a LITERAL+ announcement has its literal dropped, not run as commands", async () => {
  const text = "t1 LOGIN " + "u".repeat(2000) + " {16+}\r\nt9 DELETE INBOX\r\n\r\nt2 NOOP\r\n";
  const { results } = await readAll([text], { maxLineBytes: 100 });
  assert.deepEqual(results, [
    { tag: "t1", status: "BAD", text: "command line too long (at most 100 bytes)" },
    { tag: "t2", command: { name: "NOOP" } },
  ]);
});

test("a synchronizing APPEND literal over appendLimit is NO [TOOBIG] with no continuation", async () => {
  const { results, continuations } = await readAll(["a7 APPEND INBOX (\\Seen) {5000}\r\na8 NOOP\r\n"], {
    appendLimit: 4096,
  });
  assert.deepEqual(continuations, []);
  assert.deepEqual(results, [
    { tag: "a7", status: "NO", code: "TOOBIG", text: "the message is larger than the limit of 4096 bytes" },
    { tag: "a8", command: { name: "NOOP" } },
  ]);
});

test("a LITERAL+ APPEND over appendLimit is read and dropped, then NO [TOOBIG]; the stream stays in step", async () => {
  const body = "From: x\r\n\r\n" + "a9 DELETE INBOX\r\n".repeat(400);
  const { results, continuations } = await readAll(
    [`a7 APPEND INBOX {${body.length}+}\r\n${body} {3+}\r\nabc\r\na8 NOOP\r\n`],
    { appendLimit: 4096 },
  );
  assert.deepEqual(continuations, []);
  assert.deepEqual(results, [
    { tag: "a7", status: "NO", code: "TOOBIG", text: "the message is larger than the limit of 4096 bytes" },
    { tag: "a8", command: { name: "NOOP" } },
  ]);
});

test("a LITERAL+ literal past the absolute cap is fatal: the stream cannot be kept in step", async () => {
  const h = harness({ appendLimit: 1024 });
  h.input.write("a1 APPEND INBOX {999999999999+}\r\n");
  const r = await h.reader.next();
  assert.ok(isFailure(r));
  assert.equal(r.fatal, true);
  assert.equal(r.code, "TOOBIG");
  h.input.destroy();
});

test("non-APPEND literals are bounded per command: over the limit is BAD, before or after the bytes", async () => {
  const opts = { maxLiteralBytes: 100 };
  const sync = await readAll(["b1 LOGIN {101}\r\nb2 NOOP\r\n"], opts);
  assert.deepEqual(sync.continuations, []);
  assert.deepEqual(sync.results, [
    { tag: "b1", status: "BAD", text: "literal too large (at most 100 bytes in a command)" },
    { tag: "b2", command: { name: "NOOP" } },
  ]);
  const twoHalves = await readAll(
    [`b1 LOGIN {60+}\r\n${"u".repeat(60)} {60+}\r\n${"p".repeat(60)}\r\nb2 NOOP\r\n`],
    opts,
  );
  assert.deepEqual(
    twoHalves.results.map((r) => ("command" in r ? r.command.name : `${r.tag} ${r.status}`)),
    ["b1 BAD", "NOOP"],
  );
});

test("literal8 (~{n}) outside APPEND is refused before its bytes, or dropped when sent with LITERAL+", async () => {
  const sync = await readAll(["c1 SEARCH TEXT ~{5}\r\nc2 NOOP\r\n"]);
  assert.deepEqual(sync.continuations, []);
  assert.equal(sync.results[0] && isFailure(sync.results[0]) && sync.results[0].status, "BAD");
  assert.match(JSON.stringify(sync.results[0]), /literal8/);
  const plus = await readAll(["c1 SEARCH TEXT ~{5+}\r\nc9 X\r\nc2 NOOP\r\n"]);
  assert.deepEqual(
    plus.results.map((r) => ("command" in r ? r.tag : `${r.tag} ${r.status}`)),
    ["c1 BAD", "c2"],
  );
});

test("an APPEND literal larger than the socket's pause threshold is read whole (backpressure does not stall it)", async () => {
  const h = harness({ appendLimit: 4 * 1024 * 1024, maxLineBytes: 1024 });
  const size = 3 * 1024 * 1024;
  const reading = h.reader.next();
  h.input.write(`a APPEND INBOX {${size}}\r\n`);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.continuations, ["Ready for literal data"]);
  let peak = 0;
  for (let sent = 0; sent < size; sent += 65536) {
    if (!h.input.write(Buffer.alloc(Math.min(65536, size - sent), 0x41))) await once(h.input, "drain");
    peak = Math.max(peak, h.reader.bufferedBytes);
  }
  h.input.write("\r\n");
  const r = await reading;
  assert.ok(r && "command" in r && r.command.name === "APPEND");
  assert.equal(r.command.message.length, size);
  assert.ok(peak <= 1026 + 65536, `unread input peaked at ${peak} bytes`);
});

test("unread pipelined input pauses the stream at the bound and resumes as commands are read", async () => {
  const h = harness({ maxLineBytes: 200 });
  const many = Array.from({ length: 300 }, (_, i) => `n${i} NOOP\r\n`).join("");
  for (let i = 0; i < many.length; i += 50) h.input.write(many.slice(i, i + 50));
  await new Promise((r) => setImmediate(r));
  assert.ok(h.input.isPaused(), "the stream is paused while nobody reads");
  assert.ok(h.reader.bufferedBytes <= 202 + 50, `${h.reader.bufferedBytes} bytes were taken in`);
  h.input.end();
  let count = 0;
  for (let r = await h.reader.next(); r !== null; r = await h.reader.next()) {
    assert.deepEqual(r, { tag: `n${count}`, command: { name: "NOOP" } });
    count++;
  }
  assert.equal(count, 300);
});

test("nextLine reads IDLE's DONE and AUTHENTICATE responses; overlong is empty; end is null", async () => {
  const h = harness({ maxLineBytes: 100 });
  h.input.write("DONE\r\nAGJvYgBwdw==\n" + "z".repeat(500) + "\r\nnaïve\r\na NOOP\r\n");
  h.input.end();
  assert.equal(await h.reader.nextLine(), "DONE");
  assert.equal(await h.reader.nextLine(), "AGJvYgBwdw==");
  assert.equal(await h.reader.nextLine(), "");
  assert.equal(await h.reader.nextLine(), "naïve");
  assert.deepEqual(await h.reader.next(), { tag: "a", command: { name: "NOOP" } });
  assert.equal(await h.reader.nextLine(), null);
});

test("STARTTLS: bytes after the command are reported; after replaceInput, commands come from the new stream", async () => {
  const injected = harness();
  injected.input.write("s1 STARTTLS\r\ns2 LOGIN evil evil\r\n");
  assert.equal(((await injected.reader.next()) as { tag: string }).tag, "s1");
  assert.equal(injected.reader.hasBufferedInput, true);

  const clean = harness();
  clean.input.write("s1 STARTTLS\r\n");
  assert.equal(((await clean.reader.next()) as { tag: string }).tag, "s1");
  assert.equal(clean.reader.hasBufferedInput, false);
  const tls = new PassThrough();
  clean.reader.replaceInput(tls);
  clean.input.write("x1 NOOP\r\n"); // the old stream is no longer read
  tls.end("s2 CAPABILITY\r\n");
  assert.deepEqual(await clean.reader.next(), { tag: "s2", command: { name: "CAPABILITY" } });
  assert.equal(await clean.reader.next(), null);
});

// Over a real loopback socket: the "+" must reach the client before it sends the literal.
let server: Server;
let serverSide: Socket;
let client: Socket;

before(async () => {
  server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, "connection");
  client = connect(port, "127.0.0.1");
  await once(client, "connect");
  serverSide = (await accepted)[0] as Socket;
});

after(async () => {
  client?.destroy();
  serverSide?.destroy();
  await new Promise((r) => server.close(r));
});

test("over a loopback socket, a synchronizing literal is sent only after the continuation arrives", async () => {
  const reader = new CommandReader(serverSide, {
    appendLimit: 1 << 20,
    loggedIn: () => false,
    continuation: (text) => serverSide.write(`+ ${text}\r\n`),
  });
  const got: string[] = [];
  client.on("data", (d: Buffer) => got.push(d.toString()));
  const reading = reader.next();
  client.write("L1 LOGIN {5}\r\n");
  await once(client, "data");
  assert.equal(got.join(""), "+ Ready for literal data\r\n");
  client.write("alice {6}\r\n");
  await once(client, "data");
  client.write("secret\r\nL2 NOOP\r\n");
  assert.deepEqual(await reading, {
    tag: "L1",
    command: { name: "LOGIN", user: "alice", password: "secret" },
  });
  assert.deepEqual(await reader.next(), { tag: "L2", command: { name: "NOOP" } });
  client.end();
  assert.equal(await reader.next(), null);
});

test("at most maxLiterals literals in one command; the one past it is refused before its bytes", async () => {
  const two = await readAll(["m1 LOGIN {1}\r\na {1}\r\nb\r\n"], { maxLiterals: 2 });
  assert.deepEqual(two.results, [{ tag: "m1", command: { name: "LOGIN", user: "a", password: "b" } }]);
  const { results, continuations } = await readAll(
    ["m2 SEARCH TEXT {1}\r\na TEXT {1}\r\nb TEXT {1}\r\nm3 NOOP\r\n"],
    {
      maxLiterals: 2,
    },
  );
  assert.equal(continuations.length, 2);
  assert.deepEqual(results, [
    { tag: "m2", status: "BAD", text: "too many literals in one command (at most 2)" },
    { tag: "m3", command: { name: "NOOP" } },
  ]);
});

test("before login, every literal is small whatever the command: a synchronizing one gets NO [TOOBIG] and no continuation", async () => {
  const { results, continuations } = await readAll(
    ["s1 APPEND INBOX {52428800}\r\ns2 LOGIN {4097}\r\ns3 LOGIN {3}\r\nbob {4}\r\npass\r\n"],
    { loggedIn: () => false, appendLimit: 64 * 1024 * 1024 },
  );
  assert.deepEqual(continuations, ["Ready for literal data", "Ready for literal data"], "only s3's got one");
  const text = "before login, a command may carry at most 4096 literal bytes";
  assert.deepEqual(results, [
    { tag: "s1", status: "NO", code: "TOOBIG", text },
    { tag: "s2", status: "NO", code: "TOOBIG", text },
    { tag: "s3", command: { name: "LOGIN", user: "bob", password: "pass" } },
  ]);
});

test("before login, a LITERAL+ literal over the limit is BAD [TOOBIG] and ends the stream (its bytes are not read)", async () => {
  const h = harness({ loggedIn: () => false, appendLimit: 64 * 1024 * 1024 });
  h.input.write("p1 APPEND INBOX {52428800+}\r\n");
  h.input.write(Buffer.alloc(1024 * 1024, 0x61));
  const r = await Promise.race([
    h.reader.next(),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref()),
  ]);
  assert.ok(isFailure(r), "no answer within 2 s: the reader waits for the literal's 50 MiB");
  assert.deepEqual(
    { ...r },
    {
      tag: "p1",
      status: "BAD",
      code: "TOOBIG",
      text: "before login, a command may carry at most 4096 literal bytes",
      fatal: true,
    },
  );
  assert.ok(h.reader.bufferedBytes <= 1024 * 1024, "the literal's bytes were taken in");
  h.input.destroy();
  // Within the limit, LITERAL+ works before login as LITERAL- allows.
  const ok = await readAll(["p2 LOGIN {3+}\r\nbob {4+}\r\npass\r\n"], { loggedIn: () => false });
  assert.deepEqual(ok.results, [{ tag: "p2", command: { name: "LOGIN", user: "bob", password: "pass" } }]);
});

test("a literal's buffer grows with the bytes that arrive, not with the size a client announces", async () => {
  const h = harness({ appendLimit: 64 * 1024 * 1024 });
  const before = process.memoryUsage().arrayBuffers;
  const reading = h.reader.next();
  h.input.write(`a1 APPEND INBOX {${50 * 1024 * 1024}}\r\n`);
  h.input.write(Buffer.alloc(1024, 0x61));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.continuations, ["Ready for literal data"]);
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 8 * 1024 * 1024, `announcing 50 MiB and sending 1 KiB took ${grown} bytes`);
  h.input.end();
  assert.equal(await reading, null);
});

test("before login, a small LITERAL+ literal past the command's allowance is dropped and the stream goes on; literal8 stays refused", async () => {
  const { results } = await readAll(
    [
      `q1 LOGIN {3000+}\r\n${"u".repeat(3000)} {3000+}\r\n${"p".repeat(3000)}\r\nq2 LOGIN ~{3}\r\nq3 NOOP\r\n`,
    ],
    { loggedIn: () => false },
  );
  assert.deepEqual(
    results.map((r) =>
      "command" in r ? `${r.tag} ${r.command.name}` : `${r.tag} ${r.status} ${r.code ?? ""}`,
    ),
    ["q1 BAD TOOBIG", "q2 BAD ", "q3 NOOP"],
  );
});
