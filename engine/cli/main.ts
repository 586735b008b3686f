#!/usr/bin/env node
// `kafka-backup`: the engine on its own, for ad-hoc work and for debugging a backup.
import { Command } from "commander";
import pkg from "../../package.json" with { type: "json" };

export const program = new Command("kafka-backup")
  .description("back up Apache Kafka topics to object storage and restore them to any point in time")
  .version(pkg.version);

program
  .command("version")
  .description("print the versions of this tool and of the Node.js runtime")
  .option("--json", "machine-readable output")
  .action((opts: { json?: boolean }) => {
    const versions = { "kafka-backup": pkg.version, node: process.versions.node };
    console.log(opts.json ? JSON.stringify(versions) : `kafka-backup ${versions["kafka-backup"]} (node ${versions.node})`);
  });

await program.parseAsync();
