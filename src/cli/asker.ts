/**
 * Questions on a terminal (@inquirer/prompts): each answer is checked as it is given, and a wrong
 * one gets its message and another try. Secrets are never echoed.
 */
export type Check = (value: string) => Promise<true | string> | true | string;

export interface Asker {
  choose<T extends string>(
    message: string,
    choices: { value: T; name: string; description?: string }[],
    initial: T,
  ): Promise<T>;
  text(message: string, opts?: { initial?: string; check?: Check }): Promise<string>;
  secret(message: string, opts?: { check?: Check }): Promise<string>;
  confirm(message: string, initial: boolean): Promise<boolean>;
  say(text: string): void;
}

export async function terminalAsker(): Promise<Asker> {
  const prompts = await import("@inquirer/prompts");
  return {
    choose: (message, choices, initial) => prompts.select({ message, choices, default: initial }),
    text: (message, opts = {}) =>
      prompts
        .input({
          message,
          ...(opts.initial !== undefined ? { default: opts.initial } : {}),
          ...(opts.check ? { validate: opts.check } : {}),
        })
        .then((v) => v.trim()),
    secret: (message, opts = {}) =>
      prompts.password({ message, mask: false, ...(opts.check ? { validate: opts.check } : {}) }),
    confirm: (message, initial) => prompts.confirm({ message, default: initial }),
    say: (text) => process.stdout.write(`${text}\n`),
  };
}

/** A terminal is there to ask on (both ends), and the user did not say --yes. */
export function canAsk(yes: boolean | undefined): boolean {
  return !yes && Boolean(process.stdin.isTTY && process.stdout.isTTY);
}
