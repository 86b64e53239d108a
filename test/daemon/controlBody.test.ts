/**
 * The control socket's `deliver` request carries the message after its line: the server reads
 * exactly the bytes the line announces, within deliver's limit, and refuses anything else before
 * the handler sees it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { callControl } from "../../src/cli/control/controlClient.ts";
import { homePaths, type HomePaths } from "../../src/config/homePaths.ts";
import { startControlServer, type ControlServer } from "../../src/daemon/control/controlServer.ts";
import { MAX_DELIVER_BYTES, type ControlRequest } from "../../src/daemon/control/protocol.ts";

/** Sends `bytes` as they are and resolves to the server's answer (the text before it closes). */
function exchange(path: string, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer within 10 s"));
    }, 10_000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: string) => (text += chunk));
    // The server may close while this side still writes (EPIPE); its answer is what counts.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe("the control socket reads a request's body", () => {
  let dir: string;
  let paths: HomePaths;
  let server: ControlServer;
  const handled: { request: ControlRequest; body: Buffer }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agl-control-body-"));
    paths = homePaths({ AEROGRAMME_LOCAL_HOME: dir });
    server = await startControlServer(
      paths,
      (request, body) => {
        handled.push({ request, body });
        return Promise.resolve({ bytes: body.length });
      },
      () => {},
    );
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deliver = (bytes: unknown) =>
    `${JSON.stringify({ op: "deliver", mailbox: "INBOX", internalDate: 0, bytes })}\n`;

  test("the message after a deliver line reaches the handler whole, binary bytes and all", async () => {
    const message = Buffer.concat([Buffer.from("Subject: x\r\n\r\n"), Buffer.from([0, 0x0a, 0xff, 0x0d])]);
    const before = handled.length;
    const answer = await callControl(
      paths,
      { op: "deliver", mailbox: "INBOX", internalDate: 1, bytes: message.length },
      10_000,
      message,
    );
    assert.deepEqual(answer, { bytes: message.length });
    assert.equal(handled.length, before + 1);
    assert.deepEqual(handled.at(-1)!.body, message);
  });

  test("a body split over many writes is put together; other requests get an empty one", async () => {
    const before = handled.length;
    const body = Buffer.alloc(300_000, 0x61);
    const answer = await exchange(
      paths.controlSocket,
      Buffer.concat([Buffer.from(deliver(body.length)), body]),
    );
    assert.deepEqual(JSON.parse(answer), { ok: true, result: { bytes: body.length } });
    assert.deepEqual(await callControl(paths, { op: "status" }, 10_000), { bytes: 0 });
    assert.equal(handled.length, before + 2);
  });

  for (const [what, bytes] of [
    ["over deliver's limit", MAX_DELIVER_BYTES + 1],
    ["negative", -1],
    ["not a whole number", 1.5],
    ["not a number", "12"],
  ] as const)
    test(`a deliver line whose length is ${what} is refused and handled by nobody`, async () => {
      const before = handled.length;
      const answer = await exchange(paths.controlSocket, Buffer.from(`${deliver(bytes)}Subject: x\n`));
      assert.deepEqual(JSON.parse(answer), {
        ok: false,
        code: "INVALID",
        message: "the request announces a body it may not carry",
      });
      assert.equal(handled.length, before);
    });

  test("a line that is JSON but no request object goes to the handler with nothing after it", async () => {
    const before = handled.length;
    for (const line of ["null", "5", '"deliver"'])
      assert.deepEqual(JSON.parse(await exchange(paths.controlSocket, Buffer.from(`${line}\n`))), {
        ok: true,
        result: { bytes: 0 },
      });
    assert.equal(handled.length, before + 3);
  });

  test("bytes past the announced length, or after a request that has no body, are refused", async () => {
    const before = handled.length;
    for (const bytes of [
      Buffer.from(`${deliver(3)}abcd`),
      Buffer.from(`${JSON.stringify({ op: "status" })}\n{"op":"status"}\n`),
    ]) {
      const answer = await exchange(paths.controlSocket, bytes);
      assert.deepEqual(JSON.parse(answer), {
        ok: false,
        code: "INVALID",
        message: "more bytes than the request announced",
      });
    }
    assert.equal(handled.length, before);
  });
});
