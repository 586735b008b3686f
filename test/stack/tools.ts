// Getting the stack's real components onto the machine. Everything comes from a package registry
// (the Go module proxy, Maven Central, npm) and is built once into the cache folder; a stamp file
// records what was built, so a warm `stack up` builds nothing.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot, type StackConfig, versions } from "./config.ts";
import { run } from "./process.ts";

export interface GoTool {
  /** Folder name under the cache's go/ directory. */
  name: string;
  /** The go.mod of our small build module. */
  goMod: string;
  /** Packages to `go install`. */
  packages: string[];
  /** Binary names that must exist afterwards. */
  binaries: string[];
  /** Extra `-X` linker settings (version strings that a release build would stamp). */
  ldflags?: string[];
  /** Source files of our own, by path inside the build module (packages `./x` in `packages`). */
  sources?: Record<string, string>;
  /** Runs after `go mod tidy`, before `go install` (e.g. writes files a release build generates). */
  prepare?: (dir: string, env: Record<string, string>) => void;
}

/** Builds (once) and returns the directory holding the tool's binaries. */
export function ensureGoTool(config: StackConfig, tool: GoTool, log: (line: string) => void): string {
  const dir = join(config.cacheDir, "go", tool.name);
  const bin = join(dir, "bin");
  const stamp = join(dir, "built.stamp");
  const ldflags = ["-s", "-w", ...(tool.ldflags ?? [])].join(" ");
  const sources = Object.entries(tool.sources ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const want = `${tool.goMod}\n${tool.packages.join("\n")}\n${ldflags}\n${sources.map(([p, text]) => `${p}\n${text}`).join("\n")}`;
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want && tool.binaries.every((b) => existsSync(join(bin, b)))) {
    return bin;
  }
  log(`building ${tool.name} from Go modules (first run only)...`);
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "go.mod"), tool.goMod);
  // A blank-import file keeps `go mod tidy` from dropping the requirement.
  const imports = tool.packages
    .filter((p) => !p.startsWith("./"))
    .map((p) => `\t_ "${p}"`)
    .join("\n");
  if (imports) writeFileSync(join(dir, "tools.go"), `//go:build tools\n\npackage tools\n\nimport (\n${imports}\n)\n`);
  for (const [path, text] of sources) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const env = { GOFLAGS: "-mod=mod", GOBIN: bin, GOTOOLCHAIN: "local", CGO_ENABLED: "0" };
  run("go", ["mod", "tidy"], { cwd: dir, env });
  tool.prepare?.(dir, env);
  // At low priority: the first build takes minutes of both cores, and tests may run beside it.
  run("nice", ["-n", "15", "go", "install", "-trimpath", `-ldflags=${ldflags}`, ...tool.packages], { cwd: dir, env });
  for (const b of tool.binaries) {
    if (!existsSync(join(bin, b))) throw new Error(`${tool.name}: ${b} was not built`);
  }
  writeFileSync(stamp, want);
  log(`built ${tool.name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return bin;
}

/** Modules that a go.mod replaces with a path inside its own repository (`=> ./x`, `=> ../x`). */
export function localReplaces(goMod: string): string[] {
  const names: string[] = [];
  for (const match of goMod.matchAll(/^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\.\.?\/\S*)/gm)) {
    // etcd marks modules that must never be depended on with a path to nowhere.
    if (match[1] && !match[2]?.includes("FORBIDDEN")) names.push(match[1]);
  }
  return names;
}

/** The module's own go.mod, fetched by the go command through whatever proxy it is set up with. */
function stagingModules(module: string, version: string): string[] {
  const info = JSON.parse(run("go", ["mod", "download", "-json", `${module}@${version}`], { env: { GOFLAGS: "-mod=mod" } })) as {
    GoMod?: string;
  };
  if (!info.GoMod) throw new Error(`go mod download ${module}@${version}: no go.mod`);
  return localReplaces(readFileSync(info.GoMod, "utf8"));
}

function replaceBlock(module: string, version: string, published: (name: string) => string | undefined): string {
  const lines: string[] = [];
  for (const name of stagingModules(module, version)) {
    const v = published(name);
    if (v) lines.push(`\t${name} => ${name} ${v}`);
  }
  return lines.length ? `replace (\n${lines.join("\n")}\n)\n` : "";
}

/** kube-apiserver and kubectl: k8s.io/kubernetes with each staging module at its published v0.x. */
export function kubeTool(): GoTool {
  return kubernetesTool(`kubernetes-${versions.kubernetes}`, ["kube-apiserver", "kubectl"]);
}

/**
 * The node's components, from the same go.mod as the API server (same module, same version), in a
 * folder of their own: the control plane's cache stays valid, and a machine that never starts the
 * node never pays for their build.
 */
export function kubeNodeTool(): GoTool {
  return kubernetesTool(`kubernetes-node-${versions.kubernetes}`, [
    "kubelet",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
  ]);
}

function kubernetesTool(name: string, commands: string[]): GoTool {
  const v = versions.kubernetes;
  const staging = `v0.${v.slice("v1.".length)}`;
  const replaces = replaceBlock("k8s.io/kubernetes", v, () => staging);
  return {
    name,
    goMod: `module local/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes ${v}\n\n${replaces}`,
    packages: commands.map((c) => `k8s.io/kubernetes/cmd/${c}`),
    binaries: commands,
    // Without these both report "v0.0.0-master", which kubectl and clients refuse to parse.
    ldflags: ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${v}`,
      `-X ${pkg}.gitMajor=${v.split(".")[0]?.slice(1)}`,
      `-X ${pkg}.gitMinor=${v.split(".")[1]}`,
      `-X ${pkg}.gitTreeState=clean`,
    ]),
  };
}

