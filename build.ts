// `npm run build`: each controller and the CLI bundled into one JavaScript file for the image.
// The .ts sources also run as they are on Node 24; the bundles only save start-up time and size.
import { globSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";

const entries: Record<string, string> = { "cli/kafka-backup": "engine/cli/main.ts" };
for (const file of globSync("controllers/*.ts")) entries[`controllers/${basename(file, ".ts")}`] = file;

// `node build.ts <outdir>` builds elsewhere (the bench uses dist/bench, so that it never rewrites
// a bundle another test is starting).
const outdir = process.argv[2] ?? "dist";

const result = await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: "node",
  target: "node24",
  format: "esm",
  // Code reached only through import() (the storage SDKs, client-node for exec-plugin users) goes
  // to chunks of its own, loaded when first used: a controller whose resources all use S3 never
  // parses Azure's or Google's SDK (docs/performance.md, idle memory).
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  sourcemap: "linked",
  minify: false,
  legalComments: "external",
  metafile: true,
  // Native addons (prebuilt per platform) stay outside the bundle and load from node_modules.
  external: ["lz4-napi", "snappy", "@node-rs/crc32"],
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __kboCreateRequire } from 'node:module'; const require = __kboCreateRequire(import.meta.url);",
  },
});

for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".js")) console.log(`${file}  ${(output.bytes / 1024 / 1024).toFixed(1)} MiB`);
}
