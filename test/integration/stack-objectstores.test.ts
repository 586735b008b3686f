// Smoke tests of the stack's object stores with the official SDKs: put, get, list, delete.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient } from "@azure/storage-blob";
import { Storage } from "@google-cloud/storage";
import { stackEnv } from "../support/stack-env.ts";

const keys = (prefix: string) => ["a.bin", "b.bin", "sub/c.bin"].map((k) => `${prefix}/${k}`);
const body = (key: string) => Buffer.from(`content of ${key}\n`.repeat(100));

describe("stack: object stores", () => {
  test("MinIO (S3 API)", async () => {
    const s3 = new S3Client({
      endpoint: stackEnv("S3_ENDPOINT"),
      region: stackEnv("S3_REGION"),
      forcePathStyle: true,
      credentials: { accessKeyId: stackEnv("S3_ACCESS_KEY_ID"), secretAccessKey: stackEnv("S3_SECRET_ACCESS_KEY") },
    });
    const Bucket = stackEnv("S3_BUCKET");
    const prefix = `smoke-${randomUUID()}`;
    for (const Key of keys(prefix)) await s3.send(new PutObjectCommand({ Bucket, Key, Body: body(Key) }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: `${prefix}/a.bin` }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), body(`${prefix}/a.bin`));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: `${prefix}/` }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key).sort(), keys(prefix));
    await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys(prefix).map((Key) => ({ Key })) } }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: `${prefix}/` }));
    assert.equal(after.KeyCount, 0);
  });

  test("Azurite (Azure Blob API)", async () => {
    const container = BlobServiceClient.fromConnectionString(stackEnv("AZURE_STORAGE_CONNECTION_STRING")).getContainerClient(
      stackEnv("AZURE_CONTAINER"),
    );
    const prefix = `smoke-${randomUUID()}`;
    for (const key of keys(prefix)) await container.getBlockBlobClient(key).uploadData(body(key));
    const got = await container.getBlockBlobClient(`${prefix}/a.bin`).downloadToBuffer();
    assert.deepEqual(got, body(`${prefix}/a.bin`));
    const listed: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: `${prefix}/` })) listed.push(blob.name);
    assert.deepEqual(listed.sort(), keys(prefix));
    for (const key of keys(prefix)) await container.deleteBlob(key);
    const after: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: `${prefix}/` })) after.push(blob.name);
    assert.deepEqual(after, []);
  });

  test("fake-gcs-server (GCS API)", async () => {
    const storage = new Storage({ apiEndpoint: stackEnv("GCS_ENDPOINT"), projectId: stackEnv("GCS_PROJECT_ID") });
    const bucket = storage.bucket(stackEnv("GCS_BUCKET"));
    const prefix = `smoke-${randomUUID()}`;
    for (const key of keys(prefix)) await bucket.file(key).save(body(key), { resumable: false });
    const [got] = await bucket.file(`${prefix}/a.bin`).download();
    assert.deepEqual(got, body(`${prefix}/a.bin`));
    const [files] = await bucket.getFiles({ prefix: `${prefix}/` });
    assert.deepEqual(files.map((f) => f.name).sort(), keys(prefix));
    for (const key of keys(prefix)) await bucket.file(key).delete();
    const [after] = await bucket.getFiles({ prefix: `${prefix}/` });
    assert.deepEqual(after, []);
  });
});