/** etcd: its server module with the sibling modules it replaces at the same release. */
export function etcdTool(): GoTool {
  const v = versions.etcd;
  const module = "go.etcd.io/etcd/server/v3";
  const replaces = replaceBlock(module, v, () => v);
  return {
    name: `etcd-${v}`,
    goMod: `module local/etcd\n\ngo 1.24\n\nrequire ${module} ${v}\n\n${replaces}`,
    packages: [module],
    binaries: ["server"],
  };
}

export function minioTool(): GoTool {
  return {
    name: `minio-${versions.minio}`,
    goMod: `module local/minio\n\ngo 1.24.0\n\nrequire github.com/minio/minio ${versions.minio}\n`,
    packages: ["github.com/minio/minio"],
    binaries: ["minio"],
  };
}

export function fakeGcsTool(): GoTool {
  return {
    name: `fake-gcs-server-${versions.fakeGcs}`,
    goMod: `module local/fakegcs\n\ngo 1.26\n\nrequire github.com/fsouza/fake-gcs-server ${versions.fakeGcs}\n`,
    packages: ["github.com/fsouza/fake-gcs-server"],
    binaries: ["fake-gcs-server"],
  };
}

const ownSource = (path: string) => readFileSync(join(repoRoot, "test", "stack", path), "utf8");

/**
 * The Pulumi CLI and the Node.js language host. The CLI is Pulumi's own `pkg/v3/cmd/pulumi`, with
 * the replace line its go.mod has. Pulumi's language host is a module the Go module proxy does not
 * serve, so ours (test/stack/pulumi-language-nodejs) is built beside it against the same sdk.
 */
