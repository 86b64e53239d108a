/**
 * Issue 12 with the real binary: `start` keeps this computer's marks in the home, so a data folder
 * put back as an older copy (what a host restoring an old bucket does) is refused after a restart:
 * the client gets NO [CORRUPTION], the server logs why, and `doctor` fails its rollback check
 * (run in this process, inProcess.ts: its subject is the check, not the process).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { RawImap } from "../support/rawImap.ts";
import { withRunningServer, type RunningServer, CLI_PASSWORD } from "./cliHarness.ts";
import { runCliHere } from "./inProcess.ts";

/** The same in every file, so they share one template home (cliHarness.ts, copyHome). */
const PASSWORD = CLI_PASSWORD;
/** The server is started three times; the fixture kills one a failed assertion left running. */
const home = withRunningServer({ password: PASSWORD, start: "manual" });
let server: RunningServer;

async function session(port: number): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.readLine();
  const login = await c.command(`LOGIN alice "${PASSWORD}"`);
  assert.match(login.at(-1)!, /OK/);
  return c;
}

async function append(c: RawImap, subject: string): Promise<string> {
  const raw = Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`);
  const tag = c.nextTag();
  c.write(`${tag} APPEND INBOX {${raw.length}}\r\n`);
  assert.match(await c.readLine(), /^\+/);
  c.write(Buffer.concat([raw, Buffer.from("\r\n")]));
  return (await c.until(tag)).at(-1)!;
}

test("an older copy of the data folder put back is refused after a restart, and doctor reports it", async () => {
  const data = join(home.dir, "data");
  server = await home.start();
  let c = await session(server.port);
  assert.match(await append(c, "first"), /OK \[APPENDUID \d+ 1\]/);
  c.close();
  assert.equal(await server.stop(), 0);
  await cp(data, `${data}.old`, { recursive: true });

  server = await home.start();
  c = await session(server.port);
  assert.match(await append(c, "second"), /OK \[APPENDUID \d+ 2\]/);
  c.close();
  assert.equal(await server.stop(), 0);
  await rm(data, { recursive: true });
  await cp(`${data}.old`, data, { recursive: true });

  server = await home.start();
  c = await session(server.port);
  const select = await c.command("SELECT INBOX");
  assert.match(select.at(-1)!, /NO \[CORRUPTION\] storage went back at index\//);
  assert.match(await append(c, "third"), /NO \[CORRUPTION\]/);
  c.close();
  assert.equal(await server.stop(), 0);
  assert.match(server.stderr(), /ERROR storage went back at index\/.*delete .*marks.* to accept it/);

  const doctor = await runCliHere(["doctor", "--json"], { home: home.dir });
  const check = (
    JSON.parse(doctor.stdout) as { checks: { name: string; status: string; fix?: string }[] }
  ).checks.find((x) => x.name === "storage rollback");
  assert.equal(check?.status, "fail", doctor.stdout);
  assert.match(check?.fix ?? "", /delete .*marks to accept it/);
  assert.equal(doctor.code, 1);
});
