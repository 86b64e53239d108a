/**
 * `export PATH [--format mbox|maildir] [--mailbox NAME] --password-stdin [--json] [--progress]`:
 * every mailbox (or one) as Maildirs or mbox files, through the running server when there is one.
 * Layout and format guessing: src/mail/importExport/exportMail.ts and docs/cli.md.
 */
import { EXIT } from "../exitCodes.ts";
import type { ExportSummary } from "../../mail/importExport/index.ts";
import { formatBytes, transfer, type TransferFlags } from "./import.ts";

export async function run(path: string, flags: TransferFlags): Promise<number> {
  const summary = (await transfer("export", path, flags)) as ExportSummary;
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const where = summary.mailboxes.length === 1 ? summary.mailboxes[0]!.path : path;
    process.stdout.write(
      `Exported ${summary.messages} message(s), ${formatBytes(summary.bytes)}, from ${summary.mailboxes.length} mailbox(es) as ${summary.format} to ${where} in ${summary.seconds.toFixed(1)} s.\n`,
    );
    if (summary.droppedKeywords > 0)
      process.stdout.write(
        `${summary.droppedKeywords} message(s) had keywords, which ${summary.format} cannot hold: they were left out.\n`,
      );
  }
  return EXIT.ok;
}
