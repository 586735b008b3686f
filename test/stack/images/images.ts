// Container images for the local node, made without a registry: nothing can be pulled here, so the
// stack assembles its own pause image (a static binary of ours) and base image (a minimal Debian
// root filesystem from debootstrap plus Node.js from the npm `node` package and npm from the npm
// registry), builds the project's Dockerfile on that base with buildah, and hands the results to
// containerd as archives. The pause and base images are built once into the cache.
import { createHash } from "node:crypto";
import { cpSync, existsSync, globSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { repoRoot, type StackConfig, versions } from "../config.ts";
import { run } from "../process.ts";

export const imageNames = {
  pause: "localhost/kbo/pause:3.10",
  base: `localhost/kbo/node-base:${versions.nodeImage.node}-${versions.nodeImage.debian}`,
  operator: "localhost/kbo/kafka-backup-operator:dev",
} as const;

const here = join(repoRoot, "test", "stack", "images");
const imagesDir = (config: StackConfig) => join(config.cacheDir, "images");

/** buildah with its own store in the cache, vfs (works on any filesystem, needs no overlay mounts), at low priority. */
export function buildah(config: StackConfig, args: string[], opts: { cwd?: string } = {}): string {
  const store = join(config.cacheDir, "buildah");
  return run(
    "nice",
    ["-n", "15", "buildah", "--root", join(store, "root"), "--runroot", join(store, "run"), "--storage-driver", "vfs", ...args],
    opts,
  );
}

function hasImage(config: StackConfig, name: string): boolean {
  return buildah(config, ["images", "--format", "{{.Name}}:{{.Tag}}"]).split("\n").includes(name);
}

/** Builds once (keyed by `key`) and returns the image's docker-archive, which `ctr images import` reads. */
function ensureArchive(config: StackConfig, name: string, key: string, build: () => void, log: (l: string) => void): string {
  const dir = join(imagesDir(config), name.split("/").at(-1)?.replace(":", "-") ?? name);
  const archive = join(dir, "image.tar");
  const stamp = join(dir, "built.stamp");
  if (existsSync(archive) && existsSync(stamp) && readFileSync(stamp, "utf8") === key && hasImage(config, name)) return archive;
  log(`building image ${name} (first run only)...`);
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  build();
  buildah(config, ["push", name, `docker-archive:${archive}:${name}`]);
  writeFileSync(stamp, key);
  log(`built image ${name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return archive;
}

/** An image from a folder that holds its whole root filesystem. */
function commitFolder(config: StackConfig, name: string, folder: string, settings: string[]): void {
  const container = buildah(config, ["from", "scratch"]).trim();
  try {
    buildah(config, ["copy", container, folder, "/"]);
    buildah(config, ["config", ...settings, container]);
    buildah(config, ["commit", "--rm", container, name]);
  } catch (err) {
    buildah(config, ["rm", container]);
    throw err;
  }
}

export function ensurePauseImage(config: StackConfig, log: (l: string) => void): string {
  const source = readFileSync(join(here, "pause.c"), "utf8");
  const key = createHash("sha256").update(source).digest("hex");
  return ensureArchive(
    config,
    imageNames.pause,
    key,
    () => {
      const root = join(imagesDir(config), "pause-rootfs");
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      run("gcc", ["-static", "-O2", "-s", "-o", join(root, "pause"), join(here, "pause.c")]);
      commitFolder(config, imageNames.pause, root, ["--entrypoint", '["/pause"]', "--user", "65535:65535"]);
      rmSync(root, { recursive: true, force: true });
    },
    log,
  );
}

/** A minimal Debian root filesystem (debootstrap's minbase variant from Debian's archive), built once. */
function ensureDebianRootfs(config: StackConfig, log: (l: string) => void): string {
  const { debian } = versions.nodeImage;
  const dir = join(imagesDir(config), `debian-${debian}-minbase`);
  const stamp = join(dir, "..", `debian-${debian}-minbase.stamp`);
  if (existsSync(stamp) && existsSync(join(dir, "bin"))) return dir;
  log(`debootstrap ${debian} (first run only)...`);
  rmSync(dir, { recursive: true, force: true });
  run("nice", ["-n", "15", "debootstrap", "--variant=minbase", debian, dir, debianMirror()]);
  // What a container runtime provides, and what only an installer needs.
  for (const sub of ["dev", "proc", "sys", "var/cache/apt/archives", "var/lib/apt/lists"]) {
    const path = join(dir, sub);
    for (const entry of existsSync(path) ? readdirSync(path) : []) rmSync(join(path, entry), { recursive: true, force: true });
  }
  writeFileSync(stamp, debian);
  return dir;
}

/** The machine's own Debian mirror (what apt-get uses here), so debootstrap reaches nothing else. */
function debianMirror(): string {
  const sources = "/etc/apt/sources.list.d/debian.sources";
  const uri = existsSync(sources) ? /^URIs:\s*(\S+\/debian)\s*$/m.exec(readFileSync(sources, "utf8"))?.[1] : undefined;
  return uri ?? "http://deb.debian.org/debian";
}

/** Node.js from the npm `node` package (the same binary the project's scripts run on) and npm from the registry. */
export function ensureBaseImage(config: StackConfig, log: (l: string) => void): string {
  const nodeBin = join(repoRoot, "node_modules", "node", "bin", "node");
  const nodeVersion = run(nodeBin, ["--version"]).trim();
  const { npm, debian } = versions.nodeImage;
  const key = `${nodeVersion}\nnpm ${npm}\n${debian}\n`;
  return ensureArchive(
    config,
    imageNames.base,
    key,
    () => {
      const rootfs = ensureDebianRootfs(config, log);
      const stage = join(imagesDir(config), "node-base-rootfs");
      rmSync(stage, { recursive: true, force: true });
      cpSync(rootfs, stage, { recursive: true, verbatimSymlinks: true });
      cpSync(nodeBin, join(stage, "usr/local/bin/node"));
      const packs = join(imagesDir(config), "npm-pack");
      mkdirSync(packs, { recursive: true });
      const tgz = join(packs, `npm-${npm}.tgz`);
      if (!existsSync(tgz)) run("npm", ["pack", `npm@${npm}`, "--pack-destination", packs], { cwd: packs });
      const npmDir = join(stage, "usr/local/lib/node_modules/npm");
      mkdirSync(npmDir, { recursive: true });
      run("tar", ["-xzf", tgz, "-C", npmDir, "--strip-components=1", "--no-same-owner"]);
      run("ln", ["-s", "../lib/node_modules/npm/bin/npm-cli.js", join(stage, "usr/local/bin/npm")]);
      run("ln", ["-s", "../lib/node_modules/npm/bin/npx-cli.js", join(stage, "usr/local/bin/npx")]);
      // The `node` user of the official images (uid/gid 1000), which the Deployments run as.
      writeFileSync(join(stage, "etc/passwd"), "node:x:1000:1000::/home/node:/bin/sh\n", { flag: "a" });
      writeFileSync(join(stage, "etc/group"), "node:x:1000:\n", { flag: "a" });
      mkdirSync(join(stage, "home/node"), { recursive: true });
      run("chown", ["1000:1000", join(stage, "home/node")]);
      commitFolder(config, imageNames.base, stage, ["--env", `NODE_VERSION=${nodeVersion.slice(1)}`, "--cmd", '["node"]']);
      rmSync(stage, { recursive: true, force: true });
    },
    log,
  );
}

/** What the image is built from: the Dockerfile, the build's inputs and the base, hashed. */
function operatorImageKey(): string {
  const hash = createHash("sha256").update(imageNames.base);
  const files = ["Dockerfile", "package.json", "package-lock.json", "build.ts", "tsconfig.json"];
  for (const dir of ["controllers", "engine", "crds"])
    files.push(
      ...globSync(`${dir}/**/*`, { cwd: repoRoot, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(repoRoot, join(e.parentPath, e.name))),
    );
  for (const file of files.sort())
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(repoRoot, file)))
      .update("\0");
  return hash.digest("hex");
}

/**
 * The project's Dockerfile built on the local base. The build stage's `npm ci` reaches the npm
 * registry as the host does and reuses the host's npm cache. Built whole when its inputs changed
 * (with vfs every step is a full copy of the root filesystem, over a GiB after `npm ci`, so
 * buildah keeps no layer cache and the image leaves its store once its archive is written); the
 * archive of the last build is kept with the hash of its inputs and reused while they match.
 */
export function buildOperatorImage(config: StackConfig, log: (l: string) => void): string {
  const dir = join(imagesDir(config), "operator");
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, "image.tar");
  const stamp = join(dir, "inputs.sha256");
  const key = operatorImageKey();
  if (existsSync(archive) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
    log(`image ${imageNames.operator} is up to date with the sources`);
    return archive;
  }
  rmSync(stamp, { force: true });
  const started = Date.now();
  log(`building image ${imageNames.operator} from the Dockerfile...`);
  buildah(config, ["rm", "--all"]);
  const npmCache = join(process.env.npm_config_cache ?? join(homedir(), ".npm"));
  mkdirSync(npmCache, { recursive: true });
  // The build's npm reaches the registry as the host's does: with the CA file the host's npm
  // trusts, if it has one (a TLS-inspecting proxy), given to npm's global config for the build only.
  const volumes = [`${npmCache}:/root/.npm`];
  const cafile = run("npm", ["config", "get", "cafile"]).trim();
  if (cafile && cafile !== "null" && existsSync(cafile)) {
    const npmrc = join(dir, "build-npmrc");
    writeFileSync(npmrc, "cafile=/etc/kbo-build-ca.crt\n");
    volumes.push(`${cafile}:/etc/kbo-build-ca.crt:ro`, `${npmrc}:/usr/local/etc/npmrc:ro`);
  }
  buildah(
    config,
    [
      "bud",
      "--layers=false",
      "--pull=never",
      "--isolation",
      "chroot",
      "--network",
      "host",
      ...volumes.flatMap((v) => ["--volume", v]),
      "--build-arg",
      `BASE=${imageNames.base}`,
      "--tag",
      imageNames.operator,
      "--file",
      join(repoRoot, "Dockerfile"),
      repoRoot,
    ],
    { cwd: repoRoot },
  );
  rmSync(archive, { force: true });
  buildah(config, ["push", imageNames.operator, `docker-archive:${archive}:${imageNames.operator}`]);
  // Working containers a failed build left, then every image but the base and pause ones.
  buildah(config, ["rm", "--all"]);
  buildah(config, ["rmi", imageNames.operator]);
  buildah(config, ["rmi", "--prune"]);
  writeFileSync(stamp, key);
  log(`built image ${imageNames.operator} in ${Math.round((Date.now() - started) / 1000)}s`);
  return archive;
}
