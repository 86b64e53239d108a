/** Commands whose layer is not in this build yet: they say so with exit code 10, never half-work. */
import { CliError, EXIT } from "../exitCodes.ts";

export function notYet(name: string) {
  return async (): Promise<number> => {
    throw new CliError(
      `\`${name}\` is not available in this build yet (the mail delivery and import/export layer is missing). Nothing was read or changed.`,
      EXIT.notAvailable,
    );
  };
}
