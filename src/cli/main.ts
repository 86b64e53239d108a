export async function main(_argv: string[]): Promise<void> {
  process.stderr.write("aerogramme-local: the command line is not built yet\n");
  process.exitCode = 2;
}
