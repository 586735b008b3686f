import { releaseNamespace } from "./controllers.ts";

for (const ns of process.argv.slice(2)) await releaseNamespace(ns);
