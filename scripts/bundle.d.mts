/** Types for bundle.mjs (plain JavaScript: build.mjs runs before anything is compiled). */
import type * as Esbuild from "esbuild";

export declare function bundle(
  esbuild: typeof Esbuild,
  outdir: string,
): Promise<{ outputs: Record<string, Esbuild.Metafile["outputs"][string]> }>;
