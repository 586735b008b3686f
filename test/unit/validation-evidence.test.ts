// Evidence signing without I/O: canonical JSON, ECDSA P-256 signatures that verify with the
// public key, and fail after any single-byte change to the report or the signature, or with
// another key; keys that are not P-256 are refused.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import {
  canonicalJson,
  EvidenceError,
  evidenceFolder,
  evidenceFolderTime,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  signEvidence,
  verifyEvidence,
} from "../../engine/validation/evidence.ts";

function p256() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const report = {
  schema: "kafka-backup-operator/validation-evidence",
  schemaVersion: 1,
  reportId: "r1",
  backup: { backupId: "b-20261125-020000", records: 150 },
  result: "Pass",
  checks: [{ checkName: "deepIntegrity", outcome: "Passed", message: "ok", durationMs: 3 }],
};

describe("evidence", () => {
  test("canonical JSON sorts keys at every level and drops undefined", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: "é" } }),
      '{"a":{"c":"é","d":[2,{"x":0,"z":1}]},"b":1}',
    );
    assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
  });

  test("a signed report verifies with the public key, and any changed byte breaks it", () => {
    const keys = p256();
    const bytes = Buffer.from(canonicalJson(report));
    const signature = JSON.stringify(signEvidence(bytes, parsePrivateKey(keys.privatePem, "test")));
    const pub = parsePublicKey(keys.publicPem, "test");
    const ok = verifyEvidence(bytes, signature, pub);
    assert.equal(ok.valid, true, ok.message);
    assert.equal(ok.report?.backup.backupId, "b-20261125-020000");
    // Every single byte of the report, flipped in turn.
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] as number) ^ 0x01;
      assert.equal(verifyEvidence(tampered, signature, pub).valid, false, `byte ${i} changed and still valid`);
    }
    const appended = Buffer.concat([bytes, Buffer.from(" ")]);
    assert.equal(verifyEvidence(appended, signature, pub).valid, false);
    const sig = JSON.parse(signature) as { signature: string };
    const raw = Buffer.from(sig.signature, "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0x01;
    assert.equal(verifyEvidence(bytes, JSON.stringify({ ...sig, signature: raw.toString("base64") }), pub).valid, false);
  });

  test("another key does not verify it", () => {
    const a = p256();
    const b = p256();
    const bytes = Buffer.from(canonicalJson(report));
    const signature = JSON.stringify(signEvidence(bytes, parsePrivateKey(a.privatePem, "a")));
    const r = verifyEvidence(bytes, signature, parsePublicKey(b.publicPem, "b"));
    assert.equal(r.valid, false);
    assert.match(r.message, /not by the given public key/);
    assert.equal(keyIdOf(parsePrivateKey(a.privatePem, "a")), keyIdOf(parsePublicKey(a.publicPem, "a")));
  });

  test("keys that are not ECDSA P-256 are refused without quoting them", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    assert.throws(() => parsePrivateKey(rsa, "spec.evidence.signing.keySecret"), EvidenceError);
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    assert.throws(() => parsePrivateKey(p384, "k"), /not an ECDSA P-256 key/);
    const canary = "CANARY-NOT-A-KEY-7f3a";
    assert.throws(
      () => parsePrivateKey(canary, "k"),
      (err: Error) => !err.message.includes(canary),
    );
  });

  test("evidence folders carry their time", () => {
    const folder = evidenceFolder("b-1", "nightly-check", new Date("2026-11-25T02:00:05Z"));
    assert.equal(folder, "b-1/validations/nightly-check-20261125-020005");
    assert.equal(evidenceFolderTime("nightly-check-20261125-020005")?.toISOString(), "2026-11-25T02:00:05.000Z");
    assert.equal(evidenceFolderTime("nightly"), undefined);
  });
});
