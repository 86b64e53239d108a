/** Import and export of mbox files and Maildirs (DESIGN.md §2, mail/). */
export { importMail, type ImportOptions, type ImportSummary } from "./importMail.ts";
export {
  exportMail,
  guessExportFormat,
  mailboxFileName,
  type ExportOptions,
  type ExportSummary,
} from "./exportMail.ts";
export { openMailSource, type MailFormat } from "./mailSource.ts";
export type { TransferProgress, OnProgress } from "./progress.ts";
