// Tests read the local stack's endpoints from the environment; `npm test` passes `.stack/env` in,
// and a test file run on its own (`node --test test/integration/x.test.ts`) loads it here.
import { stackConfig } from "../stack/config.ts";
import { readStackEnv } from "../stack/stack.ts";

let fromFile = readStackEnv(stackConfig());

export function stackEnv(name: string): string {
  // Read again when missing: the demo brings the stack up after this module has loaded.
  if (!process.env[name] && !fromFile[name]) fromFile = readStackEnv(stackConfig());
  const value = process.env[name] ?? fromFile[name];
  if (!value) throw new Error(`${name} is not set: start the local stack with \`npm run stack -- up\``);
  return value;
}
