/**
 * The response writer over a real loopback socket: lines made of text, bytes and latin1 literals
 * arrive byte for byte and in order, a full socket buffer makes lineNow hand back something to
 * wait for, and nothing is lost while the client is not reading.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { test } from "node:test";
import { ResponseWriter } from "../../../../src/server/imap/protocol/responseWriter.ts";
import type { WirePart } from "../../../../src/server/imap/protocol/wire.ts";

async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as { port: number };
  const accepted = once(listener, "connection");
  const client = connect({ port, host: "127.0.0.1" });
  const [server] = (await accepted) as [Socket];
  await once(client, "connect").catch(() => undefined);
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** Every byte value but NUL, as a latin1 string (a header with 8-bit bytes). */
const EIGHT_BIT = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join("");

function lineBytes(parts: WirePart[]): Buffer {
  const out: Buffer[] = [];
  let text = "";
  for (const p of parts) {
    if (typeof p === "string") text += p;
    else if (p instanceof Uint8Array) {
      out.push(Buffer.from(text), Buffer.from(p));
      text = "";
    } else if (p.kind === "latin1Literal") {
      out.push(Buffer.from(`${text}{${p.text.length}}\r\n`), Buffer.from(p.text, "latin1"));
      text = "";
    } else if (p.kind === "bytesLiteral") {
      out.push(Buffer.from(`${text}{${p.bytes.length}}\r\n`), Buffer.from(p.bytes));
      text = "";
    }
  }
  out.push(Buffer.from(text + "\r\n"));
  return Buffer.concat(out);
}

test("latin1 literals go out one byte per character, in order, past a full socket buffer", async () => {
  const { server, client, close } = await socketPair();
  try {
    const writer = new ResponseWriter(server);
    client.pause(); // the client reads nothing until every line is handed over
    const received: Buffer[] = [];
    client.on("data", (d: Buffer) => received.push(d));
    const expected: Buffer[] = [];
    let waited = 0;
    for (let i = 0; i < 3000; i++) {
      const big = i % 500 === 7; // a part over the chunk's small-part size goes to the socket as it is
      const parts: WirePart[] = [
        `* ${i + 1} FETCH (UID ${i + 1} BODY[HEADER] `,
        { kind: "latin1Literal", text: big ? EIGHT_BIT.repeat(40) : EIGHT_BIT },
        " BODY[1] ",
        { kind: "bytesLiteral", bytes: Buffer.from(`part ${i}`) },
        ")",
      ];
      expected.push(lineBytes(parts));
      const wait = writer.lineNow(parts);
      if (wait) {
        waited++;
        if (waited === 1) client.resume(); // the wait ends only when the client reads
        await wait;
      }
    }
    writer.flush();
    assert.ok(waited > 0, "3000 lines of ~300 bytes never filled the socket's buffer");
    const want = Buffer.concat(expected);
    client.resume();
    const deadline = Date.now() + 10_000;
    while (Buffer.concat(received).length < want.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(Buffer.concat(received).equals(want), "the bytes on the wire differ from the lines written");
  } finally {
    close();
  }
});

test("line() still answers with a promise, and a plain string line ends with CRLF", async () => {
  const { server, client, close } = await socketPair();
  try {
    const writer = new ResponseWriter(server);
    const got = new Promise<string>((resolve) => {
      let text = "";
      client.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        if (text.endsWith("OK\r\n")) resolve(text);
      });
    });
    const first = writer.line(["* 1 FETCH (BODY[] ", { kind: "latin1Literal", text: "\xe9\xff" }, ")"]);
    assert.ok(first instanceof Promise);
    await first;
    await writer.line("A1 OK");
    assert.equal(await got, "* 1 FETCH (BODY[] {2}\r\n\xe9\xff)\r\nA1 OK\r\n");
  } finally {
    close();
  }
});