export function pulumiTool(): GoTool {
  const v = versions.pulumi;
  return {
    name: `pulumi-${v}`,
    goMod: `module local/pulumi

go 1.26.6

require (
\tgithub.com/pulumi/pulumi/pkg/v3 ${v}
\tgithub.com/pulumi/pulumi/sdk/v3 ${v}
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
`,
    packages: ["github.com/pulumi/pulumi/pkg/v3/cmd/pulumi", "./cmd/pulumi-language-nodejs"],
    binaries: ["pulumi", "pulumi-language-nodejs"],
    ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v}`, `-X main.version=${v.slice(1)}`],
    sources: { "cmd/pulumi-language-nodejs/main.go": ownSource("pulumi-language-nodejs/main.go") },
  };
}

/**
 * The Kubernetes resource provider. Its module is served only as a pseudo-version (no release tag
 * of its own); its go.mod replaces its SDK with a sibling folder, which we replace with a published
 * SDK release old enough not to pull a newer Pulumi sdk than the provider's pkg/v3 was built with.
 * The schema it embeds is generated by its release build, so `prepare` writes it (version
 * stamped) from the module's schema.json.
 */
export function pulumiKubernetesTool(): GoTool {
  const { module, version, sdk } = versions.pulumiKubernetes;
  const provider = "github.com/pulumi/pulumi-kubernetes/provider/v4";
  const cmd = "cmd/pulumi-resource-kubernetes";
  return {
    name: `pulumi-kubernetes-v${version}`,
    goMod: `module local/pulumi-kubernetes

go 1.24.7

require ${provider} ${module}

replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 ${sdk}
`,
    packages: [`./${cmd}`],
    binaries: ["pulumi-resource-kubernetes"],
    ldflags: [`-X ${provider}/pkg/version.Version=${version}`],
    sources: { [`${cmd}/main.go`]: ownSource("pulumi-resource-kubernetes/main.go") },
    prepare(dir, env) {
      const moduleDir = run("go", ["list", "-m", "-f", "{{.Dir}}", provider], { cwd: dir, env }).trim();
      const read = (file: string) => JSON.parse(readFileSync(join(moduleDir, cmd, file), "utf8")) as Record<string, unknown>;
      writeFileSync(join(dir, cmd, "schema-embed.json"), JSON.stringify({ ...read("schema.json"), version }));
      writeFileSync(join(dir, cmd, "terraform-mapping-embed.json"), JSON.stringify(read("terraform-mapping.json")));
    },
  };
}

/** Kafka's jars (broker, tools, perf tools) resolved by Maven into one folder for `java -cp`. */
export function ensureKafkaJars(config: StackConfig, log: (line: string) => void): string {
  const version = config.kafkaVersion;
  const dir = join(config.cacheDir, "kafka", version);
  const lib = join(dir, "lib");
  const stamp = join(dir, "resolved.stamp");
  if (existsSync(stamp) && existsSync(lib) && readdirSync(lib).some((f) => f.startsWith("kafka_2.13-"))) return lib;
  log(`resolving Apache Kafka ${version} jars from Maven Central (first run only)...`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  // Kafka 4 logs through log4j2 and needs an slf4j 2 binding; 3.x brings reload4j itself.
  const logging = version.startsWith("3.")
    ? ""
    : dep("org.apache.logging.log4j", "log4j-slf4j2-impl", "2.25.3") + dep("org.slf4j", "slf4j-api", "2.0.17");
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>kafka-dist</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    ${dep("org.apache.kafka", "kafka_2.13", version)}
    ${dep("org.apache.kafka", "kafka-tools", version)}
    ${logging}
  </dependencies>
</project>
`;
  writeFileSync(join(dir, "pom.xml"), pom);
  run("mvn", ["-q", "-B", "dependency:copy-dependencies", `-DoutputDirectory=${lib}`], { cwd: dir });
  writeFileSync(stamp, version);
  return lib;
}

/**
 * Jars of a Maven artifact and its dependencies, resolved once into the cache for `java -cp`
 * (e.g. Quartz, whose CronExpression the schedule test compares ours with).
 */
export function ensureMavenJars(
  config: StackConfig,
  artifact: { groupId: string; artifactId: string; version: string },
  log: (line: string) => void,
): string {
  const dir = join(config.cacheDir, "maven", `${artifact.artifactId}-${artifact.version}`);
  const lib = join(dir, "lib");
  const stamp = join(dir, "resolved.stamp");
  if (existsSync(stamp) && existsSync(lib)) return lib;
  log(`resolving ${artifact.groupId}:${artifact.artifactId}:${artifact.version} from Maven Central (first run only)...`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>${artifact.artifactId}-dist</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>${artifact.groupId}</groupId><artifactId>${artifact.artifactId}</artifactId><version>${artifact.version}</version></dependency>
  </dependencies>
</project>
`;
  writeFileSync(join(dir, "pom.xml"), pom);
  run("mvn", ["-q", "-B", "dependency:copy-dependencies", `-DoutputDirectory=${lib}`], { cwd: dir });
  writeFileSync(stamp, artifact.version);
  return lib;
}
