// The object stores: MinIO for S3, Azurite for Azure Blob, fake-gcs-server for GCS. Each starts
// with one bucket (container) ready for the tests.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient } from "@azure/storage-blob";
import { type Component, dataDir, type Env, loadState, saveState } from "./component.ts";
import { freePort, serverPid, startServer, stopServer, waitUntil } from "./process.ts";
import { ensureGoTool, fakeGcsTool, minioTool } from "./tools.ts";

const testBucket = "kbo-test";

async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

interface MinioState {
  port: number;
  consolePort: number;
  accessKey: string;
  secretKey: string;
}

export const minio: Component = {
  name: "minio",
  externalWhen: ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"],
  envPrefixes: ["S3_"],

  async up(ctx) {
    const bin = ensureGoTool(ctx.config, minioTool(), ctx.log);
    const state: MinioState = loadState<MinioState>(ctx, "minio") ?? {
      port: await freePort(),
      consolePort: await freePort(),
      accessKey: "kbo-admin",
      secretKey: randomBytes(18).toString("base64url"),
    };
    saveState(ctx, "minio", state);
    if (serverPid(ctx.dirs, "minio") === undefined) {
      startServer(ctx.dirs, {
        name: "minio",
        command: join(bin, "minio"),
        args: [
          "server",
          dataDir(ctx, "minio"),
          "--address",
          `127.0.0.1:${state.port}`,
          "--console-address",
          `127.0.0.1:${state.consolePort}`,
          "--quiet",
        ],
        env: {
          MINIO_ROOT_USER: state.accessKey,
          MINIO_ROOT_PASSWORD: state.secretKey,
          MINIO_BROWSER: "off",
          MINIO_UPDATE: "off",
        },
      });
    }
    const env: Env = {
      S3_ENDPOINT: `http://127.0.0.1:${state.port}`,
      S3_REGION: "us-east-1",
      S3_ACCESS_KEY_ID: state.accessKey,
      S3_SECRET_ACCESS_KEY: state.secretKey,
      S3_BUCKET: testBucket,
    };
    await waitUntil("minio", () => httpOk(`${env.S3_ENDPOINT}/minio/health/ready`), {
      timeoutMs: 60_000,
      dirs: ctx.dirs,
      server: "minio",
    });
    const s3 = s3Client(env);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: testBucket }));
    } catch (err) {
      if ((err as Error).name !== "BucketAlreadyOwnedByYou") throw err;
    }
    return env;
  },

  async health(_ctx, env) {
    const ok = await httpOk(`${env.S3_ENDPOINT}/minio/health/ready`).catch(() => false);
    return { healthy: ok, detail: `${env.S3_ENDPOINT} bucket ${env.S3_BUCKET}` };
  },

  async down(ctx) {
    await stopServer(ctx.dirs, "minio");
  },
};

export function s3Client(env: Env): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID ?? "", secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "" },
  });
}

// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const devAccount = "devstoreaccount1";
const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export const azurite: Component = {
  name: "azurite",
  externalWhen: ["AZURE_STORAGE_CONNECTION_STRING"],
  envPrefixes: ["AZURE_"],

  async up(ctx) {
    const state = loadState<{ port: number }>(ctx, "azurite") ?? { port: await freePort() };
    saveState(ctx, "azurite", state);
    if (serverPid(ctx.dirs, "azurite") === undefined) {
      const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
      startServer(ctx.dirs, {
        name: "azurite",
        command: process.execPath,
        args: [
          main,
          "--blobHost",
          "127.0.0.1",
          "--blobPort",
          String(state.port),
          "--location",
          dataDir(ctx, "azurite"),
          "--skipApiVersionCheck",
          "--loose",
          "--disableProductStyleUrl",
          "--silent",
        ],
      });
    }
    const endpoint = `http://127.0.0.1:${state.port}/${devAccount}`;
    const env: Env = {
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${devAccount};AccountKey=${devKey};BlobEndpoint=${endpoint};`,
      AZURE_BLOB_ENDPOINT: endpoint,
      AZURE_STORAGE_ACCOUNT: devAccount,
      AZURE_STORAGE_KEY: devKey,
      AZURE_CONTAINER: testBucket,
    };
    await waitUntil("azurite", async () => (await this.health(ctx, env)).healthy, {
      timeoutMs: 60_000,
      dirs: ctx.dirs,
      server: "azurite",
    });
    await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING ?? "")
      .getContainerClient(testBucket)
      .createIfNotExists();
    return env;
  },

  async health(_ctx, env) {
    try {
      const service = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING ?? "");
      await service.getProperties({ abortSignal: AbortSignal.timeout(2000) });
      return { healthy: true, detail: `${env.AZURE_BLOB_ENDPOINT} container ${env.AZURE_CONTAINER}` };
    } catch (err) {
      return { healthy: false, detail: (err as Error).message };
    }
  },

  async down(ctx) {
    await stopServer(ctx.dirs, "azurite");
  },
};

export const fakeGcs: Component = {
  name: "fake-gcs",
  externalWhen: ["GCS_ENDPOINT"],
  envPrefixes: ["GCS_"],

  async up(ctx) {
    const bin = ensureGoTool(ctx.config, fakeGcsTool(), ctx.log);
    const state = loadState<{ port: number }>(ctx, "fake-gcs") ?? { port: await freePort() };
    saveState(ctx, "fake-gcs", state);
    const url = `http://127.0.0.1:${state.port}`;
    if (serverPid(ctx.dirs, "fake-gcs") === undefined) {
      startServer(ctx.dirs, {
        name: "fake-gcs",
        command: join(bin, "fake-gcs-server"),
        args: [
          "-scheme",
          "http",
          "-host",
          "127.0.0.1",
          "-port",
          String(state.port),
          "-backend",
          "filesystem",
          "-filesystem-root",
          dataDir(ctx, "fake-gcs"),
          "-public-host",
          `127.0.0.1:${state.port}`,
          "-external-url",
          url,
          "-log-level",
          "warn",
        ],
      });
    }
    const env: Env = { GCS_ENDPOINT: url, GCS_PROJECT_ID: "kbo-test", GCS_BUCKET: testBucket };
    await waitUntil("fake-gcs-server", async () => (await this.health(ctx, env)).healthy, {
      timeoutMs: 60_000,
      dirs: ctx.dirs,
      server: "fake-gcs",
    });
    const res = await fetch(`${url}/storage/v1/b?project=${env.GCS_PROJECT_ID}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: testBucket }),
    });
    if (!res.ok && res.status !== 409)
      throw new Error(`fake-gcs-server: creating bucket ${testBucket}: HTTP ${res.status} ${await res.text()}`);
    return env;
  },

  async health(_ctx, env) {
    const ok = await httpOk(`${env.GCS_ENDPOINT}/storage/v1/b?project=${env.GCS_PROJECT_ID}`).catch(() => false);
    return { healthy: ok, detail: `${env.GCS_ENDPOINT} bucket ${env.GCS_BUCKET}` };
  },

  async down(ctx) {
    await stopServer(ctx.dirs, "fake-gcs");
  },
};
