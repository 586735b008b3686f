// Certificates for the stack: one CA per component, leaf certificates for servers and clients.
// openssl (present on every Debian machine) does the work; keys are unencrypted PKCS#8 PEM, which
// Kafka's PEM key stores, Node's TLS and the Kubernetes clients all read.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./process.ts";

export interface CertPair {
  cert: string;
  key: string;
}

export function ensureCa(dir: string, name: string): CertPair {
  mkdirSync(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  if (existsSync(pair.cert) && existsSync(pair.key)) return pair;
  run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pair.key]);
  run("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    pair.key,
    "-sha256",
    "-days",
    "3650",
    "-subj",
    `/CN=${name}`,
    "-out",
    pair.cert,
  ]);
  return pair;
}

export interface LeafOptions {
  commonName: string;
  organization?: string;
  /** DNS names and IP addresses for a server certificate. */
  hosts?: string[];
  usage: "server" | "client" | "both";
}

export function ensureLeaf(ca: CertPair, dir: string, name: string, opts: LeafOptions): CertPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  if (existsSync(pair.cert) && existsSync(pair.key)) return pair;
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const subject = `/CN=${opts.commonName}${opts.organization ? `/O=${opts.organization}` : ""}`;
  const purposes = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[opts.usage];
  const sans = (opts.hosts ?? []).map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
  writeFileSync(
    ext,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      `extendedKeyUsage=${purposes}`,
      ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : []),
    ].join("\n"),
  );
  run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pair.key]);
  run("openssl", ["req", "-new", "-key", pair.key, "-subj", subject, "-out", csr]);
  run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "3650",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    pair.cert,
  ]);
  return pair;
}

/** An RSA key pair, for signing ServiceAccount tokens. */
export function ensureRsaKey(dir: string, name: string): { private: string; public: string } {
  const keys = { private: join(dir, `${name}.key`), public: join(dir, `${name}.pub`) };
  if (existsSync(keys.private) && existsSync(keys.public)) return keys;
  mkdirSync(dir, { recursive: true });
  run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keys.private]);
  run("openssl", ["pkey", "-in", keys.private, "-pubout", "-out", keys.public]);
  return keys;
}
