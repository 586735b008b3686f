// The evidence report: what a validation run found, as JSON with a stable schema
// (docs/validation.md), stored with the backup and optionally signed with ECDSA P-256. The
// stored bytes are the report's canonical JSON (keys sorted, no whitespace), so a signature is
// over exactly what is stored and anyone can re-derive it. Nothing secret is ever put in: the
// report is built only from the manifest, the check results and names of things.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { CheckResult, ValidationResult } from "./checks.ts";

export const EVIDENCE_SCHEMA = "kafka-backup-operator/validation-evidence";
export const EVIDENCE_SCHEMA_VERSION = 1;
export const SIGNATURE_SCHEMA = "kafka-backup-operator/evidence-signature";
export const SIGNATURE_ALGORITHM = "ECDSA-P256-SHA256";

export class EvidenceError extends Error {
  readonly reason: string;
  override name = "EvidenceError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface EvidenceReport {
  schema: typeof EVIDENCE_SCHEMA;
  schemaVersion: typeof EVIDENCE_SCHEMA_VERSION;
  reportId: string;
  tool: { name: string; version: string };
  /** The KafkaBackupValidation (or CLI run) that produced it. */
  validation: { name: string; namespace?: string; triggeredBy: string };
  backup: {
    backupId: string;
    /** Where the set is, as a URL without credentials (s3://bucket/prefix/id, file:///...). */
    location: string;
    writer: string;
    createdAt: string;
    updatedAt: string;
    sourceClusterId?: string;
    topics: number;
    partitions: number;
    segments: number;
    records: number;
    storedBytes: number;
    gaps: number;
    encrypted: boolean;
    /** SHA-256 of manifest.json as stored. */
    manifestSha256: string;
    /** A set in a chain: the chain and every set validated with it (oldest first), each manifest by its SHA-256. */
    chain?: { id: string; sets: Array<{ backupId: string; manifestSha256: string }> };
  };
  /** The cluster compared against, when one was. */
  cluster?: {
    bootstrapServers: string[];
    role: "source" | "restored";
    topicMapping?: Record<string, string>;
    window?: { start?: string; end?: string };
  };
  result: ValidationResult;
  counts: { checks: number; passed: number; failed: number; warned: number; skipped: number };
  checks: CheckResult[];
  /** Every segment read by the deep check: key, size, SHA-256 of the bytes read, records decoded. */
  segments?: Array<{ key: string; bytes: number; sha256: string | null; records?: number; ok: boolean }>;
  startedAt: string;
  completedAt: string;
  durationMs: number;
}

/** The detached signature, stored beside the report as `evidence.json.sig`. */
export interface EvidenceSignature {
  schema: typeof SIGNATURE_SCHEMA;
  algorithm: typeof SIGNATURE_ALGORITHM;
  /** SHA-256 of the signed bytes (the stored evidence.json). */
  reportSha256: string;
  /** SHA-256 of the signer's public key (SubjectPublicKeyInfo DER): which key to verify with. */
  keyId: string;
  /** DER-encoded ECDSA signature, base64. */
  signature: string;
  signedAt: string;
}

/** JSON with object keys sorted at every level and no whitespace; undefined members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export const sha256Hex = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** Folder of one run's evidence, beside the backup: `{backupId}/validations/{name}-{YYYYMMDD-HHMMSS}/`. */
export function evidenceFolder(backupId: string, validationName: string, at: Date): string {
  const iso = at.toISOString();
  const stamp = `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}`;
  return `${backupId}/validations/${validationName}-${stamp}`;
}
export const evidenceKey = (folder: string) => `${folder}/evidence.json`;
export const signatureKey = (folder: string) => `${folder}/evidence.json.sig`;

/** The time encoded in an evidence folder name, for retention; undefined when it has none. */
export function evidenceFolderTime(folderName: string): Date | undefined {
  const m = /-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(folderName);
  if (!m) return undefined;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

function ecKey(key: KeyObject, what: string): KeyObject {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1")
    throw new EvidenceError("InvalidSigningKey", `${what} is not an ECDSA P-256 key`);
  return key;
}

export function parsePrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // Never the PEM itself in a message.
    throw new EvidenceError("InvalidSigningKey", `${where}: not a PEM private key`);
  }
  return ecKey(key, where);
}

export function parsePublicKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    // A private key PEM yields its public half too.
    key = createPublicKey(pem);
  } catch {
    throw new EvidenceError("InvalidPublicKey", `${where}: not a PEM public key`);
  }
  return ecKey(key, where);
}

export const keyIdOf = (key: KeyObject) =>
  sha256Hex((key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" }));

export function signEvidence(bytes: Buffer, privateKey: KeyObject, at = new Date()): EvidenceSignature {
  return {
    schema: SIGNATURE_SCHEMA,
    algorithm: SIGNATURE_ALGORITHM,
    reportSha256: sha256Hex(bytes),
    keyId: keyIdOf(privateKey),
    signature: sign("sha256", bytes, { key: privateKey, dsaEncoding: "der" }).toString("base64"),
    signedAt: at.toISOString(),
  };
}

export interface Verification {
  valid: boolean;
  /** Why not, or what was verified. */
  message: string;
  report?: EvidenceReport;
}

/** Checks a stored report against its detached signature with the public key. */
export function verifyEvidence(reportBytes: Buffer, signatureText: string, publicKey: KeyObject): Verification {
  let signature: EvidenceSignature;
  try {
    signature = JSON.parse(signatureText) as EvidenceSignature;
  } catch {
    return { valid: false, message: "the signature file is not JSON" };
  }
  if (signature.schema !== SIGNATURE_SCHEMA || signature.algorithm !== SIGNATURE_ALGORITHM)
    return { valid: false, message: `unsupported signature (${signature.schema} ${signature.algorithm})` };
  if (signature.keyId !== keyIdOf(publicKey))
    return { valid: false, message: `signed by key ${signature.keyId}, not by the given public key ${keyIdOf(publicKey)}` };
  let ok = false;
  try {
    ok = verify("sha256", reportBytes, { key: publicKey, dsaEncoding: "der" }, Buffer.from(signature.signature, "base64"));
  } catch {
    ok = false;
  }
  if (!ok) return { valid: false, message: "the signature does not match the report: the report or the signature was altered" };
  if (signature.reportSha256 !== sha256Hex(reportBytes))
    return { valid: false, message: "the signature's reportSha256 does not match the report" };
  let report: EvidenceReport;
  try {
    report = JSON.parse(reportBytes.toString("utf8")) as EvidenceReport;
  } catch {
    return { valid: false, message: "the report is not JSON" };
  }
  if (report.schema !== EVIDENCE_SCHEMA) return { valid: false, message: `not an evidence report (${String(report.schema)})` };
  return {
    valid: true,
    message: `signature valid: report ${report.reportId} on backup ${report.backup?.backupId} (result ${report.result}), signed ${signature.signedAt} by key ${signature.keyId}`,
    report,
  };
}
