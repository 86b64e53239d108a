/**
 * Which mailbox an LMTP recipient means. `alice@any.domain` is INBOX; `alice+Lists@...` asks for the
 * mailbox "Lists" (plus-addressing; the mover falls back to INBOX when it does not exist). The
 * local part before `+` must be the account's login name, compared without case as mail hosts do.
 * The domain is the MTA's business: it chose this host for the recipient.
 */
export function lmtpRecipient(address: string, user: string): { mailbox: string } | undefined {
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  const plus = local.indexOf("+");
  const name = plus < 0 ? local : local.slice(0, plus);
  if (name.toLowerCase() !== user.toLowerCase()) return undefined;
  const detail = plus < 0 ? "" : local.slice(plus + 1);
  return { mailbox: detail === "" ? "INBOX" : detail };
}
