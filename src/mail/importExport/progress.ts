/** How far an import or export is; reported often, printed (throttled) by the command line. */
export interface TransferProgress {
  messages: number;
  bytes: number;
  /** What the whole transfer will be, when known ahead (for the ETA). */
  totalMessages?: number;
  totalBytes?: number;
  elapsedMs: number;
}

export type OnProgress = (p: TransferProgress) => void;
